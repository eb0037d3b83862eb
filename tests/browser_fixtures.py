"""Browser fixtures shared by the page tests: the demo observatory served on a free port (`server`), one headless
Chromium per test module (`browser`), and a fresh French page per test (`page`) that fails the test on any
JavaScript error. A module may override `server` (e.g. to serve another warehouse)."""

from __future__ import annotations

import pytest

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, LiveServer, require_browser_tools


@pytest.fixture(scope="module")
def server(demo_warehouse):
    require_browser_tools()
    with LiveServer(demo_warehouse) as live:
        yield live


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR", accept_downloads=True)
    context.set_default_timeout(60_000)  # generous: the test machines' two cores may be shared
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    yield page
    context.close()
    assert not errors, f"erreurs JavaScript dans la page : {errors}"
