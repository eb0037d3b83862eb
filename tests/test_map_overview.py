"""The map's overview images (`/api/map/image/{level}/{z}/{x}/{y}.png`), drawn by the server for the low zooms, on the
small Artois warehouse of `test_api_engine` (communes are lon/lat rectangles): each commune's pixels have the
colour of its class in `/api/map/values`, a secret value is grey, a stock is a circle on the ground colour,
outside every territory is transparent; bad parameters get a French 4xx."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image

from vigie.publish.overview import PIXELS
from tests.test_api_engine import COMMUNES

pytestmark = pytest.mark.filterwarnings("ignore:Numba not installed")

Z = 6  # the Artois rectangles (0.06° wide) span ~11 pixels of a 1,024-pixel image of zoom 6


def pixel_of(lon: float, lat: float, z: int) -> tuple[int, int, int, int]:
    """Tile column and row, then pixel column and row inside that tile's image, of a WGS84 point."""
    n = 2**z
    fx = (lon + 180.0) / 360.0 * n
    fy = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    return int(fx), int(fy), int((fx % 1) * PIXELS), int((fy % 1) * PIXELS)


def rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


def image_at(client, lon: float, lat: float, **params) -> tuple[Image.Image, tuple[int, int]]:
    x, y, px, py = pixel_of(lon, lat, Z)
    r = client.get(f"/api/map/image/commune/{Z}/{x}/{y}.png", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and r.headers["etag"] and "content-encoding" not in r.headers
    image = Image.open(io.BytesIO(r.content)).convert("RGBA")
    assert image.size == (PIXELS, PIXELS)
    return image, (px, py)


def test_each_commune_has_the_colour_of_its_class(client):
    body = client.get("/api/map/values", params={"indicator": "taux_chomage", "level": "commune", "k": 2}).json()
    breaks, colors = body["classes"]["breaks"], body["classes"]["colors"]
    assert colors == ["#a1dab4", "#225ea8"]  # the palette's two classes, light to dark, also in the legend
    codes = client.get("/api/map/codes/commune").json()["codes"]
    seen = set()
    for code, value in zip(codes, body["values"]):
        centre = COMMUNES[code][2].centroid
        image, at = image_at(client, centre.x, centre.y, indicator="taux_chomage", k=2)
        # The first class whose upper bound holds the value (the last one for the maximum, which is rounded up).
        expected = colors[next((i for i, b in enumerate(breaks) if value <= b + 1e-9), len(breaks) - 1)]
        assert image.getpixel(at) == rgb(expected) + (255,), code
        seen.add(expected)
    assert seen == set(colors)  # both classes are drawn
    # Between the rectangles there is no territory: transparent.
    image, at = image_at(client, 2.70, 50.35, indicator="taux_chomage", k=2)
    assert image.getpixel(at)[3] == 0


def test_a_secret_value_is_grey_and_a_stock_is_a_circle(client):
    body = client.get("/api/map/values", params={"indicator": "logements_vacants", "level": "commune"}).json()
    assert body["drawing"] == "cercles" and body["colors"]["no_data"] == "#d5d9de"
    codes = client.get("/api/map/codes/commune").json()["codes"]
    values = dict(zip(codes, body["values"]))
    assert values["62510"] is None  # Liévin's vacant dwellings are under statistical secrecy
    lievin = COMMUNES["62510"][2].centroid
    image, at = image_at(client, lievin.x, lievin.y, indicator="logements_vacants", r=2)
    assert image.getpixel(at) == rgb(body["colors"]["no_data"]) + (255,)
    # Lens has a value: its circle (72 % opaque) over the ground colour, at its label point.
    points = client.get("/api/map/points/commune").json()
    i = codes.index("62498")
    image, at = image_at(client, points["lon"][i], points["lat"][i], indicator="logements_vacants", r=40)
    circle, ground = rgb(body["colors"]["circle"]), rgb(body["colors"]["ground"])
    blended = tuple(0.72 * c + 0.28 * g for c, g in zip(circle, ground))
    assert image.getpixel(at)[:3] == pytest.approx(blended, abs=3)
    # A smaller scale draws a smaller circle: 2 pixels aside (still inside Lens) is then the ground, not the circle;
    # 12 pixels north, outside every commune, only the larger circle is drawn (72 % opaque, over nothing).
    aside, far = (at[0] + 2, at[1]), (at[0], at[1] - 12)
    big, _ = image_at(client, points["lon"][i], points["lat"][i], indicator="logements_vacants", r=40)
    small, _ = image_at(client, points["lon"][i], points["lat"][i], indicator="logements_vacants", r=2)
    assert big.getpixel(aside)[:3] == pytest.approx(blended, abs=3)
    assert small.getpixel(aside) == ground + (255,)
    assert big.getpixel(far) == circle + (184,) and small.getpixel(far)[3] == 0


def test_an_image_with_no_territory_is_one_transparent_pixel(client):
    r = client.get("/api/map/image/commune/6/0/0.png", params={"indicator": "taux_chomage"})
    image = Image.open(io.BytesIO(r.content))
    assert r.status_code == 200 and image.size == (1, 1) and image.convert("RGBA").getpixel((0, 0))[3] == 0
    assert len(r.content) < 100


def test_images_are_built_once_and_revalidated(client):
    url = f"/api/map/image/commune/{Z}/{pixel_of(2.83, 50.43, Z)[0]}/{pixel_of(2.83, 50.43, Z)[1]}.png"
    first = client.get(url, params={"indicator": "taux_chomage"})
    again = client.get(url, params={"indicator": "taux_chomage"}, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    other = client.get(url, params={"indicator": "taux_chomage", "k": 2})
    assert other.headers["etag"] != first.headers["etag"]


@pytest.mark.parametrize("path, params, status, words", [
    ("/api/map/image/commune/7/64/43.png", {"indicator": "taux_chomage"}, 400, "jusqu'au zoom 6"),
    ("/api/map/image/commune/6/64/99.png", {"indicator": "taux_chomage"}, 400, "hors de la grille"),
    ("/api/map/image/commune/6/32/21.png", {"indicator": "inconnu"}, 404, "inconnu"),
    ("/api/map/image/canton/6/32/21.png", {"indicator": "taux_chomage"}, 404, "canton"),
    ("/api/map/image/commune/6/32/21.png", {"indicator": "taux_chomage", "year": 1999}, 404, "1999"),
    ("/api/map/image/commune/6/32/21.png", {"indicator": "taux_chomage", "method": "magique"}, 400, "magique"),
    ("/api/map/image/commune/6/32/21.png", {"indicator": "taux_chomage", "r": 0}, 422, ""),
])
def test_bad_requests_answer_in_french(client, path, params, status, words):
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"] if words else r.json()["detail"]
