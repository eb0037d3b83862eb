"""Export of the atlas back to the CNIG "sites économiques" standard: the art. 220 inventory of activity zones.

Writes four `;`-separated UTF-8 CSV files (`pole-eco.csv`, `site-eco.csv`, `terrain-eco.csv`, `etablissement.csv`)
with every field of the standard's TableSchema, in its order, and checks each with `frictionless` against the
bundled schema before returning (an export that would not validate is an error, nothing half-written is kept).

Values: the fields Vigie stores are written from its tables (identifiers, names, areas, statuses — the *current*
ones, from the status history); the other fields come back from the properties kept at import. Computed fields
are refreshed: `site_uf_nbre`, `site_uf_vacant_nbre`, `site_taux_vacance` (vacant plots / plots × 100),
`site_uf_bati_nbre` (plots not vacant), `site_nb_etab`, `site_nb_emploi` (bracket midpoint convention, rounded),
`site_surf_comm_dispo`, and for poles `pole_nb_site`, `pole_nb_etab`, `pole_nb_emploi`, `pole_surface`.
Geometries: surfaces as GeoJSON in Lambert-93 (as in the standard's examples), points in longitude/latitude.
A site without pole gets a pole of its own (`…_POLE-ECO_…` derived from its identifier), since `pole_id` is required.
Establishments in SIRENE partial diffusion are never exported; neither are establishments on no known plot
(`terr_id` is required by the standard): both are counted in the returned summary.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from vigie.errors import ImportValidationError, VigieError
from vigie.modules.foncier.atlas import BRACKET_LABELS, filiere_labels, filiere_of, plot_statuses, zone_table
from vigie.modules.foncier.cnig import schema_fields, schema_path
from vigie.modules.foncier.join import points_in_zones
from vigie.modules.foncier.schema import require_schema
from vigie.sources.geo import LAMBERT93, WGS84, reproject
from vigie.warehouse import Warehouse

CLASSES = ["pole-eco", "site-eco", "terrain-eco", "etablissement"]


@dataclass
class CnigExport:
    files: dict[str, Path]
    rows: dict[str, int]
    skipped: dict[str, int] = field(default_factory=dict)


def _props(values: pd.Series) -> pd.DataFrame:
    return pd.DataFrame([json.loads(v) if isinstance(v, str) and v else {} for v in values], index=values.index)


def _geojson(geoms, lonlat: bool = False) -> list[str]:
    geoms = np.asarray(geoms, dtype=object)
    if lonlat:
        geoms = reproject(geoms, LAMBERT93, WGS84)
    digits = 7 if lonlat else 2
    return [shapely.to_geojson(shapely.set_precision(g, 10 ** -digits) if not lonlat else g).replace(" ", "") if g is not None else ""
            for g in geoms]


def _iso(values) -> list[str]:
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) or pd.isna(v) else pd.Timestamp(v).date().isoformat()
            for v in values]


def _num(values) -> list[str]:
    out = []
    for v in values:
        if v is None or pd.isna(v):
            out.append("")
        else:
            f = float(v)
            out.append(str(int(f)) if f.is_integer() else repr(round(f, 4)))
    return out


def _table(name: str, frame: pd.DataFrame, props: pd.DataFrame) -> pd.DataFrame:
    """All the schema's fields in order: computed values first, else the imported property, else empty."""
    out = {}
    for f in schema_fields(name):
        col = f["name"]
        if col in frame.columns:
            out[col] = frame[col].fillna("").astype(str).to_numpy()
        elif col in props.columns:
            out[col] = props[col].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)).to_numpy()
        else:
            out[col] = np.full(len(frame), "", dtype=object)
    return pd.DataFrame(out)


def export_cnig(wh: Warehouse, directory: Path | str, epci: str | None = None, today: date | None = None) -> CnigExport:
    """Write the four CNIG files into `directory` (optionally for the zones of one EPCI) and validate them."""
    require_schema(wh)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    today_iso = (today or date.today()).isoformat()
    cog = wh.latest_cog("commune")
    names = dict(wh.query("SELECT code, name FROM territory WHERE level = 'commune' AND cog = ?", (cog,)))
    epci_of = dict(wh.query("SELECT child_code, parent_code FROM membership WHERE cog = ? AND child_level = 'commune' "
                            "AND parent_level = 'epci'", (cog,)))
    epci_names = dict(wh.query("SELECT code, name FROM territory WHERE level = 'epci' AND cog = ?", (cog,)))
    zones = zone_table(wh).set_index("site_id")
    sites = wh.query_df("SELECT site_id, pole_id, name, site_type, vocation, state, commune, epci, gross_ha, usable_ha, "
                        "identified_on, updated_on, properties, ST_AsBinary(geom) AS wkb FROM foncier_site ORDER BY site_id")
    if epci:
        sites = sites[[epci_of.get(c, e) == epci for c, e in zip(sites["commune"], sites["epci"])]].reset_index(drop=True)
    if sites.empty:
        raise VigieError("Aucune zone d'activité à exporter" + (f" pour l'EPCI {epci}." if epci else "."))
    sgeom = shapely.from_wkb([bytes(b) for b in sites.pop("wkb")])
    current_state = dict(wh.query(
        "SELECT object_id, value FROM (SELECT object_id, value, row_number() OVER (PARTITION BY object_id ORDER BY "
        "changed_on DESC, seq DESC) AS r FROM foncier_status_change WHERE object_kind = 'site' AND field = 'site_etat') t "
        "WHERE r = 1"))
    z = zones.loc[sites["site_id"]]
    sites["pole_id"] = [p if isinstance(p, str) and p else s.replace("SITE-ECO", "POLE-ECO") for p, s in zip(sites["pole_id"], sites["site_id"])]
    epcis = [epci_of.get(c, e) for c, e in zip(sites["commune"], sites["epci"])]
    site_out = pd.DataFrame({
        "site_id": sites["site_id"], "pole_id": sites["pole_id"], "site_nom": sites["name"], "site_type": sites["site_type"],
        "site_vocadomi": sites["vocation"], "site_etat": [current_state.get(s, v) for s, v in zip(sites["site_id"], sites["state"])],
        "site_surf_brute": _num(sites["gross_ha"]), "site_surf_utile": _num(sites["usable_ha"]),
        "site_identif_date": [d or today_iso for d in _iso(sites["identified_on"])],
        "site_actu_date": [d or today_iso for d in _iso(sites["updated_on"])],
        "site_epci_nom": [epci_names.get(e, "") or e for e in epcis], "site_epci_siren": epcis,
        "site_comm_nom": [names.get(c, c) for c in sites["commune"]], "site_comm_insee": sites["commune"],
        "site_uf_nbre": _num(z["plots"].to_numpy()), "site_uf_vacant_nbre": _num(z["plots_vacant"].to_numpy()),
        "site_taux_vacance": _num(np.round(z["vacancy_rate"].to_numpy(dtype=float), 1)),
        "site_uf_bati_nbre": _num((z["plots"] - z["plots_vacant"]).to_numpy()),
        "site_nb_etab": _num(z["establishments"].to_numpy()), "site_nb_emploi": _num(np.round(z["jobs"].to_numpy())),
        "site_surf_comm_dispo": _num(np.round(z["available_ha"].to_numpy(dtype=float), 4)),
        "site_geomsurf": _geojson(sgeom),
        "site_geompoint": [f"{p.x:.6f}, {p.y:.6f}" for p in reproject(shapely.point_on_surface(sgeom), LAMBERT93, WGS84)],
    })
    sprops = _props(sites["properties"])
    if "site_moa_type" not in sprops.columns or sprops["site_moa_type"].isna().any():
        site_out["site_moa_type"] = sprops["site_moa_type"].fillna("EPCI") if "site_moa_type" in sprops.columns else "EPCI"
    tables = {"site-eco": _table("site-eco", site_out, sprops)}

    # poles: the imported ones for these sites, and one per site without a known pole
    poles = wh.query_df("SELECT pole_id, name, vocation, reach, identified_on, updated_on, properties, ST_AsBinary(geom) AS wkb FROM foncier_pole")
    poles = poles[poles["pole_id"].isin(set(site_out["pole_id"]))]
    by_pole = site_out.assign(gross=sites["gross_ha"].to_numpy(), etab=z["establishments"].to_numpy(), jobs=z["jobs"].to_numpy(),
                              voca=sites["vocation"].to_numpy()).groupby("pole_id")
    missing = sorted(set(site_out["pole_id"]) - set(poles["pole_id"]))
    pole_rows = []
    for pid in missing:
        members = site_out[site_out["pole_id"] == pid]
        centre = reproject(np.array([shapely.centroid(shapely.union_all(sgeom[members.index.to_numpy()]))], dtype=object), LAMBERT93, WGS84)[0]
        pole_rows.append({"pole_id": pid, "pole_nom": members["site_nom"].iloc[0], "pole_vocadomi": _pole_vocation(by_pole.get_group(pid)["voca"]),
                          "pole_identif_date": members["site_identif_date"].iloc[0], "pole_geompoint": f"{centre.x:.6f}, {centre.y:.6f}",
                          "properties": "{}"})
    for _, p in poles.iterrows():
        pt = shapely.from_wkb(bytes(p["wkb"]))
        ll = reproject(np.array([pt], dtype=object), LAMBERT93, WGS84)[0]
        pole_rows.append({"pole_id": p["pole_id"], "pole_nom": p["name"], "pole_vocadomi": p["vocation"], "pole_rayonnement": p["reach"] or "",
                          "pole_identif_date": _iso([p["identified_on"]])[0] or today_iso, "pole_actu_date": _iso([p["updated_on"]])[0],
                          "pole_geompoint": f"{ll.x:.6f}, {ll.y:.6f}", "properties": p["properties"]})
    pole_out = pd.DataFrame(pole_rows).sort_values("pole_id").reset_index(drop=True)
    pole_out["pole_nb_site"] = _num(pole_out["pole_id"].map(by_pole.size()))
    pole_out["pole_nb_etab"] = _num(pole_out["pole_id"].map(by_pole["etab"].sum()))
    pole_out["pole_nb_emploi"] = _num(np.round(pole_out["pole_id"].map(by_pole["jobs"].sum()).to_numpy(dtype=float)))
    pole_out["pole_surface"] = _num(np.round(pole_out["pole_id"].map(by_pole["gross"].sum()).to_numpy(dtype=float), 4))
    tables["pole-eco"] = _table("pole-eco", pole_out.drop(columns="properties"), _props(pole_out["properties"]))

    # plots, with their current statuses
    plots = plot_statuses(wh)
    plots = plots[plots["site_id"].isin(set(site_out["site_id"]))]
    detail = wh.query_df("SELECT plot_id, cadastre, land_control, development_stage, land_use, updated_on, properties, "
                         "ST_AsBinary(geom) AS wkb FROM foncier_plot")
    plots = plots.merge(detail, on="plot_id").sort_values("plot_id").reset_index(drop=True)
    pgeom = shapely.from_wkb([bytes(b) for b in plots["wkb"]]) if len(plots) else np.empty(0, dtype=object)
    pprops = _props(plots["properties"])
    plot_out = pd.DataFrame({
        "terr_id": plots["plot_id"], "site_id": plots["site_id"], "terr_refcad": plots["cadastre"].fillna(""),
        "terr_surf_brute": _num(plots["gross_ha"]), "terr_utile": [("oui" if u else "non") if u is not None and not pd.isna(u) else "" for u in plots["usable"]],
        "terr_actu_date": [d or today_iso for d in _iso(plots["updated_on"])],
        "terr_maitrise_fonc": plots["land_control"], "terr_stade_amngt": plots["development_stage"],
        "terr_stade_comm": plots["sale_stage"], "terr_etat_occup": plots["occupancy"], "terr_usage": plots["land_use"],
        "terr_geomsurf": _geojson(pgeom),
    })
    plot_out["terr_identif_date"] = pprops["terr_identif_date"].fillna(today_iso).to_numpy() if "terr_identif_date" in pprops else today_iso
    tables["terrain-eco"] = _table("terrain-eco", plot_out, pprops)

    # establishments: published ones, on a plot (declared, else the plot holding their point)
    est = wh.query_df("SELECT siret, siren, name, naf, headcount_code, commune, active, published, created_on, site_id, plot_id, "
                      "properties, ST_AsBinary(geom) AS wkb FROM foncier_establishment WHERE site_id IS NOT NULL ORDER BY siret")
    est = est[est["site_id"].isin(set(site_out["site_id"]))].reset_index(drop=True)
    skipped = {"diffusion partielle": int((~est["published"].astype(bool)).sum())}
    est = est[est["published"].astype(bool)].reset_index(drop=True)
    egeom = shapely.from_wkb([bytes(b) for b in est["wkb"]]) if len(est) else np.empty(0, dtype=object)
    if len(est) and len(plots):
        xy = shapely.get_coordinates(egeom)
        holder = points_in_zones(xy[:, 0], xy[:, 1], pgeom)
        located = np.where(holder >= 0, plots["plot_id"].to_numpy()[np.maximum(holder, 0)], None)
        est["plot_id"] = [p if isinstance(p, str) and p else q for p, q in zip(est["plot_id"], located)]
    on_plot = est["plot_id"].map(lambda p: isinstance(p, str) and p != "").astype(bool) if len(est) else pd.Series(dtype=bool)
    skipped["sans terrain connu"] = int((~on_plot).sum()) if len(est) else 0
    est, egeom = est[on_plot.to_numpy()].reset_index(drop=True), egeom[on_plot.to_numpy()] if len(est) else egeom
    eprops = _props(est["properties"])
    labels = filiere_labels()
    fil = filiere_of(est["naf"])
    codes = est["headcount_code"].fillna("NN").astype(str).str.zfill(2)
    keep = lambda col, default: (eprops[col].fillna(default) if col in eprops.columns else pd.Series(default, index=est.index))
    est_out = pd.DataFrame({
        "SIRET": est["siret"], "SIREN": est["siren"], "terr_id": est["plot_id"],
        "etab_raison_sociale": keep("etab_raison_sociale", "").where(lambda s: s != "", est["name"].fillna(est["siret"])),
        "etab_nat_juridique": keep("etab_nat_juridique", "inconnue"), "etab_nom": est["name"].fillna(est["siret"]),
        "epci_siren": [epci_of.get(c, "") for c in est["commune"]],
        "comm_insee": est["commune"], "comm_nom": [names.get(c, c) for c in est["commune"]],
        "etab_creation_date": [d or today_iso for d in _iso(est["created_on"])],
        "etab_identif_date": keep("etab_identif_date", today_iso), "etab_actu_date": keep("etab_actu_date", today_iso),
        "etab_actif": np.where(est["active"].astype(bool), "oui", "non"),
        "etab_activite_code": est["naf"],
        "etab_activite_libelle": keep("etab_activite_libelle", "").where(lambda s: s != "", [f"Filière {labels[f].lower()}" for f in fil]),
        "etab_effectif_code": np.where(codes.isin(list(BRACKET_LABELS)), codes, "NN"),
        "etab_effectif_annee": keep("etab_effectif_annee", str((today or date.today()).year)),
        "etab_source_info": keep("etab_source_info", "INSEE, base SIRENE"),
        "geocodage_qualite": keep("geocodage_qualite", "Géolocalisation INSEE (Lambert-93)"),
        "etab_geompoint": _geojson(egeom, lonlat=True),
    })
    est_out["epci_nom"] = [epci_names.get(e, e) for e in est_out["epci_siren"]]
    est_out["etab_effectif_libelle"] = est_out["etab_effectif_code"].map(BRACKET_LABELS)
    tables["etablissement"] = _table("etablissement", est_out, eprops)

    files, rows = {}, {}
    for name in CLASSES:
        path = directory / f"{name}.csv"
        tables[name].to_csv(path, sep=";", index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n", encoding="utf-8")
        files[name], rows[name] = path, len(tables[name])
    for name in CLASSES:
        problems = validate_export(files[name], name)
        if problems:
            for p in files.values():
                p.unlink(missing_ok=True)
            raise ImportValidationError(files[name].name, "export non conforme au standard CNIG : " + problems[0])
    return CnigExport(files, rows, skipped)


def _pole_vocation(vocations: pd.Series) -> str:
    allowed = {f["name"]: f for f in schema_fields("pole-eco")}["pole_vocadomi"]["constraints"]["enum"]
    values = [v for v in vocations if v in allowed]
    if len(set(values)) == 1:
        return values[0]
    return "mixte, sans dominante" if len(set(vocations)) > 1 else "inconnu"


def validate_export(path: Path, name: str) -> list[str]:
    """Frictionless validation of one exported file: the problems (empty when the file is valid)."""
    from frictionless import Resource, Schema, formats

    schema = Schema.from_descriptor(json.loads(schema_path(name).read_text(encoding="utf-8")))
    resource = Resource(path=path.name, basepath=str(path.parent.resolve()), schema=schema,
                        control=formats.CsvControl(delimiter=";"), encoding="utf-8")
    report = resource.validate()
    return [f"ligne {getattr(e, 'row_number', '?')}, champ {getattr(e, 'field_name', '?')} : {e.type} ({e.note})"
            for t in report.tasks for e in t.errors]
