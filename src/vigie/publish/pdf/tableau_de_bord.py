"""The « Tableau de bord » of a territory (PMA, PETR, SCoT, EPCI, commune…): 3-4 A4 pages.

Page 1: the territory (communes, references), key figures, key messages and a choropleth map of its communes
(classes from `Engine.classes`). Then four sections — démographie, ménages, logement, économie — each with a
table (latest value, evolution since the earliest census year in the warehouse, the references the same year)
and charts (evolution over the years, index 100 against the references; structure compared with them).

Like the fiche quartier: `collect(wh, codes)` reads everything (`DashboardData`, picklable), `render(data,
path)` draws without the warehouse, `records(data)` lists every figure for the data pack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import shapely
from reportlab.lib.colors import HexColor

from vigie.publish.pdf import numbers as fmt
from vigie.publish.pdf import charts, fonts
from vigie.publish.pdf.charts import Series
from vigie.publish.pdf.document import ACCENT, MUTED, SERIES_COLOURS, Publication, draw_text
from vigie.publish.pdf.figures import Definition as IndicatorDef
from vigie.publish.pdf.figures import Figure, FigureStore, Place, missing, text, vintage_labels, vintage_text
from vigie.publish.pdf.maps import Layer, choropleth_colours, class_legend, draw_map
from vigie.publish.pdf.messages import Subject, compare
from vigie.publish.pdf.tables import Cell, draw_table

if TYPE_CHECKING:  # rendering workers never import the engine nor the warehouse (pandas, duckdb, pydantic)
    from vigie.engine.query import Engine
    from vigie.warehouse import Territory, Warehouse

MAX_REFERENCES = 2
MAP_SOURCE = "Contours : IGN Admin Express — carte Vigie"


@dataclass(frozen=True)
class Section:
    title: str
    rows: tuple[str, ...]
    line: str | None = None  # indicator drawn over the years (index 100 for counts)
    structure_title: str = ""
    structure: tuple[str, ...] = ()
    structure_labels: tuple[str, ...] = ()


SECTIONS = [
    Section("Démographie", ("population", "densite", "part_0014", "part_1529", "part_6074", "part_75p", "indice_jeunesse"),
            "population", "Population par âge",
            ("part_0014", "part_1529", "part_3044", "part_4559", "part_6074", "part_75p"),
            ("0-14 ans", "15-29 ans", "30-44 ans", "45-59 ans", "60-74 ans", "75 ans et +")),
    Section("Ménages", ("menages", "taille_menages", "part_menages_1pers", "part_couples_enfants",
                        "part_couples_sans_enfant", "part_familles_monoparentales"),
            "menages", "Composition des ménages",
            ("part_menages_1pers", "part_couples_sans_enfant", "part_couples_enfants", "part_menages_monoparentaux"),
            ("Une personne", "Couples sans enfant", "Couples avec enfant(s)", "Familles monoparentales")),
    Section("Logement", ("logements", "taux_vacance", "part_residences_secondaires", "part_proprietaires", "part_hlm",
                         "part_maisons", "logements_autorises", "construction_pour_1000"),
            "logements_autorises", "Résidences principales selon le statut d'occupation",
            ("part_proprietaires", "part_locataires", "part_hlm"), ("Propriétaires", "Locataires", "Locataires HLM")),
    Section("Économie", ("emplois", "concentration_emploi", "taux_activite", "taux_emploi", "taux_chomage", "part_cs3",
                        "part_cs6", "revenu_median"),
            "taux_chomage", "Emplois au lieu de travail par secteur",
            ("part_emplois_agri", "part_emplois_indus", "part_emplois_const", "part_emplois_cts", "part_emplois_apesas"),
            ("Agriculture", "Industrie", "Construction", "Commerce, transports, services", "Administration, santé")),
]
MAP_INDICATOR = "taux_chomage"
KEY_FIGURES = [("population", "Habitants"), ("menages", "Ménages"), ("logements", "Logements"), ("emplois", "Emplois"),
               ("taux_chomage", "Taux de chômage"), ("part_75p", "Part des 75 ans et +")]
MESSAGES = [
    ("taux_chomage", Subject("le taux de chômage")),
    ("part_0014", Subject("la part des moins de 15 ans", True)),
    ("part_75p", Subject("la part des 75 ans ou plus", True)),
    ("part_familles_monoparentales", Subject("la part des familles monoparentales", True)),
    ("taux_vacance", Subject("le taux de vacance des logements")),
    ("part_hlm", Subject("la part des locataires HLM", True)),
]


def indicators() -> set[str]:
    out = {i for i, _ in KEY_FIGURES} | {i for i, _ in MESSAGES} | {MAP_INDICATOR}
    for s in SECTIONS:
        out |= set(s.rows) | set(s.structure) | ({s.line} if s.line else set())
    return out


@dataclass
class DashboardData:
    territory: Place
    references: list[Place]
    communes: list[tuple[str, str]]
    definitions: dict[str, IndicatorDef]
    figures: dict[tuple[str, str, str], list[Figure]]  # (indicator, level, code) -> rows by year
    vintages: dict[tuple[str, int], str]
    map_geoms: list = field(default_factory=list)
    map_names: list[str] = field(default_factory=list)
    map_values: list = field(default_factory=list)
    map_codes: list[str] = field(default_factory=list)
    map_statuses: list[str] = field(default_factory=list)
    map_bounds: list[float] = field(default_factory=list)  # class upper bounds (Engine.classes)
    map_year: int | None = None
    map_lowest: float | None = None
    outline: object = None
    synthetic: bool = False

    @property
    def columns(self) -> list[Place]:
        return [self.territory, *self.references]

    def series(self, indicator: str, t: Place) -> list[Figure]:
        return self.figures.get((indicator, t.level, t.code), [])

    def latest(self, indicator: str, t: Place) -> Figure:
        rows = self.series(indicator, t)
        if not rows:
            return missing(indicator, t)
        shown = [r for r in rows if r.status in ("ok", "fragile")]
        return (shown or rows)[-1]

    def at(self, indicator: str, t: Place, year: int | None) -> Figure:
        if year is None:
            return self.latest(indicator, t)
        return next((r for r in self.series(indicator, t) if r.year == year), missing(indicator, t, year))


def choose_references(engine: "Engine", territory: "Territory") -> list[Place]:
    """Up to two references: the closest grouping containing the territory, then its département.

    The région is not used: a warehouse holding one département's communes would print the département's
    figures under the région's name."""
    refs = [r for r in engine.references(territory) if r.level != "region"]
    if not refs:
        return []
    chosen = [refs[0]]
    wide = next((r for r in refs[1:] if r.level == "departement"), None)
    if wide is not None:
        chosen.append(wide)
    return [Place.of(r) for r in chosen[:MAX_REFERENCES]]


def collect(wh: "Warehouse", territories: list["Territory"], engine: "Engine | None" = None) -> list[DashboardData]:
    """Everything the dashboards of these territories show, in a few queries."""
    if engine is None:
        from vigie.engine.query import Engine

        engine = Engine(wh)
    cog = engine.cog
    refs = {(t.level, t.code): choose_references(engine, t) for t in territories}
    communes: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for t in territories:
        if t.level == "commune":
            communes[(t.level, t.code)] = [(t.code, t.name)]
        else:
            members = wh.members(t, cog=cog)
            communes[(t.level, t.code)] = [(c, n) for c, n in zip(members["code"], members["name"])]
    wanted = {(t.level, t.code) for t in territories} | {(r.level, r.code) for rs in refs.values() for r in rs}
    store = FigureStore(engine, wanted, indicators())
    labels = vintage_labels(engine)
    definitions = {i: IndicatorDef.of(engine.catalogue[i]) for i in indicators() if i in engine.catalogue}

    # the commune map: contours, the mapped indicator and its classes
    all_codes = sorted({c for cs in communes.values() for c, _n in cs})
    geoms: dict[str, object] = {}
    if all_codes:
        rows = wh.query("SELECT code, ST_AsWKB(geom) FROM territory_geometry WHERE level = 'commune' AND cog = ? AND code IN ("
                        + ", ".join("?" * len(all_codes)) + ")", [cog, *all_codes])
        geoms = dict(zip([r[0] for r in rows], shapely.from_wkb([bytes(r[1]) for r in rows]))) if rows else {}
    map_year = None
    bounds: list[float] = []
    map_values: dict[str, float | None] = {}
    map_statuses: dict[str, str] = {}
    lowest = None
    if MAP_INDICATOR in engine.catalogue:
        years = engine.years(MAP_INDICATOR, "commune")
        if years:
            map_year = years[-1]
            frame = engine.values(MAP_INDICATOR, "commune", all_codes, [map_year])
            map_values = {c: (None if v is None or v != v else float(v)) for c, v in zip(frame["code"], frame["value"])}
            map_statuses = dict(zip(frame["code"], frame["status"]))
            bounds = engine.classes(MAP_INDICATOR, "commune", map_year, method="quantiles", k=5)
            all_values = engine.values(MAP_INDICATOR, "commune", years=[map_year])["value"].dropna()
            lowest = float(all_values.min()) if len(all_values) else None

    out = []
    for t in territories:
        key = (t.level, t.code)
        cols = [t, *refs[key]]
        figures = {}
        vintages = {}
        synthetic = False
        for ind in definitions:
            for c in cols:
                rows = store.series(ind, c)
                if rows:
                    figures[(ind, c.level, c.code)] = rows
                    for r in rows:
                        vintages[(ind, r.year)] = vintage_text(definitions[ind], r.year, labels)
                        synthetic |= r.synthetic
        mine = communes[key]
        present = [(c, n) for c, n in mine if c in geoms]
        map_geoms = [geoms[c] for c, _n in present]
        outline = shapely.union_all(map_geoms) if map_geoms else None
        out.append(DashboardData(
            Place.of(t), refs[key], mine, definitions, figures, vintages, map_geoms,
            [n if len(present) <= 25 else "" for _c, n in present], [map_values.get(c) for c, _n in present],
            [c for c, _n in present], [map_statuses.get(c, "missing") for c, _n in present],
            bounds, map_year, lowest, outline, synthetic))
    return out


# ---------------------------------------------------------------------------------------------- render
def _evolution_text(definition: IndicatorDef, rows: list[Figure]) -> tuple[str, int | None]:
    shown = [r for r in rows if r.status in ("ok", "fragile") and r.value is not None]
    if len(shown) < 2:
        return "–", None
    first, last = shown[0], shown[-1]
    # as `Engine.evolution`: a rate changes in points, anything else in percent
    if definition.unit == "%":
        return fmt.points(last.value - first.value), first.year
    if first.value:
        return fmt.signed_percent((last.value / first.value - 1) * 100), first.year
    return "–", first.year


def _label(definition: IndicatorDef) -> str:
    return definition.label if definition.unit == "%" else f"{definition.label} ({definition.unit})"


def section_rows(data: DashboardData, section: Section) -> list[tuple[IndicatorDef, Figure, str, int | None, list[Figure]]]:
    """Rows of a section table: definition, the territory's figure, evolution text and start year, references."""
    out = []
    for ind in section.rows:
        definition = data.definitions.get(ind)
        if definition is None:
            continue
        fig = data.latest(ind, data.territory)
        if fig.status == "missing" and fig.value is None and not data.series(ind, data.territory):
            continue
        evo, start = _evolution_text(definition, data.series(ind, data.territory))
        refs = [data.at(ind, r, fig.year) for r in data.references]
        out.append((definition, fig, evo, start, refs))
    return out


def _cell(definition: IndicatorDef, fig: Figure, bold: bool = False) -> Cell:
    if fig.value is None:
        return Cell("secret" if fig.status == "secret" else "n.d.", "secret" if fig.status == "secret" else "missing")
    return Cell(text(definition, fig, unit=False), fig.status, bold=bold)


def _table(pub: Publication, data: DashboardData, section: Section) -> None:
    headers = ["Indicateur", "Année", data.territory.name, "Évolution"] + [r.name for r in data.references]
    body = []
    for definition, fig, evo, start, refs in section_rows(data, section):
        body.append([_label(definition), Cell(str(fig.year) if fig.year else "–"), _cell(definition, fig, True),
                     Cell(f"{evo} depuis {start}" if start else evo)] + [_cell(definition, r) for r in refs])
    colours = [None, None, SERIES_COLOURS[0], None] + SERIES_COLOURS[1:1 + len(data.references)]
    draw_table(pub, headers, body, [3.2, 0.7, 1.3, 1.6] + [1.3] * len(data.references), header_colours=colours)


def _line_chart(pub: Publication, data: DashboardData, section: Section, box) -> None:
    ind = section.line
    definition = data.definitions.get(ind) if ind else None
    if definition is None:
        return
    years = sorted({r.year for r in data.series(ind, data.territory) if r.value is not None})
    if len(years) < 2:
        draw_text(pub.c, box.x, box.top - 9, f"{definition.label} : un seul millésime, pas d'évolution.", size=8, colour=MUTED)
        return
    count = definition.kind == "stock"
    series = [Series(t.name, [data.at(ind, t, y).value for y in years]) for t in data.columns]
    if count:  # index 100 the first year every territory has a figure; territories never complete are left out
        complete = [i for i, y in enumerate(years) if all(s.values[i] is not None for s in series)]
        if not complete:
            series = [series[0]]
            complete = [0]
        years, series = years[complete[0]:], [Series(s.name, s.values[complete[0]:]) for s in series]
    title = (f"{definition.label} : évolution, base 100 en {years[0]}" if count
             else f"{definition.label} ({'%' if definition.unit == '%' else definition.unit})")
    charts.lines(pub.c, box, years, series, unit=definition.unit, decimals=definition.decimals, chart_title=title,
                 index_base=count)


def _structure_chart(pub: Publication, data: DashboardData, section: Section, box) -> None:
    if not section.structure:
        return
    series = []
    for t in data.columns:
        figs = [data.latest(i, t) for i in section.structure]
        series.append(Series(t.name, [f.value for f in figs], [f.status for f in figs]))
    year = data.latest(section.structure[0], data.territory).year
    decimals = max((data.definitions[i].decimals for i in section.structure if i in data.definitions), default=1)
    charts.columns(pub.c, box, list(section.structure_labels), series, unit="%", decimals=decimals,
                   chart_title=f"{section.structure_title}" + (f" ({year})" if year else ""))


def key_messages(data: DashboardData) -> list[str]:
    out = []
    pop = data.series("population", data.territory)
    definition = data.definitions.get("population")
    if definition is not None:
        evo, start = _evolution_text(definition, pop)
        last = data.latest("population", data.territory)
        if last.value is not None:
            sentence = f"{data.territory.name} compte {fmt.number(last.value)} habitants en {last.year}"
            sentence += f" ({evo} depuis {start})." if start else "."
            out.append(sentence)
    if not data.references:
        return out
    ref = data.references[0]
    whose = "du territoire"
    for ind, subject in MESSAGES:
        definition = data.definitions.get(ind)
        if definition is None:
            continue
        fig = data.latest(ind, data.territory)
        sentence = compare(subject, fig.value, data.at(ind, ref, fig.year).value, ref.name, unit=definition.unit,
                           decimals=definition.decimals, whose=whose)
        if sentence:
            out.append(sentence)
    return out[:6]


def _map(pub: Publication, data: DashboardData, box) -> None:
    definition = data.definitions.get(MAP_INDICATOR)
    if not data.map_geoms or definition is None:
        draw_text(pub.c, box.x, box.top - 9, "Carte non disponible (contours absents de l'entrepôt).", size=8, colour=MUTED)
        return
    map_box, legend_box = box.split(0.74, 0.26, gap=8)
    map_box = charts.title(pub.c, map_box, f"{definition.label} par commune ({data.map_year})")
    colours = choropleth_colours(data.map_values, data.map_bounds)
    layers = [Layer(data.map_geoms, fills=colours, stroke=HexColor("#ffffff"), width=0.3, labels=data.map_names, label_size=5.5)]
    if data.outline is not None:
        layers.append(Layer([data.outline], fill=None, stroke=ACCENT, width=1.0))
    minx, miny, maxx, maxy = data.outline.bounds if data.outline is not None else (0, 0, 1, 1)
    draw_map(pub.c, map_box, layers, (minx, miny, maxx, maxy), source=MAP_SOURCE)
    if data.map_bounds:
        class_legend(pub.c, legend_box, data.map_bounds, data.map_lowest if data.map_lowest is not None else 0.0,
                     unit=definition.unit, decimals=definition.decimals,
                     title="Classes (quantiles)")


def _key_figures(pub: Publication, data: DashboardData) -> None:
    box = pub.reserve(44)
    cells = box.split(*([1 / len(KEY_FIGURES)] * len(KEY_FIGURES)), gap=6)
    for cell, (ind, label) in zip(cells, KEY_FIGURES):
        definition = data.definitions.get(ind)
        if definition is None:
            continue
        fig = data.latest(ind, data.territory)
        pub.c.setFillColor(HexColor("#eef2f7"))
        pub.c.roundRect(cell.x, cell.y, cell.w, cell.h, 4, stroke=0, fill=1)
        value = text(definition, fig, unit=False)
        draw_text(pub.c, cell.x + 6, cell.top - 18, value, size=13, font=fonts.BOLD, colour=ACCENT, max_width=cell.w - 8)
        draw_text(pub.c, cell.x + 6, cell.top - 30, label, size=7, colour=MUTED, max_width=cell.w - 8)
        draw_text(pub.c, cell.x + 6, cell.top - 39, str(fig.year or ""), size=6.5, colour=MUTED)


def sources(data: DashboardData) -> list[str]:
    seen: dict[str, set[str]] = {}
    for (ind, _lv, _code), rows in data.figures.items():
        definition = data.definitions[ind]
        for r in rows:
            seen.setdefault(definition.source, set()).add(data.vintages.get((ind, r.year), str(r.year)))
    lines = []
    for source, vintages in sorted(seen.items()):
        v = sorted(vintages)
        lines.append(f"{source} : {', '.join(v[:6])}{' …' if len(v) > 6 else ''}.")
    lines.append(MAP_SOURCE + ".")
    return lines


def render(data: DashboardData, path: str) -> int:
    t = data.territory
    from vigie.publish.terminal import level_label

    pub = Publication(path, f"Tableau de bord — {t.name}",
                      f"{level_label(t.level)} {t.code} — {fmt.number(len(data.communes))} commune(s) — géographie au 1er janvier {t.cog}",
                      synthetic=data.synthetic)
    refs = ", ".join(r.name for r in data.references)
    pub.paragraph(f"Ce tableau de bord présente {t.name} en quatre thèmes : démographie, ménages, logement et économie. "
                  "Chaque chiffre est donné pour le dernier millésime disponible, avec son évolution depuis le plus ancien "
                  "millésime de l'entrepôt" + (f", et comparé à {refs} la même année." if refs else "."), size=9)
    _key_figures(pub, data)
    pub.heading("Messages clés", keep_with=40)
    for sentence in key_messages(data):
        pub.paragraph(sentence, size=8.5, bullet="•", indent=2)
    if data.synthetic:
        pub.paragraph("Certaines valeurs de cette édition sont des données fictives de démonstration.", size=8, font=fonts.ITALIC)
    box = pub.reserve(min(330, pub.space_left() - 10))
    _map(pub, data, box)
    for section in SECTIONS:
        pub.heading(section.title, keep_with=150)
        _table(pub, data, section)
        box = pub.reserve(135)
        left, right = box.split(0.5, 0.5, gap=16)
        _line_chart(pub, data, section, left)
        _structure_chart(pub, data, section, right)
    pub.heading("Sources et millésimes", keep_with=50)
    pub.sources(sources(data), title=f"Chiffres du cube d'indicateurs de Vigie (géographie au 1er janvier {t.cog}). "
                "« n.d. » : non disponible ; « secret » : secret statistique ; « (f) » : valeur fragile.")
    return pub.save()


def records(data: DashboardData) -> list:
    from vigie.publish.pdf.datapack import Record

    section_of = {}
    for s in SECTIONS:
        for ind in (*s.rows, *s.structure, *([s.line] if s.line else [])):
            section_of.setdefault(ind, s.title)
    names = {(c.level, c.code): c.name for c in data.columns}
    out = []
    for (ind, level, code), rows in sorted(data.figures.items()):
        definition = data.definitions[ind]
        for r in rows:
            out.append(Record(section_of.get(ind, definition.theme), ind, definition.label, level, code, names[(level, code)],
                              r.year, data.vintages.get((ind, r.year), ""), r.value, text(definition, r, unit=False), definition.unit,
                              r.status, definition.source, r.synthetic))
    if data.map_year is not None and MAP_INDICATOR in data.definitions:
        definition = data.definitions[MAP_INDICATOR]
        names = dict(data.communes)
        for code, value, status in zip(data.map_codes, data.map_values, data.map_statuses):
            fig = Figure(MAP_INDICATOR, "commune", code, data.map_year, value, status)
            out.append(Record("Carte", MAP_INDICATOR, definition.label, "commune", code, names.get(code, code), data.map_year,
                              data.vintages.get((MAP_INDICATOR, data.map_year), ""), value, text(definition, fig, unit=False),
                              definition.unit, status, definition.source, False))
    return out
