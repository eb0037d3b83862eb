"""The « Fiche Quartier » of a priority neighbourhood (QPV): 3 A4 pages.

Page 1: who the neighbourhood is (communes, EPCI), a vector map of the QPV in its commune(s), key figures and
key messages, the demography table and the compared age pyramid. Then the five themes of the Contrat de Ville
(éducation, santé, habitat, économie-emploi, sport-culture), each a table QPV | commune(s) | EPCI | pôle
métropolitain and a chart; sources and vintages at the end.

Two steps, so that a batch reads the warehouse once and renders in worker processes:
- `collect(wh, codes)` reads every figure and contour (`FicheData`, plain picklable data);
- `render(data, path)` draws the PDF from it, without the warehouse.

References. A QPV's commune is the one holding most of its area (`Engine.references`); when a QPV straddles
communes, every commune holding at least `SECOND_COMMUNE_SHARE` of it gets its own column, the EPCI and the pôle
are those of the main commune, and the fiche says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import shapely
from reportlab.lib.colors import HexColor

from vigie.errors import NotFoundError
from vigie.publish.pdf import numbers as fmt
from vigie.publish.pdf import charts, fonts
from vigie.publish.pdf.charts import Series
from vigie.publish.pdf.document import SERIES_COLOURS, Publication
from vigie.publish.pdf.figures import Definition as IndicatorDef
from vigie.publish.pdf.figures import Figure, FigureStore, Place, missing, text, vintage_labels, vintage_text
from vigie.publish.pdf.maps import Layer, draw_map
from vigie.publish.pdf.messages import Subject, compare, share
from vigie.publish.pdf.tables import Cell, draw_table

if TYPE_CHECKING:  # rendering workers never import the engine nor the warehouse (pandas, duckdb, pydantic)
    from vigie.engine.query import Engine
    from vigie.warehouse import Territory, Warehouse

SECOND_COMMUNE_SHARE = 0.2  # a commune holding at least 20 % of the QPV's area gets its own column
MAP_COMMUNE_SHARE = 0.05  # communes holding less are not used to frame the map
WIDE_LEVELS = ["pole_metropolitain", "scot", "petr", "departement", "region"]
MAP_SOURCE = "Contours : ANCT (QPV 2024), IGN Admin Express — carte Vigie"


@dataclass(frozen=True)
class Row:
    """One line of a theme table: the QPV's indicator, and the one used for the references when it differs."""

    indicator: str
    reference: str | None = None
    label: str | None = None

    @property
    def reference_indicator(self) -> str:
        return self.reference or self.indicator


@dataclass(frozen=True)
class Theme:
    title: str
    rows: tuple[Row, ...]
    chart_title: str = ""
    chart: tuple[str, ...] = ()  # indicators of a grouped-bar chart (one group each)
    chart_labels: tuple[str, ...] = ()
    chart_unit: str = "%"
    chart_references_only: bool = False  # the QPV has no figure for these (equipment of the commune…)
    chart_qpv: tuple[str, ...] = ()  # the QPV's own indicators for the chart, when they differ from the references'


DEMOGRAPHY = Theme("Démographie", (
    Row("population"), Row("part_0014"), Row("part_1529"), Row("part_6074"), Row("part_75p"), Row("indice_jeunesse"),
))
PYRAMID = (("part_0014", "0-14 ans"), ("part_1529", "15-29 ans"), ("part_3044", "30-44 ans"),
           ("part_4559", "45-59 ans"), ("part_6074", "60-74 ans"), ("part_75p", "75 ans et +"))
THEMES = [
    Theme("Éducation", (
        Row("taux_scolarisation_0205"), Row("taux_scolarisation_1517"), Row("taux_scolarisation_1824"),
        Row("part_diplmin"), Row("part_bac"), Row("part_sup5"),
    ), "Diplôme le plus élevé des 15 ans ou plus non scolarisés",
        ("part_diplmin", "part_capbep", "part_bac", "part_sup2", "part_sup34", "part_sup5"),
        ("Aucun ou CEP", "CAP, BEP", "Baccalauréat", "Bac+2", "Bac+3 ou +4", "Bac+5 ou plus")),
    Theme("Santé", (
        Row("qpv_medecins_pour_10000", "medecin_generaliste_pour_10000", "Médecins généralistes pour 10 000 habitants"),
        Row("qpv_pharmacies", label="Pharmacies dans le quartier"),
        Row("pharmacie_pour_10000"),
        Row("part_css"),
    ), "Médecins généralistes pour 10 000 habitants", ("medecin_generaliste_pour_10000",), ("Médecins généralistes",),
        "pour 10 000 hab.", chart_qpv=("qpv_medecins_pour_10000",)),
    Theme("Habitat", (
        Row("part_proprietaires"), Row("part_locataires"), Row("part_hlm"), Row("part_appartements"),
        Row("taux_vacance"), Row("taille_menages"), Row("part_menages_1pers"), Row("part_familles_monoparentales"),
    ), "Statut d'occupation des résidences principales", ("part_proprietaires", "part_locataires", "part_hlm"),
        ("Propriétaires", "Locataires", "Locataires HLM")),
    Theme("Économie et emploi", (
        Row("taux_activite"), Row("taux_emploi"), Row("taux_chomage"), Row("part_cs3"), Row("part_cs5"), Row("part_cs6"),
    ), "Activité, emploi et chômage des 15-64 ans", ("taux_activite", "taux_emploi", "taux_chomage"),
        ("Taux d'activité", "Taux d'emploi", "Taux de chômage")),
    Theme("Sport et culture", (
        Row("qpv_equipements_sportifs"), Row("qpv_equipements_sportifs_pour_10000"), Row("qpv_equipements_culturels"),
        Row("sport_salle_pour_10000"), Row("sport_terrain_pour_10000"), Row("sport_piscine_pour_10000"),
    ), "Équipements sportifs pour 10 000 habitants",
        ("sport_salle_pour_10000", "sport_terrain_pour_10000", "sport_piscine_pour_10000"),
        ("Salles multisports", "Terrains de grands jeux", "Bassins de natation"), "pour 10 000 hab.", True),
]
# Key messages: (indicator, subject, which reference: "epci" or "commune").
MESSAGES = [
    ("taux_chomage", Subject("le taux de chômage"), "epci"),
    ("taux_emploi", Subject("le taux d'emploi"), "epci"),
    ("part_diplmin", Subject("la part des personnes sans diplôme", True), "epci"),
    ("part_familles_monoparentales", Subject("la part des familles monoparentales", True), "epci"),
    ("part_hlm", Subject("la part des locataires HLM", True), "commune"),
    ("part_0014", Subject("la part des moins de 15 ans", True), "epci"),
    ("part_75p", Subject("la part des 75 ans ou plus", True), "epci"),
]


def indicators() -> set[str]:
    out = {ind for ind, _ in PYRAMID} | {m[0] for m in MESSAGES}
    for theme in [DEMOGRAPHY, *THEMES]:
        for row in theme.rows:
            out |= {row.indicator, row.reference_indicator}
        out |= set(theme.chart) | set(theme.chart_qpv)
    return out


# ---------------------------------------------------------------------------------------------- data
@dataclass
class Column:
    level: str
    code: str
    name: str
    header: str
    role: str  # qpv, commune, epci, wide


@dataclass
class MapData:
    qpv: object
    communes: list  # geometries of the QPV's communes
    commune_names: list[str]
    neighbours: list
    other_qpv: list
    bounds: tuple[float, float, float, float]


@dataclass
class FicheData:
    territory: Place
    communes: list[tuple[str, str, float]]  # (code, name, share of the QPV's area), largest first
    columns: list[Column]
    definitions: dict[str, IndicatorDef]
    figures: dict[tuple[str, int], Figure]  # (indicator, column index) -> figure
    vintages: dict[tuple[str, int], str]  # (indicator, year) -> vintage words
    map: MapData | None
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)

    def figure(self, indicator: str, column: int) -> Figure:
        col = self.columns[column]
        return self.figures.get((indicator, column)) or missing(indicator, (col.level, col.code))

    def column(self, role: str) -> int | None:
        return next((i for i, c in enumerate(self.columns) if c.role == role), None)


def qpv_of(wh: "Warehouse", territory: "Territory", cog: int) -> list[str]:
    """Codes of the QPV with at least one commune in `territory` (every QPV for a QPV… itself)."""
    if territory.level == "qpv":
        return [territory.code]
    if territory.level == "commune":
        rows = wh.query("SELECT DISTINCT child_code FROM membership WHERE cog = ? AND child_level = 'qpv' "
                        "AND parent_level = 'commune' AND parent_code = ? ORDER BY 1", (cog, territory.code))
    else:
        rows = wh.query(
            "SELECT DISTINCT q.child_code FROM membership q JOIN membership p ON p.cog = q.cog "
            "AND p.child_level = 'commune' AND p.child_code = q.parent_code "
            "WHERE q.cog = ? AND q.child_level = 'qpv' AND q.parent_level = 'commune' "
            "AND p.parent_level = ? AND p.parent_code = ? ORDER BY 1", (cog, territory.level, territory.code))
    return [r[0] for r in rows]


def _epci_words(name: str) -> str:
    """How a sentence names the EPCI: « l'agglomération », « la communauté urbaine »…"""
    lowered = name.lower()
    if lowered.startswith("ca "):
        return "l'agglomération"
    if lowered.startswith(("cu ", "métropole")):
        return "la communauté urbaine"
    if lowered.startswith("cc "):
        return "la communauté de communes"
    return name


def collect(wh: "Warehouse", codes: list[str], engine: "Engine | None" = None, wide: "Territory | None" = None) -> list[FicheData]:
    """Everything the fiches of these QPV show, read in a few queries. Unknown codes raise `NotFoundError`."""
    if engine is None:
        from vigie.engine.query import Engine

        engine = Engine(wh)
    cog = engine.cog
    if not codes:
        return []
    known = {r[0]: r[1] for r in wh.query(
        "SELECT code, name FROM territory WHERE level = 'qpv' AND cog = ? AND code IN (" + ", ".join("?" * len(codes)) + ")",
        [cog, *codes])}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise NotFoundError(f"Aucun quartier prioritaire (QPV) n'a le code « {unknown[0]} » dans l'entrepôt "
                            f"(géographie {cog}). Les codes QPV ont la forme QN062xxM : « vigie territories --niveau qpv » les liste.")
    # memberships: QPV -> communes (with area shares), commune -> parents
    qpv_communes: dict[str, list[tuple[str, float]]] = {}
    for child, parent, weight in wh.query(
            "SELECT child_code, parent_code, weight FROM membership WHERE cog = ? AND child_level = 'qpv' "
            "AND parent_level = 'commune' AND child_code IN (" + ", ".join("?" * len(codes)) + ")", [cog, *codes]):
        qpv_communes.setdefault(child, []).append((parent, float(weight)))
    commune_codes = sorted({c for rows in qpv_communes.values() for c, _ in rows})
    names = {("commune", r[0]): r[1] for r in wh.query(
        "SELECT code, name FROM territory WHERE level = 'commune' AND cog = ? AND code IN ("
        + ", ".join("?" * len(commune_codes)) + ")", [cog, *commune_codes])} if commune_codes else {}
    parents: dict[str, list[tuple[str, str, str]]] = {}
    if commune_codes:
        for child, level, code, name in wh.query(
                "SELECT m.child_code, m.parent_level, m.parent_code, t.name FROM membership m JOIN territory t "
                "ON t.level = m.parent_level AND t.code = m.parent_code AND t.cog = m.cog "
                "WHERE m.cog = ? AND m.child_level = 'commune' AND m.child_code IN (" + ", ".join("?" * len(commune_codes)) + ")",
                [cog, *commune_codes]):
            parents.setdefault(child, []).append((level, code, name))

    fiches_columns: dict[str, tuple[list[tuple[str, str, float]], list[Column], list[str]]] = {}
    wanted: set[tuple[str, str]] = set()
    for code in codes:
        communes = sorted(qpv_communes.get(code, []), key=lambda cw: -cw[1])
        named = [(c, names.get(("commune", c), c), w) for c, w in communes]
        columns = [Column("qpv", code, known[code], "Quartier", "qpv")]
        notes: list[str] = []
        for i, (c, name, w) in enumerate(named):
            if i == 0 or w >= SECOND_COMMUNE_SHARE:
                columns.append(Column("commune", c, name, name, "commune" if i == 0 else "commune2"))
        main = named[0][0] if named else None
        main_parents = parents.get(main, []) if main else []
        epci = next(((lv, c, n) for lv, c, n in main_parents if lv == "epci"), None)
        if epci:
            columns.append(Column("epci", epci[1], epci[2], epci[2], "epci"))
        wide_ref = None
        if wide is not None and wide.level in WIDE_LEVELS:
            wide_ref = (wide.level, wide.code, wide.name) if any((lv, c) == (wide.level, wide.code) for lv, c, _ in main_parents) else None
        if wide_ref is None:
            for level in WIDE_LEVELS:
                wide_ref = next(((lv, c, n) for lv, c, n in main_parents if lv == level), None)
                if wide_ref:
                    break
        if wide_ref:
            columns.append(Column(wide_ref[0], wide_ref[1], wide_ref[2], wide_ref[2], "wide"))
        if len(named) > 1:
            parts = ", ".join(f"{n} ({fmt.percent(w * 100, 0)})" for _c, n, w in named)
            shown = [c.name for c in columns if c.role in ("commune", "commune2")]
            notes.append(
                f"Le quartier s'étend sur {len(named)} communes (part de sa surface) : {parts}. "
                + (f"Il est comparé à chacune des communes qui en portent au moins {fmt.percent(SECOND_COMMUNE_SHARE * 100, 0)} "
                   f"({', '.join(shown)}) ; " if len(shown) > 1 else f"Il est comparé à {shown[0]}, qui en porte la plus grande part ; ")
                + f"l'EPCI et le territoire de référence sont ceux de {named[0][1]}.")
            epcis = {lv_c for c, _n, _w in named for lv_c in [(lv, cc) for lv, cc, _nn in parents.get(c, []) if lv == "epci"]}
            if len(epcis) > 1:
                notes.append("Ses communes appartiennent à plusieurs EPCI : la colonne EPCI est celle de la commune principale.")
        fiches_columns[code] = (named, columns, notes)
        wanted |= {(c.level, c.code) for c in columns}

    store = FigureStore(engine, wanted, indicators())
    labels = vintage_labels(engine)
    definitions = {i: IndicatorDef.of(engine.catalogue[i]) for i in indicators() if i in engine.catalogue}
    geo = _geometries(wh, cog, codes, commune_codes, qpv_communes)

    out = []
    for code in codes:
        named, columns, notes = fiches_columns[code]
        figures: dict[tuple[str, int], Figure] = {}
        vintages: dict[tuple[str, int], str] = {}
        synthetic = False

        def put(indicator_qpv: str, indicator_ref: str) -> None:
            nonlocal synthetic
            if indicator_qpv not in definitions and indicator_ref not in definitions:
                return
            head = store.latest(indicator_qpv, columns[0]) if indicator_qpv in definitions else missing(indicator_qpv, ("qpv", code))
            figures[(indicator_qpv, 0)] = head
            year = head.year if head.status != "missing" or head.year else None
            if year is None:  # no figure for the QPV: the references at their latest common year
                first = [store.latest(indicator_ref, (c.level, c.code)) for c in columns[1:]]
                years = [f.year for f in first if f.year is not None]
                year = years[0] if years else None
            for i, col in enumerate(columns[1:], start=1):
                fig = store.at(indicator_ref, (col.level, col.code), year)
                figures[(indicator_ref if indicator_ref != indicator_qpv else indicator_qpv, i)] = fig
            for fig in [head] + [figures.get((indicator_ref, i)) for i in range(1, len(columns))]:
                if fig is not None and fig.year is not None:
                    definition = definitions.get(fig.indicator)
                    if definition is not None:
                        vintages[(fig.indicator, fig.year)] = vintage_text(definition, fig.year, labels)
                    synthetic |= fig.synthetic

        done = set()
        for theme in [DEMOGRAPHY, *THEMES]:
            for row in theme.rows:
                if (row.indicator, row.reference_indicator) not in done:
                    put(row.indicator, row.reference_indicator)
                    done.add((row.indicator, row.reference_indicator))
            for ind in theme.chart:
                if (ind, ind) not in done:
                    put(ind, ind)
                    done.add((ind, ind))
        for ind, _ in PYRAMID:
            if (ind, ind) not in done:
                put(ind, ind)
                done.add((ind, ind))
        out.append(FicheData(Place("qpv", code, cog, known[code]), named, columns, definitions, figures, vintages,
                             geo.get(code), synthetic, notes))
    return out


def _geometries(wh: "Warehouse", cog: int, codes: list[str], commune_codes: list[str],
                qpv_communes: dict[str, list[tuple[str, float]]]) -> dict[str, MapData]:
    """The map of each QPV: the QPV, its communes, the communes and QPV around, framed on its main communes."""
    rows = wh.query("SELECT level, code, t_name, wkb FROM (SELECT g.level, g.code, t.name AS t_name, ST_AsWKB(g.geom) AS wkb "
                    "FROM territory_geometry g JOIN territory t ON t.level = g.level AND t.code = g.code AND t.cog = g.cog "
                    "WHERE g.cog = ? AND g.level IN ('commune', 'qpv'))", (cog,))
    if not rows:
        return {}
    levels = [r[0] for r in rows]
    geoms = shapely.from_wkb([bytes(r[3]) for r in rows])
    by_key = {(lv, r[1]): (g, r[2]) for lv, r, g in zip(levels, rows, geoms)}
    commune_keys = [k for k in by_key if k[0] == "commune"]
    qpv_keys = [k for k in by_key if k[0] == "qpv"]
    commune_tree = shapely.STRtree([by_key[k][0] for k in commune_keys])
    qpv_tree = shapely.STRtree([by_key[k][0] for k in qpv_keys])
    out = {}
    for code in codes:
        if ("qpv", code) not in by_key:
            continue
        qpv_geom = by_key[("qpv", code)][0]
        mine = sorted(qpv_communes.get(code, []), key=lambda cw: -cw[1])
        framing = [by_key[("commune", c)][0] for c, w in mine if w >= MAP_COMMUNE_SHARE and ("commune", c) in by_key]
        frame_geom = shapely.union_all([qpv_geom, *framing]) if framing else qpv_geom.buffer(1000)
        minx, miny, maxx, maxy = frame_geom.bounds
        area = shapely.box(minx - 1500, miny - 1500, maxx + 1500, maxy + 1500)
        neighbours = [by_key[commune_keys[i]][0] for i in commune_tree.query(area)]
        others = [by_key[qpv_keys[i]][0] for i in qpv_tree.query(area) if qpv_keys[i][1] != code]
        communes = [by_key[("commune", c)] for c, _w in mine if ("commune", c) in by_key]
        out[code] = MapData(qpv_geom, [g for g, _n in communes], [n for _g, n in communes], neighbours, others,
                            (minx, miny, maxx, maxy))
    return out


# ---------------------------------------------------------------------------------------------- render
def _row_label(definition: IndicatorDef, row: Row) -> str:
    label = row.label or definition.label
    if definition.unit not in ("%",) and definition.unit not in label:
        label += f" ({definition.unit})"
    return label


def theme_rows(data: FicheData, theme: Theme) -> list[tuple[str, list[Figure], IndicatorDef]]:
    """The rows of a theme table as shown: label, one figure per column, definition."""
    rows = []
    for row in theme.rows:
        definition = data.definitions.get(row.indicator) or data.definitions.get(row.reference_indicator)
        if definition is None:
            continue
        ref_def = data.definitions.get(row.reference_indicator, definition)
        figs = [data.figure(row.indicator, 0)] + [data.figure(row.reference_indicator, i) for i in range(1, len(data.columns))]
        if all(f.value is None and f.status == "missing" for f in figs):
            continue
        rows.append((_row_label(ref_def if row.reference else definition, row), figs,
                     definition if row.reference is None else ref_def))
    return rows


def _table(pub: Publication, data: FicheData, theme: Theme) -> None:
    headers = ["Indicateur"] + [c.header for c in data.columns]
    body = []
    for label, figs, definition in theme_rows(data, theme):
        cells = [label]
        for i, fig in enumerate(figs):
            d = data.definitions.get(fig.indicator, definition)
            if fig.value is None:
                cells.append(Cell("secret" if fig.status == "secret" else "n.d.", "secret" if fig.status == "secret" else "missing"))
            else:
                cells.append(Cell(text(d, fig, unit=False), fig.status, bold=i == 0))
        body.append(cells)
    n = len(data.columns)
    draw_table(pub, headers, body, [3.0] + [1.15] * n, header_colours=[None, *SERIES_COLOURS[:n]])


def chart_columns(data: FicheData, theme: Theme) -> list[int]:
    """Columns drawn in a theme's chart: the QPV, its main commune, the EPCI and the wide territory."""
    roles = ("commune", "epci", "wide") if theme.chart_references_only else ("qpv", "commune", "epci", "wide")
    return [i for i, c in enumerate(data.columns) if c.role in roles]


def _chart(pub: Publication, data: FicheData, theme: Theme, height: float = 125.0) -> None:
    if not theme.chart:
        return
    series, colours = [], []
    for i in chart_columns(data, theme):
        col = data.columns[i]
        figs = [data.figure(ind, i) for ind in (theme.chart_qpv if i == 0 and theme.chart_qpv else theme.chart)]
        series.append(Series(col.header, [f.value for f in figs], [f.status for f in figs]))
        colours.append(SERIES_COLOURS[i])
    if all(v is None for s in series for v in s.values):
        return
    decimals = max((data.definitions[i].decimals for i in theme.chart if i in data.definitions), default=1)
    box = pub.reserve(height)
    title = theme.chart_title + (" (pas de figure comparable pour le quartier)" if theme.chart_references_only else "")
    charts.columns(pub.c, box, list(theme.chart_labels), series, unit=theme.chart_unit, decimals=decimals,
                   chart_title=title, colours=colours)


def key_messages(data: FicheData) -> list[str]:
    """Sentences comparing the neighbourhood with its commune and EPCI, from shown figures only."""
    out = []
    pop = data.figure("population", 0)
    commune_i = data.column("commune")
    if pop.value is not None and commune_i is not None:
        commune_pop = data.figure("population", commune_i)
        share_pct = pop.value / commune_pop.value * 100 if commune_pop.value else None
        if len(data.communes) > 1:
            share_pct = None
        sentence = share("Le quartier", pop.value, data.columns[commune_i].name, share_pct)
        if sentence:
            out.append(sentence)
    for indicator, subject, ref in MESSAGES:
        if indicator not in data.definitions:
            continue
        i = data.column(ref)
        if i is None:
            continue
        definition = data.definitions[indicator]
        words = _epci_words(data.columns[i].name) if ref == "epci" else data.columns[i].name
        sentence = compare(subject, data.figure(indicator, 0).value, data.figure(indicator, i).value, words,
                           unit=definition.unit, decimals=definition.decimals)
        if sentence:
            out.append(sentence)
    return out[:6]


def sources(data: FicheData) -> list[str]:
    """« source — vintage » of every indicator shown, once each."""
    seen: dict[str, set[str]] = {}
    for (indicator, _col), fig in data.figures.items():
        if fig.year is None or indicator not in data.definitions:
            continue
        definition = data.definitions[indicator]
        seen.setdefault(definition.source, set()).add(data.vintages.get((indicator, fig.year), str(fig.year)))
    lines = [f"{source} : {', '.join(sorted(vintages))}." for source, vintages in sorted(seen.items())]
    lines.append(MAP_SOURCE + ".")
    return lines


def _map(pub: Publication, data: FicheData, box) -> None:
    m = data.map
    if m is None:
        charts.title(pub.c, box, "Carte non disponible (contour absent de l'entrepôt).")
        return
    box = charts.title(pub.c, box, f"Le quartier dans {'ses communes' if len(m.communes) > 1 else 'sa commune'}")
    layers = [
        Layer(m.neighbours, fill=HexColor("#f5f5f4"), stroke=HexColor("#d6d3d1"), width=0.4),
        Layer(m.communes, fill=HexColor("#e0ecf7"), stroke=HexColor("#1d4e89"), width=0.9),
        Layer(m.other_qpv, fill=HexColor("#fbd5c0"), stroke=HexColor("#e8a27c"), width=0.4),
        Layer([m.qpv], fill=HexColor("#c2410c"), stroke=HexColor("#7c2d12"), width=0.8),
        Layer(m.communes, fill=None, stroke=None, labels=m.commune_names, label_size=7),
    ]
    draw_map(pub.c, box, layers, m.bounds, source=MAP_SOURCE)


def _key_figures(pub: Publication, data: FicheData, box) -> None:
    c = pub.c
    y = box.top - 10
    from vigie.publish.pdf.document import ACCENT, MUTED, draw_text

    draw_text(c, box.x, y, "Chiffres clés du quartier", size=9.5, font=fonts.BOLD, colour=ACCENT)
    y -= 16
    for indicator, label in (("population", "Habitants"), ("part_0014", "Moins de 15 ans"),
                             ("taux_chomage", "Taux de chômage"), ("part_hlm", "Locataires HLM"),
                             ("part_familles_monoparentales", "Familles monoparentales"), ("part_diplmin", "Sans diplôme")):
        definition = data.definitions.get(indicator)
        if definition is None:
            continue
        fig = data.figure(indicator, 0)
        value = text(definition, fig, unit=False) if fig.value is not None else ("secret" if fig.status == "secret" else "n.d.")
        draw_text(c, box.x, y, value + (" (f)" if fig.status == "fragile" else ""), size=14, font=fonts.BOLD,
                  colour=SERIES_COLOURS[0] if fig.value is not None else MUTED)
        vintage = data.vintages.get((indicator, fig.year), "") if fig.year else ""
        draw_text(c, box.x, y - 10, f"{label}" + (f" — {vintage}" if vintage else ""), size=7, colour=MUTED, max_width=box.w)
        y -= 28
        if y < box.y + 10:
            break


def render(data: FicheData, path: str) -> int:
    """Draw the fiche of one QPV to `path`; returns its number of pages."""
    t = data.territory
    communes = ", ".join(n for _c, n, _w in data.communes) or "commune inconnue"
    epci = next((c.name for c in data.columns if c.role == "epci"), "")
    pub = Publication(path, f"Fiche quartier — {t.name}",
                      f"Quartier prioritaire de la politique de la ville {t.code} — {communes}" + (f" — {epci}" if epci else ""),
                      synthetic=data.synthetic)
    intro = (f"Le quartier prioritaire « {t.name} » ({t.code}) est situé "
             + (f"à {data.communes[0][1]}" if len(data.communes) == 1 else f"sur les communes de {communes}")
             + (f" (EPCI : {epci})" if epci else "") + ". Ses indicateurs sont comparés à ceux de "
             + ", ".join(c.name for c in data.columns[1:]) + ".")
    pub.paragraph(intro, size=9)
    for note in data.notes:
        pub.paragraph(note, size=8.5, font=fonts.ITALIC)
    if data.synthetic:
        pub.paragraph("Les chiffres du quartier de cette édition de démonstration sont des données fictives de démonstration : "
                      "ils illustrent la maquette et ne décrivent pas le quartier réel.", size=8, font=fonts.ITALIC)
    top = pub.reserve(250)
    map_box, figures_box = top.split(0.66, 0.34)
    _map(pub, data, map_box)
    _key_figures(pub, data, figures_box)

    pub.heading("Messages clés", keep_with=40)
    for sentence in key_messages(data):
        pub.paragraph(sentence, size=8.5, bullet="•", indent=2)

    pub.heading("Démographie", keep_with=150)
    _table(pub, data, DEMOGRAPHY)
    commune_i = data.column("commune") or 1
    if len(data.columns) > 1:
        left = Series("Quartier", [data.figure(i, 0).value for i, _ in PYRAMID],
                      [data.figure(i, 0).status for i, _ in PYRAMID])
        right = Series(data.columns[commune_i].name, [data.figure(i, commune_i).value for i, _ in PYRAMID],
                       [data.figure(i, commune_i).status for i, _ in PYRAMID])
        box = pub.reserve(130)
        charts.pyramid(pub.c, box, [label for _i, label in PYRAMID], left, right,
                       chart_title="Pyramide des âges : part de chaque tranche d'âge dans la population")

    for theme in THEMES:
        pub.heading(theme.title, keep_with=110)
        _table(pub, data, theme)
        _chart(pub, data, theme)
    pub.heading("Sources et millésimes", keep_with=50)
    pub.sources(sources(data), title="Les chiffres sont ceux du cube d'indicateurs de Vigie (géographie au 1er janvier "
                f"{t.cog}). « n.d. » : non disponible ; « secret » : secret statistique ; « (f) » : valeur fragile.")
    return pub.save()


def records(data: FicheData) -> list:
    """Every figure of the fiche, for its data pack."""
    from vigie.publish.pdf.datapack import Record

    out = []
    for (indicator, i), fig in sorted(data.figures.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        definition = data.definitions.get(indicator)
        if definition is None:
            continue
        col = data.columns[i]
        out.append(Record(definition.theme, indicator, definition.label, col.level, col.code, col.name, fig.year,
                          data.vintages.get((indicator, fig.year), "") if fig.year else "",
                          fig.value, text(definition, fig, unit=False), definition.unit, fig.status, definition.source, fig.synthetic))
    return out
