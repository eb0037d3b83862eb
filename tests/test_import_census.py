"""Census importer (kind "recensement"): INSEE base-cc, base-ic and QPV files, in their official layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vigie.errors import ImportValidationError
from vigie.sources.base import run_import
from vigie.sources.census import CensusImporter, read_dictionary
from vigie.sources.registry import importer_class
from tests.support import add_source, seed_communes

FIX = Path(__file__).parent / "fixtures" / "census"
DEMO = Path(__file__).parents[1] / "data" / "demo"
COMMUNES = {"62119": "Béthune", "62427": "Hénin-Beaumont", "62498": "Lens", "62510": "Liévin"}


def value(wh, indicator: str, code: str, year: int, level: str = "commune") -> tuple[float | None, str]:
    rows = wh.query(
        "SELECT value, status FROM value WHERE indicator = ? AND code = ? AND year = ? AND level = ?",
        (indicator, code, year, level),
    )
    assert len(rows) == 1, rows
    return rows[0]


def test_registry_knows_the_census_kind():
    assert importer_class("recensement") is CensusImporter


def test_base_cc_imports_every_variable_and_year(wh):
    seed_communes(wh, COMMUNES, cog=2023)
    importer = CensusImporter(FIX / "base-cc-logement-2021.CSV")
    report = run_import(wh, importer)
    # 4 communes × 9 variable columns (P21_ ×5, C21_ ×1, P15_ ×2, P10_ ×1); 6 distinct indicators.
    assert report.rows == {"indicator": 6, "value": 36}
    assert importer.dataset() == "recensement:commune:base-cc-logement-2021"
    src = wh.sources().iloc[-1]
    assert src["vintage"] == "RP 2021" and src["kind"] == "recensement" and not src["synthetic"]

    assert value(wh, "p_log", "62119", 2021) == (pytest.approx(14236.4101), "ok")
    assert value(wh, "p_log", "62119", 2015) == (pytest.approx(14012.0), "ok")
    assert value(wh, "p_log", "62427", 2010) == (pytest.approx(11800.5), "ok")
    assert value(wh, "p_rsecocc", "62119", 2021) == (pytest.approx(102.883), "ok")
    assert value(wh, "c_rp_hstu1p", "62427", 2021) == (pytest.approx(9102.2), "ok")
    # Markers: "s" is secret, an empty cell and "nd" are missing.
    assert value(wh, "c_rp_hstu1p", "62498", 2021)[1] == "secret"
    v, status = value(wh, "p_rsecocc", "62510", 2021)
    assert status == "missing" and v is None or np.isnan(v)
    assert value(wh, "p_log", "62510", 2010)[1] == "missing"
    # Default COG = latest year + 2; years 2021, 2015, 2010.
    assert wh.query("SELECT DISTINCT cog FROM value") == [(2023,)]
    assert wh.value_years("p_log") == [2010, 2015, 2021]
    assert wh.value_years("p_men") == [2021]
    # Sum by hand of P21_LOG: 14236.4101 + 12102.12 + 17685 + 14807.5172
    total = wh.query("SELECT sum(value) FROM value WHERE indicator = 'p_log' AND year = 2021")[0][0]
    assert total == pytest.approx(58831.0473)


def test_builtin_labels_theme_and_unit(wh):
    seed_communes(wh, COMMUNES, cog=2023)
    run_import(wh, CensusImporter(FIX / "base-cc-logement-2021.CSV"))
    ind = wh.indicators().set_index("id")
    assert ind.loc["p_log", "label"] == "Logements"
    assert ind.loc["p_rsecocc", "label"] == "Résidences secondaires et logements occasionnels"
    assert ind.loc["p_men", "label"] == "Ménages"
    assert ind.loc["p_log", "theme"] == "logement"
    assert ind.loc["p_log", "unit"] == "logements"
    assert ind.loc["p_men", "unit"] == "ménages"
    assert ind.loc["p_log", "kind"] == "stock" and ind.loc["p_log", "decimals"] == 0
    # No built-in label: the variable name, without its year.
    assert ind.loc["c_rp_hstu1p", "label"] == "C_RP_HSTU1P"
    assert "exploitation complémentaire" in ind.loc["c_rp_hstu1p", "definition"]


def test_dictionary_labels_match_any_year(wh):
    seed_communes(wh, COMMUNES, cog=2022)
    importer = CensusImporter(
        FIX / "base-cc-emploi-pop-active-2020.CSV", dictionary=str(FIX / "meta_base-cc-emploi-pop-active-2020.csv")
    )
    run_import(wh, importer)
    ind = wh.indicators().set_index("id")
    # Latin-1, ";"-separated dictionary; year and "(princ)/(compl)" removed from LIB_VAR.
    assert ind.loc["p_chom1564", "label"] == "Chômeurs 15-64 ans"
    assert ind.loc["c_act1564_cs6", "label"] == "Actifs 15-64 ans Ouvriers"
    assert ind.loc["p_emplt", "label"] == "Emplois au LT"
    assert ind.loc["p_emplt", "unit"] == "emplois"
    assert ind.loc["p_pop1564", "unit"] == "personnes"
    assert ind.loc["p_pop1564", "theme"] == "économie-emploi"
    assert ind.loc["p_pop1564", "definition"].startswith("Nombre de personnes de 15 à 64 ans (")
    # P14_POP1564 is in the file, the dictionary only describes P20_POP1564: same indicator, both years.
    assert wh.value_years("p_pop1564") == [2014, 2020]
    assert value(wh, "p_pop1564", "62510", 2014) == (pytest.approx(19200.75), "ok")
    # Header with CODGEO only (no REG/DEP/LIBGEO) is accepted.
    assert wh.query("SELECT count(*) FROM value")[0][0] == 12
    # A dictionary that cannot be found is named, before the data file is read.
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, CensusImporter(FIX / "base-cc-emploi-pop-active-2020.CSV", dictionary="meta_absent.csv"))
    assert err.value.file == "meta_absent.csv" and "dictionnaire des variables introuvable" in err.value.message


def test_real_insee_dictionary_of_the_demo():
    labels = read_dictionary(DEMO / "insee_rp" / "meta" / "meta_base-cc-logement-2021_variables.csv")
    assert labels["P_LOG"][1] == "Logements"
    assert labels["P_RP"][1] == "Résidences principales"
    assert labels["P_RP_ACH19"][1] == "Rés princ avt 1919"
    assert labels["P_LOGVAC"][2] == "Nombre de logements vacants"
    assert labels["P_LOG"][0] == 2021  # the latest year wins


def test_iris_base_creates_iris_territories_with_latin1_names(wh):
    seed_communes(wh, COMMUNES, cog=2023)
    report = run_import(wh, CensusImporter(FIX / "base-ic-evol-struct-pop-2021.CSV"))
    assert report.rows == {"indicator": 5, "territory": 5, "membership": 5, "value": 30}
    iris = wh.territories("iris", cog=2023).set_index("code")["name"]
    assert iris["621190101"] == "Centre-Ville Église"
    assert iris["625100101"] == "Faubourg d'Arras – Les Résidences"  # cp1252 en dash
    assert iris["624270000"] == "Hénin-Beaumont"
    lens = wh.find_territory("62498", "commune", cog=2023)
    assert list(wh.members(lens, "iris")["code"]) == ["624980101", "624980102"]
    assert value(wh, "p_pop", "624980101", 2021, "iris") == (pytest.approx(2543.8), "ok")
    assert value(wh, "p_poph", "624980102", 2021, "iris")[1] == "secret"
    assert value(wh, "p_pop", "625100101", 2015, "iris")[1] == "missing"
    assert wh.indicators().set_index("id").loc["p_pop0014", "label"] == "Population de 0 à 14 ans"
    assert wh.indicators().set_index("id").loc["p_pop", "theme"] == "démographie"


def test_iris_reimport_keeps_its_territories(wh, tmp_path):
    """A newer version of the same file replaces the old one, IRIS territories included (not lost)."""
    seed_communes(wh, COMMUNES, cog=2023)
    path = tmp_path / "base-ic-evol-struct-pop-2021.CSV"
    raw = (FIX / "base-ic-evol-struct-pop-2021.CSV").read_bytes()
    path.write_bytes(raw)
    run_import(wh, CensusImporter(path))
    assert run_import(wh, CensusImporter(path)).unchanged
    path.write_bytes(raw.replace(b"2543.8", b"2544.8"))
    report = run_import(wh, CensusImporter(path))
    assert not report.unchanged and report.rows["territory"] == 5
    assert len(wh.territories("iris", cog=2023)) == 5
    assert value(wh, "p_pop", "624980101", 2021, "iris") == (pytest.approx(2544.8), "ok")
    assert wh.query("SELECT count(*) FROM source WHERE kind = 'recensement'")[0][0] == 1


def test_iris_already_known_are_not_created_again(wh):
    seed_communes(wh, COMMUNES, cog=2023)
    sid = add_source(wh, dataset="test:iris")
    wh.insert_frame("territory", pd.DataFrame(
        [("iris", "624980101", 2023, "Grande Résidence (contours)", sid)], columns=["level", "code", "cog", "name", "source_id"]))
    wh.insert_frame("membership", pd.DataFrame(
        [(2023, "iris", "624980101", "commune", "62498", 1.0, sid)],
        columns=["cog", "child_level", "child_code", "parent_level", "parent_code", "weight", "source_id"]))
    report = run_import(wh, CensusImporter(FIX / "base-ic-evol-struct-pop-2021.CSV"))
    assert report.rows["territory"] == 4 and report.rows["membership"] == 4
    assert wh.find_territory("624980101", "iris").name == "Grande Résidence (contours)"


def test_iris_attached_elsewhere_is_an_error(wh):
    seed_communes(wh, COMMUNES, cog=2023)
    sid = add_source(wh, dataset="test:iris")
    wh.insert_frame("membership", pd.DataFrame(
        [(2023, "iris", "624980102", "commune", "62510", 1.0, sid)],
        columns=["cog", "child_level", "child_code", "parent_level", "parent_code", "weight", "source_id"]))
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, CensusImporter(FIX / "base-ic-evol-struct-pop-2021.CSV"))
    assert err.value.line == 5 and err.value.column == "COM"
    assert "62510" in err.value.message


def test_qpv_level_is_inferred_from_codes(wh):
    sid = add_source(wh, dataset="test:qpv")
    wh.insert_frame("territory", pd.DataFrame(
        [("qpv", "QN06202M", 2024, "Camus", sid), ("qpv", "QN06203M", 2024, "Plantigeons", sid)],
        columns=["level", "code", "cog", "name", "source_id"]))
    importer = CensusImporter(FIX / "base-qpv-2021.CSV", cog="2024")
    assert importer.level() == "qpv"
    assert importer.dataset() == "recensement:qpv:base-qpv-2021"
    run_import(wh, importer)
    assert value(wh, "p_pop", "QN06202M", 2021, "qpv") == (pytest.approx(1712.4), "ok")
    assert value(wh, "p_pop65p", "QN06203M", 2021, "qpv")[1] == "secret"
    assert value(wh, "c_menpseul", "QN06203M", 2021, "qpv") == (pytest.approx(702.25), "ok")
    assert wh.query("SELECT DISTINCT cog FROM value") == [(2024,)]
    # The file name names no theme: each variable gets its own (QPV files mix every theme).
    ind = wh.indicators().set_index("id")
    assert ind.loc[["p_pop", "c_menpseul", "p_log"], "theme"].tolist() == ["démographie", "ménages", "logement"]
    assert ind.loc[["p_pop", "c_menpseul", "p_log"], "unit"].tolist() == ["personnes", "ménages", "logements"]


def test_no_territory_at_that_cog_says_what_to_do(wh):
    seed_communes(wh, COMMUNES, cog=2026)
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, CensusImporter(FIX / "base-cc-logement-2021.CSV"))
    message = err.value.message
    assert "base-cc-logement-2021.CSV" in message
    assert "aucun territoire de niveau « commune » au COG 2023" in message
    assert "2026" in message and "--option cog=" in message
    # With the right COG given as a CLI string, the same file imports.
    run_import(wh, CensusImporter(FIX / "base-cc-logement-2021.CSV", cog="2026"))
    assert wh.query("SELECT DISTINCT cog FROM value") == [(2026,)]


def test_same_figures_from_two_sources_are_refused(wh, tmp_path):
    seed_communes(wh, COMMUNES, cog=2023)
    run_import(wh, CensusImporter(FIX / "base-cc-logement-2021.CSV"))
    copy = tmp_path / "base-cc-logement-2021-copie.CSV"
    copy.write_bytes((FIX / "base-cc-logement-2021.CSV").read_bytes())
    before = wh.digest()
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, CensusImporter(copy))
    assert err.value.line == 2 and err.value.column == "P21_LOG"
    assert "déjà dans l'entrepôt" in err.value.message
    assert wh.digest() == before


def test_synthetic_option_from_cli_text_or_yaml(wh):
    seed_communes(wh, COMMUNES, cog=2023)
    for given, expected in [("true", True), ("false", False), (True, True), ("non", False), ("oui", True)]:
        report = run_import(wh, CensusImporter(FIX / "base-cc-logement-2021.CSV", synthetic=given))
        assert bool(wh.source(report.source_id)["synthetic"]) is expected, given
    assert wh.query("SELECT count(*) FROM source WHERE kind = 'recensement'") == [(1,)]
    with pytest.raises(ImportValidationError) as err:
        CensusImporter(FIX / "base-cc-logement-2021.CSV", synthetic="peut-être")
    assert "option « synthetic »" in err.value.message


def test_theme_option_overrides_the_file_name(wh):
    seed_communes(wh, COMMUNES, cog=2023)
    run_import(wh, CensusImporter(FIX / "base-cc-logement-2021.CSV", theme="habitat"))
    assert set(wh.indicators()["theme"]) == {"habitat"}


def test_iris_import_and_refusals_on_both_backends(backend_wh, tmp_path):
    """The same import, IRIS creation and cross-source refusal on DuckDB and on PostgreSQL/PostGIS."""
    wh = backend_wh
    seed_communes(wh, COMMUNES, cog=2023)
    report = run_import(wh, CensusImporter(FIX / "base-ic-evol-struct-pop-2021.CSV"))
    assert report.rows == {"indicator": 5, "territory": 5, "membership": 5, "value": 30}
    assert wh.find_territory("625100101", "iris").name == "Faubourg d'Arras – Les Résidences"
    assert value(wh, "p_pop", "624980101", 2021, "iris") == (pytest.approx(2543.8), "ok")
    assert value(wh, "p_poph", "624980102", 2021, "iris")[1] == "secret"
    copy = tmp_path / "base-ic-evol-struct-pop-2021-bis.CSV"
    copy.write_bytes((FIX / "base-ic-evol-struct-pop-2021.CSV").read_bytes())
    before = wh.digest()
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, CensusImporter(copy))
    assert (err.value.line, err.value.column) == (2, "P21_POP")
    assert wh.digest() == before
