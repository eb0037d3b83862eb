"""A4 page layout drawn directly on a reportlab canvas: header band, footer with « page n sur N », the
synthetic-data mark, headings, wrapped paragraphs, reserved boxes for charts, maps and tables, sources block.

The layout is a cursor moving down the page (`y`); `reserve(h)` returns a box and starts a new page when the
height does not fit. Drawing on the canvas without a flowable engine is what makes a fiche take milliseconds.
Every string drawn goes through `typography.french` (no-break spaces), and stays real, selectable text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reportlab.lib.colors import HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from vigie import formatting as fmt
from vigie.publish.pdf import fonts
from vigie.publish.pdf.typography import french

PAGE_W, PAGE_H = A4
MARGIN = 36.0  # points (12.7 mm)
HEADER_H = 54.0
FOOTER_H = 28.0
CONTENT_W = PAGE_W - 2 * MARGIN

INK = HexColor("#1f2933")
MUTED = HexColor("#616e7c")
RULE = HexColor("#cbd2d9")
ACCENT = HexColor("#1d4e89")
WARN = HexColor("#b54708")
# One colour per comparison column, the neighbourhood first: used by tables, charts and maps alike.
SERIES_COLOURS = [HexColor("#c2410c"), HexColor("#1d4e89"), HexColor("#5b8fc7"), HexColor("#7c8b99"), HexColor("#b8c2cc"),
                  HexColor("#d9a441")]
SYNTHETIC_MARK = "Données fictives de démonstration"


@dataclass
class Box:
    """A rectangle on the page, in points, `y` at its bottom."""

    x: float
    y: float
    w: float
    h: float

    @property
    def top(self) -> float:
        return self.y + self.h

    def split(self, *fractions: float, gap: float = 12.0) -> list["Box"]:
        """Side by side boxes taking these fractions of the width (minus the gaps)."""
        usable = self.w - gap * (len(fractions) - 1)
        out, x = [], self.x
        for f in fractions:
            out.append(Box(x, self.y, usable * f, self.h))
            x += usable * f + gap
        return out


class Publication:
    """One PDF document. `synthetic=True` prints the demo-data mark on every page."""

    def __init__(self, path: str, title: str, subtitle: str = "", *, synthetic: bool = False,
                 producer: str = "Vigie — observatoire territorial", made_on: date | None = None):
        fonts.register()
        self.path = str(path)
        self.title = title
        self.subtitle = subtitle
        self.synthetic = synthetic
        self.made_on = made_on or date.today()
        self.c = Canvas(self.path, pagesize=A4, pageCompression=1, invariant=1)
        self.c.setTitle(title)
        self.c.setAuthor(producer)
        self.c.setSubject(subtitle)
        self.c.setCreator("Vigie (reportlab)")
        self.page = 0
        self.y = 0.0
        self.notes: list[str] = []  # footnotes of the current page (fragile values, secrecy…)
        self.new_page()

    # ------------------------------------------------------------------------------------------ pages
    def new_page(self) -> None:
        if self.page:
            self._footer()
            self.c.showPage()
        self.page += 1
        self.notes = []
        c = self.c
        c.setFillColor(ACCENT)
        c.rect(0, PAGE_H - HEADER_H, PAGE_W, HEADER_H, stroke=0, fill=1)
        c.setFillColor(white)
        room = CONTENT_W - (160 if self.synthetic else 0)
        size = 15.0
        while size > 10 and fonts.width(french(self.title), fonts.BOLD, size) > room:
            size -= 0.5
        c.setFont(fonts.BOLD, size)
        c.drawString(MARGIN, PAGE_H - 26, self._fit(french(self.title), fonts.BOLD, size, room))
        c.setFont(fonts.REGULAR, 9)
        c.drawString(MARGIN, PAGE_H - 42, self._fit(french(self.subtitle), fonts.REGULAR, 9, room))
        if self.synthetic:
            c.setFillColor(HexColor("#fde68a"))
            c.roundRect(PAGE_W - MARGIN - 150, PAGE_H - 40, 150, 20, 4, stroke=0, fill=1)
            c.setFillColor(WARN)
            c.setFont(fonts.BOLD, 8)
            c.drawCentredString(PAGE_W - MARGIN - 75, PAGE_H - 33, SYNTHETIC_MARK)
        self.y = PAGE_H - HEADER_H - 18

    def _footer(self) -> None:
        c = self.c
        c.setStrokeColor(RULE)
        c.setLineWidth(0.5)
        c.line(MARGIN, FOOTER_H + 6, PAGE_W - MARGIN, FOOTER_H + 6)
        c.setFillColor(MUTED)
        c.setFont(fonts.REGULAR, 7.5)
        left = f"{self.title} — édité par Vigie le {fmt.long_date(self.made_on)}"
        if self.synthetic:
            left += f" — {SYNTHETIC_MARK.lower()}"
        c.drawString(MARGIN, FOOTER_H - 6, self._fit(french(left), fonts.REGULAR, 7.5, CONTENT_W - 80))
        label = f"page {self.page} sur "
        x = PAGE_W - MARGIN - 12
        c.drawRightString(x, FOOTER_H - 6, label)
        c.doForm("page_total")
        if self.notes:
            c.setFont(fonts.ITALIC, 7)
            y = FOOTER_H + 10
            for note in reversed(self.notes):
                c.drawString(MARGIN, y, self._fit(french(note), fonts.ITALIC, 7, CONTENT_W))
                y += 9

    def note(self, text: str) -> None:
        """A footnote of the current page (printed once above the footer)."""
        if text not in self.notes:
            self.notes.append(text)

    @property
    def bottom(self) -> float:
        return FOOTER_H + 14 + 9 * (len(self.notes) + 2)

    def save(self) -> int:
        """Close the document; returns its number of pages."""
        self._footer()
        c = self.c
        c.beginForm("page_total")
        c.setFillColor(MUTED)
        c.setFont(fonts.REGULAR, 7.5)
        c.drawString(PAGE_W - MARGIN - 12 + 1, FOOTER_H - 6, str(self.page))
        c.endForm()
        c.showPage()
        c.save()
        return self.page

    # ------------------------------------------------------------------------------------------ flow
    def reserve(self, height: float, *, gap: float = 8.0) -> Box:
        """A full-width box of `height` under the cursor (on a new page when it does not fit)."""
        if self.y - height < self.bottom:
            self.new_page()
        box = Box(MARGIN, self.y - height, CONTENT_W, height)
        self.y -= height + gap
        return box

    def space_left(self) -> float:
        return self.y - self.bottom

    def heading(self, text: str, size: float = 12.5, *, keep_with: float = 60.0) -> None:
        """A section title, moved to the next page with at least `keep_with` points of what follows."""
        box = self.reserve(size + 8 + keep_with, gap=0)
        self.y = box.top - size - 8
        c = self.c
        c.setFillColor(ACCENT)
        c.setFont(fonts.BOLD, size)
        c.drawString(MARGIN, self.y + 4, french(text))
        c.setStrokeColor(ACCENT)
        c.setLineWidth(1)
        c.line(MARGIN, self.y, MARGIN + CONTENT_W, self.y)
        self.y -= 8

    def paragraph(self, text: str, *, size: float = 9, font: str | None = None, colour=INK, box_width: float | None = None,
                  indent: float = 0.0, bullet: str | None = None, leading: float | None = None) -> None:
        font = font or fonts.REGULAR
        leading = leading or size * 1.3
        width = (box_width or CONTENT_W) - indent
        lines = wrap(text, width - (10 if bullet else 0), size=size, font=font)  # breaks at plain spaces only
        box = self.reserve(leading * len(lines), gap=3)
        c = self.c
        c.setFillColor(colour)
        c.setFont(font, size)
        y = box.top - size
        for i, line in enumerate(lines):
            if bullet and i == 0:
                c.drawString(MARGIN + indent, y, bullet)
            c.drawString(MARGIN + indent + (10 if bullet else 0), y, line)
            y -= leading

    def sources(self, items: list[str], *, title: str = "Sources et millésimes") -> None:
        self.paragraph(title, size=8.5, font=fonts.BOLD, colour=MUTED)
        for item in items:
            self.paragraph(item, size=7.5, colour=MUTED, bullet="–", indent=4)

    # ------------------------------------------------------------------------------------------ helpers
    @staticmethod
    def _fit(text: str, font: str, size: float, width: float) -> str:
        if fonts.width(text, font, size) <= width:
            return text
        while text and fonts.width(text + "…", font, size) > width:
            text = text[:-1]
        return text + "…"


def draw_text(c: Canvas, x: float, y: float, text: str, *, size: float = 8, font: str | None = None, colour=INK,
              align: str = "left", max_width: float | None = None) -> None:
    """One line of French text at (x, y) (baseline), shortened with « … » to `max_width`."""
    font = font or fonts.REGULAR
    text = french(text)
    if max_width is not None:
        text = Publication._fit(text, font, size, max_width)
    c.setFillColor(colour)
    c.setFont(font, size)
    if align == "right":
        c.drawRightString(x, y, text)
    elif align == "centre":
        c.drawCentredString(x, y, text)
    else:
        c.drawString(x, y, text)


def wrap(text: str, width: float, *, size: float = 8, font: str | None = None) -> list[str]:
    """Lines of `text` fitting `width`; a word too long for a line is broken after its hyphens."""
    font = font or fonts.REGULAR
    tokens: list[tuple[str, bool]] = []  # (text, glued to the previous token)
    for word in french(text).split(" "):
        if fonts.width(word, font, size) > width and "-" in word.strip("-"):
            parts = word.split("-")
            tokens += [(p + "-", i > 0) for i, p in enumerate(parts[:-1])] + [(parts[-1], True)]
        else:
            tokens.append((word, False))
    lines: list[str] = []
    for token, glued in tokens:
        candidate = lines[-1] + ("" if glued else " ") + token if lines else token
        if lines and fonts.width(candidate, font, size) <= width:
            lines[-1] = candidate
        else:
            lines.append(token)
    return lines
