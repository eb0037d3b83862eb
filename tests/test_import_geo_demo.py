"""The real demo files through the geographic importers, in a warehouse seeded with the 887 communes of the
Pas-de-Calais (COG 2026, from data/demo/referentiel/communes_62.csv) and their 20 EPCI.

Expected figures come from SOURCES.md: 887 commune contours, 64 QPV of which 46 in the PMA, 618 Cartofriches sites
of which 307 in the PMA (CABBALR 124, CALL 100, CAHC 83), 81 stations; PMA EPCI areas CABBALR ≈ 649 km²,
CALL ≈ 241 km², CAHC ≈ 113 km².
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vigie.sources.base import run_import
from vigie.sources.contours import ContoursImporter, dissolve_contours
from vigie.sources.friches import FrichesImporter
from vigie.sources.layer import LayerImporter
from vigie.sources.qpv import QpvImporter
from tests.support import seed_communes
from tests.test_import_geo import seed_territories

DEMO = Path(__file__).parents[1] / "data" / "demo"
PMA = {"200072460": "CABBALR", "246200364": "CALL", "246200299": "CAHC"}


@pytest.fixture
def demo_wh(wh):
    communes = pd.read_csv(DEMO / "referentiel" / "communes_62.csv", dtype=str, keep_default_na=False)
    epci = {siren: list(group["code_insee"]) for siren, group in communes.groupby("epci_siren") if siren}
    seed_communes(wh, dict(zip(communes["code_insee"], communes["nom"])), cog=2026, epci=epci)
    seed_territories(wh, "departement", {"62": "Pas-de-Calais"})
    return wh


def pma_count(wh, sql: str) -> dict[str, float]:
    rows = wh.query(
        f"SELECT m.parent_code, {sql} FROM membership m WHERE m.cog = 2026 AND m.child_level = 'commune' "
        "AND m.parent_level = 'epci' AND m.parent_code IN ('200072460', '246200364', '246200299') GROUP BY m.parent_code")
    return {PMA[code]: value for code, value in rows}


def test_demo_contours_qpv_friches_and_stations(demo_wh):
    wh = demo_wh
    contours = DEMO / "contours"
    assert run_import(wh, ContoursImporter(contours / "communes_62_cog2026.geojson", level="commune")).rows == {"territory_geometry": 887}
    assert run_import(wh, ContoursImporter(contours / "epci_62_cog2026.geojson", level="epci")).rows == {"territory_geometry": 20}
    report = run_import(wh, ContoursImporter(contours / "departement-62-pas-de-calais.geojson", level="departement"))
    assert report.rows == {"territory_geometry": 1} and report.messages == []

    areas = dict(wh.query("SELECT level, sum(area_km2) FROM territory_geometry GROUP BY level"))
    assert areas["commune"] == pytest.approx(6714.6, abs=0.1) and areas["epci"] == pytest.approx(areas["commune"], rel=1e-9)
    assert areas["departement"] == pytest.approx(6714.8, abs=0.1)
    epci = {PMA[c]: a for c, a in wh.query("SELECT code, area_km2 FROM territory_geometry WHERE level = 'epci'") if c in PMA}
    assert epci == pytest.approx({"CABBALR": 649, "CALL": 241, "CAHC": 113}, abs=1)
    dissolved = dissolve_contours(wh, "epci", 2026).set_index("code")["area_km2"]
    assert {PMA[c]: dissolved[c] for c in PMA} == pytest.approx(epci, rel=1e-6)

    # QPV: the list first, then the contours, which replace it (same dataset) and weight by area.
    listed = run_import(wh, QpvImporter(DEMO / "qpv" / "qpv2024_liste_62.csv"))
    assert listed.rows == {"territory": 64, "membership": 101}
    report = run_import(wh, QpvImporter(DEMO / "qpv" / "qpv2024_contours_62.geojson"))
    assert report.rows == {"territory": 64, "territory_geometry": 64, "membership": 101}
    assert report.messages[0] == (
        "qpv2024_contours_62.geojson : 2 géométries invalides réparées (make_valid, en conservant la dimension) : "
        "entité n° 18, 53."
    )
    assert "28 au prorata de la surface" in report.messages[1]
    assert wh.query("SELECT sum(area_km2) FROM territory_geometry WHERE level = 'qpv'")[0][0] == pytest.approx(33.93, abs=0.01)
    in_pma = wh.query(
        "SELECT count(DISTINCT q.child_code) FROM membership q JOIN membership e ON e.cog = q.cog AND e.child_level = 'commune' "
        "AND e.child_code = q.parent_code AND e.parent_level = 'epci' "
        "WHERE q.child_level = 'qpv' AND q.cog = 2026 AND e.parent_code IN ('200072460', '246200364', '246200299')")
    assert in_pma == [(46,)]
    sums = wh.query("SELECT child_code, sum(weight) FROM membership WHERE child_level = 'qpv' GROUP BY child_code")
    assert all(abs(s - 1) < 1e-9 for _, s in sums) and len(sums) == 64

    report = run_import(wh, FrichesImporter(DEMO / "friches" / "cartofriches_62.geojson"))
    assert report.rows == {"indicator": 6, "layer": 1, "layer_feature": 618, "value": 6 * 887}
    assert wh.query("SELECT DISTINCT year, cog FROM value") == [(2024, 2026)]
    totals = dict(wh.query("SELECT indicator, sum(value) FROM value GROUP BY indicator"))
    assert totals["nb_friches"] == 618 and totals["nb_friches_potentielles"] == 484
    assert totals["nb_friches_sans_projet"] == 89 and totals["nb_friches_avec_projet"] == 45
    assert totals["surface_friches"] == pytest.approx(5132.81, abs=0.01)
    per_epci = pma_count(wh, "(SELECT sum(v.value) FROM value v WHERE v.indicator = 'nb_friches' AND v.cog = 2026 AND v.code IN "
                             "(SELECT child_code FROM membership x WHERE x.cog = 2026 AND x.parent_code = m.parent_code))")
    assert per_epci == {"CABBALR": 124, "CALL": 100, "CAHC": 83}

    report = run_import(wh, LayerImporter(DEMO / "mobilite" / "osm_transit_stations_62.geojson", layer="gares",
                                          label="Gares", theme="mobilité", id_field="osm_id", name_field="name",
                                          commune_field="code_insee", licence="ODbL"))
    assert report.rows == {"layer": 1, "layer_feature": 81} and report.messages == []
    assert wh.sources().iloc[-1]["licence"] == "ODbL"
    assert sorted(wh.layers()["features"]) == [81, 618]
