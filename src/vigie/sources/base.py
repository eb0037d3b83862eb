"""What every importer shares: the batch it produces and the all-or-nothing way it is written.

An importer reads and validates its file completely *before* touching the warehouse, producing a `Batch` of
frames. `run_import` then writes the batch in one transaction that first removes what the previous import of
the same dataset wrote: an import either lands whole or leaves the warehouse exactly as it was, and importing
the same file twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from vigie.errors import ImportValidationError
from vigie.progress import Reporter, Silent
from vigie.sources.options import as_bool
from vigie.warehouse import Warehouse
from vigie.warehouse.schema import SOURCED_TABLES, STATUSES

LICENCE_OUVERTE = "Licence Ouverte / Etalab 2.0"

# Order in which batch tables are written (definitions before facts).
WRITE_ORDER = ["indicator", "layer", "territory", "territory_geometry", "membership", "passage", "value", "series", "layer_feature"]
CHUNK_ROWS = 50_000


@dataclass
class Batch:
    """Frames to write, keyed by table name. `indicator` rows are definitions, upserted, not sourced."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    def add(self, table: str, frame: pd.DataFrame) -> None:
        if frame is None or frame.empty:
            return
        if table in self.frames:
            self.frames[table] = pd.concat([self.frames[table], frame], ignore_index=True)
        else:
            self.frames[table] = frame.reset_index(drop=True)

    def rows(self) -> int:
        return sum(len(f) for t, f in self.frames.items() if t != "indicator")


@dataclass
class ImportReport:
    kind: str
    file: str
    source_id: int | None
    unchanged: bool
    rows: dict[str, int]
    messages: list[str] = field(default_factory=list)


class Importer(ABC):
    """One importer per source format. Subclasses set the class attributes and implement `read`."""

    kind: ClassVar[str]
    title: ClassVar[str]
    producer: ClassVar[str]
    licence: ClassVar[str] = LICENCE_OUVERTE
    synthetic: ClassVar[bool] = False

    def __init__(self, path: Path | str, **options: Any):
        self.path = Path(path)
        self.options = {k: v for k, v in options.items() if v is not None}
        self.messages: list[str] = []

    @abstractmethod
    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        """Parse and validate the whole file; raise ImportValidationError on the first problem."""

    def prepare(self, wh: Warehouse) -> None:
        """Resolve options whose default depends on the warehouse (e.g. the latest COG), before `dataset()`."""

    def dataset(self) -> str:
        """What a newer import replaces: by default, an earlier import of the same kind and file name."""
        return f"{self.kind}:{self.path.name}"

    def vintage(self) -> str | None:
        return self.options.get("vintage")

    def warn(self, message: str) -> None:
        self.messages.append(message)

    def write_tables(self, wh: Warehouse, source_id: int, replaced: list[int]) -> dict[str, int]:
        """Hook for analysis modules with tables of their own: write them inside the import transaction, after the
        core tables (`replaced`: ids of the earlier imports of the same dataset, whose rows must go). Rows per table."""
        return {}


# Options that only describe the source: they do not change what is imported, so not its identity.
METADATA_OPTIONS = {"vintage", "title", "producer", "licence"}


def file_digest(path: Path, options: dict[str, Any]) -> str:
    """SHA-256 of the file, plus the options that change how it is read (same file, same options = same import)."""
    options = {k: v for k, v in options.items() if k not in METADATA_OPTIONS}
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    if options:
        h.update(json.dumps(options, sort_keys=True, default=str).encode())
    return h.hexdigest()


def run_import(
    wh: Warehouse,
    importer: Importer,
    report: Reporter | None = None,
    *,
    title: str | None = None,
    producer: str | None = None,
    licence: str | None = None,
) -> ImportReport:
    """Validate then write one file, all-or-nothing. Returns what was written (or that nothing changed)."""
    report = report or Silent()
    path = importer.path
    if not path.exists():
        raise ImportValidationError(path.name, f"fichier introuvable ({path}).")
    if path.is_dir():
        raise ImportValidationError(path.name, "c'est un dossier, pas un fichier.")
    sha = file_digest(path, importer.options)
    importer.prepare(wh)
    dataset = importer.dataset()
    same = wh.query("SELECT id FROM source WHERE dataset = ? AND sha256 = ?", (dataset, sha))
    if same:
        return ImportReport(importer.kind, path.name, int(same[0][0]), True, {}, ["fichier déjà importé : aucun changement."])

    report.step(f"Lecture de {path.name}")
    batch = importer.read(wh, report)
    _check_batch(batch, path.name)

    with wh.transaction():
        old = [r[0] for r in wh.query("SELECT id FROM source WHERE dataset = ?", (dataset,))]
        if old:
            marks = ", ".join("?" * len(old))
            for table in SOURCED_TABLES:
                wh.execute(f"DELETE FROM {table} WHERE source_id IN ({marks})", old)
            wh.execute(f"DELETE FROM source WHERE id IN ({marks})", old)
        source_id = int(wh.query("SELECT coalesce(max(id), 0) + 1 FROM source")[0][0])
        wh.execute(
            "INSERT INTO source (id, kind, dataset, title, producer, file_name, vintage, licence, sha256, "
            "imported_at, rows, synthetic) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                source_id,
                importer.kind,
                dataset,
                title or importer.options.get("title") or importer.title,
                producer or importer.options.get("producer") or importer.producer,
                path.name,
                importer.vintage(),
                licence or importer.options.get("licence") or importer.licence,
                sha,
                datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0),
                batch.rows(),
                bool(importer.synthetic or as_bool(importer.options.get("synthetic", False))),
            ),
        )
        written: dict[str, int] = {}
        report.step(f"Écriture de {path.name} dans l'entrepôt", total=batch.rows())
        for table in WRITE_ORDER:
            frame = batch.frames.get(table)
            if frame is None or frame.empty:
                continue
            if table == "indicator":
                written[table] = _upsert_indicators(wh, frame)
                continue
            if table in SHARED_KEYS:
                frame = _without_existing(wh, table, frame)
            frame = frame.assign(source_id=source_id)
            n = 0
            for start in range(0, len(frame), CHUNK_ROWS):
                chunk = frame.iloc[start : start + CHUNK_ROWS]
                n += wh.insert_frame(table, chunk)
                report.advance(len(chunk))
            written[table] = n
        extra = importer.write_tables(wh, source_id, old)
        if extra:
            written.update(extra)
            wh.execute("UPDATE source SET rows = ? WHERE id = ?", (batch.rows() + sum(extra.values()), source_id))
    return ImportReport(importer.kind, path.name, source_id, False, written, importer.messages)


# Rows that several datasets may describe alike (the same commune at the same vintage in the COG file and in the
# table d'appartenance): the first import that wrote them keeps them, later ones add only what is new.
SHARED_KEYS = {
    "territory": ["level", "code", "cog"],
    "membership": ["cog", "child_level", "child_code", "parent_level", "parent_code"],
}


def _without_existing(wh: Warehouse, table: str, frame: pd.DataFrame) -> pd.DataFrame:
    key = SHARED_KEYS[table]
    cogs = sorted({int(c) for c in frame["cog"]})
    existing = wh.query_df(
        f"SELECT {', '.join(key)} FROM {table} WHERE cog IN ({', '.join('?' * len(cogs))})", cogs
    )
    if existing.empty:
        return frame
    existing["cog"] = existing["cog"].astype(int)
    merged = frame.merge(existing.assign(_existing=True), on=key, how="left")
    return frame[merged["_existing"].isna().to_numpy()]


INDICATOR_COLUMNS = ["id", "label", "theme", "unit", "kind", "numerator", "denominator", "factor", "decimals", "definition", "secrecy", "vintage_label"]


def _upsert_indicators(wh: Warehouse, frame: pd.DataFrame) -> int:
    """Indicator definitions: new ones are added, known ones keep their (catalogue) definition."""
    frame = frame.reindex(columns=INDICATOR_COLUMNS).drop_duplicates("id")
    known = {r[0] for r in wh.query("SELECT id FROM indicator")}
    new = frame[~frame["id"].isin(known)]
    return wh.insert_frame("indicator", new)


def _check_batch(batch: Batch, file: str) -> None:
    """Last safety net: keys unique and statuses valid (importers report by line before this)."""
    keys = {
        "territory": ["level", "code", "cog"],
        "territory_geometry": ["level", "code", "cog"],
        "membership": ["cog", "child_level", "child_code", "parent_level", "parent_code"],
        "passage": ["cog_from", "cog_to", "code_from", "code_to"],
        "value": ["indicator", "level", "code", "year", "cog"],
        "series": ["indicator", "level", "code", "period"],
        "layer_feature": ["layer", "feature_id"],
    }
    for table, key in keys.items():
        frame = batch.frames.get(table)
        if frame is None:
            continue
        dup = frame.duplicated(key)
        if dup.any():
            row = frame[dup].iloc[0]
            raise ImportValidationError(file, f"doublon dans les données produites ({', '.join(f'{k}={row[k]}' for k in key)}).")
    for table in ("value", "series"):
        values = batch.frames.get(table)
        if values is not None:
            bad = ~values["status"].isin(STATUSES)
            if bad.any():
                raise ImportValidationError(file, f"statut inconnu « {values[bad].iloc[0]['status']} ».")
