"""French number texts for print, memoised: `vigie.formatting` (Babel) costs a fraction of a millisecond a call,
and a batch of fiches prints the same few thousand numbers again and again."""

from __future__ import annotations

from functools import lru_cache

from vigie import formatting as fmt


@lru_cache(maxsize=1 << 16)
def number(value: float | None, decimals: int = 0) -> str:
    return fmt.number(value, decimals)


@lru_cache(maxsize=1 << 16)
def percent(value: float | None, decimals: int = 1) -> str:
    return fmt.percent(value, decimals)


@lru_cache(maxsize=1 << 16)
def quantity(value: float | None, unit: str, decimals: int = 0) -> str:
    return fmt.quantity(value, unit, decimals)


points = fmt.points
signed_percent = fmt.signed_percent
long_date = fmt.long_date
vintage_words = fmt.vintage_words
