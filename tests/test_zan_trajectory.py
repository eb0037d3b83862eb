"""ZAN trajectory computed by hand on the fixture file (flows 2009–2022, COG 2023 → 2024).

Communes (m² per year): Alpha 62001 20 000 until 2020, then 15 000 (2021) and 12 000 (2022); Bêta 62002 1 000
(under the 1 ha floor: 10 000 × 50 % = 5 000 → 10 000); Gamma 62003 1 500 and Delta 62004 1 200, merged into
62003 at COG 2024 (2 700 a year: 27 000 × 50 % = 13 500, one floor, not two); Epsilon 62005 4 000, in another EPCI.
EPCI 200000001 = Alpha + Bêta + Gamma(+Delta): reference 200 000 + 10 000 + 27 000 = 237 000;
envelope 100 000 + 10 000 + 13 500 = 123 500 (118 500 without the floor); consumed 2021–2022 18 700 + 15 700 = 34 400.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.support import add_source, seed_communes
from vigie.engine.catalogue import load_catalogue
from vigie.engine.cube import build_cube
from vigie.errors import ConfigurationError, NotFoundError, VigieError
from vigie.modules.foncier.cerema import CeremaConsommationImporter
from vigie.modules.foncier.zan import Objective, ZanConfig, load_config, trajectory
from vigie.sources.base import run_import

FIXTURES = Path(__file__).parent / "fixtures" / "zan"


def build(wh, file: str = "conso_com_2009_2023.csv"):
    seed_communes(wh, {"62001": "Alpha", "62002": "Bêta", "62003": "Gamma", "62004": "Delta", "62005": "Epsilon"}, cog=2023)
    sid = seed_communes(wh, {"62001": "Alpha", "62002": "Bêta", "62003": "Gamma", "62005": "Epsilon"}, cog=2024,
                        epci={"200000001": ["62001", "62002", "62003"], "200000002": ["62005"]})
    wh.insert_frame("passage", pd.DataFrame(
        [(2023, 2024, "62003", "62003", "fusion", 1.0, sid), (2023, 2024, "62004", "62003", "fusion", 1.0, sid)],
        columns=["cog_from", "cog_to", "code_from", "code_to", "change", "weight", "source_id"]))
    wh.insert_frame("territory", pd.DataFrame([("departement", "62", 2024, "Pas-de-Calais", sid)],
                                              columns=["level", "code", "cog", "name", "source_id"]))
    wh.insert_frame("membership", pd.DataFrame(
        [(2024, "commune", c, "departement", "62", 1.0, sid) for c in ("62001", "62002", "62003", "62005")],
        columns=["cog", "child_level", "child_code", "parent_level", "parent_code", "weight", "source_id"]))
    pop = add_source(wh, dataset="test:pop")
    wh.insert_frame("value", pd.DataFrame(
        [("p_pop", "commune", c, 2021, 2024, v, "ok", pop) for c, v in
         {"62001": 5000.0, "62002": 300.0, "62003": 1200.0, "62005": 2000.0}.items()],
        columns=["indicator", "level", "code", "year", "cog", "value", "status", "source_id"]))
    run_import(wh, CeremaConsommationImporter(FIXTURES / file, cog=2023))
    # only the indicators the trajectory reads: the whole catalogue would triple the time
    build_cube(wh, catalogue={k: d for k, d in load_catalogue().items() if k.startswith("consommation") or k == "population"})
    return wh


def test_epci_envelope_floor_and_merged_commune(wh):
    t = trajectory(build(wh), "200000001", method="moyenne", years=2)
    assert t.cog == 2024 and t.last_year == 2022
    assert t.reference["m2"] == 237_000
    assert t.reference["by_destination_m2"]["activite"] == 60_000 + 15_000  # Alpha 30 % + Gamma
    assert t.envelope["m2"] == 123_500
    assert t.envelope["without_floor_m2"] == 118_500
    assert t.envelope["floor_communes"] == 1  # Bêta only: the merged commune counts once, above the floor
    assert t.consumed["m2"] == 34_400 and t.consumed["years"] == [2021, 2022]
    assert t.remaining_m2 == 89_100
    assert t.allowed_pace_m2 == 89_100 / 8
    rows = {c["code"]: c for c in t.communes}
    assert set(rows) == {"62001", "62002", "62003"}
    assert rows["62003"]["reference_m2"] == 27_000 and rows["62003"]["envelope_m2"] == 13_500
    assert rows["62002"]["envelope_m2"] == 10_000 and rows["62002"]["floor_applied"]
    # The envelope of the group is the sum of the commune envelopes, never 50 % of its own reference.
    assert t.envelope["m2"] == sum(c["envelope_m2"] for c in t.communes) != t.reference["m2"] / 2
    series = {r["year"]: r for r in t.series}
    assert series[2021]["total_m2"] == 18_700 and series[2022]["habitat_m2"] == 7_200 + 1_000 + 1_200


def test_projection_arithmetic(wh):
    build(wh)
    t = trajectory(wh, "200000001", method="moyenne", years=2)
    p = t.projection
    # mean of 2021–2022 = 17 200 × 8 remaining years (2023…2030), not 9
    assert p.remaining_years == list(range(2023, 2031))
    assert p.annual_rate_m2 == 17_200 and p.projected_rest_m2 == 137_600
    assert p.projected_total_m2 == 172_000 and p.excess_m2 == 48_500
    assert p.exhausted_in == 2028  # 34 400 + 6 × 17 200 = 137 600 > 123 500 in 2028

    trend2 = t.projections["tendance"]  # −3 000 a year from 15 700: 12 700, 9 700, 6 700, 3 700, 700, then 0
    assert trend2.annual_rate_m2 == pytest.approx(-3_000)
    assert trend2.projected_rest_m2 == pytest.approx(33_500)
    assert trend2.projected_total_m2 == pytest.approx(67_900) and trend2.exhausted_in is None

    # least squares on 2020–2022 (23 700, 18 700, 15 700): slope −4 000, mean 19 366.67 at 2021
    trend3 = trajectory(wh, "200000001", method="tendance", years=3, compare=False).projection
    assert trend3.annual_rate_m2 == pytest.approx(-4_000)
    assert trend3.path[2023] == pytest.approx(11_366.667, abs=0.01)
    assert trend3.path[2026] == 0.0
    assert trend3.projected_rest_m2 == pytest.approx(22_100, abs=0.01)


def test_commune_level_and_comparison(wh):
    build(wh)
    alpha = trajectory(wh, "62001", "commune", years=2)
    assert alpha.reference["m2"] == 200_000 and alpha.envelope["m2"] == 100_000
    assert alpha.consumed["m2"] == 27_000 and alpha.projection.projected_total_m2 == 27_000 + 13_500 * 8

    t = trajectory(wh, "200000001")
    ranking = [(r["code"], r["rank"]) for r in t.comparison]
    assert ranking == [("200000001", 1), ("200000002", 2)]
    first = t.comparison[0]
    assert first["population"] == 6_500 and first["reference_per_inhabitant_m2"] == pytest.approx(237_000 / 6_500)
    assert t.comparison[1]["reference_per_inhabitant_m2"] == pytest.approx(40_000 / 2_000)


def test_missing_year_is_stated(wh):
    build(wh, "conso_com_sans_2015.csv")
    t = trajectory(wh, "200000001", years=2)
    assert t.reference["complete"] is False and t.reference["m2"] is None
    assert t.envelope["m2"] is None and t.remaining_m2 is None
    assert t.reference["known_m2"] == 237_000 - 23_700
    assert any("2015" in m and "zéro" in m for m in t.messages)
    assert any("enveloppe" in m and "n'est pas calculée" in m for m in t.messages)
    assert {r["year"]: r["status"] for r in t.series}[2015] == "absent"
    assert t.consumed["m2"] == 34_400 and t.projection.excess_m2 is None  # still projected, no envelope to compare


def test_territorialised_objective_and_config(wh, tmp_path):
    build(wh)
    config = ZanConfig(objectives=(Objective("epci", "200000001", 0.6, "SRADDET"), Objective("commune", "62001", 0.4)))
    t = trajectory(wh, "200000001", config=config, years=2, compare=False)
    rows = {c["code"]: c for c in t.communes}
    assert rows["62001"]["reduction"] == 0.4  # the commune's own objective wins
    assert rows["62003"]["reduction"] == 0.6 and rows["62003"]["envelope_m2"] == pytest.approx(10_800)
    # Alpha 120 000 + Bêta max(4 000, 10 000) + Gamma 10 800
    assert t.envelope["m2"] == pytest.approx(140_800)

    bundled = load_config()
    assert bundled.reduction == 0.5 and bundled.floor_m2 == 10_000 and bundled.reference == (2011, 2020)
    bad = tmp_path / "zan.yaml"
    bad.write_text("reduction: 1.5\n", encoding="utf-8")
    with pytest.raises(ConfigurationError):
        load_config(bad)
    with pytest.raises(VigieError):
        trajectory(wh, "200000001", method="hasard")


def test_no_data_is_a_clear_error(wh):
    seed_communes(wh, {"62001": "Alpha"}, cog=2024)
    with pytest.raises(NotFoundError) as exc:
        trajectory(wh, "62001")
    assert "consommation-naf" in exc.value.message


def test_planned_economic_land_from_the_atlas(wh):
    import shapely

    from vigie.modules.foncier.schema import ensure_schema

    build(wh)
    none = trajectory(wh, "200000001", years=2, compare=False)
    assert none.planned_economic["m2"] is None and "zone AU" in none.planned_economic["method"]
    given = trajectory(wh, "200000001", years=2, compare=False, planned_economic_m2=44_550)
    assert given.planned_economic["share_of_remaining"] == pytest.approx(44_550 / 89_100)

    ensure_schema(wh)
    sid = add_source(wh, dataset="test:plu")
    zone = shapely.box(650_000, 7_030_000, 650_200, 7_030_100)  # 200 m × 100 m = 2 ha, Lambert-93
    outside = shapely.box(660_000, 7_030_000, 660_100, 7_030_100)  # 1 ha in Epsilon, another EPCI
    wh.insert_frame("foncier_plu_zone", pd.DataFrame([
        {"zone_id": "Z1", "idurba": "62001_PLU_20200101", "label": "1AUe", "long_label": None, "zone_type": "AUc",
         "destination": "activite", "commune": "62001", "approved_on": None, "valid_on": None, "economic": True,
         "properties": "{}", "geom": zone, "geom_web": zone, "source_id": sid},
        {"zone_id": "Z2", "idurba": "62005_PLU_20200101", "label": "1AUe", "long_label": None, "zone_type": "AUc",
         "destination": "activite", "commune": "62005", "approved_on": None, "valid_on": None, "economic": True,
         "properties": "{}", "geom": outside, "geom_web": outside, "source_id": sid},
    ]))
    t = trajectory(wh, "200000001", years=2, compare=False)
    assert t.planned_economic["m2"] == pytest.approx(20_000) and t.planned_economic["zones"] == 1
    assert t.planned_economic["share_of_remaining"] == pytest.approx(20_000 / 89_100)


def test_projection_skips_an_incomplete_year_and_says_so():
    from vigie.modules.foncier.zan import _project

    totals = {2020: 100_000.0, 2021: None, 2022: 80_000.0}
    p = _project("moyenne", 3, totals, 2022, list(range(2023, 2031)), consumed=80_000.0, envelope=500_000.0,
                 observed=[2021, 2022])
    assert p.years_used == [2020, 2022] and p.annual_rate_m2 == 90_000
    assert p.projected_rest_m2 == 8 * 90_000 and p.projected_total_m2 == 80_000 + 720_000
    assert "2021" in p.statement and "écartée" in p.statement
    assert p.exhausted_in == 2027  # 80 000 + 90 000 × 5 = 530 000 > 500 000
    trend = _project("tendance", 3, totals, 2022, [2023, 2024], consumed=80_000.0, envelope=None, observed=[2021, 2022])
    assert trend.annual_rate_m2 == pytest.approx(-10_000) and trend.path == {2023: 70_000, 2024: 60_000}
    assert trend.excess_m2 is None
    assert _project("tendance", 3, {2022: 1.0}, 2022, [2023], consumed=0.0, envelope=None, observed=[]) is None


def test_same_trajectory_on_both_backends(backend_wh):
    t = trajectory(build(backend_wh), "200000001", method="moyenne", years=2)
    assert (t.reference["m2"], t.envelope["m2"], t.consumed["m2"]) == (237_000, 123_500, 34_400)
    assert t.projection.projected_total_m2 == 172_000
    assert [r["code"] for r in t.comparison] == ["200000001", "200000002"]
