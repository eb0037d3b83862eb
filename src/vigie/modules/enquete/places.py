"""Where to draw the origins and destinations of the survey's flows: one WGS84 point per code.

A commune or an EPCI of the warehouse is placed at the centroid of its Lambert-93 contour (or, when the centroid
falls outside a crescent-shaped territory, at a point inside it), converted to longitude/latitude. A destination
outside the referential is placed where the codebook says (`external_destinations` given with `lon` and `lat`);
without a position it stays unplaced, and the maps say so instead of drawing it somewhere wrong.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import shapely

from vigie.modules.enquete.codebook import Codebook
from vigie.warehouse import Warehouse

DIGITS = 5  # about a metre


def contour_points(wh: Warehouse, level: str, codes: Iterable[str], cog: int) -> dict[str, tuple[float, float]]:
    """(lon, lat) of the territories of `level` among `codes` that have a contour at `cog` (or the latest COG)."""
    codes = sorted({str(c) for c in codes})
    if not codes:
        return {}
    cogs = [int(r[0]) for r in wh.query("SELECT DISTINCT cog FROM territory_geometry WHERE level = ? ORDER BY cog", (level,))]
    if not cogs:
        return {}
    chosen = cog if cog in cogs else max([c for c in cogs if c <= cog] or cogs)
    marks = ", ".join("?" * len(codes))
    rows = wh.query(f"SELECT code, ST_AsBinary(geom) FROM territory_geometry WHERE level = ? AND cog = ? AND code IN ({marks})",
                    [level, chosen, *codes])
    if not rows:
        return {}
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows])
    centres = shapely.centroid(geoms)
    inside = shapely.contains(geoms, centres)
    points = np.where(inside, centres, shapely.point_on_surface(geoms))
    xy = shapely.get_coordinates(points)
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(xy[:, 0], xy[:, 1])
    return {str(r[0]): (round(float(x), DIGITS), round(float(y), DIGITS)) for r, x, y in zip(rows, lon, lat)}


def place_points(wh: Warehouse, codebook: Codebook, cog: int, communes: Iterable[str] = (),
                 epcis: Iterable[str] = ()) -> dict[str, tuple[float, float]]:
    """Points of commune codes (from contours, else the codebook's external positions) and of EPCI codes."""
    communes = {str(c) for c in communes}
    out = {code: pos for code, pos in codebook.external_positions.items() if code in communes}
    out.update(contour_points(wh, "commune", communes - set(out), cog))
    out.update(contour_points(wh, "epci", epcis, cog))
    return out
