"""Flows, attraction, catchment areas and leakage on the six-respondent survey, computed by hand.

Leisure trips (design weights): R01 (10) Lens + Lille, R02 (10) Lens, R03 (15) Liévin — all three live in Lens;
R04 (20) Béthune + Lens, R05 (20) Béthune, R06 (20) Lille — living in Béthune. Weighted trips: 125.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from vigie.errors import ConfigurationError
from vigie.modules.enquete.flows import FlowReader
from vigie.modules.enquete.importer import import_survey
from vigie.modules.enquete.survey import load_survey

from tests.test_enquete_helpers import CABBALR, CALL, MINI, seed_territory

W = np.array([10.0, 10.0, 15.0, 20.0, 20.0, 20.0])
M = np.array([2.0, 1.0, 1.0, 2.0, 1.0, 1.0])  # leisure trips per respondent


def ratio_se(y: np.ndarray, m: np.ndarray, domain: np.ndarray) -> float:
    """Linearised SE of Σ_D w y / Σ_D w m, one stratum, each respondent a PSU, no fpc: n/(n−1) Σ (z − z̄)²."""
    total = (W * m)[domain].sum()
    r = (W * y)[domain].sum() / total
    z = np.where(domain, W * (y - r * m) / total, 0.0)
    return float(np.sqrt(6 / 5 * np.sum((z - z.mean()) ** 2)))


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    from vigie.warehouse import connect

    wh = connect(str(tmp_path_factory.mktemp("flux") / "flux.duckdb"))
    seed_territory(wh)
    import_survey(wh, MINI / "enquete_mini.csv", MINI / "enquete_mini.yaml")
    yield FlowReader(load_survey(wh, "mini"))
    wh.close()


def test_attraction_shares_totals_and_intervals(reader):
    table = reader.attraction("loisirs")
    assert list(table["destination"]) == ["62119", "62498", "59350", "62510"]  # ties (0.32) in code order
    row = table.set_index("destination")
    assert row["part"].to_dict() == pytest.approx({"62119": 40 / 125, "62498": 40 / 125, "59350": 30 / 125, "62510": 15 / 125})
    assert row.loc["59350", "destination_nom"] == "Lille" and not row.loc["59350", "dans_territoire"]
    assert row.loc["62498", "destination_nom"] == "Lens" and row.loc["62498", "dans_territoire"]
    assert row.loc["59350", "deplacements"] == pytest.approx(30.0)
    # Total of Lille trips: z = w·y = (10, 0, 0, 0, 0, 20), mean 5 → 6/5 · (5·25 + 225) = 420.
    assert row.loc["59350", "deplacements_erreur_type"] == pytest.approx(np.sqrt(420.0))
    lille = np.array([1.0, 0, 0, 0, 0, 1.0])
    se = ratio_se(lille, M, np.ones(6, dtype=bool))
    assert se == pytest.approx(np.sqrt(1.2 * 0.025088))  # the z's by hand: 0.0416, −0.0192, −0.0288, −0.0768, −0.0384, 0.1216
    assert row.loc["59350", "erreur_type"] == pytest.approx(se)
    t = stats.t.ppf(0.975, 5)  # 6 PSUs − 1 stratum
    logit = np.log(0.24 / 0.76)
    half = t * se / (0.24 * 0.76)
    assert row.loc["59350", "ic_bas"] == pytest.approx(1 / (1 + np.exp(-(logit - half))))
    assert row.loc["59350", "ic_haut"] == pytest.approx(1 / (1 + np.exp(-(logit + half))))
    assert row.loc["59350", "repondants"] == 2 and row["fragile"].all()  # far fewer than 30 respondents


def test_flows_from_each_home_commune(reader):
    flows = reader.flows("loisirs").set_index(["origine", "destination"])
    assert flows["part"].to_dict() == pytest.approx({
        ("62119", "59350"): 20 / 80, ("62119", "62119"): 40 / 80, ("62119", "62498"): 20 / 80,
        ("62498", "59350"): 10 / 45, ("62498", "62498"): 20 / 45, ("62498", "62510"): 15 / 45})
    assert flows.loc[("62498", "62510"), "deplacements"] == pytest.approx(15.0)
    assert flows.loc[("62498", "62510"), "origine_nom"] == "Lens"
    in_lens = np.array([True, True, True, False, False, False])
    lille = np.array([1.0, 0, 0, 0, 0, 1.0])
    assert flows.loc[("62498", "59350"), "erreur_type"] == pytest.approx(ratio_se(lille, M, in_lens))
    assert flows.loc[("62498", "59350"), "repondants_origine"] == 3
    by_epci = reader.flows("loisirs", origin="epci").set_index(["origine", "destination"])
    assert by_epci.loc[(CALL, "62510"), "part"] == pytest.approx(15 / 45)
    assert by_epci.loc[(CABBALR, "62119"), "origine_nom"] == f"EPCI {CABBALR}"


def test_catchment_areas(reader):
    catchment = reader.catchment("loisirs").set_index("origine")
    assert catchment["pole"].to_dict() == {"62119": "62119", "62498": "62498"}
    assert catchment.loc["62498", "part"] == pytest.approx(20 / 45)
    assert catchment.loc["62498", "part_suivante"] == pytest.approx(15 / 45)
    assert list(reader.catchment("loisirs", pole="62498")["origine"]) == ["62498"]
    assert reader.catchment("loisirs", pole="59350").empty


def test_leakage_outside_the_pma(reader):
    leak = reader.leakage("loisirs").set_index("origine")
    assert leak.loc["ensemble", "origine_nom"] == "Pôle Métropolitain de l'Artois"
    assert leak["evasion"].to_dict() == pytest.approx({"ensemble": 30 / 125, CALL: 10 / 45, CABBALR: 20 / 80})
    lille = np.array([1.0, 0, 0, 0, 0, 1.0])
    assert leak.loc["ensemble", "erreur_type"] == pytest.approx(ratio_se(lille, M, np.ones(6, dtype=bool)))
    culture = reader.leakage("culture", by=None)
    assert culture["evasion"].tolist() == pytest.approx([30 / 60])  # R01 (10) and R05 (20) go to Lille, of 60


def test_summary_and_errors(reader):
    summary = reader.summary().set_index("motif")
    assert summary.loc["culture", "pratiquants"] == pytest.approx(60 / 95)
    assert summary.loc["culture", "premiere_destination_nom"] == "Lille"
    assert summary.loc["loisirs", "evasion"] == pytest.approx(0.24)
    with pytest.raises(ConfigurationError, match="pas de question sur le motif « Sport »"):
        reader.attraction("sport")
    with pytest.raises(ConfigurationError, match="Motif « cinema » inconnu"):
        reader.attraction("cinema")
