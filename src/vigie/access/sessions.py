"""Server-side sessions, their cookie, and the CSRF tokens that every state-changing request must carry.

Session. The cookie `vigie_session` holds 32 random bytes (URL-safe); the store keeps only their SHA-256, the
account, the session's CSRF token, and its times. A session ends at `expires_at` (absolute lifetime, 8 h by
default, `VIGIE_SESSION_HEURES`) or after `idle` seconds without a request (2 h), or at logout (its row is
deleted: the cookie is worthless at once). Cookie flags: HttpOnly, SameSite=Lax, Path=/, and Secure when the
request came over HTTPS (behind a proxy, run uvicorn with `--proxy-headers`), or always/never with
`VIGIE_COOKIE_SECURE=oui|non`.

CSRF. Logged in: a synchroniser token — each session has its own random token, put in every form (`csrf`
field) and given to scripts by `GET /api/compte` (header `X-CSRF-Token`); a POST without it, or with another
one, is refused (403). Before login (the login form itself): a signed double-submit token — a random nonce and
its HMAC under the store's secret, in a cookie `vigie_csrf` AND in the form; both must be present, equal and
correctly signed. Requests authenticated by an API token (`Authorization: Bearer …`) carry no ambient
credential and need no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from vigie.access.schema import AccessStore, now

SESSION_COOKIE = "vigie_session"
CSRF_COOKIE = "vigie_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
LIFETIME_VARIABLE = "VIGIE_SESSION_HEURES"
SECURE_VARIABLE = "VIGIE_COOKIE_SECURE"
DEFAULT_LIFETIME = 8 * 3600.0
DEFAULT_IDLE = 2 * 3600.0
_TOUCH_EVERY = 60.0  # last_seen_at is written at most once a minute per session


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    login: str
    csrf: str
    created_at: float
    expires_at: float


def configured_lifetime() -> float:
    text = os.environ.get(LIFETIME_VARIABLE, "").strip().replace(",", ".")
    try:
        hours = float(text) if text else 0.0
    except ValueError:
        hours = 0.0
    return hours * 3600.0 if hours > 0 else DEFAULT_LIFETIME


def cookie_secure(scheme: str) -> bool:
    setting = os.environ.get(SECURE_VARIABLE, "").strip().lower()
    if setting in ("oui", "1", "true", "yes"):
        return True
    if setting in ("non", "0", "false", "no"):
        return False
    return scheme == "https"


class Sessions:
    def __init__(self, store: AccessStore, lifetime: float | None = None, idle: float = DEFAULT_IDLE):
        self.store = store
        self.lifetime = configured_lifetime() if lifetime is None else lifetime
        self.idle = idle

    def create(self, login: str, ip: str | None = None, at: float | None = None) -> tuple[str, Session]:
        """A new session for `login`: (the cookie value, the session)."""
        at = now() if at is None else at
        session_id = secrets.token_urlsafe(32)
        session = Session(login, secrets.token_urlsafe(32), at, at + self.lifetime)
        with self.store.transaction():
            self.store.execute("DELETE FROM web_session WHERE expires_at <= ? OR last_seen_at <= ?", (at, at - self.idle))
            self.store.execute(
                "INSERT INTO web_session (id_hash, login, csrf, created_at, expires_at, last_seen_at, ip) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_digest(session_id), login, session.csrf, at, session.expires_at, at, ip))
        return session_id, session

    def lookup(self, session_id: str | None, at: float | None = None) -> Session | None:
        """The live session of this cookie value, or None (unknown, ended, expired or idle too long)."""
        if not session_id or len(session_id) > 200:
            return None
        at = now() if at is None else at
        key = _digest(session_id)
        rows = self.store.query(
            "SELECT s.login, s.csrf, s.created_at, s.expires_at, s.last_seen_at FROM web_session s "
            "JOIN account a ON a.login = s.login WHERE s.id_hash = ? AND a.active = ?", (key, True))
        if not rows:
            return None
        login, csrf, created, expires, seen = rows[0]
        if at >= float(expires) or at - float(seen) >= self.idle:
            self.store.execute("DELETE FROM web_session WHERE id_hash = ?", (key,))
            return None
        if at - float(seen) >= _TOUCH_EVERY:
            self.store.execute("UPDATE web_session SET last_seen_at = ? WHERE id_hash = ?", (at, key))
        return Session(login, csrf, float(created), float(expires))

    def end(self, session_id: str | None) -> bool:
        if not session_id:
            return False
        key = _digest(session_id)
        found = self.store.scalar("SELECT count(*) FROM web_session WHERE id_hash = ?", (key,))
        self.store.execute("DELETE FROM web_session WHERE id_hash = ?", (key,))
        return bool(found)

    def end_all(self, login: str) -> None:
        self.store.execute("DELETE FROM web_session WHERE login = ?", (login,))


# ---------------------------------------------------------------------------------------------- CSRF
def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


class AnonymousCsrf:
    """Signed double-submit tokens for forms shown before login."""

    def __init__(self, store: AccessStore):
        secret = store.scalar("SELECT value FROM access_meta WHERE key = 'csrf_secret'")
        if secret is None:
            candidate = secrets.token_hex(32)
            with store.transaction():
                store.execute("INSERT INTO access_meta (key, value) SELECT 'csrf_secret', ? WHERE NOT EXISTS "
                              "(SELECT 1 FROM access_meta WHERE key = 'csrf_secret')", (candidate,))
            secret = store.scalar("SELECT value FROM access_meta WHERE key = 'csrf_secret'")
        self._secret = bytes.fromhex(secret)

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._secret, nonce.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> str:
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._sign(nonce)}"

    def valid(self, cookie: str | None, field: str | None) -> bool:
        if not csrf_matches(cookie, field):
            return False
        nonce, _, signature = str(field).partition(".")
        return bool(nonce) and hmac.compare_digest(signature, self._sign(nonce))
