"""The minimal JSON API over the warehouse (the full web observatory comes later).

`create_app(url)` opens the warehouse once, READ-ONLY, and serves territories, indicators, values, sources and
layers as JSON (GeoJSON for shapes, in WGS84). Every `VigieError` raised by the data layer becomes its
`http_status` with a French `{"detail": message}` body through one exception handler; unknown routes and
invalid parameters answer in French too.

Concurrency. A DuckDB Python connection must not be used by two threads at once (DuckDB's documentation:
use one connection per thread, e.g. `con.cursor()`, or serialise access); psycopg serialises concurrent use of
one connection internally anyway. FastAPI runs these synchronous endpoints in a thread pool, so the app keeps
ONE warehouse connection and a lock: each request holds it for its few milliseconds of queries. DuckDB already
spreads a single query over every core, and the warehouse is opened read-only, so scaling out means several
server processes (`uvicorn --workers N`, each calling `create_app`), which DuckDB allows for read-only
readers of one file. (The price: while any process holds the file read-only, an import cannot write it.)
"""

from __future__ import annotations

import json
import logging
import math
import threading
from contextlib import asynccontextmanager, contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import shapely
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

import vigie
from vigie.errors import ConfigurationError, NotFoundError, VigieError
from vigie.settings import database_url as default_database_url
from vigie.warehouse import Territory, Warehouse, connect

log = logging.getLogger(__name__)

GEOJSON = "application/geo+json"

DESCRIPTION = """\
API de consultation de l'entrepôt **Vigie** : territoires (communes, EPCI, départements, QPV…) et leurs
appartenances, indicateurs et valeurs, sources importées, couches géographiques.

* Les codes INSEE et SIREN sont des chaînes (`62498`, `2A004`, `246200364`).
* Chaque valeur porte un statut : `ok`, `secret` (secret statistique : la valeur n'est **jamais** transmise),
  `fragile` ou `missing` (non disponible).
* Les géométries sont en WGS84 (longitude, latitude), simplifiées pour le web.
* Les erreurs répondent `{"detail": "message en français"}` avec le code HTTP adapté.
"""

TAGS = [
    {"name": "entrepôt", "description": "Présentation de l'entrepôt et de son contenu."},
    {"name": "territoires", "description": "Territoires, appartenances et contours."},
    {"name": "indicateurs", "description": "Définitions des indicateurs et valeurs par territoire."},
    {"name": "sources", "description": "Fichiers importés : producteur, millésime, licence, empreinte."},
    {"name": "couches", "description": "Couches géographiques (points ou polygones) en GeoJSON."},
]


class Erreur(BaseModel):
    """Corps de toute réponse d'erreur."""

    detail: str


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    texts = {404: "Ressource introuvable.", 409: "Code ambigu : précisez le niveau.", 422: "Paramètre invalide."}
    return {s: {"model": Erreur, "description": texts[s]} for s in statuses}


# ---------------------------------------------------------------------------------------------- warehouse access
def open_read_only(url: str) -> Warehouse:
    """The warehouse at `url`, opened so that this process cannot change it."""
    if url.startswith(("postgresql://", "postgres://")):
        wh = connect(url, create=False)
        wh.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    else:
        import duckdb

        path = url.removeprefix("duckdb://")
        if not Path(path).is_file():
            raise ConfigurationError(
                f"Entrepôt introuvable : « {path} ». Construisez-le avec « vigie demo » ou indiquez-le avec VIGIE_DATABASE."
            )
        try:
            wh = connect(url, create=False, read_only=True)
        except duckdb.Error as exc:
            raise ConfigurationError(
                f"Impossible d'ouvrir l'entrepôt « {path} » en lecture (un import est-il en cours ?) : {exc}"
            ) from exc
    if not wh.is_initialised():
        wh.close()
        raise ConfigurationError(f"« {url} » n'est pas un entrepôt Vigie initialisé : lancez « vigie init » ou « vigie demo ».")
    return wh


class WarehouseAccess:
    """One connection per app, used by one request at a time (see the module docstring)."""

    def __init__(self, warehouse: Warehouse):
        self.warehouse = warehouse
        self._lock = threading.Lock()

    @contextmanager
    def use(self) -> Iterator[Warehouse]:
        with self._lock:
            yield self.warehouse

    def close(self) -> None:
        with self._lock:
            self.warehouse.close()


# ---------------------------------------------------------------------------------------------- JSON helpers
def _plain(value: Any) -> Any:
    """A JSON-ready Python value: numpy scalars unwrapped, NaN/NA/NaT as null, dates in ISO 8601."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime, date)):
        return None if pd.isna(value) else value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return value


def _records(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict[str, Any]]:
    frame = frame if columns is None else frame[columns]
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _geometry(wkb: bytes) -> dict[str, Any]:
    return json.loads(shapely.to_geojson(shapely.from_wkb(bytes(wkb))))


def _properties(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {"proprietes_brutes": text}
    return parsed if isinstance(parsed, dict) else {"valeur": parsed}


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


# ---------------------------------------------------------------------------------------------- the app
def create_app(database_url: str | None = None) -> FastAPI:
    """The JSON API of the warehouse at `database_url` (default: `VIGIE_DATABASE`, else `./vigie.duckdb`).

    >>> app = create_app("vigie.duckdb")        # doctest: +SKIP
    >>> # uvicorn.run(app)  -> GET /api/territories?level=epci
    """
    url = database_url or default_database_url()
    access = WarehouseAccess(open_read_only(url))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        access.close()

    app = FastAPI(
        title="Vigie — API de l'observatoire territorial",
        description=DESCRIPTION,
        version=vigie.__version__,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.access = access  # tests and future modules reach the connection through it

    # ------------------------------------------------------------------ errors (all in French)
    @app.exception_handler(VigieError)
    async def vigie_error(_request: Request, exc: VigieError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.http_status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            detail = f"Ressource introuvable : « {request.url.path} ». La liste des adresses est sur « / » et « /docs »."
        elif exc.status_code == 405:
            detail = f"Méthode {request.method} non autorisée sur « {request.url.path} » : cette API est en lecture seule."
        else:
            detail = str(exc.detail)
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_parameter(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            name = str(err.get("loc", ["", "?"])[-1])
            if err.get("type") == "missing":
                problems.append(f"paramètre obligatoire absent : « {name} »")
            elif err.get("type") == "int_parsing":
                problems.append(f"paramètre « {name} » : nombre entier attendu, reçu « {err.get('input')} »")
            else:
                problems.append(f"paramètre « {name} » invalide (reçu « {err.get('input')} »)")
        return JSONResponse({"detail": "Requête invalide : " + " ; ".join(problems) + "."}, status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("Erreur interne de l'API", exc_info=exc)
        return JSONResponse({"detail": "Erreur interne du serveur."}, status_code=500)

    # ------------------------------------------------------------------ routes
    @app.get("/", tags=["entrepôt"], summary="Présentation de l'entrepôt",
             description="Nom, version, nombre de territoires par niveau (au dernier COG de chaque niveau), "
                         "d'indicateurs et de sources, et liens vers les autres adresses.")
    def home(request: Request) -> dict[str, Any]:
        with access.use() as wh:
            by_level = wh.query(
                "SELECT t.level, t.cog, count(*) FROM territory t "
                "WHERE t.cog = (SELECT max(cog) FROM territory t2 WHERE t2.level = t.level) "
                "GROUP BY t.level, t.cog ORDER BY t.level"
            )
            counts = {
                "territories": {level: int(n) for level, _cog, n in by_level},
                "cogs": {level: int(cog) for level, cog, _n in by_level},
                "indicators": int(wh.query("SELECT count(*) FROM indicator")[0][0]),
                "sources": int(wh.query("SELECT count(*) FROM source")[0][0]),
                "layers": int(wh.query("SELECT count(*) FROM layer")[0][0]),
            }
            backend = wh.backend
        p = _prefix(request)
        return {
            "name": "Vigie",
            "title": "Vigie — observatoire territorial",
            "version": vigie.__version__,
            "backend": backend,
            "counts": counts,
            "links": {
                "territories": f"{p}/api/territories",
                "indicators": f"{p}/api/indicators",
                "values": f"{p}/api/values",
                "sources": f"{p}/api/sources",
                "layers": f"{p}/api/layers",
                "documentation": f"{p}/docs",
                "openapi": f"{p}/openapi.json",
            },
        }

    @app.get("/api/territories", tags=["territoires"], summary="Liste des territoires",
             description="Territoires du dernier COG de chaque niveau (ou du COG demandé), triés par niveau et code. "
                         "`q` cherche dans les noms (sans tenir compte de la casse) et le début des codes.")
    def territories(
        level: str | None = Query(None, description="Niveau : commune, epci, departement, region, qpv, iris…"),
        q: str | None = Query(None, description="Texte cherché dans le nom, ou début du code."),
        cog: int | None = Query(None, description="Millésime du code officiel géographique (par défaut : le dernier)."),
    ) -> dict[str, Any]:
        with access.use() as wh:
            df = wh.territories(level=level, cog=cog, search=q or None)
        items = _records(df, ["code", "name", "level", "cog"])
        return {"count": len(items), "territories": items}

    @app.get("/api/territories/{level}/{code}", tags=["territoires"], summary="Un territoire",
             description="Le territoire, les territoires qui le contiennent et le nombre de territoires qu'il contient "
                         "(par niveau) à son COG, et s'il a un contour.",
             responses=_errors(404))
    def territory(
        request: Request, level: str, code: str,
        cog: int | None = Query(None, description="Millésime du COG (par défaut : le dernier où le code existe)."),
    ) -> dict[str, Any]:
        with access.use() as wh:
            t = wh.find_territory(code, level=level, cog=cog)
            parents = _records(wh.parents(t), ["level", "code", "name", "weight"])
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
            "children": {child_level: int(n) for child_level, n in children},
            "has_geometry": has_geometry,
            "links": {"self": base, "geometry": f"{base}/geometry" if has_geometry else None},
        }

    @app.get("/api/territories/{level}/{code}/geometry", tags=["territoires"], summary="Contour d'un territoire",
             description="Le contour du territoire en GeoJSON (Feature, WGS84, simplifié pour le web), avec sa "
                         "surface en km² calculée en Lambert-93.",
             responses=_errors(404), response_class=JSONResponse)
    def territory_geometry(
        level: str, code: str, cog: int | None = Query(None, description="Millésime du COG (par défaut : le dernier).")
    ) -> JSONResponse:
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
    def indicators() -> dict[str, Any]:
        with access.use() as wh:
            items = _records(wh.indicators())
        return {"count": len(items), "indicators": items}

    @app.get("/api/indicators/{indicator_id}", tags=["indicateurs"], summary="Un indicateur",
             description="Définition d'un indicateur, avec les années et les niveaux pour lesquels des valeurs existent.",
             responses=_errors(404))
    def indicator(indicator_id: str) -> dict[str, Any]:
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
        year: int | None = Query(None, description="Millésime des données."),
        cog: int | None = Query(None, description="Millésime du COG des codes."),
    ) -> dict[str, Any]:
        code_list = None if codes is None else [c.strip() for c in codes.split(",") if c.strip()]
        with access.use() as wh:
            definition = wh.indicator(indicator)
            df = wh.values(indicator, level=level, codes=code_list, years=None if year is None else [year], cog=cog)
        items = _records(df, ["level", "code", "year", "cog", "value", "status", "source_id", "synthetic"])
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
    def sources() -> dict[str, Any]:
        with access.use() as wh:
            items = _records(wh.sources())
        return {"count": len(items), "sources": items}

    @app.get("/api/layers", tags=["couches"], summary="Liste des couches",
             description="Couches géographiques de l'entrepôt avec leur nombre d'objets.")
    def layers(request: Request) -> dict[str, Any]:
        with access.use() as wh:
            items = _records(wh.layers())
        for item in items:
            item["link"] = f"{_prefix(request)}/api/layers/{item['id']}"
        return {"count": len(items), "layers": items}

    @app.get("/api/layers/{layer_id}", tags=["couches"], summary="Une couche en GeoJSON",
             description="Les objets de la couche en GeoJSON (FeatureCollection, WGS84) ; les propriétés de chaque "
                         "objet sont celles du fichier source, plus son nom et sa commune.",
             responses=_errors(404), response_class=JSONResponse)
    def layer(layer_id: str) -> JSONResponse:
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
        return JSONResponse(collection, media_type=GEOJSON)

    return app
