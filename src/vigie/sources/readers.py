"""Careful readers for the files agencies receive: every problem is named by file, line and column.

`read_csv` reads delimited text as strings only (INSEE codes keep their leading zeros), checks encoding,
separator, header and row lengths, and keeps the line number of every row in a `_line` column so that
later checks (codes, numbers, duplicates) can point at the exact place.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from vigie.errors import ImportValidationError

SEPARATORS = {";": "point-virgule « ; »", ",": "virgule « , »", "\t": "tabulation", "|": "barre « | »"}

# Markers INSEE and other producers use for cells without a value.
SECRET_MARKERS = frozenset({"s", "secret", "c"})
MISSING_MARKERS = frozenset({"", "nd", "n.d.", "na", "<na>", "nan", "null", "-"})


def decode(path: Path, encoding: str = "utf-8") -> tuple[str, str]:
    """The text of `path` and the encoding used. `encoding="auto"` accepts UTF-8, else Windows-1252/Latin-1."""
    raw = path.read_bytes()
    if not raw.strip():
        raise ImportValidationError(path.name, "le fichier est vide.")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if encoding in ("auto", "utf-8", "utf8"):
        try:
            return raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            if encoding == "auto":
                return raw.decode("cp1252", errors="strict") if _cp1252_ok(raw) else raw.decode("latin-1"), "latin-1"
            line = raw[: exc.start].count(b"\n") + 1
            col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise ImportValidationError(
                path.name,
                f"le fichier n'est pas encodé en UTF-8 (octet 0x{raw[exc.start]:02x} au caractère {col}) ; "
                "il semble encodé en Latin-1 : convertissez-le en UTF-8 ou relancez avec --encodage latin-1 (ou --option encoding=latin-1).",
                line=line,
            ) from None
    try:
        return raw.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError) as exc:
        raise ImportValidationError(path.name, f"impossible de décoder le fichier en {encoding} ({exc}).") from None


def _cp1252_ok(raw: bytes) -> bool:
    try:
        raw.decode("cp1252")
        return True
    except UnicodeDecodeError:
        return False


def read_csv(
    path: Path | str,
    *,
    separator: str,
    required: Sequence[str],
    encoding: str = "utf-8",
    kind_label: str = "attendu",
    key: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows of a delimited file as strings, with `_line` (1-based line in the file, header = 1).

    Raises ImportValidationError on: empty file, bad encoding, wrong separator, a header that lacks a
    required column (or looks like another kind of file), a row of the wrong length (a truncated file),
    duplicated keys.
    """
    path = Path(path)
    text, _ = decode(path, encoding)
    first_line = text.split("\n", 1)[0].rstrip("\r")
    header_fields = next(csv.reader([first_line], delimiter=separator))
    if len(header_fields) == 1 and len(required) > 1:
        for other, name in SEPARATORS.items():
            if other != separator and other in first_line:
                raise ImportValidationError(
                    path.name,
                    f"séparateur inattendu : le fichier utilise la {name} alors que ce format attend la "
                    f"{SEPARATORS[separator]}.",
                    line=1,
                )
    header = [h.strip() for h in header_fields]
    missing = [c for c in required if c not in header]
    if missing:
        found = set(required) - set(missing)
        if not found:
            raise ImportValidationError(
                path.name,
                f"ce fichier n'a pas la forme d'un fichier {kind_label} : aucune des colonnes attendues "
                f"({', '.join(required[:6])}{'…' if len(required) > 6 else ''}) n'est présente ; "
                f"colonnes trouvées : {', '.join(header[:8])}{'…' if len(header) > 8 else ''}.",
                line=1,
            )
        raise ImportValidationError(path.name, "colonne obligatoire absente.", line=1, column=missing[0])
    dupes = {h for h in header if header.count(h) > 1}
    if dupes:
        raise ImportValidationError(path.name, "colonne en double dans l'en-tête.", line=1, column=sorted(dupes)[0])

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    width = len(header)
    try:
        next(reader)
        start = reader.line_num + 1
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                start = reader.line_num + 1
                continue
            if len(row) != width:
                problem = (
                    f"{len(row)} champ(s) au lieu de {width} : la ligne est incomplète (fichier tronqué ?)"
                    if len(row) < width
                    else f"{len(row)} champs au lieu de {width} : séparateur ou guillemets incorrects"
                )
                raise ImportValidationError(path.name, problem + ".", line=start)
            rows.append([v.strip() for v in row])
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportValidationError(
            path.name, f"ligne illisible ({exc}) : guillemet non fermé ou fichier tronqué.", line=start
        ) from None
    if text and not text.endswith(("\n", "\r")) and rows and len(rows[-1]) == width:
        pass  # a last line without newline is fine when complete
    if not rows:
        raise ImportValidationError(path.name, "le fichier ne contient aucune ligne de données.", line=2)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame["_line"] = lines
    if key:
        check_unique(frame, key, path.name)
    return frame


def check_unique(frame: pd.DataFrame, key: Sequence[str], file: str) -> None:
    """Duplicated keys are an error naming the line of the repeat and of the first occurrence."""
    dup = frame.duplicated(list(key), keep="first")
    if dup.any():
        row = frame[dup].iloc[0]
        first = frame[(frame[list(key)] == row[list(key)]).all(axis=1)].iloc[0]
        label = ", ".join(f"{k} = {row[k]}" for k in key)
        raise ImportValidationError(
            file, f"ligne en double ({label}), déjà présente ligne {first['_line']}.", line=int(row["_line"]), column=key[0]
        )


_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def parse_numbers(
    frame: pd.DataFrame, column: str, file: str, *, decimal_comma: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Values of `column` as floats and a status per cell: ok, secret (s) or missing (nd, empty…).

    A value that is neither a number nor a known marker is an error naming its line and column.
    """
    raw = frame[column].astype(str).str.strip()
    lower = raw.str.lower()
    secret = lower.isin(SECRET_MARKERS)
    missing = lower.isin(MISSING_MARKERS)
    candidates = raw[~(secret | missing)]
    text = candidates.str.replace("\u202f", "", regex=False).str.replace("\xa0", "", regex=False)
    if decimal_comma:
        text = text.str.replace(",", ".", regex=False)
    ok = text.str.match(_NUMBER)
    if not decimal_comma:
        ok &= ~text.str.contains(",", regex=False)
    if not ok.all():
        bad = candidates[~ok].index[0]
        raise ImportValidationError(
            file,
            f"valeur non numérique « {frame.at[bad, column]} ».",
            line=int(frame.at[bad, "_line"]),
            column=column,
        )
    values = np.full(len(frame), np.nan)
    values[frame.index.get_indexer(candidates.index)] = text.astype(float).to_numpy()
    status = np.where(secret, "secret", np.where(missing, "missing", "ok"))
    return values, status


def reject_first(frame: pd.DataFrame, bad: pd.Series, file: str, column: str, problem: str) -> None:
    """If any row is `bad`, raise the error for the first one: `problem` may name the cell as `{value}`."""
    if bad.any():
        row = frame[bad].iloc[0]
        raise ImportValidationError(file, problem.format(value=row[column]), line=int(row["_line"]), column=column)


def check_codes(frame: pd.DataFrame, column: str, known: Iterable[str], file: str, what: str = "commune") -> None:
    """Every code of `column` must be in `known`; the first unknown one is an error."""
    reject_first(frame, ~frame[column].isin(set(known)), file, column,
                 f"code {what} inconnu « {{value}} » (absent du référentiel de l'entrepôt).")
