"""What the web app uses: one `AccessService` per app (store, identity provider, sessions, login throttle), and
the FastAPI dependency `viewer(request) -> Viewer` that says who is asking.

Who is asking, in this order:
1. `Authorization: Bearer vigie_…` — a personal token: its owner, limited to the token's scopes. A header with a
   token that is unknown, revoked or expired answers 401 (a script must learn that its token no longer works).
2. the `vigie_session` cookie of a live session — its account, all scopes;
3. otherwise, anonymous (`policy.ANONYMOUS`).

For the endpoints (phase 2), see `policy`: `rules(request)` gives the visibility rules of this request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from fastapi import Request

from vigie.access import audit, identity, tokens
from vigie.access.identity import IdentityProvider
from vigie.access.policy import ANONYMOUS, Rules, Viewer
from vigie.access.ratelimit import LoginThrottle
from vigie.access.schema import AccessStore, now, open_store
from vigie.access.sessions import CSRF_HEADER, SESSION_COOKIE, AnonymousCsrf, Session, Sessions, csrf_matches
from vigie.errors import VigieError


class AuthenticationError(VigieError):
    """A request with credentials that do not work (an unknown, revoked or expired token)."""

    http_status = 401


class ForbiddenError(VigieError):
    """A request refused whoever makes it, e.g. a POST without its CSRF token."""

    http_status = 403


class TooManyAttempts(VigieError):
    http_status = 429


FAILED_LOGIN = "Identifiant ou mot de passe incorrect."


@dataclass(frozen=True)
class LoginOutcome:
    """`viewer`, `cookie` and `session` are set when the login succeeded; `wait` (seconds) when it was slowed."""

    viewer: Viewer | None = None
    cookie: str | None = None
    session: Session | None = None
    wait: float = 0.0

    @property
    def ok(self) -> bool:
        return self.viewer is not None


class AccessService:
    def __init__(self, store: AccessStore, provider: IdentityProvider | None = None, sessions: Sessions | None = None,
                 throttle: LoginThrottle | None = None):
        self.store = store
        self.provider = provider or identity.load_provider(store)
        self.sessions = sessions or Sessions(store)
        self.throttle = throttle or LoginThrottle(store)
        self.anonymous_csrf = AnonymousCsrf(store)

    # ------------------------------------------------------------------ login / logout
    def login(self, login: str, password: str, ip: str | None = None, at: float | None = None) -> LoginOutcome:
        """Check a password login; the same refusal whether the account exists or not."""
        at = now() if at is None else at
        login = (login or "").strip().lower()[:100]
        wait = self.throttle.wait(login, ip, at)
        if wait > 0:
            audit.record(self.store, "connexion_ralentie", login=login, ip=ip, outcome="refus", at=at)
            return LoginOutcome(wait=wait)
        found = self.provider.authenticate(login, password or "") if login else None
        viewer = identity.logged_in(self.store, found, at) if found else None
        if viewer is None:
            self.throttle.failed(login, ip, at)
            audit.record(self.store, "connexion_refusee", login=login, ip=ip, outcome="refus", at=at)
            return LoginOutcome()
        self.throttle.succeeded(login)
        return self._open_session(viewer, ip, at)

    def login_external(self, found: identity.Identity | None, ip: str | None = None) -> LoginOutcome:
        """Open a session for the identity an external provider vouched for (single sign-on), if its account
        exists, is active and belongs to that provider."""
        at = now()
        viewer = identity.logged_in(self.store, found, at) if found else None
        if viewer is None:
            audit.record(self.store, "connexion_refusee", login=found.login if found else None, ip=ip, outcome="refus",
                         detail={"fournisseur": self.provider.name}, at=at)
            return LoginOutcome()
        return self._open_session(viewer, ip, at)

    def _open_session(self, viewer: Viewer, ip: str | None, at: float) -> LoginOutcome:
        cookie, session = self.sessions.create(viewer.login, ip, at)
        audit.record(self.store, "connexion", login=viewer.login, ip=ip, at=at, detail={"fournisseur": self.provider.name})
        return LoginOutcome(viewer, cookie, session)

    def logout(self, cookie: str | None, ip: str | None = None) -> None:
        session = self.sessions.lookup(cookie)
        if self.sessions.end(cookie) and session is not None:
            audit.record(self.store, "deconnexion", login=session.login, ip=ip)

    # ------------------------------------------------------------------ requests
    def session_of(self, request: Request) -> Session | None:
        return self.sessions.lookup(request.cookies.get(SESSION_COOKIE))

    def viewer_of(self, request: Request) -> Viewer:
        cached = getattr(request.state, "vigie_viewer", None)
        if cached is not None:
            return cached
        found = self._viewer_of(request)
        request.state.vigie_viewer = found
        return found

    def _viewer_of(self, request: Request) -> Viewer:
        header = request.headers.get("authorization", "")
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer":
                raise AuthenticationError("En-tête « Authorization » non reconnu : attendu « Bearer <jeton>».")
            info = tokens.authenticate(self.store, value.strip())
            found = None if info is None else identity.viewer_for(
                self.store, info.login, via="token", scopes=info.scopes, token_id=info.id)
            if found is None:
                raise AuthenticationError("Jeton d'accès inconnu, révoqué ou expiré.")
            return found
        session = self.session_of(request)
        if session is not None:
            found = identity.viewer_for(self.store, session.login, via="session")
            if found is not None:
                return found
        return ANONYMOUS

    def check_csrf(self, request: Request, given: str | None = None) -> None:
        """Refuse (403) a state-changing request of a session without the session's CSRF token (form field
        `given`, or header `X-CSRF-Token`). Token-authenticated requests carry no cookie and need none."""
        viewer = self.viewer_of(request)
        if viewer.via == "token":
            return
        session = self.session_of(request)
        token = given if given is not None else request.headers.get(CSRF_HEADER)
        if session is None or not csrf_matches(session.csrf, token):
            raise ForbiddenError("Requête refusée : jeton de sécurité (CSRF) absent ou invalide. Rechargez la page.")

    def rules(self) -> Rules:
        return Rules.load(self.store)

    def close(self) -> None:
        self.store.close()


# ---------------------------------------------------------------------------------------------- per app
_creating = threading.Lock()


def service_for(context) -> AccessService:
    """The access service of an app's context (`vigie.publish.context.AppContext`), made on first use, its store
    beside the warehouse (`schema.store_location`)."""
    service = getattr(context, "access_control", None)
    if service is None:
        with _creating:
            service = getattr(context, "access_control", None)
            if service is None:
                service = AccessService(open_store(context.url))
                context.access_control = service
    return service


def client_ip(request: Request) -> str | None:
    """The client's address (behind a reverse proxy, run uvicorn with `--proxy-headers` so that it is the real one)."""
    return request.client.host if request.client else None


def viewer(request: Request) -> Viewer:
    """FastAPI dependency: who is asking (`Depends(viewer)`)."""
    return service_for(request.app.state.context).viewer_of(request)


def rules(request: Request) -> Rules:
    """FastAPI dependency: the visibility rules, read once per request (`Depends(rules)`)."""
    cached = getattr(request.state, "vigie_rules", None)
    if cached is None:
        cached = service_for(request.app.state.context).rules()
        request.state.vigie_rules = cached
    return cached
