"""The audit log: logins (accepted, refused, slowed), logouts, tokens created and revoked, account changes,
and — phase 2 — exports of restricted data and edits. Rows are only ever added.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from vigie.access.schema import AccessStore, now

EVENTS = {
    "connexion": "connexion",
    "connexion_refusee": "connexion refusée",
    "connexion_ralentie": "connexion refusée (trop de tentatives)",
    "deconnexion": "déconnexion",
    "jeton_cree": "jeton créé",
    "jeton_revoque": "jeton révoqué",
    "organisation_ajoutee": "organisation ajoutée",
    "compte_ajoute": "compte ajouté",
    "compte_modifie": "compte modifié",
    "visibilite": "visibilité modifiée",
    "export": "export de données restreintes",
    "edition": "modification",
    "etude_deposee": "étude déposée",
    "etude_supprimee": "étude supprimée",
    "integration_creee": "lien d'intégration signé créé",
}


@dataclass(frozen=True)
class Entry:
    at: float
    event: str
    login: str | None
    ip: str | None
    object_kind: str | None
    object_id: str | None
    outcome: str
    detail: dict[str, Any]


def record(store: AccessStore, event: str, *, login: str | None = None, ip: str | None = None,
           object_kind: str | None = None, object_id: str | None = None, outcome: str = "ok",
           detail: dict[str, Any] | None = None, at: float | None = None) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    store.execute(
        "INSERT INTO audit_log (at, event, login, ip, object_kind, object_id, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (now() if at is None else at, event, login, ip, object_kind, object_id, outcome,
         json.dumps(detail, ensure_ascii=False) if detail else None))


def entries(store: AccessStore, *, login: str | None = None, event: str | None = None, limit: int = 200) -> list[Entry]:
    """The latest entries first."""
    where, params = [], []
    if login is not None:
        where.append("login = ?")
        params.append(login)
    if event is not None:
        where.append("event = ?")
        params.append(event)
    sql = "SELECT at, event, login, ip, object_kind, object_id, outcome, detail FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = store.query(sql + " ORDER BY at DESC LIMIT ?", (*params, int(limit)))
    return [Entry(float(a), e, lg, ip, k, i, o, json.loads(d) if d else {}) for a, e, lg, ip, k, i, o, d in rows]
