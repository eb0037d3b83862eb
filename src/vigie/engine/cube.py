"""The materialised cube: every catalogue indicator × territory × year at one target COG, in set-based SQL.

1. base: commune values of additive variables, converted to the target COG through `cog_map` (merges summed,
   splits weighted by population);
2. aggregates: the base summed over every membership of the target COG (EPCI, département, région, zone
   d'emploi, custom territories), with coverage: a total over members some of which lack a value is `missing`;
   values published at other levels (QPV, IRIS, zones d'emploi…) are taken as they are;
3. cube: stocks as summed; ratios recomputed from the summed numerator and denominator (the denominator of the
   latest year not after the numerator's); non-additive figures (medians, published rates) only where published;
4. secrecy: primary masking of small counts and reliability flags as the cube is written, then secondary
   masking so that no masked cell can be recovered from a total and its other parts; masked values and counts
   are never stored in the cube.
No Python loop runs over territories: each step is one SQL statement over all of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from vigie.engine.catalogue import IndicatorDef, load_catalogue
from vigie.engine.cog import build_cog_map
from vigie.progress import Reporter, Silent
from vigie.warehouse import Warehouse

AREA = "_area_km2"  # base variable made from the contours, timeless (year 0)
STATUS_RANK = "CASE {c} WHEN 'ok' THEN 0 WHEN 'fragile' THEN 1 WHEN 'missing' THEN 2 ELSE 3 END"
RANK_STATUS = "CASE WHEN {r} = 0 THEN 'ok' WHEN {r} = 1 THEN 'fragile' WHEN {r} = 2 THEN 'missing' ELSE 'secret' END"


@dataclass
class CubeReport:
    cog: int
    rows: int
    seconds: float
    secret_primary: int
    secret_secondary: int


def build_cube(wh: Warehouse, target: int | None = None, catalogue: dict[str, IndicatorDef] | None = None,
               report: Reporter | None = None) -> CubeReport:
    """(Re)build the cube of the target COG (default: the latest commune vintage), all-or-nothing."""
    report = report or Silent()
    catalogue = catalogue or load_catalogue()
    target = target or wh.latest_cog("commune")
    start = time.perf_counter()
    with wh.transaction():
        report.step("Conversion des millésimes du COG")
        build_cog_map(wh, target)
        _defs_table(wh, catalogue)
        wh.analyze("value", "membership", "cog_map", "territory_geometry", "source", "_vigie_defs")
        report.step("Agrégation des variables de base")
        _base(wh, target)
        wh.analyze("_vigie_base")
        _aggregates(wh, target)
        wh.analyze("_vigie_agg")
        report.step("Calcul des indicateurs")
        wh.execute("DELETE FROM cube WHERE cog = ?", (target,))
        _cube(wh, target)
        report.step("Secret statistique")
        primary = _secret_count(wh, target)
        secondary = _secondary_secrecy(wh, target)
        for table in ("_vigie_defs", "_vigie_base", "_vigie_agg"):
            wh.execute(f"DROP TABLE IF EXISTS {table}")
        rows = int(wh.query("SELECT count(*) FROM cube WHERE cog = ?", (target,))[0][0])
    return CubeReport(target, rows, time.perf_counter() - start, primary, secondary)


def _defs_table(wh: Warehouse, catalogue: dict[str, IndicatorDef]) -> None:
    wh.execute("DROP TABLE IF EXISTS _vigie_defs")
    wh.execute(
        "CREATE TEMP TABLE _vigie_defs (id VARCHAR, kind VARCHAR, input VARCHAR, denominator VARCHAR, "
        "factor DOUBLE PRECISION, min_count INTEGER, fragile_below DOUBLE PRECISION)"
    )
    rows = pd.DataFrame([
        {"id": d.id, "kind": d.kind, "input": d.variable or d.numerator, "denominator": d.denominator,
         "factor": d.factor, "min_count": d.secrecy.min_count, "fragile_below": d.secrecy.fragile_below_population}
        for d in catalogue.values()
    ])
    wh.insert_frame("_vigie_defs", rows)


def _base(wh: Warehouse, target: int) -> None:
    """Commune values of additive variables at the target COG (latest source vintage of each variable-year)."""
    wh.execute("DROP TABLE IF EXISTS _vigie_base")
    rank = STATUS_RANK.format(c="src.status")
    wh.execute(
        "CREATE TEMP TABLE _vigie_base AS "
        "WITH inputs AS ("
        "  SELECT input AS var FROM _vigie_defs WHERE kind IN ('stock', 'ratio') "
        "  UNION SELECT denominator FROM _vigie_defs WHERE kind = 'ratio'),"
        " src AS ("
        "  SELECT v.indicator AS var, v.code, v.year, v.cog, v.value, v.status, s.synthetic,"
        "         max(v.cog) OVER (PARTITION BY v.indicator, v.year) AS last_cog"
        "  FROM value v JOIN source s ON s.id = v.source_id JOIN inputs i ON i.var = v.indicator"
        "  WHERE v.level = 'commune' AND v.cog <= ?),"
        # A commune made of several former ones has a value only if all of them had one.
        " fanin AS (SELECT cog_from, code_to, count(*) AS parts FROM cog_map WHERE cog_to = ? GROUP BY cog_from, code_to) "
        f"SELECT src.var, m.code_to AS code, src.year, sum(src.value * m.weight) AS value, "
        f"       greatest(max({rank}), CASE WHEN count(*) < max(f.parts) THEN 2 ELSE 0 END) AS srank, "
        "       bool_or(src.synthetic) AS synthetic "
        "FROM src JOIN cog_map m ON m.cog_to = ? AND m.cog_from = src.cog AND m.code_from = src.code "
        "JOIN fanin f ON f.cog_from = m.cog_from AND f.code_to = m.code_to "
        "WHERE src.cog = src.last_cog GROUP BY src.var, m.code_to, src.year",
        (target, target, target),
    )
    wh.execute(
        f"INSERT INTO _vigie_base SELECT '{AREA}', code, 0, area_km2, 0, false FROM territory_geometry "
        "WHERE level = 'commune' AND cog = ?",
        (target,),
    )


def _aggregates(wh: Warehouse, target: int) -> None:
    """Base values at every level: communes, their supra-communal sums, and values published at other levels."""
    wh.execute("DROP TABLE IF EXISTS _vigie_agg")
    native_rank = STATUS_RANK.format(c="v.status")
    wh.execute(
        "CREATE TEMP TABLE _vigie_agg AS "
        "WITH sizes AS ("
        "  SELECT parent_level, parent_code, count(*) AS members FROM membership"
        "  WHERE cog = ? AND child_level = 'commune' GROUP BY parent_level, parent_code),"
        " sums AS ("
        "  SELECT b.var, m.parent_level AS level, m.parent_code AS code, b.year,"
        "         sum(b.value * m.weight) AS value, max(b.srank) AS srank, count(*) AS present,"
        "         count(CASE WHEN b.srank < 2 THEN 1 END) AS covered, bool_or(b.synthetic) AS synthetic"
        "  FROM _vigie_base b JOIN membership m ON m.cog = ? AND m.child_level = 'commune' AND m.child_code = b.code"
        "  GROUP BY b.var, m.parent_level, m.parent_code, b.year),"
        " inputs AS (SELECT input AS var FROM _vigie_defs UNION SELECT denominator FROM _vigie_defs WHERE denominator IS NOT NULL),"
        " native AS ("
        f"  SELECT v.indicator AS var, v.level, v.code, v.year, v.value, {native_rank} AS srank, s.synthetic,"
        "         v.cog, max(v.cog) OVER (PARTITION BY v.indicator, v.level, v.code, v.year) AS last_cog"
        "  FROM value v JOIN source s ON s.id = v.source_id JOIN inputs i ON i.var = v.indicator"
        "  WHERE v.cog <= ? AND (v.level <> 'commune' OR v.indicator NOT IN (SELECT DISTINCT var FROM _vigie_base))),"
        " native_commune AS ("
        # Non-additive commune figures follow a commune only when its code did not merge or split since.
        "  SELECT n.var, 'commune' AS level, m.code_to AS code, n.year, n.value, n.srank, n.synthetic FROM native n"
        "  JOIN cog_map m ON m.cog_to = ? AND m.cog_from = n.cog AND m.code_from = n.code AND m.weight = 1"
        "  WHERE n.level = 'commune' AND n.cog = n.last_cog AND NOT EXISTS ("
        "    SELECT 1 FROM cog_map o WHERE o.cog_to = m.cog_to AND o.cog_from = m.cog_from AND o.code_to = m.code_to"
        "    AND o.code_from <> m.code_from)) "
        "SELECT var, 'commune' AS level, code, year, value, srank, 1 AS members,"
        "       CASE WHEN srank < 2 THEN 1 ELSE 0 END AS covered, synthetic FROM _vigie_base "
        "UNION ALL "
        "SELECT s.var, s.level, s.code, s.year, s.value,"
        "       CASE WHEN s.present < z.members THEN greatest(s.srank, 2) ELSE s.srank END,"
        "       z.members, s.covered, s.synthetic FROM sums s JOIN sizes z ON z.parent_level = s.level AND z.parent_code = s.code "
        "UNION ALL "
        "SELECT var, level, code, year, value, srank, 1, CASE WHEN srank < 2 THEN 1 ELSE 0 END, synthetic FROM native "
        "WHERE level <> 'commune' AND cog = last_cog "
        "UNION ALL "
        "SELECT var, level, code, year, value, srank, 1, CASE WHEN srank < 2 THEN 1 ELSE 0 END, synthetic FROM native_commune "
        "UNION ALL "
        # Areas of the sub-communal territories, which no commune sum reaches.
        f"SELECT '{AREA}', level, code, 0, area_km2, 0, 1, 1, false FROM territory_geometry "
        "WHERE cog = ? AND level IN ('qpv', 'iris')",
        (target, target, target, target, target),
    )


def _cube(wh: Warehouse, target: int) -> None:
    """Insert every indicator with its final status: source statuses, denominators, primary secrecy (a count
    strictly between 0 and the threshold), reliability (territories under the population threshold). Values
    and counts of secret cells are not written at all."""
    wh.execute(
        "INSERT INTO cube (indicator, level, code, year, cog, value, status, numerator, denominator, members, covered, synthetic) "
        "WITH years AS (SELECT DISTINCT var, level, year FROM _vigie_agg),"
        " den_year AS ("
        "  SELECT d.id, ny.level, ny.year, max(dy.year) AS den_year FROM _vigie_defs d"
        "  JOIN years ny ON ny.var = d.input JOIN years dy ON dy.var = d.denominator AND dy.level = ny.level AND dy.year <= ny.year"
        "  WHERE d.kind = 'ratio' GROUP BY d.id, ny.level, ny.year),"
        " raw AS ("
        "  SELECT d.id, d.kind, n.level, n.code, n.year, n.srank, n.members, n.covered, n.synthetic, n.value AS num,"
        "         d2.value AS den, d2.srank AS den_rank, d2.synthetic AS den_synthetic, d.factor, d.min_count,"
        "         d.fragile_below, pop.value AS population"
        "  FROM _vigie_defs d JOIN _vigie_agg n ON n.var = d.input"
        "  LEFT JOIN den_year y ON y.id = d.id AND y.level = n.level AND y.year = n.year"
        "  LEFT JOIN _vigie_agg d2 ON d2.var = d.denominator AND d2.level = n.level"
        "       AND d2.code = n.code AND d2.year = y.den_year"
        "  LEFT JOIN _vigie_agg pop ON pop.var = 'p_pop' AND pop.level = n.level"
        "       AND pop.code = n.code AND pop.year = n.year),"
        " ranked AS ("
        "  SELECT raw.*, greatest(srank,"
        "        CASE WHEN kind <> 'ratio' THEN 0 WHEN den IS NULL OR den = 0 THEN greatest(coalesce(den_rank, 2), 2)"
        "             ELSE den_rank END) AS data_rank FROM raw),"
        " final AS ("
        "  SELECT ranked.*, CASE"
        "    WHEN data_rank < 2 AND min_count IS NOT NULL AND num > 0 AND num < min_count THEN 3"
        "    WHEN data_rank = 0 AND fragile_below IS NOT NULL AND population < fragile_below THEN 1"
        "    ELSE data_rank END AS final_rank FROM ranked) "
        "SELECT id, level, code, year, ?,"
        "  CASE WHEN final_rank >= 2 THEN NULL WHEN kind = 'ratio' THEN num / den * factor ELSE num END,"
        f"  {RANK_STATUS.format(r='final_rank')},"
        "  CASE WHEN final_rank >= 2 THEN NULL ELSE num END, CASE WHEN kind = 'ratio' THEN den END,"
        "  members, covered, synthetic OR coalesce(den_synthetic, false) "
        "FROM final",
        (target,),
    )


def _secondary_secrecy(wh: Warehouse, target: int, max_rounds: int = 20) -> int:
    """Where a published total has exactly one secret part, its smallest other part is masked too.

    Parts are the members of the target COG's memberships (communes in an EPCI, EPCI in the PMA…). Parents are
    handled level by level, the smallest first (EPCI before the PMA before the département), so that a mask
    chosen for a small total also protects the wider ones instead of masking again there; rounds go on until no
    total exposes a single secret part.
    """
    if not wh.query("SELECT 1 FROM _vigie_defs WHERE min_count IS NOT NULL"):
        return 0
    levels = [r[0] for r in wh.query(
        "SELECT parent_level FROM (SELECT parent_level, parent_code, count(*) AS n FROM membership "
        "WHERE cog = ? AND child_level NOT IN ('qpv', 'iris') GROUP BY parent_level, parent_code) s "
        "GROUP BY parent_level ORDER BY avg(n), parent_level", (target,))]
    masked = 0
    for _ in range(max_rounds):
        changed = 0
        for level in levels:
            while True:
                n = _mask_exposed(wh, target, level)
                if not n:
                    break
                changed += n
        masked += changed
        if not changed:
            break
    wh.execute("DROP TABLE IF EXISTS _vigie_mask")
    return masked


def _mask_exposed(wh: Warehouse, target: int, parent_level: str) -> int:
    """One pass over the totals of one level (disjoint or not, each total masks at most one more part)."""
    wh.execute("DROP TABLE IF EXISTS _vigie_mask")
    wh.execute(
        "CREATE TEMP TABLE _vigie_mask AS "
        "WITH parts AS ("
        "  SELECT c.indicator, c.year, m.parent_code, c.level, c.code, c.status, c.numerator"
        "  FROM _vigie_defs d JOIN cube c ON c.indicator = d.id"
        "  JOIN membership m ON m.cog = c.cog AND m.child_level = c.level AND m.child_code = c.code"
        "  WHERE d.min_count IS NOT NULL AND c.cog = ? AND m.parent_level = ? AND m.child_level NOT IN ('qpv', 'iris')),"
        # A total is split by the level of its parts: the PMA = its communes, and the PMA = its EPCI.
        " exposed AS ("
        "  SELECT p.indicator, p.year, p.parent_code, p.level FROM parts p"
        "  JOIN cube t ON t.cog = ? AND t.indicator = p.indicator AND t.year = p.year"
        "       AND t.level = ? AND t.code = p.parent_code AND t.status <> 'secret'"
        "  GROUP BY p.indicator, p.year, p.parent_code, p.level"
        "  HAVING count(CASE WHEN p.status = 'secret' THEN 1 END) = 1"
        "     AND count(CASE WHEN p.status <> 'secret' THEN 1 END) >= 1),"
        " ranked AS ("
        "  SELECT p.indicator, p.year, p.level, p.code, row_number() OVER ("
        "     PARTITION BY p.indicator, p.year, p.parent_code, p.level ORDER BY p.numerator NULLS FIRST, p.code) AS rn"
        "  FROM parts p JOIN exposed e ON e.indicator = p.indicator AND e.year = p.year"
        "       AND e.parent_code = p.parent_code AND e.level = p.level"
        "  WHERE p.status <> 'secret') "
        "SELECT DISTINCT indicator, year, level, code FROM ranked WHERE rn = 1",
        (target, parent_level, target, parent_level),
    )
    n = int(wh.query("SELECT count(*) FROM _vigie_mask")[0][0])
    if n:
        wh.execute(
            "UPDATE cube SET status = 'secret', value = NULL, numerator = NULL FROM _vigie_mask k "
            "WHERE cube.cog = ? AND k.indicator = cube.indicator AND k.year = cube.year AND k.level = cube.level "
            "AND k.code = cube.code",
            (target,),
        )
    return n


def _secret_count(wh: Warehouse, target: int) -> int:
    return int(wh.query("SELECT count(*) FROM cube WHERE cog = ? AND status = 'secret'", (target,))[0][0])
