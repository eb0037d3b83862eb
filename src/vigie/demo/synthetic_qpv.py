"""Synthetic QPV-level data for the demo: RP 2021 indicators of the quartiers prioritaires (INSEE layout, CODGEO =
QPV code) and a small health / sport-culture table for the generic CSV importer.

No QPV figure is public in the demo folder, so each QPV's population comes from its real 2024 contour (area ×
a plausible density), capped so that the QPVs of a commune never hold more than 40 % of its real population; its
profile is that of its communes pushed towards the social situation of priority neighbourhoods (unemployment 2 to 3
times the commune's, few diplomas, 50–90 % of social rented housing). The unemployed counted in the QPVs of a
commune never exceed 85 % of the commune's own synthetic count.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from shapely.geometry import shape

from vigie.demo.synthetic_census import (
    EFFECTS,
    Units,
    census_values,
    effects,
    round_half_up,
    sigmoid,
    year_jitter,
)

QPV_YEAR = 2021
QPV_COG = 2024
QPV_FILE = "base-qpv-2021.CSV"
QPV_REG, QPV_DEP = "32", "62"
MAX_SHARE_OF_COMMUNE = 0.40  # QPV population of a commune / commune population
MAX_UNEMPLOYED_SHARE = 0.85  # unemployed in the QPVs of a commune / unemployed of the commune
MAX_HLM_SHARE = 0.90  # social rented homes in the QPVs of a commune / those of the commune

QPV_STEMS = (
    ["P_POP", "P_POP0014", "P_POP1529", "P_POP3044", "P_POP4559", "P_POP6074", "P_POP75P",
     "P_POP0019", "P_POP2064", "P_POP65P", "P_POPH", "P_POPF", "P_PMEN", "P_PHORMEN",
     "C_POP15P"] + [f"C_POP15P_CS{i}" for i in range(1, 9)]
    + ["C_MEN", "C_MENPSEUL", "C_MENHSEUL", "C_MENFSEUL", "C_MENSFAM", "C_MENFAM", "C_MENCOUPSENF",
       "C_MENCOUPAENF", "C_MENFAMMONO", "C_PMEN", "C_FAM", "C_COUPAENF", "C_COUPSENF", "C_FAMMONO"]
    + ["P_POP1564", "P_ACT1564", "P_ACTOCC1564", "P_CHOM1564", "P_INACT1564", "P_ETUD1564", "P_RETR1564",
       "P_ACTOCC15P", "P_EMPLT", "P_EMPLT_SAL", "C_EMPLT_AGRI", "C_EMPLT_INDUS", "C_EMPLT_CONST", "C_EMPLT_CTS",
       "C_EMPLT_APESAS"]
    + ["P_POP0205", "P_POP0610", "P_POP1114", "P_POP1517", "P_POP1824", "P_POP2529", "P_POP30P",
       "P_SCOL0205", "P_SCOL0610", "P_SCOL1114", "P_SCOL1517", "P_SCOL1824", "P_SCOL2529", "P_SCOL30P",
       "P_NSCOL15P", "P_NSCOL15P_DIPLMIN", "P_NSCOL15P_BEPC", "P_NSCOL15P_CAPBEP", "P_NSCOL15P_BAC",
       "P_NSCOL15P_SUP2", "P_NSCOL15P_SUP34", "P_NSCOL15P_SUP5"]
    + ["P_LOG", "P_RP", "P_RSECOCC", "P_LOGVAC", "P_RP_PROP", "P_RP_LOC", "P_RP_LOCHLMV", "P_RP_GRAT",
       "P_MAISON", "P_APPART"]
)

EXTRAS_YEAR = 2024
EXTRAS_FILE = "qpv_sante_sport_culture_2024.csv"
EXTRAS_MAPPING = "qpv_sante_sport_culture_2024.yaml"
EXTRAS_COLUMNS = ["code_qp", "annee", "medecins_generalistes", "pharmacies", "equipements_sportifs",
                  "equipements_culturels", "beneficiaires_css", "population_couverte"]


def load_qpv(demo_dir: Path) -> pd.DataFrame:
    """QPV 2024 list (code_qp, lib_qp, communes as a list) with the area of each contour in km²."""
    qpv = pd.read_csv(demo_dir / "qpv" / "qpv2024_liste_62.csv", dtype=str, keep_default_na=False)
    qpv["communes"] = [[c.strip() for c in v.split(";") if c.strip()] for v in qpv["insee_com"]]
    areas: dict[str, float] = {}
    with (demo_dir / "qpv" / "qpv2024_contours_62.geojson").open(encoding="utf-8") as fh:
        for feature in json.load(fh)["features"]:
            geom = shape(feature["geometry"])
            lat = geom.centroid.y
            # Local equirectangular approximation: a few per mille of error at this latitude, enough here.
            areas[feature["properties"]["code_qp"]] = geom.area * 111.32 * math.cos(math.radians(lat)) * 110.57
    qpv["area_km2"] = [areas.get(c, 0.3) for c in qpv["code_qp"]]
    return qpv.sort_values("code_qp").reset_index(drop=True)


def _portions(qpv: pd.DataFrame, commune_pop: dict[str, int]) -> list[dict[str, float]]:
    """Share of each QPV lying in each of its communes, by commune population (no finer data in the demo)."""
    out = []
    for communes in qpv["communes"]:
        pops = np.array([commune_pop[c] for c in communes], dtype=float)
        shares = pops / pops.sum() if pops.sum() > 0 else np.full(len(pops), 1 / len(pops))
        out.append(dict(zip(communes, shares)))
    return out


def _cap_by_commune(wanted: np.ndarray, portions: list[dict[str, float]], limit: dict[str, float]) -> np.ndarray:
    """Scale each QPV's `wanted` amount down so that, in every commune, the QPV portions stay ≤ `limit`."""
    load: dict[str, float] = {}
    for value, share in zip(wanted, portions):
        for c, s in share.items():
            load[c] = load.get(c, 0.0) + value * s
    factor = {c: min(1.0, limit[c] / load[c]) if load[c] > 0 else 1.0 for c in load}
    return np.array([value * min(factor[c] for c in share) for value, share in zip(wanted, portions)])


def qpv_units(
    qpv: pd.DataFrame, communes: Units, commune_values: dict[str, np.ndarray], seed: int
) -> tuple[Units, list[dict[str, float]]]:
    """QPV 2021 units with populations and profiles derived from their communes (see module docstring), and the
    share of each QPV in each of its communes."""
    idx = {c: i for i, c in enumerate(communes.codes)}
    unknown = sorted({c for cs in qpv["communes"] for c in cs} - set(idx))
    if unknown:
        raise ValueError(f"Communes des QPV absentes du référentiel du RP {QPV_YEAR} : {', '.join(unknown)}.")
    codes = qpv["code_qp"].tolist()
    eff = effects(seed, codes)
    col = {name: eff[:, i] for i, name in enumerate(EFFECTS)}
    commune_pop = {c: int(communes.pop[i]) for c, i in idx.items()}
    portions = _portions(qpv, commune_pop)

    hhsize = np.clip(2.45 + 0.15 * col["size"], 2.0, 3.0)
    phorm = 0.006
    hlm = 0.5 + 0.4 * sigmoid(1.3 * col["hlm"])
    commune_hlm = {c: float(commune_values["P_RP_LOCHLMV"][i]) for c, i in idx.items()}

    # Population: contour area × density, within 40 % of each commune's population and within what its social
    # housing can lodge (the QPVs of a commune hold at most 90 % of its HLM, at least half of their homes are HLM).
    density = np.clip(7000.0 * np.exp(0.3 * col["qpv_pop"]), 3500.0, 14000.0)
    wanted = np.clip(qpv["area_km2"].to_numpy() * density, 1000.0, 12000.0)
    wanted = _cap_by_commune(wanted, portions, {c: MAX_SHARE_OF_COMMUNE * p for c, p in commune_pop.items()})
    persons_per_hlm = hhsize / (1 - phorm) / 0.5
    wanted = _cap_by_commune(wanted / persons_per_hlm, portions, {c: MAX_HLM_SHARE * h for c, h in commune_hlm.items()})
    pop = np.floor(wanted * persons_per_hlm).astype(np.int64)
    # Social-housing share 50–90 %, lowered where the commune's HLM would not suffice.
    homes = pop * (1 - phorm) / hhsize
    hlm = np.maximum(_cap_by_commune(hlm * homes, portions, {c: MAX_HLM_SHARE * h for c, h in commune_hlm.items()})
                     / np.maximum(homes, 1), 0.0)

    def weighted(values: np.ndarray) -> np.ndarray:
        return np.array([sum(values[idx[c]] * s for c, s in share.items()) for share in portions])

    cp = communes.prof
    n = len(codes)
    pma = np.array([max(cp["pma"][idx[c]] for c in share) for share in portions])
    prof = {
        "depriv": weighted(cp["depriv"]) + 2.5 + 0.4 * col["depriv"],
        "pma": pma,
        "urban": np.maximum(weighted(cp["urban"]), 1.5) + 0.5,
        "rural": np.zeros(n),
        "hlm": hlm,
        "student": np.zeros(n),
        "old": -0.6 + 0.5 * col["old"],
        "young": 1.0 + 0.4 * col["young"],
        "phorm": np.full(n, phorm),
        "hhsize21": hhsize,
        "vac21": np.clip(0.10 + 0.02 * col["vac"], 0.04, 0.2),
        "rsec21": np.full(n, 0.004),
        "ice_mu": np.full(n, math.log(0.35)),
        "qpv": np.ones(n),
        "flat_shift": 1.5 - 1.2 * pma,  # the QPVs of the mining basin include "cités" of terraced houses
    }
    commune_unemp = commune_values["P_CHOM1564"] / np.maximum(commune_values["P_ACT1564"], 1)
    ratio = 2.0 + sigmoid(1.7 * col["qpv_ratio"])  # 2 to 3 times the commune's rate, below 38–45 %
    ceiling = 0.38 + 0.07 * sigmoid(col["unemp"])
    unit = Units(
        year=QPV_YEAR,
        codes=codes,
        names=qpv["lib_qp"].tolist(),
        reg=[QPV_REG] * n,
        dep=[QPV_DEP] * n,
        pop=pop,
        prof=prof,
        eff=eff,
        jitter=year_jitter(seed, codes, QPV_YEAR),
        overrides={"unemployment": np.minimum(ratio * weighted(commune_unemp), ceiling)},
    )
    return unit, portions


def qpv_values(
    unit: Units, portions: list[dict[str, float]], communes: Units, commune_values: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Census values of the QPV; unemployment scaled down where the QPVs would out-number their communes."""
    values = census_values(unit)
    idx = {c: i for i, c in enumerate(communes.codes)}
    limit = {c: MAX_UNEMPLOYED_SHARE * commune_values["P_CHOM1564"][i] for c, i in idx.items()}
    chom = values["P_CHOM1564"].astype(float)
    capped = _cap_by_commune(chom, portions, limit)
    if (capped < chom).any():
        factor = np.where(chom > 0, capped / np.maximum(chom, 1), 1.0)
        # Aim a little lower than the cap, as the counts are rounded again.
        unit.overrides["unemployment"] = unit.overrides["unemployment"] * np.where(factor < 1, factor * 0.98, 1.0)
        values = census_values(unit)
    return values


def write_extras(out_dir: Path, unit: Units, values: dict[str, np.ndarray]) -> tuple[Path, Path]:
    """Health and sport-culture counts per QPV (CSV, `,`-separated) and the YAML mapping for `vigie import csv`."""
    col = {name: unit.eff[:, i] for i, name in enumerate(EFFECTS)}
    pop = values["P_POP"].astype(float)
    depriv = unit.prof["depriv"]
    doctors = round_half_up(pop / 1000 * 0.55 * np.exp(0.45 * col["qpv_health"]))
    pharmacies = round_half_up(pop / 3200 * np.exp(0.4 * col["qpv_health"] + 0.2 * col["qpv_cover"]))
    sport = np.maximum(round_half_up(pop / 700 * np.exp(0.35 * col["qpv_sport"])), 1)
    culture = round_half_up(pop / 3500 * np.exp(0.5 * col["qpv_culture"]))
    covered = round_half_up(pop * (0.90 + 0.06 * sigmoid(col["qpv_cover"])))
    css_rate = np.clip(0.30 + 0.05 * col["qpv_css"] + 0.02 * (depriv - 3.0), 0.15, 0.55)
    css = round_half_up(covered * css_rate)

    csv_path = out_dir / EXTRAS_FILE
    with csv_path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=",", lineterminator="\n")
        writer.writerow(EXTRAS_COLUMNS)
        for i, code in enumerate(unit.codes):
            writer.writerow([code, EXTRAS_YEAR, doctors[i], pharmacies[i], sport[i], culture[i], css[i], covered[i]])

    def indicator(column, ident, label, theme, unit_, definition):
        return {"column": column, "id": ident, "label": label, "theme": theme, "unit": unit_, "kind": "stock",
                "decimals": 0, "definition": definition}

    mapping = {
        "title": "Santé, sport et culture dans les QPV – données fictives de démonstration",
        "producer": "Vigie (générateur de données fictives de démonstration)",
        "licence": "Licence Ouverte / Etalab 2.0",
        "vintage": f"Démonstration {EXTRAS_YEAR}",
        "synthetic": True,
        "separator": ",",
        "encoding": "utf-8",
        "level": "qpv",
        "code_column": "code_qp",
        "cog": QPV_COG,
        "year_column": "annee",
        "indicators": [
            indicator("medecins_generalistes", "qpv_nb_medecins", "Médecins généralistes dans le quartier", "santé",
                      "équipements", "Nombre de médecins généralistes exerçant dans le quartier (fictif)."),
            indicator("pharmacies", "qpv_nb_pharmacies", "Pharmacies dans le quartier", "santé", "équipements",
                      "Nombre de pharmacies situées dans le quartier (fictif)."),
            indicator("equipements_sportifs", "qpv_nb_equipements_sportifs", "Équipements sportifs dans le quartier",
                      "sport-culture", "équipements", "Nombre d'équipements sportifs (terrains, salles, piscines) du quartier (fictif)."),
            indicator("equipements_culturels", "qpv_nb_equipements_culturels", "Équipements culturels dans le quartier",
                      "sport-culture", "équipements", "Nombre d'équipements culturels (médiathèques, salles, écoles de musique) du quartier (fictif)."),
            indicator("beneficiaires_css", "qpv_nb_beneficiaires_css", "Bénéficiaires de la complémentaire santé solidaire",
                      "santé", "personnes", "Personnes couvertes par la complémentaire santé solidaire (CSS) (fictif)."),
            indicator("population_couverte", "qpv_population_couverte", "Population couverte par l'assurance maladie",
                      "santé", "personnes", "Personnes couvertes par le régime général de l'assurance maladie (fictif) ; "
                      "dénominateur de la part de bénéficiaires de la CSS."),
        ],
    }
    yaml_path = out_dir / EXTRAS_MAPPING
    text = "# Données fictives de démonstration, écrites par vigie.demo.synthetic : ne pas utiliser comme données réelles.\n"
    text += yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False, width=120)
    yaml_path.write_text(text, encoding="utf-8")
    return csv_path, yaml_path
