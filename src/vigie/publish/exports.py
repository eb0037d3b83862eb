"""Downloads of indicator values: CSV, XLSX, GeoJSON and GeoPackage, one line per territory of a level.

`GET /api/export?indicators=a,b&level=commune&year=&format=csv|xlsx|geojson|gpkg`. Every file says what it
holds: the label and unit of each indicator and the vintage of its figures, a status for every value (secret,
fragile, non disponible), the source and, where they are, the "données fictives de démonstration" mark.
Masked values are never exported: a secret cell is empty, its status says why.

- CSV: `;` separator, UTF-8 with a BOM, decimal comma (what French spreadsheets open without a wizard);
- XLSX (openpyxl): the data sheet with numbers as numbers, and a metadata sheet (definitions, sources, licences);
- GeoJSON (WGS84) and GeoPackage (Lambert-93, pyogrio; with a `metadonnees` table) add the contours.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import shapely
from fastapi import APIRouter, Depends, Query, Request, Response

import vigie
from vigie.engine.catalogue import IndicatorDef
from vigie.errors import NotFoundError
from vigie.publish import params
from vigie.publish.context import AppContext, Hidden, check_export, visible
from vigie.publish.json_values import dumps, number
from vigie.publish.params import ParameterError
from vigie.publish.terminal import SYNTHETIC_MARK, level_label

TAG = {"name": "exports", "description": "Téléchargement des valeurs : CSV, XLSX, GeoJSON, GeoPackage."}
FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "geojson": ("application/geo+json", "geojson"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
}
STATUS_WORDS = {"ok": "disponible", "secret": "secret statistique", "fragile": "fragile (petits effectifs)",
                "missing": "non disponible"}
MAX_INDICATORS = 30


@dataclass
class Column:
    """One indicator of the export, at its year."""

    definition: IndicatorDef
    year: int
    vintage: str
    values: dict[str, tuple[float | None, str, bool]]  # code -> (value, status, synthetic)
    sources: list[dict] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return f"{self.definition.label} ({self.definition.unit}), {self.vintage}"

    @property
    def synthetic(self) -> bool:
        return any(s for _v, _st, s in self.values.values())

    def cell(self, code: str) -> tuple[float | None, str, bool]:
        return self.values.get(code, (None, "missing", False))

    def source_text(self, synthetic: bool) -> str:
        return self.definition.source + (f" — {SYNTHETIC_MARK}" if synthetic else "")


@dataclass
class Table:
    level: str
    cog: int
    territories: list[tuple[str, str]]  # (code, name)
    columns: list[Column]

    @property
    def synthetic(self) -> bool:
        return any(c.synthetic for c in self.columns)


def build_table(ctx: AppContext, indicators: list[str], level: str, year: int | None, codes: list[str] | None,
                within: str | None, seen: Hidden | None = None) -> Table:
    """The values of `indicators` for every current territory of `level` (filtered), masked values empty.
    `seen`: what the viewer may not see (hidden indicators and levels answer 404 as unknown ones)."""
    engine = ctx.engine
    seen = seen or Hidden()
    for i in indicators:
        seen.indicator(i, f"L'indicateur « {i} » n'est pas au catalogue.")
    definitions = [engine.indicator(i) for i in indicators]
    ctx.check_level(level, seen.levels)
    territories = sorted((code, name) for (lv, code), name in ctx.names.items() if lv == level)
    if codes is not None:
        wanted = set(codes)
        unknown = sorted(wanted - {c for c, _n in territories})
        if unknown:
            raise NotFoundError(f"Aucun territoire de niveau « {level} » n'a le code « {unknown[0]} ».")
        territories = [t for t in territories if t[0] in wanted]
    if within is not None:
        parent_level, parent_code = params.territory_ref(within, "within")
        parent = ctx.territory(parent_level, parent_code) if parent_level else ctx.find(parent_code)
        if parent.level in seen.levels:
            raise NotFoundError(f"Aucun territoire n'a le code « {parent.code} » au niveau « {parent.level} ».")
        with ctx.access.use() as wh:
            members = set(wh.members(parent, child_level=level, cog=engine.cog)["code"])
        territories = [t for t in territories if t[0] in members]
    columns = []
    for d in definitions:
        chosen = params.year(year, ctx.years(d.id, level), f"l'indicateur « {d.id} » au niveau « {level} »")
        with ctx.access.use() as wh:
            frame = engine.values(d.id, level, years=[chosen])
        values = {
            code: (None if status == "secret" else number(value), status, bool(synthetic))
            for code, value, status, synthetic in zip(frame["code"], frame["value"], frame["status"], frame["synthetic"])
        }
        columns.append(Column(d, chosen, ctx.vintage_text(d.id, chosen), values, ctx.indicator_sources.get(d.id, [])))
    return Table(level, engine.cog, territories, columns)


# ---------------------------------------------------------------------------------------------- writers
def decimal_comma(value: float | None) -> str:
    """`1234.5` → `1234,5` (no thousands separator, so that spreadsheets read a number); None → empty."""
    if value is None:
        return ""
    text = f"{round(value, 6):.6f}".rstrip("0").rstrip(".")
    return ("0" if text in ("-0", "") else text).replace(".", ",")


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    header = ["Code", "Nom", "Niveau"]
    for c in table.columns:
        header += [c.heading, f"Statut : {c.definition.label}"]
    for c in table.columns:
        header += [f"Source : {c.definition.label}", f"Millésime : {c.definition.label}"]
    writer.writerow(header)
    label = level_label(table.level)
    for code, name in table.territories:
        row = [code, name, label]
        tail = []
        for c in table.columns:
            value, status, synthetic = c.cell(code)
            row += [decimal_comma(value), STATUS_WORDS.get(status, status)]
            tail += [c.source_text(synthetic), c.vintage]
        writer.writerow(row + tail)
    return "\ufeff".encode("utf-8") + out.getvalue().encode("utf-8")


def metadata_rows(table: Table) -> list[list[str]]:
    """One line per indicator: what it is, where it comes from, under which licence."""
    rows = [["Indicateur", "Identifiant", "Unité", "Millésime", "Nature", "Définition", "Source",
             "Fichiers importés", "Licence", "Données fictives"]]
    for c in table.columns:
        files = " ; ".join(
            " — ".join(p for p in (s["title"], s["producer"], s["vintage"]) if p) for s in c.sources
        )
        licences = " ; ".join(dict.fromkeys(s["licence"] for s in c.sources if s.get("licence")))
        rows.append([c.definition.label, c.definition.id, c.definition.unit, c.vintage, c.definition.kind,
                     c.definition.definition, c.definition.source, files, licences,
                     SYNTHETIC_MARK if c.synthetic else "non"])
    return rows


def to_xlsx(table: Table) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    data = wb.active
    data.title = "Données"
    bold = Font(bold=True)
    header = ["Code", "Nom", "Niveau"]
    for c in table.columns:
        header += [c.heading, f"Statut : {c.definition.label}"]
    if table.synthetic:
        header.append("Remarque")
    data.append(header)
    for cell in data[1]:
        cell.font = bold
    label = level_label(table.level)
    for code, name in table.territories:
        row: list[Any] = [code, name, label]
        synthetic_row = False
        for c in table.columns:
            value, status, synthetic = c.cell(code)
            synthetic_row |= synthetic
            row += [value, STATUS_WORDS.get(status, status)]
        if table.synthetic:
            row.append(SYNTHETIC_MARK if synthetic_row else None)
        data.append(row)
    for i, c in enumerate(table.columns):
        column = get_column_letter(4 + 2 * i)
        fmt = "#,##0" + ("." + "0" * c.definition.decimals if c.definition.decimals > 0 else "")
        for cell in data[column][1:]:
            cell.number_format = fmt
    for cell in data["A"][1:]:
        cell.number_format = "@"  # codes stay text (62001, 2A004)
    data.freeze_panes = "C2"
    data.column_dimensions["B"].width = 32
    for i in range(len(table.columns)):
        data.column_dimensions[get_column_letter(4 + 2 * i)].width = 18
        data.column_dimensions[get_column_letter(5 + 2 * i)].width = 16

    meta = wb.create_sheet("Métadonnées")
    generated = datetime.now(timezone.utc).astimezone().strftime("%d/%m/%Y %H:%M")
    for line in (
        ["Vigie — observatoire territorial", f"version {vigie.__version__}"],
        ["Niveau", level_label(table.level)],
        ["Géographie", f"code officiel géographique au 1er janvier {table.cog}"],
        ["Territoires", len(table.territories)],
        ["Export du", generated],
        [],
    ):
        meta.append(line)
    first = meta.max_row + 1
    for row in metadata_rows(table):
        meta.append(row)
    for cell in meta[first]:
        cell.font = bold
    meta.append([])
    meta.append(["Statuts des valeurs"])
    meta.cell(meta.max_row, 1).font = bold
    for status, words in STATUS_WORDS.items():
        meta.append([words, {"ok": "valeur publiée",
                             "secret": "valeur couverte par le secret statistique : jamais diffusée",
                             "fragile": "valeur publiée mais peu fiable (petits effectifs)",
                             "missing": "pas de valeur pour ce territoire et cette année"}[status]])
    if table.synthetic:
        meta.append([])
        meta.append([f"Attention : certaines valeurs sont des {SYNTHETIC_MARK} (colonne « Remarque » de la feuille "
                     "« Données ») ; elles ne décrivent pas la réalité."])
        meta.cell(meta.max_row, 1).font = Font(bold=True, color="9C0006")
    for column, width in zip("ABCDEFGHIJ", (34, 26, 14, 30, 14, 60, 40, 60, 30, 34)):
        meta.column_dimensions[column].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _field_names(table: Table) -> list[tuple[Column, str, str]]:
    return [(c, c.definition.id, f"{c.definition.id}_statut") for c in table.columns]


def _geometries(ctx: AppContext, level: str, web: bool) -> dict[str, Any]:
    cog = ctx.geometry_levels.get(level)
    if cog is None:
        return {}
    column = "geom_web" if web else "geom"
    with ctx.access.use() as wh:
        rows = wh.query(
            f"SELECT code, ST_AsBinary({column}) FROM territory_geometry WHERE level = ? AND cog = ?", (level, cog))
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows]) if rows else []
    return dict(zip((r[0] for r in rows), geoms))


def metadata_json(table: Table) -> dict[str, Any]:
    return {
        "level": table.level, "cog": table.cog, "synthetic": table.synthetic,
        "synthetic_mark": SYNTHETIC_MARK if table.synthetic else None,
        "indicators": [
            {"id": c.definition.id, "label": c.definition.label, "unit": c.definition.unit, "year": c.year,
             "vintage": c.vintage, "kind": c.definition.kind, "definition": c.definition.definition,
             "source": c.definition.source, "files": c.sources, "synthetic": c.synthetic,
             "fields": {"value": c.definition.id, "status": f"{c.definition.id}_statut"}}
            for c in table.columns
        ],
        "statuses": STATUS_WORDS,
    }


def to_geojson(ctx: AppContext, table: Table) -> bytes:
    from vigie.publish.geojson import geometries_json

    shapes = _geometries(ctx, table.level, web=True)
    codes = [code for code, _name in table.territories]
    geoms = geometries_json([shapes.get(code) for code in codes], digits=6)
    features = []
    for (code, name), geom in zip(table.territories, geoms):
        props: dict[str, Any] = {"code": code, "nom": name, "niveau": table.level}
        synthetic_row = False
        for c, value_field, status_field in _field_names(table):
            value, status, synthetic = c.cell(code)
            synthetic_row |= synthetic
            props[value_field] = value
            props[status_field] = status
        props["donnees_fictives"] = synthetic_row
        features.append({"type": "Feature", "id": code, "properties": props, "geometry": geom})
    return dumps({"type": "FeatureCollection", "name": f"vigie_{table.level}", "metadata": metadata_json(table),
                  "features": features})


def to_gpkg(ctx: AppContext, table: Table) -> bytes:
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    shapes = _geometries(ctx, table.level, web=False)
    data: dict[str, list] = {"code": [], "nom": [], "niveau": []}
    for c, value_field, status_field in _field_names(table):
        data[value_field], data[status_field] = [], []
    data["donnees_fictives"] = []
    for code, name in table.territories:
        data["code"].append(code)
        data["nom"].append(name)
        data["niveau"].append(table.level)
        synthetic_row = False
        for c, value_field, status_field in _field_names(table):
            value, status, synthetic = c.cell(code)
            synthetic_row |= synthetic
            data[value_field].append(value)
            data[status_field].append(status)
        data["donnees_fictives"].append(synthetic_row)
    frame = pd.DataFrame(data)
    for c, value_field, _status in _field_names(table):
        frame[value_field] = frame[value_field].astype("float64")
    for column in ("code", "nom", "niveau") + tuple(s for _c, _v, s in _field_names(table)):
        frame[column] = frame[column].astype(object)
    layer = gpd.GeoDataFrame(frame, geometry=[shapes.get(code) for code in data["code"]], crs=2154)
    meta_rows = metadata_rows(table)
    meta = pd.DataFrame(meta_rows[1:], columns=meta_rows[0]).astype(object)
    with tempfile.TemporaryDirectory(prefix="vigie-export-") as tmp:
        path = Path(tmp) / "export.gpkg"
        pyogrio.write_dataframe(layer, path, layer=f"vigie_{table.level}", driver="GPKG", promote_to_multi=True)
        pyogrio.write_dataframe(meta, path, layer="metadonnees", driver="GPKG", append=False)
        return path.read_bytes()


def ascii_name(text: str) -> str:
    """`Taux de chômage` → `taux_de_chomage`: a file name every system and mail client accepts."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")[:80] or "export"


def file_name(table: Table, extension: str) -> str:
    ids = [c.definition.id for c in table.columns]
    what = "_".join(ids) if len(ids) <= 3 else f"{len(ids)}_indicateurs"
    years = sorted({c.year for c in table.columns})
    return f"vigie_{ascii_name(what)}_{ascii_name(table.level)}_{'-'.join(str(y) for y in years)}.{extension}"


def router(ctx: AppContext) -> APIRouter:
    api = APIRouter()

    @api.get("/api/export", tags=["exports"], summary="Télécharger les valeurs d'indicateurs",
             description="Un fichier avec une ligne par territoire du niveau et, pour chaque indicateur, sa valeur et son "
                         "statut, sa source et son millésime. `csv` : séparateur « ; », UTF-8 avec BOM, virgule "
                         "décimale ; `xlsx` : feuille « Données » et feuille « Métadonnées » (définitions, sources, "
                         "licences) ; `geojson` (WGS84) et `gpkg` (Lambert-93) avec les contours. Les valeurs couvertes "
                         "par le secret statistique ne sont jamais exportées.",
             responses={200: {"content": {m: {} for m, _e in FORMATS.values()}, "description": "Le fichier."},
                        400: {"description": "Paramètre invalide."}, 404: {"description": "Indicateur, niveau, "
                                                                                           "année ou territoire inconnu."}},
             response_class=Response)
    def export(
        request: Request,
        indicator: str | None = Query(None, description="Identifiant d'un indicateur."),
        indicators: str | None = Query(None, description="Plusieurs indicateurs, séparés par des virgules."),
        level: str = Query("commune", description="Niveau des territoires."),
        year: int | None = Query(None, ge=1000, le=9999, description="Millésime (par défaut : le dernier de chaque indicateur)."),
        format: str = Query("csv", description="csv, xlsx, geojson ou gpkg."),
        codes: str | None = Query(None, description="Ne garder que ces codes, séparés par des virgules."),
        within: str | None = Query(None, description="Ne garder que les territoires d'un territoire englobant, "
                                                     "écrit NIVEAU:CODE (ex. epci:246200364)."),
        seen: Hidden = Depends(visible),
    ) -> Response:
        if format not in FORMATS:
            raise ParameterError(f"Paramètre « format » : « {params.shown(format)} » inconnu ; formats : "
                                 f"{', '.join(FORMATS)}.")
        ids = list(dict.fromkeys(
            ([params.identifier(indicator, "indicator")] if indicator else []) + params.indicators(indicators, limit=MAX_INDICATORS)
        ))
        if not ids:
            raise ParameterError("Indiquez au moins un indicateur : paramètre « indicator » ou « indicators ».")
        if len(ids) > MAX_INDICATORS:
            raise ParameterError(f"{MAX_INDICATORS} indicateurs au plus par export.")
        table = build_table(ctx, ids, level, year, params.codes(codes), within, seen)
        check_export(request, "indicator", ids, {"format": format, "niveau": level, "annee": year, "codes": codes,
                                                 "dans": within})
        media_type, extension = FORMATS[format]
        if format == "csv":
            content = to_csv(table)
        elif format == "xlsx":
            content = to_xlsx(table)
        elif format == "geojson":
            content = to_geojson(ctx, table)
        else:
            content = to_gpkg(ctx, table)
        return Response(content, media_type=media_type,
                        headers={"Content-Disposition": f'attachment; filename="{file_name(table, extension)}"',
                                 "Cache-Control": seen.cache_control})

    return api
