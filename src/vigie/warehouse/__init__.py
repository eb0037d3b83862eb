"""The warehouse: schema, backends (DuckDB by default, PostgreSQL/PostGIS when shared) and query API."""

from __future__ import annotations

from vigie.settings import database_url
from vigie.warehouse.base import Territory, Warehouse

__all__ = ["Territory", "Warehouse", "connect"]


def connect(url: str | None = None, *, create: bool = True, read_only: bool = False) -> Warehouse:
    """Open the warehouse at `url` (default: `VIGIE_DATABASE`, else `./vigie.duckdb`).

    >>> wh = connect(":memory:")
    >>> wh.backend
    'duckdb'
    """
    url = url or database_url()
    if url.startswith(("postgresql://", "postgres://")):
        from vigie.warehouse.postgres_backend import PostgresWarehouse

        wh: Warehouse = PostgresWarehouse(url)
    else:
        from vigie.warehouse.duckdb_backend import DuckDBWarehouse

        wh = DuckDBWarehouse(url, read_only=read_only)
    if create and not read_only:
        wh.init_schema()
    return wh
