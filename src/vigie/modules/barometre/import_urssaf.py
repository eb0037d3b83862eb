"""Urssaf private salaried employment, open.urssaf.fr layouts, aggregated by commune (and by sector).

The commune × APE file (« Nombre d'établissements employeurs et effectifs salariés du secteur privé, par commune x
APE ») is wide: `Code commune`, `Grand secteur d'activité`, `Code APE`… then `Nombre d'établissements AAAA` and
`Effectifs salariés AAAA` per year (end-of-year figures, filed under the year's fourth quarter). Quarterly exports
name the columns `Effectifs salariés AAAA-Tn` (or `AAAATn`); a long layout with `Période`/`Trimestre` and
`Effectifs salariés` columns is read too. Rows of a commune are summed (all APE, or per « Grand secteur d'activité »).
"""

from __future__ import annotations

import re

import pandas as pd

from vigie.errors import ImportValidationError
from vigie.progress import Reporter
from vigie.sources.base import Batch
from vigie.sources.readers import parse_numbers
from vigie.warehouse import Warehouse
from vigie.modules.barometre.catalogue import SERIES, sector_series
from vigie.modules.barometre.importing import SeriesImporter, pick
from vigie.modules.barometre.periods import parse_quarter

CODE_COLUMNS = ["Code commune", "code_commune", "codgeo"]
SECTOR_COLUMNS = ["Grand secteur d'activité", "grand_secteur_d_activite", "Secteur NA5"]
_WIDE = re.compile(r"^effectifs salari[ée]s\s+(\d{4}(?:\s*-?\s*T[1-4])?)$", re.IGNORECASE)


def column_period(column: str) -> str | None:
    m = _WIDE.match(column.strip())
    if not m:
        return None
    text = m.group(1)
    q = parse_quarter(text)
    return f"{q[0]}-T{q[1]}" if q else f"{text}-T4"


class UrssafEmploymentImporter(SeriesImporter):
    kind = "urssaf-effectifs"
    title = "Effectifs salariés du secteur privé (Urssaf)"
    producer = "Urssaf"
    licence = "Licence Ouverte / Etalab 2.0 (open.urssaf.fr)"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        frame = self.read_table([], "Urssaf d'effectifs salariés")
        code = pick(frame.columns, CODE_COLUMNS)
        if code is None:
            raise ImportValidationError(file, "colonne « Code commune » absente : ce n'est pas un fichier Urssaf par "
                                              "commune.", line=1, column="Code commune")
        frame[code] = frame[code].str.strip().str.zfill(5)
        self.check_known(frame, code, self.known_codes(wh, "commune"), "commune")
        sector = pick(frame.columns, SECTOR_COLUMNS)
        period_col = pick(frame.columns, ["Période", "Periode", "Trimestre", "trimestre"])
        parts = []
        if period_col is not None:
            value_col = pick(frame.columns, ["Effectifs salariés", "effectifs_salaries", "Effectifs"])
            if value_col is None:
                raise ImportValidationError(file, "colonne « Effectifs salariés » absente.", line=1,
                                            column="Effectifs salariés")
            quarters, _ = self.quarter_of(frame, period_col, monthly_ok=False)
            values, status = parse_numbers(frame, value_col, file)
            parts.append(self._long(frame, code, sector, quarters, values, status, value_col))
        else:
            columns = {c: column_period(c) for c in frame.columns}
            columns = {c: p for c, p in columns.items() if p}
            if not columns:
                raise ImportValidationError(file, "aucune colonne « Effectifs salariés AAAA » ou « Effectifs salariés "
                                                  "AAAA-Tn » : ce n'est pas un fichier Urssaf d'effectifs.", line=1)
            for col, period in columns.items():
                values, status = parse_numbers(frame, col, file)
                parts.append(self._long(frame, code, sector, pd.Series(period, index=frame.index), values, status, col))
        long = pd.concat(parts, ignore_index=True)
        bad = (long["status"] == "ok") & (long["value"] < 0)
        if bad.any():
            row = long[bad].iloc[0]
            raise ImportValidationError(file, f"effectif négatif « {row['value']:g} ».", line=int(row["_line"]),
                                        column=row["_col"])
        definitions = {"emploi_prive": SERIES["emploi_prive"]}
        out = [self._sum(long, "emploi_prive")]
        if sector is not None:
            for name, rows in long.groupby("sector"):
                if not name:
                    continue
                sid, spec = sector_series(name)
                definitions[sid] = spec
                out.append(self._sum(rows, sid))
        return self.finish(pd.concat(out, ignore_index=True), definitions)

    @staticmethod
    def _long(frame, code, sector, periods, values, status, col) -> pd.DataFrame:
        return pd.DataFrame({"code": frame[code], "sector": frame[sector].str.strip() if sector else "",
                             "period": periods.to_numpy(), "value": values, "status": status,
                             "_line": frame["_line"], "_col": col})

    @staticmethod
    def _sum(long: pd.DataFrame, series: str) -> pd.DataFrame:
        # Urssaf leaves a cell empty under statistical secrecy: the commune total is then a lower bound, marked fragile.
        long = long.assign(_incomplete=long["status"] != "ok", _has=long["value"].notna())
        g = long.groupby(["code", "period"], sort=True)
        out = g.agg(value=("value", "sum"), has=("_has", "max"), incomplete=("_incomplete", "max")).reset_index()
        out.loc[~out["has"], "value"] = float("nan")
        out = out.drop(columns="has")
        out["status"] = "ok"
        out.loc[out["incomplete"], "status"] = "fragile"
        out.loc[out["value"].isna(), "status"] = "missing"
        return out.assign(series=series, level="commune").drop(columns="incomplete")
