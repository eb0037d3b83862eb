"""The fonts of every PDF: DejaVu Sans Condensed (bundled in `fonts/`, Bitstream Vera licence, `LICENCE-DejaVu.txt`).

DejaVu covers French fully, including the narrow no-break space (U+202F) Babel puts between thousands, the
true minus sign and « ». Registered once per process; reportlab embeds only the glyphs a document uses.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent / "fonts"
REGULAR = "Vigie"
BOLD = "Vigie-Bold"
ITALIC = "Vigie-Italic"
_FILES = {REGULAR: "DejaVuSansCondensed.ttf", BOLD: "DejaVuSansCondensed-Bold.ttf", ITALIC: "DejaVuSansCondensed-Oblique.ttf"}
_registered = False


def register() -> None:
    """Make the Vigie fonts known to reportlab (idempotent)."""
    global _registered
    if _registered:
        return
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for name, file in _FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / file)))
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=ITALIC, boldItalic=BOLD)
    _registered = True


@lru_cache(maxsize=1 << 16)
def width(text: str, font: str, size: float) -> float:
    """Width of `text` in points (memoised: layouts measure the same labels many times)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, font, size)
