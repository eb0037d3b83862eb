"""The warehouse schema, written once for both backends.

`{geom}` and `{geom_web}` are replaced by each backend's geometry types (Lambert-93 and WGS84). Every fact
table carries the `source_id` of the import that wrote it, so that a figure can always say where it came
from and a re-import can replace exactly what its previous version wrote.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

TABLES: dict[str, str] = {
    "meta": """
        key VARCHAR PRIMARY KEY,
        value VARCHAR NOT NULL
    """,
    "source": """
        id INTEGER PRIMARY KEY,
        kind VARCHAR NOT NULL,
        dataset VARCHAR NOT NULL,
        title VARCHAR NOT NULL,
        producer VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,
        vintage VARCHAR,
        licence VARCHAR,
        sha256 VARCHAR NOT NULL,
        imported_at TIMESTAMP NOT NULL,
        rows INTEGER NOT NULL,
        synthetic BOOLEAN NOT NULL
    """,
    "territory": """
        level VARCHAR NOT NULL,
        code VARCHAR NOT NULL,
        cog INTEGER NOT NULL,
        name VARCHAR NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (level, code, cog)
    """,
    "territory_geometry": """
        level VARCHAR NOT NULL,
        code VARCHAR NOT NULL,
        cog INTEGER NOT NULL,
        area_km2 DOUBLE PRECISION NOT NULL,
        geom {geom} NOT NULL,
        geom_web {geom_web} NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (level, code, cog)
    """,
    "membership": """
        cog INTEGER NOT NULL,
        child_level VARCHAR NOT NULL,
        child_code VARCHAR NOT NULL,
        parent_level VARCHAR NOT NULL,
        parent_code VARCHAR NOT NULL,
        weight DOUBLE PRECISION NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (cog, child_level, child_code, parent_level, parent_code)
    """,
    "passage": """
        cog_from INTEGER NOT NULL,
        cog_to INTEGER NOT NULL,
        code_from VARCHAR NOT NULL,
        code_to VARCHAR NOT NULL,
        change VARCHAR NOT NULL,
        weight DOUBLE PRECISION NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (cog_from, cog_to, code_from, code_to)
    """,
    "indicator": """
        id VARCHAR PRIMARY KEY,
        label VARCHAR NOT NULL,
        theme VARCHAR NOT NULL,
        unit VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        numerator VARCHAR,
        denominator VARCHAR,
        factor DOUBLE PRECISION,
        decimals INTEGER NOT NULL,
        definition VARCHAR,
        secrecy VARCHAR,
        vintage_label VARCHAR
    """,
    "value": """
        indicator VARCHAR NOT NULL,
        level VARCHAR NOT NULL,
        code VARCHAR NOT NULL,
        year INTEGER NOT NULL,
        cog INTEGER NOT NULL,
        value DOUBLE PRECISION,
        status VARCHAR NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (indicator, level, code, year, cog)
    """,
    "series": """
        indicator VARCHAR NOT NULL,
        level VARCHAR NOT NULL,
        code VARCHAR NOT NULL,
        period VARCHAR NOT NULL,
        value DOUBLE PRECISION,
        status VARCHAR NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (indicator, level, code, period)
    """,
    "layer": """
        id VARCHAR PRIMARY KEY,
        label VARCHAR NOT NULL,
        theme VARCHAR NOT NULL,
        source_id INTEGER NOT NULL
    """,
    "layer_feature": """
        layer VARCHAR NOT NULL,
        feature_id VARCHAR NOT NULL,
        name VARCHAR,
        commune VARCHAR,
        properties VARCHAR NOT NULL,
        geom {geom} NOT NULL,
        geom_web {geom_web} NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (layer, feature_id)
    """,
    # Derived tables, rebuilt by `vigie build` from the ones above (no source of their own).
    "cog_map": """
        cog_from INTEGER NOT NULL,
        cog_to INTEGER NOT NULL,
        code_from VARCHAR NOT NULL,
        code_to VARCHAR NOT NULL,
        weight DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (cog_from, cog_to, code_from, code_to)
    """,
    "cube": """
        indicator VARCHAR NOT NULL,
        level VARCHAR NOT NULL,
        code VARCHAR NOT NULL,
        year INTEGER NOT NULL,
        cog INTEGER NOT NULL,
        value DOUBLE PRECISION,
        status VARCHAR NOT NULL,
        numerator DOUBLE PRECISION,
        denominator DOUBLE PRECISION,
        members INTEGER,
        covered INTEGER,
        synthetic BOOLEAN NOT NULL
    """,
}

# Columns holding geometries, per table: they travel as WKB between Python and the database.
GEOMETRY_COLUMNS: dict[str, dict[str, int]] = {
    "territory_geometry": {"geom": 2154, "geom_web": 4326},
    "layer_feature": {"geom": 2154, "geom_web": 4326},
}

# Tables a re-import may replace: every row carries the source_id of the import that wrote it.
SOURCED_TABLES = [t for t, ddl in TABLES.items() if "source_id INTEGER NOT NULL" in ddl]

STATUSES = ("ok", "secret", "fragile", "missing")
