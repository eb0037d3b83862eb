"""The barometer's own warehouse tables, in SQL that DuckDB and PostgreSQL both accept.

`baro_series` describes each series (upserted by the imports). `baro_value` keeps EVERY published value with the
date of the release that published it: for a series, territory and quarter, the value of the latest release is
the current one, the earlier ones are its revisions. Rows carry the `source_id` of the import that wrote them;
an import is identified by its kind, its release date and its file name, so a newer release is a new source that
never erases what earlier releases published, while re-importing the same release replaces it.
"""

from __future__ import annotations

from vigie.warehouse import Warehouse

TABLES: dict[str, str] = {
    "baro_series": """
        id VARCHAR PRIMARY KEY,
        label VARCHAR NOT NULL,
        theme VARCHAR NOT NULL,
        unit VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        numerator VARCHAR,
        denominator VARCHAR,
        factor DOUBLE PRECISION,
        decimals INTEGER NOT NULL,
        flow BOOLEAN NOT NULL,
        visible BOOLEAN NOT NULL,
        position INTEGER NOT NULL,
        definition VARCHAR,
        producer VARCHAR NOT NULL
    """,
    "baro_value": """
        series VARCHAR NOT NULL,
        level VARCHAR NOT NULL,
        code VARCHAR NOT NULL,
        period VARCHAR NOT NULL,
        value DOUBLE PRECISION,
        status VARCHAR NOT NULL,
        release DATE NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (series, level, code, period, source_id)
    """,
}

SERIES_COLUMNS = ["id", "label", "theme", "unit", "kind", "numerator", "denominator", "factor", "decimals", "flow",
                  "visible", "position", "definition", "producer"]
VALUE_COLUMNS = ["series", "level", "code", "period", "value", "status", "release"]


def existing_tables(wh: Warehouse) -> set[str]:
    return wh.existing_tables(list(TABLES))


def ensure_schema(wh: Warehouse) -> None:
    """Create the tables when they do not exist yet (idempotent)."""
    wh.ensure_tables(TABLES)


def has_schema(wh: Warehouse) -> bool:
    return "baro_value" in existing_tables(wh)


def require_schema(wh: Warehouse) -> None:
    """For readers (a read-only warehouse included): no table means no series was ever imported."""
    from vigie.errors import NotFoundError

    if not has_schema(wh):
        raise NotFoundError("L'entrepôt ne contient aucune série du baromètre : importez-en une "
                            "(« vigie import chomage-ze … ») ou lancez « vigie demo ».")
