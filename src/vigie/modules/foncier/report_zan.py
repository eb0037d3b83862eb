"""The ZAN report of a territory (PDF + XLSX data pack), following the consumption part of the triennial « rapport
local de suivi de l'artificialisation des sols » (art. L. 2231-1 du code général des collectivités territoriales,
created by art. 206 of the loi Climat et Résilience).

Sections: 1. annual consumption of natural, agricultural and forest land (ENAF) — series chart and table; 2. split
by destination (stacked chart + table, reference decade and since 2021); 3. reference decade and 2021–2030 envelope,
the 1 ha communal floor stated; 4. consumption since 2021, projection to 2030 with its method, remaining envelope
and the trajectory chart (cumulative consumption against the envelope); 5. comparison with the territories of the
same level; 6. economic AU land still planned against the remaining envelope; 7. commune table; then warnings,
rules and sources.

Every figure is `zan.trajectory(...).to_dict()`'s — the same dictionary the CLI and the web page read — so the
report cannot disagree with them. `collect` reads it, `render(data, path)` draws without the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportlab.lib.colors import HexColor

from vigie.publish.pdf import charts, fonts
from vigie.publish.pdf import numbers as fmt
from vigie.publish.pdf.datapack import Record
from vigie.publish.pdf.document import MUTED, Box, Publication, draw_text
from vigie.publish.pdf.tables import Cell, draw_table

if TYPE_CHECKING:
    from vigie.warehouse import Warehouse

HECTARE = 10_000.0
DESTINATIONS = [("habitat", "Habitat"), ("activite", "Activité"), ("mixte", "Mixte"), ("routes", "Routes"),
                ("ferroviaire", "Ferroviaire"), ("inconnu", "Inconnue")]
DEST_COLOURS = [HexColor(c) for c in ("#1d4e89", "#c2410c", "#d9a441", "#7c8b99", "#5b8fc7", "#b8c2cc")]
OBSERVED = HexColor("#1d4e89")
PROJECTED = HexColor("#a9c4e0")
LIMIT = HexColor("#c0392b")
GRID = HexColor("#e4e7eb")
LEVEL_WORDS = {"commune": "commune", "epci": "EPCI", "scot": "SCoT", "pole_metropolitain": "pôle métropolitain",
               "departement": "département", "region": "région"}
COMPARISON_ROWS = 15
REPORT_TITLE = "Rapport local de suivi de l'artificialisation — consommation d'espaces"


@dataclass
class ZanReportData:
    trajectory: dict[str, Any]  # ZanTrajectory.to_dict()


def collect(wh: "Warehouse", code: str, level: str | None = None, *, method: str | None = None, years: int | None = None,
            config_path: str | Path | None = None) -> ZanReportData:
    """The report's data (unknown territory → `NotFoundError`, in French, from `find_territory`)."""
    from vigie.modules.foncier.zan import load_config, trajectory

    config = load_config(config_path) if config_path else None
    return ZanReportData(trajectory(wh, code.strip(), level, config=config, method=method, years=years).to_dict())


# ---------------------------------------------------------------------------------------------- wording
def ha(m2: float | None, decimals: int = 1) -> str:
    return fmt.quantity(None if m2 is None else m2 / HECTARE, "ha", decimals)


def key_figures(t: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) of the key figures, as printed on page 1 (and in the data pack)."""
    (r0, r1), (p0, p1) = t["config"]["reference"], t["config"]["period"]
    ref, env, cons, p = t["reference"], t["envelope"], t["consumed"], t["projection"]
    rows = [
        (f"Consommation de référence {r0}-{r1}", ha(ref["m2"]) if ref["complete"] else f"incomplète (au moins {ha(ref['known_m2'])})"),
        ("Moyenne annuelle de référence", ha(ref["annual_mean_m2"], 2) if ref["annual_mean_m2"] is not None else "–"),
        (f"Enveloppe {p0}-{p1}", ha(env["m2"]) if env["m2"] is not None else "non calculée"),
        (f"Consommé depuis {p0}" + (f" ({cons['years'][0]}-{cons['years'][-1]})" if cons["years"] else ""),
         ("" if cons["complete"] else "au moins ") + ha(cons["m2"])),
        ("Part de l'enveloppe consommée", fmt.percent(100 * cons["share_of_envelope"], 1) if cons["share_of_envelope"] is not None else "–"),
        ("Enveloppe restante", ha(t["remaining_m2"])),
        (f"Rythme annuel permis jusqu'en {p1}", ha(t["allowed_pace_m2"], 2) if t["allowed_pace_m2"] is not None else "–"),
    ]
    if p is not None:
        rows.append((f"Consommation projetée {p0}-{p1}", ha(p["projected_total_m2"])))
        if p["excess_m2"] is not None:
            rows.append(("Dépassement projeté" if p["excess_m2"] > 0 else "Marge projetée", ha(abs(p["excess_m2"]))))
    return rows


def _level(t: dict[str, Any]) -> str:
    return LEVEL_WORDS.get(t["territory"]["level"], t["territory"]["level"])


# ---------------------------------------------------------------------------------------------- charts
def _axis(c, plot: Box, top: float, unit_words: str = "ha") -> None:
    hectares = top / HECTARE
    ticks = next((n for n in (4, 5, 3, 6) if abs(hectares / n * 10 - round(hectares / n * 10)) < 1e-6), 4)
    c.setStrokeColor(GRID)
    c.setLineWidth(0.4)
    for k in range(ticks + 1):
        v = top * k / ticks
        y = plot.y + plot.h * k / ticks
        c.line(plot.x, y, plot.x + plot.w, y)
        draw_text(c, plot.x - 3, y - 2.5, fmt.number(v / HECTARE, 1 if top / HECTARE < 20 else 0), size=6, colour=MUTED,
                  align="right")
    draw_text(c, plot.x - 30, plot.top + 5, unit_words, size=6.5, colour=MUTED)


def _nice(value: float) -> float:
    return charts._nice_max(value)  # the toolkit's round maximum (1, 1.2, 1.5, 2, 2.5… × 10^k)


def annual_chart(c, box: Box, t: dict[str, Any]) -> None:
    """Bars of the annual flows (observed dark, projected light), the reference mean and the allowed pace."""
    (r0, r1), (p0, p1) = t["config"]["reference"], t["config"]["period"]
    box = charts.title(c, box, "Consommation annuelle d'espaces NAF (ha par an) et rythme permis par l'enveloppe")
    names = ["Flux observé", "Projection", f"Rythme permis ({p0}-{p1})", f"Moyenne {r0}-{r1}"]
    box = charts.legend(c, box, names, [OBSERVED, PROJECTED, LIMIT, HexColor("#616e7c")])
    projection = t["projection"]
    points: list[tuple[int, float | None, bool]] = [(r["year"], r["total_m2"], False) for r in t["series"]]
    if projection:
        points += [(int(y), v, True) for y, v in sorted(projection["path"].items(), key=lambda kv: int(kv[0]))]
    pace = t["envelope"]["m2"] / (p1 - p0 + 1) if t["envelope"]["m2"] is not None else None
    mean = t["reference"]["annual_mean_m2"]
    values = [v for _y, v, _p in points if v is not None] + [x for x in (pace, mean) if x is not None]
    top = _nice(max(values) if values else HECTARE)
    plot = Box(box.x + 34, box.y + 14, box.w - 40, box.h - 22)
    _axis(c, plot, top)
    step = plot.w / max(len(points), 1)

    def py(v: float) -> float:
        return plot.y + plot.h * max(v, 0) / top

    for i, (year, v, projected) in enumerate(points):
        x = plot.x + i * step + step * 0.15
        if v is None:
            draw_text(c, x + step * 0.35, plot.y + 2, "n.d.", size=5.5, font=fonts.ITALIC, colour=MUTED, align="centre")
        else:
            c.setFillColor(PROJECTED if projected else OBSERVED)
            c.rect(x, plot.y, step * 0.7, py(v) - plot.y, stroke=0, fill=1)
        if len(points) <= 16 or year % 2 == 0:
            draw_text(c, x + step * 0.35, box.y + 2, str(year), size=6, colour=MUTED, align="centre")
    years = [p[0] for p in points]

    def span(a: int, b: int) -> tuple[float, float] | None:
        idx = [i for i, y in enumerate(years) if a <= y <= b]
        return (plot.x + idx[0] * step, plot.x + (idx[-1] + 1) * step) if idx else None

    c.setLineWidth(1.4)
    if pace is not None and span(p0, p1):
        x0, x1 = span(p0, p1)
        c.setStrokeColor(LIMIT)
        c.setDash(5, 2)
        c.line(x0, py(pace), x1, py(pace))
    if mean is not None and span(r0, r1):
        x0, x1 = span(r0, r1)
        c.setStrokeColor(HexColor("#616e7c"))
        c.setDash(2, 2)
        c.line(x0, py(mean), x1, py(mean))
    c.setDash()


def destination_chart(c, box: Box, t: dict[str, Any]) -> None:
    """Stacked bars of the annual flows by destination."""
    box = charts.title(c, box, "Consommation annuelle par destination (ha)")
    box = charts.legend(c, box, [label for _k, label in DESTINATIONS], DEST_COLOURS)
    rows = [r for r in t["series"] if r["status"] != "absent"]
    totals = [sum(r[f"{k}_m2"] or 0.0 for k, _l in DESTINATIONS) for r in rows]
    top = _nice(max(totals) if totals else HECTARE)
    plot = Box(box.x + 34, box.y + 14, box.w - 40, box.h - 22)
    _axis(c, plot, top)
    step = plot.w / max(len(rows), 1)
    for i, r in enumerate(rows):
        x = plot.x + i * step + step * 0.15
        y = plot.y
        for (k, _label), colour in zip(DESTINATIONS, DEST_COLOURS):
            v = r[f"{k}_m2"]
            if not v:
                continue
            h = plot.h * v / top
            c.setFillColor(colour)
            c.rect(x, y, step * 0.7, h, stroke=0, fill=1)
            y += h
        draw_text(c, x + step * 0.35, box.y + 2, str(r["year"]), size=6, colour=MUTED, align="centre")


def trajectory_chart(c, box: Box, t: dict[str, Any]) -> None:
    """Cumulative consumption since the start of the period (observed, then projected) against the envelope, and the
    straight path that would use exactly the envelope by the end of the period."""
    (p0, p1) = t["config"]["period"]
    box = charts.title(c, box, f"Trajectoire {p0}-{p1} : consommation cumulée et enveloppe (ha)")
    box = charts.legend(c, box, ["Cumul observé", "Cumul projeté", "Enveloppe", "Trajectoire de l'enveloppe"],
                        [OBSERVED, PROJECTED, LIMIT, HexColor("#2e9d5b")])
    totals = {r["year"]: r["total_m2"] for r in t["series"]}
    path = {int(y): v for y, v in (t["projection"]["path"].items() if t["projection"] else [])}
    years = list(range(p0, p1 + 1))
    cumulative: list[tuple[int, float, bool]] = []
    running = 0.0
    for y in years:
        if y in totals and totals[y] is not None:
            running += totals[y]
            cumulative.append((y, running, False))
        elif y in path:
            running += path[y]
            cumulative.append((y, running, True))
    envelope = t["envelope"]["m2"]
    values = [v for _y, v, _p in cumulative] + ([envelope] if envelope else [])
    top = _nice(max(values) if values else HECTARE)
    plot = Box(box.x + 34, box.y + 14, box.w - 40, box.h - 22)
    _axis(c, plot, top)
    span = len(years)

    def px(y: float) -> float:  # end of year y
        return plot.x + plot.w * (y - p0 + 1) / span

    def py(v: float) -> float:
        return plot.y + plot.h * v / top

    for y in years:
        draw_text(c, plot.x + plot.w * (y - p0 + 0.5) / span, box.y + 2, str(y), size=6, colour=MUTED, align="centre")
    if envelope is not None:
        c.setStrokeColor(LIMIT)
        c.setLineWidth(1.2)
        c.setDash(5, 2)
        c.line(plot.x, py(envelope), plot.x + plot.w, py(envelope))
        c.setDash()
        c.setStrokeColor(HexColor("#2e9d5b"))
        c.setLineWidth(0.9)
        c.line(plot.x, plot.y, plot.x + plot.w, py(envelope))
        draw_text(c, plot.x + 3, py(envelope) + 3, f"enveloppe {ha(envelope)}", size=6.5, colour=LIMIT)
    previous = (plot.x, plot.y)
    for y, v, projected in cumulative:
        point = (px(y), py(v))
        c.setStrokeColor(PROJECTED if projected else OBSERVED)
        c.setFillColor(PROJECTED if projected else OBSERVED)
        c.setLineWidth(1.8)
        if projected:
            c.setDash(3, 2)
        c.line(*previous, *point)
        c.setDash()
        c.circle(*point, 1.8, stroke=0, fill=1)
        previous = point
    exhausted = t["projection"]["exhausted_in"] if t["projection"] else None
    if exhausted and p0 <= exhausted <= p1:
        x = px(exhausted)
        c.setStrokeColor(LIMIT)
        c.setLineWidth(0.6)
        c.line(x, plot.y, x, plot.top)
        draw_text(c, x - 3, plot.top - 8, f"enveloppe épuisée en {exhausted}", size=6.5, colour=LIMIT, align="right")


def planned_chart(c, box: Box, t: dict[str, Any]) -> None:
    planned = t["planned_economic"]
    labels = ["Enveloppe restante", "Foncier économique prévu (zones AU libres)", "Zones AU économiques (surface totale)"]
    values = [t["remaining_m2"], planned["m2"], planned["gross_m2"]]
    charts.bars(c, box, labels, [None if v is None else v / HECTARE for v in values], decimals=1,
                chart_title="Foncier économique encore prévu et enveloppe restante (ha)")


# ---------------------------------------------------------------------------------------------- render
def render(data: ZanReportData, path: str | Path) -> int:
    t = data.trajectory
    (r0, r1), (p0, p1) = t["config"]["reference"], t["config"]["period"]
    name = t["territory"]["name"]
    pub = Publication(str(path), f"Rapport ZAN — {name}",
                      f"{REPORT_TITLE} — {_level(t)} {t['territory']['code']}, "
                      f"{fmt.number(t['territory']['communes'])} commune(s), "
                      f"géographie {t['cog']} — flux {t['first_year']}-{t['last_year']}", synthetic=t["synthetic"])
    c = pub.c
    pub.paragraph("Ce rapport suit la partie « consommation d'espaces naturels, agricoles et forestiers » du rapport "
                  "local de suivi de l'artificialisation des sols (loi Climat et Résilience, art. 206) : consommation "
                  f"de la décennie de référence {r0}-{r1}, enveloppe {p0}-{p1}, consommation depuis {p0} et trajectoire.",
                  size=8.5, colour=MUTED)
    if t["synthetic"]:
        pub.paragraph("Flux de consommation : données fictives de démonstration.", size=8.5, font=fonts.BOLD,
                      colour=HexColor("#b54708"))
    pub.heading("Chiffres clés")
    draw_table(pub, ["Indicateur", "Valeur"], [[label, Cell(text, bold=True)] for label, text in key_figures(t)],
               [0.7, 0.3])

    pub.heading("1. Consommation annuelle d'espaces naturels, agricoles et forestiers", keep_with=230)
    annual_chart(c, pub.reserve(230), t)
    pub.paragraph("Flux annuels du 1er janvier au 1er janvier suivant (fichiers fonciers, Cerema). Une année absente du "
                  "fichier n'est jamais comptée comme un zéro.", size=7.5, colour=MUTED)
    rows = []
    for r in t["series"]:
        if r["status"] == "absent":
            rows.append([str(r["year"]), Cell("absent du fichier", "missing")] + [""] * len(DESTINATIONS))
        else:
            rows.append([str(r["year"]), Cell(ha(r["total_m2"], 2), bold=True)]
                        + [ha(r[f"{k}_m2"], 2) for k, _l in DESTINATIONS])
    draw_table(pub, ["Année", "Total", *[label for _k, label in DESTINATIONS]], rows, [0.1, 0.15] + [0.125] * 6, size=7)

    pub.heading("2. Consommation par destination", keep_with=210)
    destination_chart(c, pub.reserve(210), t)
    ref_dest, since_dest = t["reference"]["by_destination_m2"], t["consumed"]["by_destination_m2"]
    ref_total, since_total = t["reference"]["known_m2"], t["consumed"]["m2"]

    def share(v: float | None, total: float | None) -> str:
        return fmt.percent(100 * v / total, 1) if v is not None and total else "–"

    draw_table(pub, ["Destination", f"{r0}-{r1}", "Part", f"Depuis {p0}", "Part"],
               [[label, ha(ref_dest.get(k)), share(ref_dest.get(k), ref_total), ha(since_dest.get(k)),
                 share(since_dest.get(k), since_total)] for k, label in DESTINATIONS]
               + [[Cell("Total", bold=True), Cell(ha(ref_total), bold=True), "100 %" if ref_total else "–",
                   Cell(ha(since_total), bold=True), "100 %" if since_total else "–"]],
               [0.32, 0.17, 0.17, 0.17, 0.17])

    pub.heading(f"3. Décennie de référence et enveloppe {p0}-{p1}")
    env = t["envelope"]
    floor_ha = fmt.number(t["config"]["floor_m2"] / HECTARE, 1)
    if t["reference"]["complete"]:
        pub.paragraph(f"De {r0} à {r1} (1er janvier {r0} → 1er janvier {r1 + 1}), {name} a consommé {ha(t['reference']['m2'])} "
                      f"d'espaces naturels, agricoles et forestiers, soit {ha(t['reference']['annual_mean_m2'], 2)} par an.")
    else:
        pub.paragraph(f"La consommation de référence {r0}-{r1} est incomplète (au moins {ha(t['reference']['known_m2'])}) : "
                      "l'enveloppe n'est pas calculée (voir les avertissements).")
    if env["m2"] is not None:
        pub.paragraph(
            f"Enveloppe {p0}-{p1} : {ha(env['m2'])}. Règle : l'enveloppe de chaque commune est sa consommation de référence "
            f"réduite de {fmt.percent(100 * env['reduction_default'], 0)} (ou de l'objectif territorialisé configuré), "
            f"et au moins la garantie communale de {floor_ha} ha (loi du 20 juillet 2023) ; l'enveloppe d'un groupement "
            f"est la somme de celles de ses communes. Sans cette garantie, elle serait de {ha(env['without_floor_m2'])} : "
            f"le plancher de {floor_ha} ha s'applique à {fmt.number(env['floor_communes'])} commune(s) et ajoute "
            f"{ha(env['floor_gain_m2'], 2)}. La même règle est appliquée dans le tableau, les graphiques et ce rapport.")
    if env["territorialised"]:
        pub.paragraph("Objectifs territorialisés appliqués : " + ", ".join(env["territorialised"]) + ".")

    pub.heading(f"4. Consommation depuis {p0}, projection à {p1} et enveloppe restante", keep_with=240)
    cons = t["consumed"]
    if cons["years"]:
        pub.paragraph(f"Du 1er janvier {p0} au 1er janvier {cons['years'][-1] + 1}, {name} a consommé "
                      f"{'au moins ' if not cons['complete'] else ''}{ha(cons['m2'])}"
                      + (f", soit {fmt.percent(100 * cons['share_of_envelope'], 1)} de son enveloppe" if cons["share_of_envelope"] is not None else "")
                      + (f" ; il reste {ha(t['remaining_m2'])}" if t["remaining_m2"] is not None else "")
                      + (f", soit {ha(t['allowed_pace_m2'], 2)} par an jusqu'en {p1}" if t["allowed_pace_m2"] is not None else "")
                      + ".")
    p = t["projection"]
    if p is not None:
        pub.paragraph(f"Méthode de projection ({p['label']}) : {p['statement']}. Consommation projetée {p0}-{p1} : "
                      f"{ha(p['projected_total_m2'])}"
                      + (f", soit un dépassement de {ha(p['excess_m2'])}" if p["excess_m2"] is not None and p["excess_m2"] > 0 else "")
                      + (f", soit une marge de {ha(-p['excess_m2'])}" if p["excess_m2"] is not None and p["excess_m2"] <= 0 else "")
                      + (f" ; l'enveloppe serait épuisée en {p['exhausted_in']}" if p["exhausted_in"] else "") + ".")
        other = next((o for m, o in t["projections"].items() if m != p["method"] and o), None)
        if other:
            pub.paragraph(f"Pour comparaison, {other['label']} : {ha(other['projected_total_m2'])} projetés sur {p0}-{p1}.",
                          size=8, colour=MUTED)
    else:
        pub.paragraph("Projection impossible : pas assez d'années observées complètes.", colour=MUTED)
    trajectory_chart(c, pub.reserve(220), t)

    pub.heading("5. Comparaison avec des territoires comparables", keep_with=160)
    comparison = t["comparison"]
    if comparison:
        pub.paragraph(f"Territoires du même niveau du département (et EPCI pour un SCoT ou un pôle), classés par "
                      f"consommation {r0}-{r1} par habitant.", size=8, colour=MUTED)
        shown = comparison[:COMPARISON_ROWS] + [r for r in comparison[COMPARISON_ROWS:] if r["current"]]
        bar_rows = [r for r in shown if r["reference_per_inhabitant_m2"] is not None]
        if bar_rows:
            box = pub.reserve(14 + 13 * len(bar_rows))
            charts.bars(c, box, [r["name"] for r in bar_rows], [r["reference_per_inhabitant_m2"] for r in bar_rows],
                        decimals=1, chart_title=f"Consommation {r0}-{r1} par habitant (m²)",
                        highlight=next((i for i, r in enumerate(bar_rows) if r["current"]), None))
        draw_table(pub, ["Territoire", "Rang", f"Consommation {r0}-{r1}", "m² par habitant", f"Depuis {p0}"],
                   [[Cell(r["name"], bold=r["current"]), str(r["rank"] or "–"), ha(r["reference_m2"]),
                     fmt.number(r["reference_per_inhabitant_m2"], 1), ha(r["consumed_m2"])] for r in shown],
                   [0.4, 0.1, 0.18, 0.14, 0.18])
    else:
        pub.paragraph("Aucun territoire comparable dans l'entrepôt.", colour=MUTED)

    pub.heading("6. Foncier économique encore prévu", keep_with=90)
    planned = t["planned_economic"]
    if planned["m2"] is not None:
        pub.paragraph(f"Les zones à urbaniser à vocation économique des PLU ({fmt.number(planned['zones'] or 0)} zone(s)) "
                      f"laissent {ha(planned['m2'])} encore libres"
                      + (f", soit {fmt.percent(100 * planned['share_of_remaining'], 1)} de l'enveloppe restante" if planned["share_of_remaining"] else "")
                      + f". Méthode : {planned['method']}.")
        planned_chart(c, pub.reserve(60), t)
    else:
        pub.paragraph(f"Foncier économique prévu inconnu : {planned['method']}.", colour=MUTED)

    pub.heading("7. Par commune")
    draw_table(pub, ["Commune", f"Référence {r0}-{r1}", "Enveloppe", "Garantie 1 ha", f"Depuis {p0}", "Reste"],
               [[f"{m['name']} ({m['code']})", ha(m["reference_m2"], 2), ha(m["envelope_m2"], 2),
                 "oui" if m["floor_applied"] else "", ha(m["consumed_m2"], 2),
                 Cell(ha(m["remaining_m2"], 2), bold=(m["remaining_m2"] or 0) < 0)] for m in t["communes"]],
               [0.34, 0.14, 0.13, 0.11, 0.14, 0.14], size=7)

    if t["messages"]:
        pub.heading("Avertissements")
        for m in t["messages"]:
            pub.paragraph(m, size=8, bullet="•", indent=4)
    pub.heading("Règles de calcul")
    for rule in t["rules"]:
        pub.paragraph(rule, size=7.5, bullet="–", indent=4)
    pub.sources([f"{s['title']} — {s['producer']}" + (f", {s['vintage']}" if s.get("vintage") else "")
                 for s in t["sources"]] + ["Zones AU : zonage des PLU (CNIG/GPU zone_urba) et atlas du foncier économique de Vigie."])
    return pub.save()


def records(data: ZanReportData) -> list[Record]:
    """The data pack: key figures, annual series by destination, communes and comparison, in m² and as printed."""
    t = data.trajectory
    terr = t["territory"]
    source = "; ".join(s["title"] for s in t["sources"]) or "Cerema, consommation d'espaces NAF"
    synthetic = bool(t["synthetic"])
    out: list[Record] = []

    def add(theme, indicator, label, level, code, name, year, value, text, unit="m²"):
        out.append(Record(theme, indicator, label, level, code, name, year, "", value, text, unit,
                          "ok" if value is not None else "missing", source, synthetic))

    keys = ["reference_m2", "reference_annual_mean_m2", "envelope_m2", "consumed_m2", "share_of_envelope",
            "remaining_m2", "allowed_pace_m2", "projected_total_m2", "excess_m2"]
    p = t["projection"]
    values = [t["reference"]["m2"], t["reference"]["annual_mean_m2"], t["envelope"]["m2"], t["consumed"]["m2"],
              None if t["consumed"]["share_of_envelope"] is None else 100 * t["consumed"]["share_of_envelope"],
              t["remaining_m2"], t["allowed_pace_m2"], p["projected_total_m2"] if p else None,
              p["excess_m2"] if p else None]
    for key, value, (label, text) in zip(keys, values, key_figures(t)):
        add("Chiffres clés", key, label, terr["level"], terr["code"], terr["name"], None, value, text,
            "%" if key == "share_of_envelope" else "m²")
    for r in t["series"]:
        add("Série annuelle", "consommation_enaf", "Consommation d'espaces NAF", terr["level"], terr["code"], terr["name"],
            r["year"], r["total_m2"], ha(r["total_m2"], 2) if r["status"] != "absent" else "absent du fichier")
        for k, label in DESTINATIONS:
            add("Série annuelle", f"consommation_enaf_{k}", f"Consommation d'espaces NAF — {label}", terr["level"],
                terr["code"], terr["name"], r["year"], r[f"{k}_m2"], ha(r[f"{k}_m2"], 2))
    for m in t["communes"]:
        for key, label in (("reference_m2", "Consommation de référence"), ("envelope_m2", "Enveloppe"),
                           ("consumed_m2", "Consommé depuis le début de la période"), ("remaining_m2", "Enveloppe restante")):
            add("Communes", key, label, "commune", m["code"], m["name"], None, m[key], ha(m[key], 2))
    for r in t["comparison"]:
        add("Comparaison", "reference_per_inhabitant_m2", "Consommation de référence par habitant", r["level"], r["code"],
            r["name"], None, r["reference_per_inhabitant_m2"], fmt.number(r["reference_per_inhabitant_m2"], 1), "m²/hab.")
    return out


def file_stem(t: dict[str, Any]) -> str:
    code = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in t["territory"]["code"])
    return f"rapport-zan-{code}"


def write(data: ZanReportData, output: str | Path, *, datapack: bool = True) -> tuple[Path, Path | None, int]:
    """Write `rapport-zan-<code>.pdf` (and its `.xlsx`) in the folder `output`; returns (pdf, xlsx, pages)."""
    from vigie.publish.pdf import datapack as pack

    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / file_stem(data.trajectory)
    pdf = stem.with_suffix(".pdf")
    pages = render(data, pdf)
    xlsx = None
    if datapack:
        xlsx = stem.with_suffix(".xlsx")
        t = data.trajectory
        pack.write(str(xlsx), pdf.stem, records(data), notes=[*t["rules"], *t["messages"]])
    return pdf, xlsx, pages

