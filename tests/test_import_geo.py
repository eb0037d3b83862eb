"""Reading and cleaning vector files (geo.py), through the contours importer, with hand-checked values.

The fixture communes are Lambert-93 squares near Lens: Liévin [689 000, 690 000] × [7 030 000, 7 031 000] and
Lens [690 000, 691 000] × the same (1 km² each), Évin-Malmaison a 2 km × 1 km rectangle plus a 0.5 km square
(2.25 km²). Other files are written by the tests themselves, in the formats agencies receive.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from vigie.errors import ImportValidationError
from vigie.sources.base import run_import
from vigie.sources.contours import ContoursImporter
from vigie.sources.geo import read_vector, to_lambert93, web_geometries
from tests.support import add_source, seed_communes

FIXTURES = Path(__file__).parent / "fixtures" / "geo"
COMMUNES = {"62498": "Lens", "62510": "Liévin", "62321": "Évin-Malmaison"}
EPCI = {"246200364": ["62498", "62510"], "246200299": ["62321"]}
LIEVIN = box(689_000, 7_030_000, 690_000, 7_031_000)
LENS = box(690_000, 7_030_000, 691_000, 7_031_000)


# ---------------------------------------------------------------------------------------------- helpers
def seed_artois(wh, cog: int = 2026) -> None:
    """The three fixture communes and their two EPCI (CALL, CAHC) at `cog`."""
    seed_communes(wh, COMMUNES, cog=cog, epci=EPCI)


def seed_territories(wh, level: str, codes: dict[str, str], cog: int = 2026) -> None:
    sid = add_source(wh, dataset=f"test:{level}:{cog}")
    wh.insert_frame("territory", pd.DataFrame(
        [(level, code, cog, name, sid) for code, name in codes.items()], columns=["level", "code", "cog", "name", "source_id"]))


def feature(props: dict, geometry) -> dict:
    return {"type": "Feature", "properties": props,
            "geometry": None if geometry is None else shapely.geometry.mapping(geometry)}


def write_geojson(path: Path, features: list[dict], crs: int | None = None) -> Path:
    data: dict = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        data["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs}"}}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def l93_communes(tmp_path: Path, geoms: dict[str, object], name: str = "communes.geojson") -> Path:
    return write_geojson(tmp_path / name, [feature({"code_insee": c, "nom": COMMUNES.get(c, c)}, g) for c, g in geoms.items()],
                         crs=2154)


def geometry_rows(wh, level: str = "commune") -> dict[str, tuple]:
    rows = wh.query(
        "SELECT code, cog, area_km2, ST_AsText(geom), ST_AsText(geom_web) FROM territory_geometry WHERE level = ? ORDER BY code",
        (level,))
    return {r[0]: (int(r[1]), float(r[2]), shapely.from_wkt(r[3]), shapely.from_wkt(r[4])) for r in rows}


def fails(wh, importer, **expected) -> ImportValidationError:
    """Run an import that must fail; the warehouse must be exactly as before."""
    before = wh.digest()
    with pytest.raises(ImportValidationError) as info:
        run_import(wh, importer)
    assert wh.digest() == before
    for key, value in expected.items():
        assert getattr(info.value, key) == value, (key, info.value.message)
    return info.value


# ---------------------------------------------------------------------------------------------- reading and cleaning
def test_a_geojson_without_crs_is_lon_lat_and_reprojects_exactly(tmp_path):
    # Lambert-93 is defined so that 3° E, 46.5° N falls on (700 000 m, 6 600 000 m).
    path = write_geojson(tmp_path / "p.geojson", [feature({"id": 1}, Point(3.0, 46.5))])
    features = read_vector(path, warn=lambda m: None, expected="point")
    x, y = features.geom[0].coords[0]
    assert (x, y) == (pytest.approx(700_000.0, abs=1e-3), pytest.approx(6_600_000.0, abs=1e-3))
    assert features.source_crs == "EPSG:4326"
    assert list(features.attributes["_line"]) == [1]


def test_a_zipped_shapefile_in_web_mercator_is_read_correctly(wh, tmp_path):
    seed_artois(wh)
    frame = gpd.GeoDataFrame({"INSEE_COM": ["62510", "62498"], "NOM": ["Liévin", "Lens"]}, geometry=[LIEVIN, LENS],
                             crs=2154).to_crs(3857)
    frame.to_file(tmp_path / "communes.shp")
    archive = tmp_path / "communes_3857.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for ext in ("shp", "shx", "dbf", "prj", "cpg"):
            if (tmp_path / f"communes.{ext}").exists():
                z.write(tmp_path / f"communes.{ext}", f"communes.{ext}")
    run_import(wh, ContoursImporter(archive, level="commune"))
    rows = geometry_rows(wh)
    assert {c: r[1] for c, r in rows.items()} == pytest.approx({"62498": 1.0, "62510": 1.0}, rel=1e-9)
    assert rows["62498"][2].buffer(0.01).contains(LENS) and LENS.buffer(0.01).contains(rows["62498"][2])


def test_a_shapefile_without_crs_asks_for_option_crs(wh, tmp_path):
    seed_artois(wh)
    gpd.GeoDataFrame({"code_insee": ["62498"]}, geometry=[LENS], crs=2154).to_file(tmp_path / "sans_prj.shp")
    (tmp_path / "sans_prj.prj").unlink()
    error = fails(wh, ContoursImporter(tmp_path / "sans_prj.shp", level="commune"), column="crs", line=None)
    assert "--option crs=EPSG:2154" in error.message and "sans_prj.shp" in error.message
    run_import(wh, ContoursImporter(tmp_path / "sans_prj.shp", level="commune", crs="EPSG:2154"))
    assert geometry_rows(wh)["62498"][1] == pytest.approx(1.0)


def test_a_geopackage_with_several_layers_needs_layer_name(wh, tmp_path):
    seed_artois(wh)
    path = tmp_path / "admin.gpkg"
    gpd.GeoDataFrame({"code_insee": ["62498"]}, geometry=[LENS], crs=2154).to_file(path, layer="commune")
    gpd.GeoDataFrame({"code_insee": ["62510"]}, geometry=[LIEVIN], crs=2154).to_file(path, layer="autre")
    error = fails(wh, ContoursImporter(path, level="commune"))
    assert "layer_name" in error.message and "commune" in error.message and "autre" in error.message
    fails(wh, ContoursImporter(path, level="commune", layer_name="inexistante"), column="layer_name")
    run_import(wh, ContoursImporter(path, level="commune", layer_name="autre"))
    assert list(geometry_rows(wh)) == ["62510"]


def test_a_bow_tie_is_repaired_and_reported(wh, tmp_path):
    seed_artois(wh)
    # Lens drawn as a bow-tie: two triangles of 500 m × 1 km each, meeting at (690 500, 7 030 500).
    bow_tie = Polygon([(690_000, 7_030_000), (691_000, 7_031_000), (691_000, 7_030_000), (690_000, 7_031_000)])
    assert not bow_tie.is_valid
    path = l93_communes(tmp_path, {"62510": LIEVIN, "62498": bow_tie})
    report = run_import(wh, ContoursImporter(path, level="commune"))
    assert report.messages[0] == (
        "communes.geojson : 1 géométrie invalide réparée (make_valid, en conservant la dimension) : entité n° 2."
    )
    lens = geometry_rows(wh)["62498"]
    assert lens[1] == pytest.approx(0.5)  # two triangles of 0.25 km²
    assert lens[2].geom_type == "MultiPolygon" and len(lens[2].geoms) == 2 and lens[2].is_valid


def test_a_degenerate_ring_in_a_multipolygon_is_dropped_and_reported(wh, tmp_path):
    seed_artois(wh)
    # A MultiPolygon whose second part is a ring of three points (a "polygon" with no area), as in the ANCT QPV file.
    text = json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
                       "features": [{"type": "Feature", "properties": {"code_insee": "62498"}, "geometry": {
                           "type": "MultiPolygon", "coordinates": [
                               [[[690000, 7030000], [691000, 7030000], [691000, 7031000], [690000, 7031000], [690000, 7030000]]],
                               [[[692000, 7030000], [692100, 7030000], [692000, 7030000]]]]}}]})
    (tmp_path / "c.geojson").write_text(text)
    report = run_import(wh, ContoursImporter(tmp_path / "c.geojson", level="commune"))
    assert "entité n° 1" in report.messages[0]
    assert geometry_rows(wh)["62498"][1] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "geometry, problem",
    [
        (Polygon([(690_000, 7_030_000), (691_000, 7_030_000), (692_000, 7_030_000), (690_000, 7_030_000)]),
         "se réduit à une ligne"),
        (None, "géométrie absente"),
        (Polygon(), "géométrie vide"),
        (Point(690_500, 7_030_500), "un point dans une couche surfacique"),
    ],
    ids=["collapsed-polygon", "null", "empty", "point"],
)
def test_unusable_geometries_name_the_feature_and_the_geometry_field(wh, tmp_path, geometry, problem):
    seed_artois(wh)
    path = l93_communes(tmp_path, {"62510": LIEVIN, "62498": geometry})
    error = fails(wh, ContoursImporter(path, level="commune"), line=2, column="geometry", file="communes.geojson")
    assert problem in error.message and "entité n° 2" in error.message


def test_nan_coordinates_are_an_error(wh, tmp_path):
    seed_artois(wh)
    path = tmp_path / "nan.gpkg"
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        nan_polygon = Polygon([(690_000, 7_030_000), (691_000, 7_030_000), (np.nan, 7_031_000), (690_000, 7_030_000)])
    gpd.GeoDataFrame({"code_insee": ["62510", "62321", "62498"]}, geometry=[LIEVIN, box(700_000, 7_035_000, 701_000, 7_036_000),
                     nan_polygon], crs=2154).to_file(path)
    error = fails(wh, ContoursImporter(path, level="commune"), line=3, column="geometry")
    assert "NaN" in error.message


def test_coordinates_outside_the_declared_crs_are_an_error(wh, tmp_path):
    seed_artois(wh)
    # Lambert-93 coordinates in a GeoJSON that declares nothing (so CRS84): latitudes of 7 million degrees.
    path = write_geojson(tmp_path / "faux_wgs84.geojson", [feature({"code_insee": "62498"}, LENS)])
    error = fails(wh, ContoursImporter(path, level="commune"), line=1, column="geometry")
    assert "option crs" in error.message
    run_import(wh, ContoursImporter(path, level="commune", crs="2154"))
    assert geometry_rows(wh)["62498"][1] == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------- web copy
def test_web_copy_keeps_shared_borders_and_moves_boundaries_by_a_few_metres():
    # Two neighbours sharing a jagged border of 2 001 vertices (a random walk with 1 m steps).
    rng = np.random.default_rng(62)
    border = list(zip(np.linspace(0, 2_000, 2_001), np.cumsum(rng.normal(0, 1.0, 2_001))))
    north, south = Polygon(border + [(2_000, 1_000), (0, 1_000)]), Polygon(border + [(2_000, -1_000), (0, -1_000)])
    geoms = np.array([shapely.affinity.translate(g, 690_000, 7_030_000) for g in (north, south)], dtype=object)
    web = web_geometries(geoms, tolerance=5.0)
    assert all(g.is_valid and g.geom_type == "Polygon" for g in web)
    assert shapely.get_num_coordinates(web).sum() < shapely.get_num_coordinates(geoms).sum() / 10
    # Shared border kept: the two simplified polygons still form a coverage (no overlap, no gap).
    assert bool(shapely.coverage_is_valid(web))
    # Boundaries moved by at most the tolerance (measured back in Lambert-93).
    back = to_lambert93(web, 4326)
    assert max(a.hausdorff_distance(b) for a, b in zip(geoms, back)) <= 5.0
    assert shapely.get_num_coordinates(web_geometries(geoms, tolerance=0)).sum() == shapely.get_num_coordinates(geoms).sum()
