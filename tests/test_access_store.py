"""Accounts, password hashes, sessions, API tokens, the login throttle and the audit log, on the access store."""

from __future__ import annotations

import re

import pytest

from vigie.access import accounts, audit, identity, passwords, tokens
from vigie.access.ratelimit import Limit, LoginThrottle
from vigie.access.schema import AccessStore, store_location
from vigie.access.service import AccessService
from vigie.access.sessions import AnonymousCsrf, Sessions
from vigie.errors import NotFoundError

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("acces")


@pytest.fixture(scope="module")
def store(folder):
    """One store for the module: each password hash costs the real argon2id price (~0.1 to 1 s)."""
    s = AccessStore(str(folder / "acces.sqlite"))
    accounts.add_organisation(s, "CALL", "CA de Lens-Liévin", "epci", "246200364")
    accounts.add_account(s, "Marie.Dupont@Exemple.fr", "Marie Dupont", PASSWORD)
    accounts.set_role(s, "marie.dupont@exemple.fr", "CALL", "éditeur")
    yield s
    s.close()


def test_store_location(monkeypatch):
    monkeypatch.delenv("VIGIE_ACCES", raising=False)
    assert store_location("/data/vigie.duckdb") == "/data/vigie-acces.sqlite"
    assert store_location("postgresql://u@h/base") == "postgresql://u@h/base"
    monkeypatch.setenv("VIGIE_ACCES", "/ailleurs/comptes.sqlite")
    assert store_location("/data/vigie.duckdb") == "/ailleurs/comptes.sqlite"


def test_password_stored_as_argon2id_never_in_clear(store, folder):
    stored = accounts.password_hash(store, "marie.dupont@exemple.fr")
    assert stored.startswith("$argon2id$v=19$")
    assert PASSWORD not in stored
    store.execute("PRAGMA wal_checkpoint(FULL)")
    for path in folder.iterdir():  # the database file and its journal
        assert PASSWORD.encode() not in path.read_bytes()
    assert passwords.verify(stored, PASSWORD)
    assert not passwords.verify(stored, PASSWORD + "!")
    assert not passwords.verify(None, PASSWORD)  # unknown account: a dummy check, always refused


def test_account_rules(store):
    found = accounts.account(store, "  MARIE.DUPONT@exemple.fr ")
    assert found.login == "marie.dupont@exemple.fr" and found.roles == {"CALL": "editor"}
    with pytest.raises(passwords.WeakPasswordError, match="au moins 12 caractères"):
        accounts.add_account(store, "court", "Court", "trop-court")
    with pytest.raises(accounts.ConflictError, match="existe déjà"):
        accounts.add_organisation(store, "CALL", "Doublon", "epci")
    with pytest.raises(accounts.InvalidValueError, match="SIREN invalide"):
        accounts.add_organisation(store, "X", "X", "epci", "12345")
    with pytest.raises(accounts.InvalidValueError, match="Rôle inconnu"):
        accounts.set_role(store, "marie.dupont@exemple.fr", "CALL", "chef")
    with pytest.raises(NotFoundError, match="Aucune organisation"):
        accounts.set_role(store, "marie.dupont@exemple.fr", "CAHC", "partner")


def test_local_provider_same_refusal_for_unknown_and_wrong(store):
    provider = identity.load_provider(store, "local")
    assert provider.authenticate("Marie.Dupont@exemple.fr", PASSWORD) == identity.Identity("marie.dupont@exemple.fr", "local")
    assert provider.authenticate("marie.dupont@exemple.fr", "mauvais mot de passe") is None
    assert provider.authenticate("personne@exemple.fr", PASSWORD) is None


def test_provider_from_configuration(store):
    from vigie.errors import ConfigurationError

    assert isinstance(identity.load_provider(store, "vigie.access.identity:LocalPasswords"), identity.LocalPasswords)
    with pytest.raises(ConfigurationError, match="Fournisseur d'identité introuvable"):
        identity.load_provider(store, "vigie.access.identity:Inexistant")
    with pytest.raises(ConfigurationError, match="n'est pas un fournisseur"):
        identity.load_provider(store, "vigie.access.policy:Viewer")


# ---------------------------------------------------------------------------------------------- sessions
def test_session_lifetime_idle_and_end(store):
    sessions = Sessions(store, lifetime=8 * 3600, idle=2 * 3600)
    login = "marie.dupont@exemple.fr"
    t0 = 1_800_000_000.0
    cookie, session = sessions.create(login, "10.0.0.1", at=t0)
    assert len(cookie) >= 43 and session.expires_at == t0 + 8 * 3600
    assert store.scalar("SELECT count(*) FROM web_session WHERE id_hash = ?", (cookie,)) == 0  # only its hash
    # used every hour: alive until the absolute lifetime
    for hour in range(1, 8):
        assert sessions.lookup(cookie, at=t0 + hour * 3600 - 1) is not None
    assert sessions.lookup(cookie, at=t0 + 8 * 3600) is None
    assert sessions.lookup(cookie, at=t0 + 3600) is None  # deleted when found expired

    idle_cookie, _ = sessions.create(login, at=t0)
    assert sessions.lookup(idle_cookie, at=t0 + 2 * 3600 - 1) is not None
    assert sessions.lookup(idle_cookie, at=t0 + 2 * 3600 - 1 + 2 * 3600) is None  # 2 h without a request

    ended, _ = sessions.create(login)
    assert sessions.lookup(ended) is not None
    assert sessions.end(ended)
    assert sessions.lookup(ended) is None
    assert sessions.lookup("forged-" + ended) is None


def test_deactivated_account_loses_sessions_and_tokens(store):
    accounts.add_account(store, "temporaire", "Compte temporaire", "un autre mot de passe long")
    sessions = Sessions(store)
    cookie, _ = sessions.create("temporaire")
    token, _ = tokens.create(store, "temporaire", "script", "lecture")
    assert sessions.lookup(cookie) is not None and tokens.authenticate(store, token) is not None
    accounts.set_active(store, "temporaire", False)
    assert sessions.lookup(cookie) is None
    assert tokens.authenticate(store, token) is None
    accounts.set_active(store, "temporaire", True)
    assert tokens.authenticate(store, token) is not None  # the token was not revoked, only suspended


def test_anonymous_csrf_is_signed(store):
    csrf = AnonymousCsrf(store)
    token = csrf.issue()
    assert csrf.valid(token, token)
    assert not csrf.valid(token, None) and not csrf.valid(None, token)
    assert not csrf.valid(token, csrf.issue())  # cookie and form must be the same token
    forged = "abc.0123456789abcdef0123456789abcdef"
    assert not csrf.valid(forged, forged)  # same value in both places, but not signed by this store
    assert AnonymousCsrf(store).valid(token, token)  # the secret is kept in the store


# ---------------------------------------------------------------------------------------------- tokens
def test_token_lifecycle(store):
    login = "marie.dupont@exemple.fr"
    t0 = 1_800_000_000.0
    token, info = tokens.create(store, login, "tableau de bord", "lecture, export", days=30, at=t0)
    assert re.fullmatch(r"vigie_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", token)
    assert info.scopes == {"lecture", "export"} and info.expires_at == t0 + 30 * 86400
    stored = store.query("SELECT token_hash FROM api_token WHERE id = ?", (info.id,))[0][0]
    assert token not in stored and len(stored) == 64

    assert tokens.authenticate(store, token, at=t0 + 10).login == login
    assert tokens.authenticate(store, token, at=t0 + 30 * 86400 - 1) is not None
    assert tokens.authenticate(store, token, at=t0 + 30 * 86400) is None  # expired
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert tokens.authenticate(store, tampered, at=t0 + 10) is None
    assert tokens.authenticate(store, "vigie_pas_un_jeton", at=t0) is None

    with pytest.raises(NotFoundError, match="Aucun jeton"):
        tokens.revoke(store, info.id, login="quelqu.un@exemple.fr")  # someone else's token: unknown
    revoked = tokens.revoke(store, info.id, login=login, at=t0 + 20)
    assert revoked.revoked_at == t0 + 20 and revoked.state(t0 + 21) == "révoqué"
    assert tokens.authenticate(store, token, at=t0 + 21) is None  # immediately


def test_token_requests_checked(store):
    login = "marie.dupont@exemple.fr"
    with pytest.raises(tokens.InvalidTokenRequest, match="Portée inconnue « tout »"):
        tokens.create(store, login, "x", "lecture,tout")
    with pytest.raises(tokens.InvalidTokenRequest, match="au moins une portée"):
        tokens.create(store, login, "x", [])
    with pytest.raises(tokens.InvalidTokenRequest, match="1 à 365"):
        tokens.create(store, login, "x", "lecture", days=400)
    with pytest.raises(tokens.InvalidTokenRequest, match="nom"):
        tokens.create(store, login, "  ", "lecture")


def test_token_scope_limits_the_viewer(store):
    token, info = tokens.create(store, "marie.dupont@exemple.fr", "lecture seule", ["lecture"])
    found = tokens.authenticate(store, token)
    viewer = identity.viewer_for(store, found.login, via="token", scopes=found.scopes, token_id=found.id)
    assert viewer.has_scope("lecture") and not viewer.has_scope("edition")
    assert viewer.organisations == {"CALL"}
    assert not viewer.can_edit("CALL")  # an editor's token without `edition` cannot edit


# ---------------------------------------------------------------------------------------------- throttle
def _attack(throttle: LoginThrottle, logins, seconds: int) -> int:
    """One try per second for `seconds`, cycling through `logins`; every try fails. Returns the tries allowed."""
    allowed = 0
    for t in range(seconds):
        login = logins[t % len(logins)]
        at = 1_800_000_000.0 + t
        if throttle.wait(login, "203.0.113.9", at) == 0:
            allowed += 1
            throttle.failed(login, "203.0.113.9", at)
    return allowed


def test_brute_force_on_one_account_is_bounded(tmp_path):
    throttle = LoginThrottle(AccessStore(str(tmp_path / "a.sqlite")))
    # 5 free tries, then waits of 30 s, 1, 2, 4, 8, 15, 15 min: tries at 34, 94, 214, 454, 934, 1834, 2734 s
    assert _attack(throttle, ["marie"], 3600) == 12
    assert throttle.store.scalar("SELECT count(*) FROM login_failure") == 24  # 12 per key (account, address)


def test_password_spraying_from_one_address_is_bounded(tmp_path):
    throttle = LoginThrottle(AccessStore(str(tmp_path / "a.sqlite")))
    logins = [f"compte{i}" for i in range(3600)]  # never the same account twice: only the address limit applies
    # 20 free tries, then 30 s, 1, 2, 4, 8, 15, 15 min after each: at 49, 109, 229, 469, 949, 1849, 2749 s
    assert _attack(throttle, logins, 3600) == 27


def test_throttle_window_and_success(tmp_path):
    throttle = LoginThrottle(AccessStore(str(tmp_path / "a.sqlite")),
                             account=Limit(free=2, base=10, ceiling=40, window=100), address=Limit(1000, 1, 1, 100))
    t0 = 1_800_000_000.0
    throttle.failed("marie", "ip", t0)
    assert throttle.wait("marie", "ip", t0 + 1) == 0
    throttle.failed("marie", "ip", t0 + 1)
    assert throttle.wait("marie", "ip", t0 + 2) == pytest.approx(9)  # 10 s after the last failure
    assert throttle.wait("MARIE ", "ip", t0 + 2) == pytest.approx(9)  # the same account, however typed
    assert throttle.wait("marie", "ip", t0 + 102) == 0  # both failures left the window
    throttle.succeeded("marie")
    assert throttle.wait("marie", "ip", t0 + 2) == 0


def test_login_while_slowed_refuses_even_the_right_password(store):
    service = AccessService(store)
    t0 = 1_800_000_000.0
    login = "marie.dupont@exemple.fr"
    for i in range(5):
        service.throttle.failed(login, "198.51.100.7", t0 + i)
    outcome = service.login(login, PASSWORD, "198.51.100.7", at=t0 + 10)
    assert not outcome.ok and outcome.wait == pytest.approx(24)  # 30 s after the failure at t0 + 4
    assert service.login(login, PASSWORD, "198.51.100.7", at=t0 + 40).ok  # allowed again: right password works
    assert service.throttle.wait(login, None, t0 + 41) == 0  # the success cleared the account's failures
    events = [e.event for e in audit.entries(store, login=login, limit=2)]
    assert events == ["connexion", "connexion_ralentie"]


def test_audit_entries(store):
    audit.record(store, "export", login="marie.dupont@exemple.fr", ip="10.0.0.2", object_kind="layer",
                 object_id="zae-call", detail={"format": "csv", "lignes": 12}, at=1_900_000_000.0)
    latest = audit.entries(store, event="export")[0]
    assert (latest.login, latest.object_id, latest.detail) == ("marie.dupont@exemple.fr", "zae-call",
                                                               {"format": "csv", "lignes": 12})
    with pytest.raises(ValueError):
        audit.record(store, "inconnu")
