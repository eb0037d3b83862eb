"""The synthetic demo survey: deterministic, drawn from the census in the warehouse, plausible, calibrated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vigie.modules.enquete.flows import FlowReader
from vigie.modules.enquete.interviews import theme_counts
from vigie.modules.enquete.margins import census_margins
from vigie.modules.enquete.survey import load_survey, with_crossings
from vigie.modules.enquete.synthetic import build_demo_survey, generate
from vigie.warehouse import connect

from tests.test_enquete_helpers import CABBALR, CAHC, CALL, CENSUS, PMA_COMMUNES, seed_census, seed_geometries, seed_territory


@pytest.fixture(scope="module")
def territory(tmp_path_factory):
    wh = connect(str(tmp_path_factory.mktemp("synthetique") / "demo.duckdb"))
    seed_territory(wh)
    seed_geometries(wh)
    seed_census(wh)
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def files(territory, tmp_path_factory):
    return generate(territory, tmp_path_factory.mktemp("fichiers"), seed=7)


def test_same_seed_same_bytes(territory, files, tmp_path):
    again = generate(territory, tmp_path / "bis", seed=7)
    for a, b in ((files.data, again.data), (files.codebook, again.codebook), (files.interviews, again.interviews)):
        assert a.read_bytes() == b.read_bytes()
    other = generate(territory, tmp_path / "autre", seed=8)
    assert other.data.read_bytes() != files.data.read_bytes()


def test_sample_follows_the_design_and_the_census(files):
    data = pd.read_csv(files.data, sep=";", dtype=str, keep_default_na=False)
    assert len(data) == files.respondents == 1000
    assert set(data["commune"]) <= set(PMA_COMMUNES)
    pop = {code: sum(men) + sum(women) for code, (men, women, _) in CENSUS.items()}
    strata = {CALL: pop["62498"] + pop["62510"], CABBALR: pop["62119"], CAHC: pop["62427"]}
    counts = data["strate"].value_counts()
    total = sum(strata.values())
    for epci, n_h in counts.items():  # proportional allocation, largest remainders
        assert abs(n_h - 1000 * strata[epci] / total) < 1
        assert set(data.loc[data["strate"] == epci, "poids"].astype(float).round(4)) == {round(strata[epci] / n_h, 4)}
    assert set(data["age"]) == {"15-29", "30-44", "45-59", "60-74", "75+"} and set(data["sexe"]) == {"1", "2"}
    assert set(data["csp"]) <= {str(i) for i in range(1, 9)}
    # Non-response: the young are under-represented, as the calibration must correct.
    young = (data["age"] == "15-29").mean()
    census_young = sum(m[0] + w[0] for code, (m, w, _) in CENSUS.items() if code in PMA_COMMUNES) / total
    assert young < census_young
    # Retired people are 60 or more.
    assert not ((data["csp"] == "7") & data["age"].isin(["15-29", "30-44"])).any()


def test_behaviour_follows_the_gravity_model(files):
    data = pd.read_csv(files.data, sep=";", dtype=str, keep_default_na=False)
    daily, culture = data["dest_achats_quotidiens"], data["dest_culture"]
    assert (daily == data["commune"]).sum() > 0.5 * (daily != "").sum()  # daily shopping stays at home
    assert (culture == "59350").mean() > (daily == "59350").mean()  # Lille draws for culture, not for bread
    assert (data["dest_sport"] == "").mean() > (daily == "").mean()  # fewer practise sport than shop
    older = data["age"].isin(["60-74", "75+"])
    assert (data.loc[older, "dest_sport"] != "").mean() < (data.loc[~older, "dest_sport"] != "").mean()
    # Béthune's residents go to Lens less than Liévin's, which is next door.
    def lens_share(commune: str) -> float:
        rows = data[(data["commune"] == commune) & (data["dest_loisirs"] != "")]
        return (rows["dest_loisirs"] == "62498").mean()
    assert lens_share("62510") > lens_share("62119")
    notes = pd.read_csv(files.interviews, dtype=str, keep_default_na=False)
    assert len(notes) == 20 and set(notes["repondant"]) <= set(data["id"])


def test_demo_survey_is_imported_calibrated_and_marked_synthetic(territory):
    wh = territory
    demo = build_demo_survey(wh, seed=7)
    assert (demo.respondents, demo.interviews) == (1000, 20)
    survey = load_survey(wh, demo.survey)
    assert survey.synthetic and "fictives" in survey.title
    assert bool(wh.source(survey.source_id)["synthetic"])
    assert bool(wh.query("SELECT synthetic FROM survey_interview LIMIT 1")[0][0])
    report = demo.weighting.report
    assert report.converged and report.n == 1000 and 1 < report.design_effect < 2
    # Calibrated totals hit the census margins of the PMA (population of 15 or more).
    margins = census_margins(wh, survey.codebook)
    frame = with_crossings(survey.frame, margins.margins)
    weights = survey.design("calage").weights
    expected_pop = sum(sum(m) + sum(w) for code, (m, w, _) in CENSUS.items() if code in PMA_COMMUNES)
    assert weights.sum() == pytest.approx(expected_pop, rel=1e-9) == margins.population
    for margin in margins.margins:
        codes = margin.recode(frame[margin.variable].astype(str).to_numpy(dtype=object))
        for modality, target in margin.totals.items():
            assert weights[codes == modality].sum() == pytest.approx(target, rel=1e-8)
    csp = next(m for m in margins.margins if m.variable == "csp")
    assert "1-2" in csp.totals and "1" not in csp.totals  # farmers gathered with craftsmen and shopkeepers
    # The flows read the calibrated survey; the interviews are coded.
    reader = FlowReader(survey, "calage")
    assert reader.attraction("culture").set_index("destination").loc["59350", "destination_nom"] == "Lille"
    assert 0 < reader.leakage("culture", by=None)["evasion"].iloc[0] < 1
    counts = theme_counts(wh, demo.survey)
    assert counts["entretiens"].sum() >= 20
    assert np.isclose(weights.sum(), float(report.total))
