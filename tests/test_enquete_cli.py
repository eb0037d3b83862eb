"""The `vigie enquete` commands on the six-respondent survey: French output, errors with exit codes, CSV for maps."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from vigie.modules.enquete import cli
from vigie.cli import app
from vigie.warehouse import connect

from tests.test_enquete_helpers import MINI, seed_territory


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    # Rich's consoles are made at import, with the width of the terminal of the moment: widen them for the tests.
    for console in (cli.console, cli.err):
        console.width = 200
    base = tmp_path_factory.mktemp("cli")
    path = base / "vigie.duckdb"
    wh = connect(str(path))
    seed_territory(wh)
    wh.close()
    (base / "marges.yaml").write_text("margins:\n  sexe: {'1': 60, '2': 60}\n", encoding="utf-8")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["enquete", *args], env={"VIGIE_DATABASE": str(path), "COLUMNS": "200"})

    invoke.base = base
    return invoke


def test_import_weight_estimate_and_flows(run):
    result = run("importer", str(MINI / "enquete_mini.csv"), "--dictionnaire", str(MINI / "enquete_mini.yaml"))
    assert result.exit_code == 0, result.output
    assert "Enquête « mini » importée" in result.output and "6 répondants" in result.output

    result = run("ponderer", "mini", "--marges", str(run.base / "marges.yaml"), "--methode", "raking")
    assert result.exit_code == 0, result.output
    assert "raking ratio" in result.output and "Kish" in result.output and "Marges" in result.output

    result = run("estimer", "mini", "sexe")
    assert result.exit_code == 0, result.output
    assert "Homme" in result.output and "50,0\u00a0%" in result.output and "fragile" in result.output

    result = run("estimer", "mini", "sexe", "--par", "age", "--schema", "aucune")
    assert result.exit_code == 0, result.output
    assert "15 à 29 ans" in result.output and "Rao et Scott" in result.output

    result = run("estimer", "mini", "sorties")
    assert result.exit_code == 0, result.output
    assert "Moyenne" in result.output

    out = run.base / "evasion.csv"
    result = run("flux", "mini", "--motif", "loisirs", "--vue", "evasion", "--origine", "epci", "--csv", str(out))
    assert result.exit_code == 0, result.output
    assert "Pôle Métropolitain de l'Artois" in result.output
    table = pd.read_csv(out, sep=";", decimal=",", dtype={"origine": str})
    assert list(table["origine"]) == ["ensemble", "200072460", "246200364"]

    result = run("flux", "mini", "--motif", "culture", "--vue", "chalandise")
    assert result.exit_code == 0, result.output
    assert "Zones de chalandise — Culture" in result.output and "Lille" in result.output

    result = run("entretiens", "mini", str(MINI / "entretiens_mini.csv"), "--grille", str(MINI / "grille_mini.yaml"),
                 "--par", "sexe", "--theme", "sante")
    assert result.exit_code == 0, result.output
    assert "3 entretien(s)" in result.output and "« Heureusement la pharmacie est à côté. » — E02" in result.output

    result = run("liste")
    assert result.exit_code == 0 and "mini" in result.output


def test_errors_are_french_with_exit_codes(run, tmp_path):
    bad = tmp_path / "enquete.csv"
    bad.write_text((MINI / "enquete_mini.csv").read_text(encoding="utf-8").replace("R02;62498;10;2", "R02;62498;10;9"),
                   encoding="utf-8")
    result = run("importer", str(bad), "-d", str(MINI / "enquete_mini.yaml"))
    assert result.exit_code == 2
    assert "fichier « enquete.csv », ligne 3, colonne « sexe » : modalité « 9 » inconnue" in result.output
    result = run("ponderer", "mini", "--methode", "logit", "--marges", str(run.base / "marges.yaml"))
    assert result.exit_code == 1 and "exige deux bornes" in result.output
    result = run("ponderer", "inconnue")
    assert result.exit_code == 1 and "Aucune enquête « inconnue »" in result.output
    result = run("flux", "mini", "--vue", "flux")
    assert result.exit_code == 1 and "Précisez le motif" in result.output
