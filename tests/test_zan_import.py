"""Import of the Cerema commune file of NAF-land consumption (real layout, 2009–2023 vintage) and its broken variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import seed_communes
from vigie.errors import ImportValidationError
from vigie.modules.foncier.cerema import CeremaConsommationImporter
from vigie.sources.base import run_import
from vigie.sources.registry import importer_class

FIXTURES = Path(__file__).parent / "fixtures" / "zan"
GOOD = FIXTURES / "conso_com_2009_2023.csv"
COMMUNES = {"62001": "Alpha", "62002": "Bêta", "62003": "Gamma", "62004": "Delta", "62005": "Epsilon"}


@pytest.fixture
def seeded(wh):
    seed_communes(wh, COMMUNES, cog=2023)
    return wh


def _variant(tmp_path: Path, edit) -> Path:
    lines = GOOD.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(";")
    rows = [line.split(";") for line in lines[1:]]
    edit(header, rows)
    path = tmp_path / "conso_variant.csv"
    path.write_text("\n".join(";".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


def _set(column: str, line: int, value: str):
    def edit(header, rows):
        rows[line - 2][header.index(column)] = value
    return edit


def test_kind_is_registered():
    assert importer_class("consommation-naf") is CeremaConsommationImporter


def test_import_real_layout(seeded):
    report = run_import(seeded, CeremaConsommationImporter(GOOD, cog=2023))
    # 5 communes × 14 years (2009…2022) × 7 variables (total + six destinations)
    assert report.rows["value"] == 5 * 14 * 7
    assert report.messages == []
    v = seeded.values("conso_enaf_m2", codes=["62001"])
    assert list(v["year"]) == list(range(2009, 2023))
    assert list(v["value"])[-3:] == [20000.0, 15000.0, 12000.0]  # naf20art21, naf21art22, naf22art23
    assert set(v["cog"]) == {2023}
    hab = seeded.values("conso_enaf_habitat_m2", codes=["62001"], years=[2022])
    assert hab["value"].iloc[0] == 7200.0
    source = seeded.sources().iloc[-1]
    assert source["dataset"] == "consommation-naf"
    assert source["vintage"] == "flux annuels 2009 à 2022 (1er janvier 2009 → 1er janvier 2023)"
    # same file again: nothing changes
    assert run_import(seeded, CeremaConsommationImporter(GOOD, cog=2023)).unchanged


def test_upper_case_and_comma_separated(seeded, tmp_path):
    text = GOOD.read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    path = tmp_path / "CONSO.csv"
    path.write_text(header.upper().replace(";", ",") + "\n" + rest.replace(";", ","), encoding="utf-8")
    report = run_import(seeded, CeremaConsommationImporter(path, cog="2023"))
    assert report.rows["value"] == 490
    assert seeded.values("conso_enaf_m2", codes=["62005"], years=[2011])["value"].iloc[0] == 4000.0


def test_missing_year_is_stated_not_zero(seeded):
    report = run_import(seeded, CeremaConsommationImporter(FIXTURES / "conso_com_sans_2015.csv", cog=2023))
    assert any("2015" in m and "pas un zéro" in m for m in report.messages)
    assert 2015 not in seeded.value_years("conso_enaf_m2")
    assert report.rows["value"] == 5 * 13 * 7


def test_new_vintage_replaces_previous(seeded):
    run_import(seeded, CeremaConsommationImporter(GOOD, cog=2023))
    run_import(seeded, CeremaConsommationImporter(FIXTURES / "conso_com_sans_2015.csv", cog=2023))
    assert seeded.query("SELECT count(*) FROM source WHERE kind = 'consommation-naf'")[0][0] == 1
    assert 2015 not in seeded.value_years("conso_enaf_m2")


@pytest.mark.parametrize(
    "edit, line, column, words",
    [
        (_set("idcom", 3, "62999"), 3, "idcom", "inconnu"),
        (_set("idcom", 4, "6203"), 4, "idcom", "mal formé"),
        (_set("idcom", 5, "62001"), 5, "idcom", "deux fois"),
        (_set("naf12art13", 3, "abc"), 3, "naf12art13", "non numérique"),
        (_set("art12hab13", 3, "-500"), 3, "art12hab13", "négative"),
        (_set("art12inc13", 3, "-40"), 3, "art12inc13", "négative"),
        (_set("naf14art15", 2, "25000"), 2, "naf14art15", "somme de ses six destinations"),
        (_set("naf09art23", 6, "1"), 6, "naf09art23", "n'est pas la somme des flux annuels"),
    ],
)
def test_broken_cells_are_named(seeded, tmp_path, edit, line, column, words):
    path = _variant(tmp_path, edit)
    with pytest.raises(ImportValidationError) as exc:
        run_import(seeded, CeremaConsommationImporter(path, cog=2023))
    assert (exc.value.line, exc.value.column) == (line, column)
    assert words in exc.value.problem
    assert seeded.query("SELECT count(*) FROM value")[0][0] == 0  # nothing written


def test_rounding_residual_of_unknown_destination_is_tolerated(seeded, tmp_path):
    def edit(header, rows):  # −2 m² in « inconnu », +2 in habitat: the flow is unchanged
        rows[0][header.index("art12inc13")] = "-2"
        rows[0][header.index("art12hab13")] = str(int(rows[0][header.index("art12hab13")]) + 2)
    report = run_import(seeded, CeremaConsommationImporter(_variant(tmp_path, edit), cog=2023))
    assert report.rows["value"] == 490


def test_missing_destination_column_and_wrong_files(seeded, tmp_path):
    def drop(header, rows):
        i = header.index("art15fer16")
        header.pop(i)
        for r in rows:
            r.pop(i)
    with pytest.raises(ImportValidationError) as exc:
        run_import(seeded, CeremaConsommationImporter(_variant(tmp_path, drop), cog=2023))
    assert exc.value.column == "art15fer16" and exc.value.line == 1

    other = tmp_path / "autre.csv"
    other.write_text("code_insee;nom;valeur\n62001;Alpha;3\n", encoding="utf-8")
    with pytest.raises(ImportValidationError) as exc:
        run_import(seeded, CeremaConsommationImporter(other, cog=2023))
    assert exc.value.column == "idcom" and "Cerema" in exc.value.problem

    with pytest.raises(ImportValidationError) as exc:
        run_import(seeded, CeremaConsommationImporter(GOOD))
    assert "cog=" in exc.value.problem
    with pytest.raises(ImportValidationError) as exc:
        run_import(seeded, CeremaConsommationImporter(GOOD, cog=2019))
    assert "aucune commune au COG 2019" in exc.value.problem


def test_empty_cell_is_missing_not_zero(seeded, tmp_path):
    def edit(header, rows):
        for col in ("naf12art13", "art12act13", "art12hab13", "art12mix13", "art12rou13", "art12fer13", "art12inc13"):
            rows[1][header.index(col)] = ""
    run_import(seeded, CeremaConsommationImporter(_variant(tmp_path, edit), cog=2023))
    v = seeded.values("conso_enaf_m2", codes=["62002"], years=[2012])
    assert v["status"].iloc[0] == "missing" and v["value"].isna().all()
