"""Vector tiles of the territory contours, decoded back by GDAL's MVT driver (pyogrio), on the small Artois
warehouse of `test_api_engine`; the same tiles from PostGIS."""

from __future__ import annotations

import math

import numpy as np
import pyogrio
import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import box

from tests.test_api_engine import COMMUNES, QPV, build_observatory
from vigie.publish.api import create_app
from vigie.publish.tiles import BANDS, band, simplify, tile_bounds, tolerance
from vigie.warehouse import connect

MERCATOR = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)






def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def decode(content: bytes, z: int, x: int, y: int, folder, layer: str = "commune"):
    """The features of a tile, in EPSG:3857 (GDAL reads z/x/y from the file's path)."""
    path = folder / str(z) / str(x) / f"{y}.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return pyogrio.read_dataframe(path, layer=layer)


def mercator(geom):
    return shapely.transform(geom, lambda c: np.column_stack(MERCATOR.transform(c[:, 0], c[:, 1])))


def test_a_tile_carries_codes_and_names(client, tmp_path):
    z = 10
    x, y = tile_of(2.83, 50.43, z)  # Lens
    r = client.get(f"/tiles/commune/{z}/{x}/{y}.mvt")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert r.headers["cache-control"] == "public, max-age=3600"
    frame = decode(r.content, z, x, y, tmp_path)
    assert frame.crs.to_epsg() == 3857
    tile = box(*tile_bounds(z, x, y))
    expected = {c for c, (_n, _e, g) in COMMUNES.items() if mercator(g).intersects(tile)}
    assert set(frame["code"]) == expected and "62498" in expected
    names = dict(zip(frame["code"], frame["name"]))
    assert names["62498"] == "Lens" and names.get("62510", "Liévin") == "Liévin"
    lens = frame.set_index("code").loc["62498", "geometry"]
    # Quantised to the tile grid (4096 units) (GDAL clips what it reads to the tile): within a grid unit of the truth.
    truth = mercator(COMMUNES["62498"][2]).intersection(tile)
    unit = (tile.bounds[2] - tile.bounds[0]) / 4096
    assert lens.symmetric_difference(truth).area < truth.length * 2 * unit


def test_low_zoom_tile_holds_every_commune_and_other_levels(client, tmp_path):
    z = 5
    x, y = tile_of(2.8, 50.4, z)
    frame = decode(client.get(f"/tiles/commune/{z}/{x}/{y}.mvt").content, z, x, y, tmp_path)
    assert sorted(frame["code"]) == sorted(COMMUNES)
    qpv = decode(client.get(f"/tiles/qpv/{z}/{x}/{y}.mvt").content, z, x, y, tmp_path / "qpv", layer="qpv")
    assert list(qpv["code"]) == [QPV]
    epci = decode(client.get(f"/tiles/epci/12/{tile_of(2.83, 50.43, 12)[0]}/{tile_of(2.83, 50.43, 12)[1]}.mvt").content,
                  12, *tile_of(2.83, 50.43, 12), tmp_path / "epci", layer="epci")
    assert list(epci["name"]) == ["CA de Lens - Liévin"]


def test_empty_tile_is_204(client):
    x, y = tile_of(-30.0, 40.0, 8)  # the Atlantic
    r = client.get(f"/tiles/commune/8/{x}/{y}.mvt")
    assert r.status_code == 204 and r.content == b""


def test_tilejson(client):
    body = client.get("/tiles/commune.json").json()
    assert body["tiles"] == ["http://testserver/tiles/commune/{z}/{x}/{y}.mvt"]
    assert body["bounds"] == [2.6, 50.27, 2.98, 50.56]
    assert body["vector_layers"][0]["id"] == "commune" and set(body["vector_layers"][0]["fields"]) == {"code", "name"}


@pytest.mark.parametrize("url, status, detail", [
    ("/tiles/commune/23/0/0.mvt", 400, "Niveau de zoom 23 hors limites : de 0 à 22."),
    ("/tiles/commune/3/8/0.mvt", 400, "Tuile 3/8/0 hors de la grille : au zoom 3, x et y vont de 0 à 7."),
    ("/tiles/commune/3/-1/0.mvt", 400, "Tuile 3/-1/0 hors de la grille : au zoom 3, x et y vont de 0 à 7."),
    ("/tiles/commune/3/0/abc.mvt", 422, None),
    ("/tiles/canton/3/0/0.mvt", 404, None),
    ("/tiles/region/3/0/0.mvt", 404, "Le niveau « region » n'a pas de contours dans l'entrepôt (niveaux avec contours : "
                                     "commune, departement, epci, pole_metropolitain, qpv)."),
    ("/tiles/' OR 1=1 --/3/0/0.mvt", 404, None),
    ("/tiles/canton.json", 404, None),
])
def test_bad_tiles(client, url, status, detail):
    r = client.get(url)
    assert r.status_code == status
    if detail:
        assert r.json() == {"detail": detail}
    assert r.json()["detail"]


def test_zoom_bands_and_coverage_simplification():
    assert [band(z) for z in (0, 2, 3, 4, 5, 9, 10, 12, 18)] == [0, 0, 3, 3, 5, 9, 10, 10, 10]
    assert BANDS[-1] == 10
    assert tolerance(12) == pytest.approx(2 * 20037508.342789244 / 4096 / 4096)
    assert tile_bounds(0, 0, 0) == pytest.approx((-20037508.342789244, -20037508.342789244, 20037508.342789244, 20037508.342789244))
    # Two neighbours with a wiggly shared border: simplified together, they still share it (no gap, no overlap).
    wiggle = [(x, 0.3 * math.sin(x)) for x in np.linspace(0, 10, 200)]
    south = shapely.Polygon([(0, -5), (10, -5), *reversed(wiggle)])
    north = shapely.Polygon([*wiggle, (10, 5), (0, 5)])
    simple = simplify(np.array([south, north]), 0.5)
    assert all(shapely.get_num_coordinates(simple) < 50)
    assert simple[0].intersection(simple[1]).area == pytest.approx(0, abs=1e-9)
    assert shapely.union_all(simple).area == pytest.approx(south.area + north.area, rel=1e-3)


@pytest.mark.postgres
def test_the_same_tiles_from_postgis(pg_url, tmp_path, client):
    wh = connect(pg_url)
    try:
        build_observatory(wh, tmp_path)
    finally:
        wh.close()
    with TestClient(create_app(pg_url)) as pg:
        for z, lon, lat in ((5, 2.8, 50.4), (10, 2.83, 50.43), (12, 2.83, 50.43)):
            x, y = tile_of(lon, lat, z)
            url = f"/tiles/commune/{z}/{x}/{y}.mvt"
            got = decode(pg.get(url).content, z, x, y, tmp_path / "pg")
            want = decode(client.get(url).content, z, x, y, tmp_path / "duckdb")
            assert sorted(got["code"]) == sorted(want["code"]), url
            assert dict(zip(got["code"], got["name"])) == dict(zip(want["code"], want["name"]))
        x, y = tile_of(-30.0, 40.0, 8)
        assert pg.get(f"/tiles/commune/8/{x}/{y}.mvt").status_code == 204
