"""INSEE localised unemployment rates by zone d'emploi 2020, quarterly (seasonally adjusted, %).

Two layouts are read:
- long, one row per zone and quarter: `ze2020, libelle, trimestre, taux_chomage_cvs_pct` (Vigie's bundled extract);
- wide, as INSEE's series sheet `txcho_ze` saved as CSV: a code column (`ZE2020`, `Code`), a label column, then one
  column per quarter named `2025-T4`, `2025T4` or `T4_2025`.
The code `FR` (or `France`) is the national series (level `france`); other codes must be zones d'emploi of the
warehouse.
"""

from __future__ import annotations

import re

import pandas as pd

from vigie.errors import ImportValidationError
from vigie.progress import Reporter
from vigie.sources.base import Batch
from vigie.sources.readers import parse_numbers
from vigie.warehouse import Warehouse
from vigie.modules.barometre.importing import SeriesImporter, pick
from vigie.modules.barometre.periods import parse_quarter

CODE_COLUMNS = ["ze2020", "ZE2020", "code_ze", "Code", "codgeo"]
NATIONAL = {"fr", "france", "fe", "fm"}
_INSEE_WIDE = re.compile(r"^T([1-4])_(\d{4})$")


def wide_quarter(column: str) -> str | None:
    m = _INSEE_WIDE.match(column.strip())
    if m:
        return f"{m.group(2)}-T{m.group(1)}"
    q = parse_quarter(column)
    return f"{q[0]}-T{q[1]}" if q else None


class ChomageZoneImporter(SeriesImporter):
    kind = "chomage-ze"
    title = "Taux de chômage localisés par zone d'emploi (trimestriels, CVS)"
    producer = "INSEE"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        frame = self.read_table([], "de taux de chômage localisés")
        code = pick(frame.columns, CODE_COLUMNS)
        if code is None:
            raise ImportValidationError(file, "colonne du code de zone d'emploi absente (ze2020 ou ZE2020 attendue).",
                                        line=1, column="ze2020")
        period_col = pick(frame.columns, ["trimestre", "periode", "période"])
        decimal_comma = bool(self.options.get("decimal_comma", False))
        if period_col is not None:
            value_col = pick(frame.columns, ["taux_chomage_cvs_pct", "taux_chomage", "taux", "valeur"])
            if value_col is None:
                raise ImportValidationError(file, "colonne du taux absente.", line=1, column="taux_chomage_cvs_pct")
            quarters, _ = self.quarter_of(frame, period_col, monthly_ok=False)
            values, status = parse_numbers(frame, value_col, file, decimal_comma=decimal_comma)
            long = pd.DataFrame({"code": frame[code].str.strip(), "period": quarters, "value": values,
                                 "status": status, "_line": frame["_line"], "_col": value_col})
        else:
            columns = {c: wide_quarter(c) for c in frame.columns if c != "_line"}
            columns = {c: q for c, q in columns.items() if q}
            if not columns:
                raise ImportValidationError(file, "ni colonne « trimestre » ni colonnes de trimestres (2025-T4, T4_2025) : "
                                                  "ce n'est pas un fichier de taux de chômage localisés.", line=1)
            parts = []
            for col, q in columns.items():
                values, status = parse_numbers(frame, col, file, decimal_comma=decimal_comma)
                parts.append(pd.DataFrame({"code": frame[code].str.strip(), "period": q, "value": values,
                                           "status": status, "_line": frame["_line"], "_col": col}))
            long = pd.concat(parts, ignore_index=True)
        national = long["code"].str.lower().isin(NATIONAL)
        long["level"] = "zone_emploi"
        long.loc[national, "level"] = "france"
        long.loc[national, "code"] = "FR"
        self.check_known(long[~national].rename(columns={"code": code}), code, self.known_codes(wh, "zone_emploi"),
                         "de zone d'emploi")
        bad = (long["status"] == "ok") & ((long["value"] < 0) | (long["value"] > 100))
        if bad.any():
            row = long[bad].iloc[0]
            raise ImportValidationError(file, f"taux hors de l'intervalle 0–100 « {row['value']} ».",
                                        line=int(row["_line"]), column=row["_col"])
        dup = long.duplicated(["code", "period"])
        if dup.any():
            row = long[dup].iloc[0]
            raise ImportValidationError(file, f"trimestre en double pour la zone {row['code']} ({row['period']}).",
                                        line=int(row["_line"]), column=code)
        long["series"] = "chomage_taux"
        return self.finish(long, self.definitions("chomage_taux"))
