"""The map explorer's overview: the territories drawn here, coloured by class, as PNG tiles for the low zooms.

Why. On a map of France (zoom 5 to 6) a commune spans a few pixels and the view holds ~35,000 of them. Drawn by
the browser from the vector tiles, that costs a computer without a GPU two to four seconds: triangulating 35,000
polygons in MapLibre's worker and drawing them with software WebGL once per arriving tile (proportional circles
add a GeoJSON index of 35,000 points). Drawn here with Pillow from the same simplified contours as the vector
tiles (`Tiles.geometries`), an image of France at zoom 4 (1,024 pixels, shown at map zoom 5) costs 0.2 to 0.8 s once
and is then served from memory: the browser only decodes one to four images (1,024-pixel images rather than 512:
measured, fewer images mean fewer WebGL frames before the map is drawn). Below map zoom 7 the page shows these
images and loads the vector tiles after them, undrawn, for the tooltips and the click; from zoom 7 on it draws the
vector tiles itself.

The colours are those of the map's answer (`/api/map/values`: classes of the server, palettes below), so the image,
the legend and the vector tiles agree; a territory without a value (missing, secret, not aggregable) is grey.
Circles: the ground of the territories with a value, then one circle per territory (largest first, smaller ones on
top), radius `r × √(value / max) × 0.6` pixels (`r` is the page's scale at zoom 8, 0.6 its factor below zoom 6).
"""

from __future__ import annotations

import io
import math

import numpy as np
import shapely
from PIL import Image, ImageDraw

OVERVIEW_MAX_ZOOM = 6  # the last image zoom drawn here (seen up to map zoom 7, where the page draws the vector tiles)
PIXELS = 1024  # a tile's side: MapLibre shows it with tileSize 1024, so the image of zoom z is seen at map zoom z + 1
SHIFT = 1  # log2(PIXELS / 512): the map zoom an image is drawn for is its own zoom + SHIFT
CIRCLE_FACTOR = 0.6  # the page's 'circle-radius' factor at zoom 6 and below (see web/src/pages/map.js)

# Colour classes (ColorBrewer YlGnBu, colour-blind safe), by number of classes; also sent to the page.
PALETTES = {
    2: ["#a1dab4", "#225ea8"],
    3: ["#edf8b1", "#7fcdbb", "#2c7fb8"],
    4: ["#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"],
    5: ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"],
    6: ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"],
    7: ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"],
}
COLORS = {"no_data": "#d5d9de", "ground": "#f7f7f5", "circle": "#b8612a", "circle_stroke": "#ffffff"}
CIRCLE_OPACITY = 0.72


def class_colors(n_classes: int) -> list[str]:
    """The colours of `n_classes` classes, light to dark (the darkest of the 7-class palette beyond 7)."""
    if n_classes <= 0:
        return []
    palette = PALETTES[min(7, max(2, n_classes))]
    return palette[len(palette) - n_classes:] if n_classes < len(palette) else palette


def class_of(values: np.ndarray, breaks: list[float]) -> np.ndarray:
    """Class index of each value: the first class whose upper bound holds it (as the page and the legend do)."""
    upper = np.asarray(breaks, dtype=float) + 1e-9
    return np.minimum(np.searchsorted(upper, values, side="left"), len(breaks) - 1)


def fills(values: np.ndarray, breaks: list[float] | None) -> list[str]:
    """The fill of each territory: its class colour (`breaks`), the circles' ground (`breaks` None) or grey."""
    has = ~np.isnan(values)
    out = np.full(len(values), COLORS["no_data"], dtype=object)
    if breaks is None:
        out[has] = COLORS["ground"]
    elif breaks:
        colors = np.asarray(class_colors(len(breaks)), dtype=object)
        out[has] = colors[class_of(values[has], breaks)]
    return out.tolist()


def _rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


def draw(geoms: np.ndarray, colors: list[str], circles: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> bytes:
    """A PNG tile: `geoms` (shapely polygons in tile pixels, y down) filled with `colors`, transparent elsewhere;
    then `circles` (x, y, radius in pixels), largest first. Nothing to draw: a 1-pixel transparent image (the map
    stretches it), not 18 kB of transparent pixels."""
    if not len(geoms) and (circles is None or not len(circles[0])):
        return EMPTY_PNG
    image = Image.new("RGBA", (PIXELS, PIXELS), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if len(geoms):
        # Largest first: an enclave is drawn after the territory around it; a true hole is cleared right after
        # its own polygon, before anything smaller is drawn over it.
        order = np.argsort(-shapely.area(geoms), kind="stable")
        parts, which = shapely.get_parts(geoms[order], return_index=True)
        rgb = [_rgb(colors[i]) + (255,) for i in order]
        for part, i in zip(parts, which):
            if part.is_empty:
                continue
            pen.polygon(shapely.get_coordinates(part.exterior).ravel().tolist(), fill=rgb[i])
            for ring in part.interiors:
                pen.polygon(shapely.get_coordinates(ring).ravel().tolist(), fill=(0, 0, 0, 0))
    if circles is not None and len(circles[0]):
        # On a layer of their own, composited once over the ground: a smaller circle covers the larger one under it
        # (Pillow does not blend when drawing on a transparent image).
        layer = Image.new("RGBA", (PIXELS, PIXELS), (0, 0, 0, 0))
        dots = ImageDraw.Draw(layer)
        fill = _rgb(COLORS["circle"]) + (round(255 * CIRCLE_OPACITY),)
        stroke = _rgb(COLORS["circle_stroke"]) + (255,)
        xs, ys, rs = circles
        for i in np.argsort(-rs, kind="stable"):
            x, y, r = float(xs[i]), float(ys[i]), float(rs[i])
            dots.ellipse((x - r, y - r, x + r, y + r), fill=fill, outline=stroke, width=1 if r >= 2 else 0)
        image = Image.alpha_composite(image, layer)
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _empty_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (1, 1), (0, 0, 0, 0)).save(out, "PNG")
    return out.getvalue()


EMPTY_PNG = _empty_png()


def to_pixels(geoms: np.ndarray, bounds: tuple[float, float, float, float]) -> np.ndarray:
    """Web Mercator geometries to the pixels of the tile of `bounds` (x right, y down)."""
    xmin, _ymin, xmax, ymax = bounds
    scale = PIXELS / (xmax - xmin)
    return shapely.transform(geoms, lambda c: np.column_stack(((c[:, 0] - xmin) * scale, (ymax - c[:, 1]) * scale)))


def mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 degrees to Web Mercator metres (the spherical formula MapLibre uses)."""
    radius = 6378137.0
    x = np.radians(lon) * radius
    y = np.log(np.tan(np.pi / 4 + np.radians(np.clip(lat, -85.05112878, 85.05112878)) / 2)) * radius
    return x, y


def circle_radii(values: np.ndarray, top: float, scale: float) -> np.ndarray:
    """Radius in pixels of each value's circle at the overview's zooms (0 where there is no positive value)."""
    if not top or top <= 0 or not math.isfinite(top):
        return np.zeros(len(values))
    safe = np.where(np.isnan(values) | (values <= 0), 0.0, values)
    return scale * CIRCLE_FACTOR * np.sqrt(safe / top)
