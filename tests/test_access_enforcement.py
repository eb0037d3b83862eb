"""The ONE visibility rule applied by every endpoint of the app (issue 9, phase 2), over a copy of the demo.

The demo's own rules (`vigie.access.demo`): QPV health figures restricted to the CALL, QPV sport and culture
facilities restricted to the CAHC, the survey private to the agency. This file adds, in its copy: the layer
`friches` restricted to the CALL and the QPV contours (dataset `qpv:2024`, hence the level `qpv`: territories,
contours, tiles, search) restricted to the two partner EPCI (hidden from the public).

`test_no_route_leaks_*` walks EVERY GET route of the app (`app.routes`, so that a new route cannot escape it) with
parameters aimed at the restricted objects, as anonymous and as the "other" organisation, and checks that no
answer carries a restricted id, code or name: hidden objects answer 401/403/404, lists are filtered.
"""

from __future__ import annotations

import math
import re
import shutil
import time

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from vigie.access import audit, policy, tokens
from vigie.access.demo import build_demo_access
from vigie.access.policy import ANONYMOUS
from vigie.access.schema import open_store
from vigie.publish.api import create_app

CALL_ONLY = ["qpv_medecins", "qpv_pharmacies", "qpv_medecins_pour_10000", "part_css", "beneficiaires_css",
             "qpv_nb_medecins", "qpv_nb_pharmacies", "qpv_nb_beneficiaires_css", "qpv_population_couverte"]
CAHC_ONLY = ["qpv_equipements_sportifs", "qpv_equipements_culturels", "qpv_equipements_sportifs_pour_10000",
             "qpv_nb_equipements_sportifs", "qpv_nb_equipements_culturels"]
SURVEY = "usages_pma_demo"
LENS = "62498"


class Setup:
    def __init__(self, url: str, store, app, tokens_by_name: dict[str, str], qpv: list[tuple[str, str]],
                 friche: tuple[str, float, float]):
        self.url, self.store, self.app, self.tokens, self.qpv, self.friche = url, store, app, tokens_by_name, qpv, friche
        self.client = TestClient(app)  # no lifespan: no background warm-up (tiles are built on request)

    def get(self, who: str | None, path: str, **params):
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.client.get(path, params=params, headers=headers)


@pytest.fixture(scope="module")
def setup(demo_warehouse, tmp_path_factory):
    folder = tmp_path_factory.mktemp("acces-enforcement")
    target = folder / "vigie.duckdb"
    shutil.copyfile(demo_warehouse, target)
    url = str(target)
    build_demo_access(url)
    store = open_store(url)
    policy.set_visibility(store, "layer", "friches", "restreint", ["CALL"])
    policy.set_visibility(store, "dataset", "qpv:2024", "restreint", ["CALL", "CAHC"])
    made = {
        "admin": tokens.create(store, "admin.aula", "tests", ["lecture", "export"])[0],
        "call": tokens.create(store, "agent.call", "tests", ["lecture", "export"])[0],
        "call_lecture": tokens.create(store, "agent.call", "tests sans export", ["lecture"])[0],
        "cahc": tokens.create(store, "agent.cahc", "tests", ["lecture", "export"])[0],
    }
    app = create_app(url)
    with app.state.access.use() as wh:
        qpv = [(c, n) for c, n in wh.query("SELECT code, name FROM territory WHERE level = 'qpv' AND cog = ? ORDER BY code",
                                            (app.state.context.level_cogs["qpv"],))]
        fid, lon, lat = wh.query("SELECT feature_id, ST_X(geom_web), ST_Y(geom_web) FROM layer_feature "
                                 "WHERE layer = 'friches' ORDER BY feature_id LIMIT 1")[0]
        near = [r[0] for r in wh.query(
            "SELECT feature_id FROM layer_feature WHERE layer = 'friches' ORDER BY ST_Distance(geom_web, ST_Point(?, ?)) "
            "LIMIT 5", (lon, lat))]
    found = Setup(url, store, app, made, qpv, (fid, float(lon), float(lat)))
    found.friche_ids = near
    yield found
    app.state.context.close()
    store.close()


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return z, x, y


# ---------------------------------------------------------------------------------------------- every route
def data_routes(app) -> list[APIRoute]:
    """Every GET route of the app, through included routers, that may return data (API, OGC, tiles)."""
    def flat(routes):
        for r in routes:
            if hasattr(r, "original_router"):
                yield from flat(r.original_router.routes)
            else:
                yield r
    found = [r for r in flat(app.routes) if isinstance(r, APIRoute) and "GET" in r.methods
             and r.path.startswith(("/api", "/ogc", "/tiles"))]
    return sorted({r.path: r for r in found}.values(), key=lambda r: r.path)


def markers(setup: Setup, who: str | None) -> list[str]:
    """What must never appear in an answer to `who`: the ids, codes and names it may not see (as JSON strings)."""
    ctx = setup.app.state.context
    from vigie.access.service import service_for

    rules = service_for(ctx).rules()
    viewer = ANONYMOUS if who is None else service_for(ctx).viewer_of(_Fake(setup.tokens[who]))
    hidden = ctx.hidden(viewer, rules)
    out = [f'"{i}"' for i in hidden.indicators]
    if "qpv" in hidden.levels:
        out += [f'"{code}"' for code, _name in setup.qpv]
    if any(d.startswith("enquete") for d in hidden.datasets):
        out.append(f'"{SURVEY}"')
    if "friches" in hidden.layers:  # its features (the layer's id is also a theme of public indicators)
        out += [f'"{fid}"' for fid in setup.friche_ids]
    return out


class _Fake:
    """Just enough of a request for `AccessService.viewer_of`."""

    def __init__(self, token: str):
        self.headers = {"authorization": f"Bearer {token}"}
        self.cookies = {}

        class State:
            pass
        self.state = State()


def requests_for(setup: Setup, route: APIRoute) -> list[tuple[str, dict]]:
    qpv_code, qpv_name = setup.qpv[0]
    fid, lon, lat = setup.friche
    z, x, y = tile_of(lon, lat, 12)
    path_values = {
        "indicator_id": ["qpv_medecins", "qpv_nb_medecins", "qpv_equipements_sportifs", "qpv_nb_equipements_sportifs"],
        "layer_id": ["friches"], "level": ["qpv"], "code": [qpv_code], "collection_id": ["friches", "qpv"],
        "feature_id": [fid, qpv_code], "enquete": [SURVEY], "motif": ["culture"], "pole": [LENS],
        "z": [str(z)], "x": [str(x)], "y": [str(y)], "serie": ["qpv_nb_medecins"],
    }
    names = [p.name for p in route.dependant.path_params]
    paths = [route.path]
    for name in names:
        paths = [p.replace("{" + name + "}", value) for p in paths for value in path_values.get(name, ["x"])]
    query_names = {p.alias for p in route.dependant.query_params}
    variants: list[dict] = [{}]
    if "indicator" in query_names or "indicators" in query_names:
        for ind in ("qpv_medecins", "qpv_equipements_sportifs", "qpv_nb_medecins"):
            variants.append({k: ind for k in ("indicator", "indicators") if k in query_names})
    if "level" in query_names:
        variants.append({"level": "qpv", **({"indicator": "population"} if "indicator" in query_names else {})})
    if "q" in query_names:
        variants += [{"q": qpv_name}, {"q": qpv_code}]
    if "codes" in query_names:
        variants.append({"codes": f"qpv:{qpv_code},commune:{LENS}", "level": "qpv"})
    if "within" in query_names:
        variants.append({"within": f"qpv:{qpv_code}", "indicator": "population"})
    if route.path.endswith("/items"):
        variants.append({"bbox": f"{lon - 0.05},{lat - 0.05},{lon + 0.05},{lat + 0.05}"})
    for required in (p for p in route.dependant.query_params if p.field_info.is_required()):
        for v in variants:
            v.setdefault(required.alias, {"codes": f"commune:{LENS},qpv:{qpv_code}"}.get(required.alias, "population"))
    return [(p, v) for p in paths for v in variants]


def leaks(setup: Setup, who: str | None) -> list[str]:
    secret = markers(setup, who)
    assert secret, "rien de restreint pour ce profil : le test ne vérifierait rien"
    found = []
    for route in data_routes(setup.app):
        for path, params in requests_for(setup, route):
            r = setup.get(who, path, **params)
            assert r.status_code != 500, (path, params, r.text[:300])
            if r.status_code >= 300:
                assert r.status_code in (400, 401, 403, 404, 409, 422, 503), (path, params, r.status_code)
            text = re.sub(r'"q":\s*"[^"]*"', "", r.content.decode("utf-8", errors="replace"))  # the query, echoed
            hit = [m for m in secret if m in text or m.strip('"').encode() in r.content and path.endswith(".mvt")]
            if hit:
                found.append(f"{path} {params} -> {r.status_code}: {hit[:3]}")
    return found


def test_no_route_leaks_restricted_objects_to_anonymous(setup):
    assert leaks(setup, None) == []


def test_no_route_leaks_cahc_objects_to_the_call_nor_call_objects_to_the_cahc(setup):
    assert leaks(setup, "call") == []
    assert leaks(setup, "cahc") == []


def test_every_data_route_is_walked(setup):
    paths = {r.path for r in data_routes(setup.app)}
    for expected in ("/api/values", "/api/layers/{layer_id}", "/api/cube", "/api/search", "/api/export",
                     "/ogc/collections/{collection_id}/items", "/tiles/{level}/{z}/{x}/{y}.mvt",
                     "/api/enquete/{enquete}/motifs", "/api/geo/layers/{layer_id}", "/api/portrait/{level}/{code}"):
        assert expected in paths


# ---------------------------------------------------------------------------------------------- same 404 as missing
def test_a_hidden_object_answers_exactly_like_a_missing_one(setup):
    for path, missing in (("/api/catalogue/qpv_medecins", "/api/catalogue/{}"),
                          ("/api/indicators/qpv_nb_medecins", "/api/indicators/{}"),
                          ("/api/layers/friches", "/api/layers/{}"),
                          ("/api/geo/layers/friches", "/api/geo/layers/{}"),
                          ("/ogc/collections/friches", "/ogc/collections/{}"),
                          (f"/api/enquete/{SURVEY}", "/api/enquete/{}")):
        hidden = setup.get(None, path)
        name = path.rsplit("/", 1)[1]
        other = setup.get(None, missing.format("nexistepas"))
        assert hidden.status_code == other.status_code == 404, path
        assert hidden.json()["detail"] == other.json()["detail"].replace("nexistepas", name), path


# ---------------------------------------------------------------------------------------------- allowed users see them
def test_each_organisation_sees_its_own_indicators_and_the_agency_sees_all(setup):
    def ids(who):
        return {i["id"] for i in setup.get(who, "/api/catalogue").json()["indicators"]}

    anonymous, call, cahc, admin = ids(None), ids("call"), ids("cahc"), ids("admin")
    call_only = set(CALL_ONLY) & admin
    cahc_only = set(CAHC_ONLY) & admin
    assert call_only and cahc_only
    assert not (anonymous & (call_only | cahc_only))
    assert call_only <= call and not (cahc_only & call)
    assert cahc_only <= cahc and not (call_only & cahc)
    assert call_only | cahc_only <= admin
    assert "population" in anonymous  # public indicators stay public
    rows = setup.get("admin", "/api/cube", indicator="qpv_medecins", level="qpv").json()["rows"]
    assert len(rows) == len(setup.qpv)
    assert setup.get(None, "/api/cube", indicator="qpv_medecins", level="qpv").status_code == 404


def test_restricted_layer_through_geojson_ogc_bbox_and_caches(setup):
    fid, lon, lat = setup.friche
    box = f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}"
    mine = setup.get("call", "/ogc/collections/friches/items", bbox=box)
    assert mine.status_code == 200 and fid in {f["id"] for f in mine.json()["features"]}
    assert mine.headers["cache-control"] == "private, no-store"
    for who in (None, "cahc"):
        assert setup.get(who, "/ogc/collections/friches/items", bbox=box).status_code == 404
        assert setup.get(who, f"/ogc/collections/friches/items/{fid}").status_code == 404
        assert "friches" not in {c["id"] for c in setup.get(who, "/ogc/collections").json()["collections"]}
    # The map's GeoJSON is built once and kept in memory: served to the CALL first, still refused to the others.
    assert setup.get("call", "/api/geo/layers/friches").status_code == 200
    assert setup.get(None, "/api/geo/layers/friches").status_code == 404
    layer = setup.get("call", "/api/layers/friches").json()
    assert fid in {f["id"] for f in layer["features"]}
    assert "friches" not in {la["id"] for la in setup.get(None, "/api/layers").json()["layers"]}
    assert "gares" in {la["id"] for la in setup.get(None, "/api/layers").json()["layers"]}  # public stays public


def test_tiles_and_search_of_a_restricted_level(setup):
    import shapely

    code, _name = setup.qpv[0]
    with setup.app.state.access.use() as wh:
        point = wh.query("SELECT ST_AsBinary(ST_PointOnSurface(geom_web)) FROM territory_geometry "
                         "WHERE level = 'qpv' AND code = ? ORDER BY cog DESC LIMIT 1", (code,))[0][0]
    p = shapely.from_wkb(bytes(point))
    z, x, y = tile_of(p.x, p.y, 12)
    allowed = setup.get("cahc", f"/tiles/qpv/{z}/{x}/{y}.mvt")
    assert allowed.status_code == 200
    assert allowed.headers["cache-control"] == "private, no-store"
    try:
        import mapbox_vector_tile

        decoded = mapbox_vector_tile.decode(allowed.content)
        assert code in {f["properties"]["code"] for f in decoded["qpv"]["features"]}
    except ImportError:
        assert code.encode() in allowed.content
    assert setup.get(None, f"/tiles/qpv/{z}/{x}/{y}.mvt").status_code == 404
    assert setup.get(None, "/tiles/qpv.json").status_code == 404
    assert setup.get(None, "/api/geo/qpv").status_code == 404
    assert setup.get(None, f"/api/portrait/qpv/{code}").status_code == 404
    results = setup.get(None, "/api/search", q=code).json()["results"]
    assert all(r["level"] != "qpv" for r in results)
    assert {"level": "qpv", "code": code} in [{k: r[k] for k in ("level", "code")}
                                              for r in setup.get("cahc", "/api/search", q=code).json()["results"]]
    # Errors name only the levels the viewer sees.
    for path, params in (("/tiles/inconnu.json", {}), ("/tiles/iris/0/0/0.mvt", {}), ("/api/map/codes/iris", {}),
                         ("/api/cube", {"indicator": "population", "level": "inconnu"})):
        refused = setup.get(None, path, **params)
        assert refused.status_code == 404 and "qpv" not in refused.json()["detail"], path
        assert "qpv" in setup.get("cahc", path, **params).json()["detail"], path
    # The commune tiles are public, and hold communes only.
    assert setup.get(None, f"/tiles/commune/{z}/{x}/{y}.mvt").status_code in (200, 204)


def test_exports_need_the_export_scope_and_are_audited(setup):
    before = len(audit.entries(setup.store, event="export", limit=1000))
    assert setup.get(None, "/api/export", indicator="qpv_medecins", level="qpv").status_code == 404
    assert setup.get("cahc", "/api/export", indicator="qpv_medecins", level="qpv").status_code == 404
    refused = setup.get("call_lecture", "/api/export", indicator="qpv_medecins", level="qpv")
    assert refused.status_code == 403 and "export" in refused.json()["detail"]
    done = setup.get("call", "/api/export", indicator="qpv_medecins", level="qpv", format="csv")
    assert done.status_code == 200 and "private" in done.headers["cache-control"]
    public = setup.get(None, "/api/export", indicator="population", level="epci")
    assert public.status_code == 200
    entries = audit.entries(setup.store, event="export", limit=1000)
    assert len(entries) == before + 1  # the restricted export only
    assert (entries[0].login, entries[0].object_kind, entries[0].object_id) == ("agent.call", "indicator", "qpv_medecins")
    assert entries[0].detail["format"] == "csv"


def test_survey_private_to_the_agency(setup):
    assert setup.get(None, "/api/enquete").json()["count"] == 0
    assert setup.get("call", f"/api/enquete/{SURVEY}/motifs").status_code == 404
    assert setup.get("admin", "/api/enquete").json()["count"] == 1
    assert setup.get("admin", f"/api/enquete/{SURVEY}/motifs").status_code == 200
    page = setup.client.get("/enquete")
    assert page.status_code == 200 and "connectez-vous" in page.text


def test_token_revocation_is_immediate(setup):
    token, info = tokens.create(setup.store, "agent.cahc", "à révoquer", ["lecture"])
    headers = {"Authorization": f"Bearer {token}"}
    assert setup.client.get("/tiles/qpv.json", headers=headers).status_code == 200
    tokens.revoke(setup.store, info.id, at=time.time())
    assert setup.client.get("/tiles/qpv.json", headers=headers).status_code == 401
    assert setup.client.get("/api/catalogue/qpv_equipements_sportifs", headers=headers).status_code == 401


def test_a_logged_in_session_sees_its_data_and_logging_out_hides_it(setup):
    from vigie.access.service import service_for

    service = service_for(setup.app.state.context)
    outcome = service.login("agent.call", "demo-partenaire-call", ip="testclient")
    assert outcome.ok
    client = TestClient(setup.app, cookies={"vigie_session": outcome.cookie})
    seen = client.get("/api/layers/friches")
    assert seen.status_code == 200 and seen.headers["cache-control"] == "private, no-store"
    service.logout(outcome.cookie)
    assert client.get("/api/layers/friches").status_code == 404


def test_a_restricted_barometer_series_is_left_out_of_the_quarterly_note(setup):
    policy.set_visibility(setup.store, "indicator", "defm_a", "restreint", ["CALL"])
    try:
        public = setup.get(None, "/api/barometre/2025-T4").json()
        assert "defm_a" not in [s["id"] for s in public["series"]] and public["series"]
        listed = setup.get(None, "/api/barometre/series").json()["series"]
        assert "defm_a" not in [s["id"] for s in listed] and "defm_abc" in [s["id"] for s in listed]
        assert setup.get(None, "/api/barometre/series/defm_a").status_code == 404
        assert setup.get("cahc", "/api/barometre/series/defm_a").status_code == 404
        allowed = setup.get("call", "/api/barometre/2025-T4").json()
        assert "defm_a" in [s["id"] for s in allowed["series"]]
        assert setup.get("call", "/api/barometre/series/defm_a").status_code == 200
    finally:
        policy.set_visibility(setup.store, "indicator", "defm_a", "public", [])
