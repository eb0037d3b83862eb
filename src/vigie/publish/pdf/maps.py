"""Vector maps from Lambert-93 geometries (EPSG:2154, metres) drawn on a reportlab canvas inside a `Box`.

Layers are drawn in order (polygons, lines, points), clipped to the frame; geometries are simplified to a
third of a point at the map's scale, so that print stays sharp and files small. Because Lambert-93 is in
metres, the scale bar is exact. A north arrow and a source line complete every map; `choropleth_colours` and
`class_legend` make a classed map (classes from `Engine.classes`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import shapely
from reportlab.lib.colors import Color, HexColor, white

from vigie.publish.pdf import numbers as fmt
from vigie.publish.pdf import fonts
from vigie.publish.pdf.document import INK, MUTED, Box, draw_text

# Sequential blues, light to dark (ColorBrewer "Blues", 5 classes; colours are facts, not code).
CLASS_COLOURS = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"]
NO_DATA = HexColor("#e5e7eb")


@dataclass
class Layer:
    """Geometries drawn with one style; `fills` (one colour per geometry) overrides `fill` (choropleths)."""

    geometries: Sequence
    fill: Color | None = None
    stroke: Color | None = HexColor("#9aa5b1")
    width: float = 0.5
    fills: Sequence[Color | None] | None = None
    dash: tuple[float, float] | None = None
    labels: Sequence[str] = field(default_factory=list)
    label_size: float = 6.5
    point_radius: float = 2.0


def _nice_length(metres: float) -> float:
    exp = 10 ** math.floor(math.log10(metres))
    for step in (5, 2, 1):
        if step * exp <= metres:
            return step * exp
    return exp


def _length_text(metres: float) -> str:
    return f"{fmt.number(metres / 1000, 0 if metres % 1000 == 0 else 1)}\u00a0km" if metres >= 1000 else f"{fmt.number(metres)}\u00a0m"


class MapFrame:
    """The transformation from Lambert-93 metres to the page, for an extent fitted in a box (aspect kept)."""

    def __init__(self, box: Box, bounds: tuple[float, float, float, float], margin: float = 0.06):
        minx, miny, maxx, maxy = bounds
        dx, dy = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
        minx, maxx = minx - dx * margin, maxx + dx * margin
        miny, maxy = miny - dy * margin, maxy + dy * margin
        self.box = box
        self.scale = min(box.w / (maxx - minx), box.h / (maxy - miny))  # points per metre
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        self.origin_x = box.x + box.w / 2 - cx * self.scale
        self.origin_y = box.y + box.h / 2 - cy * self.scale
        self.extent = shapely.box((box.x - self.origin_x) / self.scale, (box.y - self.origin_y) / self.scale,
                                  (box.x + box.w - self.origin_x) / self.scale, (box.y + box.h - self.origin_y) / self.scale)

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return self.origin_x + x * self.scale, self.origin_y + y * self.scale

    def prepare(self, geometries: Sequence) -> list:
        """Simplify to a third of a point and drop what lies outside the frame."""
        if not len(geometries):
            return []
        arr = shapely.simplify(list(geometries), 0.33 / self.scale, preserve_topology=True)
        keep = shapely.intersects(arr, self.extent)
        return [g if k else None for g, k in zip(arr, keep)]


def _polygon_path(c, frame: MapFrame, polygon) -> object:
    path = c.beginPath()
    for ring in [polygon.exterior, *polygon.interiors]:
        coords = shapely.get_coordinates(ring)
        if len(coords) < 3:
            continue
        x, y = frame.xy(*coords[0])
        path.moveTo(x, y)
        for px, py in coords[1:]:
            path.lineTo(*frame.xy(px, py))
        path.close()
    return path


def _parts(geom) -> list:
    return list(geom.geoms) if hasattr(geom, "geoms") else [geom]


def draw_map(c, box: Box, layers: list[Layer], bounds: tuple[float, float, float, float], *,
             source: str = "", scale_bar: bool = True, north: bool = True, frame_colour=HexColor("#cbd2d9")) -> MapFrame:
    """Draw the layers in `box`, fitted on `bounds` (Lambert-93); returns the frame used."""
    frame = MapFrame(box, bounds)
    c.saveState()
    clip = c.beginPath()
    clip.rect(box.x, box.y, box.w, box.h)
    c.clipPath(clip, stroke=0, fill=0)
    c.setFillColor(white)
    c.rect(box.x, box.y, box.w, box.h, stroke=0, fill=1)
    c.setLineJoin(1)
    labels: list[tuple[float, float, str, float]] = []
    for layer in layers:
        geoms = frame.prepare(layer.geometries)
        for i, geom in enumerate(geoms):
            if geom is None or geom.is_empty:
                continue
            fill = layer.fills[i] if layer.fills is not None else layer.fill
            if layer.stroke is not None:
                c.setStrokeColor(layer.stroke)
                c.setLineWidth(layer.width)
                c.setDash(*layer.dash) if layer.dash else c.setDash()
            if fill is not None:
                c.setFillColor(fill)
            kind = geom.geom_type
            if "Polygon" in kind:
                for part in _parts(geom):
                    c.drawPath(_polygon_path(c, frame, part), stroke=int(layer.stroke is not None),
                               fill=int(fill is not None), fillMode=0)
            elif "LineString" in kind:
                for part in _parts(geom):
                    coords = shapely.get_coordinates(part)
                    path = c.beginPath()
                    path.moveTo(*frame.xy(*coords[0]))
                    for px, py in coords[1:]:
                        path.lineTo(*frame.xy(px, py))
                    c.drawPath(path, stroke=1, fill=0)
            elif "Point" in kind:
                for part in _parts(geom):
                    x, y = frame.xy(part.x, part.y)
                    c.circle(x, y, layer.point_radius, stroke=int(layer.stroke is not None), fill=int(fill is not None))
            if layer.labels and i < len(layer.labels) and layer.labels[i]:
                point = geom.representative_point() if "Polygon" in kind else geom.centroid
                labels.append((*frame.xy(point.x, point.y), layer.labels[i], layer.label_size))
    c.setDash()
    for x, y, text, size in labels:  # labels over every layer
        draw_text(c, x, y, text, size=size, font=fonts.BOLD, colour=INK, align="centre")
    c.restoreState()
    c.setStrokeColor(frame_colour)
    c.setLineWidth(0.6)
    c.rect(box.x, box.y, box.w, box.h, stroke=1, fill=0)
    if scale_bar:
        _scale_bar(c, frame)
    if north:
        _north_arrow(c, box)
    if source:
        draw_text(c, box.x + box.w - 4, box.y + 4, source, size=6, colour=MUTED, align="right", max_width=box.w * 0.6)
    return frame


def _scale_bar(c, frame: MapFrame) -> None:
    box = frame.box
    metres = _nice_length(box.w * 0.25 / frame.scale)
    length = metres * frame.scale
    x, y = box.x + 8, box.y + 8
    c.setFillColor(white)
    c.rect(x - 3, y - 3, length + 6 + fonts.width(_length_text(metres), fonts.REGULAR, 6.5) + 6, 13, stroke=0, fill=1)
    c.setFillColor(INK)
    c.rect(x, y, length / 2, 3, stroke=0, fill=1)
    c.setStrokeColor(INK)
    c.setLineWidth(0.5)
    c.rect(x, y, length, 3, stroke=1, fill=0)
    draw_text(c, x + length + 4, y, _length_text(metres), size=6.5)


def _north_arrow(c, box: Box) -> None:
    x, y = box.x + box.w - 14, box.top - 30
    c.setFillColor(INK)
    path = c.beginPath()
    path.moveTo(x, y + 18)
    path.lineTo(x - 5, y + 2)
    path.lineTo(x, y + 6)
    path.lineTo(x + 5, y + 2)
    path.close()
    c.drawPath(path, stroke=0, fill=1)
    draw_text(c, x, y - 7, "N", size=7, font=fonts.BOLD, align="centre")


def choropleth_colours(values: Sequence[float | None], bounds: Sequence[float], palette: Sequence[str] = CLASS_COLOURS) -> list:
    """The class colour of each value (`bounds` = upper bounds of the classes, as `Engine.classes` gives them)."""
    colours = [HexColor(p) for p in palette]
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)) or not bounds:
            out.append(NO_DATA)
            continue
        k = next((i for i, b in enumerate(bounds) if v <= b + 1e-9), len(bounds) - 1)
        out.append(colours[min(k, len(colours) - 1)])
    return out


def class_legend(c, box: Box, bounds: Sequence[float], lowest: float, *, unit: str = "", decimals: int = 1,
                 title: str = "", palette: Sequence[str] = CLASS_COLOURS) -> None:
    """The legend of a classed map: one swatch per class with its range, and « non disponible »."""
    y = box.top - 9
    if title:
        draw_text(c, box.x, y, title, size=7.5, font=fonts.BOLD, max_width=box.w)
        y -= 12

    def text(v: float) -> str:
        return fmt.percent(v, decimals) if unit == "%" else fmt.number(v, decimals)

    low = lowest
    for i, high in enumerate(bounds):
        c.setFillColor(HexColor(palette[min(i, len(palette) - 1)]))
        c.setStrokeColor(HexColor("#9aa5b1"))
        c.setLineWidth(0.3)
        c.rect(box.x, y - 1, 10, 8, stroke=1, fill=1)
        draw_text(c, box.x + 14, y, f"de {text(low)} à {text(high)}", size=7)
        low = high
        y -= 11
    c.setFillColor(NO_DATA)
    c.rect(box.x, y - 1, 10, 8, stroke=0, fill=1)
    draw_text(c, box.x + 14, y, "non disponible ou secret", size=7)
