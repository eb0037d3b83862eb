"""Fiches quartiers and tableaux de bord made from the demo warehouse, read back: the engine's figures are on the
page (formatted as printed), page counts, the map drawn, secrecy, a QPV over two communes, the data pack, the
CLI's French errors and a batch where one publication fails."""

from __future__ import annotations

import subprocess

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from vigie import formatting as fmt
from vigie.engine.query import Engine
from vigie.publish.pdf import datapack, fiche_quartier
from vigie.publish.pdf.batch import Job, run
from vigie.warehouse import Territory, connect

TWO_COMMUNES = "QN06213M"  # Bruay-la-Buissière (62178, 68 % of its area) and Divion (62270, 32 %)
EPCI_CABBALR = "200072460"
NBSP, NNBSP = "\u00a0", "\u202f"


def plain(text: str) -> str:
    return text.replace(NBSP, " ").replace(NNBSP, " ")


def printed(engine: Engine, indicator: str, territory: Territory, year: int | None = None) -> str:
    """The engine's figure as a fiche's table prints it."""
    figure = engine.figure(indicator, territory, year)
    definition = engine.indicator(indicator)
    assert figure["value"] is not None, (indicator, territory)
    text = fmt.percent(figure["value"], definition.decimals) if definition.unit == "%" else fmt.number(figure["value"], definition.decimals)
    return plain(text)


def pdf_text(path) -> tuple[int, list[str]]:
    reader = PdfReader(str(path))
    return len(reader.pages), [plain(p.extract_text()) for p in reader.pages]


@pytest.fixture(scope="module")
def straddling(demo_warehouse, tmp_path_factory):
    """The fiche of a QPV over two communes, with its data pack, and the engine of the demo warehouse."""
    out = tmp_path_factory.mktemp("fiche")
    wh = connect(str(demo_warehouse), create=False, read_only=True)
    engine = Engine(wh)
    [data] = fiche_quartier.collect(wh, [TWO_COMMUNES], engine)
    pdf, xlsx = out / "fiche.pdf", out / "fiche.xlsx"
    pages = fiche_quartier.render(data, str(pdf))
    datapack.write(str(xlsx), "fiche", fiche_quartier.records(data))
    yield engine, data, pdf, xlsx, pages
    wh.close()


def test_fiche_shows_the_engine_figures_of_the_qpv_its_two_communes_and_references(straddling):
    engine, data, pdf, _xlsx, pages = straddling
    count, texts = pdf_text(pdf)
    assert count == pages and 2 <= count <= 4
    whole = "\n".join(texts)
    qpv = Territory("qpv", TWO_COMMUNES, engine.cog, data.territory.name)
    references = [Territory("commune", "62178", engine.cog, "Bruay-la-Buissière"), Territory("commune", "62270", engine.cog, "Divion"),
                  Territory("epci", EPCI_CABBALR, engine.cog, ""), Territory("pole_metropolitain", "PMA", engine.cog, "")]
    assert [c.code for c in data.columns] == [TWO_COMMUNES, "62178", "62270", EPCI_CABBALR, "PMA"]
    for indicator in ["population", "taux_chomage", "part_hlm", "part_0014", "taux_activite", "part_diplmin"]:
        year = engine.figure(indicator, qpv)["year"]
        assert printed(engine, indicator, qpv) in whole, indicator
        for reference in references:  # the references the same year as the QPV's figure
            assert printed(engine, indicator, reference, year) in whole, (indicator, reference.code)
    # both communes named, the choice of references explained
    flowing = whole.replace("\n", " ")
    assert "Bruay-la-Buissière (68 %), Divion (32 %)" in flowing
    assert "l'EPCI et le territoire de référence sont ceux de Bruay-la-Buissière" in flowing
    # key message from the figures, themes, sources, demo mark, page numbers
    chomage, epci = engine.figure("taux_chomage", qpv)["value"], engine.figure("taux_chomage", references[2])["value"]
    assert f"Le taux de chômage du quartier est {plain(fmt.number(chomage / epci, 1))} fois celui de l'agglomération" in whole
    for title in ["Éducation", "Santé", "Habitat", "Économie et emploi", "Sport et culture", "Sources et millésimes",
                  "Pyramide des âges"]:
        assert title in whole
    assert "recensement 2021" in whole and "Données fictives de démonstration" in texts[0]
    assert f"page 1 sur\n{count}" in texts[0].replace("sur \n", "sur\n")


def test_the_map_page_renders_with_the_neighbourhood_drawn(straddling, tmp_path):
    from PIL import Image

    _engine, _data, pdf, _xlsx, _pages = straddling
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")], check=True)
    image = Image.open(next(tmp_path.glob("p*.png"))).convert("RGB")
    w, h = image.size
    area = image.crop((int(w * 0.05), int(h * 0.2), int(w * 0.65), int(h * 0.6)))  # the map's part of page 1
    pixels = list(area.get_flattened_data())
    qpv_fill = sum(1 for r, g, b in pixels if abs(r - 0xC2) < 30 and abs(g - 0x41) < 30 and b < 60)
    non_white = sum(1 for r, g, b in pixels if r + g + b < 750)
    assert qpv_fill > 100  # the neighbourhood, in its colour
    assert non_white > 0.3 * len(pixels)  # communes and neighbours filled


def test_data_pack_holds_every_figure_with_source_and_vintage(straddling):
    import openpyxl
    engine, data, _pdf, xlsx, _pages = straddling
    sheet = openpyxl.load_workbook(xlsx)["Chiffres"]
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert len(body) == len(fiche_quartier.records(data)) == len(data.figures)
    col = {name: i for i, name in enumerate(header)}
    qpv = Territory("qpv", TWO_COMMUNES, engine.cog, "")
    [row] = [r for r in body if r[col["Indicateur (identifiant)"]] == "taux_chomage" and r[col["Code du territoire"]] == TWO_COMMUNES]
    assert row[col["Valeur"]] == pytest.approx(engine.figure("taux_chomage", qpv)["value"])
    assert plain(row[col["Valeur affichée"]]) == printed(engine, "taux_chomage", qpv)
    assert row[col["Millésime"]] == "recensement 2021" and row[col["Source"]].startswith("INSEE")
    assert row[col["Statut"]] == "diffusé" and row[col["Données fictives"]] == "oui"


def test_secret_values_are_marked_and_never_printed(demo_copy, tmp_path):
    wh = connect(str(demo_copy))
    wh.execute("UPDATE cube SET status = 'secret' WHERE level = 'qpv' AND code = 'QN06201M' AND indicator = 'taux_chomage'")
    hidden = wh.query("SELECT value FROM cube WHERE level = 'qpv' AND code = 'QN06201M' AND indicator = 'taux_chomage'")[0][0]
    [data] = fiche_quartier.collect(wh, ["QN06201M"], Engine(wh))
    wh.close()
    fiche_quartier.render(data, str(tmp_path / "f.pdf"))
    _count, texts = pdf_text(tmp_path / "f.pdf")
    whole = "\n".join(texts)
    lines = whole.splitlines()
    label = next(i for i, line in enumerate(lines) if line.startswith("Taux de chômage des 15-64 ans"))
    assert lines[label + 1] == "secret"  # the QPV's cell in the table, then the commune's figure
    assert lines[label + 2] != "secret"
    assert plain(fmt.percent(hidden, 1)) not in lines[label + 1]
    assert "Le taux de chômage du quartier" not in whole  # no key message from a secret figure
    assert "secret statistique" in whole  # the footnote explaining the mark
    [record] = [r for r in fiche_quartier.records(data) if r.indicator == "taux_chomage" and r.level == "qpv"]
    assert record.status == "secret" and record.value is None and record.text == "secret"


def test_cli_french_errors_and_tableau_de_bord(demo_warehouse, tmp_path):
    from vigie.cli import app

    runner = CliRunner()
    base = ["--base", str(demo_warehouse)]
    result = runner.invoke(app, [*base, "fiche", "qpv", "QN00000X", "--sortie", str(tmp_path)])
    assert result.exit_code == 1
    assert "Aucun quartier prioritaire (QPV) n'a le code « QN00000X »" in result.output
    result = runner.invoke(app, [*base, "tableau-de-bord", "INCONNU", "--sortie", str(tmp_path)])
    assert result.exit_code == 1 and "Aucun territoire n'a le code « INCONNU »" in result.output

    result = runner.invoke(app, [*base, "tableau-de-bord", "PMA", "--sortie", str(tmp_path)])
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "tableau-de-bord-PMA.pdf"
    assert pdf.exists() and (tmp_path / "tableau-de-bord-PMA.xlsx").exists()
    count, texts = pdf_text(pdf)
    assert 2 <= count <= 4
    whole = "\n".join(texts)
    wh = connect(str(demo_warehouse), create=False, read_only=True)
    try:
        engine = Engine(wh)
        pma = wh.find_territory("PMA")
        department = Territory("departement", "62", engine.cog, "Pas-de-Calais")
        for indicator in ["population", "menages", "logements", "taux_chomage", "part_75p", "taux_vacance"]:
            assert printed(engine, indicator, pma) in whole, indicator
        year = engine.figure("taux_chomage", pma)["year"]
        assert printed(engine, "taux_chomage", department, year) in whole
        ev = engine.evolution("part_75p", pma, 2012, 2021)
        assert f"{plain(fmt.points(ev.points))} depuis 2012" in whole  # evolution between census years
    finally:
        wh.close()
    for title in ["Démographie", "Ménages", "Logement", "Économie", "par commune", "Classes (quantiles)"]:
        assert title in whole


def test_batch_reports_a_failure_and_makes_the_others(demo_warehouse, tmp_path):
    wh = connect(str(demo_warehouse), create=False, read_only=True)
    try:
        data = fiche_quartier.collect(wh, ["QN06201M", "QN06202M", "QN06203M"], Engine(wh))
    finally:
        wh.close()
    jobs = [Job(d.territory.code, "fiche_quartier", d, str(tmp_path / f"{d.territory.code}.pdf"), str(tmp_path / f"{d.territory.code}.xlsx"))
            for d in data]
    jobs[1].pdf = str(tmp_path / "absent" / "dossier" / "x.pdf")  # cannot be written
    summary = run(jobs, workers=2)
    assert [o.key for o in summary.done] == ["QN06201M", "QN06203M"]
    assert [o.key for o in summary.failed] == ["QN06202M"] and summary.failed[0].error
    assert (tmp_path / "QN06203M.pdf").exists() and (tmp_path / "QN06203M.xlsx").exists()
    assert "2 publication(s) produite(s), 1 en échec" in summary.text()
    assert "échec QN06202M" in summary.text()
