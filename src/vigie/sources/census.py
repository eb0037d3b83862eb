"""INSEE census bases (recensement de la population): commune, IRIS and QPV files.

Reads `base-cc-<theme>-<YYYY>.CSV` (one row per commune: `CODGEO;REG;DEP;LIBGEO;P21_POP;…`),
`base-ic-<theme>-<YYYY>.CSV` (one row per IRIS: `IRIS;REG;DEP;UU2020;COM;LIBCOM;…;LIBIRIS;…;P21_POP;…`) and
QPV-level files (CODGEO holding QPV codes such as `QN06201M`). Every column `P21_X` / `C21_X` becomes the
indicator `p_x` / `c_x` for the year 2021; a file carrying several years (P21_, P15_, P10_) yields them all.

The module also holds the small helpers the other statistical importers (Filosofi, generic CSV) share: option
parsing, a CSV read that names the column at fault, and a fast number parser for wide tables.

Example::

    vigie import recensement base-cc-logement-2021.CSV --option dictionary=meta_base-cc-logement-2021.csv
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from vigie.errors import ImportValidationError
from vigie.progress import Reporter
from vigie.sources.base import Batch, Importer
from vigie.sources.iris import check_overlap, check_territory_codes, iris_territories
from vigie.sources.readers import SEPARATORS, decode, parse_numbers, read_csv
from vigie.warehouse import Warehouse

# ---------------------------------------------------------------------------------------------------------------
# Shared helpers (also used by filosofi.py and generic_csv.py)
# ---------------------------------------------------------------------------------------------------------------

_TRUE = {"1", "true", "vrai", "oui", "yes", "y", "o", "on"}
_FALSE = {"0", "false", "faux", "non", "no", "n", "off", ""}


def option_bool(value: Any, name: str = "", file: str = "") -> bool:
    """A boolean option given natively (YAML) or as text (CLI: true/false, oui/non, 1/0)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ImportValidationError(file, f"option « {name} » : « {value} » n'est pas une valeur oui/non (true/false).")


def option_int(value: Any, name: str, file: str) -> int:
    """An integer option (a year, a COG) given as 2023 or "2023"."""
    if isinstance(value, bool):
        raise ImportValidationError(file, f"option « {name} » : « {value} » n'est pas un nombre entier.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    raise ImportValidationError(file, f"option « {name} » : « {value} » n'est pas un nombre entier.")


def first_line(path: Path, limit: int = 1 << 16) -> str:
    """The header line of a text file, decoded leniently (UTF-8, else Latin-1), without reading the whole file."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(limit)
    except OSError:
        return ""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    raw = raw.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def split_header(line: str, separator: str) -> list[str]:
    return [h.strip() for h in next(csv.reader([line], delimiter=separator))] if line else []


def check_separator(path: Path, line: str, separator: str, expected: Iterable[str]) -> None:
    """Name a wrong separator clearly: the header, split on another separator, would hold the expected columns."""
    if separator in line:
        return
    expected = list(expected)
    for other, name in SEPARATORS.items():
        if other != separator and other in line:
            if set(expected) & set(split_header(line, other)):
                raise ImportValidationError(
                    path.name,
                    f"séparateur inattendu : le fichier utilise la {name} alors que ce format attend la "
                    f"{SEPARATORS.get(separator, repr(separator))} (option « separator » pour en changer).",
                    line=1,
                )


def read_table(
    path: Path,
    *,
    separator: str,
    required: Sequence[str],
    encoding: str = "utf-8",
    kind_label: str = "attendu",
    key: Sequence[str] | None = None,
) -> pd.DataFrame:
    """`readers.read_csv`, plus the column at fault for errors it reports by line only.

    A byte that is not UTF-8, a truncated row or an unclosed quote are then reported with the column (header
    name) where they occur, so that a person can go straight to the cell.
    """
    try:
        return read_csv(path, separator=separator, required=required, encoding=encoding, kind_label=kind_label, key=key)
    except ImportValidationError as exc:
        if exc.line is None or exc.column is not None:
            raise
        column = _column_of_error(path, exc, separator)
        if column is None:
            raise
        raise ImportValidationError(exc.file, exc.problem, line=exc.line, column=column) from None


def _column_of_error(path: Path, exc: ImportValidationError, separator: str) -> str | None:
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text = raw.decode("latin-1") if "UTF-8" in exc.problem else _lenient(raw)
    lines = text.splitlines(keepends=True)
    if not lines or exc.line is None or exc.line > len(lines):
        return None
    header = split_header(lines[0].rstrip("\r\n"), separator)
    rest = "".join(lines[exc.line - 1 :])
    if "UTF-8" in exc.problem:
        match = re.search(r"au caractère (\d+)", exc.problem)
        if not match:
            return None
        index = _field_index(rest, separator, stop=int(match.group(1)) - 1)
    elif "champ(s) au lieu de" in exc.problem:
        index = _field_index(rest, separator, stop=None, count_only=True)
        if index is None:
            return None
        index += 1  # the first absent field
    elif "guillemet" in exc.problem:
        index = _field_index(rest, separator, stop=None)
    else:
        return None
    if index is None or index >= len(header):
        return None
    return header[index]


def _lenient(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _field_index(text: str, separator: str, *, stop: int | None, count_only: bool = False) -> int | None:
    """Field index within the record that starts `text`.

    With `stop`: the field holding character `stop`. With `count_only`: the index of the record's last field.
    Otherwise: the field whose opening quote is never closed (None when every quote is closed).
    """
    field, quoted, opened, at_start, i = 0, False, None, True, 0
    while i < len(text):
        if stop is not None and i >= stop:
            return field
        ch = text[i]
        if quoted:
            if ch == '"':
                if text[i + 1 : i + 2] == '"':
                    i += 2
                    continue
                quoted = False
        elif ch == '"' and at_start:
            quoted, opened = True, field
        elif ch == separator:
            field, at_start, i = field + 1, True, i + 1
            continue
        elif ch in "\r\n":
            return field if count_only else None
        at_start = False
        i += 1
    if count_only:
        return field
    return opened if quoted else None


def normalise_markers(series: pd.Series, missing: Iterable[str] = (), secret: Iterable[str] = ()) -> pd.Series:
    """Cells equal to an extra marker become "" (missing) or "s" (secret), the markers `parse_numbers` knows."""
    missing, secret = {m.strip() for m in missing}, {s.strip() for s in secret}
    if not missing and not secret:
        return series
    text = series.astype(str).str.strip()
    out = series.copy()
    if missing:
        out = out.where(~text.isin(missing), "")
    if secret:
        out = out.where(~text.isin(secret), "s")
    return out


STATUS_NAMES = ("ok", "secret", "missing", "fragile")


def parse_table_numbers(
    frame: pd.DataFrame,
    columns: Sequence[str],
    file: str,
    *,
    decimal_comma: bool = False,
    missing: Iterable[str] = (),
    secret: Iterable[str] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Values and status codes of several columns, as (rows × columns) arrays.

    Status codes index `STATUS_NAMES` (0 ok, 1 secret, 2 missing). Columns made only of plain numbers take a
    fast path (one C-level conversion); any other column goes through `readers.parse_numbers`, which knows
    the secrecy/missing markers and names the first bad cell.
    """
    missing, secret = list(missing), list(secret)
    values = np.empty((len(frame), len(columns)), dtype=np.float64)
    status = np.zeros((len(frame), len(columns)), dtype=np.int8)
    for j, column in enumerate(columns):
        raw = frame[column]
        if missing or secret:
            raw = normalise_markers(raw, missing, secret)
        arr = raw.to_numpy(dtype=object)
        try:
            fast = arr.astype(np.float64)
        except (ValueError, TypeError):
            fast = None
        if fast is not None and np.isfinite(fast).all() and not _has_odd_digits(arr):
            values[:, j] = fast
            continue
        sub = pd.DataFrame({column: arr, "_line": frame["_line"].to_numpy()}, index=frame.index)
        v, s = parse_numbers(sub, column, file, decimal_comma=decimal_comma)
        ok = s == "ok"
        if not np.isfinite(v[ok]).all():
            bad = int(np.flatnonzero(ok & ~np.isfinite(v))[0])
            raise ImportValidationError(
                file, f"valeur non numérique « {arr[bad]} ».", line=int(frame["_line"].iloc[bad]), column=column
            )
        values[:, j] = v
        status[:, j] = np.select([s == "secret", s == "missing"], [1, 2], 0)
    return values, status


def string_column(dictionary: Sequence[str], indices: np.ndarray) -> pd.Series:
    """A text column made of `dictionary[indices]`, without a Python object per row.

    Kept as `object` dtype on purpose: pandas 3 would infer its Arrow-backed "str" dtype, which costs a conversion
    here and scans about three times slower when DuckDB inserts the frame.
    """
    return pd.Series(np.asarray(list(dictionary), dtype=object)[np.asarray(indices, dtype=np.int64)], dtype=object)


def _has_odd_digits(arr: np.ndarray) -> bool:
    """Python's float() also accepts "1_000" and non-ASCII digits: such cells go to the careful parser."""
    sample = "".join(arr.tolist()) if len(arr) else ""
    return "_" in sample or not sample.isascii()


# ---------------------------------------------------------------------------------------------------------------
# The census importer
# ---------------------------------------------------------------------------------------------------------------

VARIABLE = re.compile(r"^([PC])(\d{2})_(.+)$", re.IGNORECASE)
FILE_NAME = re.compile(r"^base-(cc|ic)-(.+?)-(\d{4})(?:[_-].*)?$", re.IGNORECASE)
QPV_CODE = re.compile(r"^Q[NP]", re.IGNORECASE)
IRIS_HEADER = ("IRIS", "COM")

THEMES = {
    "evol-struct-pop": "démographie",
    "couples-familles-menages": "ménages",
    "logement": "logement",
    "emploi-pop-active": "économie-emploi",
    "diplomes-formation": "éducation",
}

_AGES = {
    "0002": "de 0 à 2 ans", "0305": "de 3 à 5 ans", "0610": "de 6 à 10 ans", "1117": "de 11 à 17 ans",
    "1824": "de 18 à 24 ans", "2539": "de 25 à 39 ans", "4054": "de 40 à 54 ans", "5564": "de 55 à 64 ans",
    "6579": "de 65 à 79 ans", "80P": "de 80 ans ou plus", "0014": "de 0 à 14 ans", "1529": "de 15 à 29 ans",
    "3044": "de 30 à 44 ans", "4559": "de 45 à 59 ans", "6074": "de 60 à 74 ans", "75P": "de 75 ans ou plus",
    "0019": "de 0 à 19 ans", "2064": "de 20 à 64 ans", "65P": "de 65 ans ou plus", "1564": "de 15 à 64 ans",
    "1524": "de 15 à 24 ans", "2554": "de 25 à 54 ans", "15P": "de 15 ans ou plus",
}
_CS = {
    "1": "agriculteurs exploitants", "2": "artisans, commerçants, chefs d'entreprise",
    "3": "cadres et professions intellectuelles supérieures", "4": "professions intermédiaires",
    "5": "employés", "6": "ouvriers", "7": "retraités", "8": "autres personnes sans activité professionnelle",
}
_DIPLOMAS = {
    "DIPLMIN": "sans diplôme ou certificat d'études primaires", "BEPC": "BEPC, brevet des collèges, DNB",
    "CAPBEP": "CAP, BEP ou équivalent", "BAC": "baccalauréat, brevet professionnel ou équivalent",
    "SUP2": "diplôme de niveau bac + 2", "SUP34": "diplôme de niveau bac + 3 ou bac + 4",
    "SUP5": "diplôme de niveau bac + 5 ou plus",
}


def _builtin_labels() -> dict[str, str]:
    """French labels of the common census variables, keyed by the name without prefix year (e.g. "POP0014")."""
    labels = {
        "POP": "Population", "POPH": "Hommes", "POPF": "Femmes", "POP_FR": "Population de nationalité française",
        "POP_ETR": "Population de nationalité étrangère", "POP_IMM": "Population immigrée",
        "PMEN": "Population des ménages", "PHORMEN": "Population hors ménages",
        "LOG": "Logements", "RP": "Résidences principales",
        "RSECOCC": "Résidences secondaires et logements occasionnels", "LOGVAC": "Logements vacants",
        "MAISON": "Maisons", "APPART": "Appartements",
        "RP_PROP": "Résidences principales occupées par leur propriétaire",
        "RP_LOC": "Résidences principales occupées par des locataires",
        "RP_LOCHLMV": "Résidences principales louées vides HLM",
        "RP_GRAT": "Résidences principales occupées gratuitement", "NBPI_RP": "Pièces des résidences principales",
        "RP_VOIT1P": "Ménages disposant d'au moins une voiture", "NPER_RP": "Personnes des résidences principales",
        "MEN": "Ménages", "MENPSEUL": "Ménages d'une personne", "MENHSEUL": "Ménages d'un homme seul",
        "MENFSEUL": "Ménages d'une femme seule", "MENSFAM": "Autres ménages sans famille",
        "MENFAM": "Ménages avec famille(s)", "MENCOUPSENF": "Ménages d'un couple sans enfant",
        "MENCOUPAENF": "Ménages d'un couple avec enfant(s)", "MENFAMMONO": "Ménages d'une famille monoparentale",
        "FAM": "Familles", "COUPAENF": "Couples avec enfant(s)", "COUPSENF": "Couples sans enfant",
        "FAMMONO": "Familles monoparentales",
        "ACT1564": "Actifs de 15 à 64 ans", "ACTOCC1564": "Actifs occupés de 15 à 64 ans",
        "CHOM1564": "Chômeurs de 15 à 64 ans", "INACT1564": "Inactifs de 15 à 64 ans",
        "ETUD1564": "Élèves, étudiants et stagiaires non rémunérés de 15 à 64 ans",
        "RETR1564": "Retraités ou préretraités de 15 à 64 ans", "EMPLT": "Emplois au lieu de travail",
        "EMPLT_SAL": "Emplois salariés au lieu de travail", "EMPLT_NSAL": "Emplois non salariés au lieu de travail",
        "NSCOL15P": "Population non scolarisée de 15 ans ou plus",
        "ACTOCC15P": "Actifs occupés de 15 ans ou plus", "ACT15P": "Actifs de 15 ans ou plus",
        "CHOM15P": "Chômeurs de 15 ans ou plus",
        "EMPLT_AGRI": "Emplois au lieu de travail : agriculture", "EMPLT_INDUS": "Emplois au lieu de travail : industrie",
        "EMPLT_CONST": "Emplois au lieu de travail : construction",
        "EMPLT_CTS": "Emplois au lieu de travail : commerce, transports, services divers",
        "EMPLT_APESAS": "Emplois au lieu de travail : administration publique, enseignement, santé, action sociale",
    }
    for code, text in _AGES.items():
        labels.setdefault(f"POP{code}", f"Population {text}")
        labels[f"H{code}"] = f"Hommes {text}"
        labels[f"F{code}"] = f"Femmes {text}"
    for code, text in _CS.items():
        labels[f"POP15P_CS{code}"] = f"Population de 15 ans ou plus : {text}"
        labels[f"H15P_CS{code}"] = f"Hommes de 15 ans ou plus : {text}"
        labels[f"F15P_CS{code}"] = f"Femmes de 15 ans ou plus : {text}"
        if int(code) <= 6:
            labels[f"ACT1564_CS{code}"] = f"Actifs de 15 à 64 ans : {text}"
            labels[f"ACTOCC1564_CS{code}"] = f"Actifs occupés de 15 à 64 ans : {text}"
    for code, text in _DIPLOMAS.items():
        labels[f"NSCOL15P_{code}"] = f"Population non scolarisée de 15 ans ou plus : {text}"
    for code in ("0205", "0610", "1114", "1517", "1824", "2529", "30P"):
        ages = f"de {int(code[:2])} à {int(code[2:])} ans" if code != "30P" else "de 30 ans ou plus"
        labels[f"SCOL{code}"] = f"Population scolarisée {ages}"
    labels["POP0205"] = "Population de 2 à 5 ans"
    labels["POP1114"] = "Population de 11 à 14 ans"
    labels["POP1517"] = "Population de 15 à 17 ans"
    labels["POP2529"] = "Population de 25 à 29 ans"
    labels["POP30P"] = "Population de 30 ans ou plus"
    return labels


BUILTIN_LABELS = _builtin_labels()


@dataclass(frozen=True)
class Variable:
    column: str
    prefix: str  # "P" or "C"
    year: int
    name: str  # without prefix and year, upper case: "POP0014"

    @property
    def indicator(self) -> str:
        return f"{self.prefix.lower()}_{self.name.lower()}"


def census_variables(header: Sequence[str]) -> list[Variable]:
    found = []
    for column in header:
        match = VARIABLE.match(column)
        if match:
            prefix, yy, name = match.groups()
            found.append(Variable(column, prefix.upper(), census_year(int(yy)), name.upper()))
    return found


def census_year(yy: int) -> int:
    """Two-digit census year: 99 → 1999 (historical series), 21 → 2021."""
    return 1900 + yy if yy >= 60 else 2000 + yy


def unit_of(name: str) -> str:
    """Unit of a census count, from the variable (name without prefix and year), whatever the file's theme."""
    if name.startswith("NBPI"):
        return "pièces"
    if name.startswith("ANEM"):
        return "années"
    if name.startswith(("PMEN", "NPER", "POP", "PHORMEN")) or re.match(r"^[HF]\d", name):
        return "personnes"
    theme = variable_theme(name)
    if theme == "logement":
        return "ménages" if name.startswith(("RP_VOIT", "RP_GARL")) else "logements"
    if theme == "ménages":
        return "familles" if name.startswith(("FAM", "COUP", "NE24")) else "ménages"
    if theme == "économie-emploi":
        return "emplois" if ("EMPL" in name or re.search(r"LT(_|$)", name)) else "personnes"
    return "personnes"


def variable_theme(name: str) -> str:
    """The theme of one variable (name without prefix and year), for files that mix themes (e.g. QPV files)."""
    if "SCOL" in name or "DIPL" in name or name in {"POP0205", "POP1114", "POP1517", "POP2529", "POP30P"}:
        return "éducation"
    if name.startswith(("MEN", "FAM", "COUP", "NE24")):
        return "ménages"
    if name.startswith(("ACT", "CHOM", "INACT", "EMPL", "ETUD", "RETR", "HACT", "FACT", "HCHOM", "FCHOM")) or re.search(r"LT(_|$)", name):
        return "économie-emploi"
    if name.startswith(("LOG", "RP", "RSEC", "MAISON", "APPART", "NBPI", "ANEM", "NPER")):
        return "logement"
    return "démographie"


def read_dictionary(path: Path) -> dict[str, tuple[int, str, str]]:
    """An INSEE variable dictionary (COD_VAR, LIB_VAR, LIB_VAR_LONG…): {"P_LOG": (year, label, long label)}.

    Labels lose their year and their "(princ)"/"(compl)" tag: "Logements en 2021 (princ)" → "Logements".
    When a variable appears at several years, the latest one wins.
    """
    if not path.exists():
        raise ImportValidationError(path.name, f"dictionnaire des variables introuvable ({path}).")
    text, _ = decode(path, "auto")
    head = text.split("\n", 1)[0]
    separator = ";" if head.count(";") > head.count(",") else ","
    reader = csv.reader(text.splitlines(keepends=True), delimiter=separator)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ImportValidationError(path.name, "le dictionnaire des variables est vide.", line=1) from None
    for needed in ("COD_VAR", "LIB_VAR"):
        if needed not in header:
            raise ImportValidationError(path.name, "colonne obligatoire absente du dictionnaire des variables.", line=1, column=needed)
    i_code, i_label = header.index("COD_VAR"), header.index("LIB_VAR")
    i_long = header.index("LIB_VAR_LONG") if "LIB_VAR_LONG" in header else None
    entries: dict[str, tuple[int, str, str]] = {}
    for row in reader:
        if len(row) <= max(i_code, i_label):
            continue
        match = VARIABLE.match(row[i_code].strip())
        if not match:
            continue
        prefix, yy, name = match.groups()
        year = census_year(int(yy))
        key = f"{prefix.upper()}_{name.upper()}"
        if key in entries and entries[key][0] >= year:
            continue
        label = _clean_label(row[i_label], year)
        long = _clean_label(row[i_long], year) if i_long is not None and i_long < len(row) else ""
        if label:
            entries[key] = (year, label, long)
    return entries


def _clean_label(text: str, year: int) -> str:
    text = " ".join(text.split())
    text = re.sub(rf"\s*\ben {year}\b", "", text)
    text = re.sub(r"\s*\((princ|compl)\)\s*$", "", text)
    return text.strip(" ,;")


class CensusImporter(Importer):
    """INSEE census base (base-cc / base-ic / QPV): options `level`, `cog`, `separator`, `encoding`,
    `dictionary`, `theme`, `synthetic`."""

    kind = "recensement"
    title = "Recensement de la population (INSEE)"
    producer = "INSEE"

    def __init__(self, path: Path | str, **options: Any):
        super().__init__(path, **options)
        if "synthetic" in self.options:
            self.options["synthetic"] = option_bool(self.options["synthetic"], "synthetic", self.path.name)
        self._latest_year: int | None = None

    # -- identity ------------------------------------------------------------------------------------------
    def separator(self) -> str:
        sep = str(self.options.get("separator", ";"))
        return "\t" if sep in ("\\t", "tab", "tabulation") else sep

    def level(self) -> str:
        """The option `level`, else: IRIS column → iris; CODGEO of the first row a QPV code → qpv; else commune."""
        if "level" in self.options:
            return str(self.options["level"]).strip().lower()
        header = split_header(first_line(self.path), self.separator())
        if "IRIS" in header:
            return "iris"
        if "CODGEO" in header:
            first = self._first_code(header.index("CODGEO"))
            if first and QPV_CODE.match(first):
                return "qpv"
        return "commune"

    def _first_code(self, index: int) -> str | None:
        try:
            with self.path.open("rb") as fh:
                head = fh.read(1 << 16)
        except OSError:
            return None
        lines = _lenient(head.removeprefix(b"\xef\xbb\xbf")).splitlines()
        for line in lines[1:]:
            if line.strip():
                fields = split_header(line, self.separator())
                return fields[index] if index < len(fields) else None
        return None

    def dataset(self) -> str:
        return f"recensement:{self.level()}:{self.path.stem.lower()}"

    def vintage(self) -> str | None:
        if self.options.get("vintage"):
            return str(self.options["vintage"])
        year = self._latest_year
        if year is None:
            match = FILE_NAME.match(self.path.stem)
            year = int(match.group(3)) if match else None
        return f"RP {year}" if year else None

    def theme(self) -> str | None:
        """The option `theme`, else the theme the file name says (base-cc-logement-2021 → logement), else None:
        each variable then gets its own theme (files that mix themes, such as QPV files)."""
        if self.options.get("theme"):
            return str(self.options["theme"])
        match = FILE_NAME.match(self.path.stem)
        if match and match.group(2).lower() in THEMES:
            return THEMES[match.group(2).lower()]
        return None

    # -- reading -------------------------------------------------------------------------------------------
    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        separator = self.separator()
        encoding = str(self.options.get("encoding", "auto"))
        line = first_line(self.path)
        level = self.level()
        code_column = "IRIS" if level == "iris" else "CODGEO"
        check_separator(self.path, line, separator, ["CODGEO", "IRIS"])
        header = split_header(line, separator)
        if line and "CODGEO" not in header and "IRIS" not in header:
            raise ImportValidationError(
                file,
                "ce fichier n'a pas la forme d'une base du recensement INSEE (base-cc ou base-ic) : ni colonne "
                f"CODGEO ni colonne IRIS ; colonnes trouvées : {', '.join(header[:8])}{'…' if len(header) > 8 else ''}.",
                line=1,
            )
        dictionary = self.dictionary()  # a wrong dictionary path fails before the long read
        required = list(IRIS_HEADER) if level == "iris" else ["CODGEO"]
        frame = read_table(self.path, separator=separator, required=required, encoding=encoding,
                           kind_label="du recensement INSEE", key=[code_column])
        variables = census_variables(list(frame.columns))
        if not variables:
            raise ImportValidationError(
                file,
                "aucune variable du recensement dans l'en-tête (colonnes de la forme P21_POP ou C21_MENPSEUL attendues).",
                line=1,
            )
        frame[code_column] = frame[code_column].astype(str)
        self._latest_year = max(v.year for v in variables)
        cog = option_int(self.options["cog"], "cog", file) if "cog" in self.options else self._latest_year + 2

        batch = Batch()
        if level == "iris":
            territory, membership = iris_territories(
                wh, frame, file=file, dataset=self.dataset(), cog=cog, iris_column="IRIS",
                commune_column="COM", name_column="LIBIRIS" if "LIBIRIS" in frame.columns else None,
            )
            batch.add("territory", territory)
            batch.add("membership", membership)
        else:
            check_territory_codes(wh, frame, code_column, level, cog, file)

        report.info(f"  {len(frame)} territoires × {len(variables)} variables (RP {self._latest_year}, COG {cog})")
        values, status = parse_table_numbers(
            frame, [v.column for v in variables], file, decimal_comma=separator != ","
        )
        value = melt_values(frame[code_column].tolist(), variables, values, status, level, cog)
        lines = dict(zip(frame[code_column], frame["_line"]))
        columns = {(v.indicator, v.year): v.column for v in variables}
        check_overlap(wh, value, "value", dataset=self.dataset(), file=file,
                      locate=lambda r: (int(lines[r["code"]]), columns[(r["indicator"], int(r["year"]))]))
        batch.add("value", value)
        batch.add("indicator", self._indicators(variables, dictionary))
        return batch

    def dictionary(self) -> dict[str, tuple[int, str, str]]:
        """Labels from the option `dictionary` (an INSEE variable dictionary), else none."""
        if not self.options.get("dictionary"):
            return {}
        path = Path(str(self.options["dictionary"])).expanduser()
        if not path.is_absolute() and not path.exists() and (self.path.parent / path).exists():
            path = self.path.parent / path  # a dictionary next to the data file
        return read_dictionary(path)

    def _indicators(self, variables: Sequence[Variable], dictionary: dict[str, tuple[int, str, str]]) -> pd.DataFrame:
        file_theme = self.theme()
        rows, seen = [], set()
        for v in sorted(variables, key=lambda v: -v.year):
            if v.indicator in seen:
                continue
            seen.add(v.indicator)
            key = f"{v.prefix}_{v.name}"
            exploitation = "exploitation principale" if v.prefix == "P" else "exploitation complémentaire"
            if key in dictionary:
                _, label, long = dictionary[key]
            else:
                label, long = BUILTIN_LABELS.get(v.name, key), ""
            definition = f"{long or label} (recensement de la population INSEE, {exploitation} ; variable {key})."
            theme = file_theme or variable_theme(v.name)
            rows.append({
                "id": v.indicator, "label": label, "theme": theme, "unit": unit_of(v.name), "kind": "stock",
                "numerator": None, "denominator": None, "factor": None, "decimals": 0,
                "definition": definition, "secrecy": None, "vintage_label": "recensement {year}",
            })
        return pd.DataFrame(rows)


def melt_values(
    codes: Sequence[str], variables: Sequence[Variable], values: np.ndarray, status: np.ndarray, level: str, cog: int
) -> pd.DataFrame:
    """A (rows × variables) table as `value` rows (variable-major), without a Python loop per cell."""
    n, m = len(codes), len(variables)
    ids = [v.indicator for v in variables]
    years = np.array([v.year for v in variables], dtype=np.int64)
    return pd.DataFrame({
        "indicator": string_column(ids, np.repeat(np.arange(m), n)),
        "level": string_column([level], np.zeros(n * m, dtype=np.int64)),
        "code": string_column(list(codes), np.tile(np.arange(n), m)),
        "year": np.repeat(years, n),
        "cog": np.full(n * m, cog, dtype=np.int64),
        "value": values.T.ravel(),
        "status": string_column(STATUS_NAMES, status.T.ravel()),
    })


__all__ = [
    "CensusImporter", "STATUS_NAMES", "check_separator", "first_line", "melt_values", "normalise_markers",
    "option_bool", "option_int", "parse_table_numbers", "read_table", "split_header", "string_column",
]
