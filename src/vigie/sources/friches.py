"""Brownfields (kind "friches"): the Cartofriches inventory (Cerema) or a file in the CNIG friches standard.

Accepted files:
- a vector file (GeoJSON, GeoPackage, Shapefile) with the Cartofriches attributes (`site_id, site_nom,
  site_statut, site_surface (m²), comm_insee, site_actu_date…`), points or polygons;
- the CNIG friches standard CSV (schema-friches v1.0.x): WKT geometries in `geompoint` (required) and `geomsurf`
  (optional, used when filled), in WGS84 unless option `crs` says otherwise;
- the Cartofriches CSV export (the same attributes with `lon`, `lat` columns).

Writes the layer (`layer` row + one `layer_feature` per site) and commune stocks for the extraction year:
`nb_friches` (sites not reconverted), per status (`nb_friches_potentielles`, `nb_friches_sans_projet`,
`nb_friches_avec_projet`, `nb_friches_reconverties`) and `surface_friches` (hectares, sites not reconverted).
Communes of the départements the file covers get 0 when they have no site.

Options: `layer` (default "friches"), `label`, `year` (default: year of the latest `site_actu_date`), `cog`
(default: latest commune COG), `crs`, `axis_order` (CSV WKT in a geographic CRS: auto, lonlat, latlon),
`layer_name`, `simplify`, `encoding`, `fill_zeros` (`departement`, the default, or `none` for an inventory that
does not cover whole départements: values only for the communes that have sites).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from vigie.errors import ImportValidationError
from vigie.progress import Reporter
from vigie.sources.base import Batch, Importer, LICENCE_OUVERTE
from vigie.sources.geo import (
    WGS84,
    check_filled,
    check_no_duplicates,
    check_not_owned_elsewhere,
    code_values,
    csv_separator,
    family,
    find_field,
    is_vector_file,
    latest_cog,
    prepare_geometries,
    properties_json,
    read_vector,
    require_field,
    resolve_commune_codes,
    simplify_tolerance,
    text_values,
    web_geometries,
)
from vigie.sources.options import as_int
from vigie.sources.readers import parse_numbers, read_csv
from vigie.warehouse import Warehouse

# CNIG friches standard, field `site_statut`.
STATUSES = [
    "friche potentielle", "friche sans projet", "friche avec projet", "friche reconvertie", "inconnu", "autre",
    "sans objet",
]
RECONVERTED = "friche reconvertie"
STATUS_INDICATORS = {
    "friche potentielle": ("nb_friches_potentielles", "Friches potentielles (non vérifiées)"),
    "friche sans projet": ("nb_friches_sans_projet", "Friches sans projet"),
    "friche avec projet": ("nb_friches_avec_projet", "Friches avec projet"),
    "friche reconvertie": ("nb_friches_reconverties", "Friches reconverties"),
}
PROPERTY_FIELDS = [
    "site_type", "site_statut", "site_surface", "site_occupation", "activite_libelle", "site_identif_date",
    "site_actu_date", "site_url", "site_adresse", "comm_nom", "site_reconv_type", "sol_pollution_existe", "source_nom",
]
VINTAGE = "inventaire des friches, état {year}"
FRANCE_LONLAT = (-5.5, 41.0, 10.0, 51.5)
# Missing values of the CNIG schema (`missingValues`), plus "<NA>" that R exports write.
MISSING_MARKERS = {"NA", "NaN", "N/A", "<NA>"}


def _indicator(id_: str, label: str, unit: str, decimals: int, definition: str) -> dict:
    return {"id": id_, "label": label, "theme": "foncier", "unit": unit, "kind": "stock", "numerator": None,
            "denominator": None, "factor": None, "decimals": decimals, "definition": definition, "secrecy": None,
            "vintage_label": VINTAGE}


INDICATORS = [
    _indicator("nb_friches", "Friches recensées", "friches", 0,
               "Nombre de sites de l'inventaire des friches (Cartofriches ou observatoire local au standard CNIG) "
               "situés dans le territoire, hors friches reconverties, à la date d'extraction."),
    *[_indicator(id_, label, "friches", 0,
                 f"Nombre de sites de l'inventaire des friches au statut « {status} » (standard CNIG Friches).")
      for status, (id_, label) in STATUS_INDICATORS.items()],
    _indicator("surface_friches", "Surface des friches recensées", "ha", 2,
               "Somme des surfaces des sites de l'inventaire des friches (hors friches reconverties), en hectares : "
               "surface du site (site_surface), à défaut surface du polygone du site ou de l'unité foncière."),
]


class FrichesImporter(Importer):
    kind = "friches"
    title = "Inventaire des friches (Cartofriches)"
    producer = "Cerema (Cartofriches)"
    licence = LICENCE_OUVERTE

    def __init__(self, path, **options):
        super().__init__(path, **options)
        self.layer = str(self.options.get("layer") or "friches").strip()
        self.cog: int | None = None
        self.year: int | None = None

    def prepare(self, wh: Warehouse) -> None:
        self.cog = as_int(self.options.get("cog"), "cog") or latest_cog(wh, "commune", self.path.name)

    def dataset(self) -> str:
        return f"friches:{self.layer}"

    def vintage(self) -> str | None:
        return self.options.get("vintage") or (f"inventaire des friches, état {self.year}" if self.year else None)

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        if self.cog is None:
            self.prepare(wh)
        file, cog = self.path.name, self.cog
        report.step(f"Contrôle de {file}")
        if is_vector_file(self.path):
            features = read_vector(self.path, warn=self.warn, layer_name=self.options.get("layer_name"),
                                   crs=self.options.get("crs"), expected=None)
            frame, geom, what = features.attributes, features.geom, "entité"
            for g, line in zip(geom, frame["_line"]):
                if family(g) not in ("point", "polygon"):
                    raise ImportValidationError(file, f"une friche doit être un point ou un polygone (entité n° {line}).",
                                                line=int(line), column="geometry")
        else:
            frame, geom = self._read_csv()
            what = "ligne"
        frame = _without_missing_markers(frame)
        columns = {name: require_field(list(frame.columns), name, file) for name in ("site_id", "site_nom", "comm_insee")}
        frame["_id"] = text_values(frame[columns["site_id"]])
        check_filled(frame, "_id", file, columns["site_id"], what)
        check_no_duplicates(frame, "_id", file, columns["site_id"], what + "s")
        frame["_name"] = text_values(frame[columns["site_nom"]])
        frame["_status"] = self._statuses(frame, what)
        frame["_commune"], padded = code_values(frame[columns["comm_insee"]], 5)
        if padded:
            self.warn(f"{file} : {padded} code(s) commune complété(s) d'un zéro initial perdu.")
        frame["_commune"] = resolve_commune_codes(wh, frame, "_commune", cog, file, warn=self.warn,
                                                  field=columns["comm_insee"], geom=geom, what=what)
        frame["_surface"] = self._surfaces(frame, geom, what)
        year = self.year = self._year(frame, what)
        self._check_location(wh, frame, geom, cog)
        check_not_owned_elsewhere(wh, "layer", "t.id = ?", (self.layer,), self.dataset(), file, f"la couche « {self.layer} »")

        frame["site_surface"] = frame["_surface"]
        props = properties_json(frame, PROPERTY_FIELDS + sorted(c for c in frame.columns if c.startswith("bati_")))
        web = web_geometries(geom, simplify_tolerance(self.options, file))
        batch = Batch()
        batch.add("layer", pd.DataFrame([{
            "id": self.layer, "label": str(self.options.get("label") or "Friches"),
            "theme": str(self.options.get("theme") or "foncier"),
        }]))
        batch.add("layer_feature", pd.DataFrame({
            "layer": self.layer, "feature_id": frame["_id"].to_numpy(), "name": frame["_name"].where(frame["_name"] != "", None).to_numpy(),
            "commune": frame["_commune"].to_numpy(), "properties": props, "geom": geom, "geom_web": web,
        }))
        batch.add("indicator", pd.DataFrame(INDICATORS))
        batch.add("value", self._values(wh, frame, year, cog))
        return batch

    # ------------------------------------------------------------------------------------------ CSV formats
    def _read_csv(self) -> tuple[pd.DataFrame, np.ndarray]:
        file = self.path.name
        frame = read_csv(self.path, separator=csv_separator(self.path), required=["site_id", "site_nom", "comm_insee"],
                         encoding=self.options.get("encoding", "utf-8"), kind_label="inventaire des friches")
        crs = self.options.get("crs") or f"EPSG:{WGS84}"
        lines = frame["_line"].to_numpy()
        if "geompoint" in frame.columns:
            raw_points = self._wkt(frame, "geompoint", required=True)
            points = self._axis_order(raw_points, crs, "geompoint")
            geom = prepare_geometries(points, crs, lines, file, expected="point", warn=self.warn, field="geompoint",
                                      what="ligne")
            if "geomsurf" in frame.columns:
                surfaces = self._wkt(frame, "geomsurf", required=False)
                filled = np.array([g is not None for g in surfaces], dtype=bool)
                if filled.any():
                    swapped = self._axis_order(surfaces[filled], crs, "geomsurf", reference=raw_points[filled])
                    geom = geom.copy()
                    geom[filled] = prepare_geometries(swapped, crs, lines[filled], file, expected="polygon",
                                                      warn=self.warn, field="geomsurf", what="ligne")
            return frame, geom
        lon, lat = find_field(frame.columns, "lon"), find_field(frame.columns, "lat")
        if lon is None or lat is None:
            raise ImportValidationError(
                file, "géométrie absente : colonnes geompoint (standard CNIG) ou lon/lat (export Cartofriches) attendues.",
                line=1, column="geompoint",
            )
        xs, xs_status = parse_numbers(frame, lon, file)
        ys, ys_status = parse_numbers(frame, lat, file)
        for column, status in ((lon, xs_status), (lat, ys_status)):
            if (status != "ok").any():
                line = int(frame["_line"].iloc[int(np.argmax(status != "ok"))])
                raise ImportValidationError(file, "coordonnée absente.", line=line, column=column)
        points = shapely.points(xs, ys)
        return frame, prepare_geometries(points, crs, lines, file, expected="point", warn=self.warn, field=lon,
                                         what="ligne")

    def _wkt(self, frame: pd.DataFrame, column: str, *, required: bool) -> np.ndarray:
        file = self.path.name
        text = text_values(frame[column])
        out = np.empty(len(frame), dtype=object)
        for i, (value, line) in enumerate(zip(text, frame["_line"])):
            if not value:
                if required:
                    raise ImportValidationError(file, "géométrie WKT obligatoire absente.", line=int(line), column=column)
                out[i] = None
                continue
            try:
                out[i] = shapely.from_wkt(value)
            except shapely.errors.GEOSException:
                short = value if len(value) <= 60 else value[:57] + "…"
                raise ImportValidationError(file, f"géométrie WKT illisible « {short} ».", line=int(line),
                                            column=column) from None
        return out

    def _axis_order(self, geoms: np.ndarray, crs, column: str, reference: np.ndarray | None = None) -> np.ndarray:
        """WKT in a geographic CRS may be written lat/lon (the CNIG example is): detect it on French coordinates."""
        from pyproj import CRS

        if not CRS.from_user_input(crs).is_geographic:
            return geoms
        order = str(self.options.get("axis_order") or "auto").lower().replace("/", "").replace("-", "")
        if order not in ("auto", "lonlat", "latlon"):
            raise ImportValidationError(self.path.name, f"option « axis_order » invalide : « {order} » (auto, lonlat ou latlon).")
        if order == "auto":
            sample = reference if reference is not None else geoms
            coords = shapely.get_coordinates(np.asarray(sample, dtype=object))
            if not len(coords):
                return geoms
            x0, y0, x1, y1 = FRANCE_LONLAT
            lonlat = ((coords[:, 0] >= x0) & (coords[:, 0] <= x1) & (coords[:, 1] >= y0) & (coords[:, 1] <= y1)).all()
            latlon = ((coords[:, 1] >= x0) & (coords[:, 1] <= x1) & (coords[:, 0] >= y0) & (coords[:, 0] <= y1)).all()
            order = "latlon" if latlon and not lonlat else "lonlat"
            if order == "latlon" and reference is None:
                self.warn(f"{self.path.name} : coordonnées écrites latitude puis longitude dans « {column} » : "
                          "ordre corrigé (option axis_order=lonlat pour l'empêcher).")
        if order == "lonlat":
            return geoms
        return shapely.transform(np.asarray(geoms, dtype=object), lambda c: c[:, ::-1])

    # ------------------------------------------------------------------------------------------ attributes
    def _statuses(self, frame: pd.DataFrame, what: str) -> pd.Series:
        column = find_field(frame.columns, "site_statut")
        if column is None:
            self.warn(f"{self.path.name} : pas de champ site_statut ; seuls les totaux sont calculés.")
            return pd.Series("", index=frame.index, dtype=object)
        status = text_values(frame[column]).str.lower()
        bad = (status != "") & ~status.isin(STATUSES)
        if bad.any():
            row = frame[bad].iloc[0]
            raise ImportValidationError(
                self.path.name,
                f"statut inconnu « {row[column]} » ({what} n° {int(row['_line'])}) ; valeurs du standard CNIG : "
                f"{', '.join(STATUSES)}.",
                line=int(row["_line"]), column=column,
            )
        return status

    def _surfaces(self, frame: pd.DataFrame, geom: np.ndarray, what: str) -> np.ndarray:
        """Site area in m²: `site_surface`, else the polygon's area (Lambert-93), else `unite_fonciere_surface`."""
        out = np.full(len(frame), np.nan)
        polygon_area = np.array([g.area if family(g) == "polygon" else np.nan for g in geom])
        for name in ("site_surface", None, "unite_fonciere_surface"):
            if name is None:
                values = polygon_area
            else:
                column = find_field(frame.columns, name)
                if column is None:
                    continue
                values = self._numbers(frame, column, what)
            out = np.where(np.isnan(out), values, out)
        missing = int(np.isnan(out).sum())
        if missing:
            self.warn(f"{self.path.name} : {missing} site(s) sans surface connue (non comptés dans surface_friches).")
        return out

    def _numbers(self, frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
        raw = frame[column]
        if pd.api.types.is_numeric_dtype(raw.infer_objects()):
            values = pd.to_numeric(raw.infer_objects(), errors="coerce").to_numpy(dtype=float)
        else:
            tmp = pd.DataFrame({column: text_values(raw), "_line": frame["_line"].to_numpy()})
            values, _ = parse_numbers(tmp, column, self.path.name)
        negative = np.nan_to_num(values, nan=0) < 0
        if negative.any():
            line = int(frame["_line"].iloc[int(np.argmax(negative))])
            raise ImportValidationError(self.path.name, f"surface négative ({what} n° {line}).", line=line, column=column)
        return values

    def _year(self, frame: pd.DataFrame, what: str) -> int:
        year = as_int(self.options.get("year"), "year")
        column = find_field(frame.columns, "site_actu_date")
        if column is not None:
            text = text_values(frame[column])
            dates = pd.to_datetime(text.str[:10], format="%Y-%m-%d", errors="coerce")
            bad = (text != "") & dates.isna()
            if bad.any():
                row = frame[bad.to_numpy()].iloc[0]
                raise ImportValidationError(self.path.name, f"date illisible « {text[bad].iloc[0]} » (attendu AAAA-MM-JJ).",
                                            line=int(row["_line"]), column=column)
            if year is None and dates.notna().any():
                year = int(dates.max().year)
                self.warn(f"Année des indicateurs de friches : {year} (date d'actualisation la plus récente du fichier).")
        if year is None:
            raise ImportValidationError(self.path.name, "année de l'inventaire inconnue : précisez --option year=AAAA.",
                                        column="site_actu_date")
        return year

    def _check_location(self, wh: Warehouse, frame: pd.DataFrame, geom: np.ndarray, cog: int) -> None:
        """Say how many sites lie outside their commune (when the commune contours are in the warehouse)."""
        if not wh.query("SELECT 1 FROM territory_geometry WHERE level = 'commune' AND cog = ? LIMIT 1", (cog,)):
            return
        contours = wh.territory_geometries("commune", cog)
        by_code = dict(zip(contours["code"], contours.geometry.to_numpy()))
        outside = [
            str(line) for g, code, line in zip(geom, frame["_commune"], frame["_line"])
            if code in by_code and by_code[code].distance(shapely.point_on_surface(g)) > 50
        ]
        if outside:
            self.warn(f"{self.path.name} : {len(outside)} site(s) situé(s) à plus de 50 m de leur commune (comm_insee) : "
                      f"n° {', '.join(outside[:10])}{'…' if len(outside) > 10 else ''}.")

    # ------------------------------------------------------------------------------------------ values
    def _values(self, wh: Warehouse, frame: pd.DataFrame, year: int, cog: int) -> pd.DataFrame:
        """Commune stocks; every commune of the départements the file covers gets a value (0 without site), unless
        option `fill_zeros=none` (a local inventory that does not cover whole départements)."""
        departements = {_departement(c) for c in frame["_commune"]}
        fill = str(self.options.get("fill_zeros") or "departement").strip().lower()
        if fill not in ("departement", "none"):
            raise ImportValidationError(self.path.name, f"option « fill_zeros » invalide : « {fill} » (departement ou none).")
        if fill == "none":
            communes = sorted(set(frame["_commune"]))
        else:
            communes = sorted(
                r[0] for r in wh.query("SELECT code FROM territory WHERE level = 'commune' AND cog = ?", (cog,))
                if _departement(r[0]) in departements
            )
        current = frame[frame["_status"] != RECONVERTED]
        series = {"nb_friches": current.groupby("_commune").size().astype(float)}
        for status, (id_, _) in STATUS_INDICATORS.items():
            series[id_] = frame[frame["_status"] == status].groupby("_commune").size().astype(float)
        series["surface_friches"] = current.groupby("_commune")["_surface"].sum(min_count=1) / 10_000
        rows = []
        for id_, values in series.items():
            values = values.reindex(communes).fillna(0.0)
            rows.append(pd.DataFrame({"indicator": id_, "level": "commune", "code": communes, "year": year, "cog": cog,
                                      "value": values.to_numpy(), "status": "ok"}))
        scope = ("des communes qui en ont" if fill == "none" else
                 f"des {len(communes)} communes des départements {', '.join(sorted(departements))} (0 sans friche)")
        self.warn(f"{len(frame)} friches dans {frame['_commune'].nunique()} communes ; valeurs communales {scope}, "
                  f"année {year}, COG {cog} ; surface en hectares.")
        return pd.concat(rows, ignore_index=True)


def _departement(code: str) -> str:
    return code[:3] if code.startswith("97") else code[:2]


def _without_missing_markers(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells holding a missing-value marker ("NA", "<NA>"…) become empty (None)."""
    out = frame.copy()
    for column in out.columns:
        if column.startswith("_"):
            continue
        values = out[column].to_numpy(dtype=object)
        mask = np.array([isinstance(v, str) and v.strip() in MISSING_MARKERS for v in values], dtype=bool)
        if mask.any():
            values = values.copy()
            values[mask] = None
            out[column] = pd.Series(values, index=out.index, dtype=object)
    return out
