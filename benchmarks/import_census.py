"""Benchmark: importing a national-size INSEE base-cc file (35,000 communes × 150 variables) with the census
importer, against a plain pandas read of the same file.

    .venv/bin/python benchmarks/import_census.py [--rows 35000] [--columns 150]

Prints the time of reading + validating, of the whole all-or-nothing import into DuckDB, and of
`pandas.read_csv` alone (no validation, no warehouse) for scale.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vigie.progress import Silent
from vigie.sources.base import run_import
from vigie.sources.census import CensusImporter
from vigie.warehouse import connect


def synthetic_base_cc(path: Path, rows: int, columns: int, seed: int = 0) -> list[str]:
    """A base-cc-like file of `rows` communes × `columns` variables (codes 10000…); returns the codes."""
    rng = np.random.default_rng(seed)
    codes = [f"{10000 + i:05d}" for i in range(rows)]
    names = [f"P21_V{j:03d}" for j in range(columns)]
    values = rng.random((rows, columns)) * 1000
    body = "\n".join(f"{c};32;62;Commune {c};" + ";".join(f"{v:.4f}" for v in values[i]) for i, c in enumerate(codes))
    path.write_text("CODGEO;REG;DEP;LIBGEO;" + ";".join(names) + "\n" + body + "\n", encoding="utf-8")
    return codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=35_000)
    parser.add_argument("--columns", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "base-cc-synthetique-2021.CSV"
        codes = synthetic_base_cc(path, args.rows, args.columns)
        wh = connect(str(Path(tmp) / "bench.duckdb"))
        wh.execute("INSERT INTO source VALUES (1, 'bench', 'bench', 'bench', 'bench', 'bench', NULL, NULL, 'x', now(), 0, false)")
        wh.insert_frame("territory", pd.DataFrame({"level": "commune", "code": codes, "cog": 2023, "name": codes, "source_id": 1}))
        start = time.perf_counter()
        pd.read_csv(path, sep=";", dtype={"CODGEO": str})
        plain = time.perf_counter() - start
        start = time.perf_counter()
        batch = CensusImporter(path).read(wh, Silent())
        read = time.perf_counter() - start
        start = time.perf_counter()
        run_import(wh, CensusImporter(path))
        total = time.perf_counter() - start
        cells = args.rows * args.columns
        print(f"base-cc {args.rows:,} × {args.columns} ({batch.rows():,} values)")
        print(f"pandas.read_csv alone: {plain:.1f} s")
        print(f"census importer, read + validate: {read:.1f} s ({read / plain:.1f}× the plain read)")
        print(f"whole import into DuckDB (all-or-nothing): {total:.1f} s, {cells / total:,.0f} values/s")
        wh.close()


if __name__ == "__main__":
    main()
