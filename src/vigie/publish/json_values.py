"""Python and pandas values made JSON-ready: numpy scalars unwrapped, NaN/NA/NaT as null, dates in ISO 8601."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd


def plain(value: Any) -> Any:
    """A JSON-ready Python value."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime, date)):
        return None if pd.isna(value) else value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return value


def number(value: Any) -> float | None:
    """A float, or None for missing values (None, NaN, pd.NA)."""
    value = plain(value)
    if value is None or isinstance(value, str):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def records(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict[str, Any]]:
    frame = frame if columns is None else frame[columns]
    return [{k: plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def properties(text: str | None) -> dict[str, Any]:
    """The JSON object of a layer feature's `properties` column (raw text kept when it is not JSON)."""
    if not text:
        return {}
    try:
        parsed = json.loads(text, parse_constant=lambda _name: None)  # NaN, Infinity: not JSON, shown as null
    except ValueError:
        return {"proprietes_brutes": text}
    return parsed if isinstance(parsed, dict) else {"valeur": parsed}


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON (accents kept as they are)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
