"""Friches importer (kind "friches"): Cartofriches GeoJSON and the CNIG friches standard CSV, hand-checked.

`cartofriches_extrait.geojson` (Cartofriches attributes, "<NA>" for missing values as in the real export):
Lens 62498: sans projet 12 000 m², avec projet 8 000 m², potentielle 500.5 m²; Liévin 62510: sans projet
30 000 m², reconvertie 4 000 m² (not counted in nb_friches nor surface_friches). Latest site_actu_date 2024-02-13.
`cnig_friches_valide.csv` (schema-friches v1.0.6 header, WKT written latitude first as in the official example):
Lens: a 200 m square site (≈ 4 ha, polygon in geomsurf); Liévin: a point, unité foncière of 2 500 m².
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from vigie.sources.base import run_import
from vigie.sources.friches import FrichesImporter
from vigie.sources.layer import LayerImporter
from tests.support import add_source, seed_communes
from tests.test_import_geo import FIXTURES, fails, seed_artois

DEMO = Path(__file__).parents[1] / "data" / "demo"


def values(wh, indicator: str) -> dict[str, float]:
    return {c: float(v) for c, v in wh.query(
        "SELECT code, value FROM value WHERE indicator = ? AND level = 'commune' ORDER BY code", (indicator,))}


def test_cartofriches_counts_and_surfaces_per_commune(wh):
    seed_artois(wh)
    report = run_import(wh, FrichesImporter(FIXTURES / "cartofriches_extrait.geojson"))
    assert report.rows == {"indicator": 6, "layer": 1, "layer_feature": 5, "value": 18}
    assert values(wh, "nb_friches") == {"62321": 0.0, "62498": 3.0, "62510": 1.0}
    assert values(wh, "nb_friches_sans_projet") == {"62321": 0.0, "62498": 1.0, "62510": 1.0}
    assert values(wh, "nb_friches_avec_projet") == {"62321": 0.0, "62498": 1.0, "62510": 0.0}
    assert values(wh, "nb_friches_potentielles") == {"62321": 0.0, "62498": 1.0, "62510": 0.0}
    assert values(wh, "nb_friches_reconverties") == {"62321": 0.0, "62498": 0.0, "62510": 1.0}
    assert values(wh, "surface_friches") == pytest.approx({"62321": 0.0, "62498": 2.05005, "62510": 3.0})
    assert wh.query("SELECT DISTINCT year, cog, status FROM value") == [(2024, 2026, "ok")]
    assert wh.indicator("surface_friches")["unit"] == "ha" and wh.indicator("nb_friches")["kind"] == "stock"
    assert report.messages[0] == "Année des indicateurs de friches : 2024 (date d'actualisation la plus récente du fichier)."

    layer = wh.layer_features("friches")
    assert list(layer["feature_id"]) == ["62498_101", "62498_102", "62498_103", "62510_104", "62510_105"]
    assert list(layer["commune"]) == ["62498", "62498", "62498", "62510", "62510"]
    first = json.loads(layer["properties"].iloc[0])
    assert first["site_statut"] == "friche sans projet" and first["site_surface"] == 12000.0
    assert first["site_adresse"] is None and first["bati_type"] == "industriel" and first["site_actu_date"] == "2022-10-10"
    # Points of the file, in Lambert-93: the first one was computed from (690 200, 7 030 300).
    x, y = layer.geometry.iloc[0].coords[0]
    assert (x, y) == (pytest.approx(690_200, abs=0.1), pytest.approx(7_030_300, abs=0.1))
    assert wh.layers()[["id", "label", "theme"]].values.tolist() == [["friches", "Friches", "foncier"]]
    source = wh.sources().iloc[-1]
    assert (source["dataset"], source["vintage"]) == ("friches:friches", "inventaire des friches, état 2024")


def test_option_year_and_old_codes_through_the_passage_table(wh, tmp_path):
    seed_communes(wh, {"62757": "Saint-Martin-lez-Tatinghem", "62498": "Lens", "62510": "Liévin"}, cog=2026)
    sid = add_source(wh, dataset="test:passage")
    wh.insert_frame("passage", pd.DataFrame(
        [(2015, 2016, "62807", "62757", "fusion", 1.0, sid), (2015, 2016, "62757", "62757", "fusion", 1.0, sid)],
        columns=["cog_from", "cog_to", "code_from", "code_to", "change", "weight", "source_id"]))
    text = (FIXTURES / "cartofriches_extrait.geojson").read_text(encoding="utf-8").replace('"comm_insee": "62510"', '"comm_insee": "62807"')
    path = tmp_path / "cartofriches_anciens_codes.geojson"
    path.write_text(text, encoding="utf-8")
    report = run_import(wh, FrichesImporter(path, year="2023"))
    assert "1 ancien(s) code(s) commune converti(s) au COG 2026 par la table de passage (62807 → 62757)." in report.messages[0]
    assert values(wh, "nb_friches") == {"62498": 3.0, "62510": 0.0, "62757": 1.0}
    # A local inventory: values only where there are sites.
    run_import(wh, FrichesImporter(path, year=2023, fill_zeros="none"))
    assert values(wh, "nb_friches") == {"62498": 3.0, "62757": 1.0}
    assert wh.query("SELECT DISTINCT year FROM value") == [(2023,)]


def test_an_unknown_commune_code_is_an_error(wh, tmp_path):
    seed_artois(wh)
    text = (FIXTURES / "cartofriches_extrait.geojson").read_text(encoding="utf-8").replace('"comm_insee": "62510"', '"comm_insee": "62999"')
    path = tmp_path / "cartofriches.geojson"
    path.write_text(text, encoding="utf-8")
    error = fails(wh, FrichesImporter(path), line=4, column="comm_insee")
    assert "62999" in error.message and "entité n° 4" in error.message


def test_unknown_status_and_duplicated_site(wh, tmp_path):
    seed_artois(wh)
    source = (FIXTURES / "cartofriches_extrait.geojson").read_text(encoding="utf-8")
    path = tmp_path / "statut.geojson"
    path.write_text(source.replace('"site_statut": "friche avec projet"', '"site_statut": "en projet"'), encoding="utf-8")
    error = fails(wh, FrichesImporter(path), line=2, column="site_statut")
    assert "en projet" in error.message
    path.write_text(source.replace('"site_id": "62498_102"', '"site_id": "62498_101"'), encoding="utf-8")
    error = fails(wh, FrichesImporter(path), line=2, column="site_id")
    assert "entités n° 1 et n° 2" in error.message


def test_cnig_standard_csv_with_latitude_first_wkt(wh):
    seed_artois(wh)
    report = run_import(wh, FrichesImporter(FIXTURES / "cnig_friches_valide.csv"))
    assert any("latitude puis longitude" in m for m in report.messages)
    layer = wh.layer_features("friches").set_index("feature_id")
    site = layer.loc["62498_22-62.0001"]
    assert site.geometry.geom_type == "Polygon" and site.geometry.area == pytest.approx(40_000, rel=2e-3)
    assert site.geometry.centroid.x == pytest.approx(690_500, abs=2) and site.geometry.centroid.y == pytest.approx(7_030_500, abs=2)
    point = layer.loc["62510_22-62.0002"].geometry
    assert point.geom_type == "Point" and point.x == pytest.approx(689_500, abs=0.5)
    assert values(wh, "nb_friches") == {"62321": 0.0, "62498": 1.0, "62510": 1.0}
    # Lens: the polygon's area (≈ 4 ha) comes before the unité foncière (9 000 m²); Liévin: 2 500 m².
    assert values(wh, "surface_friches") == pytest.approx({"62321": 0.0, "62498": 4.0, "62510": 0.25}, rel=2e-3)
    assert wh.query("SELECT DISTINCT year FROM value") == [(2024,)]
    props = json.loads(layer.loc["62498_22-62.0001", "properties"])
    assert props["bati_pollution"] == "amiante" and props["site_type"] == "friche industrielle"


def test_the_official_cnig_example_points_at_its_placeholder_polygon(wh, tmp_path):
    seed_communes(wh, {"12083": "Cransac"}, cog=2026)
    # Its geomsurf is "POLYGON((49.33 3.95, 49.38 3.89, 49.42 3.96, ...))": an illustration, not WKT.
    example = DEMO / "schemas" / "cnig_friches" / "fichier-valide.csv"
    error = fails(wh, FrichesImporter(example), line=2, column="geomsurf", file="fichier-valide.csv")
    assert "WKT illisible" in error.message
    fixed = tmp_path / "fichier-valide-corrige.csv"
    fixed.write_text(example.read_text(encoding="utf-8").replace(", ...))", ", 49.33 3.95))"), encoding="utf-8")
    run_import(wh, FrichesImporter(fixed))
    site = wh.layer_features("friches").iloc[0]
    assert site["feature_id"] == "12083_22-12.0017" and site["commune"] == "12083"
    assert site.geometry.geom_type == "Polygon"
    assert values(wh, "nb_friches") == {"12083": 1.0}
    assert values(wh, "nb_friches_avec_projet") == {"12083": 1.0}


def test_a_layer_id_taken_by_another_import_is_refused(wh, tmp_path):
    seed_artois(wh)
    run_import(wh, LayerImporter(FIXTURES / "cartofriches_extrait.geojson", layer="friches", id_field="site_id"))
    error = fails(wh, FrichesImporter(FIXTURES / "cartofriches_extrait.geojson"))
    assert "la couche « friches » existe déjà" in error.message
    run_import(wh, FrichesImporter(FIXTURES / "cartofriches_extrait.geojson", layer="friches_cerema"))
    assert sorted(wh.layers()["id"]) == ["friches", "friches_cerema"]


def test_cartofriches_csv_export_with_lon_lat_columns(wh, tmp_path):
    seed_artois(wh)
    path = tmp_path / "cartofriches_62.csv"
    path.write_text(
        "site_id;site_nom;site_type;site_statut;site_surface;comm_nom;comm_insee;site_actu_date;lon;lat\n"
        "62498_101;Ancienne brasserie;friche industrielle;friche sans projet;12000;LENS;62498;2022-10-10;2.862438;50.370299\n"
        "62510_104;Carreau de fosse;friche carrière ou mine;friche sans projet;30000;LIEVIN;62510;2023-02-13;2.852607;50.372083\n"
        "62510_106;Dépôt;inconnu;NA;NA;LIEVIN;62510;2023-02-13;2.8526;\n",
        encoding="utf-8")
    error = fails(wh, FrichesImporter(path), line=4, column="lat")
    assert "coordonnée absente" in error.message
    path.write_text(path.read_text(encoding="utf-8").replace("2.8526;\n", "2.8526;50.3721\n"), encoding="utf-8")
    report = run_import(wh, FrichesImporter(path))
    assert values(wh, "nb_friches") == {"62321": 0.0, "62498": 1.0, "62510": 2.0}
    assert values(wh, "surface_friches") == pytest.approx({"62321": 0.0, "62498": 1.2, "62510": 3.0})
    assert "1 site(s) sans surface connue" in " ".join(report.messages)
    assert wh.query("SELECT DISTINCT year FROM value") == [(2023,)]
    x, y = wh.layer_features("friches").geometry.iloc[0].coords[0]
    assert (x, y) == (pytest.approx(690_200, abs=0.1), pytest.approx(7_030_300, abs=0.1))
