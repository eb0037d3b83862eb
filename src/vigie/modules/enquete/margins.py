"""Calibration margins: from the census in the warehouse, or from a YAML file written by the analyst.

Census margins (population of 15 or more of the study territory, latest census year in the warehouse):

* sex × age group — `p_h1529` … `p_h75p`, `p_f1529` … `p_f75p` summed over the territory's communes;
* EPCI of residence — the same ten cells summed by EPCI;
* socio-professional group (CS1, 8 groups) — `c_pop15p_cs1` … `c_pop15p_cs8`, which come from the census's
  complementary exploitation: they are scaled to the sex × age total so that all margins describe one population.

The survey's variables playing these roles are named by the codebook's `profile` (`sex`, `age_group`, `csp`);
their modality codes must be the INSEE ones listed in `codebook`.

A margins file:

    population: 250000          # optional: total population (also added as a calibration total)
    shares: false               # true: categorical margins are shares (summing to 1 or 100) of the population
    margins:                    # categorical margins: modality code -> population total
      sexe*age: {"1|15-29": 26000, …}   # "a*b" calibrates on the crossing of a and b, modalities "code_a|code_b"
      epci: {"246200364": 200000, …}
    totals:                     # numeric margins: population total of the variable
      nb_voitures: 180000
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from vigie import formatting as fmt

from vigie.errors import ConfigurationError, NotFoundError
from vigie.modules.enquete.calibration import CategoricalMargin, Margin, NumericMargin
from vigie.modules.enquete.codebook import Codebook
from vigie.modules.enquete.survey import CROSSING, CROSSING_JOIN
from vigie.warehouse import Warehouse

SEX_CODES = {"1": "h", "2": "f"}
AGE_GROUPS = {"15-29": "1529", "30-44": "3044", "45-59": "4559", "60-74": "6074", "75+": "75p"}
CSP_CODES = [str(i) for i in range(1, 9)]
DEFAULT_CSP_GROUPS = {"1-2": ["1", "2"]}


@dataclass
class CensusMargins:
    margins: list[Margin]
    year: int
    cog: int
    territory: str
    population: float
    notes: list[str] = field(default_factory=list)


def sex_age_indicator(sex: str, age: str) -> str:
    return f"p_{SEX_CODES[sex]}{AGE_GROUPS[age]}"


def census_margins(wh: Warehouse, codebook: Codebook, territory: str | None = None, year: int | None = None,
                   *, include: tuple[str, ...] = ("sex_age", "epci", "csp"),
                   csp_groups: dict[str, list[str]] | None = None) -> CensusMargins:
    """Margins of the population of 15 or more of `territory` (default: the codebook's) from the census.

    `csp_groups` regroups CS1 codes whose cells would hold too few respondents (default: farmers with craftsmen,
    shopkeepers and business owners, « 1-2 », as INSEE surveys do for samples of this size; `{}` keeps all eight).
    """
    csp_groups = DEFAULT_CSP_GROUPS if csp_groups is None else csp_groups
    territory = territory or codebook.territory
    if not territory:
        raise ConfigurationError("Territoire d'étude inconnu : précisez-le (option --territoire ou clé « territory » du dictionnaire).")
    profile = codebook.profile
    needed = {"sex_age": ("sex", "age_group"), "csp": ("csp",)}
    for part in include:
        for role in needed.get(part, ()):
            if role not in profile:
                raise ConfigurationError(
                    f"Le dictionnaire ne dit pas quelle variable donne « {role} » (clé « profile ») : marges du recensement impossibles.")
    _check_codes(codebook, profile.get("sex"), SEX_CODES, "sexe")
    _check_codes(codebook, profile.get("age_group"), AGE_GROUPS, "tranche d'âge")
    _check_codes(codebook, profile.get("csp"), CSP_CODES, "catégorie socioprofessionnelle")

    found = wh.query("SELECT max(year) FROM value WHERE indicator = 'p_h1529' AND level = 'commune'")
    if not found or found[0][0] is None:
        raise NotFoundError("L'entrepôt ne contient pas le recensement par sexe et âge (p_h1529…) : importez-le d'abord.")
    year = int(year or found[0][0])
    cogs = [int(r[0]) for r in wh.query(
        "SELECT DISTINCT cog FROM value WHERE indicator = 'p_h1529' AND level = 'commune' AND year = ? ORDER BY cog", (year,))]
    if not cogs:
        raise NotFoundError(f"Pas de recensement par sexe et âge pour l'année {year} dans l'entrepôt.")
    cog = cogs[-1]
    place = wh.find_territory(territory)
    communes = wh.query_df(
        "SELECT child_code AS commune FROM membership WHERE cog = ? AND child_level = 'commune' AND parent_level = ? AND parent_code = ?",
        (cog, place.level, place.code))
    if place.level == "commune":
        communes = pd.DataFrame({"commune": [place.code]})
    if communes.empty:
        raise NotFoundError(f"Le territoire « {territory} » n'a pas de communes au COG {cog} du recensement {year}.")
    epci = wh.query_df(
        "SELECT child_code AS commune, parent_code AS epci FROM membership WHERE cog = ? AND child_level = 'commune' "
        "AND parent_level = 'epci'", (cog,))
    codes = list(communes["commune"])
    sex_age = [sex_age_indicator(s, a) for s in SEX_CODES for a in AGE_GROUPS]
    csp = [f"c_pop15p_cs{c}" for c in CSP_CODES]
    marks = ", ".join("?" * len(codes))
    indicators = sex_age + csp
    values = wh.query_df(
        f"SELECT code, indicator, value FROM value WHERE level = 'commune' AND year = ? AND cog = ? "
        f"AND indicator IN ({', '.join('?' * len(indicators))}) AND code IN ({marks})",
        [year, cog, *indicators, *codes])
    notes = [f"Recensement {year} (communes au COG {cog}), population de 15 ans ou plus de « {place.name} »."]
    if values["value"].isna().any():
        notes.append(f"{int(values['value'].isna().sum())} valeur(s) communale(s) manquante(s) ou sous secret comptée(s) pour zéro.")
    values["value"] = values["value"].fillna(0.0).astype(float)
    table = values.pivot_table(index="code", columns="indicator", values="value", aggfunc="sum").reindex(codes).fillna(0.0)
    for ind in indicators:
        if ind not in table.columns:
            raise NotFoundError(f"Indicateur du recensement « {ind} » absent de l'entrepôt pour {year}.")
    population = float(table[sex_age].to_numpy().sum())
    margins: list[Margin] = []
    if "sex_age" in include:
        name = f"{profile['sex']}{CROSSING}{profile['age_group']}"
        margins.append(CategoricalMargin(name, {f"{s}{CROSSING_JOIN}{a}": float(table[sex_age_indicator(s, a)].sum())
                                                for s in SEX_CODES for a in AGE_GROUPS}))
    if "epci" in include:
        by_epci = table[sex_age].sum(axis=1).rename("pop").to_frame().join(epci.set_index("commune")["epci"])
        totals = by_epci.groupby("epci")["pop"].sum()
        margins.append(CategoricalMargin("epci", {str(k): float(v) for k, v in totals.items()}))
    if "csp" in include:
        raw = {c: float(table[f"c_pop15p_cs{c}"].sum()) for c in CSP_CODES}
        scale = population / sum(raw.values())
        label_of = {c: label for label, codes in csp_groups.items() for c in codes}
        totals: dict[str, float] = {}
        for c, v in raw.items():
            key = label_of.get(c, c)
            totals[key] = totals.get(key, 0.0) + v * scale
        margins.append(CategoricalMargin(profile["csp"], totals, dict(csp_groups) or None))
        notes.append("Catégories socioprofessionnelles (exploitation complémentaire) ramenées au total de l'exploitation "
                     f"principale (facteur {fmt.number(scale, 4)}).")
    return CensusMargins(margins, year, cog, place.code, population, notes)


def _check_codes(codebook: Codebook, variable: str | None, expected, what: str) -> None:
    if variable is None:
        return
    codes = set(codebook.variables[variable].modalities)
    if codes != set(expected):
        raise ConfigurationError(
            f"La variable « {variable} » ({what}) doit avoir les modalités INSEE {', '.join(expected)} pour être calée sur le "
            f"recensement ; le dictionnaire déclare : {', '.join(sorted(codes))}.")


def load_margins(path: Path | str) -> tuple[list[Margin], float | None]:
    """Margins from a YAML file (see the module's documentation)."""
    path = Path(path)
    if not path.exists():
        raise ConfigurationError(f"Fichier de marges introuvable : {path}.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"Fichier de marges « {path.name} » illisible : {exc}.") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"Fichier de marges « {path.name} » : clés « margins » et/ou « totals » attendues.")
    margins: list[Margin] = []
    for variable, totals in (raw.get("margins") or {}).items():
        if not isinstance(totals, dict) or not totals:
            raise ConfigurationError(f"Fichier de marges « {path.name} » : la marge « {variable} » doit donner un total par modalité.")
        try:
            margins.append(CategoricalMargin(str(variable), {str(k): float(v) for k, v in totals.items()}))
        except (TypeError, ValueError):
            raise ConfigurationError(f"Fichier de marges « {path.name} » : total non numérique dans la marge « {variable} ».") from None
    for variable, total in (raw.get("totals") or {}).items():
        try:
            margins.append(NumericMargin(str(variable), float(total)))
        except (TypeError, ValueError):
            raise ConfigurationError(f"Fichier de marges « {path.name} » : total de « {variable} » non numérique.") from None
    population = raw.get("population")
    if raw.get("shares"):
        if population is None:
            raise ConfigurationError(f"Fichier de marges « {path.name} » : des marges en parts exigent la population totale.")
        margins = [m.scaled(float(population)) if isinstance(m, CategoricalMargin) else m for m in margins]
    if not margins and population is None:
        raise ConfigurationError(f"Fichier de marges « {path.name} » : aucune marge.")
    return margins, None if population is None else float(population)
