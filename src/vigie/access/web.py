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
The forms are read without python-multipart (URL-encoded bodies; the study upload's multipart body is read by
`_multipart`, with the standard library).

Phase 2 (issue 9): the study library (`/etudes`, `/api/etudes…`, see `library`) and the signed embed links
(`POST /api/compte/integration`, `GET /integration/{jeton}`, see `embeds`) — routes in `library_routes` and
`embed_routes` below.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vigie import formatting as fmt
from vigie.access import accounts, audit, tokens
from vigie.access.policy import SCOPES, Viewer
from vigie.access.service import (FAILED_LOGIN, AccessService, AuthenticationError, ForbiddenError, client_ip,
                                  service_for, viewer)
from vigie.access.sessions import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, cookie_secure
from vigie.errors import NotFoundError, VigieError

NAVIGATION = [("etudes", "/etudes", "Études"), ("compte", "/compte", "Espace partenaires")]
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
                     status_code: int = 200, embed_link: dict | None = None) -> HTMLResponse:
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
                      message=message, scopes=SCOPES, default_days=tokens.DEFAULT_DAYS, max_days=tokens.MAX_DAYS,
                      embed_link=embed_link, levels=[(lv, lv) for lv in context.levels])

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

    library_routes(api, context, service, render)
    make_link = embed_routes(api, context, service)

    @api.post("/compte/integration", include_in_schema=False)
    async def compte_integration(request: Request):
        form = await _form(request)
        svc = service()
        me = session_viewer(request)
        if me is None:
            return to_login(request, "/compte")
        svc.check_csrf(request, form.get(CSRF_FIELD, ""))
        codes = [c for c in form.get("codes", "").replace(";", ",").replace(" ", ",").split(",") if c]
        try:
            link = make_link(request, me, form.get("indicateur", "").strip(), form.get("niveau", "").strip(), codes,
                             form.get("jours", "30"), form.get("titre"))
        except VigieError as exc:
            return account_page(request, me, message=exc.message, status_code=exc.http_status)
        return account_page(request, me, embed_link=link, status_code=201)

    return api


# ---------------------------------------------------------------------------------------------- study library
def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """(fields, files {name: (file name, bytes)}) of a multipart/form-data body, read with the standard library."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise ForbiddenError("Formulaire d'envoi illisible (multipart/form-data attendu).")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            files[name] = (filename, payload)
        else:
            fields[name] = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return fields, files


async def _limited_body(request: Request, limit: int) -> bytes:
    from vigie.access.library import StudyTooLarge

    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise StudyTooLarge(f"Envoi trop volumineux : {limit // (1024 * 1024)} Mo au plus.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise StudyTooLarge(f"Envoi trop volumineux : {limit // (1024 * 1024)} Mo au plus.")
        chunks.append(chunk)
    return b"".join(chunks)


def _study_json(study, prefix: str = "") -> dict[str, Any]:
    from vigie.access import library

    return {"id": study.id, "titre": study.title, "theme": study.theme, "theme_libelle": study.theme_label,
            "territoires": list(study.territories), "date": study.published_on, "fichier": study.file_name,
            "taille": study.size, "sha256": study.sha256, "organisation": study.owner,
            "visibilite": library.VISIBILITY_LABELS.get(study.visibility, study.visibility),
            "telechargement": f"{prefix}/api/etudes/{study.id}/fichier"}


def library_routes(api: APIRouter, context, service, render) -> None:
    from fastapi import Query
    from fastapi.responses import Response

    from vigie.access import library
    from vigie.access.service import rules as rules_of

    limit = library.MAX_BYTES + 256 * 1024  # the PDF and the form around it

    def can_upload(me: Viewer) -> bool:
        return me.has_scope("edition") and (me.admin or any(r == "editor" for r in me.roles.values()))

    def studies_page(request: Request, me: Viewer, status_code: int = 200, message: str | None = None,
                     values: dict | None = None):
        svc = service()
        q = request.query_params
        territory = q.get("territoire") or None
        found = library.search(svc.store, me, svc.rules(), text=q.get("q"), theme=q.get("theme") or None,
                               territory=territory)
        session = svc.session_of(request) if me.via == "session" else None
        names = context.names if territory or found else {}

        def place(t: str) -> str:
            level, _, code = t.partition(":")
            return names.get((level, code), code)

        rows = [{"id": s.id, "title": s.title, "theme": s.theme_label, "date": fmt.long_date(date.fromisoformat(s.published_on)),
                 "territories": ", ".join(place(t) for t in s.territories), "size": fmt.quantity(s.size / 1024 / 1024, "Mo", 1),
                 "visibility": library.VISIBILITY_LABELS.get(s.visibility, s.visibility)} for s in found]
        orgs = [(o.id, o.name) for o in accounts.organisations(svc.store)]
        return render(request, "etudes.html", "etudes", "Études — Vigie", status_code=status_code, studies=rows,
                      themes=library.THEMES, query={"q": q.get("q", ""), "theme": q.get("theme", ""), "territoire": territory or ""},
                      upload=can_upload(me) and session is not None, csrf=session.csrf if session else "",
                      organisations=orgs, message=message, values=values or {}, deposited=q.get("depot"),
                      max_mb=library.MAX_BYTES // (1024 * 1024))

    @api.get("/etudes", include_in_schema=False)
    def etudes(request: Request):
        return studies_page(request, service().viewer_of(request))

    @api.post("/etudes", include_in_schema=False)
    async def etudes_post(request: Request):
        svc = service()
        me = svc.viewer_of(request)
        body = await _limited_body(request, limit)
        fields, files = _multipart(request.headers.get("content-type", ""), body)
        svc.check_csrf(request, fields.get(CSRF_FIELD, ""))
        if not can_upload(me):
            raise ForbiddenError("Dépôt refusé : seuls les éditeurs et les administrateurs déposent des études.")
        name, content = files.get("fichier", ("", b""))
        orgs = [o for o in fields.get("organisations", "").replace(";", ",").split(",") if o.strip()]
        try:
            study = await run_in_threadpool(
                library.add, svc.store, me, content, title=fields.get("titre", ""), theme=fields.get("theme", ""),
                territories=fields.get("territoires", ""), published_on=fields.get("date", ""),
                visibility=fields.get("visibilite", "public"), organisations=[o.strip() for o in orgs], file_name=name)
        except VigieError as exc:
            return studies_page(request, me, exc.http_status, exc.message, fields)
        return _no_store(RedirectResponse(f"{_prefix(request)}/etudes?depot={study.id}", status_code=303))

    @api.get("/api/etudes", tags=["études"], summary="Bibliothèque d'études",
             description="Les études et notes (PDF) que la requête peut voir, les plus récentes d'abord ; filtres : "
                         "territoire (`niveau:code`, par exemple `epci:246200364`), thème, mots du titre (accents "
                         "ignorés). Une étude restreinte ou privée n'apparaît que pour les comptes qui la voient.")
    def api_studies(request: Request, territoire: str | None = Query(None, description="Territoire `niveau:code`."),
                    theme: str | None = Query(None, description="Thème : " + ", ".join(library.THEMES) + "."),
                    q: str | None = Query(None, description="Mots du titre."),
                    me: Viewer = Depends(viewer)) -> Response:
        svc = service()
        seen = rules_of(request)
        found = library.search(svc.store, me, seen, text=q, theme=theme, territory=territoire)
        from fastapi.responses import JSONResponse

        restricted = bool(seen.restricted_ids("document"))
        return JSONResponse({"count": len(found), "etudes": [_study_json(s, _prefix(request)) for s in found]},
                            headers={"Cache-Control": "private, no-store" if restricted else "public, max-age=60"})

    @api.get("/api/etudes/{study_id}", tags=["études"], summary="Une étude (métadonnées)",
             responses={404: {"description": "Étude inconnue (ou invisible pour ce compte)."}})
    def api_study(request: Request, study_id: str, me: Viewer = Depends(viewer)) -> dict[str, Any]:
        return _study_json(library.visible(service().store, me, rules_of(request), study_id), _prefix(request))

    def download(request: Request, study_id: str, me: Viewer):
        svc = service()
        study = library.visible(svc.store, me, rules_of(request), study_id)
        data = library.content(svc.store, study)
        public = study.visibility == "public"
        return Response(data, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{study.file_name}"',
            "Cache-Control": "public, max-age=3600" if public else "private, no-store",
            "X-Content-Type-Options": "nosniff"})

    @api.get("/api/etudes/{study_id}/fichier", tags=["études"], summary="Télécharger une étude (PDF)",
             response_class=Response,
             responses={200: {"content": {"application/pdf": {}}, "description": "Le PDF."},
                        404: {"description": "Étude inconnue (ou invisible pour ce compte)."}})
    def api_study_file(request: Request, study_id: str, me: Viewer = Depends(viewer)):
        return download(request, study_id, me)

    @api.get("/etudes/{study_id}.pdf", include_in_schema=False)
    def study_file(request: Request, study_id: str):
        return download(request, study_id, service().viewer_of(request))

    @api.post("/api/etudes", tags=["études"], summary="Déposer une étude (PDF)", status_code=201,
              description="Corps de la requête : le PDF lui-même (`Content-Type: application/pdf`, "
                          f"{library.MAX_BYTES // (1024 * 1024)} Mo au plus) ; métadonnées en paramètres. Réservé aux "
                          "éditeurs et administrateurs : session avec `X-CSRF-Token`, ou jeton de portée `edition`.",
              responses={401: {"description": "Connexion requise."}, 403: {"description": "Pas éditeur, ou CSRF absent."},
                         413: {"description": "Fichier trop volumineux."}, 422: {"description": "Pas un PDF, ou métadonnée invalide."}})
    async def api_upload(request: Request, titre: str = Query(..., description="Titre de l'étude."),
                         theme: str = Query(..., description="Thème : " + ", ".join(library.THEMES) + "."),
                         date: str = Query(..., description="Date de publication AAAA-MM-JJ."),
                         territoires: str = Query("", description="Territoires `niveau:code`, séparés par des virgules."),
                         visibilite: str = Query("public", description="public, restreint ou privé."),
                         organisations: str = Query("", description="Organisations d'une étude restreinte (virgules)."),
                         fichier: str = Query("etude.pdf", description="Nom du fichier."),
                         me: Viewer = Depends(viewer)) -> dict[str, Any]:
        if not me.authenticated:
            raise AuthenticationError("Connexion requise : connectez-vous ou utilisez un jeton d'accès.")
        svc = service()
        svc.check_csrf(request)
        body = await _limited_body(request, library.MAX_BYTES + 1)
        study = await run_in_threadpool(
            library.add, svc.store, me, body, title=titre, theme=theme, territories=territoires, published_on=date,
            visibility=visibilite, organisations=[o.strip() for o in organisations.split(",") if o.strip()], file_name=fichier)
        return _study_json(study, _prefix(request))

    @api.delete("/api/etudes/{study_id}", tags=["études"], summary="Supprimer une étude",
                responses={401: {"description": "Connexion requise."}, 403: {"description": "Pas éditeur de son organisation."},
                           404: {"description": "Étude inconnue (ou invisible pour ce compte)."}})
    def api_delete(request: Request, study_id: str, me: Viewer = Depends(viewer)) -> dict[str, Any]:
        if not me.authenticated:
            raise AuthenticationError("Connexion requise : connectez-vous ou utilisez un jeton d'accès.")
        svc = service()
        svc.check_csrf(request)
        library.visible(svc.store, me, rules_of(request), study_id)
        library.remove(svc.store, me, study_id)
        return {"supprime": study_id}


# ---------------------------------------------------------------------------------------------- signed embeds
class NewEmbed(BaseModel):
    indicateur: str = Field(..., description="Identifiant de l'indicateur (catalogue).")
    niveau: str = Field(..., description="Niveau des territoires montrés (commune, epci…).")
    codes: list[str] = Field([], description="Codes des territoires (tous ceux du niveau si vide, 40 au plus affichés).")
    jours: int = Field(30, description="Durée de validité du lien en jours (1 à 365).")
    titre: str | None = Field(None, description="Titre affiché au-dessus du graphique (libellé de l'indicateur par défaut).")


def embed_routes(api: APIRouter, context, service) -> None:
    from fastapi.responses import HTMLResponse as Html

    from vigie.access import embeds
    from vigie.access.identity import viewer_for
    from vigie.access.service import rules as rules_of

    def sees(me: Viewer, seen, indicator: str) -> bool:
        hidden_of = getattr(context, "hidden", None)
        if hidden_of is not None:
            try:
                return indicator not in hidden_of(me, seen).indicators
            except AttributeError:
                pass
        return seen.can_see(me, "indicator", indicator)

    @api.post("/api/compte/integration", tags=["compte"], status_code=201, summary="Créer un lien d'intégration signé",
              description="Pour montrer dans un iframe le graphique d'un indicateur restreint sans session : renvoie "
                          "une adresse `/integration/{jeton}` signée (HMAC-SHA256, secret du serveur) qui expire. Le "
                          "lien ne montre jamais plus que ce que son auteur voit encore au moment de l'affichage. Les "
                          "vues publiques gardent leur adresse `?embed=1`. Session avec `X-CSRF-Token`, ou jeton de "
                          "portée `lecture`.",
              responses={401: {"description": "Connexion requise."}, 403: {"description": "CSRF absent."},
                         404: {"description": "Indicateur ou niveau inconnu (ou invisible pour ce compte)."}})
    def create_embed(request: Request, body: NewEmbed, me: Viewer = Depends(viewer)) -> dict[str, Any]:
        if not me.authenticated:
            raise AuthenticationError("Connexion requise : connectez-vous ou utilisez un jeton d'accès.")
        service().check_csrf(request)
        return make_link(request, me, body.indicateur, body.niveau, body.codes, body.jours, body.titre)

    def make_link(request: Request, me: Viewer, indicator: str, level: str, codes: list[str], days, title) -> dict[str, Any]:
        svc = service()
        seen = rules_of(request)
        if not sees(me, seen, indicator):
            raise NotFoundError(f"L'indicateur « {indicator} » n'est pas au catalogue.")
        context.engine.indicator(indicator)
        context.check_level(level)
        token, view = embeds.make(svc.store, me.login, indicator, level, codes[:200], days, title)
        audit.record(svc.store, "integration_creee", login=me.login, ip=client_ip(request), object_kind="indicator",
                     object_id=indicator, detail={"niveau": level, "jours": days})
        path = f"{_prefix(request)}/integration/{token}"
        url = str(request.base_url).rstrip("/") + path
        return {"adresse": path, "url": url, "expire_le": _iso(view.expires_at),
                "iframe": f'<iframe src="{url}" width="640" height="480" style="border:0" title="Vigie"></iframe>'}

    @api.get("/integration/{token}", include_in_schema=False, response_class=Html)
    def show_embed(request: Request, token: str):
        svc = service()
        view = embeds.verify(svc.store, token)
        author = viewer_for(svc.store, view.author, via="session")
        seen = svc.rules()
        if author is None or not sees(author, seen, view.indicator):
            raise embeds.EmbedRefused("Lien d'intégration révoqué : son auteur ne voit plus cet indicateur.")
        html = embed_html(context, view)
        return Html(html, headers={"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer",
                                   "X-Robots-Tag": "noindex", "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *"})

    return make_link


def embed_html(context, view) -> str:
    """The page of a signed link: the indicator's latest values at the level as an SVG bar chart and its table."""
    from markupsafe import escape

    engine = context.engine
    definition = engine.indicator(view.indicator)
    with context.access.use():  # one request at a time on the shared connection (see publish/context.py)
        years = engine.years(view.indicator, view.level)
        frame = engine.values(view.indicator, view.level, list(view.codes) or None, years[-1:] if years else None)
    frame = frame[frame["value"].notna()].sort_values(["value", "code"], ascending=[False, True]).head(40)
    names = context.names
    decimals = int(getattr(definition, "decimals", 0) or 0)
    unit = getattr(definition, "unit", "") or ""
    rows = [(names.get((view.level, c), c), float(v)) for c, v in zip(frame["code"], frame["value"])]
    top = max((abs(v) for _n, v in rows), default=0.0) or 1.0
    bar_h, label_w, width = 18, 220, 640
    bars = []
    for i, (name, value) in enumerate(rows):
        y = i * (bar_h + 4)
        w = max(1.0, (width - label_w - 90) * abs(value) / top)
        text = fmt.quantity(value, unit, decimals) if unit and unit != "%" else (fmt.percent(value, decimals) if unit == "%" else fmt.number(value, decimals))
        bars.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(name[:34])}</text>'
                    f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#1f5f8b"></rect>'
                    f'<text x="{label_w + w + 4:.1f}" y="{y + 13}">{escape(text)}</text>')
    height = max(1, len(rows)) * (bar_h + 4)
    title = view.title or definition.label
    year = years[-1] if years else None
    table = "".join(f"<tr><th scope=\"row\">{escape(n)}</th><td>{escape(fmt.number(v, decimals))}</td></tr>" for n, v in rows)
    return (
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\">"
        f"<title>{escape(title)} — Vigie</title><style>body{{font:14px system-ui,sans-serif;margin:8px;color:#1b1b1b}}"
        "svg text{font-size:12px}table{border-collapse:collapse;margin-top:8px}td,th{padding:2px 8px;text-align:left}"
        "td{text-align:right}details{margin-top:8px}.note{color:#555;font-size:12px}</style></head><body>"
        f"<h1 style=\"font-size:16px\">{escape(title)}</h1>"
        f"<p class=\"note\">{escape(definition.label)}" + (f" — {year}" if year else "") + (f" ({escape(unit)})" if unit else "") + "</p>"
        f"<svg role=\"img\" aria-label=\"{escape(title)}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">"
        + "".join(bars) + "</svg>"
        + ("<p>Aucune valeur à afficher.</p>" if not rows else "")
        + f"<details><summary>Tableau des valeurs</summary><table><tbody>{table}</tbody></table></details>"
        "<p class=\"note\">Vue partagée par lien signé — Vigie, observatoire territorial.</p></body></html>")
