"""OGC API – Features under /ogc: the documents the standard asks for, paging, bbox, filters and bad parameters,
then GDAL's own client (`ogrinfo`, `ogr2ogr` from Debian `gdal-bin`) against the app served by uvicorn on a free
loopback port. The warehouse is the small Artois one of `test_api_engine`.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from urllib.parse import parse_qs, urlparse

import pyogrio
import pytest
import uvicorn
from fastapi.testclient import TestClient
from shapely.geometry import shape

from tests.test_api_engine import CALL, COMMUNES, build_observatory
from vigie.publish.api import create_app
from vigie.warehouse import connect

GDAL_HINT = "installez le paquet Debian « gdal-bin » (apt-get install --no-install-recommends gdal-bin)"






def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(observatory):
    """The app served by uvicorn in a thread of this process, on 127.0.0.1 and a free port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(str(observatory)), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-ogc", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("Le serveur uvicorn de test n'a pas démarré.")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def gdal(tool: str, *args: str) -> subprocess.CompletedProcess:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"« {tool} » introuvable : {GDAL_HINT}.", pytrace=False)
    done = subprocess.run([path, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{tool} {' '.join(args)} a échoué :\n{done.stdout}\n{done.stderr}"
    return done


# ------------------------------------------------------------------------------------------ documents
def test_landing_conformance_and_service_description(client):
    r = client.get("/ogc")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    links = {link["rel"]: link for link in r.json()["links"]}
    assert set(links) == {"self", "service-desc", "conformance", "data"}
    assert links["service-desc"] == {"href": "http://testserver/ogc/api", "rel": "service-desc",
                                     "type": "application/vnd.oai.openapi+json;version=3.0",
                                     "title": "Description OpenAPI 3.0"}
    assert client.get("/ogc/").json() == r.json()
    assert client.get("/ogc/conformance").json() == {"conformsTo": [
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    ]}
    api = client.get("/ogc/api")
    assert api.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = api.json()
    assert doc["openapi"].startswith("3.0") and doc["servers"] == [{"url": "http://testserver/ogc"}]
    params = {p["name"]: p for p in doc["paths"]["/collections/communes/items"]["get"]["parameters"]}
    assert set(params) == {"bbox", "limit", "offset", "code", "name"}
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100}
    assert {p["name"] for p in doc["paths"]["/collections/friches/items"]["get"]["parameters"]} == {
        "bbox", "limit", "offset", "commune", "name"}


def test_collections_one_per_level_with_contours_and_per_layer(client):
    body = client.get("/ogc/collections").json()
    ids = [c["id"] for c in body["collections"]]
    assert ids == ["communes", "departement", "epci", "pole_metropolitain", "qpv", "friches", "gares"]
    communes = client.get("/ogc/collections/communes").json()
    assert communes["title"] == "Commune (contours)" and communes["itemType"] == "feature"
    assert communes["extent"]["spatial"] == {"bbox": [[2.6, 50.27, 2.98, 50.56]],
                                             "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
    assert {link["rel"]: link["type"] for link in communes["links"]} == {"self": "application/json",
                                                                        "items": "application/geo+json"}
    assert client.get("/ogc/collections/gares").json()["title"] == "Gares ferroviaires"


# ------------------------------------------------------------------------------------------ items
def test_items_paging_bbox_and_filters(client):
    r = client.get("/ogc/collections/communes/items")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert (body["type"], body["numberMatched"], body["numberReturned"]) == ("FeatureCollection", 5, 5)
    assert [f["id"] for f in body["features"]] == sorted(COMMUNES)
    lens = body["features"][3]
    assert lens["properties"]["name"] == "Lens" and lens["properties"]["level"] == "commune"
    assert shape(lens["geometry"]).equals(COMMUNES["62498"][2])
    assert {link["rel"] for link in body["links"]} == {"self", "collection"}

    first = client.get("/ogc/collections/communes/items", params={"limit": 2}).json()
    assert (first["numberMatched"], first["numberReturned"]) == (5, 2)
    seen = [f["id"] for f in first["features"]]
    page = first
    while "next" in {link["rel"] for link in page["links"]}:
        nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
        query = parse_qs(urlparse(nxt).query)
        assert query["limit"] == ["2"]
        page = client.get(urlparse(nxt).path, params={k: v[0] for k, v in query.items()}).json()
        seen += [f["id"] for f in page["features"]]
    assert seen == sorted(COMMUNES)
    prev = next(link["href"] for link in page["links"] if link["rel"] == "prev")
    assert parse_qs(urlparse(prev).query)["offset"] == ["2"]

    # Lens and Liévin only (Hénin-Beaumont starts at 2.92).
    boxed = client.get("/ogc/collections/communes/items", params={"bbox": "2.75,50.40,2.85,50.44"}).json()
    assert sorted(f["id"] for f in boxed["features"]) == ["62498", "62510"] and boxed["numberMatched"] == 2
    assert client.get("/ogc/collections/communes/items", params={"bbox": "-5,40,0,10,52,100"}).json()["numberMatched"] == 5
    assert client.get("/ogc/collections/communes/items", params={"bbox": "170,40,-170,45"}).json()["numberMatched"] == 0
    one = client.get("/ogc/collections/communes/items", params={"code": "62510"}).json()
    assert [f["properties"]["name"] for f in one["features"]] == ["Liévin"]
    assert client.get("/ogc/collections/epci/items", params={"name": "CA de Lens - Liévin"}).json()["features"][0]["id"] == CALL
    assert client.get("/ogc/collections/communes/items", params={"limit": 50_000}).json()["numberReturned"] == 5  # lowered to 10,000
    assert client.get("/ogc/collections/communes/items", params={"offset": 10}).json()["features"] == []
    injected = client.get("/ogc/collections/communes/items", params={"code": "' OR '1'='1"}).json()
    assert (injected["numberMatched"], injected["features"]) == (0, [])

    friches = client.get("/ogc/collections/friches/items", params={"commune": "62498"}).json()
    assert [(f["id"], f["properties"]["name"], f["properties"]["surface_ha"]) for f in friches["features"]] == [
        ("f1", "Friche de la fosse 11", 2.5), ("f2", "Ancienne usine", 1.2)]
    assert friches["features"][0]["geometry"] == {"type": "Point", "coordinates": [2.83, 50.43]}


def test_one_item(client):
    r = client.get("/ogc/collections/communes/items/62498")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    feature = r.json()
    assert feature["type"] == "Feature" and feature["id"] == "62498" and feature["properties"]["name"] == "Lens"
    assert {link["rel"] for link in feature["links"]} == {"self", "collection"}
    assert client.get("/ogc/collections/gares/items/g2").json()["properties"]["lignes"] == "P30"
    missing = client.get("/ogc/collections/communes/items/99999")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Aucun objet « 99999 » dans la collection « communes ».", "code": "NotFound",
                              "description": "Aucun objet « 99999 » dans la collection « communes »."}


BAD_REQUESTS = [
    ("/ogc/collections/communes/items", {"bbox": "2.7,50.3,2.9"},
     "Paramètre « bbox » : 4 nombres attendus (longitude min, latitude min, longitude max, latitude max), 3 reçu(s)."),
    ("/ogc/collections/communes/items", {"bbox": "a,b,c,d"},
     "Paramètre « bbox » : chaque valeur doit être un nombre (ex. bbox=2.7,50.3,3.0,50.5)."),
    ("/ogc/collections/communes/items", {"bbox": "-1000,-1000,1000,1000"},
     "Paramètre « bbox » : longitude -1000 hors de l'intervalle [-180, 180]."),
    ("/ogc/collections/communes/items", {"bbox": "2,95,3,96"}, "Paramètre « bbox » : latitude 95 hors de l'intervalle [-90, 90]."),
    ("/ogc/collections/communes/items", {"bbox": "2,51,3,50"},
     "Paramètre « bbox » : la latitude minimale dépasse la latitude maximale."),
    ("/ogc/collections/communes/items", {"bbox": "1e999,0,1,1"}, "Paramètre « bbox » : nombres finis attendus."),
    ("/ogc/collections/communes/items", {"bbox": ",".join(["1"] * 10000)},
     "Paramètre « bbox » : 4 nombres attendus (longitude min, latitude min, longitude max, latitude max), 10000 reçu(s)."),
    ("/ogc/collections/communes/items", {"limit": "-1"}, "Paramètre « limit » : valeur au moins égale à 1 attendue, reçu -1."),
    ("/ogc/collections/communes/items", {"limit": "0"}, "Paramètre « limit » : valeur au moins égale à 1 attendue, reçu 0."),
    ("/ogc/collections/communes/items", {"limit": "beaucoup"}, "Paramètre « limit » : nombre entier attendu, reçu « beaucoup »."),
    ("/ogc/collections/communes/items", {"offset": "-5"}, "Paramètre « offset » : valeur au moins égale à 0 attendue, reçu -5."),
    ("/ogc/collections/communes/items", {"commune": "62498"},
     "Paramètre inconnu « commune » : paramètres acceptés : bbox, bbox-crs, code, f, limit, name, offset."),
    ("/ogc/collections/communes/items", {"f": "html"}, "Paramètre « f » : format « html » non proposé (json, geojson)."),
    ("/ogc/collections/communes/items", {"bbox-crs": "EPSG:2154"},
     "Paramètre « bbox-crs » : seul http://www.opengis.net/def/crs/OGC/1.3/CRS84 est proposé."),
    ("/ogc/collections", {"x": "1"}, "Paramètre inconnu « x » : paramètres acceptés : f."),
]


@pytest.mark.parametrize("url, query, detail", BAD_REQUESTS)
def test_bad_parameters_answer_400_in_french(client, url, query, detail):
    r = client.get(url, params=query)
    assert r.status_code == 400
    assert r.json() == {"detail": detail, "code": "InvalidParameterValue", "description": detail}


def test_unknown_collection_is_404(client):
    for url in ("/ogc/collections/cantons", "/ogc/collections/cantons/items", "/ogc/collections/'; DROP TABLE layer; --/items"):
        r = client.get(url)
        assert r.status_code == 404 and r.json()["detail"].startswith("Collection inconnue"), url


# ------------------------------------------------------------------------------------------ GDAL's client
def test_gdal_lists_the_collections(live_server):
    out = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{live_server}/ogc").stdout
    assert "using driver `OAPIF' successful" in out
    for line in ("1: communes (title: Commune (contours)) (Polygon)", "6: friches (title: Friches) (Point)",
                 "7: gares (title: Gares ferroviaires) (Point)"):
        assert line in out, out


def test_gdal_filters_and_pages(live_server, tmp_path):
    one = gdal("ogrinfo", "-ro", f"OAPIF:{live_server}/ogc", "communes", "-where", "code = '62498'").stdout
    assert "Feature Count: 1" in one and "name (String) = Lens" in one
    boxed = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{live_server}/ogc", "communes", "-spat", "2.75", "50.40", "2.85", "50.44").stdout
    assert "Feature Count: 2" in boxed
    # PAGE_SIZE=2: GDAL follows our `next` links to get all five communes.
    out = tmp_path / "communes.geojson"
    gdal("ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{live_server}/ogc", "communes", "-oo", "PAGE_SIZE=2")
    frame = pyogrio.read_dataframe(out)
    assert sorted(frame["code"]) == sorted(COMMUNES) and len(frame) == 5
    for code, geom in zip(frame["code"], frame.geometry):
        assert geom.equals(COMMUNES[code][2])
    layer = tmp_path / "friches.geojson"
    gdal("ogr2ogr", "-f", "GeoJSON", str(layer), f"OAPIF:{live_server}/ogc", "friches")
    features = json.loads(layer.read_text())["features"]
    assert sorted(f["properties"]["feature_id"] for f in features) == ["f1", "f2", "f3"]


# ------------------------------------------------------------------------------------------ PostGIS
@pytest.mark.postgres
def test_the_same_items_from_postgis(pg_url, tmp_path):
    wh = connect(pg_url)
    try:
        build_observatory(wh, tmp_path)
    finally:
        wh.close()
    with TestClient(create_app(pg_url)) as c:
        boxed = c.get("/ogc/collections/communes/items", params={"bbox": "2.75,50.40,2.85,50.44"}).json()
        assert sorted(f["id"] for f in boxed["features"]) == ["62498", "62510"]
        assert c.get("/ogc/collections/communes/items", params={"bbox": "170,40,-170,45"}).json()["numberMatched"] == 0
        assert c.get("/ogc/collections/friches/items/f3").json()["properties"]["commune"] == "62119"
        extent = c.get("/ogc/collections/communes").json()["extent"]["spatial"]["bbox"]
        assert extent == [[2.6, 50.27, 2.98, 50.56]]
