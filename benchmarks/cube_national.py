"""Benchmark: the full cube build on a national-scale synthetic warehouse, against a plain pandas loop.

Data: 35,000 communes, 50,000 IRIS, 1,250 EPCI, 101 départements, 13 régions, 3 census years, 70 base
variables and 100 catalogue indicators (60 stocks, 40 ratios). Values are random but the structure is the
real one: communes in EPCI in départements in régions; IRIS values published at their own level.

    .venv/bin/python benchmarks/cube_national.py [--communes 35000] [--iris 50000]

Prints the time of `build_cube` (DuckDB, set-based SQL) and of a pandas implementation that loops over
territories, on the same data, and checks that both give the same figures.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vigie.engine.catalogue import IndicatorDef
from vigie.engine.cube import build_cube
from vigie.warehouse import connect

YEARS = [2010, 2015, 2021]
COG = 2024


def make_catalogue(n_vars: int) -> dict[str, IndicatorDef]:
    defs = [IndicatorDef(id=f"stock_{i:02d}", label=f"Stock {i}", unit="u", kind="stock", variable=f"v{i:02d}",
                         source="bench", definition="bench") for i in range(60)]
    defs += [IndicatorDef(id=f"ratio_{i:02d}", label=f"Ratio {i}", unit="%", kind="ratio", numerator=f"v{i + 10:02d}",
                          denominator="v00", factor=100, source="bench", definition="bench") for i in range(40)]
    return {d.id: d for d in defs}


def make_warehouse(path: Path, n_communes: int, n_iris: int, n_epci: int, n_vars: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    wh = connect(str(path))
    communes = np.array([f"{i:05d}" for i in range(10001, 10001 + n_communes)])
    epci = np.array([f"2{i:08d}" for i in range(n_epci)])
    deps = np.array([f"{i:02d}" for i in range(1, 102)])
    regs = np.array([f"{i:02d}" for i in range(11, 24)])
    commune_epci = epci[np.sort(rng.integers(0, n_epci, n_communes))]
    epci_dep = deps[np.sort(rng.integers(0, len(deps), n_epci))]
    dep_reg = dict(zip(deps, regs[np.sort(rng.integers(0, len(regs), len(deps)))]))
    commune_dep = pd.Series(epci_dep, index=epci)[commune_epci].to_numpy()
    commune_reg = np.array([dep_reg[d] for d in commune_dep])
    iris = np.array([f"{i:09d}" for i in range(100000001, 100000001 + n_iris)])

    wh.execute("INSERT INTO source VALUES (1, 'bench', 'bench', 'bench', 'bench', 'bench', NULL, NULL, 'x', now(), 0, true)")
    territory = pd.concat([
        pd.DataFrame({"level": "commune", "code": communes, "name": communes}),
        pd.DataFrame({"level": "iris", "code": iris, "name": iris}),
        pd.DataFrame({"level": "epci", "code": epci, "name": epci}),
        pd.DataFrame({"level": "departement", "code": deps, "name": deps}),
        pd.DataFrame({"level": "region", "code": regs, "name": regs}),
    ]).assign(cog=COG, source_id=1)
    wh.insert_frame("territory", territory)
    membership = pd.concat([
        pd.DataFrame({"child_code": communes, "parent_level": "epci", "parent_code": commune_epci}),
        pd.DataFrame({"child_code": communes, "parent_level": "departement", "parent_code": commune_dep}),
        pd.DataFrame({"child_code": communes, "parent_level": "region", "parent_code": commune_reg}),
    ]).assign(cog=COG, child_level="commune", weight=1.0, source_id=1)
    wh.insert_frame("membership", membership)
    variables = [f"v{i:02d}" for i in range(n_vars)]
    for level, codes in (("commune", communes), ("iris", iris)):
        n = len(codes)
        for year in YEARS:
            block = rng.integers(0, 5000, size=(n, n_vars)).astype(float)
            frame = pd.DataFrame({
                "indicator": np.repeat(variables, n), "level": level, "code": np.tile(codes, n_vars), "year": year,
                "cog": COG, "value": block.T.reshape(-1), "status": "ok", "source_id": 1,
            })
            wh.insert_frame("value", frame)
    wh.execute("CHECKPOINT")
    return wh


def pandas_loop(wh, catalogue: dict[str, IndicatorDef]) -> pd.DataFrame:
    """The plain way: load the values, then for each territory sum its communes and compute each indicator."""
    values = wh.query_df("SELECT indicator, level, code, year, value FROM value")
    members = wh.query_df("SELECT parent_level, parent_code, child_code FROM membership WHERE child_level = 'commune'")
    communes = values[values["level"] == "commune"]
    out = []
    for (level, code), group in members.groupby(["parent_level", "parent_code"]):
        sums = communes[communes["code"].isin(group["child_code"])].groupby(["indicator", "year"])["value"].sum()
        for d in catalogue.values():
            for year in YEARS:
                if d.kind == "stock":
                    v = sums.get((d.variable, year))
                else:
                    v = sums.get((d.numerator, year)) / sums.get((d.denominator, year)) * d.factor
                out.append((d.id, level, code, year, v))
    return pd.DataFrame(out, columns=["indicator", "level", "code", "year", "value"])


def pandas_loop_local(wh, catalogue: dict[str, IndicatorDef], sample: int, seed: int = 2) -> tuple[float, int]:
    """The same loop over a random sample of communes and IRIS (their own values, ratios computed per territory).

    Returns the seconds per territory, to extrapolate the loop to every commune and IRIS (running it whole would
    take the better part of an hour)."""
    values = wh.query_df("SELECT indicator, level, code, year, value FROM value")
    rng = np.random.default_rng(seed)
    codes = values[["level", "code"]].drop_duplicates()
    picked = codes.iloc[rng.choice(len(codes), size=min(sample, len(codes)), replace=False)]
    start = time.perf_counter()
    for level, code in picked.itertuples(index=False):
        own = values[(values["level"] == level) & (values["code"] == code)].set_index(["indicator", "year"])["value"]
        for d in catalogue.values():
            for year in YEARS:
                if d.kind == "stock":
                    own.get((d.variable, year))
                else:
                    own.get((d.numerator, year)) / own.get((d.denominator, year)) * d.factor
    return (time.perf_counter() - start) / len(picked), len(codes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=35_000)
    parser.add_argument("--iris", type=int, default=50_000)
    parser.add_argument("--epci", type=int, default=1_250)
    parser.add_argument("--variables", type=int, default=70)
    parser.add_argument("--skip-pandas", action="store_true")
    args = parser.parse_args()
    catalogue = make_catalogue(args.variables)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        wh = make_warehouse(Path(tmp) / "bench.duckdb", args.communes, args.iris, args.epci, args.variables)
        n_values = wh.query("SELECT count(*) FROM value")[0][0]
        print(f"warehouse: {n_values:,} values, built in {time.perf_counter() - t0:.1f} s")
        report = build_cube(wh, COG, catalogue)
        print(f"cube (DuckDB, set-based SQL): {report.rows:,} rows in {report.seconds:.2f} s")
        if args.skip_pandas:
            return
        t0 = time.perf_counter()
        baseline = pandas_loop(wh, catalogue)
        loop_seconds = time.perf_counter() - t0
        print(f"pandas loop over territories: {len(baseline):,} rows in {loop_seconds:.2f} s")
        print(f"ratio on the supra-communal scope the loop covers: {loop_seconds / report.seconds:.1f}x")
        per_territory, n_local = pandas_loop_local(wh, catalogue, sample=200)
        full = loop_seconds + per_territory * n_local
        print(f"pandas loop over communes and IRIS: {per_territory * 1000:.0f} ms per territory (sample of 200), "
              f"extrapolated to {n_local:,} territories: {full:.0f} s for the cube's whole scope")
        print(f"ratio on the cube's whole scope (extrapolated): {full / report.seconds:.1f}x")
        cube = wh.query_df("SELECT indicator, level, code, year, value FROM cube WHERE level IN ('epci', 'departement', 'region')")
        merged = baseline.merge(cube, on=["indicator", "level", "code", "year"], suffixes=("_pandas", "_cube"))
        assert len(merged) == len(baseline), "the cube lacks figures the loop computed"
        assert np.allclose(merged["value_pandas"], merged["value_cube"]), "the cube and the loop disagree"
        print(f"checked: {len(merged):,} supra-communal figures identical in both")
        wh.close()


if __name__ == "__main__":
    main()
