"""GeoJSON layers for the map: contours of a level, or the features of a layer, built once per app.

Coordinates are the simplified WGS84 copy (`geom_web`), quantised to 5 decimals (about one metre), rings
oriented as RFC 7946 asks (exterior counter-clockwise). Each body is serialised once and kept with its ETag:
the warehouse is read-only for the app, so a layer never changes while it runs.
"""

from __future__ import annotations

import json
import threading

import numpy as np
import shapely

from vigie.errors import NotFoundError
from vigie.publish.context import AppContext
from vigie.publish.json_values import dumps, plain, properties
from vigie.publish.responses import Body

DIGITS = 5


def quantise(geoms, digits: int = DIGITS):
    """Coordinates rounded to `digits` decimals, repeated points removed, rings oriented (RFC 7946)."""
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return geoms
    out = shapely.transform(geoms, lambda c: np.round(c, digits))
    out = shapely.remove_repeated_points(out, 0.0)
    return shapely.orient_polygons(out, exterior_cw=False)


def geometries_json(geoms, digits: int = DIGITS) -> list[dict | None]:
    """GeoJSON geometry objects (None for missing geometries)."""
    geoms = np.asarray(geoms, dtype=object)
    texts = shapely.to_geojson(quantise(geoms, digits)) if len(geoms) else []
    return [None if t is None else json.loads(t) for t in texts]


def _body(collection: dict) -> Body:
    body = Body(dumps(collection))
    body.gzipped  # compressed once, now, rather than by the first request that accepts gzip
    return body


class GeoLayers:
    """Contours and layers as GeoJSON bodies, computed on first request and then served from memory."""

    def __init__(self, ctx: AppContext):
        self.ctx = ctx
        self._bodies: dict[tuple[str, str, int | None], Body] = {}
        self._lock = threading.Lock()

    def contours(self, level: str, cog: int | None = None) -> Body:
        available = self.ctx.geometry_levels
        if level not in available:
            self.ctx.check_level(level)
            raise NotFoundError(
                f"Le niveau « {level} » n'a pas de contours dans l'entrepôt (niveaux avec contours : "
                f"{', '.join(sorted(available)) or 'aucun'})."
            )
        cog = available[level] if cog is None else cog
        key = ("level", level, cog)
        with self._lock:
            if key not in self._bodies:
                self._bodies[key] = self._contours(level, cog)
            return self._bodies[key]

    def _contours(self, level: str, cog: int) -> Body:
        with self.ctx.access.use() as wh:
            cogs = [int(r[0]) for r in wh.query(
                "SELECT DISTINCT cog FROM territory_geometry WHERE level = ? ORDER BY cog", (level,))]
            if cog not in cogs:
                raise NotFoundError(
                    f"Pas de contours du niveau « {level} » au COG {cog} : millésimes disponibles : "
                    f"{', '.join(str(c) for c in cogs)}."
                )
            rows = wh.query(
                "SELECT g.code, t.name, ST_AsBinary(g.geom_web) FROM territory_geometry g "
                "LEFT JOIN territory t ON t.level = g.level AND t.code = g.code AND t.cog = g.cog "
                "WHERE g.level = ? AND g.cog = ? ORDER BY g.code",
                (level, cog),
            )
        geoms = geometries_json(shapely.from_wkb([bytes(r[2]) for r in rows]))
        features = [
            {"type": "Feature", "id": code, "properties": {"code": code, "name": name}, "geometry": geom}
            for (code, name, _wkb), geom in zip(rows, geoms)
        ]
        return _body({"type": "FeatureCollection", "level": level, "cog": cog, "features": features})

    def layer(self, layer_id: str) -> Body:
        key = ("layer", layer_id, None)
        with self._lock:
            if key not in self._bodies:
                self._bodies[key] = self._layer(layer_id)
            return self._bodies[key]

    def _layer(self, layer_id: str) -> Body:
        with self.ctx.access.use() as wh:
            meta = wh.query("SELECT id, label, theme FROM layer WHERE id = ?", (layer_id,))
            if not meta:
                known = [r[0] for r in wh.query("SELECT id FROM layer ORDER BY id")]
                raise NotFoundError(
                    f"La couche « {layer_id} » n'existe pas dans l'entrepôt (couches : {', '.join(known) or 'aucune'})."
                )
            rows = wh.query(
                "SELECT feature_id, name, commune, properties, ST_AsBinary(geom_web) FROM layer_feature "
                "WHERE layer = ? ORDER BY feature_id",
                (layer_id,),
            )
        geoms = geometries_json(shapely.from_wkb([bytes(r[4]) for r in rows]))
        features = [
            {"type": "Feature", "id": fid,
             "properties": {**properties(props), "id": fid, "name": plain(name), "commune": plain(commune)},
             "geometry": geom}
            for (fid, name, commune, props, _wkb), geom in zip(rows, geoms)
        ]
        _id, label, theme = meta[0]
        return _body({"type": "FeatureCollection", "layer": {"id": layer_id, "label": label, "theme": theme},
                      "features": features})
