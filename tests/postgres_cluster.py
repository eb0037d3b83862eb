"""A throwaway PostgreSQL 15 + PostGIS 3 cluster for the test session, and the `backend_wh` fixture.

Loaded by `tests/conftest.py` through `pytest_plugins`. Each pytest process (each pytest-xdist worker) starts
its own cluster the first time a test asks for `pg_server`: `initdb` in a temporary directory, listening on
127.0.0.1 only (Unix socket in that directory), trust authentication, `fsync=off`. A template database holds
the PostGIS extension, so that `pg_url` gives every test a fresh database copied from it in a few tens of
milliseconds. The cluster is stopped and its directory removed at the end of the session, also when the
session fails (fixture finaliser, plus `atexit` and SIGTERM fallbacks).

The binaries come from the Debian packages `postgresql` and `postgresql-15-postgis-3` (installed by
`make test-deps`); when they are missing the tests FAIL, they are not skipped, so that CI cannot silently
stop testing the PostGIS backend. Running as root, `initdb` and `pg_ctl` run as the `postgres` user through
`runuser`, as PostgreSQL refuses to run as root.

Start and database-creation times are measured and printed in the terminal summary (collected from the
xdist workers when the suite runs with `-n`).
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from vigie.warehouse import Warehouse, connect

PG_VERSION = "15"
PG_BIN = Path(os.environ.get("VIGIE_PG_BIN", f"/usr/lib/postgresql/{PG_VERSION}/bin"))
PG_USER = "postgres"
TEMPLATE_DB = "vigie_template"
START_ATTEMPTS = 5
INSTALL_HINT = (
    "installez les paquets Debian « postgresql » et « postgresql-15-postgis-3 » "
    "(make test-deps, ou : apt-get install --no-install-recommends postgresql postgresql-15-postgis-3)"
)

# Server settings for a disposable cluster: durability is pointless, speed matters.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
}

# Timings of this process, sent to the xdist controller at the end of the session.
_TIMINGS: dict[str, list[float]] = {"start_s": [], "create_db_ms": [], "stop_s": []}


@dataclass
class PgCluster:
    """A running throwaway cluster. `url(db)` gives a libpq URL; `stop()` is idempotent."""

    root: Path
    port: int = 0
    as_root: bool = False
    start_seconds: float = 0.0
    admin: psycopg.Connection | None = None
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    _stopped: bool = False

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, dbname: str) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{dbname}"

    # ------------------------------------------------------------------ databases
    def create_database(self) -> str:
        """A fresh database copied from the PostGIS template; returns its name."""
        assert self.admin is not None
        name = f"vigie_test_{next(self._counter)}"
        t0 = time.perf_counter()
        self.admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
        _TIMINGS["create_db_ms"].append((time.perf_counter() - t0) * 1000)
        return name

    def drop_database(self, name: str) -> None:
        if self.admin is not None and not self.admin.closed:
            # FORCE ends connections a test may have left open.
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # ------------------------------------------------------------------ life cycle
    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a PostgreSQL binary (as `postgres` when we are root), in the cluster directory."""
        cmd = [str(PG_BIN / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", PG_USER, "--", *cmd]
        return subprocess.run(
            cmd, cwd=self.root, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(journal du serveur absent)"

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        t0 = time.perf_counter()
        if self.admin is not None:
            try:
                self.admin.close()
            except Exception:
                pass
        if (self.data_dir / "postmaster.pid").exists():
            try:
                done = self.run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w", "-t", "30", timeout=60)
                failed = done.returncode != 0
            except (OSError, subprocess.TimeoutExpired):
                failed = True
            if failed:
                self._kill_postmaster()
        shutil.rmtree(self.root, ignore_errors=True)
        _TIMINGS["stop_s"].append(time.perf_counter() - t0)

    def _kill_postmaster(self) -> None:
        """Last resort: SIGKILL the postmaster this session started (its pid is in postmaster.pid)."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
            os.kill(pid, 9)
        except (OSError, ValueError):
            pass


def _check_binaries() -> None:
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not os.access(PG_BIN / tool, os.X_OK):
            pytest.fail(f"PostgreSQL {PG_VERSION} introuvable ({PG_BIN / tool} absent) : {INSTALL_HINT}.", pytrace=False)
    share = Path(f"/usr/share/postgresql/{PG_VERSION}/extension")
    if os.environ.get("VIGIE_PG_BIN") is None and not (share / "postgis.control").exists():
        pytest.fail(f"Extension PostGIS introuvable ({share / 'postgis.control'} absent) : {INSTALL_HINT}.", pytrace=False)
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.fail("Commande « runuser » introuvable : elle est nécessaire pour lancer PostgreSQL depuis root.", pytrace=False)


def _temp_base(as_root: bool) -> str:
    """Where to create the cluster directory: the `postgres` user must be able to reach it."""
    base = tempfile.gettempdir()
    if not as_root:
        return base
    path = Path(base).resolve()
    for p in [path, *path.parents]:
        if not os.stat(p).st_mode & stat.S_IXOTH:
            return "/tmp"
    return base


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_on_sigterm(cluster: PgCluster) -> None:
    """A CI timeout sends SIGTERM, which skips atexit: stop the cluster first, then die as asked."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def handler(signum, _frame):
        cluster.stop()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: atexit and the fixture finaliser remain
        pass


def start_cluster() -> PgCluster:
    """initdb + pg_ctl start on a free loopback port + PostGIS template. Fails the tests with a French message."""
    _check_binaries()
    as_root = os.geteuid() == 0
    t0 = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="vigie-pg-", dir=_temp_base(as_root)))
    cluster = PgCluster(root=root, as_root=as_root)
    atexit.register(cluster.stop)
    _stop_on_sigterm(cluster)
    try:
        if as_root:
            shutil.chown(root, PG_USER, PG_USER)
        done = cluster.run(
            "initdb", "-D", str(cluster.data_dir), "-U", PG_USER, "--auth=trust", "--encoding=UTF8",
            "--locale=C.UTF-8", "--no-sync", "--no-instructions",
        )
        if done.returncode != 0:
            pytest.fail(f"initdb a échoué (code {done.returncode}) :\n{done.stdout}\n{done.stderr}", pytrace=False)
        settings = dict(SERVER_SETTINGS, unix_socket_directories=f"'{root}'")
        with (cluster.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# vigie tests\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))

        for attempt in range(1, START_ATTEMPTS + 1):
            cluster.port = _free_port()
            done = cluster.run(
                "pg_ctl", "start", "-D", str(cluster.data_dir), "-l", str(cluster.log_file), "-w", "-t", "60",
                "-o", f"-p {cluster.port}",
            )
            if done.returncode == 0:
                break
            # Another process took the port between our probe and the server's bind: try another one.
            if "could not bind" in cluster.log_tail() and attempt < START_ATTEMPTS:
                continue
            pytest.fail(
                f"Le serveur PostgreSQL de test n'a pas démarré (code {done.returncode}) :\n{done.stderr}\n"
                f"Journal du serveur :\n{cluster.log_tail()}",
                pytrace=False,
            )

        cluster.admin = psycopg.connect(cluster.url("postgres"), autocommit=True)
        cluster.admin.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
        with psycopg.connect(cluster.url(TEMPLATE_DB), autocommit=True) as con:
            con.execute("CREATE EXTENSION postgis")
        cluster.admin.execute(f'ALTER DATABASE "{TEMPLATE_DB}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
    except BaseException:
        cluster.stop()
        raise
    cluster.start_seconds = time.perf_counter() - t0
    _TIMINGS["start_s"].append(cluster.start_seconds)
    return cluster


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL/PostGIS cluster (one per xdist worker), stopped and removed at the end."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_server: PgCluster):
    """URL of a fresh database (PostGIS enabled, otherwise empty), dropped after the test."""
    name = pg_server.create_database()
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop_database(name)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_wh(request, tmp_path):
    """An empty, initialised warehouse on each backend: a DuckDB file, then a fresh PostGIS database."""
    if request.param == "duckdb":
        url = str(tmp_path / "warehouse.duckdb")
    else:
        url = request.getfixturevalue("pg_url")
    warehouse: Warehouse = connect(url)
    try:
        yield warehouse
    finally:
        warehouse.close()


# ---------------------------------------------------------------------------------------------- timings
def pytest_configure(config) -> None:
    config._vigie_pg_timings = []  # dicts collected from this process and from xdist workers


def pytest_sessionfinish(session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["vigie_pg_timings"] = {k: list(v) for k, v in _TIMINGS.items()}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    timings = getattr(node, "workeroutput", {}).get("vigie_pg_timings")
    if timings:
        node.config._vigie_pg_timings.append(timings)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if hasattr(config, "workerinput"):
        return
    collected = [*getattr(config, "_vigie_pg_timings", []), _TIMINGS]
    starts = [s for t in collected for s in t["start_s"]]
    if not starts:
        return
    creates = [c for t in collected for c in t["create_db_ms"]]
    stops = [s for t in collected for s in t["stop_s"]]
    line = "PostgreSQL de test : démarrage " + ", ".join(f"{s:.2f} s" for s in starts)
    if creates:
        line += (
            f" ; {len(creates)} bases créées depuis le modèle PostGIS, "
            f"{sum(creates) / len(creates):.0f} ms en moyenne (max {max(creates):.0f} ms)"
        )
    if stops:
        line += " ; arrêt " + ", ".join(f"{s:.2f} s" for s in stops)
    terminalreporter.write_line(line)
