"""Calibration against INSEE's Calmar2 weights (`icarus` test data), failures, trimming and the weighting report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vigie.modules.enquete.calibration import (
    CalibrationError,
    CategoricalMargin,
    NumericMargin,
    calibrate,
    rake,
    weighting_report,
)

from tests.conftest import FIXTURES

CALMAR = FIXTURES / "survey" / "calmar_icarus"


def margins_table(name: str, population: float | None = None):
    """A Calmar margin table: numeric margins (n = 0) and categorical ones (as counts, or as shares of `population`)."""
    table = pd.read_csv(CALMAR / name, dtype=str)
    out = []
    for _, row in table.iterrows():
        n = int(row["n"])
        if n == 0:
            out.append(NumericMargin(row["var"], float(row["mar1"])))
            continue
        margin = CategoricalMargin(row["var"], {str(i): float(row[f"mar{i}"]) for i in range(1, n + 1)})
        out.append(margin.scaled(population) if population else margin)
    return out


@pytest.fixture(scope="module")
def sample():
    data = pd.read_csv(CALMAR / "sample_1000.csv", dtype={"Y2": str, "Y3": str})
    expected = pd.read_csv(CALMAR / "expected_calmar2_weights.csv")
    assert (data["ident"].to_numpy() == expected["ident"].to_numpy()).all()
    return data, expected


CASES = [
    ("table_margins_1.csv", None, "linear", None, "weight_cal_lin"),
    ("table_margins_1.csv", None, "raking", None, "weight_cal_raking"),
    ("table_margins_1.csv", None, "logit", (0.2, 1.3), "weight_cal_logit"),
    ("table_margins_2.csv", 50000, "linear", None, "weight_cal_lin_2"),
    ("table_margins_2.csv", 50000, "raking", None, "weight_cal_raking_2"),
    ("table_margins_2.csv", 50000, "logit", (0.2, 1.3), "weight_cal_logit_2"),
]


@pytest.mark.parametrize("table, population, method, bounds, column", CASES)
def test_calmar2_weights_reproduced_to_1e6(sample, table, population, method, bounds, column):
    data, expected = sample
    # With a population total, Calmar (and icarus) first scale the initial weights to it and add it as a margin.
    cal = calibrate(data, "weight", margins_table(table, population), method=method, bounds=bounds, population=population)
    assert cal.converged and cal.iterations <= 10
    relative = np.abs(cal.weights / expected[column].to_numpy() - 1)
    assert relative.max() < 1e-6  # measured: ≤ 1.1e-9
    if bounds:  # inside the bounds (a ratio may round to a bound in floating point)
        assert bounds[0] <= cal.g.min() and cal.g.max() <= bounds[1]
    margins = cal.margins_table()
    assert margins["ecart_relatif"].abs().max() < 1e-9


def test_calmar2_heterogeneity_factors_q(sample):
    data, expected = sample
    cal = calibrate(data, "weight", margins_table("table_margins_1.csv"), method="linear", q=data["qTest"])
    assert np.abs(cal.weights / expected["weight_cal_lin_qtest"].to_numpy() - 1).max() < 1e-6  # measured 5.7e-7


@pytest.fixture(scope="module")
def employees():
    data = pd.read_csv(CALMAR / "data_employees.csv", dtype={"category": str, "sex": str, "department": str})
    expected = pd.read_csv(CALMAR / "expected_calWeights_movies.csv")
    margins = [CategoricalMargin("category", {"1": 80, "2": 90, "3": 60}), CategoricalMargin("sex", {"1": 140, "2": 90}),
               CategoricalMargin("department", {"1": 100, "2": 130}), NumericMargin("salary", 470000)]
    return data, expected, margins


@pytest.mark.parametrize("method, bounds, column, mean", [
    ("linear", None, "wLinear", 2.93), ("raking", None, "wRaking", 3.22), ("logit", (0.4, 2.2), "wLogit", 3.14)])
def test_small_example_weights_and_means(employees, method, bounds, column, mean):
    data, expected, margins = employees
    cal = calibrate(data, "weight", margins, method=method, bounds=bounds)
    assert np.abs(cal.weights - expected[column].to_numpy()).max() < 5e-5  # Calmar printed 4 decimals
    assert round(float(cal.weights @ data["movies"] / cal.weights.sum()), 2) == mean
    if method == "raking":
        assert cal.weights @ data["movies"] / 300 == pytest.approx(2.471917, abs=5e-7)
    if method == "linear":
        assert cal.report().negative == 1  # a06: -0.7084, as Calmar
    assert data["weight"] @ data["movies"] / 300 == pytest.approx(1.666667, abs=5e-7)


def test_logit_bounds_that_no_weight_can_meet_do_not_converge(employees):
    data, _, margins = employees
    with pytest.raises(CalibrationError, match="n'a pas convergé") as caught:
        calibrate(data, "weight", margins, method="logit", bounds=(0.6, 2.0))
    assert caught.value.result is not None and not caught.value.result.converged
    result = calibrate(data, "weight", margins, method="logit", bounds=(0.6, 2.0), raise_on_failure=False)
    assert not result.converged and "0.6 et 2" in result.message


@pytest.mark.parametrize("method, bounds", [("linear", None), ("raking", None), ("logit", (0.5, 1.5))])
def test_population_total_inconsistent_with_the_margins_does_not_converge(employees, method, bounds):
    data, _, margins = employees
    with pytest.raises(CalibrationError, match="incohérentes") as caught:
        calibrate(data, "weight", margins, method=method, bounds=bounds, population=300)
    assert "300" in caught.value.message and "230" in caught.value.message
    assert not caught.value.result.converged


def test_margin_problems_are_named_in_french(employees):
    data, _, margins = employees
    with pytest.raises(CalibrationError, match="« 3 » est présente dans l'échantillon mais absente des marges"):
        calibrate(data, "weight", [CategoricalMargin("category", {"1": 80, "2": 90})])
    with pytest.raises(CalibrationError, match="« 4 » .* n'a aucun répondant"):
        calibrate(data, "weight", [CategoricalMargin("category", {"1": 80, "2": 90, "3": 50, "4": 10})])
    with pytest.raises(CalibrationError, match="exige deux bornes"):
        calibrate(data, "weight", margins, method="logit")
    with pytest.raises(CalibrationError, match="inconnue"):
        calibrate(data, "weight", margins, method="truncated")
    with pytest.raises(CalibrationError, match="absente des données"):
        calibrate(data, "weight", [NumericMargin("income", 1.0)])
    holes = data.assign(category=data["category"].where(data["id"] != "a03", None))
    with pytest.raises(CalibrationError, match="1 répondant\\(s\\) sans réponse"):
        calibrate(holes, "weight", margins)


def test_trimming_keeps_ratios_in_bounds_and_margins_met(sample):
    data, _ = sample
    margins = margins_table("table_margins_1.csv")
    free = calibrate(data, "weight", margins, method="raking")
    assert free.g.min() < 0.5 and free.g.max() > 1.5
    trimmed = calibrate(data, "weight", margins, method="raking", trim=(0.5, 1.5))
    assert trimmed.converged and trimmed.trimmed.sum() >= 1
    assert trimmed.g.max() <= 1.5 + 1e-12 and trimmed.g.min() >= 0.5 - 1e-12
    assert trimmed.margins_table()["ecart_relatif"].abs().max() < 1e-8
    assert trimmed.report().trimmed == int(trimmed.trimmed.sum())
    with pytest.raises(CalibrationError, match="écrêtage .* logit"):
        calibrate(data, "weight", margins, method="raking", trim=(0.8, 1.2))


def test_scaled_shares_and_weighting_report_by_hand():
    margin = CategoricalMargin("x", {"a": 0.25, "b": 0.75}).scaled(400)
    assert dict(margin.totals) == {"a": 100.0, "b": 300.0}
    assert dict(CategoricalMargin("x", {"a": 25, "b": 75}).scaled(400).totals) == {"a": 100.0, "b": 300.0}
    # Weights 1, 1, 2, 4: n_eff = 8² / 22, deff = 4 · 22 / 64; CV = sd/mean with the population sd.
    report = weighting_report(np.array([1.0, 1.0, 2.0, 4.0]), initial=np.array([2.0, 2.0, 2.0, 2.0]))
    assert report.effective_size == pytest.approx(64 / 22)
    assert report.design_effect == pytest.approx(88 / 64)
    assert report.design_effect == pytest.approx(1 + report.cv**2)
    assert (report.minimum, report.maximum, report.ratio, report.g_min, report.g_max) == (1.0, 4.0, 4.0, 0.5, 2.0)
    assert any("Kish" in line for line in report.lines())


def test_regrouped_modalities_and_raking_by_hand():
    data = pd.DataFrame({"csp": ["1", "2", "3", "3"], "w": [1.0, 1.0, 1.0, 1.0]})
    grouped = CategoricalMargin("csp", {"1-2": 6.0, "3": 4.0}, groups={"1-2": ["1", "2"]})
    cal = calibrate(data, "w", [grouped])
    assert cal.weights == pytest.approx([3.0, 3.0, 2.0, 2.0])
    # IPF on a 2 × 2 table: one pass reaches both margins when the sample is balanced.
    data = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": ["u", "v", "u", "v"], "w": [1.0] * 4})
    raked = rake(data, "w", [CategoricalMargin("a", {"x": 6, "y": 4}), CategoricalMargin("b", {"u": 5, "v": 5})])
    assert raked.converged and raked.weights == pytest.approx([3.0, 3.0, 2.0, 2.0])
