"""Release figures computed by hand on a small series with a revision and a missing quarter (DuckDB and PostgreSQL)."""

from __future__ import annotations

import pytest
from tests.support import seed_communes
from vigie.sources.base import run_import
from vigie.modules.barometre.import_sitadel import SitadelImporter
from vigie.modules.barometre.release import build_release, summary_lines

EPCI = "246200364"


@pytest.fixture
def two_releases(backend_wh, fixtures):
    """The same small series published twice (2025-T3 revised in the second release), on DuckDB and PostgreSQL."""
    wh = backend_wh
    seed_communes(wh, {"62001": "Ablain", "62002": "Ablainzevelle", "62003": "Acheville"}, epci={EPCI: ["62001", "62002"]})
    d = fixtures / "barometre"
    run_import(wh, SitadelImporter(d / "sitadel_trim_publication1.csv", release="2025-11-01"))
    run_import(wh, SitadelImporter(d / "sitadel_trim_publication2.csv", release="2026-02-01"))
    return wh


def test_changes_trend_and_revision_by_hand(two_releases):
    # EPCI = 62001 + 62002. 2024: 15, 17, 13, 15; 2025: 16, 15, T3 20 then revised to 22, T4 24.
    release = build_release(two_releases, "2025-T4", territory=EPCI)
    s = release.series[0]
    f = s.main
    assert (f.value, f.previous, f.year_ago) == (24, 22, 15)
    assert f.change_quarter == pytest.approx((24 / 22 - 1) * 100)
    assert f.change_year == pytest.approx(60.0)
    assert (f.trend_last4, f.trend_prev4) == (77, 60)  # a flow: sums of four quarters
    assert f.trend_change == pytest.approx((77 / 60 - 1) * 100)
    assert [(r.period, r.old_value, r.old_release, r.new_value, r.new_release) for r in s.revisions] == [
        ("2025-T3", 20, "2025-11-01", 22, "2026-02-01")]
    assert s.missing is None and release.missing == []
    text = "\n".join(summary_lines(release)).replace("\u00a0", " ").replace("\u202f", " ")
    assert "▲ +9,1 % sur un trimestre" in text and "+60,0 % sur un an" in text
    assert "Révisé : EPCI 246200364, 2025-T3 : 20 logements (publication du 1 novembre 2025) → 22 logements" in text


def test_the_previous_release_is_what_was_known_then(two_releases):
    # Built for 2025-T3 the figures use the current (revised) T3 value, 22; T2 = 15, 2024-T3 = 13.
    f = build_release(two_releases, "2025-T3", territory=EPCI).series[0].main
    assert (f.value, f.previous, f.year_ago) == (22, 15, 13)


def test_a_missing_quarter_is_said_plainly(two_releases):
    release = build_release(two_releases, "2026-T1", territory=EPCI)
    expected = "Série absente pour 2026-T1 : Logements autorisés (dernier trimestre disponible : 2025-T4)."
    assert release.series[0].missing == expected
    assert expected in release.missing
    assert expected in "\n".join(summary_lines(release))


def test_a_commune_outside_the_territory_is_not_summed(two_releases):
    # 62003 is not in the EPCI: the commune alone is its own territory.
    release = build_release(two_releases, "2025-T4", territory="62001")
    assert release.series[0].main.value == 20


def test_prices_are_recomputed_from_sums_never_averaged(wh, fixtures):
    from vigie.modules.barometre.import_dvf import DvfImporter

    seed_communes(wh, {"62001": "Ablain", "62002": "Ablainzevelle"}, epci={EPCI: ["62001", "62002"]})
    run_import(wh, DvfImporter(fixtures / "barometre" / "dvf_geo.csv", release="2025-10-15"))
    release = build_release(wh, "2025-T1", territory=EPCI, series=["dvf_prix_m2", "dvf_ventes"])
    price, sales = release.series[0].main, release.series[1].main
    # 62001: (150 000 + 90 000) / (100 + 60) = 1 500 €/m²; 62002: 100 000 / 50 = 2 000 €/m².
    # The EPCI: 340 000 / 210, not the mean of 1 500 and 2 000 (1 750).
    assert price.value == pytest.approx(340000 / 210)
    assert sales.value == 4  # three sales with dwellings in 62001 (not the exchange), one in 62002
