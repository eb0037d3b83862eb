"""The figures a publication shows, read from the engine's cube in ONE query for a whole batch.

`FigureStore` follows `Engine.figure` exactly: the latest year with a figure shown (status ok or fragile), else
the latest year (its status says why there is none); secret values are never read (the SQL masks them). A
`Figure` is plain data (picklable), so that figures collected once can be handed to worker processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from vigie.publish.pdf import numbers as fmt

if TYPE_CHECKING:  # the worker processes that render never import the engine (pandas, pydantic)
    from vigie.engine.catalogue import IndicatorDef
    from vigie.engine.query import Engine
    from vigie.warehouse import Territory

SHOWN = ("ok", "fragile")
STATUS_WORDS = {"secret": "secret", "missing": "n.d.", "fragile": "fragile"}


@dataclass(frozen=True)
class Place:
    """A territory as publications carry it (a plain copy of `vigie.warehouse.Territory`)."""

    level: str
    code: str
    cog: int
    name: str

    @classmethod
    def of(cls, territory) -> "Place":
        return cls(territory.level, territory.code, int(territory.cog), territory.name)


@dataclass(frozen=True)
class Definition:
    """What rendering needs of a catalogue indicator (a plain copy of `IndicatorDef`)."""

    id: str
    label: str
    theme: str
    unit: str
    kind: str
    decimals: int
    source: str
    variable: str | None = None
    numerator: str | None = None

    @classmethod
    def of(cls, d: "IndicatorDef") -> "Definition":
        return cls(d.id, d.label, d.theme, d.unit, d.kind, d.decimals, d.source, d.variable, d.numerator)


@dataclass(frozen=True)
class Figure:
    indicator: str
    level: str
    code: str
    year: int | None
    value: float | None
    status: str
    synthetic: bool = False

    @property
    def shown(self) -> bool:
        return self.value is not None and self.status in SHOWN


def missing(indicator: str, t, year: int | None = None) -> Figure:
    level, code = _key(t)
    return Figure(indicator, level, code, year, None, "missing")


def _key(t) -> tuple[str, str]:
    """(level, code) of a Territory, of anything with `level` and `code`, or of a pair."""
    return (t.level, t.code) if hasattr(t, "level") else (t[0], t[1])


def text(definition: "Definition | IndicatorDef", figure: Figure, *, unit: bool = True) -> str:
    """The figure as printed: `12,3 %`, `1 234 habitants`; `secret` / `n.d.` when there is no value."""
    if figure.value is None:
        return STATUS_WORDS.get(figure.status, "n.d.") if figure.status != "fragile" else "n.d."
    if definition.unit == "%":
        return fmt.percent(figure.value, definition.decimals)
    if unit:
        return fmt.quantity(figure.value, definition.unit, definition.decimals)
    return fmt.number(figure.value, definition.decimals)


class FigureStore:
    """Cube rows of some territories for some indicators, at the engine's COG."""

    def __init__(self, engine: "Engine", territories: Iterable, indicators: Iterable[str]):
        self.engine = engine
        self.cog = engine.cog
        keys = {_key(t) for t in territories}
        wanted = sorted(set(indicators) & set(engine.catalogue))
        self.rows: dict[tuple[str, str, str], list[Figure]] = {}
        if not keys or not wanted:
            return
        codes = sorted({code for _level, code in keys})
        result = engine.wh.query(
            "SELECT indicator, level, code, year, CASE WHEN status = 'secret' THEN NULL ELSE value END, status, synthetic "
            "FROM cube WHERE cog = ? AND indicator IN (" + ", ".join("?" * len(wanted)) + ") "
            "AND code IN (" + ", ".join("?" * len(codes)) + ") ORDER BY indicator, level, code, year",
            [self.cog, *wanted, *codes],
        )
        for indicator, level, code, year, value, status, synthetic in result:
            if (level, code) not in keys:
                continue
            if value is not None and isinstance(value, float) and math.isnan(value):
                value = None
            fig = Figure(indicator, level, code, int(year), None if status == "secret" or value is None else float(value),
                         status, bool(synthetic))
            self.rows.setdefault((indicator, level, code), []).append(fig)

    def series(self, indicator: str, t: "Territory | Place | tuple[str, str]") -> list[Figure]:
        level, code = _key(t)
        return self.rows.get((indicator, level, code), [])

    def latest(self, indicator: str, t: "Territory | Place | tuple[str, str]") -> Figure:
        """As `Engine.figure` without a year: the latest year with a figure shown, else the latest year."""
        rows = self.series(indicator, t)
        if not rows:
            return missing(indicator, t)
        shown = [r for r in rows if r.status in SHOWN]
        return (shown or rows)[-1]

    def at(self, indicator: str, t: "Territory | Place | tuple[str, str]", year: int | None) -> Figure:
        if year is None:
            return self.latest(indicator, t)
        for r in self.series(indicator, t):
            if r.year == year:
                return r
        return missing(indicator, t, year)

    def years(self, indicator: str, t: "Territory | Place | tuple[str, str]") -> list[int]:
        return [r.year for r in self.series(indicator, t)]


def vintage_labels(engine: "Engine") -> dict[str, str | None]:
    """`indicator.vintage_label` of every base variable (to say « recensement 2021 » rather than « 2021 »)."""
    return {r[0]: r[1] for r in engine.wh.query("SELECT id, vintage_label FROM indicator")}


def vintage_text(definition: "Definition | IndicatorDef", year: int | None, labels: dict[str, str | None]) -> str:
    if year is None:
        return "–"
    variable = definition.variable or definition.numerator
    return fmt.vintage_words(labels.get(variable), year)
