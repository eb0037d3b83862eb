"""SIRENE establishments of the activity zones (kind `sirene-zones`): INSEE `StockEtablissement` joined with its
geolocation file `GeolocalisationEtablissement` (Lambert-93), read in streaming chunks.

    vigie import sirene-zones StockEtablissement_utf8.csv --option geoloc=GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv

National files hold ~40 million rows: neither is ever loaded whole. Both are read in batches with pyarrow's
streaming CSV reader:
1. the geolocation file (`siret, x, y, qualite_xy, epsg, …`, `;` or `,`) batch by batch; every point goes through the
   atlas spatial join (`join.ZoneIndex`) against the imported activity zones; only the SIRETs inside a zone are kept
   (a few thousand for an agglomeration);
2. the stock, batch by batch: every SIRET is checked (14 digits, Luhn key; an error names its line), then only the
   active establishments (`etatAdministratifEtablissement = A`) located in a zone are kept. Without a geolocation
   file the stock's own `coordonneeLambertAbscisseEtablissement/OrdonneeEtablissement` (2023+ stocks) are used.
Establishments outside every zone are not kept (the atlas describes zones); their count is reported.

Partial diffusion: an establishment whose `statutDiffusionEtablissement` is `P` asked INSEE not to be published
individually. It is stored with `published = false` and no name: it counts in the aggregates of its zone (number of
establishments, jobs, filières) but is never listed, mapped or exported on its own.

Line numbers assume one row per line (SIRENE files have no line breaks inside fields).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely

import pyarrow as pa

from vigie.errors import ImportValidationError
from vigie.modules.foncier.importing import AtlasImporter
from vigie.modules.foncier.join import ZoneIndex
from vigie.progress import Reporter
from vigie.sources.base import Batch
from vigie.warehouse import Warehouse

STOCK_REQUIRED = ["siren", "nic", "siret", "statutDiffusionEtablissement", "dateCreationEtablissement",
                  "trancheEffectifsEtablissement", "codeCommuneEtablissement", "etatAdministratifEtablissement",
                  "activitePrincipaleEtablissement"]
GEOLOC_REQUIRED = ["siret", "x", "y"]
STOCK_OPTIONAL = ("enseigne1Etablissement", "denominationUsuelleEtablissement", "coordonneeLambertAbscisseEtablissement",
                  "coordonneeLambertOrdonneeEtablissement")
BLOCK = 16 << 20  # bytes per streamed batch


def _header(path: Path) -> tuple[list[str], str]:
    with path.open("rb") as fh:
        first = fh.readline()
    if not first.strip():
        raise ImportValidationError(path.name, "le fichier est vide.")
    text = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    sep = max([",", ";", "\t"], key=text.count)
    return [h.strip().strip('"') for h in text.split(sep)], sep


def _stream(path: Path, required: list[str], kind_label: str, optional: tuple[str, ...] = ()):
    """Record batches of the file (only the required and optional columns, as strings), with the line number of the
    first row of each batch."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    header, sep = _header(path)
    missing = [c for c in required if c not in header]
    if missing:
        if len(missing) == len(required):
            raise ImportValidationError(path.name, f"ce fichier n'a pas la forme d'un fichier {kind_label} (colonnes "
                                        f"attendues : {', '.join(required)}).", line=1)
        raise ImportValidationError(path.name, "colonne obligatoire absente.", line=1, column=missing[0])
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=BLOCK, encoding="utf8"),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header}, strings_can_be_null=False,
                                                 include_columns=[c for c in header if c in required or c in optional]),
        )
    except pa.ArrowInvalid as exc:
        raise ImportValidationError(path.name, f"fichier illisible ({str(exc)[:200]}).", line=2) from None
    line = 2
    try:
        for batch in reader:
            yield line, batch
            line += batch.num_rows
    except pa.ArrowInvalid as exc:
        raise ImportValidationError(path.name, f"ligne illisible ({str(exc)[:200]}) : fichier tronqué ou mal formé ?",
                                    line=line) from None


def _column(batch, name: str) -> np.ndarray:
    return batch.column(name).to_numpy(zero_copy_only=False).astype(str)


def _coordinate(batch, name: str) -> np.ndarray:
    """A coordinate column as floats (NaN for empty, "[ND]" or unreadable cells)."""
    import pyarrow.compute as pc

    column = batch.column(name)
    try:
        return pc.cast(pc.if_else(pc.equal(column, ""), None, column), "float64").to_numpy(zero_copy_only=False)
    except Exception:  # "[ND]" or other text: the slow, tolerant path
        return pd.to_numeric(pd.Series(_column(batch, name)), errors="coerce").to_numpy(float)


def luhn_valid(values: np.ndarray) -> np.ndarray:
    """Vectorised SIRET check: 14 digits and a valid Luhn key (La Poste establishments: digit sum multiple of 5)."""
    values = np.asarray(values, dtype=str)
    lengths = np.char.str_len(values)
    fixed = np.char.encode(values, "ascii", errors="replace").astype("S14")
    codes = np.frombuffer(fixed.tobytes(), dtype=np.uint8).reshape(len(values), 14).astype(np.int64) - 48
    return _luhn_codes(codes, lengths == 14)


def luhn_valid_arrow(column) -> np.ndarray:
    """`luhn_valid` over an Arrow string column, reading its bytes in place when every value has 14 bytes."""
    import pyarrow.compute as pc

    column = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    n = len(column)
    if n and column.null_count == 0 and pc.all(pc.equal(pc.binary_length(column), 14)).as_py():
        _, offsets, data = column.buffers()
        start = int(np.frombuffer(offsets, dtype=np.int32, count=1, offset=column.offset * 4)[0])
        codes = np.frombuffer(data, dtype=np.uint8, count=14 * n, offset=start).reshape(n, 14).astype(np.int64) - 48
        return _luhn_codes(codes, np.ones(n, dtype=bool))
    return luhn_valid(column.to_numpy(zero_copy_only=False).astype(str))


def _luhn_codes(codes: np.ndarray, shape_ok: np.ndarray) -> np.ndarray:
    digits_ok = shape_ok & ((codes >= 0) & (codes <= 9)).all(axis=1)
    doubled = codes.copy()
    doubled[:, 12::-2] *= 2  # positions 13, 11, … (1-based from the left) = every second digit from the right
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    luhn = doubled.sum(axis=1) % 10 == 0
    poste = (codes[:, :9] == np.array([3, 5, 6, 0, 0, 0, 0, 0, 0])).all(axis=1) & (codes.sum(axis=1) % 5 == 0)
    return digits_ok & (luhn | poste)


class SireneZonesImporter(AtlasImporter):
    kind = "sirene-zones"
    title = "Établissements SIRENE des zones d'activité"
    producer = "INSEE"

    def dataset(self) -> str:
        return f"{self.kind}:{self.options.get('inventory') or 'sirene'}"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        zones = wh.query_df("SELECT site_id, ST_AsBinary(geom) AS wkb FROM foncier_site ORDER BY site_id")
        if zones.empty:
            raise ImportValidationError(file, "aucune zone d'activité dans l'entrepôt : importez d'abord les sites "
                                        "économiques (cnig-site-eco).")
        site_ids = zones["site_id"].to_numpy()
        index = ZoneIndex(shapely.from_wkb([bytes(b) for b in zones["wkb"]]))
        located = None  # (sirets as an Index, x, y, zone) of the geolocated establishments inside a zone
        geoloc = self.options.get("geoloc")
        if geoloc:
            gpath = Path(str(geoloc))
            if not gpath.exists():
                raise ImportValidationError(file, f"fichier de géolocalisation introuvable ({gpath}).", column="geoloc")
            parts = []
            for line, batch in _stream(gpath, GEOLOC_REQUIRED, "de géolocalisation SIRENE", ("epsg",)):
                x, y = _coordinate(batch, "x"), _coordinate(batch, "y")
                if "epsg" in batch.column_names:
                    epsg = _column(batch, "epsg")
                    x = np.where((epsg == "2154") | (epsg == ""), x, np.nan)  # overseas points are outside the zones anyway
                found = index.locate(x, y)
                hit = found >= 0
                parts.append((_column(batch, "siret")[hit], x[hit], y[hit], found[hit]))
                report.advance(batch.num_rows)
            located = (pd.Index(np.concatenate([p[0] for p in parts]) if parts else np.empty(0, dtype=str)),
                       *(np.concatenate([p[i] for p in parts]) if parts else np.empty(0) for i in (1, 2, 3)))
        rows: list[pd.DataFrame] = []
        total = outside = 0
        for line, batch in _stream(self.path, STOCK_REQUIRED, "StockEtablissement (SIRENE)", STOCK_OPTIONAL):
            siret = _column(batch, "siret")
            ok = luhn_valid_arrow(batch.column("siret"))
            if not ok.all():
                i = int(np.flatnonzero(~ok)[0])
                reason = "la clé de contrôle (formule de Luhn) est fausse" if len(siret[i]) == 14 and siret[i].isdigit() else "14 chiffres attendus"
                raise ImportValidationError(file, f"SIRET invalide « {siret[i]} » : {reason}.", line=line + i, column="siret")
            siren = _column(batch, "siren")
            bad = siren != siret.astype("U9")
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ImportValidationError(file, f"le SIREN « {siren[i]} » n'est pas le début du SIRET « {siret[i]} ».",
                                            line=line + i, column="siren")
            active = _column(batch, "etatAdministratifEtablissement") == "A"
            total += int(active.sum())
            if located is not None:
                where = located[0].get_indexer(siret)
                keep = (where >= 0) & active
                where = where[keep]
                xy = np.column_stack([located[1][where], located[2][where]])
                zone = located[3][where].astype(np.int64)
            else:
                if "coordonneeLambertAbscisseEtablissement" not in batch.column_names:
                    raise ImportValidationError(file, "ni fichier de géolocalisation (--option geoloc=…) ni coordonnées "
                                                "Lambert dans le stock : impossible de placer les établissements.", line=1)
                x = _coordinate(batch, "coordonneeLambertAbscisseEtablissement")
                y = _coordinate(batch, "coordonneeLambertOrdonneeEtablissement")
                found = index.locate(x, y)
                keep = (found >= 0) & active
                xy = np.column_stack([x[keep], y[keep]])
                zone = found[keep]
            outside += int(active.sum() - keep.sum())
            if not keep.any():
                report.advance(batch.num_rows)
                continue
            kept_batch = batch.filter(pa.array(keep))
            sub = {c: _column(kept_batch, c) for c in kept_batch.column_names}
            published = sub["statutDiffusionEtablissement"] != "P"
            name = sub.get("enseigne1Etablissement", np.full(keep.sum(), "", dtype=object))
            if "denominationUsuelleEtablissement" in sub:
                name = np.where(name == "", sub["denominationUsuelleEtablissement"], name)
            name = np.where(published & (name != ""), name, None)
            created = pd.to_datetime(pd.Series(sub["dateCreationEtablissement"]).replace("", None), errors="coerce")
            rows.append(pd.DataFrame({
                "siret": sub["siret"], "siren": sub["siren"], "name": name,
                "naf": np.char.upper(np.char.replace(sub["activitePrincipaleEtablissement"], ".", "")),
                "headcount_code": np.where(sub["trancheEffectifsEtablissement"] == "", None, sub["trancheEffectifsEtablissement"]),
                "commune": sub["codeCommuneEtablissement"], "active": True, "published": published,
                "created_on": created.dt.date.astype(object).where(created.notna(), None).to_numpy(),
                "site_id": site_ids[zone], "plot_id": None, "origin": "sirene",
                "geom": shapely.points(xy[:, 0], xy[:, 1]) if len(xy) else np.empty(0, dtype=object),
            }))
            report.advance(batch.num_rows)
        frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
        if not frame.empty:
            dup = frame["siret"].duplicated()
            if dup.any():
                raise ImportValidationError(file, f"SIRET en double « {frame.loc[dup, 'siret'].iloc[0]} ».", column="siret")
        self.tables["foncier_establishment"] = frame
        self.warn(f"{len(frame)} établissement(s) actif(s) dans les zones d'activité, dont "
                  f"{int((~frame['published']).sum()) if len(frame) else 0} en diffusion partielle (comptés dans les "
                  f"totaux, jamais affichés individuellement) ; {outside} établissement(s) actif(s) hors zones non retenus.")
        return Batch()
