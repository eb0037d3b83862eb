"""Parsing and checking of query parameters, with French messages.

Every value a request brings is checked here before it reaches a query, and queries only ever receive it as a
bound parameter: a code, an indicator id or a level is never formatted into SQL.
"""

from __future__ import annotations

import math
import re
from typing import Sequence

from vigie.errors import VigieError

# Codes of territories: INSEE (62498, 2A004), SIREN, IRIS, QPV (QN06201M) and custom ones (PMA, SCOT_LLHC).
CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.\-]{0,39}$")
IDENTIFIER = re.compile(r"^[a-z0-9_]{1,64}$")
MAX_CODES = 5000
MAX_TEXT = 200


class ParameterError(VigieError):
    """A query parameter that cannot be used as given: 400 with a French message."""

    http_status = 400


def shown(value: str, width: int = 60) -> str:
    value = value if len(value) <= width else value[:width] + "…"
    return value


def code(value: str, name: str = "code") -> str:
    value = value.strip()
    if not CODE.match(value):
        raise ParameterError(
            f"Paramètre « {name} » : « {shown(value)} » n'est pas un code de territoire valide "
            "(lettres, chiffres, « _ », « - » ou « . », 40 caractères au plus)."
        )
    return value


def identifier(value: str, name: str) -> str:
    value = value.strip()
    if not IDENTIFIER.match(value):
        raise ParameterError(
            f"Paramètre « {name} » : « {shown(value)} » n'est pas un identifiant valide "
            "(minuscules, chiffres et « _ », 64 caractères au plus)."
        )
    return value


def split(value: str | None, name: str, limit: int = MAX_CODES) -> list[str]:
    """A comma-separated list, trimmed, without empty items nor repeats (order kept)."""
    if value is None:
        return []
    items = list(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    if len(items) > limit:
        raise ParameterError(f"Paramètre « {name} » : {len(items)} éléments, {limit} au plus.")
    return items


def codes(value: str | None, name: str = "codes") -> list[str] | None:
    """`62498,62510` → ['62498', '62510']; None when the parameter is absent."""
    if value is None:
        return None
    items = [code(v, name) for v in split(value, name)]
    if not items:
        raise ParameterError(f"Paramètre « {name} » vide : donnez des codes séparés par des virgules.")
    return items


def indicators(value: str | None, name: str = "indicators", limit: int = 200) -> list[str]:
    return [identifier(v, name) for v in split(value, name, limit)]


def territory_ref(value: str, name: str) -> tuple[str | None, str]:
    """`LEVEL:CODE` → (level, code); a bare `CODE` → (None, code)."""
    value = value.strip()
    if ":" in value:
        level, _, code_ = value.partition(":")
        return identifier(level, name), code(code_, name)
    return None, code(value, name)


def text(value: str | None, name: str = "q", minimum: int = 1) -> str:
    value = (value or "").strip()
    if len(value) < minimum:
        raise ParameterError(f"Paramètre « {name} » : au moins {minimum} caractère(s) attendu(s).")
    if len(value) > MAX_TEXT:
        raise ParameterError(f"Paramètre « {name} » : {MAX_TEXT} caractères au plus.")
    return value


def numbers(value: str, name: str) -> list[float]:
    """`10,20.5,30` → [10.0, 20.5, 30.0]; finite numbers only."""
    out = []
    for item in split(value, name, limit=100):
        try:
            number = float(item)
        except ValueError:
            raise ParameterError(f"Paramètre « {name} » : « {shown(item)} » n'est pas un nombre.") from None
        if not math.isfinite(number):
            raise ParameterError(f"Paramètre « {name} » : « {shown(item)} » n'est pas un nombre fini.")
        out.append(number)
    return out


def year(value: int | None, available: Sequence[int], what: str) -> int:
    """The requested year when available, else the latest available one; a 404 in French otherwise."""
    from vigie.errors import NotFoundError

    if not available:
        raise NotFoundError(f"Aucune donnée pour {what}.")
    if value is None:
        return int(available[-1])
    if value not in available:
        raise NotFoundError(
            f"Pas de donnée pour {what} en {value} : années disponibles : {', '.join(str(y) for y in available)}."
        )
    return int(value)
