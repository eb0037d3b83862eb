"""CNIG "sites économiques" importers: official-schema fixtures, broken variants, status history."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import seed_communes
from vigie.errors import ImportValidationError
from vigie.modules.foncier.cnig import EtablissementImporter, PoleImporter, SiteImporter, TerrainImporter
from vigie.modules.foncier.importing import current_statuses, luhn_ok, set_status, status_history
from vigie.sources.base import run_import

import pandas as pd

FIX = Path(__file__).parent / "fixtures" / "foncier"
COMMUNES = {"62498": "Lens", "62510": "Liévin", "62413": "Hénin-Beaumont"}


def seeded(wh):
    seed_communes(wh, COMMUNES, epci={"246200364": ["62498", "62510"], "246200299": ["62413"]})
    return wh


def load_all(wh):
    seeded(wh)
    run_import(wh, PoleImporter(FIX / "pole-eco.csv"))
    run_import(wh, SiteImporter(FIX / "site-eco.csv"))
    run_import(wh, TerrainImporter(FIX / "terrain-eco.csv", inventory="artois"))
    return run_import(wh, EtablissementImporter(FIX / "etablissement.csv"))


def test_full_import_lands_in_atlas_tables(wh):
    result = load_all(wh)
    assert result.rows["foncier_establishment"] == 3
    sites = wh.query_df("SELECT site_id, commune, gross_ha, usable_ha, available_ha, ST_Area(geom) AS area FROM foncier_site ORDER BY site_id")
    assert list(sites["site_id"]) == ["62498_SITE-ECO_00001", "62510_SITE-ECO_00001"]
    assert sites["area"].tolist() == pytest.approx([500_000.0, 200_000.0])  # 50 ha and 20 ha squares, Lambert-93
    assert sites["gross_ha"].tolist() == [50.0, 20.0]
    est = wh.query_df("SELECT siret, site_id, plot_id, naf FROM foncier_establishment ORDER BY siret")
    assert est.set_index("siret")["site_id"].to_dict() == {
        "12345678900015": "62498_SITE-ECO_00001", "55544433300010": "62510_SITE-ECO_00001", "98765432100015": "62498_SITE-ECO_00001"}
    assert est.set_index("siret")["plot_id"].to_dict()["98765432100015"] == "62498_TERRAIN-ECO_00003"
    assert wh.query("SELECT rows FROM source WHERE id = ?", (result.source_id,))[0][0] == 3


def test_reimport_replaces_and_is_idempotent(wh):
    load_all(wh)
    again = run_import(wh, SiteImporter(FIX / "site-eco.csv"))
    assert again.unchanged
    assert wh.query("SELECT count(*) FROM foncier_site")[0][0] == 2


@pytest.mark.parametrize("name, line, column, words", [
    ("site-eco-sans-nom.csv", 3, "site_nom", "obligatoire"),
    ("site-eco-enum.csv", 3, "site_voca_industrielle", "peut-être"),
    ("site-eco-colonne-absente.csv", 1, "site_etat", "absente"),
    ("site-eco-geometrie-invalide.csv", 2, "site_geomsurf", "invalide"),
])
def test_broken_site_files_name_line_and_field(wh, name, line, column, words):
    seeded(wh)
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, SiteImporter(FIX / name))
    assert (err.value.line, err.value.column) == (line, column)
    assert words in err.value.message
    assert wh.query("SELECT count(*) FROM source")[0][0] == 1  # only the seed: nothing written


def test_enum_error_lists_allowed_values(wh):
    seeded(wh)
    with pytest.raises(ImportValidationError, match="valeurs possibles : oui, non"):
        run_import(wh, SiteImporter(FIX / "site-eco-enum.csv"))


def test_plot_of_unknown_site(wh):
    seeded(wh)
    run_import(wh, SiteImporter(FIX / "site-eco.csv"))
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, TerrainImporter(FIX / "terrain-eco-site-inconnu.csv"))
    assert (err.value.line, err.value.column) == (5, "site_id")


def test_bad_siret_and_point_outside_zones(wh):
    seeded(wh)
    run_import(wh, SiteImporter(FIX / "site-eco.csv"))
    run_import(wh, TerrainImporter(FIX / "terrain-eco.csv"))
    with pytest.raises(ImportValidationError, match="Luhn") as err:
        run_import(wh, EtablissementImporter(FIX / "etablissement-siret-faux.csv"))
    assert (err.value.line, err.value.column) == (3, "SIRET")
    with pytest.raises(ImportValidationError, match="hors de toute zone") as err:
        run_import(wh, EtablissementImporter(FIX / "etablissement-hors-zone.csv"))
    assert (err.value.line, err.value.column) == (4, "etab_geompoint")


def test_luhn():
    ok = luhn_ok(pd.Series(["12345678900015", "12345678900016", "1234", "35600000000048", "73282932000074"]))
    assert ok.tolist() == [True, False, False, True, True]


def test_status_history_is_kept(wh):
    load_all(wh)
    plot = "62498_TERRAIN-ECO_00003"
    assert current_statuses(wh, "plot", "terr_etat_occup")[plot] == "occupé"
    # a newer inventory: the plot became vacant and for sale
    run_import(wh, TerrainImporter(FIX / "terrain-eco-2026.csv", inventory="artois"))
    assert wh.query("SELECT count(*) FROM foncier_plot")[0][0] == 4  # replaced, not added
    assert current_statuses(wh, "plot", "terr_etat_occup")[plot] == "vacant"
    # a person records a reservation
    set_status(wh, "plot", plot, "terr_stade_comm", "sous option", author="M. Dupont", changed_on=pd.Timestamp("2026-04-02").date())
    history = status_history(wh, "plot", plot)
    comm = history[history["field"] == "terr_stade_comm"]
    assert comm["value"].tolist() == ["vendu, commercialisation achevée", "disponible à la vente", "sous option"]
    assert comm["previous"].tolist()[1:] == ["vendu, commercialisation achevée", "disponible à la vente"]
    assert comm["author"].tolist() == ["import terrain-eco.csv", "import terrain-eco-2026.csv", "M. Dupont"]
    # re-importing the 2026 file changes nothing, and the untouched plots got no new row
    n = wh.query("SELECT count(*) FROM foncier_status_change")[0][0]
    assert n == 4 * 2 + 2 + 2 + 1  # sites' site_etat (2), plots × 2 fields, 2 changes in 2026, 1 manual
    assert current_statuses(wh, "plot", "terr_stade_comm")[plot] == "sous option"
