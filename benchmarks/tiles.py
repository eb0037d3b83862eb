"""Benchmark: vector tiles of a national-scale commune layer, through a real HTTP server.

Data: 35,000 synthetic communes, a grid of polygons over metropolitan France (Lambert-93 cells of about 6 km,
jittered corners and wavy shared borders of ~40 vertices per commune, like the real simplified contours), written
to a fresh DuckDB warehouse as the contour importer would (`geom` in Lambert-93, `geom_web` in WGS84).

The app runs in its own process (uvicorn, one worker). Once the app has prepared the layer (projection,
per-zoom simplification and the tiles of zooms 0 to 9, done once in the background at start-up, timed here), the
client asks, for each zoom from 5 to 12, for tiles over France (all of them at z5–z6, a deterministic sample
above), twice: the first time a tile is built (zooms above 9), the second time it comes from the app's memory.
The script prints p50/p95/max latency and the payload sizes (decoded and gzip).

    .venv/bin/python benchmarks/tiles.py [--communes 35000] [--tiles 80] [--keep /tmp/national.duckdb]
"""

from __future__ import annotations

import argparse
import gzip
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyproj
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_latency import percentile, serve  # noqa: E402  (the same child-process server)

from vigie.publish.tiles import PRERENDER_ZOOM  # noqa: E402
from vigie.warehouse import connect  # noqa: E402

COG = 2026
# Lambert-93 extent of metropolitan France (mainland), in metres.
XMIN, XMAX, YMIN, YMAX = 100_000.0, 1_250_000.0, 6_050_000.0, 7_120_000.0
POINTS_PER_EDGE = 10


def grid(n: int, seed: int = 1) -> tuple[np.ndarray, int, int]:
    """`n` (about) polygons tiling the extent: shared jittered corners and shared wavy edges."""
    rng = np.random.default_rng(seed)
    ratio = (XMAX - XMIN) / (YMAX - YMIN)
    rows = int(round(math.sqrt(n / ratio)))
    cols = int(round(n / rows))
    dx, dy = (XMAX - XMIN) / cols, (YMAX - YMIN) / rows
    # Corners, jittered by up to 30 % of a cell (the outer frame stays straight).
    cx = XMIN + np.arange(cols + 1) * dx
    cy = YMIN + np.arange(rows + 1) * dy
    corners = np.stack(np.meshgrid(cx, cy), axis=-1)  # (rows+1, cols+1, 2)
    jitter = rng.uniform(-0.3, 0.3, size=corners.shape) * np.array([dx, dy])
    jitter[0, :, 1] = jitter[-1, :, 1] = 0
    jitter[:, 0, 0] = jitter[:, -1, 0] = 0
    corners = corners + jitter
    t = np.linspace(0, 1, POINTS_PER_EDGE + 1)[:-1]  # points of an edge, its end excluded
    wave = np.sin(np.pi * t)[None, None, :, None]

    def edges(start: np.ndarray, end: np.ndarray, normal: np.ndarray, amplitude: np.ndarray) -> np.ndarray:
        """Points of each edge from start to end (end excluded), bent along `normal` by `amplitude`."""
        line = start[..., None, :] + (end - start)[..., None, :] * t[None, None, :, None]
        return line + wave * amplitude[..., None, None] * normal[None, None, None, :]

    # Horizontal edges (rows+1, cols) and vertical edges (rows, cols+1), each with its own bend.
    h_amp = rng.uniform(-0.08, 0.08, size=(rows + 1, cols)) * dy
    h_amp[0] = h_amp[-1] = 0
    v_amp = rng.uniform(-0.08, 0.08, size=(rows, cols + 1)) * dx
    v_amp[:, 0] = v_amp[:, -1] = 0
    horizontal = edges(corners[:, :-1], corners[:, 1:], np.array([0.0, 1.0]), h_amp)
    vertical = edges(corners[:-1, :], corners[1:, :], np.array([1.0, 0.0]), v_amp)
    # Ring of cell (r, c): bottom edge →, right edge ↑, top edge ←, left edge ↓, closed.
    bottom = horizontal[:-1]
    right = vertical[:, 1:]
    top = np.concatenate([corners[1:, 1:, None, :], horizontal[1:, :, :0:-1]], axis=2)
    left = np.concatenate([corners[1:, :-1, None, :], vertical[:, :-1, :0:-1]], axis=2)
    rings = np.concatenate([bottom, right, top, left, corners[:-1, :-1, None, :]], axis=2)
    polygons = shapely.polygons(rings.reshape(rows * cols, -1, 2))
    return polygons, rows, cols


def make_warehouse(path: Path, n: int) -> int:
    polygons, rows, cols = grid(n)
    to_wgs84 = pyproj.Transformer.from_crs(2154, 4326, always_xy=True)
    web = shapely.transform(polygons, lambda c: np.column_stack(to_wgs84.transform(c[:, 0], c[:, 1])))
    codes = np.array([f"{i:05d}" for i in range(10001, 10001 + len(polygons))])
    wh = connect(str(path))
    wh.execute("INSERT INTO source VALUES (1, 'bench', 'bench', 'Communes fictives (benchmark)', 'bench', 'bench', "
               "NULL, NULL, 'x', now(), 0, true)")
    wh.insert_frame("territory", pd.DataFrame({"level": "commune", "code": codes, "cog": COG,
                                               "name": [f"Commune {c}" for c in codes], "source_id": 1}))
    for start in range(0, len(codes), 5000):
        part = slice(start, start + 5000)
        wh.insert_frame("territory_geometry", pd.DataFrame({
            "level": "commune", "code": codes[part], "cog": COG, "area_km2": shapely.area(polygons[part]) / 1e6,
            "geom": polygons[part], "geom_web": web[part], "source_id": 1,
        }))
    wh.execute("CHECKPOINT")
    wh.close()
    return len(codes)


def tiles_over_france(z: int, count: int, seed: int = 7) -> list[tuple[int, int, int]]:
    """Tiles whose centre falls over the grid: all of them when there are at most `count`, else a sample."""
    to_mercator = pyproj.Transformer.from_crs(2154, 3857, always_xy=True)
    corners = [to_mercator.transform(x, y) for x in (XMIN, XMAX) for y in (YMIN, YMAX)]
    world = 20037508.342789244
    size = 2 * world / 2**z
    x0 = int((min(c[0] for c in corners) + world) // size)
    x1 = int((max(c[0] for c in corners) + world) // size)
    y0 = int((world - max(c[1] for c in corners)) // size)
    y1 = int((world - min(c[1] for c in corners)) // size)
    tiles = [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    if len(tiles) > count:
        tiles = random.Random(seed + z).sample(tiles, count)
    return tiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=35_000)
    parser.add_argument("--tiles", type=int, default=80, help="tuiles mesurées par zoom (au plus)")
    parser.add_argument("--keep", help="garder l'entrepôt généré à ce chemin")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "national.duckdb"
        if not path.exists():
            start = time.perf_counter()
            n = make_warehouse(path, args.communes)
            print(f"entrepôt national fictif : {n:,} communes écrites en {time.perf_counter() - start:.1f} s".replace(",", " "))
        start = time.perf_counter()
        with serve(str(path)) as base, httpx.Client(base_url=base, headers={"Accept-Encoding": "gzip"}, timeout=120) as client:
            print(f"serveur prêt en {time.perf_counter() - start:.1f} s, dont la préparation de la couche (projection, "
                  f"simplification par zoom, tuiles des zooms 0 à {PRERENDER_ZOOM}), faite une fois au démarrage")
            print(f"{'zoom':>4} {'tuiles':>6} {'vides':>5} | 1re demande : {'p50':>6} {'p95':>6} {'max':>6} ms | "
                  f"en mémoire : {'p50':>5} {'p95':>5} ms | taille méd. {'max':>9} {'gzip méd.':>10}")
            for z in range(5, 13):
                first, cached, sizes, gz, empty = [], [], [], [], 0
                for _z, x, y in tiles_over_france(z, args.tiles):
                    url = f"/tiles/commune/{z}/{x}/{y}.mvt"
                    t0 = time.perf_counter()
                    r = client.get(url)
                    first.append((time.perf_counter() - t0) * 1000)
                    t0 = time.perf_counter()
                    client.get(url)
                    cached.append((time.perf_counter() - t0) * 1000)
                    if r.status_code == 204:
                        empty += 1
                        continue
                    if r.status_code != 200:
                        raise SystemExit(f"tuile {z}/{x}/{y} : {r.status_code} {r.text[:200]}")
                    sizes.append(len(r.content))
                    gz.append(r.num_bytes_downloaded if r.headers.get("content-encoding") == "gzip"
                              else len(gzip.compress(r.content, 6)))
                print(f"{z:>4} {len(first):>6} {empty:>5} |              {statistics.median(first):6.1f} "
                      f"{percentile(first, 95):6.1f} {max(first):6.1f}    |              {statistics.median(cached):5.1f} "
                      f"{percentile(cached, 95):5.1f}    | {statistics.median(sizes) / 1024:7.1f} KiB "
                      f"{max(sizes) / 1024:6.1f} KiB {statistics.median(gz) / 1024:6.1f} KiB")


if __name__ == "__main__":
    main()
