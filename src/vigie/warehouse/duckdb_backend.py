"""DuckDB backend: the embedded default warehouse, one file, no server.

The spatial extension ships as a PyPI wheel (`duckdb-extension-spatial`, same version as `duckdb`) and is
loaded from that wheel's files: nothing is downloaded, and auto-install is disabled so that a missing
extension fails loudly instead of reaching for the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import duckdb
import pandas as pd
import shapely

from vigie.errors import ConfigurationError
from vigie.warehouse.base import Warehouse
from vigie.warehouse.schema import GEOMETRY_COLUMNS


def spatial_extension_path() -> Path:
    import duckdb_extension_spatial

    base = Path(duckdb_extension_spatial.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    found = sorted(base.glob("*.duckdb_extension"))
    if not found:
        raise ConfigurationError(
            f"Extension spatiale DuckDB introuvable pour la version {duckdb.__version__} : "
            "installez « duckdb-extension-spatial » de la même version que « duckdb »."
        )
    return found[0]


class DuckDBWarehouse(Warehouse):
    backend = "duckdb"

    def __init__(self, url: str, read_only: bool = False):
        super().__init__(url)
        path = url.removeprefix("duckdb://")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(
            path,
            read_only=read_only,
            config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"},
        )
        self.con.execute(f"LOAD '{spatial_extension_path()}'")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.con.execute(sql, list(params))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()

    def query_df(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        return self.con.execute(sql, list(params)).df()

    def insert_frame(self, table: str, frame: pd.DataFrame) -> int:
        if frame.empty:
            return 0
        geo = GEOMETRY_COLUMNS.get(table, {})
        staged = pd.DataFrame(frame).copy()
        for col in geo:
            staged[col] = shapely.to_wkb(staged[col].to_numpy(), include_srid=False)
        cols = list(staged.columns)
        select = ", ".join(f"ST_GeomFromWKB({c})" if c in geo else c for c in cols)
        self.con.register("_vigie_stage", staged)
        try:
            self.con.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} FROM _vigie_stage")
        finally:
            self.con.unregister("_vigie_stage")
        return len(staged)

    def _begin(self) -> None:
        self.con.execute("BEGIN TRANSACTION")

    def _commit(self) -> None:
        self.con.execute("COMMIT")

    def _rollback(self) -> None:
        self.con.execute("ROLLBACK")

    def geometry_type(self, srid: int) -> str:
        return "GEOMETRY"

    def wkb_hex_sql(self, column: str) -> str:
        return f"hex(ST_AsWKB({column}))"

    def close(self) -> None:
        self.con.close()
