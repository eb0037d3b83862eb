"""Synthetic but plausible economic-land data for the Pôle Métropolitain de l'Artois, written as files in the official
formats (CNIG sites économiques CSV, SIRENE stock + geolocation CSV, GPU ZONE_URBA GeoJSON) so that the demo loads
them through the real importers. Everything is drawn from one seeded generator: the same seed gives the same files.
Every file says it holds "données fictives de démonstration".

What is drawn, on the real communes of the CALL, the CAHC and the CABBALR (their contours in the warehouse):
- activity zones (SITE-ECO): `zones` irregular polygons of 5 to 150 ha (log-uniform), inside a commune, not
  overlapping, one pole per EPCI, vocations and states among the standard's usual values;
- plots (TERRAIN-ECO): each zone cut in 2 to 12 strips; ~84 % sold and occupied, ~10 % vacant and for sale, the rest
  under option or vacant and not for sale;
- establishments (SIRENE): ~0.7 per hectare of occupied plots, NAF codes typical of the zone's vocation, INSEE
  headcount brackets, SIRET with valid Luhn keys, 4 % in partial diffusion, 5 % closed, plus 10 % placed outside the
  zones (the importer leaves them out);
- PLU zones (ZONE_URBA): a UE zone over each activity zone (DESTDOMI 02), an AUc/AUs economic extension (DESTDOMI 02)
  beside one zone in three, and a few AU housing zones (DESTDOMI 01).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from vigie.demo.synthetic import DEMO_NOTICE
from vigie.modules.foncier.cnig import schema_fields
from vigie.modules.foncier.sirene import STOCK_REQUIRED
from vigie.warehouse import Warehouse

PMA_EPCI = {"246200364": "CALL", "246200299": "CAHC", "200072460": "CABBALR"}
SEED = 62
VOCATIONS = {
    "entrepôts, logistique": ["52.10B", "49.41A", "52.29A", "52.24B", "49.41B"],
    "industrielle": ["25.62B", "29.32Z", "22.29A", "28.99B", "10.71A", "10.89Z", "24.10Z", "20.16Z", "38.32Z"],
    "commerciale": ["47.11F", "46.69B", "45.11Z", "47.52B", "46.39B", "47.59B", "56.10C"],
    "artisanale": ["43.22A", "43.21A", "45.20A", "43.32A", "33.12Z", "38.11Z", "95.22Z"],
    "tertiaire": ["62.01Z", "70.22Z", "71.12B", "86.21Z", "82.11Z", "69.20Z"],
    "mixte, sans dominante": ["52.10B", "25.62B", "47.11F", "43.22A", "62.01Z", "10.71A", "86.90A"],
}
VOCATION_WEIGHTS = [0.2, 0.2, 0.15, 0.2, 0.05, 0.2]
BRACKETS = ["00", "01", "02", "03", "11", "12", "21", "22", "31", "32", "NN"]
BRACKET_WEIGHTS = [0.24, 0.15, 0.14, 0.12, 0.12, 0.1, 0.06, 0.03, 0.01, 0.01, 0.02]
NAMES = ["des Alouettes", "du Moulin", "de la Gare", "du Bois Rigault", "des Portes de l'Artois", "du Chemin Vert",
         "de la Croisette", "des Hauts de France", "du Marais", "de la Fosse 9", "du Terril", "des Tilleuls",
         "Actiparc", "du Mont Saint-Éloi", "de la Plaine", "des Glissoires", "du Canal", "de l'Europe"]


@dataclass
class AtlasFiles:
    poles: Path
    sites: Path
    plots: Path
    stock: Path
    geoloc: Path
    plu: Path


def _luhn_complete(prefix: str) -> str:
    """`prefix` + the digit that makes the whole number Luhn-valid."""
    for k in range(10):
        digits = [int(c) for c in prefix + str(k)][::-1]
        total = sum(d if i % 2 == 0 else (2 * d - 9 if 2 * d > 9 else 2 * d) for i, d in enumerate(digits))
        if total % 10 == 0:
            return prefix + str(k)
    raise AssertionError


def _blob(rng, centre, area_m2: float) -> shapely.Polygon:
    """An irregular, convex-ish polygon of about `area_m2` around `centre`."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, 10))
    radii = rng.uniform(0.8, 1.2, 10)
    stretch = rng.uniform(0.7, 1.4)
    xs = np.cos(angles) * radii * stretch
    ys = np.sin(angles) * radii / stretch
    poly = shapely.convex_hull(shapely.MultiPoint(np.column_stack([xs, ys])))
    scale = np.sqrt(area_m2 / poly.area)
    return shapely.affinity.translate(shapely.affinity.scale(poly, scale, scale, origin=(0, 0)), centre[0], centre[1])


def _strips(rng, zone: shapely.Polygon, n: int) -> list[shapely.Polygon]:
    x0, y0, x1, y1 = zone.bounds
    cuts = np.sort(rng.uniform(0.1, 0.9, n - 1)) if n > 1 else np.array([])
    edges = np.concatenate([[x0 - 1], x0 + cuts * (x1 - x0), [x1 + 1]])
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        part = shapely.intersection(zone, shapely.box(a, y0 - 1, b, y1 + 1))
        if part.geom_type == "MultiPolygon":
            part = max(part.geoms, key=lambda g: g.area)
        if part.geom_type == "Polygon" and part.area > 2000:
            out.append(shapely.set_precision(part, 0.01))
    return out


def _geojson(geom) -> str:
    return shapely.to_geojson(shapely.set_precision(geom, 0.01)).replace(" ", "")


def _random_point_in(rng, geom, tries: int = 200):
    x0, y0, x1, y1 = geom.bounds
    for _ in range(tries):
        p = shapely.Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if geom.contains(p):
            return p
    return geom.representative_point()


def generate(wh: Warehouse, directory: Path | str, seed: int = SEED, zones: int = 45) -> AtlasFiles:
    """Write the synthetic atlas files for the PMA into `directory` (needs the communes' contours and EPCI)."""
    import pyproj

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cog = wh.latest_cog("commune")
    communes = wh.query_df(
        "SELECT m.child_code AS code, t.name, m.parent_code AS epci, ST_AsBinary(g.geom) AS wkb FROM membership m "
        "JOIN territory t ON t.level = 'commune' AND t.code = m.child_code AND t.cog = m.cog "
        "JOIN territory_geometry g ON g.level = 'commune' AND g.code = m.child_code AND g.cog = m.cog "
        "WHERE m.cog = ? AND m.child_level = 'commune' AND m.parent_level = 'epci' AND m.parent_code IN (?, ?, ?) "
        "ORDER BY m.child_code", (cog, *PMA_EPCI))
    if communes.empty:
        raise ValueError("communes du PMA sans contours dans l'entrepôt")
    geoms = shapely.from_wkb([bytes(b) for b in communes["wkb"]])
    epci_names = dict(wh.query("SELECT code, name FROM territory WHERE level = 'epci' AND cog = ?", (cog,)))
    to_lonlat = pyproj.Transformer.from_crs(2154, 4326, always_xy=True)
    weights = shapely.area(geoms) ** 0.5
    weights = weights / weights.sum()

    placed: list[shapely.Polygon] = []
    site_rows, plot_rows, plots_geo = [], [], []
    counters: dict[str, int] = {}
    while len(placed) < zones:
        i = int(rng.choice(len(geoms), p=weights))
        commune = geoms[i]
        area = float(np.exp(rng.uniform(np.log(5), np.log(150)))) * 10_000
        centre = _random_point_in(rng, commune)
        zone = shapely.intersection(_blob(rng, (centre.x, centre.y), area), commune)
        if zone.geom_type != "Polygon" or zone.area < 50_000 or any(zone.buffer(60).intersects(p) for p in placed):
            continue
        zone = shapely.set_precision(zone, 0.01)
        if not zone.is_valid or zone.geom_type != "Polygon":
            continue
        placed.append(zone)
        code, epci = communes["code"].iloc[i], communes["epci"].iloc[i]
        counters[code] = counters.get(code, 0) + 1
        site_id = f"{code}_SITE-ECO_{counters[code]:05d}"
        vocation = str(rng.choice(list(VOCATIONS), p=VOCATION_WEIGHTS))
        state = str(rng.choice(["existant et actif", "existant et actif", "existant et actif", "en extension", "en projet"]))
        gross = round(zone.area / 10_000, 2)
        lon, lat = to_lonlat.transform(*zone.representative_point().coords[0])
        site_rows.append({
            "site_id": site_id, "pole_id": f"PMA_POLE-ECO_{list(PMA_EPCI).index(epci) + 1:05d}",
            "site_nom": f"Zone d'activités {NAMES[len(placed) % len(NAMES)]} ({communes['name'].iloc[i]})",
            "site_type": "zone d'activité économique", "site_vocadomi": vocation, "site_etat": state,
            "site_surf_brute": f"{gross}", "site_surf_utile": f"{round(gross * 0.85, 2)}",
            "site_creation_date": str(int(rng.integers(1965, 2020))), "site_identif_date": "2024-09-01",
            "site_actu_date": "2026-01-15", "source_producteur": "Vigie (démonstration)",
            "site_description": f"Zone inventée – {DEMO_NOTICE}", "site_epci_nom": epci_names.get(epci, epci),
            "site_epci_siren": epci, "site_comm_nom": communes["name"].iloc[i], "site_comm_insee": code,
            "site_moa_type": "EPCI", "site_geomsurf": _geojson(zone), "site_geompoint": f"{lon:.6f}, {lat:.6f}",
            "_zone": zone, "_vocation": vocation, "_epci": epci,
        })
        for k, strip in enumerate(_strips(rng, zone, int(rng.integers(2, 13))), start=1):
            u = rng.random()
            if u < 0.84:
                stage, occ, usage = "vendu, commercialisation achevée", "occupé", "bâti productif"
            elif u < 0.94:
                stage, occ, usage = "disponible à la vente", "vacant", "non bâti"
            elif u < 0.97:
                stage, occ, usage = "sous option", "vacant", "non bâti"
            else:
                stage, occ, usage = "non commercialisable", "vacant", "bâti vacant"
            plot_rows.append({
                "terr_id": f"{code}_TERRAIN-ECO_{counters[code]:02d}{k:03d}", "site_id": site_id,
                "terr_surf_brute": f"{round(strip.area / 10_000, 2)}", "terr_utile": "oui", "terr_identif_date": "2024-09-01",
                "terr_actu_date": "2026-01-15", "terr_maitrise_fonc": str(rng.choice(["structure intercommunale", "privée", "commune", "EPF"])),
                "terr_stade_amngt": "viabilisé et aménagé", "terr_stade_comm": stage, "terr_etat_occup": occ, "terr_usage": usage,
                "terr_geomsurf": _geojson(strip),
            })
            plots_geo.append((strip, occ, vocation, code))

    def write(name: str, rows: list[dict]) -> Path:
        fields = [f["name"] for f in schema_fields(name)]
        path = directory / f"{name}-pma-demo.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, delimiter=";", lineterminator="\n")
            w.writerow(fields)
            for r in rows:
                w.writerow([r.get(f, "") for f in fields])
        return path

    poles = []
    for n, (epci, short) in enumerate(PMA_EPCI.items(), start=1):
        mine = [r for r in site_rows if r["_epci"] == epci]
        if not mine:
            continue
        centre = shapely.union_all([r["_zone"] for r in mine]).centroid
        lon, lat = to_lonlat.transform(centre.x, centre.y)
        poles.append({"pole_id": f"PMA_POLE-ECO_{n:05d}", "pole_nom": f"Zones d'activités de la {short} ({DEMO_NOTICE})",
                      "pole_vocadomi": "mixte, sans dominante", "pole_identif_date": "2024-09-01",
                      "pole_surface": f"{round(sum(float(r['site_surf_brute']) for r in mine), 2)}",
                      "pole_geompoint": f"{lon:.6f}, {lat:.6f}", "pole_rayonnement": "régional"})
    files = {"poles": write("pole-eco", poles), "sites": write("site-eco", site_rows), "plots": write("terrain-eco", plot_rows)}

    # SIRENE stock + geolocation
    stock_cols = STOCK_REQUIRED + ["anneeEffectifsEtablissement", "etablissementSiege", "codePostalEtablissement",
                                   "libelleCommuneEtablissement", "enseigne1Etablissement", "denominationUsuelleEtablissement",
                                   "nomenclatureActivitePrincipaleEtablissement", "caractereEmployeurEtablissement"]
    stock, geo = [], []
    used: set[str] = set()

    def siret_new() -> str:
        while True:
            siren = _luhn_complete(f"{int(rng.integers(10_000_000, 99_999_999)):08d}")
            siret = _luhn_complete(siren + f"{int(rng.integers(1, 99)):04d}")
            if siret not in used:
                used.add(siret)
                return siret

    def add(point, naf, commune, state="A", diffusion="O"):
        siret = siret_new()
        bracket = str(rng.choice(BRACKETS, p=BRACKET_WEIGHTS))
        stock.append({"siren": siret[:9], "nic": siret[9:], "siret": siret, "statutDiffusionEtablissement": diffusion,
                      "dateCreationEtablissement": f"{int(rng.integers(1975, 2026))}-{int(rng.integers(1, 13)):02d}-01",
                      "trancheEffectifsEtablissement": "" if bracket == "NN" else bracket,
                      "anneeEffectifsEtablissement": "" if bracket == "NN" else "2023",
                      "codeCommuneEtablissement": commune, "etatAdministratifEtablissement": state,
                      "activitePrincipaleEtablissement": naf, "etablissementSiege": "false",
                      "enseigne1Etablissement": f"Entreprise fictive {len(stock) + 1}",
                      "nomenclatureActivitePrincipaleEtablissement": "NAFRev2", "caractereEmployeurEtablissement": "O"})
        geo.append({"siret": siret, "x": f"{point.x:.1f}", "y": f"{point.y:.1f}", "qualite_xy": "11", "epsg": "2154"})

    for strip, occ, vocation, commune in plots_geo:
        if occ != "occupé":
            continue
        for _ in range(int(rng.poisson(max(strip.area / 10_000 * 0.7, 0.5)))):
            u = rng.random()
            add(_random_point_in(rng, strip), str(rng.choice(VOCATIONS[vocation])), commune,
                state="F" if u < 0.05 else "A", diffusion="P" if 0.05 <= u < 0.09 else "O")
    for _ in range(max(len(stock) // 10, 1)):  # establishments outside the zones
        i = int(rng.choice(len(geoms), p=weights))
        add(_random_point_in(rng, geoms[i]), str(rng.choice(["47.11F", "56.10A", "86.21Z", "96.02A"])), communes["code"].iloc[i])
    files["stock"] = directory / "StockEtablissement-pma-demo.csv"
    with files["stock"].open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=stock_cols, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(stock)
    files["geoloc"] = directory / "GeolocalisationEtablissement-pma-demo.csv"
    with files["geoloc"].open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["siret", "x", "y", "qualite_xy", "epsg"], delimiter=";", lineterminator="\n")
        w.writeheader()
        w.writerows(geo)

    # PLU zones
    features = []
    for n, r in enumerate(site_rows):
        zone, code = r["_zone"], r["site_comm_insee"]
        idurba = f"{code}_PLU_20190101"
        features.append(("UE", "Zone urbaine d'activités économiques", "U", "02", shapely.buffer(zone, 15, join_style="mitre"), idurba, code))
        if n % 3 == 0:
            x0, y0, x1, y1 = zone.bounds
            w_ = (x1 - x0) * rng.uniform(0.4, 0.8)
            ext = shapely.box(x1 - (x1 - x0) * 0.15, y0, x1 + w_, y1)
            commune = geoms[int(np.flatnonzero(communes["code"].to_numpy() == code)[0])]
            ext = shapely.intersection(ext, commune)
            if ext.area > 20_000:
                kind = "AUc" if rng.random() < 0.6 else "AUs"
                features.append((f"{'1' if kind == 'AUc' else '2'}AUe", "Zone à urbaniser à vocation économique", kind, "02", ext, idurba, code))
    for _ in range(10):
        i = int(rng.choice(len(geoms), p=weights))
        p = _random_point_in(rng, geoms[i])
        hab = shapely.intersection(shapely.buffer(p, rng.uniform(120, 260)), geoms[i])
        features.append(("1AUh", "Zone à urbaniser à vocation d'habitat", "AUc", "01", hab, f"{communes['code'].iloc[i]}_PLU_20190101", communes["code"].iloc[i]))
    fc = {"type": "FeatureCollection", "name": f"zone_urba ({DEMO_NOTICE})",
          "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
          "features": [{"type": "Feature", "properties": {"IDURBA": idu, "LIBELLE": lib, "LIBELONG": f"{long_} – {DEMO_NOTICE}",
                                                          "TYPEZONE": tz, "DESTDOMI": dd, "NOMFIC": "", "URLFIC": "", "INSEE": code,
                                                          "DATAPPRO": "20190101", "DATVALID": "20190101"},
                        "geometry": json.loads(_geojson(g))} for lib, long_, tz, dd, g, idu, code in features
                       if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]}
    files["plu"] = directory / "zone_urba-pma-demo.geojson"
    files["plu"].write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    return AtlasFiles(**files)
