"""Commune passage tables between consecutive COG vintages (merges, splits, code changes).

Reads the COGugaison layout (`cog_from, cog_to, code_from, code_to, annee, typemodif, ratio`): `typemodif` f =
fusion, s = scission (the ratio is the share of the old commune's population going to the new one), c = changement
de code. Splits must be weighted by population, never by surface: the ratios of a split code must sum to 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vigie.errors import ImportValidationError
from vigie.progress import Reporter
from vigie.sources.base import Batch, Importer
from vigie.sources.cog_referential import COMMUNE_CODE, check_pattern
from vigie.sources.options import sniff_separator
from vigie.sources.readers import parse_numbers, read_csv, reject_first
from vigie.warehouse import Warehouse

CHANGES = {"f": "fusion", "s": "scission", "c": "changement de code", "fusion": "fusion", "scission": "scission"}


class PassageImporter(Importer):
    kind = "passage"
    title = "Table de passage des codes communes entre millésimes du COG"
    producer = "INSEE (COG), mis en forme par COGugaison"
    licence = "ODbL (mise en forme) / Licence Ouverte (COG INSEE)"
    REQUIRED = ["cog_from", "cog_to", "code_from", "code_to", "typemodif", "ratio"]

    def dataset(self) -> str:
        return f"passage:{self.path.stem}"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        first = self.path.read_bytes()[:2000].decode("utf-8", errors="replace").split("\n", 1)[0]
        frame = read_csv(self.path, separator=sniff_separator(first), required=self.REQUIRED, kind_label="table de passage",
                         key=["cog_from", "cog_to", "code_from", "code_to"])
        for column in ("code_from", "code_to"):
            check_pattern(frame, column, COMMUNE_CODE, file, "code commune")
        for column in ("cog_from", "cog_to"):
            reject_first(frame, ~frame[column].str.fullmatch(r"(19|20)\d{2}"), file, column, "millésime mal formé « {value} ».")
        reject_first(frame, ~frame["typemodif"].isin(CHANGES), file, "typemodif",
                     "type de modification inconnu « {value} » (attendu f, s ou c).")
        weights, status = parse_numbers(frame, "ratio", file)
        if (status != "ok").any() or ((weights <= 0) | (weights > 1)).any():
            i = int(np.argmax((status != "ok") | (weights <= 0) | (weights > 1)))
            raise ImportValidationError(file, "le ratio doit être compris entre 0 (exclu) et 1.", line=int(frame.iloc[i]["_line"]), column="ratio")
        frame["weight"] = weights
        sums = frame.groupby(["cog_from", "cog_to", "code_from"])["weight"].sum()
        off = sums[(sums - 1).abs() > 1e-6]
        if len(off):
            key = off.index[0]
            row = frame[(frame["cog_from"] == key[0]) & (frame["cog_to"] == key[1]) & (frame["code_from"] == key[2])].iloc[0]
            raise ImportValidationError(
                file, f"les ratios de la commune « {key[2]} » ({key[0]} → {key[1]}) totalisent {off.iloc[0]:.4f} au lieu de 1.",
                line=int(row["_line"]), column="ratio",
            )
        batch = Batch()
        batch.add("passage", pd.DataFrame({
            "cog_from": frame["cog_from"].astype(int), "cog_to": frame["cog_to"].astype(int),
            "code_from": frame["code_from"], "code_to": frame["code_to"],
            "change": frame["typemodif"].map(CHANGES), "weight": frame["weight"],
        }))
        return batch
