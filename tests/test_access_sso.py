"""The single sign-on seam: a provider named by VIGIE_IDENTITE replaces the password form, with no other change.

`InstantProvider` is a complete provider whose "external service" answers at once: `start` sends the browser
straight back to Vigie's return address with the login as `code`, as an OpenID Connect service would after its
own login page (a real one would exchange the code for signed claims in `finish`).
"""

from __future__ import annotations

from typing import Mapping
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from vigie.access import accounts, audit
from vigie.access.identity import Identity, IdentityProvider
from vigie.access.schema import AccessStore, store_location
from vigie.access.sessions import SESSION_COOKIE
from vigie.publish.api import create_app
from vigie.warehouse import connect


class InstantProvider(IdentityProvider):
    name = "sso-essai"
    password_form = False

    def start(self, return_url: str, state: str) -> str:
        return f"{return_url}?{urlencode({'code': self.next_login, 'state': state})}"

    def finish(self, parameters: Mapping[str, str], state: str) -> Identity | None:
        code = parameters.get("code")
        return Identity(code, self.name) if code else None

    def describe(self) -> str:
        return "Connexion par le service d'authentification unique de l'essai."

    next_login = "agent.sso"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("VIGIE_IDENTITE", "tests.test_access_sso:InstantProvider")
    mp.delenv("VIGIE_ACCES", raising=False)
    path = tmp_path_factory.mktemp("sso") / "vigie.duckdb"
    connect(str(path)).close()
    store = AccessStore(store_location(str(path)))
    accounts.add_organisation(store, "CAHC", "CA d'Hénin-Carvin", "epci", "246200299")
    accounts.add_account(store, "agent.sso", "Agent authentifié ailleurs", provider="sso-essai")
    accounts.set_role(store, "agent.sso", "CAHC", "partner")
    accounts.add_account(store, "compte.local", "Compte local", "mot de passe local assez long")
    store.close()
    with TestClient(create_app(str(path))) as c:
        yield c
    mp.undo()


def test_sso_login_opens_a_session(client):
    client.cookies.clear()
    InstantProvider.next_login = "agent.sso"
    answer = client.get("/connexion", params={"suite": "/api/compte"})
    assert answer.status_code == 200 and answer.url.path == "/api/compte"  # followed: provider, return, target
    me = answer.json()
    assert me["login"] == "agent.sso" and me["organisations"][0]["id"] == "CAHC"
    assert SESSION_COOKIE in client.cookies
    store = client.app.state.context.access_control.store
    assert audit.entries(store, login="agent.sso", event="connexion")[0].detail == {"fournisseur": "sso-essai"}


def test_sso_refuses_unknown_local_and_forged(client):
    client.cookies.clear()
    for login in ("inconnu", "compte.local"):  # no account; an account of another provider
        InstantProvider.next_login = login
        answer = client.get("/connexion")
        assert answer.status_code == 401 and "pas ouvert" in answer.json()["detail"]
        assert SESSION_COOKIE not in client.cookies
    forged = client.get("/connexion/retour", params={"code": "agent.sso", "state": "abc.def"})
    assert forged.status_code == 403 and SESSION_COOKIE not in client.cookies
    refused = client.post("/connexion", data={"identifiant": "compte.local", "mot_de_passe": "mot de passe local assez long"})
    assert refused.status_code == 403 and "désactivée" in refused.json()["detail"]
