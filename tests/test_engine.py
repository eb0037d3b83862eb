"""The indicator engine on a small territory computed by hand, on DuckDB and on PostGIS.

Territory (COG 2022): communes 62001 + 62002 in EPCI E1, 62003 in EPCI E2, custom territory P = E1 + E2.
In COG 2021, 62002 was two communes, 62002 and 62009, merged on 1 January 2022; and 62003 split from 62008?
No: 62004 (COG 2021) split in 2022 into 62003 (60 % of its population) and 62005 (40 %, outside every EPCI).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import add_source
from vigie.engine.catalogue import IndicatorDef, Secrecy
from vigie.engine.cube import build_cube
from vigie.engine.query import Engine
from vigie.warehouse import Territory

CATALOGUE = {
    d.id: d for d in [
        IndicatorDef(id="pop", label="Population", unit="habitants", kind="stock", variable="p_pop", source="t", definition="t"),
        IndicatorDef(id="chom", label="Chômeurs", unit="chômeurs", kind="stock", variable="p_chom", source="t", definition="t",
                     secrecy=Secrecy(min_count=5)),
        IndicatorDef(id="taux_chom", label="Taux de chômage", unit="%", kind="ratio", numerator="p_chom",
                     denominator="p_act", factor=100, decimals=1, source="t", definition="t", secrecy=Secrecy(min_count=5)),
        IndicatorDef(id="med", label="Revenu médian", unit="€", kind="median", variable="med", source="t", definition="t"),
        IndicatorDef(id="pour_mille", label="Équipements pour 1 000 hab.", unit="pour 1 000", kind="ratio",
                     numerator="equip", denominator="p_pop", factor=1000, source="t", definition="t"),
    ]
}


def territories(wh, sid):
    t = [("commune", c, 2022, c) for c in ("62001", "62002", "62003", "62005")]
    t += [("commune", c, 2021, c) for c in ("62001", "62002", "62009", "62004")]
    t += [("epci", "E1", 2022, "E1"), ("epci", "E2", 2022, "E2"), ("pole", "P", 2022, "Pôle")]
    wh.insert_frame("territory", pd.DataFrame(t, columns=["level", "code", "cog", "name"]).assign(source_id=sid))
    m = [(2022, "commune", "62001", "epci", "E1"), (2022, "commune", "62002", "epci", "E1"), (2022, "commune", "62003", "epci", "E2")]
    m += [(2022, "commune", c, "pole", "P") for c in ("62001", "62002", "62003")]
    m += [(2022, "epci", "E1", "pole", "P"), (2022, "epci", "E2", "pole", "P")]
    wh.insert_frame("membership", pd.DataFrame(m, columns=["cog", "child_level", "child_code", "parent_level", "parent_code"]).assign(weight=1.0, source_id=sid))
    p = [(2021, 2022, "62002", "62002", "fusion", 1.0), (2021, 2022, "62009", "62002", "fusion", 1.0),
         (2021, 2022, "62004", "62003", "scission", 0.6), (2021, 2022, "62004", "62005", "scission", 0.4)]
    wh.insert_frame("passage", pd.DataFrame(p, columns=["cog_from", "cog_to", "code_from", "code_to", "change", "weight"]).assign(source_id=sid))


def values(wh, sid, rows):
    frame = pd.DataFrame(rows, columns=["indicator", "code", "year", "cog", "value", "status"]).assign(level="commune", source_id=sid)
    wh.insert_frame("value", frame)


@pytest.fixture
def small(backend_wh):
    wh = backend_wh
    sid = add_source(wh)
    territories(wh, sid)
    values(wh, sid, [
        # 2021 data, COG 2021: converted to COG 2022.
        ("p_pop", "62001", 2021, 2021, 1000, "ok"), ("p_pop", "62002", 2021, 2021, 300, "ok"),
        ("p_pop", "62009", 2021, 2021, 200, "ok"), ("p_pop", "62004", 2021, 2021, 500, "ok"),
        # 2022 data, COG 2022.
        ("p_pop", "62001", 2022, 2022, 1100, "ok"), ("p_pop", "62002", 2022, 2022, 480, "ok"),
        ("p_pop", "62003", 2022, 2022, 310, "ok"), ("p_pop", "62005", 2022, 2022, 200, "ok"),
        ("p_act", "62001", 2022, 2022, 500, "ok"), ("p_act", "62002", 2022, 2022, 200, "ok"), ("p_act", "62003", 2022, 2022, 100, "ok"),
        ("p_chom", "62001", 2022, 2022, 60, "ok"), ("p_chom", "62002", 2022, 2022, 3, "ok"), ("p_chom", "62003", 2022, 2022, 20, "ok"),
        ("med", "62001", 2022, 2022, 21000, "ok"), ("med", "62002", 2022, 2022, 19000, "ok"),
        ("equip", "62001", 2024, 2022, 4, "ok"),
    ])
    report = build_cube(wh, 2022, CATALOGUE)
    return wh, Engine(wh, 2022, CATALOGUE), report


def t(level, code):
    return Territory(level, code, 2022, code)


def test_stocks_are_summed_and_old_vintages_converted(small):
    wh, engine, _ = small
    # 2021 in COG 2022: 62002 = 300 + 200 (merge), 62003 = 60 % of 500 (split weighted by population).
    pop2021 = engine.values("pop", "commune", years=[2021]).set_index("code")["value"].to_dict()
    assert pop2021 == {"62001": 1000.0, "62002": 500.0, "62003": 300.0, "62005": 200.0}
    assert engine.figure("pop", t("epci", "E1"), 2021)["value"] == 1500.0
    assert engine.figure("pop", t("pole", "P"), 2021)["value"] == 1800.0
    assert engine.figure("pop", t("pole", "P"), 2022)["value"] == 1100 + 480 + 310


def test_ratio_is_recomputed_from_sums_never_averaged(small):
    _, engine, _ = small
    e1 = engine.figure("taux_chom", t("epci", "E1"), 2022)
    # (60 + 3) / (500 + 200) = 9 %, whereas the mean of 12 % and 1.5 % would be 6.75 %.
    assert e1["value"] == pytest.approx(9.0)
    assert engine.figure("taux_chom", t("pole", "P"), 2022)["value"] == pytest.approx(83 / 800 * 100)


def test_denominator_of_the_latest_earlier_year(small):
    _, engine, _ = small
    # Equipment counted in 2024, population of 2022 (the latest year not after 2024).
    fig = engine.figure("pour_mille", t("commune", "62001"), 2024)
    assert fig["value"] == pytest.approx(4 / 1100 * 1000)


def test_medians_are_never_aggregated(small):
    _, engine, _ = small
    assert engine.figure("med", t("commune", "62001"), 2022)["value"] == 21000
    fig = engine.figure("med", t("epci", "E1"), 2022)
    assert fig["value"] is None and fig["reason"] == "non agrégeable à ce niveau"


def test_evolution_absolute_percent_tcam_and_points(small):
    wh, engine, _ = small
    ev = engine.evolution("pop", t("epci", "E1"), 2021, 2022)
    assert ev.absolute == 1580 - 1500
    assert ev.percent == pytest.approx((1580 / 1500 - 1) * 100)
    assert ev.annual_rate == pytest.approx((1580 / 1500 - 1) * 100)


def test_tcam_over_several_years():
    from vigie.engine.query import Engine as E  # noqa: F401  (formula checked by hand below)

    start, end, years = 100.0, 121.0, 2
    assert ((end / start) ** (1 / years) - 1) * 100 == pytest.approx(10.0)


def test_primary_and_secondary_secrecy(small):
    wh, engine, report = small
    # 62002 has 3 unemployed (< 5): secret. E1 = 62001 + 62002 is published (63), so 62001 must be masked too,
    # or 63 − 60 would give 62002 away.
    chom = engine.values("chom", "commune", years=[2022]).set_index("code")
    assert chom.loc["62002", "status"] == "secret" and chom.loc["62001", "status"] == "secret"
    assert chom["value"].loc[["62001", "62002"]].isna().all()
    assert chom.loc["62003", "value"] == 20
    assert engine.figure("chom", t("epci", "E1"), 2022)["value"] == 63
    assert report.secret_primary >= 1 and report.secret_secondary >= 1
    # The masked number is nowhere in the cube, not even in the numerator column.
    stored = wh.query("SELECT value, numerator FROM cube WHERE indicator = 'chom' AND code = '62002'")
    assert stored == [(None, None)]


def test_references_rank_and_comparison(small):
    _, engine, _ = small
    refs = engine.references(t("commune", "62001"))
    assert [(r.level, r.code) for r in refs] == [("epci", "E1"), ("pole", "P")]
    comparison = engine.compare("pop", t("commune", "62001"), 2022).set_index("code")
    assert comparison.loc["E1", "value"] == 1580
    assert comparison.loc["E1", "index_100"] == pytest.approx(1100 / 1580 * 100)
    assert comparison.loc["P", "difference"] == 1100 - 1890
    assert engine.rank("pop", t("commune", "62001"), 2022) == (1, 4)
    assert engine.rank("pop", t("commune", "62002"), 2022, within=t("epci", "E1")) == (2, 2)


def test_classes(small):
    _, engine, _ = small
    assert engine.classes("pop", "commune", 2022, "quantiles", 2) == [395.0, 1100.0]
    assert engine.classes("pop", "commune", 2022, "manual", bins=[500, 2000]) == [500.0, 2000.0]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pops=st.lists(st.integers(min_value=0, max_value=100_000), min_size=4, max_size=4),
    acts=st.lists(st.integers(min_value=1, max_value=50_000), min_size=3, max_size=3),
    chom_share=st.lists(st.floats(min_value=0, max_value=1), min_size=3, max_size=3),
)
def test_properties(backend_wh, pops, acts, chom_share):
    """Stocks add up along every membership; ratios are Σnum/Σden; COG conversion keeps totals; no masked
    value can be recovered from its parent's total and the other parts. On both backends."""
    wh = backend_wh
    with wh.transaction():
        for table in ("cube", "value", "membership", "passage", "territory", "source", "cog_map"):
            wh.execute(f"DELETE FROM {table}")
    sid = add_source(wh)
    territories(wh, sid)
    chom = [int(a * s) for a, s in zip(acts, chom_share)]
    old = dict(zip(("62001", "62002", "62009", "62004"), pops))
    values(wh, sid, [("p_pop", c, 2021, 2021, v, "ok") for c, v in old.items()]
           + [("p_act", c, 2022, 2022, v, "ok") for c, v in zip(("62001", "62002", "62003"), acts)]
           + [("p_chom", c, 2022, 2022, v, "ok") for c, v in zip(("62001", "62002", "62003"), chom)])
    build_cube(wh, 2022, CATALOGUE)
    engine = Engine(wh, 2022, CATALOGUE)
    # COG conversion preserves the total (62005 gets 40 % of 62004, outside every EPCI).
    converted = engine.values("pop", "commune", years=[2021])["value"].sum()
    assert converted == pytest.approx(sum(pops))
    assert engine.figure("pop", t("pole", "P"), 2021)["value"] == pytest.approx(sum(pops) - 0.4 * old["62004"])
    # Stocks add up along memberships.
    e1 = engine.figure("pop", t("epci", "E1"), 2021)["value"]
    e2 = engine.figure("pop", t("epci", "E2"), 2021)["value"]
    assert e1 + e2 == pytest.approx(engine.figure("pop", t("pole", "P"), 2021)["value"])
    # Ratio = Σ numerators / Σ denominators.
    p = engine.figure("taux_chom", t("pole", "P"), 2022)
    if 0 < sum(chom) < 5:  # the numerator itself is under the secrecy threshold
        assert p["value"] is None and p["status"] == "secret"
    else:
        assert p["value"] == pytest.approx(sum(chom) / sum(acts) * 100)
    # Secrecy: within each published total, never exactly one masked part.
    cube = wh.query_df("SELECT level, code, status FROM cube WHERE indicator = 'chom' AND year = 2022")
    status = dict(zip(cube["code"], cube["status"]))
    for parent, parts in {"E1": ["62001", "62002"], "E2": ["62003"], "P": ["E1", "E2"], "P ": ["62001", "62002", "62003"]}.items():
        parent = parent.strip()
        if status.get(parent) == "ok":
            assert sum(status.get(c) == "secret" for c in parts) != 1, (parent, status)
    for code, value in zip(("62001", "62002", "62003"), chom):
        if 0 < value < 5:
            assert status[code] == "secret"
            assert wh.query("SELECT value FROM cube WHERE indicator = 'chom' AND code = ?", (code,)) == [(None,)]
    assert not any(math.isnan(v) for v in [converted])
