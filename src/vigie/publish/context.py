"""What one web app shares: the read-only warehouse connection, its engine, and what is read once from them.

Concurrency. A DuckDB Python connection must not be used by two threads at once (DuckDB's documentation:
use one connection per thread, e.g. `con.cursor()`, or serialise access); psycopg serialises concurrent use of
one connection internally anyway. FastAPI runs the synchronous endpoints in a thread pool, so the app keeps
ONE warehouse connection and a lock: each request holds it for its few milliseconds of queries. DuckDB already
spreads a single query over every core, and the warehouse is opened read-only, so scaling out means several
server processes (`uvicorn --workers N`, each calling `create_app`), which DuckDB allows for read-only
readers of one file. (The price: while any process holds the file read-only, an import cannot write it.)

Because the app never writes, whatever it derives from the warehouse (territory names, the years of each
indicator, GeoJSON layers, tile geometries) is computed once, on first use, and kept for the life of the app.
"""

from __future__ import annotations

import hashlib
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterator

from starlette.requests import Request

from vigie.engine.query import Engine
from vigie.errors import AmbiguousCodeError, ConfigurationError, NotFoundError, VigieError
from vigie.warehouse import Territory, Warehouse, connect


class ServiceUnavailable(VigieError):
    """The warehouse lacks something the request needs and that only an administrator can add (the cube)."""

    http_status = 503


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
    """One connection per app, used by one request at a time (see the module docstring).

    The warehouse's query methods are wrapped so that a call from a thread that does not hold the lock fails at
    once: on a shared DuckDB connection such a call could otherwise read another request's result (or none).
    """

    GUARDED = ("execute", "query", "query_df")

    def __init__(self, warehouse: Warehouse):
        self.warehouse = warehouse
        self._lock = threading.RLock()
        for name in self.GUARDED:
            method = getattr(warehouse, name, None)
            if method is not None:
                setattr(warehouse, name, self._guard(name, method))

    def _guard(self, name, method):
        lock = self._lock

        def guarded(*args, **kwargs):
            if not lock._is_owned():
                raise RuntimeError(f"Warehouse.{name} called without holding the app's warehouse lock (use ctx.access.use())")
            return method(*args, **kwargs)

        guarded.__wrapped__ = method
        return guarded

    @contextmanager
    def use(self) -> Iterator[Warehouse]:
        with self._lock:
            yield self.warehouse

    def close(self) -> None:
        with self._lock:
            self.warehouse.close()


@dataclass
class MapLayout:
    """The territories a level's map draws, in one fixed order (by code), with a label point for each.

    The map's values travel as arrays aligned to `codes` (`/api/map/values`), so that a value costs a number, not a
    code and a name; `lon`/`lat` place each territory's proportional circle (`ST_PointOnSurface` of its contour:
    always inside it, unlike a centroid); `bounds` frame the map before any value arrives; `version` names the
    order (a hash of the codes), for the client to check that arrays and order match.
    """

    level: str
    cog: int
    codes: list[str]
    lon: list[float | None]
    lat: list[float | None]
    bounds: tuple[float, float, float, float] | None
    version: str = ""
    position: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.position = {code: i for i, code in enumerate(self.codes)}
        if not self.version:
            self.version = hashlib.sha256("\n".join(self.codes).encode("utf-8")).hexdigest()[:16]


class AppContext:
    """The warehouse, its engine (one per app, built once) and the facts read once from them.

    Every cached property is computed under the warehouse lock on first use; afterwards reading it needs no lock.
    """

    def __init__(self, url: str):
        self.url = url
        self.access = WarehouseAccess(open_read_only(url))
        self._engine: Engine | None = None
        self._engine_error: str | None = None
        with self.access.use() as wh:
            try:
                self._engine = Engine(wh)
            except VigieError as exc:  # no cube yet: the warehouse endpoints still work
                self._engine_error = exc.message
        self.tiles = None  # the tile builder, set by `tiles.router`
        self.closing = threading.Event()
        self.prepared = threading.Event()  # set when `warm` has finished
        self._layouts: dict[str, MapLayout] = {}
        self.warm_hooks: list[Callable[[], None]] = []  # more to prepare at start-up, after the tiles (routers add them)
        self._layout_lock = threading.Lock()

    # ------------------------------------------------------------------ engine
    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise ServiceUnavailable(self._engine_error or "Le cube d'indicateurs n'est pas construit : lancez « vigie build ».")
        return self._engine

    @property
    def has_engine(self) -> bool:
        return self._engine is not None

    def close(self) -> None:
        if self.tiles is not None:
            self.tiles.close()
        self.access.close()

    # ------------------------------------------------------------------ territories
    @cached_property
    def level_cogs(self) -> dict[str, int]:
        """The COG used for each level: its latest one not after the cube's (else its latest)."""
        return self._latest_cogs("territory")

    @cached_property
    def geometry_levels(self) -> dict[str, int]:
        """Levels that have contours, with the COG used for them (chosen as in `level_cogs`)."""
        return self._latest_cogs("territory_geometry")

    def _latest_cogs(self, table: str) -> dict[str, int]:
        target = self._engine.cog if self._engine is not None else 999_999
        with self.access.use() as wh:
            rows = wh.query(
                f"SELECT level, coalesce(max(CASE WHEN cog <= ? THEN cog END), max(cog)) FROM {table} "
                "GROUP BY level ORDER BY level",
                (target,),
            )
        return {level: int(cog) for level, cog in rows}

    @cached_property
    def names(self) -> dict[tuple[str, str], str]:
        """Name of every current territory by (level, code), at the COG of its level (`level_cogs`)."""
        cogs = self.level_cogs
        with self.access.use() as wh:
            rows = wh.query("SELECT level, code, name, cog FROM territory ORDER BY level, code")
        return {(level, code): name for level, code, name, cog in rows if cogs.get(level) == int(cog)}

    @cached_property
    def levels(self) -> list[str]:
        return sorted(self.level_cogs)

    def check_level(self, level: str, hidden: frozenset[str] | set[str] = frozenset()) -> str:
        """The level, or a French 404 (also for a level `hidden` from the viewer, with the same message, listing
        only the levels the viewer sees)."""
        if level not in self.levels or level in hidden:
            shown = [lv for lv in self.levels if lv not in hidden]
            raise NotFoundError(f"Niveau inconnu « {level} » : niveaux disponibles : {', '.join(shown)}.")
        return level

    def territory(self, level: str, code: str) -> Territory:
        """The territory (level, code) at the cube's COG, or a French 404."""
        self.check_level(level)
        name = self.names.get((level, code))
        if name is None:
            raise NotFoundError(f"Aucun territoire n'a le code « {code} » au niveau « {level} ».")
        cog = self._engine.cog if self._engine is not None else self.level_cogs[level]
        return Territory(level, code, cog, name)

    @cached_property
    def levels_of_code(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for level, code in self.names:
            out.setdefault(code, []).append(level)
        return {code: sorted(levels) for code, levels in out.items()}

    def find(self, code: str) -> Territory:
        """A territory by its code alone (any level); 409 when the code names territories at several levels."""
        levels = self.levels_of_code.get(code, [])
        if not levels:
            raise NotFoundError(f"Aucun territoire n'a le code « {code} ».")
        if len(levels) > 1:
            raise AmbiguousCodeError(
                f"Le code « {code} » désigne des territoires de plusieurs niveaux ({', '.join(levels)}) : "
                "écrivez NIVEAU:CODE, par exemple « " + f"{levels[0]}:{code} »."
            )
        return self.territory(levels[0], code)

    @cached_property
    def memberships(self) -> "Memberships":
        """Memberships at the cube's COG, in memory: parents and child counts of every territory."""
        engine = self.engine
        with self.access.use() as wh:
            rows = wh.query(
                "SELECT child_level, child_code, parent_level, parent_code, weight FROM membership WHERE cog = ? "
                "ORDER BY parent_level, parent_code",
                (engine.cog,),
            )
        return Memberships(rows, self.names)

    @cached_property
    def search_index(self):
        from vigie.publish.search import SearchIndex

        return SearchIndex(self.names)

    def warm(self) -> None:
        """Compute now what the first requests would otherwise wait for (run in a thread when the app starts):
        lookups, the in-memory cube, then each level's tile geometries. Stops early when the app is closing."""
        self.names, self.search_index, self.geometry_levels
        if self.has_engine:
            self.memberships, self.cube_index, self.indicator_years, self.vintage_labels
            import mapclassify  # noqa: F401  (a slow first import, done here rather than in a request)
        levels = sorted(self.geometry_levels, key=lambda lv: (lv != "commune", lv))
        for level in levels:
            if self.closing.is_set():
                return
            self.map_layout(level)
        for level in levels:
            if self.closing.is_set() or self.tiles is None:
                return
            self.tiles.prepare(level)
        for level in levels:
            if self.closing.is_set():
                return
            self.tiles.prerender(level, stop=self.closing)
        for hook in self.warm_hooks:
            if self.closing.is_set():
                return
            hook()
        self.prepared.set()

    @cached_property
    def default_map_indicator(self) -> str | None:
        """The map's indicator when the address names none: the first key rate of the catalogue mapped at commune
        level (else the first indicator with values at a level that has contours)."""
        if not self.has_engine:
            return None
        years = self.indicator_years
        mapped = set(self.geometry_levels)
        found = [d for d in self.engine.catalogue.values() if mapped & set(years.get(d.id, {}))]
        best = next((d for d in found if d.key and d.kind != "stock" and "commune" in years.get(d.id, {})), None)
        best = best or (found[0] if found else None)
        return best.id if best else None

    def map_layout(self, level: str, hidden: frozenset[str] = frozenset()) -> MapLayout:
        """The order, label points and extent of the territories the map draws at `level` (built once); a level
        `hidden` from the viewer answers as an unknown one."""
        found = self._layouts.get(level)
        if found is not None and level not in hidden:
            return found
        if level not in self.geometry_levels or level in hidden:
            self.check_level(level, hidden)
            shown = sorted(lv for lv in self.geometry_levels if lv not in hidden)
            raise NotFoundError(
                f"Le niveau « {level} » n'a pas de contours dans l'entrepôt (niveaux avec contours : "
                f"{', '.join(shown) or 'aucun'})."
            )
        with self._layout_lock:
            if level not in self._layouts:
                self._layouts[level] = self._build_layout(level)
            return self._layouts[level]

    def _build_layout(self, level: str) -> MapLayout:
        import numpy as np
        import shapely

        cog = self.geometry_levels[level]
        with self.access.use() as wh:
            rows = wh.query(
                "SELECT code, ST_AsBinary(geom_web) FROM territory_geometry WHERE level = ? AND cog = ? ORDER BY code",
                (level, cog),
            )
        codes = [str(r[0]) for r in rows]
        geoms = shapely.from_wkb([bytes(r[1]) if r[1] is not None else None for r in rows])
        try:
            points = shapely.point_on_surface(geoms)
        except shapely.errors.GEOSException:  # an invalid contour: repaired first
            points = shapely.point_on_surface(shapely.make_valid(geoms))
        xy = shapely.get_coordinates(points, include_z=False) if len(points) else np.empty((0, 2))
        present = ~(shapely.is_missing(points) | shapely.is_empty(points))
        lon: list[float | None] = [None] * len(codes)
        lat: list[float | None] = [None] * len(codes)
        for i, (x, y) in zip(np.flatnonzero(present).tolist(), np.round(xy, 5).tolist()):
            lon[i], lat[i] = x, y
        total = shapely.total_bounds(geoms) if len(geoms) else None
        bounds = None if total is None or not np.isfinite(total).all() else tuple(round(float(v), 5) for v in total)
        return MapLayout(level, int(cog), codes, lon, lat, bounds)

    @cached_property
    def cube_index(self):
        """The in-memory copy of the cube (see `cube_index`), or None when the cube is too big for it."""
        from vigie.publish.cube_index import CubeIndex

        engine = self.engine
        with self.access.use() as wh:
            index = CubeIndex(wh, engine.cog)
        return index if index.enabled else None

    # ------------------------------------------------------------------ indicators
    @cached_property
    def indicator_years(self) -> dict[str, dict[str, list[int]]]:
        """Years of each indicator in the cube, per level: {indicator: {level: [years]}}."""
        engine = self.engine
        with self.access.use() as wh:
            rows = wh.query(
                "SELECT DISTINCT indicator, level, year FROM cube WHERE cog = ? ORDER BY indicator, level, year",
                (engine.cog,),
            )
        out: dict[str, dict[str, list[int]]] = {}
        for indicator, level, year in rows:
            out.setdefault(indicator, {}).setdefault(level, []).append(int(year))
        return out

    def years(self, indicator: str, level: str | None = None) -> list[int]:
        by_level = self.indicator_years.get(indicator, {})
        if level is not None:
            return list(by_level.get(level, []))
        return sorted({y for years in by_level.values() for y in years})

    @cached_property
    def vintage_labels(self) -> dict[str, str | None]:
        """Vintage templates of the base variables ("population légale {year}, en vigueur au 1er janvier {year+3}")."""
        with self.access.use() as wh:
            return {r[0]: r[1] for r in wh.query("SELECT id, vintage_label FROM indicator")}

    def vintage_text(self, indicator: str, year: int) -> str:
        from vigie.formatting import vintage_words

        definition = self.engine.indicator(indicator)
        variable = definition.variable or definition.numerator
        return vintage_words(self.vintage_labels.get(variable), year)

    @cached_property
    def indicator_sources(self) -> dict[str, list[dict]]:
        """The imported sources that feed each catalogue indicator (title, producer, vintage, licence, synthetic)."""
        engine = self.engine
        variables = sorted({v for d in engine.catalogue.values() for v in d.inputs})
        if not variables:
            return {}
        with self.access.use() as wh:
            rows = wh.query(
                "SELECT DISTINCT v.indicator, s.title, s.producer, s.vintage, s.licence, s.synthetic "
                "FROM (SELECT DISTINCT indicator, source_id FROM value WHERE indicator IN ("
                + ", ".join("?" * len(variables)) + ")) v JOIN source s ON s.id = v.source_id "
                "ORDER BY v.indicator, s.title",
                variables,
            )
        by_variable: dict[str, list[dict]] = {}
        for variable, title, producer, vintage, licence, synthetic in rows:
            by_variable.setdefault(variable, []).append({
                "title": title, "producer": producer, "vintage": vintage, "licence": licence, "synthetic": bool(synthetic),
            })
        out: dict[str, list[dict]] = {}
        for d in engine.catalogue.values():
            seen, merged = set(), []
            for variable in d.inputs:
                for src in by_variable.get(variable, []):
                    key = (src["title"], src["producer"], src["vintage"])
                    if key not in seen:
                        seen.add(key)
                        merged.append(src)
            out[d.id] = merged
        return out


    # ------------------------------------------------------------------ visibility (issue 9)
    @cached_property
    def object_datasets(self) -> dict[str, dict[str, frozenset[str]]]:
        """The imported datasets (`source.dataset`) behind each object the visibility rule names:
        {"indicator": {id: datasets of its values and series}, "layer": {id: {dataset}},
        "level": {level: datasets of its territories at the level's COG}}. Read once (the warehouse is read-only)."""
        out: dict[str, dict[str, set[str]]] = {"indicator": {}, "layer": {}, "level": {}}
        with self.access.use() as wh:
            queries = {
                "indicator": "SELECT DISTINCT x.indicator, s.dataset FROM (SELECT DISTINCT indicator, source_id FROM value "
                             "UNION SELECT DISTINCT indicator, source_id FROM series) x JOIN source s ON s.id = x.source_id",
                "layer": "SELECT l.id, s.dataset FROM layer l JOIN source s ON s.id = l.source_id",
                "level": "SELECT DISTINCT t.level, t.cog, s.dataset FROM territory t JOIN source s ON s.id = t.source_id",
            }
            rows = {kind: wh.query(sql) for kind, sql in queries.items()}
        for object_id, dataset in rows["indicator"]:
            out["indicator"].setdefault(object_id, set()).add(dataset)
        for object_id, dataset in rows["layer"]:
            out["layer"].setdefault(object_id, set()).add(dataset)
        cogs = self.level_cogs
        for level, cog, dataset in rows["level"]:
            if cogs.get(level) == int(cog):
                out["level"].setdefault(level, set()).add(dataset)
        return {kind: {k: frozenset(v) for k, v in found.items()} for kind, found in out.items()}

    def check_layer(self, layer_id: str, seen: "Hidden", listing: bool = True) -> str:
        """The layer id, or the same French 404 whether the layer does not exist or is hidden from the viewer
        (`listing`: the message names the layers the viewer sees)."""
        layers = self.object_datasets["layer"]
        if layer_id not in layers or layer_id in seen.layers:
            known = [k for k in sorted(layers) if k not in seen.layers]
            shown = f" (couches : {', '.join(known) or 'aucune'})" if listing else ""
            raise NotFoundError(f"La couche « {layer_id} » n'existe pas dans l'entrepôt{shown}.")
        return layer_id

    def hidden(self, viewer, rules) -> "Hidden":
        """What `viewer` may not see, by the ONE rule (`vigie.access.policy.Rules`), in the shapes the endpoints use.

        - a dataset is hidden by its own rule;
        - a layer by its rule or its dataset's; a level (its territories, contours, tiles) when every dataset its
          territories come from is hidden;
        - a warehouse indicator by its rule or when ANY dataset of its values is hidden (its rows would show it);
        - a catalogue indicator by its rule or when any of its inputs (variable, numerator, denominator) is hidden.
        """
        datasets = frozenset(rules.hidden(viewer, "dataset"))
        found = self.object_datasets
        layers = set(rules.hidden(viewer, "layer"))
        layers |= {k for k, ds in found["layer"].items() if ds & datasets}
        levels = {k for k, ds in found["level"].items() if ds and ds <= datasets}
        indicators = set(rules.hidden(viewer, "indicator"))
        indicators |= {k for k, ds in found["indicator"].items() if ds & datasets}
        if self._engine is not None:
            for definition in self._engine.catalogue.values():
                if any(i in indicators for i in definition.inputs):
                    indicators.add(definition.id)
        return Hidden(datasets, frozenset(layers), frozenset(levels), frozenset(indicators), viewer.authenticated)


@dataclass(frozen=True)
class Hidden:
    """Ids a viewer may not see; `key` names this answer for server-side caches (same key: same visible data)."""

    datasets: frozenset[str] = frozenset()
    layers: frozenset[str] = frozenset()
    levels: frozenset[str] = frozenset()
    indicators: frozenset[str] = frozenset()
    personal: bool = False  # an authenticated viewer: answers may hold what the public does not see

    @property
    def key(self) -> tuple:
        return (self.datasets, self.layers, self.levels, self.indicators)

    @property
    def cache_control(self) -> str:
        """Cache-Control for an answer that may depend on the viewer: an anonymous viewer's answer holds public data
        only (shared caches may keep it; `Vary: Authorization, Cookie` is added by the app), a logged-in viewer's
        is never stored."""
        return self.private_or("public, max-age=600")

    def private_or(self, public: str) -> str:
        return "private, no-store" if self.personal else public

    def indicator(self, indicator_id: str, message: str) -> None:
        if indicator_id in self.indicators:
            raise NotFoundError(message)

    def layer(self, layer_id: str, message: str) -> None:
        if layer_id in self.layers:
            raise NotFoundError(message)

    def level(self, level: str, message: str) -> None:
        if level in self.levels:
            raise NotFoundError(message)


def visible(request: Request) -> Hidden:
    """FastAPI dependency (`Depends(visible)`): what the asking viewer may not see (see `AppContext.hidden`), once
    per request. Raises 401 for an unknown, revoked or expired token."""
    found = getattr(request.state, "vigie_hidden", None)
    if found is None:
        from vigie.access.service import rules, viewer

        found = request.app.state.context.hidden(viewer(request), rules(request))
        request.state.vigie_hidden = found
    return found


def check_export(request: Request, kind: str, ids: list[str], what: dict) -> None:
    """Before sending an export of objects `ids` of `kind` ("indicator" or "layer") that the viewer sees: refuse
    (403) a token without the `export` scope when one of them is not public, and write the export of non-public
    objects to the audit log (who, which objects, what was asked)."""
    from vigie.access import audit
    from vigie.access.policy import ANONYMOUS
    from vigie.access.service import ForbiddenError, client_ip, rules, service_for, viewer

    ctx = request.app.state.context
    me = viewer(request)
    public = ctx.hidden(ANONYMOUS, rules(request))
    closed = public.indicators if kind == "indicator" else public.layers
    restricted = [i for i in ids if i in closed]
    if not restricted:
        return
    if not me.has_scope("export"):
        raise ForbiddenError("Export refusé : ce jeton d'accès n'a pas la portée « export » nécessaire pour exporter "
                             "des données non publiques.")
    store = service_for(ctx).store
    for object_id in restricted:
        audit.record(store, "export", login=me.login, ip=client_ip(request), object_kind=kind, object_id=object_id,
                     outcome="ok", detail=what)


class Memberships:
    """Parents (with weights), communes and child counts of territories, from the membership rows of one COG."""

    def __init__(self, rows: list[tuple], names: dict[tuple[str, str], str]):
        self._parents: dict[tuple[str, str], list[tuple[str, str, str | None, float]]] = {}
        self._children: dict[tuple[str, str], dict[str, int]] = {}
        self._communes: dict[tuple[str, str], list[str]] = {}
        for child_level, child_code, parent_level, parent_code, weight in rows:
            self._parents.setdefault((child_level, child_code), []).append(
                (parent_level, parent_code, names.get((parent_level, parent_code)), float(weight)))
            counts = self._children.setdefault((parent_level, parent_code), {})
            counts[child_level] = counts.get(child_level, 0) + 1
            if child_level == "commune":
                self._communes.setdefault((parent_level, parent_code), []).append(child_code)

    def communes(self, level: str, code: str) -> list[str]:
        return self._communes.get((level, code), [])

    def parents(self, level: str, code: str) -> list[tuple[str, str, str | None, float]]:
        """(level, code, name, weight) of the territories containing this one, sorted by level and code."""
        return sorted(self._parents.get((level, code), []))

    def children(self, level: str, code: str) -> dict[str, int]:
        return dict(sorted(self._children.get((level, code), {}).items()))
