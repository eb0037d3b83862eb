"""Helpers of the partner-space tests: a private copy of the demo warehouse with its access store, and logging in
through the login form as a browser would (CSRF token of the form, then the session's)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

STORE = "vigie-acces.sqlite"  # the access store beside a DuckDB warehouse (`vigie.access.schema.store_location`)


def copy_with_store(demo_warehouse: Path, target: Path) -> str:
    """A private copy of the demo warehouse AND of its access store (demo accounts); returns the copy's path."""
    shutil.copyfile(demo_warehouse, target)
    source = demo_warehouse.with_name(STORE)
    for suffix in ("", "-wal", "-shm"):
        extra = source.with_name(source.name + suffix)
        if extra.exists():
            shutil.copyfile(extra, target.with_name(STORE + suffix))
    return str(target)


def csrf_in(html: str) -> str:
    """The CSRF token of the first form of a page."""
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def log_in(client, login: str, password: str) -> str:
    """Log in through `/connexion` and return the session's CSRF token."""
    client.cookies.clear()
    page = client.get("/connexion")
    answer = client.post("/connexion", data={"identifiant": login, "mot_de_passe": password, "csrf": csrf_in(page.text),
                                             "suite": "/compte"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client.get("/api/compte").json()["csrf"]
