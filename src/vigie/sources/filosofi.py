"""Filosofi (INSEE): disposable income per consumption unit, poverty rate, inequality, by IRIS or commune.

Four layouts are recognised from the header:

* the official IRIS file `BASE_TD_FILO_IRIS_2021_DISP` (`;`: `IRIS;…;DISP_MED21;DISP_TP6021;DISP_GI21;DISP_Q121…`);
* the official commune file (the same `DISP_` columns with `CODGEO`, or the unprefixed `MED21;TP6021;…`);
* the demo's curated commune file (`,`: `code_insee, nom, median_uc_eur, part_minima_sociaux_pct, pma_epci`);
* the demo's curated IRIS file (`,`: `iris, com, median_uc_eur, taux_pauvrete60_pct, gini, pma_epci`).

The year comes from the column suffix (`MED21` → 2021), else from the option `year` or the file name; the
geography vintage (option `cog`) defaults to year + 2, the COG in which INSEE publishes the file.

Example::

    vigie import filosofi BASE_TD_FILO_IRIS_2021_DISP.csv --option cog=2023
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vigie.errors import ImportValidationError
from vigie.progress import Reporter
from vigie.sources.base import Batch, Importer
from vigie.sources.census import (
    STATUS_NAMES,
    first_line,
    option_bool,
    option_int,
    parse_table_numbers,
    read_table,
    split_header,
)
from vigie.sources.iris import check_overlap, check_territory_codes, iris_territories
from vigie.sources.readers import decode
from vigie.warehouse import Warehouse

THEME = "revenus"
DEFINITION = "Filosofi (INSEE), revenu disponible des ménages fiscaux par unité de consommation"


@dataclass(frozen=True)
class Measure:
    id: str
    label: str
    kind: str
    unit: str
    decimals: int


def _measures() -> dict[str, Measure]:
    """Filosofi variables (name without `DISP_` prefix and year) → indicator."""
    m = {
        "MED": Measure("revenu_median_uc", "Revenu disponible médian par unité de consommation", "median", "€", 0),
        "TP60": Measure("taux_pauvrete_60", "Taux de pauvreté au seuil de 60 %", "published_rate", "%", 1),
        "GI": Measure("gini", "Indice de Gini du revenu disponible", "index", "indice", 3),
        "Q1": Measure("revenu_q1_uc", "1er quartile du revenu disponible par unité de consommation", "index", "€", 0),
        "Q3": Measure("revenu_q3_uc", "3e quartile du revenu disponible par unité de consommation", "index", "€", 0),
        "EQ": Measure("ecart_interquartile_relatif", "Écart interquartile rapporté à la médiane du revenu disponible", "index", "rapport", 2),
        "RD": Measure("rapport_interdecile", "Rapport interdécile (D9/D1) du revenu disponible", "index", "rapport", 1),
        "S80S20": Measure("rapport_s80_s20", "Rapport S80/S20 du revenu disponible", "index", "rapport", 1),
    }
    for d in range(1, 10):
        if d == 5:
            continue
        rank = "1er" if d == 1 else f"{d}e"
        m[f"D{d}"] = Measure(f"revenu_d{d}_uc", f"{rank} décile du revenu disponible par unité de consommation", "index", "€", 0)
    shares = {
        "PACT": ("part_revenus_activite", "Part des revenus d'activité"),
        "PTSA": ("part_salaires", "Part des salaires et traitements"),
        "PCHO": ("part_indemnites_chomage", "Part des indemnités de chômage"),
        "PBEN": ("part_revenus_non_salaries", "Part des revenus des activités non salariées"),
        "PPEN": ("part_pensions_retraites", "Part des pensions, retraites et rentes"),
        "PPAT": ("part_revenus_patrimoine", "Part des revenus du patrimoine et autres revenus"),
        "PPSOC": ("part_prestations_sociales", "Part de l'ensemble des prestations sociales"),
        "PPFAM": ("part_prestations_familiales", "Part des prestations familiales"),
        "PPMINI": ("part_minima_sociaux", "Part des minima sociaux dans le revenu disponible"),
        "PPLOGT": ("part_prestations_logement", "Part des prestations logement"),
        "PIMPOT": ("part_impots", "Part des impôts (négative)"),
    }
    for name, (ident, label) in shares.items():
        m[name] = Measure(ident, label, "published_rate", "%", 1)
    return m


MEASURES = _measures()
OFFICIAL_COLUMN = re.compile(r"^(DISP_)?([A-Z0-9]+?)(\d{2})$")

# Curated demo columns → variable name.
CURATED = {
    "median_uc_eur": "MED",
    "taux_pauvrete60_pct": "TP60",
    "gini": "GI",
    "part_minima_sociaux_pct": "PPMINI",
}

# "ns" (non significatif) and "nd" (non disponible) cells carry no value.
MISSING = ["ns", "nd", "n.s."]


@dataclass(frozen=True)
class Layout:
    name: str
    level: str
    code_column: str
    commune_column: str | None
    name_column: str | None
    columns: dict[str, tuple[str, int | None]]  # file column -> (variable, year or None)


class FilosofiImporter(Importer):
    """Filosofi income file: options `year`, `cog`, `separator`, `encoding`, `synthetic`."""

    kind = "filosofi"
    title = "Revenus disponibles localisés Filosofi (INSEE)"
    producer = "INSEE"

    def __init__(self, path: Path | str, **options: Any):
        super().__init__(path, **options)
        if "synthetic" in self.options:
            self.options["synthetic"] = option_bool(self.options["synthetic"], "synthetic", self.path.name)
        self._year: int | None = None

    def separator(self) -> str:
        if "separator" in self.options:
            return str(self.options["separator"])
        line = first_line(self.path)
        return ";" if line.count(";") >= line.count(",") and ";" in line else ","

    def layout(self) -> Layout:
        """Which of the four layouts the header shows (error otherwise)."""
        header = split_header(first_line(self.path), self.separator())
        official = {}
        for column in header:
            match = OFFICIAL_COLUMN.match(column)
            if match and match.group(2) in MEASURES:
                official[column] = (match.group(2), 2000 + int(match.group(3)))
        if official and "IRIS" in header:
            return Layout("officiel IRIS", "iris", "IRIS", "COM" if "COM" in header else None,
                          "LIBIRIS" if "LIBIRIS" in header else None, official)
        if official and "CODGEO" in header:
            return Layout("officiel communes", "commune", "CODGEO", None, None, official)
        curated = {c: (CURATED[c], None) for c in header if c in CURATED}
        if curated and "iris" in header:
            return Layout("IRIS (démo)", "iris", "iris", "com" if "com" in header else None, None, curated)
        if curated and "code_insee" in header:
            return Layout("communes (démo)", "commune", "code_insee", None, None, curated)
        shown = ", ".join(header[:8]) + ("…" if len(header) > 8 else "")
        raise ImportValidationError(
            self.path.name,
            "ce fichier n'a pas la forme d'un fichier Filosofi : colonnes attendues IRIS ou CODGEO avec "
            "DISP_MED21, DISP_TP6021… (fichiers INSEE), ou code_insee/iris avec median_uc_eur (fichiers de la démo) ; "
            f"colonnes trouvées : {shown or 'aucune'}.",
            line=1,
        )

    def dataset(self) -> str:
        try:
            level = self.layout().level
        except ImportValidationError:
            level = "inconnu"
        return f"filosofi:{level}:{self.path.stem.lower()}"

    def vintage(self) -> str | None:
        if self.options.get("vintage"):
            return str(self.options["vintage"])
        return f"Filosofi {self._year}" if self._year else None

    def _default_year(self) -> int:
        if "year" in self.options:
            return option_int(self.options["year"], "year", self.path.name)
        match = re.search(r"(20\d{2})", self.path.stem)
        if match:
            return int(match.group(1))
        raise ImportValidationError(
            self.path.name, "année des données introuvable (ni dans les colonnes, ni dans le nom du fichier) : "
            "précisez-la avec --option year=2021."
        )

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        separator = self.separator()
        decode(self.path, "latin-1")  # an empty file is named as such before its header is examined
        layout = self.layout()
        required = [layout.code_column] + ([layout.commune_column] if layout.commune_column else [])
        frame = read_table(
            self.path, separator=separator, required=required, encoding=str(self.options.get("encoding", "auto")),
            kind_label="Filosofi", key=[layout.code_column],
        )
        frame[layout.code_column] = frame[layout.code_column].astype(str)
        columns = list(layout.columns)
        years = {c: (y if y is not None else self._default_year()) for c, (_, y) in layout.columns.items()}
        if "year" in self.options:
            forced = option_int(self.options["year"], "year", file)
            years = {c: forced for c in columns}
        self._year = max(years.values())
        cog = option_int(self.options["cog"], "cog", file) if "cog" in self.options else self._year + 2

        ignored = [c for c in frame.columns if OFFICIAL_COLUMN.match(c) and c.startswith("DISP_") and c not in layout.columns]
        if ignored:
            self.warn(f"Colonnes Filosofi non reprises : {', '.join(ignored)}.")

        batch = Batch()
        if layout.level == "iris":
            territory, membership = iris_territories(
                wh, frame, file=file, dataset=self.dataset(), cog=cog, iris_column=layout.code_column,
                commune_column=layout.commune_column, name_column=layout.name_column,
            )
            batch.add("territory", territory)
            batch.add("membership", membership)
        else:
            check_territory_codes(wh, frame, layout.code_column, "commune", cog, file)

        values, status = parse_table_numbers(frame, columns, file, decimal_comma=separator != ",", missing=MISSING)
        codes = frame[layout.code_column].to_numpy(dtype=object)
        parts = []
        for j, column in enumerate(columns):
            measure = MEASURES[layout.columns[column][0]]
            parts.append(pd.DataFrame({
                "indicator": measure.id, "level": layout.level, "code": codes, "year": years[column], "cog": cog,
                "value": values[:, j], "status": np.asarray(STATUS_NAMES, dtype=object)[status[:, j]],
            }))
        value = pd.concat(parts, ignore_index=True)
        lines = dict(zip(frame[layout.code_column], frame["_line"]))
        column_of = {MEASURES[v].id: c for c, (v, _) in layout.columns.items()}
        check_overlap(wh, value, "value", dataset=self.dataset(), file=file,
                      locate=lambda r: (int(lines[r["code"]]), column_of.get(r["indicator"])))
        batch.add("value", value)
        batch.add("indicator", pd.DataFrame([self._indicator(MEASURES[layout.columns[c][0]]) for c in columns]))
        report.info(f"  Filosofi {self._year} ({layout.name}) : {len(frame)} territoires, {len(columns)} indicateurs, COG {cog}")
        return batch

    @staticmethod
    def _indicator(m: Measure) -> dict[str, Any]:
        return {
            "id": m.id, "label": m.label, "theme": THEME, "unit": m.unit, "kind": m.kind,
            "numerator": None, "denominator": None, "factor": None, "decimals": m.decimals,
            "definition": f"{m.label} ({DEFINITION}).", "secrecy": None, "vintage_label": "Filosofi {year}",
        }
