"""The partner space over HTTP: login, logout, CSRF, cookies, the account page, tokens through the JSON API."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

from vigie.access import accounts, audit
from vigie.access.schema import AccessStore, store_location
from vigie.access.service import FAILED_LOGIN
from vigie.access.sessions import SESSION_COOKIE
from vigie.publish.api import create_app

from tests.access_support import csrf_in
from vigie.warehouse import connect

LOGIN, PASSWORD = "agent.call", "mot de passe de la CALL"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.delenv("VIGIE_ACCES", raising=False)
    path = tmp_path_factory.mktemp("partenaires") / "vigie.duckdb"
    connect(str(path)).close()  # an empty warehouse is enough for the account pages
    store = AccessStore(store_location(str(path)))
    accounts.add_organisation(store, "CALL", "CA de Lens-Liévin", "epci", "246200364")
    accounts.add_account(store, LOGIN, "Agent de la CALL", PASSWORD)
    accounts.set_role(store, LOGIN, "CALL", "partner")
    store.close()
    yield create_app(str(path))
    mp.undo()


@pytest.fixture(scope="module")
def shared_client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def client(shared_client):
    shared_client.cookies.clear()
    return shared_client


def store_of(app) -> AccessStore:
    return app.state.context.access_control.store


def message_in(html: str) -> str | None:
    found = re.search(r"data-message>([^<]*)<", html)
    return found.group(1) if found else None


def with_session(client, app) -> str:
    """Log in without the password form (each argon2id check costs up to a second on a busy machine): a session
    made by the service, its cookie given to the client."""
    cookie, _ = app.state.context.access_control.sessions.create(LOGIN)
    client.cookies.set(SESSION_COOKIE, cookie)
    return cookie


def log_in(client, login=LOGIN, password=PASSWORD, suite="/compte"):
    page = client.get("/connexion", params={"suite": suite})
    assert page.status_code == 200
    return client.post("/connexion", data={"identifiant": login, "mot_de_passe": password, "csrf": csrf_in(page.text),
                                           "suite": suite}, follow_redirects=False)


def test_login_sets_a_hardened_session_cookie(client, app):
    answer = log_in(client)
    assert answer.status_code == 303 and answer.headers["location"] == "/compte"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see the HTTPS test
    page = client.get("/compte")
    assert page.status_code == 200 and "Agent de la CALL" in page.text and "CA de Lens-Liévin (CALL) : partenaire" in page.text
    assert "no-store" in page.headers["cache-control"]
    me = client.get("/api/compte").json()
    assert me["login"] == LOGIN and me["via"] == "session" and me["organisations"][0]["role"] == "partner"
    assert me["csrf"]
    assert audit.entries(store_of(app), login=LOGIN, event="connexion")


def test_wrong_password_and_unknown_account_get_the_same_answer(client, app):
    wrong = log_in(client, password="pas le bon mot de passe")
    unknown = log_in(client, login="personne.inconnue")
    assert wrong.status_code == unknown.status_code == 401
    assert message_in(wrong.text) == message_in(unknown.text) == FAILED_LOGIN
    strip = lambda html: re.sub(r'value="[^"]*"', "", html)  # noqa: E731  (CSRF tokens and the login typed)
    assert strip(wrong.text) == strip(unknown.text)
    assert SESSION_COOKIE not in client.cookies
    refused = [e.login for e in audit.entries(store_of(app), event="connexion_refusee")]
    assert LOGIN in refused and "personne.inconnue" in refused
    accounts_rows = store_of(app).scalar("SELECT count(*) FROM account WHERE login = 'personne.inconnue'")
    assert accounts_rows == 0
    store_of(app).execute("DELETE FROM login_failure")


def test_login_without_csrf_is_refused(client):
    client.get("/connexion")  # sets the CSRF cookie, but the form field is missing
    answer = client.post("/connexion", data={"identifiant": LOGIN, "mot_de_passe": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 403 and "jeton de sécurité" in message_in(answer.text)
    client.cookies.clear()
    page = client.get("/connexion")
    token = csrf_in(page.text)
    client.cookies.clear()  # a form token without its cookie (another browser): refused
    answer = client.post("/connexion", data={"identifiant": LOGIN, "mot_de_passe": PASSWORD, "csrf": token},
                         follow_redirects=False)
    assert answer.status_code == 403 and SESSION_COOKIE not in client.cookies


def test_logged_in_posts_need_the_session_csrf_token(client, app):
    with_session(client, app)
    assert client.post("/compte/jetons", data={"nom": "x", "portees": "lecture"}).status_code == 403
    assert client.post("/compte/jetons", data={"nom": "x", "portees": "lecture", "csrf": "faux"}).status_code == 403
    assert client.post("/api/compte/jetons", json={"nom": "x"}).status_code == 403
    assert client.post("/deconnexion", data={}, follow_redirects=False).status_code == 403
    assert store_of(app).scalar("SELECT count(*) FROM api_token WHERE name = 'x'") == 0
    assert client.get("/api/compte").json()["authenticated"]  # still logged in


def test_logout_invalidates_the_session(client, app):
    cookie = with_session(client, app)
    page = client.get("/deconnexion")
    answer = client.post("/deconnexion", data={"csrf": csrf_in(page.text)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert answer.headers["set-cookie"].startswith(f'{SESSION_COOKIE}=""') and "Max-Age=0" in answer.headers["set-cookie"]
    # the old cookie, replayed, is worthless
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    assert client.get("/api/compte").json() == {"authenticated": False}
    assert client.get("/compte", follow_redirects=False).headers["location"] == "/connexion?suite=/compte"
    assert audit.entries(store_of(app), login=LOGIN, event="deconnexion")


def test_tokens_through_the_api(client, app):
    with_session(client, app)
    csrf = client.get("/api/compte").json()["csrf"]
    made = client.post("/api/compte/jetons", json={"nom": "script SIG", "portees": ["lecture"], "jours": 7},
                       headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    token, token_id = made.json()["jeton"], made.json()["id"]
    assert made.json()["portees"] == ["lecture"] and made.json()["etat"] == "actif"
    listed = client.get("/api/compte/jetons").json()
    assert token_id in [t["id"] for t in listed["tokens"]] and token not in str(listed)

    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/compte", headers=bearer).json()
    assert me["login"] == LOGIN and me["via"] == "token" and me["scopes"] == ["lecture"] and me["csrf"] is None
    refused = client.post("/api/compte/jetons", json={"nom": "autre"}, headers=bearer)
    assert refused.status_code == 403 and "ne peut pas créer" in refused.json()["detail"]

    assert client.delete(f"/api/compte/jetons/{token_id}", headers=bearer).json()["etat"] == "révoqué"
    gone = client.get("/api/compte", headers=bearer)  # the very next request
    assert gone.status_code == 401 and gone.json()["detail"] == "Jeton d'accès inconnu, révoqué ou expiré."
    assert client.get("/api/compte", headers={"Authorization": "Basic abc"}).status_code == 401
    events = [e.event for e in audit.entries(store_of(app), login=LOGIN) if e.object_id == token_id]
    assert events == ["jeton_revoque", "jeton_cree"]


def test_token_pages_create_once_and_revoke(client, app):
    with_session(client, app)
    page = client.get("/compte")
    made = client.post("/compte/jetons", data={"nom": "tableur", "portees": ["lecture", "export"], "jours": "30",
                                               "csrf": csrf_in(page.text)})
    assert made.status_code == 201
    token = re.search(r"<code>(vigie_[^<]+)</code>", made.text).group(1)
    assert token not in client.get("/compte").text  # shown once
    token_id = token.split("_")[1]
    assert client.get("/api/compte", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    revoked = client.post(f"/compte/jetons/{token_id}/revoquer", data={"csrf": csrf_in(page.text)}, follow_redirects=False)
    assert revoked.status_code == 303
    assert client.get("/api/compte", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    bad = client.post("/compte/jetons", data={"nom": "x", "portees": "tout", "csrf": csrf_in(page.text)})
    assert bad.status_code == 422 and "Portée inconnue" in message_in(bad.text)


def test_repeated_failures_slow_the_login_down(client, app):
    store = store_of(app)
    store.execute("DELETE FROM login_failure")
    throttle = app.state.context.access_control.throttle
    for i in range(4):  # four failures in the last seconds (recorded as a failed login does), the fifth by the form
        throttle.failed(LOGIN, "testclient", time.time() - 10 + i)
    assert log_in(client, password="essai numéro 5").status_code == 401
    slowed = log_in(client)  # even the right password, now
    assert slowed.status_code == 429 and "Trop de tentatives" in message_in(slowed.text)
    assert SESSION_COOKIE not in client.cookies
    assert log_in(client, login="quelqu.un.d.autre").status_code == 401  # other accounts are not locked by it
    store.execute("DELETE FROM login_failure")
    assert log_in(client).status_code == 303


def test_https_cookie_is_secure_and_redirects_stay_local(app):
    with TestClient(app, base_url="https://observatoire.exemple.fr") as secure:
        answer = log_in(secure, suite="https://ailleurs.exemple.com/piege")
        assert answer.status_code == 303 and answer.headers["location"] == "/compte"
        assert "Secure" in answer.headers["set-cookie"]
