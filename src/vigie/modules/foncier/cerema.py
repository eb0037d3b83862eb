"""Importer of the Cerema file « consommation d'espaces naturels, agricoles et forestiers » (NAF), per commune.

The file (portail de l'artificialisation, "obs_artif_conso_com_2009_2023" and later vintages) has one row per
commune: `idcom, idcomtxt, idreg, idregtxt, iddep, iddeptxt, epci23, epci23txt, scot, aav2020, …`, then for each
year YY the annual flow `nafYYartZZ` (m² of NAF land consumed between 1 January 20YY and 1 January 20ZZ, ZZ = YY+1)
and its split by destination `artYYactZZ` (activité), `artYYhabZZ` (habitat), `artYYmixZZ` (mixte), `artYYrouZZ`
(routes), `artYYferZZ` (ferroviaire), `artYYincZZ` (inconnu); then multi-year totals (`naf09art23`, `art09act23`…,
`naf11art21`), `artcom0923` and population/household/job columns, which are ignored except for one check.

Every annual flow becomes a value of the commune at `year = 20YY` (the year the flow starts, as the portal labels
it) and `cog` = the file's geography vintage (option `cog`, required: 2023 for the 2009–2023 file, 2025 for the
2011–2024 one). The engine's cube then sums them to EPCI, SCoT, PMA… and carries merged communes through the COG
passages.

Checks, each naming file, line and column: the header is a Cerema commune file (`idcom` and at least one
`nafYYartZZ`), separator `;` or `,` (sniffed), upper- or lower-case column names; commune codes well formed,
unique and known in the warehouse at that COG; numbers only; no negative flow (the flow is gross: renaturation is
not deducted) except the rounding residual of the « inconnu » destination, tolerated down to −10 m²; each annual
flow equals the sum of its six destinations within 10 m²; a multi-year total (`naf09art23`) equals the sum of the
annual flows it covers within 10 m². A year missing in the middle of the window is not an error but is stated:
it gets no value at all (never a zero), and the ZAN computations say so.

A newer vintage replaces the previous one as a whole (the Cerema revises past flows at each vintage): the dataset
is the kind itself, whatever the file name.

    vigie import consommation-naf conso_com_2009_2023.csv --option cog=2023
"""

from __future__ import annotations

import csv
import re
from typing import Any

import numpy as np
import pandas as pd

from vigie.errors import ImportValidationError
from vigie.progress import Reporter
from vigie.sources.base import Batch, Importer
from vigie.sources.options import as_int
from vigie.sources.readers import check_codes, decode, parse_numbers, read_csv, reject_first
from vigie.warehouse import Warehouse

KIND = "consommation-naf"
THEME = "foncier"

# Destination code in the column name → (slug used in variable names, French label).
DESTINATIONS: dict[str, tuple[str, str]] = {
    "act": ("activite", "activité"),
    "hab": ("habitat", "habitat"),
    "mix": ("mixte", "mixte"),
    "rou": ("routes", "routes"),
    "fer": ("ferroviaire", "ferroviaire"),
    "inc": ("inconnu", "destination inconnue"),
}

# Base variables written to `value` (m²): the total flow and one per destination.
TOTAL_VARIABLE = "conso_enaf_m2"


def destination_variable(slug: str) -> str:
    return f"conso_enaf_{slug}_m2"


VARIABLES: dict[str, str] = {"naf": TOTAL_VARIABLE} | {
    code: destination_variable(slug) for code, (slug, _) in DESTINATIONS.items()
}

TOLERANCE_M2 = 10.0  # identities of the file (flow = sum of destinations; total = sum of flows), and the residual
ANNUAL = re.compile(r"^naf(\d{2})art(\d{2})$")
COMMUNE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")


def flow_column(year: int) -> str:
    return f"naf{year % 100:02d}art{(year + 1) % 100:02d}"


def destination_column(year: int, code: str) -> str:
    return f"art{year % 100:02d}{code}{(year + 1) % 100:02d}"


def indicator_definitions() -> pd.DataFrame:
    """Definitions of the base variables (the catalogue `foncier_consommation.yaml` publishes them as indicators)."""
    rows = [{
        "id": TOTAL_VARIABLE,
        "label": "Consommation d'espaces naturels, agricoles et forestiers",
        "definition": "Flux annuel de consommation d'espaces NAF du 1er janvier de l'année au 1er janvier suivant "
                      "(Cerema, fichiers fonciers), en m².",
    }]
    for code, (slug, label) in DESTINATIONS.items():
        rows.append({
            "id": destination_variable(slug),
            "label": f"Consommation d'espaces NAF – {label}",
            "definition": f"Part du flux annuel de consommation d'espaces NAF dont la destination est : {label} "
                          "(Cerema, fichiers fonciers), en m².",
        })
    frame = pd.DataFrame(rows)
    frame["theme"] = THEME
    frame["unit"] = "m²"
    frame["kind"] = "stock"
    frame["numerator"] = None
    frame["denominator"] = None
    frame["factor"] = None
    frame["decimals"] = 0
    frame["secrecy"] = None
    return frame


class CeremaConsommationImporter(Importer):
    kind = KIND
    title = "Consommation d'espaces naturels, agricoles et forestiers par commune"
    producer = "Cerema (portail de l'artificialisation, fichiers fonciers)"

    def __init__(self, path, **options: Any):
        super().__init__(path, **options)
        self.years: list[int] = []

    def dataset(self) -> str:
        return KIND

    def vintage(self) -> str | None:
        if self.options.get("vintage"):
            return str(self.options["vintage"])
        if self.years:
            first, last = self.years[0], self.years[-1]
            return f"flux annuels {first} à {last} (1er janvier {first} → 1er janvier {last + 1})"
        return None

    # ------------------------------------------------------------------ reading
    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        name = self.path.name
        cog = as_int(self.options.get("cog"), "cog")
        if cog is None:
            raise ImportValidationError(
                name, "le millésime du COG des codes communes est obligatoire : relancez avec --option cog=AAAA "
                "(2023 pour le fichier 2009-2023 du Cerema, 2025 pour le fichier 2011-2024).")
        known = {r[0] for r in wh.query("SELECT code FROM territory WHERE level = 'commune' AND cog = ?", (cog,))}
        if not known:
            raise ImportValidationError(
                name, f"l'entrepôt ne connaît aucune commune au COG {cog} : importez d'abord le référentiel de ce millésime "
                "ou indiquez le bon millésime (--option cog=AAAA).")

        text, _ = decode(self.path, str(self.options.get("encoding", "auto")))
        first = text.split("\n", 1)[0].rstrip("\r")
        separator = ";" if first.count(";") >= first.count(",") else ","
        header = [h.strip() for h in next(csv.reader([first], delimiter=separator))]
        by_lower = {h.lower(): h for h in header}
        if "idcom" not in by_lower:
            raise ImportValidationError(
                name, "ce fichier n'a pas la forme du fichier communal de consommation d'espaces du Cerema : "
                f"colonne « idcom » absente ; colonnes trouvées : {', '.join(header[:8])}{'…' if len(header) > 8 else ''}.",
                line=1, column="idcom")
        frame = read_csv(self.path, separator=separator, required=[by_lower["idcom"]],
                         encoding=str(self.options.get("encoding", "auto")), kind_label="Cerema de consommation d'espaces")
        frame.columns = [c if c == "_line" else c.lower() for c in frame.columns]

        years, totals = self._layout(frame, name)
        self.years = years
        report.info(f"{name} : {len(frame)} communes, flux annuels {years[0]} à {years[-1]}.")

        frame["idcom"] = frame["idcom"].astype(str).str.strip()
        reject_first(frame, ~frame["idcom"].str.match(COMMUNE_CODE), name, "idcom",
                     "code commune « {value} » mal formé (cinq caractères du COG attendus).")
        reject_first(frame, frame["idcom"].duplicated(), name, "idcom",
                     "la commune « {value} » apparaît deux fois dans le fichier.")
        check_codes(frame, "idcom", known, name)

        codes = frame["idcom"].to_numpy(dtype=object)
        parts: list[tuple[str, int, np.ndarray, np.ndarray]] = []
        for year in years:
            flow, flow_status = self._numbers(frame, flow_column(year), name, allow=0.0)
            parts.append((TOTAL_VARIABLE, year, flow, flow_status))
            present = [c for c in DESTINATIONS if destination_column(year, c) in frame.columns]
            split = np.zeros(len(frame))
            for code in present:
                column = destination_column(year, code)
                values, status = self._numbers(frame, column, name, allow=TOLERANCE_M2 if code == "inc" else 0.0)
                split += np.nan_to_num(values)
                parts.append((VARIABLES[code], year, values, status))
            if len(present) == len(DESTINATIONS):
                bad = pd.Series((np.abs(split - flow) > TOLERANCE_M2) & (flow_status == "ok"), index=frame.index)
                if bad.any():
                    row = frame[bad].iloc[0]
                    i = frame.index.get_loc(row.name)
                    raise ImportValidationError(
                        name, f"le flux {year} ({_m2(flow[i])}) n'est pas la somme de ses six destinations ({_m2(split[i])}) : "
                        "colonne décalée ou recomposée ?", line=int(row["_line"]), column=flow_column(year))
        self._check_totals(frame, totals, years, name)

        batch = Batch()
        batch.add("indicator", indicator_definitions())
        batch.add("value", _rows(parts, codes, cog))
        return batch

    def _layout(self, frame: pd.DataFrame, name: str) -> tuple[list[int], dict[str, tuple[int, int]]]:
        """The years of the annual flows, and the multi-year total columns (column → (first year, last year))."""
        years, totals = [], {}
        for column in frame.columns:
            match = ANNUAL.match(column)
            if not match:
                continue
            start, end = 2000 + int(match.group(1)), 2000 + int(match.group(2))
            if end == start + 1:
                years.append(start)
            elif end > start + 1:
                totals[column] = (start, end - 1)
        if not years:
            raise ImportValidationError(
                name, "aucune colonne de flux annuel (nafAAartBB, par exemple naf11art12) : ce n'est pas le fichier "
                "communal de consommation d'espaces du Cerema.", line=1)
        years.sort()
        missing = [y for y in range(years[0], years[-1] + 1) if y not in years]
        for year in missing:
            self.warn(f"Le flux {year} ({flow_column(year)}) est absent du fichier : l'année {year} n'a aucune valeur "
                      "(ce n'est pas un zéro) ; les calculs ZAN le signalent.")
        for code, (slug, label) in DESTINATIONS.items():
            have = [y for y in years if destination_column(y, code) in frame.columns]
            if not have:
                self.warn(f"La destination « {label} » est absente du fichier (ancien millésime ?) : elle n'est pas importée.")
            elif len(have) < len(years):
                year = next(y for y in years if y not in have)
                raise ImportValidationError(name, f"la destination « {label} » du flux {year} est absente alors que "
                                            "celle des autres années est présente.", line=1, column=destination_column(year, code))
        return years, totals

    def _numbers(self, frame: pd.DataFrame, column: str, name: str, allow: float) -> tuple[np.ndarray, np.ndarray]:
        values, status = parse_numbers(frame, column, name)
        status = np.where(status == "secret", "missing", status)  # the Cerema masks nothing: a marker means no value
        negative = pd.Series(np.nan_to_num(values) < -allow, index=frame.index)
        reject_first(frame, negative, name, column,
                     "surface négative « {value} » : la consommation d'espaces est un flux brut, jamais négatif"
                     + (f" (seul un résidu d'arrondi jusqu'à −{allow:.0f} m² est toléré pour la destination inconnue)."
                        if allow else "."))
        return values, status

    def _check_totals(self, frame: pd.DataFrame, totals: dict[str, tuple[int, int]], years: list[int], name: str) -> None:
        for column, (first, last) in totals.items():
            covered = list(range(first, last + 1))
            if any(y not in years for y in covered):
                continue
            total, status = parse_numbers(frame, column, name)
            flows = np.zeros(len(frame))
            complete = status == "ok"
            for year in covered:
                values, st = parse_numbers(frame, flow_column(year), name)
                flows += np.nan_to_num(values)
                complete &= st == "ok"
            bad = pd.Series(complete & (np.abs(flows - np.nan_to_num(total)) > TOLERANCE_M2), index=frame.index)
            if bad.any():
                row = frame[bad].iloc[0]
                i = frame.index.get_loc(row.name)
                raise ImportValidationError(
                    name, f"le total {first}-{last} ({_m2(total[i])}) n'est pas la somme des flux annuels "
                    f"{first} à {last} ({_m2(flows[i])}).", line=int(row["_line"]), column=column)


def _rows(parts: list[tuple[str, int, np.ndarray, np.ndarray]], codes: np.ndarray, cog: int) -> pd.DataFrame:
    """One value row per (variable, year, commune), built in one go (a national file gives 3.4 million rows)."""
    n = len(codes)
    values = np.concatenate([p[2] for p in parts])
    status = np.concatenate([p[3] for p in parts])
    return pd.DataFrame({
        "indicator": np.repeat(np.array([p[0] for p in parts], dtype=object), n),
        "level": "commune",
        "code": np.tile(codes, len(parts)),
        "year": np.repeat(np.array([p[1] for p in parts], dtype=np.int64), n),
        "cog": cog,
        "value": np.where(status == "ok", values, np.nan),
        "status": status,
    })


def _m2(value: float) -> str:
    from vigie import formatting as fmt

    return fmt.quantity(value, "m²")
