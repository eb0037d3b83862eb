"""A generic map layer (kind "couche"): points, lines or polygons from any vector file, shown as they are.

Each feature becomes a `layer_feature` row: an identifier, a name, the commune it lies in (checked against
the warehouse when `commune_field` is given) and every other attribute as JSON properties.

Options: `layer` (identifier, required), `label`, `theme`, `id_field` (default: the feature number),
`name_field` (default: `nom` or `name` when present), `commune_field`, `cog` (of the commune codes; default the
latest commune COG), `layer_name` (GeoPackage), `crs`, `simplify`, and the source's `title`, `producer`,
`licence` (e.g. `licence=ODbL` for OpenStreetMap data).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from vigie.errors import ImportValidationError
from vigie.progress import Reporter
from vigie.sources.base import Batch, Importer, LICENCE_OUVERTE
from vigie.sources.geo import (
    FAMILY_LABELS,
    check_filled,
    check_no_duplicates,
    check_not_owned_elsewhere,
    code_values,
    family,
    find_field,
    latest_cog,
    properties_json,
    read_vector,
    resolve_commune_codes,
    simplify_tolerance,
    text_values,
    web_geometries,
)
from vigie.sources.options import as_int
from vigie.warehouse import Warehouse

LAYER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")
DEFAULT_NAME_FIELDS = ["nom", "name", "libelle"]


class LayerImporter(Importer):
    kind = "couche"
    title = "Couche géographique"
    producer = "Producteur du fichier"
    licence = LICENCE_OUVERTE

    def __init__(self, path, **options):
        super().__init__(path, **options)
        self.layer = str(self.options.get("layer") or "").strip()
        self.label = str(self.options.get("label") or self.layer)
        self.title = f"Couche « {self.label} »"
        self.cog: int | None = None

    def prepare(self, wh: Warehouse) -> None:
        file = self.path.name
        if not self.layer:
            raise ImportValidationError(file, "précisez l'identifiant de la couche : --option layer=<identifiant>.",
                                        column="layer")
        if not LAYER_ID.match(self.layer):
            raise ImportValidationError(
                file, f"identifiant de couche invalide « {self.layer} » (lettres, chiffres, « _ », « - », « . »).",
                column="layer",
            )
        if self.options.get("commune_field"):
            self.cog = as_int(self.options.get("cog"), "cog") or latest_cog(wh, "commune", file)

    def dataset(self) -> str:
        return f"couche:{self.layer}"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        self.prepare(wh)
        file = self.path.name
        report.step(f"Contrôle de {file}")
        features = read_vector(self.path, warn=self.warn, layer_name=self.options.get("layer_name"),
                               crs=self.options.get("crs"), expected=None)
        frame, geom = features.attributes, features.geom
        self._check_family(frame, geom)
        used = []

        id_field = self._field(features.fields, "id_field")
        if id_field:
            frame["_id"] = text_values(frame[id_field])
            check_filled(frame, "_id", file, id_field)
            check_no_duplicates(frame, "_id", file, id_field)
            used.append(id_field)
        else:
            frame["_id"] = frame["_line"].astype(str)

        name_field = self._field(features.fields, "name_field")
        if name_field is None and not self.options.get("name_field"):
            name_field = next((f for f in (find_field(features.fields, n) for n in DEFAULT_NAME_FIELDS) if f), None)
        names = text_values(frame[name_field]) if name_field else pd.Series("", index=frame.index, dtype=object)
        if name_field:
            used.append(name_field)

        commune_field = self._field(features.fields, "commune_field")
        if commune_field:
            frame["_commune"], padded = code_values(frame[commune_field], 5)
            if padded:
                self.warn(f"{file} : {padded} code(s) commune complété(s) d'un zéro initial perdu.")
            frame["_commune"] = resolve_commune_codes(wh, frame, "_commune", self.cog, file, warn=self.warn,
                                                      field=commune_field, geom=geom, allow_empty=True)
            empty = int((frame["_commune"] == "").sum())
            if empty:
                self.warn(f"{file} : {empty} entité(s) sans code commune (champ « {commune_field} »).")
            communes = frame["_commune"].where(frame["_commune"] != "", None)
            used.append(commune_field)
        else:
            communes = pd.Series(None, index=frame.index, dtype=object)

        check_not_owned_elsewhere(wh, "layer", "t.id = ?", (self.layer,), self.dataset(), file,
                                  f"la couche « {self.layer} »")
        others = [f for f in features.fields if f not in used]
        web = web_geometries(geom, simplify_tolerance(self.options, file))
        batch = Batch()
        batch.add("layer", pd.DataFrame([{"id": self.layer, "label": self.label,
                                          "theme": str(self.options.get("theme") or "autre")}]))
        batch.add("layer_feature", pd.DataFrame({
            "layer": self.layer, "feature_id": frame["_id"].to_numpy(), "name": names.where(names != "", None).to_numpy(),
            "commune": communes.to_numpy(), "properties": properties_json(frame, others), "geom": geom, "geom_web": web,
        }))
        return batch

    def _field(self, fields: list[str], option: str) -> str | None:
        wanted = self.options.get(option)
        if not wanted:
            return None
        found = find_field(fields, str(wanted))
        if found is None:
            raise ImportValidationError(
                self.path.name, f"champ absent (option {option}) ; champs présents : {', '.join(fields)}.",
                column=str(wanted),
            )
        return found

    def _check_family(self, frame: pd.DataFrame, geom: np.ndarray) -> None:
        """A layer holds one kind of geometry: the first feature's (points, lines or polygons)."""
        kinds = np.array([family(g) for g in geom], dtype=object)
        first = kinds[0]
        other = np.flatnonzero(kinds != first)
        if len(other):
            i = int(other[0])
            line = int(frame["_line"].iloc[i])
            raise ImportValidationError(
                self.path.name,
                f"géométrie {FAMILY_LABELS.get(kinds[i], kinds[i])} dans une couche {FAMILY_LABELS[first]} "
                f"(entité n° {line} ; la première entité fixe le type de la couche).",
                line=line, column="geometry",
            )
