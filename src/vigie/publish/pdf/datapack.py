"""The data pack beside every PDF: an XLSX with every figure the publication shows, its source and vintage.

One sheet « Chiffres » (one row per figure: theme, indicator, territory, year, vintage, value as a number and as
printed, unit, status, source, synthetic flag) and one sheet « À propos » (title, date, conventions). Values of
secret cells are never written (the figures given here never hold them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from vigie import formatting as fmt

COLUMNS = [
    ("theme", "Thème", 18), ("indicator", "Indicateur (identifiant)", 28), ("label", "Indicateur", 50),
    ("level", "Niveau", 16), ("code", "Code du territoire", 16), ("territory", "Territoire", 34), ("year", "Année", 8),
    ("vintage", "Millésime", 34), ("value", "Valeur", 12), ("text", "Valeur affichée", 16), ("unit", "Unité", 16),
    ("status", "Statut", 12), ("source", "Source", 50), ("synthetic", "Données fictives", 10),
]
STATUS_WORDS = {"ok": "diffusé", "fragile": "fragile", "secret": "secret", "missing": "non disponible"}


@dataclass
class Record:
    theme: str
    indicator: str
    label: str
    level: str
    code: str
    territory: str
    year: int | None
    vintage: str
    value: float | None
    text: str
    unit: str
    status: str
    source: str
    synthetic: bool


def write(path: str, title: str, records: list[Record], *, notes: list[str] = ()) -> int:
    """Write the XLSX (with XlsxWriter: write-only and several times faster than openpyxl for a data pack);
    returns the number of figure rows."""
    import xlsxwriter

    rows: list[list] = []
    for r in records:
        rows.append([
            r.theme, r.indicator, r.label, r.level, r.code, r.territory, r.year, r.vintage,
            None if r.status == "secret" or r.value is None or math.isnan(r.value) else r.value, r.text, r.unit, STATUS_WORDS.get(r.status, r.status), r.source,
            "oui" if r.synthetic else "non",
        ])
    about = [[line] for line in [
        title, f"Édité par Vigie le {fmt.long_date(date.today())}.",
        "Une ligne par chiffre de la publication : valeur numérique (colonne « Valeur ») et telle qu'imprimée.",
        "Statut : « diffusé », « fragile » (petits effectifs, à interpréter avec prudence), « secret » "
        "(secret statistique : valeur non diffusée), « non disponible ».", *notes]]
    book = xlsxwriter.Workbook(path, {"in_memory": True})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("Chiffres")
    sheet.write_row(0, 0, [label for _key, label, _w in COLUMNS], bold)
    for i, (_key, _label, width) in enumerate(COLUMNS):
        sheet.set_column(i, i, width)
    for n, row in enumerate(rows, start=1):
        sheet.write_row(n, 0, row)
    sheet.freeze_panes(1, 0)
    notes_sheet = book.add_worksheet("À propos")
    notes_sheet.set_column(0, 0, 110)
    for n, (line,) in enumerate(about):
        notes_sheet.write(n, 0, line, bold if n == 0 else None)
    book.close()
    return len(records)
