"""What the barometer's importers share: the release date, the identity of an import, the reading of a delimited
file whose separator varies, the passage from months to quarters and the writing of the module's tables.

An importer reads and validates its whole file in `read` and keeps the rows it will write in `self.tables`
(`baro_series` definitions and `baro_value` rows, without `source_id`); `run_import` then calls `write_tables`
inside its transaction. The import of a release is identified by kind, release date and file name: importing the
next release (a new date) keeps what the earlier ones published, so revised figures keep their history.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from vigie.errors import ImportValidationError
from vigie.sources.base import Batch, Importer
from vigie.sources.readers import decode, read_csv, reject_first
from vigie.warehouse import Warehouse
from vigie.modules.barometre import schema
from vigie.modules.barometre.catalogue import SERIES, definition_row


def parse_release(value: Any, file: str) -> date:
    if value is None or value == "":
        return datetime.now(timezone.utc).date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ImportValidationError(file, f"date de publication « {value} » invalide : écrivez-la AAAA-MM-JJ "
                                          "(--option release=2026-02-13).") from None


def sniff_separator(path: Path, encoding: str = "auto") -> str:
    """The separator of the header line: the most frequent of « ; », « , », tabulation, « | »."""
    text, _ = decode(path, encoding)
    first = text.split("\n", 1)[0]
    counts = {sep: first.count(sep) for sep in (";", ",", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def pick(header: Iterable[str], aliases: Sequence[str]) -> str | None:
    """The first column of `header` among `aliases` (compared without case or surrounding spaces)."""
    lookup = {h.strip().lower(): h for h in header}
    for alias in aliases:
        if alias.lower() in lookup:
            return lookup[alias.lower()]
    return None


def month_text(values: pd.Series) -> pd.Series:
    """« 2025-3 », « 202503 », « 2025M03 » → « 2025-03 » (rows already checked by `quarter_of`)."""
    text = values.astype(str).str.strip()
    if text.str.fullmatch(r"\d{4}-\d{2}").all():  # the usual spelling: nothing to rewrite
        return text
    m = text.str.extract(r"^(\d{4})\s*-?\s*M?\s*(\d{1,2})$")
    return m[0] + "-" + m[1].str.zfill(2)


class SeriesImporter(Importer):
    """Base of the barometer's importers. Subclasses implement `rows(wh)`, returning `baro_value` rows."""

    licence = "Licence Ouverte / Etalab 2.0"

    def __init__(self, path: Path | str, **options: Any):
        super().__init__(path, **options)
        self.release = parse_release(self.options.get("release"), self.path.name)
        self.tables: dict[str, pd.DataFrame] = {}

    def dataset(self) -> str:
        return f"{self.kind}:{self.release.isoformat()}:{self.path.name}"

    def vintage(self) -> str | None:
        return self.options.get("vintage") or f"publication du {self.release.isoformat()}"

    # ------------------------------------------------------------------ reading helpers
    def read_table(self, required: Sequence[str], kind_label: str) -> pd.DataFrame:
        encoding = str(self.options.get("encoding", "auto"))
        separator = self.options.get("separator") or sniff_separator(self.path, encoding)
        return read_csv(self.path, separator=separator, required=list(required), encoding=encoding,
                        kind_label=kind_label)

    def require_one(self, frame: pd.DataFrame, aliases: Sequence[str], what: str) -> str:
        column = pick(frame.columns, aliases)
        if column is None:
            raise ImportValidationError(self.path.name, f"colonne obligatoire absente ({what}) : une des colonnes "
                                        f"{', '.join(aliases[:4])} est attendue.", line=1, column=aliases[0])
        return column

    def known_codes(self, wh: Warehouse, level: str) -> set[str]:
        rows = wh.query("SELECT DISTINCT code FROM territory WHERE level = ? AND cog = "
                        "(SELECT max(cog) FROM territory WHERE level = ?)", (level, level))
        return {r[0] for r in rows}

    def check_known(self, frame: pd.DataFrame, column: str, known: set[str], what: str) -> None:
        if not known:
            raise ImportValidationError(self.path.name, f"l'entrepôt ne contient aucun territoire de niveau « {what} » : "
                                        "importez d'abord le référentiel.")
        reject_first(frame, ~frame[column].isin(known), self.path.name, column,
                     f"code {what} inconnu « {{value}} » (absent du référentiel de l'entrepôt).")

    def quarter_of(self, frame: pd.DataFrame, column: str, monthly_ok: bool = True) -> tuple[pd.Series, pd.Series]:
        """Quarter (`AAAA-Tn`) of each row and whether the row was a month (`AAAA-MM`); unreadable → error."""
        raw = frame[column].astype(str).str.strip()
        if raw.str.fullmatch(r"\d{4}-T[1-4]").all():  # the usual spellings first: one pass, no rewriting
            return raw.astype(object), pd.Series(False, index=frame.index)
        if monthly_ok and raw.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").all():
            month = raw.str[5:7].astype(int)
            return (raw.str[:4] + "-T" + ((month - 1) // 3 + 1).astype(str)).astype(object), pd.Series(True, index=frame.index)
        q = raw.str.extract(r"^(\d{4})\s*-?\s*[TtQq]\s*([1-4])$")
        quarters = (q[0] + "-T" + q[1]).astype(object)
        m = raw.str.extract(r"^(\d{4})\s*-?\s*M?\s*(\d{1,2})$")
        month = pd.to_numeric(m[1], errors="coerce")
        is_month = quarters.isna() & month.between(1, 12) if monthly_ok else pd.Series(False, index=frame.index)
        from_month = m[0] + "-T" + ((month - 1) // 3 + 1).astype("Int64").astype(str)
        quarters = quarters.where(~is_month, from_month)
        reject_first(frame, quarters.isna(), self.path.name, column,
                     "période « {value} » illisible : trimestre AAAA-Tn" + (" ou mois AAAA-MM attendu." if monthly_ok else " attendu."))
        return quarters.astype(object), is_month.astype(bool)

    # ------------------------------------------------------------------ months → quarters
    def to_quarters(self, frame: pd.DataFrame, keys: list[str], how: str) -> pd.DataFrame:
        """Monthly rows (`month` column, `AAAA-MM`) grouped into quarters: `sum` (flows), `mean` or `last` (levels).

        A quarter needs its three months; an incomplete one is left out and said in a warning.
        """
        frame = frame.copy()
        frame["_m"] = frame["month"].str[-2:].astype(int)
        frame["period"] = frame["month"].str[:4] + "-T" + ((frame["_m"] - 1) // 3 + 1).astype(str)
        frame["_secret"] = frame["status"] == "secret"
        frame["_missing"] = frame["status"] == "missing"
        grouped = frame.groupby(keys + ["period"], sort=True)
        out = grouped.agg(value=("value", how if how != "last" else "last"), months=("_m", "nunique"),
                          secret=("_secret", "max"), missing=("_missing", "max")).reset_index()
        if how == "last":
            last = frame.sort_values("_m").groupby(keys + ["period"]).tail(1)
            out = out.drop(columns="value").merge(last[keys + ["period", "value", "_m"]], on=keys + ["period"])
            out = out[out["_m"] % 3 == 0].drop(columns="_m")
        incomplete = out[out["months"] < 3]
        if len(incomplete):
            periods = sorted(set(incomplete["period"]))
            self.warn(f"{len(incomplete)} trimestre(s) incomplet(s) laissé(s) de côté (moins de trois mois) : "
                      f"{', '.join(periods[:4])}{'…' if len(periods) > 4 else ''}.")
        out = out[out["months"] >= 3]
        out["status"] = np.where(out["secret"], "secret", np.where(out["missing"], "missing", "ok"))
        out.loc[out["status"] != "ok", "value"] = np.nan
        return out[keys + ["period", "value", "status"]]

    # ------------------------------------------------------------------ the batch
    def finish(self, values: pd.DataFrame, definitions: dict[str, dict]) -> Batch:
        """Keep the rows to write; the core tables get nothing (the Batch is empty)."""
        if values.empty:
            raise ImportValidationError(self.path.name, "le fichier ne contient aucune valeur à importer.", line=2)
        values = values.assign(release=self.release)
        values["value"] = values["value"].astype(float)
        dup = values.duplicated(["series", "level", "code", "period"])
        if dup.any():
            row = values[dup].iloc[0]
            raise ImportValidationError(self.path.name, f"valeur en double pour {row['series']}, {row['code']}, "
                                                        f"{row['period']}.")
        self.tables = {
            "baro_series": pd.DataFrame([definition_row(k, v) for k, v in definitions.items()]),
            "baro_value": values[schema.VALUE_COLUMNS].reset_index(drop=True),
        }
        return Batch()

    def definitions(self, *ids: str) -> dict[str, dict]:
        return {i: SERIES[i] for i in ids}

    def write_tables(self, wh: Warehouse, source_id: int, replaced: list[int]) -> dict[str, int]:
        schema.ensure_schema(wh)
        if replaced:
            marks = ", ".join("?" * len(replaced))
            wh.execute(f"DELETE FROM baro_value WHERE source_id IN ({marks})", replaced)
        series = self.tables["baro_series"]
        marks = ", ".join("?" * len(series))
        wh.execute(f"DELETE FROM baro_series WHERE id IN ({marks})", list(series["id"]))
        wh.insert_frame("baro_series", series[schema.SERIES_COLUMNS])
        n = wh.insert_frame("baro_value", self.tables["baro_value"].assign(source_id=source_id))
        return {"baro_value": n}
