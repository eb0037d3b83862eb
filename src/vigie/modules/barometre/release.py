"""The release of a quarter: one object that the terminal, the web page and the PDF all read.

For each series and the quarter `AAAA-Tn`: the value of the main territory (the PMA by default), its change on the
previous quarter and on the same quarter a year earlier (in points for rates, in percent otherwise), the trend over
four quarters (flows: sum of the last four quarters against the four before; levels: their mean; ratios: recomputed
from the four quarters' sums), the same figures for the comparison territories (the EPCI of the PMA, its zones
d'emploi side by side, the département, France when the series has it), the history over several years, the
figures revised since the previous release (old and new value, both dates), and, when the series has no value for
the quarter, a plain statement that it is missing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from vigie import formatting as fmt
from vigie.demo.synthetic import DEMO_NOTICE
from vigie.errors import NotFoundError
from vigie.warehouse import Warehouse
from vigie.modules.barometre import periods as P
from vigie.modules.barometre.store import Place, commune_members, place_values, release_dates, series_table

HISTORY_QUARTERS = 20
MIN_ZE_COMMUNES = 10


@dataclass
class Figure:
    """One territory's figures for one series and quarter (None where unavailable)."""

    level: str
    code: str
    name: str
    value: float | None
    previous: float | None
    year_ago: float | None
    change_quarter: float | None
    change_year: float | None
    trend_last4: float | None
    trend_prev4: float | None
    trend_change: float | None
    status: str


@dataclass
class Revision:
    period: str
    territory: str
    old_value: float | None
    old_release: str
    new_value: float | None
    new_release: str


@dataclass
class SeriesRelease:
    id: str
    label: str
    theme: str
    unit: str
    kind: str
    decimals: int
    flow: bool
    change_unit: str  # "pt" (difference of rates) or "%" (relative change)
    trend_method: str
    definition: str
    producer: str
    synthetic: bool
    sources: list[dict]
    main: Figure | None
    comparisons: list[Figure]
    history: dict[str, list[list[Any]]]  # territory name -> [[period, value], ...]
    revisions: list[Revision]
    missing: str | None
    comment: str
    last_period: str | None


@dataclass
class Release:
    quarter: str
    quarter_label: str
    territory: Place
    built_on: str
    synthetic: bool
    notice: str | None
    series: list[SeriesRelease] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------- places
def main_place(wh: Warehouse, code: str = "PMA") -> Place:
    t = wh.find_territory(code)
    return Place(t.level, t.code, t.name)


def comparison_places(wh: Warehouse, main: Place) -> tuple[list[Place], list[Place]]:
    """(territories inside or above `main`: its EPCI and département; its zones d'emploi, biggest first)."""
    cog = wh.latest_cog("commune")
    epci = wh.query(
        "SELECT m.child_code, t.name FROM membership m JOIN territory t ON t.level = 'epci' AND t.code = m.child_code "
        "AND t.cog = m.cog WHERE m.cog = ? AND m.parent_level = ? AND m.parent_code = ? AND m.child_level = 'epci' "
        "ORDER BY m.child_code", (cog, main.level, main.code))
    communes = ("SELECT child_code FROM membership WHERE cog = ? AND child_level = 'commune' AND parent_level = ? "
                "AND parent_code = ?")
    above = wh.query(
        "SELECT m.parent_code, t.name, count(*) FROM membership m JOIN territory t ON t.level = m.parent_level "
        f"AND t.code = m.parent_code AND t.cog = m.cog WHERE m.cog = ? AND m.child_level = 'commune' AND m.parent_level = ? "
        f"AND m.child_code IN ({communes}) GROUP BY m.parent_code, t.name ORDER BY 3 DESC, 1",
        (cog, "departement", cog, main.level, main.code))
    # Zones d'emploi by the territory's inhabitants living in them (legal population, latest year), else communes.
    ze = wh.query(
        "SELECT m.parent_code, t.name, count(*), coalesce(sum(p.value), 0) FROM membership m JOIN territory t "
        "ON t.level = m.parent_level AND t.code = m.parent_code AND t.cog = m.cog LEFT JOIN (SELECT code, value FROM value "
        "WHERE indicator = 'pop_legale' AND level = 'commune' AND year = (SELECT max(year) FROM value WHERE "
        "indicator = 'pop_legale')) p ON p.code = m.child_code WHERE m.cog = ? AND m.child_level = 'commune' "
        f"AND m.parent_level = ? AND m.child_code IN ({communes}) GROUP BY m.parent_code, t.name ORDER BY 4 DESC, 3 DESC, 1",
        (cog, "zone_emploi", cog, main.level, main.code))
    inside = [Place("epci", c, n) for c, n in epci] + [Place("departement", c, n) for c, n, _ in above[:1]]
    zones = ([Place("zone_emploi", c, n) for c, n, k, _ in ze if k >= MIN_ZE_COMMUNES]
             or [Place("zone_emploi", c, n) for c, n, _, _ in ze[:1]])
    return inside, zones


# ---------------------------------------------------------------------------------------------- figures
def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _change(a: float | None, b: float | None, in_points: bool) -> float | None:
    if a is None or b is None:
        return None
    if in_points:
        return a - b
    return None if b == 0 else (a / b - 1) * 100


def _figure(place: Place, frame: pd.DataFrame, spec: dict, quarter: str, in_points: bool) -> Figure:
    rows = frame[(frame["level"] == place.level) & (frame["code"] == place.code)].set_index("period")
    get = lambda p: _num(rows["value"].get(p)) if p in rows.index else None  # noqa: E731
    value, previous, year_ago = get(quarter), get(P.shift(quarter, -1)), get(P.shift(quarter, -4))
    last4, prev4 = P.last_n(quarter, 4), P.last_n(P.shift(quarter, -4), 4)

    def window(ps: list[str]) -> float | None:
        if not all(get(p) is not None for p in ps):
            return None
        if spec["kind"] == "ratio":
            sub = rows.loc[ps]
            den = sub["denominator"].sum()
            return None if den <= 0 else float(sub["numerator"].sum() / den * float(spec.get("factor") or 1))
        vals = [get(p) for p in ps]
        return float(sum(vals)) if spec["flow"] else float(sum(vals) / 4)

    t_last, t_prev = window(last4), window(prev4)
    status = str(rows["status"].get(quarter)) if quarter in rows.index else "missing"
    return Figure(place.level, place.code, place.name, value, previous, year_ago,
                  _change(value, previous, in_points), _change(value, year_ago, in_points),
                  t_last, t_prev, _change(t_last, t_prev, in_points), status if value is not None else "missing")


def _format_change(v: float | None, in_points: bool, decimals: int = 1) -> str:
    return fmt.points(v, decimals) if in_points else fmt.signed_percent(v, decimals)


def _direction(v: float | None) -> str:
    if v is None:
        return ""
    return "en hausse" if v > 0.05 else ("en baisse" if v < -0.05 else "stable")


def _comment(s: "SeriesRelease", quarter: str) -> str:
    f = s.main
    if f is None or f.value is None:
        return s.missing or ""
    pts = s.change_unit == "pt"
    text = (f"Au {P.label(quarter)}, {s.label[0].lower() + s.label[1:]} : {fmt.quantity(f.value, s.unit, s.decimals)} pour "
            f"{f.name}")
    parts = []
    if f.change_quarter is not None:
        parts.append(f"{_direction(f.change_quarter)} sur un trimestre ({_format_change(f.change_quarter, pts)})")
    if f.change_year is not None:
        parts.append(f"{_direction(f.change_year)} sur un an ({_format_change(f.change_year, pts)})")
    if parts:
        text += ", " + " et ".join(parts)
    text += "."
    if f.trend_change is not None:
        text += f" Sur quatre trimestres, {s.trend_method} : {_format_change(f.trend_change, pts)}."
    others = [c for c in s.comparisons if c.level in ("france", "departement") and c.change_year is not None]
    if others and f.change_year is not None:
        o = others[-1]
        text += f" Sur un an, {o.name} : {_format_change(o.change_year, pts)}."
    return text


# ---------------------------------------------------------------------------------------------- release
def build_release(wh: Warehouse, quarter: str, territory: str = "PMA", series: list[str] | None = None) -> Release:
    """The release of `quarter` for `territory` (every visible series, or the `series` given)."""
    quarter = P.quarter(quarter)
    table = series_table(wh)
    visible = table[table["visible"]]
    if series:
        unknown = [s for s in series if s not in set(table["id"])]
        if unknown:
            raise NotFoundError(f"Série inconnue du baromètre : {', '.join(unknown)}.")
        visible = table.set_index("id", drop=False).loc[list(series)].reset_index(drop=True)  # in the order asked
    if visible.empty:
        raise NotFoundError("Le baromètre ne contient aucune série : importez-en une ou lancez « vigie demo ».")
    main = main_place(wh, territory)
    inside, zones = comparison_places(wh, main)
    release = Release(quarter, P.label(quarter), main, date.today().isoformat(), False, None)
    members = commune_members(wh, [main, *inside, *zones])
    for spec in visible.to_dict("records"):
        block = series_release(wh, spec, quarter, main, inside, zones, members)
        release.series.append(block)
        if block.missing:
            release.missing.append(block.missing)
    release.synthetic = any(s.synthetic for s in release.series)
    if release.synthetic:
        release.notice = ("Certaines séries sont des " + DEMO_NOTICE + " : "
                          + ", ".join(s.label for s in release.series if s.synthetic) + ".")
    return release


def _sources(wh: Warehouse, ids: list[str]) -> list[dict]:
    marks = ", ".join("?" * len(ids))
    df = wh.query_df(
        "SELECT s.title, s.producer, s.file_name, s.licence, s.synthetic, max(v.release) AS release FROM baro_value v "
        f"JOIN source s ON s.id = v.source_id WHERE v.series IN ({marks}) GROUP BY s.title, s.producer, s.file_name, "
        "s.licence, s.synthetic ORDER BY 6 DESC, 1", ids)
    return [{"title": r["title"], "producer": r["producer"], "file": r["file_name"], "licence": r["licence"],
             "synthetic": bool(r["synthetic"]), "release": str(r["release"])[:10]} for r in df.to_dict("records")]


def series_release(wh: Warehouse, spec: dict, quarter: str, main: Place, inside: list[Place],
                   zones: list[Place], members: pd.DataFrame | None = None) -> SeriesRelease:
    in_points = spec["unit"] == "%"
    published = spec["kind"] == "published_rate"
    france = Place("france", "FR", "France")
    places = [main, *inside, *zones, france]
    if members is None:
        members = commune_members(wh, places)
    frame = place_values(wh, spec, places, members=members)
    have = set(zip(frame["level"], frame["code"]))
    parts = [spec["numerator"], spec["denominator"]] if spec["kind"] == "ratio" else [spec["id"]]
    sources = _sources(wh, parts)
    if published and (main.level, main.code) not in have:
        # A rate published by zone d'emploi: the territory's main figure is that of its largest zone.
        shown_main = zones[0] if zones else main
    else:
        shown_main = main
    comparisons = [p for p in [*inside, *zones, france] if (p.level, p.code) in have and p != shown_main]
    main_fig = _figure(shown_main, frame, spec, quarter, in_points) if (shown_main.level, shown_main.code) in have else None
    figures = [_figure(p, frame, spec, quarter, in_points) for p in comparisons]
    history: dict[str, list[list[Any]]] = {}
    first = P.shift(quarter, -(HISTORY_QUARTERS - 1))
    for p in [shown_main, *comparisons]:
        rows = frame[(frame["level"] == p.level) & (frame["code"] == p.code) & (frame["period"] >= first)
                     & (frame["period"] <= quarter)].sort_values("period")
        if len(rows):
            history[p.name] = [[r.period, _num(r.value)] for r in rows.itertuples()]
    last = frame[(frame["level"] == shown_main.level) & (frame["code"] == shown_main.code) & frame["value"].notna()]
    last_period = str(last["period"].max()) if len(last) else None
    missing = None
    if main_fig is None or main_fig.value is None:
        after = f"dernier trimestre disponible : {last_period}" if last_period else "aucune valeur pour ce territoire"
        missing = f"Série absente pour {quarter} : {spec['label']} ({after})."
    revisions = _revisions(wh, spec, [shown_main, *comparisons], frame, quarter, members)
    trend = ("somme des quatre derniers trimestres rapportée aux quatre précédents" if spec["flow"] else
             "prix recalculé sur les quatre derniers trimestres rapporté aux quatre précédents" if spec["kind"] == "ratio" else
             "moyenne des quatre derniers trimestres rapportée aux quatre précédents")
    block = SeriesRelease(
        spec["id"], spec["label"], spec["theme"], spec["unit"], spec["kind"], int(spec["decimals"]), bool(spec["flow"]),
        "pt" if in_points else "%", trend, spec.get("definition") or "", spec["producer"],
        any(s["synthetic"] for s in sources), sources, main_fig, figures, history, revisions, missing, "", last_period)
    block.comment = _comment(block, quarter)
    return block


def _revisions(wh: Warehouse, spec: dict, places: list[Place], current: pd.DataFrame, quarter: str,
               members: pd.DataFrame) -> list[Revision]:
    """Values of the last eight quarters that differ from what the previous release had published."""
    parts = [spec["numerator"], spec["denominator"]] if spec["kind"] == "ratio" else [spec["id"]]
    dates = release_dates(wh, parts)
    if len(dates) < 2:
        return []
    new_date, old_date = dates[-1], dates[-2]
    old = place_values(wh, spec, places, as_of=old_date, members=members)
    window = set(P.last_n(quarter, 8))
    merged = current.merge(old, on=["level", "code", "period"], suffixes=("", "_old"))
    merged = merged[merged["period"].isin(window)]
    changed = merged[(merged["value"] - merged["value_old"]).abs() > 1e-9]
    names = {(p.level, p.code): p.name for p in places}
    return [Revision(r.period, names[(r.level, r.code)], _num(r.value_old), old_date.isoformat(), _num(r.value),
                     new_date.isoformat()) for r in changed.sort_values(["period", "level", "code"]).itertuples()]


# ---------------------------------------------------------------------------------------------- text
def arrow(v: float | None) -> str:
    if v is None:
        return "–"
    return "▲" if v > 0.05 else ("▼" if v < -0.05 else "►")


def summary_lines(release: Release) -> list[str]:
    """The release in plain French lines (the terminal's view)."""
    lines = [f"Baromètre économique – {release.territory.name} – {release.quarter_label}"]
    if release.notice:
        lines.append(f"Attention : {release.notice}")
    for s in release.series:
        lines.append("")
        lines.append(f"■ {s.label} ({s.producer})")
        pts = s.change_unit == "pt"
        if s.main is not None and s.main.value is not None:
            f = s.main
            lines.append(f"  {f.name} : {fmt.quantity(f.value, s.unit, s.decimals)}   "
                         f"{arrow(f.change_quarter)} {_format_change(f.change_quarter, pts)} sur un trimestre   "
                         f"{arrow(f.change_year)} {_format_change(f.change_year, pts)} sur un an   "
                         f"tendance 4 trimestres : {_format_change(f.trend_change, pts)}")
        if s.missing:
            lines.append(f"  {s.missing}")
        for c in s.comparisons:
            lines.append(f"    {c.name} : {fmt.quantity(c.value, s.unit, s.decimals)}   "
                         f"{_format_change(c.change_quarter, pts)} / trim.   {_format_change(c.change_year, pts)} / an")
        for r in s.revisions[:6]:
            lines.append(f"  Révisé : {r.territory}, {r.period} : {fmt.quantity(r.old_value, s.unit, s.decimals)} "
                         f"(publication du {_day(r.old_release)}) → "
                         f"{fmt.quantity(r.new_value, s.unit, s.decimals)} (publication du {_day(r.new_release)})")
        if len(s.revisions) > 6:
            lines.append(f"  … et {len(s.revisions) - 6} autre(s) valeur(s) révisée(s).")
        if s.comment and not s.missing:
            lines.append(f"  {s.comment}")
        for src in s.sources[:2]:
            mark = f" – {DEMO_NOTICE}" if src["synthetic"] and DEMO_NOTICE not in src["title"] else ""
            lines.append(f"  Source : {src['title']} ({src['producer']}), publication du {_day(src['release'])}{mark}.")
    if release.missing:
        lines.append("")
        lines.extend(release.missing)
    return lines


def _day(iso: str) -> str:
    return fmt.long_date(date.fromisoformat(iso[:10]))
