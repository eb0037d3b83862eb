"""Estimates and standard errors against R `survey` 4.1.1 on the `api` data, to the digits R printed.

Every expected figure is a string copied from R's output (`R_survey_reference_output.txt`, or the extra references
computed with `r_extra_references.R`); the test first checks that the string is in that output, then that our value
rounds to it (|ours − R| ≤ half a unit of the last printed digit).
"""

from __future__ import annotations

import pandas as pd
import pytest

from vigie.modules.enquete.calibration import CategoricalMargin, NumericMargin, calibrate, rake
from vigie.modules.enquete.estimates import Design, rao_scott

from tests.conftest import FIXTURES

API = FIXTURES / "survey" / "api"
REFERENCE = (API / "R_survey_reference_output.txt").read_text(encoding="utf-8")
EXTRA = (API / "R_survey_extra_output.txt").read_text(encoding="utf-8")

STYPE = CategoricalMargin("stype", {"E": 4421, "H": 755, "M": 1018})
SCHWIDE = CategoricalMargin("sch.wide", {"No": 1072, "Yes": 5122})
API99 = NumericMargin("api99", 3914069)


def printed(value: float, text: str, source: str = REFERENCE) -> None:
    """`value` rounds to R's printed `text`, and `text` is really in R's output."""
    assert text in source, f"{text} absent de la sortie de R"
    decimals = len(text.split(".")[1]) if "." in text else 0
    assert abs(value - float(text)) <= 0.5 * 10.0**-decimals * (1 + 1e-9), (value, text)


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(API / name, dtype={"stype": str, "sch.wide": str, "cds": str, "awards": str, "both": str})


@pytest.fixture(scope="module")
def strat():
    data = read("apistrat.csv")
    return data, Design.from_frame(data, weights="pw", strata="stype", fpc="fpc")


@pytest.fixture(scope="module")
def clus():
    data = read("apiclus1.csv")
    return data, Design.from_frame(data, weights="pw", cluster="dnum", fpc="fpc")


def test_stratified_mean_total_shares_and_domains(strat):
    data, design = strat
    mean = design.mean(data["api00"])
    printed(mean.value, "662.28736"), printed(mean.se, "9.40894")
    total = design.total(data["enroll"])
    printed(total.value, "3687177.5"), printed(total.se, "114641.72")
    shares = design.shares(data["stype"]).set_index("modalite")
    printed(shares.loc["E", "part"], "0.71375524"), printed(shares.loc["H", "part"], "0.12189216")
    printed(shares.loc["M", "part"], "0.16435261")
    assert shares["erreur_type"].abs().max() < 1e-12  # strata shares are known: SE 0
    by = design.by(data["api00"], data["stype"]).set_index("groupe")
    for stype, value, se in (("E", "674.43", "12.38247979"), ("H", "625.82", "14.93712919"), ("M", "636.60", "16.21470731")):
        printed(by.loc[stype, "valeur"], value), printed(by.loc[stype, "erreur_type"], se)


def test_cluster_mean_total_design_effect_and_ratio(clus):
    data, design = clus
    mean = design.mean(data["api00"], deff=True)
    printed(mean.value, "644.1694"), printed(mean.se, "23.54224"), printed(mean.deff, "9.34587")
    printed(mean.value, "644.169399"), printed(mean.se, "23.542241")
    total = design.total(data["enroll"])
    printed(total.value, "3404940.1"), printed(total.se, "932235.03")
    ratio = design.ratio(data["api.stu"], data["enroll"])
    printed(ratio.value, "0.8497087417"), printed(ratio.se, "0.008386297169")
    assert design.degrees_of_freedom == 14


def test_simple_random_sample_weights_from_the_population_size():
    data = read("apisrs.csv")
    design = Design.from_frame(data, fpc="fpc")
    assert design.weights == pytest.approx(6194 / 200)
    mean, total = design.mean(data["api00"]), design.total(data["enroll"])
    printed(mean.value, "656.585"), printed(mean.se, "9.24972")
    printed(total.value, "3621074.3"), printed(total.se, "169519.65")


def test_rake_as_r_rake(clus):
    data, design = clus
    raked = rake(data, "pw", [STYPE, SCHWIDE])
    assert raked.converged
    raked_design = design.raked(raked)
    mean, total = raked_design.mean(data["api00"]), raked_design.total(data["enroll"])
    printed(mean.value, "641.23025"), printed(mean.se, "23.70364")
    printed(total.value, "3647300"), printed(total.se, "400602.72")
    printed(raked.weights.sum(), "6194")
    printed(raked.weights.min(), "29.87046387"), printed(raked.weights.max(), "67.12578263")


def test_post_stratification_equals_linear_calibration_on_stype(clus):
    data, design = clus
    post = design.calibrated(calibrate(data, "pw", [STYPE]))
    mean, total = post.mean(data["api00"]), post.total(data["enroll"])
    printed(mean.value, "642.31079"), printed(mean.se, "23.92049")
    printed(total.value, "3680892.9"), printed(total.se, "406292.64")


@pytest.mark.parametrize("method, bounds, mean, se", [
    ("linear", None, "665.30907", "3.44175"),
    ("raking", None, "665.3938", "3.43775"),
    ("logit", (0.7, 1.7), "665.46097", "3.41998"),
])
def test_calibration_on_stype_and_api99(clus, method, bounds, mean, se):
    data, design = clus
    # R's calibrate(dclus1, ~stype + api99, c(6194, 755, 1018, 3914069)): intercept + stype H, M + api99. R's Newton
    # iterations (grake) stop once every |Σwx − T|/(1 + |T|) < 1e-7: with the same stopping rule our iterations stop
    # at the same step, and the weights agree to R's ten printed digits (exact convergence moves the raking
    # weights by about 1e-9 in relative terms, which R's last printed digit shows).
    cal = calibrate(data, "pw", [STYPE, API99], method=method, bounds=bounds, tol=1e-7)
    assert cal.converged
    est = design.calibrated(cal).mean(data["api00"])
    printed(est.value, mean), printed(est.se, se)
    if method == "linear":
        total = design.calibrated(cal).total(data["enroll"])
        printed(total.value, "3638487.2"), printed(total.se, "385524.43")
        printed(cal.weights.min(), "14.16809752"), printed(cal.weights.max(), "62.05152514")
    elif method == "raking":
        printed(cal.weights.min(), "18.08212716"), printed(cal.weights.max(), "67.51667645")
    else:
        printed(cal.g.min(), "0.7008753272"), printed(cal.g.max(), "1.69688131")


def test_rao_scott_tests_as_svychisq(clus, strat):
    data, design = clus
    test = rao_scott(design, data["sch.wide"], data["stype"])
    printed(test.f, "5.1933695", EXTRA), printed(test.ndf, "1.4946398", EXTRA), printed(test.ddf, "20.9249569", EXTRA)
    printed(test.p_value, "0.02174746", EXTRA)
    printed(test.pearson, "11.940892", EXTRA), printed(test.p_value_chisq, "0.005553263", EXTRA)
    greg = design.calibrated(calibrate(data, "pw", [STYPE, API99]))
    test = rao_scott(greg, data["sch.wide"], data["stype"])
    printed(test.f, "6.0756042", EXTRA), printed(test.ndf, "1.750396", EXTRA), printed(test.p_value, "0.009196047", EXTRA)
    sdata, sdesign = strat
    test = rao_scott(sdesign, sdata["sch.wide"], sdata["stype"])
    printed(test.f, "17.247444", EXTRA), printed(test.ddf, "360.2482863", EXTRA)
    assert test.p_value == pytest.approx(2.035046e-07, rel=1e-6)


def test_shares_logit_interval_and_domains_of_a_calibrated_design(clus):
    data, design = clus
    shares = design.shares(data["sch.wide"]).set_index("modalite")
    printed(shares.loc["Yes", "part"], "0.87431694", EXTRA), printed(shares.loc["Yes", "erreur_type"], "0.02036", EXTRA)
    printed(shares.loc["Yes", "ic_bas"], "0.823799", EXTRA), printed(shares.loc["Yes", "ic_haut"], "0.9119", EXTRA)
    assert shares.loc["No", "fragile"] and not shares.loc["Yes", "fragile"]  # 23 and 160 respondents
    greg = design.calibrated(calibrate(data, "pw", [STYPE, API99]))
    by = greg.by(data["api00"], data["stype"]).set_index("groupe")
    for stype, value, se in (("E", "674.7040455", "6.478065913"), ("H", "630.5148796", "32.700046540"),
                             ("M", "650.3134258", "17.606258150")):
        printed(by.loc[stype, "valeur"], value, EXTRA), printed(by.loc[stype, "erreur_type"], se, EXTRA)
    crosstab = design.crosstab(data["sch.wide"], data["stype"])
    assert len(crosstab.cells) == 6 and crosstab.test.f == pytest.approx(5.1933695, abs=1e-6)
