"""Jobseekers registered at France Travail (DEFM), categories A and A-B-C, by commune.

Long layout of France Travail / Dares open-data extracts: one row per commune, period and category, with a commune
code column (`code_commune`, `codgeo`…), a period column (`periode`, `trimestre` or `mois`: `AAAA-Tn` or
`AAAA-MM`), a category column (`categorie`: A, B, C, ABC) and a count column (`nombre`, `defm`…). Monthly counts
become the quarter's mean (France Travail publishes quarterly figures as means over the quarter). When the file
gives A, B and C but not ABC, A-B-C is their sum.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vigie.errors import ImportValidationError
from vigie.progress import Reporter
from vigie.sources.base import Batch
from vigie.sources.readers import check_unique, parse_numbers, reject_first
from vigie.warehouse import Warehouse
from vigie.modules.barometre.importing import SeriesImporter, month_text

CATEGORIES = {"A": "A", "CAT A": "A", "CATA": "A", "B": "B", "C": "C", "ABC": "ABC", "A,B,C": "ABC", "A-B-C": "ABC",
              "CAT ABC": "ABC", "CATABC": "ABC", "D": None, "E": None}


class JobseekersImporter(SeriesImporter):
    kind = "demandeurs-emploi"
    title = "Demandeurs d'emploi inscrits à France Travail (catégories A et ABC)"
    producer = "France Travail / Dares"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        frame = self.read_table([], "de demandeurs d'emploi")
        code = self.require_one(frame, ["code_commune", "codgeo", "Code commune", "depcom", "code_insee"], "commune")
        period = self.require_one(frame, ["periode", "période", "trimestre", "mois", "date"], "période")
        category = self.require_one(frame, ["categorie", "catégorie", "cat"], "catégorie")
        count = self.require_one(frame, ["nombre", "nb_demandeurs", "defm", "valeur", "effectif"], "nombre")
        frame[code] = frame[code].str.strip().str.zfill(5)
        self.check_known(frame, code, self.known_codes(wh, "commune"), "commune")
        cats = frame[category].str.strip().str.upper()
        reject_first(frame, ~cats.isin(CATEGORIES), file, category,
                     "catégorie « {value} » inconnue (A, B, C, D, E ou ABC attendue).")
        frame["_cat"] = cats.map(CATEGORIES)
        frame = frame[frame["_cat"].notna()]
        check_unique(frame, [code, period, category], file)
        quarters, monthly = self.quarter_of(frame, period)
        if monthly.any() and not monthly.all():
            reject_first(frame, ~monthly, file, period, "période « {value} » : le fichier mêle mois et trimestres.")
        values, status = parse_numbers(frame, count, file)
        bad = (status == "ok") & (values < 0)
        reject_first(frame, pd.Series(bad, index=frame.index), file, count, "nombre négatif « {value} ».")
        long = pd.DataFrame({"code": frame[code], "cat": frame["_cat"], "value": values, "status": status})
        if monthly.all():
            long["month"] = month_text(frame[period]).to_numpy()
            long = self.to_quarters(long, ["code", "cat"], "mean")
        else:
            long["period"] = quarters.to_numpy()
        indexed = long.set_index(["code", "period", "cat"])
        wide = indexed["value"].unstack("cat")
        stat = indexed["status"].unstack("cat")
        if "ABC" not in wide.columns:
            if not {"A", "B", "C"} <= set(wide.columns):
                raise ImportValidationError(file, "ni catégorie ABC ni les trois catégories A, B et C : impossible de "
                                                  "compter les demandeurs de catégories A, B, C.", column=category)
            wide["ABC"] = wide[["A", "B", "C"]].sum(axis=1, min_count=3)
            stat["ABC"] = np.where(wide["ABC"].isna(), "missing", "ok")
        out = []
        for cat, series in (("A", "defm_a"), ("ABC", "defm_abc")):
            if cat not in wide.columns:
                continue
            part = pd.DataFrame({"value": wide[cat], "status": stat[cat].fillna("missing")}).reset_index()
            part.loc[part["value"].isna() & (part["status"] == "ok"), "status"] = "missing"
            out.append(part.assign(series=series, level="commune"))
        return self.finish(pd.concat(out, ignore_index=True), self.definitions("defm_a", "defm_abc"))

