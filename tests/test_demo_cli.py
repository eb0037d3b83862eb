"""The demo territory built end to end through the real importers, and the `vigie` command on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from vigie.settings import demo_dir
from vigie.warehouse import connect

CALL = "246200364"


@pytest.fixture(scope="module")
def demo_db(demo_warehouse, tmp_path_factory) -> Path:
    """A copy of the shared demo warehouse: these tests run imports into it."""
    path = tmp_path_factory.mktemp("demo") / "vigie.duckdb"
    shutil.copyfile(demo_warehouse, path)
    return path


def vigie(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VIGIE_DATABASE": str(db), "COLUMNS": "250"}
    return subprocess.run([sys.executable, "-m", "vigie.cli", *args], capture_output=True, text=True, env=env, timeout=120)


def test_demo_has_the_real_territory(demo_db):
    wh = connect(str(demo_db), create=False, read_only=True)
    assert len(wh.territories("commune", 2026)) == 887
    assert len(wh.territories("epci", 2026)) == 20
    pma = wh.find_territory("PMA")
    assert len(wh.members(pma)) == 150
    assert sorted(wh.members(pma, child_level="epci")["code"]) == ["200072460", "246200299", CALL]
    assert len(wh.members(wh.find_territory("SCOT_LLHC"))) == 50
    assert sorted(wh.members(wh.find_territory("PETR_T7V"), child_level="epci")["code"]) == ["200044030", "200069672"]
    assert wh.cogs("commune") == list(range(2012, 2027))
    wh.close()


def test_show_call_prints_each_legal_population_as_the_sum_of_its_communes(demo_db):
    source = pd.read_csv(demo_dir() / "referentiel" / "communes_62.csv", dtype=str)
    call = source[source["epci_siren"] == CALL]
    assert len(call) == 36
    result = vigie(demo_db, "show", CALL)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "CA de Lens - Liévin" in out and "36 communes" in out
    # Legal population N is in force on 1 January N+3; the file's package year gives the vintage.
    for column, year in (("pop_pkg2019", 2016), ("pop_pkg2021", 2019), ("pop_pkg2022", 2020), ("pop_pkg2024", 2021), ("pop_pkg2025", 2022)):
        total = call[column].astype(int).sum()
        shown = f"{total:,}".replace(",", "\u202f")
        line = next(l for l in out.splitlines() if f"population légale {year}, en vigueur au 1er janvier {year + 3}" in l)
        assert shown in line, (year, line)


def test_show_pma_scot_and_petr(demo_db):
    result = vigie(demo_db, "show", "PMA")
    assert result.returncode == 0
    assert "645\u202f651" in result.stdout and "642\u202f834" in result.stdout  # PL 2016 and PL 2022, per SOURCES.md
    assert vigie(demo_db, "show", "SCOT_LLHC").returncode == 0
    petr = vigie(demo_db, "show", "PETR_T7V")
    # Three communes merged into Hesdin-la-Forêt in 2025 have no population in the older vintages of the
    # referential: Hesdin-la-Forêt (COG 2026) has no value for them, and the PETR's sum is not shown as complete.
    assert "167/168 communes renseignées" in petr.stdout


def test_unknown_code_is_a_clear_error(demo_db):
    result = vigie(demo_db, "show", "99999")
    assert result.returncode == 1
    assert "Aucun territoire n'a le code « 99999 »" in result.stderr


def test_failed_import_exits_non_zero_and_changes_nothing(demo_db, tmp_path):
    bad = tmp_path / "passage.csv"
    bad.write_text("cog_from;cog_to;code_from;code_to;annee;typemodif;ratio\n2019;2020;62500;62500;2019-01-01;f;un\n")
    wh = connect(str(demo_db), create=False, read_only=True)
    before = wh.digest()
    wh.close()
    result = vigie(demo_db, "import", "passage", str(bad))
    assert result.returncode == 2
    assert "fichier « passage.csv », ligne 2, colonne « ratio » : valeur non numérique « un »" in result.stderr
    wh = connect(str(demo_db), create=False, read_only=True)
    assert wh.digest() == before
    wh.close()


def test_sources_lists_every_file(demo_db):
    result = vigie(demo_db, "sources")
    assert result.returncode == 0
    assert "communes_62.csv" in result.stdout and "table_appartenance_communes_62_2012_2024.csv" in result.stdout
    assert "Licence Ouverte" in result.stdout


def test_same_import_twice_changes_nothing(demo_db):
    wh = connect(str(demo_db), create=False, read_only=True)
    before = wh.digest()
    wh.close()
    result = vigie(demo_db, "import", "passage", str(demo_dir() / "referentiel" / "passage_cog_communes_62_2008_2018.csv"))
    assert result.returncode == 0 and "déjà importé" in result.stdout
    wh = connect(str(demo_db), create=False, read_only=True)
    assert wh.digest() == before
    wh.close()
