"""The quarter's release in print: a 4–6 page A4 PDF and its XLSX data pack, drawn from the `Release` object only.

Page 1: key figures of every series (value, arrows and words for the change on a quarter and on a year), what is
missing this quarter, the revisions and the demo-data notice. Then one section per series: a comment written from
its figures, its chart over the last five years (the territory, the département, France and the zones d'emploi;
counts drawn as an index, base 100, so that territories of different sizes can be compared) beside the table of
every territory (value, changes, four-quarter trend). Last page: the revised figures (old and new value with both
publication dates), the missing series stated plainly, sources with their publication dates, and the method.

Pages holding a synthetic series carry the demo-data mark (the badge of `document.Publication` and a footnote).

`publish(wh, "2025-T4", directory)` builds the release and writes `barometre-2025-T4.pdf` and `.xlsx`;
`render(release, path)` and `records(release)` work from the release alone (no warehouse).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from reportlab.lib.colors import HexColor

from vigie.demo.synthetic import DEMO_NOTICE
from vigie.modules.barometre import periods as P
from vigie.modules.barometre.release import Figure, Release, SeriesRelease, arrow
from vigie.publish.pdf import charts, fonts
from vigie.publish.pdf import numbers as fmt
from vigie.publish.pdf.datapack import Record
from vigie.publish.pdf.document import (ACCENT, CONTENT_W, INK, MARGIN, MUTED, PAGE_H, PAGE_W, RULE, SERIES_COLOURS,
                                        SYNTHETIC_MARK, WARN, Box, Publication, draw_text, wrap)
from vigie.publish.pdf.tables import draw_table

if TYPE_CHECKING:
    from vigie.warehouse import Warehouse

DEFAULT_TERRITORY = "PMA"
SECTION_CHART_H = 146.0
TILE_H = 84.0
SYNTHETIC_SIGN = "◆"
SYNTHETIC_NOTE = f"{SYNTHETIC_SIGN} Série de {DEMO_NOTICE} (fichiers générés au format officiel, non réels)."
TILE_FILL = HexColor("#eef2f7")
GRID = HexColor("#e4e7eb")
DIRECTION_WORDS = {"▲": "en hausse", "▼": "en baisse", "►": "stable", "–": ""}


# ---------------------------------------------------------------------------------------------- words
def place_name(level: str, name: str, *, in_sentence: bool = False) -> str:
    """« Lens » at the zone d'emploi level → « Zone d'emploi de Lens » (not to be read as the commune); in a
    sentence « la zone d'emploi de Lens »."""
    if level != "zone_emploi":
        return name
    of = "d'" if name[:1].upper() in "AEIOUYÉÈÊÂÎÔ" else "de "
    return f"{'la zone' if in_sentence else 'Zone'} d'emploi {of}{name}"


def change_text(s: SeriesRelease, v: float | None) -> str:
    """A change as printed: points for rates (`+0,6 pt`), percent otherwise (`−1,5 %`)."""
    return fmt.points(v, 1) if s.change_unit == "pt" else fmt.signed_percent(v, 1)


def direction(v: float | None) -> str:
    """The arrow and its words, for print read without colour: « ▲ en hausse »."""
    a = arrow(v)
    return f"{a} {DIRECTION_WORDS[a]}".strip()


def value_text(s: SeriesRelease, v: float | None, *, unit: bool = True) -> str:
    if v is None:
        return "n.d."
    return fmt.quantity(v, s.unit, s.decimals) if unit else (
        fmt.percent(v, s.decimals) if s.unit == "%" else fmt.number(v, s.decimals))


def last_known(s: SeriesRelease) -> tuple[str, float] | None:
    """The last quarter with a value for the main territory (from the history), for a missing series."""
    if s.main is not None:
        name = s.main.name
    else:
        return None
    points = [(p, v) for p, v in s.history.get(name, []) if v is not None]
    return (points[-1][0], points[-1][1]) if points else None


def _moves(s: SeriesRelease, v: float | None) -> str:
    """« en hausse (+1,6 %) », « en baisse (−0,3 pt) », « stable (+0,0 %) »."""
    return f"{DIRECTION_WORDS[arrow(v)]} ({change_text(s, v)})"


def two_moves(s: SeriesRelease, f: Figure) -> str:
    """« en hausse sur un trimestre (+1,6 %) et sur un an (+7,4 %) », « en baisse sur un trimestre (−1,5 %) mais en
    hausse sur un an (+0,8 %) »."""
    q, y = arrow(f.change_quarter), arrow(f.change_year)
    first = f"{DIRECTION_WORDS[q]} sur un trimestre ({change_text(s, f.change_quarter)})"
    if q == y:
        return f"{first} et sur un an ({change_text(s, f.change_year)})"
    return f"{first} mais {DIRECTION_WORDS[y]} sur un an ({change_text(s, f.change_year)})"


def trend_sentence(s: SeriesRelease, f: Figure) -> str:
    if f.trend_change is None:
        return ""
    return f" Tendance sur quatre trimestres : {_moves(s, f.trend_change)}."


def comparisons_sentence(s: SeriesRelease) -> str:
    """The year's change elsewhere: the département, France, the zones d'emploi and the EPCI's range."""
    others = [c for c in s.comparisons if c.change_year is not None]
    parts = [f"{c.name} {change_text(s, c.change_year)}" for c in others if c.level in ("departement", "france")]
    zones = [c for c in others if c.level == "zone_emploi"]
    if zones:
        parts.append("zone" + ("s" if len(zones) > 1 else "") + " d'emploi " + " et ".join(
            f"{'d’' if z.name[:1].upper() in 'AEIOUYÉ' else 'de '}{z.name} {change_text(s, z.change_year)}"
            for z in zones).replace("’", "'"))
    epci = sorted((c for c in others if c.level == "epci"), key=lambda c: c.change_year)
    if len(epci) > 1:
        parts.append(f"intercommunalités de {change_text(s, epci[0].change_year)} ({epci[0].name}) à "
                     f"{change_text(s, epci[-1].change_year)} ({epci[-1].name})")
    return f" Sur un an : {' ; '.join(parts)}." if parts else ""


def comment(s: SeriesRelease, quarter: str, territory_level: str = "") -> str:
    """A short comment written from the figures of the series (or the plain statement that it is missing)."""
    if s.missing or s.main is None or s.main.value is None:
        return s.missing or f"Série absente pour {quarter} : {s.label}."
    f = s.main
    text = f"{value_text(s, f.value)} pour {place_name(f.level, f.name, in_sentence=True)} au {P.label(quarter)}"
    if f.change_quarter is not None and f.change_year is not None:
        text += f" : {two_moves(s, f)}."
    else:
        text += "."
    text += trend_sentence(s, f) + comparisons_sentence(s)
    if territory_level and f.level != territory_level and f.level == "zone_emploi":
        text += " Taux publié par zone d'emploi seulement : celle qui compte le plus d'habitants du territoire est montrée."
    return text


def key_sentence(s: SeriesRelease) -> str | None:
    """One line for « À retenir »: « Emploi salarié privé (Pôle Métropolitain de l'Artois) : en baisse sur un
    trimestre (−1,5 %) mais en hausse sur un an (+0,8 %). »"""
    f = s.main
    if f is None or f.value is None or f.change_quarter is None or f.change_year is None:
        return None
    return f"{s.label} ({place_name(f.level, f.name)}) : {two_moves(s, f)}."


def source_short(s: SeriesRelease) -> str:
    """« Source : <title>, <producer>, publication du <date> (précédente : <date>). » on one line or two."""
    if not s.sources:
        return "Source : non renseignée."
    latest = s.sources[0]
    title = latest["title"].replace(f" – {DEMO_NOTICE}", "").replace(f" — {DEMO_NOTICE}", "")
    earlier = sorted({x["release"] for x in s.sources[1:] if x["release"] != latest["release"]}, reverse=True)
    more = f" (précédente : {_day(earlier[0])})" if earlier else ""
    return f"Source : {title}, {s.producer}, publication du {_day(latest['release'])}{more}."


def source_line(src: dict) -> str:
    mark = f" ({DEMO_NOTICE})" if src.get("synthetic") and DEMO_NOTICE not in src["title"] else ""
    return (f"{src['title']}{mark} — {src['producer']}, publication du {_day(src['release'])}"
            + (f", fichier « {src['file']} »" if src.get("file") else "")
            + (f", {src['licence']}" if src.get("licence") else "") + ".")


def _day(iso: str) -> str:
    return fmt.long_date(date.fromisoformat(str(iso)[:10]))


def file_stem(quarter: str, territory: str = DEFAULT_TERRITORY) -> str:
    """`barometre-2025-T4` (the default territory) or `barometre-2025-T4-246200364`."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in territory)
    return f"barometre-{quarter}" + ("" if territory.upper() == DEFAULT_TERRITORY else f"-{safe}")


# ---------------------------------------------------------------------------------------------- the mark
class _Marks:
    """The demo-data badge in the header band and a footnote, drawn once on each page that needs them."""

    def __init__(self, pub: Publication):
        self.pub = pub
        self.pages: set[int] = set()

    def mark(self) -> None:
        pub = self.pub
        if pub.page in self.pages:
            return
        self.pages.add(pub.page)
        c = pub.c
        c.setFillColor(HexColor("#fde68a"))
        c.roundRect(PAGE_W - MARGIN - 150, PAGE_H - 40, 150, 20, 4, stroke=0, fill=1)
        c.setFillColor(WARN)
        c.setFont(fonts.BOLD, 8)
        c.drawCentredString(PAGE_W - MARGIN - 75, PAGE_H - 33, SYNTHETIC_MARK)
        pub.note(SYNTHETIC_NOTE)


# ---------------------------------------------------------------------------------------------- chart
@dataclass
class Line:
    name: str
    values: list[float | None]


def chart_lines(s: SeriesRelease, periods: list[str]) -> list[Line]:
    """The territory, then the département, France and the zones d'emploi (the EPCI stay in the table)."""
    figures = ([s.main] if s.main else []) + [c for c in s.comparisons if c.level != "epci"]
    out = []
    for f in figures[:len(SERIES_COLOURS)]:
        values = dict((p, v) for p, v in s.history.get(f.name, []))
        if any(values.get(p) is not None for p in periods):
            out.append(Line(f.name, [values.get(p) for p in periods]))
    return out


def indexed(s: SeriesRelease) -> bool:
    """Counts are drawn as an index (base 100): the territories differ too much in size to share a scale."""
    return s.kind == "stock"


def nice_scale(low: float, high: float, ticks: int = 4) -> tuple[float, float, float]:
    """Axis bounds on round values around [low, high] and the step between grid lines (1, 2, 2.5 or 5 × 10^k)."""
    if high - low < 1e-9:
        low, high = low - (abs(low) * 0.05 or 1.0), high + (abs(high) * 0.05 or 1.0)
    raw = (high - low) / ticks
    exp = 10 ** math.floor(math.log10(raw))
    step = next(m * exp for m in (1, 2, 2.5, 5, 10) if m * exp >= raw)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def quarter_chart(c, box: Box, s: SeriesRelease, quarter: str) -> tuple[list[Line], str | None]:
    """Lines over the last quarters; the release's quarter shaded, « n.d. » where the territory has no value.
    Returns the lines drawn (index values when indexed) and the base quarter of the index."""
    periods = P.last_n(quarter, max(len(v) for v in s.history.values()) if s.history else 20)
    lines = chart_lines(s, periods)
    base = None
    if indexed(s) and lines:
        common = next((i for i in range(len(periods)) if all(ln.values[i] for ln in lines)), None)
        if common is not None:
            base = periods[common]
            lines = [Line(ln.name, [None if v is None else v / ln.values[common] * 100 for v in ln.values])
                     for ln in lines]
    heading = (f"Évolution, indice base 100 au {P.short_label(base)}" if base else
               "Taux par trimestre, en %" if s.unit == "%" else f"Par trimestre, en {s.unit}")
    box = charts.title(c, box, heading)
    box = charts.legend(c, box, [place_name(_level_of(s, ln.name), ln.name) for ln in lines])
    shown = [v for ln in lines for v in ln.values if v is not None]
    if not shown:
        draw_text(c, box.x, box.y + box.h / 2, "Aucune valeur sur la période.", size=7.5, colour=MUTED)
        return lines, base
    low, high, step = nice_scale(min(shown), max(shown))
    plot = Box(box.x + 30, box.y + 14, box.w - 34, box.h - 18)
    n = len(periods)

    def px(i: int) -> float:
        return plot.x + plot.w * i / max(n - 1, 1)

    def py(v: float) -> float:
        return plot.y + plot.h * (v - low) / (high - low)

    # the quarter of the release, shaded
    c.setFillColor(HexColor("#f6efe3"))
    c.rect(px(n - 1) - plot.w / max(n - 1, 1) / 2, plot.y, plot.w / max(n - 1, 1) / 2 + 2, plot.h, stroke=0, fill=1)
    c.setStrokeColor(GRID)
    c.setLineWidth(0.4)
    decimals = next(d for d in (0, 1, 2, 3) if abs(step * 10 ** d - round(step * 10 ** d)) < 1e-9)
    for k in range(int(round((high - low) / step)) + 1):
        v = low + step * k
        c.line(plot.x, py(v), plot.x + plot.w, py(v))
        label = fmt.percent(v, decimals) if s.unit == "%" and not base else fmt.number(v, decimals)
        draw_text(c, plot.x - 3, py(v) - 2.5, label, size=6, colour=MUTED, align="right")
    years: dict[str, list[int]] = {}
    for i, p in enumerate(periods):
        years.setdefault(p[:4], []).append(i)
        if p.endswith("T1") and i:
            c.setStrokeColor(RULE)
            c.line(px(i) - plot.w / max(n - 1, 1) / 2, plot.y - 3, px(i) - plot.w / max(n - 1, 1) / 2, plot.y)
    for year, idx in years.items():
        draw_text(c, (px(idx[0]) + px(idx[-1])) / 2, box.y + 3, year, size=6.5, colour=MUTED, align="centre")
    for k, ln in enumerate(lines):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        c.setStrokeColor(colour)
        c.setFillColor(colour)
        c.setLineWidth(1.6 if k == 0 else 1.1)
        run: list[tuple[float, float]] = []
        for i, v in enumerate(ln.values + [None]):  # a gap (missing quarter) breaks the line
            if v is not None:
                run.append((px(i), py(v)))
                continue
            if len(run) > 1:
                path = c.beginPath()
                path.moveTo(*run[0])
                for pt in run[1:]:
                    path.lineTo(*pt)
                c.drawPath(path, stroke=1, fill=0)
            elif run:
                c.circle(*run[0], 1.5, stroke=0, fill=1)
            run = []
        if k == 0 and ln.values and ln.values[-1] is not None:
            c.circle(px(n - 1), py(ln.values[-1]), 2.2, stroke=0, fill=1)
    if lines and lines[0].values and lines[0].values[-1] is None:
        draw_text(c, px(n - 1) - 1, plot.top - 8, f"n.d. au {P.short_label(quarter)}", size=6.5, font=fonts.ITALIC,
                  colour=WARN, align="right")
    return lines, base


def _level_of(s: SeriesRelease, name: str) -> str:
    for f in ([s.main] if s.main else []) + s.comparisons:
        if f.name == name:
            return f.level
    return ""


# ---------------------------------------------------------------------------------------------- table
def figures_at(s: SeriesRelease, period: str) -> list[Figure]:
    """The territories' figures at an earlier `period`, from the history (for a series missing this quarter: its
    last quarter). The four-quarter trend needs more than the history holds for ratios: left out."""
    out = []
    for f in ([s.main] if s.main else []) + s.comparisons:
        values = dict((p, v) for p, v in s.history.get(f.name, []))
        value, previous, year_ago = values.get(period), values.get(P.shift(period, -1)), values.get(P.shift(period, -4))

        def change(a, b):
            if a is None or b is None:
                return None
            return a - b if s.change_unit == "pt" else (None if b == 0 else (a / b - 1) * 100)

        out.append(Figure(f.level, f.code, f.name, value, previous, year_ago, change(value, previous),
                          change(value, year_ago), None, None, None, "ok" if value is not None else "missing"))
    return out


def series_table(c, box: Box, s: SeriesRelease, period: str, chart_names: list[str],
                 figures: list[Figure] | None = None, latest: bool = False) -> None:
    """Every territory of the series: value of the quarter, change on a quarter, on a year, four-quarter trend
    (`latest`: the figures are those of the last quarter available, not of the release's quarter)."""
    if figures is None:
        figures = ([s.main] if s.main else []) + s.comparisons
    unit = "en %" if s.unit == "%" else s.unit
    header = ["Territoire", f"{P.short_label(period)} ({unit})",
              "Sur un trimestre", "Sur un an", "Sur 4 trim."]
    fractions = [0.38, 0.17, 0.15, 0.15, 0.15]
    widths = [box.w * f for f in fractions]
    size, pad = 6.6, 2.5
    header_lines = [wrap(h, w - 2 * pad, size=size, font=fonts.BOLD) for h, w in zip(header, widths)]
    header_h = max(len(x) for x in header_lines) * (size + 1.5) + 2 * pad
    y = box.top
    c.setFillColor(ACCENT)
    c.rect(box.x, y - header_h, box.w, header_h, stroke=0, fill=1)
    x = box.x
    for i, (lines, w) in enumerate(zip(header_lines, widths)):
        ty = y - pad - size
        for line in lines:
            draw_text(c, x + (pad if i == 0 else w - pad), ty, line, size=size, font=fonts.BOLD,
                      colour=HexColor("#ffffff"), align="left" if i == 0 else "right")
            ty -= size + 1.5
        x += w
    y -= header_h
    rows = []
    for f in figures:
        name_lines = wrap(place_name(f.level, f.name), widths[0] - 2 * pad - 7, size=size,
                          font=fonts.BOLD if not rows and s.main is not None else None)[:2]
        rows.append((f, name_lines))
    row_h = [len(nl) * (size + 1.5) + 2 * pad for _f, nl in rows]
    trend = f"Sur 4 trim. : {s.trend_method}." if s.trend_method else ""
    unit_note = "Évolutions en points." if s.change_unit == "pt" else "Évolutions en %."
    if latest:
        unit_note = f"Valeurs du {P.short_label(period)}, dernier trimestre disponible. " + unit_note
    note_lines = wrap(f"{unit_note} {trend}", box.w, size=6)[:3]
    room = y - box.y - 7 * len(note_lines) - 3
    scale = min(1.0, room / max(sum(row_h), 1))  # squeeze the padding only if needed
    for r, ((f, name_lines), h) in enumerate(zip(rows, row_h)):
        h = max(h * scale, len(name_lines) * (size + 1))
        if r % 2:
            c.setFillColor(HexColor("#f3f5f7"))
            c.rect(box.x, y - h, box.w, h, stroke=0, fill=1)
        bold = fonts.BOLD if r == 0 and s.main is not None else None
        if f.name in chart_names:
            c.setFillColor(SERIES_COLOURS[chart_names.index(f.name) % len(SERIES_COLOURS)])
            c.rect(box.x + pad, y - pad - size + 0.5, 5, 5, stroke=0, fill=1)
        ty = y - pad - size
        for line in name_lines:
            draw_text(c, box.x + pad + 7, ty, line, size=size, font=bold)
            ty -= size + 1.5
        cells = [value_text(s, f.value, unit=False), change_text(s, f.change_quarter), change_text(s, f.change_year),
                 change_text(s, f.trend_change)]
        x = box.x + widths[0]
        for text, w in zip(cells, widths[1:]):
            missing = text in ("n.d.", "–")
            draw_text(c, x + w - pad, y - pad - size, text, size=size, font=fonts.ITALIC if missing else bold,
                      colour=MUTED if missing else INK, align="right", max_width=w - 2 * pad)
            x += w
        y -= h
        c.setStrokeColor(RULE)
        c.setLineWidth(0.3)
        c.line(box.x, y, box.x + box.w, y)
    for k, line in enumerate(note_lines):
        draw_text(c, box.x, y - 8 - 7 * k, line, size=6, colour=MUTED)


# ---------------------------------------------------------------------------------------------- pages
def _tile(pub: Publication, cell: Box, s: SeriesRelease, quarter: str) -> None:
    c = pub.c
    c.setFillColor(TILE_FILL)
    c.roundRect(cell.x, cell.y, cell.w, cell.h, 4, stroke=0, fill=1)
    x, w = cell.x + 7, cell.w - 12
    label = s.label + (f" {SYNTHETIC_SIGN}" if s.synthetic else "")
    size = 7.5
    while size > 6.2 and fonts.width(label, fonts.BOLD, size) > w:
        size -= 0.1
    draw_text(c, x, cell.top - 12, label, size=size, font=fonts.BOLD, colour=INK, max_width=w)
    f = s.main
    if f is None or f.value is None:
        draw_text(c, x, cell.top - 31, "n.d.", size=15, font=fonts.BOLD, colour=MUTED)
        draw_text(c, x, cell.top - 44, f"Série absente pour le {P.short_label(quarter)}", size=7, font=fonts.BOLD,
                  colour=WARN, max_width=w)
        known = last_known(s)
        if known:
            draw_text(c, x, cell.top - 56, f"Dernière valeur ({P.short_label(known[0])}) :", size=6.8, colour=MUTED,
                      max_width=w)
            draw_text(c, x, cell.top - 66, value_text(s, known[1]), size=6.8, colour=MUTED, max_width=w)
        return
    draw_text(c, x, cell.top - 31, value_text(s, f.value), size=15, font=fonts.BOLD, colour=ACCENT, max_width=w)
    draw_text(c, x, cell.top - 42, place_name(f.level, f.name), size=6.8, colour=MUTED, max_width=w)
    for k, (v, words) in enumerate(((f.change_quarter, "sur un trimestre"), (f.change_year, "sur un an"))):
        y = cell.top - 56 - 11 * k
        text = f"{direction(v)} {words} : {change_text(s, v)}" if v is not None else f"{words} : n.d."
        draw_text(c, x, y, text, size=7.2, colour=INK, max_width=w)
    if f.trend_change is not None:
        draw_text(c, x, cell.top - 78, f"Tendance sur 4 trimestres : {change_text(s, f.trend_change)}", size=6.5,
                  colour=MUTED, max_width=w)


def _plural(n: int, one: str, many: str) -> str:
    return f"{fmt.number(n)} {one if n < 2 else many}"


def _cover(pub: Publication, marks: _Marks, release: Release) -> None:
    t = release.territory
    pub.paragraph(
        f"Chaque trimestre, ce baromètre suit l'économie de {t.name} : emploi et chômage, créations d'entreprises, "
        "construction de logements, marché immobilier. Pour chaque série : la valeur du "
        f"{release.quarter_label}, son évolution sur un trimestre et sur un an (en points pour les taux, en "
        "pourcentage sinon) et la tendance sur quatre trimestres, comparées aux intercommunalités, au département, "
        "aux zones d'emploi et à la France quand la série existe pour eux.", size=8.8)
    if release.synthetic:
        marks.mark()
    series = release.series
    per_row = 3
    pub.heading(f"Chiffres clés du {release.quarter_label}", keep_with=TILE_H * 2)
    for start in range(0, len(series), per_row):
        box = pub.reserve(TILE_H, gap=7)
        cells = box.split(*([1 / per_row] * per_row), gap=7)
        for cell, s in zip(cells, series[start:start + per_row]):
            _tile(pub, cell, s, release.quarter)
    pub.paragraph("▲ en hausse, ▼ en baisse, ► stable (variation inférieure à 0,05) ; n.d. : non disponible"
                  + (f" ; {SYNTHETIC_SIGN} : {DEMO_NOTICE}." if release.synthetic else "."), size=7, colour=MUTED)
    key = [k for k in (key_sentence(s) for s in series) if k]
    if key:
        pub.heading("À retenir", keep_with=40)
        for sentence in key:
            pub.paragraph(sentence, size=8.5, bullet="•", indent=2)
    pub.heading("Ce trimestre", keep_with=50)
    if release.missing:
        n = len(release.missing)
        pub.paragraph(f"{_plural(n, 'série', 'séries')} sur {fmt.number(len(series))} "
                      f"{'n’a' if n < 2 else 'n’ont'} pas de valeur pour le {release.quarter_label} :".replace("’", "'"),
                      size=8.8)
        for line in release.missing:
            pub.paragraph(line, size=8.5, bullet="•", indent=2, font=fonts.BOLD, colour=WARN)
    else:
        pub.paragraph(f"Toutes les séries ont une valeur pour le {release.quarter_label}.", size=8.8)
    revised = [(s, r) for s in series for r in s.revisions]
    if revised:
        labels = [x.label for x in series if x.revisions]
        n = len(revised)
        what = _plural(n, "valeur publiée précédemment a été révisée", "valeurs publiées précédemment ont été révisées")
        pub.paragraph(f"{what} par leur producteur ({', '.join(labels)}) : détail en fin de note, rubrique « Révisions ».",
                      size=8.8)
    else:
        pub.paragraph("Aucune valeur n'a été révisée depuis la publication précédente.", size=8.8)
    if release.notice:
        pub.paragraph(release.notice, size=8.5, font=fonts.ITALIC, colour=WARN)


def _section(pub: Publication, marks: _Marks, s: SeriesRelease, release: Release) -> None:
    quarter = release.quarter
    text = comment(s, quarter, release.territory.level)
    known = last_known(s) if s.missing else None
    lines = wrap(text, CONTENT_W, size=8.5, font=fonts.BOLD if s.missing else None)
    body = 8.5 * 1.3 * (len(lines) + (1 if known else 0)) + 6 + SECTION_CHART_H + 16
    pub.heading(s.label + (f" {SYNTHETIC_SIGN}" if s.synthetic else ""), size=11, keep_with=body)
    if s.synthetic:
        marks.mark()
    if s.missing:
        pub.paragraph(text, size=8.5, font=fonts.BOLD, colour=WARN)
        if known:
            pub.paragraph(f"Dernière valeur disponible pour {place_name(s.main.level, s.main.name, in_sentence=True)} : "
                          f"{value_text(s, known[1])} au {P.label(known[0])}.", size=8.5)
    else:
        pub.paragraph(text, size=8.5)
    box = pub.reserve(SECTION_CHART_H, gap=4)
    if s.synthetic:
        marks.mark()
    left, right = box.split(0.53, 0.47, gap=14)
    lines_drawn, _base = quarter_chart(pub.c, left, s, quarter)
    names = [ln.name for ln in lines_drawn]
    if known:
        series_table(pub.c, right, s, known[0], names, figures_at(s, known[0]), latest=True)
    else:
        series_table(pub.c, right, s, quarter, names)
    pub.paragraph(source_short(s), size=6.5, colour=MUTED)


def _signed(s: SeriesRelease, v: float | None) -> str:
    if v is None:
        return "–"
    if s.unit == "%":
        return fmt.points(v, s.decimals)
    v = round(v, s.decimals) + 0.0
    return ("+" if v > 0 else "−" if v < 0 else "") + fmt.number(abs(v), s.decimals)


def _revisions(pub: Publication, marks: _Marks, release: Release) -> None:
    pub.heading("Révisions", keep_with=40)
    revised = [s for s in release.series if s.revisions]
    if not revised:
        pub.paragraph("Aucune valeur des huit derniers trimestres n'a été révisée depuis la publication précédente.",
                      size=8.5)
        return
    pub.paragraph("Valeurs des huit derniers trimestres qui diffèrent de la publication précédente du producteur : "
                  "la valeur révisée remplace l'ancienne dans les chiffres de cette note ; l'ancienne est gardée ici.",
                  size=8.5)
    for s in revised:
        groups: dict[tuple[str, str], list] = {}
        for r in s.revisions:
            groups.setdefault((r.old_release, r.new_release), []).append(r)
        for (old, new), revs in groups.items():
            pub.paragraph(f"{s.label}{f' {SYNTHETIC_SIGN}' if s.synthetic else ''} ({s.unit}) : publication du "
                          f"{_day(old)}, révisée le {_day(new)}.", size=8.5, font=fonts.BOLD)
            if s.synthetic:
                marks.mark()
            rows = [[place_name(_level_of(s, r.territory), r.territory), P.short_label(r.period),
                     value_text(s, r.old_value, unit=False), value_text(s, r.new_value, unit=False),
                     _signed(s, None if r.old_value is None or r.new_value is None else r.new_value - r.old_value)]
                    for r in revs]
            draw_table(pub, ["Territoire", "Trimestre", f"Publié le {_day(old)}", f"Révisé le {_day(new)}", "Écart"],
                       rows, [3.0, 0.9, 1.4, 1.4, 0.9], size=7.2)
            if s.synthetic:
                marks.mark()


def _closing(pub: Publication, marks: _Marks, release: Release) -> None:
    _revisions(pub, marks, release)
    pub.heading("Séries absentes ce trimestre", keep_with=30)
    if release.missing:
        for line in release.missing:
            pub.paragraph(line, size=8.5, bullet="•", indent=2)
    else:
        pub.paragraph(f"Aucune : toutes les séries ont une valeur pour le {release.quarter_label}.", size=8.5)
    seen: list[str] = []
    for s in release.series:
        for src in s.sources:
            line = source_line(src)
            if line not in seen:
                seen.append(line)
    pub.heading("Sources et dates de publication", keep_with=40)
    if any(s.synthetic for s in release.series):
        marks.mark()
    pub.sources(seen, title=f"Chiffres de l'entrepôt Vigie au {_day(release.built_on)} (dernière publication de "
                            "chaque producteur, révisions comprises).")
    pub.heading("Méthode", keep_with=40)
    for sentence in [
        "Évolution sur un trimestre : valeur du trimestre rapportée à celle du trimestre précédent ; sur un an : au même "
        "trimestre de l'année précédente. Les taux évoluent en points, les autres séries en pourcentage.",
        "Tendance sur quatre trimestres : pour les flux (créations, logements, ventes), somme des quatre derniers "
        "trimestres rapportée à celle des quatre précédents ; pour les niveaux (emploi, demandeurs d'emploi, taux), "
        "moyenne des quatre derniers trimestres rapportée à celle des quatre précédents ; pour le prix au m², prix "
        "recalculé sur les quatre trimestres.",
        "Territoires : les effectifs sont additionnés sur les communes membres ; le prix au m² est recalculé à partir des "
        "sommes des valeurs et des surfaces, jamais moyenné ; les taux de chômage ne sont montrés que là où l'INSEE les "
        "publie (zones d'emploi, France).",
        "Graphiques : les effectifs sont tracés en indice (base 100 au premier trimestre commun) pour comparer des "
        "territoires de tailles différentes ; les valeurs sont dans les tableaux et dans le classeur de données joint.",
    ]:
        pub.paragraph(sentence, size=7.8, bullet="–", indent=2)


def render(release: Release, path: str | Path) -> int:
    """Draw the release's PDF at `path`; returns the number of pages."""
    t = release.territory
    title = f"Baromètre économique — {release.quarter_label}"
    subtitle = f"{t.name} — note trimestrielle éditée le {_day(release.built_on)}"
    pub = Publication(str(path), title, subtitle, synthetic=False, made_on=date.fromisoformat(release.built_on[:10]))
    marks = _Marks(pub)
    _cover(pub, marks, release)
    pub.new_page()
    for s in release.series:
        _section(pub, marks, s, release)
    _closing(pub, marks, release)
    return pub.save()


# ---------------------------------------------------------------------------------------------- data pack
def records(release: Release) -> list[Record]:
    """One record per figure the PDF shows: values and changes of every territory, the charted history (raw
    values), the revised values (old and new), the missing values."""
    out: list[Record] = []
    q = release.quarter
    for s in release.series:
        source = "; ".join(f"{x['title']} ({x['producer']}), publication du {x['release']}" for x in s.sources)
        figures = ([s.main] if s.main else []) + s.comparisons
        unit_change = "pt" if s.change_unit == "pt" else "%"

        def rec(level: str, code: str, name: str, what: str, period: str, value, text: str, unit: str,
                status: str) -> Record:
            return Record(s.theme, s.id, s.label + what, level, code, name, P.parse_quarter(period)[0], period,
                          value, text, unit, status, source, s.synthetic)

        for f in figures:
            status = f.status if f.value is not None else "missing"
            out.append(rec(f.level, f.code, f.name, "", q, f.value, value_text(s, f.value, unit=False), s.unit, status))
            for what, v in ((" — évolution sur un trimestre", f.change_quarter), (" — évolution sur un an", f.change_year),
                            (" — tendance sur quatre trimestres", f.trend_change)):
                out.append(rec(f.level, f.code, f.name, what, q, _round(v), change_text(s, v), unit_change,
                               "ok" if v is not None else "missing"))
        known = last_known(s) if s.missing else None
        if known:  # the table of a missing series shows the changes of its last quarter
            for f in figures_at(s, known[0]):
                for what, v in ((" — évolution sur un trimestre (dernier trimestre disponible)", f.change_quarter),
                                (" — évolution sur un an (dernier trimestre disponible)", f.change_year)):
                    out.append(rec(f.level, f.code, f.name, what, known[0], _round(v), change_text(s, v), unit_change,
                                   "ok" if v is not None else "missing"))
        places = {f.name: f for f in figures}
        for name, points in s.history.items():
            f = places.get(name)
            level, code = (f.level, f.code) if f else ("", "")
            for period, v in points:
                if period == q:
                    continue  # already above
                out.append(rec(level, code, name, " — historique (graphique)", period, v,
                               value_text(s, v, unit=False), s.unit, "ok" if v is not None else "missing"))
        for r in s.revisions:
            f = places.get(r.territory)
            level, code = (f.level, f.code) if f else ("", "")
            out.append(rec(level, code, r.territory, f" — valeur publiée le {r.old_release}, révisée", r.period,
                           r.old_value, value_text(s, r.old_value, unit=False), s.unit, "ok"))
            out.append(rec(level, code, r.territory, f" — valeur révisée publiée le {r.new_release}", r.period,
                           r.new_value, value_text(s, r.new_value, unit=False), s.unit, "ok"))
    return out


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 6)


def write_datapack(release: Release, path: str | Path) -> int:
    from vigie.publish.pdf import datapack

    notes = [f"Baromètre du {release.quarter_label} pour {release.territory.name}, chiffres de l'entrepôt au "
             f"{_day(release.built_on)}.",
             "Colonne « Millésime » : le trimestre (AAAA-Tn) ; « Valeur » : valeur de la série, ou évolution (en % ou en "
             "points, colonne « Unité ») pour les lignes « évolution » et « tendance ».",
             *release.missing]
    if release.notice:
        notes.append(release.notice)
    return datapack.write(str(path), f"Baromètre économique — {release.territory.name} — {release.quarter_label}",
                          records(release), notes=notes)


@dataclass
class Written:
    pdf: Path
    xlsx: Path
    pages: int
    rows: int


def write(release: Release, directory: str | Path, territory: str = DEFAULT_TERRITORY) -> Written:
    """The PDF and its data pack in `directory` (created if needed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / file_stem(release.quarter, territory)
    pdf, xlsx = stem.with_suffix(".pdf"), stem.with_suffix(".xlsx")
    pages = render(release, pdf)
    rows = write_datapack(release, xlsx)
    return Written(pdf, xlsx, pages, rows)


def publish(wh: "Warehouse", quarter: str, directory: str | Path, territory: str = DEFAULT_TERRITORY,
            series: list[str] | None = None) -> tuple[Release, Written]:
    from vigie.modules.barometre.release import build_release

    release = build_release(wh, quarter, territory=territory, series=series)
    return release, write(release, directory, territory)
