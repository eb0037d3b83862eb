"""The demo warehouse, built ONCE per test run and shared by every test and xdist worker that needs real data.

`demo_warehouse` is the path of a finished DuckDB file: open it read-only, or copy it first
(`demo_copy`) to change it. The first worker to ask builds it under an exclusive file lock; the others wait
and reuse it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> Path:
    from vigie.demo.build import build_demo

    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own base folder inside the run's folder: share the run's folder. Alone, the
    # parent would be common to every past run, so the base folder itself is used.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    target = shared / "demo-partagee" / "vigie.duckdb"
    target.parent.mkdir(exist_ok=True)
    with open(shared / "demo-partagee.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not target.exists():
                build_demo(str(target))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target


@pytest.fixture
def demo_copy(demo_warehouse, tmp_path) -> Path:
    """A private, writable copy of the demo warehouse."""
    copy = tmp_path / "vigie.duckdb"
    shutil.copyfile(demo_warehouse, copy)
    return copy
