"""Survey import: a good file lands whole (CSV and XLSX), every bad case is named by file, line and column and leaves
nothing behind; weighting a stored survey on both backends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vigie.errors import ImportValidationError
from vigie.modules.enquete.calibration import CalibrationError, CategoricalMargin
from vigie.modules.enquete.codebook import load_codebook
from vigie.modules.enquete.flows import FlowReader
from vigie.modules.enquete.importer import import_survey
from vigie.modules.enquete.interviews import import_interviews, theme_counts
from vigie.modules.enquete.margins import load_margins
from vigie.modules.enquete.survey import load_survey, surveys
from vigie.modules.enquete.weighting import weight_survey
from vigie.warehouse import connect

from tests.test_enquete_helpers import CABBALR, CALL, MINI, seed_territory

GOOD_CSV = (MINI / "enquete_mini.csv").read_text(encoding="utf-8")
CODEBOOK = MINI / "enquete_mini.yaml"


@pytest.fixture
def territory(wh):
    seed_territory(wh)
    return wh


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One seeded warehouse for the tests whose imports fail validation (they never write)."""
    warehouse = connect(str(tmp_path_factory.mktemp("enquete") / "refus.duckdb"))
    seed_territory(warehouse)
    yield warehouse
    warehouse.close()


def write(tmp_path, text: str, name: str = "enquete_mini.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def survey_rows(wh) -> int:
    tables = {r[0] for r in wh.query("SELECT table_name FROM information_schema.tables")}
    return wh.query("SELECT count(*) FROM survey_respondent")[0][0] if "survey_respondent" in tables else 0


def test_good_file_is_stored_whole(territory):
    wh = territory
    result = import_survey(wh, MINI / "enquete_mini.csv", CODEBOOK)
    assert (result.survey, result.respondents, result.unchanged) == ("mini", 6, False)
    assert result.rows["survey_destination"] == 12  # leisure: 6 first places + 2 second ones; culture: 4
    source = wh.source(result.source_id)
    assert source["kind"] == "enquete" and source["dataset"] == "enquete:mini" and not source["synthetic"]
    assert source["rows"] == sum(result.rows.values())
    survey = load_survey(wh, "mini")
    frame = survey.frame.set_index("respondent")
    assert list(frame.index) == ["R01", "R02", "R03", "R04", "R05", "R06"]
    assert frame.loc["R01", "epci"] == CALL and frame.loc["R04", "epci"] == CABBALR
    assert frame.loc["R03", "design_weight"] == 15.0
    assert frame.loc["R05", "age"] == "75+" and frame.loc["R02", "sexe"] == "2"
    assert np.isnan(frame.loc["R03", "sorties"]) and frame.loc["R06", "sorties"] == 6.5  # "NSP" = no answer
    dest = survey.destinations
    loisirs = dest[dest["motive"] == "loisirs"]
    assert len(loisirs) == 8 and len(dest[dest["motive"] == "culture"]) == 4
    assert set(loisirs.loc[loisirs["respondent"] == "R01", "destination"]) == {"62498", "59350"}
    assert survey.codebook.variables["age"].modalities["75+"] == "75 ans ou plus"
    listed = surveys(wh)
    assert list(listed["id"]) == ["mini"] and listed["respondents"].iloc[0] == 6
    # Same file again: nothing changes.
    again = import_survey(wh, MINI / "enquete_mini.csv", CODEBOOK)
    assert again.unchanged and again.source_id == result.source_id


def test_xlsx_file_gives_the_same_survey(territory, tmp_path):
    wh = territory
    frame = pd.read_csv(MINI / "enquete_mini.csv", sep=";", dtype=str, keep_default_na=False)
    path = tmp_path / "enquete_mini.xlsx"
    frame.to_excel(path, index=False, sheet_name="réponses")
    import_survey(wh, path, CODEBOOK)
    survey = load_survey(wh, "mini")
    assert len(survey.frame) == 6 and len(survey.destinations) == 12
    assert survey.frame.set_index("respondent").loc["R04", "commune"] == "62119"


def test_a_new_version_replaces_the_survey_and_its_weights(territory, tmp_path):
    wh = territory
    import_survey(wh, MINI / "enquete_mini.csv", CODEBOOK)
    weight_survey(wh, "mini", [CategoricalMargin("sexe", {"1": 60, "2": 60})], method="linear")
    assert wh.query("SELECT count(*) FROM survey_weight")[0][0] == 6
    shorter = "\n".join(GOOD_CSV.splitlines()[:-1]) + "\n"
    result = import_survey(wh, write(tmp_path, shorter), CODEBOOK)
    assert result.respondents == 5 and not result.unchanged
    assert wh.query("SELECT count(*) FROM survey_respondent")[0][0] == 5
    assert wh.query("SELECT count(*) FROM survey_weight")[0][0] == 0  # weights of the old respondents are gone
    assert wh.query("SELECT count(*) FROM source WHERE dataset = 'enquete:mini'")[0][0] == 1


BAD_CASES = [
    # (what, change to the good file, expected line, column, words of the message)
    ("modalité inconnue", ("R02;62498;10;2;30-44", "R02;62498;10;3;30-44"), 3, "sexe", "modalité « 3 » inconnue pour « Sexe »"),
    ("commune hors référentiel", ("R04;62119", "R04;62999"), 5, "commune", "code commune inconnu « 62999 »"),
    ("répondant en double", ("R05;62119", "R02;62119"), 6, "id", "ligne en double (id = R02), déjà présente ligne 3"),
    ("identifiant vide", ("R06;62119", ";62119"), 7, "id", "identifiant de répondant vide"),
    ("poids manquant", ("R03;62498;15;", "R03;62498;;"), 4, "poids", "poids manquant"),
    ("poids négatif", ("R05;62119;20;", "R05;62119;-20;"), 6, "poids", "poids nul ou négatif"),
    ("destination inconnue", ("62119;62498;62119", "62119;62498;59999"), 5, "culture", "destination « 59999 » (culture) inconnue"),
    ("nombre illisible", (";6.5;", ";beaucoup;"), 7, "sorties", "valeur non numérique « beaucoup »"),
    ("commune vide", ("R01;62498;10", "R01;;10"), 2, "commune", "commune de résidence non renseignée"),
]


@pytest.mark.parametrize("what, change, line, column, words", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_each_bad_case_is_named_and_nothing_is_imported(shared, tmp_path, what, change, line, column, words):
    wh = shared
    old, new = change
    assert old in GOOD_CSV
    path = write(tmp_path, GOOD_CSV.replace(old, new, 1))
    sources = wh.query("SELECT count(*) FROM source")[0][0]
    with pytest.raises(ImportValidationError) as caught:
        import_survey(wh, path, CODEBOOK)
    error = caught.value
    assert (error.file, error.line, error.column) == ("enquete_mini.csv", line, column)
    assert words in error.problem, error.problem
    assert error.message.startswith(f"fichier « enquete_mini.csv », ligne {line}, colonne « {column} » :")
    assert wh.query("SELECT count(*) FROM source")[0][0] == sources
    assert survey_rows(wh) == 0


def test_missing_weight_column_the_codebook_declares(shared, tmp_path):
    wh = shared
    frame = pd.read_csv(MINI / "enquete_mini.csv", sep=";", dtype=str, keep_default_na=False).drop(columns="poids")
    path = tmp_path / "sans_poids.csv"
    frame.to_csv(path, sep=";", index=False)
    with pytest.raises(ImportValidationError, match="la variable de poids « poids » déclarée dans le dictionnaire est absente") as caught:
        import_survey(wh, path, CODEBOOK)
    assert (caught.value.line, caught.value.column) == (1, "poids")
    frame = pd.read_csv(MINI / "enquete_mini.csv", sep=";", dtype=str, keep_default_na=False).drop(columns="loisirs_2")
    frame.to_csv(path, sep=";", index=False)
    with pytest.raises(ImportValidationError, match="absente du fichier") as caught:
        import_survey(wh, path, CODEBOOK)
    assert caught.value.column == "loisirs_2"
    assert survey_rows(wh) == 0


def test_a_half_written_import_is_rolled_back(territory, tmp_path, monkeypatch):
    """A failure while writing (after validation) leaves neither the source nor any survey row."""
    wh = territory
    sources = wh.query("SELECT count(*) FROM source")[0][0]
    real = wh.insert_frame

    def failing(table, frame):
        if table == "survey_destination":
            raise RuntimeError("disque plein")
        return real(table, frame)

    monkeypatch.setattr(wh, "insert_frame", failing)
    with pytest.raises(RuntimeError):
        import_survey(wh, MINI / "enquete_mini.csv", CODEBOOK)
    monkeypatch.undo()
    assert wh.query("SELECT count(*) FROM source")[0][0] == sources
    assert survey_rows(wh) == 0 and wh.query("SELECT count(*) FROM survey")[0][0] == 0


CODEBOOK_ERRORS = [
    ("motif inconnu", ("  culture: culture", "  cinema: culture"), "motif « cinema » inconnu", "motives.cinema"),
    ("identifiant absent", ("respondent: id\n", ""), "clé « respondent » obligatoire absente", "respondent"),
    ("modalités absentes", ("    label: Sexe\n    modalities: {\"1\": Homme, \"2\": Femme}\n", "    label: Sexe\n"),
     "variable « sexe » : donnez ses modalités", "variables.sexe"),
    ("type inconnu", ("    type: numeric", "    type: date"), "type « date » inconnu", "variables.sorties.type"),
    ("profil non déclaré", ("age_group: age}", "age_group: tranche}"), "profil « age_group »", "profile.age_group"),
]


@pytest.mark.parametrize("what, change, words, column", CODEBOOK_ERRORS, ids=[c[0] for c in CODEBOOK_ERRORS])
def test_codebook_errors_name_the_key_and_its_line(tmp_path, what, change, words, column):
    text = CODEBOOK.read_text(encoding="utf-8")
    old, new = change
    assert old in text
    bad = text.replace(old, new, 1)
    path = tmp_path / "dictionnaire.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ImportValidationError) as caught:
        load_codebook(path)
    assert words in caught.value.problem and caught.value.column == column
    assert caught.value.file == "dictionnaire.yaml"
    if what in ("motif inconnu", "type inconnu"):
        key = new.strip().split(":")[0]
        assert bad.splitlines()[caught.value.line - 1].strip().startswith(key)


def test_margins_file(tmp_path):
    path = tmp_path / "marges.yaml"
    path.write_text("population: 200\nshares: true\nmargins:\n  sexe: {'1': 0.4, '2': 0.6}\ntotals:\n  sorties: 500\n",
                    encoding="utf-8")
    margins, population = load_margins(path)
    assert population == 200.0
    assert dict(margins[0].totals) == {"1": 80.0, "2": 120.0} and margins[1].total == 500.0


@pytest.mark.parametrize("backend_wh", ["duckdb", "postgres"], indirect=True)
def test_import_and_weighting_on_both_backends(backend_wh):
    wh = backend_wh
    seed_territory(wh)
    import_survey(wh, MINI / "enquete_mini.csv", CODEBOOK)
    # Post-stratification on sex (men R01 R03 R05: 45 → 60; women R02 R04 R06: 50 → 60).
    result = weight_survey(wh, "mini", [CategoricalMargin("sexe", {"1": 60.0, "2": 60.0})], method="raking")
    assert result.calibration.converged
    stored = wh.query_df("SELECT respondent, initial_weight, weight FROM survey_weight WHERE survey = 'mini' ORDER BY respondent")
    expected = {"R01": 10 * 60 / 45, "R02": 10 * 60 / 50, "R03": 15 * 60 / 45, "R04": 20 * 60 / 50, "R05": 20 * 60 / 45,
                "R06": 20 * 60 / 50}
    assert dict(zip(stored["respondent"], stored["weight"])) == pytest.approx(expected, rel=1e-12)
    survey = load_survey(wh, "mini")
    design = survey.design("calage")
    assert design.weights == pytest.approx([expected[r] for r in survey.frame["respondent"]])
    share = design.shares(survey.frame["sexe"]).set_index("modalite")
    assert share.loc["1", "part"] == pytest.approx(0.5) and share.loc["1", "erreur_type"] < 1e-12  # calibrated: exact
    report = survey.weighting("calage")
    assert report["method"] == "raking" and bool(report["converged"])
    with pytest.raises(CalibrationError, match="incohérentes"):
        weight_survey(wh, "mini", [CategoricalMargin("sexe", {"1": 60.0, "2": 60.0})], method="raking", population=100)
    # The failed weighting left the stored one untouched.
    assert wh.query("SELECT count(*) FROM survey_weight WHERE survey = 'mini'")[0][0] == 6
    # Flows and interviews read the same on both backends.
    leak = FlowReader(survey, "calage").leakage("loisirs", by=None)
    lille = expected["R01"] + expected["R06"]  # R01 (2 trips) and R06 (1 trip) name Lille
    trips = 2 * expected["R01"] + expected["R02"] + expected["R03"] + 2 * expected["R04"] + expected["R05"] + expected["R06"]
    assert leak["evasion"].iloc[0] == pytest.approx(lille / trips)
    notes = import_interviews(wh, MINI / "entretiens_mini.csv", MINI / "grille_mini.yaml", "mini")
    assert (notes.interviews, notes.codings) == (3, 6)
    assert theme_counts(wh, "mini").set_index("theme").loc["mobilite", "entretiens"] == 2


def test_the_generic_import_command_cannot_record_an_empty_survey(shared):
    from vigie.modules.enquete.importer import SurveyImporter
    from vigie.sources.base import run_import

    sources = shared.query("SELECT count(*) FROM source")[0][0]
    with pytest.raises(ImportValidationError, match="vigie enquete importer"):
        run_import(shared, SurveyImporter(MINI / "enquete_mini.csv", CODEBOOK))
    assert shared.query("SELECT count(*) FROM source")[0][0] == sources
