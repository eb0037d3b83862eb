"""CNIG export of the atlas (art. 220 inventory), validated by frictionless against the standard's schemas."""

from __future__ import annotations

import json

import pandas as pd
from frictionless import Resource, Schema, formats

from tests.test_foncier_cnig import load_all, seeded
from vigie.modules.foncier.cnig import SiteImporter, TerrainImporter, schema_path
from vigie.modules.foncier.export_cnig import CLASSES, export_cnig
from vigie.modules.foncier.importing import set_status
from vigie.sources.base import run_import
from vigie.warehouse import connect


def test_export_validates_and_round_trips(wh, tmp_path):
    load_all(wh)
    set_status(wh, "plot", "62510_TERRAIN-ECO_00001", "terr_etat_occup", "occupé", author="agent")
    result = export_cnig(wh, tmp_path / "cnig")
    for name in CLASSES:
        schema = Schema.from_descriptor(json.loads(schema_path(name).read_text(encoding="utf-8")))
        report = Resource(path=result.files[name].name, basepath=str(result.files[name].parent), schema=schema,
                          control=formats.CsvControl(delimiter=";")).validate()
        assert report.valid, (name, report.flatten(["rowNumber", "fieldName", "type", "note"]))
    assert result.rows == {"pole-eco": 1, "site-eco": 2, "terrain-eco": 4, "etablissement": 3}
    sites = pd.read_csv(result.files["site-eco"], sep=";", dtype=str).set_index("site_id")
    assert sites.loc["62498_SITE-ECO_00001", ["site_uf_nbre", "site_uf_vacant_nbre", "site_taux_vacance", "site_nb_emploi"]].tolist() == ["3", "1", "33.3", "109"]
    assert sites.loc["62510_SITE-ECO_00001", "site_taux_vacance"] == "0"  # the plot is occupied now (status history)
    plots = pd.read_csv(result.files["terrain-eco"], sep=";", dtype=str).set_index("terr_id")
    assert plots.loc["62510_TERRAIN-ECO_00001", "terr_etat_occup"] == "occupé"
    # the export imports back
    other = connect(str(tmp_path / "other.duckdb"))
    seeded(other)
    run_import(other, SiteImporter(result.files["site-eco"]))
    run_import(other, TerrainImporter(result.files["terrain-eco"]))
    area = other.query("SELECT sum(ST_Area(geom)) FROM foncier_site")[0][0]
    assert abs(area - 700_000) < 1
    other.close()


def test_cli_status_history_and_export(tmp_path):
    from typer.testing import CliRunner

    from vigie.cli import app

    db = tmp_path / "w.duckdb"
    wh = connect(str(db))
    load_all(wh)
    wh.close()
    runner = CliRunner()
    base = ["--base", str(db), "foncier"]
    done = runner.invoke(app, [*base, "statut", "62498_TERRAIN-ECO_00002", "sous option", "--auteur", "Service éco", "--date", "2026-05-04"])
    assert done.exit_code == 0, done.output
    shown = runner.invoke(app, [*base, "historique", "62498_TERRAIN-ECO_00002"])
    assert "sous option" in shown.output and "Service éco" in shown.output
    bad = runner.invoke(app, [*base, "statut", "inconnu", "vendu", "--auteur", "x"])
    assert bad.exit_code == 1 and "Aucun objet" in bad.output
    out = runner.invoke(app, [*base, "exporter", str(tmp_path / "cnig")])
    assert out.exit_code == 0 and "conforme au schéma CNIG" in out.output
    plots = pd.read_csv(tmp_path / "cnig" / "terrain-eco.csv", sep=";", dtype=str).set_index("terr_id")
    assert plots.loc["62498_TERRAIN-ECO_00002", "terr_stade_comm"] == "sous option"
