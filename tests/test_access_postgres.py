"""The access store on PostgreSQL: the schema `vigie_access` of the warehouse's database, written through its own
connection while the app's warehouse connection stays read-only."""

from __future__ import annotations

import pytest

from vigie.access import accounts, audit, identity, policy, tokens
from vigie.access.policy import ANONYMOUS, Rules
from vigie.access.ratelimit import LoginThrottle
from vigie.access.schema import AccessStore, store_location
from vigie.access.sessions import Sessions
from vigie.publish.context import open_read_only
from vigie.warehouse import connect

pytestmark = pytest.mark.postgres


def test_store_in_the_warehouse_database(pg_url, monkeypatch):
    monkeypatch.delenv("VIGIE_ACCES", raising=False)
    connect(pg_url).close()
    warehouse = open_read_only(pg_url)
    assert store_location(pg_url) == pg_url
    store = AccessStore(store_location(pg_url))
    try:
        store.ensure_schema()  # idempotent
        accounts.add_organisation(store, "CAHC", "CA d'Hénin-Carvin", "epci", "246200299")
        accounts.add_account(store, "agent.cahc", "Agent de la CAHC", "mot de passe de la CAHC")
        accounts.set_role(store, "agent.cahc", "CAHC", "partenaire")
        assert identity.LocalPasswords(store).authenticate("agent.cahc", "mot de passe de la CAHC") is not None

        sessions = Sessions(store)
        cookie, _ = sessions.create("agent.cahc", "10.1.1.1", at=1_800_000_000.0)
        assert sessions.lookup(cookie, at=1_800_000_100.0).login == "agent.cahc"
        token, info = tokens.create(store, "agent.cahc", "script", "lecture")
        assert tokens.authenticate(store, token).id == info.id
        tokens.revoke(store, info.id)
        assert tokens.authenticate(store, token) is None

        policy.set_visibility(store, "dataset", "sirene-diffusion-partielle", "restreint", ["CAHC"])
        viewer = identity.viewer_for(store, "agent.cahc", via="session")
        rules = Rules.load(store)
        assert rules.can_see(viewer, "dataset", "sirene-diffusion-partielle")
        assert not rules.can_see(ANONYMOUS, "dataset", "sirene-diffusion-partielle")

        throttle = LoginThrottle(store)
        for i in range(5):
            throttle.failed("agent.cahc", "10.1.1.1", 1_800_000_000.0 + i)
        assert throttle.wait("agent.cahc", "10.1.1.1", 1_800_000_010.0) == pytest.approx(24)
        audit.record(store, "connexion", login="agent.cahc", ip="10.1.1.1")
        assert audit.entries(store, login="agent.cahc")[0].event == "connexion"

        # the tables live in their own schema, not among the warehouse's
        names = {r[0] for r in warehouse.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'vigie_access'")}
        assert {"account", "web_session", "api_token", "visibility", "audit_log"} <= names
        assert "account" not in {r[0] for r in warehouse.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
    finally:
        store.close()
        warehouse.close()
