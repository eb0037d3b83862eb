"""Schemathesis against the app's own OpenAPI schema, in-process (ASGI), over a copy of the demo warehouse with its
partner-space rules (issue 9): a bounded number of generated requests per operation, none may answer a server
error (5xx other than the documented 503 of a warehouse without cube, which the demo has).

The copy's access store is the demo's (`build_demo_access`); requests are anonymous, so they also probe the
restricted objects (guessed ids) without credentials.
"""

from __future__ import annotations

import shutil

import pytest

import schemathesis
from hypothesis import HealthCheck, given, settings

from vigie.access.demo import build_demo_access
from vigie.publish.api import create_app

EXAMPLES = 10  # per operation: ~70 operations, the whole run stays well under a minute


@pytest.fixture(scope="module")
def app(demo_warehouse, tmp_path_factory):
    folder = tmp_path_factory.mktemp("schemathesis")
    target = folder / "vigie.duckdb"
    shutil.copyfile(demo_warehouse, target)
    build_demo_access(str(target))
    found = create_app(str(target))
    yield found
    found.state.context.close()


def test_no_server_error_on_any_operation(app):
    """Every operation of `/openapi.json` (GET and the others), EXAMPLES generated requests each: no 5xx, no
    exception. (Schemathesis's pytest plugin is not used: one test walks the operations and reports them all.)"""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            try:
                response = case.call()
            except Exception as exc:  # noqa: BLE001  (the app raised instead of answering: any exception)
                failures.append(f"{case.method} {case.formatted_path} {case.query}: {type(exc).__name__}: {exc}")
                return
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}: "
                                f"{response.text[:200]}")
        run()
    assert operations > 50
    assert sorted(set(failures)) == []
