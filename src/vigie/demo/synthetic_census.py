"""Synthetic census tables for the demo, in the layout of the INSEE "bases communales" (base-cc).

The demo territory has real population totals (RP 2012, legal populations 2016–2022) and real RP 2021 housing
counts, but none of the detailed census tables (age, households, activity, diplomas). This module makes them up,
deterministically, so that:

* the totals are the real ones (P12_POP, P21_POP, P21_LOG, P21_RP…), and every internal sum holds exactly
  (age groups, sexes, household types, activity, socio-professional groups, diplomas, tenure), because every
  count is an integer split of its total by largest-remainder rounding;
* each statistical unit (commune or QPV) has a profile drawn from a random generator seeded with the run seed and
  the unit's own code only (adding or removing communes changes nobody else's figures), blended with real
  covariates where they exist (Filosofi 2021 median income, 2024 social-housing rate, 2012 density, membership
  of the former mining basin), and kept across census years so that a commune's story is smooth over time;
* ageing between censuses comes from a cohort model (birth cohorts of France moving up the age pyramid).

Nothing here touches a warehouse: `commune_units`/`census_values` compute, `write_base` writes the INSEE layout.
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# Census year -> geography vintage (COG) of the published codes, as INSEE does (RP N is published in COG N+2).
CENSUS_COG: dict[int, int] = {2012: 2014, 2017: 2019, 2021: 2023}

# Theme -> (file name pattern, variables). A variable is written `<P|C><yy>_<stem>` (P21_POP, C21_MEN…).
THEMES: dict[str, tuple[str, list[str]]] = {
    "evol-struct-pop": (
        "base-cc-evol-struct-pop-{year}.CSV",
        ["P_POP", "P_POP0014", "P_POP1529", "P_POP3044", "P_POP4559", "P_POP6074", "P_POP75P",
         "P_POP0019", "P_POP2064", "P_POP65P", "P_POPH",
         "P_H0014", "P_H1529", "P_H3044", "P_H4559", "P_H6074", "P_H75P", "P_POPF",
         "P_F0014", "P_F1529", "P_F3044", "P_F4559", "P_F6074", "P_F75P",
         "C_POP15P"] + [f"C_POP15P_CS{i}" for i in range(1, 9)] + ["P_PMEN", "P_PHORMEN"],
    ),
    "couples-familles-menages": (
        "base-cc-couples-familles-menages-{year}.CSV",
        ["C_MEN", "C_MENPSEUL", "C_MENHSEUL", "C_MENFSEUL", "C_MENSFAM", "C_MENFAM", "C_MENCOUPSENF",
         "C_MENCOUPAENF", "C_MENFAMMONO", "C_PMEN", "C_FAM", "C_COUPAENF", "C_COUPSENF", "C_FAMMONO"],
    ),
    "emploi-pop-active": (
        "base-cc-emploi-pop-active-{year}.CSV",
        ["P_POP1564", "P_ACT1564", "P_ACTOCC1564", "P_CHOM1564", "P_INACT1564", "P_ETUD1564", "P_RETR1564",
         "P_EMPLT", "P_EMPLT_SAL", "C_EMPLT_AGRI", "C_EMPLT_INDUS", "C_EMPLT_CONST", "C_EMPLT_CTS",
         "C_EMPLT_APESAS", "P_ACTOCC15P"],
    ),
    "diplomes-formation": (
        "base-cc-diplomes-formation-{year}.CSV",
        ["P_POP0205", "P_POP0610", "P_POP1114", "P_POP1517", "P_POP1824", "P_POP2529", "P_POP30P",
         "P_SCOL0205", "P_SCOL0610", "P_SCOL1114", "P_SCOL1517", "P_SCOL1824", "P_SCOL2529", "P_SCOL30P",
         "P_NSCOL15P", "P_NSCOL15P_DIPLMIN", "P_NSCOL15P_BEPC", "P_NSCOL15P_CAPBEP", "P_NSCOL15P_BAC",
         "P_NSCOL15P_SUP2", "P_NSCOL15P_SUP34", "P_NSCOL15P_SUP5"],
    ),
    "logement": (
        "base-cc-logement-{year}-detail.CSV",
        ["P_LOG", "P_RP", "P_RSECOCC", "P_LOGVAC",
         "P_RP_PROP", "P_RP_LOC", "P_RP_LOCHLMV", "P_RP_GRAT", "P_MAISON", "P_APPART"],
    ),
}
# RP 2021 stock counts that are real (imported from rp2021_logement_communes_62.csv): never regenerated.
REAL_HOUSING_2021 = ["P_LOG", "P_RP", "P_RSECOCC", "P_LOGVAC"]

THEME_LABELS: dict[str, str] = {
    "evol-struct-pop": "Population par âge, sexe et catégorie socioprofessionnelle",
    "couples-familles-menages": "Ménages et familles",
    "emploi-pop-active": "Activité, chômage et emploi au lieu de travail",
    "diplomes-formation": "Scolarisation et diplômes",
    "logement": "Statut d'occupation et type de logement",
}

HEADER = ["CODGEO", "REG", "DEP", "LIBGEO"]

# Named random effects of a unit (standard normals drawn from its code). New names go at the END only, so
# that the effects already in use keep their values.
EFFECTS = [
    "depriv", "old", "young", "phorm", "single", "fsingle", "sfam", "mono", "cplchild", "hlm", "privrent",
    "appart", "unemp", "ainact", "retr", "scol", "dipl", "cs", "farm", "ice", "sal", "indus", "apesas",
    "agri", "vac", "rsec", "grat", "student", "size", "qpv_pop", "qpv_ratio", "qpv_health",
    "qpv_sport", "qpv_culture", "qpv_css", "qpv_cover",
]
_EFFECT = {name: i for i, name in enumerate(EFFECTS)}
N_JITTER = 8  # small year-specific effects


# ---------------------------------------------------------------------------------------------- numerics
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser: a fixed, well-mixing bijection of 64-bit integers (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = x + _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def unit_normals(seed: int, keys: list[str], n: int) -> np.ndarray:
    """Matrix (keys × n) of standard normals; row i depends only on `seed` and `keys[i]` (a commune or QPV code).

    Counter-based: the j-th number of a key hashes (key, seed, j), so adding effects or keys never changes the
    numbers already drawn.
    """
    base = np.array(
        [int.from_bytes(hashlib.blake2b(f"vigie-synthetic|{seed}|{k}".encode(), digest_size=8).digest(), "little")
         for k in keys],
        dtype=np.uint64,
    ).reshape(-1, 1)
    pairs = (n + 1) // 2
    counters = np.arange(2 * pairs, dtype=np.uint64).reshape(1, -1)
    with np.errstate(over="ignore"):
        bits = _splitmix64(base ^ _splitmix64(counters * _GOLDEN))
    uniform = ((bits >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)  # in (0, 1)
    u1, u2 = uniform[:, 0::2], uniform[:, 1::2]
    radius = np.sqrt(-2.0 * np.log(u1))  # Box–Muller
    normals = np.empty((len(keys), 2 * pairs))
    normals[:, 0::2] = radius * np.cos(2 * np.pi * u2)
    normals[:, 1::2] = radius * np.sin(2 * np.pi * u2)
    return normals[:, :n]


def effects(seed: int, codes: list[str]) -> np.ndarray:
    """Matrix (units × EFFECTS) of per-unit standard normals."""
    return unit_normals(seed, codes, len(EFFECTS))


def year_jitter(seed: int, codes: list[str], year: int) -> np.ndarray:
    return unit_normals(seed, [f"{code}|{year}" for code in codes], N_JITTER)


def round_half_up(x: np.ndarray | float) -> np.ndarray:
    return np.floor(np.asarray(x, dtype=float) + 0.5).astype(np.int64)


def split(total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split integer `total` (n,) into integer parts (n, k) proportional to `weights`, summing exactly.

    Largest-remainder (Hamilton) rounding: floors first, then one more unit to the largest remainders (ties go to
    the first column). A row of zero weights puts everything in the first column.
    """
    total = np.asarray(total, dtype=np.int64)
    w = np.clip(np.asarray(weights, dtype=float), 0.0, None)
    if w.ndim == 1:
        w = np.broadcast_to(w, (len(total), len(w)))
    sums = w.sum(axis=1, keepdims=True)
    empty = sums[:, 0] <= 0
    if empty.any():
        w = w.copy()
        w[empty, 0] = 1.0
        sums = w.sum(axis=1, keepdims=True)
    exact = w / sums * total[:, None]
    base = np.floor(exact).astype(np.int64)
    short = total - base.sum(axis=1)
    order = np.argsort(-(exact - base), axis=1, kind="stable")
    rank = np.empty_like(order)
    rows = np.arange(len(total))[:, None]
    rank[rows, order] = np.arange(w.shape[1])[None, :]
    return base + (rank < short[:, None])


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def logit(p):
    return np.log(p / (1.0 - p))


def softmax_split(total: np.ndarray, logw: np.ndarray) -> np.ndarray:
    logw = logw - logw.max(axis=1, keepdims=True)
    return split(total, np.exp(logw))


# ---------------------------------------------------------------------------------------------- age model
AGES = np.arange(101)  # single years 0..99, and 100 = "100 and over"

# Approximate births in France by year (thousands): the dips of both wars, the baby boom, the 2010s decline.
_BIRTH_KNOTS = (
    [1890, 1913, 1915, 1919, 1920, 1930, 1939, 1942, 1946, 1964, 1973, 1976, 1994, 2000, 2010, 2014, 2022],
    [800, 750, 480, 420, 820, 780, 640, 600, 860, 870, 850, 740, 710, 790, 830, 810, 720],
)


def _survival(sex: int, year: int) -> np.ndarray:
    """Probability to be alive at ages 0..110 (Gompertz–Makeham): life expectancy ≈ 79 (men), 85 (women) in
    2021; mortality falls by 2 % a year."""
    ages = np.arange(111, dtype=float)
    a, b, c = (2.6e-5, 0.0975, 3e-4) if sex == 0 else (0.9e-5, 0.1055, 1.5e-4)
    hazard = (c + a * np.exp(b * ages)) * math.exp(-0.02 * (year - 2021))
    return np.exp(-np.concatenate([[0.0], np.cumsum(hazard)[:-1]]))


def base_pyramid(year: int) -> np.ndarray:
    """Relative numbers by sex (0 men, 1 women) and single age in `year` (2 × 101), cohort model."""
    ages = np.arange(111)
    births = np.interp(year - ages, *_BIRTH_KNOTS)
    by_age = np.stack([births * 1.05 / 2.05 * _survival(0, year), births / 2.05 * _survival(1, year)])
    out = by_age[:, :101].copy()
    out[:, 100] = by_age[:, 100:].sum(axis=1)
    return out


def _bump(center: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((AGES - center) / width) ** 2)


def age_sex_counts(year: int, pop: np.ndarray, prof: dict[str, np.ndarray]) -> np.ndarray:
    """Integer counts (units × 2 × 101) summing to `pop`, shaped by each unit's profile."""
    base = np.log(base_pyramid(year))[None, :, :]
    old = prof["old"][:, None] * (0.45 * sigmoid((AGES - 58) / 7.0))[None, :]
    young = prof["young"][:, None] * (0.22 * (_bump(8, 8) + _bump(37, 7)))[None, :]
    student = prof["student"][:, None] * (1.0 * _bump(21, 3))[None, :]
    leave = -0.30 * prof["rural"][:, None] * _bump(24, 4)[None, :]
    children = 0.05 * prof["depriv"][:, None] * _bump(8, 9)[None, :]
    logw = base + (old + young + student + leave + children)[:, None, :]
    flat = split(pop, np.exp(logw).reshape(len(pop), -1))
    return flat.reshape(len(pop), 2, len(AGES))


def age_sum(counts: np.ndarray, lo: int, hi: int | None = None) -> np.ndarray:
    """People aged lo..hi inclusive (hi None = and over), from counts by single age (units × 101)."""
    return counts[:, lo : None if hi is None else hi + 1].sum(axis=1)


# ---------------------------------------------------------------------------------------------- units
@dataclass
class Units:
    """The statistical units of one generated table (communes of one COG, or QPV) for one census year."""

    year: int
    codes: list[str]
    names: list[str]
    reg: list[str]
    dep: list[str]
    pop: np.ndarray
    prof: dict[str, np.ndarray]
    eff: np.ndarray  # units × EFFECTS
    jitter: np.ndarray  # units × N_JITTER
    housing: dict[str, np.ndarray] | None = None  # real P_LOG, P_RP, P_RSECOCC, P_LOGVAC when known
    overrides: dict[str, np.ndarray] = field(default_factory=dict)  # e.g. unemployment rate of QPV

    def e(self, name: str) -> np.ndarray:
        return self.eff[:, _EFFECT[name]]

    def take(self, rows: list[int] | np.ndarray) -> "Units":
        """The same units restricted to `rows` (every figure of a unit depends on that unit only)."""
        rows = np.asarray(rows, dtype=int)
        pick = lambda seq: [seq[i] for i in rows]  # noqa: E731
        return Units(
            year=self.year,
            codes=pick(self.codes),
            names=pick(self.names),
            reg=pick(self.reg),
            dep=pick(self.dep),
            pop=self.pop[rows],
            prof={k: v[rows] for k, v in self.prof.items()},
            eff=self.eff[rows],
            jitter=self.jitter[rows],
            housing=None if self.housing is None else {k: v[rows] for k, v in self.housing.items()},
            overrides={k: v[rows] for k, v in self.overrides.items()},
        )


# ---------------------------------------------------------------------------------------------- generation
def census_values(u: Units) -> dict[str, np.ndarray]:
    """Every variable of THEMES for the units, as integer arrays keyed by stem (e.g. "P_POP")."""
    v: dict[str, np.ndarray] = {}
    t = 2021 - u.year  # years before 2021
    p = u.prof
    j = u.jitter
    n = len(u.codes)

    # ---- age and sex
    ages = age_sex_counts(u.year, u.pop, p)
    both = ages.sum(axis=1)
    groups = [("0014", 0, 14), ("1529", 15, 29), ("3044", 30, 44), ("4559", 45, 59), ("6074", 60, 74), ("75P", 75, None)]
    v["P_POP"] = u.pop.astype(np.int64)
    for g, lo, hi in groups:
        v[f"P_POP{g}"] = age_sum(both, lo, hi)
    v["P_POP0019"], v["P_POP2064"], v["P_POP65P"] = age_sum(both, 0, 19), age_sum(both, 20, 64), age_sum(both, 65)
    for sex, letter, total in ((0, "H", "P_POPH"), (1, "F", "P_POPF")):
        v[total] = ages[:, sex, :].sum(axis=1)
        for g, lo, hi in groups:
            v[f"P_{letter}{g}"] = age_sum(ages[:, sex, :], lo, hi)

    # ---- households: population outside households, then households (real 2021 main residences)
    v["P_PHORMEN"] = np.minimum(round_half_up(u.pop * p["phorm"]), u.pop)
    v["P_PMEN"] = u.pop - v["P_PHORMEN"]
    if u.housing is not None:
        households = u.housing["P_RP"].astype(np.int64)
    else:
        size = p["hhsize21"] * (1.0 + 0.0065 * t)
        households = np.where(v["P_PMEN"] > 0, np.maximum(round_half_up(v["P_PMEN"] / size), 1), 0)
    size = np.where(households > 0, v["P_PMEN"] / np.maximum(households, 1), 2.2)

    shares_single = np.clip(0.36 - 0.42 * (size - 2.25) + 0.03 * u.e("single") + 0.01 * j[:, 0], 0.10, 0.70)
    share_sfam = np.clip(0.025 + 0.008 * u.e("sfam"), 0.005, 0.06)
    family = 1.0 - shares_single - share_sfam
    mono = np.clip(0.16 + 0.035 * p["depriv"] + 0.02 * u.e("mono") + 0.07 * p["qpv"], 0.06, 0.45) * (1 - 0.006 * t)
    cpl_child = np.clip(0.47 + 0.35 * (size - 2.25) + 0.04 * u.e("cplchild"), 0.25, 0.78)
    types = split(households, np.stack(
        [shares_single, share_sfam, family * (1 - mono) * (1 - cpl_child), family * (1 - mono) * cpl_child, family * mono],
        axis=1))
    v["C_MEN"] = households
    v["C_MENPSEUL"], v["C_MENSFAM"] = types[:, 0], types[:, 1]
    v["C_MENCOUPSENF"], v["C_MENCOUPAENF"], v["C_MENFAMMONO"] = types[:, 2], types[:, 3], types[:, 4]
    v["C_MENFAM"] = types[:, 2:].sum(axis=1)
    women_alone = np.clip(0.55 + 0.05 * p["old"] + 0.02 * u.e("fsingle"), 0.40, 0.72)
    alone = split(v["C_MENPSEUL"], np.stack([1 - women_alone, women_alone], axis=1))
    v["C_MENHSEUL"], v["C_MENFSEUL"] = alone[:, 0], alone[:, 1]
    v["C_PMEN"] = v["P_PMEN"]
    # Some households hold a second family (mostly a lone parent living with her/his parents).
    extra = split(round_half_up(v["C_MENFAM"] * 0.015), np.array([0.25, 0.15, 0.60]))
    v["C_COUPSENF"] = v["C_MENCOUPSENF"] + extra[:, 0]
    v["C_COUPAENF"] = v["C_MENCOUPAENF"] + extra[:, 1]
    v["C_FAMMONO"] = v["C_MENFAMMONO"] + extra[:, 2]
    v["C_FAM"] = v["C_COUPSENF"] + v["C_COUPAENF"] + v["C_FAMMONO"]

    # ---- schooling (diplomes-formation) from single ages
    for g, lo, hi in (("0205", 2, 5), ("0610", 6, 10), ("1114", 11, 14), ("1517", 15, 17), ("1824", 18, 24),
                      ("2529", 25, 29), ("30P", 30, None)):
        v[f"P_POP{g}"] = age_sum(both, lo, hi)
    a2, a35 = both[:, 2], age_sum(both, 3, 5)
    v["P_SCOL0205"] = round_half_up(0.12 * a2) + round_half_up(0.985 * a35)
    v["P_SCOL0610"] = round_half_up(0.994 * v["P_POP0610"])
    v["P_SCOL1114"] = round_half_up(0.993 * v["P_POP1114"])
    rate1517 = np.clip(0.955 - 0.012 * p["depriv"] + 0.01 * j[:, 1], 0.85, 0.99)
    v["P_SCOL1517"] = round_half_up(rate1517 * v["P_POP1517"])
    rate1824 = np.clip(0.47 - 0.045 * p["depriv"] + 0.10 * p["student"] + 0.05 * u.e("scol") - 0.004 * t, 0.18, 0.85)
    v["P_SCOL1824"] = round_half_up(rate1824 * v["P_POP1824"])
    rate2529 = np.clip(0.065 + 0.03 * p["student"] + 0.01 * u.e("scol"), 0.01, 0.2)
    v["P_SCOL2529"] = round_half_up(rate2529 * v["P_POP2529"])
    v["P_SCOL30P"] = round_half_up(0.009 * age_sum(both, 30, 64))
    pop15p = age_sum(both, 15)
    in_school_15p = v["P_SCOL1517"] + v["P_SCOL1824"] + v["P_SCOL2529"] + v["P_SCOL30P"]
    v["P_NSCOL15P"] = pop15p - in_school_15p

    # Diplomas of the out-of-school population 15+: a multinomial logit on an education latent.
    education = -0.35 * p["depriv"] + 0.12 * p["urban"] + 0.25 * u.e("dipl") + 0.3 * p["student"] - 0.5 * p["qpv"]
    old_dev = np.where(pop15p > 0, v["P_POP65P"] / np.maximum(pop15p, 1), 0.25) - 0.25
    base = np.log([0.27, 0.055, 0.29, 0.175, 0.095, 0.065, 0.05])
    load_edu = np.array([-0.9, -0.2, -0.3, 0.3, 0.7, 0.9, 1.1])
    load_old = np.array([2.0, 0.3, 0.3, -0.6, -1.0, -1.2, -1.0])
    load_time = np.array([0.035, 0.0, 0.005, -0.015, -0.03, -0.035, -0.04])
    logw = base[None] + education[:, None] * load_edu + old_dev[:, None] * load_old + t * load_time[None]
    dip = softmax_split(v["P_NSCOL15P"], logw)
    for i, name in enumerate(["DIPLMIN", "BEPC", "CAPBEP", "BAC", "SUP2", "SUP34", "SUP5"]):
        v[f"P_NSCOL15P_{name}"] = dip[:, i]

    # ---- activity (emploi-pop-active)
    v["P_POP1564"] = age_sum(both, 15, 64)
    v["P_ETUD1564"] = round_half_up(0.9 * in_school_15p)  # the rest study while working (apprentices…)
    retired_rate = np.clip([0.50, 0.43, 0.38][[2012, 2017, 2021].index(u.year)] + 0.06 * p["pma"]
                           + 0.04 * u.e("retr") + 0.01 * j[:, 2], 0.15, 0.75)
    v["P_RETR1564"] = round_half_up(retired_rate * age_sum(both, 55, 64)) + round_half_up(0.02 * age_sum(both, 50, 54))
    ainact = np.clip(0.075 + 0.03 * p["depriv"] + 0.012 * u.e("ainact") + 0.03 * p["qpv"] + 0.002 * t, 0.03, 0.22)
    v["P_INACT1564"] = np.minimum(v["P_ETUD1564"] + v["P_RETR1564"] + round_half_up(ainact * v["P_POP1564"]), v["P_POP1564"])
    v["P_ACT1564"] = v["P_POP1564"] - v["P_INACT1564"]
    if "unemployment" in u.overrides:
        unemp = u.overrides["unemployment"]
    else:
        unemp = unemployment_rate(u)
    v["P_CHOM1564"] = round_half_up(unemp * v["P_ACT1564"])
    v["P_ACTOCC1564"] = v["P_ACT1564"] - v["P_CHOM1564"]
    employed_65p = round_half_up(0.05 * age_sum(both, 65, 69) + 0.01 * age_sum(both, 70, 74))
    v["P_ACTOCC15P"] = v["P_ACTOCC1564"] + employed_65p

    # Socio-professional group of people 15+ (complementary exploitation): CS1–6 = actives who ever worked,
    # CS7 = retired, CS8 = other people without activity (students, never worked…).
    v["C_POP15P"] = pop15p
    never_worked = round_half_up(0.12 * v["P_CHOM1564"])
    workers = v["P_ACT1564"] + employed_65p - never_worked
    farming = np.clip(p["rural"], 0, 3)
    cs_log = np.log([0.012, 0.06, 0.11, 0.24, 0.29, 0.29])[None] + np.stack([
        0.9 * farming + 0.5 * u.e("farm") + 0.03 * t - 3.0 * p["qpv"],
        0.1 * farming + 0.1 * u.e("cs"),
        1.0 * education + 0.15 * u.e("cs") - 0.015 * t,
        0.4 * education - 0.005 * t,
        0.05 * p["depriv"] + 0 * education,
        -0.5 * education + 0.12 * p["pma"] + 0.012 * t,
    ], axis=1)
    cs = softmax_split(workers, cs_log)
    retired = v["P_RETR1564"] + round_half_up(0.9 * (v["P_POP65P"] - employed_65p))
    for i in range(6):
        v[f"C_POP15P_CS{i + 1}"] = cs[:, i]
    v["C_POP15P_CS7"] = retired
    v["C_POP15P_CS8"] = pop15p - workers - retired

    # Jobs located in the unit (employment concentration) and their sectors.
    size_term = np.clip(np.log(np.maximum(u.pop, 1) / 3000.0), -2.5, 3.0)
    ice = np.exp(p["ice_mu"] + 0.16 * size_term + 0.22 * p["urban"] + 0.35 * u.e("ice") + 0.03 * j[:, 3])
    v["P_EMPLT"] = round_half_up(ice * v["P_ACTOCC15P"])
    salaried = np.clip(0.91 - 0.035 * farming + 0.015 * u.e("sal") + 0.003 * t, 0.55, 0.98)
    v["P_EMPLT_SAL"] = round_half_up(salaried * v["P_EMPLT"])
    sector_log = np.log([0.025, 0.14, 0.07, 0.44, 0.325])[None] + np.stack([
        1.0 * farming + 0.6 * u.e("agri") - 3.0 * p["qpv"],
        0.5 * u.e("indus") + 0.015 * t,
        0.2 * u.e("indus"),
        0.1 * p["urban"],
        0.15 * p["urban"] + 0.3 * u.e("apesas"),
    ], axis=1)
    sectors = softmax_split(v["P_EMPLT"], sector_log)
    for i, name in enumerate(["AGRI", "INDUS", "CONST", "CTS", "APESAS"]):
        v[f"C_EMPLT_{name}"] = sectors[:, i]

    # ---- housing: stock (real in 2021, back-cast otherwise), tenure and type
    if u.housing is not None:
        for k in REAL_HOUSING_2021:
            v[k] = u.housing[k].astype(np.int64)
    else:
        vac = np.clip(p["vac21"] * (1 - 0.02 * t) + 0.003 * j[:, 4], 0.0, 0.4)
        rsec = np.clip(p["rsec21"] * (1 + 0.005 * t), 0.0, 0.8)
        log_total = households / np.maximum(1 - vac - rsec, 0.05)
        v["P_RP"] = households
        v["P_LOGVAC"] = round_half_up(vac * log_total)
        v["P_RSECOCC"] = round_half_up(rsec * log_total)
        v["P_LOG"] = v["P_RP"] + v["P_LOGVAC"] + v["P_RSECOCC"]
    hlm = np.clip(p["hlm"] * (1 - 0.004 * t), 0.0, 0.92)
    grat = np.clip(0.012 + 0.004 * u.e("grat") + 0.004 * t / 9, 0.002, 0.04) * (1 - 0.7 * p["qpv"])
    private = np.clip(0.11 + 0.045 * p["urban"] + 0.03 * u.e("privrent"), 0.03, 0.40)
    private = np.minimum(private, np.maximum(1 - hlm - grat - 0.05, 0.01))
    owners = np.clip(1 - hlm - grat - private, 0.0, 1.0)
    tenure = split(v["P_RP"], np.stack([owners, private, hlm, grat], axis=1))
    v["P_RP_PROP"], v["P_RP_LOCHLMV"], v["P_RP_GRAT"] = tenure[:, 0], tenure[:, 2], tenure[:, 3]
    v["P_RP_LOC"] = tenure[:, 1] + tenure[:, 2]
    flats = sigmoid(-3.3 + 0.9 * p["urban"] + 2.5 * hlm - 1.5 * p["pma"] * hlm + 0.4 * u.e("appart") + p["flat_shift"])
    other = 0.006
    kinds = split(v["P_LOG"], np.stack([(1 - other) * (1 - flats), (1 - other) * flats, np.full(n, other)], axis=1))
    v["P_MAISON"], v["P_APPART"] = kinds[:, 0], kinds[:, 1]
    return v


UNEMPLOYMENT_BASE = {2012: 0.105, 2017: 0.11, 2021: 0.095}


def unemployment_rate(u: Units) -> np.ndarray:
    """Share of unemployed among actives 15–64 (RP definition): higher where incomes are low, in the former
    mining basin, and in 2012–2017 than in 2021."""
    p = u.prof
    x = logit(UNEMPLOYMENT_BASE[u.year]) + 0.30 * p["depriv"] + 0.25 * p["pma"] + 0.15 * u.e("unemp") + 0.04 * u.jitter[:, 5]
    return np.clip(sigmoid(x), 0.02, 0.5)


# ---------------------------------------------------------------------------------------------- real data
@dataclass
class RealData:
    """The real figures the synthetic tables must agree with, read from the demo folder."""

    appartenance: pd.DataFrame  # ANNEE_COG, CODGEO, LIBGEO, REG, DEP
    communes: dict[str, dict[str, str]]  # COG 2026: column -> {code_insee: text}
    p12: dict[str, int]  # RP 2012 municipal population, COG 2014
    area_km2: dict[str, float]  # COG 2014
    housing21: pd.DataFrame  # RP 2021 P21_LOG, P21_RP, P21_RSECOCC, P21_LOGVAC, COG 2023, indexed by code
    median_income: dict[str, float]  # Filosofi 2021
    social_rate: dict[str, float]  # SRU social-housing share 2024 (0–1)
    successor: dict[str, str]  # any code (current or former) -> COG 2026 code
    pop21: dict[str, int] = field(default_factory=dict)  # legal population 2021, COG 2023
    pop17: dict[str, int] = field(default_factory=dict)  # synthetic P17_POP, COG 2019
    notes: list[str] = field(default_factory=list)

    def cog_communes(self, cog: int) -> pd.DataFrame:
        rows = self.appartenance[self.appartenance["ANNEE_COG"] == str(cog)]
        if rows.empty:
            raise ValueError(f"Aucune commune pour le COG {cog} dans la table d'appartenance.")
        return rows.sort_values("CODGEO").reset_index(drop=True)


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def load_real(demo_dir: Path) -> RealData:
    demo_dir = Path(demo_dir)
    app = _read(demo_dir / "referentiel" / "table_appartenance_communes_62_2012_2024.csv")
    app = app[["ANNEE_COG", "CODGEO", "LIBGEO", "REG", "DEP"]]
    frame = _read(demo_dir / "referentiel" / "communes_62.csv")
    communes = {col: dict(zip(frame["code_insee"], frame[col])) for col in frame.columns}
    p12_frame = _read(demo_dir / "insee_rp" / "rp2012_p12_pop_communes_62_cog2014.csv")
    housing = _read(demo_dir / "logement" / "rp2021_logement_communes_62.csv").set_index("code_insee")
    housing = housing[["P21_LOG", "P21_RP", "P21_RSECOCC", "P21_LOGVAC"]].astype(float).round().astype(np.int64)
    filo = _read(demo_dir / "revenus" / "filosofi2021_communes_62.csv")
    rpls = _read(demo_dir / "logement" / "rpls_taux_lls_sru_2024_communes_62.csv")

    successor: dict[str, str] = {}
    for code, former in communes["anciens_codes"].items():
        successor[code] = code
        for old in former.split():
            successor.setdefault(old, code)
    real = RealData(
        appartenance=app,
        communes=communes,
        p12={r.CODGEO: int(r.P12_POP) for r in p12_frame.itertuples()},
        area_km2={r.CODGEO: max(float(r.SUPERF or 0), 0.5) for r in p12_frame.itertuples()},
        housing21=housing,
        median_income={r.code_insee: float(r.median_uc_eur) for r in filo.itertuples() if r.median_uc_eur},
        social_rate={r.code_insee: float(r.taux_lls_pct) / 100 for r in rpls.itertuples() if r.taux_lls_pct},
        successor=successor,
    )
    real.pop21 = _legal_population_2021(real)
    real.pop17 = _population_2017(real)
    return real


def _legal_population_2021(real: RealData) -> dict[str, int]:
    """P21_POP for COG 2023 communes = legal population 2021 (`pop_pkg2024`, COG 2026 codes).

    A COG 2023 commune merged since (the 3 communes absorbed by 62447 Hesdin-la-Forêt in 2025) has no figure of
    its own: the 2025 package gives the merged commune's legal population 2022 and the 2024 package the absorbing
    commune's own 2021 figure, so the absorbed communes get the difference, split by their real RP 2021 numbers of
    main residences. (This assumes the absorbing commune's population did not change between 2021 and 2022.)
    """
    pops: dict[str, int] = {}
    pl21, pl22 = real.communes["pop_pkg2024"], real.communes["pop_pkg2025"]
    absent: dict[str, list[str]] = {}
    for code in real.cog_communes(2023)["CODGEO"]:
        if code in pl21:
            pops[code] = int(pl21[code])
        else:
            absent.setdefault(real.successor[code], []).append(code)
    for target, group in sorted(absent.items()):
        residual = int(pl22[target]) - int(pl21[target])
        weights = np.array([real.housing21.at[c, "P21_RP"] for c in group], dtype=float)
        parts = split(np.array([max(residual, 0)]), weights[None, :])[0]
        for c, value in zip(group, parts):
            pops[c] = int(value)
        real.notes.append(
            f"P21_POP de {', '.join(group)} (fusionnées dans {target} en 2025) : population légale 2022 de {target} "
            f"({pl22[target]}) moins sa population 2021 propre ({pl21[target]}), "
            "répartie au prorata des résidences principales RP 2021."
        )
    return pops


def _population_2017(real: RealData) -> dict[str, int]:
    """Synthetic P17_POP (COG 2019): one third of the way from legal population 2016 to 2019; for communes
    without legal populations of their own, 5/9 of the way from P12_POP to P21_POP."""
    pops: dict[str, int] = {}
    pl16s, pl19s = real.communes["pop_pkg2019"], real.communes["pop_pkg2021"]
    for code in real.cog_communes(2019)["CODGEO"]:
        if code in pl16s:
            pl16, pl19 = int(pl16s[code]), int(pl19s[code])
            pops[code] = int(round_half_up(pl16 + (pl19 - pl16) / 3))
        else:
            p12, p21 = real.p12[code], real.pop21[code]
            pops[code] = int(round_half_up(p12 + (p21 - p12) * 5 / 9))
    return pops


def population(real: RealData, year: int, codes: list[str]) -> np.ndarray:
    source = {2012: real.p12, 2017: real.pop17, 2021: real.pop21}[year]
    return np.array([source[c] for c in codes], dtype=np.int64)


# ---------------------------------------------------------------------------------------------- profiles
# Calibration constant of the employment concentration (jobs / employed residents), set so that the department
# has about 0.93 job per employed resident (Pas-de-Calais residents also work in the Lille area).
ICE_MU = -0.59


def commune_profiles(real: RealData, codes: list[str], seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Time-invariant profile of each commune code, from real covariates and the code's own random effects."""
    eff = effects(seed, codes)
    col = {name: eff[:, i] for i, name in enumerate(EFFECTS)}
    n = len(codes)

    def lookup(table: dict, code: str):
        if code in table:
            return table[code]
        return table.get(real.successor.get(code, code))

    median = np.array([lookup(real.median_income, c) or np.nan for c in codes], dtype=float)
    depriv = np.where(np.isnan(median), -0.2 + 0.5 * col["depriv"],
                      (math.log(22200.0) - np.log(np.where(np.isnan(median), 22200.0, median))) / 0.11 + 0.25 * col["depriv"])
    in_pma = real.communes["in_pma"]
    pma = np.array([in_pma.get(real.successor.get(c, c)) == "1" for c in codes], dtype=float)
    density = np.array([real.p12.get(c, 300) / real.area_km2.get(c, 5.0) for c in codes])
    urban = (np.log(np.maximum(density, 1.0)) - math.log(120.0)) / 1.1
    rural = np.clip(-urban, 0.0, 3.0)
    social = np.array([lookup(real.social_rate, c) or 0.0 for c in codes], dtype=float)
    hlm = np.clip(social * 0.93 * np.exp(0.05 * col["hlm"]), 0.0, 0.9)
    p12 = np.array([real.p12.get(c, 0) for c in codes], dtype=float)
    student = np.clip(np.log(np.maximum(p12, 1) / 22000.0), 0.0, 1.5) * (0.7 + 0.15 * col["student"])

    # 2021 reference (the commune itself, or the commune that absorbed it): household size, population outside
    # households, vacancy and second homes.
    ref = [c if c in real.housing21.index else real.successor[c] for c in codes]
    ref_eff = effects(seed, ref)[:, _EFFECT["phorm"]]
    pop21 = np.array([real.pop21.get(r, 0) for r in ref], dtype=float)
    h21 = real.housing21.loc[ref]
    rp21 = h21["P21_RP"].to_numpy(dtype=float)
    log21 = h21["P21_LOG"].to_numpy(dtype=float)
    phorm = np.clip(0.012 * np.exp(0.7 * ref_eff) + 0.004 * np.clip(urban, 0, None), 0.0, 0.06)
    phorm = np.maximum(phorm, 1.0 - 3.3 * rp21 / np.maximum(pop21, 1.0))  # households of at most 3.3 persons
    phorm = np.clip(phorm, 0.0, 0.6)
    hhsize21 = np.where(rp21 > 0, pop21 * (1 - phorm) / np.maximum(rp21, 1), 2.3)
    prof = {
        "depriv": depriv,
        "pma": pma,
        "urban": urban,
        "rural": rural,
        "hlm": hlm,
        "student": student,
        "old": 0.7 * col["old"] - 0.2 * urban + 0.1 * rural,
        "young": 0.7 * col["young"] + 0.12 * depriv,
        "phorm": phorm,
        "hhsize21": hhsize21,
        "vac21": np.where(log21 > 0, h21["P21_LOGVAC"].to_numpy(dtype=float) / np.maximum(log21, 1), 0.07),
        "rsec21": np.where(log21 > 0, h21["P21_RSECOCC"].to_numpy(dtype=float) / np.maximum(log21, 1), 0.03),
        "ice_mu": np.full(n, ICE_MU),
        "qpv": np.zeros(n),
        "flat_shift": np.zeros(n),
    }
    return prof, eff


def commune_units(real: RealData, year: int, seed: int) -> Units:
    """Every commune of dept 62 in the COG of census `year`, with its real population and profile."""
    cog = CENSUS_COG[year]
    rows = real.cog_communes(cog)
    codes = rows["CODGEO"].tolist()
    prof, eff = commune_profiles(real, codes, seed)
    housing = None
    if year == 2021:
        h = real.housing21.loc[codes]
        housing = {f"P_{k.split('_', 1)[1]}": h[k].to_numpy(dtype=np.int64) for k in h.columns}
    return Units(
        year=year,
        codes=codes,
        names=rows["LIBGEO"].tolist(),
        reg=rows["REG"].tolist(),
        dep=rows["DEP"].tolist(),
        pop=population(real, year, codes),
        prof=prof,
        eff=eff,
        jitter=year_jitter(seed, codes, year),
        housing=housing,
    )


# ---------------------------------------------------------------------------------------------- writing
def column_name(stem: str, year: int) -> str:
    """`P_POP`, 2021 -> `P21_POP`."""
    letter, rest = stem.split("_", 1)
    return f"{letter}{year % 100:02d}_{rest}"


def write_base(path: Path, u: Units, values: dict[str, np.ndarray], stems: list[str]) -> None:
    """Write an INSEE-style base file: `;`-separated, UTF-8, `CODGEO;REG;DEP;LIBGEO;` then the variables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [values[s] for s in stems]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(HEADER + [column_name(s, u.year) for s in stems])
        for i, code in enumerate(u.codes):
            writer.writerow([code, u.reg[i], u.dep[i], u.names[i]] + [str(int(c[i])) for c in columns])


# Census populations that real files of the demo give (RP 2012 file; legal population 2021 = P21_POP): the
# synthetic files leave them out so that the real, non-synthetic figure is the one in the warehouse.
REAL_POPULATION_YEARS = {2012, 2021}


def theme_stems(theme: str, year: int) -> list[str]:
    stems = THEMES[theme][1]
    if theme == "logement" and year == 2021:
        return [s for s in stems if s not in REAL_HOUSING_2021]
    if theme == "evol-struct-pop" and year in REAL_POPULATION_YEARS:
        return [s for s in stems if s != "P_POP"]
    return stems
