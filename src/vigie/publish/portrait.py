"""The portrait of a territory as JSON: key figures by theme, evolutions, its reference and its population series.

Numbers come with their French text (`vigie.formatting`'s, through `french_numbers`), so that pages need not
format them. The figures follow the
engine's rules exactly (`Engine.figure`, `Engine.evolution`, `Engine.compare`): the latest year with a figure
shown (else the latest year, whose status says why there is none), the evolution since the earliest year with a
figure, the reference's value the same year and the index base 100. They are computed from ONE read of the cube
rows of the territory and its reference, instead of three queries per indicator, so that a portrait of 130
indicators answers in a few milliseconds.
"""

from __future__ import annotations

from typing import Any

from vigie.engine.catalogue import IndicatorDef
from vigie.engine.query import REFERENCE_ORDER, SUB_COMMUNAL, Engine, Evolution
from vigie.publish import french_numbers as fmt
from vigie.publish.context import AppContext
from vigie.publish.json_values import number
from vigie.publish.terminal import STATUS_TEXT, SYNTHETIC_MARK, level_label
from vigie.warehouse import Territory

SERIES = ["population_legale", "population"]
SHOWN = ("ok", "fragile")
_SEVERITY = ["ok", "fragile", "missing", "secret"]


# ---------------------------------------------------------------------------------------------- engine rules
def evolution(definition: IndicatorDef, start: int, end: int, a: dict, b: dict) -> Evolution:
    """`Engine.evolution` on two figures already read (same rules, no query)."""
    status = "ok" if a["status"] == "ok" and b["status"] == "ok" else max((a["status"], b["status"]), key=_SEVERITY.index)
    v1, v2 = a["value"], b["value"]
    if v1 is None or v2 is None:
        return Evolution(definition.id, start, end, v1, v2, None, None, None, None, status)
    absolute = v2 - v1
    percent = (v2 / v1 - 1) * 100 if v1 else None
    annual = ((v2 / v1) ** (1 / (end - start)) - 1) * 100 if v1 and v2 / v1 > 0 and end != start else None
    points = absolute if definition.unit == "%" else None
    if definition.unit == "%":
        percent = annual = None
    return Evolution(definition.id, start, end, v1, v2, absolute, percent, annual, points, status)


def missing_reason(definition: IndicatorDef) -> str:
    """Why a territory has no row at all for an indicator (as `Engine.figure` says)."""
    return "non agrégeable à ce niveau" if not definition.additive else "pas de donnée"


def references(ctx: AppContext, territory: Territory) -> list[Territory]:
    """`Engine.references` from the memberships held in memory (same rules, same order, no query)."""
    memberships = ctx.memberships
    cog = ctx.engine.cog
    rank = {lvl: i for i, lvl in enumerate(REFERENCE_ORDER)}
    if territory.level in SUB_COMMUNAL:
        communes = [p for p in memberships.parents(territory.level, territory.code) if p[0] == "commune"]
        if not communes:
            return []
        level, code, name, _weight = sorted(communes, key=lambda p: -p[3])[0]
        commune = Territory("commune", code, cog, name)
        return [commune, *references(ctx, commune)]
    if territory.level == "commune":
        parents = [(level, code, name) for level, code, name, _w in memberships.parents("commune", territory.code)]
    else:
        mine = memberships.communes(territory.level, territory.code)
        counts: dict[tuple[str, str], int] = {}
        for commune in mine:
            for level, code, _name, _w in memberships.parents("commune", commune):
                counts[(level, code)] = counts.get((level, code), 0) + 1
        parents = [
            (level, code, ctx.names.get((level, code)))
            for (level, code), n in counts.items()
            if n == len(mine) and level != territory.level and (level, code) in ctx.names
        ]
    parents.sort(key=lambda p: (rank.get(p[0], 50), p[1]))
    return [Territory(level, code, cog, name) for level, code, name in parents]


# ---------------------------------------------------------------------------------------------- texts
def value_text(definition: IndicatorDef, value: float | None, status: str = "ok") -> str:
    if value is None:
        return STATUS_TEXT.get(status, "non disponible") if status != "ok" else "non disponible"
    return fmt.quantity(value, definition.unit, definition.decimals)


def signed_quantity(definition: IndicatorDef, value: float | None) -> str:
    """A difference in the indicator's unit, always signed: `+1 000 habitants`, `−2,5 pts` for rates."""
    if value is None:
        return "–"
    if definition.unit == "%":
        return fmt.points(value, max(definition.decimals, 1))
    rounded = round(value, definition.decimals) + 0.0
    sign = "+" if rounded > 0 else ("−" if rounded < 0 else "")
    return sign + fmt.quantity(abs(rounded), definition.unit, definition.decimals)


def evolution_json(definition: IndicatorDef, ev: Evolution) -> dict[str, Any]:
    points_text = fmt.points(ev.points) if ev.points is not None else None
    percent_text = fmt.signed_percent(ev.percent) if ev.percent is not None else None
    absolute_text = signed_quantity(definition, ev.absolute)
    shown = points_text or percent_text or (absolute_text if ev.absolute is not None else None)
    return {
        "start": ev.start, "end": ev.end, "start_value": ev.start_value, "end_value": ev.end_value,
        "absolute": ev.absolute, "percent": ev.percent, "annual_rate": ev.annual_rate, "points": ev.points,
        "status": ev.status, "text": f"{shown} depuis {ev.start}" if shown else "évolution non calculable",
        "absolute_text": absolute_text, "percent_text": percent_text,
        "annual_rate_text": f"{fmt.signed_percent(ev.annual_rate, 2)} par an" if ev.annual_rate is not None else None,
        "points_text": points_text,
    }


def territory_json(t: Territory) -> dict[str, Any]:
    return {"level": t.level, "code": t.code, "name": t.name, "level_label": level_label(t.level)}


# ---------------------------------------------------------------------------------------------- cube rows
def cube_rows(ctx: AppContext, territories: list[Territory]) -> dict[tuple[str, str], dict[str, list[dict]]]:
    """Cube rows of a few territories: {(level, code): {indicator: [rows by year]}}; masked values never read."""
    engine = ctx.engine
    index = ctx.cube_index
    if index is not None:
        return {(t.level, t.code): index.rows(t.level, t.code) for t in territories}
    wanted = {(t.level, t.code) for t in territories}
    codes = sorted({t.code for t in territories})
    with ctx.access.use() as wh:
        rows = wh.query(
            "SELECT indicator, level, code, year, CASE WHEN status = 'secret' THEN NULL ELSE value END, status, "
            "synthetic, members, covered FROM cube WHERE cog = ? AND code IN (" + ", ".join("?" * len(codes)) + ") "
            "ORDER BY indicator, level, code, year",
            [engine.cog, *codes],
        )
    out: dict[tuple[str, str], dict[str, list[dict]]] = {key: {} for key in wanted}
    for indicator, level, code, year, value, status, synthetic, members, covered in rows:
        if (level, code) not in wanted:
            continue
        out[(level, code)].setdefault(indicator, []).append({
            "year": int(year), "value": None if status == "secret" else number(value), "status": status,
            "synthetic": bool(synthetic), "members": None if members is None else int(members),
            "covered": None if covered is None else int(covered),
        })
    return out


def latest(rows: list[dict]) -> tuple[dict, list[dict]]:
    """The figure shown for an indicator (latest year with a figure, else latest year) and the shown rows."""
    shown = [r for r in rows if r["status"] in SHOWN]
    return (shown or rows)[-1], shown


def at_year(rows: list[dict] | None, year: int) -> dict | None:
    for r in rows or []:
        if r["year"] == year:
            return r
    return None


# ---------------------------------------------------------------------------------------------- the portrait
def figure_json(ctx: AppContext, definition: IndicatorDef, rows: list[dict] | None, reference: Territory | None,
                reference_rows: list[dict] | None) -> dict[str, Any]:
    head = {
        "indicator": definition.id, "label": definition.label, "unit": definition.unit, "kind": definition.kind,
        "decimals": definition.decimals, "key": definition.key, "source": definition.source,
    }
    if not rows:
        return {**head, "year": None, "vintage": None, "value": None, "status": "missing", "synthetic": False,
                "reason": missing_reason(definition), "text": "non disponible", "status_text": missing_reason(definition),
                "coverage": None, "evolution": None, "reference": None}
    last, shown = latest(rows)
    year = last["year"]
    figure = {
        **head, "year": year, "vintage": ctx.vintage_text(definition.id, year), "value": last["value"],
        "status": last["status"], "synthetic": last["synthetic"], "reason": None,
        "text": value_text(definition, last["value"], last["status"]),
        "status_text": STATUS_TEXT.get(last["status"]) if last["status"] != "ok" else None,
        "coverage": ({"members": last["members"], "covered": last["covered"]}
                     if last["members"] and last["covered"] is not None and last["covered"] < last["members"] else None),
        "evolution": None, "reference": None,
    }
    if len(shown) > 1:
        first = shown[0]
        figure["evolution"] = evolution_json(definition, evolution(definition, first["year"], year, first, last))
    if reference is not None:
        ref = at_year(reference_rows, year)
        ref_value = ref["value"] if ref else None
        ref_status = ref["status"] if ref else "missing"
        v = last["value"]
        difference = None if v is None or ref_value is None else v - ref_value
        index = None if v is None or not ref_value else v / ref_value * 100
        figure["reference"] = {
            **territory_json(reference), "year": year, "value": ref_value, "status": ref_status,
            "synthetic": bool(ref and ref["synthetic"]), "text": value_text(definition, ref_value, ref_status),
            "difference": difference, "difference_text": signed_quantity(definition, difference) if difference is not None else None,
            "index_100": index, "index_text": fmt.number(index, 0) if index is not None else None,
        }
    return figure


def portrait(ctx: AppContext, territory: Territory, reference: Territory | None = None, seen=None) -> dict[str, Any]:
    """Everything the portrait page shows, as JSON-ready values (see the module docstring). `seen`
    (`context.Hidden`): indicators and levels the viewer may not see are left out."""
    engine: Engine = ctx.engine
    hidden = seen.indicators if seen is not None else frozenset()
    hidden_levels = seen.levels if seen is not None else frozenset()
    refs = [r for r in references(ctx, territory) if r.level not in hidden_levels]
    memberships = ctx.memberships
    if reference is None and refs:
        reference = refs[0]
    if reference is not None and (reference.level, reference.code) == (territory.level, territory.code):
        reference = None
    rows = cube_rows(ctx, [territory] + ([reference] if reference else []))
    mine = rows[(territory.level, territory.code)]
    theirs = rows[(reference.level, reference.code)] if reference else {}

    themes: dict[str, list[dict]] = {}
    synthetic = False
    for definition in sorted(engine.catalogue.values(), key=lambda d: not d.key):  # stable: key first
        if definition.id in SERIES or definition.id in hidden:
            continue
        ind_rows = mine.get(definition.id)
        if not ind_rows and not definition.key:
            continue
        fig = figure_json(ctx, definition, ind_rows, reference, theirs.get(definition.id))
        synthetic |= fig["synthetic"] or bool(fig["reference"] and fig["reference"]["synthetic"])
        themes.setdefault(definition.theme, []).append(fig)
    order = list(dict.fromkeys(d.theme for d in engine.catalogue.values()))

    series = []
    for indicator in SERIES:
        if indicator not in engine.catalogue or indicator in hidden:
            continue
        definition = engine.indicator(indicator)
        values = []
        for r in mine.get(indicator, []):
            synthetic |= r["synthetic"]
            values.append({"year": r["year"], "vintage": ctx.vintage_text(indicator, r["year"]), "value": r["value"],
                           "status": r["status"], "synthetic": r["synthetic"],
                           "text": value_text(definition, r["value"], r["status"])})
        series.append({"indicator": indicator, "label": definition.label, "unit": definition.unit,
                       "source": definition.source, "values": values})

    return {
        "territory": {
            **territory_json(territory), "cog": engine.cog,
            "parents": [{"level": level, "code": code, "name": name, "level_label": level_label(level), "weight": weight}
                        for level, code, name, weight in memberships.parents(territory.level, territory.code)
                        if level not in hidden_levels],
            "children": {level: n for level, n in memberships.children(territory.level, territory.code).items()
                         if level not in hidden_levels},
        },
        "references": [territory_json(r) for r in refs],
        "reference": territory_json(reference) if reference else None,
        "themes": [{"theme": theme, "figures": themes[theme]} for theme in order if theme in themes],
        "population": series,
        "synthetic": synthetic,
        "synthetic_mark": SYNTHETIC_MARK if synthetic else None,
    }
