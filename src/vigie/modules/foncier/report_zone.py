"""The PDF fiche of an activity zone (ZAE) of the economic-land atlas, with its XLSX data pack beside it.

Page 1: identity of the zone (commune, EPCI, vocation, state), key figures (gross, usable and available areas,
plots, vacancy rate, establishments, estimated jobs, friches), a vector map of the zone (plots coloured by their
current sale stage, published establishments, friches within `FRICHE_DISTANCE_M`, scale bar and north arrow) and
the plots by status. Then establishments and jobs by filière (chart and table), the friches nearby, an extract of
the status history, the method and the sources. Synthetic data carry the demo mark on every page.

Two steps, as the publications of `vigie.publish.pdf`: `collect(wh, site_ids)` reads everything into plain,
picklable `ZoneFicheData` (the figures are `atlas.zone_table`'s, the same as the web page and the API);
`render(data, path)` draws the PDF without the warehouse; `records(data)` gives the data pack rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from reportlab.lib.colors import HexColor

from vigie.errors import NotFoundError
from vigie.publish.pdf import charts, fonts
from vigie.publish.pdf import numbers as fmt
from vigie.publish.pdf.datapack import Record
from vigie.publish.pdf.document import MUTED, Box, Publication, draw_text
from vigie.publish.pdf.maps import Layer, draw_map
from vigie.publish.pdf.tables import Cell, draw_table

if TYPE_CHECKING:
    from vigie.warehouse import Warehouse

HISTORY_ROWS = 15
MAP_SOURCE = "Zones, terrains : inventaire CNIG « sites économiques » ; établissements : SIRENE ; friches : Cartofriches — carte Vigie"
# Current sale stage → colour of the plot on the map (the same tones as the web atlas).
STAGE_COLOURS = {
    "disponible à la vente": "#2e9d5b",
    "sous option": "#e0a526",
    "vendu, commercialisation achevée": "#8d99a6",
    "non commercialisable": "#b8612a",
}
OTHER_STAGE = "#c7a0c9"
ZONE_STROKE = HexColor("#1d4e89")
ESTABLISHMENT = HexColor("#7a1f5c")
FRICHE = HexColor("#c0392b")
CONTEXT_FILL = HexColor("#f3f5f7")
FIELD_LABELS = {"terr_stade_comm": "commercialisation", "terr_etat_occup": "occupation", "site_etat": "état de la zone"}
METHOD = [
    "Surface disponible : terrains dont le dernier stade de commercialisation connu est « disponible à la vente » "
    "(ou en commercialisation), sauf terrains déclarés non utiles ; à défaut de terrains, la surface déclarée par "
    "l'inventaire.",
    "Taux de vacance : terrains vacants ÷ terrains de la zone × 100 (art. L318-8-2 du code de l'urbanisme, champ "
    "site_taux_vacance du standard CNIG), d'après le dernier état d'occupation connu de chaque terrain.",
    "Emplois estimés : milieu de la tranche d'effectif salarié SIRENE de chaque établissement actif (1 ou 2 salariés → "
    "1,5 ; 20 à 49 → 34,5…) ; effectif inconnu → 0 emploi, compté à part.",
    "Les établissements en diffusion partielle (SIRENE) comptent dans les chiffres mais ne sont ni cartographiés ni "
    "nommés.",
]


@dataclass
class ZoneFicheData:
    """Everything a zone fiche shows (plain data: geometries are shapely objects in Lambert-93)."""

    site_id: str
    name: str
    site_type: str
    vocation: str
    state: str
    commune: tuple[str, str]
    epci: tuple[str, str] | None
    figures: dict[str, float | int | None]  # gross_ha, usable_ha, available_ha, plots, plots_vacant, vacancy_rate…
    plots_by_status: dict[str, int]
    plots_by_status_ha: dict[str, float]
    filieres: list[tuple[str, str, int, float]]  # (id, label, establishments, jobs), most establishments first
    friches: list[tuple[str, str, float]]  # (id, name, distance in metres; 0 inside)
    history: list[tuple[str, str, str, str, str, str]]  # (date, object, field, before, after, author)
    history_total: int
    hidden_establishments: int
    geometry: object
    plot_geometries: list[tuple[str, object]]  # (sale stage, geometry)
    establishment_points: list
    friche_geometries: list
    context: list  # communes around (geometries)
    friche_distance_m: float
    sources: list[str]
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)


def _float(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if value != value else value


def _edit_history(edits: tuple[list[dict], list[dict]], plots: pd.DataFrame, site_ids: list[str]) -> pd.DataFrame:
    """The observatory's edits (plot edits, zone edits) of these zones as rows of the warehouse history."""
    from datetime import datetime, timezone

    site_of_plot = dict(zip(plots["plot_id"], plots["site_id"]))
    rows = []
    for kind, changes in (("plot", edits[0]), ("site", edits[1])):
        for e in changes:
            site = site_of_plot.get(e["object_id"]) if kind == "plot" else e["object_id"]
            if site in site_ids:
                rows.append({"object_kind": kind, "object_id": e["object_id"], "field": e["field"],
                             "previous": e.get("previous"), "value": e["value"],
                             "changed_on": pd.Timestamp(datetime.fromtimestamp(float(e["at"]), timezone.utc).date()),
                             "author": e.get("author") or "observatoire", "site_id": site})
    return pd.DataFrame(rows, columns=["object_kind", "object_id", "field", "previous", "value", "changed_on", "author", "site_id"])


def collect(wh: "Warehouse", site_ids: list[str] | None = None, *, epci: str | None = None,
            distance: float | None = None, edits: tuple[list[dict], list[dict]] | None = None) -> list[ZoneFicheData]:
    """The fiches data of these zones (every zone, or those of `epci`, when `site_ids` is None); `edits` (plot edits,
    zone edits made in the observatory, `vigie.access.editing`) count in the figures, as on the pages."""
    import shapely

    from vigie.modules.foncier.atlas import FRICHE_DISTANCE_M, filiere_labels, filiere_of, jobs_of, plot_statuses, zone_table
    from vigie.modules.foncier.edits import apply_zone_edits, overlay_plot_edits
    from vigie.modules.foncier.schema import require_schema

    require_schema(wh)
    distance = FRICHE_DISTANCE_M if distance is None else float(distance)
    zones = zone_table(wh, friche_distance=distance)
    if edits:
        zones = apply_zone_edits(wh, zones, *edits)
    cog = wh.latest_cog("commune")
    parents = dict(wh.query("SELECT child_code, parent_code FROM membership WHERE cog = ? AND child_level = 'commune' "
                            "AND parent_level = 'epci'", (cog,)))
    names = {(lv, c): n for lv, c, n in wh.query(
        "SELECT level, code, name FROM territory WHERE cog = ? AND level IN ('commune', 'epci')", (cog,))}
    if site_ids is None:
        if epci:
            epci = epci.strip()
            if ("epci", epci) not in names:
                raise NotFoundError(f"Aucun EPCI n'a le SIREN « {epci} » dans l'entrepôt (géographie {cog}).")
            zones = zones[zones["commune"].map(parents) == epci]
            if zones.empty:
                raise NotFoundError(f"Aucune zone d'activité n'est connue dans {names[('epci', epci)]} ({epci}).")
        site_ids = zones["site_id"].tolist()
    else:
        known = set(zones["site_id"])
        unknown = [s for s in site_ids if s not in known]
        if unknown:
            raise NotFoundError(f"Aucune zone d'activité n'a l'identifiant « {unknown[0]} » dans l'entrepôt : "
                                "« vigie foncier atlas » liste les zones et leurs identifiants (site_id).")
    if not site_ids:
        return []
    zones = zones.set_index("site_id")
    marks = ", ".join("?" * len(site_ids))
    geoms = {r[0]: shapely.from_wkb(bytes(r[1])) for r in wh.query(
        f"SELECT site_id, ST_AsBinary(geom) FROM foncier_site WHERE site_id IN ({marks})", site_ids)}
    plots = overlay_plot_edits(wh, plot_statuses(wh), edits[0] if edits else [])
    plots = plots[plots["site_id"].isin(site_ids)]
    plot_geoms = {r[0]: shapely.from_wkb(bytes(r[1])) for r in wh.query(
        f"SELECT plot_id, ST_AsBinary(geom) FROM foncier_plot WHERE site_id IN ({marks})", site_ids)}
    est = wh.query_df(
        "SELECT site_id, naf, headcount_code, published, ST_AsBinary(geom) AS wkb FROM foncier_establishment "
        f"WHERE active AND site_id IN ({marks})", site_ids)
    est["jobs"] = jobs_of(est["headcount_code"])
    est["filiere"] = filiere_of(est["naf"])
    labels = filiere_labels()
    history = wh.query_df(
        "SELECT h.object_kind, h.object_id, h.field, h.previous, h.value, h.changed_on, h.author, "
        "coalesce(p.site_id, h.object_id) AS site_id FROM foncier_status_change h LEFT JOIN foncier_plot p "
        "ON h.object_kind = 'plot' AND p.plot_id = h.object_id "
        f"WHERE coalesce(p.site_id, h.object_id) IN ({marks}) ORDER BY h.changed_on DESC, h.seq DESC", site_ids)
    if edits:  # the observatory's edits belong to the history too (the zone's page shows both)
        history["changed_on"] = pd.to_datetime(history["changed_on"])
        history = pd.concat([history, _edit_history(edits, plots, site_ids)], ignore_index=True)
        history = history.sort_values("changed_on", ascending=False, kind="stable")
    synthetic_rows = wh.query(
        "SELECT kind, title, producer, vintage, synthetic FROM source WHERE kind LIKE 'cnig-%' "
        "OR kind IN ('sirene-zones', 'plu-zones', 'friches') ORDER BY id")
    synthetic = any(r[4] for r in synthetic_rows if r[0] != "friches")
    sources = [f"{title} — {producer}" + (f", {vintage}" if vintage else "") for _k, title, producer, vintage, _s in synthetic_rows]

    out = []
    for site_id in site_ids:
        z = zones.loc[site_id]
        geom = geoms[site_id]
        frame = geom.buffer(max(distance, 150.0))
        friches = wh.query(
            "SELECT f.feature_id, f.name, ST_Distance(s.geom, f.geom), ST_AsBinary(f.geom) FROM foncier_site s "
            "JOIN layer_feature f ON f.layer = 'friches' AND ST_DWithin(s.geom, f.geom, ?) WHERE s.site_id = ? "
            "ORDER BY 3, 1", (distance, site_id))
        context = [shapely.from_wkb(bytes(r[0])) for r in wh.query(
            "SELECT ST_AsBinary(geom) FROM territory_geometry WHERE level = 'commune' AND cog = "
            "(SELECT max(cog) FROM territory_geometry WHERE level = 'commune') "
            "AND ST_Intersects(geom, ST_GeomFromText(?))", (frame.envelope.wkt,))]
        zp = plots[plots["site_id"] == site_id].sort_values("plot_id")
        by_status = {str(k): int(v) for k, v in zp.groupby("sale_stage").size().items()}
        by_status_ha = {str(k): float(v) for k, v in zp.groupby("sale_stage")["gross_ha"].sum().items()}
        ze = est[est["site_id"] == site_id]
        filieres = []
        for fil, group in ze.groupby("filiere"):
            filieres.append((str(fil), labels.get(fil, str(fil)), int(len(group)), float(group["jobs"].fillna(0).sum())))
        filieres.sort(key=lambda f: (-f[2], f[1]))
        published = ze[ze["published"].astype(bool)]
        points = [shapely.from_wkb(bytes(b)) for b in published["wkb"] if b is not None]
        zh = history[history["site_id"] == site_id]
        hist = [(fmt.long_date(row.changed_on), str(row.object_id), FIELD_LABELS.get(row.field, row.field),
                 "—" if row.previous is None or row.previous != row.previous else str(row.previous), str(row.value),
                 str(row.author)) for row in zh.head(HISTORY_ROWS).itertuples()]
        commune = str(z["commune"])
        epci_code = parents.get(commune)
        figures = {k: _float(z[k]) for k in ("gross_ha", "usable_ha", "available_ha", "vacancy_rate", "jobs")}
        figures |= {k: int(z[k]) for k in ("plots", "plots_vacant", "establishments", "jobs_unknown", "friches_inside",
                                           "friches_near")}
        out.append(ZoneFicheData(
            site_id=site_id, name=str(z["name"]), site_type=str(z["site_type"]), vocation=str(z["vocation"]),
            state=str(z["state"]), commune=(commune, names.get(("commune", commune), commune)),
            epci=(epci_code, names.get(("epci", epci_code), epci_code)) if epci_code else None,
            figures=figures, plots_by_status=by_status, plots_by_status_ha=by_status_ha, filieres=filieres,
            friches=[(str(r[0]), str(r[1] or r[0]), float(r[2])) for r in friches],
            history=hist, history_total=int(len(zh)),
            hidden_establishments=int((~ze["published"].astype(bool)).sum()),
            geometry=geom,
            plot_geometries=[(str(s), plot_geoms[p]) for p, s in zip(zp["plot_id"], zp["sale_stage"]) if p in plot_geoms],
            establishment_points=points,
            friche_geometries=[shapely.from_wkb(bytes(r[3])) for r in friches],
            context=context, friche_distance_m=distance, sources=sources, synthetic=synthetic,
        ))
    return out


# ---------------------------------------------------------------------------------------------- render
def _ha(value: float | None, decimals: int = 1) -> str:
    return fmt.quantity(value, "ha", decimals)


def key_figures(d: ZoneFicheData) -> list[tuple[str, str]]:
    """The key figures as printed (label, text), in the order of the fiche (also the data pack's)."""
    f = d.figures
    near = f"Friches à moins de {fmt.number(d.friche_distance_m)} m (hors zone)"
    return [
        ("Surface brute", _ha(f["gross_ha"])),
        ("Surface utile", _ha(f["usable_ha"])),
        ("Surface disponible", _ha(f["available_ha"])),
        ("Terrains", fmt.number(f["plots"])),
        ("Terrains vacants", fmt.number(f["plots_vacant"])),
        ("Taux de vacance", fmt.percent(f["vacancy_rate"], 1) if f["plots"] else "sans terrain"),
        ("Établissements actifs", fmt.number(f["establishments"])),
        ("Emplois estimés", fmt.number(f["jobs"])),
        ("Friches dans la zone", fmt.number(f["friches_inside"])),
        (near, fmt.number(f["friches_near"])),
    ]


def _stage_colour(stage: str):
    return HexColor(STAGE_COLOURS.get(stage, OTHER_STAGE))


def _map(pub: Publication, box: Box, d: ZoneFicheData) -> None:
    import shapely

    c = pub.c
    map_box, legend_box = box.split(0.72, 0.28)
    extent = shapely.union_all([d.geometry, *d.friche_geometries]).buffer(60).bounds
    layers = [
        Layer(d.context, fill=CONTEXT_FILL, stroke=HexColor("#cbd2d9"), width=0.4),
        Layer([g for _s, g in d.plot_geometries], fills=[_stage_colour(s) for s, _g in d.plot_geometries],
              stroke=HexColor("#ffffff"), width=0.4),
        Layer([d.geometry], fill=None, stroke=ZONE_STROKE, width=1.6),
        Layer(d.friche_geometries, fill=FRICHE, stroke=HexColor("#ffffff"), width=0.5, point_radius=3.2),
        Layer(d.establishment_points, fill=ESTABLISHMENT, stroke=HexColor("#ffffff"), width=0.3, point_radius=1.8),
    ]
    draw_map(c, map_box, layers, extent, source=MAP_SOURCE)
    c.setStrokeColor(HexColor("#cbd2d9"))
    c.setLineWidth(0.5)
    c.rect(map_box.x, map_box.y, map_box.w, map_box.h, stroke=1, fill=0)
    y = legend_box.top - 9
    draw_text(c, legend_box.x, y, "Légende", size=8, font=fonts.BOLD)
    y -= 14
    c.setStrokeColor(ZONE_STROKE)
    c.setLineWidth(1.6)
    c.rect(legend_box.x, y - 1, 10, 8, stroke=1, fill=0)
    draw_text(c, legend_box.x + 14, y, "Périmètre de la zone", size=7)
    y -= 13
    draw_text(c, legend_box.x, y, "Terrains, stade de commercialisation :", size=7, font=fonts.BOLD, max_width=legend_box.w)
    y -= 11
    stages = list(dict.fromkeys([*[s for s in STAGE_COLOURS if s in d.plots_by_status], *d.plots_by_status]))
    for stage in stages:
        c.setFillColor(_stage_colour(stage))
        c.rect(legend_box.x, y - 1, 10, 8, stroke=0, fill=1)
        draw_text(c, legend_box.x + 14, y, f"{stage} ({fmt.number(d.plots_by_status[stage])})", size=7,
                  max_width=legend_box.w - 14)
        y -= 11
    if not stages:
        draw_text(c, legend_box.x + 14, y, "aucun terrain inventorié", size=7, colour=MUTED)
        y -= 11
    y -= 3
    c.setFillColor(ESTABLISHMENT)
    c.circle(legend_box.x + 5, y + 3, 2, stroke=0, fill=1)
    draw_text(c, legend_box.x + 14, y, f"Établissement ({fmt.number(len(d.establishment_points))})", size=7)
    y -= 12
    c.setFillColor(FRICHE)
    c.circle(legend_box.x + 5, y + 3, 3, stroke=0, fill=1)
    draw_text(c, legend_box.x + 14, y, f"Friche ({fmt.number(len(d.friches))})", size=7)
    y -= 16
    for line in ("Communes voisines en gris clair.", "Source : " + MAP_SOURCE):
        from vigie.publish.pdf.document import wrap

        for part in wrap(line, legend_box.w, size=6.5):
            draw_text(c, legend_box.x, y, part, size=6.5, colour=MUTED)
            y -= 8.5


def _stage_bars(c, box: Box, stages: list[str], values: list[float], decimals: int, title: str) -> None:
    """Horizontal bars, one per sale stage, in the stage's map colour (so that chart and map read alike)."""
    box = charts.title(c, box, title)
    label_w = min(box.w * 0.5, max(fonts.width(s, fonts.REGULAR, 7.5) for s in stages) + 6)
    plot_x, plot_w = box.x + label_w, box.w - label_w - 34
    top = max(values) or 1.0
    row_h = box.h / max(len(stages), 1)
    bar_h = min(12.0, row_h - 3)
    for i, (stage, v) in enumerate(zip(stages, values)):
        y = box.top - (i + 1) * row_h + (row_h - bar_h) / 2
        draw_text(c, box.x, y + bar_h / 2 - 3, stage, size=7.5, max_width=label_w - 4)
        w = plot_w * max(v, 0) / top
        c.setFillColor(_stage_colour(stage))
        c.rect(plot_x, y, w, bar_h, stroke=0, fill=1)
        draw_text(c, plot_x + w + 2, y + bar_h / 2 - 2.5, fmt.number(v, decimals), size=7)


def render(d: ZoneFicheData, path: str | Path) -> int:
    """Draw the fiche; returns its number of pages."""
    where = f"{d.commune[1]} ({d.commune[0]})" + (f" — {d.epci[1]}" if d.epci else "")
    pub = Publication(str(path), f"Fiche zone d'activité — {d.name}", f"{where} — identifiant {d.site_id}",
                      synthetic=d.synthetic)
    pub.paragraph(f"Zone {d.vocation} ({d.site_type}), état : {d.state}. Commune : {where}.", size=9.5)
    pub.heading("Chiffres clés")
    figures = key_figures(d)
    half = (len(figures) + 1) // 2
    rows = []
    for i in range(half):
        left = figures[i]
        right = figures[i + half] if i + half < len(figures) else ("", "")
        rows.append([left[0], Cell(left[1], bold=True), right[0], Cell(right[1], bold=True)])
    draw_table(pub, ["Indicateur", "Valeur", "Indicateur", "Valeur"], rows, [0.32, 0.18, 0.32, 0.18])
    if d.figures["jobs_unknown"]:
        pub.paragraph(f"{fmt.number(d.figures['jobs_unknown'])} établissement(s) à l'effectif inconnu comptent pour "
                      "0 emploi.", size=7.5, colour=MUTED)
    pub.heading("Carte de la zone", keep_with=300)
    _map(pub, pub.reserve(300), d)
    pub.heading("Terrains par stade de commercialisation")
    if d.plots_by_status:
        stages = list(d.plots_by_status)
        box = pub.reserve(20 + 16 * len(stages))
        left, right = box.split(0.5, 0.5)
        _stage_bars(pub.c, left, stages, [float(d.plots_by_status[s]) for s in stages], 0, "Nombre de terrains")
        _stage_bars(pub.c, right, stages, [d.plots_by_status_ha.get(s, 0.0) for s in stages], 1,
                    "Surface des terrains (ha)")
    else:
        pub.paragraph("Aucun terrain n'est inventorié dans cette zone.", colour=MUTED)

    pub.heading("Établissements et emplois par filière", keep_with=120)
    if d.filieres:
        labels = [f[1] for f in d.filieres]
        box = pub.reserve(24 + 15 * len(labels))
        left, right = box.split(0.5, 0.5)
        charts.bars(pub.c, left, labels, [float(f[2]) for f in d.filieres], chart_title="Établissements actifs")
        charts.bars(pub.c, right, labels, [f[3] for f in d.filieres], chart_title="Emplois estimés")
        draw_table(pub, ["Filière", "Établissements", "Emplois estimés"],
                   [[f[1], fmt.number(f[2]), fmt.number(f[3])] for f in d.filieres]
                   + [[Cell("Total", bold=True), Cell(fmt.number(d.figures["establishments"]), bold=True),
                       Cell(fmt.number(d.figures["jobs"]), bold=True)]], [0.5, 0.25, 0.25])
    else:
        pub.paragraph("Aucun établissement actif n'est localisé dans la zone.", colour=MUTED)
    if d.hidden_establishments:
        pub.paragraph(f"{fmt.number(d.hidden_establishments)} établissement(s) en diffusion partielle comptent dans ces "
                      "chiffres sans être cartographiés.", size=7.5, colour=MUTED)

    pub.heading(f"Friches dans la zone ou à moins de {fmt.number(d.friche_distance_m)} m")
    if d.friches:
        draw_table(pub, ["Friche (Cartofriches)", "Identifiant", "Distance à la zone"],
                   [[name, fid, "dans la zone" if dist <= 0 else fmt.quantity(dist, "m", 0)] for fid, name, dist in d.friches],
                   [0.55, 0.25, 0.2])
    else:
        pub.paragraph("Aucune friche recensée par Cartofriches dans la zone ni à proximité.", colour=MUTED)

    pub.heading("Historique des statuts (extrait)")
    if d.history:
        draw_table(pub, ["Date", "Objet", "Champ", "Avant", "Après", "Auteur"], [list(h) for h in d.history],
                   [0.16, 0.22, 0.13, 0.17, 0.17, 0.15], size=6.5)
        if d.history_total > len(d.history):
            pub.paragraph(f"{fmt.number(len(d.history))} changements les plus récents sur {fmt.number(d.history_total)} ; "
                          f"l'historique complet : « vigie foncier historique <terrain> » ou la page web de la zone.",
                          size=7.5, colour=MUTED)
    else:
        pub.paragraph("Aucun changement de statut enregistré.", colour=MUTED)

    pub.heading("Méthode")
    for line in METHOD:
        pub.paragraph(line, size=7.5, bullet="–", indent=4)
    pub.sources(d.sources + ([f"Zones, terrains, établissements et zonage : {fmt_notice()}."] if d.synthetic else []))
    return pub.save()


def fmt_notice() -> str:
    from vigie.demo.synthetic import DEMO_NOTICE

    return DEMO_NOTICE


def records(d: ZoneFicheData) -> list[Record]:
    """The data pack: one row per figure of the fiche."""
    level, code, territory = "zone_activite", d.site_id, d.name
    source = "Inventaire des sites économiques (CNIG), SIRENE, Cartofriches"
    out: list[Record] = []

    def add(theme: str, indicator: str, label: str, value: float | None, text: str, unit: str) -> None:
        out.append(Record(theme, indicator, label, level, code, territory, None, "dernier état connu", value, text, unit,
                          "ok" if value is not None else "missing", source, d.synthetic))

    f = d.figures
    keys = ["gross_ha", "usable_ha", "available_ha", "plots", "plots_vacant", "vacancy_rate", "establishments", "jobs",
            "friches_inside", "friches_near"]
    units = ["ha", "ha", "ha", "terrains", "terrains", "%", "établissements", "emplois", "friches", "friches"]
    for key, unit, (label, text) in zip(keys, units, key_figures(d)):
        add("Chiffres clés", key, label, None if f[key] is None else float(f[key]), text, unit)
    for stage, n in d.plots_by_status.items():
        add("Terrains par statut", "plots_by_status", f"Terrains « {stage} »", float(n), fmt.number(n), "terrains")
        ha = d.plots_by_status_ha.get(stage, 0.0)
        add("Terrains par statut", "plots_by_status_ha", f"Surface des terrains « {stage} »", ha, _ha(ha, 2), "ha")
    for fid, label, n, jobs in d.filieres:
        add("Filières", f"establishments_{fid}", f"Établissements — {label}", float(n), fmt.number(n), "établissements")
        add("Filières", f"jobs_{fid}", f"Emplois estimés — {label}", jobs, fmt.number(jobs), "emplois")
    for fid, name, dist in d.friches:
        add("Friches", f"friche_{fid}", f"Distance de la friche « {name} »", dist, fmt.quantity(dist, "m", 0), "m")
    return out


def write(d: ZoneFicheData, pdf: str | Path, xlsx: str | Path | None = None) -> int:
    """The PDF and, when asked, its data pack beside it; returns the page count."""
    from vigie.publish.pdf import datapack

    pages = render(d, pdf)
    if xlsx:
        datapack.write(str(xlsx), Path(pdf).stem, records(d),
                       notes=[f"Zone d'activité {d.site_id} — {d.name}."]
                       + ([f"Attention : {fmt_notice()}."] if d.synthetic else []))
    return pages


def file_stem(site_id: str) -> str:
    return "fiche-zone-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in site_id)
