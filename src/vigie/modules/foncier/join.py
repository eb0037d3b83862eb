"""Points into zones: the one spatial join of the atlas (SIRENE establishments, CNIG establishments, benchmarks).

Method (all vectorised with numpy, no Python loop over points or zones, no shapely point objects):
1. a regular grid prefilter: every zone is registered in the grid cells its bounding box covers (cell side = the
   median bounding-box side of the zones); every point looks up the zones of its cell (`searchsorted` on the sorted
   cell ids) and keeps those whose bounding box holds it;
2. the exact point-in-polygon test runs only on those candidate pairs, with `shapely.intersects_xy` on *prepared*
   zones (each polygon is indexed once; every test is then a fast lookup).
Points are processed in chunks so that a national file never needs all its candidate pairs in memory at once.

A point exactly on a zone border counts in it. When zones overlap, the point goes to the zone that comes first in the input order (the caller sorts zones by
priority). Measured on `benchmarks/spatial_join_establishments.py` against geopandas `sjoin`.
"""

from __future__ import annotations

import numpy as np
import shapely

CHUNK = 1_000_000
DENSE_CELLS = 20_000_000  # grid cells for which a dense lookup table is kept
MAX_CELLS = 50_000_000  # grid cells registered at most (a zone covering half of France gets a coarser grid)


class ZoneIndex:
    """Zones prepared once for many joins."""

    def __init__(self, zones):
        self.zones = np.asarray(zones, dtype=object)
        n = len(self.zones)
        if not n:
            return
        shapely.prepare(self.zones)
        b = shapely.bounds(self.zones)
        self.bounds = b
        sides = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
        self.x0, self.y0 = float(b[:, 0].min()), float(b[:, 1].min())
        span = max(float(b[:, 2].max()) - self.x0, float(b[:, 3].max()) - self.y0, 1.0)
        cell = max(float(np.median(sides)), span / 1e6, 1e-9)
        while True:
            ix0 = np.floor((b[:, 0] - self.x0) / cell).astype(np.int64)
            iy0 = np.floor((b[:, 1] - self.y0) / cell).astype(np.int64)
            ix1 = np.floor((b[:, 2] - self.x0) / cell).astype(np.int64)
            iy1 = np.floor((b[:, 3] - self.y0) / cell).astype(np.int64)
            nx, ny = ix1 - ix0 + 1, iy1 - iy0 + 1
            if int((nx * ny).sum()) <= MAX_CELLS:
                break
            cell *= 2
        self.cell = cell
        self.rows = int(iy1.max()) + 2
        counts = nx * ny
        zone = np.repeat(np.arange(n), counts)
        k = np.arange(len(zone)) - np.repeat(np.cumsum(counts) - counts, counts)  # rank of the cell in its zone
        cx = ix0[zone] + k // ny[zone]
        cy = iy0[zone] + k % ny[zone]
        ids = cx * self.rows + cy
        order = np.lexsort((zone, ids))
        self.cell_ids = ids[order]
        self.cell_zone = zone[order]
        self.cols = int(ix1.max()) + 2
        cells = self.cols * self.rows
        # dense table of where each cell's zones start (when the grid is small enough), else binary search
        self.starts = np.searchsorted(self.cell_ids, np.arange(cells + 1)) if cells <= DENSE_CELLS else None

    def candidates(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point, zone) pairs whose zone bounding box holds the point."""
        ix = (x - self.x0) / self.cell
        iy = (y - self.y0) / self.cell
        ok = (ix >= 0) & (iy >= 0) & (ix < self.cols) & (iy < self.rows)  # False for NaN too
        sel = np.flatnonzero(ok)
        ids = ix[sel].astype(np.int64) * self.rows + iy[sel].astype(np.int64)
        if self.starts is not None:
            lo = self.starts[ids]
            hi = self.starts[ids + 1]
        else:
            lo = np.searchsorted(self.cell_ids, ids, side="left")
            hi = np.searchsorted(self.cell_ids, ids, side="right")
        count = hi - lo
        some = count > 0
        sel, lo, count = sel[some], lo[some], count[some]
        pts = np.repeat(sel, count)
        offset = np.arange(len(pts)) - np.repeat(np.cumsum(count) - count, count)
        zns = self.cell_zone[np.repeat(lo, count) + offset]
        b = self.bounds[zns]
        px, py = x[pts], y[pts]
        inside = (px >= b[:, 0]) & (px <= b[:, 2]) & (py >= b[:, 1]) & (py <= b[:, 3])
        return pts[inside], zns[inside]

    def locate(self, x, y, chunk: int = CHUNK) -> np.ndarray:
        """Index of the zone holding each point (x, y in the zones' CRS), -1 when none (or a NaN coordinate)."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        out = np.full(len(x), -1, dtype=np.int64)
        if not len(self.zones):
            return out
        for start in range(0, len(x), chunk):
            cx, cy = x[start:start + chunk], y[start:start + chunk]
            pts, zns = self.candidates(cx, cy)
            hit = shapely.intersects_xy(self.zones[zns], cx[pts], cy[pts])  # border points included
            pts, zns = pts[hit], zns[hit]
            if not len(pts):
                continue
            order = np.lexsort((zns, pts))  # first zone (lowest index) per point
            pts, zns = pts[order], zns[order]
            first = np.ones(len(pts), dtype=bool)
            first[1:] = pts[1:] != pts[:-1]
            out[start + pts[first]] = zns[first]
        return out


def points_in_zones(x, y, zones) -> np.ndarray:
    """Index in `zones` of the zone holding each point, -1 for a point outside every zone."""
    return ZoneIndex(zones).locate(x, y)
