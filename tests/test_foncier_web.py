"""The atlas in the observatory: GeoJSON API, filters, zone page; partial-diffusion establishments never listed."""

from __future__ import annotations

from fastapi.testclient import TestClient

from vigie.modules.foncier.demo import build_demo_atlas
from vigie.publish.api import create_app
from vigie.warehouse import connect


def test_atlas_api_and_pages(demo_copy, tmp_path):
    wh = connect(str(demo_copy))
    build_demo_atlas(wh, tmp_path / "atlas", zones=12)
    hidden = wh.query("SELECT siret, site_id FROM foncier_establishment WHERE NOT published LIMIT 1")
    wh.close()
    with TestClient(create_app(str(demo_copy))) as c:
        zones = c.get("/api/atlas/zones").json()
        assert len(zones["features"]) == 12 and zones["synthetic"] is True
        first = zones["features"][0]["properties"]
        assert {"gross_ha", "available_ha", "vacancy_rate", "establishments", "jobs", "filieres"} <= set(first)
        epci = first["epci_code"]
        same = c.get("/api/atlas/zones", params={"epci": epci}).json()["features"]
        assert same and all(f["properties"]["epci_code"] == epci for f in same)
        logi = c.get("/api/atlas/zones", params={"filiere": "logistique"}).json()["features"]
        assert all("logistique" in f["properties"]["filieres"] for f in logi)
        est = c.get("/api/atlas/etablissements").json()["features"]
        lon, lat = est[0]["geometry"]["coordinates"]
        assert 1.5 < lon < 3.5 and 50 < lat < 51  # WGS84 in the Artois
        if hidden:
            siret, site = hidden[0]
            assert siret not in {e["properties"]["siret"] for e in est}
            detail = c.get(f"/api/atlas/zones/{site}").json()
            assert detail["unpublished_establishments"] >= 1
            assert siret not in {e["siret"] for e in detail["establishments"]}
        totals = c.get("/api/atlas/territoires", params={"niveau": "pole_metropolitain"}).json()["territories"]
        assert totals[0]["code"] == "PMA" and totals[0]["zones"] == 12
        page = c.get("/atlas")
        assert page.status_code == 200 and "Atlas du foncier économique" in page.text and "données fictives de démonstration" in page.text
        zone_id = first["site_id"]
        page = c.get(f"/atlas/zone/{zone_id}")
        assert page.status_code == 200 and "Historique des statuts" in page.text
        assert c.get("/api/atlas/zones/inconnue").status_code == 404
