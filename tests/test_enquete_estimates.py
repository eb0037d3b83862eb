"""Rao–Scott test of a cross-table whose cells have no sampling variance: no test, a French reason, no crash.

When the crossing is itself a calibration margin (sex × age in the demo survey), every cell share is fixed by the
weights: the design-effect matrix vanishes and X²/tr(Δ) would be ~1e29 (Babel could not even print it). Same for
a census (every unit of the population sampled: the finite population correction is 0).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vigie.modules.enquete.calibration import CategoricalMargin, calibrate
from vigie.modules.enquete.estimates import Design, RaoScott, rao_scott
from vigie.modules.enquete.survey import with_crossings

NNBSP = "\u202f"

# 12 respondents: sex (1/2) × car (0/1); the crossing's population totals are 30, 20, 10, 40.
SAMPLE = pd.DataFrame({
    "sexe": ["1", "1", "1", "1", "1", "1", "2", "2", "2", "2", "2", "2"],
    "voiture": ["0", "0", "0", "1", "1", "1", "0", "0", "1", "1", "1", "1"],
})
CROSSED = CategoricalMargin("sexe*voiture", {"1|0": 30, "1|1": 20, "2|0": 10, "2|1": 40})


def calibrated_on_the_crossing() -> Design:
    frame = with_crossings(SAMPLE, [CROSSED])
    cal = calibrate(frame, np.full(len(SAMPLE), 100 / 12), [CROSSED], method="linear")
    return Design(np.full(len(SAMPLE), 100 / 12)).calibrated(cal)


def test_a_crossing_fixed_by_the_calibration_has_no_test_and_says_why():
    design = calibrated_on_the_crossing()
    # The weights post-stratify: 30/3 = 10 for each man without a car, 20/3, 10/2 = 5, 40/4 = 10.
    assert design.weights[:3] == pytest.approx([10, 10, 10]) and design.weights[6] == pytest.approx(5)
    test = rao_scott(design, SAMPLE["voiture"], SAMPLE["sexe"])
    assert not test.computed and test.df == 1
    assert all(math.isnan(v) for v in (test.f, test.p_value, test.ndf, test.ddf, test.chisq_adjusted, test.p_value_chisq))
    # The weighted table (30, 20 | 10, 40) scaled to 12 respondents: X² = 12 (ad − bc)² / (row and column totals).
    assert test.pearson == pytest.approx(12 * (30 * 40 - 20 * 10) ** 2 / (50 * 50 * 40 * 60), rel=1e-9)
    assert test.sentence() == ("Test d'indépendance non calculable : ce croisement est fixé par le calage "
                               "(ses parts n'ont pas de variance d'échantillonnage).")
    assert "reason" not in test.as_dict() and math.isnan(test.as_dict()["f"])
    # Through the cross-table: shares 20/50 = 40 % and 40/50 = 80 % of car owners, with no variance.
    cross = design.crosstab(SAMPLE["voiture"], SAMPLE["sexe"])
    owners = cross.cells[cross.cells["modalite"] == "1"].set_index("groupe")
    assert owners.loc["1", "part"] == pytest.approx(0.4) and owners.loc["2", "part"] == pytest.approx(0.8)
    assert (cross.cells["erreur_type"] < 1e-9).all()
    assert cross.test.sentence().startswith("Test d'indépendance non calculable")


def test_a_census_has_no_test_either():
    census = Design(np.ones(len(SAMPLE)), fpc=np.full(len(SAMPLE), len(SAMPLE)))  # every unit sampled
    test = rao_scott(census, SAMPLE["voiture"], SAMPLE["sexe"])
    assert not test.computed
    assert test.sentence().startswith("Test d'indépendance non calculable : ce croisement est fixé par le plan de sondage")


def test_an_ordinary_crossing_keeps_its_test_and_prints_small_p_values_as_a_bound():
    design = Design(np.ones(len(SAMPLE)))
    test = rao_scott(design, SAMPLE["voiture"], SAMPLE["sexe"])
    assert test.computed and test.f > 0 and 0 < test.p_value < 1
    assert test.sentence().startswith("Test du χ² de Pearson corrigé de Rao et Scott : F = ")
    tiny = RaoScott(80.0, 43.405, 14.94, 2219.0, 1.1e-125, 60.0, 16, 1e-100)
    assert tiny.sentence() == ("Test du χ² de Pearson corrigé de Rao et Scott : F = 43,405 (14,94 et "
                               f"2{NNBSP}219,0 degrés de liberté), p < 0,0001 : dépendance significative au seuil de 5 %.")
