"""Parsing of importer options, which come as strings from the CLI or as native values from YAML."""

from __future__ import annotations

from typing import Any

from vigie.errors import VigieError


def as_int_list(value: Any, name: str) -> list[int]:
    """`"2025,2026"`, `2026`, `[2025, 2026]` or `"2012-2024"` → a list of ints."""
    if value is None:
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value]
    out: list[int] = []
    try:
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part:
                lo, hi = part.split("-", 1)
                out += list(range(int(lo), int(hi) + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise VigieError(f"Option « {name} » : « {value} » n'est pas une liste d'années (ex. 2025,2026 ou 2012-2024).") from None
    return out


def as_int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise VigieError(f"Option « {name} » : « {value} » n'est pas un nombre entier.") from None


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "oui", "yes", "vrai"}


def sniff_separator(first_line: str, candidates: str = ";,\t") -> str:
    """The candidate separator that appears most in a header line."""
    counts = {c: first_line.count(c) for c in candidates}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def years_text(years: list[int]) -> str:
    """`[2012, 2013, 2014, 2016]` → `2012 à 2014, 2016` (for source vintages shown to people)."""
    years = sorted(set(years))
    runs: list[list[int]] = []
    for y in years:
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    return ", ".join(f"{r[0]} à {r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)
