"""Vector charts drawn on a reportlab canvas inside a `Box`: bars, grouped bars (QPV | commune | EPCI | PMA),
lines over years and a compared age pyramid. Labels are real text formatted with `vigie.formatting`.

A value `None` (secret, missing) draws no bar and writes its reason instead (`secret`, `n.d.`): a masked figure
is never drawn, not even as a bar length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reportlab.lib.colors import HexColor

from vigie.publish.pdf import numbers as fmt
from vigie.publish.pdf import fonts
from vigie.publish.pdf.document import INK, MUTED, RULE, SERIES_COLOURS, Box, draw_text, wrap

GRID = HexColor("#e4e7eb")


@dataclass
class Series:
    """One series of a chart: a name (legend) and one value per category (None = not shown)."""

    name: str
    values: list[float | None]
    statuses: list[str] = field(default_factory=list)

    def status(self, i: int) -> str:
        return self.statuses[i] if i < len(self.statuses) else ("ok" if self.values[i] is not None else "missing")


def _missing_text(status: str) -> str:
    return "secret" if status == "secret" else "n.d."


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    import math

    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _label(value: float, unit: str, decimals: int) -> str:
    return fmt.percent(value, decimals) if unit == "%" else fmt.number(value, decimals)


def title(c, box: Box, text: str) -> Box:
    """Draw a chart title at the top of `box`; returns the box left under it."""
    draw_text(c, box.x, box.top - 9, text, size=8.5, font=fonts.BOLD, max_width=box.w)
    return Box(box.x, box.y, box.w, box.h - 14)


def legend(c, box: Box, names: list[str], colours=None) -> Box:
    """A legend at the bottom of `box` (wrapped on several lines when needed); returns the box left above it."""
    colours = colours or SERIES_COLOURS
    lines: list[list[tuple[int, str]]] = [[]]
    used = 0.0
    for i, name in enumerate(names):
        w = 10 + fonts.width(name, fonts.REGULAR, 7) + 12
        if lines[-1] and used + w > box.w:
            lines.append([])
            used = 0.0
        lines[-1].append((i, name))
        used += w
    for n, line in enumerate(reversed(lines)):
        x, y = box.x, box.y + 1 + 11 * n
        for i, name in line:
            c.setFillColor(colours[i % len(colours)])
            c.rect(x, y, 7, 7, stroke=0, fill=1)
            draw_text(c, x + 10, y + 1, name, size=7, colour=MUTED)
            x += 10 + fonts.width(name, fonts.REGULAR, 7) + 12
    used_h = 11 * len(lines) + 3
    return Box(box.x, box.y + used_h, box.w, box.h - used_h)


def columns(c, box: Box, categories: list[str], series: list[Series], *, unit: str = "%", decimals: int = 1,
            chart_title: str | None = None, colours=None) -> None:
    """Vertical grouped columns: one group per category, one column per series, value on top of each."""
    colours = colours or SERIES_COLOURS
    if chart_title:
        box = title(c, box, chart_title)
    box = legend(c, box, [s.name for s in series], colours)
    plot = Box(box.x, box.y + 20, box.w, box.h - 30)
    shown = [v for s in series for v in s.values if v is not None]
    top = _nice_max(max(shown) if shown else 1.0)
    group_w = plot.w / max(len(categories), 1)
    bar_w = min(26.0, (group_w - 10) / max(len(series), 1))
    c.setStrokeColor(GRID)
    c.setLineWidth(0.4)
    for k in range(5):
        gy = plot.y + plot.h * k / 4
        c.line(plot.x, gy, plot.x + plot.w, gy)
    for g, cat in enumerate(categories):
        gx = plot.x + g * group_w
        block = bar_w * len(series)
        x0 = gx + (group_w - block) / 2
        for line_i, line in enumerate(wrap(cat, group_w - 4, size=7)[:2]):
            draw_text(c, gx + group_w / 2, plot.y - 9 - 8 * line_i, line, size=7, align="centre")
        for s_i, s in enumerate(series):
            x = x0 + s_i * bar_w
            v = s.values[g]
            if v is None:
                draw_text(c, x + bar_w / 2, plot.y + 2, _missing_text(s.status(g)), size=5.5, font=fonts.ITALIC,
                          colour=MUTED, align="centre")
                continue
            h = plot.h * max(v, 0) / top
            c.setFillColor(colours[s_i % len(colours)])
            c.rect(x + 0.5, plot.y, bar_w - 1, h, stroke=0, fill=1)
            label = _label(v, unit, decimals) + (" (f)" if s.status(g) == "fragile" else "")
            size = 6 if fonts.width(label, fonts.REGULAR, 6) <= bar_w - 1 else 5
            draw_text(c, x + bar_w / 2, plot.y + h + 2, label, size=size, align="centre")


def grouped_bars(c, box: Box, categories: list[str], series: list[Series], *, unit: str = "%", decimals: int = 1,
                 chart_title: str | None = None, colours=None) -> None:
    """Horizontal bars: one group per category, one bar per series (the neighbourhood first, then references)."""
    colours = colours or SERIES_COLOURS
    if chart_title:
        box = title(c, box, chart_title)
    box = legend(c, box, [s.name for s in series], colours)
    label_w = min(box.w * 0.34, max(fonts.width(cat, fonts.REGULAR, 7.5) for cat in categories) + 6)
    plot_x, plot_w = box.x + label_w, box.w - label_w - 34
    shown = [v for s in series for v in s.values if v is not None]
    top = _nice_max(max(shown) if shown else 1.0)
    group_h = box.h / max(len(categories), 1)
    bar_h = min(9.0, (group_h - 4) / max(len(series), 1))
    c.setStrokeColor(GRID)
    c.setLineWidth(0.4)
    for k in range(5):
        gx = plot_x + plot_w * k / 4
        c.line(gx, box.y, gx, box.top)
    for g, cat in enumerate(categories):
        gy = box.top - (g + 1) * group_h
        block = bar_h * len(series)
        y0 = gy + (group_h - block) / 2
        draw_text(c, box.x, y0 + block / 2 - 3, cat, size=7.5, max_width=label_w - 4)
        for s_i, s in enumerate(series):
            y = y0 + block - (s_i + 1) * bar_h
            v = s.values[g]
            if v is None:
                draw_text(c, plot_x + 2, y + 1.5, _missing_text(s.status(g)), size=6.5, font=fonts.ITALIC, colour=MUTED)
                continue
            w = plot_w * max(v, 0) / top
            c.setFillColor(colours[s_i % len(colours)])
            c.rect(plot_x, y + 0.5, w, bar_h - 1, stroke=0, fill=1)
            text = _label(v, unit, decimals) + (" (f)" if s.status(g) == "fragile" else "")
            draw_text(c, plot_x + w + 2, y + 1.5, text, size=6.5, colour=INK)


def bars(c, box: Box, labels: list[str], values: list[float | None], *, unit: str = "", decimals: int = 0,
         statuses: list[str] | None = None, chart_title: str | None = None, highlight: int | None = None) -> None:
    """Horizontal bars, one per label (e.g. one indicator for QPV | commune | EPCI | PMA)."""
    grouped = [Series(label, [v], [statuses[i]] if statuses else []) for i, (label, v) in enumerate(zip(labels, values))]
    if chart_title:
        box = title(c, box, chart_title)
    label_w = min(box.w * 0.4, max(fonts.width(x, fonts.REGULAR, 7.5) for x in labels) + 6)
    plot_x, plot_w = box.x + label_w, box.w - label_w - 40
    shown = [v for v in values if v is not None]
    top = _nice_max(max(shown) if shown else 1.0)
    row_h = box.h / max(len(labels), 1)
    bar_h = min(12.0, row_h - 3)
    for i, s in enumerate(grouped):
        y = box.top - (i + 1) * row_h + (row_h - bar_h) / 2
        draw_text(c, box.x, y + bar_h / 2 - 3, s.name, size=7.5, max_width=label_w - 4,
                  font=fonts.BOLD if i == highlight else None)
        v = s.values[0]
        if v is None:
            draw_text(c, plot_x + 2, y + 2, _missing_text(s.status(0)), size=7, font=fonts.ITALIC, colour=MUTED)
            continue
        w = plot_w * max(v, 0) / top
        c.setFillColor(SERIES_COLOURS[i % len(SERIES_COLOURS)])
        c.rect(plot_x, y, w, bar_h, stroke=0, fill=1)
        draw_text(c, plot_x + w + 2, y + bar_h / 2 - 2.5, _label(v, unit, decimals), size=7)


def lines(c, box: Box, years: list[int], series: list[Series], *, unit: str = "", decimals: int = 0,
          chart_title: str | None = None, index_base: bool = False) -> None:
    """Lines over years, one per series; `index_base` rescales every series to 100 at its first shown year."""
    if chart_title:
        box = title(c, box, chart_title)
    box = legend(c, box, [s.name for s in series])
    if index_base:  # one base year for every series: the first year where all have a value
        common = next((i for i in range(len(years)) if all(s.values[i] for s in series)), None)
        rebased = []
        for s in series:
            base = s.values[common] if common is not None else None
            rebased.append(Series(s.name, [None if v is None or not base else v / base * 100 for v in s.values], s.statuses))
        series, unit, decimals = rebased, "", 0
    shown = [v for s in series for v in s.values if v is not None]
    if not shown or len(years) < 2:
        draw_text(c, box.x, box.y + box.h / 2, "Pas assez de millésimes pour une évolution.", size=7.5, colour=MUTED)
        return
    low, high = min(shown), max(shown)
    pad = (high - low) * 0.15 or abs(high) * 0.05 or 1.0
    low, high = low - pad, high + pad
    plot = Box(box.x + 34, box.y + 12, box.w - 40, box.h - 16)
    span_years = years[-1] - years[0] or 1

    def px(year: int) -> float:
        return plot.x + plot.w * (year - years[0]) / span_years

    def py(v: float) -> float:
        return plot.y + plot.h * (v - low) / (high - low)

    c.setStrokeColor(GRID)
    c.setLineWidth(0.4)
    for k in range(5):
        v = low + (high - low) * k / 4
        c.line(plot.x, py(v), plot.x + plot.w, py(v))
        draw_text(c, plot.x - 3, py(v) - 2.5, _label(v, unit, decimals), size=6, colour=MUTED, align="right")
    for year in years:
        draw_text(c, px(year), box.y + 2, str(year), size=6.5, colour=MUTED, align="centre")
    for s_i, s in enumerate(series):
        colour = SERIES_COLOURS[s_i % len(SERIES_COLOURS)]
        c.setStrokeColor(colour)
        c.setFillColor(colour)
        c.setLineWidth(1.4)
        points = [(px(y), py(v)) for y, v in zip(years, s.values) if v is not None]
        if len(points) > 1:
            path = c.beginPath()
            path.moveTo(*points[0])
            for p in points[1:]:
                path.lineTo(*p)
            c.drawPath(path, stroke=1, fill=0)
        for x, y in points:
            c.circle(x, y, 1.8, stroke=0, fill=1)


def pyramid(c, box: Box, groups: list[str], left: Series, right: Series, *, decimals: int = 1,
            chart_title: str | None = None) -> None:
    """A compared age pyramid: shares of each age group, `left` (the neighbourhood) against `right`."""
    if chart_title:
        box = title(c, box, chart_title)
    box = legend(c, box, [left.name, right.name])
    mid_w = 58.0
    half = (box.w - mid_w) / 2 - 30
    centre_l = box.x + 30 + half
    centre_r = centre_l + mid_w
    shown = [v for v in left.values + right.values if v is not None]
    top = _nice_max(max(shown) if shown else 1.0)
    row_h = box.h / max(len(groups), 1)
    bar_h = row_h - 2
    for i, group in enumerate(groups):  # youngest at the bottom
        y = box.y + i * row_h + 1
        draw_text(c, centre_l + mid_w / 2, y + bar_h / 2 - 2.5, group, size=7, align="centre")
        for side, s in ((-1, left), (1, right)):
            v = s.values[i]
            colour = SERIES_COLOURS[0 if side < 0 else 1]
            if v is None:
                x = centre_l - 4 if side < 0 else centre_r + 4
                draw_text(c, x, y + bar_h / 2 - 2.5, _missing_text(s.status(i)), size=6.5, font=fonts.ITALIC, colour=MUTED,
                          align="right" if side < 0 else "left")
                continue
            w = half * v / top
            c.setFillColor(colour)
            if side < 0:
                c.rect(centre_l - w, y, w, bar_h, stroke=0, fill=1)
                draw_text(c, centre_l - w - 2, y + bar_h / 2 - 2.5, fmt.percent(v, decimals), size=6.5, align="right")
            else:
                c.rect(centre_r, y, w, bar_h, stroke=0, fill=1)
                draw_text(c, centre_r + w + 2, y + bar_h / 2 - 2.5, fmt.percent(v, decimals), size=6.5)
    c.setStrokeColor(RULE)
    c.setLineWidth(0.5)
    c.line(centre_l, box.y, centre_l, box.top)
    c.line(centre_r, box.y, centre_r, box.top)
