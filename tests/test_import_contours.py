"""Territory contours (kind "contours") and `dissolve_contours`, with hand-checked values.

Fixture `communes_l93.geojson`: Lambert-93 squares near Lens, Liévin [689 000, 690 000] × [7 030 000, 7 031 000]
and Lens [690 000, 691 000] × the same (1 km² each), Évin-Malmaison a 2 km × 1 km rectangle plus a 0.5 km square
(2.25 km²). CALL = Lens + Liévin, CAHC = Évin-Malmaison.
"""

from __future__ import annotations

import json

import pytest
from shapely.geometry import MultiPolygon, box

from vigie.sources.base import run_import
from vigie.sources.contours import ContoursImporter, dissolve_contours
from tests.test_import_geo import (
    FIXTURES, LENS, LIEVIN, fails, feature, geometry_rows, l93_communes, seed_artois, seed_territories,
    write_geojson,
)


def test_contours_in_lambert93_keep_their_areas_and_become_multipolygons(wh):
    seed_artois(wh)
    report = run_import(wh, ContoursImporter(FIXTURES / "communes_l93.geojson", level="commune"))
    assert report.rows == {"territory_geometry": 3} and report.messages == []
    rows = geometry_rows(wh)
    assert {c: r[1] for c, r in rows.items()} == pytest.approx({"62498": 1.0, "62510": 1.0, "62321": 2.25}, abs=1e-12)
    assert {c: r[0] for c, r in rows.items()} == {"62498": 2026, "62510": 2026, "62321": 2026}
    assert {r[2].geom_type for r in rows.values()} == {"MultiPolygon"}
    assert {r[3].geom_type for r in rows.values()} == {"MultiPolygon"}
    assert rows["62498"][2].equals(MultiPolygon([LENS]))
    # The web copy is in lon/lat: Lens' square lies around 2.86° E, 50.37° N.
    lon, lat = rows["62498"][3].centroid.coords[0]
    assert lon == pytest.approx(2.8666, abs=1e-3) and lat == pytest.approx(50.3721, abs=1e-3)
    source = wh.sources().iloc[-1]
    assert (source["kind"], source["dataset"], source["vintage"]) == ("contours", "contours:commune:2026", "COG 2026")


def test_an_unknown_code_names_the_feature_and_the_field(wh, tmp_path):
    seed_artois(wh)
    path = l93_communes(tmp_path, {"62510": LIEVIN, "62498": LENS, "62999": box(0, 0, 1, 1)})
    # coordinates (0, 0) are in Lambert-93's domain: the code is what is wrong here
    error = fails(wh, ContoursImporter(path, level="commune"), line=3, column="code_insee")
    assert "62999" in error.message and "COG 2026" in error.message


def test_a_duplicated_code_names_both_features(wh, tmp_path):
    seed_artois(wh)
    path = write_geojson(tmp_path / "doublon.geojson", [
        feature({"code_insee": "62498"}, LENS), feature({"code_insee": "62510"}, LIEVIN), feature({"code_insee": "62498"}, LENS),
    ], crs=2154)
    error = fails(wh, ContoursImporter(path, level="commune"), line=3, column="code_insee")
    assert "entités n° 1 et n° 3" in error.message


def test_codes_lose_no_leading_zero_and_missing_fields_are_named(wh, tmp_path):
    seed_territories(wh, "commune", {"01053": "Bourg-en-Bresse"})
    square = box(870_000, 6_570_000, 871_000, 6_571_000)
    path = write_geojson(tmp_path / "ain.geojson", [feature({"INSEE_COM": 1053}, square)], crs=2154)
    report = run_import(wh, ContoursImporter(path, level="commune"))
    assert list(geometry_rows(wh)) == ["01053"] and "zéros" in report.messages[0]
    fails(wh, ContoursImporter(path, level="commune", code_field="code_commune"), line=None, column="code_commune")
    other = write_geojson(tmp_path / "sans_code.geojson", [feature({"nom": "Bourg"}, square)], crs=2154)
    error = fails(wh, ContoursImporter(other, level="commune"), line=None, column="code_insee")
    assert "code_field" in error.message


def test_departement_contour_from_a_single_feature(wh, tmp_path):
    seed_territories(wh, "departement", {"62": "Pas-de-Calais"})
    # Like france-geojson's département files: one Feature, not a FeatureCollection, properties code and nom.
    path = tmp_path / "departement-62.geojson"
    path.write_text(json.dumps(feature({"code": "62", "nom": "Pas-de-Calais"}, box(2.8, 50.3, 2.9, 50.4))))
    run_import(wh, ContoursImporter(path, level="departement"))
    rows = geometry_rows(wh, "departement")
    # 0.1° × 0.1° at 50.35° N: about 7.11 km × 11.12 km.
    assert rows["62"][1] == pytest.approx(79.0, rel=0.01)


def test_a_level_without_territory_is_a_clear_error(wh):
    seed_artois(wh)
    error = fails(wh, ContoursImporter(FIXTURES / "communes_l93.geojson", level="iris"), column=None)
    assert "iris" in error.message and "référentiel" in error.message
    error = fails(wh, ContoursImporter(FIXTURES / "communes_l93.geojson", level="commune", cog=2019), column="level")
    assert "COG 2019" in error.message and "commune (2026)" in error.message
    fails(wh, ContoursImporter(FIXTURES / "communes_l93.geojson"), column="level")


def test_a_missing_contour_is_reported_and_reimport_replaces(wh, tmp_path):
    seed_artois(wh)
    path = l93_communes(tmp_path, {"62498": LENS})
    report = run_import(wh, ContoursImporter(path, level="commune"))
    assert report.messages == ["2 territoire(s) de niveau commune au COG 2026 sans contour dans communes.geojson (ex. 62321, 62510)."]
    run_import(wh, ContoursImporter(FIXTURES / "communes_l93.geojson", level="commune"))
    assert sorted(geometry_rows(wh)) == ["62321", "62498", "62510"]
    assert wh.query("SELECT count(*) FROM source WHERE kind = 'contours'") == [(1,)]


def test_dissolve_contours_unions_the_members_on_both_backends(backend_wh):
    wh = backend_wh
    seed_artois(wh)
    run_import(wh, ContoursImporter(FIXTURES / "communes_l93.geojson", level="commune"))
    frame = dissolve_contours(wh, "epci", 2026)
    assert list(frame.columns) == ["level", "code", "cog", "area_km2", "geom", "geom_web"]
    assert list(frame["code"]) == ["246200299", "246200364"] and set(frame["level"]) == {"epci"}
    by_code = frame.set_index("code")
    # CALL = Lens + Liévin = a 2 km × 1 km rectangle, in one piece.
    call = by_code.loc["246200364", "geom"]
    assert by_code.loc["246200364", "area_km2"] == pytest.approx(2.0)
    assert call.geom_type == "MultiPolygon" and len(call.geoms) == 1
    assert call.equals(MultiPolygon([box(689_000, 7_030_000, 691_000, 7_031_000)]))
    assert by_code.loc["246200299", "area_km2"] == pytest.approx(2.25)
    assert frame.attrs["incomplete"] == []
    # A member without contour: its EPCI is left out and named.
    wh.execute("DELETE FROM territory_geometry WHERE code = '62321'")
    partial = dissolve_contours(wh, "epci", 2026)
    assert list(partial["code"]) == ["246200364"] and partial.attrs["incomplete"] == ["246200299"]
