"""The atlas as the observatory shows it: the warehouse's figures with the status edits made on the web counted.

Edits live in the access store (`vigie.access.editing`; the app reads the warehouse read-only); a plot's or zone's
current status is the last of the warehouse history ∪ those edits (`importing.current_with_edits`). The pages, the
layers, the downloads and the zone fiches all go through these two functions.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from vigie.modules.foncier.atlas import is_available, is_vacant, plot_statuses
from vigie.modules.foncier.importing import current_with_edits


def overlay_plot_edits(wh, plots: pd.DataFrame, edits: list[dict]) -> pd.DataFrame:
    """Plots (as `plot_statuses` gives them) with their status as the last of the warehouse history ∪ `edits`
    (`vigie.access.editing`), and `vacant` / `available` recomputed."""
    if not edits or plots.empty:
        return plots
    merged = current_with_edits(wh, "plot", edits, object_ids=sorted({e["object_id"] for e in edits}))
    plots = plots.copy()
    for field, column in (("terr_stade_comm", "sale_stage"), ("terr_etat_occup", "occupancy")):
        plots[column] = [merged.get((p, field), v) for p, v in zip(plots["plot_id"], plots[column])]
    plots["vacant"] = np.array([is_vacant(v) for v in plots["occupancy"]], dtype=bool)
    plots["available"] = np.array([is_available(v) and u is not False for v, u in zip(plots["sale_stage"], plots["usable"])],
                                  dtype=bool)
    return plots


def apply_zone_edits(wh, zones: pd.DataFrame, plot_edits: list[dict], site_edits: list[dict]) -> pd.DataFrame:
    """Zone figures (`zone_table`) with the web app's edits counted: for the zones with an edited plot, vacant plots,
    vacancy rate, available area and plots by status recomputed from the current statuses; the zones' state."""
    if not plot_edits and not site_edits:
        return zones
    zones = zones.copy()
    if plot_edits:
        plots = plot_statuses(wh)
        touched = set(plots.loc[plots["plot_id"].isin({e["object_id"] for e in plot_edits}), "site_id"])
        plots = overlay_plot_edits(wh, plots[plots["site_id"].isin(touched)], plot_edits)
        for site, group in plots.groupby("site_id"):
            mask = zones["site_id"] == site
            vacant = int(group["vacant"].sum())
            zones.loc[mask, "plots_vacant"] = vacant
            zones.loc[mask, "vacancy_rate"] = 100.0 * vacant / len(group)
            zones.loc[mask, "available_ha"] = float(group.loc[group["available"], "gross_ha"].sum())
            counts = {str(k): int(v) for k, v in group.groupby("sale_stage").size().items()}
            zones.loc[mask, "plots_by_status"] = json.dumps(dict(sorted(counts.items())), ensure_ascii=False)
    if site_edits:
        merged = current_with_edits(wh, "site", site_edits, sorted({e["object_id"] for e in site_edits}))
        zones["state"] = [merged.get((z, "site_etat"), v) for z, v in zip(zones["site_id"], zones["state"])]
    return zones
