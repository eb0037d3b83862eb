"""Partner space pages and JSON API: log in, log out, my account and my API tokens.

Pages (server-rendered forms, no script needed; every POST carries a CSRF token, see `sessions`):
- `GET/POST /connexion` — the login form (`?suite=/chemin` — a local path — is where to go afterwards); with a
  single sign-on provider (`identity`), a redirection to it instead, and `GET /connexion/retour` on its way back
  (the `state` checked against a signed cookie);
- `GET/POST /deconnexion` — a confirmation button, then the session is deleted;
- `GET /compte` — my account, organisations, roles and tokens; `POST /compte/jetons` creates a token (shown
  once), `POST /compte/jetons/{id}/revoquer` revokes one.

JSON, under `/api/compte`: `GET` (who am I; the session's CSRF token for scripts of the site), `GET /jetons`,
`POST /jetons` (session + header `X-CSRF-Token`: a token cannot make tokens), `DELETE /jetons/{id}`.
The forms are read without python-multipart (URL-encoded bodies only).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vigie import formatting as fmt
from vigie.access import accounts, audit, tokens
from vigie.access.policy import SCOPES, Viewer
from vigie.access.service import (FAILED_LOGIN, AccessService, AuthenticationError, ForbiddenError, client_ip,
                                  service_for, viewer)
from vigie.access.sessions import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, cookie_secure
from vigie.errors import VigieError

NAVIGATION = [("compte", "/compte", "Espace partenaires")]
TAG = {"name": "compte", "description": "Compte de l'utilisateur connecté et ses jetons d'accès personnels."}
_MAX_FORM = 16_384
SSO_STATE_COOKIE = "vigie_sso_etat"
SSO_NEXT_COOKIE = "vigie_sso_suite"


def _date(at: float | None) -> str:
    if at is None:
        return "—"
    return time.strftime("%d/%m/%Y %H:%M", time.gmtime(at)) + " UTC"


def _token_json(info: tokens.TokenInfo) -> dict[str, Any]:
    return {
        "id": info.id, "nom": info.name, "portees": sorted(info.scopes), "etat": info.state(),
        "cree_le": _iso(info.created_at), "expire_le": _iso(info.expires_at), "revoque_le": _iso(info.revoked_at),
        "utilise_le": _iso(info.last_used_at),
    }


def _iso(at: float | None) -> str | None:
    return None if at is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


class NewToken(BaseModel):
    nom: str = Field(..., description="À quoi sert le jeton (1 à 100 caractères).")
    portees: list[str] = Field(["lecture"], description="Portées : " + ", ".join(f"`{k}` ({v})" for k, v in SCOPES.items()))
    jours: int = Field(tokens.DEFAULT_DAYS, description=f"Durée de validité en jours (1 à {tokens.MAX_DAYS}).")


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > _MAX_FORM:
        raise ForbiddenError("Formulaire trop volumineux.")
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}


def _form_lists(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def _safe_next(target: str | None, default: str = "/compte") -> str:
    """Only a local path: no scheme, no `//host`, no backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or any(c in target for c in "\\\r\n"):
        return default
    return target


def _prefix(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def router(context) -> APIRouter:
    api = APIRouter()

    def service() -> AccessService:
        return service_for(context)

    def render(request: Request, template: str, page: str, title: str, status_code: int = 200, **values):
        response = request.app.state.render(request, template, page, title, status_code=status_code, **values)
        return _no_store(response)

    # ------------------------------------------------------------------ login
    def login_page(request: Request, status_code: int = 200, message: str | None = None, suite: str = "/compte",
                   login: str = "") -> HTMLResponse:
        csrf = service().anonymous_csrf.issue()
        response = render(request, "connexion.html", "compte", "Connexion — Vigie", status_code=status_code,
                          mode="login", csrf=csrf, message=message, suite=suite, login=login,
                          provider_text=service().provider.describe())
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="lax", path="/",
                            secure=cookie_secure(request.url.scheme))
        return response

    @api.get("/connexion", include_in_schema=False)
    def connexion(request: Request, suite: str | None = None):
        target = _safe_next(suite)
        svc = service()
        if svc.viewer_of(request).via == "session":
            return RedirectResponse(_prefix(request) + target, status_code=303)
        if not svc.provider.password_form:  # single sign-on: off to the external service, back on /connexion/retour
            state = svc.anonymous_csrf.issue()
            back = str(request.url_for("connexion_retour"))
            response = RedirectResponse(svc.provider.start(back, state), status_code=303)
            secure = cookie_secure(request.url.scheme)
            response.set_cookie(SSO_STATE_COOKIE, state, httponly=True, samesite="lax", path="/", secure=secure, max_age=600)
            response.set_cookie(SSO_NEXT_COOKIE, quote(target), httponly=True, samesite="lax", path="/", secure=secure,
                                max_age=600)
            return _no_store(response)
        return login_page(request, suite=target)

    @api.get("/connexion/retour", include_in_schema=False, name="connexion_retour")
    def connexion_retour(request: Request):
        """Where an external identity provider sends the browser back (single sign-on)."""
        svc = service()
        state = request.query_params.get("state")
        if svc.provider.password_form or not svc.anonymous_csrf.valid(request.cookies.get(SSO_STATE_COOKIE), state):
            raise ForbiddenError("Retour de connexion invalide ou expiré : recommencez depuis « /connexion ».")
        found = svc.provider.finish(dict(request.query_params), state)
        outcome = svc.login_external(found, client_ip(request))
        if not outcome.ok:
            raise AuthenticationError("Connexion refusée : ce compte n'est pas ouvert dans l'observatoire. "
                                      "Contactez l'agence.")
        target = _safe_next(unquote(request.cookies.get(SSO_NEXT_COOKIE, "")))
        response = RedirectResponse(_prefix(request) + target, status_code=303)
        response.set_cookie(SESSION_COOKIE, outcome.cookie, httponly=True, samesite="lax", path="/",
                            secure=cookie_secure(request.url.scheme), max_age=int(svc.sessions.lifetime))
        response.delete_cookie(SSO_STATE_COOKIE, path="/")
        response.delete_cookie(SSO_NEXT_COOKIE, path="/")
        return _no_store(response)

    @api.post("/connexion", include_in_schema=False)
    async def connexion_post(request: Request):
        form = await _form(request)
        target = _safe_next(form.get("suite"))
        login = form.get("identifiant", "").strip()
        svc = service()
        if not svc.provider.password_form:
            raise ForbiddenError("La connexion par mot de passe est désactivée : passez par « /connexion ».")
        if not svc.anonymous_csrf.valid(request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD)):
            return login_page(request, 403, "Formulaire expiré ou invalide (jeton de sécurité) : recommencez.", target, login)
        outcome = await run_in_threadpool(svc.login, login, form.get("mot_de_passe", ""), client_ip(request))
        if outcome.wait > 0:
            minutes = max(1, round(outcome.wait / 60))
            text = f"Trop de tentatives de connexion : réessayez dans {fmt.number(minutes)} minute{'s' if minutes > 1 else ''}."
            return login_page(request, 429, text, target, login)
        if not outcome.ok:
            return login_page(request, 401, FAILED_LOGIN, target, login)
        response = RedirectResponse(_prefix(request) + target, status_code=303)
        response.set_cookie(SESSION_COOKIE, outcome.cookie, httponly=True, samesite="lax", path="/",
                            secure=cookie_secure(request.url.scheme), max_age=int(svc.sessions.lifetime))
        response.delete_cookie(CSRF_COOKIE, path="/")
        return _no_store(response)

    # ------------------------------------------------------------------ logout
    @api.get("/deconnexion", include_in_schema=False)
    def deconnexion(request: Request):
        session = service().session_of(request)
        if session is None:
            return RedirectResponse(_prefix(request) + "/", status_code=303)
        return render(request, "connexion.html", "compte", "Déconnexion — Vigie", mode="logout", csrf=session.csrf,
                      login=session.login, message=None, suite="/")

    @api.post("/deconnexion", include_in_schema=False)
    async def deconnexion_post(request: Request):
        form = await _form(request)
        svc = service()
        if svc.session_of(request) is not None:
            svc.check_csrf(request, form.get(CSRF_FIELD, ""))
            await run_in_threadpool(svc.logout, request.cookies.get(SESSION_COOKIE), client_ip(request))
        response = RedirectResponse(_prefix(request) + "/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return _no_store(response)

    # ------------------------------------------------------------------ my account (page)
    def account_page(request: Request, me: Viewer, new_token: str | None = None, message: str | None = None,
                     status_code: int = 200) -> HTMLResponse:
        svc = service()
        session = svc.session_of(request)
        names = {o.id: o.name for o in accounts.organisations(svc.store)}
        memberships = [{"id": org, "name": names.get(org, org), "role": accounts.ROLES.get(role, role)}
                       for org, role in sorted(me.roles.items())]
        listed = [{"id": t.id, "name": t.name, "scopes": ", ".join(sorted(t.scopes)), "state": t.state(),
                   "created": _date(t.created_at), "expires": _date(t.expires_at), "used": _date(t.last_used_at)}
                  for t in tokens.tokens_of(svc.store, me.login)]
        return render(request, "compte.html", "compte", "Mon compte — Vigie", status_code=status_code, me=me,
                      memberships=memberships, tokens=listed, csrf=session.csrf if session else "", new_token=new_token,
                      message=message, scopes=SCOPES, default_days=tokens.DEFAULT_DAYS, max_days=tokens.MAX_DAYS)

    def session_viewer(request: Request) -> Viewer | None:
        me = service().viewer_of(request)
        return me if me.via == "session" else None

    def to_login(request: Request, path: str) -> RedirectResponse:
        return RedirectResponse(f"{_prefix(request)}/connexion?suite={quote(path)}", status_code=303)

    @api.get("/compte", include_in_schema=False)
    def compte(request: Request):
        me = session_viewer(request)
        if me is None:
            return to_login(request, "/compte")
        return account_page(request, me)

    @api.post("/compte/jetons", include_in_schema=False)
    async def compte_jeton(request: Request):
        body = await request.body()
        if len(body) > _MAX_FORM:
            raise ForbiddenError("Formulaire trop volumineux.")
        fields = _form_lists(body)
        svc = service()
        me = session_viewer(request)
        if me is None:
            return to_login(request, "/compte")
        svc.check_csrf(request, (fields.get(CSRF_FIELD) or [""])[-1])
        try:
            token, info = tokens.create(svc.store, me.login, (fields.get("nom") or [""])[-1], fields.get("portees", []),
                                        (fields.get("jours") or [tokens.DEFAULT_DAYS])[-1])
        except VigieError as exc:
            return account_page(request, me, message=exc.message, status_code=exc.http_status)
        audit.record(svc.store, "jeton_cree", login=me.login, ip=client_ip(request), object_kind="jeton",
                     object_id=info.id, detail={"portees": sorted(info.scopes)})
        return account_page(request, me, new_token=token, status_code=201)

    @api.post("/compte/jetons/{token_id}/revoquer", include_in_schema=False)
    async def compte_revoquer(request: Request, token_id: str):
        form = await _form(request)
        svc = service()
        me = session_viewer(request)
        if me is None:
            return to_login(request, "/compte")
        svc.check_csrf(request, form.get(CSRF_FIELD, ""))
        tokens.revoke(svc.store, token_id, login=me.login)
        audit.record(svc.store, "jeton_revoque", login=me.login, ip=client_ip(request), object_kind="jeton",
                     object_id=token_id)
        return _no_store(RedirectResponse(_prefix(request) + "/compte", status_code=303))

    # ------------------------------------------------------------------ JSON
    def required(me: Viewer) -> Viewer:
        if not me.authenticated:
            raise AuthenticationError("Connexion requise : connectez-vous sur « /connexion » ou utilisez un jeton d'accès.")
        return me

    @api.get("/api/compte", tags=["compte"], summary="Qui suis-je ?",
             description="Le compte de la requête (session ou jeton), ses organisations et rôles, ses portées ; pour "
                         "une session, son jeton CSRF à envoyer dans l'en-tête `X-CSRF-Token` des requêtes qui "
                         "modifient quelque chose. Sans connexion : `authenticated` vaut `false`.")
    def me_json(request: Request, me: Viewer = Depends(viewer)) -> dict[str, Any]:
        if not me.authenticated:
            return {"authenticated": False}
        session = service().session_of(request) if me.via == "session" else None
        names = {o.id: o.name for o in accounts.organisations(service().store)}
        return {
            "authenticated": True, "login": me.login, "name": me.name, "admin": me.admin, "agency": me.agency,
            "via": me.via, "scopes": sorted(me.scopes),
            "organisations": [{"id": org, "name": names.get(org, org), "role": role} for org, role in sorted(me.roles.items())],
            "csrf": session.csrf if session else None,
        }

    @api.get("/api/compte/jetons", tags=["compte"], summary="Mes jetons d'accès",
             description="Les jetons du compte connecté (jamais leur valeur, montrée une seule fois à la création).",
             responses={401: {"description": "Connexion requise."}})
    def my_tokens(me: Viewer = Depends(viewer)) -> dict[str, Any]:
        required(me)
        items = [_token_json(t) for t in tokens.tokens_of(service().store, me.login)]
        return {"count": len(items), "tokens": items}

    @api.post("/api/compte/jetons", tags=["compte"], summary="Créer un jeton d'accès", status_code=201,
              description="Crée un jeton personnel (portées, durée) et le renvoie UNE seule fois dans `jeton`. "
                          "Réservé à une session (en-tête `X-CSRF-Token` obligatoire) : un jeton ne crée pas de jeton.",
              responses={401: {"description": "Connexion requise."}, 403: {"description": "Jeton CSRF absent ou invalide."}})
    def create_token(request: Request, body: NewToken, me: Viewer = Depends(viewer)) -> dict[str, Any]:
        required(me)
        if me.via != "session":
            raise ForbiddenError("Un jeton d'accès ne peut pas créer de jeton : connectez-vous.")
        svc = service()
        svc.check_csrf(request)
        token, info = tokens.create(svc.store, me.login, body.nom, body.portees, body.jours)
        audit.record(svc.store, "jeton_cree", login=me.login, ip=client_ip(request), object_kind="jeton",
                     object_id=info.id, detail={"portees": sorted(info.scopes)})
        return {"jeton": token, **_token_json(info)}

    @api.delete("/api/compte/jetons/{token_id}", tags=["compte"], summary="Révoquer un jeton d'accès",
                description="Révoque immédiatement un jeton du compte (session avec `X-CSRF-Token`, ou jeton d'accès).",
                responses={401: {"description": "Connexion requise."}, 404: {"description": "Jeton inconnu."}})
    def revoke_token(request: Request, token_id: str, me: Viewer = Depends(viewer)) -> dict[str, Any]:
        required(me)
        svc = service()
        svc.check_csrf(request)
        info = tokens.revoke(svc.store, token_id, login=me.login)
        audit.record(svc.store, "jeton_revoque", login=me.login, ip=client_ip(request), object_kind="jeton",
                     object_id=token_id)
        return _token_json(info)

    return api
