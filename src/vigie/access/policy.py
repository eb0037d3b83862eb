"""The ONE visibility rule: who may see a dataset, a layer, an indicator, a document.

Each object (kind, id) is, by a row of the `visibility` table:
- `public` — everyone, without an account (an object without a row is public: all open data stays public);
- `restricted` — the organisations listed in `visibility_organisation`, plus the agency;
- `private` — the agency only.

"The agency" means administrators and the members (any role) of an organisation marked `agency`. A personal API
token sees what its owner sees only if it has the scope `lecture`; without it, it sees what the public sees.

Everything that decides visibility goes through `Rules.can_see`; the other functions are shapes of the same
answer that the endpoints need (a set of hidden ids, an SQL condition, a 404). A hidden object answers exactly
like an object that does not exist (404, same message), so that ids cannot be guessed.

How an endpoint applies it (FastAPI dependencies from `vigie.access.service`):

    from fastapi import Depends
    from vigie.access.policy import Rules, Viewer
    from vigie.access.service import rules, viewer

    def endpoint(..., me: Viewer = Depends(viewer), seen: Rules = Depends(rules)):
        seen.require(me, "layer", layer_id, "<the endpoint's own not-found message>")   # one object
        ids = seen.visible(me, "indicator", ids)                                       # a list
        condition, params = seen.sql_filter(me, "layer", "l.id")                       # inside SQL
        if not seen.can_export(me, "dataset", ds): ...                                 # exports

Responses that depend on the viewer must not be shared by caches: when `seen.restricted_ids(kind)` is not
empty, send `Cache-Control: private, no-store` (or key any server-side cache by `seen.hidden(me, kind)`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vigie.access.schema import AccessStore, now
from vigie.errors import NotFoundError, VigieError

PUBLIC, RESTRICTED, PRIVATE = "public", "restricted", "private"
LEVELS = {PUBLIC: "public", RESTRICTED: "restreint", PRIVATE: "privé (agence)"}
LEVEL_ALIASES = {"public": PUBLIC, "restricted": RESTRICTED, "restreint": RESTRICTED, "private": PRIVATE,
                 "prive": PRIVATE, "privé": PRIVATE}
# Kinds of objects the rule applies to. `dataset`: the `dataset` of imported sources (its values, its rows);
# `layer`: a layer id; `indicator`: a catalogue or warehouse indicator id; `document`: a study of the library.
KINDS = ("dataset", "layer", "indicator", "document")

SCOPES = {
    "lecture": "lire les données non publiques visibles par le compte",
    "export": "exporter les données non publiques visibles par le compte",
    "edition": "modifier les données des organisations du compte",
}


@dataclass(frozen=True)
class Viewer:
    """Who is asking: anonymous, or an account (through a session or a token) with its organisations."""

    login: str | None = None
    name: str | None = None
    roles: dict[str, str] = field(default_factory=dict)  # organisation -> partner | editor
    admin: bool = False
    agency: bool = False  # member of an organisation marked `agency`
    via: str | None = None  # "session", "token" or None (anonymous)
    scopes: frozenset[str] = frozenset(SCOPES)
    token_id: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.login is not None

    @property
    def organisations(self) -> frozenset[str]:
        """Organisations whose restricted objects this viewer sees (none without the `lecture` scope)."""
        if not self.authenticated or "lecture" not in self.scopes:
            return frozenset()
        return frozenset(self.roles)

    @property
    def sees_all(self) -> bool:
        """Administrators and agency members see restricted and private objects (with the `lecture` scope)."""
        return self.authenticated and "lecture" in self.scopes and (self.admin or self.agency)

    def has_scope(self, scope: str) -> bool:
        return self.authenticated and scope in self.scopes

    def can_edit(self, organisation: str | None) -> bool:
        """Editors change what their organisation owns; administrators change everything (scope `edition`)."""
        if not self.has_scope("edition"):
            return False
        return self.admin or (organisation is not None and self.roles.get(organisation) == "editor")


ANONYMOUS = Viewer()


@dataclass(frozen=True)
class Rule:
    level: str
    organisations: frozenset[str] = frozenset()
    owner: str | None = None


class Rules:
    """The visibility rows, read at once (a small table): {(kind, id): Rule}."""

    def __init__(self, rules: dict[tuple[str, str], Rule]):
        self.rules = rules

    @classmethod
    def load(cls, store: AccessStore) -> "Rules":
        shared: dict[tuple[str, str], set[str]] = {}
        for kind, object_id, org in store.query("SELECT kind, object_id, organisation FROM visibility_organisation"):
            shared.setdefault((kind, object_id), set()).add(org)
        rows = store.query("SELECT kind, object_id, level, owner FROM visibility")
        return cls({(k, i): Rule(level, frozenset(shared.get((k, i), ())), owner) for k, i, level, owner in rows})

    def rule(self, kind: str, object_id: str) -> Rule:
        return self.rules.get((kind, object_id), Rule(PUBLIC))

    # ------------------------------------------------------------------ the rule
    def can_see(self, viewer: Viewer, kind: str, object_id: str) -> bool:
        rule = self.rule(kind, object_id)
        if rule.level == PUBLIC:
            return True
        if viewer.sees_all:
            return True
        if rule.level == RESTRICTED:
            return bool(viewer.organisations & rule.organisations)
        return False  # private, or an unknown level: closed

    def can_export(self, viewer: Viewer, kind: str, object_id: str) -> bool:
        """Public objects: everyone. Others: those who see them, with the `export` scope (a session has it)."""
        if self.rule(kind, object_id).level == PUBLIC:
            return True
        return self.can_see(viewer, kind, object_id) and viewer.has_scope("export")

    # ------------------------------------------------------------------ shapes of the same answer
    def hidden(self, viewer: Viewer, kind: str) -> set[str]:
        """Ids of objects of `kind` this viewer may not see (objects without a rule are public: never hidden)."""
        return {i for (k, i) in self.rules if k == kind and not self.can_see(viewer, k, i)}

    def visible(self, viewer: Viewer, kind: str, ids) -> list:
        """The items of `ids` (in their order) that this viewer may see."""
        hidden = self.hidden(viewer, kind)
        return [i for i in ids if i not in hidden]

    def sql_filter(self, viewer: Viewer, kind: str, column: str) -> tuple[str, list[str]]:
        """An SQL condition on `column` (holding ids of `kind`) and its parameters, keeping only visible rows:
        `("TRUE", [])` or `("column NOT IN (?, ?)", [ids])`, to AND into a warehouse query."""
        hidden = sorted(self.hidden(viewer, kind))
        if not hidden:
            return "TRUE", []
        return f"{column} NOT IN ({', '.join('?' * len(hidden))})", hidden

    def require(self, viewer: Viewer, kind: str, object_id: str, message: str) -> None:
        """Raise `NotFoundError(message)` — the endpoint's own "does not exist" message — when hidden."""
        if not self.can_see(viewer, kind, object_id):
            raise NotFoundError(message)

    def restricted_ids(self, kind: str) -> set[str]:
        """Ids of `kind` that are not public (e.g. to mark them, or to refuse caching their responses)."""
        return {i for (k, i), r in self.rules.items() if k == kind and r.level != PUBLIC}


class InvalidVisibilityError(VigieError):
    http_status = 422


def set_visibility(store: AccessStore, kind: str, object_id: str, level: str, organisations: list[str] = (),
                   owner: str | None = None, by: str | None = None) -> Rule:
    """Declare the visibility of an object (replaces its previous rule). `public` removes the rule."""
    if kind not in KINDS:
        raise InvalidVisibilityError(f"Type d'objet inconnu « {kind} » : types possibles : {', '.join(KINDS)}.")
    level = LEVEL_ALIASES.get(level.strip().lower(), "")
    if not level:
        raise InvalidVisibilityError("Visibilité inconnue : valeurs possibles : public, restreint, privé.")
    orgs = sorted(set(organisations))
    if level == RESTRICTED and not orgs:
        raise InvalidVisibilityError("Un objet restreint doit être partagé avec au moins une organisation.")
    known = {r[0] for r in store.query("SELECT id FROM organisation")}
    for org in [*orgs, *([owner] if owner else [])]:
        if org not in known:
            raise NotFoundError(f"Aucune organisation n'a l'identifiant « {org} ».")
    with store.transaction():
        store.execute("DELETE FROM visibility_organisation WHERE kind = ? AND object_id = ?", (kind, object_id))
        store.execute("DELETE FROM visibility WHERE kind = ? AND object_id = ?", (kind, object_id))
        if level != PUBLIC or owner:
            store.execute("INSERT INTO visibility (kind, object_id, level, owner, updated_at, updated_by) "
                          "VALUES (?, ?, ?, ?, ?, ?)", (kind, object_id, level, owner, now(), by))
        if level == RESTRICTED:
            for org in orgs:
                store.execute("INSERT INTO visibility_organisation (kind, object_id, organisation) VALUES (?, ?, ?)",
                              (kind, object_id, org))
    return Rule(level, frozenset(orgs if level == RESTRICTED else ()), owner)
