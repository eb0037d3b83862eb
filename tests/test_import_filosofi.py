"""Filosofi importer: official INSEE IRIS and commune files, and the demo's curated CSVs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vigie.errors import ImportValidationError
from vigie.sources.base import run_import
from vigie.sources.filosofi import FilosofiImporter
from vigie.sources.registry import importer_class
from tests.support import seed_communes

FIX = Path(__file__).parent / "fixtures" / "filosofi"
DEMO = Path(__file__).parents[1] / "data" / "demo"
COMMUNES = {"62119": "Béthune", "62427": "Hénin-Beaumont", "62498": "Lens", "62510": "Liévin", "62001": "Ablain-Saint-Nazaire"}


def value(wh, indicator: str, code: str, level: str = "commune", year: int = 2021):
    rows = wh.query(
        "SELECT value, status, cog FROM value WHERE indicator = ? AND code = ? AND level = ? AND year = ?",
        (indicator, code, level, year),
    )
    assert len(rows) == 1, rows
    return rows[0]


def demo_communes(cog: int) -> dict[str, str]:
    table = pd.read_csv(DEMO / "referentiel" / "table_appartenance_communes_62_2012_2024.csv", dtype=str, keep_default_na=False)
    rows = table[table["ANNEE_COG"] == str(cog)]
    return dict(zip(rows["CODGEO"], rows["LIBGEO"]))


def test_registry_knows_the_filosofi_kind():
    assert importer_class("filosofi") is FilosofiImporter


def test_official_iris_file(wh):
    seed_communes(wh, COMMUNES, cog=2023)
    importer = FilosofiImporter(FIX / "BASE_TD_FILO_IRIS_2021_DISP.csv")
    assert importer.layout().name == "officiel IRIS"
    report = run_import(wh, importer)
    # 3 IRIS × 27 DISP_ variables (DISP_NOTE21 is left out, and said so).
    assert report.rows == {"indicator": 27, "territory": 3, "membership": 3, "value": 81}
    assert report.messages == ["Colonnes Filosofi non reprises : DISP_NOTE21."]
    assert importer.dataset() == "filosofi:iris:base_td_filo_iris_2021_disp"
    assert wh.sources().iloc[-1]["vintage"] == "Filosofi 2021"

    assert value(wh, "revenu_median_uc", "624980101", "iris") == (pytest.approx(13880), "ok", 2023)
    assert value(wh, "taux_pauvrete_60", "624980101", "iris")[:2] == (pytest.approx(49), "ok")
    assert value(wh, "gini", "624980102", "iris")[:2] == (pytest.approx(0.249), "ok")
    assert value(wh, "revenu_d9_uc", "624980102", "iris")[:2] == (pytest.approx(30900), "ok")
    assert value(wh, "part_impots", "624980101", "iris")[:2] == (pytest.approx(-11.9), "ok")
    # "ns" (non significatif) and "nd" carry no value.
    v, status, _ = value(wh, "taux_pauvrete_60", "625100101", "iris")
    assert status == "missing" and (v is None or np.isnan(v))
    assert value(wh, "gini", "625100101", "iris")[1] == "missing"
    assert value(wh, "revenu_median_uc", "625100101", "iris")[:2] == (pytest.approx(21530), "ok")

    ind = wh.indicators().set_index("id")
    assert ind.loc["revenu_median_uc", ["kind", "unit"]].tolist() == ["median", "€"]
    assert ind.loc["taux_pauvrete_60", ["kind", "unit"]].tolist() == ["published_rate", "%"]
    assert ind.loc["gini", "kind"] == "index"
    assert ind.loc["revenu_q1_uc", ["kind", "unit"]].tolist() == ["index", "€"]
    # IRIS created under the commune of their first five characters; names fall back on code and commune.
    lens = wh.find_territory("62498", "commune")
    assert list(wh.members(lens, "iris")["code"]) == ["624980101", "624980102"]
    assert wh.find_territory("625100101", "iris").name == "IRIS 625100101 (Liévin)"


def test_official_commune_files_with_and_without_prefix(wh):
    seed_communes(wh, COMMUNES, cog=2023)
    seed_communes(wh, COMMUNES, cog=2024)
    importer = FilosofiImporter(FIX / "BASE_TD_FILO_COM_2021_DISP.csv")
    assert importer.layout().level == "commune"
    run_import(wh, importer)
    assert value(wh, "revenu_median_uc", "62498") == (pytest.approx(17250), "ok", 2023)
    assert value(wh, "part_minima_sociaux", "62498")[:2] == (pytest.approx(7.5), "ok")
    assert value(wh, "part_minima_sociaux", "62510")[1] == "secret"
    assert value(wh, "revenu_q3_uc", "62119")[:2] == (pytest.approx(26180), "ok")

    # Unprefixed INSEE commune file (MED21, TP6021…): other variables (NBMENFISC21, PIMP21) are not taken.
    other = FilosofiImporter(FIX / "cc_filosofi_2021_COM.csv", cog=2024)
    report = run_import(wh, other)
    assert report.rows["value"] == 2 * 5
    rows = wh.query("SELECT value FROM value WHERE indicator = 'rapport_interdecile' AND code = '62498' AND cog = 2024")
    assert rows == [(pytest.approx(3.3),)]


def test_demo_commune_file(wh):
    seed_communes(wh, demo_communes(2023), cog=2023)
    path = DEMO / "revenus" / "filosofi2021_communes_62.csv"
    importer = FilosofiImporter(path)
    assert importer.layout().name == "communes (démo)"
    report = run_import(wh, importer)
    assert report.rows["value"] == 847 * 2
    assert value(wh, "revenu_median_uc", "62498") == (pytest.approx(17250), "ok", 2023)
    assert value(wh, "part_minima_sociaux", "62498")[:2] == (pytest.approx(7.5), "ok")
    assert value(wh, "part_minima_sociaux", "62001")[1] == "missing"
    assert value(wh, "revenu_median_uc", "62001")[:2] == (pytest.approx(25590), "ok")


def test_demo_iris_file(wh):
    seed_communes(wh, demo_communes(2023), cog=2023)
    report = run_import(wh, FilosofiImporter(DEMO / "revenus" / "filosofi2021_iris_62.csv"))
    assert report.rows["territory"] == 324 and report.rows["membership"] == 324
    assert report.rows["value"] == 324 * 3
    assert value(wh, "revenu_median_uc", "624980101", "iris")[:2] == (pytest.approx(13880), "ok")
    assert value(wh, "taux_pauvrete_60", "624980204", "iris")[:2] == (pytest.approx(59), "ok")
    assert value(wh, "gini", "624980303", "iris")[:2] == (pytest.approx(0.306), "ok")
    lens = wh.find_territory("62498", "commune")
    assert len(wh.members(lens, "iris")) == 13


def test_year_comes_from_option_when_columns_do_not_say(wh, tmp_path):
    seed_communes(wh, COMMUNES, cog=2023)
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, FilosofiImporter(FIX / "filosofi_communes_sans_annee.csv"))
    assert "--option year=" in err.value.message and "filosofi_communes_sans_annee.csv" in err.value.message
    run_import(wh, FilosofiImporter(FIX / "filosofi_communes_sans_annee.csv", year="2021"))
    assert value(wh, "revenu_median_uc", "62498") == (pytest.approx(17250), "ok", 2023)


def test_unknown_commune_is_named_with_line_and_column(wh, tmp_path):
    seed_communes(wh, {c: n for c, n in COMMUNES.items() if c != "62510"}, cog=2023)
    before = wh.digest()
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, FilosofiImporter(FIX / "BASE_TD_FILO_COM_2021_DISP.csv"))
    assert (err.value.file, err.value.line, err.value.column) == ("BASE_TD_FILO_COM_2021_DISP.csv", 4, "CODGEO")
    assert "62510" in err.value.message
    # IRIS file: the commune is the IRIS code's first five characters, reported on the IRIS column.
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, FilosofiImporter(FIX / "BASE_TD_FILO_IRIS_2021_DISP.csv"))
    assert (err.value.line, err.value.column) == (4, "IRIS")
    assert wh.digest() == before


def test_a_file_of_another_kind_is_refused(wh):
    seed_communes(wh, COMMUNES, cog=2023)
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, FilosofiImporter(DEMO / "logement" / "lovac2025_taux_vacance_communes_62.csv", year=2021))
    assert err.value.line == 1
    assert "n'a pas la forme d'un fichier Filosofi" in err.value.message
    assert "INSEE_C" in err.value.message


def test_catalogue_reads_the_filosofi_variables():
    from vigie.engine.catalogue import load_catalogue
    from vigie.sources.filosofi import MEASURES

    wanted = {name for d in load_catalogue().values() if d.source.startswith("INSEE, Filosofi") for name in d.inputs}
    assert wanted and wanted <= {m.id for m in MEASURES.values()}, sorted(wanted)
