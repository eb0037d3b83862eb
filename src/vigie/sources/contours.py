"""Territory contours (kind "contours"): the polygons of the communes, EPCI, départements… of a COG vintage.

Any vector file (GeoJSON, GeoPackage, Shapefile) in any CRS. Each feature carries the code of a territory that
must exist in the warehouse at that level and COG; the importer writes `territory_geometry` rows (Lambert-93
MultiPolygon, simplified WGS84 copy, area in km²).

Options: `level` (required), `code_field` (default: the usual code field of the level), `cog` (default: the
latest COG of the level in the warehouse), `layer_name` (GeoPackage), `crs` (a file without CRS), `simplify`
(tolerance of the web copy in metres, default 5).

`dissolve_contours` builds the contours of a level (EPCI, custom territories) from those of its members.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from vigie.errors import ImportValidationError, NotFoundError
from vigie.progress import Reporter
from vigie.sources.base import Batch, Importer, LICENCE_OUVERTE
from vigie.sources.cog_referential import known_codes
from vigie.sources.geo import (
    WEB_TOLERANCE_M,
    area_km2,
    as_multipolygon,
    check_filled,
    check_no_duplicates,
    check_not_owned_elsewhere,
    code_values,
    find_field,
    keep_family,
    latest_cog,
    read_vector,
    simplify_tolerance,
    web_geometries,
)
from vigie.sources.options import as_int
from vigie.warehouse import Warehouse

GEOMETRY_COLUMNS = ["level", "code", "cog", "area_km2", "geom", "geom_web"]

# Usual code fields, per level, tried in this order (case-insensitive) when `code_field` is not given.
CODE_FIELDS: dict[str, list[str]] = {
    "commune": ["code_insee", "insee_com", "code_commune", "codgeo", "com", "code"],
    "iris": ["code_iris", "iris", "codgeo", "code"],
    "epci": ["epci_siren", "siren_epci", "code_epci", "siren", "epci", "codgeo", "code"],
    "departement": ["insee_dep", "code_dep", "code_departement", "code_insee", "dep", "codgeo", "code"],
    "region": ["insee_reg", "code_reg", "code_region", "code_insee", "reg", "codgeo", "code"],
    "qpv": ["code_qp", "code_qpv", "codgeo", "code"],
    "zone_emploi": ["ze2020", "code_ze", "codgeo", "code"],
}
DEFAULT_CODE_FIELDS = ["code", "codgeo", "code_insee", "id"]
# Numeric codes that lost their leading zeros get them back.
CODE_WIDTHS = {"commune": 5, "iris": 9, "epci": 9, "departement": 2, "region": 2}


class ContoursImporter(Importer):
    kind = "contours"
    title = "Contours des territoires"
    producer = "IGN (Admin Express) ou producteur du fichier"
    licence = LICENCE_OUVERTE

    def __init__(self, path, **options):
        super().__init__(path, **options)
        self.level = str(self.options.get("level") or "").strip()
        self.cog: int | None = None

    def prepare(self, wh: Warehouse) -> None:
        if not self.level:
            raise ImportValidationError(
                self.path.name, "précisez le niveau des territoires : --option level=commune (ou epci, departement…).",
                column="level",
            )
        self.title = f"Contours des territoires ({self.level})"
        self.cog = as_int(self.options.get("cog"), "cog") or latest_cog(wh, self.level, self.path.name)

    def dataset(self) -> str:
        return f"contours:{self.level}:{self.cog if self.cog is not None else self.options.get('cog', '')}"

    def vintage(self) -> str | None:
        return self.options.get("vintage") or (f"COG {self.cog}" if self.cog else None)

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        if self.cog is None:
            self.prepare(wh)
        file, level, cog = self.path.name, self.level, self.cog
        known = known_codes(wh, level, cog)
        if not known:
            levels = ", ".join(f"{lv} ({', '.join(map(str, wh.cogs(lv)))})" for lv in wh.levels()) or "aucun"
            raise ImportValidationError(
                file,
                f"l'entrepôt ne contient aucun territoire de niveau « {level} » au COG {cog} : importez d'abord le "
                f"référentiel de ce millésime. Niveaux connus (COG) : {levels}.",
                column="level",
            )
        report.step(f"Contrôle des géométries de {file}")
        features = read_vector(
            self.path, warn=self.warn, layer_name=self.options.get("layer_name"), crs=self.options.get("crs"),
            expected="polygon",
        )
        field = self._code_field(features.fields)
        frame = features.attributes
        frame["_code"], padded = code_values(frame[field], CODE_WIDTHS.get(level))
        if padded:
            self.warn(f"{file} : {padded} code(s) numérique(s) complété(s) par des zéros à gauche (champ « {field} »).")
        check_filled(frame, "_code", file, field)
        check_no_duplicates(frame, "_code", file, field)
        unknown = ~frame["_code"].isin(known)
        if unknown.any():
            row = frame[unknown].iloc[0]
            raise ImportValidationError(
                file,
                f"code « {row['_code']} » absent du référentiel de l'entrepôt (niveau {level}, COG {cog}) "
                f"(entité n° {int(row['_line'])}).",
                line=int(row["_line"]),
                column=field,
            )
        check_not_owned_elsewhere(
            wh, "territory_geometry", "t.level = ? AND t.cog = ?", (level, cog), self.dataset(), file,
            f"des contours de niveau « {level} » au COG {cog}",
        )
        missing = sorted(known - set(frame["_code"]))
        if missing:
            self.warn(
                f"{len(missing)} territoire(s) de niveau {level} au COG {cog} sans contour dans {file} "
                f"(ex. {', '.join(missing[:5])})."
            )
        geom = np.array([as_multipolygon(g) for g in features.geom], dtype=object)
        web = web_geometries(geom, simplify_tolerance(self.options, file))
        web = np.array([as_multipolygon(g) for g in web], dtype=object)
        rows = pd.DataFrame(
            {"level": level, "code": frame["_code"].to_numpy(), "cog": cog, "area_km2": area_km2(geom),
             "geom": geom, "geom_web": web}
        )[GEOMETRY_COLUMNS]
        batch = Batch()
        batch.add("territory_geometry", rows)
        return batch

    def _code_field(self, fields: list[str]) -> str:
        wanted = self.options.get("code_field")
        if wanted:
            found = find_field(fields, str(wanted))
            if found is None:
                raise ImportValidationError(
                    self.path.name, f"champ de code absent ; champs présents : {', '.join(fields)}.", column=str(wanted)
                )
            return found
        candidates = CODE_FIELDS.get(self.level, DEFAULT_CODE_FIELDS)
        for name in candidates:
            found = find_field(fields, name)
            if found is not None:
                return found
        raise ImportValidationError(
            self.path.name,
            f"aucun champ de code reconnu pour le niveau « {self.level} » (essayés : {', '.join(candidates)}) ; "
            f"champs présents : {', '.join(fields)}. Précisez --option code_field=<champ>.",
            column=candidates[0],
        )


def dissolve_contours(
    wh: Warehouse, level: str, cog: int, child_level: str = "commune", *, simplify: float = WEB_TOLERANCE_M
) -> pd.DataFrame:
    """Contours of every territory of `level` at `cog`, as the union of its members' contours (`membership`).

    Returns `territory_geometry` rows (level, code, cog, area_km2, geom, geom_web). A territory with a member
    that has no contour is left out (its codes are listed in `frame.attrs["incomplete"]`).

    The union is done in Python with shapely (the same on DuckDB and PostGIS): when the members form a valid
    coverage (communes never overlap), GEOS' coverage union is about ten times faster than a general union.
    """
    members = wh.query_df(
        "SELECT parent_code, child_code FROM membership WHERE cog = ? AND parent_level = ? AND child_level = ? "
        "AND weight > 0 ORDER BY parent_code, child_code",
        (cog, level, child_level),
    )
    if members.empty:
        raise NotFoundError(
            f"Aucun membre de niveau « {child_level} » pour les territoires de niveau « {level} » au COG {cog}."
        )
    children = wh.territory_geometries(child_level, cog)
    if children.empty:
        raise NotFoundError(f"Aucun contour de niveau « {child_level} » au COG {cog} : importez d'abord ces contours.")
    by_code = dict(zip(children["code"], children.geometry.to_numpy()))
    coverage = bool(shapely.coverage_is_valid(children.geometry.to_numpy()))
    codes, geoms, incomplete = [], [], []
    for parent, group in members.groupby("parent_code", sort=True):
        parts = [by_code.get(c) for c in group["child_code"]]
        if any(p is None for p in parts):
            incomplete.append(str(parent))
            continue
        union = shapely.coverage_union_all(parts) if coverage else shapely.union_all(parts)
        if not union.is_valid:
            union = keep_family(shapely.make_valid(union), "polygon")
        codes.append(str(parent))
        geoms.append(as_multipolygon(union))
    geom = np.array(geoms, dtype=object)
    web = np.array([as_multipolygon(g) for g in web_geometries(geom, simplify)], dtype=object) if len(geom) else geom
    frame = pd.DataFrame(
        {"level": level, "code": codes, "cog": cog, "area_km2": area_km2(geom) if len(geom) else [], "geom": geom,
         "geom_web": web}
    )[GEOMETRY_COLUMNS]
    frame.attrs["incomplete"] = incomplete
    return frame
