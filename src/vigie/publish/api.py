"""The observatory's web server: `create_app(url)` builds the FastAPI app over one read-only warehouse.

The app serves, in French, documented by its OpenAPI schema (`/openapi.json`):
- the warehouse as it is (this module): territories, indicator definitions, stored values, sources, layers;
- the indicator engine (`engine_api`): catalogue, cube, portraits, comparisons, map classes, search, contours;
- exports (`exports`): CSV, XLSX, GeoJSON and GeoPackage files;
- vector tiles (`tiles`) for the national map;
- OGC API – Features (`ogc`, under `/ogc`), so that QGIS and GDAL read Vigie directly.

Every `VigieError` raised below becomes its `http_status` with a French `{"detail": message}` body through one
exception handler; unknown routes and invalid parameters answer in French too (400 under `/ogc`, as the OGC
standard asks, 422 elsewhere). The warehouse is opened READ-ONLY: see `context` for how one connection is
shared between requests and what is computed once. No page or script is fetched from a CDN: the interactive
documentation pages (Swagger UI, ReDoc) are therefore disabled, and the schema stays at `/openapi.json`.
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import asynccontextmanager
from typing import Any

import shapely
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

import vigie
from vigie.access.sessions import SESSION_COOKIE
from vigie.errors import NotFoundError, VigieError
from vigie.publish import engine_api, exports, ogc, tiles
from vigie.publish.context import AppContext, Hidden, WarehouseAccess, open_read_only, visible  # noqa: F401  (public API)
from vigie.publish.json_values import plain as _plain
from vigie.publish.json_values import properties as _properties
from vigie.publish.json_values import records as _records
from vigie.publish.responses import Erreur
from vigie.settings import database_url as default_database_url
from vigie.warehouse import Territory, Warehouse

log = logging.getLogger(__name__)

GEOJSON = "application/geo+json"

DESCRIPTION = """\
API de l'observatoire territorial **Vigie** : territoires (communes, EPCI, départements, QPV…) et leurs
appartenances, catalogue d'indicateurs, valeurs du cube d'indicateurs, portraits et comparaisons de territoires,
classes de carte, recherche, contours et tuiles vectorielles, exports (CSV, XLSX, GeoJSON, GeoPackage), et un
service OGC API – Features sous `/ogc` pour QGIS et GDAL.

* Les codes INSEE et SIREN sont des chaînes (`62498`, `2A004`, `246200364`).
* Chaque valeur porte un statut : `ok`, `secret` (secret statistique : la valeur n'est **jamais** transmise),
  `fragile` ou `missing` (non disponible). Les données fictives de démonstration sont marquées (`synthetic`).
* Les géométries sont en WGS84 (longitude, latitude), simplifiées pour le web.
* Les erreurs répondent `{"detail": "message en français"}` avec le code HTTP adapté.
"""

TAGS = [
    {"name": "entrepôt", "description": "Présentation de l'entrepôt et de son contenu."},
    {"name": "territoires", "description": "Territoires, appartenances et contours."},
    {"name": "indicateurs", "description": "Définitions des indicateurs et valeurs stockées par territoire."},
    {"name": "sources", "description": "Fichiers importés : producteur, millésime, licence, empreinte."},
    {"name": "couches", "description": "Couches géographiques (points ou polygones) en GeoJSON."},
    *engine_api.TAGS,
    exports.TAG,
    tiles.TAG,
    ogc.TAG,
]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    texts = {404: "Ressource introuvable.", 409: "Code ambigu : précisez le niveau.", 422: "Paramètre invalide."}
    return {s: {"model": Erreur, "description": texts[s]} for s in statuses}


def _geometry(wkb: bytes) -> dict[str, Any]:
    return json.loads(shapely.to_geojson(shapely.from_wkb(bytes(wkb))))


def _prefix(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def _territory_summary(t: Territory) -> dict[str, Any]:
    return {"level": t.level, "code": t.code, "name": t.name, "cog": t.cog}


def _layer_or_404(wh: Warehouse, layer_id: str) -> dict[str, Any]:
    layers = wh.layers()
    found = layers[layers["id"] == layer_id]
    if found.empty:
        raise NotFoundError(f"La couche « {layer_id} » n'existe pas dans l'entrepôt.")
    return _records(found)[0]


def _visible_territory(level: str, code: str, seen: Hidden) -> None:
    """The warehouse's own 404 for a territory of a level the viewer may not see."""
    if level in seen.levels:
        raise NotFoundError(f"Aucun territoire n'a le code « {code} » au niveau « {level} ».")


def _visible_indicator(indicator_id: str, seen: Hidden) -> None:
    """The warehouse's own 404 (`Warehouse.indicator`) for an indicator the viewer may not see."""
    if indicator_id in seen.indicators:
        raise NotFoundError(f"L'indicateur « {indicator_id} » n'existe pas dans l'entrepôt.")


def _warm(context: AppContext) -> None:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # mapclassify's "Numba not installed" at import
            context.warm()
    except Exception:  # a request will meet the same problem and answer it properly
        if not context.closing.is_set():
            log.exception("Préparation des données de l'application impossible")


def _invalid_parameters(exc: RequestValidationError) -> str:
    problems = []
    for err in exc.errors():
        loc = err.get("loc", ["", "?"])
        name = str(loc[-1])
        given = str(err.get("input"))
        given = given if len(given) <= 60 else given[:60] + "…"
        kind = err.get("type")
        if kind == "missing":
            problems.append(f"paramètre obligatoire absent : « {name} »")
        elif kind == "int_parsing":
            problems.append(f"paramètre « {name} » : nombre entier attendu, reçu « {given} »")
        elif kind in ("greater_than_equal", "greater_than"):
            limit = (err.get("ctx") or {}).get("ge", (err.get("ctx") or {}).get("gt"))
            problems.append(f"paramètre « {name} » : valeur au moins égale à {limit} attendue, reçu « {given} »")
        elif kind in ("less_than_equal", "less_than"):
            limit = (err.get("ctx") or {}).get("le", (err.get("ctx") or {}).get("lt"))
            problems.append(f"paramètre « {name} » : valeur au plus égale à {limit} attendue, reçu « {given} »")
        else:
            problems.append(f"paramètre « {name} » invalide (reçu « {given} »)")
    return "Requête invalide : " + " ; ".join(problems) + "."


# ---------------------------------------------------------------------------------------------- the app
def create_app(database_url: str | None = None) -> FastAPI:
    """The observatory's app for the warehouse at `database_url` (default: `VIGIE_DATABASE`, else `./vigie.duckdb`).

    >>> app = create_app("vigie.duckdb")        # doctest: +SKIP
    >>> # uvicorn.run(app)  -> GET /api/portrait/commune/62510
    """
    url = database_url or default_database_url()
    context = AppContext(url)
    access = context.access

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        warming = threading.Thread(target=_warm, args=(context,), name="vigie-warm", daemon=True)
        warming.start()
        yield
        context.closing.set()
        warming.join(timeout=120)
        context.close()

    app = FastAPI(
        title="Vigie — API de l'observatoire territorial",
        description=DESCRIPTION,
        version=vigie.__version__,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN: nothing is fetched at run time
        redoc_url=None,
    )
    app.state.context = context
    app.state.access = access  # tests and other modules reach the connection through it
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)

    # ------------------------------------------------------------------ errors (all in French)
    def _body(request: Request, detail: str, status: int) -> dict[str, Any]:
        if request.url.path.startswith(ogc.PREFIX):  # OGC API exception shape, plus the French detail
            return {"detail": detail, "code": ogc.exception_code(status), "description": detail}
        return {"detail": detail}

    @app.exception_handler(VigieError)
    async def vigie_error(request: Request, exc: VigieError) -> JSONResponse:
        return JSONResponse(_body(request, exc.message, exc.http_status), status_code=exc.http_status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            detail = (f"Ressource introuvable : « {request.url.path} ». La liste des adresses est sur « /api » "
                      "et dans le schéma « /openapi.json ».")
        elif exc.status_code == 405:
            detail = f"Méthode {request.method} non autorisée sur « {request.url.path} » : cette API est en lecture seule."
        else:
            detail = str(exc.detail)
        return JSONResponse(_body(request, detail, exc.status_code), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_parameter(request: Request, exc: RequestValidationError) -> JSONResponse:
        status = 400 if request.url.path.startswith(ogc.PREFIX) else 422
        detail = _invalid_parameters(exc)
        return JSONResponse(_body(request, detail, status), status_code=status)

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("Erreur interne de l'API", exc_info=exc)
        return JSONResponse({"detail": "Erreur interne du serveur."}, status_code=500)

    @app.middleware("http")
    async def private_answers(request: Request, call_next):
        """An answer to a logged-in viewer (session cookie or token) may hold restricted data: never stored by a
        shared cache. Public answers vary with the credentials, so that a cache never serves one for the other."""
        response = await call_next(request)
        logged_in = request.headers.get("authorization") or request.cookies.get(SESSION_COOKIE)
        if logged_in and "no-store" not in response.headers.get("Cache-Control", ""):
            response.headers["Cache-Control"] = "private, no-store"
        vary = response.headers.get("Vary")
        response.headers["Vary"] = ", ".join(v for v in (vary, "Authorization, Cookie") if v)
        return response

    app.include_router(engine_api.router(context))
    app.include_router(exports.router(context))
    app.include_router(tiles.router(context))
    app.include_router(ogc.router(context))
    from vigie.modules.registry import web_modules
    from vigie.publish.web import mount_web

    modules = web_modules()
    mount_web(app, [entry for module in modules for entry in module.NAVIGATION])
    for module in modules:
        app.include_router(module.router(context))

    # ------------------------------------------------------------------ routes
    @app.get("/api", tags=["entrepôt"], summary="Présentation de l'entrepôt",
             description="Nom, version, nombre de territoires par niveau (au dernier COG de chaque niveau), "
                         "d'indicateurs et de sources, COG du cube d'indicateurs, et liens vers les autres adresses. "
                         "Également servie sur « / » aux clients qui ne demandent pas de HTML.")
    @app.get("/", include_in_schema=False)
    def home(request: Request, seen: Hidden = Depends(visible)) -> dict[str, Any]:
        with access.use() as wh:
            by_level = wh.query(
                "SELECT t.level, t.cog, count(*) FROM territory t "
                "WHERE t.cog = (SELECT max(cog) FROM territory t2 WHERE t2.level = t.level) "
                "GROUP BY t.level, t.cog ORDER BY t.level"
            )
            counts = {
                "territories": {level: int(n) for level, _cog, n in by_level if level not in seen.levels},
                "cogs": {level: int(cog) for level, cog, _n in by_level if level not in seen.levels},
                "indicators": sum(1 for (i,) in wh.query("SELECT id FROM indicator") if i not in seen.indicators),
                "sources": sum(1 for (d,) in wh.query("SELECT dataset FROM source") if d not in seen.datasets),
                "layers": sum(1 for (i,) in wh.query("SELECT id FROM layer") if i not in seen.layers),
            }
            backend = wh.backend
        p = _prefix(request)
        return {
            "name": "Vigie",
            "title": "Vigie — observatoire territorial",
            "version": vigie.__version__,
            "backend": backend,
            "counts": counts,
            "cube": {"cog": context.engine.cog} if context.has_engine else None,
            "prepared": context.prepared.is_set(),  # caches and tile geometries built (done in the background)
            "links": {
                "territories": f"{p}/api/territories",
                "indicators": f"{p}/api/indicators",
                "values": f"{p}/api/values",
                "sources": f"{p}/api/sources",
                "layers": f"{p}/api/layers",
                "catalogue": f"{p}/api/catalogue",
                "cube": f"{p}/api/cube",
                "search": f"{p}/api/search",
                "map": f"{p}/api/map/values",
                "export": f"{p}/api/export",
                "tiles": f"{p}/tiles/{{level}}/{{z}}/{{x}}/{{y}}.mvt",
                "ogc": f"{p}{ogc.PREFIX}",
                "openapi": f"{p}/openapi.json",
            },
        }

    @app.get("/api/territories", tags=["territoires"], summary="Liste des territoires",
             description="Territoires du dernier COG de chaque niveau (ou du COG demandé), triés par niveau et code. "
                         "`q` cherche dans les noms (sans tenir compte de la casse) et le début des codes.")
    def territories(
        level: str | None = Query(None, description="Niveau : commune, epci, departement, region, qpv, iris…"),
        q: str | None = Query(None, description="Texte cherché dans le nom, ou début du code."),
        cog: int | None = Query(None, ge=1000, le=9999, description="Millésime du code officiel géographique (par défaut : le dernier)."),
        seen: Hidden = Depends(visible),
    ) -> dict[str, Any]:
        with access.use() as wh:
            df = wh.territories(level=level, cog=cog, search=q or None)
        items = [t for t in _records(df, ["code", "name", "level", "cog"]) if t["level"] not in seen.levels]
        return {"count": len(items), "territories": items}

    @app.get("/api/territories/{level}/{code}", tags=["territoires"], summary="Un territoire",
             description="Le territoire, les territoires qui le contiennent et le nombre de territoires qu'il contient "
                         "(par niveau) à son COG, et s'il a un contour.",
             responses=_errors(404))
    def territory(
        request: Request, level: str, code: str,
        cog: int | None = Query(None, ge=1000, le=9999, description="Millésime du COG (par défaut : le dernier où le code existe)."),
        seen: Hidden = Depends(visible),
    ) -> dict[str, Any]:
        _visible_territory(level, code, seen)
        with access.use() as wh:
            t = wh.find_territory(code, level=level, cog=cog)
            parents = [p for p in _records(wh.parents(t), ["level", "code", "name", "weight"])
                       if p["level"] not in seen.levels]
            children = wh.query(
                "SELECT child_level, count(*) FROM membership WHERE cog = ? AND parent_level = ? AND parent_code = ? "
                "GROUP BY child_level ORDER BY child_level",
                (t.cog, t.level, t.code),
            )
            cogs = [int(r[0]) for r in wh.query("SELECT cog FROM territory WHERE level = ? AND code = ? ORDER BY cog", (t.level, t.code))]
            has_geometry = bool(
                wh.query("SELECT count(*) FROM territory_geometry WHERE level = ? AND code = ? AND cog = ?", (t.level, t.code, t.cog))[0][0]
            )
        base = f"{_prefix(request)}/api/territories/{t.level}/{t.code}"
        return {
            **_territory_summary(t),
            "cogs": cogs,
            "parents": parents,
            "children": {child_level: int(n) for child_level, n in children if child_level not in seen.levels},
            "has_geometry": has_geometry,
            "links": {"self": base, "geometry": f"{base}/geometry" if has_geometry else None},
        }

    @app.get("/api/territories/{level}/{code}/geometry", tags=["territoires"], summary="Contour d'un territoire",
             description="Le contour du territoire en GeoJSON (Feature, WGS84, simplifié pour le web), avec sa "
                         "surface en km² calculée en Lambert-93.",
             responses=_errors(404), response_class=JSONResponse)
    def territory_geometry(
        level: str, code: str, cog: int | None = Query(None, ge=1000, le=9999, description="Millésime du COG (par défaut : le dernier)."),
        seen: Hidden = Depends(visible),
    ) -> JSONResponse:
        _visible_territory(level, code, seen)
        with access.use() as wh:
            t = wh.find_territory(code, level=level, cog=cog)
            found = wh.query(
                "SELECT ST_AsBinary(geom_web), area_km2 FROM territory_geometry WHERE level = ? AND code = ? AND cog = ?",
                (t.level, t.code, t.cog),
            )
        if not found:
            raise NotFoundError(f"Le territoire « {t.name} » ({t.level} {t.code}) n'a pas de contour au COG {t.cog}.")
        wkb, area = found[0]
        feature = {
            "type": "Feature",
            "id": t.code,
            "geometry": _geometry(wkb),
            "properties": {**_territory_summary(t), "area_km2": _plain(area)},
        }
        return JSONResponse(feature, media_type=GEOJSON)

    @app.get("/api/indicators", tags=["indicateurs"], summary="Liste des indicateurs",
             description="Définitions des indicateurs de l'entrepôt, triées par thème puis identifiant.")
    def indicators(seen: Hidden = Depends(visible)) -> dict[str, Any]:
        with access.use() as wh:
            items = [i for i in _records(wh.indicators()) if i["id"] not in seen.indicators]
        return {"count": len(items), "indicators": items}

    @app.get("/api/indicators/{indicator_id}", tags=["indicateurs"], summary="Un indicateur",
             description="Définition d'un indicateur, avec les années et les niveaux pour lesquels des valeurs existent.",
             responses=_errors(404))
    def indicator(indicator_id: str, seen: Hidden = Depends(visible)) -> dict[str, Any]:
        _visible_indicator(indicator_id, seen)
        with access.use() as wh:
            definition = {k: _plain(v) for k, v in wh.indicator(indicator_id).items()}
            years = wh.value_years(indicator_id)
            levels = [r[0] for r in wh.query("SELECT DISTINCT level FROM value WHERE indicator = ? ORDER BY level", (indicator_id,))]
        return {**definition, "years": years, "levels": levels}

    @app.get("/api/values", tags=["indicateurs"], summary="Valeurs d'un indicateur",
             description="Valeurs stockées d'un indicateur, avec leur statut et leur source. Une valeur couverte par "
                         "le secret statistique n'est jamais transmise : `value` vaut `null` et `status` vaut `secret`.",
             responses=_errors(404, 422))
    def values(
        indicator: str = Query(..., description="Identifiant de l'indicateur."),
        level: str | None = Query(None, description="Niveau des territoires."),
        codes: str | None = Query(None, description="Codes des territoires, séparés par des virgules (ex. 62498,62510)."),
        year: int | None = Query(None, ge=1000, le=9999, description="Millésime des données."),
        cog: int | None = Query(None, ge=1000, le=9999, description="Millésime du COG des codes."),
        seen: Hidden = Depends(visible),
    ) -> dict[str, Any]:
        _visible_indicator(indicator, seen)
        if level is not None:
            context.check_level(level, seen.levels)  # unknown, or hidden from the viewer: the same French 404
        code_list = None if codes is None else [c.strip() for c in codes.split(",") if c.strip()]
        with access.use() as wh:
            definition = wh.indicator(indicator)
            df = wh.values(indicator, level=level, codes=code_list, years=None if year is None else [year], cog=cog)
        items = [v for v in _records(df, ["level", "code", "year", "cog", "value", "status", "source_id", "synthetic"])
                 if v["level"] not in seen.levels]
        for item in items:
            if item["status"] == "secret":  # values() already masks it; never send it, whatever happens upstream
                item["value"] = None
        return {
            "indicator": {k: _plain(definition.get(k)) for k in ("id", "label", "unit", "kind", "decimals")},
            "count": len(items),
            "values": items,
        }

    @app.get("/api/sources", tags=["sources"], summary="Fichiers importés",
             description="Chaque fichier importé : producteur, millésime, licence, empreinte SHA-256, nombre de "
                         "lignes, date d'import et s'il s'agit de données fictives de démonstration.")
    def sources(seen: Hidden = Depends(visible)) -> dict[str, Any]:
        with access.use() as wh:
            items = [s for s in _records(wh.sources()) if s["dataset"] not in seen.datasets]
        return {"count": len(items), "sources": items}

    @app.get("/api/layers", tags=["couches"], summary="Liste des couches",
             description="Couches géographiques de l'entrepôt avec leur nombre d'objets.")
    def layers(request: Request, seen: Hidden = Depends(visible)) -> dict[str, Any]:
        with access.use() as wh:
            items = [la for la in _records(wh.layers()) if la["id"] not in seen.layers]
        for item in items:
            item["link"] = f"{_prefix(request)}/api/layers/{item['id']}"
        return {"count": len(items), "layers": items}

    @app.get("/api/layers/{layer_id}", tags=["couches"], summary="Une couche en GeoJSON",
             description="Les objets de la couche en GeoJSON (FeatureCollection, WGS84) ; les propriétés de chaque "
                         "objet sont celles du fichier source, plus son nom et sa commune.",
             responses=_errors(404), response_class=JSONResponse)
    def layer(layer_id: str, seen: Hidden = Depends(visible)) -> JSONResponse:
        context.check_layer(layer_id, seen, listing=False)
        with access.use() as wh:
            meta = _layer_or_404(wh, layer_id)
            features = wh.layer_features(layer_id, web=True)
        collection = {
            "type": "FeatureCollection",
            "layer": {k: meta[k] for k in ("id", "label", "theme", "features", "source_id")},
            "features": [
                {
                    "type": "Feature",
                    "id": row.feature_id,
                    "geometry": json.loads(shapely.to_geojson(row.geometry)),
                    "properties": {**_properties(row.properties), "name": _plain(row.name), "commune": _plain(row.commune)},
                }
                for row in features.itertuples(index=False)
            ],
        }
        return JSONResponse(collection, media_type=GEOJSON, headers={"Cache-Control": seen.cache_control})

    return app
