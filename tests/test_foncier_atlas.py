"""Atlas figures on the tiny Lens/Liévin case, computed by hand."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import shapely

from tests.support import add_source
from tests.test_foncier_cnig import FIX, load_all
from vigie.modules.foncier.atlas import filiere_of, jobs_of, totals, zone_table
from vigie.modules.foncier.importing import set_status


def add_friches(wh):
    sid = add_source(wh, dataset="test:friches")
    wh.insert_frame("layer", pd.DataFrame([{"id": "friches", "label": "Friches", "theme": "foncier", "source_id": sid}]))
    points = [shapely.Point(686500, 7031250), shapely.Point(686500, 7031650), shapely.Point(684200, 7029000)]
    wh.insert_frame("layer_feature", pd.DataFrame({
        "layer": "friches", "feature_id": ["f1", "f2", "f3"], "name": ["dans", "à 150 m", "à 1 km"], "commune": "62498",
        "properties": "{}", "geom": points, "geom_web": points, "source_id": sid}))


def test_filieres_and_jobs():
    naf = pd.Series(["52.10B", "2932Z", "1071A", "4941A", "4511Z", "4711D", "0111Z", "9999Z", None])
    assert filiere_of(naf).tolist() == ["logistique", "automobile", "agroalimentaire", "logistique", "automobile",
                                       "commerce", "agriculture", "services", "autres"]
    assert jobs_of(pd.Series(["12", "21", "3", "NN", None])).tolist()[:3] == [34.5, 74.5, 7.5]
    assert pd.isna(jobs_of(pd.Series(["NN"]))[0])


def test_zone_figures_by_hand(backend_wh):
    """On DuckDB and on PostGIS: the same figures."""
    wh = backend_wh
    load_all(wh)
    add_friches(wh)
    z = zone_table(wh).set_index("site_id")
    lens, lievin = z.loc["62498_SITE-ECO_00001"], z.loc["62510_SITE-ECO_00001"]
    # Lens: 3 plots (10 ha sold/occupied, 5 ha available/vacant, 5 ha sold/occupied)
    assert (lens["plots"], lens["plots_vacant"]) == (3, 1)
    assert lens["vacancy_rate"] == pytest.approx(100 / 3)
    assert lens["available_ha"] == 5.0
    assert json.loads(lens["plots_by_status"]) == {"disponible à la vente": 1, "vendu, commercialisation achevée": 2}
    # 2 establishments: 20–49 → 34.5 jobs, 50–99 → 74.5 jobs
    assert (lens["establishments"], lens["jobs"]) == (2, 109.0)
    assert json.loads(lens["filieres"]) == {"logistique": 1, "automobile": 1}
    assert (lens["friches_inside"], lens["friches_near"]) == (1, 1)
    assert (lievin["plots"], lievin["vacancy_rate"], lievin["available_ha"], lievin["jobs"]) == (1, 100.0, 4.0, 7.5)
    assert lievin["main_filiere"] == "agroalimentaire"
    assert (lievin["friches_inside"], lievin["friches_near"]) == (0, 0)


def test_totals_recompute_rates_and_follow_status_changes(wh):
    load_all(wh)
    epci = totals(wh, "epci").set_index("code")
    call = epci.loc["246200364"]
    assert (call["zones"], call["gross_ha"], call["plots"], call["plots_vacant"]) == (2, 70.0, 4, 2)
    assert call["vacancy_rate"] == 50.0  # 2 / 4, not the mean of 33.3 and 100
    assert call["jobs"] == 116.5
    # a plot is sold: the available area and the vacancy rate follow the last status
    set_status(wh, "plot", "62510_TERRAIN-ECO_00001", "terr_stade_comm", "vendu, commercialisation achevée", author="agent")
    set_status(wh, "plot", "62510_TERRAIN-ECO_00001", "terr_etat_occup", "occupé", author="agent")
    communes = totals(wh, "commune").set_index("code")
    assert communes.loc["62510", "available_ha"] == 0.0
    assert communes.loc["62510", "vacancy_rate"] == 0.0
    assert "62413" not in communes.index  # no zone in Hénin-Beaumont


def test_plu_zones_and_free_au(wh):
    from vigie.errors import ImportValidationError
    from vigie.modules.foncier.atlas import free_au_zones
    from vigie.modules.foncier.plu import PluZonesImporter
    from vigie.sources.base import run_import

    load_all(wh)
    run_import(wh, PluZonesImporter(FIX / "zone_urba.geojson"))
    zones = wh.query_df("SELECT label, zone_type, destination, commune, economic FROM foncier_plu_zone ORDER BY zone_id")
    assert zones.set_index("label")["economic"].to_dict() == {"UE": False, "1AUe": True, "2AUh": False, "1AUx": True, "A": False}
    free = free_au_zones(wh).set_index("label")
    # 1AUe: 20 ha; its strip 686800–687000 (10 ha) lies in the Lens zone where no plot is vacant or for sale, so it
    # is covered → free = 687000–687200 = 10 ha.
    assert free.loc["1AUe", "area_ha"] == pytest.approx(20.0)
    assert free.loc["1AUe", "free_ha"] == pytest.approx(10.0)
    # 1AUx: 16 ha, the southern 684000–684400 × 7030400–7030500 (4 ha) lies in the Liévin zone (no plot there) → 12 ha free
    assert free.loc["1AUx", "free_ha"] == pytest.approx(12.0)
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, PluZonesImporter(FIX / "zone_urba_typezone_faux.geojson"))
    assert (err.value.line, err.value.column) == (4, "TYPEZONE")
