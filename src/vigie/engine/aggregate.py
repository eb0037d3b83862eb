"""Figures of one territory: its own values, and additive stocks summed over its communes.

Sums are done in SQL, set-based, at each value's own geography vintage (the communes that made up the
territory in that COG), weighted by the membership weights. A sum over members some of which have no value is
not silently partial: it comes back with status `missing` and the coverage (members with a value / members).
The full engine (ratios, evolutions, COG conversion, secrecy) builds on this.
"""

from __future__ import annotations

import pandas as pd

from vigie.warehouse import Territory, Warehouse

COLUMNS = ["indicator", "label", "unit", "decimals", "vintage_label", "year", "cog", "value", "status", "members", "covered", "synthetic"]


def territory_figures(wh: Warehouse, territory: Territory, indicators: list[str] | None = None) -> pd.DataFrame:
    """Every figure known for `territory`, one row per indicator and year (latest COG when several)."""
    filter_sql, params = "", []
    if indicators:
        filter_sql = " AND i.id IN (" + ", ".join("?" * len(indicators)) + ")"
        params = list(indicators)
    direct = wh.query_df(
        "SELECT i.id AS indicator, i.label, i.unit, i.decimals, i.vintage_label, v.year, v.cog, "
        "CASE WHEN v.status = 'secret' THEN NULL ELSE v.value END AS value, v.status, "
        "1 AS members, CASE WHEN v.status = 'ok' THEN 1 ELSE 0 END AS covered, s.synthetic "
        "FROM value v JOIN indicator i ON i.id = v.indicator JOIN source s ON s.id = v.source_id "
        "WHERE v.level = ? AND v.code = ?" + filter_sql,
        [territory.level, territory.code, *params],
    )
    frames = [direct]
    if territory.level != "commune":
        summed = wh.query_df(
            "WITH members AS ("
            "  SELECT cog, child_code, weight FROM membership"
            "  WHERE child_level = 'commune' AND parent_level = ? AND parent_code = ?),"
            " sizes AS (SELECT cog, count(*) AS members FROM members GROUP BY cog),"
            " sums AS ("
            "  SELECT v.indicator, v.year, v.cog,"
            "         sum(CASE WHEN v.status IN ('ok', 'fragile') THEN v.value * m.weight END) AS value,"
            "         count(CASE WHEN v.status IN ('ok', 'fragile') THEN 1 END) AS covered,"
            "         bool_or(s.synthetic) AS synthetic"
            "  FROM value v JOIN members m ON m.cog = v.cog AND m.child_code = v.code"
            "  JOIN source s ON s.id = v.source_id JOIN indicator i ON i.id = v.indicator"
            "  WHERE v.level = 'commune' AND i.kind = 'stock'" + filter_sql +
            "  GROUP BY v.indicator, v.year, v.cog)"
            " SELECT sums.indicator, i.label, i.unit, i.decimals, i.vintage_label, sums.year, sums.cog,"
            "        CASE WHEN sums.covered = sizes.members THEN sums.value END AS value,"
            "        CASE WHEN sums.covered = sizes.members THEN 'ok' ELSE 'missing' END AS status,"
            "        sizes.members, sums.covered, sums.synthetic"
            " FROM sums JOIN sizes ON sizes.cog = sums.cog JOIN indicator i ON i.id = sums.indicator",
            [territory.level, territory.code, *params],
        )
        frames.append(summed)
    out = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(not f.empty for f in frames) else pd.DataFrame(columns=COLUMNS)
    if out.empty:
        return out.reindex(columns=COLUMNS)
    out = out.sort_values(["indicator", "year", "cog"]).drop_duplicates(["indicator", "year"], keep="last")
    return out.reindex(columns=COLUMNS).reset_index(drop=True)
