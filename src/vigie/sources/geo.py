"""Reading and cleaning vector files for the geographic importers (contours, QPV, friches, layers).

Every vector format pyogrio reads is accepted (GeoJSON, GeoPackage, Shapefile, zipped Shapefile…), in any
coordinate reference system. Geometries come out in Lambert-93 (EPSG:2154), checked and repaired:

* a missing, empty or NaN geometry, a geometry of the wrong type for the layer, or a polygon that collapses
  to a line when repaired is an `ImportValidationError` naming the file, the feature number (`line`,
  1-based) and the field (`column="geometry"`);
* other invalid geometries (self-intersections, degenerate rings) are repaired with shapely `make_valid`
  when the repair keeps their dimension, and the importer is warned with the feature numbers.

`web_geometries` makes the simplified WGS84 copy used by maps: boundaries move by at most a few metres,
and neighbours sharing a border (communes, EPCI…) keep sharing it (coverage simplification).

>>> import shapely
>>> area_km2(shapely.box(0, 0, 1000, 2000))
2.0
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from vigie.errors import ImportValidationError
from vigie.sources.options import sniff_separator

LAMBERT93 = 2154
WGS84 = 4326

# Default tolerance, in metres, of the simplification of `geom_web` (option `simplify`).
WEB_TOLERANCE_M = 5.0
# With the same tolerance, the coverage simplifier (Visvalingam–Whyatt) moves a noisy boundary about as far as
# Douglas–Peucker does (4.2 m against 4.9 m for 5 m on a random walk) and a smooth one much less (0.7 m against
# 4.8 m on a 1 km circle): the tolerance is used as is, so that it stays an upper bound of the displacement.

FAMILY_LABELS = {"point": "ponctuelle", "line": "linéaire", "polygon": "surfacique"}
_FAMILY_OF_TYPE = {
    "Point": "point",
    "MultiPoint": "point",
    "LineString": "line",
    "MultiLineString": "line",
    "LinearRing": "line",
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
}
_TYPE_LABELS = {
    "Point": "un point",
    "MultiPoint": "un multipoint",
    "LineString": "une ligne",
    "LinearRing": "une ligne",
    "MultiLineString": "une multiligne",
    "Polygon": "un polygone",
    "MultiPolygon": "un multipolygone",
    "GeometryCollection": "une collection de géométries",
}

Warn = Callable[[str], None]


@dataclass
class Features:
    """A vector file read and cleaned: attributes (with `_line`, the feature number) and Lambert-93 geometries."""

    attributes: pd.DataFrame
    geom: np.ndarray
    source_crs: str
    fields: list[str]

    def __len__(self) -> int:
        return len(self.attributes)


# ---------------------------------------------------------------------------------------------- options
def option_float(value: Any, name: str, file: str, default: float) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        out = float(str(value).strip().replace(",", "."))
    except ValueError:
        out = math.nan
    if not math.isfinite(out) or out < 0:
        raise ImportValidationError(file, f"option « {name} » invalide : « {value} » (nombre positif attendu).")
    return out


def simplify_tolerance(options: dict[str, Any], file: str) -> float:
    """Option `simplify`: tolerance of the web copy in metres (0 disables simplification)."""
    return option_float(options.get("simplify"), "simplify", file, WEB_TOLERANCE_M)


# ---------------------------------------------------------------------------------------------- reading
def is_vector_file(path: Path) -> bool:
    """True unless the file is a delimited text file (CSV/TXT/TSV)."""
    return path.suffix.lower() not in (".csv", ".txt", ".tsv")


def read_vector(
    path: Path,
    *,
    warn: Warn,
    layer_name: str | None = None,
    crs: Any = None,
    expected: str | None = "polygon",
) -> Features:
    """Read a vector file (GeoJSON, GeoPackage, Shapefile, zipped Shapefile…) into cleaned Lambert-93 features.

    `expected` is the geometry family of the layer ("polygon", "point", "line") or None to accept any.
    `crs` (option `crs`) gives the CRS of a file that does not declare one; a GeoJSON without CRS is CRS84.
    """
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    file = path.name
    try:
        layers = pyogrio.list_layers(path)
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise ImportValidationError(file, f"fichier géographique illisible ({_gdal_message(exc)}).") from None
    names = [str(row[0]) for row in layers]
    if layer_name is not None:
        if str(layer_name) not in names:
            raise ImportValidationError(
                file, f"couche « {layer_name} » absente du fichier ; couches présentes : {', '.join(names)}.", column="layer_name"
            )
    elif len(names) > 1:
        raise ImportValidationError(
            file,
            f"le fichier contient {len(names)} couches ({', '.join(names)}) : choisissez-en une avec "
            "--option layer_name=<nom>.",
        )
    elif not names:
        raise ImportValidationError(file, "le fichier ne contient aucune couche géographique.")
    layer = str(layer_name) if layer_name is not None else names[0]
    try:
        info = pyogrio.read_info(path, layer=layer)
        driver = str(info.get("driver") or "")
        open_options = {"DATE_AS_STRING": "YES"} if driver == "GeoJSON" else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pyogrio.read_dataframe(path, layer=layer, **open_options)
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        raise ImportValidationError(file, f"fichier géographique illisible ({_gdal_message(exc)}).") from None
    if len(frame) == 0:
        raise ImportValidationError(file, "le fichier ne contient aucune entité.")
    if "geometry" not in frame.columns:
        raise ImportValidationError(file, "le fichier n'a pas de géométrie.", column="geometry")
    source_crs = _source_crs(file, info.get("crs"), crs, driver, warn)
    fields = [c for c in frame.columns if c != "geometry"]
    attributes = pd.DataFrame({c: frame[c].astype(object).to_numpy() for c in fields}, index=pd.RangeIndex(len(frame)))
    attributes["_line"] = np.arange(1, len(frame) + 1)
    lines = attributes["_line"].to_numpy()
    raw = np.asarray(frame.geometry.to_numpy(), dtype=object)
    geom = prepare_geometries(raw, source_crs, lines, file, expected=expected, warn=warn)
    return Features(attributes, geom, source_crs, fields)


def _gdal_message(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def _source_crs(file: str, declared: Any, option: Any, driver: str, warn: Warn) -> str:
    """The CRS to read the file with: option `crs`, else the declared one, else CRS84 for GeoJSON."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    if option is not None and str(option).strip():
        text = str(option).strip()
        try:
            forced = CRS.from_user_input(int(text) if text.isdigit() else text)
        except CRSError:
            raise ImportValidationError(
                file, f"option « crs » invalide : « {option} » (ex. EPSG:2154 pour Lambert-93, EPSG:4326 pour longitude/latitude).",
                column="crs",
            ) from None
        if declared:
            try:
                if not CRS.from_user_input(declared).equals(forced, ignore_axis_order=True):
                    warn(
                        f"Le fichier déclare le système de coordonnées {declared} ; l'option crs l'a remplacé par "
                        f"{forced.to_string()}."
                    )
            except CRSError:
                pass
        return forced.to_string()
    if declared:
        return str(declared)
    if driver == "GeoJSON":
        return "OGC:CRS84"
    raise ImportValidationError(
        file,
        "le fichier n'indique pas son système de coordonnées (fichier .prj absent ?) : précisez-le avec "
        "--option crs=EPSG:2154 (Lambert-93) ou crs=EPSG:4326 (longitude/latitude).",
        column="crs",
    )


# ---------------------------------------------------------------------------------------------- geometry checks
def prepare_geometries(
    geoms: np.ndarray,
    source_crs: Any,
    lines: Sequence[int],
    file: str,
    *,
    expected: str | None,
    warn: Warn,
    field: str = "geometry",
    what: str = "entité",
) -> np.ndarray:
    """Check, reproject to Lambert-93 and repair geometries. `lines` are the feature (or line) numbers."""
    geoms = np.asarray(geoms, dtype=object)
    lines = np.asarray(lines)
    label = f"{what} n°"
    missing = np.array([g is None or (isinstance(g, float) and math.isnan(g)) for g in geoms], dtype=bool)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise ImportValidationError(file, f"géométrie absente ({label} {lines[i]}).", line=int(lines[i]), column=field)
    empty = shapely.is_empty(geoms)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise ImportValidationError(file, f"géométrie vide ({label} {lines[i]}).", line=int(lines[i]), column=field)
    _check_finite(geoms, lines, file, field, label, "coordonnée non numérique (NaN ou infinie)")
    geoms = shapely.force_2d(geoms)
    _check_types(geoms, lines, file, field, label, expected)
    collections = np.flatnonzero(shapely.get_type_id(geoms) == 7)
    for i in collections:  # a GeometryCollection of polygons is a MultiPolygon (same for points, lines)
        geoms[i] = keep_family(geoms[i], family(geoms[i]))
    geoms = to_lambert93(geoms, source_crs)
    _check_finite(
        geoms, lines, file, field, label,
        f"coordonnées impossibles dans le système {source_crs} (hors de son domaine) : vérifiez le système de "
        "coordonnées du fichier ou l'option crs",
    )
    return repair(geoms, lines, file, warn=warn, field=field, label=label)


def _check_finite(geoms, lines, file, field, label, problem) -> None:
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        i = int(index[np.flatnonzero(bad)[0]])
        raise ImportValidationError(file, f"{problem} ({label} {lines[i]}).", line=int(lines[i]), column=field)


def family(geom: BaseGeometry) -> str | None:
    """"point", "line" or "polygon"; for a collection, the family of all its parts (None when mixed)."""
    kind = _FAMILY_OF_TYPE.get(geom.geom_type)
    if kind is not None:
        return kind
    if geom.geom_type == "GeometryCollection":
        kinds = {family(part) for part in geom.geoms if not part.is_empty}
        return kinds.pop() if len(kinds) == 1 else None
    return None


def _check_types(geoms, lines, file, field, label, expected) -> None:
    for g, line in zip(geoms, lines):
        kind = family(g)
        if kind is None:
            raise ImportValidationError(
                file, f"géométrie de type non pris en charge ({g.geom_type}, {label} {line}).", line=int(line), column=field
            )
        if expected is not None and kind != expected:
            raise ImportValidationError(
                file,
                f"géométrie de type inattendu : {_TYPE_LABELS.get(g.geom_type, g.geom_type)} dans une couche "
                f"{FAMILY_LABELS[expected]} ({label} {line}).",
                line=int(line),
                column=field,
            )


def to_lambert93(geoms: np.ndarray, source_crs: Any) -> np.ndarray:
    return reproject(geoms, source_crs, LAMBERT93)


def reproject(geoms: np.ndarray, source_crs: Any, target_crs: Any) -> np.ndarray:
    """Geometries from one CRS to another, always in (x=longitude/easting, y=latitude/northing) order."""
    from pyproj import CRS, Transformer

    src, dst = CRS.from_user_input(source_crs), CRS.from_user_input(target_crs)
    if src.equals(dst, ignore_axis_order=True):
        return np.asarray(geoms, dtype=object)
    transformer = Transformer.from_crs(src, dst, always_xy=True)
    return shapely.transform(np.asarray(geoms, dtype=object), lambda x, y: transformer.transform(x, y), interleaved=False)


def repair(
    geoms: np.ndarray, lines: Sequence[int], file: str, *, warn: Warn, field: str = "geometry", label: str = "entité n°"
) -> np.ndarray:
    """Repair invalid geometries with `make_valid` when the repair keeps their dimension; warn with the numbers."""
    geoms = np.asarray(geoms, dtype=object).copy()
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    repaired: list[str] = []
    for i in invalid:
        g = geoms[i]
        kind = family(g)
        reason = shapely.is_valid_reason(g)
        fixed = shapely.make_valid(g)
        fixed = keep_family(fixed, kind) if kind else None
        if fixed is None or fixed.is_empty or (kind == "polygon" and fixed.area <= 0):
            collapsed = {"polygon": "le polygone se réduit à une ligne ou un point", "line": "la ligne se réduit à un point"}
            raise ImportValidationError(
                file,
                f"géométrie invalide impossible à réparer : {collapsed.get(kind or '', 'géométrie dégénérée')} "
                f"({reason} ; {label} {lines[i]}).",
                line=int(lines[i]),
                column=field,
            )
        geoms[i] = fixed
        repaired.append(str(lines[i]))
    if repaired:
        plural = len(repaired) > 1
        warn(
            f"{file} : {len(repaired)} géométrie{'s' if plural else ''} invalide{'s' if plural else ''} "
            f"réparée{'s' if plural else ''} (make_valid, en conservant la dimension) : {label} {', '.join(repaired)}."
        )
    return geoms


def keep_family(geom: BaseGeometry, kind: str | None) -> BaseGeometry | None:
    """The parts of `geom` of the given family (polygonal parts of a GeometryCollection…), or None."""
    if kind is None:
        return geom
    parts = [p for p in _flatten(geom) if _FAMILY_OF_TYPE.get(p.geom_type) == kind and not p.is_empty]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    if kind == "polygon":
        merged = shapely.union_all(parts)
        return merged if merged.geom_type in ("Polygon", "MultiPolygon") else keep_family(merged, kind)
    if kind == "line":
        return shapely.MultiLineString([q for p in parts for q in getattr(p, "geoms", [p])])
    return shapely.MultiPoint([q for p in parts for q in getattr(p, "geoms", [p])])


def _flatten(geom: BaseGeometry) -> Iterable[BaseGeometry]:
    if geom.geom_type in ("GeometryCollection", "MultiPolygon", "MultiLineString", "MultiPoint"):
        for part in geom.geoms:
            yield from _flatten(part)
    else:
        yield geom


def as_multipolygon(geom: BaseGeometry) -> BaseGeometry:
    """Polygon → MultiPolygon (a MultiPolygon is returned as is)."""
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    kept = keep_family(geom, "polygon")
    if kept is None:
        raise ValueError(f"pas de partie surfacique dans {geom.geom_type}")
    return as_multipolygon(kept)


def area_km2(geom: BaseGeometry | np.ndarray) -> Any:
    """Area in km² of Lambert-93 geometries (a float for one geometry, an array for several)."""
    area = shapely.area(geom) / 1e6
    return float(area) if np.ndim(area) == 0 else area


# ---------------------------------------------------------------------------------------------- web copy
def web_geometries(geoms: np.ndarray, tolerance: float = WEB_TOLERANCE_M) -> np.ndarray:
    """The simplified WGS84 (lon/lat) copy of Lambert-93 geometries, for maps.

    Polygons that form a coverage (no overlaps: communes, EPCI, QPV…) are simplified together so that shared
    borders stay shared; otherwise each geometry is simplified on its own, keeping it valid. A geometry that
    the simplification would break keeps its full detail.
    """
    geoms = np.asarray(geoms, dtype=object)
    simple = geoms
    if tolerance > 0 and len(geoms):
        polygonal = np.array([g.geom_type in ("Polygon", "MultiPolygon") for g in geoms], dtype=bool)
        simple = geoms.copy()
        done = False
        if polygonal.all():
            try:
                if bool(shapely.coverage_is_valid(geoms)):
                    simple = np.asarray(shapely.coverage_simplify(geoms, tolerance), dtype=object)
                    done = True
            except shapely.errors.GEOSException:
                done = False
        if not done:
            simple = np.asarray(shapely.simplify(geoms, tolerance, preserve_topology=True), dtype=object)
        broken = shapely.is_empty(simple) | ~shapely.is_valid(simple)
        simple[broken] = geoms[broken]
        same_type = np.array([a.geom_type == b.geom_type for a, b in zip(simple, geoms)], dtype=bool)
        simple[~same_type] = geoms[~same_type]
    web = reproject(simple, LAMBERT93, WGS84)
    # 7 decimals of a degree are about 1 cm: enough for any map, and no float noise in exports.
    web = shapely.transform(web, lambda c: np.round(c, 7))
    broken = ~shapely.is_valid(web)
    for i in np.flatnonzero(broken):
        fixed = keep_family(shapely.make_valid(web[i]), family(geoms[i]))
        web[i] = fixed if fixed is not None and not fixed.is_empty else web[i]
    return web


# ---------------------------------------------------------------------------------------------- attributes
def find_field(fields: Iterable[str], name: str) -> str | None:
    """The field called `name`, ignoring case (exact match first)."""
    fields = list(fields)
    if name in fields:
        return name
    lowered = {f.lower(): f for f in fields if f != "_line"}
    return lowered.get(name.lower())


def require_field(fields: Iterable[str], name: str, file: str) -> str:
    found = find_field(fields, name)
    if found is None:
        present = [f for f in fields if f != "_line"]
        raise ImportValidationError(
            file,
            f"champ obligatoire absent ; champs présents : {', '.join(present[:12])}{'…' if len(present) > 12 else ''}.",
            column=name,
        )
    return found


def text_values(series: pd.Series) -> pd.Series:
    """Values as stripped strings ('' for missing), never numbers: 62001.0 → '62001'."""

    def one(v: Any) -> str:
        if v is None or v is pd.NA or v is pd.NaT:
            return ""
        if isinstance(v, (float, np.floating)):
            if math.isnan(v):
                return ""
            return str(int(v)) if float(v).is_integer() else repr(float(v))
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return str(int(v))
        return str(v).strip()

    return pd.Series([one(v) for v in series], index=series.index, dtype=object)


def code_values(series: pd.Series, width: int | None = None) -> tuple[pd.Series, int]:
    """Codes as strings; numeric codes shorter than `width` get back their leading zeros (count returned)."""
    codes = text_values(series)
    if not width:
        return codes, 0
    short = codes.str.fullmatch(r"\d+") & (codes.str.len() < width) & (codes.str.len() > 0)
    if short.any():
        codes = codes.where(~short, codes.str.zfill(width))
    return codes, int(short.sum())


def check_no_duplicates(frame: pd.DataFrame, column: str, file: str, field: str | None = None, what: str = "entités") -> None:
    """A repeated value of `column` is an error naming both feature (or line) numbers."""
    dup = frame[column].duplicated(keep="first") & (frame[column] != "")
    if dup.any():
        row = frame[dup].iloc[0]
        first = frame[frame[column] == row[column]].iloc[0]
        raise ImportValidationError(
            file,
            f"code « {row[column]} » en double : {what} n° {int(first['_line'])} et n° {int(row['_line'])}.",
            line=int(row["_line"]),
            column=field or column,
        )


def check_filled(frame: pd.DataFrame, column: str, file: str, field: str | None = None, what: str = "entité") -> None:
    empty = frame[column] == ""
    if empty.any():
        line = int(frame[empty].iloc[0]["_line"])
        raise ImportValidationError(file, f"valeur obligatoire vide ({what} n° {line}).", line=line, column=field or column)


def jsonable(value: Any) -> Any:
    """A JSON-friendly version of an attribute value (dates in ISO 8601, missing values as null)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value).to_pydatetime()
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    return str(value)


def properties_json(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """One JSON object per row with the given columns (in that order)."""
    cols = [c for c in columns if c in frame.columns]
    records = frame[cols].to_numpy(dtype=object) if cols else np.empty((len(frame), 0), dtype=object)
    return [
        json.dumps({c: jsonable(v) for c, v in zip(cols, row)}, ensure_ascii=False, separators=(",", ":"))
        for row in records
    ]


# ---------------------------------------------------------------------------------------------- warehouse
def check_not_owned_elsewhere(wh, table: str, where: str, params: Sequence[Any], dataset: str, file: str, what: str) -> None:
    """Rows this import would write must not belong to another dataset (they would clash on the primary key)."""
    rows = wh.query(
        f"SELECT DISTINCT s.id, s.dataset, s.file_name FROM {table} t JOIN source s ON s.id = t.source_id "
        f"WHERE {where} AND s.dataset <> ? ORDER BY s.id",
        [*params, dataset],
    )
    if rows:
        sid, other, name = rows[0]
        raise ImportValidationError(
            file,
            f"{what} existe déjà dans l'entrepôt, écrit par un autre import (source n° {sid}, « {name} », jeu « {other} ») : "
            "supprimez cette source ou importez sous un autre identifiant.",
        )


def latest_cog(wh, level: str, file: str) -> int:
    cogs = wh.cogs(level)
    if not cogs:
        raise ImportValidationError(
            file,
            f"l'entrepôt ne contient aucun territoire de niveau « {level} » : importez d'abord le référentiel "
            "(ou précisez --option cog=…).",
        )
    return cogs[-1]


def csv_separator(path: Path) -> str:
    """`;` or `,` (or a tab), from the header line of a delimited file."""
    from vigie.sources.readers import decode

    text, _ = decode(path, "auto")
    return sniff_separator(text.split("\n", 1)[0])


def resolve_commune_codes(
    wh,
    frame: pd.DataFrame,
    column: str,
    cog: int,
    file: str,
    *,
    warn: Warn,
    field: str | None = None,
    geom: np.ndarray | None = None,
    what: str = "entité",
    allow_empty: bool = False,
) -> pd.Series:
    """Commune codes of `frame[column]` at COG `cog`: known codes as is, old codes through the `passage` table,
    else (when `geom` is given and the warehouse has commune contours) the commune containing the feature.

    Anything left is an error naming the feature (or line) number and the field.
    """
    field = field or column
    codes = frame[column].astype(object)
    known = {r[0] for r in wh.query("SELECT code FROM territory WHERE level = 'commune' AND cog = ?", (cog,))}
    if not known:
        raise ImportValidationError(
            file, f"l'entrepôt ne contient aucune commune au COG {cog} : importez d'abord le référentiel.", column="cog"
        )
    empty = codes == ""
    if empty.any() and not allow_empty:
        line = int(frame[empty].iloc[0]["_line"])
        raise ImportValidationError(file, f"code commune vide ({what} n° {line}).", line=line, column=field)
    unknown = sorted(set(codes[~empty & ~codes.isin(known)]))
    if not unknown:
        return codes
    mapping: dict[str, str] = {}
    split: dict[str, list[str]] = {}
    rows = wh.query("SELECT code_from, code_to FROM passage WHERE cog_to <= ? ORDER BY cog_from, cog_to", (cog,))
    successors: dict[str, list[str]] = {}
    for a, b in rows:
        if a != b:
            successors.setdefault(a, []).append(b)
    for old in unknown:
        current, seen = {old}, set()
        while True:
            pending = {c for c in current if c not in known}
            if not pending or pending <= seen:
                break
            seen |= pending
            current = (current - pending) | {n for c in pending for n in successors.get(c, [c])}
        if current <= known and len(current) == 1:
            mapping[old] = next(iter(current))
        elif current <= known and current:
            split[old] = sorted(current)
    if mapping:
        warn(
            f"{file} : {len(mapping)} ancien(s) code(s) commune converti(s) au COG {cog} par la table de passage "
            f"({', '.join(f'{a} → {b}' for a, b in list(mapping.items())[:8])}{'…' if len(mapping) > 8 else ''})."
        )
    codes = codes.map(lambda c: mapping.get(c, c))
    left = ~codes.isin(known) & (codes != "")
    if left.any() and geom is not None:
        contours = wh.territory_geometries("commune", cog) if wh.query(
            "SELECT 1 FROM territory_geometry WHERE level = 'commune' AND cog = ? LIMIT 1", (cog,)) else None
        if contours is not None and len(contours):
            tree = shapely.STRtree(contours.geometry.to_numpy())
            located = {}
            for i in np.flatnonzero(left.to_numpy()):
                point = shapely.point_on_surface(geom[i])
                hits = tree.query(point, predicate="within")
                if len(hits) == 1:
                    located[i] = str(contours["code"].iloc[int(hits[0])])
            if located:
                values = codes.to_numpy().copy()
                for i, code in located.items():
                    values[i] = code
                warn(
                    f"{file} : {len(located)} code(s) commune inconnu(s) au COG {cog} remplacé(s) par la commune qui "
                    f"contient l'entité ({what} n° {', '.join(str(int(frame['_line'].iloc[i])) for i in list(located)[:8])})."
                )
                codes = pd.Series(values, index=codes.index, dtype=object)
                left = ~codes.isin(known) & (codes != "")
    if left.any():
        row = frame[left.to_numpy()].iloc[0]
        code = codes[left].iloc[0]
        detail = (f" : la commune a été scindée en {', '.join(split[code])}" if code in split else "")
        raise ImportValidationError(
            file,
            f"code commune « {code} » absent du référentiel de l'entrepôt au COG {cog}{detail} ({what} n° {int(row['_line'])}).",
            line=int(row["_line"]),
            column=field,
        )
    return codes
