"""PostgreSQL/PostGIS backend: the shared, multi-user warehouse.

Same schema and same query API as DuckDB. Bulk loads go through COPY, geometries as hexadecimal EWKB that
PostGIS parses on input.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import pandas as pd
import psycopg
import shapely

from vigie.errors import ConfigurationError
from vigie.warehouse.base import Warehouse
from vigie.warehouse.schema import GEOMETRY_COLUMNS

_PLACEHOLDER = re.compile(r"\?")


def _adapt(sql: str) -> str:
    """`?` placeholders to psycopg's `%s` (a literal `%` is doubled first)."""
    return _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))


class PostgresWarehouse(Warehouse):
    backend = "postgres"

    def __init__(self, url: str):
        super().__init__(url)
        try:
            self.con = psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise ConfigurationError(f"Connexion impossible à la base PostgreSQL « {url} » : {exc}") from exc
        self.con.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.con.execute(_adapt(sql), list(params) or None)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        cur = self.con.execute(_adapt(sql), list(params) or None)
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in cur.fetchall()]

    def query_df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        cur = self.con.execute(_adapt(sql), list(params) or None)
        cols = [d.name for d in cur.description]
        rows = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in cur.fetchall()]
        return pd.DataFrame(rows, columns=cols)

    def insert_frame(self, table: str, frame: pd.DataFrame) -> int:
        if frame.empty:
            return 0
        geo = GEOMETRY_COLUMNS.get(table, {})
        staged = pd.DataFrame(frame).copy()
        for col, srid in geo.items():
            geoms = shapely.set_srid(staged[col].to_numpy(), srid)
            staged[col] = shapely.to_wkb(geoms, hex=True, include_srid=True)
        cols = list(staged.columns)
        for col in self._integer_columns(table) & set(cols):
            if staged[col].dtype.kind == "f":  # pandas turns integer columns with gaps into floats: COPY wants 5, not 5.0
                staged[col] = staged[col].astype("Int64")
        staged = staged.astype(object).where(staged.notna(), None)
        with self.con.cursor() as cur:
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in staged.itertuples(index=False, name=None):
                    copy.write_row(row)
        return len(staged)

    def _integer_columns(self, table: str) -> set[str]:
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "AND data_type IN ('integer', 'bigint', 'smallint')", (table,)).fetchall()
        return {r[0] for r in rows}

    def _begin(self) -> None:
        self.con.execute("BEGIN")

    def _commit(self) -> None:
        self.con.execute("COMMIT")

    def _rollback(self) -> None:
        self.con.execute("ROLLBACK")

    def geometry_type(self, srid: int) -> str:
        return f"geometry(Geometry, {srid})"

    def wkb_hex_sql(self, column: str) -> str:
        return f"upper(encode(ST_AsBinary({column}), 'hex'))"

    def analyze(self, *tables: str) -> None:
        for table in tables:
            self.con.execute(f"ANALYZE {table}")

    def close(self) -> None:
        self.con.close()


def check_url(url: str) -> None:
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigurationError(f"Adresse PostgreSQL invalide : « {url} ».")
