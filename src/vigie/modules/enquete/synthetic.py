"""A deterministic synthetic survey of the demo territory ("données fictives de démonstration").

`generate(wh, out_dir)` draws, from the census margins in the warehouse, 1,000 respondents of 15 or more living in
the study territory (the Pôle Métropolitain de l'Artois by default) and writes the microdata CSV, its codebook,
about twenty interview notes and the theme grid:

* sampling: stratified by EPCI with proportional allocation, home commune drawn in proportion to its population of
  15 or more; the design weight is N_h/n_h. Response is made unequal on purpose — older people and women answer
  more, young people less, executives more than manual workers — so that calibration has work to do;
* profile: sex × age group from the commune's census cells, socio-professional group (CS1) from the commune's
  census shares made compatible with age (retired people are 60 or more, students young…), access to a car;
* behaviour, one main destination per motive, by a gravity model: a respondent goes to a pole with probability
  ∝ exp(α log P_j − d_ij/δ + bonus_j), P_j the pole's population, d_ij the distance between commune centroids (km),
  δ the motive's reach (short for daily shopping, long for culture), bonus for Lille and Arras where they draw more
  (culture, occasional shopping); the home commune itself competes with a local bonus that grows with its size.
  The poles are the largest communes of the territory, plus Arras and Lille outside it. Some respondents do not
  practise a motive (no destination), more so with age for sport and culture.

Same warehouse, same seed, same bytes. Everything is marked synthetic. `build_demo_survey` imports the files,
calibrates the sample on the census margins (raking on sex × age, EPCI and CS1) and codes the interviews.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from vigie.errors import NotFoundError
from vigie.modules.enquete.codebook import MOTIVES
from vigie.modules.enquete.margins import AGE_GROUPS, CSP_CODES, SEX_CODES, sex_age_indicator
from vigie.warehouse import Warehouse

DEFAULT_SEED = 2026
SURVEY_ID = "usages_pma_demo"
DEMO_NOTICE = "données fictives de démonstration"
GRID = Path(__file__).with_name("grille_themes.yaml")
# Outside poles not in the demo referential (Pas-de-Calais only): code, name, Lambert-93 centroid, population.
LILLE = ("59350", "Lille", (704060.0, 7059950.0), 236710.0)
ARRAS = "62041"
N_POLES = 8

AGE_LABELS = {"15-29": "15 à 29 ans", "30-44": "30 à 44 ans", "45-59": "45 à 59 ans", "60-74": "60 à 74 ans", "75+": "75 ans ou plus"}
CSP_LABELS = {
    "1": "Agriculteurs exploitants", "2": "Artisans, commerçants, chefs d'entreprise",
    "3": "Cadres et professions intellectuelles supérieures", "4": "Professions intermédiaires", "5": "Employés",
    "6": "Ouvriers", "7": "Retraités", "8": "Autres personnes sans activité professionnelle",
}
# Response propensity (non-response bias the calibration corrects).
RESPONSE_AGE = {"15-29": 0.6, "30-44": 0.85, "45-59": 1.0, "60-74": 1.3, "75+": 0.95}
RESPONSE_SEX = {"1": 0.9, "2": 1.1}
RESPONSE_CSP = {"3": 1.25, "4": 1.1, "6": 0.8}
# Compatibility of CS1 groups with age (relative odds), applied to the commune's census shares.
CSP_BY_AGE = {
    "15-29": {"7": 0.0, "8": 2.5},
    "30-44": {"7": 0.0, "8": 0.5},
    "45-59": {"7": 0.05, "8": 0.6},
    "60-74": {"1": 0.3, "2": 0.3, "3": 0.3, "4": 0.3, "5": 0.3, "6": 0.3, "7": 4.0, "8": 0.7},
    "75+": {"1": 0.02, "2": 0.02, "3": 0.02, "4": 0.02, "5": 0.02, "6": 0.02, "7": 6.0, "8": 1.0},
}


@dataclass(frozen=True)
class Motive:
    practice: float  # share practising at 45-59
    age_slope: float  # change of the practice odds per age group (negative: less with age)
    reach_km: float  # δ of the distance decay
    mass: float  # α, weight of the pole's size
    local: float  # bonus of the home commune
    bonus: dict  # extra attraction of some poles


BEHAVIOUR: dict[str, Motive] = {
    "achats_quotidiens": Motive(0.97, 0.0, 3.0, 0.6, 2.2, {}),
    "sante": Motive(0.85, 0.15, 4.0, 0.8, 1.2, {}),
    "demarches": Motive(0.7, 0.0, 6.0, 0.9, 0.6, {}),
    "sport": Motive(0.5, -0.35, 5.0, 0.7, 1.0, {}),
    "loisirs": Motive(0.75, -0.2, 10.0, 1.0, 0.0, {"59350": 0.5, ARRAS: 0.2}),
    "culture": Motive(0.5, -0.15, 16.0, 1.0, -0.8, {"59350": 1.3, ARRAS: 0.5, "62498": 0.8}),
    "achats_occasionnels": Motive(0.9, -0.1, 12.0, 1.0, -1.2, {"59350": 0.6}),
}


@dataclass
class GeneratedSurvey:
    data: Path
    codebook: Path
    interviews: Path
    grid: Path
    respondents: int


def _territory_frame(wh: Warehouse, territory: str) -> tuple[pd.DataFrame, int, int]:
    """Communes of the territory with their census cells (15 or more), CS1 shares, EPCI, centroid."""
    found = wh.query("SELECT max(year) FROM value WHERE indicator = 'p_h1529' AND level = 'commune'")
    if not found or found[0][0] is None:
        raise NotFoundError("Le recensement par sexe et âge (p_h1529…) manque dans l'entrepôt : lancez « vigie demo ».")
    year = int(found[0][0])
    census_cog = int(wh.query("SELECT max(cog) FROM value WHERE indicator = 'p_h1529' AND level = 'commune' AND year = ?", (year,))[0][0])
    place = wh.find_territory(territory)
    cog = wh.latest_cog("commune")
    members = wh.query_df(
        "SELECT m.child_code AS code, t.name FROM membership m JOIN territory t ON t.level = 'commune' AND t.code = m.child_code "
        "AND t.cog = m.cog WHERE m.cog = ? AND m.child_level = 'commune' AND m.parent_level = ? AND m.parent_code = ? ORDER BY m.child_code",
        (cog, place.level, place.code))
    if members.empty:
        raise NotFoundError(f"Le territoire « {territory} » n'a pas de communes au COG {cog}.")
    epci = wh.query_df("SELECT child_code AS code, parent_code AS epci FROM membership WHERE cog = ? AND child_level = 'commune' "
                       "AND parent_level = 'epci'", (cog,))
    members = members.merge(epci, on="code", how="left")
    indicators = [sex_age_indicator(s, a) for s in SEX_CODES for a in AGE_GROUPS] + [f"c_pop15p_cs{c}" for c in CSP_CODES]
    values = wh.query_df(
        f"SELECT code, indicator, value FROM value WHERE level = 'commune' AND year = ? AND cog = ? AND indicator IN "
        f"({', '.join('?' * len(indicators))})", [year, census_cog, *indicators])
    table = values.pivot_table(index="code", columns="indicator", values="value", aggfunc="sum").fillna(0.0)
    frame = members.join(table, on="code").fillna({i: 0.0 for i in indicators})
    geoms = wh.territory_geometries("commune", cog)
    if geoms.empty:
        raise NotFoundError("Les contours des communes manquent dans l'entrepôt : ils donnent les distances du modèle gravitaire.")
    centroids = geoms.set_index("code").geometry.centroid
    frame["x"] = frame["code"].map(centroids.x)
    frame["y"] = frame["code"].map(centroids.y)
    frame = frame.dropna(subset=["x", "y"]).reset_index(drop=True)
    frame["pop15"] = frame[[sex_age_indicator(s, a) for s in SEX_CODES for a in AGE_GROUPS]].sum(axis=1)
    frame = frame[frame["pop15"] > 0].reset_index(drop=True)
    arras = wh.query_df("SELECT t.code, t.name FROM territory t WHERE t.level = 'commune' AND t.code = ? AND t.cog = ?", (ARRAS, cog))
    extra = []
    if not arras.empty and ARRAS in set(centroids.index):
        pop = wh.query("SELECT max(value) FROM value WHERE indicator = 'p_pop' AND level = 'commune' AND code = ? AND year = ?", (ARRAS, year))
        extra.append({"code": ARRAS, "name": str(arras["name"].iloc[0]), "x": float(centroids[ARRAS].x),
                      "y": float(centroids[ARRAS].y), "pop": float(pop[0][0] or 41000.0), "inside": False})
    frame.attrs["outside"] = extra
    return frame, year, cog


def generate(wh: Warehouse, out_dir: Path | str, *, territory: str = "PMA", n: int = 1000, seed: int = DEFAULT_SEED,
             survey_id: str = SURVEY_ID) -> GeneratedSurvey:
    """Write the synthetic survey files into `out_dir` (see the module's documentation)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    communes, year, cog = _territory_frame(wh, territory)
    # Poles: the largest communes of the territory, Arras and Lille outside.
    top = communes.sort_values(["pop15", "code"], ascending=[False, True]).head(N_POLES)
    poles = pd.DataFrame({"code": top["code"], "name": top["name"], "x": top["x"], "y": top["y"], "pop": top["pop15"] / 0.82})
    outside = communes.attrs.get("outside", []) + [{"code": LILLE[0], "name": LILLE[1], "x": LILLE[2][0], "y": LILLE[2][1], "pop": LILLE[3]}]
    poles = pd.concat([poles, pd.DataFrame(outside)[["code", "name", "x", "y", "pop"]]], ignore_index=True)

    # Stratified sample (strata = EPCI), proportional allocation by largest remainders.
    strata = communes.groupby("epci")["pop15"].sum().sort_index()
    quota = strata / strata.sum() * n
    alloc = np.floor(quota).astype(int)
    for k in (quota - alloc).sort_values(ascending=False, kind="stable").index[: n - alloc.sum()]:
        alloc[k] += 1
    rows = []
    cells = [(s, a) for s in SEX_CODES for a in AGE_GROUPS]
    for epci_code, n_h in alloc.items():
        inside = communes[communes["epci"] == epci_code].reset_index(drop=True)
        weight = float(strata[epci_code]) / n_h
        # Tilt by response propensity: drawn communes and cells as respondents, not as the population.
        cell_pop = inside[[sex_age_indicator(s, a) for s, a in cells]].to_numpy()
        tilt = np.array([RESPONSE_SEX[s] * RESPONSE_AGE[a] for s, a in cells])
        commune_p = (cell_pop * tilt).sum(axis=1)
        picks = rng.choice(len(inside), size=n_h, p=commune_p / commune_p.sum())
        for i in np.sort(picks):
            c = inside.iloc[i]
            p = cell_pop[i] * tilt
            s, a = cells[rng.choice(len(cells), p=p / p.sum())]
            csp_raw = np.array([c[f"c_pop15p_cs{k}"] for k in CSP_CODES], dtype=float) + 1e-9
            odds = np.array([CSP_BY_AGE[a].get(k, 1.0) * RESPONSE_CSP.get(k, 1.0) for k in CSP_CODES])
            pc = csp_raw * odds
            csp = CSP_CODES[rng.choice(8, p=pc / pc.sum())]
            car = 0.85 - (0.3 if a == "75+" else 0.0) - (0.15 if a == "15-29" else 0.0) - (0.2 if csp == "8" else 0.0)
            rows.append({"commune": c["code"], "epci": epci_code, "x": c["x"], "y": c["y"], "pop_home": c["pop15"] / 0.82,
                         "sexe": s, "age": a, "csp": csp, "voiture": "1" if rng.random() < car else "2", "poids": weight})
    sample = pd.DataFrame(rows)
    sample.insert(0, "id", [f"R{i:04d}" for i in range(1, len(sample) + 1)])
    age_rank = sample["age"].map({a: i - 2 for i, a in enumerate(AGE_GROUPS)}).to_numpy()

    # Gravity model per motive.
    px, py = poles["x"].to_numpy(), poles["y"].to_numpy()
    dist = np.hypot(sample["x"].to_numpy()[:, None] - px[None, :], sample["y"].to_numpy()[:, None] - py[None, :]) / 1000.0
    pole_codes = poles["code"].to_numpy()
    home_is_pole = sample["commune"].to_numpy()[:, None] == pole_codes[None, :]
    no_car = (sample["voiture"] == "2").to_numpy()
    for motive, b in BEHAVIOUR.items():
        odds = np.log(b.practice / (1 - b.practice)) + b.age_slope * age_rank
        practises = rng.random(len(sample)) < 1 / (1 + np.exp(-odds))
        reach = np.where(no_car, 0.6, 1.0)[:, None] * b.reach_km
        bonus = np.array([b.bonus.get(code, 0.0) for code in pole_codes])
        utility = b.mass * np.log(poles["pop"].to_numpy())[None, :] - dist / reach + bonus[None, :]
        utility = np.where(home_is_pole, -np.inf, utility)  # the home commune is the local option below
        local = b.mass * np.log(sample["pop_home"].to_numpy()) + b.local + np.where(home_is_pole.any(axis=1), 0.8, 0.0)
        full = np.column_stack([utility, local])
        full = np.exp(full - full.max(axis=1, keepdims=True))
        prob = full / full.sum(axis=1, keepdims=True)
        choice = np.array([rng.choice(prob.shape[1], p=prob[k]) for k in range(len(sample))])
        dest = np.where(choice == len(pole_codes), sample["commune"].to_numpy(), pole_codes[np.minimum(choice, len(pole_codes) - 1)])
        sample[f"dest_{motive}"] = np.where(practises, dest, "")
    sample["sorties_mois"] = rng.poisson(np.clip(4.0 - 0.8 * age_rank + np.where(no_car, -1.0, 0.5), 0.3, None))

    data_path = out / f"{survey_id}.csv"
    columns = ["id", "commune", "sexe", "age", "csp", "voiture", "sorties_mois", "poids", "strate"] + [f"dest_{m}" for m in BEHAVIOUR]
    sample["strate"] = sample["epci"]
    sample["poids"] = sample["poids"].map(lambda v: f"{v:.6f}")
    sample[columns].to_csv(data_path, sep=";", index=False, lineterminator="\n")

    codebook_path = out / f"{survey_id}.yaml"
    codebook_path.write_text(_codebook_text(survey_id, territory, cog, year, seed), encoding="utf-8")
    interviews_path = out / f"{survey_id}_entretiens.csv"
    _interviews(sample, rng).to_csv(interviews_path, index=False, lineterminator="\n")
    grid_path = out / "grille_themes.yaml"
    shutil.copyfile(GRID, grid_path)
    return GeneratedSurvey(data_path, codebook_path, interviews_path, grid_path, len(sample))


def _codebook_text(survey_id: str, territory: str, cog: int, year: int, seed: int) -> str:
    spec = {
        "survey": survey_id,
        "title": f"Enquête usages et pratiques du territoire ({DEMO_NOTICE})",
        "producer": "Vigie (échantillon fictif tiré des marges du recensement)",
        "licence": "Licence Ouverte / Etalab 2.0",
        "vintage": f"Échantillon fictif, graine {seed}, marges du recensement {year}",
        "population": "Habitants de 15 ans ou plus du Pôle Métropolitain de l'Artois",
        "synthetic": True,
        "territory": territory,
        "cog": cog,
        "separator": ";",
        "respondent": "id",
        "commune": "commune",
        "weight": "poids",
        "design": {"strata": "strate"},
        "profile": {"sex": "sexe", "age_group": "age", "csp": "csp"},
        "variables": {
            "sexe": {"label": "Sexe", "modalities": {"1": "Homme", "2": "Femme"}},
            "age": {"label": "Tranche d'âge", "modalities": dict(AGE_LABELS)},
            "csp": {"label": "Catégorie socioprofessionnelle", "modalities": dict(CSP_LABELS)},
            "voiture": {"label": "Dispose d'une voiture", "modalities": {"1": "Oui", "2": "Non"}},
            "sorties_mois": {"label": "Sorties de loisirs par mois", "type": "numeric"},
        },
        "motives": {m: [f"dest_{m}"] for m in BEHAVIOUR},
        "external_destinations": {LILLE[0]: {"name": LILLE[1], **_lon_lat(LILLE[2])}},
    }
    header = (f"# Dictionnaire des variables de l'enquête fictive « {survey_id} » ({DEMO_NOTICE}).\n"
              "# Motifs : " + ", ".join(f"{k} = {v}" for k, v in MOTIVES.items()) + ".\n")
    return header + yaml.safe_dump(spec, allow_unicode=True, sort_keys=False, width=120)


def _lon_lat(xy: tuple[float, float]) -> dict[str, float]:
    """WGS84 position (5 decimals) of a Lambert-93 point, for the codebook (flow maps place the destination there)."""
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(*xy)
    return {"lon": round(float(lon), 5), "lat": round(float(lat), 5)}


# Sentences of the interview notes, by theme; picked by profile so that the notes read plausibly.
SENTENCES = {
    "mobilite": [
        "Sans voiture, c'est compliqué : le bus passe toutes les heures et pas le dimanche.",
        "Je prends le TER à la gare de Lens pour aller travailler, quand il n'est pas supprimé.",
        "Le stationnement en centre-ville est devenu payant, alors je vais ailleurs.",
        "Je fais du covoiturage avec une collègue, sinon l'essence coûte trop cher.",
    ],
    "commerces": [
        "Pour les courses de tous les jours, je vais à la supérette du quartier ou au marché du mardi.",
        "Les gros achats, c'est à la zone commerciale de Noyelles-Godault, il y a tout au même endroit.",
        "Le centre-ville se vide, beaucoup de commerces ont fermé depuis quelques années.",
        "Je fais mes achats en ligne pour les vêtements, les magasins d'ici n'ont pas grand-chose.",
    ],
    "sante": [
        "Trouver un médecin généraliste qui prend de nouveaux patients, c'est devenu impossible.",
        "Pour un spécialiste, il faut compter six mois de rendez-vous ou aller jusqu'à Lille.",
        "La pharmacie du bourg est bien pratique, la pharmacienne connaît tout le monde.",
        "Les urgences de l'hôpital de Lens sont saturées, on y passe la nuit.",
    ],
    "culture_loisirs": [
        "Le Louvre-Lens, on y va quand il y a une nouvelle exposition, c'est gratuit pour les collections.",
        "Le cinéma, on y va à Liévin ou à Hénin, avec les enfants le mercredi.",
        "La médiathèque a de belles animations mais les horaires ne sont pas adaptés quand on travaille.",
        "Les sorties au restaurant, c'est plutôt pour les grandes occasions.",
    ],
    "sport": [
        "Mon fils joue au football au club de la commune, les bénévoles font un travail formidable.",
        "La piscine a fermé pour travaux, il faut aller dans la commune d'à côté.",
        "Je vais courir sur les terrils le dimanche matin, c'est notre montagne à nous.",
        "La salle de sport est trop chère, je fais de la randonnée avec une association.",
    ],
    "services_publics": [
        "Pour les papiers, la mairie nous aide, mais tout se fait en ligne maintenant.",
        "Je suis allée à l'espace France Services pour ma déclaration d'impôts.",
        "La CAF, on ne peut plus avoir personne au téléphone, il faut se déplacer à la sous-préfecture.",
    ],
    "metropole": [
        "Pour les concerts et les grandes expositions, on va à Lille, c'est là que ça se passe.",
        "Les jeunes partent à Lille pour les études et ne reviennent pas toujours.",
        "Arras, c'est joli pour une balade, on y va pour le marché de Noël.",
    ],
    "cadre_de_vie": [
        "J'habite la cité minière depuis toujours, je suis très attaché à mon quartier.",
        "C'est calme, il y a des espaces verts, mais on se sent un peu éloigné de tout.",
        "Les voisins se connaissent, il y a une vraie solidarité.",
    ],
}


def _interviews(sample: pd.DataFrame, rng: np.random.Generator, count: int = 20) -> pd.DataFrame:
    picked = np.sort(rng.choice(len(sample), size=count, replace=False))
    rows = []
    themes = list(SENTENCES)
    for k, i in enumerate(picked, start=1):
        r = sample.iloc[i]
        weights = np.ones(len(themes))
        if r["age"] in ("60-74", "75+"):
            weights[themes.index("sante")] += 2.0
        if r["age"] == "15-29":
            weights[themes.index("metropole")] += 2.0
            weights[themes.index("culture_loisirs")] += 1.0
        if r["voiture"] == "2":
            weights[themes.index("mobilite")] += 2.5
        chosen = rng.choice(len(themes), size=3, replace=False, p=weights / weights.sum())
        text = " ".join(SENTENCES[themes[t]][rng.integers(len(SENTENCES[themes[t]]))] for t in sorted(chosen))
        rows.append({"entretien": f"E{k:02d}", "repondant": r["id"], "commune": r["commune"], "sexe": "Homme" if r["sexe"] == "1" else "Femme",
                     "age": AGE_LABELS[r["age"]], "csp": CSP_LABELS[r["csp"]], "texte": text,
                     "themes": "cadre_de_vie" if k in (3, 11) else ""})
    return pd.DataFrame(rows)


@dataclass
class DemoSurvey:
    survey: str
    respondents: int
    interviews: int
    weighting: object


def build_demo_survey(wh: Warehouse, *, territory: str = "PMA", seed: int = DEFAULT_SEED, directory: Path | None = None,
                      method: str = "raking") -> DemoSurvey:
    """Generate, import, calibrate on the census and code the interviews of the synthetic survey."""
    from vigie.modules.enquete.importer import import_survey
    from vigie.modules.enquete.interviews import import_interviews
    from vigie.modules.enquete.margins import census_margins
    from vigie.modules.enquete.survey import load_survey
    from vigie.modules.enquete.weighting import weight_survey

    with tempfile.TemporaryDirectory(prefix="vigie-enquete-") as tmp:
        where = Path(directory) if directory else Path(tmp)
        files = generate(wh, where, territory=territory, seed=seed)
        imported = import_survey(wh, files.data, files.codebook)
        notes = import_interviews(wh, files.interviews, files.grid, imported.survey, synthetic=True)
    survey = load_survey(wh, imported.survey)
    margins = census_margins(wh, survey.codebook, territory)
    weighting = weight_survey(wh, survey, margins.margins, method=method)
    return DemoSurvey(imported.survey, imported.respondents, notes.interviews, weighting)
