"""Generic layer importer (kind "couche"): OSM stations in the demo's layout, hand-checked.

`gares_extrait.geojson`: Lens and Liévin stations (code_insee filled) and a third point at 3° E, 46.5° N (the
origin of Lambert-93, (700 000, 6 600 000)) without commune code.
"""

from __future__ import annotations

import json

import pytest
from shapely.geometry import Point

from vigie.sources.base import run_import
from vigie.sources.layer import LayerImporter
from tests.test_import_geo import FIXTURES, LENS, fails, feature, seed_artois, write_geojson

STATIONS = FIXTURES / "gares_extrait.geojson"
OPTIONS = dict(layer="gares", label="Gares ferroviaires", theme="mobilité", id_field="osm_id", name_field="name",
               commune_field="code_insee", licence="ODbL")


def test_stations_become_a_layer_with_their_attributes(wh):
    seed_artois(wh)
    report = run_import(wh, LayerImporter(STATIONS, **OPTIONS))
    assert report.rows == {"layer": 1, "layer_feature": 3}
    assert report.messages == ["gares_extrait.geojson : 1 entité(s) sans code commune (champ « code_insee »)."]
    layer = wh.layer_features("gares")
    assert list(layer["feature_id"]) == ["1001", "1002", "1003"]
    assert list(layer["name"]) == ["Lens", "Liévin", "Point origine Lambert-93"]
    assert [c if isinstance(c, str) else None for c in layer["commune"]] == ["62498", "62510", None]
    assert json.loads(layer["properties"].iloc[0]) == {
        "osm_type": "node", "lat": 50.372099, "lon": 2.866644, "type": "train", "lines": "K12;K13;P52", "nom": "Lens",
        "pma_epci": "CALL",
    }
    assert json.loads(layer["properties"].iloc[1])["lines"] is None
    origin = layer.geometry.iloc[2]
    assert (origin.x, origin.y) == (pytest.approx(700_000, abs=1e-3), pytest.approx(6_600_000, abs=1e-3))
    web = wh.layer_features("gares", web=True).geometry.iloc[2]
    assert (web.x, web.y) == (3.0, 46.5)
    assert wh.layers()[["id", "label", "theme", "features"]].values.tolist() == [["gares", "Gares ferroviaires", "mobilité", 3]]
    source = wh.sources().iloc[-1]
    assert (source["dataset"], source["licence"], source["title"]) == ("couche:gares", "ODbL", "Couche « Gares ferroviaires »")


def test_the_default_licence_is_the_licence_ouverte_and_ids_default_to_feature_numbers(wh):
    run_import(wh, LayerImporter(STATIONS, layer="points"))
    layer = wh.layer_features("points")
    assert list(layer["feature_id"]) == ["1", "2", "3"]
    assert [n if isinstance(n, str) else None for n in layer["name"]] == ["Lens", "Liévin", None]  # "nom", by default
    assert "osm_id" in json.loads(layer["properties"].iloc[0])
    assert wh.sources().iloc[-1]["licence"] == "Licence Ouverte / Etalab 2.0"


def test_unknown_commune_code_names_the_feature_and_field(wh, tmp_path):
    seed_artois(wh)
    path = write_geojson(tmp_path / "points.geojson", [
        feature({"id": "a", "insee": "62498"}, Point(2.86, 50.37)), feature({"id": "b", "insee": "62000"}, Point(2.86, 50.37)),
    ])
    error = fails(wh, LayerImporter(path, layer="points", id_field="id", commune_field="insee"), line=2, column="insee")
    assert "62000" in error.message


def test_option_errors_and_mixed_geometries(wh, tmp_path):
    seed_artois(wh)
    fails(wh, LayerImporter(STATIONS), column="layer")
    fails(wh, LayerImporter(STATIONS, layer="mes gares !"), column="layer")
    fails(wh, LayerImporter(STATIONS, layer="gares", id_field="identifiant"), column="identifiant", line=None)
    error = fails(wh, LayerImporter(STATIONS, layer="gares", id_field="type"), line=2, column="type")
    assert "entités n° 1 et n° 2" in error.message
    mixed = write_geojson(tmp_path / "mixte.geojson", [feature({"id": 1}, Point(690_500, 7_030_500)), feature({"id": 2}, LENS)],
                          crs=2154)
    error = fails(wh, LayerImporter(mixed, layer="mixte"), line=2, column="geometry")
    assert "surfacique dans une couche ponctuelle" in error.message
