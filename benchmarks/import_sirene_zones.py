"""Benchmark: the SIRENE importer (`sirene-zones`) on a national-size stock, streamed.

    .venv/bin/python benchmarks/import_sirene_zones.py [--rows 2000000] [--zones 3000]

Writes a synthetic `StockEtablissement` (the official columns the importer reads) and its geolocation file with
`--rows` establishments (valid SIRET) spread over metropolitan France, `--zones` activity zones, then times the whole
import (validation of every SIRET, streamed spatial join, write of the establishments inside zones) and reports the
peak memory (RSS) so that one can check the file is never held whole.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from vigie.modules.foncier.schema import ensure_schema
from vigie.modules.foncier.sirene import SireneZonesImporter
from vigie.sources.base import run_import
from vigie.warehouse import connect

import sys

sys.path.insert(0, str(Path(__file__).parent))
from spatial_join_establishments import synthetic_points, synthetic_zones  # noqa: E402


def sirets(n: int, rng) -> np.ndarray:
    base = rng.integers(0, 10, size=(n, 13))
    base[:, 0] = rng.integers(1, 10, n)
    doubled = base.copy()
    doubled[:, 12::-2] *= 2  # with the key appended, these positions are every second digit from the right
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    key = (10 - doubled.sum(axis=1) % 10) % 10
    digits = np.column_stack([base, key]).astype(np.uint8) + 48
    return digits.view("S14").ravel().astype(str)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--zones", type=int, default=3000)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        zones = synthetic_zones(args.zones, rng)
        x, y = synthetic_points(zones, args.rows, rng)
        s = sirets(args.rows, rng)
        t0 = time.perf_counter()
        pd.DataFrame({
            "siren": pd.Series(s).str[:9], "nic": pd.Series(s).str[9:], "siret": s, "statutDiffusionEtablissement": "O",
            "dateCreationEtablissement": "2015-01-01", "trancheEffectifsEtablissement": "11", "codeCommuneEtablissement": "62498",
            "etatAdministratifEtablissement": "A", "activitePrincipaleEtablissement": "52.10B",
        }).to_csv(tmp / "stock.csv", index=False)
        pd.DataFrame({"siret": s, "x": np.round(x, 1), "y": np.round(y, 1), "qualite_xy": "11", "epsg": "2154"}).to_csv(
            tmp / "geo.csv", index=False, sep=";")
        print(f"files written in {time.perf_counter() - t0:.1f} s "
              f"({(tmp / 'stock.csv').stat().st_size / 1e6:.0f} + {(tmp / 'geo.csv').stat().st_size / 1e6:.0f} MB)")
        wh = connect(str(tmp / "w.duckdb"))
        ensure_schema(wh)
        wh.insert_frame("foncier_site", pd.DataFrame({
            "site_id": [f"Z{i:06d}" for i in range(len(zones))], "pole_id": None, "name": "zone", "site_type": "zae",
            "vocation": "industrielle", "state": "existant et actif", "commune": "62498", "epci": "246200364",
            "gross_ha": shapely.area(zones) / 1e4, "usable_ha": shapely.area(zones) / 1e4, "available_ha": None,
            "project_ha": None, "identified_on": None, "updated_on": None, "properties": "{}", "geom": zones,
            "geom_web": zones, "source_id": 0}))
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t1 = time.perf_counter()
        result = run_import(wh, SireneZonesImporter(tmp / "stock.csv", geoloc=str(tmp / "geo.csv")))
        t2 = time.perf_counter()
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"import: {t2 - t1:.1f} s for {args.rows:,} establishments → {args.rows / (t2 - t1) / 1e3:.0f} k rows/s; "
              f"{result.rows.get('foncier_establishment', 0):,} kept in zones; peak RSS {rss1:.0f} MB (before: {rss0:.0f} MB)")
        wh.close()


if __name__ == "__main__":
    main()
