"""How numbers, dates and vintages are written for people: French conventions, through Babel."""

from __future__ import annotations

import math
import re
from datetime import date

from babel.dates import format_date
from babel.numbers import format_decimal

LOCALE = "fr_FR"


def number(value: float | None, decimals: int = 0) -> str:
    """`12345.6` → `12 345,6` (narrow no-break space as thousands separator, as Babel's fr locale)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=LOCALE)


def percent(value: float | None, decimals: int = 1) -> str:
    """A value already in percent: `12.34` → `12,3 %` (no-break space before the sign)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{number(value, decimals)}\u00a0%"


def signed_percent(value: float | None, decimals: int = 1) -> str:
    """A change in percent, always signed: `1.23` → `+1,2 %`, `-0.8` → `−0,8 %` (true minus sign)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    value = round(value, decimals) + 0.0
    sign = "+" if value > 0 else ("−" if value < 0 else "")
    return f"{sign}{percent(abs(value), decimals)}"


def points(value: float | None, decimals: int = 1) -> str:
    """A difference of rates: `1.2` → `+1,2 pt`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    value = round(value, decimals) + 0.0  # no "−0,0 pt"
    sign = "+" if value > 0 else ("−" if value < 0 else "")
    unit = "pt" if abs(value) < 2 else "pts"
    return f"{sign}{number(abs(value), decimals)}\u00a0{unit}"


def quantity(value: float | None, unit: str, decimals: int = 0) -> str:
    """A value with its unit, percent handled: (`12.3`, `%`) → `12,3 %`; (`1234`, `habitants`) → `1 234 habitants`;
    the unit agrees with the number (`1 médecin`, see `unit_for`)."""
    if unit == "%":
        return percent(value, decimals)
    text = number(value, decimals)
    unit = unit_for(None if value is None else round(value, decimals), unit)  # agrees with the number shown
    return f"{text}\u00a0{unit}" if unit and text != "–" else text


# Units written as nothing: the label already says what the number is ("Indice de jeunesse : 147").
SILENT_UNITS = {"indice"}
_COUNTED = re.compile(r"^([a-zàâçéèêëîïôûùüÿœæ]{2,})s(?=$|\s)")


def unit_for(value: float | None, unit: str) -> str:
    """The unit as it agrees with `value` in French: a counted noun is singular below 2 (`1 médecin`, `0 logement`,
    `1,5 habitant`, `1 emploi pour 100 actifs occupés`), plural from 2; `indice` is not written.

    >>> unit_for(1, "médecins"), unit_for(2, "médecins"), unit_for(1, "pour 10 000 hab."), unit_for(147, "indice")
    ('médecin', 'médecins', 'pour 10 000 hab.', '')
    """
    if not unit or unit in SILENT_UNITS:
        return ""
    if value is None or (isinstance(value, float) and math.isnan(value)) or abs(value) >= 2:
        return unit
    return _COUNTED.sub(r"\1", unit, count=1)


def long_date(d: date) -> str:
    """`date(2026, 11, 26)` → `26 novembre 2026`."""
    return format_date(d, format="d MMMM y", locale=LOCALE)


_OFFSET = re.compile(r"\{year([+-]\d+)?\}")


def vintage_words(template: str | None, year: int) -> str:
    """Render an indicator's vintage template: `population légale {year}, en vigueur au 1er janvier {year+3}`."""
    if not template:
        return str(year)
    return _OFFSET.sub(lambda m: str(year + int(m.group(1) or 0)), template)
