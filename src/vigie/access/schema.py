"""The access store: accounts, sessions, tokens, visibility rules and the audit log, kept apart from the warehouse.

Why apart. The web app opens the warehouse READ-ONLY (`vigie.publish.context`), but logging in, logging out,
creating a token or writing the audit log are writes that happen while the app runs. So they go to a small
store of their own, opened read-write by the app:

- beside a DuckDB warehouse, an SQLite file next to it: `vigie.duckdb` → `vigie-acces.sqlite` (any path with
  `VIGIE_ACCES`). SQLite rather than a second DuckDB file because a DuckDB file opened read-write is locked by
  one process: `vigie users ajouter` could not run while the server does, and `uvicorn --workers N` (how the app
  scales, see `vigie.publish.context`) could not start its second worker. SQLite in WAL mode lets several
  processes read and write the same small file, each write a short transaction (busy timeout 5 s).
- with a PostgreSQL warehouse, the schema `vigie_access` of the same database, through a separate connection
  that is NOT read-only (the warehouse connection of the app is). `VIGIE_ACCES` may name another database.

The SQL below is accepted by both SQLite and PostgreSQL; times are seconds since the Unix epoch (UTC) as
DOUBLE PRECISION, so that no time zone or driver conversion differs between them.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from vigie.errors import ConfigurationError

SCHEMA = "vigie_access"
STORE_VARIABLE = "VIGIE_ACCES"
SCHEMA_VERSION = 1

TABLES: dict[str, str] = {
    "access_meta": """
        key VARCHAR PRIMARY KEY,
        value VARCHAR NOT NULL
    """,
    # An EPCI, a commune, the agency… `agency` marks the organisation(s) that run the observatory.
    "organisation": """
        id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        siren VARCHAR,
        agency BOOLEAN NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    """,
    # `password_hash` is an argon2id string (never the password); NULL for accounts of an external provider.
    "account": """
        login VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        email VARCHAR,
        password_hash VARCHAR,
        provider VARCHAR NOT NULL,
        subject VARCHAR,
        admin BOOLEAN NOT NULL,
        active BOOLEAN NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        last_login_at DOUBLE PRECISION
    """,
    # role: `partner` (sees what is shared with the organisation) or `editor` (also changes what it owns).
    "account_membership": """
        login VARCHAR NOT NULL,
        organisation VARCHAR NOT NULL,
        role VARCHAR NOT NULL,
        PRIMARY KEY (login, organisation)
    """,
    # Server-side sessions: the cookie holds a random id; only its SHA-256 is stored.
    "web_session": """
        id_hash VARCHAR PRIMARY KEY,
        login VARCHAR NOT NULL,
        csrf VARCHAR NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        last_seen_at DOUBLE PRECISION NOT NULL,
        ip VARCHAR
    """,
    # Personal API tokens: `vigie_<id>_<secret>`; only the SHA-256 of the whole token is stored.
    "api_token": """
        id VARCHAR PRIMARY KEY,
        login VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        token_hash VARCHAR NOT NULL,
        scopes VARCHAR NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        revoked_at DOUBLE PRECISION,
        last_used_at DOUBLE PRECISION
    """,
    # Failed logins, one row per failure and key (`compte:<login>` or `ip:<address>`), pruned by `ratelimit`.
    "login_failure": """
        key VARCHAR NOT NULL,
        at DOUBLE PRECISION NOT NULL
    """,
    # Visibility of one object (kind: dataset, layer, indicator, document…). No row: public.
    "visibility": """
        kind VARCHAR NOT NULL,
        object_id VARCHAR NOT NULL,
        level VARCHAR NOT NULL,
        owner VARCHAR,
        updated_at DOUBLE PRECISION NOT NULL,
        updated_by VARCHAR,
        PRIMARY KEY (kind, object_id)
    """,
    # The organisations a `restricted` object is shared with.
    "visibility_organisation": """
        kind VARCHAR NOT NULL,
        object_id VARCHAR NOT NULL,
        organisation VARCHAR NOT NULL,
        PRIMARY KEY (kind, object_id, organisation)
    """,
    "audit_log": """
        at DOUBLE PRECISION NOT NULL,
        event VARCHAR NOT NULL,
        login VARCHAR,
        ip VARCHAR,
        object_kind VARCHAR,
        object_id VARCHAR,
        outcome VARCHAR NOT NULL,
        detail VARCHAR
    """,
    # Edits made through the web app (its warehouse is read-only): one row per change, never updated nor deleted.
    # object_kind: `plot` or `site` (atlas); `organisation`: the owner the editor acted for; `at`: epoch seconds.
    "edit": """
        seq INTEGER PRIMARY KEY,
        object_kind VARCHAR NOT NULL,
        object_id VARCHAR NOT NULL,
        field VARCHAR NOT NULL,
        value VARCHAR NOT NULL,
        previous VARCHAR,
        author VARCHAR NOT NULL,
        organisation VARCHAR,
        at DOUBLE PRECISION NOT NULL,
        note VARCHAR
    """,
    # The study library: one PDF per row, its file `<id>.pdf` in the folder beside the store (`library.folder`).
    # Its visibility is a `visibility` row of kind `document` (none: public).
    "document": """
        id VARCHAR PRIMARY KEY,
        title VARCHAR NOT NULL,
        theme VARCHAR NOT NULL,
        territories VARCHAR NOT NULL,
        published_on VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,
        size BIGINT NOT NULL,
        sha256 VARCHAR NOT NULL,
        owner VARCHAR,
        uploaded_by VARCHAR NOT NULL,
        uploaded_at DOUBLE PRECISION NOT NULL
    """,
}

INDEXES = [
    "CREATE INDEX IF NOT EXISTS login_failure_key ON login_failure (key, at)",
    "CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at)",
    "CREATE INDEX IF NOT EXISTS api_token_login ON api_token (login)",
    "CREATE INDEX IF NOT EXISTS edit_object ON edit (object_kind, object_id)",
]

_PLACEHOLDER = re.compile(r"\?")


def store_location(warehouse_url: str) -> str:
    """Where the access store of the warehouse at `warehouse_url` lives (see the module docstring)."""
    configured = os.environ.get(STORE_VARIABLE, "").strip()
    if configured:
        return configured
    if warehouse_url.startswith(("postgresql://", "postgres://")):
        return warehouse_url
    path = Path(warehouse_url.removeprefix("duckdb://"))
    if str(path) == ":memory:":
        return ":memory:"
    return str(path.with_name(f"{path.stem}-acces.sqlite"))


class AccessStore:
    """One read-write connection to the access store, used by one thread at a time (a lock).

    `query`/`execute` take SQL with `?` placeholders; `transaction()` makes a block all-or-nothing.
    """

    def __init__(self, location: str):
        self.location = location
        self._lock = threading.RLock()
        self._depth = 0
        if location.startswith(("postgresql://", "postgres://")):
            import psycopg

            self.backend = "postgres"
            try:
                self._con = psycopg.connect(location, autocommit=True)
            except psycopg.OperationalError as exc:
                raise ConfigurationError(f"Connexion impossible à la base des comptes « {location} » : {exc}") from exc
            self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            self._con.execute(f"SET search_path TO {SCHEMA}")
        else:
            self.backend = "sqlite"
            if location != ":memory:":
                Path(location).parent.mkdir(parents=True, exist_ok=True)
            try:
                self._con = sqlite3.connect(location, timeout=5.0, isolation_level=None, check_same_thread=False)
                if location != ":memory:":
                    self._con.execute("PRAGMA journal_mode=WAL")
                    self._con.execute("PRAGMA synchronous=NORMAL")  # WAL: safe, no fsync per transaction
            except sqlite3.Error as exc:
                raise ConfigurationError(f"Impossible d'ouvrir la base des comptes « {location} » : {exc}") from exc
        self.ensure_schema()

    # ------------------------------------------------------------------ primitives
    def _sql(self, sql: str) -> str:
        return _PLACEHOLDER.sub("%s", sql.replace("%", "%%")) if self.backend == "postgres" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._lock:
            self._con.execute(self._sql(sql), tuple(params))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            return [tuple(r) for r in self._con.execute(self._sql(sql), tuple(params)).fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator["AccessStore"]:
        """All-or-nothing block, holding the lock (nested blocks join the outer one)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._con.execute("BEGIN IMMEDIATE" if self.backend == "sqlite" else "BEGIN")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                self._con.execute("ROLLBACK")
                raise
            self._depth = 0
            self._con.execute("COMMIT")

    def ensure_schema(self) -> None:
        """Create the tables when they do not exist yet (idempotent)."""
        with self.transaction():
            for table, ddl in TABLES.items():
                self.execute(f"CREATE TABLE IF NOT EXISTS {table} ({ddl})")
            for ddl in INDEXES:
                self.execute(ddl)
            if self.scalar("SELECT value FROM access_meta WHERE key = 'schema_version'") is None:
                self.execute("INSERT INTO access_meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        with self._lock:
            self._con.close()


def open_store(warehouse_url: str | None = None, location: str | None = None) -> AccessStore:
    """The access store of the warehouse at `warehouse_url` (default: VIGIE_DATABASE), or at `location`."""
    if location is None:
        from vigie.settings import database_url

        location = store_location(warehouse_url or database_url())
    return AccessStore(location)


def now() -> float:
    """The current time, in seconds since the epoch (UTC)."""
    return time.time()
