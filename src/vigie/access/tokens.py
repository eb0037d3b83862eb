"""Personal API tokens for scripts: `Authorization: Bearer vigie_<id>_<secret>`.

A token belongs to an account, has a name, scopes (`policy.SCOPES`: lecture, export, edition), an expiry
(1 to 365 days, 90 by default) and may be revoked. It is shown once, at creation; the store keeps only the
SHA-256 of the whole token (a token is 32 random bytes: a fast hash is enough, unlike passwords) and its `id`,
which is public (lists, revocation). Every request checks the store: a revocation, an expiry, or a deactivated
account take effect at the next request. A token never sees more than its owner does.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from vigie.access.policy import SCOPES
from vigie.access.schema import AccessStore, now
from vigie.errors import NotFoundError, VigieError

PREFIX = "vigie_"
DEFAULT_DAYS = 90
MAX_DAYS = 365
_TOKEN = re.compile(r"^vigie_([0-9a-f]{12})_([A-Za-z0-9_-]{40,50})$")


class InvalidTokenRequest(VigieError):
    http_status = 422


@dataclass(frozen=True)
class TokenInfo:
    id: str
    login: str
    name: str
    scopes: frozenset[str]
    created_at: float
    expires_at: float
    revoked_at: float | None
    last_used_at: float | None

    def state(self, at: float | None = None) -> str:
        at = now() if at is None else at
        if self.revoked_at is not None:
            return "révoqué"
        if at >= self.expires_at:
            return "expiré"
        return "actif"


def parse_scopes(scopes) -> frozenset[str]:
    """`"lecture,export"` or `["lecture", "export"]` → frozenset; unknown scopes are refused."""
    if isinstance(scopes, str):
        scopes = [s for s in re.split(r"[,\s]+", scopes) if s]
    chosen = frozenset(s.strip().lower() for s in scopes)
    unknown = sorted(chosen - set(SCOPES))
    if unknown:
        raise InvalidTokenRequest(f"Portée inconnue « {unknown[0]} » : portées possibles : {', '.join(SCOPES)}.")
    if not chosen:
        raise InvalidTokenRequest(f"Choisissez au moins une portée : {', '.join(SCOPES)}.")
    return chosen


def create(store: AccessStore, login: str, name: str, scopes, days: int = DEFAULT_DAYS,
           at: float | None = None) -> tuple[str, TokenInfo]:
    """A new token: (the token itself — show it once —, its description)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidTokenRequest("Donnez au jeton un nom de 1 à 100 caractères (à quoi sert-il ?).")
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise InvalidTokenRequest(f"Durée invalide « {days} » : un nombre de jours de 1 à {MAX_DAYS}.") from None
    if not 1 <= days <= MAX_DAYS:
        raise InvalidTokenRequest(f"Durée invalide « {days} » : un nombre de jours de 1 à {MAX_DAYS}.")
    chosen = parse_scopes(scopes)
    at = now() if at is None else at
    token_id = secrets.token_hex(6)
    token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    info = TokenInfo(token_id, login, name, chosen, at, at + days * 86400.0, None, None)
    store.execute(
        "INSERT INTO api_token (id, login, name, token_hash, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (token_id, login, name, hashlib.sha256(token.encode()).hexdigest(), ",".join(sorted(chosen)), at, info.expires_at))
    return token, info


def _info(row: tuple) -> TokenInfo:
    tid, login, name, scopes, created, expires, revoked, used = row
    return TokenInfo(tid, login, name, frozenset(s for s in scopes.split(",") if s), float(created), float(expires),
                     None if revoked is None else float(revoked), None if used is None else float(used))


_COLUMNS = "id, login, name, scopes, created_at, expires_at, revoked_at, last_used_at"


def tokens_of(store: AccessStore, login: str | None = None) -> list[TokenInfo]:
    """Tokens of `login` (all accounts' when None), newest first."""
    if login is None:
        rows = store.query(f"SELECT {_COLUMNS} FROM api_token ORDER BY created_at DESC")
    else:
        rows = store.query(f"SELECT {_COLUMNS} FROM api_token WHERE login = ? ORDER BY created_at DESC", (login,))
    return [_info(r) for r in rows]


def authenticate(store: AccessStore, token: str | None, at: float | None = None) -> TokenInfo | None:
    """The live token this string is, or None (malformed, unknown, revoked, expired, or owner inactive)."""
    match = _TOKEN.match(token or "")
    if not match:
        return None
    at = now() if at is None else at
    rows = store.query(f"SELECT {_COLUMNS}, token_hash FROM api_token t WHERE id = ? AND EXISTS "
                       "(SELECT 1 FROM account a WHERE a.login = t.login AND a.active = ?)", (match.group(1), True))
    if not rows:
        return None
    info, stored = _info(rows[0][:-1]), rows[0][-1]
    if not hmac.compare_digest(stored, hashlib.sha256(token.encode()).hexdigest()):
        return None
    if info.revoked_at is not None or at >= info.expires_at:
        return None
    if info.last_used_at is None or at - info.last_used_at >= 60:
        store.execute("UPDATE api_token SET last_used_at = ? WHERE id = ?", (at, info.id))
    return info


def revoke(store: AccessStore, token_id: str, login: str | None = None, at: float | None = None) -> TokenInfo:
    """Revoke a token (of `login` only, when given: someone else's token answers as unknown)."""
    rows = store.query(f"SELECT {_COLUMNS} FROM api_token WHERE id = ?", (token_id,))
    if not rows or (login is not None and rows[0][1] != login):
        raise NotFoundError(f"Aucun jeton n'a l'identifiant « {token_id} ».")
    info = _info(rows[0])
    if info.revoked_at is None:
        at = now() if at is None else at
        store.execute("UPDATE api_token SET revoked_at = ? WHERE id = ?", (at, token_id))
        info = _info(store.query(f"SELECT {_COLUMNS} FROM api_token WHERE id = ?", (token_id,))[0])
    return info
