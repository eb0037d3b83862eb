"""The barometer's release PDF and data pack on the demo warehouse: read back with pypdf and openpyxl and checked
against the release's figures (French formatting), the missing series, the revisions and the demo-data mark."""

from __future__ import annotations

import subprocess

import pytest
from pypdf import PdfReader

from vigie import formatting as fmt

MARK = "Données fictives de démonstration"


def _flat(text: str) -> str:
    """Whitespace (no-break spaces included) collapsed: printed lines are wrapped at plain spaces."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def barometre_demo(demo_warehouse):
    """The demo warehouse: `vigie demo` imports the barometer's demo series."""
    return demo_warehouse


@pytest.fixture(scope="module")
def published(barometre_demo, tmp_path_factory):
    """The 2025-T4 note of the demo written once (`report.publish`, what the command calls), and its release."""
    from vigie.modules.barometre.report import publish
    from vigie.warehouse import connect

    out_dir = tmp_path_factory.mktemp("publications")
    wh = connect(str(barometre_demo), create=False, read_only=True)
    try:
        release, written = publish(wh, "2025-T4", out_dir)
    finally:
        wh.close()
    pdf = out_dir / "barometre-2025-T4.pdf"
    assert written.pdf == pdf and written.xlsx == out_dir / "barometre-2025-T4.xlsx"
    reader = PdfReader(str(pdf))
    pages = [_flat(p.extract_text()) for p in reader.pages]
    assert written.pages == len(pages)
    return {"release": release, "pdf": pdf, "xlsx": written.xlsx, "pages": pages, "text": " ".join(pages)}


def test_the_command_writes_the_pdf_and_its_data_pack(barometre_demo, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from vigie.cli import app

    monkeypatch.setenv("VIGIE_DATABASE", str(barometre_demo))
    out = CliRunner().invoke(app, ["barometre", "2025-T4", "--serie", "chomage_taux", "--sortie", str(tmp_path / "notes")])
    assert out.exit_code == 0, out.output
    pdf, xlsx = tmp_path / "notes" / "barometre-2025-T4.pdf", tmp_path / "notes" / "barometre-2025-T4.xlsx"
    assert pdf.exists() and xlsx.exists()
    output = _flat(out.output)
    pages = len(PdfReader(str(pdf)).pages)
    assert f"Note PDF : {pdf} ({pages} pages) ; classeur des chiffres : barometre-2025-T4.xlsx" in output
    assert "Baromètre économique – Pôle Métropolitain de l'Artois – 4e trimestre 2025" in output  # the terminal view


def test_four_to_six_pages(published):
    assert 4 <= len(published["pages"]) <= 6
    assert published["pages"][0].startswith("Baromètre économique — 4e trimestre 2025")
    assert f"page 1 sur {len(published['pages'])}" in published["pages"][0]


def test_real_unemployment_figures_as_printed(published):
    # INSEE's localised unemployment rates (real, bundled): Lens 10.8 % in 2025-T4, 10.7 % in T3, 10.2 % a year
    # before; France 7.83 %, a year before 7.30 %.
    cover, text = published["pages"][0], published["text"]
    assert "Taux de chômage localisé 10,8 % Zone d'emploi de Lens" in cover
    assert "▲ en hausse sur un trimestre : +0,1 pt" in cover and "▲ en hausse sur un an : +0,6 pt" in cover
    assert ("10,8 % pour la zone d'emploi de Lens au 4e trimestre 2025 : en hausse sur un trimestre (+0,1 pt) et sur "
            "un an (+0,6 pt).") in text
    assert "France 7,8 % +0,2 pt +0,5 pt" in text  # its table row: value, on a quarter, on a year


def test_every_figure_of_the_release_is_printed(published):
    release, text, cover = published["release"], published["text"], published["pages"][0]
    checked = 0
    for s in release.series:
        change = fmt.points if s.change_unit == "pt" else fmt.signed_percent
        f = s.main
        if f is None or f.value is None:
            continue
        value = _flat(fmt.quantity(f.value, s.unit, s.decimals))
        assert value in cover, s.id  # its key figure on page 1
        for v in (f.change_quarter, f.change_year, f.trend_change):
            assert _flat(change(v, 1)) in text, (s.id, v)
        words = "en hausse" if f.change_year > 0.05 else "en baisse" if f.change_year < -0.05 else "stable"
        assert f"{words} sur un an : {_flat(change(f.change_year, 1))}" in cover, s.id
        for c in s.comparisons:  # each territory's row of the series table
            number = fmt.percent(c.value, s.decimals) if s.unit == "%" else fmt.number(c.value, s.decimals)
            assert _flat(f"{number} {change(c.change_quarter, 1)} {change(c.change_year, 1)}") in text, (s.id, c.name)
        checked += 1
    assert checked == 6  # three of the nine demo series are missing for 2025-T4


def test_missing_series_are_said_plainly(published):
    release, cover, text = published["release"], published["pages"][0], published["text"]
    assert len(release.missing) == 3
    assert "3 séries sur 9 n'ont pas de valeur pour le 4e trimestre 2025 :" in cover
    for sentence in release.missing:
        assert _flat(sentence) in cover
        assert text.count(_flat(sentence)) >= 3  # page 1, its section, the closing list
    assert ("Série absente pour 2025-T4 : Ventes de logements (dernier trimestre disponible : 2025-T2).") in cover


def test_revisions_with_both_publication_dates(published):
    release, text = published["release"], published["text"]
    emploi = next(s for s in release.series if s.id == "emploi_prive")
    assert emploi.revisions  # the demo's second Urssaf release revises 2025-T3
    assert "Emploi salarié privé ◆ (salariés) : publication du 9 décembre 2025, révisée le 10 mars 2026." in text
    r = next(r for r in emploi.revisions if r.territory == release.territory.name)
    row = _flat(f"{r.territory} T3 2025 {fmt.number(r.old_value)} {fmt.number(r.new_value)}")
    assert row in text
    assert f"{len(emploi.revisions)} valeurs publiées précédemment ont été révisées" in published["pages"][0]


def test_sources_and_dates(published):
    last = published["pages"][-1]
    assert "Sources et dates de publication" in last
    assert "Taux de chômage localisés par zone d'emploi (trimestriels, CVS) — INSEE, publication du 12 mars 2026" in last
    assert "édité par Vigie le" in last


def test_the_synthetic_mark_on_pages_with_synthetic_series(published):
    for n, page in enumerate(published["pages"], start=1):
        assert MARK in page, n  # every page of the demo note holds a synthetic series
        assert "◆ Série de données fictives de démonstration" in page, n


def test_a_note_of_real_series_only_has_no_mark(barometre_demo, tmp_path):
    from vigie.modules.barometre.report import publish
    from vigie.warehouse import connect

    wh = connect(str(barometre_demo), create=False, read_only=True)
    try:
        release, written = publish(wh, "2025-T4", tmp_path, series=["chomage_taux"])
    finally:
        wh.close()
    assert not release.synthetic
    text = " ".join(_flat(p.extract_text()) for p in PdfReader(str(written.pdf)).pages)
    assert MARK not in text and "◆" not in text
    assert "10,8 %" in text and "Aucune : toutes les séries ont une valeur pour le 4e trimestre 2025." in text


def test_a_page_renders_to_a_non_blank_png(published, tmp_path):
    from PIL import Image

    subprocess.run(["pdftoppm", "-r", "40", "-f", "2", "-l", "2", "-png", str(published["pdf"]), str(tmp_path / "p")],
                   check=True, timeout=30)
    png = next(tmp_path.glob("p*.png"))
    image = Image.open(png).convert("L")
    assert image.size[0] > 300 and image.size[1] > 400  # A4 at 40 dpi: 331 × 468
    histogram = image.histogram()  # 256 grey levels
    inked = sum(histogram[:200]) / sum(histogram)
    assert 0.03 < inked < 0.6  # charts, tables and text, not a blank (nor a black) page


def test_the_data_pack_holds_every_figure_shown(published):
    import openpyxl

    release = published["release"]
    book = openpyxl.load_workbook(published["xlsx"], read_only=True)
    assert book.sheetnames == ["Chiffres", "À propos"]
    rows = list(book["Chiffres"].iter_rows(values_only=True))
    header, rows = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}
    by = {(r[col["Indicateur"]], r[col["Territoire"]], r[col["Millésime"]]): r for r in rows}
    emploi = next(s for s in release.series if s.id == "emploi_prive")
    f = emploi.main
    value = by[("Emploi salarié privé", f.name, "2025-T4")]
    assert value[col["Valeur"]] == pytest.approx(f.value)
    assert value[col["Valeur affichée"]] == fmt.number(f.value) and value[col["Données fictives"]] == "oui"
    year = by[("Emploi salarié privé — évolution sur un an", f.name, "2025-T4")]
    assert year[col["Valeur"]] == pytest.approx(f.change_year, abs=1e-6)
    assert year[col["Valeur affichée"]] == fmt.signed_percent(f.change_year) and year[col["Unité"]] == "%"
    lens = next(s for s in release.series if s.id == "chomage_taux").main
    rate = by[("Taux de chômage localisé", "Lens", "2025-T4")]
    assert rate[col["Valeur"]] == pytest.approx(10.8) and rate[col["Données fictives"]] == "non"
    assert by[("Taux de chômage localisé — évolution sur un an", "Lens", "2025-T4")][col["Unité"]] == "pt"
    assert lens.change_year == pytest.approx(0.6)
    # the charted history, each quarter of each territory
    history = [r for r in rows if r[col["Indicateur"]] == "Taux de chômage localisé — historique (graphique)"]
    charted = next(s for s in release.series if s.id == "chomage_taux").history
    assert len(history) == sum(len(v) for v in charted.values()) - len(charted)  # the quarter itself: rows above
    # a missing series: its value is written as not available
    missing = by[("Ventes de logements", release.territory.name, "2025-T4")]
    assert missing[col["Valeur"]] is None and missing[col["Statut"]] == "non disponible"
    # revisions: old and new value
    r = next(r for r in emploi.revisions if r.territory == release.territory.name)
    old = by[(f"Emploi salarié privé — valeur publiée le {r.old_release}, révisée", r.territory, r.period)]
    new = by[(f"Emploi salarié privé — valeur révisée publiée le {r.new_release}", r.territory, r.period)]
    assert (old[col["Valeur"]], new[col["Valeur"]]) == (pytest.approx(r.old_value), pytest.approx(r.new_value))
    about = [r[0] for r in book["À propos"].iter_rows(values_only=True)]
    assert about[0] == "Baromètre économique — Pôle Métropolitain de l'Artois — 4e trimestre 2025"
    assert all(m in about for m in release.missing)


def test_sans_pdf_only_prints(barometre_demo, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from vigie.cli import app

    monkeypatch.setenv("VIGIE_DATABASE", str(barometre_demo))
    out = CliRunner().invoke(app, ["barometre", "2025-T4", "--serie", "chomage_taux", "--sans-pdf",
                                   "--sortie", str(tmp_path / "rien")])
    assert out.exit_code == 0, out.output
    assert "Lens : 10,8 %" in out.output.replace("\u00a0", " ")
    assert not (tmp_path / "rien").exists() and "Note PDF" not in out.output
