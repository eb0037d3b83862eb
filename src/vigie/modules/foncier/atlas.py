"""Atlas figures: per activity zone, then per commune, EPCI or any level above (PMA…).

Per zone (CNIG SITE-ECO):
- `gross_ha`, `usable_ha`: the inventory's `site_surf_brute` and `site_surf_utile` (hectares);
- plots (`plots`, `plots_vacant`, `plots_by_status`): from the plots' *current* status, i.e. the last change of the
  status history (`terr_stade_comm`, `terr_etat_occup`), the plot table's value when the history has none;
- `vacancy_rate` (%): vacant plots / plots × 100 — the zone vacancy rate of art. L318-8-2 of the code de l'urbanisme
  as the CNIG standard carries it (`site_taux_vacance` = `site_uf_vacant_nbre` / `site_uf_nbre`), with units
  foncières = the zone's plots and "vacant" = a current `terr_etat_occup` saying vacant / inoccupé / libre;
  NaN for a zone without plots;
- `available_ha`: plots on sale now (current `terr_stade_comm` saying disponible / en commercialisation / à
  commercialiser, and `terr_utile` not "non"), summed; a zone without plots keeps the inventory's
  `site_surf_comm_dispo` (0 when absent);
- `establishments`, `jobs`, `jobs_unknown`: active establishments located in the zone; jobs by the **bracket
  midpoint convention**: each INSEE headcount bracket (`trancheEffectifs…`) counts for the middle of its range
  (01 = 1–2 → 1.5; 12 = 20–49 → 34.5; 53 = 10 000 and more → 10 000); "NN", empty or unknown brackets count 0 job and
  are counted in `jobs_unknown`. Establishments in partial diffusion count here like any other;
- `filieres`: establishments per filière (`filieres.yaml`, NAF prefix table), and `main_filiere`;
- `friches_inside`, `friches_near`: Cartofriches sites (layer `friches` of `layer_feature`) intersecting the zone, and
  within `friche_distance` metres of it without intersecting it.
Totals (`totals`) sum the stocks of the zones of each territory (a zone belongs to the commune of `site_comm_insee`,
that commune to its EPCI, PMA… by the membership table at the latest COG) and recompute the rates from the summed
counts (never an average of rates).

Economic AU zones still free (`free_au_zones`): PLU zones of type AUc/AUs with an economic destination (see `plu.py`),
minus the parts covered by an activity zone — except that the zone's vacant or available plots count as free.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import yaml

from vigie.errors import ConfigurationError
from vigie.modules.foncier.schema import existing_tables, require_schema
from vigie.warehouse import Warehouse

FILIERES = Path(__file__).with_name("filieres.yaml")
FRICHE_DISTANCE_M = 200.0

# INSEE headcount brackets → jobs (midpoint of the bracket).
JOBS_BY_BRACKET = {
    "00": 0.0, "01": 1.5, "02": 4.0, "03": 7.5, "11": 14.5, "12": 34.5, "21": 74.5, "22": 149.5, "31": 224.5,
    "32": 374.5, "41": 749.5, "42": 1499.5, "51": 3499.5, "52": 7499.5, "53": 10000.0,
}
BRACKET_LABELS = {
    "00": "0 salarié", "01": "1 ou 2 salariés", "02": "3 à 5 salariés", "03": "6 à 9 salariés", "11": "10 à 19 salariés",
    "12": "20 à 49 salariés", "21": "50 à 99 salariés", "22": "100 à 199 salariés", "31": "200 à 249 salariés",
    "32": "250 à 499 salariés", "41": "500 à 999 salariés", "42": "1 000 à 1 999 salariés", "51": "2 000 à 4 999 salariés",
    "52": "5 000 à 9 999 salariés", "53": "10 000 salariés et plus", "NN": "effectif inconnu",
}
VACANT_WORDS = ("vacant", "inoccup", "libre", "non occup")
AVAILABLE_WORDS = ("disponible", "en commercialisation", "a commercialiser", "en vente")
STOCKS = ["zones", "gross_ha", "usable_ha", "available_ha", "plots", "plots_vacant", "establishments", "jobs",
          "jobs_unknown", "friches_inside", "friches_near"]


def _plain(text: Any) -> str:
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return text.lower().strip()


def is_vacant(occupancy: Any) -> bool:
    return any(w in _plain(occupancy) for w in VACANT_WORDS)


def is_available(sale_stage: Any) -> bool:
    return any(w in _plain(sale_stage) for w in AVAILABLE_WORDS)


def jobs_of(brackets: pd.Series) -> np.ndarray:
    """Jobs of each establishment by the bracket midpoint convention (NaN for an unknown bracket)."""
    codes = brackets.fillna("").astype(str).str.strip()
    codes = codes.where(codes == "", codes.str.zfill(2))  # "3" → "03"; empty stays unknown
    return codes.map(JOBS_BY_BRACKET).astype(float).to_numpy()


# ---------------------------------------------------------------------------------------------- filières
@dataclass(frozen=True)
class Filiere:
    id: str
    label: str
    prefixes: tuple[str, ...]


@lru_cache(maxsize=8)
def load_filieres(path: str | None = None) -> tuple[Filiere, ...]:
    file = Path(path) if path else FILIERES
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        out = tuple(Filiere(str(f["id"]), str(f["label"]), tuple(str(p).replace(".", "").upper() for p in f["naf"]))
                    for f in data["filieres"])
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"Table des filières illisible ({file.name}) : {exc}.") from None
    return out


def filiere_of(naf: pd.Series, path: str | None = None) -> pd.Series:
    """Filière id of each NAF code (with or without the dot): the longest matching prefix wins (the first filière
    listed on a tie); no match → "autres"."""
    table: dict[str, str] = {}
    for fil in load_filieres(path):
        for prefix in fil.prefixes:
            table.setdefault(prefix, fil.id)
    longest = max((len(k) for k in table), default=0)
    codes = naf.fillna("").astype(str).str.replace(".", "", regex=False).str.upper().str.strip()

    def lookup(code: str) -> str:
        for n in range(min(len(code), longest), 0, -1):
            found = table.get(code[:n])
            if found is not None:
                return found
        return "autres"

    mapping = {code: lookup(code) for code in codes.unique()}
    return codes.map(mapping).astype(object)


def filiere_labels(path: str | None = None) -> dict[str, str]:
    return {f.id: f.label for f in load_filieres(path)} | {"autres": "Autres activités"}


# ---------------------------------------------------------------------------------------------- zones
def plot_statuses(wh: Warehouse) -> pd.DataFrame:
    """Plots with their current sale stage and occupancy (last change of the history, else the imported value)."""
    plots = wh.query_df("SELECT plot_id, site_id, gross_ha, usable, sale_stage, occupancy FROM foncier_plot")
    last = wh.query_df(
        "SELECT object_id, field, value FROM (SELECT object_id, field, value, row_number() OVER (PARTITION BY object_id, "
        "field ORDER BY changed_on DESC, seq DESC) AS r FROM foncier_status_change WHERE object_kind = 'plot') t WHERE r = 1")
    for field, column in (("terr_stade_comm", "sale_stage"), ("terr_etat_occup", "occupancy")):
        current = dict(zip(last.loc[last["field"] == field, "object_id"], last.loc[last["field"] == field, "value"]))
        plots[column] = [current.get(p, v) for p, v in zip(plots["plot_id"], plots[column])]
    plots["vacant"] = np.array([is_vacant(v) for v in plots["occupancy"]], dtype=bool)
    plots["available"] = np.array([is_available(v) and u is not False for v, u in zip(plots["sale_stage"], plots["usable"])],
                                  dtype=bool)
    return plots


def zone_table(wh: Warehouse, friche_distance: float = FRICHE_DISTANCE_M, friche_layer: str = "friches",
               filieres: str | None = None) -> pd.DataFrame:
    """One row per activity zone with the atlas figures (see the module docstring)."""
    require_schema(wh)
    sites = wh.query_df(
        "SELECT site_id, name, site_type, vocation, state, commune, gross_ha, usable_ha, available_ha AS declared_available "
        "FROM foncier_site ORDER BY site_id")
    plots = plot_statuses(wh)
    by_site = plots.groupby("site_id")
    sites["plots"] = sites["site_id"].map(by_site.size()).fillna(0).astype(int)
    sites["plots_vacant"] = sites["site_id"].map(by_site["vacant"].sum()).fillna(0).astype(int)
    avail = plots[plots["available"]].groupby("site_id")["gross_ha"].sum()
    sites["available_ha"] = np.where(sites["plots"] > 0, sites["site_id"].map(avail).fillna(0.0),
                                     sites["declared_available"].fillna(0.0))
    sites["vacancy_rate"] = np.where(sites["plots"] > 0, 100.0 * sites["plots_vacant"] / sites["plots"].where(sites["plots"] > 0, 1), np.nan)
    by_status = _nested_counts(plots, "sale_stage", sort_by_key=True)
    sites["plots_by_status"] = [by_status.get(site, "{}") for site in sites["site_id"]]
    est = wh.query_df("SELECT site_id, naf, headcount_code FROM foncier_establishment WHERE active AND site_id IS NOT NULL")
    est["jobs"] = jobs_of(est["headcount_code"])
    est["filiere"] = filiere_of(est["naf"], filieres)
    g = est.groupby("site_id")
    sites["establishments"] = sites["site_id"].map(g.size()).fillna(0).astype(int)
    sites["jobs"] = sites["site_id"].map(g["jobs"].sum()).fillna(0.0)
    sites["jobs_unknown"] = sites["site_id"].map(est["jobs"].isna().groupby(est["site_id"]).sum()).fillna(0).astype(int)
    by_filiere = _nested_counts(est, "filiere")
    sites["filieres"] = [by_filiere.get(site, "{}") for site in sites["site_id"]]
    sites["main_filiere"] = [next(iter(json.loads(t)), None) for t in sites["filieres"]]
    inside, near = friches_near_zones(wh, friche_distance, friche_layer)
    sites["friches_inside"] = sites["site_id"].map(inside).fillna(0).astype(int)
    sites["friches_near"] = sites["site_id"].map(near).fillna(0).astype(int)
    return sites.drop(columns=["declared_available"])


def _nested_counts(frame: pd.DataFrame, column: str, sort_by_key: bool = False) -> dict[str, str]:
    """{site_id: JSON {value: count}} (most frequent first, ties by value; or by value with `sort_by_key`)."""
    counts: dict[str, dict[str, int]] = {}
    for (site, value), n in frame.groupby(["site_id", column]).size().items():
        counts.setdefault(site, {})[value] = int(n)
    order = (lambda kv: kv[0]) if sort_by_key else (lambda kv: (-kv[1], kv[0]))
    return {site: json.dumps(dict(sorted(c.items(), key=order)), ensure_ascii=False) for site, c in counts.items()}


def friches_near_zones(wh: Warehouse, distance: float, layer: str = "friches") -> tuple[dict[str, int], dict[str, int]]:
    """Friches intersecting each zone, and within `distance` m of it without intersecting it."""
    rows = wh.query(
        "SELECT s.site_id, sum(CASE WHEN ST_Intersects(s.geom, f.geom) THEN 1 ELSE 0 END), "
        "sum(CASE WHEN ST_Intersects(s.geom, f.geom) THEN 0 ELSE 1 END) FROM foncier_site s "
        "JOIN layer_feature f ON f.layer = ? AND ST_DWithin(s.geom, f.geom, ?) GROUP BY s.site_id", (layer, float(distance)))
    return {r[0]: int(r[1]) for r in rows}, {r[0]: int(r[2]) for r in rows}


def zone_friches(wh: Warehouse, site_id: str, distance: float = FRICHE_DISTANCE_M, layer: str = "friches") -> pd.DataFrame:
    """The friches inside or near one zone, with their distance in metres (0 inside)."""
    return wh.query_df(
        "SELECT f.feature_id, f.name, f.commune, ST_Distance(s.geom, f.geom) AS distance_m FROM foncier_site s "
        "JOIN layer_feature f ON f.layer = ? AND ST_DWithin(s.geom, f.geom, ?) WHERE s.site_id = ? ORDER BY distance_m, f.feature_id",
        (layer, float(distance), site_id))


# ---------------------------------------------------------------------------------------------- territories
def totals(wh: Warehouse, level: str, zones: pd.DataFrame | None = None, cog: int | None = None) -> pd.DataFrame:
    """Atlas stocks per territory of `level` (commune, epci, pole_metropolitain…), rates recomputed from the sums."""
    zones = zone_table(wh) if zones is None else zones
    cog = wh.latest_cog("commune") if cog is None else cog
    frame = zones.assign(zones=1)
    if level == "commune":
        frame["code"] = frame["commune"]
    else:
        parents = wh.query_df(
            "SELECT child_code AS commune, parent_code AS code FROM membership WHERE cog = ? AND child_level = 'commune' "
            "AND parent_level = ?", (cog, level))
        frame = frame.merge(parents, on="commune", how="inner")
    out = frame.groupby("code")[STOCKS].sum().reset_index()
    out["vacancy_rate"] = np.where(out["plots"] > 0, 100.0 * out["plots_vacant"] / out["plots"].where(out["plots"] > 0, 1), np.nan)
    fil = frame.groupby("code")["filieres"].agg(lambda s: _sum_json(s))
    out["filieres"] = out["code"].map(fil)
    names = wh.query_df("SELECT code, name FROM territory WHERE level = ? AND cog = ?", (level, cog))
    out = out.merge(names, on="code", how="left")
    return out[["code", "name", *STOCKS, "vacancy_rate", "filieres"]].sort_values("code").reset_index(drop=True)


def _sum_json(values: pd.Series) -> str:
    total: dict[str, int] = {}
    for text in values:
        for k, v in json.loads(text or "{}").items():
            total[k] = total.get(k, 0) + int(v)
    return json.dumps(dict(sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------- AU zones
def free_au_zones(wh: Warehouse) -> pd.DataFrame:
    """Economic AU zones of the PLU and their area still free (ha): not covered by an activity zone, or covered only
    by its vacant / available plots."""
    if "foncier_plu_zone" not in existing_tables(wh):
        return pd.DataFrame(columns=["zone_id", "label", "zone_type", "commune", "area_ha", "free_ha"])
    au = wh.query_df(
        "SELECT zone_id, label, zone_type, commune, ST_AsBinary(geom) AS wkb FROM foncier_plu_zone WHERE economic "
        "AND zone_type IN ('AUc', 'AUs', 'AU') ORDER BY zone_id")
    if au.empty:
        return pd.DataFrame(columns=["zone_id", "label", "zone_type", "commune", "area_ha", "free_ha"])
    geoms = shapely.from_wkb([bytes(b) for b in au.pop("wkb")])
    sites = wh.query_df("SELECT ST_AsBinary(geom) AS wkb FROM foncier_site")
    covered = shapely.union_all(shapely.from_wkb([bytes(b) for b in sites["wkb"]])) if len(sites) else shapely.Polygon()
    plots = plot_statuses(wh)
    free_ids = plots.loc[plots["vacant"] | plots["available"], "plot_id"].tolist()
    if free_ids and not covered.is_empty:
        marks = ", ".join("?" * len(free_ids))
        free = wh.query_df(f"SELECT ST_AsBinary(geom) AS wkb FROM foncier_plot WHERE plot_id IN ({marks})", free_ids)
        covered = shapely.difference(covered, shapely.union_all(shapely.from_wkb([bytes(b) for b in free["wkb"]])))
    au["area_ha"] = shapely.area(geoms) / 10_000
    au["free_ha"] = shapely.area(shapely.difference(geoms, covered)) / 10_000
    return au
