"""Any delimited file, described by a YAML mapping (`vigie import csv <file> --option mapping=<mapping.yaml>`).

The mapping says which column holds the territory codes (of which level and COG), which columns are indicators
(with their French label, theme, unit and kind), and where the year or the infra-annual period is. Values go to
the `value` table, or to `series` when the mapping has a `period_column`. A `territories` section makes the file
also define territories of a level (e.g. zones d'emploi) and their commune members.

Example mapping::

    title: LOVAC 2025 – logements vacants du parc privé
    producer: Cerema / DGALN
    level: commune
    code_column: INSEE_C
    cog: 2026
    year: 2025
    indicators:
      - {column: taux_vacance_25_pct, id: taux_vacance_lovac, label: Taux de logements vacants du parc privé,
         theme: logement, unit: "%", kind: published_rate, decimals: 1}

Besides the keys of the documented format, the mapping accepts `id` (names the dataset: a newer import of a
file with the same mapping id replaces the older one), `skip_codes` (codes whose rows are left out, such as
a national total `FR` in a file of zones d'emploi; the import reports how many rows were skipped), and per
indicator `vintage_label` (how the year is shown, e.g. "LOVAC {year}"), `numerator`, `denominator`, `factor`,
`secrecy`, written as such in the `indicator` table. Unknown keys are errors (a typo must not pass silently).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from vigie.errors import ImportValidationError
from vigie.progress import Reporter
from vigie.sources.base import LICENCE_OUVERTE, Batch, Importer
from vigie.sources.census import STATUS_NAMES, option_bool, option_int, parse_table_numbers, read_table
from vigie.sources.iris import LEVEL_WORDS, check_overlap, territory_codes
from vigie.sources.readers import check_codes, check_unique, reject_first
from vigie.warehouse import Warehouse

KINDS = ("stock", "ratio", "mean", "median", "published_rate", "index")
TOP_KEYS = {
    "id", "title", "producer", "licence", "vintage", "synthetic", "separator", "encoding", "level", "code_column",
    "cog", "year", "year_column", "period_column", "missing_values", "secret_values", "decimal_comma", "indicators",
    "territories", "skip_codes", "absent_is_zero",
}
INDICATOR_KEYS = {"column", "id", "label", "theme", "unit", "kind", "decimals", "definition", "numerator",
                  "denominator", "factor", "secrecy", "vintage_label"}
INDICATOR_REQUIRED = ("column", "id", "label", "theme", "unit", "kind")
TERRITORY_KEYS = {"level", "code_column", "name_column", "member_column", "cogs"}
ENCODINGS = {"utf-8", "utf8", "latin-1", "latin1", "iso-8859-1", "cp1252", "windows-1252", "auto"}
SEPARATOR_NAMES = {",": ",", ";": ";", "\t": "\t", "\\t": "\t", "tab": "\t", "|": "|"}
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
PERIOD = re.compile(r"^\d{4}-(T[1-4]|S[12]|0[1-9]|1[0-2])$")
YEAR = re.compile(r"^\d{4}$")


@dataclass
class IndicatorSpec:
    column: str
    row: dict[str, Any]  # the `indicator` table row


@dataclass
class TerritorySpec:
    level: str
    code_column: str
    name_column: str
    member_column: str
    cogs: list[int]


@dataclass
class Mapping:
    path: Path
    id: str | None = None
    title: str | None = None
    producer: str | None = None
    licence: str | None = None
    vintage: str | None = None
    synthetic: bool = False
    separator: str = ","
    encoding: str = "utf-8"
    level: str | None = None
    code_column: str | None = None
    cog: int | None = None
    year: int | None = None
    year_column: str | None = None
    period_column: str | None = None
    missing_values: list[str] = field(default_factory=list)
    secret_values: list[str] = field(default_factory=list)
    decimal_comma: bool = False
    skip_codes: list[str] = field(default_factory=list)
    # The producer leaves out the territories where every count is zero (BPE, Sitadel extracts…): those of the
    # referential that the file does not list get 0 instead of counting as missing.
    absent_is_zero: bool = False
    indicators: list[IndicatorSpec] = field(default_factory=list)
    territories: TerritorySpec | None = None


# ---------------------------------------------------------------------------------------------------------------
# Mapping file
# ---------------------------------------------------------------------------------------------------------------


class _Node(dict):
    """A YAML mapping that remembers the line of each key (for error messages)."""

    line: int | None = None
    key_lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Node:
    out = _Node(loader.construct_mapping(node, deep=True))
    out.line = node.start_mark.line + 1
    out.key_lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_mapping(path: Path) -> Mapping:
    """Read and validate a mapping file; every problem is an ImportValidationError naming the mapping file."""
    name = path.name
    if not path.exists():
        raise ImportValidationError(name, f"fichier de correspondance introuvable ({path}).")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except UnicodeDecodeError:
        raise ImportValidationError(name, "le fichier de correspondance doit être encodé en UTF-8.") from None
    except yaml.YAMLError as exc:
        # Where the parser stopped; the construct it was reading (e.g. a quoted text) may start higher up.
        start, found = getattr(exc, "context_mark", None), getattr(exc, "problem_mark", None)
        mark = found or start
        detail = getattr(exc, "problem", None) or str(exc)
        if start and found and found.line != start.line:
            detail += f" ; élément commencé ligne {start.line + 1} ; un guillemet non fermé peut en être la cause"
        raise ImportValidationError(name, f"YAML illisible ({detail}).", line=mark.line + 1 if mark else None) from None
    if not isinstance(raw, dict):
        raise ImportValidationError(name, "le fichier de correspondance doit décrire un dictionnaire de clés (title, level, indicators…).")

    def fail(problem: str, key: str | None = None, node: dict | None = None) -> ImportValidationError:
        node = raw if node is None else node
        line = getattr(node, "key_lines", {}).get(key) if key else getattr(node, "line", None)
        return ImportValidationError(name, problem, line=line, column=key)

    unknown = sorted(set(map(str, raw)) - TOP_KEYS)
    if unknown:
        raise fail(f"clé inconnue « {unknown[0]} » (clés possibles : {', '.join(sorted(TOP_KEYS))}).", unknown[0])

    def text(key: str, node: dict | None = None, required: bool = False) -> str | None:
        node = raw if node is None else node
        value = node.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise fail(f"clé obligatoire « {key} » absente ou vide.", None, node)
            return None
        if isinstance(value, (dict, list)):
            raise fail(f"la clé « {key} » doit être un texte.", key, node)
        return str(value).strip()

    def integer(key: str, node: dict | None = None) -> int | None:
        node = raw if node is None else node
        if node.get(key) is None:
            return None
        try:
            return option_int(node[key], key, name)
        except ImportValidationError:
            raise fail(f"la clé « {key} » doit être un nombre entier (« {node[key]} »).", key, node) from None

    def boolean(key: str, default: bool) -> bool:
        if raw.get(key) is None:
            return default
        try:
            return option_bool(raw[key], key, name)
        except ImportValidationError:
            raise fail(f"la clé « {key} » doit valoir true ou false (« {raw[key]} »).", key) from None

    def strings(key: str) -> list[str]:
        value = raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            value = [value]
        return [str(v).strip() for v in value]

    m = Mapping(path=path)
    m.id = text("id")
    if m.id and not re.fullmatch(r"[A-Za-z0-9_.-]+", m.id):
        raise fail(f"« id » ne peut contenir que lettres, chiffres, « _ », « - » et « . » (« {m.id} »).", "id")
    m.title, m.producer, m.licence, m.vintage = text("title"), text("producer"), text("licence"), text("vintage")
    m.synthetic = boolean("synthetic", False)
    m.decimal_comma = boolean("decimal_comma", False)
    m.absent_is_zero = boolean("absent_is_zero", False)
    sep = raw.get("separator", ",")
    if str(sep) not in SEPARATOR_NAMES:
        raise fail(f"séparateur « {sep} » non pris en charge (« , », « ; », « | » ou tabulation).", "separator")
    m.separator = SEPARATOR_NAMES[str(sep)]
    m.encoding = (text("encoding") or "utf-8").lower()
    if m.encoding not in ENCODINGS:
        raise fail(f"encodage « {m.encoding} » non pris en charge (utf-8, latin-1, auto).", "encoding")
    m.missing_values, m.secret_values, m.skip_codes = strings("missing_values"), strings("secret_values"), strings("skip_codes")
    m.level, m.code_column = text("level"), text("code_column")
    m.cog, m.year = integer("cog"), integer("year")
    m.year_column, m.period_column = text("year_column"), text("period_column")

    items = raw.get("indicators")
    if items is not None and not isinstance(items, list):
        raise fail("« indicators » doit être une liste d'indicateurs (- column: …, id: …).", "indicators")
    ids, columns = set(), set()
    for number, item in enumerate(items or [], start=1):
        where = f"indicateur n° {number}"
        if not isinstance(item, dict):
            raise fail(f"{where} : chaque indicateur doit être un dictionnaire (column, id, label, theme, unit, kind).", "indicators")
        bad = sorted(set(map(str, item)) - INDICATOR_KEYS)
        if bad:
            raise fail(f"{where} : clé inconnue « {bad[0]} » (clés possibles : {', '.join(sorted(INDICATOR_KEYS))}).", bad[0], item)
        for key in INDICATOR_REQUIRED:
            if item.get(key) is None or not str(item.get(key)).strip():
                raise fail(f"{where} : clé obligatoire « {key} » absente ou vide.", None, item)
        ident, column, kind = str(item["id"]).strip(), str(item["column"]).strip(), str(item["kind"]).strip()
        if not IDENTIFIER.match(ident):
            raise fail(f"{where} : identifiant « {ident} » invalide (minuscules, chiffres et « _ », commençant par une lettre).", "id", item)
        if kind not in KINDS:
            raise fail(f"{where} (« {ident} ») : type « {kind} » inconnu (types possibles : {', '.join(KINDS)}).", "kind", item)
        if ident in ids:
            raise fail(f"{where} : identifiant « {ident} » déjà utilisé par un autre indicateur.", "id", item)
        if column in columns:
            raise fail(f"{where} : la colonne « {column} » est déjà décrite par un autre indicateur.", "column", item)
        ids.add(ident)
        columns.add(column)
        decimals = integer("decimals", item)
        factor = item.get("factor")
        m.indicators.append(IndicatorSpec(column, {
            "id": ident, "label": str(item["label"]).strip(), "theme": str(item["theme"]).strip(),
            "unit": str(item["unit"]).strip(), "kind": kind,
            "numerator": text("numerator", item), "denominator": text("denominator", item),
            "factor": float(factor) if factor is not None else None,
            "decimals": decimals if decimals is not None else (0 if kind == "stock" else 1),
            "definition": text("definition", item), "secrecy": text("secrecy", item),
            "vintage_label": text("vintage_label", item),
        }))

    spec = raw.get("territories")
    if spec is not None:
        if not isinstance(spec, dict):
            raise fail("« territories » doit être un dictionnaire (level, code_column, name_column, member_column, cogs).", "territories")
        bad = sorted(set(map(str, spec)) - TERRITORY_KEYS)
        if bad:
            raise fail(f"territories : clé inconnue « {bad[0]} » (clés possibles : {', '.join(sorted(TERRITORY_KEYS))}).", bad[0], spec)
        for key in ("level", "code_column", "name_column", "member_column", "cogs"):
            if spec.get(key) is None or spec.get(key) == []:
                raise fail(f"territories : clé obligatoire « {key} » absente ou vide.", None, spec)
        cogs = spec["cogs"] if isinstance(spec["cogs"], list) else [spec["cogs"]]
        try:
            cogs = sorted({option_int(c, "cogs", name) for c in cogs})
        except ImportValidationError:
            raise fail(f"territories : « cogs » doit être une liste d'années ({spec['cogs']}).", "cogs", spec) from None
        level = str(spec["level"]).strip()
        if not IDENTIFIER.match(level) or level == "commune":
            raise fail(f"territories : niveau « {level} » invalide (un niveau autre que « commune », en minuscules).", "level", spec)
        m.territories = TerritorySpec(level, str(spec["code_column"]).strip(), str(spec["name_column"]).strip(),
                                      str(spec["member_column"]).strip(), cogs)

    if not m.indicators and m.territories is None:
        raise fail("la correspondance ne décrit ni indicateurs (« indicators ») ni territoires (« territories »).")
    if m.indicators:
        for key in ("level", "code_column"):
            if getattr(m, key) is None:
                raise fail(f"clé obligatoire « {key} » absente (elle dit où sont les codes des territoires).")
        if not IDENTIFIER.match(m.level or ""):
            raise fail(f"niveau « {m.level} » invalide (minuscules, chiffres et « _ »).", "level")
        if m.cog is None:
            raise fail("clé obligatoire « cog » absente : millésime du code officiel géographique des codes du fichier.")
        if m.period_column is None and m.year is None and m.year_column is None:
            raise fail("il faut « year » (année des données), « year_column » ou « period_column ».")
        if m.year is not None and m.year_column is not None:
            raise fail("« year » et « year_column » s'excluent : gardez l'un des deux.", "year_column")
        if m.code_column in columns:
            raise fail(f"la colonne des codes « {m.code_column} » est aussi décrite comme indicateur.", "code_column")
    return m


# ---------------------------------------------------------------------------------------------------------------
# Importer
# ---------------------------------------------------------------------------------------------------------------


class GenericCsvImporter(Importer):
    """A CSV described by a YAML mapping: option `mapping` (path of the YAML file)."""

    kind = "csv"
    title = "Fichier CSV décrit par une correspondance"
    producer = "non précisé"

    def __init__(self, path: Path | str, **options: Any):
        super().__init__(path, **options)
        if "synthetic" in self.options:
            self.options["synthetic"] = option_bool(self.options["synthetic"], "synthetic", self.path.name)
        self._mapping: Mapping | None = None
        mapping = self.mapping_path()
        if mapping is not None and mapping.is_file():
            # The mapping is part of what was imported: a changed mapping is a new import of the same file.
            self.options["mapping_sha256"] = hashlib.sha256(mapping.read_bytes()).hexdigest()

    def mapping_path(self) -> Path | None:
        value = self.options.get("mapping")
        if not value:
            return None
        path = Path(str(value)).expanduser()
        if not path.is_absolute() and not path.exists() and (self.path.parent / path).exists():
            path = self.path.parent / path
        return path

    def mapping(self) -> Mapping:
        if self._mapping is None:
            path = self.mapping_path()
            if path is None:
                raise ImportValidationError(
                    self.path.name,
                    "option « mapping » manquante : indiquez le fichier de correspondance YAML avec --option mapping=chemin.yaml.",
                )
            self._mapping = load_mapping(path)
            m = self._mapping
            # What the source table records: the mapping's description, unless options say otherwise.
            self.title = m.title or self.title
            self.producer = m.producer or self.producer
            self.licence = m.licence or LICENCE_OUVERTE
            self.synthetic = bool(m.synthetic)
        return self._mapping

    def dataset(self) -> str:
        return f"csv:{self.mapping().id or self.path.stem}"

    def vintage(self) -> str | None:
        if self.options.get("vintage"):
            return str(self.options["vintage"])
        return self.mapping().vintage

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        m = self.mapping()
        required = []
        if m.indicators:
            required += [m.code_column] + [c for c in (m.year_column, m.period_column) if c] + [i.column for i in m.indicators]
        if m.territories:
            t = m.territories
            required += [c for c in (t.code_column, t.name_column, t.member_column) if c not in required]
        encoding = {"utf8": "utf-8", "latin1": "latin-1", "iso-8859-1": "latin-1", "windows-1252": "cp1252"}.get(m.encoding, m.encoding)
        try:
            frame = read_table(self.path, separator=m.separator, required=list(dict.fromkeys(required)), encoding=encoding,
                               kind_label=f"décrit par « {m.path.name} »")
        except ImportValidationError as exc:
            if "UTF-8" not in exc.problem or encoding != "utf-8":
                raise
            hint = f" Pour ce fichier, indiquez « encoding: latin-1 » (ou « auto ») dans la correspondance « {m.path.name} »."
            raise ImportValidationError(exc.file, exc.problem + hint, line=exc.line, column=exc.column) from None
        batch = Batch()
        if m.territories:
            territory, membership = self._territories(wh, frame, m.territories)
            batch.add("territory", territory)
            batch.add("membership", membership)
        if m.indicators:
            self._values(wh, frame, m, batch, report)
        return batch

    # -- territories ---------------------------------------------------------------------------------------
    def _territories(self, wh: Warehouse, frame: pd.DataFrame, t: TerritorySpec) -> tuple[pd.DataFrame, pd.DataFrame]:
        file = self.path.name
        for column in (t.code_column, t.name_column, t.member_column):
            empty = frame[column].astype(str).str.strip() == ""
            if empty.any():
                raise ImportValidationError(file, "valeur vide.", line=int(frame[empty].iloc[0]["_line"]), column=column)
        check_unique(frame, [t.member_column, t.code_column], file)
        names = frame.groupby(t.code_column, sort=True)[t.name_column].agg(lambda s: sorted(set(s)))
        clash = names[names.map(len) > 1]
        if len(clash):
            code = clash.index[0]
            rows = frame[frame[t.code_column] == code]
            other = rows[rows[t.name_column] != rows[t.name_column].iloc[0]].iloc[0]
            raise ImportValidationError(
                file,
                f"le territoire « {code} » porte deux noms : « {rows[t.name_column].iloc[0]} » (ligne {rows['_line'].iloc[0]}) "
                f"et « {other[t.name_column]} ».",
                line=int(other["_line"]), column=t.name_column,
            )
        territories, members = [], []
        for cog in t.cogs:
            communes = territory_codes(wh, "commune", cog, file, t.member_column)
            check_codes(frame, t.member_column, communes, file, what=f"commune (COG {cog})")
            taken = dict(wh.query(
                "SELECT t.code, t.name FROM territory t JOIN source s ON s.id = t.source_id "
                "WHERE t.level = ? AND t.cog = ? AND s.dataset <> ?",
                (t.level, cog, self.dataset()),
            ))
            kept = [code for code in names.index if code in taken]
            if kept:
                # Shared rows are written once (the first import keeps them): say so, and name differences.
                renamed = [f"{c} « {taken[c]} »" for c in kept if taken[c] != names[c][0]]
                self.warn(
                    f"COG {cog} : {len(kept)} territoire(s) de niveau « {t.level} » déjà présent(s) dans l'entrepôt, "
                    "conservé(s) tel(s) quel(s)" + (f" (noms gardés : {', '.join(renamed)})" if renamed else "") + "."
                )
            parents = dict(wh.query(
                "SELECT m.child_code, m.parent_code FROM membership m JOIN source s ON s.id = m.source_id "
                "WHERE m.cog = ? AND m.child_level = 'commune' AND m.parent_level = ? AND s.dataset <> ?",
                (cog, t.level, self.dataset()),
            ))
            if parents:
                elsewhere = frame[t.member_column].map(parents)
                clash = elsewhere.notna() & (elsewhere != frame[t.code_column])
                if clash.any():
                    row = frame[clash].iloc[0]
                    raise ImportValidationError(
                        file,
                        f"la commune « {row[t.member_column]} » appartient déjà au territoire « {parents[row[t.member_column]]} » "
                        f"de niveau « {t.level} » au COG {cog} dans l'entrepôt, pas à « {row[t.code_column]} ».",
                        line=int(row["_line"]), column=t.code_column,
                    )
            territories.append(pd.DataFrame({"level": t.level, "code": names.index.astype(str), "cog": cog,
                                             "name": [n[0] for n in names]}))
            members.append(pd.DataFrame({
                "cog": cog, "child_level": "commune", "child_code": frame[t.member_column].to_numpy(dtype=object),
                "parent_level": t.level, "parent_code": frame[t.code_column].to_numpy(dtype=object), "weight": 1.0,
            }))
        return pd.concat(territories, ignore_index=True), pd.concat(members, ignore_index=True)

    # -- values --------------------------------------------------------------------------------------------
    def _zeros(self, rows: pd.DataFrame, known: set[str], m: Mapping) -> pd.DataFrame:
        """Rows of value 0 for the territories of the referential the file leaves out, for each year it covers."""
        zeros = []
        for (indicator, year), present in rows.groupby(["indicator", "year"]):
            absent = sorted(known - set(present["code"]))
            # A column the producer left empty that year everywhere says nothing of the absent territories.
            published = (present["status"] == "ok").any()
            zeros.append(pd.DataFrame({"indicator": indicator, "level": m.level, "code": absent, "year": year, "cog": m.cog,
                                       "value": 0.0 if published else np.nan, "status": "ok" if published else "missing"}))
        frame = pd.concat(zeros, ignore_index=True) if zeros else rows.head(0)
        if len(frame):
            self.warn(f"{len(frame)} valeur(s) de territoires absents du fichier comptée(s) à 0 "
                      "(le producteur omet les territoires sans effectif).")
        return frame

    def _values(self, wh: Warehouse, frame: pd.DataFrame, m: Mapping, batch: Batch, report: Reporter) -> None:
        file = self.path.name
        if m.skip_codes:
            skip = frame[m.code_column].isin(m.skip_codes)
            if skip.any():
                self.warn(f"{int(skip.sum())} ligne(s) ignorée(s) (codes {', '.join(sorted(set(frame.loc[skip, m.code_column])))}).")
                frame = frame[~skip]
        time_column = m.period_column or m.year_column
        check_unique(frame, [m.code_column] + ([time_column] if time_column else []), file)

        known: set[str] = set()
        t = m.territories
        if t is not None and t.level == m.level and m.cog in t.cogs:
            known |= set(frame[t.code_column])
            known |= {r[0] for r in wh.query("SELECT code FROM territory WHERE level = ? AND cog = ?", (m.level, m.cog))}
        else:
            known = territory_codes(wh, m.level, m.cog, file, m.code_column)
        check_codes(frame, m.code_column, known, file, what=f"{LEVEL_WORDS.get(m.level, m.level)} (COG {m.cog})")

        if m.period_column:
            periods = frame[m.period_column].astype(str).str.strip()
            reject_first(frame, ~periods.str.match(PERIOD), file, m.period_column,
                         "période « {value} » invalide (attendu AAAA-Tn, AAAA-Sn ou AAAA-MM, ex. 2021-T1).")
        elif m.year_column:
            years = frame[m.year_column].astype(str).str.strip()
            reject_first(frame, ~years.str.match(YEAR), file, m.year_column,
                         "année « {value} » invalide (quatre chiffres attendus).")
            year_values = years.astype(int).to_numpy()
        else:
            year_values = np.full(len(frame), m.year, dtype=np.int64)

        values, status = parse_table_numbers(
            frame, [i.column for i in m.indicators], file,
            decimal_comma=m.decimal_comma, missing=m.missing_values, secret=m.secret_values,
        )
        codes = frame[m.code_column].to_numpy(dtype=object)
        names = np.asarray(STATUS_NAMES, dtype=object)
        parts = []
        for j, spec in enumerate(m.indicators):
            part = {"indicator": spec.row["id"], "level": m.level, "code": codes}
            if m.period_column:
                part["period"] = periods.to_numpy(dtype=object)
            else:
                part["year"] = year_values
                part["cog"] = m.cog
            part["value"] = values[:, j]
            part["status"] = names[status[:, j]]
            parts.append(pd.DataFrame(part))
        table = "series" if m.period_column else "value"
        rows = pd.concat(parts, ignore_index=True)
        if m.absent_is_zero and table == "value":
            rows = pd.concat([rows, self._zeros(rows, known, m)], ignore_index=True)
        time = periods.to_numpy(dtype=object) if m.period_column else year_values
        lines = {(c, str(t)): int(n) for c, t, n in zip(codes, time, frame["_line"])}
        column_of = {spec.row["id"]: spec.column for spec in m.indicators}
        check_overlap(
            wh, rows, table, dataset=self.dataset(), file=file,
            locate=lambda r: (lines.get((r["code"], str(r["period" if m.period_column else "year"]))), column_of.get(r["indicator"])),
        )
        batch.add(table, rows)
        batch.add("indicator", pd.DataFrame([spec.row for spec in m.indicators]))
        report.info(f"  {len(frame)} lignes × {len(m.indicators)} indicateurs ({m.level}, COG {m.cog})")
