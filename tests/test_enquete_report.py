"""The survey report (`vigie enquete rapport`) of the demo survey, read back from the PDF and its data pack.

The figures expected on the page are computed here in SQL over the stored weights, destinations and answers
(independent of the module's matrices), then formatted as printed: weighted shares of trips to a pole, leakage
outside the Pôle Métropolitain, the share of people practising a motive, Kish's effective size, a weighted share
of answers, interview counts. Also: page count, the demo mark on every page, a flow map rendered with its lines,
the CLI's exit codes and its French error for an unknown survey.
"""

from __future__ import annotations

import subprocess

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from vigie import formatting as fmt
from vigie.modules.enquete import cli
from vigie.cli import app
from vigie.modules.enquete.codebook import MOTIVES
from vigie.warehouse import connect

SURVEY = "usages_pma_demo"
LILLE = "59350"
NBSP, NNBSP = "\u00a0", "\u202f"


def plain(text: str) -> str:
    return text.replace(NBSP, " ").replace(NNBSP, " ")


def pct(share: float, decimals: int = 1) -> str:
    return plain(fmt.percent(100 * share, decimals))


@pytest.fixture(scope="module")
def made(demo_warehouse, tmp_path_factory):
    """The report made by the CLI into a fresh directory, its pages' text, and the demo warehouse (read-only)."""
    for console in (cli.console, cli.err):
        console.width = 200
    out = tmp_path_factory.mktemp("rapport")
    result = CliRunner().invoke(app, ["enquete", "rapport", "--sortie", str(out)], env={"VIGIE_DATABASE": str(demo_warehouse)})
    assert result.exit_code == 0, result.output
    pdf = out / f"rapport_enquete_{SURVEY}.pdf"
    reader = PdfReader(str(pdf))
    texts = [plain(p.extract_text()) for p in reader.pages]
    wh = connect(str(demo_warehouse), create=False, read_only=True)
    yield result.output, pdf, out / f"rapport_enquete_{SURVEY}.xlsx", texts, wh
    wh.close()


def motive_trips(wh, motive: str) -> list[tuple[str, float]]:
    """(destination, Σ calibrated weights of the respondents naming it) for a motive."""
    return [(d, float(t)) for d, t in wh.query(
        "SELECT d.destination, sum(w.weight) FROM survey_destination d JOIN survey_weight w ON w.survey = d.survey "
        "AND w.respondent = d.respondent AND w.scheme = 'calage' WHERE d.survey = ? AND d.motive = ? "
        "GROUP BY d.destination", (SURVEY, motive))]


def motive_page(texts: list[str], motive: str) -> str:
    label = MOTIVES[motive]
    return next(t for t in texts if f"\n{label}\n" in t and "flux domicile → destination" in t)


def test_the_cli_says_what_it_made_and_the_report_has_every_part(made):
    output, pdf, xlsx, texts, _wh = made
    flat = " ".join(output.split())
    assert f"rapport_enquete_{SURVEY}.pdf ({len(texts)} pages)" in flat and xlsx.name in flat
    assert pdf.exists() and xlsx.exists()
    # 2 pages of synthesis and method, 2 per motive (flows, catchments), estimates, interviews, sources
    assert 7 * 2 + 3 <= len(texts) <= 7 * 2 + 6
    assert texts[-1].count("page") and f"page {len(texts)} sur" in texts[-1].replace("\n", " ")
    for page in texts:  # the demo mark on every page
        assert "Données fictives de démonstration" in page
    whole = "\n".join(texts)
    for title in ("Synthèse par motif", "Méthode", "Attraction des pôles", "Évasion hors du territoire d'étude",
                  "zones de chalandise des principaux pôles", "Principales estimations", "Entretiens : thèmes abordés",
                  "Citations", "Sources et méthode de calcul"):
        assert title in whole, title
    for motive in MOTIVES:
        page = motive_page(texts, motive)
        assert "Seuil : flux d'au moins" in page.replace("\n", " ")


def test_attraction_and_leakage_of_culture_as_printed(made):
    _output, _pdf, _xlsx, texts, wh = made
    trips = motive_trips(wh, "culture")
    total = sum(t for _d, t in trips)
    lille = dict(trips)[LILLE]
    inside = {c for (c,) in wh.query("SELECT DISTINCT child_code FROM membership WHERE parent_code = 'PMA' "
                                     "AND child_level = 'commune'")}
    outside = sum(t for d, t in trips if d not in inside)
    page = motive_page(texts, "culture")
    flowing = " ".join(page.split())
    assert f"Premier pôle : Lille, avec {pct(lille / total)} des déplacements" in flowing
    assert f"Lille non {plain(fmt.number(lille))} {pct(lille / total)}" in flowing  # the attraction table's row
    assert f"Évasion hors du territoire d'étude : {pct(outside / total)}" in flowing
    assert f"{plain(fmt.number(total))} déplacements pondérés" in flowing
    # small poles are flagged unreliable, with the footnote
    assert "(f)" in page and "(f) valeur fragile" in page


def test_practice_of_each_motive_and_the_weighting_as_printed(made):
    _output, _pdf, _xlsx, texts, wh = made
    weights = dict(wh.query("SELECT respondent, weight FROM survey_weight WHERE survey = ? AND scheme = 'calage'", (SURVEY,)))
    total = sum(weights.values())
    first = " ".join(texts[0].split()) + " " + " ".join(texts[1].split())
    for motive in ("achats_quotidiens", "culture"):
        practising = {r for (r,) in wh.query("SELECT DISTINCT respondent FROM survey_destination WHERE survey = ? AND motive = ?",
                                             (SURVEY, motive))}
        share = sum(weights[r] for r in practising) / total
        assert f"{MOTIVES[motive]} {pct(share)}" in first, motive
    kish = total ** 2 / sum(w * w for w in weights.values())
    assert f"{plain(fmt.number(kish, 0))} Taille effective (Kish)" in first
    assert f"{plain(fmt.number(len(weights) / kish, 3))} Effet de plan (pondération)" in first
    assert "raking ratio" in first and "Sexe × Tranche d'âge : Femme, 75 ans ou plus" in first


def test_key_estimates_and_interviews_as_printed(made):
    _output, _pdf, _xlsx, texts, wh = made
    whole = " ".join("\n".join(texts).split())
    (car,) = wh.query(
        "SELECT sum(CASE WHEN a.answer = '1' THEN w.weight ELSE 0 END) / sum(w.weight) FROM survey_answer a "
        "JOIN survey_weight w ON w.survey = a.survey AND w.respondent = a.respondent AND w.scheme = 'calage' "
        "WHERE a.survey = ? AND a.variable = 'voiture'", (SURVEY,))[0]
    assert "Dispose d'une voiture : part des « Oui »" in whole
    assert f"Ensemble {pct(car)}" in whole
    assert "Par EPCI de résidence : Test du χ² de Pearson corrigé de Rao et Scott" in whole
    (interviews,) = wh.query("SELECT count(*) FROM survey_interview WHERE survey = ?", (SURVEY,))[0]
    (living,) = wh.query("SELECT count(DISTINCT interview) FROM survey_coding WHERE survey = ? AND theme = 'cadre_de_vie'",
                         (SURVEY,))[0]
    assert f"Cadre de vie et attachement {living} sur {interviews} ({pct(living / interviews, 0)})" in whole
    (quote,) = wh.query("SELECT excerpt FROM survey_coding WHERE survey = ? AND theme = 'sport' ORDER BY interview, excerpt_no "
                        "LIMIT 1", (SURVEY,))[0]
    assert f"« {plain(quote)} »" in whole


def test_the_data_pack_holds_the_figures_of_the_report(made):
    import openpyxl
    _output, _pdf, xlsx, _texts, wh = made
    rows = list(openpyxl.load_workbook(xlsx)["Chiffres"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}
    trips = motive_trips(wh, "culture")
    lille = next(r for r in body if r[col["Indicateur (identifiant)"]] == "attraction_part" and r[col["Code du territoire"]] == LILLE
                 and r[col["Thème"]] == "Motif : Culture")
    assert lille[col["Valeur"]] == pytest.approx(100 * dict(trips)[LILLE] / sum(t for _d, t in trips), rel=1e-9)
    assert lille[col["Données fictives"]] == "oui"
    assert {r[col["Thème"]] for r in body} >= {"Méthode", "Estimations", "Entretiens"} | {f"Motif : {m}" for m in MOTIVES.values()}


def test_the_culture_flow_map_is_drawn(made, tmp_path):
    from PIL import Image

    _output, pdf, _xlsx, texts, _wh = made
    number = texts.index(motive_page(texts, "culture")) + 1
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", str(number), "-l", str(number), str(pdf), str(tmp_path / "p")],
                   check=True)
    image = Image.open(next(tmp_path.glob("p*.png"))).convert("RGB")
    w, h = image.size
    area = image.crop((int(w * 0.06), int(h * 0.17), int(w * 0.72), int(h * 0.50)))  # the flow map
    pixels = list(area.get_flattened_data())
    leaving = sum(1 for r, g, b in pixels if r > 170 and 60 < g < 150 and b < 110)  # orange lines to Lille and Arras
    non_white = sum(1 for r, g, b in pixels if r + g + b < 740)
    assert leaving > 300
    assert non_white > 0.3 * len(pixels)


def test_unknown_survey_is_a_french_error(demo_warehouse, tmp_path):
    result = CliRunner().invoke(app, ["enquete", "rapport", "--enquete", "inconnue", "--sortie", str(tmp_path)],
                                env={"VIGIE_DATABASE": str(demo_warehouse)})
    assert result.exit_code == 1
    assert "Aucune enquête « inconnue » dans l'entrepôt (enquêtes : usages_pma_demo)" in " ".join(result.output.split())
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------------------------- a six-respondent survey
def test_a_tiny_survey_without_weights_contours_or_interviews_still_gets_its_report(wh, tmp_path):
    from tests.test_enquete_helpers import MINI, seed_territory
    from vigie.modules.enquete.importer import import_survey
    from vigie.modules.enquete.report import make_report

    seed_territory(wh)
    import_survey(wh, MINI / "enquete_mini.csv", MINI / "enquete_mini.yaml")
    made = make_report(wh, "mini", tmp_path)
    texts = [plain(p.extract_text()) for p in PdfReader(str(made.pdf)).pages]
    whole = " ".join("\n".join(texts).split())
    assert made.pages == len(texts) and made.xlsx.exists()
    assert "Aucune pondération enregistrée : les estimations utilisent les poids de sondage." in whole
    assert "Carte non disponible : contours des communes absents de l'entrepôt." in whole
    assert "Loisirs" in whole and "Culture" in whole and "Entretiens" not in whole
    assert "(f) valeur fragile" in whole  # six respondents: every share is unreliable
    assert "Données fictives de démonstration" not in whole


def test_a_tiny_survey_with_squares_for_contours_weights_and_interviews(wh, tmp_path):
    from tests.test_enquete_helpers import MINI, seed_geometries, seed_territory
    from vigie.modules.enquete.calibration import CategoricalMargin
    from vigie.modules.enquete.importer import import_survey
    from vigie.modules.enquete.interviews import import_interviews
    from vigie.modules.enquete.report import make_report
    from vigie.modules.enquete.weighting import weight_survey

    seed_territory(wh)
    seed_geometries(wh)
    import_survey(wh, MINI / "enquete_mini.csv", MINI / "enquete_mini.yaml")
    weight_survey(wh, "mini", [CategoricalMargin("sexe", {"1": 60, "2": 60})])
    import_interviews(wh, MINI / "entretiens_mini.csv", MINI / "grille_mini.yaml", "mini")
    made = make_report(wh, "mini", tmp_path, datapack=False)
    whole = " ".join(" ".join(plain(p.extract_text()) for p in PdfReader(str(made.pdf)).pages).split())
    assert made.xlsx is None
    assert "Pondération « calage » : calage sur marges" in whole and "Sexe : Homme 60 " in whole
    assert "Entretiens : thèmes abordés" in whole and "Citations" in whole
    # Lille has no position in this codebook: named instead of drawn
    assert "Sans position connue, non dessinés : Lille." in whole
