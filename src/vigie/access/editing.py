"""Edits made through the web app: the status of plots and zones of the atlas, changed by the editors of the
organisation that owns them.

The app opens the warehouse READ-ONLY, so an edit is a row of the access store's `edit` table (object, field, new
value, previous value, author, organisation, date), never an update of the warehouse: the atlas reads the current
status as the last of the warehouse history ∪ these edits (`vigie.modules.foncier.importing.current_with_edits`).
Rows are only ever added; every edit is also written to the audit log.

Who may edit: an `editor` of the organisation owning the zone — the zone's commune belongs (membership at the latest
COG) to an EPCI whose SIREN is the organisation's SIREN — or an administrator; through a session, or a token with
the scope `edition` (`Viewer.can_edit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigie.access import audit
from vigie.access.policy import Viewer
from vigie.access.schema import AccessStore, now
from vigie.errors import NotFoundError, VigieError

# Editable fields (CNIG names) per kind of object, their French label and the values offered.
FIELDS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "plot": {
        "terr_stade_comm": ("Commercialisation", ("disponible à la vente", "sous option", "vendu, commercialisation achevée",
                                                   "non commercialisable")),
        "terr_etat_occup": ("Occupation", ("occupé", "vacant", "partiellement occupé")),
    },
    "site": {
        "site_etat": ("État de la zone", ("existant et actif", "en extension", "en projet", "en reconversion")),
    },
}
KIND_LABELS = {"plot": "terrain", "site": "zone"}
MAX_NOTE = 500


class EditForbidden(VigieError):
    http_status = 403


class InvalidEdit(VigieError):
    http_status = 422


@dataclass(frozen=True)
class Edit:
    seq: int
    object_kind: str
    object_id: str
    field: str
    value: str
    previous: str | None
    author: str
    organisation: str | None
    at: float
    note: str | None

    def as_change(self) -> dict[str, Any]:
        """The edit as the atlas counts it (`object_id`, `field`, `value`, `at`) and shows it in a history
        (`previous`, `author`)."""
        return {"object_id": self.object_id, "field": self.field, "value": self.value, "at": self.at,
                "previous": self.previous, "author": self.author}


_COLUMNS = "seq, object_kind, object_id, field, value, previous, author, organisation, at, note"


def _edit(row) -> Edit:
    seq, kind, oid, field, value, previous, author, org, at, note = row
    return Edit(int(seq), kind, oid, field, value, previous, author, org, float(at), note)


def edits(store: AccessStore, object_kind: str, object_ids=None) -> list[Edit]:
    """Edits of a kind of object (oldest first), optionally of some objects only."""
    sql, params = f"SELECT {_COLUMNS} FROM edit WHERE object_kind = ?", [object_kind]
    if object_ids is not None:
        ids = list(object_ids) or [""]
        sql += " AND object_id IN (" + ", ".join("?" * len(ids)) + ")"
        params += ids
    return [_edit(r) for r in store.query(sql + " ORDER BY seq", params)]


# ---------------------------------------------------------------------------------------------- ownership
def site_of(wh, object_kind: str, object_id: str) -> str:
    """The zone (site_id) of a plot or zone; 404 when it does not exist."""
    if object_kind == "site":
        rows = wh.query("SELECT site_id FROM foncier_site WHERE site_id = ?", (object_id,))
    elif object_kind == "plot":
        rows = wh.query("SELECT site_id FROM foncier_plot WHERE plot_id = ?", (object_id,))
    else:
        raise NotFoundError(f"Type d'objet inconnu « {object_kind} » : terrain ou zone attendu.")
    if not rows or rows[0][0] is None:
        raise NotFoundError(f"Aucun {KIND_LABELS[object_kind]} n'a l'identifiant « {object_id} ».")
    return rows[0][0]


def owner_of_site(wh, store: AccessStore, site_id: str) -> str | None:
    """The organisation owning a zone: the one whose SIREN is the EPCI of the zone's commune (None if none)."""
    rows = wh.query("SELECT commune FROM foncier_site WHERE site_id = ?", (site_id,))
    if not rows:
        raise NotFoundError(f"Aucune zone d'activité n'a l'identifiant « {site_id} ».")
    cog = wh.latest_cog("commune")
    epci = wh.query("SELECT parent_code FROM membership WHERE cog = ? AND child_level = 'commune' AND child_code = ? "
                    "AND parent_level = 'epci'", (cog, rows[0][0]))
    if not epci:
        return None
    found = store.query("SELECT id FROM organisation WHERE siren = ? ORDER BY id", (epci[0][0],))
    return found[0][0] if found else None


def can_edit_site(wh, store: AccessStore, viewer: Viewer, site_id: str) -> bool:
    return viewer.can_edit(owner_of_site(wh, store, site_id))


# ---------------------------------------------------------------------------------------------- changing
def current(wh, store: AccessStore, object_kind: str, object_id: str, field: str) -> str | None:
    from vigie.modules.foncier.importing import current_with_edits

    merged = current_with_edits(wh, object_kind, [e.as_change() for e in edits(store, object_kind, [object_id])],
                                object_ids=[object_id])
    value = merged.get((object_id, field))
    if value is None:  # no history: the imported value
        column = {"terr_stade_comm": "sale_stage", "terr_etat_occup": "occupancy", "site_etat": "state"}[field]
        table, key = ("foncier_plot", "plot_id") if object_kind == "plot" else ("foncier_site", "site_id")
        rows = wh.query(f"SELECT {column} FROM {table} WHERE {key} = ?", (object_id,))
        value = rows[0][0] if rows else None
    return value


def change(wh, store: AccessStore, viewer: Viewer, object_kind: str, object_id: str, field: str, value: str,
           note: str | None = None, ip: str | None = None) -> Edit | None:
    """Record a status change by `viewer` (checked: editor of the owning organisation). Returns the edit, or None
    when the value is already the current one (the history only keeps changes). Raises 404 (unknown object),
    403 (not an editor of its organisation), 422 (unknown field or value)."""
    site_id = site_of(wh, object_kind, object_id)
    if not viewer.authenticated:
        from vigie.access.service import AuthenticationError

        raise AuthenticationError("Connexion requise pour modifier un statut.")
    organisation = owner_of_site(wh, store, site_id)
    if not viewer.can_edit(organisation):
        audit.record(store, "edition", login=viewer.login, ip=ip, object_kind=object_kind, object_id=object_id,
                     outcome="refus", detail={"champ": field})
        raise EditForbidden("Modification refusée : seuls les éditeurs de l'organisation propriétaire de la zone "
                            "(ou l'agence) peuvent changer ce statut" + ("" if viewer.has_scope("edition") else
                                                                          " ; ce jeton n'a pas la portée « edition »") + ".")
    fields = FIELDS[object_kind]
    if field not in fields:
        raise InvalidEdit(f"Champ « {field} » non modifiable ; champs possibles : {', '.join(fields)}.")
    value = (value or "").strip()
    label, choices = fields[field]
    if value not in choices:
        raise InvalidEdit(f"Valeur « {value} » impossible pour « {label} » ; valeurs possibles : "
                          + ", ".join(f"« {c} »" for c in choices) + ".")
    note = (note or "").strip()[:MAX_NOTE] or None
    previous = current(wh, store, object_kind, object_id, field)
    if previous == value:
        return None
    at = now()
    with store.transaction():
        seq = int(store.scalar("SELECT coalesce(max(seq), 0) + 1 FROM edit"))
        store.execute(f"INSERT INTO edit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (seq, object_kind, object_id, field, value, previous, viewer.login, organisation, at, note))
        audit.record(store, "edition", login=viewer.login, ip=ip, object_kind=object_kind, object_id=object_id, at=at,
                     detail={"champ": field, "avant": previous, "apres": value, "organisation": organisation,
                             "via": viewer.via})
    return Edit(seq, object_kind, object_id, field, value, previous, viewer.login, organisation, at, note)


# ---------------------------------------------------------------------------------------------- reading
def zone_edits(wh, store: AccessStore, site_id: str) -> list[Edit]:
    """The edits of a zone and of its plots (oldest first)."""
    plots = [r[0] for r in wh.query("SELECT plot_id FROM foncier_plot WHERE site_id = ?", (site_id,))]
    found = edits(store, "site", [site_id]) + edits(store, "plot", plots)
    return sorted(found, key=lambda e: e.seq)
