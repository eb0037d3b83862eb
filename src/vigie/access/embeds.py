"""Signed embed links: an iframe shows ONE restricted chart without a session.

Public views keep their plain `?embed=1` address. For a restricted indicator, a partner who sees it asks
`POST /api/compte/integration` for a link `/integration/<jeton>`: the token is the view (indicator, level, optional
territory codes), its author and its expiry, signed with HMAC-SHA256 and a server secret kept in the access store
(`access_meta`, key `embed_secret`, made on first use; deleting it voids every link). Opening the link checks, in
this order: the signature (a changed character → 403), the expiry (→ 403), and that the author's account is still
active and still sees the indicator by the ONE rule (`policy`) — a link never shows more than its author sees today.

The page itself (`/integration/…`) is drawn on the server (an SVG bar chart and its table, no script, no cookie),
sent with `Cache-Control: private, no-store`, `Referrer-Policy: no-referrer` (the token must not leak) and may be
framed by any site.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from vigie.access.schema import AccessStore, now
from vigie.errors import VigieError

DEFAULT_DAYS = 30
MAX_DAYS = 365
SECRET_KEY = "embed_secret"
INVALID = "Lien d'intégration invalide : il a été modifié ou n'a pas été créé par cet observatoire."
EXPIRED = "Lien d'intégration expiré : demandez un nouveau lien à son auteur."


class EmbedRefused(VigieError):
    http_status = 403


class InvalidEmbed(VigieError):
    http_status = 422


@dataclass(frozen=True)
class EmbedView:
    """What a signed link shows: an indicator at a level (optionally some territories), for its author."""

    indicator: str
    level: str
    codes: tuple[str, ...]
    author: str
    expires_at: float
    title: str | None = None

    def payload(self) -> dict:
        out = {"i": self.indicator, "l": self.level, "a": self.author, "e": int(self.expires_at)}
        if self.codes:
            out["c"] = list(self.codes)
        if self.title:
            out["t"] = self.title
        return out


def _secret(store: AccessStore) -> bytes:
    value = store.scalar("SELECT value FROM access_meta WHERE key = ?", (SECRET_KEY,))
    if value is None:
        with store.transaction():
            store.execute("INSERT INTO access_meta (key, value) SELECT ?, ? WHERE NOT EXISTS "
                          "(SELECT 1 FROM access_meta WHERE key = ?)", (SECRET_KEY, secrets.token_hex(32), SECRET_KEY))
        value = store.scalar("SELECT value FROM access_meta WHERE key = ?", (SECRET_KEY,))
    return bytes.fromhex(value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(store: AccessStore, body: str) -> str:
    return _b64(hmac.new(_secret(store), body.encode(), hashlib.sha256).digest())


def sign(store: AccessStore, view: EmbedView) -> str:
    """The token of a view: `<payload base64url>.<HMAC-SHA256 base64url>`."""
    body = _b64(json.dumps(view.payload(), separators=(",", ":"), ensure_ascii=False).encode())
    return f"{body}.{_signature(store, body)}"


def make(store: AccessStore, author: str, indicator: str, level: str, codes=(), days=DEFAULT_DAYS,
         title: str | None = None, at: float | None = None) -> tuple[str, EmbedView]:
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise InvalidEmbed(f"Durée « {days} » invalide : un nombre de jours entre 1 et {MAX_DAYS}.") from None
    if not 1 <= days <= MAX_DAYS:
        raise InvalidEmbed(f"Durée de validité hors limites : entre 1 et {MAX_DAYS} jours.")
    title = " ".join((title or "").split())[:200] or None
    view = EmbedView(indicator, level, tuple(str(c) for c in codes), author, (now() if at is None else at) + days * 86400,
                     title)
    return sign(store, view), view


def verify(store: AccessStore, token: str, at: float | None = None) -> EmbedView:
    """The view of a token, or 403 (tampered, malformed, or expired)."""
    body, dot, signature = (token or "").partition(".")
    if not dot or not body or not hmac.compare_digest(signature.encode(), _signature(store, body).encode()):
        raise EmbedRefused(INVALID)
    try:
        data = json.loads(_unb64(body))
        view = EmbedView(str(data["i"]), str(data["l"]), tuple(str(c) for c in data.get("c", ())), str(data["a"]),
                         float(data["e"]), data.get("t"))
    except (ValueError, KeyError, TypeError):
        raise EmbedRefused(INVALID) from None
    if (now() if at is None else at) >= view.expires_at:
        raise EmbedRefused(EXPIRED)
    return view
