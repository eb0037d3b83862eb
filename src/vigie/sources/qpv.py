"""Quartiers prioritaires de la politique de la ville (kind "qpv"), from the ANCT files.

Accepted files:
- the QPV contours (GeoJSON, GeoPackage, Shapefile…; ANCT `qpv-2024` properties `code_qp, lib_qp, insee_com`);
- the official list `listeqp2024-cog2024.csv` (`;`, UTF-8 with BOM: `code_qp, lib_qp, insee_reg, lib_reg,
  insee_dep, lib_dep, insee_com, lib_com, siren_epci, lib_epci`, `insee_com` joined with "; ");
- a comma-separated list with at least `code_qp, lib_qp, insee_com`.

Writes, for each COG vintage asked: the QPV as territories (level `qpv`), their contours when the file has
geometry, and a membership QPV → commune for every commune listed in `insee_com`, weighted by the share of the
QPV's area lying in that commune when the communes' contours are in the warehouse (equal shares otherwise).

Options: `cog` or `cogs` (default: the latest commune COG of the warehouse), `layer_name`, `crs`, `simplify`,
`generation` (2024 or 2015; by default read from the codes: QN… = 2024, QP… = 2015).
"""

from __future__ import annotations

import csv
import re
import warnings

import numpy as np
import pandas as pd
import shapely

from vigie.errors import ImportValidationError
from vigie.progress import Reporter
from vigie.sources.base import Batch, Importer, LICENCE_OUVERTE
from vigie.sources.cog_referential import MEMBERSHIP_COLUMNS, TERRITORY_COLUMNS, known_codes
from vigie.sources.contours import GEOMETRY_COLUMNS
from vigie.sources.geo import (
    area_km2,
    as_multipolygon,
    check_filled,
    check_no_duplicates,
    check_not_owned_elsewhere,
    code_values,
    csv_separator,
    is_vector_file,
    latest_cog,
    read_vector,
    require_field,
    simplify_tolerance,
    text_values,
    web_geometries,
)
from vigie.sources.options import as_int_list
from vigie.sources.readers import read_csv
from vigie.warehouse import Warehouse

QPV_CODE = re.compile(r"^Q[NP][0-9A-Z]{5,8}$")
COMMUNE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
REQUIRED = ["code_qp", "lib_qp", "insee_com"]
# Above this share of a QPV's area outside the communes it lists, the contours and the list disagree.
OUTSIDE_WARNING = 0.05


class QpvImporter(Importer):
    kind = "qpv"
    title = "Quartiers prioritaires de la politique de la ville"
    producer = "ANCT"
    licence = LICENCE_OUVERTE

    def __init__(self, path, **options):
        super().__init__(path, **options)
        self.cogs: list[int] = []
        self.generation: str | None = None

    def prepare(self, wh: Warehouse) -> None:
        cogs = as_int_list(self.options.get("cogs"), "cogs") or as_int_list(self.options.get("cog"), "cog")
        self.cogs = sorted(cogs) if cogs else [latest_cog(wh, "commune", self.path.name)]
        self.generation = str(self.options.get("generation") or self._peek_generation())

    def dataset(self) -> str:
        return f"qpv:{self.generation or self.options.get('generation') or '2024'}"

    def vintage(self) -> str | None:
        return self.options.get("vintage") or f"QPV {self.generation or '2024'}, COG {', '.join(map(str, self.cogs))}"

    def _peek_generation(self) -> str:
        """QN… codes are the 2024 QPV, QP… the 2015 ones; read from the first code of the file."""
        first = ""
        try:
            if is_vector_file(self.path):
                import pyogrio

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    head = pyogrio.read_dataframe(self.path, max_features=1, read_geometry=False,
                                                  layer=self.options.get("layer_name"))
                column = next((c for c in head.columns if c.lower() == "code_qp"), None)
                first = str(head[column].iloc[0]) if column is not None and len(head) else ""
            else:
                text = self.path.read_text(encoding="utf-8-sig", errors="replace").splitlines()[:2]
                rows = list(csv.reader(text, delimiter=csv_separator(self.path)))
                if len(rows) == 2 and "code_qp" in rows[0]:
                    first = rows[1][rows[0].index("code_qp")]
        except Exception:  # the real reading reports the problem with its line and column
            first = ""
        return "2015" if first.strip().upper().startswith("QP") else "2024"

    # ------------------------------------------------------------------------------------------ reading
    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        if not self.cogs:
            self.prepare(wh)
        file = self.path.name
        if is_vector_file(self.path):
            report.step(f"Contrôle des géométries de {file}")
            features = read_vector(self.path, warn=self.warn, layer_name=self.options.get("layer_name"),
                                   crs=self.options.get("crs"), expected="polygon")
            frame, geom, what = features.attributes, features.geom, "entité"
            fields = {name: require_field(features.fields, name, file) for name in REQUIRED}
        else:
            frame = read_csv(self.path, separator=csv_separator(self.path), required=REQUIRED,
                             encoding=self.options.get("encoding", "utf-8"), kind_label="liste des QPV")
            geom, what = None, "ligne"
            fields = {name: name for name in REQUIRED}

        frame["_code"] = text_values(frame[fields["code_qp"]])
        frame["_name"] = text_values(frame[fields["lib_qp"]])
        check_filled(frame, "_code", file, fields["code_qp"], what)
        bad = ~frame["_code"].str.match(QPV_CODE)
        if bad.any():
            row = frame[bad].iloc[0]
            raise ImportValidationError(file, f"code QPV mal formé « {row['_code']} » (attendu : QN06201M ou QP062001).",
                                        line=int(row["_line"]), column=fields["code_qp"])
        check_no_duplicates(frame, "_code", file, fields["code_qp"], what + "s")
        check_filled(frame, "_name", file, fields["lib_qp"], what)
        communes = self._communes(frame, fields["insee_com"], what)

        batch = Batch()
        multi = geom is not None
        if multi:
            geom = np.array([as_multipolygon(g) for g in geom], dtype=object)
            web = np.array([as_multipolygon(g) for g in web_geometries(geom, simplify_tolerance(self.options, file))],
                           dtype=object)
        for cog in self.cogs:
            self._check_communes(wh, frame, communes, cog, fields["insee_com"], what)
            self._check_owner(wh, cog)
            batch.add("territory", pd.DataFrame(
                {"level": "qpv", "code": frame["_code"].to_numpy(), "cog": cog, "name": frame["_name"].to_numpy()}
            )[TERRITORY_COLUMNS])
            if multi:
                batch.add("territory_geometry", pd.DataFrame(
                    {"level": "qpv", "code": frame["_code"].to_numpy(), "cog": cog, "area_km2": area_km2(geom),
                     "geom": geom, "geom_web": web}
                )[GEOMETRY_COLUMNS])
            batch.add("membership", self._memberships(wh, frame, communes, geom, cog))
        return batch

    def _communes(self, frame: pd.DataFrame, field: str, what: str) -> list[list[str]]:
        """The commune codes of each QPV (`;`-joined, "; " in the official list, leading zeros restored)."""
        file = self.path.name
        out, padded = [], 0
        for raw, line in zip(text_values(frame[field]), frame["_line"]):
            parts = [p.strip() for p in re.split(r"[;,|]", raw) if p.strip()]
            if not parts:
                raise ImportValidationError(file, f"aucune commune indiquée ({what} n° {line}).", line=int(line), column=field)
            codes, n = code_values(pd.Series(parts, dtype=object), 5)
            padded += n
            for code in codes:
                if not COMMUNE_CODE.match(code):
                    raise ImportValidationError(file, f"code commune mal formé « {code} » ({what} n° {line}).",
                                                line=int(line), column=field)
            out.append(list(dict.fromkeys(codes)))
        if padded:
            self.warn(f"{file} : {padded} code(s) commune complété(s) d'un zéro initial perdu (champ « {field} »).")
        return out

    def _check_communes(self, wh: Warehouse, frame, communes, cog: int, field: str, what: str) -> None:
        known = known_codes(wh, "commune", cog)
        if not known:
            raise ImportValidationError(
                self.path.name, f"l'entrepôt ne contient aucune commune au COG {cog} : importez d'abord le référentiel.",
                column="cog",
            )
        for codes, line in zip(communes, frame["_line"]):
            for code in codes:
                if code not in known:
                    raise ImportValidationError(
                        self.path.name,
                        f"code commune « {code} » absent du référentiel de l'entrepôt au COG {cog} ({what} n° {line}).",
                        line=int(line), column=field,
                    )

    def _check_owner(self, wh: Warehouse, cog: int) -> None:
        """QPV contours written by another import would clash (territories and memberships are shared rows)."""
        check_not_owned_elsewhere(wh, "territory_geometry", "t.level = 'qpv' AND t.cog = ?", (cog,), self.dataset(),
                                  self.path.name, f"des contours de QPV au COG {cog}")

    # ------------------------------------------------------------------------------------------ weights
    def _memberships(self, wh: Warehouse, frame, communes, geom, cog: int) -> pd.DataFrame:
        """QPV → commune rows; weights = share of the QPV's area in each commune, else equal shares."""
        contours, contour_cog = self._commune_contours(wh, cog) if geom is not None else ({}, None)
        rows, by_area, equal, outside = [], [], [], []
        for i, (code, codes) in enumerate(zip(frame["_code"], communes)):
            weights = None
            if len(codes) == 1:
                weights = [1.0]
            elif geom is not None and all(c in contours for c in codes):
                shares = np.array([shapely.intersection(geom[i], contours[c]).area for c in codes])
                if shares.sum() > 0:
                    weights = list(shares / shares.sum())
                    by_area.append(code)
            if weights is None:
                weights = [1.0 / len(codes)] * len(codes)
                if len(codes) > 1:
                    equal.append(code)
            if geom is not None and contours and all(c in contours for c in codes):
                inside = sum(shapely.intersection(geom[i], contours[c]).area for c in codes)
                if geom[i].area > 0 and 1 - inside / geom[i].area > OUTSIDE_WARNING:
                    outside.append(f"{code} ({(1 - inside / geom[i].area) * 100:.0f} %)".replace(".", ","))
            rows += [(cog, "qpv", code, "commune", c, float(w)) for c, w in zip(codes, weights)]
        n_multi = sum(len(c) > 1 for c in communes)
        if n_multi:
            parts = []
            if by_area:
                borrowed = (f"du COG {contour_cog}, pour des communes identiques au COG {cog}"
                            if contour_cog != cog else "de l'entrepôt")
                parts.append(f"{len(by_area)} au prorata de la surface du QPV dans chaque commune (contours communaux "
                             f"{borrowed})")
            if equal:
                parts.append(f"{len(equal)} à parts égales, faute de contours "
                             + ("communaux dans l'entrepôt" if geom is not None else "dans le fichier")
                             + f" ({', '.join(equal[:5])}{'…' if len(equal) > 5 else ''})")
            spread = "s'étend" if n_multi == 1 else "s'étendent"
            self.warn(f"COG {cog} : {n_multi} QPV {spread} sur plusieurs communes ; poids des appartenances QPV → "
                      f"commune : {' ; '.join(parts)}.")
        if outside:
            self.warn(f"COG {cog} : QPV dont une part notable de la surface est hors des communes listées : "
                      f"{', '.join(outside)}.")
        return pd.DataFrame(rows, columns=MEMBERSHIP_COLUMNS)

    @staticmethod
    def _commune_contours(wh: Warehouse, cog: int) -> tuple[dict, int | None]:
        """Commune contours for area weights at `cog`: those of `cog`, else those of the nearest vintage that has
        contours, restricted to the communes that exist at both vintages and no passage row changes in between."""
        with_contours = [int(r[0]) for r in wh.query(
            "SELECT DISTINCT cog FROM territory_geometry WHERE level = 'commune' ORDER BY cog")]
        if not with_contours:
            return {}, None
        other = cog if cog in with_contours else min(with_contours, key=lambda c: (abs(c - cog), -c))
        frame = wh.territory_geometries("commune", other)
        contours = dict(zip(frame["code"], frame.geometry.to_numpy()))
        if other == cog:
            return contours, cog
        low, high = min(cog, other), max(cog, other)
        changed = set()
        for a, b in wh.query("SELECT code_from, code_to FROM passage WHERE cog_from >= ? AND cog_to <= ? "
                             "AND code_from <> code_to", (low, high)):
            changed |= {a, b}
        stable = (known_codes(wh, "commune", cog) & set(contours)) - changed
        return {c: g for c, g in contours.items() if c in stable}, other
