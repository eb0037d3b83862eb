"""Territory search for the search box: by name without accents or case, or by code, ranked.

The index holds every current territory of every level (communes, EPCI, QPV, IRIS, custom territories…) in
memory: the warehouse is read-only for the app, and ~100,000 names fit in a few megabytes.

Ranking, best first: the exact code; then names equal to the query; then names that start with it; then names
with a word that starts with it; then codes that start with it; then names that merely contain it. Within a
tier, larger levels come first (the région before the département before the EPCI before the commune…), then
shorter names, then alphabetical order.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Larger territories first when they match equally well.
LEVEL_SIZE = ["region", "departement", "pole_metropolitain", "petr", "scot", "zone_emploi", "epci", "commune", "qpv", "iris"]
_SEPARATORS = re.compile(r"[^0-9a-z]+")


def normalise(text: str) -> str:
    """`Hénin-Beaumont` → `henin beaumont`; `L'Œuvre` → `l oeuvre`: accents, case and punctuation ignored."""
    text = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "Oe").replace("æ", "ae").replace("Æ", "Ae"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return _SEPARATORS.sub(" ", text).strip()


@dataclass(frozen=True)
class Entry:
    level: str
    code: str
    name: str
    key: str  # normalised name
    words: tuple[str, ...]


class SearchIndex:
    """Territories searchable by name or code.

    >>> index = SearchIndex({("commune", "62510"): "Liévin", ("epci", "246200364"): "CA de Lens - Liévin"})
    >>> [e.code for e, _tier in index.search("lievin")]
    ['62510', '246200364']
    """

    def __init__(self, names: dict[tuple[str, str], str]):
        self.entries = [
            Entry(level, code, name, key, tuple(key.split()))
            for (level, code), name in names.items()
            for key in [normalise(name)]
        ]

    @staticmethod
    def _level_rank(level: str) -> int:
        return LEVEL_SIZE.index(level) if level in LEVEL_SIZE else LEVEL_SIZE.index("epci") + 0.5  # custom: near EPCI

    def search(self, query: str, level: str | None = None, limit: int = 20,
               hidden_levels: frozenset[str] | set[str] = frozenset()) -> list[tuple[Entry, int]]:
        """The best `limit` matches with their tier (0 = exact code … 5 = name contains the query); territories of
        `hidden_levels` (levels the viewer may not see, `AppContext.hidden`) are never returned."""
        q = normalise(query)
        raw = query.strip().upper()
        if not q and not raw:
            return []
        found: list[tuple[tuple, Entry, int]] = []
        for e in self.entries:
            if (level is not None and e.level != level) or e.level in hidden_levels:
                continue
            tier = self._tier(e, q, raw)
            if tier is None:
                continue
            found.append(((tier, self._level_rank(e.level), len(e.key), e.key, e.level, e.code), e, tier))
        found.sort(key=lambda item: item[0])
        return [(e, tier) for _key, e, tier in found[:limit]]

    @staticmethod
    def _tier(e: Entry, q: str, raw: str) -> int | None:
        code = e.code.upper()
        if code == raw:
            return 0
        if q:
            if e.key == q:
                return 1
            if e.key.startswith(q):
                return 2
            if any(w.startswith(q) for w in e.words[1:]) or f" {q}" in e.key:
                return 3
        if raw and code.startswith(raw):
            return 4
        if q and q in e.key:
            return 5
        return None
