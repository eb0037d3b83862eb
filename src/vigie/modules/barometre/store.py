"""Reading the barometer's series: current values (latest release) or values as published at a past date, at the
level they were imported or aggregated from communes to any territory that has commune members.

Aggregation follows the series' kind: stocks are summed over the member communes, ratios are recomputed from the
sums of their numerator and denominator series, published rates are never aggregated (shown only where published).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from vigie.errors import NotFoundError
from vigie.warehouse import Warehouse
from vigie.modules.barometre.schema import require_schema


@dataclass(frozen=True)
class Place:
    level: str
    code: str
    name: str


def series_table(wh: Warehouse) -> pd.DataFrame:
    """Series definitions with their first and last quarter and their latest release date."""
    require_schema(wh)
    return wh.query_df(
        "SELECT s.*, v.first_period, v.last_period, v.last_release, v.releases FROM baro_series s LEFT JOIN "
        "(SELECT series, min(period) AS first_period, max(period) AS last_period, max(release) AS last_release, "
        "count(DISTINCT release) AS releases FROM baro_value WHERE value IS NOT NULL GROUP BY series) v "
        "ON v.series = s.id ORDER BY s.position, s.id")


def definition(wh: Warehouse, series_id: str) -> dict:
    require_schema(wh)
    df = wh.query_df("SELECT * FROM baro_series WHERE id = ?", (series_id,))
    if df.empty:
        raise NotFoundError(f"La série « {series_id} » n'existe pas dans le baromètre.")
    return df.iloc[0].to_dict()


def release_dates(wh: Warehouse, series_ids: list[str]) -> list[date]:
    marks = ", ".join("?" * len(series_ids))
    rows = wh.query(f"SELECT DISTINCT release FROM baro_value WHERE series IN ({marks}) ORDER BY release", series_ids)
    return [r[0] for r in rows]


def raw_values(wh: Warehouse, series_ids: list[str], levels: list[str], as_of: date | None = None) -> pd.DataFrame:
    """Values of the latest release (at or before `as_of`) per series, level, code and period."""
    marks = ", ".join("?" * len(series_ids))
    lmarks = ", ".join("?" * len(levels))
    params: list = [*series_ids, *levels]
    cond = ""
    if as_of is not None:
        cond = " AND release <= ?"
        params.append(as_of)
    return wh.query_df(
        "SELECT series, level, code, period, value, status, release FROM ("
        "SELECT *, row_number() OVER (PARTITION BY series, level, code, period ORDER BY release DESC, source_id DESC) "
        f"AS rn FROM baro_value WHERE series IN ({marks}) AND level IN ({lmarks}){cond}) t WHERE rn = 1",
        params)


def commune_members(wh: Warehouse, places: list[Place]) -> pd.DataFrame:
    """(level, code, commune, weight) for the places that have communes as members, at the latest COG."""
    cog = wh.latest_cog("commune")
    frames = []
    for p in places:
        if p.level == "commune":
            frames.append(pd.DataFrame({"level": [p.level], "code": [p.code], "commune": [p.code], "weight": [1.0]}))
            continue
        df = wh.query_df("SELECT child_code AS commune, weight FROM membership WHERE cog = ? AND child_level = 'commune' "
                         "AND parent_level = ? AND parent_code = ?", (cog, p.level, p.code))
        if len(df):
            frames.append(df.assign(level=p.level, code=p.code))
    if not frames:
        return pd.DataFrame(columns=["level", "code", "commune", "weight"])
    return pd.concat(frames, ignore_index=True)[["level", "code", "commune", "weight"]]


def _sum_over(values: pd.DataFrame, members: pd.DataFrame, places: list[Place]) -> pd.DataFrame:
    """Stock values of the places: published at their level when present, else summed over member communes."""
    keys = {(p.level, p.code) for p in places}
    is_commune = (values["level"] == "commune").to_numpy()
    direct = values[~is_commune]
    direct = direct[[(lv, c) in keys for lv, c in zip(direct["level"], direct["code"])]]
    communes = values[is_commune]
    parts = [direct[["level", "code", "period", "value", "status"]]] if len(direct) else []
    if len(communes) and len(members):
        joined = members.merge(communes[["code", "period", "value", "status"]].rename(columns={"code": "commune"}),
                               on="commune")
        joined["wv"] = joined["value"] * joined["weight"]
        joined["_has"] = joined["value"].notna()
        joined["_weak"] = joined["status"].isin(["secret", "fragile"])
        agg = joined.groupby(["level", "code", "period"]).agg(
            value=("wv", "sum"), has=("_has", "max"), weak=("_weak", "max")).reset_index()
        agg.loc[~agg["has"].astype(bool), "value"] = np.nan
        agg["status"] = np.where(agg["weak"].astype(bool), "fragile", "ok")
        agg.loc[agg["value"].isna(), "status"] = "missing"
        if parts:
            have = set(zip(direct["level"], direct["code"]))
            agg = agg[[(lv, c) not in have for lv, c in zip(agg["level"], agg["code"])]]
        parts.append(agg[["level", "code", "period", "value", "status"]])
    if not parts:
        return pd.DataFrame(columns=["level", "code", "period", "value", "status"])
    return pd.concat(parts, ignore_index=True)


def place_values(wh: Warehouse, spec: dict, places: list[Place], as_of: date | None = None,
                 members: pd.DataFrame | None = None) -> pd.DataFrame:
    """Columns level, code, period, value, status (+ numerator, denominator for ratios) of `places`.

    `members` (from `commune_members(wh, places)`) may be passed to save its queries when called repeatedly."""
    levels = sorted({p.level for p in places} | {"commune"})
    if members is None and spec["kind"] != "published_rate":
        members = commune_members(wh, places)
    if spec["kind"] == "ratio":
        num, den = spec["numerator"], spec["denominator"]
        raw = raw_values(wh, [num, den], levels, as_of)
        a = _sum_over(raw[raw["series"] == num], members, places)
        b = _sum_over(raw[raw["series"] == den], members, places)
        out = a.merge(b, on=["level", "code", "period"], suffixes=("_num", "_den"))
        out["numerator"], out["denominator"] = out["value_num"], out["value_den"]
        factor = float(spec.get("factor") or 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["value"] = np.where(out["denominator"] > 0, out["numerator"] / out["denominator"] * factor, np.nan)
        out["status"] = np.where(np.isnan(out["value"]), "missing", "ok")
        return out[["level", "code", "period", "value", "status", "numerator", "denominator"]]
    raw = raw_values(wh, [spec["id"]], levels, as_of)
    if spec["kind"] == "published_rate":
        keys = {(p.level, p.code) for p in places}
        return raw[[(lv, c) in keys for lv, c in zip(raw["level"], raw["code"])]][
            ["level", "code", "period", "value", "status"]].reset_index(drop=True)
    return _sum_over(raw, members, places)
