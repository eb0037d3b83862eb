"""The ZAN trajectory in the observatory: JSON API under `/api/zan/…` and the page `/zan`.

- `GET /api/zan/{code}?niveau=&methode=moyenne|tendance&annees=N` — the whole trajectory (`ZanTrajectory.to_dict()`):
  annual series by destination, reference, envelope, consumption since 2021, projections, communes, comparison;
- `GET /api/zan/{code}/rapport.pdf` — the PDF report (`report_zan.py`, as `vigie zan CODE --pdf`);
- `GET /zan` and `GET /zan/{code}` — the page: trajectory chart (annual flows, allowed pace, projection) drawn on the
  server as SVG, key figures, destinations, comparison and commune tables. No script needed.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from vigie import formatting as fmt
from vigie.errors import NotFoundError
from vigie.modules.foncier.zan import trajectory
from vigie.publish.context import AppContext, Hidden, visible

NAVIGATION = [("zan", "/zan", "ZAN")]
DEFAULT_TERRITORIES = (("PMA", None),)


NAF_KIND = "consommation-naf"  # the kind of the Cerema sources the trajectory reads


def router(context: AppContext) -> APIRouter:
    api = APIRouter()
    access = context.access
    naf: list[frozenset[str]] = []  # the datasets of the NAF consumption sources, read once

    def compute(code: str, niveau: Optional[str], methode: str, annees: Optional[int], seen: Hidden):
        if not naf:
            with access.use() as wh:
                naf.append(frozenset(r[0] for r in wh.query("SELECT dataset FROM source WHERE kind = ?", (NAF_KIND,))))
        if naf[0] & seen.datasets or (niveau is not None and niveau in seen.levels):
            # The visibility rule (issue 9): hidden consumption data answers as a territory without any.
            raise NotFoundError(f"Aucun territoire n'a le code « {code} »" + (f" au niveau « {niveau} »" if niveau else "") + ".")
        with access.use() as wh:
            return trajectory(wh, code, niveau, method=methode, years=annees)

    @api.get("/api/zan/{code}", summary="Trajectoire ZAN d'un territoire",
             description="Consommation d'espaces naturels, agricoles et forestiers 2011-2020, enveloppe 2021-2030 (−50 % "
                         "ou objectif territorialisé, garantie communale de 1 ha appliquée à chaque commune, enveloppe "
                         "d'un groupement = somme des enveloppes communales), consommé depuis 2021, projection à 2030 "
                         "(moyenne ou tendance), destinations, communes et comparaison avec les territoires du même niveau.")
    def api_trajectory(code: str, niveau: Optional[str] = Query(None, description="Niveau si le code est ambigu."),
                       methode: str = Query("moyenne", description="« moyenne » ou « tendance »."),
                       annees: Optional[int] = Query(None, ge=1, le=20, description="Années récentes de la projection."),
                       seen: Hidden = Depends(visible)):
        return JSONResponse(compute(code, niveau, methode, annees, seen).to_dict())

    @api.get("/api/zan/{code}/rapport.pdf", summary="Rapport ZAN d'un territoire (PDF)", response_class=Response,
             description="Le rapport imprimable de « vigie zan CODE --pdf », partie consommation d'espaces du rapport "
                         "local de suivi de l'artificialisation : séries annuelles, destinations, enveloppe (garantie "
                         "communale de 1 ha), consommé depuis 2021, projection et trajectoire, comparaison, foncier "
                         "économique prévu, tableau des communes.",
             responses={200: {"content": {"application/pdf": {}}, "description": "Le PDF."},
                        404: {"description": "Territoire inconnu."}})
    def api_report(code: str, niveau: Optional[str] = Query(None, description="Niveau si le code est ambigu."),
                   methode: str = Query("moyenne", description="« moyenne » ou « tendance »."),
                   annees: Optional[int] = Query(None, ge=1, le=20, description="Années récentes de la projection."),
                   seen: Hidden = Depends(visible)):
        import tempfile
        from pathlib import Path

        from vigie.modules.foncier.report_zan import ZanReportData, file_stem, render

        data = ZanReportData(compute(code, niveau, methode, annees, seen).to_dict())
        with tempfile.TemporaryDirectory(prefix="vigie-zan-") as tmp:
            path = Path(tmp) / "rapport.pdf"
            render(data, path)
            content = path.read_bytes()
        name = file_stem(data.trajectory) + ".pdf"
        return Response(content, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @api.get("/zan", response_class=HTMLResponse, include_in_schema=False)
    @api.get("/zan/{code}", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, code: Optional[str] = None, niveau: Optional[str] = None, methode: str = "moyenne",
             annees: Optional[int] = None) -> HTMLResponse:
        if code is None:
            with access.use() as wh:
                code = _default_code(wh)
        t = compute(code, niveau, methode, annees, visible(request))
        view = page_view(t)
        return request.app.state.render(request, "zan.html", "zan", f"ZAN — {t.territory['name']} — Vigie", zan=view,
                                        config={"zan": {"code": t.territory["code"], "level": t.territory["level"]}})

    return api


def _default_code(wh) -> str:
    for code, level in DEFAULT_TERRITORIES:
        if wh.query("SELECT 1 FROM territory WHERE code = ?", (code,)):
            return code
    rows = wh.query("SELECT code FROM territory WHERE level = 'epci' ORDER BY code LIMIT 1")
    if not rows:
        raise NotFoundError("Aucun territoire dans l'entrepôt.")
    return rows[0][0]


def _ha(m2: float | None, decimals: int = 1) -> str:
    return fmt.quantity(None if m2 is None else m2 / 10_000, "ha", decimals)


def page_view(t) -> dict[str, Any]:
    """Everything the template shows, already formatted in French."""
    (r0, r1), (p0, p1) = t.config["reference"], t.config["period"]
    p = t.projection
    figures = [
        (f"Consommation {r0}-{r1}", _ha(t.reference["m2"]) if t.reference["complete"]
         else f"incomplète (≥ {_ha(t.reference['known_m2'])})"),
        (f"Enveloppe {p0}-{p1}", _ha(t.envelope["m2"]) if t.envelope["m2"] is not None else "non calculée"),
        (f"Consommé depuis {p0}", ("" if t.consumed["complete"] else "≥ ") + _ha(t.consumed["m2"])),
        ("Enveloppe restante", _ha(t.remaining_m2)),
        (f"Projection {p0}-{p1}", _ha(p.projected_total_m2) if p else "–"),
    ]
    if p is not None and p.excess_m2 is not None:
        figures.append(("Écart projeté à l'enveloppe", ("+" if p.excess_m2 > 0 else "−") + _ha(abs(p.excess_m2))))
    labels = {"habitat": "Habitat", "activite": "Activité", "mixte": "Mixte", "routes": "Routes",
              "ferroviaire": "Ferroviaire", "inconnu": "Inconnue"}
    destinations = [(labels[k], _ha(t.reference["by_destination_m2"].get(k)), _ha(t.consumed["by_destination_m2"].get(k)))
                    for k in labels]
    return {
        "territory": t.territory, "reference": (r0, r1), "period": (p0, p1), "figures": figures,
        "statement": p.statement if p else None, "method": t.config["method_label"],
        "exhausted_in": p.exhausted_in if p else None,
        "chart": trajectory_svg(t),
        "series": [(r["year"], _ha(r["total_m2"], 2) if r["status"] != "absent" else "absent du fichier") for r in t.series],
        "destinations": destinations,
        "comparison": [(r["rank"] or "–", r["name"], r["current"], _ha(r["reference_m2"]),
                        fmt.number(r["reference_per_inhabitant_m2"], 1), _ha(r["consumed_m2"])) for r in t.comparison],
        "communes": [(f"{c['name']} ({c['code']})", _ha(c["reference_m2"], 2), _ha(c["envelope_m2"], 2),
                      c["floor_applied"], _ha(c["consumed_m2"], 2), _ha(c["remaining_m2"], 2)) for c in t.communes],
        "messages": t.messages, "rules": t.rules, "synthetic": t.synthetic,
    }


def _nice_step(raw: float) -> float:
    """A round tick step (1, 2, 2.5 or 5 × 10^k) not smaller than `raw`."""
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def trajectory_svg(t, width: int = 720, height: int = 280) -> str:
    """Bars of the annual flows (observed, then projected in a lighter tone) and the allowed yearly pace
    (envelope / 10) as a line over the ZAN period: the same envelope as the table."""
    (p0, p1) = t.config["period"]
    observed = [(r["year"], r["total_m2"]) for r in t.series]
    projected = list((t.projection.path if t.projection else {}).items())
    points = observed + [(int(y), v) for y, v in projected]
    values = [v for _, v in points if v is not None]
    pace = t.envelope["m2"] / (p1 - p0 + 1) if t.envelope["m2"] is not None else None
    tick = _nice_step(max(values + ([pace] if pace else []) + [1.0]) / 4)
    top = tick * math.ceil(max(values + ([pace] if pace else []) + [1.0]) / tick)
    left, inner_h = 56, height - 60
    step = (width - left - 10) / max(len(points), 1)
    y = lambda v: 22 + inner_h * (1 - v / top)  # noqa: E731
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="Consommation annuelle et enveloppe ZAN" '
             'xmlns="http://www.w3.org/2000/svg" style="max-width:100%;height:auto">']
    for i in range(int(round(top / tick)) + 1):
        v = tick * i
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end">'
                     f'{fmt.number(v / 10_000, 1 if tick < 10_000 else 0)}</text>')
    n_observed = len(observed)
    for i, (year, v) in enumerate(points):
        x = left + i * step + step * 0.15
        if v is not None:
            color = "#3a6ea5" if i < n_observed else "#a9c4e0"
            parts.append(f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{step * 0.7:.1f}" height="{(22 + inner_h) - y(v):.1f}" '
                         f'fill="{color}"><title>{year} : {_ha(v, 2)}{"" if i < n_observed else " (projection)"}</title></rect>')
        if year % 2 == 1 or len(points) < 14:
            parts.append(f'<text x="{x + step * 0.35:.1f}" y="{height - 8}" font-size="11" text-anchor="middle">{year}</text>')
    if pace is not None:
        xs = [left + i * step for i, (year, _) in enumerate(points) if p0 <= year <= p1]
        if xs:
            parts.append(f'<line x1="{xs[0]:.1f}" x2="{xs[-1] + step:.1f}" y1="{y(pace):.1f}" y2="{y(pace):.1f}" '
                         f'stroke="#c0392b" stroke-width="2" stroke-dasharray="6 3"><title>Rythme permis par l\'enveloppe : '
                         f'{_ha(pace, 2)} par an</title></line>')
    parts.append(f'<text x="{left - 40}" y="10" font-size="11">ha par an</text></svg>')
    return "".join(parts)
