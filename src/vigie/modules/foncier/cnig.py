"""CNIG "Sites économiques" standard (v1.0.x, art. 220 of the Climat et Résilience law): one importer per class.

Kinds: `cnig-pole-eco` (POLE-ECO, groups of sites), `cnig-site-eco` (SITE-ECO, the activity zones, ZAE),
`cnig-terrain-eco` (TERRAIN-ECO, plots = unités foncières), `cnig-etablissement` (ETABLISSEMENT).

Each file is first validated with the `frictionless` library against the standard's TableSchema (bundled in
`schemas/`): every error is reported in French by line (header = line 1) and field. Then the atlas checks:
- geometries: the `geojson` fields (`site_geomsurf`, `terr_geomsurf`, `etab_geompoint`) are GeoJSON geometry
  objects; the standard's examples give Lambert-93 surfaces and lon/lat points, so the CRS of each column is taken
  from option `crs` when given, else deduced: all coordinates within longitude/latitude bounds → WGS84, otherwise
  Lambert-93 (EPSG:2154). `geopoint` fields are "lon, lat". An unreadable or invalid geometry (self-intersection,
  unclosed ring…) is rejected with its line; nothing is repaired silently.
- codes: the site's commune must be in the warehouse (latest commune COG); a plot's site must be imported (same
  file set, site file first); an establishment's SIRET must have a valid Luhn key and its point must fall in an
  imported zone (the zone is found by the atlas spatial join; a point outside every zone is an error).
- statuses: site `site_etat`, plot `terr_stade_comm` and `terr_etat_occup` are appended to the status history when
  they differ from the current value (author: the import, date: the file's `*_actu_date`).
Order of import: pole-eco (optional), site-eco, terrain-eco, etablissement.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import shapely

from vigie.errors import ImportValidationError
from vigie.modules.foncier.importing import AtlasImporter, check_siret, status_changes
from vigie.modules.foncier.join import points_in_zones
from vigie.progress import Reporter
from vigie.sources.base import Batch
from vigie.sources.geo import LAMBERT93, WGS84, csv_separator, properties_json, reproject, web_geometries
from vigie.sources.readers import check_codes, read_csv
from vigie.warehouse import Warehouse

SCHEMAS = Path(__file__).parent / "schemas"
PRODUCER = "Producteur de l'inventaire (EPCI)"
TYPE_LABELS = {
    "number": "un nombre (point décimal)",
    "integer": "un nombre entier",
    "date": "une date AAAA-MM-JJ",
    "year": "une année AAAA",
    "geojson": "une géométrie GeoJSON",
    "geopoint": "un point « longitude, latitude »",
    "string": "un texte",
    "boolean": "oui ou non",
}


def schema_path(name: str) -> Path:
    return SCHEMAS / f"{name}.schema.json"


def schema_fields(name: str) -> list[dict[str, Any]]:
    return json.loads(schema_path(name).read_text(encoding="utf-8"))["fields"]


def validate_table(path: Path, name: str, separator: str) -> None:
    """Validate a CSV against the CNIG TableSchema `name`; raise the first error (in French) with its line and field."""
    from frictionless import Resource, Schema, formats

    file = path.name
    fields = schema_fields(name)
    header = read_csv_header(path, separator)
    for field in fields:
        if field.get("constraints", {}).get("required") and field["name"] not in header:
            raise ImportValidationError(file, "colonne obligatoire du standard CNIG absente.", line=1, column=field["name"])
    descriptor = json.loads(schema_path(name).read_text(encoding="utf-8"))
    descriptor["fieldsMatch"] = "superset"  # columns matched by name; a file may leave out optional columns
    schema = Schema.from_descriptor(descriptor)
    resource = Resource(path=path.name, basepath=str(path.parent.resolve()), schema=schema,
                        control=formats.CsvControl(delimiter=separator), encoding="utf-8")
    report = resource.validate()
    errors = [e for task in report.tasks for e in task.errors] + list(report.errors)
    if not errors:
        return
    first = errors[0]
    by_name = {f["name"]: f for f in fields}
    problem = french_problem(first, by_name)
    more = f" ({len(errors) - 1} autre(s) erreur(s) dans le fichier)" if len(errors) > 1 else ""
    raise ImportValidationError(file, problem + more, line=getattr(first, "row_number", None) or (1 if "label" in first.type else None),
                                column=getattr(first, "field_name", None) or getattr(first, "label", None))


def read_csv_header(path: Path, separator: str) -> list[str]:
    import csv

    from vigie.sources.readers import decode

    text, _ = decode(path, "utf-8")
    return [h.strip() for h in next(csv.reader([text.split("\n", 1)[0].rstrip("\r")], delimiter=separator))]


def french_problem(error, fields: dict[str, dict]) -> str:
    kind = error.type
    cell = getattr(error, "cell", None)
    field = fields.get(getattr(error, "field_name", None) or "", {})
    note = str(getattr(error, "note", "") or "")
    if kind == "constraint-error":
        constraints = field.get("constraints", {})
        if '"required"' in note:
            return "valeur obligatoire absente (standard CNIG)."
        if '"enum"' in note:
            allowed = ", ".join(constraints.get("enum", []))
            return f"valeur « {cell} » non autorisée ; valeurs possibles : {allowed}."
        if '"pattern"' in note:
            return f"valeur « {cell} » au format incorrect (motif du standard : {constraints.get('pattern')})."
        return f"valeur « {cell} » hors des contraintes du standard ({note})."
    if kind == "type-error":
        expected = field.get("type", "")
        if expected == "date" and field.get("format") == "%Y":
            expected = "year"
        if field.get("format") == "email":
            return f"adresse électronique invalide « {cell} »."
        return f"valeur « {cell} » invalide : {TYPE_LABELS.get(expected, expected)} attendu(e)."
    if kind in ("primary-key", "unique-error"):
        return f"identifiant en double « {cell if cell is not None else ''} »."
    if kind == "missing-cell":
        return "ligne incomplète : il manque des champs (séparateur ou fichier tronqué ?)."
    if kind == "extra-cell":
        return "trop de champs sur la ligne : séparateur ou guillemets incorrects."
    if kind == "blank-row":
        return "ligne vide."
    if kind == "extra-label":
        return "colonne inconnue du standard CNIG (nom mal orthographié ? supprimez-la ou renommez-la)."
    if kind == "missing-label":
        return "colonne du standard CNIG absente."
    if kind in ("duplicate-label",):
        return "colonne en double dans l'en-tête."
    if kind in ("blank-label",):
        return "nom de colonne vide dans l'en-tête."
    if kind in ("encoding-error", "source-error", "scheme-error", "format-error"):
        return f"fichier illisible ({note})."
    return f"erreur de conformité au standard CNIG ({kind} : {note})."


# ---------------------------------------------------------------------------------------------- geometries
def parse_geojson(frame: pd.DataFrame, column: str, file: str, expected: str, crs_option: Any) -> np.ndarray:
    """Lambert-93 shapely geometries of a `geojson` column; errors name the line."""
    geoms = np.empty(len(frame), dtype=object)
    for i, (text, line) in enumerate(zip(frame[column], frame["_line"])):
        try:
            geoms[i] = shapely.from_geojson(text)
        except Exception as exc:  # GEOSException, ValueError: unreadable JSON, unclosed ring…
            raise ImportValidationError(file, f"géométrie GeoJSON illisible ({_geos_reason(str(exc))}).", line=int(line),
                                        column=column) from None
    return _checked(geoms, frame, column, file, expected, crs_option)


def parse_geopoint(frame: pd.DataFrame, column: str, file: str) -> np.ndarray:
    """Lambert-93 points from a `geopoint` column ("lon, lat"); empty cells give None."""
    geoms = np.empty(len(frame), dtype=object)
    for i, (text, line) in enumerate(zip(frame[column], frame["_line"])):
        if not str(text).strip():
            geoms[i] = None
            continue
        lon, lat = (float(v) for v in str(text).split(","))
        geoms[i] = shapely.Point(lon, lat)
    filled = np.array([g is not None for g in geoms])
    if filled.any():
        geoms[filled] = reproject(geoms[filled], WGS84, LAMBERT93)
    return geoms


def _geos_reason(text: str) -> str:
    text = text.split(":", 1)[-1].strip() if "Exception" in text else text
    if "closed linestring" in text:
        return "anneau de polygone non fermé"
    return text[:160]


def _checked(geoms, frame, column, file, expected, crs_option) -> np.ndarray:
    lines = frame["_line"].to_numpy()
    types = shapely.get_type_id(geoms)
    allowed = {"polygon": (3, 6), "point": (0, 4)}[expected]
    bad = ~np.isin(types, allowed)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "un polygone ou multipolygone" if expected == "polygon" else "un point ou multipoint"
        raise ImportValidationError(file, f"géométrie de type {geoms[i].geom_type} : {what} attendu.", line=int(lines[i]),
                                    column=column)
    empty = shapely.is_empty(geoms)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise ImportValidationError(file, "géométrie vide.", line=int(lines[i]), column=column)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        i = int(np.flatnonzero(invalid)[0])
        reason = shapely.is_valid_reason(geoms[i])
        reason = reason.replace("Self-intersection", "auto-intersection").replace("Ring Self-intersection", "anneau auto-intersecté")
        raise ImportValidationError(file, f"géométrie invalide ({reason}).", line=int(lines[i]), column=column)
    crs = crs_option
    if crs is None or not str(crs).strip():
        xy = shapely.get_coordinates(geoms)
        lonlat = bool(((np.abs(xy[:, 0]) <= 180) & (np.abs(xy[:, 1]) <= 90)).all())
        crs = WGS84 if lonlat else LAMBERT93
    else:
        crs = str(crs).strip()
        crs = f"EPSG:{crs}" if crs.isdigit() else crs
    out = reproject(geoms, crs, LAMBERT93) if crs != LAMBERT93 else geoms
    xy = shapely.get_coordinates(out)
    outside = ~((xy[:, 0] > -400_000) & (xy[:, 0] < 1_400_000) & (xy[:, 1] > 5_900_000) & (xy[:, 1] < 7_300_000))
    if outside.any():
        _, index = shapely.get_coordinates(out, return_index=True)
        i = int(index[np.flatnonzero(outside)[0]])
        raise ImportValidationError(file, f"coordonnées hors de France métropolitaine (système lu : {crs}) : vérifiez "
                                    "le système de coordonnées ou l'option crs.", line=int(lines[i]), column=column)
    return out


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column].replace("", None), errors="coerce").to_numpy(dtype=float)


def _dates(frame: pd.DataFrame, column: str, fmt: str = "%Y-%m-%d"):
    if column not in frame.columns:
        return [None] * len(frame)
    values = pd.to_datetime(frame[column].replace("", None), format=fmt, errors="coerce")
    return [None if pd.isna(v) else v.date() for v in values]


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return frame[column].where(frame[column] != "", None).to_numpy(dtype=object)


# ---------------------------------------------------------------------------------------------- importers
class CnigImporter(AtlasImporter):
    """Common reading of a CNIG class file: frictionless validation, then the class-specific `build`."""

    schema_name: ClassVar[str]
    producer = PRODUCER

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        if self.path.suffix.lower() not in (".csv", ".txt"):
            raise ImportValidationError(file, "le standard CNIG « sites économiques » s'échange en CSV (.csv).")
        separator = str(self.options.get("separator") or csv_separator(self.path))
        validate_table(self.path, self.schema_name, separator)
        required = [f["name"] for f in schema_fields(self.schema_name) if f.get("constraints", {}).get("required")]
        frame = read_csv(self.path, separator=separator, required=required, kind_label=f"CNIG {self.schema_name}")
        for marker in ("NA", "NaN", "N/A"):
            frame = frame.replace(marker, "")
        report.advance(len(frame))
        self.build(wh, frame)
        return Batch()

    def build(self, wh: Warehouse, frame: pd.DataFrame) -> None:
        raise NotImplementedError

    def author(self) -> str:
        return str(self.options.get("author") or f"import {self.path.name}")


class PoleImporter(CnigImporter):
    kind = "cnig-pole-eco"
    title = "Pôles économiques (standard CNIG sites économiques)"
    schema_name = "pole-eco"

    def build(self, wh, frame):
        geom = parse_geopoint(frame, "pole_geompoint", self.path.name)
        core = ["pole_id", "pole_nom", "pole_vocadomi", "pole_surface", "pole_rayonnement", "pole_identif_date",
                "pole_actu_date", "pole_geompoint"]
        self.tables["foncier_pole"] = pd.DataFrame({
            "pole_id": frame["pole_id"].to_numpy(), "name": frame["pole_nom"].to_numpy(),
            "vocation": frame["pole_vocadomi"].to_numpy(), "surface_ha": _numbers(frame, "pole_surface"),
            "reach": _text(frame, "pole_rayonnement"), "identified_on": _dates(frame, "pole_identif_date"),
            "updated_on": _dates(frame, "pole_actu_date"),
            "properties": properties_json(frame, [c for c in frame.columns if c not in core and c != "_line"]),
            "geom": geom, "geom_web": web_geometries(geom, 0),
        })


class SiteImporter(CnigImporter):
    kind = "cnig-site-eco"
    title = "Sites économiques – zones d'activité (standard CNIG)"
    schema_name = "site-eco"

    def build(self, wh, frame):
        file = self.path.name
        cog = wh.latest_cog("commune")
        check_codes(frame, "site_comm_insee", set(wh.territories("commune", cog)["code"]), file)
        geom = parse_geojson(frame, "site_geomsurf", file, "polygon", self.options.get("crs"))
        gross, usable = _numbers(frame, "site_surf_brute"), _numbers(frame, "site_surf_utile")
        bad = usable > gross + 1e-9
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ImportValidationError(file, f"surface utile ({usable[i]} ha) supérieure à la surface brute ({gross[i]} ha).",
                                        line=int(frame["_line"].iloc[i]), column="site_surf_utile")
        core = ["site_id", "pole_id", "site_nom", "site_type", "site_vocadomi", "site_etat", "site_comm_insee",
                "site_epci_siren", "site_surf_brute", "site_surf_utile", "site_surf_comm_dispo", "site_surf_projet",
                "site_identif_date", "site_actu_date", "site_geomsurf"]
        self.tables["foncier_site"] = pd.DataFrame({
            "site_id": frame["site_id"].to_numpy(), "pole_id": _text(frame, "pole_id"), "name": frame["site_nom"].to_numpy(),
            "site_type": frame["site_type"].to_numpy(), "vocation": frame["site_vocadomi"].to_numpy(),
            "state": frame["site_etat"].to_numpy(), "commune": frame["site_comm_insee"].to_numpy(),
            "epci": frame["site_epci_siren"].to_numpy(), "gross_ha": gross, "usable_ha": usable,
            "available_ha": _numbers(frame, "site_surf_comm_dispo"), "project_ha": _numbers(frame, "site_surf_projet"),
            "identified_on": _dates(frame, "site_identif_date"), "updated_on": _dates(frame, "site_actu_date"),
            "properties": properties_json(frame, [c for c in frame.columns if c not in core and c != "_line"]),
            "geom": geom, "geom_web": web_geometries(geom),
        })
        dates = _dates(frame, "site_actu_date")
        self.changes = status_changes(wh, "site", "site_etat",
                                      dict(zip(frame["site_id"], zip(frame["site_etat"], dates))), self.author())


class TerrainImporter(CnigImporter):
    kind = "cnig-terrain-eco"
    title = "Terrains économiques – unités foncières des zones d'activité (standard CNIG)"
    schema_name = "terrain-eco"

    def build(self, wh, frame):
        file = self.path.name
        sites = {r[0] for r in wh.query("SELECT site_id FROM foncier_site")}
        unknown = ~frame["site_id"].isin(sites)
        if unknown.any():
            row = frame[unknown].iloc[0]
            raise ImportValidationError(file, f"site « {row['site_id']} » inconnu : importez d'abord le fichier des sites "
                                        "économiques (cnig-site-eco).", line=int(row["_line"]), column="site_id")
        geom = parse_geojson(frame, "terr_geomsurf", file, "polygon", self.options.get("crs"))
        core = ["terr_id", "site_id", "terr_refcad", "terr_surf_brute", "terr_utile", "terr_maitrise_fonc",
                "terr_stade_amngt", "terr_stade_comm", "terr_etat_occup", "terr_usage", "terr_actu_date", "terr_geomsurf"]
        usable = frame["terr_utile"].map({"oui": True, "non": False}) if "terr_utile" in frame.columns else None
        self.tables["foncier_plot"] = pd.DataFrame({
            "plot_id": frame["terr_id"].to_numpy(), "site_id": frame["site_id"].to_numpy(),
            "cadastre": _text(frame, "terr_refcad"), "gross_ha": _numbers(frame, "terr_surf_brute"),
            "usable": usable.astype(object).where(usable.notna(), None).to_numpy() if usable is not None else None,
            "land_control": frame["terr_maitrise_fonc"].to_numpy(), "development_stage": frame["terr_stade_amngt"].to_numpy(),
            "sale_stage": frame["terr_stade_comm"].to_numpy(), "occupancy": frame["terr_etat_occup"].to_numpy(),
            "land_use": frame["terr_usage"].to_numpy(), "updated_on": _dates(frame, "terr_actu_date"),
            "properties": properties_json(frame, [c for c in frame.columns if c not in core and c != "_line"]),
            "geom": geom, "geom_web": web_geometries(geom),
        })
        dates = _dates(frame, "terr_actu_date")
        for field in ("terr_stade_comm", "terr_etat_occup"):
            self.changes += status_changes(wh, "plot", field, dict(zip(frame["terr_id"], zip(frame[field], dates))),
                                           self.author())


class EtablissementImporter(CnigImporter):
    kind = "cnig-etablissement"
    title = "Établissements des zones d'activité (standard CNIG)"
    schema_name = "etablissement"

    def build(self, wh, frame):
        file = self.path.name
        check_siret(frame, "SIRET", file)
        wrong = frame["SIRET"].str[:9] != frame["SIREN"]
        if wrong.any():
            row = frame[wrong].iloc[0]
            raise ImportValidationError(file, f"le SIREN « {row['SIREN']} » n'est pas le début du SIRET « {row['SIRET']} ».",
                                        line=int(row["_line"]), column="SIREN")
        geom = parse_geojson(frame, "etab_geompoint", file, "point", self.options.get("crs"))
        first = np.array([shapely.get_geometry(g, 0) if g.geom_type == "MultiPoint" else g for g in geom], dtype=object)
        zones = wh.query_df("SELECT site_id, ST_AsBinary(geom) AS wkb FROM foncier_site ORDER BY site_id")
        if zones.empty:
            raise ImportValidationError(file, "aucune zone d'activité dans l'entrepôt : importez d'abord les sites "
                                        "économiques (cnig-site-eco).")
        polygons = shapely.from_wkb([bytes(b) for b in zones["wkb"]])
        xy = shapely.get_coordinates(first)
        found = points_in_zones(xy[:, 0], xy[:, 1], polygons)
        outside = found < 0
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise ImportValidationError(file, "établissement situé hors de toute zone d'activité importée (point de "
                                        "etab_geompoint) : vérifiez ses coordonnées.", line=int(frame["_line"].iloc[i]),
                                        column="etab_geompoint")
        plots = {r[0] for r in wh.query("SELECT plot_id FROM foncier_plot")}
        terr = [next((t.strip() for t in str(v).split("|") if t.strip() in plots), None) for v in frame["terr_id"]]
        unknown = sum(1 for t in terr if t is None)
        if unknown:
            self.warn(f"{unknown} établissement(s) rattaché(s) à un terrain absent de l'entrepôt : rattachés à leur zone seulement.")
        active = frame["etab_actif"].ne("non").to_numpy() if "etab_actif" in frame.columns else np.ones(len(frame), bool)
        self.tables["foncier_establishment"] = pd.DataFrame({
            "siret": frame["SIRET"].to_numpy(), "siren": frame["SIREN"].to_numpy(), "name": frame["etab_nom"].to_numpy(),
            "naf": frame["etab_activite_code"].str.replace(".", "", regex=False).str.upper().to_numpy(),
            "headcount_code": _text(frame, "etab_effectif_code"), "commune": frame["comm_insee"].to_numpy(),
            "active": active, "published": True, "created_on": _dates(frame, "etab_creation_date"),
            "site_id": zones["site_id"].to_numpy()[found], "plot_id": terr, "origin": "cnig",
            "properties": properties_json(frame, [c for c in frame.columns if c not in ("SIRET", "SIREN", "_line", "etab_geompoint")]),
            "geom": first,
        })
