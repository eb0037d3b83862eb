"""The economic-land atlas in the observatory: JSON/GeoJSON API under `/api/atlas/…`, the map page `/atlas` and one
page per zone `/atlas/zone/{site_id}`; downloads: the layers as GeoPackage / XLSX (`/api/atlas/export/{couche}.{gpkg|xlsx}`,
also used by `vigie foncier exporter --format gpkg|xlsx`) and a zone's PDF fiche (`/api/atlas/zones/{id}/fiche.pdf`).

Establishments in SIRENE partial diffusion are never listed nor mapped: they only count in the zone figures.

Editing (issue 9): the editors of the organisation owning a zone change the status of its plots and of the zone on
the zone page (a CSRF-protected form per plot) or through `POST /api/atlas/terrains/{id}/statut` and
`POST /api/atlas/zones/{id}/statut` (session + `X-CSRF-Token`, or a token with the scope `edition`). The edits live in
the access store (`vigie.access.editing`; the app's warehouse is read-only); the zone page, its API, its history
(`GET /api/atlas/zones/{id}/historique`) and the plots layer read the current status as the last of the warehouse
history ∪ the edits.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from vigie import formatting as fmt
from vigie.errors import NotFoundError
from vigie.modules.foncier.atlas import (FRICHE_DISTANCE_M, filiere_labels, filiere_of, free_au_zones, jobs_of,
                                         plot_statuses, totals, zone_friches, zone_table)
from vigie.modules.foncier.edits import apply_zone_edits, overlay_plot_edits
from vigie.modules.foncier.importing import current_with_edits
from vigie.modules.foncier.schema import existing_tables, require_schema
from vigie.publish.context import AppContext
from vigie.publish.terminal import SYNTHETIC_MARK
from vigie.sources.geo import LAMBERT93, WGS84, reproject

NAVIGATION = [("atlas", "/atlas", "Foncier éco.")]
FIELD_LABELS = {"terr_stade_comm": "Commercialisation", "terr_etat_occup": "Occupation", "site_etat": "État de la zone"}
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


def filtered_zones(wh, epci: Optional[str], vocation: Optional[str], filiere: Optional[str], etat: Optional[str],
                   edits: tuple[list[dict], list[dict]] | None = None) -> pd.DataFrame:
    """The zones (atlas figures) kept by the filters; `edits` = (plot edits, zone edits) of the web app count."""
    zones = zone_table(wh)
    if edits:
        zones = apply_zone_edits(wh, zones, *edits)
    epci_of = _epci_of(wh)
    zones["epci_code"] = zones["commune"].map(epci_of)
    if epci:
        zones = zones[zones["epci_code"] == epci]
    if vocation:
        zones = zones[zones["vocation"] == vocation]
    if etat:
        zones = zones[zones["state"] == etat]
    if filiere:
        keep = [filiere in json.loads(t or "{}") for t in zones["filieres"]]
        zones = zones.loc[pd.Series(keep, index=zones.index, dtype=bool)]
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


def export_layer(wh, layer: str, epci: Optional[str] = None,
                 edits: tuple[list[dict], list[dict]] | None = None) -> tuple[pd.DataFrame, list]:
    """One atlas layer as a frame with French-named columns and its Lambert-93 geometries (same order); `edits`
    (plot edits, zone edits) made in the observatory count, as on the pages."""
    require_schema(wh)
    if layer not in EXPORT_LAYERS:
        raise NotFoundError(f"Couche « {layer} » inconnue : {', '.join(EXPORT_LAYERS)}.")
    zones = filtered_zones(wh, epci, None, None, None, edits)
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
        plots = overlay_plot_edits(wh, plot_statuses(wh), edits[0] if edits else [])
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


def layers_xlsx(wh, layers: list[str], epci: Optional[str] = None, edits=None) -> bytes:
    """An XLSX workbook: one sheet per layer (x_l93 / y_l93 = a point inside each geometry) and « Métadonnées »."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    synthetic = _synthetic(wh)
    for name in layers:
        frame, geoms = export_layer(wh, name, epci, edits)
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


def layers_gpkg(wh, layers: list[str], epci: Optional[str] = None, edits=None) -> bytes:
    """A GeoPackage (Lambert-93): one layer per atlas layer and a `metadonnees` table."""
    import tempfile
    from pathlib import Path

    import geopandas as gpd
    import pyogrio

    synthetic = _synthetic(wh)
    with tempfile.TemporaryDirectory(prefix="vigie-atlas-") as tmp:
        path = Path(tmp) / "atlas.gpkg"
        for name in layers:
            frame, geoms = export_layer(wh, name, epci, edits)
            frame = _plain_frame(frame)
            frame["donnees_fictives"] = synthetic
            layer = gpd.GeoDataFrame(frame, geometry=list(geoms), crs=2154)
            pyogrio.write_dataframe(layer, path, layer=name, driver="GPKG", promote_to_multi=name != "etablissements")
        meta = pd.DataFrame(_export_meta(layers, synthetic, epci), columns=["rubrique", "texte"]).astype(object)
        pyogrio.write_dataframe(meta, path, layer="metadonnees", driver="GPKG")
        return path.read_bytes()


def export_file(wh, layer: str, format: str, epci: Optional[str] = None, edits=None) -> tuple[bytes, str, str]:
    """(content, media type, file name) of an atlas export; `layer` = a layer name or `atlas` (all of them)."""
    from vigie.publish.exports import FORMATS, ascii_name
    from vigie.publish.params import ParameterError

    if format not in EXPORT_FORMATS:
        raise ParameterError(f"Format « {format} » inconnu pour l'atlas : {' ou '.join(EXPORT_FORMATS)}.")
    if layer != "atlas" and layer not in EXPORT_LAYERS:
        raise NotFoundError(f"Couche « {layer} » inconnue : atlas (toutes), {', '.join(EXPORT_LAYERS)}.")
    layers = list(EXPORT_LAYERS) if layer == "atlas" else [layer]
    content = layers_gpkg(wh, layers, epci, edits) if format == "gpkg" else layers_xlsx(wh, layers, epci, edits)
    media, extension = FORMATS[format]
    name = f"vigie_foncier_{ascii_name(layer)}" + (f"_{ascii_name(epci)}" if epci else "") + f".{extension}"
    return content, media, name


class StatusChange(BaseModel):
    champ: str = Field(..., description="Champ CNIG : `terr_stade_comm` ou `terr_etat_occup` (terrain), `site_etat` (zone).")
    valeur: str = Field(..., description="Nouvelle valeur (une des valeurs proposées par le champ).")
    note: Optional[str] = Field(None, description="Commentaire facultatif (500 caractères au plus).")


def router(context: AppContext) -> APIRouter:
    from vigie.access import editing
    from vigie.access.policy import Viewer
    from vigie.access.service import AuthenticationError, client_ip, service_for, viewer
    from vigie.access.sessions import CSRF_FIELD

    api = APIRouter()
    access = context.access

    def store():
        return service_for(context).store

    def _plot_edits(plot_ids: list[str] | None) -> list[dict]:
        return [e.as_change() for e in editing.edits(store(), "plot", plot_ids)]

    def all_edits() -> tuple[list[dict], list[dict]]:
        return _plot_edits(None), [e.as_change() for e in editing.edits(store(), "site")]

    def change_json(kind: str, object_id: str, body: StatusChange, request: Request, me: Viewer) -> JSONResponse:
        if not me.authenticated:
            raise AuthenticationError("Connexion requise : connectez-vous ou utilisez un jeton d'accès de portée « edition ».")
        service_for(context).check_csrf(request)
        with access.use() as wh:
            require_schema(wh)
            done = editing.change(wh, store(), me, kind, object_id, body.champ, body.valeur, body.note, client_ip(request))
        if done is None:
            return JSONResponse({"modifie": False, "message": "La valeur est déjà la valeur actuelle : rien n'est enregistré."})
        return JSONResponse({"modifie": True, **_edit_json(done)}, status_code=201)

    @api.post("/api/atlas/terrains/{plot_id}/statut", tags=["foncier économique"], status_code=201,
              summary="Changer le statut d'un terrain",
              description="Enregistre un changement de stade de commercialisation (`terr_stade_comm`) ou d'état "
                          "d'occupation (`terr_etat_occup`) d'un terrain, avec son auteur, sa date et la valeur "
                          "précédente (rien n'est écrasé). Réservé aux éditeurs de l'organisation propriétaire de la "
                          "zone (EPCI de sa commune) : session avec en-tête `X-CSRF-Token`, ou jeton de portée `edition`.",
              responses={200: {"description": "Valeur déjà actuelle : rien n'est enregistré."},
                         401: {"description": "Connexion requise."}, 403: {"description": "Pas éditeur de la zone, ou CSRF absent."},
                         404: {"description": "Terrain inconnu."}, 422: {"description": "Champ ou valeur impossible."}})
    def api_plot_status(plot_id: str, body: StatusChange, request: Request, me: Viewer = Depends(viewer)):
        return change_json("plot", plot_id, body, request, me)

    @api.post("/api/atlas/zones/{site_id}/statut", tags=["foncier économique"], status_code=201,
              summary="Changer l'état d'une zone d'activité",
              description="Enregistre un changement de l'état de la zone (`site_etat`), avec son auteur, sa date et la "
                          "valeur précédente. Mêmes droits que pour un terrain.",
              responses={200: {"description": "Valeur déjà actuelle : rien n'est enregistré."},
                         401: {"description": "Connexion requise."}, 403: {"description": "Pas éditeur de la zone, ou CSRF absent."},
                         404: {"description": "Zone inconnue."}, 422: {"description": "Champ ou valeur impossible."}})
    def api_zone_status(site_id: str, body: StatusChange, request: Request, me: Viewer = Depends(viewer)):
        return change_json("site", site_id, body, request, me)

    @api.get("/api/atlas/zones/{site_id}/historique", tags=["foncier économique"],
             summary="Historique des statuts d'une zone et de ses terrains",
             description="Tous les changements de statut de la zone et de ses terrains, les plus récents d'abord : ceux "
                         "des imports (`origine` = `import`) et ceux faits dans l'observatoire (`origine` = `web`), avec "
                         "valeur précédente, nouvelle valeur, auteur et date.",
             responses={404: {"description": "Zone inconnue."}})
    def api_zone_history(site_id: str):
        with access.use() as wh:
            require_schema(wh)
            editing.site_of(wh, "site", site_id)
            rows = zone_history(wh, site_id, editing.zone_edits(wh, store(), site_id))
        return JSONResponse({"zone": site_id, "count": len(rows), "changes": rows},
                            headers={"Cache-Control": "no-store"})

    @api.post("/atlas/zone/{site_id}/statut", include_in_schema=False)
    async def zone_form(request: Request, site_id: str):
        from urllib.parse import parse_qs

        body = await request.body()
        if len(body) > 16_384:
            raise editing.InvalidEdit("Formulaire trop volumineux.")
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True).items()}
        svc = service_for(context)
        svc.check_csrf(request, form.get(CSRF_FIELD, ""))
        me = svc.viewer_of(request)
        kind = "site" if form.get("objet") == "zone" else "plot"
        object_id = site_id if kind == "site" else form.get("id", "")
        with access.use() as wh:
            require_schema(wh)
            if editing.site_of(wh, kind, object_id) != site_id:
                raise NotFoundError(f"Aucun terrain « {object_id} » dans cette zone.")
            for field in editing.FIELDS[kind]:
                if form.get(field):
                    editing.change(wh, svc.store, me, kind, object_id, field, form[field], form.get("note"), client_ip(request))
        prefix = request.scope.get("root_path", "").rstrip("/")
        response = RedirectResponse(f"{prefix}/atlas/zone/{site_id}#zone-historique", status_code=303)
        response.headers["Cache-Control"] = "no-store"
        return response

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
            zones = filtered_zones(wh, epci, vocation, filiere, etat, all_edits())
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
            plots = overlay_plot_edits(wh, plots, _plot_edits(plots["plot_id"].tolist() if zone else None))
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
            frame = totals(wh, niveau, apply_zone_edits(wh, zone_table(wh), *all_edits()))
        return JSONResponse({"level": niveau, "territories": [{k: _clean(v) for k, v in r.items()} for r in frame.to_dict("records")]})

    @api.get("/api/atlas/zones/{site_id}", tags=["foncier économique"], summary="Fiche d'une zone d'activité",
             description="Chiffres de la zone, terrains, établissements publiables, friches proches et historique des statuts.")
    def api_zone(site_id: str):
        with access.use() as wh:
            return JSONResponse(zone_detail(wh, site_id, store()))

    @api.get("/atlas", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, niveau: str = "epci"):
        with access.use() as wh:
            if "foncier_site" not in existing_tables(wh):
                raise NotFoundError("L'entrepôt ne contient aucune zone d'activité : importez un inventaire CNIG ou lancez la démonstration.")
            zones = apply_zone_edits(wh, zone_table(wh), *all_edits())
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
        svc = service_for(context)
        me = svc.viewer_of(request)
        with access.use() as wh:
            detail = zone_detail(wh, site_id, svc.store)
            editable = me.via == "session" and editing.can_edit_site(wh, svc.store, me, site_id)
        session = svc.session_of(request) if editable else None
        edit = None
        if editable and session is not None:
            edit = {"csrf": session.csrf, "fields": {kind: [(f, label, list(choices)) for f, (label, choices) in fields.items()]
                                                      for kind, fields in editing.FIELDS.items()}}
        response = request.app.state.render(request, "atlas_zone.html", "atlas", f"{detail['zone']['name']} — Foncier éco. — Vigie",
                                            zone=zone_view(detail), edit=edit, config={"atlasZone": {"id": site_id}})
        if edit is not None:
            response.headers["Cache-Control"] = "private, no-store"
        return response

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
            [data] = report_zone.collect(wh, [site_id], edits=all_edits())
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
            content, media, name = export_file(wh, layer or fichier, format, epci, all_edits())
        return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return api


def zone_history(wh, site_id: str, edits=()) -> list[dict[str, Any]]:
    """The status changes of a zone and its plots, newest first: the warehouse history (`origine` import) and the
    edits made in the observatory (`origine` web)."""
    history = wh.query_df("SELECT object_kind, object_id, field, previous, value, changed_on, author, note, recorded_at "
                          "FROM foncier_status_change WHERE (object_kind = 'site' AND object_id = ?) OR (object_kind = 'plot' "
                          "AND object_id IN (SELECT plot_id FROM foncier_plot WHERE site_id = ?))", (site_id, site_id))
    rows = []
    for r in history.to_dict("records"):
        changed = pd.Timestamp(r["changed_on"]).date()
        recorded = pd.Timestamp(r.pop("recorded_at")).to_pydatetime() if r.get("recorded_at") is not None else None
        rows.append(((changed, recorded or pd.Timestamp.min.to_pydatetime(), 0),
                     {**{k: _clean(v) for k, v in r.items()}, "changed_on": changed.isoformat(), "origine": "import"}))
    from datetime import datetime, timezone

    for e in edits:
        at = datetime.fromtimestamp(e.at, timezone.utc).replace(tzinfo=None)
        rows.append(((at.date(), at, e.seq), {"object_kind": e.object_kind, "object_id": e.object_id, "field": e.field,
                                                "previous": e.previous, "value": e.value, "changed_on": at.date().isoformat(),
                                                "author": e.author, "note": e.note, "origine": "web",
                                                "recorded_at": at.isoformat(timespec="seconds") + "Z",
                                                "organisation": e.organisation}))
    rows.sort(key=lambda kv: kv[0], reverse=True)
    return [r for _k, r in rows]


def _edit_json(e) -> dict[str, Any]:
    from datetime import datetime, timezone

    return {"objet": e.object_kind, "id": e.object_id, "champ": e.field, "valeur": e.value, "precedent": e.previous,
            "auteur": e.author, "organisation": e.organisation, "note": e.note,
            "date": datetime.fromtimestamp(e.at, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")}


def zone_detail(wh, site_id: str, store=None) -> dict[str, Any]:
    """A zone's figures, plots, establishments, friches and status history; with the access `store`, the edits made
    in the observatory count (current statuses, figures recomputed, history)."""
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
    edits = []
    if store is not None:
        from vigie.access import editing

        edits = editing.zone_edits(wh, store, site_id)
        plot_edits = [e.as_change() for e in edits if e.object_kind == "plot"]
        if plot_edits:
            plots = overlay_plot_edits(wh, plots, plot_edits)
            n = len(plots)
            zone["plots_vacant"] = int(plots["vacant"].sum())
            zone["vacancy_rate"] = 100.0 * zone["plots_vacant"] / n if n else None
            if n:
                zone["available_ha"] = float(plots.loc[plots["available"], "gross_ha"].sum())
            zone["plots_by_status"] = dict(sorted(plots.groupby("sale_stage").size().astype(int).to_dict().items()))
        site_edits = [e.as_change() for e in edits if e.object_kind == "site"]
        if site_edits:
            zone["state"] = current_with_edits(wh, "site", site_edits, [site_id]).get((site_id, "site_etat"), zone["state"])
    est = wh.query_df("SELECT siret, name, naf, headcount_code, plot_id FROM foncier_establishment "
                      "WHERE site_id = ? AND active AND published ORDER BY name, siret", (site_id,))
    est["filiere"] = filiere_of(est["naf"])
    hidden = wh.query("SELECT count(*) FROM foncier_establishment WHERE site_id = ? AND active AND NOT published", (site_id,))[0][0]
    history = zone_history(wh, site_id, edits)
    return {
        "zone": zone,
        "plots": [{k: _clean(v) for k, v in r.items()} for r in plots[["plot_id", "gross_ha", "sale_stage", "occupancy", "vacant", "available"]].to_dict("records")],
        "establishments": [{k: _clean(v) for k, v in r.items()} for r in est.to_dict("records")],
        "unpublished_establishments": int(hidden),
        "friches": [{k: _clean(v) for k, v in r.items()} for r in zone_friches(wh, site_id).to_dict("records")],
        "friche_distance_m": FRICHE_DISTANCE_M,
        "history": history[:200],
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
        "id": z["site_id"], "name": z["name"], "synthetic": d["synthetic"], "state": z["state"],
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
        "history": [(fmt.long_date(pd.Timestamp(h["changed_on"]).date()), h["object_id"], FIELD_LABELS.get(h["field"], h["field"]),
                     h["previous"] or "—", h["value"], h["author"], "observatoire" if h["origine"] == "web" else "import")
                    for h in d["history"]],
    }
