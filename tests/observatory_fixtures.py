"""Fixtures shared by the API, OGC, export and tile tests: the small Artois warehouse of `test_api_engine`,
built once per test module, the app over it, and an Engine reading it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from vigie.engine.query import Engine
from vigie.publish.api import create_app
from vigie.warehouse import connect


@pytest.fixture(scope="module")
def observatory(tmp_path_factory) -> Path:
    from tests.test_api_engine import build_observatory

    folder = tmp_path_factory.mktemp("observatoire")
    path = folder / "vigie.duckdb"
    wh = connect(str(path))
    try:
        build_observatory(wh, folder)
    finally:
        wh.close()
    return path


@pytest.fixture(scope="module")
def client(observatory):
    with TestClient(create_app(str(observatory))) as c:
        yield c


@pytest.fixture(scope="module")
def engine(observatory):
    wh = connect(str(observatory), create=False, read_only=True)
    yield Engine(wh)
    wh.close()
