"""Vector tiles (Mapbox Vector Tiles) of the territory contours, for a map of all French communes.

`GET /tiles/{level}/{z}/{x}/{y}.mvt` carries each territory's `code` and `name` (the map joins the values of the
chosen indicator to them by code, client side, so one set of tiles serves every indicator and year); an empty
tile answers 204. `GET /tiles/{level}.json` is the TileJSON description MapLibre reads.

Two builders, one per warehouse backend:
- DuckDB: the first tile of a level reads its contours once (`territory_geometry.geom_web`), projects them to Web
  Mercator (EPSG:3857) and simplifies them for each zoom band, each band from the finer one's result, to half a
  screen pixel (`simplify_tolerance`: 4 units of the tile grid). Up to `COVERAGE_MAX` territories they are simplified as a coverage (`shapely.coverage_simplify`:
  shared borders stay shared); above, one by one (five times faster for 35,000 communes; neighbours may then
  differ by up to the tolerance, half a pixel, before the grid snapping of `ST_AsMVTGeom`). They are kept
  in an in-memory DuckDB database of the app (the warehouse is read-only), with their bounding boxes, and each
  tile is one `ST_AsMVT` query over them, on a cursor of its own (tiles do not wait for the warehouse lock).
- PostgreSQL/PostGIS: each tile is one PostGIS `ST_AsMVT` query over `geom_web`, transformed to 3857 and
  simplified for the zoom on the fly (a read-only session cannot keep derived tables).

Built tiles are kept in memory (`TileCache`, 256 MB by default, `VIGIE_TILE_CACHE_MB`), with an ETag and their gzip
form, since they cannot change while the app runs; the few tiles of zooms 0 to `PRERENDER_ZOOM` over a level —
the most expensive ones, a z5 tile of France holds ~20,000 communes, a z9 tile still ~300 — are built in the
background when the app starts (`prerender`: ~750 tiles, 10 MB and about 20 s for 35,000 communes; zoom set by
`VIGIE_TILES_PRERENDER_ZOOM`, 9 by default), the others on first request (~10 ms to 25 ms each).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyproj
import shapely
from fastapi import APIRouter, Depends, Path, Request, Response

from vigie.errors import NotFoundError
from vigie.publish.context import AppContext, Hidden, visible
from vigie.publish.json_values import dumps
from vigie.publish.params import ParameterError
from vigie.publish.responses import Body, respond

TAG = {"name": "tuiles", "description": "Tuiles vectorielles (MVT) des contours, pour la carte nationale."}
MVT = "application/vnd.mapbox-vector-tile"
EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22
# Zoom bands: band z serves zooms z up to the next band. From the last one on, the web copy is used as it is (it is
# already simplified to a few metres, and a 6 km commune spans ~150 grid units at zoom 10).
BANDS = [0, 3, 5, 6, 7, 8, 9, 10]
WORLD = 20037508.342789244  # half the width of the Web Mercator square, in metres
CACHE_CONTROL = "public, max-age=3600"
COVERAGE_MAX = 5000
SIMPLIFY_UNITS = 4  # simplification tolerance, in tile grid units (see `simplify_tolerance`)
PRERENDER_ZOOM = int(os.environ.get("VIGIE_TILES_PRERENDER_ZOOM", "9"))


def band(z: int) -> int:
    return max(b for b in BANDS if b <= z)


def tolerance(z: int) -> float:
    """One unit of the tile grid (4096 per tile) at zoom `z`, in metres."""
    return 2 * WORLD / (EXTENT * 2**z)


def simplify_tolerance(z: int) -> float:
    """How far a contour may move when simplified for the zoom band starting at `z`: `SIMPLIFY_UNITS` grid units.

    MapLibre draws a 4,096-unit tile over 512 screen pixels: 4 units are half a pixel at that zoom. Finer than that
    only adds vertices nobody sees, and vertices are what a browser's first paint of 35,000 communes pays for
    (with software WebGL, about four times fewer vertices at zoom 5 than with a one-unit tolerance)."""
    return SIMPLIFY_UNITS * tolerance(z)


def band_tolerance(z: int) -> float:
    """The simplification tolerance of zoom `z`'s band (none from the last band on, as the DuckDB builder does)."""
    return 0.0 if z >= BANDS[-1] else simplify_tolerance(band(z))


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Web Mercator bounds (xmin, ymin, xmax, ymax) of tile z/x/y (XYZ scheme, y down from the north)."""
    size = 2 * WORLD / 2**z
    xmin = -WORLD + x * size
    ymax = WORLD - y * size
    return xmin, ymax - size, xmin + size, ymax


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise ParameterError(f"Niveau de zoom {z} hors limites : de 0 à {MAX_ZOOM}.")
    n = 2**z
    if not (0 <= x < n and 0 <= y < n):
        raise ParameterError(f"Tuile {z}/{x}/{y} hors de la grille : au zoom {z}, x et y vont de 0 à {n - 1}.")


@dataclass
class TileStats:
    """How long preparing a level took (seconds) and how many features and zoom bands it holds."""

    level: str
    seconds: float
    features: int
    rows: int


class DuckDBTiles:
    """Per-zoom simplified Web Mercator contours in an in-memory DuckDB, built once per level."""

    def __init__(self, ctx: AppContext):
        from vigie.warehouse.duckdb_backend import spatial_extension_path

        self.ctx = ctx
        self.con = duckdb.connect(
            ":memory:", config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
        )
        self.con.execute(f"LOAD '{spatial_extension_path()}'")
        self.con.execute(
            "CREATE TABLE tile_geom (level VARCHAR, band INTEGER, code VARCHAR, name VARCHAR, "
            "xmin DOUBLE, ymin DOUBLE, xmax DOUBLE, ymax DOUBLE, geom GEOMETRY)"
        )
        self.ready: dict[str, TileStats] = {}
        self.extents: dict[str, tuple[float, float, float, float] | None] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._local.cursor = self.con.cursor()
        return cursor

    def prepare(self, level: str) -> TileStats:
        """Read, project and simplify the contours of `level` (once)."""
        with self._lock:
            if level in self.ready:
                return self.ready[level]
            start = time.perf_counter()
            cog = self.ctx.geometry_levels[level]
            with self.ctx.access.use() as wh:
                rows = wh.query(
                    "SELECT g.code, t.name, ST_AsBinary(g.geom_web) FROM territory_geometry g "
                    "LEFT JOIN territory t ON t.level = g.level AND t.code = g.code AND t.cog = g.cog "
                    "WHERE g.level = ? AND g.cog = ? ORDER BY g.code",
                    (level, cog),
                )
            codes = [r[0] for r in rows]
            names = [r[1] for r in rows]
            geoms = shapely.from_wkb([bytes(r[2]) for r in rows])
            mercator = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)
            geoms = shapely.transform(geoms, lambda c: np.column_stack(mercator.transform(c[:, 0], c[:, 1])))
            invalid = ~shapely.is_valid(geoms)
            if invalid.any():  # polygons stay polygons (no collapsed lines next to them)
                geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
            total = 0
            simplified = geoms
            for b in reversed(BANDS):  # finest first: each band simplifies the previous one's result (faster)
                if b != BANDS[-1]:
                    simplified = simplify(simplified, simplify_tolerance(b))
                keep = ~(shapely.is_empty(simplified) | shapely.is_missing(simplified))
                bounds = shapely.bounds(simplified)
                frame = pd.DataFrame({
                    "level": level, "band": b, "code": np.asarray(codes, dtype=object)[keep],
                    "name": np.asarray(names, dtype=object)[keep],
                    "xmin": bounds[keep, 0], "ymin": bounds[keep, 1], "xmax": bounds[keep, 2], "ymax": bounds[keep, 3],
                    "wkb": shapely.to_wkb(simplified[keep]),
                })
                self.con.register("_vigie_tiles", frame)
                try:
                    self.con.execute(
                        "INSERT INTO tile_geom SELECT level, band, code, name, xmin, ymin, xmax, ymax, "
                        "ST_GeomFromWKB(wkb) FROM _vigie_tiles ORDER BY xmin"
                    )
                finally:
                    self.con.unregister("_vigie_tiles")
                total += int(keep.sum())
            bounds = shapely.total_bounds(geoms)
            self.extents[level] = tuple(float(v) for v in bounds) if len(geoms) else None
            stats = TileStats(level, time.perf_counter() - start, len(codes), total)
            self.ready[level] = stats
            return stats

    def tile(self, level: str, z: int, x: int, y: int) -> bytes | None:
        self.prepare(level)
        xmin, ymin, xmax, ymax = tile_bounds(z, x, y)
        margin = (xmax - xmin) * BUFFER / EXTENT
        blob, count = self._cursor().execute(
            "SELECT ST_AsMVT({'code': code, 'name': name, 'geom': g}, ?, ?, 'geom'), count(*) FROM ("
            "  SELECT code, name, ST_AsMVTGeom(geom, ST_Extent(ST_MakeEnvelope(?, ?, ?, ?)), ?, ?, true) AS g"
            "  FROM tile_geom WHERE level = ? AND band = ? AND xmax >= ? AND xmin <= ? AND ymax >= ? AND ymin <= ?"
            ") WHERE g IS NOT NULL AND NOT ST_IsEmpty(g)",
            [level, EXTENT, xmin, ymin, xmax, ymax, EXTENT, BUFFER, level, band(z),
             xmin - margin, xmax + margin, ymin - margin, ymax + margin],
        ).fetchone()
        return bytes(blob) if count else None

    def geometries(self, level: str, z: int, bounds: tuple[float, float, float, float]) -> tuple[list[str], np.ndarray]:
        """Codes and Web Mercator contours (simplified for zoom `z`) of the territories touching `bounds`."""
        self.prepare(level)
        xmin, ymin, xmax, ymax = bounds
        rows = self._cursor().execute(
            "SELECT code, ST_AsWKB(geom) FROM tile_geom WHERE level = ? AND band = ? "
            "AND xmax >= ? AND xmin <= ? AND ymax >= ? AND ymin <= ?",
            [level, band(z), xmin, xmax, ymin, ymax],
        ).fetchall()
        return [r[0] for r in rows], shapely.from_wkb([bytes(r[1]) for r in rows])

    def close(self) -> None:
        self.con.close()


def simplify(geoms: np.ndarray, tol: float) -> np.ndarray:
    """Simplify a level's contours together, keeping shared borders shared (one by one when they are many, or when
    they do not form a coverage)."""
    if len(geoms) <= COVERAGE_MAX:
        try:
            return np.asarray(shapely.coverage_simplify(geoms, tol), dtype=object)
        except shapely.errors.GEOSException:
            pass
    return np.asarray(shapely.simplify(geoms, tol, preserve_topology=True), dtype=object)


def tiles_covering(bounds: tuple[float, float, float, float], z: int) -> list[tuple[int, int]]:
    """(x, y) of the tiles of zoom `z` that a Web Mercator rectangle touches."""
    xmin, ymin, xmax, ymax = bounds
    size = 2 * WORLD / 2**z
    last = 2**z - 1
    x0, x1 = (min(last, max(0, int((v + WORLD) // size))) for v in (xmin, xmax))
    y0, y1 = (min(last, max(0, int((WORLD - v) // size))) for v in (ymax, ymin))
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


class TileCache:
    """Built tiles (a `Body`, or None for an empty tile) by (level, z, x, y), least recently used out first."""

    def __init__(self, max_bytes: int | None = None):
        self.max_bytes = max_bytes if max_bytes is not None else int(os.environ.get("VIGIE_TILE_CACHE_MB", "256")) * 2**20
        self._items: OrderedDict[tuple, Body | None] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[bool, Body | None]:
        with self._lock:
            if key not in self._items:
                return False, None
            self._items.move_to_end(key)
            return True, self._items[key]

    def put(self, key: tuple, body: Body | None) -> None:
        size = len(body.content) if body else 0
        with self._lock:
            if key in self._items:
                return
            self._items[key] = body
            self._bytes += size
            while self._bytes > self.max_bytes and self._items:
                _key, old = self._items.popitem(last=False)
                self._bytes -= len(old.content) if old else 0


class PostgisTiles:
    """Tiles straight from PostGIS: `ST_AsMVT` over `geom_web` projected and simplified per tile."""

    def __init__(self, ctx: AppContext):
        self.ctx = ctx
        self.ready: dict[str, TileStats] = {}

    def prepare(self, level: str) -> TileStats:
        return TileStats(level, 0.0, 0, 0)

    def tile(self, level: str, z: int, x: int, y: int) -> bytes | None:
        cog, tol = self.ctx.geometry_levels[level], band_tolerance(z)
        with self.ctx.access.use() as wh:
            rows = wh.query(
                "WITH env AS (SELECT ST_TileEnvelope(?, ?, ?) AS box), "
                "feats AS ("
                "  SELECT g.code, t.name, ST_AsMVTGeom(ST_SimplifyPreserveTopology(ST_Transform(g.geom_web, 3857), ?), "
                "         env.box, ?, ?, true) AS geom"
                "  FROM territory_geometry g CROSS JOIN env "
                "  LEFT JOIN territory t ON t.level = g.level AND t.code = g.code AND t.cog = g.cog"
                "  WHERE g.level = ? AND g.cog = ? AND g.geom_web && ST_Transform(ST_Expand(env.box, ?), 4326)) "
                "SELECT ST_AsMVT(feats, ?, ?, 'geom'), count(*) FROM feats WHERE geom IS NOT NULL",
                (z, x, y, tol, EXTENT, BUFFER, level, cog, (2 * WORLD / 2**z) * BUFFER / EXTENT, level, EXTENT),
            )
        blob, count = rows[0]
        return bytes(blob) if count else None

    def geometries(self, level: str, z: int, bounds: tuple[float, float, float, float]) -> tuple[list[str], np.ndarray]:
        cog, tol = self.ctx.geometry_levels[level], band_tolerance(z)
        with self.ctx.access.use() as wh:
            rows = wh.query(
                "WITH box AS (SELECT ST_MakeEnvelope(?, ?, ?, ?, 3857) AS b) "
                "SELECT g.code, ST_AsBinary(ST_SimplifyPreserveTopology(ST_Transform(g.geom_web, 3857), ?)) "
                "FROM territory_geometry g CROSS JOIN box "
                "WHERE g.level = ? AND g.cog = ? AND g.geom_web && ST_Transform(box.b, 4326)",
                (*bounds, tol, level, cog),
            )
        return [r[0] for r in rows], shapely.from_wkb([bytes(r[1]) for r in rows])

    def close(self) -> None:
        pass


class Tiles:
    """The tile builder of the app's backend, and the tiles it built."""

    def __init__(self, ctx: AppContext):
        self.ctx = ctx
        self.cache = TileCache()
        self._builder: DuckDBTiles | PostgisTiles | None = None
        self._lock = threading.Lock()
        self._prepared: dict[str, TileStats] = {}
        self._prepare_lock = threading.Lock()

    @property
    def builder(self) -> DuckDBTiles | PostgisTiles:
        with self._lock:
            if self._builder is None:
                backend = self.ctx.access.warehouse.backend
                self._builder = PostgisTiles(self.ctx) if backend == "postgres" else DuckDBTiles(self.ctx)
            return self._builder

    def check_level(self, level: str, hidden: frozenset[str] = frozenset()) -> None:
        """A level with contours that the viewer may see (`hidden`: levels hidden from it), or a French 404."""
        if level not in self.ctx.geometry_levels or level in hidden:
            self.ctx.check_level(level, hidden)
            shown = sorted(lv for lv in self.ctx.geometry_levels if lv not in hidden)
            raise NotFoundError(
                f"Le niveau « {level} » n'a pas de contours dans l'entrepôt (niveaux avec contours : "
                f"{', '.join(shown) or 'aucun'})."
            )

    def tile(self, level: str, z: int, x: int, y: int) -> Body | None:
        """The tile (a `Body`), or None when it is empty; built once, then served from memory."""
        check_tile(z, x, y)
        self.check_level(level)
        self.prepare(level)
        return self._tile(level, z, x, y)

    def _tile(self, level: str, z: int, x: int, y: int) -> Body | None:
        key = (level, z, x, y)
        found, body = self.cache.get(key)
        if not found:
            content = self.builder.tile(level, z, x, y)
            body = Body(content) if content else None
            self.cache.put(key, body)
        return body

    def geometries(self, level: str, z: int, bounds: tuple[float, float, float, float]) -> tuple[list[str], np.ndarray]:
        """Codes and Web Mercator contours, simplified for zoom `z`, of the level's territories touching `bounds`
        (for the overview images drawn by the server, `publish/overview.py`)."""
        self.check_level(level)
        self.prepare(level)
        return self.builder.geometries(level, z, bounds)

    def prepare(self, level: str) -> TileStats:
        """Make the level ready to serve tiles (DuckDB: its per-zoom Web Mercator geometries), once."""
        self.check_level(level)
        if level in self._prepared:
            return self._prepared[level]
        with self._prepare_lock:
            if level not in self._prepared:
                self._prepared[level] = self.builder.prepare(level)
            return self._prepared[level]

    def prerender(self, level: str, max_zoom: int = PRERENDER_ZOOM, stop: threading.Event | None = None) -> int:
        """Build and keep the tiles of zooms 0 to `max_zoom` over the level (DuckDB only); returns how many."""
        stats = self.prepare(level)
        extent = getattr(self.builder, "extents", {}).get(level)
        if extent is None:
            return 0
        start, built = time.perf_counter(), 0
        for z in range(max_zoom + 1):
            for x, y in tiles_covering(extent, z):
                if stop is not None and stop.is_set():
                    return built
                body = self._tile(level, z, x, y)
                if body is not None:
                    body.gzipped  # compressed now too: these are the biggest tiles
                built += 1
        stats.seconds += time.perf_counter() - start
        return built

    def close(self) -> None:
        if self._builder is not None:
            self._builder.close()


def router(ctx: AppContext) -> APIRouter:
    api = APIRouter()
    tiles = Tiles(ctx)
    ctx.tiles = tiles  # the benchmark and the tests reach the builder through the context

    @api.get("/tiles/{level}.json", tags=["tuiles"], summary="Description TileJSON des tuiles d'un niveau",
             description="Document TileJSON 3.0 : adresse des tuiles, zooms, emprise et champs (`code`, `name`) de la "
                         "couche vectorielle, que MapLibre lit directement.")
    def tilejson(request: Request, level: str, seen: Hidden = Depends(visible)) -> Response:
        tiles.check_level(level, seen.levels)  # a level the viewer may not see: 404 as an unknown one
        cog = ctx.geometry_levels[level]
        with ctx.access.use() as wh:
            box = wh.query(
                "SELECT min(ST_XMin(geom_web)), min(ST_YMin(geom_web)), max(ST_XMax(geom_web)), max(ST_YMax(geom_web)) "
                "FROM territory_geometry WHERE level = ? AND cog = ?",
                (level, cog),
            )[0]
        base = str(request.base_url).rstrip("/")
        body = {
            "tilejson": "3.0.0", "name": f"Vigie — contours ({level})", "scheme": "xyz",
            "tiles": [f"{base}/tiles/{level}/{{z}}/{{x}}/{{y}}.mvt"], "minzoom": 0, "maxzoom": 14,
            "bounds": [float(v) for v in box], "vector_layers": [
                {"id": level, "fields": {"code": "Code du territoire", "name": "Nom du territoire"},
                 "minzoom": 0, "maxzoom": 14},
            ],
        }
        return Response(dumps(body), media_type="application/json",
                        headers={"Cache-Control": seen.private_or(CACHE_CONTROL)})

    @api.get("/tiles/{level}/{z}/{x}/{y}.mvt", tags=["tuiles"], summary="Une tuile vectorielle",
             description="Tuile MVT (Mapbox Vector Tile) des contours du niveau, en Web Mercator, simplifiés pour le "
                         "zoom, avec le code et le nom de chaque territoire ; 204 (sans contenu) pour une tuile vide.",
             responses={200: {"content": {MVT: {}}, "description": "La tuile."},
                        204: {"description": "Tuile vide."}},
             response_class=Response)
    def tile(request: Request, level: str, z: int = Path(..., description="Zoom (0 à 22)."),
             x: int = Path(..., description="Colonne de la tuile."), y: int = Path(..., description="Ligne de la tuile."),
             seen: Hidden = Depends(visible)) -> Response:
        tiles.check_level(level, seen.levels)  # tiles of a hidden level: 404 as an unknown level
        body = tiles.tile(level, z, x, y)
        if body is None:
            return Response(status_code=204, headers={"Cache-Control": seen.private_or(CACHE_CONTROL)})
        return respond(request, body, MVT, seen.private_or(CACHE_CONTROL))

    return api
