"""Shared fixtures: a fresh DuckDB warehouse per test, and (through `tests.postgres_cluster`) a throwaway
PostgreSQL/PostGIS cluster started on loopback for the tests marked `postgres`."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigie.warehouse import connect

pytest_plugins = ["tests.postgres_cluster", "tests.observatory_fixtures", "tests.demo_warehouse", "tests.browser_fixtures"]

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def wh(tmp_path):
    """An empty, initialised DuckDB warehouse in a temporary file."""
    warehouse = connect(str(tmp_path / "test.duckdb"))
    yield warehouse
    warehouse.close()
