"""INSEE "table d'appartenance géographique des communes": the supra-communal zonings of each COG vintage.

One row per commune and vintage (the COGugaison layout adds an `ANNEE_COG` column to stack the yearly INSEE
tables; a single-year INSEE table is imported with `--option cog=AAAA`). It gives, for each vintage, the
communes, their EPCI, département, région and zone d'emploi 2020, so that the warehouse knows every geography
from 2012 on. The 2012 table also carries the 1999 and 2010 census populations.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vigie.errors import ImportValidationError
from vigie.progress import Reporter
from vigie.sources.base import Batch, Importer
from vigie.sources.cog_referential import (
    COMMUNE_CODE, NO_EPCI, check_pattern, known_codes, membership_rows, territory_rows,
)
from vigie.sources.options import as_int, sniff_separator
from vigie.sources.readers import check_unique, parse_numbers, read_csv, reject_first
from vigie.warehouse import Warehouse

CENSUS_POPULATION = {
    "id": "p_pop",
    "label": "Population municipale (recensement)",
    "theme": "démographie",
    "unit": "habitants",
    "kind": "stock",
    "decimals": 0,
    "definition": "Population municipale au recensement de l'année indiquée (INSEE, variable P_POP).",
    "secrecy": None,
    "vintage_label": "recensement {year}",
}
POPULATION_COLUMNS = {"POP1999": 1999, "POP2010": 2010}


class AppartenanceImporter(Importer):
    kind = "appartenance"
    title = "Table d'appartenance géographique des communes"
    producer = "INSEE"
    REQUIRED = ["CODGEO", "LIBGEO", "DEP", "REG", "EPCI"]

    def dataset(self) -> str:
        return f"appartenance:{self.path.stem}"

    def vintage(self) -> str | None:
        return self.options.get("vintage")

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        first = self.path.read_bytes()[:4000].decode("utf-8", errors="replace").split("\n", 1)[0]
        sep = self.options.get("separator") or sniff_separator(first)
        frame = read_csv(self.path, separator=sep, required=self.REQUIRED, encoding=self.options.get("encoding", "auto"),
                         kind_label="table d'appartenance")
        if "ANNEE_COG" not in frame.columns:
            cog = as_int(self.options.get("cog"), "cog")
            if cog is None:
                raise ImportValidationError(file, "millésime absent : ajoutez --option cog=AAAA.", line=1, column="ANNEE_COG")
            frame["ANNEE_COG"] = str(cog)
        reject_first(frame, ~frame["ANNEE_COG"].str.fullmatch(r"(19|20)\d{2}"), file, "ANNEE_COG",
                     "millésime mal formé « {value} ».")
        frame["ANNEE_COG"] = frame["ANNEE_COG"].astype(int)
        check_pattern(frame, "CODGEO", COMMUNE_CODE, file, "code commune")
        check_unique(frame, ["ANNEE_COG", "CODGEO"], file)

        labels = self._epci_labels()
        ze_labels = self._ze_labels()
        batch = Batch()
        for cog, rows in frame.groupby("ANNEE_COG", sort=True):
            cog = int(cog)
            report.advance(1)
            self._check_parents(wh, rows, cog)
            batch.add("territory", territory_rows("commune", rows["CODGEO"], rows["LIBGEO"], [cog]))
            epci = rows.loc[~rows["EPCI"].isin(NO_EPCI), "EPCI"].drop_duplicates()
            names = epci.map(lambda c: labels.get((cog, c)))
            if names.isna().any():
                self.warn(f"COG {cog} : {int(names.isna().sum())} EPCI sans libellé (fichier de libellés absent ou incomplet).")
                names = names.fillna("EPCI " + epci)
            batch.add("territory", territory_rows("epci", epci, names, [cog]))
            batch.add("membership", membership_rows(rows["CODGEO"], "commune", rows["EPCI"], "epci", [cog]))
            batch.add("membership", membership_rows(rows["CODGEO"], "commune", rows["DEP"], "departement", [cog]))
            batch.add("membership", membership_rows(rows["CODGEO"], "commune", rows["REG"], "region", [cog]))
            if "ZE2020" in rows.columns and (rows["ZE2020"] != "").all():
                ze = rows["ZE2020"].drop_duplicates()
                batch.add("territory", territory_rows("zone_emploi", ze, ze.map(lambda c: ze_labels.get(c, f"Zone d'emploi {c}")), [cog]))
                batch.add("membership", membership_rows(rows["CODGEO"], "commune", rows["ZE2020"], "zone_emploi", [cog]))
        self._populations(frame, batch)
        return batch

    def _check_parents(self, wh: Warehouse, rows: pd.DataFrame, cog: int) -> None:
        for level, column in (("departement", "DEP"), ("region", "REG")):
            reject_first(rows, ~rows[column].isin(known_codes(wh, level, cog)), self.path.name, column,
                         f"{level} « {{value}} » inconnu au COG {cog} : importez d'abord les fichiers COG "
                         f"(vigie import cog-insee v_{level}_{cog}.csv).")

    def _epci_labels(self) -> dict[tuple[int, str], str]:
        """EPCI names per vintage from the optional labels file (ANNEE_COG, NIVGEO, CODGEO, LIBGEO)."""
        path = self.options.get("epci_labels")
        if not path:
            return {}
        path = Path(path)
        first = path.read_bytes()[:2000].decode("utf-8", errors="replace").split("\n", 1)[0]
        labels = read_csv(path, separator=sniff_separator(first), required=["ANNEE_COG", "CODGEO", "LIBGEO"],
                          encoding="auto", kind_label="libellés d'EPCI")
        if "NIVGEO" in labels.columns:
            labels = labels[labels["NIVGEO"] == "EPCI"]
        return {(int(y), c): n for y, c, n in zip(labels["ANNEE_COG"], labels["CODGEO"], labels["LIBGEO"])}

    def _ze_labels(self) -> dict[str, str]:
        """Zone d'emploi 2020 names from an optional file with (ZE2020, LIBZE2020) or (ze2020, ze2020_libelle)."""
        path = self.options.get("ze_labels")
        if not path:
            return {}
        path = Path(path)
        first = path.read_bytes()[:2000].decode("utf-8", errors="replace").split("\n", 1)[0]
        for code, name in (("ZE2020", "LIBZE2020"), ("ze2020", "ze2020_libelle")):
            if code in first and name in first:
                labels = read_csv(path, separator=sniff_separator(first), required=[code, name], encoding="auto",
                                  kind_label="libellés de zones d'emploi")
                return dict(zip(labels[code], labels[name]))
        raise ImportValidationError(path.name, "colonnes ZE2020/LIBZE2020 (ou ze2020/ze2020_libelle) absentes.", line=1)

    def _populations(self, frame: pd.DataFrame, batch: Batch) -> None:
        """Census populations carried by the table (POP1999, POP2010), taken from the earliest vintage that has them."""
        rows = []
        for column, year in POPULATION_COLUMNS.items():
            if column not in frame.columns:
                continue
            with_values = frame[frame[column] != ""]
            if with_values.empty:
                continue
            cog = int(with_values["ANNEE_COG"].min())
            sub = frame[frame["ANNEE_COG"] == cog]
            values, status = parse_numbers(sub, column, self.path.name)
            rows.append(pd.DataFrame({"indicator": CENSUS_POPULATION["id"], "level": "commune", "code": sub["CODGEO"].to_numpy(),
                                      "year": year, "cog": cog, "value": values, "status": status}))
        if rows:
            batch.add("indicator", pd.DataFrame([CENSUS_POPULATION]))
            batch.add("value", pd.concat(rows, ignore_index=True))
