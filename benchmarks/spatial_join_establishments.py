"""Benchmark: 5 million synthetic establishments (points) into 30,000 activity zones (polygons), national order
of magnitude, with the atlas join (`vigie.modules.foncier.join`, STRtree bounding-box candidates + prepared
`contains_xy`) against a plain geopandas `sjoin(predicate="within")` on the same data.

    .venv/bin/python benchmarks/spatial_join_establishments.py [--points 5000000] [--zones 30000] [--no-baseline]

Zones are irregular 12-gons of 5 to 150 ha scattered over a 1,000 km × 1,000 km Lambert-93 square; about one
point in three falls in a zone. Prints the throughput of each method and checks that both agree.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import shapely

from vigie.modules.foncier.join import ZoneIndex


def synthetic_zones(n: int, rng: np.random.Generator) -> np.ndarray:
    cx = rng.uniform(100_000, 1_100_000, n)
    cy = rng.uniform(6_100_000, 7_100_000, n)
    area = rng.uniform(5, 150, n) * 10_000  # m²
    radius = np.sqrt(area / np.pi)
    angles = np.linspace(0, 2 * np.pi, 13)[:-1]
    wobble = rng.uniform(0.75, 1.25, (n, 12))
    xs = cx[:, None] + radius[:, None] * wobble * np.cos(angles)
    ys = cy[:, None] + radius[:, None] * wobble * np.sin(angles)
    rings = np.stack([xs, ys], axis=-1)
    rings = np.concatenate([rings, rings[:, :1]], axis=1)
    return shapely.polygons(rings)


def synthetic_points(zones: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A third of the points near zone centres (most fall inside), the rest uniform over the square."""
    near = n // 3
    centres = shapely.get_coordinates(shapely.centroid(zones))
    pick = rng.integers(0, len(zones), near)
    x = np.concatenate([centres[pick, 0] + rng.normal(0, 250, near), rng.uniform(100_000, 1_100_000, n - near)])
    y = np.concatenate([centres[pick, 1] + rng.normal(0, 250, near), rng.uniform(6_100_000, 7_100_000, n - near)])
    return x, y


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=5_000_000)
    parser.add_argument("--zones", type=int, default=30_000)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    zones = synthetic_zones(args.zones, rng)
    x, y = synthetic_points(zones, args.points, rng)
    print(f"{args.points:,} points, {args.zones:,} zones")

    t0 = time.perf_counter()
    index = ZoneIndex(zones)
    t1 = time.perf_counter()
    found = index.locate(x, y)
    t2 = time.perf_counter()
    inside = int((found >= 0).sum())
    print(f"vigie join: index {t1 - t0:.2f} s, join {t2 - t1:.2f} s → {args.points / (t2 - t0) / 1e6:.2f} M points/s "
          f"(index included), {inside:,} points in a zone")

    if args.no_baseline:
        return
    import geopandas as gpd

    t3 = time.perf_counter()
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=2154)
    zs = gpd.GeoDataFrame({"zone": np.arange(len(zones))}, geometry=zones, crs=2154)
    joined = gpd.sjoin(pts, zs, how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    t4 = time.perf_counter()
    base = joined["zone"].fillna(-1).to_numpy().astype(np.int64)
    print(f"geopandas sjoin: {t4 - t3:.2f} s → {args.points / (t4 - t3) / 1e6:.2f} M points/s "
          f"(speed-up ×{(t4 - t3) / (t2 - t0):.1f})")
    agree = (base >= 0) == (found >= 0)
    print(f"agreement on inside/outside: {agree.mean():.6f}")


if __name__ == "__main__":
    main()
