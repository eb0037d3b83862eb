"""Sitadel (SDES) dwellings authorised and started, by commune, monthly or quarterly, in date réelle.

Layout of the SDES series by commune: a commune code column (`COMM`, `DEPCOM`, `code_commune`), the period either
as `ANNEE` + `MOIS` columns or as one `PERIODE`/`mois` (AAAA-MM) or `trimestre` (AAAA-Tn) column, and the counts
`LOG_AUT` (authorised) and/or `LOG_COM` (started). `-1` marks a missing cell. Months are summed into quarters.
"""

from __future__ import annotations

import pandas as pd

from vigie.errors import ImportValidationError
from vigie.progress import Reporter
from vigie.sources.base import Batch
from vigie.sources.readers import check_unique, parse_numbers, reject_first
from vigie.warehouse import Warehouse
from vigie.modules.barometre.importing import SeriesImporter, month_text, pick

MEASURES = {"log_autorises": ["LOG_AUT", "log_aut", "nb_log_aut", "log_autorises"],
            "log_commences": ["LOG_COM", "log_com", "nb_log_com", "log_commences"]}


class SitadelImporter(SeriesImporter):
    kind = "sitadel"
    title = "Sitadel – logements autorisés et commencés (séries mensuelles par commune)"
    producer = "SDES (ministère de la Transition écologique)"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        frame = self.read_table([], "Sitadel")
        code = self.require_one(frame, ["COMM", "DEPCOM", "code_commune", "code_insee"], "commune")
        year, month = pick(frame.columns, ["ANNEE", "annee"]), pick(frame.columns, ["MOIS", "mois"])
        if year and month:
            reject_first(frame, ~frame[year].str.fullmatch(r"\d{4}"), file, year, "année « {value} » illisible.")
            reject_first(frame, ~frame[month].str.fullmatch(r"0?[1-9]|1[0-2]"), file, month, "mois « {value} » illisible (1 à 12).")
            frame["_period"] = frame[year] + "-" + frame[month].str.zfill(2)
            period = "_period"
        else:
            period = self.require_one(frame, ["PERIODE", "periode", "mois", "trimestre", "date"], "période")
        measures = {s: pick(frame.columns, aliases) for s, aliases in MEASURES.items()}
        measures = {s: c for s, c in measures.items() if c}
        if not measures:
            raise ImportValidationError(file, "ni colonne LOG_AUT ni colonne LOG_COM : ce n'est pas un fichier Sitadel "
                                              "de logements.", line=1, column="LOG_AUT")
        frame[code] = frame[code].str.strip().str.zfill(5)
        self.check_known(frame, code, self.known_codes(wh, "commune"), "commune")
        check_unique(frame, [code, period], file)
        quarters, monthly = self.quarter_of(frame, period)
        reject_first(frame, monthly != monthly.iloc[0], file, period if period != "_period" else month,
                     "période « {value} » : le fichier mêle mois et trimestres.")
        out = []
        for series, col in measures.items():
            frame[col] = frame[col].replace("-1", "")
            values, status = parse_numbers(frame, col, file)
            reject_first(frame, pd.Series((status == "ok") & (values < 0), index=frame.index), file, col,
                         "nombre de logements négatif « {value} ».")
            long = pd.DataFrame({"code": frame[code], "value": values, "status": status})
            if monthly.iloc[0]:
                long["month"] = month_text(frame[period])
                long = self.to_quarters(long, ["code"], "sum")
            else:
                long["period"] = quarters.to_numpy()
            out.append(long.assign(series=series, level="commune"))
        return self.finish(pd.concat(out, ignore_index=True), self.definitions(*measures))
