"""Signed embed links: a partner who sees a restricted indicator gets an expiring, HMAC-signed `/integration/…`
address that shows its chart without a session; a changed character or an expired link answers 403, and the link
never shows more than its author still sees."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from vigie import formatting as fmt
from vigie.access import audit, embeds
from vigie.access.policy import set_visibility
from vigie.access.service import service_for
from vigie.publish.api import create_app
from vigie.warehouse import connect

from tests.access_support import copy_with_store, log_in

CALL, CAHC = "246200364", "246200299"
INDICATOR = "population"


@pytest.fixture(scope="module")
def setup(demo_warehouse, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.delenv("VIGIE_ACCES", raising=False)
    path = copy_with_store(demo_warehouse, tmp_path_factory.mktemp("integration") / "vigie.duckdb")
    wh = connect(path, create=False, read_only=True)
    values = dict(wh.query("SELECT code, value FROM cube WHERE indicator = ? AND level = 'epci' AND code IN (?, ?) "
                           "AND year = (SELECT max(year) FROM cube WHERE indicator = ? AND level = 'epci')",
                           (INDICATOR, CALL, CAHC, INDICATOR)))
    wh.close()
    app = create_app(path)
    with TestClient(app) as client:
        store = service_for(app.state.context).store
        set_visibility(store, "indicator", INDICATOR, "restreint", ["CALL"], by="test")
        yield client, store, values
    mp.undo()


def create(client, csrf, **body):
    return client.post("/api/compte/integration", json={"indicateur": INDICATOR, "niveau": "epci", "codes": [CALL, CAHC],
                                                        **body}, headers={"X-CSRF-Token": csrf})


def test_signed_link_shows_the_restricted_chart_without_a_session(setup):
    client, store, values = setup
    csrf = log_in(client, "agent.call", "demo-partenaire-call")
    answer = create(client, csrf, titre="Population des deux agglomérations")
    assert answer.status_code == 201, answer.text
    link = answer.json()
    assert link["adresse"].startswith("/integration/") and "<iframe" in link["iframe"]
    assert audit.entries(store, login="agent.call", event="integration_creee")[0].object_id == INDICATOR

    client.cookies.clear()  # the iframe has no session
    page = client.get(link["adresse"])
    assert page.status_code == 200
    assert "Population des deux agglomérations" in page.text
    for code in (CALL, CAHC):  # the values of the cube, formatted the French way
        assert fmt.number(values[code], 0) in page.text
    assert page.headers["cache-control"] == "private, no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors *" in page.headers["content-security-policy"]


def test_tampered_or_expired_links_are_refused(setup):
    client, store, _values = setup
    csrf = log_in(client, "agent.call", "demo-partenaire-call")
    token = create(client, csrf).json()["adresse"].rsplit("/", 1)[1]
    client.cookies.clear()
    body, signature = token.split(".")
    # Another indicator in the payload, the old signature: refused.
    forged, _ = embeds.make(store, "agent.call", "chomeurs_1564", "epci")
    tampered = forged.split(".")[0] + "." + signature
    other_char = ("A" if signature[0] != "A" else "B") + signature[1:]
    for bad in (tampered, body + "." + other_char, body, "n'importe.quoi"):
        refused = client.get(f"/integration/{bad}")
        assert refused.status_code == 403 and "Lien d'intégration invalide" in refused.json()["detail"]
    old, view = embeds.make(store, "agent.call", INDICATOR, "epci", [CALL], days=1, at=1_000_000.0)
    assert view.expires_at == 1_000_000.0 + 86_400
    expired = client.get(f"/integration/{old}")
    assert expired.status_code == 403 and "expiré" in expired.json()["detail"]
    current = embeds.verify(store, token)  # 30 days by default
    assert current.indicator == INDICATOR and current.codes == (CALL, CAHC)
    with pytest.raises(embeds.EmbedRefused):
        embeds.verify(store, token, at=current.expires_at + 1)


def test_only_those_who_see_it_and_while_they_do(setup):
    client, store, _values = setup
    csrf = log_in(client, "agent.cahc", "demo-partenaire-cahc")
    assert create(client, csrf).status_code == 404  # CAHC does not see the indicator: as if it did not exist
    client.cookies.clear()
    assert client.post("/api/compte/integration", json={"indicateur": INDICATOR, "niveau": "epci"}).status_code == 401
    csrf = log_in(client, "agent.call", "demo-partenaire-call")
    assert client.post("/api/compte/integration", json={"indicateur": INDICATOR, "niveau": "epci"}).status_code == 403  # CSRF
    assert create(client, csrf, jours=400).status_code == 422
    link = create(client, csrf).json()["adresse"]
    client.cookies.clear()
    assert client.get(link).status_code == 200
    set_visibility(store, "indicator", INDICATOR, "restreint", ["CAHC"], by="test")  # no longer shared with the CALL
    try:
        gone = client.get(link)
        assert gone.status_code == 403 and "ne voit plus" in gone.json()["detail"]
    finally:
        set_visibility(store, "indicator", INDICATOR, "restreint", ["CALL"], by="test")


def test_account_page_form_creates_a_link(setup):
    client, _store, values = setup
    log_in(client, "agent.call", "demo-partenaire-call")
    page = client.get("/compte")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    form = {"indicateur": INDICATOR, "niveau": "epci", "codes": f"{CALL}", "jours": "7"}
    assert client.post("/compte/integration", data=form).status_code == 403  # no CSRF token
    made = client.post("/compte/integration", data={**form, "csrf": csrf})
    assert made.status_code == 201 and "data-embed-link" in made.text
    address = re.search(r'href="(/integration/[^"]+)"', made.text).group(1)
    client.cookies.clear()
    shown = client.get(address)
    assert shown.status_code == 200 and fmt.number(values[CALL], 0) in shown.text
    assert fmt.number(values[CAHC], 0) not in shown.text  # only the territories asked
