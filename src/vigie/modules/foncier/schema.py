"""The economic-land atlas tables, in SQL that DuckDB and PostgreSQL both accept, created on first use.

They sit beside the core schema (`vigie.warehouse.schema`). Geometries are Lambert-93 (`geom`, EPSG:2154) with a
simplified WGS84 copy for maps (`geom_web`), like `territory_geometry`; they are registered in the core
`GEOMETRY_COLUMNS` so that `Warehouse.insert_frame` converts them on both backends.

Every imported row carries the `source_id` of its import: a new import of the same file replaces exactly what the
previous one wrote. The status history (`foncier_status_change`) is the exception: it is never deleted nor
updated; the current status of a plot or zone is its last change (by date, then by sequence number).
"""

from __future__ import annotations

from vigie.warehouse import Warehouse
from vigie.warehouse.schema import GEOMETRY_COLUMNS

TABLES: dict[str, str] = {
    # CNIG POLE-ECO: a group of sites (centroid only).
    "foncier_pole": """
        pole_id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        vocation VARCHAR NOT NULL,
        surface_ha DOUBLE PRECISION,
        reach VARCHAR,
        identified_on DATE,
        updated_on DATE,
        properties VARCHAR NOT NULL,
        geom {geom} NOT NULL,
        geom_web {geom_web} NOT NULL,
        source_id INTEGER NOT NULL
    """,
    # CNIG SITE-ECO: the activity zone (ZAE). Areas in hectares as the file gives them.
    "foncier_site": """
        site_id VARCHAR PRIMARY KEY,
        pole_id VARCHAR,
        name VARCHAR NOT NULL,
        site_type VARCHAR NOT NULL,
        vocation VARCHAR NOT NULL,
        state VARCHAR NOT NULL,
        commune VARCHAR NOT NULL,
        epci VARCHAR NOT NULL,
        gross_ha DOUBLE PRECISION NOT NULL,
        usable_ha DOUBLE PRECISION NOT NULL,
        available_ha DOUBLE PRECISION,
        project_ha DOUBLE PRECISION,
        identified_on DATE,
        updated_on DATE,
        properties VARCHAR NOT NULL,
        geom {geom} NOT NULL,
        geom_web {geom_web} NOT NULL,
        source_id INTEGER NOT NULL
    """,
    # CNIG TERRAIN-ECO: a plot (unité foncière) of a site.
    "foncier_plot": """
        plot_id VARCHAR PRIMARY KEY,
        site_id VARCHAR NOT NULL,
        cadastre VARCHAR,
        gross_ha DOUBLE PRECISION NOT NULL,
        usable BOOLEAN,
        land_control VARCHAR NOT NULL,
        development_stage VARCHAR NOT NULL,
        sale_stage VARCHAR NOT NULL,
        occupancy VARCHAR NOT NULL,
        land_use VARCHAR NOT NULL,
        updated_on DATE,
        properties VARCHAR NOT NULL,
        geom {geom} NOT NULL,
        geom_web {geom_web} NOT NULL,
        source_id INTEGER NOT NULL
    """,
    # Establishments, from a CNIG ETABLISSEMENT file or from SIRENE + its geolocation. `published` is false for
    # SIRENE partial diffusion (statutDiffusionEtablissement = P): the row only feeds aggregates.
    "foncier_establishment": """
        siret VARCHAR PRIMARY KEY,
        siren VARCHAR NOT NULL,
        name VARCHAR,
        naf VARCHAR NOT NULL,
        headcount_code VARCHAR,
        commune VARCHAR,
        active BOOLEAN NOT NULL,
        published BOOLEAN NOT NULL,
        created_on DATE,
        site_id VARCHAR,
        plot_id VARCHAR,
        origin VARCHAR NOT NULL,
        properties VARCHAR,
        geom {geom},
        source_id INTEGER NOT NULL
    """,
    # PLU/PLUi zoning in the CNIG/GPU ZONE_URBA format.
    "foncier_plu_zone": """
        zone_id VARCHAR PRIMARY KEY,
        idurba VARCHAR,
        label VARCHAR NOT NULL,
        long_label VARCHAR,
        zone_type VARCHAR NOT NULL,
        destination VARCHAR,
        commune VARCHAR,
        approved_on DATE,
        valid_on DATE,
        economic BOOLEAN NOT NULL,
        properties VARCHAR NOT NULL,
        geom {geom} NOT NULL,
        geom_web {geom_web} NOT NULL,
        source_id INTEGER NOT NULL
    """,
    # Status history: one row per change, never updated nor deleted. `object_kind`: plot or site; `field`: the
    # CNIG field whose value changed (terr_stade_comm, terr_etat_occup, site_etat…).
    "foncier_status_change": """
        seq INTEGER PRIMARY KEY,
        object_kind VARCHAR NOT NULL,
        object_id VARCHAR NOT NULL,
        field VARCHAR NOT NULL,
        previous VARCHAR,
        value VARCHAR NOT NULL,
        changed_on DATE NOT NULL,
        author VARCHAR NOT NULL,
        note VARCHAR,
        recorded_at TIMESTAMP NOT NULL
    """,
}

# Tables an import replaces (by source_id); the status history is not among them.
SOURCED = ["foncier_pole", "foncier_site", "foncier_plot", "foncier_establishment", "foncier_plu_zone"]

for _table, _ddl in TABLES.items():
    _geo = {}
    if "geom {geom}" in _ddl:
        _geo["geom"] = 2154
    if "geom_web {geom_web}" in _ddl:
        _geo["geom_web"] = 4326
    if _geo:
        GEOMETRY_COLUMNS.setdefault(_table, _geo)


def existing_tables(wh: Warehouse) -> set[str]:
    return wh.existing_tables(list(TABLES))


def ensure_schema(wh: Warehouse) -> None:
    """Create the atlas tables when they do not exist yet (idempotent)."""
    wh.ensure_tables(TABLES)


def has_atlas(wh: Warehouse) -> bool:
    return "foncier_site" in existing_tables(wh)


def require_schema(wh: Warehouse) -> None:
    from vigie.errors import NotFoundError

    if not has_atlas(wh):
        raise NotFoundError("L'entrepôt ne contient aucune donnée du foncier économique : importez un fichier "
                            "« sites économiques » (vigie import cnig-site-eco …) ou lancez la démonstration.")


def delete_sources(wh: Warehouse, tables: list[str], source_ids: list[int]) -> None:
    wh.delete_sources(tables, source_ids)
