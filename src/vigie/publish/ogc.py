"""OGC API – Features (Part 1: Core, GeoJSON, OpenAPI 3.0) under `/ogc`, so that QGIS and GDAL read Vigie directly.

Collections: one per territory level that has contours (`communes`, `epci`, `departement`, `qpv`,
`pole_metropolitain`…, at the COG of the cube) and one per layer (`friches`, `gares`…). Items are GeoJSON
features in WGS84 (CRS84), filtered by `bbox` and by simple property equality (`code`, `name` for territories,
`commune`, `name` for layers), paged with `limit` (default 100, at most 10,000: a larger value is lowered to
it, as the standard asks) and `offset`, with `next`/`prev` links and `numberMatched`/`numberReturned`.
Bad parameters answer 400 with a French message; unknown collections and features 404.

The service description is an OpenAPI 3.0 document written here (`/ogc/api`), listing each collection's items
path with its query parameters, which is how GDAL learns that it may pass property filters to the server.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import shapely
from fastapi import APIRouter, Depends, Request, Response

import vigie
from vigie.errors import NotFoundError
from vigie.publish.context import AppContext, Hidden, visible
from vigie.publish.json_values import dumps, number, properties
from vigie.publish.params import ParameterError
from vigie.publish.terminal import level_label

PREFIX = "/ogc"
TAG = {"name": "ogc", "description": "OGC API – Features (parties Core, GeoJSON et OpenAPI 3.0) : territoires et "
                                    "couches lisibles par QGIS et GDAL."}
JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
MAX_OFFSET = 10_000_000
COLLECTION_IDS = {"commune": "communes"}  # other levels keep their name (epci, departement, qpv…)
TERRITORY_FILTERS = {"code": "g.code", "name": "t.name"}
LAYER_FILTERS = {"commune": "f.commune", "name": "f.name"}
COMMON_PARAMETERS = {"bbox", "limit", "offset", "f", "bbox-crs"}


def exception_code(status: int) -> str:
    """The OGC exception code of an HTTP status (the body also carries the French `detail`)."""
    return {400: "InvalidParameterValue", 404: "NotFound", 405: "MethodNotAllowed", 503: "ServiceUnavailable"}.get(
        status, "ServerError" if status >= 500 else "InvalidRequest")


def _json(body: Any, media_type: str = JSON, cache_control: str | None = None) -> Response:
    return Response(dumps(body), media_type=media_type,
                    headers={"Cache-Control": cache_control} if cache_control else None)


# ---------------------------------------------------------------------------------------------- parameters
def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """`minlon,minlat,maxlon,maxlat` (or with heights: 6 numbers) in CRS84, checked."""
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise ParameterError(
            f"Paramètre « bbox » : 4 nombres attendus (longitude min, latitude min, longitude max, latitude max), "
            f"{len(parts)} reçu(s)."
        )
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ParameterError("Paramètre « bbox » : chaque valeur doit être un nombre (ex. bbox=2.7,50.3,3.0,50.5).") from None
    if not all(math.isfinite(n) for n in numbers):
        raise ParameterError("Paramètre « bbox » : nombres finis attendus.")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    minx, miny, maxx, maxy = numbers
    for lon in (minx, maxx):
        if not -180 <= lon <= 180:
            raise ParameterError(f"Paramètre « bbox » : longitude {lon:g} hors de l'intervalle [-180, 180].")
    for lat in (miny, maxy):
        if not -90 <= lat <= 90:
            raise ParameterError(f"Paramètre « bbox » : latitude {lat:g} hors de l'intervalle [-90, 90].")
    if miny > maxy:
        raise ParameterError("Paramètre « bbox » : la latitude minimale dépasse la latitude maximale.")
    return minx, miny, maxx, maxy


def parse_int(text: str | None, name: str, default: int, minimum: int, maximum: int, clamp: bool) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ParameterError(f"Paramètre « {name} » : nombre entier attendu, reçu « {text[:40]} ».") from None
    if value < minimum:
        raise ParameterError(f"Paramètre « {name} » : valeur au moins égale à {minimum} attendue, reçu {value}.")
    if value > maximum:
        if clamp:
            return maximum
        raise ParameterError(f"Paramètre « {name} » : valeur au plus égale à {maximum} attendue, reçu {value}.")
    return value


# ---------------------------------------------------------------------------------------------- collections
class Collections:
    """The collections of the service: territory levels with contours, then layers."""

    def __init__(self, ctx: AppContext):
        self.ctx = ctx
        self._items: dict[str, dict] | None = None

    def all(self) -> dict[str, dict]:
        if self._items is None:
            items: dict[str, dict] = {}
            for level, cog in sorted(self.ctx.geometry_levels.items()):
                cid = COLLECTION_IDS.get(level, level)
                items[cid] = {"id": cid, "kind": "level", "level": level, "cog": cog,
                              "title": f"{level_label(level)} (contours)",
                              "description": f"Contours des territoires de niveau « {level} » au COG {cog}, simplifiés "
                                             "pour le web, avec leur code, leur nom et leur surface en km².",
                              "filters": TERRITORY_FILTERS}
            with self.ctx.access.use() as wh:
                layers = wh.query("SELECT id, label, theme FROM layer ORDER BY id")
            for layer_id, label, theme in layers:
                cid = layer_id if layer_id not in items else f"couche_{layer_id}"
                items[cid] = {"id": cid, "kind": "layer", "layer": layer_id, "title": label,
                              "description": f"Couche « {label} » (thème {theme}) : objets avec leurs propriétés.",
                              "filters": LAYER_FILTERS}
            self._items = items
        return self._items

    def visible(self, seen: Hidden) -> dict[str, dict]:
        """The collections the viewer may see (levels and layers hidden by the visibility rule left out)."""
        return {cid: c for cid, c in self.all().items()
                if not (c["kind"] == "level" and c["level"] in seen.levels)
                and not (c["kind"] == "layer" and c["layer"] in seen.layers)}

    def get(self, cid: str, seen: Hidden) -> dict:
        """The collection, or the same 404 whether it does not exist or is hidden from the viewer."""
        shown = self.visible(seen)
        found = shown.get(cid)
        if found is None:
            raise NotFoundError(
                f"Collection inconnue « {cid[:60]} » : collections disponibles : {', '.join(shown) or 'aucune'}."
            )
        return found

    def extent(self, c: dict) -> list[float] | None:
        if "extent" not in c:
            if c["kind"] == "level":
                sql, args = "FROM territory_geometry WHERE level = ? AND cog = ?", (c["level"], c["cog"])
            else:
                sql, args = "FROM layer_feature WHERE layer = ?", (c["layer"],)
            with self.ctx.access.use() as wh:
                box = wh.query("SELECT min(ST_XMin(geom_web)), min(ST_YMin(geom_web)), max(ST_XMax(geom_web)), "
                               "max(ST_YMax(geom_web)) " + sql, args)[0]
            c["extent"] = None if box[0] is None else [round(float(v), 6) for v in box]
        return c["extent"]


def _envelope(backend: str) -> str:
    """SQL of a lon/lat rectangle from four bound parameters, comparable with `geom_web` on each backend."""
    return "ST_MakeEnvelope(?, ?, ?, ?, 4326)" if backend == "postgres" else "ST_MakeEnvelope(?, ?, ?, ?)"


def _bbox_condition(column: str, bbox: tuple[float, float, float, float] | None, backend: str) -> tuple[str, list]:
    if bbox is None:
        return "", []
    minx, miny, maxx, maxy = bbox
    if minx <= maxx:
        return f" AND ST_Intersects({column}, {_envelope(backend)})", [minx, miny, maxx, maxy]
    # A box that crosses the antimeridian: two rectangles.
    return (f" AND (ST_Intersects({column}, {_envelope(backend)}) OR ST_Intersects({column}, {_envelope(backend)}))",
            [minx, miny, 180.0, maxy, -180.0, miny, maxx, maxy])


def query_features(ctx: AppContext, c: dict, bbox, filters: dict[str, str], limit: int, offset: int,
                   feature_id: str | None = None) -> tuple[list[dict], int]:
    """Features of a collection (GeoJSON dicts) and the number matched by the filters."""
    backend = ctx.access.warehouse.backend
    where, args = [], []
    if c["kind"] == "level":
        base = ("FROM territory_geometry g LEFT JOIN territory t ON t.level = g.level AND t.code = g.code AND t.cog = g.cog "
                "WHERE g.level = ? AND g.cog = ?")
        args = [c["level"], c["cog"]]
        select = "SELECT g.code, t.name, g.area_km2, ST_AsBinary(g.geom_web) "
        order, geom_column, id_column = " ORDER BY g.code", "g.geom_web", "g.code"
    else:
        base = "FROM layer_feature f WHERE f.layer = ?"
        args = [c["layer"]]
        select = "SELECT f.feature_id, f.name, f.commune, f.properties, ST_AsBinary(f.geom_web) "
        order, geom_column, id_column = " ORDER BY f.feature_id", "f.geom_web", "f.feature_id"
    for name, value in filters.items():
        where.append(f" AND {c['filters'][name]} = ?")
        args.append(value)
    if feature_id is not None:
        where.append(f" AND {id_column} = ?")
        args.append(feature_id)
    condition, box_args = _bbox_condition(geom_column, bbox, backend)
    sql = base + "".join(where) + condition
    args = args + box_args
    with ctx.access.use() as wh:
        matched = int(wh.query("SELECT count(*) " + sql, args)[0][0])
        rows = wh.query(select + sql + order + " LIMIT ? OFFSET ?", [*args, limit, offset]) if matched > offset else []
    features = []
    if c["kind"] == "level":
        geoms = shapely.from_wkb([bytes(r[3]) for r in rows]) if rows else []
        for (code, name, area, _wkb), geom in zip(rows, geoms):
            features.append({"type": "Feature", "id": code, "geometry": json.loads(shapely.to_geojson(geom)),
                             "properties": {"code": code, "name": name, "level": c["level"], "cog": c["cog"],
                                            "area_km2": number(area)}})
    else:
        geoms = shapely.from_wkb([bytes(r[4]) for r in rows]) if rows else []
        for (fid, name, commune, props, _wkb), geom in zip(rows, geoms):
            features.append({"type": "Feature", "id": fid, "geometry": json.loads(shapely.to_geojson(geom)),
                             "properties": {"feature_id": fid, "name": name, "commune": commune, **properties(props)}})
    return features, matched


# ---------------------------------------------------------------------------------------------- the router
def router(ctx: AppContext) -> APIRouter:
    api = APIRouter(prefix=PREFIX, tags=["ogc"])
    collections = Collections(ctx)

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/") + PREFIX

    def check_query(request: Request, allowed: set[str]) -> None:
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise ParameterError(
                f"Paramètre inconnu « {unknown[0][:40]} » : paramètres acceptés : {', '.join(sorted(allowed))}."
            )
        f = request.query_params.get("f")
        if f is not None and f not in ("json", "geojson", "application/json", "application/geo+json"):
            raise ParameterError(f"Paramètre « f » : format « {f[:40]} » non proposé (json, geojson).")

    def collection_json(request: Request, c: dict) -> dict[str, Any]:
        url = f"{base(request)}/collections/{c['id']}"
        extent = collections.extent(c)
        body = {
            "id": c["id"], "title": c["title"], "description": c["description"], "itemType": "feature",
            "crs": [CRS84],
            "links": [
                {"href": url, "rel": "self", "type": JSON, "title": "Cette collection"},
                {"href": f"{url}/items", "rel": "items", "type": GEOJSON, "title": "Les objets (GeoJSON)"},
            ],
        }
        if extent:
            body["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
        return body

    @api.get("", summary="Page d'accueil OGC API – Features",
             description="Titre du service et liens vers la description OpenAPI, les classes de conformité et les collections.")
    @api.get("/", include_in_schema=False)
    def landing(request: Request) -> Response:
        check_query(request, {"f"})
        b = base(request)
        return _json({
            "title": "Vigie — territoires et couches (OGC API – Features)",
            "description": "Contours des territoires de l'observatoire (communes, EPCI, QPV, territoires "
                           "personnalisés…) et couches géographiques (friches, gares…), en GeoJSON (WGS84).",
            "links": [
                {"href": b, "rel": "self", "type": JSON, "title": "Cette page"},
                {"href": f"{b}/api", "rel": "service-desc", "type": OPENAPI, "title": "Description OpenAPI 3.0"},
                {"href": f"{b}/conformance", "rel": "conformance", "type": JSON, "title": "Classes de conformité"},
                {"href": f"{b}/collections", "rel": "data", "type": JSON, "title": "Collections"},
            ],
        })

    @api.get("/conformance", summary="Classes de conformité",
             description="Classes OGC API – Features mises en œuvre : Core, GeoJSON, OpenAPI 3.0.")
    def conformance(request: Request) -> Response:
        check_query(request, {"f"})
        return _json({"conformsTo": CONFORMANCE})

    @api.get("/api", summary="Description OpenAPI 3.0 du service OGC",
             description="Document OpenAPI 3.0 du service, avec les paramètres de chaque collection.")
    def service_description(request: Request, seen: Hidden = Depends(visible)) -> Response:
        check_query(request, {"f"})
        return _json(openapi_document(base(request), collections, seen), OPENAPI, seen.cache_control)

    @api.get("/collections", summary="Collections",
             description="Une collection par niveau de territoires ayant des contours, et une par couche.")
    def collection_list(request: Request, seen: Hidden = Depends(visible)) -> Response:
        check_query(request, {"f"})
        b = base(request)
        return _json({
            "links": [{"href": f"{b}/collections", "rel": "self", "type": JSON, "title": "Collections"}],
            "collections": [collection_json(request, c) for c in collections.visible(seen).values()],
        }, cache_control=seen.cache_control)

    @api.get("/collections/{collection_id}", summary="Une collection",
             description="Titre, description, emprise (CRS84) et liens de la collection.")
    def collection(request: Request, collection_id: str, seen: Hidden = Depends(visible)) -> Response:
        check_query(request, {"f"})
        return _json(collection_json(request, collections.get(collection_id, seen)), cache_control=seen.cache_control)

    @api.get("/collections/{collection_id}/items", summary="Objets d'une collection",
             description="Objets GeoJSON (WGS84) de la collection. `bbox` : longitude min, latitude min, longitude max, "
                         "latitude max (CRS84) ; `limit` : 100 par défaut, 10 000 au plus ; `offset` : rang du premier "
                         "objet ; filtres d'égalité sur `code` et `name` (territoires) ou `commune` et `name` (couches).")
    def items(request: Request, collection_id: str, seen: Hidden = Depends(visible)) -> Response:
        c = collections.get(collection_id, seen)
        check_query(request, COMMON_PARAMETERS | set(c["filters"]))
        q = request.query_params
        crs = q.get("bbox-crs")
        if crs is not None and crs != CRS84:
            raise ParameterError(f"Paramètre « bbox-crs » : seul {CRS84} est proposé.")
        bbox = parse_bbox(q["bbox"]) if q.get("bbox") is not None else None
        limit = parse_int(q.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT, clamp=True)
        offset = parse_int(q.get("offset"), "offset", 0, 0, MAX_OFFSET, clamp=False)
        filters = {name: q[name][:200] for name in c["filters"] if q.get(name) is not None}
        features, matched = query_features(ctx, c, bbox, filters, limit, offset)
        url = f"{base(request)}/collections/{c['id']}/items"
        kept = {k: v for k, v in q.items() if k not in ("offset", "limit")}

        def page(new_offset: int) -> str:
            return url + "?" + urlencode({**kept, "limit": limit, "offset": new_offset})

        links = [
            {"href": page(offset), "rel": "self", "type": GEOJSON, "title": "Cette page"},
            {"href": f"{base(request)}/collections/{c['id']}", "rel": "collection", "type": JSON, "title": "La collection"},
        ]
        if offset + len(features) < matched:
            links.append({"href": page(offset + limit), "rel": "next", "type": GEOJSON, "title": "Page suivante"})
        if offset > 0:
            links.append({"href": page(max(0, offset - limit)), "rel": "prev", "type": GEOJSON, "title": "Page précédente"})
        return _json({
            "type": "FeatureCollection", "features": features, "numberMatched": matched,
            "numberReturned": len(features), "timeStamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "links": links,
        }, GEOJSON, seen.cache_control)

    @api.get("/collections/{collection_id}/items/{feature_id}", summary="Un objet",
             description="L'objet GeoJSON (WGS84) d'identifiant donné : code du territoire ou identifiant de l'objet de la couche.")
    def item(request: Request, collection_id: str, feature_id: str, seen: Hidden = Depends(visible)) -> Response:
        c = collections.get(collection_id, seen)
        check_query(request, {"f"})
        features, _matched = query_features(ctx, c, None, {}, 1, 0, feature_id=feature_id[:200])
        if not features:
            raise NotFoundError(f"Aucun objet « {feature_id[:60]} » dans la collection « {c['id']} ».")
        feature = features[0]
        url = f"{base(request)}/collections/{c['id']}"
        feature["links"] = [
            {"href": f"{url}/items/{feature['id']}", "rel": "self", "type": GEOJSON, "title": "Cet objet"},
            {"href": url, "rel": "collection", "type": JSON, "title": "La collection"},
        ]
        return _json(feature, GEOJSON, seen.cache_control)

    return api


# ---------------------------------------------------------------------------------------------- OpenAPI 3.0
def openapi_document(base: str, collections: Collections, seen: Hidden | None = None) -> dict[str, Any]:
    """The service description (OpenAPI 3.0.3), one items path per collection with its filter parameters."""

    def ref(name: str) -> dict:  # written out in full: GDAL reads `limit` there without following $ref
        return PARAMETERS[name]

    json_response = {"200": {"description": "Réponse JSON.", "content": {JSON: {"schema": {"type": "object"}}}}}
    geojson_response = {"200": {"description": "Objets GeoJSON.", "content": {GEOJSON: {"schema": {"type": "object"}}}},
                        "400": {"description": "Paramètre invalide."}, "404": {"description": "Introuvable."}}
    paths: dict[str, Any] = {
        "/": {"get": {"summary": "Page d'accueil", "operationId": "getLandingPage", "responses": json_response}},
        "/conformance": {"get": {"summary": "Classes de conformité", "operationId": "getConformance",
                                 "responses": json_response}},
        "/collections": {"get": {"summary": "Collections", "operationId": "getCollections", "responses": json_response}},
    }
    for cid, c in collections.visible(seen or Hidden()).items():
        filters = [
            {"name": name, "in": "query", "required": False, "style": "form", "explode": False,
             "description": f"Ne garder que les objets dont « {name} » vaut cette valeur.", "schema": {"type": "string"}}
            for name in c["filters"]
        ]
        paths[f"/collections/{cid}"] = {"get": {"summary": c["title"], "operationId": f"describe_{cid}",
                                                "responses": json_response}}
        paths[f"/collections/{cid}/items"] = {"get": {
            "summary": f"Objets : {c['title']}", "operationId": f"getFeatures_{cid}",
            "parameters": [ref("bbox"), ref("limit"), ref("offset"), *filters], "responses": geojson_response}}
        paths[f"/collections/{cid}/items/{{featureId}}"] = {"get": {
            "summary": f"Un objet : {c['title']}", "operationId": f"getFeature_{cid}",
            "parameters": [ref("featureId")], "responses": geojson_response}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Vigie — OGC API – Features", "version": vigie.__version__,
                 "description": "Territoires et couches de l'observatoire Vigie.",
                 "license": {"name": "Licence Ouverte / Etalab 2.0 (données) ; AGPL-3.0 (logiciel)"}},
        "servers": [{"url": base}],
        "paths": paths,
        "components": {"parameters": PARAMETERS},
    }


PARAMETERS: dict[str, dict] = {
    "bbox": {"name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
             "description": "Emprise : longitude min, latitude min, longitude max, latitude max (CRS84).",
             "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
    "limit": {"name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
              "description": "Nombre d'objets par page.",
              "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
    "offset": {"name": "offset", "in": "query", "required": False, "style": "form", "explode": False,
               "description": "Rang du premier objet renvoyé.", "schema": {"type": "integer", "minimum": 0, "default": 0}},
    "featureId": {"name": "featureId", "in": "path", "required": True, "description": "Identifiant de l'objet.",
                  "schema": {"type": "string"}},
}
