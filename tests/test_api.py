"""The minimal JSON API (vigie.publish.api) on a small DuckDB warehouse built here, through run_import.

One warehouse file is built for the module, then served read-only by the app; the last checks prove that
nothing the app did changed the file. One test serves the same content from PostgreSQL/PostGIS.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, box, shape

from vigie.errors import ConfigurationError
from vigie.progress import Reporter
from vigie.publish.api import create_app
from vigie.sources.base import Batch, Importer, run_import
from vigie.sources.readers import parse_numbers, read_csv
from vigie.warehouse import Warehouse, connect
from tests.support import seed_communes

# ------------------------------------------------------------------------------------------ the warehouse
LENS_L93 = box(690_000, 7_030_000, 692_000, 7_031_000)  # 2 km²
LENS_WEB = box(2.80, 50.42, 2.85, 50.45)
CALL_L93 = box(680_000, 7_020_000, 684_000, 7_025_000)  # 20 km²
CALL_WEB = box(2.70, 50.40, 2.90, 50.50)

VALUES_CSV = (
    "code;niveau;annee;log_vac\n"
    "62498;commune;2021;1520\n"
    "62510;commune;2021;s\n"  # secret: the file gives no number
    "62321;commune;2021;9.5\n"
    "62498;commune;2015;1210\n"
    "246200364;epci;2021;nd\n"
)
EMPLOIS_CSV = "code;emplois\n62498;15000\n62510;8000\n"

TERRITORIES = [
    ("commune", "62498", "Lens"),
    ("commune", "62510", "Liévin"),
    ("commune", "62321", "Évin-Malmaison"),
    ("epci", "246200364", "CA de Lens - Liévin"),
    ("epci", "246200299", "CA d'Hénin-Carvin"),
    ("departement", "62", "Pas-de-Calais"),
    ("departement", "32", "Gers"),
    ("region", "32", "Hauts-de-France"),
]
MEMBERSHIPS = [
    ("commune", "62498", "epci", "246200364"),
    ("commune", "62510", "epci", "246200364"),
    ("commune", "62321", "epci", "246200299"),
    ("commune", "62498", "departement", "62"),
    ("commune", "62510", "departement", "62"),
    ("commune", "62321", "departement", "62"),
    ("departement", "62", "region", "32"),
]


def indicator_frame(*rows) -> pd.DataFrame:
    cols = ["id", "label", "theme", "unit", "kind", "numerator", "denominator", "factor", "decimals", "definition", "secrecy"]
    return pd.DataFrame([r + (None,) * (len(cols) - len(r)) for r in rows], columns=cols)


class ArtoisSliceImporter(Importer):
    """Territories, contours, a layer and the vacant-housing values of a `;` CSV (code;niveau;annee;log_vac)."""

    kind = "test-artois"
    title = "Tranche de l'Artois (test)"
    producer = "Agence d'urbanisme de l'Artois"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        df = read_csv(self.path, separator=";", required=["code", "niveau", "annee", "log_vac"], key=["code", "annee"])
        values, status = parse_numbers(df, "log_vac", self.path.name)
        batch = Batch()
        batch.add("indicator", indicator_frame(("log_vac", "Logements vacants", "logement", "logements", "stock", None, None, None, 0)))
        batch.add("territory", pd.DataFrame([(lv, c, 2026, n) for lv, c, n in TERRITORIES], columns=["level", "code", "cog", "name"]))
        batch.add("membership", pd.DataFrame(
            [(2026, cl, cc, pl, pc, 1.0) for cl, cc, pl, pc in MEMBERSHIPS],
            columns=["cog", "child_level", "child_code", "parent_level", "parent_code", "weight"],
        ))
        batch.add("territory_geometry", pd.DataFrame({
            "level": ["commune", "epci"], "code": ["62498", "246200364"], "cog": [2026, 2026], "area_km2": [2.0, 20.0],
            "geom": [LENS_L93, CALL_L93], "geom_web": [LENS_WEB, CALL_WEB],
        }))
        # The stored number of a secret cell is deliberately not NaN here: it must still never come out.
        stored = [42.0 if s == "secret" else v for v, s in zip(values, status)]
        batch.add("value", pd.DataFrame({
            "indicator": "log_vac", "level": df["niveau"], "code": df["code"], "year": df["annee"].astype(int),
            "cog": 2026, "value": stored, "status": status,
        }))
        batch.add("layer", pd.DataFrame([("mairies", "Mairies", "equipements")], columns=["id", "label", "theme"]))
        batch.add("layer_feature", pd.DataFrame({
            "layer": "mairies", "feature_id": ["m-62498", "m-62510"], "name": ["Mairie de Lens", "Mairie de Liévin"],
            "commune": ["62498", "62510"],
            "properties": [json.dumps({"adresse": "17 bis place Jean Jaurès", "pmr": True}, ensure_ascii=False), "{}"],
            "geom": [Point(691_000, 7_030_500), Point(686_000, 7_029_000)],
            "geom_web": [Point(2.8319, 50.4322), Point(2.7775, 50.4213)],
        }))
        return batch


class SyntheticJobsImporter(Importer):
    kind = "test-emplois"
    title = "Emplois (fictifs)"
    producer = "Générateur de démonstration"
    synthetic = True

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        df = read_csv(self.path, separator=";", required=["code", "emplois"], key=["code"])
        values, status = parse_numbers(df, "emplois", self.path.name)
        batch = Batch()
        batch.add("indicator", indicator_frame(("emplois", "Emplois au lieu de travail", "economie", "emplois", "stock", None, None, None, 0)))
        batch.add("value", pd.DataFrame({
            "indicator": "emplois", "level": "commune", "code": df["code"], "year": 2021, "cog": 2026, "value": values, "status": status,
        }))
        return batch


def build_warehouse(wh: Warehouse, folder: Path) -> dict[str, str]:
    """Seed `wh`; returns the SHA-256 of each imported file."""
    seed_communes(wh, {"62498": "Lens", "62098": "Beaumont"}, cog=2025)
    files = {"log_vac_artois.csv": VALUES_CSV, "emplois_fictifs.csv": EMPLOIS_CSV}
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    run_import(wh, ArtoisSliceImporter(folder / "log_vac_artois.csv"), licence="Licence Ouverte / Etalab 2.0")
    run_import(wh, SyntheticJobsImporter(folder / "emplois_fictifs.csv"))
    return {name: hashlib.sha256(text.encode()).hexdigest() for name, text in files.items()}


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def warehouse_file(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("api")
    path = folder / "vigie.duckdb"
    wh = connect(str(path))
    try:
        shas = build_warehouse(wh, folder)
    finally:
        wh.close()
    return path, shas


@pytest.fixture(scope="module")
def client(warehouse_file):
    path, _ = warehouse_file
    before = file_sha(path)
    app = create_app(str(path))
    with TestClient(app) as c:
        yield c
    # Whatever the tests asked, the app changed nothing in the file.
    assert file_sha(path) == before


# ------------------------------------------------------------------------------------------ home, OpenAPI
def test_home_counts_and_links(client):
    r = client.get("/api")
    assert r.status_code == 200
    body = r.json()
    same = client.get("/").json()  # also on « / » for clients that do not ask for HTML
    assert {**same, "prepared": None} == {**body, "prepared": None}  # (the background preparation may end between)
    assert body["name"] == "Vigie" and body["version"] == "0.1.0" and body["backend"] == "duckdb"
    assert body["counts"] == {
        "territories": {"commune": 3, "departement": 2, "epci": 2, "region": 1},
        "cogs": {"commune": 2026, "departement": 2026, "epci": 2026, "region": 2026},
        "indicators": 2,
        "sources": 3,
        "layers": 1,
    }
    assert body["cube"] is None  # this warehouse has no cube: the engine endpoints say so
    assert body["links"]["territories"] == "/api/territories"
    assert body["links"]["openapi"] == "/openapi.json" and body["links"]["ogc"] == "/ogc"
    for link in ("territories", "indicators", "sources", "layers", "openapi", "ogc"):
        assert client.get(body["links"][link]).status_code == 200
    # No page that would load its scripts from a CDN.
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404


def test_openapi_is_in_french(client):
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "Vigie — API de l'observatoire territorial"
    assert "secret statistique" in spec["info"]["description"]
    values = spec["paths"]["/api/values"]["get"]
    assert values["summary"] == "Valeurs d'un indicateur"
    params = {p["name"]: p for p in values["parameters"]}
    assert params["codes"]["description"].startswith("Codes des territoires")
    assert params["indicator"]["required"] is True
    assert spec["paths"]["/api/territories/{level}/{code}"]["get"]["responses"]["404"]["description"] == "Ressource introuvable."
    assert {t["name"] for t in spec["tags"]} == {"entrepôt", "territoires", "indicateurs", "sources", "couches", "catalogue",
                                                 "observatoire", "géographie", "exports", "tuiles", "ogc"}
    for path in ("/api/catalogue", "/api/cube", "/api/portrait/{level}/{code}", "/api/compare", "/api/classes",
                 "/api/search", "/api/geo/{level}", "/api/export", "/tiles/{level}/{z}/{x}/{y}.mvt", "/ogc/collections"):
        operation = spec["paths"][path]["get"]
        assert operation["summary"] and operation["description"], path
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query":
                assert parameter.get("description"), (path, parameter["name"])


# ------------------------------------------------------------------------------------------ territories
def test_territory_list_filters(client):
    communes = client.get("/api/territories", params={"level": "commune"}).json()
    assert communes == {
        "count": 3,
        "territories": [
            {"code": "62321", "name": "Évin-Malmaison", "level": "commune", "cog": 2026},
            {"code": "62498", "name": "Lens", "level": "commune", "cog": 2026},
            {"code": "62510", "name": "Liévin", "level": "commune", "cog": 2026},
        ],
    }
    old = client.get("/api/territories", params={"level": "commune", "cog": 2025}).json()["territories"]
    assert [(t["code"], t["name"], t["cog"]) for t in old] == [("62098", "Beaumont", 2025), ("62498", "Lens", 2025)]
    # « Liévin » and « CA de Lens - Liévin » contain « évin » as well; codes match by prefix.
    found = client.get("/api/territories", params={"q": "ÉVIN"}).json()["territories"]
    assert [(t["level"], t["code"]) for t in found] == [("commune", "62321"), ("commune", "62510"), ("epci", "246200364")]
    assert [(t["level"], t["name"]) for t in client.get("/api/territories", params={"q": "32"}).json()["territories"]] == [
        ("departement", "Gers"),
        ("region", "Hauts-de-France"),
    ]
    assert client.get("/api/territories", params={"level": "iris"}).json() == {"count": 0, "territories": []}
    assert client.get("/api/territories").json()["count"] == 8


def test_territory_detail(client):
    lens = client.get("/api/territories/commune/62498").json()
    assert lens == {
        "level": "commune", "code": "62498", "name": "Lens", "cog": 2026, "cogs": [2025, 2026],
        "parents": [
            {"level": "departement", "code": "62", "name": "Pas-de-Calais", "weight": 1.0},
            {"level": "epci", "code": "246200364", "name": "CA de Lens - Liévin", "weight": 1.0},
        ],
        "children": {},
        "has_geometry": True,
        "links": {"self": "/api/territories/commune/62498", "geometry": "/api/territories/commune/62498/geometry"},
    }
    call = client.get("/api/territories/epci/246200364").json()
    assert call["children"] == {"commune": 2} and call["parents"] == [] and call["has_geometry"] is True
    dep = client.get("/api/territories/departement/62").json()
    assert dep["children"] == {"commune": 3} and dep["parents"] == [{"level": "region", "code": "32", "name": "Hauts-de-France", "weight": 1.0}]
    # The same code at two levels: the level in the address decides.
    assert client.get("/api/territories/region/32").json()["children"] == {"departement": 1}
    assert client.get("/api/territories/departement/32").json()["name"] == "Gers"
    old = client.get("/api/territories/commune/62498", params={"cog": 2025}).json()
    assert (old["cog"], old["parents"], old["has_geometry"], old["links"]["geometry"]) == (2025, [], False, None)
    lievin = client.get("/api/territories/commune/62510").json()
    assert lievin["has_geometry"] is False


def test_territory_geometry_is_a_wgs84_geojson_feature(client):
    r = client.get("/api/territories/commune/62498/geometry")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    feature = r.json()
    assert feature["type"] == "Feature" and feature["id"] == "62498"
    assert feature["properties"] == {"level": "commune", "code": "62498", "name": "Lens", "cog": 2026, "area_km2": 2.0}
    geom = shape(feature["geometry"])
    assert geom.equals(LENS_WEB)
    assert geom.bounds == (2.80, 50.42, 2.85, 50.45)  # lon/lat order
    assert shape(client.get("/api/territories/epci/246200364/geometry").json()["geometry"]).equals(CALL_WEB)


def test_not_found_answers_in_french(client):
    cases = {
        "/api/territories/commune/99999": "Aucun territoire n'a le code « 99999 » au niveau « commune ».",
        "/api/territories/epci/62498": "Aucun territoire n'a le code « 62498 » au niveau « epci ».",
        "/api/territories/commune/62510/geometry": "Le territoire « Liévin » (commune 62510) n'a pas de contour au COG 2026.",
        "/api/territories/commune/62498/geometry?cog=2025": "Le territoire « Lens » (commune 62498) n'a pas de contour au COG 2025.",
        "/api/indicators/inconnu": "L'indicateur « inconnu » n'existe pas dans l'entrepôt.",
        "/api/values?indicator=inconnu": "L'indicateur « inconnu » n'existe pas dans l'entrepôt.",
        "/api/layers/inconnue": "La couche « inconnue » n'existe pas dans l'entrepôt.",
    }
    for url, detail in cases.items():
        r = client.get(url)
        assert (r.status_code, r.json()) == (404, {"detail": detail}), url
    r = client.get("/api/nimporte/quoi")
    assert r.status_code == 404
    assert r.json()["detail"].startswith("Ressource introuvable : « /api/nimporte/quoi »")


def test_engine_endpoints_say_the_cube_is_missing(client):
    message = "Le cube d'indicateurs n'est pas construit : lancez « vigie build »."
    for url in ("/api/catalogue", "/api/cube?indicator=population", "/api/portrait/commune/62498",
                "/api/compare?codes=commune:62498,commune:62510", "/api/classes?indicator=population",
                "/api/export?indicator=population"):
        r = client.get(url)
        assert (r.status_code, r.json()) == (503, {"detail": message}), url
    # What needs no cube still works: search, contours, tiles, OGC.
    assert client.get("/api/search", params={"q": "lievin"}).json()["results"][0]["code"] == "62510"
    assert client.get("/api/geo/commune").json()["features"][0]["id"] == "62498"
    assert client.get("/ogc/collections/communes/items").json()["numberMatched"] == 1


def test_invalid_parameters_answer_422_in_french(client):
    r = client.get("/api/values")
    assert (r.status_code, r.json()) == (422, {"detail": "Requête invalide : paramètre obligatoire absent : « indicator »."})
    r = client.get("/api/values", params={"indicator": "log_vac", "year": "deux-mille"})
    assert r.status_code == 422
    assert r.json() == {"detail": "Requête invalide : paramètre « year » : nombre entier attendu, reçu « deux-mille »."}


# ------------------------------------------------------------------------------------------ indicators, values
def test_indicators(client):
    listing = client.get("/api/indicators").json()
    assert listing["count"] == 2
    assert [(i["id"], i["theme"], i["label"]) for i in listing["indicators"]] == [
        ("emplois", "economie", "Emplois au lieu de travail"),
        ("log_vac", "logement", "Logements vacants"),
    ]
    one = client.get("/api/indicators/log_vac").json()
    assert (one["id"], one["unit"], one["kind"], one["decimals"], one["factor"]) == ("log_vac", "logements", "stock", 0, None)
    assert one["years"] == [2015, 2021] and one["levels"] == ["commune", "epci"]


def test_values_never_send_a_secret_number(client):
    r = client.get("/api/values", params={"indicator": "log_vac"})
    assert r.status_code == 200
    body = r.json()
    assert body["indicator"] == {"id": "log_vac", "label": "Logements vacants", "unit": "logements", "kind": "stock", "decimals": 0}
    got = [(v["level"], v["code"], v["year"], v["cog"], v["value"], v["status"], v["synthetic"]) for v in body["values"]]
    assert got == [
        ("commune", "62321", 2021, 2026, 9.5, "ok", False),
        ("commune", "62498", 2015, 2026, 1210.0, "ok", False),
        ("commune", "62498", 2021, 2026, 1520.0, "ok", False),
        ("commune", "62510", 2021, 2026, None, "secret", False),
        ("epci", "246200364", 2021, 2026, None, "missing", False),
    ]
    assert body["count"] == 5
    assert "42" not in r.text  # the stored number of the secret cell is nowhere in the answer

    filtered = client.get("/api/values", params={"indicator": "log_vac", "level": "commune", "codes": "62510, 62498", "year": 2021}).json()
    assert [(v["code"], v["value"], v["status"]) for v in filtered["values"]] == [("62498", 1520.0, "ok"), ("62510", None, "secret")]
    assert client.get("/api/values", params={"indicator": "log_vac", "cog": 2025}).json()["values"] == []
    unknown = client.get("/api/values", params={"indicator": "log_vac", "level": "canton"})
    assert unknown.status_code == 404 and unknown.json()["detail"].startswith("Niveau inconnu « canton »")
    jobs = client.get("/api/values", params={"indicator": "emplois"}).json()["values"]
    assert [(v["code"], v["value"], v["synthetic"]) for v in jobs] == [("62498", 15000.0, True), ("62510", 8000.0, True)]


# ------------------------------------------------------------------------------------------ sources, layers
def test_sources_list_every_imported_file(client, warehouse_file):
    _, shas = warehouse_file
    body = client.get("/api/sources").json()
    assert body["count"] == 3
    seed, artois, jobs = body["sources"]
    assert (seed["id"], seed["dataset"], seed["synthetic"]) == (1, "test:seed:2025:2", False)
    assert artois == {
        **artois,
        "id": 2, "kind": "test-artois", "dataset": "test-artois:log_vac_artois.csv", "title": "Tranche de l'Artois (test)",
        "producer": "Agence d'urbanisme de l'Artois", "file_name": "log_vac_artois.csv", "vintage": None,
        "licence": "Licence Ouverte / Etalab 2.0", "sha256": shas["log_vac_artois.csv"],
        "rows": 8 + 7 + 2 + 5 + 1 + 2, "synthetic": False,
    }
    assert (jobs["producer"], jobs["sha256"], jobs["rows"], jobs["synthetic"]) == (
        "Générateur de démonstration", shas["emplois_fictifs.csv"], 2, True,
    )
    imported = datetime.fromisoformat(artois["imported_at"])
    assert abs((datetime.now(timezone.utc).replace(tzinfo=None) - imported).total_seconds()) < 3600


def test_layers_as_geojson(client):
    listing = client.get("/api/layers").json()
    assert listing == {
        "count": 1,
        "layers": [{"id": "mairies", "label": "Mairies", "theme": "equipements", "features": 2, "source_id": 2, "link": "/api/layers/mairies"}],
    }
    r = client.get("/api/layers/mairies")
    assert r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    assert fc["layer"] == {"id": "mairies", "label": "Mairies", "theme": "equipements", "features": 2, "source_id": 2}
    first, second = fc["features"]
    assert first["id"] == "m-62498"
    assert first["properties"] == {"adresse": "17 bis place Jean Jaurès", "pmr": True, "name": "Mairie de Lens", "commune": "62498"}
    assert first["geometry"] == {"type": "Point", "coordinates": [2.8319, 50.4322]}
    assert second["properties"] == {"name": "Mairie de Liévin", "commune": "62510"}


# ------------------------------------------------------------------------------------------ read-only, concurrency
def test_the_app_cannot_write(client, warehouse_file):
    with client.app.state.access.use() as wh:
        with pytest.raises(duckdb.Error, match="read-only"):
            wh.execute("DELETE FROM value")
        with pytest.raises(duckdb.Error, match="read-only"):
            wh.init_schema()
    r = client.post("/api/territories")
    assert r.status_code == 405
    assert r.json() == {"detail": "Méthode POST non autorisée sur « /api/territories » : cette API est en lecture seule."}
    assert client.delete("/api/sources").status_code == 405
    assert client.get("/api/values", params={"indicator": "log_vac"}).json()["count"] == 5


def test_concurrent_requests_share_one_connection_safely(client):
    urls = ["/", "/api/territories?level=commune", "/api/values?indicator=log_vac", "/api/layers/mairies",
            "/api/territories/commune/62498/geometry", "/api/sources"]
    assert client.app.state.context.prepared.wait(60)  # "/" reports the background warm-up, which must not change under us
    expected = {u: client.get(u).json() for u in urls}
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda u: (u, client.get(u)), urls * 6))
    for url, r in results:
        assert r.status_code == 200 and r.json() == expected[url], url


def test_the_shared_connection_refuses_a_query_without_the_lock(client):
    """A request path that forgot `ctx.access.use()` fails loudly instead of racing another request's result."""
    access = client.app.state.access
    with pytest.raises(RuntimeError, match="without holding the app's warehouse lock"):
        access.warehouse.query("SELECT 1")
    with access.use() as wh:
        assert wh.query("SELECT 1") == [(1,)]


def test_create_app_refuses_a_missing_or_uninitialised_warehouse(tmp_path):
    with pytest.raises(ConfigurationError, match="Entrepôt introuvable"):
        create_app(str(tmp_path / "absent.duckdb"))
    empty = tmp_path / "vide.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ConfigurationError, match="n'est pas un entrepôt Vigie initialisé"):
        create_app(str(empty))


@pytest.mark.postgres
def test_the_same_api_on_postgis_read_only(pg_url, tmp_path):
    wh = connect(pg_url)
    try:
        build_warehouse(wh, tmp_path)
    finally:
        wh.close()
    app = create_app(pg_url)
    with TestClient(app) as c:
        home = c.get("/").json()
        assert home["backend"] == "postgres"
        assert home["counts"]["territories"] == {"commune": 3, "departement": 2, "epci": 2, "region": 1}
        values = c.get("/api/values", params={"indicator": "log_vac", "codes": "62510,62498", "year": 2021}).json()["values"]
        assert [(v["code"], v["value"], v["status"]) for v in values] == [("62498", 1520.0, "ok"), ("62510", None, "secret")]
        assert shape(c.get("/api/territories/commune/62498/geometry").json()["geometry"]).equals(LENS_WEB)
        assert c.get("/api/layers/mairies").json()["features"][0]["geometry"] == {"type": "Point", "coordinates": [2.8319, 50.4322]}
        assert c.get("/api/sources").json()["sources"][1]["imported_at"].startswith(str(datetime.now(timezone.utc).replace(tzinfo=None).year))
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), app.state.access.use() as wh:
            wh.execute("DELETE FROM value")
