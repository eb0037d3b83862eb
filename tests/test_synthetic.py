"""The synthetic demo census: INSEE layout, real totals, exact internal sums, plausible structure, determinism.

The files are generated once per module from the real demo data (`data/demo/`), then read back as a person (or
the census importer) would: `;`-separated text, codes as strings.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from vigie.demo import synthetic_census as sc
from vigie.demo.synthetic import GeneratedFile, generate
from vigie.settings import demo_dir

DEMO = demo_dir()
YEARS = {2012: 2014, 2017: 2019, 2021: 2023}
PMA = {"CALL", "CAHC", "CABBALR"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, list[GeneratedFile], float]:
    out = tmp_path_factory.mktemp("synthetic")
    start = time.perf_counter()
    files = generate(out)
    return out, files, time.perf_counter() - start


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep=";", dtype={"CODGEO": str, "REG": str, "DEP": str}, encoding="utf-8")


def census(out: Path, year: int) -> pd.DataFrame:
    """All five themes of one census, merged on CODGEO, with the year prefix dropped (P21_POP -> P_POP)."""
    merged = None
    for pattern, _ in sc.THEMES.values():
        frame = read(out / pattern.format(year=year))
        frame = frame.rename(columns=lambda c: re.sub(r"^([PC])\d\d_", r"\1_", c))
        merged = frame if merged is None else merged.merge(frame.drop(columns=["REG", "DEP", "LIBGEO"]), on="CODGEO", validate="1:1")
    if "P_POP" not in merged.columns:
        # Years whose population comes from a real file: the age groups must add up to it.
        merged["P_POP"] = merged[[f"P_POP{a}" for a in AGE_GROUPS]].sum(axis=1)
    return merged.set_index("CODGEO")


AGE_GROUPS = ["0014", "1529", "3044", "4559", "6074", "75P"]


@pytest.fixture(scope="module")
def tables(generated) -> dict[int, pd.DataFrame]:
    out = generated[0]
    return {year: census(out, year) for year in YEARS}


@pytest.fixture(scope="module")
def real() -> dict[str, pd.DataFrame]:
    opts = dict(dtype=str, keep_default_na=False)
    return {
        "communes": pd.read_csv(DEMO / "referentiel" / "communes_62.csv", **opts).set_index("code_insee"),
        "appartenance": pd.read_csv(DEMO / "referentiel" / "table_appartenance_communes_62_2012_2024.csv", **opts),
        "p12": pd.read_csv(DEMO / "insee_rp" / "rp2012_p12_pop_communes_62_cog2014.csv", **opts).set_index("CODGEO"),
        "housing": pd.read_csv(DEMO / "logement" / "rp2021_logement_communes_62.csv", **opts).set_index("code_insee"),
        "qpv": pd.read_csv(DEMO / "qpv" / "qpv2024_liste_62.csv", **opts).set_index("code_qp"),
    }


def ints(series: pd.Series) -> pd.Series:
    return series.astype(int)


# ------------------------------------------------------------------------------------------------ files and layout
def test_files_names_kinds_and_speed(generated):
    out, files, seconds = generated
    names = [f.path.name for f in files]
    expected = [
        f"base-cc-{theme}-{year}.CSV" if theme != "logement" else f"base-cc-logement-{year}-detail.CSV"
        for year in YEARS for theme in sc.THEMES
    ] + ["base-qpv-2021.CSV", "qpv_sante_sport_culture_2024.csv"]
    assert names == expected
    assert sorted(p.name for p in out.iterdir()) == sorted(expected + ["qpv_sante_sport_culture_2024.yaml"])
    for f in files[:15]:
        assert (f.kind, f.level, f.cog) == ("recensement", "commune", YEARS[f.year])
        assert f.import_options() == {"synthetic": True, "cog": f.cog, "level": "commune", "theme": f.theme}
        assert "données fictives de démonstration" in f.description
    assert [f.theme for f in files[:5]] == ["démographie", "ménages", "économie-emploi", "éducation", "logement"]
    qpv, extras = files[15], files[16]
    assert (qpv.kind, qpv.level, qpv.cog, qpv.year) == ("recensement", "qpv", 2024, 2021)
    assert (extras.kind, extras.level, extras.cog, extras.mapping.name) == ("csv", "qpv", 2024, "qpv_sante_sport_culture_2024.yaml")
    assert extras.import_options() == {"synthetic": True, "mapping": str(extras.mapping)}
    print(f"generation: {seconds:.2f} s")
    assert seconds < 5.0


@pytest.mark.parametrize("year", YEARS)
def test_insee_layout_header_and_numbers(generated, real, year):
    out = generated[0]
    app = real["appartenance"]
    codes = sorted(app.loc[app["ANNEE_COG"] == str(YEARS[year]), "CODGEO"])
    yy = f"{year % 100:02d}"
    for theme, (pattern, stems) in sc.THEMES.items():
        path = out / pattern.format(year=year)
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        text = raw.decode("utf-8")
        lines = text.split("\n")
        assert lines[-1] == "" and "\r" not in text
        header = lines[0].split(";")
        variables = sc.theme_stems(theme, year)
        assert set(stems) - set(variables) == (
            {"P_POP"} if theme == "evol-struct-pop" and year in sc.REAL_POPULATION_YEARS
            else set(sc.REAL_HOUSING_2021) if theme == "logement" and year == 2021 else set())
        assert header == ["CODGEO", "REG", "DEP", "LIBGEO"] + [f"{s[0]}{yy}_{s[2:]}" for s in variables]
        rows = [line.split(";") for line in lines[1:-1]]
        assert [r[0] for r in rows] == codes
        assert all(len(r) == len(header) for r in rows)
        # Decimal numbers with a point at most, no thousands separator, nothing else.
        assert all(re.fullmatch(r"\d+(\.\d+)?", cell) for r in rows for cell in r[4:])
    pop = read(out / f"base-cc-evol-struct-pop-{year}.CSV")
    assert set(pop["DEP"]) == {"62"} and set(pop["REG"]) == {"31" if year == 2012 else "32"}
    assert pop.loc[pop["CODGEO"] == "62498", "LIBGEO"].item() == "Lens"


def test_2021_housing_counts_are_not_regenerated(generated):
    header = (generated[0] / "base-cc-logement-2021-detail.CSV").read_text(encoding="utf-8").split("\n")[0]
    assert header == "CODGEO;REG;DEP;LIBGEO;P21_RP_PROP;P21_RP_LOC;P21_RP_LOCHLMV;P21_RP_GRAT;P21_MAISON;P21_APPART"


# ------------------------------------------------------------------------------------------------ real totals
def test_population_2012_is_the_real_rp2012(tables, real):
    p12 = real["p12"]
    assert ints(tables[2012]["P_POP"]).to_dict() == ints(p12["P12_POP"]).to_dict()
    pma = p12["pma_epci_2026"].isin(PMA)
    assert int(tables[2012].loc[pma[pma].index, "P_POP"].sum()) == 644_236  # SOURCES.md
    assert int(tables[2012]["P_POP"].sum()) == 1_463_628


def test_population_2021_is_the_legal_population(tables, real):
    t21, communes = tables[2021], real["communes"]
    kept = communes.index.intersection(t21.index)
    assert len(kept) == 887
    assert (ints(t21.loc[kept, "P_POP"]) == ints(communes.loc[kept, "pop_pkg2024"])).all()
    # Hand sums of pop_pkg2024 (legal population 2021) by PMA EPCI.
    by_epci = t21.loc[kept].groupby(communes.loc[kept, "pma_epci"])["P_POP"].sum()
    assert (by_epci["CALL"], by_epci["CAHC"], by_epci["CABBALR"]) == (242_591, 126_133, 275_736)
    assert by_epci[["CALL", "CAHC", "CABBALR"]].sum() == 644_460
    # The 3 communes absorbed by Hesdin-la-Forêt in 2025: 4480 (PL 2022, merged) - 2225 (Hesdin, PL 2021) = 2255,
    # split by their real main residences 2021 (364, 508, 178 → 781.7, 1090.9, 382.3).
    assert ints(t21.loc[["62447", "62461", "62549", "62743"], "P_POP"]).tolist() == [2225, 782, 1091, 382]


def test_population_2017_interpolates_legal_populations(tables, real):
    t17, communes = tables[2017], real["communes"]
    # PL 2016 (pkg2019) to PL 2019 (pkg2021): 2017 is one third of the way.
    for code in ("62498", "62041", "62001"):
        pl16, pl19 = int(communes.at[code, "pop_pkg2019"]), int(communes.at[code, "pop_pkg2021"])
        assert int(t17.at[code, "P_POP"]) == int(np.floor(pl16 + (pl19 - pl16) / 3 + 0.5))
    # Huby-Saint-Leu (no legal population of its own): P12 935, P21 782 -> 935 + (782 - 935) * 5/9 = 850.
    assert int(t17.at["62461", "P_POP"]) == 850
    assert len(t17) == 890


def test_housing_2021_detail_agrees_with_the_real_counts(tables, real):
    t21 = tables[2021]
    h = real["housing"].loc[t21.index]
    rp, log = ints(h["P21_RP"]), ints(h["P21_LOG"])
    assert (t21["P_RP_PROP"] + t21["P_RP_LOC"] + t21["P_RP_GRAT"] == rp).all()
    assert (t21["P_MAISON"] + t21["P_APPART"] <= log).all()
    assert (t21["P_RP_LOCHLMV"] <= t21["P_RP_LOC"]).all()
    assert (t21["C_MEN"] == rp).all()  # households = main residences


def test_housing_back_casts_are_plausible(tables, real):
    t12, t17 = tables[2012], tables[2017]
    pma = real["p12"]["pma_epci_2026"].isin(PMA)
    pma_log_12 = int(t12.loc[pma[pma].index, "P_LOG"].sum())
    pma_log_21 = 297_105  # SOURCES.md
    assert 0.85 * pma_log_21 < pma_log_12 < pma_log_21
    assert t12["P_LOG"].sum() < t17["P_LOG"].sum() < 727_946  # real P21_LOG of the department
    for t in (t12, t17):
        assert (t["P_LOG"] == t["P_RP"] + t["P_RSECOCC"] + t["P_LOGVAC"]).all()
        assert (t["P_RP"] == t["C_MEN"]).all()


# ------------------------------------------------------------------------------------------------ internal sums
def check_sums(t: pd.DataFrame) -> None:
    """Every accounting identity of the generated tables, exactly (the counts are integers)."""
    eq = lambda a, b: np.testing.assert_array_equal(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))  # noqa: E731
    groups = ["0014", "1529", "3044", "4559", "6074", "75P"]
    eq(sum(t[f"P_POP{g}"] for g in groups), t["P_POP"])
    eq(t["P_POP0019"] + t["P_POP2064"] + t["P_POP65P"], t["P_POP"])
    eq(t["P_POPH"] + t["P_POPF"], t["P_POP"])
    if "P_H0014" in t:
        eq(sum(t[f"P_H{g}"] for g in groups), t["P_POPH"])
        eq(sum(t[f"P_F{g}"] for g in groups), t["P_POPF"])
        for g in groups:
            eq(t[f"P_H{g}"] + t[f"P_F{g}"], t[f"P_POP{g}"])
    eq(t["C_POP15P"], t["P_POP"] - t["P_POP0014"])
    eq(sum(t[f"C_POP15P_CS{i}"] for i in range(1, 9)), t["C_POP15P"])
    eq(t["P_PMEN"] + t["P_PHORMEN"], t["P_POP"])
    eq(t["C_MENPSEUL"] + t["C_MENSFAM"] + t["C_MENFAM"], t["C_MEN"])
    eq(t["C_MENHSEUL"] + t["C_MENFSEUL"], t["C_MENPSEUL"])
    eq(t["C_MENCOUPSENF"] + t["C_MENCOUPAENF"] + t["C_MENFAMMONO"], t["C_MENFAM"])
    eq(t["C_COUPSENF"] + t["C_COUPAENF"] + t["C_FAMMONO"], t["C_FAM"])
    assert (t["C_FAM"] >= t["C_MENFAM"]).all() and (t["C_FAMMONO"] >= t["C_MENFAMMONO"]).all()
    eq(t["C_PMEN"], t["P_PMEN"])
    # at least 1 person per single household, 2 per other household, 3 per couple with children
    least = t["C_MENPSEUL"] + 2 * (t["C_MENSFAM"] + t["C_MENCOUPSENF"] + t["C_MENFAMMONO"]) + 3 * t["C_MENCOUPAENF"]
    assert (least <= t["C_PMEN"]).all()
    eq(t["P_ACTOCC1564"] + t["P_CHOM1564"], t["P_ACT1564"])
    eq(t["P_ACT1564"] + t["P_INACT1564"], t["P_POP1564"])
    assert (t["P_ETUD1564"] + t["P_RETR1564"] <= t["P_INACT1564"]).all()
    assert (t["P_POP1564"] <= t["P_POP"] - t["P_POP0014"]).all()
    assert (t["P_ACTOCC15P"] >= t["P_ACTOCC1564"]).all()
    assert (t["P_EMPLT_SAL"] <= t["P_EMPLT"]).all()
    if "C_EMPLT_AGRI" in t:
        eq(sum(t[f"C_EMPLT_{s}"] for s in ("AGRI", "INDUS", "CONST", "CTS", "APESAS")), t["P_EMPLT"])
    ages = ["0205", "0610", "1114", "1517", "1824", "2529", "30P"]
    assert (sum(t[f"P_POP{a}"] for a in ages) <= t["P_POP"]).all()
    for a in ages:
        assert (t[f"P_SCOL{a}"] <= t[f"P_POP{a}"]).all()
    eq(t["P_NSCOL15P"] + t["P_SCOL1517"] + t["P_SCOL1824"] + t["P_SCOL2529"] + t["P_SCOL30P"], t["C_POP15P"])
    diplomas = ["DIPLMIN", "BEPC", "CAPBEP", "BAC", "SUP2", "SUP34", "SUP5"]
    eq(sum(t[f"P_NSCOL15P_{d}"] for d in diplomas), t["P_NSCOL15P"])
    if "P_LOG" in t:
        eq(t["P_RP_PROP"] + t["P_RP_LOC"] + t["P_RP_GRAT"], t["P_RP"])
        assert (t["P_MAISON"] + t["P_APPART"] <= t["P_LOG"]).all()
    assert (t["P_RP_LOCHLMV"] <= t["P_RP_LOC"]).all()
    assert (t.select_dtypes("number") >= 0).all().all()


@pytest.mark.parametrize("year", YEARS)
def test_internal_sums_are_exact(tables, real, year):
    t = tables[year]
    if year == 2021:
        h = real["housing"].loc[t.index]
        t = t.assign(P_LOG=ints(h["P21_LOG"]), P_RP=ints(h["P21_RP"]))
    check_sums(t)


def test_split_is_exact_and_proportional():
    parts = sc.split(np.array([10, 7, 0, 5]), np.array([[1, 1, 1], [2, 1, 0], [1, 1, 1], [0, 0, 0]], dtype=float))
    # 10 -> 3.33 each: one more to the first; 7 -> 4.67 / 2.33: 5 / 2; zero weights -> all in the first column.
    assert parts.tolist() == [[4, 3, 3], [5, 2, 0], [0, 0, 0], [5, 0, 0]]


# ------------------------------------------------------------------------------------------------ plausibility
def pma_codes(real, index: pd.Index) -> pd.Index:
    communes = real["communes"]
    pma = communes.index[communes["in_pma"] == "1"]
    return index.intersection(pma)


def test_unemployment_higher_in_the_mining_basin(tables, real):
    t = tables[2021]
    rate = t["P_CHOM1564"] / t["P_ACT1564"]
    sizable = t["P_POP"] >= 1000
    pma = pma_codes(real, t.index)
    in_pma = rate[t.index.isin(pma) & sizable]
    other = rate[~t.index.isin(pma) & sizable]
    assert len(in_pma) > 100
    assert 0.10 <= in_pma.median() <= 0.17 and other.median() < in_pma.median()
    assert in_pma.quantile(0.05) >= 0.06 and in_pma.quantile(0.95) <= 0.24
    assert other.quantile(0.5) < 0.11
    agg = lambda s: s["P_CHOM1564"].sum() / s["P_ACT1564"].sum()  # noqa: E731
    assert agg(t.loc[pma]) > agg(t.drop(pma))


def test_population_ages_between_censuses(tables, real):
    share = {y: tables[y]["P_POP65P"].sum() / tables[y]["P_POP"].sum() for y in YEARS}
    assert share[2012] < share[2017] < share[2021]
    assert 0.15 < share[2012] < 0.18 and 0.18 < share[2021] < 0.21
    both = tables[2012].index.intersection(tables[2021].index)
    big = both[tables[2021].loc[both, "P_POP"] >= 2000]
    older = (tables[2021].loc[big, "P_POP65P"] / tables[2021].loc[big, "P_POP"]
             > tables[2012].loc[big, "P_POP65P"] / tables[2012].loc[big, "P_POP"])
    assert older.mean() > 0.9
    size = {y: tables[y]["P_PMEN"].sum() / tables[y]["C_MEN"].sum() for y in YEARS}
    assert size[2012] > size[2017] > size[2021] and 2.2 < size[2021] < 2.4


def test_profiles_vary_by_commune_and_are_stable_over_time(tables):
    t12, t21 = tables[2012], tables[2021]
    both = t12.index.intersection(t21.index)
    big = both[t21.loc[both, "P_POP"] >= 2000]
    cadres = lambda t: t.loc[big, "C_POP15P_CS3"] / t.loc[big, "C_POP15P"]  # noqa: E731
    assert cadres(t21).std() > 0.01
    assert np.corrcoef(cadres(t12), cadres(t21))[0, 1] > 0.8


def test_figures_do_not_depend_on_other_communes():
    real = sc.load_real(DEMO)
    units = sc.commune_units(real, 2021, seed=2026)
    full = sc.census_values(units)
    rows = [5, 100, 400, 888]
    alone = sc.census_values(units.take(rows))
    assert all((alone[k] == full[k][rows]).all() for k in full)
    profile, _ = sc.commune_profiles(real, [units.codes[i] for i in rows], seed=2026)
    assert all(np.allclose(profile[k], units.prof[k][rows]) for k in profile)


# ------------------------------------------------------------------------------------------------ QPV
@pytest.fixture(scope="module")
def qpv(generated) -> pd.DataFrame:
    frame = read(generated[0] / "base-qpv-2021.CSV").set_index("CODGEO")
    return frame.rename(columns=lambda c: re.sub(r"^([PC])\d\d_", r"\1_", c))


def test_qpv_file_layout_and_sums(qpv, real):
    assert list(qpv.index) == sorted(real["qpv"].index) and len(qpv) == 64
    assert qpv.loc["QN06224M", "LIBGEO"] == "Cité 12-14"
    assert set(qpv["REG"]) == {"32"} and set(qpv["DEP"]) == {"62"}
    check_sums(qpv)


def test_qpv_are_poorer_parts_of_their_communes(qpv, tables, real):
    t = tables[2021]
    communes_of = {q: real["qpv"].at[q, "insee_com"].split(";") for q in qpv.index}
    for q, codes in communes_of.items():
        c = t.loc[codes]
        assert qpv.at[q, "P_POP"] <= c["P_POP"].sum()
        q_rate = qpv.at[q, "P_CHOM1564"] / qpv.at[q, "P_ACT1564"]
        c_rate = c["P_CHOM1564"].sum() / c["P_ACT1564"].sum()
        assert q_rate > 1.4 * c_rate, q
        assert qpv.at[q, "P_NSCOL15P_DIPLMIN"] / qpv.at[q, "P_NSCOL15P"] > c["P_NSCOL15P_DIPLMIN"].sum() / c["P_NSCOL15P"].sum()
    # QPV lying in one commune only: together, at most 40 % of its population, fewer unemployed and HLM than it has.
    single = pd.Series({q: cs[0] for q, cs in communes_of.items() if len(cs) == 1})
    grouped = qpv.loc[single.index].groupby(single)[["P_POP", "P_CHOM1564", "P_RP_LOCHLMV"]].sum()
    assert (grouped["P_POP"] <= 0.4 * t.loc[grouped.index, "P_POP"]).all()
    assert (grouped["P_CHOM1564"] < t.loc[grouped.index, "P_CHOM1564"]).all()
    assert (grouped["P_RP_LOCHLMV"] <= t.loc[grouped.index, "P_RP_LOCHLMV"]).all()
    ratio = (qpv["P_CHOM1564"] / qpv["P_ACT1564"]) / pd.Series(
        {q: t.loc[cs, "P_CHOM1564"].sum() / t.loc[cs, "P_ACT1564"].sum() for q, cs in communes_of.items()})
    assert 2.0 <= ratio.median() <= 3.0
    hlm = qpv["P_RP_LOCHLMV"] / qpv["P_RP"]
    assert hlm.max() <= 0.91 and (hlm.between(0.5, 0.91)).mean() > 0.9
    assert 1000 <= qpv["P_POP"].median() <= 5000


def test_qpv_extras_csv_and_mapping(generated, real):
    out, files, _ = generated
    extras = pd.read_csv(out / "qpv_sante_sport_culture_2024.csv", dtype={"code_qp": str})
    assert list(extras.columns) == ["code_qp", "annee", "medecins_generalistes", "pharmacies", "equipements_sportifs",
                                    "equipements_culturels", "beneficiaires_css", "population_couverte"]
    assert sorted(extras["code_qp"]) == sorted(real["qpv"].index) and set(extras["annee"]) == {2024}
    assert (extras["beneficiaires_css"] < extras["population_couverte"]).all()
    assert (extras.drop(columns="code_qp") >= 0).all().all()
    mapping = yaml.safe_load((out / "qpv_sante_sport_culture_2024.yaml").read_text(encoding="utf-8"))
    assert (mapping["synthetic"], mapping["level"], mapping["cog"], mapping["code_column"], mapping["year_column"],
            mapping["separator"]) == (True, "qpv", 2024, "code_qp", "annee", ",")
    assert "fictives" in mapping["title"]
    ids = {i["column"]: i["id"] for i in mapping["indicators"]}
    assert ids == {
        "medecins_generalistes": "qpv_nb_medecins", "pharmacies": "qpv_nb_pharmacies",
        "equipements_sportifs": "qpv_nb_equipements_sportifs", "equipements_culturels": "qpv_nb_equipements_culturels",
        "beneficiaires_css": "qpv_nb_beneficiaires_css", "population_couverte": "qpv_population_couverte",
    }
    assert {i["kind"] for i in mapping["indicators"]} == {"stock"}
    assert all(i["label"] and i["theme"] and i["unit"] and i["definition"] for i in mapping["indicators"])


# ------------------------------------------------------------------------------------------------ determinism
def test_same_seed_same_bytes_other_seed_same_totals(generated, tmp_path):
    out, files, _ = generated
    again = generate(tmp_path / "again")
    assert [f.path.name for f in again] == [f.path.name for f in files]
    for f in files:
        assert (tmp_path / "again" / f.path.name).read_bytes() == f.path.read_bytes(), f.path.name
    # Another seed: other profiles, same real totals.
    units = sc.commune_units(sc.load_real(DEMO), 2021, seed=7)
    other = sc.census_values(units)
    a = read(out / "base-cc-evol-struct-pop-2021.CSV")
    assert a["CODGEO"].tolist() == units.codes
    assert "P21_POP" not in a.columns  # the real population 2021 is imported from the referential
    assert (a[[f"P21_POP{g}" for g in AGE_GROUPS]].sum(axis=1).to_numpy() == other["P_POP"]).all()
    assert not (a["P21_POP0014"].to_numpy() == other["P_POP0014"]).all()


# ------------------------------------------------------------------------------------------------ census importer
def test_files_go_through_the_census_importer(generated, wh):
    """Two generated files imported with the real census importer (vigie.sources.census): values land as they
    were written, marked synthetic."""
    import vigie.sources.census as census_module
    from vigie.sources.base import run_import
    from tests.support import add_source, seed_communes

    out, files, _ = generated
    pop = read(out / "base-cc-evol-struct-pop-2021.CSV")
    seed_communes(wh, dict(zip(pop["CODGEO"], pop["LIBGEO"])), cog=2023)
    qpv_file = read(out / "base-qpv-2021.CSV")
    sid = add_source(wh, dataset="test:qpv")
    wh.insert_frame("territory", pd.DataFrame(
        {"level": "qpv", "code": qpv_file["CODGEO"], "cog": 2024, "name": qpv_file["LIBGEO"], "source_id": sid}))

    for f in (files[10], files[15]):
        importer = census_module.CensusImporter(f.path, **f.import_options())
        report = run_import(wh, importer)
        assert report.rows["value"] == len(read(f.path)) * (len(read(f.path).columns) - 4)
    lens = wh.values("p_pop0014", level="commune", codes=["62498"])
    expected_0014 = float(pop.loc[pop["CODGEO"] == "62498", "P21_POP0014"].item())
    assert [(r.code, int(r.year), int(r.cog), r.value, bool(r.synthetic)) for r in lens.itertuples()] == [
        ("62498", 2021, 2023, expected_0014, True)]
    cite = wh.values("p_chom1564", level="qpv", codes=["QN06224M"])
    expected = float(qpv_file.loc[qpv_file["CODGEO"] == "QN06224M", "P21_CHOM1564"].item())
    assert [(int(r.year), int(r.cog), r.value, bool(r.synthetic)) for r in cite.itertuples()] == [(2021, 2024, expected, True)]
    assert wh.indicator("p_pop0014")["theme"] == "démographie"


def test_qpv_extras_go_through_the_generic_csv_importer(generated, wh):
    import vigie.sources.generic_csv as generic
    from vigie.sources.base import run_import
    from tests.support import add_source

    out, files, _ = generated
    extras = files[16]
    qpv_list = pd.read_csv(DEMO / "qpv" / "qpv2024_liste_62.csv", dtype=str)
    sid = add_source(wh, dataset="test:qpv")
    wh.insert_frame("territory", pd.DataFrame(
        {"level": "qpv", "code": qpv_list["code_qp"], "cog": 2024, "name": qpv_list["lib_qp"], "source_id": sid}))
    run_import(wh, generic.GenericCsvImporter(extras.path, **extras.import_options()))
    table = pd.read_csv(extras.path, dtype={"code_qp": str}).set_index("code_qp")
    got = wh.values("qpv_nb_beneficiaires_css", level="qpv", codes=["QN06224M"])
    assert [(int(r.year), int(r.cog), r.value, bool(r.synthetic)) for r in got.itertuples()] == [
        (2024, 2024, float(table.at["QN06224M", "beneficiaires_css"]), True)]
    assert wh.indicator("qpv_nb_medecins")["theme"] == "santé"
    assert wh.indicator("qpv_nb_equipements_sportifs")["kind"] == "stock"
