"""Tables of figures: a header row, striped rows, right-aligned numbers, marks for secret and fragile cells.

A cell is a `Cell` (text + status) or a plain string. Secret cells print « secret » (the number is never
given to this module); fragile ones get « (f) » and a footnote on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from reportlab.lib.colors import HexColor

from vigie.publish.pdf import fonts
from vigie.publish.pdf.document import ACCENT, CONTENT_W, INK, MUTED, RULE, Publication, draw_text, wrap

STRIPE = HexColor("#f3f5f7")
FRAGILE_NOTE = "(f) valeur fragile (petits effectifs) : à interpréter avec prudence."
SECRET_NOTE = "« secret » : valeur couverte par le secret statistique, non diffusée."


@dataclass
class Cell:
    text: str
    status: str = "ok"
    bold: bool = False


def _cell(value) -> Cell:
    return value if isinstance(value, Cell) else Cell(str(value))


def draw_table(pub: Publication, header: Sequence[str], rows: Sequence[Sequence], widths: Sequence[float], *,
               size: float = 7.5, first_bold: bool = False, header_colours: Sequence | None = None) -> None:
    """Draw a table under the cursor, across pages if needed. `widths` are fractions of the content width."""
    total = sum(widths)
    col_w = [CONTENT_W * w / total for w in widths]
    pad = 3.0
    header_lines = [wrap(h, w - 2 * pad, size=size, font=fonts.BOLD) for h, w in zip(header, col_w)]
    header_h = max(len(lines) for lines in header_lines) * (size + 2) + 2 * pad

    def draw_header() -> None:
        box = pub.reserve(header_h, gap=0)
        c = pub.c
        c.setFillColor(ACCENT)
        c.rect(box.x, box.y, box.w, box.h, stroke=0, fill=1)
        x = box.x
        for i, (lines, w) in enumerate(zip(header_lines, col_w)):
            if header_colours and i < len(header_colours) and header_colours[i] is not None:
                c.setFillColor(header_colours[i])
                c.rect(x, box.y, w, 2.5, stroke=0, fill=1)
            y = box.top - pad - size
            for line in lines:
                if i == 0:
                    draw_text(c, x + pad, y, line, size=size, font=fonts.BOLD, colour=HexColor("#ffffff"))
                else:
                    draw_text(c, x + w - pad, y, line, size=size, font=fonts.BOLD, colour=HexColor("#ffffff"), align="right")
                y -= size + 2
            x += w

    draw_header()
    for r, row in enumerate(rows):
        cells = [_cell(v) for v in row]
        label_lines = wrap(cells[0].text, col_w[0] - 2 * pad, size=size, font=fonts.BOLD if (first_bold or cells[0].bold) else None)
        row_h = len(label_lines) * (size + 2) + 2 * pad
        if pub.y - row_h < pub.bottom:
            pub.new_page()
            draw_header()
        box = pub.reserve(row_h, gap=0)
        c = pub.c
        if r % 2:
            c.setFillColor(STRIPE)
            c.rect(box.x, box.y, box.w, box.h, stroke=0, fill=1)
        x = box.x
        for i, (cell, w) in enumerate(zip(cells, col_w)):
            y = box.top - pad - size
            if i == 0:
                for line in label_lines:
                    draw_text(c, x + pad, y, line, size=size, font=fonts.BOLD if (first_bold or cell.bold) else None)
                    y -= size + 2
            else:
                text, font, colour = cell.text, fonts.BOLD if cell.bold else fonts.REGULAR, INK
                if cell.status == "secret":
                    text, font, colour = "secret", fonts.ITALIC, MUTED
                    pub.note(SECRET_NOTE)
                elif cell.status == "fragile":
                    text += " (f)"
                    pub.note(FRAGILE_NOTE)
                elif cell.status == "missing":
                    font, colour = fonts.ITALIC, MUTED
                draw_text(c, x + w - pad, y, text, size=size, font=font, colour=colour, align="right", max_width=w - 2 * pad)
            x += w
        c.setStrokeColor(RULE)
        c.setLineWidth(0.3)
        c.line(box.x, box.y, box.x + box.w, box.y)
    pub.y -= 8
