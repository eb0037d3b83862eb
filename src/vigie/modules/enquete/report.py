"""The survey report: a PDF (A4, reportlab, the toolkit of `vigie.publish.pdf`) and its XLSX data pack.

Contents: the method (sample, sampling design, calibration margins and method, weight range, Kish's effective
size, design effect of the weighting, how the intervals are computed); a synthesis of the motives (who practises
each one, first destination, leakage, with 95 % intervals); for each motive a flow map (home commune → destination,
line width ∝ weighted trips, the threshold of the lines drawn stated), the attraction of the poles (share of the
trips with its interval), leakage outside the study territory by EPCI, and catchment maps of the main poles
(each commune coloured by the share of its trips going to the pole, the communes whose first destination it is
outlined); the key estimates (shares and means overall, by EPCI, age group and sex, with intervals, unreliable
cells flagged « (f) », Rao–Scott tests); the interview themes counted by profile with a few quotations; sources.

As the other publications: `collect(wh, survey_id)` reads and computes everything into plain picklable data
(`ReportData`), `render(data, path)` draws it without the warehouse, `records(data)` lists every figure for the data
pack (`datapack.write`). `make_report(wh, survey_id, directory)` does the three.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from reportlab.lib.colors import HexColor

from vigie.publish.pdf import charts, fonts
from vigie.publish.pdf import numbers as fmt
from vigie.publish.pdf.document import ACCENT, INK, MUTED, Box, Publication, draw_text
from vigie.publish.pdf.maps import NO_DATA, Layer, draw_map
from vigie.publish.pdf.tables import Cell, draw_table
from vigie.publish.pdf.typography import french

if TYPE_CHECKING:
    from vigie.warehouse import Warehouse

MAP_SOURCE = "Contours : IGN Admin Express — carte Vigie"
INSIDE_COLOUR = HexColor("#1d4e89")  # a flow to a pole of the study territory
OUTSIDE_COLOUR = HexColor("#c2410c")  # a flow leaving it
BASE_FILL = HexColor("#eef1f4")
EPCI_STROKE = HexColor("#7c8b99")
# Catchment maps: share of a commune's trips going to the pole (upper bounds, %), light to dark.
CATCHMENT_BOUNDS = [10.0, 25.0, 50.0, 75.0, 100.0]
CATCHMENT_COLOURS = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"]
FLOW_SHARE_THRESHOLD = 0.005  # lines drawn: flows of at least 0.5 % of the motive's trips…
MIN_LINES = 30  # … lowered, when needed, to draw at least this many flows between communes…
MAX_LINES = 80  # … and at most this many (the largest)
MAX_WIDTH = 9.0  # points, the largest flow
POLES_IN_TABLE = 8
CATCHMENT_POLES = 4
QUOTES_PER_THEME = 2


# ---------------------------------------------------------------------------------------------- plain data
@dataclass
class Pole:
    code: str
    name: str
    inside: bool
    trips: float
    share: float
    low: float
    high: float
    respondents: int
    fragile: bool
    catchment: int  # communes whose first destination it is


@dataclass
class Flow:
    origin: str
    origin_name: str
    destination: str
    destination_name: str
    inside: bool
    trips: float
    share: float  # of the origin's trips
    low: float
    high: float
    respondents: int
    origin_respondents: int
    fragile: bool


@dataclass
class Leak:
    code: str
    name: str
    share: float
    low: float
    high: float
    trips: float
    respondents: int
    fragile: bool


@dataclass
class MotiveData:
    id: str
    label: str
    practising: float  # share of respondents naming a destination
    practising_low: float
    practising_high: float
    practising_deff: float
    respondents: int
    trips: float
    poles: list[Pole]
    flows: list[Flow]
    first: dict[str, str]  # origin commune -> its first destination
    leakage: list[Leak] = field(default_factory=list)  # overall first, then by EPCI


@dataclass
class EstimateRow:
    group: str  # "Ensemble", an EPCI, an age group…
    modality: str  # modality label ("" for a mean)
    value: float
    low: float
    high: float
    n: int
    fragile: bool


@dataclass
class EstimateTable:
    variable: str
    label: str
    statistic: str  # "part" or "moyenne"
    by: str  # grouping label ("" overall only)
    rows: list[EstimateRow]
    test: str | None = None  # Rao–Scott sentence


@dataclass
class ThemeData:
    id: str
    label: str
    interviews: int
    total: int
    excerpts: int
    by_group: dict[str, tuple[int, int]]  # group -> (interviews with the theme, interviews of the group)
    quotes: list[tuple[str, str, str]]  # (interview, quotation, profile)


@dataclass
class ReportData:
    survey: str
    title: str
    producer: str
    vintage: str | None
    population: str | None
    licence: str | None
    synthetic: bool
    n: int
    cog: int
    territory: str | None
    communes_sampled: int
    strata: int | None
    scheme: str | None
    weighting: dict  # method, converged, iterations, the stored report (n, total, minimum, maximum…)
    weighting_lines: list[str]
    margins: list[tuple[str, str, float, float, float]]  # variable label, modality label, target, before, after
    motives: list[MotiveData]
    estimates: list[EstimateTable]
    themes: list[ThemeData]
    theme_group_key: str | None
    theme_groups: list[str]
    interviews: int
    threshold: int
    # map layers, Lambert-93
    communes: dict[str, object]  # commune of the study territory -> contour
    epcis: list[object]
    outline: object
    points: dict[str, tuple[float, float]]  # code -> (x, y) of every origin and destination placed
    names: dict[str, str]


# ---------------------------------------------------------------------------------------------- collect
def _finite(value, default: float = float("nan")) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


def collect(wh: "Warehouse", survey_id: str, *, scheme: str | None = "calage", threshold: int | None = None) -> ReportData:
    """Read the survey, its weights, flows, estimates and interviews, and the contours the maps need."""
    import json

    import numpy as np
    import shapely

    from vigie.errors import NotFoundError
    from vigie.modules.enquete.codebook import MOTIVES
    from vigie.modules.enquete.estimates import MIN_RESPONDENTS
    from vigie.modules.enquete.flows import FlowReader
    from vigie.modules.enquete.survey import load_survey

    threshold = threshold or MIN_RESPONDENTS
    survey = load_survey(wh, survey_id)
    cb = survey.codebook
    known = list(survey.schemes()["scheme"])
    if scheme is not None and scheme not in known:
        if scheme == "calage" and not known:
            scheme = None  # never weighted: the design weights, said in the report
        else:
            raise NotFoundError(f"L'enquête « {survey.id} » n'a pas de pondération « {scheme} » "
                                f"(pondérations : {', '.join(known) or 'aucune'}).")
    design = survey.design(scheme)
    reader = FlowReader(survey, scheme, design=design, min_count=threshold)
    frame = survey.frame

    # ---- weighting
    weighting: dict = {}
    lines: list[str] = []
    margins: list[tuple[str, str, float, float, float]] = []
    if scheme is not None:
        from vigie.modules.enquete.calibration import WeightingReport

        row = survey.weighting(scheme)
        stored = json.loads(row["report"])
        weighting = {"method": row["method"], "converged": bool(row["converged"]), "iterations": int(row["iterations"]),
                     **{k: v for k, v in stored.items() if k != "margins"}}
        fields = set(WeightingReport.__dataclass_fields__)
        report = WeightingReport(**{k: v for k, v in stored.items() if k in fields and k != "margins"})
        if report.bounds is not None:
            report.bounds = tuple(report.bounds)
        lines = report.lines()
        groups_of = {m["variable"]: m.get("groups") or {} for m in json.loads(row["margins"]) if "totals" in m}
        for m in stored.get("margins") or []:
            variable, modality = str(m["variable"]), str(m["modalite"]) if m["modalite"] is not None else ""
            margins.append((_variable_label(cb, variable), _modality_label(cb, reader.names, variable, modality,
                                                                           groups_of.get(variable, {})),
                            _finite(m["cible"]), _finite(m["avant"]), _finite(m["apres"])))

    # ---- motives
    motives: list[MotiveData] = []
    for motive in cb.motives:
        trips = reader.trips(motive)
        m = trips.per_respondent
        if not m.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore"):  # everyone practising: no SRS variance, no design effect
            practising = design.mean((m > 0).astype(float), deff=True)
        p_low, p_high = design.proportion_interval(practising.value, practising.se)
        attraction = reader.attraction(motive)
        flows = reader.flows(motive, "commune")
        # catchment: each origin's first destination, as `FlowReader.catchment` ranks them (largest share, then code)
        ranked = flows.sort_values(["origine", "part", "destination"], ascending=[True, False, True])
        firsts = ranked.groupby("origine", sort=True).head(1)
        first = {str(o): str(d) for o, d in zip(firsts["origine"], firsts["destination"])}
        sizes = firsts["destination"].value_counts()
        poles = [Pole(str(r.destination), str(r.destination_nom), bool(r.dans_territoire), float(r.deplacements),
                      float(r.part), float(r.ic_bas), float(r.ic_haut), int(r.repondants), bool(r.fragile),
                      int(sizes.get(r.destination, 0))) for r in attraction.itertuples()]
        flow_list = [Flow(str(r.origine), str(r.origine_nom), str(r.destination), str(r.destination_nom),
                          bool(r.dans_territoire), float(r.deplacements), float(r.part), float(r.ic_bas), float(r.ic_haut),
                          int(r.repondants), int(r.repondants_origine), bool(r.fragile)) for r in flows.itertuples()]
        leaks: list[Leak] = []
        if reader.inside:
            for r in reader.leakage(motive, "epci").itertuples():
                leaks.append(Leak(str(r.origine), str(r.origine_nom), float(r.evasion), float(r.ic_bas), float(r.ic_haut),
                                  float(r.deplacements_hors_territoire), int(r.repondants), bool(r.fragile)))
        motives.append(MotiveData(motive, MOTIVES[motive], practising.value, p_low, p_high, _finite(practising.deff),
                                  int(np.sum(m > 0)), float(design.weights @ m), poles, flow_list, first, leaks))

    # ---- estimates
    estimates = _estimates(survey, design, reader.names, threshold)

    # ---- interviews
    themes, group_key, groups, interviews = _themes(wh, survey.id)

    # ---- map layers (Lambert-93)
    inside = sorted(reader.inside) or sorted(set(frame["commune"].dropna()))
    places = {c for mo in motives for f in mo.flows for c in (f.origin, f.destination)}
    communes, points = _contours(wh, "commune", sorted(set(inside) | places), survey.cog)
    territory_communes = {c: g for c, g in communes.items() if c in set(inside)}
    epci_codes = sorted({str(e) for e in frame["epci"].dropna()})
    epci_geoms, _ = _contours(wh, "epci", epci_codes, survey.cog)
    if cb.external_positions:
        from pyproj import Transformer

        to_l93 = Transformer.from_crs(4326, 2154, always_xy=True)
        for code, (lon, lat) in cb.external_positions.items():
            if code in places and code not in points:
                x, y = to_l93.transform(lon, lat)
                points[code] = (float(x), float(y))
    outline = shapely.union_all(list(territory_communes.values())) if territory_communes else None
    territory_name = reader.territory_name
    strata = int(len(set(frame[cb.design["strata"]].dropna()))) if "strata" in cb.design else None
    return ReportData(
        survey.id, survey.title, cb.producer, cb.vintage, cb.population, cb.licence, survey.synthetic, survey.n, survey.cog,
        territory_name, int(frame["commune"].nunique()), strata, scheme, weighting, lines, margins, motives, estimates,
        themes, group_key, groups, interviews, threshold, territory_communes, list(epci_geoms.values()), outline, points,
        dict(reader.names))


def _variable_label(cb, variable: str) -> str:
    from vigie.modules.enquete.survey import CROSSING

    if variable == "epci":
        return "EPCI de résidence"
    parts = variable.split(CROSSING)
    return " × ".join(cb.variables[p].label if p in cb.variables else p for p in parts)


def _modality_label(cb, names: dict[str, str], variable: str, modality: str, groups: dict) -> str:
    from vigie.modules.enquete.survey import CROSSING, CROSSING_JOIN

    if variable == "epci":
        return names.get(modality, modality)
    if modality in groups:
        return " + ".join(cb.modality_label(variable, c) for c in groups[modality])
    parts = variable.split(CROSSING)
    codes = modality.split(CROSSING_JOIN) if len(parts) > 1 else [modality]
    return ", ".join(cb.modality_label(p, c) for p, c in zip(parts, codes))


def _estimates(survey, design, names: dict[str, str], threshold: int) -> list[EstimateTable]:
    """Shares of every categorical variable that is not a calibration profile, means of every numeric one; overall
    and by EPCI, age group and sex (the profile variables), with their Rao–Scott tests."""
    from vigie.modules.enquete.estimates import EstimationError

    cb = survey.codebook
    frame = survey.frame
    profile = set(cb.profile.values())
    groupings: list[tuple[str, str, dict[str, str]]] = [("epci", "EPCI de résidence", names)]
    for role in ("age_group", "sex"):
        var = cb.variables.get(cb.profile.get(role, ""))
        if var is not None:
            groupings.append((var.name, var.label, dict(var.modalities)))
    out: list[EstimateTable] = []
    for var in cb.variables.values():
        if var.kind not in ("categorical", "numeric") or var.name in profile:
            continue
        try:
            if var.kind == "numeric":
                values = frame[var.name].to_numpy(dtype=float)
                est = design.mean(values)
                rows = [EstimateRow("Ensemble", "", est.value, est.ci_low, est.ci_high, est.n, est.n < threshold)]
                table = EstimateTable(var.name, var.label, "moyenne", "", rows)
                out.append(table)
                for column, label, labels in groupings:
                    by = design.by(values, frame[column].to_numpy(dtype=object), "mean", min_count=threshold,
                                   group_labels=labels)
                    out.append(EstimateTable(var.name, var.label, "moyenne", label, [
                        EstimateRow(str(r.groupe_libelle), "", float(r.valeur), float(r.ic_bas), float(r.ic_haut), int(r.n),
                                    bool(r.fragile)) for r in by.itertuples()]))
                continue
            values = frame[var.name].to_numpy(dtype=object)
            answered = set(frame[var.name].dropna())
            modalities = [m for m in var.modalities if m in answered]
            shown = modalities[:1] if len(modalities) == 2 else modalities  # a yes/no: the first, the other is 1 − it
            overall = design.shares(values, modalities=modalities, labels=var.modalities, min_count=threshold)
            out.append(EstimateTable(var.name, var.label, "part", "", [
                EstimateRow("Ensemble", str(r.libelle), float(r.part), float(r.ic_bas), float(r.ic_haut), int(r.n),
                            bool(r.fragile)) for r in overall.itertuples() if r.modalite in shown]))
            for column, label, labels in groupings:
                cross = design.crosstab(values, frame[column].to_numpy(dtype=object), min_count=threshold,
                                        labels=var.modalities, group_labels=labels)
                out.append(EstimateTable(var.name, var.label, "part", label, [
                    EstimateRow(str(r.groupe_libelle), str(r.libelle), float(r.part), float(r.ic_bas), float(r.ic_haut),
                                int(r.n), bool(r.fragile)) for r in cross.cells.itertuples() if r.modalite in shown],
                    cross.test.sentence() if cross.test is not None else None))
        except EstimationError:
            continue
    return out


def _themes(wh, survey_id: str):
    from vigie.errors import NotFoundError
    from vigie.modules.enquete.interviews import quotations, theme_counts
    from vigie.modules.enquete.schema import existing_tables

    if "survey_interview" not in existing_tables(wh):
        return [], None, [], 0
    try:
        overall = theme_counts(wh, survey_id)
    except NotFoundError:
        return [], None, [], 0
    quotes = quotations(wh, survey_id)
    import json

    keys: dict[str, None] = {}
    for (profile,) in wh.query("SELECT profile FROM survey_interview WHERE survey = ?", (survey_id,)):
        for key in json.loads(profile):
            keys.setdefault(key, None)
    group_key = "sexe" if "sexe" in keys else next(iter(keys), None)
    by = theme_counts(wh, survey_id, group_key) if group_key else None
    groups = sorted(set(by["groupe"])) if by is not None else []
    themes = []
    total = int(overall["entretiens_groupe"].max()) if len(overall) else 0
    for r in overall.itertuples():
        by_group = {}
        if by is not None:
            for g in by[by["theme"] == r.theme].itertuples():
                by_group[str(g.groupe)] = (int(g.entretiens), int(g.entretiens_groupe))
        mine = quotes[quotes["theme"] == r.theme]
        seen: set[str] = set()
        picked = []
        for q in mine.itertuples():
            if q.citation in seen:
                continue
            seen.add(q.citation)
            picked.append((str(q.entretien), str(q.citation), str(q.profil)))
            if len(picked) == QUOTES_PER_THEME:
                break
        themes.append(ThemeData(str(r.theme), str(r.theme_libelle), int(r.entretiens), int(r.entretiens_groupe),
                                int(r.extraits), by_group, picked))
    return themes, group_key, groups, total


def _contours(wh, level: str, codes: list[str], cog: int) -> tuple[dict[str, object], dict[str, tuple[float, float]]]:
    """Lambert-93 contours of these territories (at `cog`, else the nearest earlier COG) and a point inside each."""
    import shapely

    if not codes:
        return {}, {}
    cogs = [int(r[0]) for r in wh.query("SELECT DISTINCT cog FROM territory_geometry WHERE level = ? ORDER BY cog", (level,))]
    if not cogs:
        return {}, {}
    chosen = cog if cog in cogs else max([c for c in cogs if c <= cog] or cogs)
    marks = ", ".join("?" * len(codes))
    rows = wh.query(f"SELECT code, ST_AsWKB(geom) FROM territory_geometry WHERE level = ? AND cog = ? AND code IN ({marks})",
                    [level, chosen, *codes])
    if not rows:
        return {}, {}
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows])
    centres = shapely.centroid(geoms)
    points = [c if shapely.contains(g, c) else shapely.point_on_surface(g) for g, c in zip(geoms, centres)]
    return ({str(r[0]): g for r, g in zip(rows, geoms)},
            {str(r[0]): (float(p.x), float(p.y)) for r, p in zip(rows, points)})


# ---------------------------------------------------------------------------------------------- render helpers
def _pct(value: float | None, decimals: int = 1) -> str:
    return fmt.percent(None if value is None or not math.isfinite(value) else 100.0 * value, decimals)


def _interval(low: float, high: float, decimals: int = 1) -> str:
    return f"{_pct(low, decimals)} – {_pct(high, decimals)}"


def _number(value: float, decimals: int = 0) -> str:
    return fmt.number(value if math.isfinite(value) else None, decimals)


def _territory_words(data: ReportData) -> str:
    """The study territory after « du » (names have no article: « hors du territoire d'étude »)."""
    return "territoire d'étude"


def _bounds(data: ReportData, codes: set[str]) -> tuple[float, float, float, float]:
    boxes = []
    if data.outline is not None:
        boxes.append(data.outline.bounds)
    pts = [data.points[c] for c in codes if c in data.points]
    if pts:
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
    if not boxes:
        return (0.0, 0.0, 1.0, 1.0)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _base_layers(data: ReportData, fills=None) -> list[Layer]:
    codes = list(data.communes)
    layers = [Layer([data.communes[c] for c in codes], fill=BASE_FILL if fills is None else None,
                    fills=[fills.get(c, NO_DATA) for c in codes] if fills is not None else None,
                    stroke=HexColor("#ffffff"), width=0.3)]
    if data.epcis:
        layers.append(Layer(data.epcis, fill=None, stroke=EPCI_STROKE, width=0.7))
    if data.outline is not None:
        layers.append(Layer([data.outline], fill=None, stroke=ACCENT, width=1.1))
    return layers


def drawn_flows(motive: MotiveData) -> tuple[list[Flow], list[Flow], float]:
    """The flows between two places drawn as lines (at least the threshold, the largest `MAX_LINES`), the flows
    staying in the home commune, and the threshold in weighted trips."""
    between = sorted((f for f in motive.flows if f.origin != f.destination), key=lambda f: -f.trips)
    threshold = FLOW_SHARE_THRESHOLD * motive.trips
    if len(between) >= MIN_LINES:
        threshold = min(threshold, between[MIN_LINES - 1].trips)
    elif between:
        threshold = min(threshold, between[-1].trips)
    kept = [f for f in between if f.trips >= threshold][:MAX_LINES]
    if len(kept) == MAX_LINES:
        threshold = kept[-1].trips
    staying = [f for f in motive.flows if f.origin == f.destination and f.trips >= threshold]
    return kept, staying, threshold


def _flow_map(pub: Publication, data: ReportData, motive: MotiveData, box: Box) -> None:
    c = pub.c
    lines, staying, threshold = drawn_flows(motive)
    map_box, legend_box = box.split(0.76, 0.24, gap=8)
    map_box = charts.title(c, map_box, f"{motive.label} : flux domicile → destination (déplacements pondérés)")
    if not data.communes and not data.points:
        draw_text(c, map_box.x, map_box.top - 12, "Carte non disponible : contours des communes absents de l'entrepôt.",
                  size=8, colour=MUTED)
        return
    codes = {f.origin for f in lines + staying} | {f.destination for f in lines + staying}
    top = [p for p in motive.poles[:8] if p.code in data.points]
    codes |= {p.code for p in top}
    frame = draw_map(c, map_box, _base_layers(data), _bounds(data, codes), source=MAP_SOURCE)
    biggest = max([f.trips for f in lines + staying], default=1.0)

    def width(trips: float) -> float:
        return max(0.4, MAX_WIDTH * trips / biggest)

    c.saveState()
    clip = c.beginPath()
    clip.rect(map_box.x, map_box.y, map_box.w, map_box.h)
    c.clipPath(clip, stroke=0, fill=0)
    c.setLineCap(1)
    for f in sorted(lines, key=lambda f: f.trips):  # the largest on top
        if f.origin not in data.points or f.destination not in data.points:
            continue
        x0, y0 = frame.xy(*data.points[f.origin])
        x1, y1 = frame.xy(*data.points[f.destination])
        # a slight curve to the right of the direction: A → B and B → A do not overlap
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        cx, cy = mx + (y1 - y0) * 0.15, my - (x1 - x0) * 0.15
        c.setStrokeColor(INSIDE_COLOUR if f.inside else OUTSIDE_COLOUR, alpha=0.6)
        c.setLineWidth(width(f.trips))
        path = c.beginPath()
        path.moveTo(x0, y0)
        path.curveTo(x0 + (cx - x0) * 2 / 3, y0 + (cy - y0) * 2 / 3, x1 + (cx - x1) * 2 / 3, y1 + (cy - y1) * 2 / 3, x1, y1)
        c.drawPath(path, stroke=1, fill=0)
    c.setStrokeColor(HexColor("#ffffff"))
    c.setLineWidth(0.4)
    for f in staying:  # trips staying in the home commune: a circle, area ∝ trips
        if f.origin in data.points:
            x, y = frame.xy(*data.points[f.origin])
            c.setFillColor(INSIDE_COLOUR, alpha=0.35)
            c.circle(x, y, max(1.2, MAX_WIDTH * math.sqrt(f.trips / biggest)), stroke=1, fill=1)
    for p in top:
        x, y = frame.xy(*data.points[p.code])
        c.setFillColor(INK, alpha=1)
        c.circle(x, y, 2.2, stroke=0, fill=1)
        _place_label(c, x + 3.5, y + 3, p.name)
    c.restoreState()
    _flow_legend(pub, legend_box, motive, lines, staying, threshold, biggest, set(data.points))


def _place_label(c, x: float, y: float, text: str, *, align: str = "left") -> None:
    """A place name on a white, half-transparent band, readable over dark fills and lines."""
    w = fonts.width(french(text), fonts.BOLD, 6.5)
    left = x - w if align == "right" else x
    c.saveState()
    c.setFillColor(HexColor("#ffffff"), alpha=0.75)
    c.roundRect(left - 1.5, y - 2, w + 3, 8.5, 1.5, stroke=0, fill=1)
    c.restoreState()
    draw_text(c, x, y, text, size=6.5, font=fonts.BOLD, colour=INK, align=align)


def _flow_legend(pub, box: Box, motive: MotiveData, lines: list[Flow], staying: list[Flow], threshold: float,
                 biggest: float, placed: set[str]) -> None:
    c = pub.c
    y = box.top - 22
    draw_text(c, box.x, y, "Déplacements pondérés", size=7.5, font=fonts.BOLD)
    y -= 14
    for value in _legend_values(biggest, threshold):
        c.setStrokeColor(MUTED)
        c.setLineWidth(max(0.4, MAX_WIDTH * value / biggest))
        c.line(box.x, y + 2.5, box.x + 26, y + 2.5)
        draw_text(c, box.x + 32, y, _number(value), size=7)
        y -= 14
    for colour, text in ((INSIDE_COLOUR, "vers un pôle du territoire"), (OUTSIDE_COLOUR, "vers l'extérieur")):
        c.setStrokeColor(colour)
        c.setLineWidth(3)
        c.line(box.x, y + 2.5, box.x + 26, y + 2.5)
        draw_text(c, box.x + 32, y, text, size=7, max_width=box.w - 32)
        y -= 14
    c.setFillColor(INSIDE_COLOUR, alpha=0.35)
    c.circle(box.x + 13, y + 2.5, 4.5, stroke=0, fill=1)
    c.setFillColor(INK, alpha=1)
    draw_text(c, box.x + 32, y, "dans la commune", size=7)
    draw_text(c, box.x + 32, y - 8, "de résidence", size=7)
    y -= 26
    between = [f for f in motive.flows if f.origin != f.destination]
    covered = sum(f.trips for f in lines) / max(sum(f.trips for f in between), 1e-9)
    unplaced = sorted({f.destination_name for f in lines if f.destination not in placed or f.origin not in placed})
    notes = [f"Sans position connue, non dessinés : {', '.join(unplaced)}."] if unplaced else []
    notes += [f"Seuil : flux d'au moins {_number(threshold)} déplacements pondérés "
             f"({_pct(threshold / motive.trips if motive.trips else float('nan'), 1)} des déplacements du motif).",
             f"{fmt.number(len(lines))} flux entre communes représentés sur {fmt.number(len(between))}, "
             f"soit {_pct(covered, 0)} des déplacements hors de la commune de résidence."]
    from vigie.publish.pdf.document import wrap

    for note in notes:
        for line in wrap(note, box.w, size=6.8):
            draw_text(c, box.x, y, line, size=6.8, colour=MUTED)
            y -= 8.5
        y -= 3


def _legend_values(biggest: float, threshold: float) -> list[float]:
    """The largest flow, a middle one and the threshold, rounded to two significant digits."""
    def rounded(v: float) -> float:
        if v <= 0:
            return v
        exp = 10 ** (math.floor(math.log10(v)) - 1)
        return round(v / exp) * exp

    out: list[float] = []
    for v in (biggest, math.sqrt(biggest * max(threshold, 1e-9)), threshold):
        v = rounded(v)
        if v > 0 and v not in out:
            out.append(v)
    return out or [biggest]


def _catchment_maps(pub: Publication, data: ReportData, motive: MotiveData) -> None:
    poles = motive.poles[:CATCHMENT_POLES]
    if not poles or not data.communes:
        return
    pub.heading(f"{motive.label} : zones de chalandise des principaux pôles", size=11, keep_with=240)
    pub.paragraph("Chaque commune du territoire est colorée selon la part de ses déplacements pour ce motif qui vont au "
                  "pôle ; les communes dont le pôle est la première destination sont cerclées de noir. Les parts "
                  "communales reposent sur peu de répondants par commune : elles donnent une tendance, pas une mesure "
                  "commune par commune.", size=8, colour=MUTED)
    origins: dict[str, dict[str, float]] = {}
    for f in motive.flows:
        origins.setdefault(f.origin, {})[f.destination] = f.share
    bounds = data.outline.bounds if data.outline is not None else (0, 0, 1, 1)
    rows = [poles[i:i + 2] for i in range(0, len(poles), 2)]
    height = min(265.0, (pub.space_left() - 60) / len(rows)) if pub.space_left() > 300 else 230.0
    for row in rows:
        box = pub.reserve(height)
        for cell, pole in zip(box.split(0.5, 0.5, gap=14), row):
            cell = charts.title(pub.c, cell, f"{pole.name} ({_pct(pole.share)} des déplacements)")
            fills = {}
            for code in data.communes:
                shares = origins.get(code)
                fills[code] = NO_DATA if shares is None else _catchment_colour(100.0 * shares.get(pole.code, 0.0))
            layers = _base_layers(data, fills)
            zone = [data.communes[c] for c, first in motive.first.items() if first == pole.code and c in data.communes]
            if zone:
                import shapely

                layers.append(Layer([shapely.union_all(zone)], fill=None, stroke=INK, width=1.0))
            frame = draw_map(pub.c, cell, layers, bounds, source=MAP_SOURCE, north=False)
            if pole.code in data.points:
                x, y = frame.xy(*data.points[pole.code])
                if cell.x + 4 <= x <= cell.x + cell.w - 4 and cell.y + 4 <= y <= cell.top - 4:
                    pub.c.setFillColor(INK)
                    pub.c.circle(x, y, 2.4, stroke=0, fill=1)
                    right = x > cell.x + cell.w * 0.75
                    _place_label(pub.c, x - 3.5 if right else x + 3.5, y + 3, pole.name, align="right" if right else "left")
    _catchment_legend(pub)


def _catchment_colour(percent: float):
    k = next((i for i, b in enumerate(CATCHMENT_BOUNDS) if percent <= b + 1e-9), len(CATCHMENT_BOUNDS) - 1)
    return HexColor(CATCHMENT_COLOURS[k])


def _catchment_legend(pub: Publication) -> None:
    box = pub.reserve(30)
    c = pub.c
    x = box.x
    draw_text(c, x, box.top - 9, "Part des déplacements de la commune vers le pôle :", size=7.5, font=fonts.BOLD)
    y = box.top - 24
    low = 0.0
    for high, colour in zip(CATCHMENT_BOUNDS, CATCHMENT_COLOURS):
        c.setFillColor(HexColor(colour))
        c.setStrokeColor(HexColor("#9aa5b1"))
        c.setLineWidth(0.3)
        c.rect(x, y - 1, 10, 8, stroke=1, fill=1)
        text = f"{'0' if low == 0 else 'plus de ' + fmt.percent(low, 0)} à {fmt.percent(high, 0)}" if low else f"jusqu'à {fmt.percent(high, 0)}"
        draw_text(c, x + 13, y, text, size=7)
        x += 16 + 70
        low = high
    c.setFillColor(NO_DATA)
    c.rect(x, y - 1, 10, 8, stroke=0, fill=1)
    draw_text(c, x + 13, y, "aucun répondant", size=7, colour=MUTED, max_width=box.x + box.w - x - 13)


# ---------------------------------------------------------------------------------------------- render
def render(data: ReportData, path: str) -> int:
    """Draw the report; returns its number of pages."""
    from vigie.demo.synthetic import DEMO_NOTICE

    subtitle = " — ".join(x for x in ("Rapport d'enquête", f"{fmt.number(data.n)} répondants", data.vintage) if x)
    pub = Publication(path, data.title, subtitle, synthetic=data.synthetic)
    where = f"du territoire d'étude ({data.territory})" if data.territory else "de l'échantillon"
    intro = (f"Ce rapport présente l'enquête « {data.title} » : {fmt.number(data.n)} personnes interrogées"
             + (f" ({data.population})" if data.population else "")
             + f". Pour chaque motif de déplacement, il montre où vont les habitants {where}, l'attraction des pôles, "
             "l'évasion hors du territoire et les zones de chalandise ; puis les principales estimations et les thèmes "
             "des entretiens. Chaque part est donnée avec son intervalle de confiance à 95 %.")
    pub.paragraph(intro, size=9)
    if data.synthetic:
        pub.paragraph(f"Attention : {DEMO_NOTICE}. Les chiffres de ce rapport illustrent la méthode et ne décrivent "
                      "pas les pratiques réelles des habitants.", size=8.5, font=fonts.BOLD, colour=HexColor("#b54708"))
    _synthesis(pub, data)
    _method(pub, data)
    for motive in data.motives:
        pub.new_page()
        _motive_page(pub, data, motive)
        _catchment_maps(pub, data, motive)
    _estimates_section(pub, data)
    _interviews_section(pub, data)
    pub.heading("Sources et méthode de calcul", keep_with=60)
    pub.sources(sources(data))
    return pub.save()


def _method(pub: Publication, data: ReportData) -> None:
    pub.heading("Méthode")
    sample = (f"Échantillon : {fmt.number(data.n)} répondants résidant dans {fmt.number(data.communes_sampled)} communes"
              + (f" du territoire d'étude ({data.territory})" if data.territory else "")
              + (f", tirés dans {fmt.number(data.strata)} strates" if data.strata else "") + ".")
    pub.paragraph(sample, size=8.5)
    w = data.weighting
    if not w:
        pub.paragraph("Aucune pondération enregistrée : les estimations utilisent les poids de sondage.", size=8.5)
    else:
        method = w.get("method") or ""
        label = {"linear": "linéaire", "raking": "raking ratio", "logit": "logit borné"}.get(method, method)
        state = "convergé" if w.get("converged") else "non convergé"
        pub.paragraph(f"Pondération « {data.scheme} » : calage sur marges (méthodes de Calmar, INSEE), méthode "
                      f"{label}, {state} en {fmt.number(w.get('iterations') or 0)} itération(s). Marges : "
                      + ", ".join(dict.fromkeys(m[0] for m in data.margins)) + ".", size=8.5)
        _weight_figures(pub, w)
        for line in data.weighting_lines:
            if not line.startswith("Méthode"):  # said above
                pub.paragraph(line, size=8, bullet="•", indent=2)
        if data.margins:
            rows = [[f"{v} : {m}", Cell(_number(t)), Cell(_number(b)), Cell(_number(a)),
                     Cell(_gap(a, t))]
                    for v, m, t, b, a in data.margins]
            draw_table(pub, ["Marge", "Cible", "Avant calage", "Après calage", "Écart"], rows, [4.2, 1.2, 1.2, 1.2, 0.8],
                       size=7)
    pub.paragraph("Intervalles de confiance à 95 % : variance par linéarisation (Taylor) tenant compte du plan de sondage "
                  "et du calage (résidus de la régression sur les variables de calage, comme le paquet R « survey ») ; "
                  "intervalle logit pour les parts. Effet de plan dû à la pondération : 1 + CV² des poids (Kish). "
                  f"Une estimation reposant sur moins de {fmt.number(data.threshold)} répondants est signalée « (f) » : "
                  "peu fiable, à lire avec prudence.", size=8, colour=MUTED)


def _gap(after: float, target: float) -> str:
    """Relative gap after calibration, in %, a rounding residue printed as 0 (never « -0,00 % »)."""
    if not (math.isfinite(after) and math.isfinite(target)) or not target:
        return "–"
    gap = (after - target) / target
    return _pct(gap if abs(gap) >= 5e-5 else 0.0, 2)


def _weight_figures(pub: Publication, w: dict) -> None:
    figures = [(f"{_number(w.get('minimum', float('nan')), 1)} – {_number(w.get('maximum', float('nan')), 1)}", "Étendue des poids"),
               (_number(w.get("ratio", float("nan")), 2), "Rapport max / min"),
               (_number(w.get("cv", float("nan")), 3), "Coefficient de variation"),
               (_number(w.get("effective_size", float("nan")), 0), "Taille effective (Kish)"),
               (_number(w.get("design_effect", float("nan")), 3), "Effet de plan (pondération)")]
    box = pub.reserve(40)
    for cell, (value, label) in zip(box.split(*([1 / len(figures)] * len(figures)), gap=6), figures):
        pub.c.setFillColor(HexColor("#eef2f7"))
        pub.c.roundRect(cell.x, cell.y, cell.w, cell.h, 4, stroke=0, fill=1)
        draw_text(pub.c, cell.x + 6, cell.top - 17, value, size=12, font=fonts.BOLD, colour=ACCENT, max_width=cell.w - 8)
        draw_text(pub.c, cell.x + 6, cell.top - 30, label, size=7, colour=MUTED, max_width=cell.w - 8)


def _synthesis(pub: Publication, data: ReportData) -> None:
    pub.heading("Synthèse par motif", keep_with=120)
    leak_header = "Évasion hors du territoire d'étude"
    rows = []
    for m in data.motives:
        top = m.poles[0] if m.poles else None
        leak = m.leakage[0] if m.leakage else None
        rows.append([m.label, Cell(_pct(m.practising)), Cell(_interval(m.practising_low, m.practising_high)),
                     Cell(_number(m.practising_deff, 2)),
                     Cell(top.name if top else "–"), Cell(_pct(top.share) if top else "–", "fragile" if top and top.fragile else "ok"),
                     Cell(f"{_pct(leak.share)} ({_interval(leak.low, leak.high)})" if leak else "–")])
    draw_table(pub, ["Motif", "Pratiquants", "IC à 95 %", "Effet de plan", "Première destination", "Part des déplacements",
                     leak_header], rows, [1.9, 1.0, 1.3, 0.8, 1.5, 1.1, 1.9], size=7)
    pub.paragraph("Pratiquants : part des personnes qui citent au moins une destination pour le motif. Effet de plan : "
                  "variance de cette part rapportée à celle d'un sondage aléatoire simple de même taille.", size=7.5,
                  colour=MUTED)


def _motive_page(pub: Publication, data: ReportData, motive: MotiveData) -> None:
    pub.heading(motive.label, keep_with=300)
    top = motive.poles[0] if motive.poles else None
    sentence = (f"{_pct(motive.practising)} des personnes interrogées citent une destination pour ce motif "
                f"(intervalle de confiance à 95 % : {_interval(motive.practising_low, motive.practising_high)}), soit "
                f"{fmt.number(motive.respondents)} répondants et {_number(motive.trips)} déplacements pondérés.")
    if top:
        sentence += (f" Premier pôle : {top.name}, avec {_pct(top.share)} des déplacements "
                     f"({_interval(top.low, top.high)}).")
    if motive.leakage:
        leak = motive.leakage[0]
        sentence += f" Évasion hors du {_territory_words(data)} : {_pct(leak.share)} ({_interval(leak.low, leak.high)})."
    pub.paragraph(sentence, size=8.5)
    _flow_map(pub, data, motive, pub.reserve(275))
    pub.heading("Attraction des pôles", size=10.5, keep_with=80)
    rows = []
    for p in motive.poles[:POLES_IN_TABLE]:
        status = "fragile" if p.fragile else "ok"
        rows.append([p.name, Cell("oui" if p.inside else "non"), Cell(_number(p.trips)), Cell(_pct(p.share), status),
                     Cell(_interval(p.low, p.high)), Cell(fmt.number(p.respondents)), Cell(fmt.number(p.catchment))])
    inside_words = "Dans le territoire d'étude"
    draw_table(pub, ["Pôle", inside_words, "Déplacements pondérés", "Part des déplacements", "IC à 95 %", "Répondants",
                     "Communes de sa zone"], rows, [2.2, 0.9, 1.2, 1.1, 1.4, 0.9, 1.0], size=7)
    if len(motive.poles) > POLES_IN_TABLE:
        rest = sum(p.share for p in motive.poles[POLES_IN_TABLE:])
        pub.paragraph(f"{fmt.number(len(motive.poles) - POLES_IN_TABLE)} autres destinations : {_pct(rest)} des "
                      "déplacements (toutes dans le classeur de données).", size=7.5, colour=MUTED)
    if motive.leakage:
        pub.heading(f"Évasion hors du {_territory_words(data)}", size=10.5, keep_with=60)
        rows = [[lk.name, Cell(_pct(lk.share), "fragile" if lk.fragile else "ok"), Cell(_interval(lk.low, lk.high)),
                 Cell(_number(lk.trips)), Cell(fmt.number(lk.respondents))] for lk in motive.leakage]
        draw_table(pub, ["Résidents de", "Évasion", "IC à 95 %", "Déplacements hors du territoire", "Répondants"], rows,
                   [3.0, 1.0, 1.4, 1.6, 0.9], size=7)


def _lower_first(text: str) -> str:
    """« Tranche d'âge » → « tranche d'âge », an acronym kept: « EPCI de résidence »."""
    return text if len(text) > 1 and text[1].isupper() else text[:1].lower() + text[1:]


def _estimates_section(pub: Publication, data: ReportData) -> None:
    if not data.estimates:
        return
    pub.new_page()
    pub.heading("Principales estimations")
    pub.paragraph("Parts et moyennes pondérées avec leur intervalle de confiance à 95 %, pour l'ensemble et par EPCI, "
                  "tranche d'âge et sexe ; sous chaque tableau, le test d'indépendance du χ² corrigé de Rao et Scott "
                  "pour chaque croisement. Pour une question à deux réponses, la part de la première est donnée "
                  "(l'autre en est le complément).", size=8.5)
    by_variable: dict[str, list[EstimateTable]] = {}
    for table in data.estimates:
        by_variable.setdefault(table.variable, []).append(table)
    for tables in by_variable.values():
        first = tables[0]
        mean = first.statistic == "moyenne"
        modalities = list(dict.fromkeys(r.modality for t in tables for r in t.rows))
        title = f"{first.label} : moyenne" if mean else (
            f"{first.label} : part des « {modalities[0]} »" if len(modalities) == 1 else f"{first.label} : parts")
        pub.heading(title, size=10.5, keep_with=90)
        rows = []
        for table in tables:
            if table.by:
                rows.append([Cell(f"Par {_lower_first(table.by)}", bold=True), "", "", ""])
            for r in table.rows:
                status = "fragile" if r.fragile else "ok"
                value = _number(r.value, 1) if mean else _pct(r.value)
                interval = f"{_number(r.low, 1)} – {_number(r.high, 1)}" if mean else _interval(r.low, r.high)
                label = r.group if mean or len(modalities) == 1 else f"{r.group} : {r.modality}"
                rows.append([label, Cell(value, status), Cell(interval), Cell(fmt.number(r.n))])
        draw_table(pub, ["", "Moyenne" if mean else "Part", "IC à 95 %", "Répondants"], rows, [3.6, 1.0, 1.5, 0.9], size=7)
        for table in tables:
            if table.test:
                pub.paragraph(f"Par {_lower_first(table.by)} : {table.test}", size=7.5, colour=MUTED)


def _interviews_section(pub: Publication, data: ReportData) -> None:
    if not data.themes:
        return
    pub.heading("Entretiens : thèmes abordés", keep_with=120)
    pub.paragraph(f"{fmt.number(data.interviews)} entretiens semi-directifs, codés avec une grille de thèmes : nombre "
                  "d'entretiens qui abordent chaque thème" + (f", au total et par {data.theme_group_key}" if data.theme_group_key else "")
                  + ", puis quelques citations.", size=8.5)
    header = ["Thème", "Entretiens", "Extraits"] + [f"{g}" for g in data.theme_groups]
    rows = []
    for t in data.themes:
        cells = [t.label, Cell(f"{fmt.number(t.interviews)} sur {fmt.number(t.total)} ({_pct(t.interviews / t.total if t.total else float('nan'), 0)})"),
                 Cell(fmt.number(t.excerpts))]
        for g in data.theme_groups:
            n, size = t.by_group.get(g, (0, 0))
            cells.append(Cell(f"{fmt.number(n)} sur {fmt.number(size)}"))
        rows.append(cells)
    draw_table(pub, header, rows, [2.6, 1.5, 0.8] + [1.1] * len(data.theme_groups), size=7)
    pub.heading("Citations", size=10.5, keep_with=60)
    for t in data.themes:
        if not t.quotes:
            continue
        pub.paragraph(t.label, size=8.5, font=fonts.BOLD)
        for interview, quote, profile in t.quotes:
            pub.paragraph(f"« {quote} » — entretien {interview} ({profile})", size=8, font=fonts.ITALIC, bullet="–", indent=4)


def sources(data: ReportData) -> list[str]:
    survey = f"{data.title} — {data.producer}" + (f", {data.vintage}" if data.vintage else "") + (f" ({data.licence})" if data.licence else "")
    out = [survey + "."]
    if data.weighting:
        total = data.weighting.get("total")
        out.append(f"Pondération « {data.scheme} » : calage sur les marges enregistrées avec elle"
                   + (f" (population totale {_number(float(total))})" if total else "") + " ; calculs Vigie.")
    if data.themes:
        out.append(f"Entretiens semi-directifs : {fmt.number(data.interviews)} entretiens, codage par grille de thèmes.")
    out.append(MAP_SOURCE + f" ; géographie au 1er janvier {data.cog}.")
    out.append("Estimations, intervalles, flux, zones de chalandise et évasion : calculs Vigie (module enquête).")
    if data.synthetic:
        from vigie.demo.synthetic import DEMO_NOTICE

        out.append(f"Enquête et entretiens : {DEMO_NOTICE}.")
    return out


# ---------------------------------------------------------------------------------------------- data pack
def records(data: ReportData) -> list:
    from vigie.publish.pdf.datapack import Record

    source = f"{data.title} — {data.producer}"
    year = None
    if data.vintage:
        digits = [int(t) for t in data.vintage.replace(",", " ").split() if t.isdigit() and len(t) == 4]
        year = digits[0] if digits else None
    out = []

    def add(theme, indicator, label, level, code, territory, value, text, unit, fragile=False):
        out.append(Record(theme, indicator, label, level, code, territory, year, data.vintage or "", value, text, unit,
                          "fragile" if fragile else "ok", source, data.synthetic))

    place = data.territory or "Ensemble"
    for key, label, unit in (("minimum", "Poids minimum", ""), ("maximum", "Poids maximum", ""),
                             ("effective_size", "Taille d'échantillon effective (Kish)", "répondants"),
                             ("design_effect", "Effet de plan dû à la pondération", ""), ("cv", "Coefficient de variation des poids", "")):
        if key in data.weighting:
            v = float(data.weighting[key])
            add("Méthode", f"ponderation_{key}", label, "enquete", data.survey, place, v, _number(v, 3), unit)
    for m in data.motives:
        theme = f"Motif : {m.label}"
        add(theme, "pratiquants", f"Part des personnes qui citent une destination ({m.label}) [IC {_interval(m.practising_low, m.practising_high)}]",
            "enquete", data.survey, place, 100 * m.practising, _pct(m.practising), "%")
        for p in m.poles:
            add(theme, "attraction_part", f"Part des déplacements vers le pôle [IC {_interval(p.low, p.high)}]", "commune", p.code,
                p.name, 100 * p.share, _pct(p.share), "%", p.fragile)
            add(theme, "attraction_deplacements", "Déplacements pondérés vers le pôle", "commune", p.code, p.name, p.trips,
                _number(p.trips), "déplacements", p.fragile)
        for f in m.flows:
            add(theme, "flux_part", f"Part des déplacements des résidents vers {f.destination_name} ({f.destination}) "
                f"[IC {_interval(f.low, f.high)}]", "commune", f.origin, f.origin_name, 100 * f.share, _pct(f.share), "%", f.fragile)
        for lk in m.leakage:
            add(theme, "evasion", f"Évasion hors du {_territory_words(data)} [IC {_interval(lk.low, lk.high)}]",
                "epci" if lk.code != "ensemble" else "enquete", lk.code, lk.name, 100 * lk.share, _pct(lk.share), "%", lk.fragile)
    for t in data.estimates:
        for r in t.rows:
            label = f"{t.label}" + (f" : {r.modality}" if r.modality else "") + (f" — par {t.by}" if t.by else "")
            if t.statistic == "moyenne":
                add("Estimations", t.variable, f"{label} (moyenne) [IC {_number(r.low, 1)} – {_number(r.high, 1)}]", "groupe",
                    r.group, r.group, r.value, _number(r.value, 1), "", r.fragile)
            else:
                add("Estimations", t.variable, f"{label} [IC {_interval(r.low, r.high)}]", "groupe", r.group, r.group,
                    100 * r.value, _pct(r.value), "%", r.fragile)
    for t in data.themes:
        add("Entretiens", f"theme_{t.id}", f"Entretiens qui abordent le thème « {t.label} »", "enquete", data.survey, place,
            float(t.interviews), fmt.number(t.interviews), "entretiens")
    return out


# ---------------------------------------------------------------------------------------------- all in one
@dataclass
class Made:
    pdf: Path
    xlsx: Path | None
    pages: int
    figures: int


def make_report(wh: "Warehouse", survey_id: str, directory: Path | str, *, scheme: str | None = "calage",
                datapack: bool = True) -> Made:
    """Collect, render the PDF and write the XLSX data pack beside it (`rapport_enquete_<id>.pdf/.xlsx`)."""
    from vigie.publish.pdf import datapack as pack

    data = collect(wh, survey_id, scheme=scheme)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pdf = directory / f"rapport_enquete_{data.survey}.pdf"
    pages = render(data, str(pdf))
    xlsx = None
    count = 0
    if datapack:
        xlsx = pdf.with_suffix(".xlsx")
        notes = [f"Enquête : {data.title}."] + (["Données fictives de démonstration."] if data.synthetic else [])
        count = pack.write(str(xlsx), f"Rapport d'enquête — {data.title}", records(data), notes=notes)
    return Made(pdf, xlsx, pages, count)
