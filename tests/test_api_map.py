"""The map's compact answers (`/api/map/codes`, `/api/map/points`, `/api/map/values`) on the small Artois warehouse of
`test_api_engine`: values aligned to the code order, computed by hand; classes as `/api/classes` gives them;
secrets never sent; bad parameters answered in French."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shapely.geometry import Point

from tests.test_api_engine import CABBALR, CAHC, CALL, COMMUNES, CUA, EPCI

pytestmark = pytest.mark.filterwarnings("ignore:Numba not installed")

CODES = ["62041", "62119", "62427", "62498", "62510"]  # Arras, Béthune, Hénin-Beaumont, Lens, Liévin


def test_codes_give_the_order_and_the_extent(client):
    r = client.get("/api/map/codes/commune")
    body = r.json()
    assert body["codes"] == CODES and body["count"] == 5 and body["cog"] == 2026
    assert body["bounds"] == pytest.approx([2.60, 50.27, 2.98, 50.56])
    assert r.headers["etag"] and "max-age" in r.headers["cache-control"]
    assert client.get("/api/map/codes/commune", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    epci = client.get("/api/map/codes/epci").json()
    assert epci["codes"] == sorted(EPCI) and epci["version"] != body["version"]


def test_points_fall_inside_their_territory(client):
    codes = client.get("/api/map/codes/commune").json()
    points = client.get("/api/map/points/commune").json()
    assert points["version"] == codes["version"] and len(points["lon"]) == len(points["lat"]) == 5
    for code, lon, lat in zip(codes["codes"], points["lon"], points["lat"]):
        assert COMMUNES[code][2].contains(Point(lon, lat)), code
    # A rectangle's point on surface is its middle.
    lens = CODES.index("62498")
    assert (points["lon"][lens], points["lat"][lens]) == pytest.approx((2.83, 50.43))


def test_values_of_a_rate_aligned_to_the_codes_with_their_classes(client):
    r = client.get("/api/map/values", params={"indicator": "taux_chomage", "level": "commune", "k": 2})
    assert r.status_code == 200 and r.headers["etag"]
    body = r.json()
    # Chômeurs / actifs × 100 in 2021, rounded to the indicator's decimals + 2.
    assert body["values"] == [10, round(1200 / 11000 * 100, 3), 12.5, round(2000 / 14000 * 100, 3), round(1800 / 13000 * 100, 3)]
    assert body["values"][0] == 10 and isinstance(body["values"][0], int)
    assert body["version"] == client.get("/api/map/codes/commune").json()["version"]
    assert (body["year"], body["years"], body["count"], body["with_value"]) == (2021, [2010, 2021], 5, 5)
    assert body["status"] == {"missing": []}
    assert body["drawing"] == "aplats"
    assert body["min"] == 10.0 and body["max"] == pytest.approx(2000 / 14000 * 100)
    classes = client.get("/api/classes", params={"indicator": "taux_chomage", "level": "commune", "k": 2}).json()
    assert body["classes"]["breaks"] == classes["breaks"]
    assert [c["count"] for c in body["classes"]["classes"]] == [3, 2]
    assert body["classes"]["histogram"] == classes["histogram"]
    assert [t["name"] for t in body["top"]] == ["Lens", "Liévin", "Hénin-Beaumont", "Béthune", "Arras"]
    assert body["indicator"]["id"] == "taux_chomage" and body["indicator"]["decimals"] == 1
    jenks = client.get("/api/map/values", params={"indicator": "taux_chomage", "method": "jenks", "k": 2}).json()
    assert jenks["classes"]["method"] == "jenks" and jenks["classes"]["breaks"][-1] == body["max"]


def test_stocks_are_drawn_as_circles_without_classes(client):
    body = client.get("/api/map/values", params={"indicator": "population_legale", "level": "epci"}).json()
    assert body["drawing"] == "cercles" and body["classes"] is None
    assert sorted(EPCI) == [CUA, CABBALR, CAHC, CALL]
    assert body["values"] == [42000, 25500, 27000, 31500 + 30500]  # 2022: Arras; Béthune; Hénin; Lens + Liévin
    assert body["top"][0] == {"code": CALL, "name": "CA de Lens - Liévin", "value": 62000, "status": "ok"}
    older = client.get("/api/map/values", params={"indicator": "population_legale", "level": "epci", "year": 2016}).json()
    assert older["year"] == 2016 and older["values"][-1] == 31000 + 31500


def test_a_secret_value_never_leaves_the_server(client):
    r = client.get("/api/map/values", params={"indicator": "taux_vacance", "level": "commune"})
    body = r.json()
    assert body["values"][CODES.index("62510")] is None
    assert body["status"]["secret"] == [CODES.index("62510")]
    assert body["values"][CODES.index("62498")] == 10  # 1,600 vacant homes out of 16,000
    shown = [v for v in body["values"] if v is not None]
    assert round(42 / 14000 * 100, 3) not in shown and "0.3" not in r.text
    assert all(t["value"] is not None for t in body["top"]) and "62510" not in [t["code"] for t in body["top"]]


def test_synthetic_values_carry_the_mark(client):
    body = client.get("/api/map/values", params={"indicator": "population", "level": "commune"}).json()
    assert body["synthetic"] is True and body["synthetic_mark"] == "données fictives de démonstration"


BAD = [
    ("/api/map/values?indicator=inconnu", 404, "L'indicateur « inconnu » n'est pas au catalogue."),
    ("/api/map/values?indicator=taux_chomage&level=canton", 404, None),
    ("/api/map/values?indicator=taux_chomage&level=region", 404, None),
    ("/api/map/values?indicator=taux_chomage&year=1990", 404, None),
    ("/api/map/values?indicator=taux_chomage&method=kmeans", 400, None),
    ("/api/map/values?indicator=taux_chomage&method=manual", 400, None),
    ("/api/map/values?indicator=taux_chomage&method=manual&bins=20,10", 400, None),
    ("/api/map/values?indicator=taux_chomage&k=0", 422, None),
    ("/api/map/values?indicator=taux_chomage&year=deux", 422, None),
    ("/api/map/values", 422, None),
    ("/api/map/values?indicator=' OR 1=1 --", 404, None),
    ("/api/map/codes/canton", 404, None),
    ("/api/map/points/region", 404, None),
    ("/api/map/codes/' OR 1=1 --", 404, None),
]


@pytest.mark.parametrize("url, status, detail", BAD, ids=[b[0] for b in BAD])
def test_bad_map_requests_are_french_4xx(client, url, status, detail):
    r = client.get(url)
    assert r.status_code == status, r.text
    message = r.json()["detail"]
    if detail:
        assert message == detail
    assert any(word in message for word in ("indicateur", "Niveau", "niveau", "Paramètre", "paramètre", "Pas de donnée",
                                            "Requête invalide", "méthode", "contours"))


def test_no_contours_and_no_data_are_said_in_french(client):
    region = client.get("/api/map/values", params={"indicator": "taux_chomage", "level": "region"}).json()["detail"]
    assert "n'a pas de contours" in region and "commune" in region
    year = client.get("/api/map/values", params={"indicator": "taux_chomage", "year": 1990}).json()["detail"]
    assert "2010, 2021" in year


def test_the_map_page_carries_its_extent_and_default_indicator(client):
    html = client.get("/carte?level=epci", headers={"Accept": "text/html"}).text
    config = json.loads(html.split('<script id="vigie-config" type="application/json">')[1].split("</script>")[0])
    assert config["mapBounds"] == pytest.approx([2.60, 50.27, 2.98, 50.56])
    catalogue = {d["id"]: d for d in client.get("/api/catalogue").json()["indicators"]}
    default = catalogue[config["mapDefault"]]
    assert default["key"] and default["kind"] != "stock" and "commune" in default["levels"]


def test_the_bundle_is_served_gzipped_once_and_cached_for_a_year(client):
    import gzip
    import re

    from vigie.publish.web import DIST_DIR

    html = client.get("/carte", headers={"Accept": "text/html"}).text
    scripts = re.findall(r'src="[^"]*/static/dist/(assets/[^"]+\.js)"', html)
    assert scripts
    assert client.app.state.context.prepared.wait(60)  # the warm-up compressed every script and style
    files = next(route.app for route in client.app.routes if getattr(route, "name", "") == "bundle")
    assets = {p.name for p in (DIST_DIR / "assets").iterdir() if p.suffix in (".js", ".css")}
    assert {Path(k[0]).name for k in files._gzipped} >= assets
    for name in scripts:
        r = client.get(f"/static/dist/{name}", headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.content == (DIST_DIR / name).read_bytes()  # decoded by the client: the file itself
    plain = client.get(f"/static/dist/{scripts[0]}", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == (DIST_DIR / scripts[0]).read_bytes()
    assert gzip.decompress(files._gzip(DIST_DIR / scripts[0])) == plain.content


@pytest.mark.parametrize("value, unit, decimals, text", [
    (1, "médecins", 0, "1\u00a0médecin"),
    (0, "logements", 0, "0\u00a0logement"),
    (1.5, "habitants", 1, "1,5\u00a0habitant"),
    (1.6, "habitants", 0, "2\u00a0habitants"),  # agrees with the number shown
    (2, "médecins", 0, "2\u00a0médecins"),
    (1, "emplois pour 100 actifs occupés", 1, "1,0\u00a0emploi pour 100 actifs occupés"),
    (1, "pour 10 000 hab.", 1, "1,0\u00a0pour 10 000 hab."),
    (1, "m²", 0, "1\u00a0m²"),
    (147, "indice", 0, "147"),
    (0.31, "indice", 2, "0,31"),
    (12.34, "%", 1, "12,3\u00a0%"),
    (None, "habitants", 0, "–"),
])
def test_units_agree_with_their_number(value, unit, decimals, text):
    from vigie import formatting
    from vigie.publish import french_numbers

    assert formatting.quantity(value, unit, decimals) == text
    assert french_numbers.quantity(value, unit, decimals) == text
