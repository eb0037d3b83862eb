"""Conversion between geography vintages (COG) through the commune passage tables.

`build_cog_map` composes the yearly passage tables into one table `cog_map(cog_from, cog_to, code_from,
code_to, weight)` from every vintage found in the data to the target vintage: a merged commune maps to its new
code with weight 1 (values are summed), a split commune maps to each part with the population share given by
the passage table (never a surface share), an unchanged commune maps to itself. Set-based SQL, one join per year.
"""

from __future__ import annotations

from vigie.warehouse import Warehouse


def build_cog_map(wh: Warehouse, target: int) -> int:
    """(Re)build `cog_map` towards `target` for every source vintage of commune values. Returns its row count."""
    sources = [int(r[0]) for r in wh.query(
        "SELECT DISTINCT cog FROM value WHERE level = 'commune' AND cog <= ? ORDER BY cog", (target,))]
    wh.execute("DELETE FROM cog_map WHERE cog_to = ?", (target,))
    for start in sources:
        # Step 0: identity over the communes of the source vintage (and any code the values use).
        wh.execute("DROP TABLE IF EXISTS _vigie_map")
        wh.execute(
            "CREATE TEMP TABLE _vigie_map AS "
            "SELECT code AS code_from, code AS code_to, CAST(1.0 AS DOUBLE PRECISION) AS weight FROM territory "
            "WHERE level = 'commune' AND cog = ? "
            "UNION SELECT DISTINCT code, code, CAST(1.0 AS DOUBLE PRECISION) FROM value WHERE level = 'commune' AND cog = ?",
            (start, start),
        )
        for year in range(start, target):
            has_changes = wh.query("SELECT count(*) FROM passage WHERE cog_from = ? AND cog_to = ?", (year, year + 1))[0][0]
            if not has_changes:
                continue
            wh.execute("DROP TABLE IF EXISTS _vigie_next")
            wh.execute(
                "CREATE TEMP TABLE _vigie_next AS "
                "SELECT m.code_from, coalesce(p.code_to, m.code_to) AS code_to, "
                "       sum(m.weight * coalesce(p.weight, 1.0)) AS weight "
                "FROM _vigie_map m LEFT JOIN passage p "
                "  ON p.cog_from = ? AND p.cog_to = ? AND p.code_from = m.code_to "
                "GROUP BY m.code_from, coalesce(p.code_to, m.code_to)",
                (year, year + 1),
            )
            wh.execute("DROP TABLE _vigie_map")
            wh.execute("ALTER TABLE _vigie_next RENAME TO _vigie_map")
        wh.execute(
            "INSERT INTO cog_map (cog_from, cog_to, code_from, code_to, weight) "
            "SELECT ?, ?, code_from, code_to, weight FROM _vigie_map",
            (start, target),
        )
        wh.execute("DROP TABLE _vigie_map")
    return int(wh.query("SELECT count(*) FROM cog_map WHERE cog_to = ?", (target,))[0][0])
