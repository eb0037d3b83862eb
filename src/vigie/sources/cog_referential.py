"""Commune referential importers: which communes, EPCI, départements and régions exist at a COG vintage.

Three formats:
- `referentiel`: a tabular referential (one row per commune, with its EPCI and legal populations by vintage),
  the layout of the demo's `communes_62.csv` built from `@etalab/decoupage-administratif`;
- `decoupage-administratif`: that package's own JSON (`communes.json`, with `epci.json` for memberships);
- `cog-insee`: INSEE's Code officiel géographique files `v_commune_AAAA.csv`, `v_departement_AAAA.csv`,
  `v_region_AAAA.csv`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vigie.errors import ImportValidationError, VigieError
from vigie.progress import Reporter
from vigie.sources.base import Batch, Importer, LICENCE_OUVERTE
from vigie.sources.options import as_int, as_int_list, years_text
from vigie.sources.readers import check_unique, parse_numbers, read_csv, reject_first
from vigie.warehouse import Warehouse

COMMUNE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
EPCI_SIREN = re.compile(r"^\d{9}$")
DEP_CODE = re.compile(r"^(\d{2,3}|2[AB])$")
REG_CODE = re.compile(r"^\d{2}$")
NO_EPCI = {"", "ZZZZZZZZZ"}

LEGAL_POPULATION = {
    "id": "pop_legale",
    "label": "Population municipale (population légale)",
    "theme": "démographie",
    "unit": "habitants",
    "kind": "stock",
    "decimals": 0,
    "definition": (
        "Population municipale légale du millésime N, calculée par l'INSEE à partir des enquêtes de recensement "
        "N-2 à N+2 et en vigueur au 1er janvier N+3."
    ),
    "secrecy": None,
    "vintage_label": "population légale {year}, en vigueur au 1er janvier {year+3}",
}

TERRITORY_COLUMNS = ["level", "code", "cog", "name"]
MEMBERSHIP_COLUMNS = ["cog", "child_level", "child_code", "parent_level", "parent_code", "weight"]


def check_pattern(frame: pd.DataFrame, column: str, pattern: re.Pattern, file: str, what: str, allow: set[str] = frozenset()) -> None:
    bad = ~frame[column].isin(allow) & ~frame[column].str.match(pattern)
    reject_first(frame, bad, file, column, f"{what} mal formé « {{value}} ».")


def territory_rows(level: str, codes: pd.Series, names: pd.Series, cogs: list[int]) -> pd.DataFrame:
    base = pd.DataFrame({"level": level, "code": codes.to_numpy(), "name": names.to_numpy()}).drop_duplicates("code")
    return pd.concat([base.assign(cog=c) for c in cogs], ignore_index=True)[TERRITORY_COLUMNS]


def membership_rows(children: pd.Series, child_level: str, parents: pd.Series, parent_level: str, cogs: list[int]) -> pd.DataFrame:
    base = pd.DataFrame(
        {"child_level": child_level, "child_code": children.to_numpy(), "parent_level": parent_level,
         "parent_code": parents.to_numpy(), "weight": 1.0}
    )
    base = base[~base["parent_code"].isin(NO_EPCI)]
    return pd.concat([base.assign(cog=c) for c in cogs], ignore_index=True)[MEMBERSHIP_COLUMNS]


def required_cogs(importer: Importer) -> list[int]:
    cogs = as_int_list(importer.options.get("cogs") or importer.options.get("cog"), "cogs")
    if not cogs:
        m = re.search(r"(19|20)\d{2}", importer.path.stem)
        if m:
            return [int(m.group(0))]
        raise VigieError(
            f"Précisez le ou les millésimes du COG décrits par « {importer.path.name} » : --option cogs=2025,2026."
        )
    return cogs


def parse_population_columns(spec: Any) -> dict[str, tuple[int, int]]:
    """`{col: {year: Y, cog: C}}` or `"col:Y@C,col:Y@C"` → {col: (year, cog)}."""
    if not spec:
        return {}
    out: dict[str, tuple[int, int]] = {}
    if isinstance(spec, dict):
        for col, v in spec.items():
            out[col] = (int(v["year"]), int(v["cog"]))
        return out
    try:
        for part in str(spec).split(","):
            col, rest = part.strip().split(":")
            year, cog = rest.split("@")
            out[col] = (int(year), int(cog))
    except ValueError:
        raise VigieError(
            f"Option « populations » illisible : « {spec} » (attendu : colonne:année@cog, ex. pop_pkg2025:2022@2025)."
        ) from None
    return out


def known_codes(wh: Warehouse, level: str, cog: int) -> set[str]:
    return {r[0] for r in wh.query("SELECT code FROM territory WHERE level = ? AND cog = ?", (level, cog))}


class CommunesTableImporter(Importer):
    """The tabular commune referential: communes, their EPCI, département, région and legal populations."""

    kind = "referentiel"
    title = "Référentiel des communes et EPCI"
    producer = "INSEE (COG) via @etalab/decoupage-administratif"
    licence = LICENCE_OUVERTE
    REQUIRED = ["code_insee", "nom", "departement", "region", "epci_siren", "epci_nom"]

    def dataset(self) -> str:
        return f"referentiel:{self.path.stem}"

    def vintage(self) -> str | None:
        return self.options.get("vintage") or "COG " + years_text(required_cogs(self))

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        cogs = required_cogs(self)
        frame = read_csv(self.path, separator=self.options.get("separator", ","), required=self.REQUIRED,
                         encoding=self.options.get("encoding", "utf-8"), kind_label="référentiel des communes",
                         key=["code_insee"])
        check_pattern(frame, "code_insee", COMMUNE_CODE, file, "code commune")
        check_pattern(frame, "epci_siren", EPCI_SIREN, file, "SIREN d'EPCI", allow=NO_EPCI)
        check_pattern(frame, "departement", DEP_CODE, file, "code département")
        check_pattern(frame, "region", REG_CODE, file, "code région")
        empty = frame["nom"] == ""
        if empty.any():
            raise ImportValidationError(file, "nom de commune vide.", line=int(frame[empty].iloc[0]["_line"]), column="nom")

        batch = Batch()
        epci = frame[~frame["epci_siren"].isin(NO_EPCI)]
        batch.add("territory", territory_rows("commune", frame["code_insee"], frame["nom"], cogs))
        batch.add("territory", territory_rows("epci", epci["epci_siren"], epci["epci_nom"], cogs))
        batch.add("membership", membership_rows(frame["code_insee"], "commune", frame["epci_siren"], "epci", cogs))
        batch.add("membership", membership_rows(frame["code_insee"], "commune", frame["departement"], "departement", cogs))
        batch.add("membership", membership_rows(frame["code_insee"], "commune", frame["region"], "region", cogs))
        self._check_parents(wh, frame, cogs)
        self._populations(wh, frame, cogs, batch)
        if self.options.get("derive_passage_from") is not None:
            self._derive_passage(wh, frame, cogs, batch)
        return batch

    def _check_parents(self, wh: Warehouse, frame: pd.DataFrame, cogs: list[int]) -> None:
        """Départements and régions must be known at every vintage (import the COG files first)."""
        for level, column in (("departement", "departement"), ("region", "region")):
            for cog in cogs:
                reject_first(frame, ~frame[column].isin(known_codes(wh, level, cog)), self.path.name, column,
                             f"{level} « {{value}} » inconnu au COG {cog} : importez d'abord le fichier COG "
                             f"correspondant (vigie import cog-insee v_{level}_{cog}.csv).")

    def _populations(self, wh: Warehouse, frame: pd.DataFrame, cogs: list[int], batch: Batch) -> None:
        spec = parse_population_columns(self.options.get("populations"))
        if not spec:
            return
        rows = []
        for column, (year, cog) in spec.items():
            if column not in frame.columns:
                raise ImportValidationError(self.path.name, "colonne de population absente.", line=1, column=column)
            values, status = parse_numbers(frame, column, self.path.name)
            negative = np.nan_to_num(values, nan=0) < 0
            if negative.any():
                i = int(np.argmax(negative))
                raise ImportValidationError(self.path.name, "population négative.", line=int(frame.iloc[i]["_line"]), column=column)
            present = cog in cogs or known_codes(wh, "commune", cog)
            if not present:
                raise ImportValidationError(
                    self.path.name,
                    f"aucune commune connue au COG {cog} pour les populations de la colonne « {column} » : importez "
                    "d'abord la table d'appartenance de ce millésime.", line=1, column=column,
                )
            if cog not in cogs:
                known = known_codes(wh, "commune", cog)
                # A commune created after `cog` has no population in that vintage: the file must leave it empty.
                unknown = ~frame["code_insee"].isin(known) & (status == "ok")
                if unknown.any():
                    row = frame[unknown].iloc[0]
                    raise ImportValidationError(
                        self.path.name, f"la commune « {row['code_insee']} » n'existe pas au COG {cog}.",
                        line=int(row["_line"]), column=column,
                    )
            rows.append(pd.DataFrame({
                "indicator": LEGAL_POPULATION["id"], "level": "commune", "code": frame["code_insee"].to_numpy(),
                "year": year, "cog": cog, "value": values, "status": status,
            }))
        batch.add("indicator", pd.DataFrame([LEGAL_POPULATION]))
        batch.add("value", pd.concat(rows, ignore_index=True))

    def _derive_passage(self, wh: Warehouse, frame: pd.DataFrame, cogs: list[int], batch: Batch) -> None:
        """Merges since the previous vintage, from `anciens_codes`: old codes that were communes then and are not now."""
        previous = as_int(self.options.get("derive_passage_from"), "derive_passage_from")
        first = min(cogs)
        before = known_codes(wh, "commune", previous)
        if not before:
            raise VigieError(f"Aucune commune connue au COG {previous} : impossible d'en déduire la table de passage.")
        if "anciens_codes" not in frame.columns:
            raise ImportValidationError(self.path.name, "colonne absente pour déduire les fusions.", line=1, column="anciens_codes")
        now = set(frame["code_insee"])
        rows = []
        for code, old in zip(frame["code_insee"], frame["anciens_codes"]):
            absorbed = [c for c in re.split(r"[\s;,]+", old) if c and c in before and c not in now]
            if absorbed:
                rows += [(previous, first, c, code, "fusion", 1.0) for c in absorbed]
                rows.append((previous, first, code, code, "fusion", 1.0))
        if rows:
            batch.add("passage", pd.DataFrame(rows, columns=["cog_from", "cog_to", "code_from", "code_to", "change", "weight"]))
            self.warn(f"{len(rows)} ligne(s) de passage COG {previous} → {first} déduites des anciens codes.")


class DecoupageAdministratifImporter(Importer):
    """`@etalab/decoupage-administratif` JSON: `communes.json` (option `epci` = path of `epci.json`)."""

    kind = "decoupage-administratif"
    title = "Découpage administratif (communes et EPCI)"
    producer = "INSEE (COG) via @etalab/decoupage-administratif"

    def dataset(self) -> str:
        return f"decoupage-administratif:{self.path.stem}"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        cogs = required_cogs(self)
        communes = self._load(self.path, ["code", "nom", "departement", "region"])
        communes = communes[communes.get("type", pd.Series("commune-actuelle", index=communes.index)).fillna("commune-actuelle") == "commune-actuelle"]
        check_pattern(communes, "code", COMMUNE_CODE, self.path.name, "code commune")
        check_unique(communes, ["code"], self.path.name)
        batch = Batch()
        batch.add("territory", territory_rows("commune", communes["code"], communes["nom"], cogs))
        batch.add("membership", membership_rows(communes["code"], "commune", communes["departement"], "departement", cogs))
        batch.add("membership", membership_rows(communes["code"], "commune", communes["region"], "region", cogs))
        year = as_int(self.options.get("population_year"), "population_year")
        if year is not None and "population" in communes.columns:
            pop = pd.to_numeric(communes["population"], errors="coerce")
            batch.add("indicator", pd.DataFrame([LEGAL_POPULATION]))
            batch.add("value", pd.DataFrame({
                "indicator": LEGAL_POPULATION["id"], "level": "commune", "code": communes["code"].to_numpy(),
                "year": year, "cog": max(cogs), "value": pop.to_numpy(dtype=float),
                "status": np.where(pop.isna(), "missing", "ok"),
            }))
        epci_path = self.options.get("epci")
        if epci_path:
            epci = self._load(Path(epci_path), ["code", "nom", "membres"])
            batch.add("territory", territory_rows("epci", epci["code"], epci["nom"], cogs))
            members = []
            known = set(communes["code"])
            for _, row in epci.iterrows():
                if not isinstance(row["membres"], list):
                    raise ImportValidationError(Path(epci_path).name, "la liste des membres doit être un tableau.", line=int(row["_line"]), column="membres")
                for m in row["membres"]:
                    code = str(m.get("code", ""))
                    if code not in known:
                        raise ImportValidationError(
                            Path(epci_path).name, f"membre « {code} » absent de {self.path.name}.",
                            line=int(row["_line"]), column="membres",
                        )
                    members.append((code, row["code"]))
            m = pd.DataFrame(members, columns=["child", "parent"])
            batch.add("membership", membership_rows(m["child"], "commune", m["parent"], "epci", cogs))
        return batch

    @staticmethod
    def _load(path: Path, required: list[str]) -> pd.DataFrame:
        """A JSON array of objects; `_line` is the element number (1-based)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ImportValidationError(path.name, "fichier introuvable.") from None
        except UnicodeDecodeError:
            raise ImportValidationError(path.name, "le fichier n'est pas encodé en UTF-8.") from None
        except json.JSONDecodeError as exc:
            raise ImportValidationError(path.name, f"JSON illisible ({exc.msg}, colonne {exc.colno}) : fichier tronqué ?", line=exc.lineno) from None
        if not isinstance(data, list) or not data:
            raise ImportValidationError(path.name, "un tableau JSON non vide d'objets est attendu.")
        frame = pd.DataFrame(data)
        for col in required:
            if col not in frame.columns:
                raise ImportValidationError(path.name, "champ obligatoire absent.", column=col)
            missing = frame[col].isna()
            if missing.any():
                i = int(np.argmax(missing.to_numpy()))
                raise ImportValidationError(path.name, f"champ vide dans l'élément n°{i + 1}.", line=i + 1, column=col)
        for col in frame.columns:
            if col in ("code", "nom", "departement", "region", "type"):
                frame[col] = frame[col].astype(object).where(frame[col].isna(), frame[col].astype(str))
        frame["_line"] = np.arange(1, len(frame) + 1)
        return frame


class InseeCogImporter(Importer):
    """INSEE COG files: `v_commune_AAAA.csv`, `v_departement_AAAA.csv`, `v_region_AAAA.csv` (detected from the header)."""

    kind = "cog-insee"
    title = "Code officiel géographique (INSEE)"
    producer = "INSEE"
    LAYOUTS = {
        "commune": ["TYPECOM", "COM", "REG", "DEP", "LIBELLE"],
        "departement": ["DEP", "REG", "CHEFLIEU", "LIBELLE"],
        "region": ["REG", "CHEFLIEU", "LIBELLE"],
    }

    def dataset(self) -> str:
        return f"cog-insee:{self.path.stem}"

    def vintage(self) -> str | None:
        return "COG " + years_text(required_cogs(self))

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        cogs = required_cogs(self)
        first = self.path.read_bytes()[:2000].decode("utf-8", errors="replace").lstrip("\ufeff").split("\n", 1)[0]
        header = {h.strip().strip('"') for h in re.split(r"[,;]", first)}
        layout = next((name for name, cols in self.LAYOUTS.items() if set(cols) <= header and
                       (name != "region" or "DEP" not in header) and (name != "departement" or "COM" not in header)), None)
        if layout is None:
            raise ImportValidationError(
                self.path.name,
                "ce fichier n'a pas la forme d'un fichier du COG INSEE (v_commune, v_departement ou v_region).", line=1,
            )
        sep = ";" if first.count(";") > first.count(",") else ","
        frame = read_csv(self.path, separator=sep, required=self.LAYOUTS[layout], encoding=self.options.get("encoding", "auto"),
                         kind_label="COG INSEE")
        batch = Batch()
        if layout == "commune":
            frame = frame[frame["TYPECOM"] == "COM"]
            check_pattern(frame, "COM", COMMUNE_CODE, self.path.name, "code commune")
            check_unique(frame, ["COM"], self.path.name)
            batch.add("territory", territory_rows("commune", frame["COM"], frame["LIBELLE"], cogs))
            batch.add("membership", membership_rows(frame["COM"], "commune", frame["DEP"], "departement", cogs))
            batch.add("membership", membership_rows(frame["COM"], "commune", frame["REG"], "region", cogs))
        elif layout == "departement":
            check_pattern(frame, "DEP", DEP_CODE, self.path.name, "code département")
            check_unique(frame, ["DEP"], self.path.name)
            batch.add("territory", territory_rows("departement", frame["DEP"], frame["LIBELLE"], cogs))
            batch.add("membership", membership_rows(frame["DEP"], "departement", frame["REG"], "region", cogs))
        else:
            check_pattern(frame, "REG", REG_CODE, self.path.name, "code région")
            check_unique(frame, ["REG"], self.path.name)
            batch.add("territory", territory_rows("region", frame["REG"], frame["LIBELLE"], cogs))
        return batch
