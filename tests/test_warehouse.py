"""The warehouse API and the all-or-nothing import framework, on DuckDB AND on PostgreSQL/PostGIS.

Every test takes `backend_wh` (tests/postgres_cluster.py), so each one runs twice: on a fresh DuckDB file and
on a fresh database of the throwaway PostGIS cluster. Expected values are written out by hand.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box

from vigie.errors import AmbiguousCodeError, ImportValidationError, NotFoundError
from vigie.progress import Reporter
from vigie.sources.base import Batch, Importer, file_digest, run_import
from vigie.sources.readers import parse_numbers, read_csv
from vigie.warehouse import Territory, Warehouse, connect
from vigie.warehouse.schema import SCHEMA_VERSION, TABLES
from tests.support import add_source, seed_communes

DB_ERRORS = (duckdb.Error, psycopg.Error)


def rows(wh: Warehouse, sql: str, params=()) -> list[tuple]:
    return [tuple(v for v in r) for r in wh.query(sql, params)]


def frame(columns: str, data: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(data, columns=columns.split())


def is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


# ------------------------------------------------------------------------------------------ geometries
# Lambert-93 shapes with areas computed by hand, and WGS84 copies for the web.
LENS_L93 = box(690_000, 7_030_000, 692_000, 7_031_000)  # 2 km × 1 km = 2 km²
LENS_WEB = box(2.80, 50.42, 2.85, 50.45)
# Two parts: 1 km × 0.5 km + 0.5 km × 0.5 km = 0.75 km²
EVIN_L93 = MultiPolygon([box(700_000, 7_040_000, 701_000, 7_040_500), box(702_000, 7_040_000, 702_500, 7_040_500)])
EVIN_WEB = MultiPolygon([box(3.00, 50.48, 3.01, 50.49), box(3.02, 50.48, 3.025, 50.49)])
# 3 km × 3 km with a 1 km × 1 km hole: 8 km²
CALL_L93 = Polygon(
    [(680_000, 7_020_000), (683_000, 7_020_000), (683_000, 7_023_000), (680_000, 7_023_000)],
    [[(681_000, 7_021_000), (682_000, 7_021_000), (682_000, 7_022_000), (681_000, 7_022_000)]],
)
CALL_WEB = Polygon(
    [(2.70, 50.40), (2.90, 50.40), (2.90, 50.50), (2.70, 50.50)],
    [[(2.75, 50.42), (2.80, 50.42), (2.80, 50.45), (2.75, 50.45)]],
)
MAIRIE_L93 = Point(691_012.5, 7_030_450.25)
MAIRIE_WEB = Point(2.8319, 50.4322)


# ------------------------------------------------------------------------------------------ seeding
def seed_every_table(wh: Warehouse) -> tuple[int, dict[str, pd.DataFrame]]:
    """One hand-made row set per table, inserted with insert_frame. Returns the source id and the frames."""
    sid = add_source(wh, dataset="test:every-table")
    frames = {
        "territory": frame(
            "level code cog name",
            [
                ("commune", "62498", 2026, "Lens"),
                ("commune", "62321", 2026, "Évin-Malmaison"),
                ("commune", "2A004", 2026, "Ajaccio"),
                ("epci", "246200364", 2026, "CA de Lens - Liévin"),
            ],
        ),
        "territory_geometry": pd.DataFrame(
            {
                "level": ["commune", "commune", "epci"],
                "code": ["62498", "62321", "246200364"],
                "cog": [2026, 2026, 2026],
                "area_km2": [2.0, 0.75, 8.0],
                "geom": [LENS_L93, EVIN_L93, CALL_L93],
                "geom_web": [LENS_WEB, EVIN_WEB, CALL_WEB],
            }
        ),
        "membership": frame(
            "cog child_level child_code parent_level parent_code weight",
            [(2026, "commune", "62498", "epci", "246200364", 1.0)],
        ),
        "passage": frame(
            "cog_from cog_to code_from code_to change weight",
            [(2025, 2026, "62098", "62427", "fusion", 1.0), (2025, 2026, "62427", "62427", "fusion", 1.0)],
        ),
        "indicator": frame(
            "id label theme unit kind numerator denominator factor decimals definition secrecy",
            [
                ("pop", "Population municipale", "demographie", "habitants", "stock", None, None, None, 0, "Population légale.", None),
                ("taux_vac", "Taux de vacance", "logement", "%", "ratio", "log_vac", "log", 100.0, 1, None, "s < 11"),
            ],
        ),
        "value": frame(
            "indicator level code year cog value status",
            [
                ("pop", "commune", "62498", 2021, 2026, 32920.0, "ok"),
                ("pop", "commune", "2A004", 2021, 2026, float("nan"), "missing"),
                ("taux_vac", "commune", "62321", 2021, 2026, 7.25, "fragile"),
            ],
        ),
        "series": frame(
            "indicator level code period value status",
            [("pop", "commune", "62498", "2021-T1", 32001.5, "ok"), ("pop", "commune", "62498", "2021-03", None, "secret")],
        ),
        "layer": frame("id label theme", [("mairies", "Mairies", "equipements")]),
        "layer_feature": pd.DataFrame(
            {
                "layer": ["mairies"],
                "feature_id": ["m-62498"],
                "name": ["Mairie de Lens"],
                "commune": ["62498"],
                "properties": [json.dumps({"adresse": "17 bis place Jean Jaurès", "etages": 3}, ensure_ascii=False)],
                "geom": [MAIRIE_L93],
                "geom_web": [MAIRIE_WEB],
            }
        ),
    }
    with wh.transaction():
        for table, df in frames.items():
            to_insert = df if table == "indicator" else df.assign(source_id=sid)
            assert wh.insert_frame(table, to_insert) == len(df)
    return sid, frames


def seed_geography(wh: Warehouse) -> None:
    """Two vintages of communes, EPCI, départements, a region, a QPV straddling two communes, passages."""
    seed_communes(wh, {"62498": "Lens", "62098": "Beaumont"}, cog=2025, epci={"246200364": ["62498"]})
    seed_communes(
        wh,
        {"62498": "Lens", "62510": "Liévin", "62321": "Évin-Malmaison"},
        cog=2026,
        epci={"246200364": ["62498", "62510"], "246200299": ["62321"]},
    )
    sid = add_source(wh, dataset="test:geography")
    wh.insert_frame(
        "territory",
        frame(
            "level code cog name",
            [
                ("departement", "62", 2026, "Pas-de-Calais"),
                ("departement", "32", 2026, "Gers"),
                ("region", "32", 2026, "Hauts-de-France"),
                ("qpv", "QN06229M", 2026, "Les Hauts De Liévin - Résidence Des Provinces - Cités 9-9bis"),
            ],
        ).assign(source_id=sid),
    )
    wh.insert_frame(
        "membership",
        frame(
            "cog child_level child_code parent_level parent_code weight",
            [
                (2026, "commune", "62498", "departement", "62", 1.0),
                (2026, "commune", "62510", "departement", "62", 1.0),
                (2026, "commune", "62321", "departement", "62", 1.0),
                (2026, "departement", "62", "region", "32", 1.0),
                (2026, "qpv", "QN06229M", "commune", "62498", 0.3),
                (2026, "qpv", "QN06229M", "commune", "62510", 0.7),
            ],
        ).assign(source_id=sid),
    )
    wh.insert_frame(
        "passage",
        frame(
            "cog_from cog_to code_from code_to change weight",
            [
                (2025, 2026, "62498", "62498", "inchangée", 1.0),
                (2025, 2026, "62098", "62510", "scission", 0.25),
                (2025, 2026, "62098", "62321", "scission", 0.75),
            ],
        ).assign(source_id=sid),
    )


# ------------------------------------------------------------------------------------------ schema
def test_init_schema_creates_every_table_and_is_idempotent(backend_wh):
    wh = backend_wh
    assert wh.is_initialised()
    for table, ddl in TABLES.items():
        expected = [line.split()[0] for line in ddl.strip().splitlines() if not line.strip().startswith("PRIMARY KEY")]
        assert wh.table_columns(table) == expected, table
    assert rows(wh, "SELECT key, value FROM meta") == [("schema_version", str(SCHEMA_VERSION))]

    seed_communes(wh, {"62498": "Lens"})
    before = wh.digest()
    wh.init_schema()
    wh.init_schema()
    assert rows(wh, "SELECT count(*) FROM meta") == [(1,)]
    assert rows(wh, "SELECT code, name FROM territory") == [("62498", "Lens")]
    assert wh.digest() == before

    # A second connection to the same warehouse initialises nothing and sees the same content.
    other = connect(wh.url)
    try:
        assert other.is_initialised()
        assert other.digest() == before
    finally:
        other.close()


def test_latest_cog_of_an_empty_warehouse_is_a_french_not_found(backend_wh):
    with pytest.raises(NotFoundError, match="aucun territoire"):
        backend_wh.latest_cog()
    assert backend_wh.cogs() == []
    assert backend_wh.levels() == []
    assert backend_wh.row_counts() == {t: (1 if t == "meta" else 0) for t in TABLES}


# ------------------------------------------------------------------------------------------ insert_frame
def test_insert_frame_writes_every_table(backend_wh):
    wh = backend_wh
    sid, frames = seed_every_table(wh)
    expected_counts = {
        "meta": 1, "source": 1, "territory": 4, "territory_geometry": 3, "membership": 1, "passage": 2,
        "indicator": 2, "value": 3, "series": 2, "layer": 1, "layer_feature": 1,
    }
    assert wh.row_counts() == {t: expected_counts.get(t, 0) for t in TABLES}
    # Codes stay strings (leading zeros, Corsica), ordering is by code.
    assert rows(wh, "SELECT level, code, cog, name, source_id FROM territory ORDER BY level, code") == [
        ("commune", "2A004", 2026, "Ajaccio", sid),
        ("commune", "62321", 2026, "Évin-Malmaison", sid),
        ("commune", "62498", 2026, "Lens", sid),
        ("epci", "246200364", 2026, "CA de Lens - Liévin", sid),
    ]
    assert rows(wh, "SELECT * FROM membership") == [(2026, "commune", "62498", "epci", "246200364", 1.0, sid)]
    assert rows(wh, "SELECT * FROM passage ORDER BY code_from") == [
        (2025, 2026, "62098", "62427", "fusion", 1.0, sid),
        (2025, 2026, "62427", "62427", "fusion", 1.0, sid),
    ]
    indicators = rows(
        wh,
        "SELECT id, label, theme, unit, kind, numerator, denominator, factor, decimals, definition, secrecy "
        "FROM indicator ORDER BY id",
    )
    assert indicators[0] == ("pop", "Population municipale", "demographie", "habitants", "stock", None, None, None, 0, "Population légale.", None)
    assert indicators[1] == ("taux_vac", "Taux de vacance", "logement", "%", "ratio", "log_vac", "log", 100.0, 1, None, "s < 11")
    # A NaN value is stored as NULL.
    assert rows(wh, "SELECT code, value, status, source_id FROM value ORDER BY code") == [
        ("2A004", None, "missing", sid),
        ("62321", 7.25, "fragile", sid),
        ("62498", 32920.0, "ok", sid),
    ]
    assert rows(wh, "SELECT period, value, status FROM series ORDER BY period") == [
        ("2021-03", None, "secret"),
        ("2021-T1", 32001.5, "ok"),
    ]
    assert rows(wh, "SELECT * FROM layer") == [("mairies", "Mairies", "equipements", sid)]
    feature = rows(wh, "SELECT layer, feature_id, name, commune, properties FROM layer_feature")[0]
    assert feature[:4] == ("mairies", "m-62498", "Mairie de Lens", "62498")
    assert json.loads(feature[4]) == {"adresse": "17 bis place Jean Jaurès", "etages": 3}
    assert wh.insert_frame("value", frames["value"].iloc[0:0]) == 0


def test_geometries_round_trip_exactly_with_their_area(backend_wh):
    wh = backend_wh
    seed_every_table(wh)
    got = rows(
        wh,
        "SELECT code, ST_AsBinary(geom), ST_AsBinary(geom_web), area_km2, ST_Area(geom) / 1000000.0 "
        "FROM territory_geometry ORDER BY code",
    )
    expected = {"246200364": (CALL_L93, CALL_WEB, 8.0), "62321": (EVIN_L93, EVIN_WEB, 0.75), "62498": (LENS_L93, LENS_WEB, 2.0)}
    assert [g[0] for g in got] == ["246200364", "62321", "62498"]
    for code, wkb, wkb_web, area, computed in got:
        geom, geom_web = shapely.from_wkb(wkb), shapely.from_wkb(wkb_web)
        l93, web, km2 = expected[code]
        assert shapely.equals(geom, l93) and geom.equals_exact(l93, tolerance=0)
        assert shapely.equals(geom_web, web) and geom_web.equals_exact(web, tolerance=0)
        assert geom.geom_type == l93.geom_type
        assert area == km2
        assert computed == pytest.approx(km2, abs=1e-9)
        assert geom.area / 1e6 == pytest.approx(km2, abs=1e-9)
    (wkb, wkb_web), = rows(wh, "SELECT ST_AsBinary(geom), ST_AsBinary(geom_web) FROM layer_feature")
    assert shapely.from_wkb(wkb).equals_exact(MAIRIE_L93, tolerance=0)
    assert shapely.from_wkb(wkb_web).equals_exact(MAIRIE_WEB, tolerance=0)


def test_territory_geometries_and_layer_features_as_geodataframes(backend_wh):
    wh = backend_wh
    seed_every_table(wh)
    communes = wh.territory_geometries("commune")
    assert communes.crs.to_epsg() == 2154
    assert list(communes["code"]) == ["62321", "62498"]
    assert list(communes["name"]) == ["Évin-Malmaison", "Lens"]
    assert list(communes["area_km2"]) == [0.75, 2.0]
    assert communes.geometry.iloc[0].equals(EVIN_L93) and communes.geometry.iloc[1].equals(LENS_L93)
    assert list(communes.geometry.area / 1e6) == pytest.approx([0.75, 2.0])
    web = wh.territory_geometries("epci", cog=2026, web=True)
    assert web.crs.to_epsg() == 4326
    assert web.geometry.iloc[0].equals(CALL_WEB)
    assert wh.territory_geometries("commune", cog=2025).empty

    mairies = wh.layer_features("mairies")
    assert mairies.crs.to_epsg() == 2154
    assert list(mairies["feature_id"]) == ["m-62498"]
    assert mairies.geometry.iloc[0].equals(MAIRIE_L93)
    assert wh.layer_features("mairies", web=True).geometry.iloc[0].equals(MAIRIE_WEB)
    assert wh.layer_features("inconnue").empty


# ------------------------------------------------------------------------------------------ transactions
def test_transaction_commits_at_the_end_of_the_block(backend_wh):
    wh = backend_wh
    with wh.transaction():
        seed_communes(wh, {"62498": "Lens"})
    assert rows(wh, "SELECT code FROM territory") == [("62498",)]


def test_an_exception_inside_a_transaction_leaves_nothing(backend_wh):
    wh = backend_wh
    seed_communes(wh, {"62498": "Lens"})
    before = wh.digest()
    with pytest.raises(RuntimeError, match="panne simulée"):
        with wh.transaction():
            seed_communes(wh, {"62510": "Liévin"}, epci={"246200364": ["62510"]})
            wh.execute("DELETE FROM territory WHERE code = ?", ("62498",))
            assert wh.row_counts()["territory"] == 2  # Liévin + its EPCI, Lens deleted
            raise RuntimeError("panne simulée")
    assert rows(wh, "SELECT code FROM territory") == [("62498",)]
    assert wh.digest() == before
    # The warehouse is usable afterwards.
    with wh.transaction():
        seed_communes(wh, {"62510": "Liévin"})
    assert rows(wh, "SELECT code FROM territory ORDER BY code") == [("62498",), ("62510",)]


def test_a_database_error_inside_a_transaction_rolls_back(backend_wh):
    wh = backend_wh
    with pytest.raises(DB_ERRORS):
        with wh.transaction():
            seed_communes(wh, {"62498": "Lens"})
            seed_communes(wh, {"62498": "Lens"})  # primary key violation
    assert wh.row_counts()["territory"] == 0
    assert wh.row_counts()["source"] == 0


def test_nested_transactions_join_the_outer_one(backend_wh):
    wh = backend_wh
    observer = connect(wh.url, create=False)
    try:
        with wh.transaction():
            seed_communes(wh, {"62498": "Lens"})
            with wh.transaction():
                seed_communes(wh, {"62510": "Liévin"})
            # The inner block did not commit: another connection sees nothing yet.
            assert observer.query("SELECT count(*) FROM territory") == [(0,)]
        assert observer.query("SELECT count(*) FROM territory") == [(2,)]

        # An exception escaping an inner block rolls back the whole outer block.
        with pytest.raises(ValueError):
            with wh.transaction():
                seed_communes(wh, {"62321": "Évin-Malmaison"})
                with wh.transaction():
                    seed_communes(wh, {"62427": "Hénin-Beaumont"})
                    raise ValueError("interne")
        assert rows(wh, "SELECT code FROM territory ORDER BY code") == [("62498",), ("62510",)]
        assert observer.query("SELECT count(*) FROM territory") == [(2,)]
        assert wh._depth == 0
    finally:
        observer.close()


# ------------------------------------------------------------------------------------------ digest
def test_digest_is_stable_and_independent_of_insertion_order(backend_wh):
    wh = backend_wh
    empty = wh.digest()
    assert len(empty) == 64 and wh.digest() == empty
    sid = add_source(wh)
    territories = frame(
        "level code cog name",
        [("commune", "62498", 2026, "Lens"), ("commune", "62510", 2026, "Liévin"), ("commune", "62321", 2026, "Évin-Malmaison")],
    ).assign(source_id=sid)
    geoms = pd.DataFrame(
        {"level": ["commune", "commune"], "code": ["62498", "62321"], "cog": [2026, 2026], "area_km2": [2.0, 0.75],
         "geom": [LENS_L93, EVIN_L93], "geom_web": [LENS_WEB, EVIN_WEB], "source_id": [sid, sid]}
    )
    wh.insert_frame("territory", territories)
    wh.insert_frame("territory_geometry", geoms)
    full = wh.digest()
    assert full != empty and wh.digest() == full

    wh.execute("DELETE FROM territory")
    wh.execute("DELETE FROM territory_geometry")
    wh.insert_frame("territory", territories.iloc[::-1])
    wh.insert_frame("territory_geometry", geoms.iloc[::-1])
    assert wh.digest() == full

    # Any change shows: a name, a geometry.
    wh.execute("UPDATE territory SET name = ? WHERE code = ?", ("LENS", "62498"))
    assert wh.digest() != full
    wh.execute("UPDATE territory SET name = ? WHERE code = ?", ("Lens", "62498"))
    assert wh.digest() == full
    wh.execute("DELETE FROM territory_geometry WHERE code = ?", ("62321",))
    wh.insert_frame("territory_geometry", geoms.iloc[1:].assign(geom=[box(700_000, 7_040_000, 701_000, 7_041_000)]))
    assert wh.digest() != full


# ------------------------------------------------------------------------------------------ territories
def test_territories_default_to_the_latest_cog_of_each_level(backend_wh):
    wh = backend_wh
    seed_geography(wh)
    assert wh.cogs() == [2025, 2026]
    assert wh.cogs("departement") == [2026]
    assert wh.latest_cog("commune") == 2026
    assert wh.levels() == ["commune", "departement", "epci", "qpv", "region"]

    df = wh.territories()
    assert list(df.columns) == ["level", "code", "name", "cog"]
    assert list(df.itertuples(index=False, name=None)) == [
        ("commune", "62321", "Évin-Malmaison", 2026),
        ("commune", "62498", "Lens", 2026),
        ("commune", "62510", "Liévin", 2026),
        ("departement", "32", "Gers", 2026),
        ("departement", "62", "Pas-de-Calais", 2026),
        ("epci", "246200299", "EPCI 246200299", 2026),
        ("epci", "246200364", "EPCI 246200364", 2026),
        ("qpv", "QN06229M", "Les Hauts De Liévin - Résidence Des Provinces - Cités 9-9bis", 2026),
        ("region", "32", "Hauts-de-France", 2026),
    ]
    old = wh.territories(level="commune", cog=2025)
    assert list(old["code"]) == ["62098", "62498"] and list(old["name"]) == ["Beaumont", "Lens"]
    assert wh.territories(level="epci", cog=2025)["code"].tolist() == ["246200364"]
    assert wh.territories(level="zone_emploi").empty


def test_territories_search_by_name_or_code_prefix(backend_wh):
    wh = backend_wh
    seed_geography(wh)
    # Case-insensitive on accented names: « Liévin » contains « évin » too.
    assert wh.territories(search="ÉVIN", level="commune")["code"].tolist() == ["62321", "62510"]
    assert wh.territories(search="lens")["code"].tolist() == ["62498"]
    # Code prefix, at every level.
    assert list(wh.territories(search="32")[["level", "code"]].itertuples(index=False, name=None)) == [
        ("departement", "32"),
        ("region", "32"),
    ]
    assert wh.territories(search="6249")["code"].tolist() == ["62498"]
    assert wh.territories(search="498").empty  # a code matches by prefix only
    assert wh.territories(search="beaumont").empty  # only at COG 2025
    assert wh.territories(search="beaumont", cog=2025)["code"].tolist() == ["62098"]


def test_find_territory(backend_wh):
    wh = backend_wh
    seed_geography(wh)
    assert wh.find_territory("62498") == Territory("commune", "62498", 2026, "Lens")
    assert wh.find_territory("62498", cog=2025) == Territory("commune", "62498", 2025, "Lens")
    assert wh.find_territory("62098") == Territory("commune", "62098", 2025, "Beaumont")
    assert wh.find_territory("32", level="region") == Territory("region", "32", 2026, "Hauts-de-France")
    assert wh.find_territory("246200364", level="epci").cog == 2026

    with pytest.raises(AmbiguousCodeError) as ambiguous:
        wh.find_territory("32")
    assert ambiguous.value.http_status == 409
    assert "departement, region" in ambiguous.value.message and "précisez le niveau" in ambiguous.value.message

    with pytest.raises(NotFoundError) as missing:
        wh.find_territory("99999")
    assert missing.value.http_status == 404
    assert missing.value.message == "Aucun territoire n'a le code « 99999 »."
    with pytest.raises(NotFoundError, match="au niveau « epci »"):
        wh.find_territory("62498", level="epci")
    with pytest.raises(NotFoundError):
        wh.find_territory("62510", cog=2025)


def test_members_and_parents(backend_wh):
    wh = backend_wh
    seed_geography(wh)
    call = wh.find_territory("246200364", level="epci")
    members = wh.members(call)
    assert list(members.columns) == ["code", "name", "weight"]
    assert list(members.itertuples(index=False, name=None)) == [("62498", "Lens", 1.0), ("62510", "Liévin", 1.0)]
    # At the older vintage the EPCI only had Lens; the parent's vintage is the default.
    assert list(wh.members(call, cog=2025)["code"]) == ["62498"]
    assert list(wh.members(wh.find_territory("246200364", cog=2025))["code"]) == ["62498"]
    assert wh.members(call, child_level="qpv").empty

    lens = wh.find_territory("62498")
    assert list(wh.members(lens, child_level="qpv").itertuples(index=False, name=None)) == [
        ("QN06229M", "Les Hauts De Liévin - Résidence Des Provinces - Cités 9-9bis", 0.3)
    ]
    assert list(wh.parents(lens).itertuples(index=False, name=None)) == [
        ("departement", "62", "Pas-de-Calais", 1.0),
        ("epci", "246200364", "EPCI 246200364", 1.0),
    ]
    qpv = wh.find_territory("QN06229M")
    assert list(wh.parents(qpv).itertuples(index=False, name=None)) == [
        ("commune", "62498", "Lens", 0.3),
        ("commune", "62510", "Liévin", 0.7),
    ]
    assert list(wh.parents(wh.find_territory("62", level="departement"))["code"]) == ["32"]
    assert wh.parents(wh.find_territory("32", level="region")).empty


def test_passages(backend_wh):
    wh = backend_wh
    seed_geography(wh)
    df = wh.passages(2025, 2026)
    assert list(df.columns) == ["code_from", "code_to", "change", "weight"]
    assert list(df.itertuples(index=False, name=None)) == [
        ("62098", "62321", "scission", 0.75),
        ("62098", "62510", "scission", 0.25),
        ("62498", "62498", "inchangée", 1.0),
    ]
    assert wh.passages(2026, 2025).empty


# ------------------------------------------------------------------------------------------ values
def seed_values(wh: Warehouse) -> tuple[int, int]:
    seed_communes(wh, {"62498": "Lens", "62510": "Liévin", "62321": "Évin-Malmaison"}, epci={"246200364": ["62498", "62510"]})
    real = add_source(wh, dataset="test:real")
    fake = add_source(wh, dataset="test:synthetic")
    wh.execute("UPDATE source SET synthetic = ? WHERE id = ?", (True, fake))
    wh.insert_frame(
        "indicator",
        frame(
            "id label theme unit kind numerator denominator factor decimals definition secrecy",
            [("log_vac", "Logements vacants", "logement", "logements", "stock", None, None, None, 0, None, "s < 11")],
        ),
    )
    values = frame(
        "indicator level code year cog value status source_id",
        [
            ("log_vac", "commune", "62498", 2021, 2026, 1520.0, "ok", real),
            ("log_vac", "commune", "62510", 2021, 2026, 42.0, "secret", real),  # stored, must never come out
            ("log_vac", "commune", "62321", 2021, 2026, 9.5, "fragile", real),
            ("log_vac", "commune", "62498", 2015, 2026, 1210.0, "ok", real),
            ("log_vac", "commune", "62498", 2015, 2025, 1205.0, "ok", real),
            ("log_vac", "epci", "246200364", 2021, 2026, None, "missing", fake),
        ],
    )
    wh.insert_frame("value", values)
    return real, fake


def test_values_mask_secret_cells_and_filter(backend_wh):
    wh = backend_wh
    real, fake = seed_values(wh)
    df = wh.values("log_vac")
    assert list(df.columns) == ["level", "code", "year", "cog", "value", "status", "source_id", "synthetic"]
    got = [
        (r.level, r.code, int(r.year), int(r.cog), None if is_missing(r.value) else r.value, r.status, int(r.source_id), bool(r.synthetic))
        for r in df.itertuples(index=False)
    ]
    assert got == [
        ("commune", "62321", 2021, 2026, 9.5, "fragile", real, False),
        ("commune", "62498", 2015, 2025, 1205.0, "ok", real, False),
        ("commune", "62498", 2015, 2026, 1210.0, "ok", real, False),
        ("commune", "62498", 2021, 2026, 1520.0, "ok", real, False),
        ("commune", "62510", 2021, 2026, None, "secret", real, False),
        ("epci", "246200364", 2021, 2026, None, "missing", fake, True),
    ]
    # The stored secret number appears nowhere in what comes out.
    assert not (df.astype(str) == "42.0").any().any()
    assert 42.0 not in [v for v in df["value"] if not is_missing(v)]

    by_codes = wh.values("log_vac", level="commune", codes=["62510", "62321"], years=[2021])
    assert list(by_codes["code"]) == ["62321", "62510"]
    assert is_missing(by_codes["value"].iloc[1]) and by_codes["status"].iloc[1] == "secret"
    assert list(wh.values("log_vac", codes=["62498"], cog=2025)["value"]) == [1205.0]
    assert list(wh.values("log_vac", level="epci")["status"]) == ["missing"]
    assert wh.values("log_vac", codes=[]).empty
    empty = wh.values("log_vac", years=[])
    assert empty.empty and list(empty.columns) == list(df.columns)
    assert wh.values("inconnu").empty


def test_value_years_indicators_and_sources(backend_wh):
    wh = backend_wh
    real, fake = seed_values(wh)
    assert wh.value_years("log_vac") == [2015, 2021]
    assert wh.value_years("log_vac", level="epci") == [2021]
    assert wh.value_years("inconnu") == []

    assert wh.indicators()["id"].tolist() == ["log_vac"]
    ind = wh.indicator("log_vac")
    assert (ind["label"], ind["kind"], int(ind["decimals"]), ind["secrecy"]) == ("Logements vacants", "stock", 0, "s < 11")
    with pytest.raises(NotFoundError, match="« inconnu » n'existe pas"):
        wh.indicator("inconnu")

    sources = wh.sources()
    assert list(sources.columns) == [
        "id", "kind", "dataset", "title", "producer", "file_name", "vintage", "licence", "sha256", "imported_at", "rows", "synthetic",
    ]
    assert [int(i) for i in sources["id"]] == [1, real, fake] == [1, 2, 3]
    assert list(sources["dataset"]) == ["test:seed:2026:3", "test:real", "test:synthetic"]
    assert [bool(s) for s in sources["synthetic"]] == [False, False, True]
    assert wh.source(real)["dataset"] == "test:real"
    with pytest.raises(NotFoundError, match="identifiant 99"):
        wh.source(99)


def test_layers_count_their_features(backend_wh):
    wh = backend_wh
    sid, _ = seed_every_table(wh)
    wh.insert_frame("layer", frame("id label theme source_id", [("friches", "Friches", "foncier", sid)]))
    layers = wh.layers()
    assert list(layers.columns) == ["id", "label", "theme", "features", "source_id"]
    assert [(r.id, r.label, r.theme, int(r.features), int(r.source_id)) for r in layers.itertuples()] == [
        ("friches", "Friches", "foncier", 0, sid),
        ("mairies", "Mairies", "equipements", 1, sid),
    ]


# ------------------------------------------------------------------------------------------ run_import
EPCI_NAMES = {"246200364": "CA de Lens - Liévin", "246200299": "CA d'Hénin-Carvin"}

COMMUNES_CSV = (
    "code;nom;epci;population;logements\n"
    "62498;Lens;246200364;32920;17345\n"
    "62510;Liévin;246200364;30063;s\n"
    "62321;Évin-Malmaison;246200299;4628;2063\n"
)
# Same dataset, a year later: Évin-Malmaison gone, Lens changed.
COMMUNES_CSV_V2 = (
    "code;nom;epci;population;logements\n"
    "62498;Lens;246200364;33000;17400\n"
    "62510;Liévin;246200364;30063;s\n"
)


class CommunesTestImporter(Importer):
    """A tiny importer writing every batch table from a `;` CSV of communes."""

    kind = "test-communes"
    title = "Communes de test"
    producer = "Tests Vigie"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        name = self.path.name
        df = read_csv(self.path, separator=";", required=["code", "nom", "epci", "population", "logements"], key=["code"])
        pop, pop_status = parse_numbers(df, "population", name)
        log, log_status = parse_numbers(df, "logements", name)
        self.check(df)
        codes, names, epcis = df["code"].tolist(), df["nom"].tolist(), df["epci"].tolist()
        n = len(df)
        batch = Batch()
        batch.add("indicator", frame(
            "id label theme unit kind numerator denominator factor decimals definition secrecy",
            [("population", "Population municipale", "demographie", "habitants", "stock", None, None, None, 0, None, None),
             ("logements", "Logements", "logement", "logements", "stock", None, None, None, 0, None, "s < 11")],
        ))
        batch.add("territory", pd.DataFrame({"level": "commune", "code": codes, "cog": 2026, "name": names}))
        batch.add("territory", pd.DataFrame(
            [("epci", e, 2026, EPCI_NAMES[e]) for e in sorted(set(epcis))], columns=["level", "code", "cog", "name"]
        ))
        # Commune i (0-based) is a square of (i + 1) km side: (i + 1)² km².
        squares = [box(650_000 + 10_000 * i, 7_000_000, 651_000 + 10_000 * i + 1000 * i, 7_001_000 + 1000 * i) for i in range(n)]
        webs = [box(2.5 + 0.1 * i, 50.3, 2.55 + 0.1 * i, 50.35) for i in range(n)]
        batch.add("territory_geometry", pd.DataFrame({
            "level": "commune", "code": codes, "cog": 2026, "area_km2": [float((i + 1) ** 2) for i in range(n)],
            "geom": squares, "geom_web": webs,
        }))
        batch.add("membership", pd.DataFrame({
            "cog": 2026, "child_level": "commune", "child_code": codes, "parent_level": "epci", "parent_code": epcis, "weight": 1.0,
        }))
        batch.add("passage", pd.DataFrame({"cog_from": 2025, "cog_to": 2026, "code_from": codes, "code_to": codes, "change": "inchangée", "weight": 1.0}))
        for ind, values, status in (("population", pop, pop_status), ("logements", log, log_status)):
            batch.add("value", pd.DataFrame({
                "indicator": ind, "level": "commune", "code": codes, "year": 2021, "cog": 2026, "value": values, "status": status,
            }))
        batch.add("series", pd.DataFrame({
            "indicator": "population", "level": "commune", "code": codes, "period": "2021-T4", "value": pop, "status": pop_status,
        }))
        batch.add("layer", frame("id label theme", [("mairies_test", "Mairies (test)", "equipements")]))
        batch.add("layer_feature", pd.DataFrame({
            "layer": "mairies_test", "feature_id": [f"mairie-{c}" for c in codes], "name": [f"Mairie de {n_}" for n_ in names],
            "commune": codes, "properties": self.properties(df, pop),
            "geom": [s.centroid for s in squares], "geom_web": [w.centroid for w in webs],
        }))
        return batch

    def check(self, df: pd.DataFrame) -> None:
        unknown = df[~df["epci"].isin(EPCI_NAMES)]
        if len(unknown):
            row = unknown.iloc[0]
            raise ImportValidationError(self.path.name, f"EPCI inconnu « {row['epci']} ».", line=int(row["_line"]), column="epci")

    def properties(self, df: pd.DataFrame, pop) -> list[str | None]:
        return [json.dumps({"nom": n_, "population": p}, ensure_ascii=False) for n_, p in zip(df["nom"], pop)]


class BrokenWriteImporter(CommunesTestImporter):
    """Validates fine but produces a feature the database refuses (NULL properties): fails while writing."""

    def properties(self, df, pop):
        props = super().properties(df, pop)
        props[-1] = None
        return props


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def sourced_rows(wh: Warehouse, source_id: int) -> dict[str, int]:
    tables = ["territory", "territory_geometry", "membership", "passage", "value", "series", "layer", "layer_feature"]
    return {t: wh.query(f"SELECT count(*) FROM {t} WHERE source_id = ?", (source_id,))[0][0] for t in tables}


def test_run_import_writes_every_table(backend_wh, tmp_path):
    wh = backend_wh
    path = write(tmp_path / "communes.csv", COMMUNES_CSV)
    report = run_import(wh, CommunesTestImporter(path))
    assert not report.unchanged and report.source_id == 1 and report.kind == "test-communes" and report.file == "communes.csv"
    assert report.rows == {
        "indicator": 2, "layer": 1, "territory": 5, "territory_geometry": 3, "membership": 3, "passage": 3,
        "value": 6, "series": 3, "layer_feature": 3,
    }
    assert sourced_rows(wh, 1) == {
        "territory": 5, "territory_geometry": 3, "membership": 3, "passage": 3, "value": 6, "series": 3, "layer": 1, "layer_feature": 3,
    }
    src = wh.source(1)
    assert (src["kind"], src["dataset"], src["title"], src["producer"], src["file_name"], src["licence"]) == (
        "test-communes", "test-communes:communes.csv", "Communes de test", "Tests Vigie", "communes.csv", "Licence Ouverte / Etalab 2.0",
    )
    assert src["sha256"] == hashlib.sha256(COMMUNES_CSV.encode()).hexdigest()
    assert int(src["rows"]) == 5 + 3 + 3 + 3 + 6 + 3 + 1 + 3 and not bool(src["synthetic"]) and src["vintage"] is None

    logements = wh.values("logements")
    assert list(logements["code"]) == ["62321", "62498", "62510"]
    assert [None if is_missing(v) else v for v in logements["value"]] == [2063.0, 17345.0, None]
    assert list(logements["status"]) == ["ok", "ok", "secret"]
    assert list(wh.members(wh.find_territory("246200364"))["name"]) == ["Lens", "Liévin"]
    geoms = wh.territory_geometries("commune")
    # Lens is line 2 of the file (square of 1 km), Liévin line 3 (2 km), Évin line 4 (3 km).
    assert dict(zip(geoms["code"], geoms.geometry.area / 1e6)) == pytest.approx({"62498": 1.0, "62510": 4.0, "62321": 9.0})
    assert dict(zip(geoms["code"], geoms["area_km2"])) == {"62498": 1.0, "62510": 4.0, "62321": 9.0}
    props = wh.layer_features("mairies_test")["properties"].map(json.loads).tolist()
    assert props == [
        {"nom": "Évin-Malmaison", "population": 4628.0},
        {"nom": "Lens", "population": 32920.0},
        {"nom": "Liévin", "population": 30063.0},
    ]
    assert rows(wh, "SELECT period, value FROM series WHERE code = ?", ("62510",)) == [("2021-T4", 30063.0)]


def test_importing_the_same_file_twice_changes_nothing(backend_wh, tmp_path):
    wh = backend_wh
    path = write(tmp_path / "communes.csv", COMMUNES_CSV)
    first = run_import(wh, CommunesTestImporter(path))
    digest = wh.digest()
    again = run_import(wh, CommunesTestImporter(path))
    assert again.unchanged and again.source_id == first.source_id and again.rows == {}
    assert again.messages == ["fichier déjà importé : aucun changement."]
    assert wh.digest() == digest
    # Options that only describe the source are not part of its identity: still unchanged.
    assert run_import(wh, CommunesTestImporter(path, vintage="RP 2021", title="Autre titre")).unchanged
    assert wh.digest() == digest
    # An option that changes how the file is read makes another import of the same dataset, replacing the first.
    third = run_import(wh, CommunesTestImporter(path, separateur=";", vintage="RP 2021"))
    assert not third.unchanged
    assert rows(wh, "SELECT id, vintage, sha256 FROM source") == [
        (third.source_id, "RP 2021", file_digest(path, {"separateur": ";"}))
    ]
    assert file_digest(path, {"separateur": ";"}) != hashlib.sha256(COMMUNES_CSV.encode()).hexdigest()
    assert wh.digest() != digest
    assert wh.row_counts()["value"] == 6


def test_a_changed_file_replaces_every_row_of_the_earlier_import(backend_wh, tmp_path):
    wh = backend_wh
    seed_communes(wh, {"62119": "Béthune"}, cog=2026)  # another source: must survive
    path = write(tmp_path / "communes.csv", COMMUNES_CSV)
    first = run_import(wh, CommunesTestImporter(path))
    write(path, COMMUNES_CSV_V2)
    second = run_import(wh, CommunesTestImporter(path))
    assert first.source_id == 2 and not second.unchanged
    assert second.rows == {
        "indicator": 0,  # definitions already known are kept, not rewritten
        "layer": 1, "territory": 3, "territory_geometry": 2, "membership": 2, "passage": 2, "value": 4, "series": 2,
        "layer_feature": 2,
    }
    # Only the seed and the new import remain, and every sourced row belongs to one of them.
    sources = rows(wh, "SELECT id, dataset, sha256 FROM source ORDER BY id")
    assert sources == [
        (1, "test:seed:2026:1", "sha-1"),
        (second.source_id, "test-communes:communes.csv", hashlib.sha256(COMMUNES_CSV_V2.encode()).hexdigest()),
    ]
    assert sourced_rows(wh, second.source_id) == {k: v for k, v in second.rows.items() if k != "indicator"}
    counts = wh.row_counts()
    assert {t: counts[t] for t in sourced_rows(wh, 1)} == {
        t: n + (1 if t == "territory" else 0) for t, n in sourced_rows(wh, second.source_id).items()
    }
    for table, column in [
        ("territory", "code"), ("territory_geometry", "code"), ("membership", "child_code"), ("membership", "parent_code"),
        ("passage", "code_from"), ("value", "code"), ("series", "code"), ("layer_feature", "commune"),
    ]:
        assert rows(wh, f"SELECT count(*) FROM {table} WHERE {column} IN (?, ?)", ("62321", "246200299")) == [(0,)], table
    assert wh.territories(level="commune")["code"].tolist() == ["62119", "62498", "62510"]
    assert list(wh.values("population", codes=["62498"])["value"]) == [33000.0]
    assert rows(wh, "SELECT count(*) FROM indicator") == [(2,)]
    assert wh.row_counts()["layer"] == 1


def test_an_importer_failing_while_reading_leaves_the_warehouse_untouched(backend_wh, tmp_path):
    wh = backend_wh
    path = write(tmp_path / "communes.csv", COMMUNES_CSV)
    run_import(wh, CommunesTestImporter(path))
    digest = wh.digest()
    # Line 3 names an unknown EPCI: the importer raises after reading the file, before any write.
    write(path, COMMUNES_CSV_V2.replace("62510;Liévin;246200364", "62510;Liévin;999999999"))
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, CommunesTestImporter(path))
    assert (err.value.file, err.value.line, err.value.column) == ("communes.csv", 3, "epci")
    assert err.value.message == "fichier « communes.csv », ligne 3, colonne « epci » : EPCI inconnu « 999999999 »."
    assert wh.digest() == digest
    # A value that is not a number, line 2.
    write(path, COMMUNES_CSV_V2.replace("33000", "33 000 hab."))
    with pytest.raises(ImportValidationError, match="ligne 2, colonne « population »"):
        run_import(wh, CommunesTestImporter(path))
    assert wh.digest() == digest


def test_an_import_failing_while_writing_rolls_back_everything(backend_wh, tmp_path):
    wh = backend_wh
    path = write(tmp_path / "communes.csv", COMMUNES_CSV)
    run_import(wh, CommunesTestImporter(path))
    digest, counts = wh.digest(), wh.row_counts()
    # Same dataset, new content: the earlier rows are deleted, most tables written, then the last table fails.
    write(path, COMMUNES_CSV_V2)
    with pytest.raises(DB_ERRORS):
        run_import(wh, BrokenWriteImporter(path))
    assert wh.digest() == digest
    assert wh.row_counts() == counts
    assert list(wh.values("population", codes=["62498"])["value"]) == [32920.0]
    # The warehouse is still usable: the good importer now replaces the first import.
    assert run_import(wh, CommunesTestImporter(path)).rows["value"] == 4
    assert list(wh.values("population", codes=["62498"])["value"]) == [33000.0]
