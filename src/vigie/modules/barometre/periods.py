"""Quarters written `AAAA-Tn` (as INSEE writes them), months `AAAA-MM`, and the arithmetic between them."""

from __future__ import annotations

import re

from vigie.errors import VigieError

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[TtQq]\s*([1-4])\s*$")
_MONTH = re.compile(r"^\s*(\d{4})\s*-?\s*(?:M)?\s*(\d{1,2})\s*$")


class PeriodError(VigieError):
    http_status = 422


def parse_quarter(text: object) -> tuple[int, int] | None:
    """« 2025-T4 », « 2025T4 », « 2025 T4 », « 2025-Q4 » → (2025, 4); anything else → None."""
    m = _QUARTER.match(str(text))
    return (int(m.group(1)), int(m.group(2))) if m else None


def quarter(text: object) -> str:
    """The canonical spelling `AAAA-Tn` of a quarter, or a French error."""
    parsed = parse_quarter(text)
    if parsed is None:
        raise PeriodError(f"Trimestre « {text} » invalide : écrivez-le AAAA-Tn, par exemple 2025-T4.")
    return f"{parsed[0]}-T{parsed[1]}"


def month_to_quarter(text: object) -> str | None:
    """« 2025-11 », « 202511 », « 2025M11 » → « 2025-T4 »; None when it is not a month."""
    s = str(text).strip()
    if re.fullmatch(r"\d{6}", s):
        year, month = int(s[:4]), int(s[4:])
    else:
        m = _MONTH.match(s)
        if not m:
            return None
        year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        return None
    return f"{year}-T{(month - 1) // 3 + 1}"


def shift(period: str, quarters: int) -> str:
    """`period` moved by `quarters` (negative: earlier)."""
    year, q = parse_quarter(period)
    index = year * 4 + (q - 1) + quarters
    return f"{index // 4}-T{index % 4 + 1}"


def last_n(period: str, n: int) -> list[str]:
    """The `n` quarters ending with `period`, oldest first."""
    return [shift(period, -k) for k in range(n - 1, -1, -1)]


def label(period: str) -> str:
    """« 2025-T4 » → « 4e trimestre 2025 »."""
    year, q = parse_quarter(period)
    return f"{'1er' if q == 1 else f'{q}e'} trimestre {year}"


def short_label(period: str) -> str:
    """« 2025-T4 » → « T4 2025 »."""
    year, q = parse_quarter(period)
    return f"T{q} {year}"
