"""Barometer importers against small files in the official layouts, and their broken variants."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.support import add_source, seed_communes
from vigie.errors import ImportValidationError
from vigie.sources.base import run_import
from vigie.sources.registry import importer_class

EPCI = "246200364"


@pytest.fixture
def seeded(wh):
    seed_communes(wh, {"62001": "Ablain", "62002": "Ablainzevelle", "62003": "Acheville"}, epci={EPCI: ["62001", "62002"]})
    sid = add_source(wh, dataset="test:ze")
    wh.insert_frame("territory", pd.DataFrame([("zone_emploi", "3215", 2026, "Lens", sid)],
                                              columns=["level", "code", "cog", "name", "source_id"]))
    return wh


def load(wh, kind, path, **options):
    return run_import(wh, importer_class(kind)(path, **options))


def current(wh, series):
    df = wh.query_df("SELECT level, code, period, value, status FROM baro_value WHERE series = ? ORDER BY 1, 2, 3", (series,))
    return {(r.code, r.period): (None if r.value != r.value else r.value, r.status) for r in df.itertuples()}


def test_chomage_long_and_insee_wide_layouts(seeded, fixtures):
    load(seeded, "chomage-ze", fixtures / "barometre" / "chomage_ze.csv", release="2026-02-13")
    v = current(seeded, "chomage_taux")
    assert v[("3215", "2025-T4")] == (10.8, "ok") and v[("FR", "2024-T4")] == (7.3, "ok")
    assert seeded.query("SELECT DISTINCT level FROM baro_value WHERE code = 'FR'")[0][0] == "france"
    load(seeded, "chomage-ze", fixtures / "barometre" / "chomage_ze_insee_large.csv", release="2026-03-12",
         decimal_comma=True)
    rows = seeded.query("SELECT period, value FROM baro_value WHERE code = '3215' AND release = '2026-03-12' ORDER BY 1")
    assert rows == [("2025-T3", 10.7), ("2025-T4", 10.8)]


@pytest.mark.parametrize("kind, name, line, column, words", [
    ("chomage-ze", "chomage_ze_mauvais_taux.csv", 3, "taux_chomage_cvs_pct", "non numérique"),
    ("chomage-ze", "chomage_ze_zone_inconnue.csv", 3, "ze2020", "inconnu"),
    ("sitadel", "sitadel_mois_illisible.csv", 3, "MOIS", "mois"),
    ("urssaf-effectifs", "urssaf_effectif_negatif.csv", 3, "Effectifs salariés 2024", "négatif"),
    ("demandeurs-emploi", "defm_categorie_inconnue.csv", 3, "categorie", "catégorie"),
    ("creations-sirene", "StockEtablissement_date_illisible.csv", 3, "dateCreationEtablissement", "illisible"),
    ("dvf", "dvf_date_illisible.csv", 9, "date_mutation", "illisible"),
])
def test_broken_files_name_file_line_column_and_change_nothing(seeded, fixtures, kind, name, line, column, words):
    before = seeded.digest()
    with pytest.raises(ImportValidationError) as err:
        load(seeded, kind, fixtures / "barometre" / name, release="2026-01-01")
    e = err.value
    assert (e.file, e.line, e.column) == (name, line, column)
    assert words in e.problem
    assert seeded.digest() == before


def test_sitadel_months_are_summed_and_incomplete_quarters_left_out(seeded, fixtures):
    report = load(seeded, "sitadel", fixtures / "barometre" / "sitadel_mensuel.csv", release="2026-01-29")
    aut, com = current(seeded, "log_autorises"), current(seeded, "log_commences")
    assert aut == {("62001", "2025-T1"): (7.0, "ok"), ("62002", "2025-T1"): (3.0, "ok")}
    assert com[("62001", "2025-T1")] == (None, "missing") and com[("62002", "2025-T1")] == (2.0, "ok")
    assert any("incomplet" in m for m in report.messages)


def test_urssaf_commune_ape_wide_layout_sums_ape_and_sectors(seeded, fixtures):
    load(seeded, "urssaf-effectifs", fixtures / "barometre" / "urssaf_commune_ape.csv", release="2025-06-15")
    total = current(seeded, "emploi_prive")
    assert total[("62001", "2023-T4")] == (160.0, "ok") and total[("62001", "2024-T4")] == (162.0, "ok")
    assert total[("62002", "2024-T4")] == (None, "missing")
    assert current(seeded, "emploi_prive.commerce")[("62001", "2024-T4")] == (118.0, "ok")
    hidden = seeded.query("SELECT visible FROM baro_series WHERE id = 'emploi_prive.industrie'")[0][0]
    assert hidden is False


def test_jobseekers_monthly_means_and_abc_from_a_b_c(seeded, fixtures):
    load(seeded, "demandeurs-emploi", fixtures / "barometre" / "defm_mensuel.csv", release="2026-01-27")
    a, abc = current(seeded, "defm_a"), current(seeded, "defm_abc")
    assert a[("62001", "2025-T4")] == (103.0, "ok") and a[("62002", "2025-T4")] == (21.0, "ok")
    assert abc[("62001", "2025-T4")] == (145.0, "ok") and abc[("62002", "2025-T4")] == (26.0, "ok")


def test_sirene_counts_head_offices_by_quarter_with_zeros(seeded, fixtures):
    load(seeded, "creations-sirene", fixtures / "barometre" / "StockEtablissement_extrait.csv", release="2026-01-15")
    v = current(seeded, "creations_entreprises")
    assert v[("62001", "2025-T1")] == (2.0, "ok")  # the 31 March establishment is not a head office
    assert v[("62002", "2025-T2")] == (1.0, "ok") and v[("62002", "2024-T4")] == (1.0, "ok")
    assert v[("62001", "2025-T2")] == (0.0, "ok") and v[("62003", "2025-T1")] == (0.0, "ok")
    assert {p for _, p in v} == {"2024-T4", "2025-T1", "2025-T2"}  # 59350 is outside the warehouse: ignored


def test_dvf_sales_and_price_per_m2_from_single_dwelling_sales(seeded, fixtures):
    load(seeded, "dvf", fixtures / "barometre" / "dvf_geo.csv", release="2025-10-15")
    ventes = current(seeded, "dvf_ventes")
    assert ventes == {("62001", "2025-T1"): (3.0, "ok"), ("62002", "2025-T1"): (1.0, "ok"), ("62002", "2025-T2"): (1.0, "ok")}
    assert current(seeded, "dvf_valeur")[("62001", "2025-T1")] == (240000.0, "ok")
    assert current(seeded, "dvf_surface")[("62001", "2025-T1")] == (160.0, "ok")


def test_a_new_release_keeps_the_previous_one_and_reimport_changes_nothing(seeded, fixtures):
    first = load(seeded, "sitadel", fixtures / "barometre" / "sitadel_trim_publication1.csv", release="2025-11-01")
    again = load(seeded, "sitadel", fixtures / "barometre" / "sitadel_trim_publication1.csv", release="2025-11-01")
    assert again.unchanged and again.source_id == first.source_id
    load(seeded, "sitadel", fixtures / "barometre" / "sitadel_trim_publication2.csv", release="2026-02-01")
    rows = seeded.query("SELECT CAST(release AS VARCHAR), value FROM baro_value WHERE code = '62001' "
                        "AND period = '2025-T3' ORDER BY 1")
    assert rows == [("2025-11-01", 14.0), ("2026-02-01", 16.0)]
    assert not math.isnan(seeded.query("SELECT count(*) FROM baro_value")[0][0])
