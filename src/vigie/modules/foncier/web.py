"""The economic-land atlas in the observatory: JSON/GeoJSON API under `/api/atlas/…`, the map page `/atlas` and one
page per zone `/atlas/zone/{site_id}`; downloads: the layers as GeoPackage / XLSX (`/api/atlas/export/{couche}.{gpkg|xlsx}`,
also used by `vigie foncier exporter --format gpkg|xlsx`) and a zone's PDF fiche (`/api/atlas/zones/{id}/fiche.pdf`).

Establishments in SIRENE partial diffusion are never listed nor mapped: they only count in the zone figures.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from vigie import formatting as fmt
from vigie.errors import NotFoundError
from vigie.modules.foncier.atlas import (FRICHE_DISTANCE_M, filiere_labels, filiere_of, free_au_zones, jobs_of,
                                         plot_statuses, totals, zone_friches, zone_table)
from vigie.modules.foncier.schema import existing_tables, require_schema
from vigie.publish.context import AppContext
from vigie.publish.terminal import SYNTHETIC_MARK
from vigie.sources.geo import LAMBERT93, WGS84, reproject

NAVIGATION = [("atlas", "/atlas", "Foncier éco.")]
LEVELS = [("commune", "Communes"), ("epci", "EPCI"), ("pole_metropolitain", "Pôle métropolitain")]


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _features(frame: pd.DataFrame, geoms) -> dict[str, Any]:
    cols = list(frame.columns)
    features = []
    for row, g in zip(frame.itertuples(index=False, name=None), geoms):
        props = {c: _clean(v) for c, v in zip(cols, row)}
        features.append({"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(g))})
    return {"type": "FeatureCollection", "features": features}


def _geoms(wh, table: str, key: str, ids: list[str]) -> list:
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    df = wh.query_df(f"SELECT {key} AS id, ST_AsBinary(geom_web) AS wkb FROM {table} WHERE {key} IN ({marks})", ids)
    by_id = dict(zip(df["id"], shapely.from_wkb([bytes(b) for b in df["wkb"]])))
    return [by_id[i] for i in ids]


def _epci_of(wh) -> dict[str, str]:
    cog = wh.latest_cog("commune")
    return dict(wh.query("SELECT child_code, parent_code FROM membership WHERE cog = ? AND child_level = 'commune' "
                         "AND parent_level = 'epci'", (cog,)))


def _synthetic(wh) -> bool:
    rows = wh.query("SELECT bool_or(synthetic) FROM source WHERE kind LIKE 'cnig-%' OR kind IN ('sirene-zones', 'plu-zones')")
    return bool(rows and rows[0][0])


def filtered_zones(wh, epci: Optional[str], vocation: Optional[str], filiere: Optional[str], etat: Optional[str]) -> pd.DataFrame:
    zones = zone_table(wh)
    epci_of = _epci_of(wh)
    zones["epci_code"] = zones["commune"].map(epci_of)
    if epci:
        zones = zones[zones["epci_code"] == epci]
    if vocation:
        zones = zones[zones["vocation"] == vocation]
    if etat:
        zones = zones[zones["state"] == etat]
    if filiere:
        zones = zones[zones["filieres"].map(lambda t: filiere in json.loads(t or "{}"))]
    return zones.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- exports
# Atlas layers as files: zones, plots, published establishments, economic AU zones. XLSX (one sheet per layer,
# representative point in Lambert-93, a « Métadonnées » sheet) and GeoPackage (Lambert-93, one layer each, with a
# `metadonnees` table). Media types and file-name rules are the core exports' (`vigie.publish.exports`).
EXPORT_LAYERS = {
    "zones": "Zones d'activité (CNIG site-eco) et leurs chiffres",
    "terrains": "Terrains (CNIG terrain-eco) et leur statut actuel",
    "etablissements": "Établissements actifs des zones (diffusion publique seulement)",
    "au": "Zones AU à vocation économique des PLU et surface encore libre",
}
EXPORT_FORMATS = ("gpkg", "xlsx")
LAYER_NOTES = {
    "zones": "Surfaces en hectares ; taux de vacance = terrains vacants ÷ terrains × 100 (art. L318-8-2 du code de "
             "l'urbanisme) ; emplois estimés par le milieu de la tranche d'effectif SIRENE.",
    "terrains": "Stade de commercialisation et état d'occupation : dernier changement de l'historique des statuts.",
    "etablissements": "Les établissements en diffusion partielle (SIRENE) ne sont jamais exportés.",
    "au": "Surface libre = hors zones d'activité, sauf leurs terrains vacants ou disponibles (hectares).",
}


def _ids_geoms(wh, table: str, key: str, ids: list[str]) -> list:
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    df = wh.query_df(f"SELECT {key} AS id, ST_AsBinary(geom) AS wkb FROM {table} WHERE {key} IN ({marks})", ids)
    by_id = dict(zip(df["id"], shapely.from_wkb([bytes(b) for b in df["wkb"]])))
    return [by_id.get(i) for i in ids]


def export_layer(wh, layer: str, epci: Optional[str] = None) -> tuple[pd.DataFrame, list]:
    """One atlas layer as a frame with French-named columns and its Lambert-93 geometries (same order)."""
    require_schema(wh)
    if layer not in EXPORT_LAYERS:
        raise NotFoundError(f"Couche « {layer} » inconnue : {', '.join(EXPORT_LAYERS)}.")
    zones = filtered_zones(wh, epci, None, None, None)
    site_ids = zones["site_id"].tolist()
    labels = filiere_labels()
    if layer == "zones":
        frame = pd.DataFrame({
            "site_id": zones["site_id"], "nom": zones["name"], "type": zones["site_type"], "vocation": zones["vocation"],
            "etat": zones["state"], "commune": zones["commune"], "epci": zones["epci_code"],
            "surface_brute_ha": zones["gross_ha"], "surface_utile_ha": zones["usable_ha"],
            "surface_disponible_ha": zones["available_ha"], "terrains": zones["plots"],
            "terrains_vacants": zones["plots_vacant"], "taux_vacance_pct": zones["vacancy_rate"],
            "etablissements": zones["establishments"], "emplois_estimes": zones["jobs"],
            "filiere_principale": [labels.get(f, f) if f else None for f in zones["main_filiere"]],
            "friches_dans_zone": zones["friches_inside"], "friches_proches": zones["friches_near"],
        })
        return frame, _ids_geoms(wh, "foncier_site", "site_id", site_ids)
    if layer == "terrains":
        plots = plot_statuses(wh)
        plots = plots[plots["site_id"].isin(site_ids)].sort_values("plot_id")
        frame = pd.DataFrame({
            "terr_id": plots["plot_id"], "site_id": plots["site_id"], "surface_ha": plots["gross_ha"],
            "stade_commercialisation": plots["sale_stage"], "etat_occupation": plots["occupancy"],
            "vacant": plots["vacant"], "disponible": plots["available"],
        })
        return frame, _ids_geoms(wh, "foncier_plot", "plot_id", plots["plot_id"].tolist())
    if layer == "etablissements":
        marks = ", ".join("?" * len(site_ids)) or "NULL"
        est = wh.query_df(
            "SELECT siret, siren, name, naf, headcount_code, commune, site_id, plot_id, ST_AsBinary(geom) AS wkb "
            f"FROM foncier_establishment WHERE published AND active AND site_id IN ({marks}) ORDER BY siret", site_ids)
        geoms = [shapely.from_wkb(bytes(b)) if b is not None else None for b in est.pop("wkb")]
        frame = pd.DataFrame({
            "siret": est["siret"], "siren": est["siren"], "nom": est["name"], "naf": est["naf"],
            "filiere": [labels.get(f, f) for f in filiere_of(est["naf"])] if len(est) else [],
            "tranche_effectif": est["headcount_code"], "emplois_estimes": jobs_of(est["headcount_code"]) if len(est) else [],
            "commune": est["commune"], "site_id": est["site_id"], "terr_id": est["plot_id"],
        })
        return frame, geoms
    au = free_au_zones(wh)
    if epci:
        au = au[au["commune"].map(_epci_of(wh)) == epci]
    frame = pd.DataFrame({"zone_id": au["zone_id"], "libelle": au["label"], "type": au["zone_type"],
                          "commune": au["commune"], "surface_ha": au["area_ha"], "surface_libre_ha": au["free_ha"]})
    return frame.reset_index(drop=True), _ids_geoms(wh, "foncier_plu_zone", "zone_id", au["zone_id"].tolist())


def _export_meta(layers: list[str], synthetic: bool, epci: Optional[str]) -> list[list[str]]:
    from datetime import datetime, timezone

    rows = [["Vigie — atlas du foncier économique", ""],
            ["Export du", datetime.now(timezone.utc).astimezone().strftime("%d/%m/%Y %H:%M")],
            ["Système de coordonnées", "Lambert-93 (EPSG:2154)"],
            ["Périmètre", f"EPCI {epci}" if epci else "toutes les zones de l'entrepôt"]]
    rows += [[f"Couche {name}", f"{EXPORT_LAYERS[name]}. {LAYER_NOTES[name]}"] for name in layers]
    if synthetic:
        rows.append(["Attention", f"Zones, terrains, établissements et zonage : {SYNTHETIC_MARK} ; ils ne décrivent pas la réalité."])
    return rows


def _plain_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Codes and texts as Python objects (never numbers: 62001 stays a text), numbers as float64."""
    out = frame.copy()
    for column in out.columns:
        kind = out[column].dtype.kind
        if kind in "iuf":
            out[column] = out[column].astype("float64") if kind == "f" else out[column].astype("int64")
        elif kind == "b":
            continue
        else:
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out


def layers_xlsx(wh, layers: list[str], epci: Optional[str] = None) -> bytes:
    """An XLSX workbook: one sheet per layer (x_l93 / y_l93 = a point inside each geometry) and « Métadonnées »."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    synthetic = _synthetic(wh)
    for name in layers:
        frame, geoms = export_layer(wh, name, epci)
        frame = _plain_frame(frame)
        points = [g.representative_point() if g is not None and not g.is_empty else None for g in geoms]
        frame["x_l93"] = [round(p.x, 1) if p is not None else None for p in points]
        frame["y_l93"] = [round(p.y, 1) if p is not None else None for p in points]
        if synthetic:
            frame["remarque"] = SYNTHETIC_MARK
        sheet = wb.create_sheet(name)
        sheet.append(list(frame.columns))
        for cell in sheet[1]:
            cell.font = bold
        for row in frame.itertuples(index=False, name=None):
            sheet.append([None if isinstance(v, float) and not np.isfinite(v) else v for v in row])
        for cell in sheet["A"][1:]:
            cell.number_format = "@"
        sheet.freeze_panes = "B2"
    meta = wb.create_sheet("Métadonnées")
    for row in _export_meta(layers, synthetic, epci):
        meta.append(row)
    meta.column_dimensions["A"].width = 28
    meta.column_dimensions["B"].width = 110
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def layers_gpkg(wh, layers: list[str], epci: Optional[str] = None) -> bytes:
    """A GeoPackage (Lambert-93): one layer per atlas layer and a `metadonnees` table."""
    import tempfile
    from pathlib import Path

    import geopandas as gpd
    import pyogrio

    synthetic = _synthetic(wh)
    with tempfile.TemporaryDirectory(prefix="vigie-atlas-") as tmp:
        path = Path(tmp) / "atlas.gpkg"
        for name in layers:
            frame, geoms = export_layer(wh, name, epci)
            frame = _plain_frame(frame)
            frame["donnees_fictives"] = synthetic
            layer = gpd.GeoDataFrame(frame, geometry=list(geoms), crs=2154)
            pyogrio.write_dataframe(layer, path, layer=name, driver="GPKG", promote_to_multi=name != "etablissements")
        meta = pd.DataFrame(_export_meta(layers, synthetic, epci), columns=["rubrique", "texte"]).astype(object)
        pyogrio.write_dataframe(meta, path, layer="metadonnees", driver="GPKG")
        return path.read_bytes()


def export_file(wh, layer: str, format: str, epci: Optional[str] = None) -> tuple[bytes, str, str]:
    """(content, media type, file name) of an atlas export; `layer` = a layer name or `atlas` (all of them)."""
    from vigie.publish.exports import FORMATS, ascii_name
    from vigie.publish.params import ParameterError

    if format not in EXPORT_FORMATS:
        raise ParameterError(f"Format « {format} » inconnu pour l'atlas : {' ou '.join(EXPORT_FORMATS)}.")
    if layer != "atlas" and layer not in EXPORT_LAYERS:
        raise NotFoundError(f"Couche « {layer} » inconnue : atlas (toutes), {', '.join(EXPORT_LAYERS)}.")
    layers = list(EXPORT_LAYERS) if layer == "atlas" else [layer]
    content = layers_gpkg(wh, layers, epci) if format == "gpkg" else layers_xlsx(wh, layers, epci)
    media, extension = FORMATS[format]
    name = f"vigie_foncier_{ascii_name(layer)}" + (f"_{ascii_name(epci)}" if epci else "") + f".{extension}"
    return content, media, name


def router(context: AppContext) -> APIRouter:
    api = APIRouter()
    access = context.access

    @api.get("/api/atlas/zones", tags=["foncier économique"], summary="Zones d'activité et leurs chiffres (GeoJSON)",
             description="Périmètres des zones d'activité (standard CNIG site-eco, WGS84 simplifié) avec surfaces brute, utile "
                         "et disponible, terrains par statut, taux de vacance (terrains vacants / terrains × 100, art. L318-8-2 "
                         "du code de l'urbanisme), établissements, emplois (milieu de tranche d'effectif), filières et friches. "
                         "Filtres : EPCI (SIREN), vocation, filière, état.")
    def api_zones(epci: Optional[str] = Query(None, description="SIREN de l'EPCI."),
                  vocation: Optional[str] = Query(None, description="Vocation dominante (site_vocadomi)."),
                  filiere: Optional[str] = Query(None, description="Identifiant de filière (filieres.yaml)."),
                  etat: Optional[str] = Query(None, description="État de la zone (site_etat).")):
        with access.use() as wh:
            zones = filtered_zones(wh, epci, vocation, filiere, etat)
            geoms = _geoms(wh, "foncier_site", "site_id", zones["site_id"].tolist())
            out = _features(zones, geoms)
            out["synthetic"] = _synthetic(wh)
        return JSONResponse(out)

    @api.get("/api/atlas/terrains", tags=["foncier économique"], summary="Terrains des zones et leur statut actuel (GeoJSON)",
             description="Terrains (unités foncières, standard CNIG terrain-eco) avec le stade de commercialisation et l'état "
                         "d'occupation actuels (dernier changement de l'historique des statuts).")
    def api_plots(zone: Optional[str] = Query(None, description="Identifiant de zone (site_id)."),
                  statut: Optional[str] = Query(None, description="Stade de commercialisation actuel.")):
        with access.use() as wh:
            require_schema(wh)
            plots = plot_statuses(wh)
            if zone:
                plots = plots[plots["site_id"] == zone]
            if statut:
                plots = plots[plots["sale_stage"] == statut]
            plots = plots.reset_index(drop=True)
            out = _features(plots, _geoms(wh, "foncier_plot", "plot_id", plots["plot_id"].tolist()))
        return JSONResponse(out)

    @api.get("/api/atlas/etablissements", tags=["foncier économique"], summary="Établissements des zones (GeoJSON)",
             description="Établissements actifs situés dans les zones, avec leur code NAF, leur filière et leur tranche "
                         "d'effectif. Les établissements en diffusion partielle (SIRENE) ne sont jamais listés.")
    def api_establishments(zone: Optional[str] = Query(None, description="Identifiant de zone (site_id)."),
                           filiere: Optional[str] = Query(None, description="Identifiant de filière.")):
        with access.use() as wh:
            require_schema(wh)
            sql = ("SELECT siret, name, naf, headcount_code, site_id, plot_id, ST_AsBinary(geom) AS wkb "
                   "FROM foncier_establishment WHERE published AND active AND site_id IS NOT NULL")
            params: list[Any] = []
            if zone:
                sql += " AND site_id = ?"
                params.append(zone)
            est = wh.query_df(sql + " ORDER BY siret", params)
        geoms = reproject(shapely.from_wkb([bytes(b) for b in est.pop("wkb")]), LAMBERT93, WGS84) if len(est) else []
        geoms = shapely.set_precision(np.asarray(geoms, dtype=object), 1e-6) if len(est) else geoms
        est["filiere"] = filiere_of(est["naf"]) if len(est) else []
        est["jobs"] = jobs_of(est["headcount_code"]) if len(est) else []
        if filiere:
            keep = (est["filiere"] == filiere).to_numpy()
            est, geoms = est[keep].reset_index(drop=True), np.asarray(geoms, dtype=object)[keep]
        return JSONResponse(_features(est, geoms))

    @api.get("/api/atlas/au", tags=["foncier économique"], summary="Zones AU à vocation économique encore libres",
             description="Zones à urbaniser (AUc, AUs) des PLU dont la destination dominante est l'activité (DESTDOMI 02), "
                         "avec leur surface et la surface encore libre (hors zones d'activité, sauf leurs terrains vacants "
                         "ou disponibles).")
    def api_au():
        with access.use() as wh:
            require_schema(wh)
            au = free_au_zones(wh)
            out = _features(au, _geoms(wh, "foncier_plu_zone", "zone_id", au["zone_id"].tolist()))
        return JSONResponse(out)

    @api.get("/api/atlas/territoires", tags=["foncier économique"], summary="Totaux de l'atlas par territoire",
             description="Stocks des zones sommés par commune, EPCI ou niveau supérieur ; taux de vacance recalculé à partir "
                         "des terrains sommés (jamais une moyenne de taux).")
    def api_totals(niveau: str = Query("epci", description="commune, epci, pole_metropolitain, scot…")):
        with access.use() as wh:
            frame = totals(wh, niveau)
        return JSONResponse({"level": niveau, "territories": [{k: _clean(v) for k, v in r.items()} for r in frame.to_dict("records")]})

    @api.get("/api/atlas/zones/{site_id}", tags=["foncier économique"], summary="Fiche d'une zone d'activité",
             description="Chiffres de la zone, terrains, établissements publiables, friches proches et historique des statuts.")
    def api_zone(site_id: str):
        with access.use() as wh:
            return JSONResponse(zone_detail(wh, site_id))

    @api.get("/atlas", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, niveau: str = "epci"):
        with access.use() as wh:
            if "foncier_site" not in existing_tables(wh):
                raise NotFoundError("L'entrepôt ne contient aucune zone d'activité : importez un inventaire CNIG ou lancez la démonstration.")
            zones = zone_table(wh)
            frame = totals(wh, niveau, zones)
            epcis = sorted({(c, n) for c, n in wh.query(
                "SELECT DISTINCT m.parent_code, t.name FROM membership m JOIN territory t ON t.level = 'epci' AND t.code = m.parent_code "
                "AND t.cog = m.cog WHERE m.cog = ? AND m.parent_level = 'epci' AND m.child_code IN (SELECT commune FROM foncier_site)",
                (wh.latest_cog("commune"),))})
            synthetic = _synthetic(wh)
        view = {
            "level": niveau, "levels": LEVELS, "synthetic": synthetic,
            "rows": [_row(r) for r in frame.to_dict("records")],
            "zones": [_zone_row(r) for r in zones.sort_values("name").to_dict("records")],
            "epcis": epcis, "vocations": sorted(zones["vocation"].unique()), "states": sorted(zones["state"].unique()),
            "filieres": sorted(filiere_labels().items(), key=lambda kv: kv[1]),
            "exports": list(EXPORT_LAYERS.items()),
        }
        return request.app.state.render(request, "atlas.html", "atlas", "Atlas du foncier économique — Vigie", atlas=view,
                                        config={"atlas": {"filieres": dict(view["filieres"])}})

    @api.get("/atlas/zone/{site_id}", response_class=HTMLResponse, include_in_schema=False)
    def zone_page(request: Request, site_id: str):
        with access.use() as wh:
            detail = zone_detail(wh, site_id)
        return request.app.state.render(request, "atlas_zone.html", "atlas", f"{detail['zone']['name']} — Foncier éco. — Vigie",
                                        zone=zone_view(detail), config={"atlasZone": {"id": site_id}})

    @api.get("/api/atlas/zones/{site_id}/fiche.pdf", tags=["foncier économique"], response_class=Response,
             summary="Fiche PDF d'une zone d'activité",
             description="La fiche imprimable de la zone (carte vectorielle des terrains par statut, des établissements "
                         "et des friches proches, surfaces, vacance, filières, historique des statuts, sources), celle "
                         "de « vigie foncier fiche ».",
             responses={200: {"content": {"application/pdf": {}}, "description": "Le PDF."},
                        404: {"description": "Zone inconnue."}})
    def api_zone_pdf(site_id: str):
        import tempfile
        from pathlib import Path

        from vigie.modules.foncier import report_zone

        with access.use() as wh:
            [data] = report_zone.collect(wh, [site_id])
        with tempfile.TemporaryDirectory(prefix="vigie-fiche-") as tmp:
            path = Path(tmp) / "fiche.pdf"
            report_zone.render(data, path)
            content = path.read_bytes()
        name = report_zone.file_stem(site_id) + ".pdf"
        return Response(content, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @api.get("/api/atlas/export/{fichier}", tags=["foncier économique"], response_class=Response,
             summary="Télécharger une couche de l'atlas (GeoPackage ou XLSX)",
             description="`/api/atlas/export/{couche}.{gpkg|xlsx}` avec couche = zones, terrains, etablissements "
                         "(diffusion publique seulement), au (zones AU économiques) ou atlas (toutes les couches). "
                         "GeoPackage en Lambert-93 (EPSG:2154) avec une table « metadonnees » ; XLSX avec une feuille par "
                         "couche (point représentatif en Lambert-93) et une feuille « Métadonnées ». Les données fictives "
                         "de démonstration sont signalées.",
             responses={200: {"content": {"application/geopackage+sqlite3": {},
                                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
                              "description": "Le fichier."},
                        404: {"description": "Couche inconnue ou atlas absent."}})
    def api_export(fichier: str, epci: Optional[str] = Query(None, description="SIREN de l'EPCI (toutes les zones par défaut).")):
        layer, _dot, format = fichier.rpartition(".")
        with access.use() as wh:
            content, media, name = export_file(wh, layer or fichier, format, epci)
        return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return api


def zone_detail(wh, site_id: str) -> dict[str, Any]:
    require_schema(wh)
    zones = zone_table(wh)
    found = zones[zones["site_id"] == site_id]
    if found.empty:
        raise NotFoundError(f"Aucune zone d'activité n'a l'identifiant « {site_id} ».")
    zone = {k: _clean(v) for k, v in found.iloc[0].to_dict().items()}
    zone["filieres"] = json.loads(zone["filieres"])
    zone["plots_by_status"] = json.loads(zone["plots_by_status"])
    plots = plot_statuses(wh)
    plots = plots[plots["site_id"] == site_id].sort_values("plot_id")
    est = wh.query_df("SELECT siret, name, naf, headcount_code, plot_id FROM foncier_establishment "
                      "WHERE site_id = ? AND active AND published ORDER BY name, siret", (site_id,))
    est["filiere"] = filiere_of(est["naf"])
    hidden = wh.query("SELECT count(*) FROM foncier_establishment WHERE site_id = ? AND active AND NOT published", (site_id,))[0][0]
    history = wh.query_df("SELECT object_kind, object_id, field, previous, value, changed_on, author, note FROM foncier_status_change "
                          "WHERE (object_kind = 'site' AND object_id = ?) OR (object_kind = 'plot' AND object_id IN "
                          "(SELECT plot_id FROM foncier_plot WHERE site_id = ?)) ORDER BY changed_on DESC, seq DESC", (site_id, site_id))
    return {
        "zone": zone,
        "plots": [{k: _clean(v) for k, v in r.items()} for r in plots[["plot_id", "gross_ha", "sale_stage", "occupancy", "vacant", "available"]].to_dict("records")],
        "establishments": [{k: _clean(v) for k, v in r.items()} for r in est.to_dict("records")],
        "unpublished_establishments": int(hidden),
        "friches": [{k: _clean(v) for k, v in r.items()} for r in zone_friches(wh, site_id).to_dict("records")],
        "friche_distance_m": FRICHE_DISTANCE_M,
        "history": [{k: _clean(v) for k, v in r.items()} for r in history.head(200).to_dict("records")],
        "synthetic": _synthetic(wh),
    }


def _row(r: dict) -> dict:
    return {"code": r["code"], "name": r["name"] or r["code"], "zones": fmt.number(r["zones"]),
            "gross": fmt.quantity(r["gross_ha"], "ha", 1), "available": fmt.quantity(r["available_ha"], "ha", 1),
            "plots": fmt.number(r["plots"]), "vacancy": fmt.percent(r["vacancy_rate"], 1),
            "establishments": fmt.number(r["establishments"]), "jobs": fmt.number(r["jobs"])}


def _zone_row(r: dict) -> dict:
    labels = filiere_labels()
    return {"id": r["site_id"], "name": r["name"], "vocation": r["vocation"], "state": r["state"],
            "gross": fmt.quantity(r["gross_ha"], "ha", 1), "available": fmt.quantity(r["available_ha"], "ha", 1),
            "vacancy": fmt.percent(r["vacancy_rate"], 1) if r["plots"] else "–",
            "establishments": fmt.number(r["establishments"]), "jobs": fmt.number(r["jobs"]),
            "filiere": labels.get(r["main_filiere"], "–") if r["main_filiere"] else "–"}


def zone_view(d: dict) -> dict:
    z = d["zone"]
    labels = filiere_labels()
    return {
        "id": z["site_id"], "name": z["name"], "synthetic": d["synthetic"],
        "figures": [("Vocation", z["vocation"]), ("État", z["state"]), ("Commune", z["commune"]),
                    ("Surface brute", fmt.quantity(z["gross_ha"], "ha", 1)), ("Surface utile", fmt.quantity(z["usable_ha"], "ha", 1)),
                    ("Surface disponible", fmt.quantity(z["available_ha"], "ha", 1)), ("Terrains", fmt.number(z["plots"])),
                    ("Taux de vacance", fmt.percent(z["vacancy_rate"], 1) if z["plots"] else "–"),
                    ("Établissements", fmt.number(z["establishments"])), ("Emplois estimés", fmt.number(z["jobs"])),
                    ("Friches dans la zone", fmt.number(z["friches_inside"])),
                    (f"Friches à moins de {fmt.number(d['friche_distance_m'])} m", fmt.number(z["friches_near"]))],
        "filieres": [(labels.get(k, k), fmt.number(v)) for k, v in z["filieres"].items()],
        "plots": [(p["plot_id"], fmt.quantity(p["gross_ha"], "ha", 2), p["sale_stage"], p["occupancy"]) for p in d["plots"]],
        "establishments": [(e["name"] or e["siret"], e["siret"], e["naf"], labels.get(e["filiere"], e["filiere"])) for e in d["establishments"]],
        "hidden": d["unpublished_establishments"],
        "friches": [(f["name"] or f["feature_id"], fmt.quantity(f["distance_m"], "m", 0)) for f in d["friches"]],
        "history": [(fmt.long_date(pd.Timestamp(h["changed_on"]).date()), h["object_id"], h["field"], h["previous"] or "—", h["value"], h["author"])
                    for h in d["history"]],
    }
