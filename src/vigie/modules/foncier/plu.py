"""PLU / PLUi zoning in the CNIG / Géoportail de l'Urbanisme `ZONE_URBA` format (kind `plu-zones`).

Accepted files: GeoPackage, Shapefile (zipped or not), GeoJSON, as the GPU exports them. Fields, case-insensitive
(the GPU writes them in capitals): `LIBELLE` (zone label, e.g. 1AUe) and `TYPEZONE` are required; `IDURBA`,
`LIBELONG`, `DESTDOMI`, `FORMDOMI`, `NOMFIC`, `URLFIC`, `INSEE`, `DATAPPRO`, `DATVALID` (dates AAAAMMJJ),
`PARTITION` (GPU: DU_<code INSEE> or DU_<SIREN>) are read when present.

`TYPEZONE` must be one of the standard's values U, AUc, AUs, A, N (AU alone is accepted for old files; legacy Ah →
A, Nh and Nd → N); anything else is an error naming the feature.

**Economic AU zones** (`economic = true`): zones of type AUc, AUs (or AU) whose dominant destination `DESTDOMI` is
"02" (activité) in the CNIG PLU standard (2014/2017 code list: 00 sans objet, 01 habitat, 02 activité, 03 mixte
habitat/activité, 04 loisirs et tourisme, 05 équipement, 07 activité agricole, 08 espace naturel, 09 espace
remarquable, 10 carrière, 99 autre). Mixed zones (03) count only with option `mixte=true`. Files without a usable
`DESTDOMI` (the 2022 standard replaced it by `FORMDOMI`, which describes urban form, not use) can give the rule by
label with option `libelle` (a regular expression on `LIBELLE`, e.g. `^[12]?AU[EXZ]`), which is also applied in
addition to DESTDOMI when given. The rule used is stored in every zone's properties.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from vigie.errors import ImportValidationError
from vigie.modules.foncier.importing import AtlasImporter
from vigie.progress import Reporter
from vigie.sources.base import Batch
from vigie.sources.geo import find_field, properties_json, read_vector, text_values, web_geometries
from vigie.sources.options import as_bool
from vigie.warehouse import Warehouse

TYPEZONES = {"U": "U", "AUC": "AUc", "AUS": "AUs", "AU": "AU", "A": "A", "N": "N", "AH": "A", "NH": "N", "ND": "N"}
AU_TYPES = {"AUc", "AUs", "AU"}
ECONOMIC_DESTINATION = "02"
MIXED_DESTINATION = "03"
OPTIONAL = ["IDURBA", "LIBELONG", "DESTDOMI", "FORMDOMI", "NOMFIC", "URLFIC", "INSEE", "DATAPPRO", "DATVALID", "PARTITION"]


def _date(values: pd.Series) -> list:
    text = values.str.replace("-", "", regex=False).str.replace("/", "", regex=False).str[:8]
    parsed = pd.to_datetime(text.where(text.str.fullmatch(r"\d{8}"), None), format="%Y%m%d", errors="coerce")
    return [None if pd.isna(v) else v.date() for v in parsed]


class PluZonesImporter(AtlasImporter):
    kind = "plu-zones"
    title = "Zonage des plans locaux d'urbanisme (ZONE_URBA, Géoportail de l'Urbanisme)"
    producer = "Géoportail de l'Urbanisme"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        features = read_vector(self.path, warn=self.warn, layer_name=self.options.get("layer_name"),
                               crs=self.options.get("crs"), expected="polygon")
        attrs = features.attributes
        fields = features.fields
        col = {}
        for name in ["LIBELLE", "TYPEZONE"]:
            found = find_field(fields, name)
            if found is None:
                raise ImportValidationError(file, "champ obligatoire du standard ZONE_URBA absent.", column=name)
            col[name] = found
        for name in OPTIONAL:
            col[name] = find_field(fields, name)
        text = {k: (text_values(attrs[v]) if v else pd.Series([""] * len(attrs))) for k, v in col.items()}
        raw_type = text["TYPEZONE"].str.upper()
        zone_type = raw_type.map(TYPEZONES)
        bad = zone_type.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ImportValidationError(
                file, f"TYPEZONE « {text['TYPEZONE'].iloc[i]} » non autorisé ; valeurs du standard : U, AUc, AUs, A, N.",
                line=int(attrs["_line"].iloc[i]), column=col["TYPEZONE"])
        empty = text["LIBELLE"] == ""
        if empty.any():
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise ImportValidationError(file, "LIBELLE vide.", line=int(attrs["_line"].iloc[i]), column=col["LIBELLE"])
        destination = text["DESTDOMI"].str.zfill(2).where(text["DESTDOMI"] != "", None)
        allowed = {ECONOMIC_DESTINATION} | ({MIXED_DESTINATION} if as_bool(self.options.get("mixte", False)) else set())
        economic = np.array(destination.isin(allowed).to_numpy(), dtype=bool)
        rule = f"TYPEZONE AUc/AUs/AU et DESTDOMI {' ou '.join(sorted(allowed))}"
        pattern = self.options.get("libelle")
        if pattern:
            try:
                regex = re.compile(str(pattern))
            except re.error as exc:
                raise ImportValidationError(file, f"option « libelle » : expression régulière invalide ({exc}).") from None
            economic = economic | np.array([bool(regex.search(v)) for v in text["LIBELLE"]], dtype=bool)
            rule += f", ou LIBELLE conforme à « {pattern} »"
        economic = economic & zone_type.isin(AU_TYPES).to_numpy()
        commune = text["INSEE"].where(text["INSEE"].str.fullmatch(r"\d[\dAB]\d{3}"), None)
        from_partition = text["PARTITION"].str.extract(r"^DU_(\d[\dAB]\d{3})$")[0]
        commune = commune.fillna(from_partition)
        document = text["IDURBA"].where(text["IDURBA"] != "", self.path.stem)
        zone_id = document + ":" + attrs["_line"].astype(str)
        props = attrs.assign(_rule=rule)
        kept = [c for c in fields if c not in (col["LIBELLE"], col["TYPEZONE"])]
        self.tables["foncier_plu_zone"] = pd.DataFrame({
            "zone_id": zone_id.to_numpy(), "idurba": text["IDURBA"].where(text["IDURBA"] != "", None).to_numpy(),
            "label": text["LIBELLE"].to_numpy(), "long_label": text["LIBELONG"].where(text["LIBELONG"] != "", None).to_numpy(),
            "zone_type": zone_type.to_numpy(), "destination": destination.to_numpy(), "commune": commune.to_numpy(),
            "approved_on": _date(text["DATAPPRO"]), "valid_on": _date(text["DATVALID"]), "economic": economic,
            "properties": [p[:-1] + f',"regle_economique":"{rule}"}}' if p != "{}" else f'{{"regle_economique":"{rule}"}}'
                           for p in properties_json(props, kept)],
            "geom": features.geom, "geom_web": web_geometries(features.geom),
        })
        dup = self.tables["foncier_plu_zone"]["zone_id"].duplicated()
        if dup.any():
            raise ImportValidationError(file, "identifiant de zone en double.", column=col["IDURBA"] or "IDURBA")
        report.advance(len(attrs))
        return Batch()
