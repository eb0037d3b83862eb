"""The warehouse: one Python API over DuckDB (a file) or PostgreSQL/PostGIS (shared).

SQL is written once with `?` placeholders; each backend adapts connection details, bulk loading and the few
spatial spellings that differ. Geometries travel as shapely objects in and WKB out.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import pandas as pd

from vigie.errors import AmbiguousCodeError, NotFoundError
from vigie.warehouse.schema import GEOMETRY_COLUMNS, SCHEMA_VERSION, TABLES


@dataclass(frozen=True)
class Territory:
    """A territory at one geography vintage (COG)."""

    level: str
    code: str
    cog: int
    name: str


class Warehouse(ABC):
    """Common query API. Subclasses provide the connection-level primitives."""

    backend: str = ""

    def __init__(self, url: str):
        self.url = url
        self._depth = 0

    # ------------------------------------------------------------------ primitives (per backend)
    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...

    @abstractmethod
    def query_df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame: ...

    @abstractmethod
    def insert_frame(self, table: str, frame: pd.DataFrame) -> int:
        """Append `frame` to `table` (columns by name); geometry columns hold shapely objects."""

    @abstractmethod
    def _begin(self) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _rollback(self) -> None: ...

    @abstractmethod
    def geometry_type(self, srid: int) -> str: ...

    @abstractmethod
    def wkb_hex_sql(self, column: str) -> str:
        """SQL expression giving the hexadecimal WKB of a geometry column (for digests)."""

    @abstractmethod
    def close(self) -> None: ...

    def analyze(self, *tables: str) -> None:
        """Refresh the planner's statistics of freshly filled tables (PostgreSQL never analyses temp tables)."""

    # ------------------------------------------------------------------ transactions and schema
    @contextmanager
    def transaction(self) -> Iterator["Warehouse"]:
        """All-or-nothing block. Nested blocks join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._begin()
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self._rollback()
            raise
        self._depth = 0
        self._commit()

    def init_schema(self) -> None:
        """Create the tables when they do not exist yet (idempotent)."""
        with self.transaction():
            for table, ddl in TABLES.items():
                body = ddl.format(geom=self.geometry_type(2154), geom_web=self.geometry_type(4326))
                self.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
            self.execute(
                "INSERT INTO meta (key, value) SELECT 'schema_version', ? "
                "WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'schema_version')",
                (str(SCHEMA_VERSION),),
            )

    def existing_tables(self, names: Sequence[str]) -> set[str]:
        """Which of the tables `names` exist."""
        marks = ", ".join("?" * len(names))
        rows = self.query(f"SELECT table_name FROM information_schema.tables WHERE table_name IN ({marks})", list(names))
        return {r[0] for r in rows}

    def ensure_tables(self, tables: dict[str, str]) -> None:
        """Create the missing tables among `tables` (name -> column definitions, where `{geom}` and `{geom_web}`
        stand for the Lambert-93 and WGS84 geometry types): how analysis modules add their own tables, on first use.
        Idempotent; nothing is written when they all exist."""
        missing = [t for t in tables if t not in self.existing_tables(list(tables))]
        if not missing:
            return
        with self.transaction():
            for table in missing:
                body = tables[table].format(geom=self.geometry_type(2154), geom_web=self.geometry_type(4326))
                self.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body})")

    def delete_sources(self, tables: Sequence[str], source_ids: Sequence[int]) -> None:
        """Remove what the given imports wrote in `tables` (rows carry `source_id`), inside the caller's transaction."""
        if not source_ids:
            return
        marks = ", ".join("?" * len(source_ids))
        for table in tables:
            self.execute(f"DELETE FROM {table} WHERE source_id IN ({marks})", list(source_ids))

    def is_initialised(self) -> bool:
        try:
            return bool(self.query("SELECT value FROM meta WHERE key = 'schema_version'"))
        except Exception:
            return False

    def table_columns(self, table: str) -> list[str]:
        rows = self.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            (table,),
        )
        return [r[0] for r in rows]

    def digest(self) -> str:
        """A SHA-256 of the whole content, in a canonical order: equal digests mean equal warehouses."""
        h = hashlib.sha256()
        for table in TABLES:
            cols = self.table_columns(table)
            geo = GEOMETRY_COLUMNS.get(table, {})
            select = ", ".join(self.wkb_hex_sql(c) if c in geo else c for c in cols)
            order = ", ".join(str(i + 1) for i in range(len(cols)))
            h.update(f"#{table}\n".encode())
            for row in self.query(f"SELECT {select} FROM {table} ORDER BY {order}"):
                h.update(repr(tuple(_canonical(v) for v in row)).encode())
                h.update(b"\n")
        return h.hexdigest()

    def row_counts(self) -> dict[str, int]:
        return {t: self.query(f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}

    # ------------------------------------------------------------------ territorial model
    def cogs(self, level: str | None = None) -> list[int]:
        """Geography vintages for which territories (of `level`) are known, ascending."""
        if level is None:
            rows = self.query("SELECT DISTINCT cog FROM territory ORDER BY cog")
        else:
            rows = self.query("SELECT DISTINCT cog FROM territory WHERE level = ? ORDER BY cog", (level,))
        return [int(r[0]) for r in rows]

    def latest_cog(self, level: str | None = None) -> int:
        cogs = self.cogs(level)
        if not cogs:
            raise NotFoundError("L'entrepôt ne contient aucun territoire : lancez « vigie demo » ou importez un référentiel.")
        return cogs[-1]

    def levels(self) -> list[str]:
        return [r[0] for r in self.query("SELECT DISTINCT level FROM territory ORDER BY level")]

    def territories(self, level: str | None = None, cog: int | None = None, search: str | None = None) -> pd.DataFrame:
        """Territories of a vintage (the latest one of each level by default), sorted by level and code."""
        where, params = [], []
        if level is not None:
            where.append("t.level = ?")
            params.append(level)
        if cog is not None:
            where.append("t.cog = ?")
            params.append(cog)
        else:
            where.append("t.cog = (SELECT max(cog) FROM territory t2 WHERE t2.level = t.level)")
        if search:
            where.append("(lower(t.name) LIKE ? OR t.code LIKE ?)")
            params += [f"%{search.lower()}%", f"{search}%"]
        sql = (
            "SELECT t.level, t.code, t.name, t.cog FROM territory t WHERE "
            + " AND ".join(where)
            + " ORDER BY t.level, t.code"
        )
        return self.query_df(sql, params)

    def find_territory(self, code: str, level: str | None = None, cog: int | None = None) -> Territory:
        """The territory with this code (at its latest vintage unless `cog` is given)."""
        params: list[Any] = [code]
        sql = "SELECT level, code, cog, name FROM territory WHERE code = ?"
        if level:
            sql += " AND level = ?"
            params.append(level)
        if cog is not None:
            sql += " AND cog = ?"
            params.append(cog)
        rows = self.query(sql + " ORDER BY level, cog DESC", params)
        if not rows:
            raise NotFoundError(f"Aucun territoire n'a le code « {code} »" + (f" au niveau « {level} »" if level else "") + ".")
        found_levels = sorted({r[0] for r in rows})
        if len(found_levels) > 1:
            raise AmbiguousCodeError(
                f"Le code « {code} » désigne des territoires de plusieurs niveaux ({', '.join(found_levels)}) : "
                "précisez le niveau."
            )
        level_, code_, cog_, name = rows[0]
        return Territory(level_, code_, int(cog_), name)

    def members(self, parent: Territory, child_level: str = "commune", cog: int | None = None) -> pd.DataFrame:
        """Children of `child_level` in `parent` at `cog` (parent's vintage by default), with their weights."""
        cog = parent.cog if cog is None else cog
        return self.query_df(
            "SELECT m.child_code AS code, t.name, m.weight FROM membership m "
            "LEFT JOIN territory t ON t.level = m.child_level AND t.code = m.child_code AND t.cog = m.cog "
            "WHERE m.cog = ? AND m.parent_level = ? AND m.parent_code = ? AND m.child_level = ? "
            "ORDER BY m.child_code",
            (cog, parent.level, parent.code, child_level),
        )

    def parents(self, territory: Territory, cog: int | None = None) -> pd.DataFrame:
        """Every territory that contains `territory` at `cog`, with the weight of the membership."""
        cog = territory.cog if cog is None else cog
        return self.query_df(
            "SELECT m.parent_level AS level, m.parent_code AS code, t.name, m.weight FROM membership m "
            "LEFT JOIN territory t ON t.level = m.parent_level AND t.code = m.parent_code AND t.cog = m.cog "
            "WHERE m.cog = ? AND m.child_level = ? AND m.child_code = ? ORDER BY m.parent_level, m.parent_code",
            (cog, territory.level, territory.code),
        )

    def passages(self, cog_from: int, cog_to: int) -> pd.DataFrame:
        """Commune code changes between two consecutive vintages."""
        return self.query_df(
            "SELECT code_from, code_to, change, weight FROM passage WHERE cog_from = ? AND cog_to = ? "
            "ORDER BY code_from, code_to",
            (cog_from, cog_to),
        )

    # ------------------------------------------------------------------ indicators and values
    def indicators(self) -> pd.DataFrame:
        return self.query_df("SELECT * FROM indicator ORDER BY theme, id")

    def indicator(self, indicator_id: str) -> dict[str, Any]:
        df = self.query_df("SELECT * FROM indicator WHERE id = ?", (indicator_id,))
        if df.empty:
            raise NotFoundError(f"L'indicateur « {indicator_id} » n'existe pas dans l'entrepôt.")
        return df.iloc[0].to_dict()

    def values(
        self,
        indicator: str,
        level: str | None = None,
        codes: Sequence[str] | None = None,
        years: Sequence[int] | None = None,
        cog: int | None = None,
    ) -> pd.DataFrame:
        """Stored values with their status and source. Values of masked cells are never returned."""
        where, params = ["v.indicator = ?"], [indicator]
        if level is not None:
            where.append("v.level = ?")
            params.append(level)
        if codes is not None:
            codes = list(codes)
            if not codes:
                return pd.DataFrame(columns=["level", "code", "year", "cog", "value", "status", "source_id", "synthetic"])
            where.append("v.code IN (" + ", ".join("?" * len(codes)) + ")")
            params += codes
        if years is not None:
            years = list(years)
            if not years:
                return pd.DataFrame(columns=["level", "code", "year", "cog", "value", "status", "source_id", "synthetic"])
            where.append("v.year IN (" + ", ".join("?" * len(years)) + ")")
            params += years
        if cog is not None:
            where.append("v.cog = ?")
            params.append(cog)
        sql = (
            "SELECT v.level, v.code, v.year, v.cog, "
            "CASE WHEN v.status = 'secret' THEN NULL ELSE v.value END AS value, "
            "v.status, v.source_id, s.synthetic FROM value v JOIN source s ON s.id = v.source_id WHERE "
            + " AND ".join(where)
            + " ORDER BY v.level, v.code, v.year, v.cog"
        )
        return self.query_df(sql, params)

    def value_years(self, indicator: str, level: str | None = None) -> list[int]:
        sql, params = "SELECT DISTINCT year FROM value WHERE indicator = ?", [indicator]
        if level:
            sql += " AND level = ?"
            params.append(level)
        return [int(r[0]) for r in self.query(sql + " ORDER BY year", params)]

    # ------------------------------------------------------------------ sources and layers
    def sources(self) -> pd.DataFrame:
        return self.query_df(
            "SELECT id, kind, dataset, title, producer, file_name, vintage, licence, sha256, imported_at, rows, synthetic "
            "FROM source ORDER BY id"
        )

    def source(self, source_id: int) -> dict[str, Any]:
        df = self.query_df("SELECT * FROM source WHERE id = ?", (source_id,))
        if df.empty:
            raise NotFoundError(f"Aucune source n'a l'identifiant {source_id}.")
        return df.iloc[0].to_dict()

    def layers(self) -> pd.DataFrame:
        return self.query_df(
            "SELECT l.id, l.label, l.theme, count(f.feature_id) AS features, l.source_id FROM layer l "
            "LEFT JOIN layer_feature f ON f.layer = l.id GROUP BY l.id, l.label, l.theme, l.source_id ORDER BY l.id"
        )

    def layer_features(self, layer: str, web: bool = False):
        """A layer as a GeoDataFrame (Lambert-93, or WGS84 with `web=True`)."""
        import geopandas as gpd
        import shapely

        col = "geom_web" if web else "geom"
        df = self.query_df(
            f"SELECT feature_id, name, commune, properties, ST_AsBinary({col}) AS wkb FROM layer_feature "
            "WHERE layer = ? ORDER BY feature_id",
            (layer,),
        )
        geoms = shapely.from_wkb([bytes(b) for b in df.pop("wkb")]) if len(df) else []
        return gpd.GeoDataFrame(df, geometry=list(geoms), crs=4326 if web else 2154)

    def territory_geometries(self, level: str, cog: int | None = None, web: bool = False):
        """Contours of a level as a GeoDataFrame (code, name, area_km2)."""
        import geopandas as gpd
        import shapely

        cog = self.latest_cog(level) if cog is None else cog
        col = "geom_web" if web else "geom"
        df = self.query_df(
            f"SELECT g.code, t.name, g.area_km2, ST_AsBinary(g.{col}) AS wkb FROM territory_geometry g "
            "JOIN territory t ON t.level = g.level AND t.code = g.code AND t.cog = g.cog "
            "WHERE g.level = ? AND g.cog = ? ORDER BY g.code",
            (level, cog),
        )
        geoms = shapely.from_wkb([bytes(b) for b in df.pop("wkb")]) if len(df) else []
        return gpd.GeoDataFrame(df, geometry=list(geoms), crs=4326 if web else 2154)


def _canonical(v: Any) -> Any:
    """Backend-neutral rendering of a value for digests."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, float):
        return round(v, 9)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v
