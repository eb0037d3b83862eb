"""Business creations by commune and quarter, counted in the SIRENE establishment stock (`StockEtablissement`).

An enterprise creation is counted where its head office (`etablissementSiege = true`) is created: rows are counted
by `codeCommuneEtablissement` and the quarter of `dateCreationEtablissement` (AAAA-MM-JJ). Establishments outside the
warehouse's communes (the stock is national) and creations before the `from` option (a quarter, default: the
file's first) are left aside. Every commune of the warehouse gets a value (zero included) for every quarter between
the first and the last quarter found, or up to the `until` option (so that an incomplete last quarter is not shown).
"""

from __future__ import annotations

import pandas as pd

from vigie.progress import Reporter
from vigie.sources.base import Batch
from vigie.sources.readers import reject_first
from vigie.warehouse import Warehouse
from vigie.modules.barometre.importing import SeriesImporter
from vigie.modules.barometre.periods import last_n, parse_quarter, quarter

REQUIRED = ["siret", "dateCreationEtablissement", "codeCommuneEtablissement", "etablissementSiege"]


class SireneCreationsImporter(SeriesImporter):
    kind = "creations-sirene"
    title = "Créations d'entreprises (répertoire SIRENE, établissements sièges)"
    producer = "INSEE (SIRENE)"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        frame = self.read_table(REQUIRED, "SIRENE StockEtablissement")
        siege = frame["etablissementSiege"].str.lower()
        reject_first(frame, ~siege.isin({"true", "false"}), file, "etablissementSiege",
                     "valeur « {value} » inattendue (true ou false).")
        dates = pd.to_datetime(frame["dateCreationEtablissement"], format="%Y-%m-%d", errors="coerce")
        reject_first(frame, dates.isna() & (frame["dateCreationEtablissement"] != ""), file,
                     "dateCreationEtablissement", "date « {value} » illisible (AAAA-MM-JJ attendue).")
        communes = self.known_codes(wh, "commune")
        keep = (siege == "true") & dates.notna() & frame["codeCommuneEtablissement"].isin(communes)
        periods = dates.dt.year.astype("Int64").astype(str) + "-T" + dates.dt.quarter.astype("Int64").astype(str)
        start = quarter(self.options["from"]) if self.options.get("from") else None
        if start:
            keep &= periods >= start  # AAAA-Tn sorts as text
        found = periods[keep]
        if found.empty:  # nothing to count: `finish` says the file holds no value
            return self.finish(pd.DataFrame(), self.definitions("creations_entreprises"))
        first = start or found.min()
        last = quarter(self.options["until"]) if self.options.get("until") else found.max()
        counts = frame[keep].assign(period=periods[keep]).groupby(["codeCommuneEtablissement", "period"]).size()
        span = _span(first, last)
        grid = pd.MultiIndex.from_product([sorted(communes), span], names=["code", "period"])
        counts.index = counts.index.set_names(["code", "period"])
        values = counts.reindex(grid, fill_value=0).rename("value").reset_index()
        values = values.assign(series="creations_entreprises", level="commune", status="ok")
        return self.finish(values, self.definitions("creations_entreprises"))


def _span(first: str, last: str) -> list[str]:
    y0, q0 = parse_quarter(first)
    y1, q1 = parse_quarter(last)
    n = (y1 * 4 + q1) - (y0 * 4 + q0) + 1
    return last_n(last, n) if n > 0 else []
