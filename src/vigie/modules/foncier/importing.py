"""What the atlas importers share: their tables written through the `Importer.write_tables` hook, checks common to
several files (SIRET keys, identifiers owned by another import), and the status history an import appends to.

An atlas importer's `read` validates the whole file and fills `self.tables` (frames keyed by atlas table, without
`source_id`) and `self.changes` (status changes to record); `run_import` then calls `write_tables` inside its
transaction: the earlier import of the same dataset loses its rows, the new rows land, and status changes are
appended to the history (never replaced).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from vigie.errors import ImportValidationError
from vigie.modules.foncier.schema import SOURCED, delete_sources, ensure_schema
from vigie.sources.base import Importer
from vigie.warehouse import Warehouse

PRIMARY_KEYS = {
    "foncier_pole": "pole_id",
    "foncier_site": "site_id",
    "foncier_plot": "plot_id",
    "foncier_establishment": "siret",
    "foncier_plu_zone": "zone_id",
}


def luhn_ok(values: pd.Series) -> np.ndarray:
    """True where the value is 14 digits with a valid Luhn key (SIRET; La Poste's 356000000 SIREN excepted by INSEE
    rules for its establishments: their digit sum is a multiple of 5)."""
    text = values.astype(str).str.strip()
    shape = text.str.fullmatch(r"\d{14}").to_numpy(dtype=bool)
    out = np.zeros(len(text), dtype=bool)
    if shape.any():
        digits = np.array([list(map(int, s)) for s in text[shape]], dtype=np.int64)
        doubled = digits.copy()
        doubled[:, -2::-2] *= 2  # every second digit from the right, starting with the second
        doubled[doubled > 9] -= 9
        luhn = doubled.sum(axis=1) % 10 == 0
        poste = (text[shape].str[:9] == "356000000").to_numpy() & (digits.sum(axis=1) % 5 == 0)
        out[shape] = luhn | poste
    return out


def check_siret(frame: pd.DataFrame, column: str, file: str) -> None:
    bad = ~luhn_ok(frame[column])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        value = frame[column].iloc[i]
        problem = ("SIRET invalide « {v} » : 14 chiffres attendus." if not str(value).strip().isdigit() or len(str(value).strip()) != 14
                   else "SIRET invalide « {v} » : la clé de contrôle (formule de Luhn) est fausse.")
        raise ImportValidationError(file, problem.format(v=value), line=int(frame["_line"].iloc[i]), column=column)


class AtlasImporter(Importer):
    """Base of the atlas importers: `read` fills `self.tables` and `self.changes`; `write_tables` writes them."""

    def __init__(self, path, **options: Any):
        super().__init__(path, **options)
        self.tables: dict[str, pd.DataFrame] = {}
        self.changes: list[dict[str, Any]] = []

    def prepare(self, wh: Warehouse) -> None:
        ensure_schema(wh)

    def dataset(self) -> str:
        """Option `inventory` names the inventory a file updates (a newer file replaces the older one); by default
        each file name is its own inventory."""
        return f"{self.kind}:{self.options.get('inventory') or self.path.name}"

    def write_tables(self, wh: Warehouse, source_id: int, replaced: list[int]) -> dict[str, int]:
        delete_sources(wh, SOURCED, replaced)
        written: dict[str, int] = {}
        for table, frame in self.tables.items():
            if frame is None or frame.empty:
                continue
            key = PRIMARY_KEYS[table]
            existing = wh.query_df(f"SELECT {key} AS id, source_id FROM {table}")
            clash = existing[existing["id"].isin(set(frame[key]))]
            taken = [tuple(clash.iloc[0])] if len(clash) else []
            if taken:
                other = wh.query("SELECT file_name FROM source WHERE id = ?", (int(taken[0][1]),))
                raise ImportValidationError(
                    self.path.name, f"l'identifiant « {taken[0][0]} » est déjà importé par le fichier "
                    f"« {other[0][0] if other else '?'} » : un objet ne peut venir que d'un seul fichier.", column=key)
            written[table] = wh.insert_frame(table, frame.assign(source_id=source_id))
        if self.changes:
            written["foncier_status_change"] = record_changes(wh, self.changes)
        return written


# ---------------------------------------------------------------------------------------------- status history
def current_statuses(wh: Warehouse, object_kind: str, field: str) -> dict[str, str]:
    """The current value (last change) of `field` for every object of a kind."""
    rows = wh.query(
        "SELECT object_id, value FROM (SELECT object_id, value, row_number() OVER (PARTITION BY object_id "
        "ORDER BY changed_on DESC, seq DESC) AS r FROM foncier_status_change WHERE object_kind = ? AND field = ?) t "
        "WHERE r = 1", (object_kind, field))
    return {r[0]: r[1] for r in rows}


def current_with_edits(wh: Warehouse, object_kind: str, edits=(), object_ids=None) -> dict[tuple[str, str], str]:
    """The current value of every status field of the objects of a kind, as "the last of the warehouse history ∪ the
    edits": {(object_id, field): value}.

    `edits` are changes kept outside the warehouse (the web app's edits, `vigie.access.editing`), each a mapping with
    `object_id`, `field`, `value` and `at` (seconds since the epoch, UTC). They are ordered with the warehouse changes
    by date (the edit's UTC day against `changed_on`), then by when they were recorded (`at` against `recorded_at`):
    a later import that dates a change after an edit wins, an edit made after the last import wins. Nothing is
    overwritten: both histories stay whole. `object_ids` limits the warehouse read to some objects.
    """
    sql = ("SELECT object_id, field, value, changed_on, recorded_at FROM (SELECT object_id, field, value, changed_on, "
           "recorded_at, row_number() OVER (PARTITION BY object_id, field ORDER BY changed_on DESC, seq DESC) AS r "
           "FROM foncier_status_change WHERE object_kind = ?")
    params: list[Any] = [object_kind]
    if object_ids is not None:
        ids = list(object_ids)
        if not ids:
            ids = [""]
        sql += " AND object_id IN (" + ", ".join("?" * len(ids)) + ")"
        params += ids
    latest: dict[tuple[str, str], tuple[tuple, str]] = {}
    for oid, field, value, changed_on, recorded_at in wh.query(sql + ") t WHERE r = 1", params):
        day = pd.Timestamp(changed_on).date()
        recorded = pd.Timestamp(recorded_at).to_pydatetime().replace(tzinfo=None) if recorded_at is not None else datetime.min
        latest[(oid, field)] = ((day, recorded, 0), value)
    for edit in edits:
        at = datetime.fromtimestamp(float(edit["at"]), timezone.utc).replace(tzinfo=None)
        key = (edit["object_id"], edit["field"])
        rank = (at.date(), at, 1)
        if key not in latest or rank >= latest[key][0]:
            latest[key] = (rank, edit["value"])
    return {key: value for key, (_rank, value) in latest.items()}


def status_changes(wh: Warehouse, object_kind: str, field: str,
                   new: dict[str, tuple[str, Any]], author: str) -> list[dict[str, Any]]:
    """Changes to record for the given {object_id: (value, date)}: only where the value differs from the current one."""
    current = current_statuses(wh, object_kind, field)
    out = []
    for oid, (value, date) in new.items():
        if value is None or value == "" or current.get(oid) == value:
            continue
        out.append({"object_kind": object_kind, "object_id": oid, "field": field, "previous": current.get(oid),
                    "value": value, "changed_on": date, "author": author, "note": None})
    return out


def record_changes(wh: Warehouse, changes: list[dict[str, Any]]) -> int:
    """Append status changes to the history (never updates nor deletes a row)."""
    if not changes:
        return 0
    first = int(wh.query("SELECT coalesce(max(seq), 0) + 1 FROM foncier_status_change")[0][0])
    frame = pd.DataFrame(changes, columns=["object_kind", "object_id", "field", "previous", "value", "changed_on",
                                           "author", "note"])
    frame["changed_on"] = pd.to_datetime(frame["changed_on"]).dt.date
    frame.insert(0, "seq", np.arange(first, first + len(frame)))
    frame["recorded_at"] = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    return wh.insert_frame("foncier_status_change", frame)


def set_status(wh: Warehouse, object_kind: str, object_id: str, field: str, value: str, author: str,
               changed_on=None, note: str | None = None) -> int:
    """Record a status change made by a person (e.g. a plot sold): the previous value is kept in the history."""
    from vigie.errors import NotFoundError, VigieError

    ensure_schema(wh)
    table, key = {"plot": ("foncier_plot", "plot_id"), "site": ("foncier_site", "site_id")}.get(object_kind, (None, None))
    if table is None:
        raise NotFoundError(f"Type d'objet inconnu « {object_kind} » (plot ou site attendu).")
    if not wh.query(f"SELECT 1 FROM {table} WHERE {key} = ?", (object_id,)):
        raise NotFoundError(f"Aucun objet « {object_id} » dans le foncier économique.")
    if not str(author or "").strip():
        raise VigieError("L'auteur du changement de statut est obligatoire.")
    previous = current_statuses(wh, object_kind, field).get(object_id)
    if previous == value:
        return 0  # nothing changes: the history only records changes
    change = {"object_kind": object_kind, "object_id": object_id, "field": field, "previous": previous,
              "value": value, "changed_on": changed_on or datetime.now(timezone.utc).date(), "author": author,
              "note": note}
    with wh.transaction():
        return record_changes(wh, [change])


def status_history(wh: Warehouse, object_kind: str, object_id: str) -> pd.DataFrame:
    return wh.query_df(
        "SELECT field, previous, value, changed_on, author, note, recorded_at FROM foncier_status_change "
        "WHERE object_kind = ? AND object_id = ? ORDER BY changed_on, seq", (object_kind, object_id))
