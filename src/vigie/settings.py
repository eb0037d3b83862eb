"""Runtime settings, read from the environment."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATABASE = "vigie.duckdb"


def database_url() -> str:
    """The warehouse location: a DuckDB file path (default) or a `postgresql://` URL."""
    return os.environ.get("VIGIE_DATABASE", DEFAULT_DATABASE)


def project_root() -> Path:
    """The checkout root (where `data/` and `config/` live)."""
    return Path(__file__).resolve().parents[2]


def demo_dir() -> Path:
    return Path(os.environ.get("VIGIE_DEMO_DIR", project_root() / "data" / "demo"))
