"""The barometer in the observatory: its JSON API under `/api/barometre/…` and its page `/barometre`.

- `GET /api/barometre/trimestres` — quarters with at least one value, the latest first;
- `GET /api/barometre/series` — the series, their first and last quarter and latest release;
- `GET /api/barometre/series/{serie}` — one series over time for territories (`territoires=PMA,3215`);
- `GET /api/barometre/{trimestre}` — the release of a quarter (`AAAA-Tn`), the object the PDF reads too.

Unknown series or territory: 404 in French; a malformed quarter: 422 in French.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from vigie.errors import NotFoundError
from vigie.publish.context import AppContext, Hidden, visible
from vigie.publish.responses import errors
from vigie.modules.barometre import periods as P
from vigie.modules.barometre.release import build_release
from vigie.modules.barometre.schema import has_schema
from vigie.modules.barometre.store import Place, definition, place_values, series_table

NAVIGATION = [("barometre", "/barometre", "Baromètre")]


def _quarters(wh) -> list[str]:
    if not has_schema(wh):
        return []
    rows = wh.query("SELECT DISTINCT period FROM baro_value WHERE value IS NOT NULL ORDER BY period DESC")
    return [r[0] for r in rows if P.parse_quarter(r[0])]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    if hasattr(value, "item"):
        return value.item()
    return value


def router(context: AppContext) -> APIRouter:
    api = APIRouter()
    access = context.access

    @api.get("/api/barometre/trimestres", summary="Trimestres disponibles",
             description="Les trimestres pour lesquels le baromètre a au moins une valeur, du plus récent au plus ancien.")
    def quarters() -> dict:
        with access.use() as wh:
            found = _quarters(wh)
        return {"trimestres": [{"code": q, "libelle": P.label(q)} for q in found], "dernier": found[0] if found else None}

    @api.get("/api/barometre/series", summary="Séries du baromètre",
             description="Chaque série : libellé, unité, nature, producteur, premier et dernier trimestre, dernière publication.",
             responses=errors(404))
    def series(seen: Hidden = Depends(visible)) -> dict:
        with access.use() as wh:
            table = series_table(wh)
        # The visibility rule (issue 9): a series is named like an indicator; a hidden one is left out.
        return {"series": [{k: _clean(v) for k, v in r.items()} for r in table.to_dict("records")
                           if r.get("id") not in seen.indicators]}

    @api.get("/api/barometre/series/{serie}", summary="Une série dans le temps",
             description="Valeurs trimestrielles actuelles (dernière publication) d'une série pour des territoires ; "
                         "les stocks sont sommés sur les communes, les ratios recalculés.", responses=errors(404, 422))
    def one_series(serie: str, territoires: str = Query("PMA", description="Codes des territoires, séparés par des virgules."),
                   seen: Hidden = Depends(visible)) -> dict:
        if serie in seen.indicators:  # hidden: the same answer as a series that does not exist
            raise NotFoundError(f"La série « {serie} » n'existe pas dans le baromètre.")
        with access.use() as wh:
            spec = definition(wh, serie)
            places = []
            for code in [c.strip() for c in territoires.split(",") if c.strip()]:
                if code.upper() == "FR":
                    places.append(Place("france", "FR", "France"))
                    continue
                t = wh.find_territory(code)
                places.append(Place(t.level, t.code, t.name))
            frame = place_values(wh, spec, places)
        out = []
        for p in places:
            rows = frame[(frame["level"] == p.level) & (frame["code"] == p.code)].sort_values("period")
            out.append({"niveau": p.level, "code": p.code, "nom": p.name,
                        "valeurs": [{"trimestre": r.period, "valeur": _clean(r.value), "statut": r.status}
                                    for r in rows.itertuples()]})
        return {"serie": {k: _clean(v) for k, v in spec.items()}, "territoires": out}

    @api.get("/api/barometre/{trimestre}", summary="Note d'un trimestre",
             description="La note du trimestre AAAA-Tn : pour chaque série, valeur, évolutions sur un trimestre et sur un "
                         "an, tendance sur quatre trimestres, comparaisons (EPCI, zones d'emploi, département, France), "
                         "historique, révisions et séries absentes.", responses=errors(404, 422))
    def release(trimestre: str, territoire: str = Query("PMA", description="Code du territoire principal."),
                seen: Hidden = Depends(visible)) -> dict:
        with access.use() as wh:
            if not has_schema(wh):
                raise NotFoundError("L'entrepôt ne contient aucune série du baromètre.")
            note = build_release(wh, trimestre, territory=territoire).to_dict()
        # The visibility rule (issue 9): a hidden series is left out of the note, its missing-series line too.
        note["series"] = [s for s in note["series"] if s["id"] not in seen.indicators]
        note["missing"] = [s["missing"] for s in note["series"] if s["missing"]]
        return note

    @api.get("/barometre", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request) -> HTMLResponse:
        with access.use() as wh:
            found = _quarters(wh)
        return request.app.state.render(request, "barometre.html", "barometre", "Baromètre économique — Vigie",
                                        quarters=found, config={"trimestres": found})

    return api
