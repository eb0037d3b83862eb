"""The partner space in headless Chromium over (a private copy of) the demo warehouse and its access store.

What a person does: the CALL editor (`editeur.call`) logs in, sees what is shared with the CALL (the QPV health
indicators restricted to the CALL by `vigie.access.demo`; a study restricted to the CALL in the "Études" block of
the CALL's portrait), opens a zone of the CALL, changes the occupancy of a plot
with the form of the zone page, finds the change at the top of the history, logs out — and the restricted content
and the editing forms are gone. Screenshot: tests/artifacts/acces_edition.png.
"""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest

from tests.access_support import copy_with_store
from tests.browser_support import ARTIFACTS, LiveServer, assert_accessible, require_browser_tools

CALL = "246200364"
RESTRICTED_TO_CALL = "qpv_medecins"  # access/demo.py: restricted to the CALL
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(scope="module")
def server(demo_warehouse, tmp_path_factory):
    """The demo observatory on a private copy: the edits made here must not reach the shared demo store."""
    require_browser_tools()
    target = tmp_path_factory.mktemp("acces-navigateur") / "vigie.duckdb"
    copy_with_store(demo_warehouse, target)
    mp = pytest.MonkeyPatch()
    mp.delenv("VIGIE_ACCES", raising=False)
    with LiveServer(target) as live:
        yield live
    mp.undo()


def test_editor_logs_in_edits_a_plot_and_logs_out(page, server):
    anonymous = httpx.get(f"{server.url}/api/catalogue/{RESTRICTED_TO_CALL}")
    assert anonymous.status_code == 404

    page.goto(f"{server.url}/connexion?suite=/atlas")
    page.fill("#identifiant", "editeur.call")
    page.fill("#mot_de_passe", "demo-editeur-call")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert page.url.endswith("/atlas")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    # What the CALL shares is now visible to this browser (its session cookie).
    assert page.request.get(f"{server.url}/api/catalogue/{RESTRICTED_TO_CALL}").status == 200

    zones = httpx.get(f"{server.url}/api/atlas/zones", params={"epci": CALL}).json()["features"]
    zone = zones[0]["properties"]["site_id"]
    plots = httpx.get(f"{server.url}/api/atlas/zones/{zone}").json()["plots"]
    plot = plots[0]
    new = "vacant" if plot["occupancy"] != "vacant" else "occupé"
    page.goto(f"{server.url}/atlas/zone/{zone}")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert_accessible(page)  # with the editing forms
    form = page.locator(f"form[data-edit-plot='{plot['plot_id']}']")
    form.locator("select[name=terr_etat_occup]").select_option(new)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    page.wait_for_selector("body[data-ready=true]", state="attached")
    first = page.locator("[data-history] tbody tr").first.inner_text()
    for expected in (plot["plot_id"], "Occupation", plot["occupancy"], new, "editeur.call", "observatoire"):
        assert expected in first, (expected, first)
    row = page.locator(f"tr[data-plot='{plot['plot_id']}'] td[data-field=terr_etat_occup]").inner_text()
    assert row == new
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "acces_edition.png"), full_page=False)

    # A study restricted to the CALL, deposited through the API with the session's CSRF token, shows in the
    # "Études" block of the CALL's portrait.
    csrf = page.request.get(f"{server.url}/api/compte").json()["csrf"]
    title = "Diagnostic des friches de la CALL (restreint)"
    sent = page.request.post(f"{server.url}/api/etudes?" + urlencode(
        {"titre": title, "theme": "foncier", "date": "2026-11-02", "territoires": f"epci:{CALL}", "visibilite": "restreint"}),
        data=PDF, headers={"Content-Type": "application/pdf", "X-CSRF-Token": csrf})
    assert sent.status == 201, sent.text()
    page.goto(f"{server.url}/territoire/epci/{CALL}")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    block = page.locator("[data-studies]")
    assert title in block.inner_text() and "2 novembre 2026" in block.inner_text()
    page.goto(f"{server.url}/etudes?territoire=epci:{CALL}")
    assert title in page.locator("[data-studies]").inner_text()
    assert_accessible(page)

    page.goto(f"{server.url}/deconnexion")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    page.goto(f"{server.url}/atlas/zone/{zone}")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert page.locator("[data-edit-plot]").count() == 0
    page.goto(f"{server.url}/territoire/epci/{CALL}")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert title not in page.content()
    page.goto(f"{server.url}/atlas/zone/{zone}")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert page.request.get(f"{server.url}/api/catalogue/{RESTRICTED_TO_CALL}").status == 404
    assert page.request.get(f"{server.url}/api/compte").json() == {"authenticated": False}
    # The change stays, for everyone, in the history.
    assert new in page.locator("[data-history] tbody tr").first.inner_text()
