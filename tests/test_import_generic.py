"""Generic CSV importer (kind "csv") driven by a YAML mapping, and the demo's mapping files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vigie.errors import ImportValidationError
from vigie.sources.base import run_import
from vigie.sources.generic_csv import GenericCsvImporter, load_mapping
from vigie.sources.registry import importer_class
from vigie.warehouse import connect
from tests.support import seed_communes

FIX = Path(__file__).parent / "fixtures" / "generic"
DEMO = Path(__file__).parents[1] / "data" / "demo"
COMMUNES = {"62119": "Béthune", "62427": "Hénin-Beaumont", "62498": "Lens", "62510": "Liévin"}


def csv(path: Path, mapping: Path | str, **options) -> GenericCsvImporter:
    return GenericCsvImporter(path, mapping=str(mapping), **options)


def test_registry_knows_the_csv_kind():
    assert importer_class("csv") is GenericCsvImporter


def test_values_with_year_column_markers_and_decimal_comma(wh):
    seed_communes(wh, COMMUNES, cog=2026)
    importer = csv(FIX / "permis_communes.csv", FIX / "permis_communes.yaml")
    report = run_import(wh, importer)
    assert report.rows == {"indicator": 2, "value": 10}
    assert importer.dataset() == "csv:permis_test"
    src = wh.sources().iloc[-1]
    assert (src["title"], src["producer"], src["vintage"]) == ("Permis de construire (jeu de test)", "Tests Vigie", "Permis 2022-2023")
    assert src["licence"] == "Licence Ouverte / Etalab 2.0"

    got = wh.query_df("SELECT indicator, code, year, cog, value, status FROM value ORDER BY indicator, code, year")
    rows = {(r.indicator, r.code, r.year): (r.value, r.status) for r in got.itertuples()}
    assert set(got["cog"]) == {2026}
    assert rows[("logements_autorises_test", "62498", 2022)] == (144.0, "ok")
    assert rows[("logements_autorises_test", "62510", 2022)] == (81.5, "ok")  # decimal comma
    assert rows[("logements_autorises_test", "62510", 2023)][1] == "missing"  # -1
    assert rows[("logements_commences_test", "62510", 2022)][1] == "secret"  # s
    assert rows[("logements_commences_test", "62119", 2023)][1] == "missing"  # nd
    assert np.isnan(rows[("logements_commences_test", "62119", 2023)][0])
    ind = wh.indicators().set_index("id")
    assert ind.loc["logements_autorises_test", "decimals"] == 0  # default for a stock
    assert ind.loc["logements_commences_test", "definition"] == "Logements mis en chantier dans l'année."


def test_territories_then_series(wh):
    seed_communes(wh, COMMUNES, cog=2025)
    seed_communes(wh, COMMUNES, cog=2026)
    report = run_import(wh, csv(FIX / "ze_communes.csv", FIX / "ze_communes.yaml"))
    assert report.rows == {"territory": 4, "membership": 8}
    ze = wh.territories("zone_emploi", cog=2025).set_index("code")["name"].to_dict()
    assert ze == {"3205": "Béthune", "3215": "Lens"}
    lens = wh.find_territory("3215", "zone_emploi", cog=2026)
    assert list(wh.members(lens)["code"]) == ["62427", "62498", "62510"]
    assert wh.cogs("zone_emploi") == [2025, 2026]

    report = run_import(wh, csv(FIX / "chomage_ze.csv", FIX / "chomage_ze.yaml"))
    assert report.rows == {"indicator": 1, "series": 4}
    assert report.messages == ["2 ligne(s) ignorée(s) (codes FR)."]
    series = wh.query("SELECT code, period, value, status FROM series ORDER BY code, period")
    assert series == [
        ("3205", "2024-T4", 9.1, "ok"), ("3205", "2025-T1", 9.3, "ok"),
        ("3215", "2024-T4", 11.4, "ok"), ("3215", "2025-T1", 11.6, "ok"),
    ]


def test_series_without_its_territories_is_refused(wh):
    seed_communes(wh, COMMUNES, cog=2026)
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, csv(FIX / "chomage_ze.csv", FIX / "chomage_ze.yaml"))
    assert "aucun territoire de niveau « zone_emploi » au COG 2026" in err.value.message
    assert err.value.column == "ze2020"


def test_bad_period_names_line_and_column(wh, tmp_path):
    seed_communes(wh, COMMUNES, cog=2025)
    seed_communes(wh, COMMUNES, cog=2026)
    run_import(wh, csv(FIX / "ze_communes.csv", FIX / "ze_communes.yaml"))
    data = tmp_path / "chomage.csv"
    data.write_text((FIX / "chomage_ze.csv").read_text().replace("3215,Lens,2025-T1", "3215,Lens,2025T1"))
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, csv(data, FIX / "chomage_ze.yaml"))
    assert (err.value.file, err.value.line, err.value.column) == ("chomage.csv", 5, "trimestre")


def test_territories_already_defined_elsewhere_are_kept_once(wh, tmp_path):
    seed_communes(wh, COMMUNES, cog=2025)
    seed_communes(wh, COMMUNES, cog=2026)
    run_import(wh, csv(FIX / "ze_communes.csv", FIX / "ze_communes.yaml"))
    before = wh.row_counts()
    other = tmp_path / "ze_bis.csv"
    other.write_text((FIX / "ze_communes.csv").read_text(encoding="utf-8").replace(",3215,Lens", ",3215,Lens (ZE)"), encoding="utf-8")
    report = run_import(wh, csv(other, FIX / "ze_communes.yaml"))
    assert report.rows == {"territory": 0, "membership": 0}  # the first import keeps the shared rows
    assert report.messages[0].startswith("COG 2025 : 2 territoire(s) de niveau « zone_emploi » déjà présent(s)")
    assert "3215 « Lens »" in report.messages[0]
    counts = wh.row_counts()
    assert (counts["territory"], counts["membership"]) == (before["territory"], before["membership"])

    # A commune already in another zone of that level is a contradiction, named by line and column.
    moved = tmp_path / "ze_ter.csv"
    moved.write_text((FIX / "ze_communes.csv").read_text(encoding="utf-8").replace("62427,Hénin-Beaumont,3215,Lens", "62427,Hénin-Beaumont,3205,Béthune"), encoding="utf-8")
    digest = wh.digest()
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, csv(moved, FIX / "ze_communes.yaml"))
    assert (err.value.file, err.value.line, err.value.column) == ("ze_ter.csv", 3, "ze2020")
    assert "appartient déjà au territoire « 3215 »" in err.value.message
    assert wh.digest() == digest


def test_reimport_same_file_is_unchanged_but_a_changed_mapping_replaces(wh, tmp_path):
    seed_communes(wh, COMMUNES, cog=2026)
    mapping = tmp_path / "permis.yaml"
    mapping.write_text((FIX / "permis_communes.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    first = run_import(wh, csv(FIX / "permis_communes.csv", mapping))
    assert run_import(wh, csv(FIX / "permis_communes.csv", mapping)).unchanged
    mapping.write_text(mapping.read_text(encoding="utf-8").replace('missing_values: ["-1"]', 'missing_values: ["-1", "40"]'), encoding="utf-8")
    second = run_import(wh, csv(FIX / "permis_communes.csv", mapping))
    assert not first.unchanged and not second.unchanged
    assert wh.query("SELECT count(*) FROM source WHERE kind = 'csv'")[0][0] == 1
    status = wh.query("SELECT status FROM value WHERE indicator = 'logements_commences_test' AND code = '62510' AND year = 2023")
    assert status == [("missing",)]


@pytest.mark.parametrize(
    "change, line, column, words",
    [
        (("kind: stock\n    decimals: 0", "kind: cumul\n    decimals: 0"), 25, "kind", "type « cumul » inconnu"),
        (("code_column: CODGEO\n", ""), 2, None, "clé obligatoire « code_column »"),
        (("cog: 2026\n", ""), 2, None, "clé obligatoire « cog »"),
        (("    label: Logements commencés\n", ""), 20, None, "indicateur n° 2 : clé obligatoire « label »"),
        (("decimal_comma: true", "decimal_coma: true"), 12, "decimal_coma", "clé inconnue « decimal_coma »"),
        (("year_column: annee", "year_column: annee\nyear: 2023"), 10, "year_column", "s'excluent"),
        (("id: logements_commences_test", "id: logements_autorises_test"), 21, "id", "déjà utilisé"),
        # The unclosed quote swallows lines 6-11: the parser stops on line 12.
        (("separator: \";\"", "separator: \";\n"), 12, None, "YAML illisible"),
    ],
)
def test_mapping_errors_name_the_mapping_file(tmp_path, change, line, column, words):
    text = (FIX / "permis_communes.yaml").read_text(encoding="utf-8")
    assert change[0] in text
    mapping = tmp_path / "ma_correspondance.yaml"
    mapping.write_text(text.replace(change[0], change[1]), encoding="utf-8")
    with pytest.raises(ImportValidationError) as err:
        load_mapping(mapping)
    assert (err.value.file, err.value.line, err.value.column) == ("ma_correspondance.yaml", line, column)
    assert words in err.value.message
    assert "ma_correspondance.yaml" in str(err.value)


def test_a_bad_mapping_leaves_the_warehouse_untouched(wh, tmp_path):
    seed_communes(wh, COMMUNES, cog=2026)
    mapping = tmp_path / "ma_correspondance.yaml"
    mapping.write_text((FIX / "permis_communes.yaml").read_text(encoding="utf-8").replace("kind: stock", "kind: somme"), encoding="utf-8")
    before = wh.digest()
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, csv(FIX / "permis_communes.csv", mapping))
    assert err.value.file == "ma_correspondance.yaml" and "type « somme » inconnu" in err.value.message
    assert wh.digest() == before


def test_mapping_option_is_required_and_must_exist(wh, tmp_path):
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, GenericCsvImporter(FIX / "permis_communes.csv"))
    assert "option « mapping » manquante" in err.value.message
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, csv(FIX / "permis_communes.csv", tmp_path / "absente.yaml"))
    assert err.value.file == "absente.yaml" and "introuvable" in err.value.message
    empty = tmp_path / "vide.yaml"
    empty.write_text("title: rien\n", encoding="utf-8")
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, csv(FIX / "permis_communes.csv", empty))
    assert "ni indicateurs" in err.value.message


# ------------------------------------------------------------------------------------------------ demo mappings

def demo_warehouse(wh, cogs: set[int]) -> None:
    """Communes of dept 62 at the COGs asked: 2025-2026 from communes_62.csv, 2012–2024 from the table d'appartenance."""
    current = pd.read_csv(DEMO / "referentiel" / "communes_62.csv", dtype=str, keep_default_na=False)
    for cog in sorted(cogs & {2025, 2026}):  # COG 2025 = COG 2026 in the Pas-de-Calais (data/demo/SOURCES.md)
        seed_communes(wh, dict(zip(current["code_insee"], current["nom"])), cog=cog)
    table = pd.read_csv(DEMO / "referentiel" / "table_appartenance_communes_62_2012_2024.csv", dtype=str, keep_default_na=False)
    for cog in sorted(cogs - {2025, 2026}):
        rows = table[table["ANNEE_COG"] == str(cog)]
        assert len(rows), cog
        seed_communes(wh, dict(zip(rows["CODGEO"], rows["LIBGEO"])), cog=cog)


@pytest.fixture(scope="module")
def demo_wh(tmp_path_factory):
    """One warehouse for the demo mappings: communes at every COG they use (each test checks its own dataset)."""
    warehouse = connect(str(tmp_path_factory.mktemp("demo") / "demo.duckdb"))
    cogs = {load_mapping(p).cog for p in (DEMO / "mappings").glob("*.yaml")} - {None}
    demo_warehouse(warehouse, cogs | {2025, 2026})
    yield warehouse
    warehouse.close()


DEMO_MAPPINGS = {
    # mapping stem: (data file, rows written per table, (indicator, code, year, expected value))
    "lovac2025_taux_vacance_communes_62": ("logement/lovac2025_taux_vacance_communes_62.csv", {"value": 870}, ("taux_vacance_lovac", "62498", 2025, 14.29)),
    "rpls_taux_lls_sru_2024_communes_62": ("logement/rpls_taux_lls_sru_2024_communes_62.csv", {"value": 891}, ("taux_lls", "62498", 2024, 59.0)),
    "sitadel_logements_communes_62": ("logement/sitadel_logements_communes_62.csv", {"value": 895 * 13 * 3}, ("log_autorises", "62498", 2021, 505.0)),
    "bpe2024_buckets_communes_62": ("equipements/bpe2024_buckets_communes_62.csv", {"value": 887 * 16}, ("bpe_medecin_generaliste", "62498", 2024, 23.0)),
    "dvf_prix_appartements_communes_62": ("foncier/dvf_prix_appartements_communes_62.csv", {"value": 124 * 2}, ("dvf_prix_m2_median", "62498", 2024, 1588.24)),
    "rp2021_logement_communes_62": ("logement/rp2021_logement_communes_62.csv", {"value": 890 * 4}, ("p_log", "62498", 2021, 17685.0)),
    "communes_62_p21_pop": ("referentiel/communes_62.csv", {"value": 887}, ("p_pop", "62498", 2021, 32697.0)),
    "rp2012_p12_pop_communes_62_cog2014": ("insee_rp/rp2012_p12_pop_communes_62_cog2014.csv", {"value": 895}, ("p_pop", "62498", 2012, 32663.0)),
}


@pytest.mark.parametrize("stem", sorted(DEMO_MAPPINGS))
def test_demo_mapping_imports_cleanly(demo_wh, stem):
    wh = demo_wh
    data, rows, (indicator, code, year, expected) = DEMO_MAPPINGS[stem]
    mapping = load_mapping(DEMO / "mappings" / f"{stem}.yaml")
    before = wh.query("SELECT count(*) FROM source")[0][0]
    report = run_import(wh, csv(DEMO / data, DEMO / "mappings" / f"{stem}.yaml"))
    assert {k: v for k, v in report.rows.items() if k != "indicator"} == rows
    # Only the extracts that leave out territories without any count say so.
    assert report.messages == ([] if not mapping.absent_is_zero else [report.messages[0]])
    assert not mapping.absent_is_zero or "comptée(s) à 0" in report.messages[0]
    got = wh.query("SELECT value, status, cog FROM value WHERE indicator = ? AND code = ? AND year = ?", (indicator, code, year))
    assert got == [(pytest.approx(expected), "ok", mapping.cog)]
    source = wh.source(report.source_id)
    assert source["dataset"] == f"csv:{mapping.id}" and not source["synthetic"]
    assert wh.query("SELECT count(*) FROM source")[0][0] == before + 1


def test_every_demo_mapping_is_tested():
    stems = {p.stem for p in (DEMO / "mappings").glob("*.yaml")}
    assert stems == set(DEMO_MAPPINGS) | {"communes_62_zone_emploi_2020", "chomage_trimestriel_ze2020_62"}


def test_demo_sitadel_minus_one_is_missing(demo_wh):
    wh = demo_wh
    run_import(wh, csv(DEMO / "logement" / "sitadel_logements_communes_62.csv", DEMO / "mappings" / "sitadel_logements_communes_62.yaml"))
    got = wh.query("SELECT status, count(*) FROM value WHERE indicator = 'log_commences' AND year = 2025 GROUP BY status")
    # Every commune of the file has -1 that year, so the communes it leaves out are unknown too (not 0).
    assert got == [("missing", 895)]


def test_demo_bpe_absent_communes_count_zero(wh):
    demo_warehouse(wh, {2026})
    report = run_import(wh, csv(DEMO / "equipements" / "bpe2024_buckets_communes_62.csv", DEMO / "mappings" / "bpe2024_buckets_communes_62.yaml"))
    assert any("comptée(s) à 0" in m for m in report.messages)
    # Ablainzevelle has none of the 16 equipment types: it is absent from the file, and counts 0.
    assert wh.query("SELECT value, status FROM value WHERE indicator = 'bpe_pharmacie' AND code = '62002'") == [(0.0, "ok")]


def test_demo_zones_emploi_and_unemployment(demo_wh):
    wh = demo_wh
    ze = run_import(wh, csv(DEMO / "referentiel" / "communes_62_zone_emploi_2020.csv", DEMO / "mappings" / "communes_62_zone_emploi_2020.yaml"))
    assert ze.rows == {"territory": 22, "membership": 2 * 887}
    lens = wh.find_territory("3215", "zone_emploi")
    assert (lens.name, lens.cog, len(wh.members(lens))) == ("Lens", 2026, 58)
    report = run_import(wh, csv(DEMO / "economie" / "chomage_trimestriel_ze2020_62.csv", DEMO / "mappings" / "chomage_trimestriel_ze2020_62.yaml"))
    assert report.rows == {"indicator": 1, "series": 220}
    assert report.messages == ["20 ligne(s) ignorée(s) (codes FR)."]
    assert wh.query("SELECT value FROM series WHERE code = '3215' AND period = '2021-T1'") == [(11.1,)]
    assert wh.indicator("taux_chomage_localise")["kind"] == "published_rate"


def test_demo_mappings_feed_the_catalogue():
    """The base variables the indicator catalogue reads for these sources are the ids the demo mappings write."""
    from vigie.engine.catalogue import load_catalogue

    written = {spec.row["id"] for p in (DEMO / "mappings").glob("*.yaml") for spec in load_mapping(p).indicators}
    wanted = {name for d in load_catalogue().values() for name in d.inputs
              if name.startswith(("bpe_", "dvf_", "log_", "taux_lls", "taux_vacance_"))}
    assert wanted and wanted <= written, sorted(wanted - written)


def test_territories_series_and_values_on_both_backends(backend_wh):
    wh = backend_wh
    seed_communes(wh, COMMUNES, cog=2025)
    seed_communes(wh, COMMUNES, cog=2026)
    assert run_import(wh, csv(FIX / "ze_communes.csv", FIX / "ze_communes.yaml")).rows == {"territory": 4, "membership": 8}
    assert run_import(wh, csv(FIX / "chomage_ze.csv", FIX / "chomage_ze.yaml")).rows == {"indicator": 1, "series": 4}
    assert wh.query("SELECT value FROM series WHERE code = '3215' AND period = '2025-T1'") == [(11.6,)]
    run_import(wh, csv(FIX / "permis_communes.csv", FIX / "permis_communes.yaml"))
    got = wh.query("SELECT value, status FROM value WHERE indicator = 'logements_autorises_test' AND code = '62510' ORDER BY year")
    assert got[0] == (81.5, "ok") and got[1][1] == "missing"
