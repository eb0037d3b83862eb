"""Property sales and prices from DVF (« Demandes de valeurs foncières », geo-dvf layout by Etalab).

One row per local (or parcel) of a mutation: `id_mutation, date_mutation, nature_mutation, valeur_fonciere,
code_commune, type_local, surface_reelle_bati…`. Only sales (`nature_mutation = Vente`) are kept. A sale of
dwellings is a mutation with at least one `Maison` or `Appartement`; the price per m² uses the sales of exactly one
dwelling (their value over their built surface), summed per commune and quarter so that every territory's price is
recomputed from sums, never averaged.
"""

from __future__ import annotations

import pandas as pd

from vigie.progress import Reporter
from vigie.sources.base import Batch
from vigie.sources.readers import parse_numbers, reject_first
from vigie.warehouse import Warehouse
from vigie.modules.barometre.importing import SeriesImporter

REQUIRED = ["id_mutation", "date_mutation", "nature_mutation", "valeur_fonciere", "code_commune", "type_local",
            "surface_reelle_bati"]
DWELLINGS = {"Maison", "Appartement"}


class DvfImporter(SeriesImporter):
    kind = "dvf"
    title = "Demandes de valeurs foncières (DVF géolocalisées)"
    producer = "DGFiP, mise en forme Etalab"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        frame = self.read_table(REQUIRED, "DVF (geo-dvf)")
        dates = pd.to_datetime(frame["date_mutation"], format="%Y-%m-%d", errors="coerce")
        reject_first(frame, dates.isna(), file, "date_mutation", "date « {value} » illisible (AAAA-MM-JJ attendue).")
        frame["code_commune"] = frame["code_commune"].str.strip().str.zfill(5)
        self.check_known(frame, "code_commune", self.known_codes(wh, "commune"), "commune")
        value, vstatus = parse_numbers(frame, "valeur_fonciere", file)
        surface, sstatus = parse_numbers(frame, "surface_reelle_bati", file)
        reject_first(frame, pd.Series((vstatus == "ok") & (value < 0), index=frame.index), file, "valeur_fonciere",
                     "valeur foncière négative « {value} ».")
        frame["_value"], frame["_surface"] = value, surface
        frame["_period"] = dates.dt.year.astype(str) + "-T" + dates.dt.quarter.astype(str)
        sales = frame[frame["nature_mutation"].str.strip() == "Vente"]
        dwelling = sales["type_local"].isin(DWELLINGS)
        sales = sales.assign(_dw=dwelling, _dsurf=sales["_surface"].where(dwelling))
        per_mutation = sales.groupby("id_mutation", sort=False).agg(
            code=("code_commune", "first"), period=("_period", "first"), dwellings=("_dw", "sum"),
            value=("_value", "first"), surface=("_dsurf", "sum"))
        with_dwelling = per_mutation[per_mutation["dwellings"] > 0]
        single = with_dwelling[(with_dwelling["dwellings"] == 1) & with_dwelling["value"].gt(0)
                               & with_dwelling["surface"].gt(0)]
        counts = with_dwelling.groupby(["code", "period"]).size().rename("value").reset_index()
        sums = single.groupby(["code", "period"]).agg(v=("value", "sum"), s=("surface", "sum")).reset_index()
        out = [counts.assign(series="dvf_ventes"),
               sums.rename(columns={"v": "value"})[["code", "period", "value"]].assign(series="dvf_valeur"),
               sums.rename(columns={"s": "value"})[["code", "period", "value"]].assign(series="dvf_surface")]
        values = pd.concat(out, ignore_index=True).assign(level="commune", status="ok")
        return self.finish(values, self.definitions("dvf_ventes", "dvf_prix_m2", "dvf_valeur", "dvf_surface"))
