"""The PDF toolkit on its own: French typography, key sentences, the XLSX writer, a page with a table (secret and
fragile marks) and a map (scale bar, source), read back with pypdf and rendered with pdftoppm."""

from __future__ import annotations

import subprocess

import shapely
from pypdf import PdfReader

from vigie.publish.pdf import charts, datapack, maps
from vigie.publish.pdf.document import Publication
from vigie.publish.pdf.messages import Subject, compare
from vigie.publish.pdf.tables import Cell, draw_table
from vigie.publish.pdf.typography import NBSP, NNBSP, french


def test_french_typography_puts_no_break_spaces():
    assert french("Taux : 12 %") == f"Taux{NBSP}: 12{NBSP}%"
    assert french("Vraiment ? Oui ! a ; b") == f"Vraiment{NNBSP}? Oui{NNBSP}! a{NNBSP}; b"
    assert french("« Lens »") == f"«{NBSP}Lens{NBSP}»"
    assert french("10:30 et https://exemple.fr:8080/x") == "10:30 et https://exemple.fr:8080/x"
    assert french(french("Taux : 12 %")) == french("Taux : 12 %")


def test_key_sentences_follow_the_size_of_the_gap():
    unemployment = Subject("le taux de chômage")
    assert compare(unemployment, 31.2, 14.9, "l'agglomération", unit="%") == (
        f"Le taux de chômage du quartier est 2,1 fois celui de l'agglomération (31,2{NBSP}% contre 14,9{NBSP}%).")
    share = Subject("la part des locataires HLM", True)
    assert compare(share, 31.2, 24.9, "Avion", unit="%") == (
        f"La part des locataires HLM du quartier est supérieure de 6,3 points à celle d'Avion (31,2{NBSP}% contre 24,9{NBSP}%).")
    assert compare(share, 52.9, 53.1, "Bruay-la-Buissière", unit="%").startswith(
        "La part des locataires HLM du quartier est proche de celle de Bruay-la-Buissière")
    assert compare(unemployment, 5.0, 15.0, "Lens", unit="%") == (
        f"Le taux de chômage du quartier est 3,0 fois moins élevé que celui de Lens (5,0{NBSP}% contre 15,0{NBSP}%).")
    assert compare(unemployment, None, 15.0, "Lens", unit="%") is None  # never from a missing or secret figure


def test_data_pack_keeps_codes_as_text_and_never_writes_a_secret_value(tmp_path):
    import openpyxl
    path = tmp_path / "t.xlsx"
    base = dict(theme="emploi", indicator="taux_chomage", label="Taux de chômage", level="commune", year=2021,
                vintage="RP 2021", unit="%", source="INSEE <&> « RP »", synthetic=True)
    records = [
        datapack.Record(code="62041", territory="Arras", value=12.5, text="12,5 %", status="ok", **base),
        datapack.Record(code="2A004", territory="Ajaccio", value=99.0, text="secret", status="secret", **base),
        datapack.Record(code="62498", territory="Lens", value=float("nan"), text="n.d.", status="missing", **base),
    ]
    assert datapack.write(str(path), "Essai", records, notes=["note"]) == 3
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Chiffres", "À propos"]
    sheet = wb["Chiffres"]
    header = [c.value for c in sheet[1]]
    assert sheet["A1"].font.b and header[:3] == ["Thème", "Indicateur (identifiant)", "Indicateur"]
    value, status, code = header.index("Valeur") + 1, header.index("Statut") + 1, header.index("Code du territoire") + 1
    assert sheet.cell(2, code).value == "62041" and sheet.cell(3, code).value == "2A004"
    assert sheet.cell(2, value).value == 12.5
    assert sheet.cell(3, value).value is None and sheet.cell(3, status).value == "secret"
    assert sheet.cell(4, value).value is None and sheet.cell(4, status).value == "non disponible"
    assert sheet.cell(2, header.index("Source") + 1).value == "INSEE <&> « RP »"
    assert wb["À propos"]["A1"].value == "Essai" and wb["À propos"].cell(wb["À propos"].max_row, 1).value == "note"


def test_page_with_table_chart_and_map_reads_back(tmp_path):
    path = tmp_path / "essai.pdf"
    pub = Publication(str(path), "Essai : page de test", "Sous-titre", synthetic=True)
    pub.heading("Tableau")
    draw_table(pub, ["Indicateur", "Quartier", "Commune"],
               [["Taux de chômage", Cell("42,2 %"), Cell("n.d.", "secret")],
                ["Part des moins de 15 ans", Cell("24,3 %", "fragile"), Cell("20,1 %")]], [3, 1, 1])
    box = pub.reserve(120)
    charts.columns(pub.c, box, ["A", "B"], [charts.Series("Quartier", [10.0, None], ["ok", "secret"]),
                                             charts.Series("Commune", [20.0, 5.0])], chart_title="Graphique")
    square = shapely.box(700_000, 7_000_000, 704_000, 7_003_000)  # 4 km × 3 km in Lambert-93
    box = pub.reserve(200)
    maps.draw_map(pub.c, box, [maps.Layer([square], fill=maps.HexColor("#c2410c"), labels=["Zone"])], square.bounds,
                  source="Source : essai")
    assert pub.save() == 1
    # pypdf gives the no-break space (U+00A0, same glyph as the space in DejaVu) back as a plain space
    text = PdfReader(str(path)).pages[0].extract_text().replace(NBSP, " ")
    assert "Essai : page de test" in text
    assert "Données fictives de démonstration" in text
    assert "secret" in text and "24,3 % (f)" in text.replace(NBSP, " ")
    assert "valeur fragile" in text and "secret statistique" in text  # the page's footnotes
    assert "page 1 sur" in text and "Source : essai" in text
    # scale bar: 200 pt of height show 3 km + 2 × 6 % margins → 0.0595 pt/m; the 523 pt wide frame shows 8.8 km,
    # a quarter of it is 2.2 km, rounded down to 2 km
    assert "2 km" in text
    assert "Zone" in text


def test_a_map_renders_to_a_non_blank_image(tmp_path):
    from PIL import Image

    path = tmp_path / "carte.pdf"
    pub = Publication(str(path), "Carte")
    square = shapely.box(0, 0, 1000, 1000)
    box = pub.reserve(300)
    maps.draw_map(pub.c, box, [maps.Layer([square], fill=maps.HexColor("#000000"))], square.bounds)
    pub.save()
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "1", str(path), str(tmp_path / "p")], check=True)
    image = Image.open(next(tmp_path.glob("p*.png"))).convert("L")
    dark = sum(1 for v in image.get_flattened_data() if v < 60)
    assert dark > 0.1 * image.width * image.height  # the black square fills a good part of the page


def test_choropleth_colours_follow_the_class_bounds():
    colours = maps.choropleth_colours([1.0, 2.0, 2.5, 10.0, None], [2.0, 5.0, 10.0])
    palette = [maps.HexColor(c) for c in maps.CLASS_COLOURS]
    assert colours == [palette[0], palette[0], palette[1], palette[2], maps.NO_DATA]
