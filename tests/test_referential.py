"""Referential importers: COG INSEE files, decoupage-administratif JSON, the tabular referential, the table
d'appartenance, passage tables and custom territories."""

from __future__ import annotations

import pandas as pd
import pytest

from vigie.errors import ImportValidationError, VigieError
from vigie.sources.base import run_import
from vigie.sources.registry import importer_class

REF = "referentiel"


def imp(wh, fixtures, kind, name, **options):
    return run_import(wh, importer_class(kind)(fixtures / REF / name, **options))


@pytest.fixture
def cog2024(wh, fixtures):
    """Régions, départements and communes of the COG 2024 fixture."""
    imp(wh, fixtures, "cog-insee", "v_region_2024.csv", cogs="2024-2026")
    imp(wh, fixtures, "cog-insee", "v_departement_2024.csv", cogs="2024-2026")
    imp(wh, fixtures, "cog-insee", "v_commune_2024.csv")
    return wh


def test_cog_insee_files_give_territories_and_memberships(cog2024):
    wh = cog2024
    communes = wh.territories("commune", 2024)
    # COMD (commune déléguée) rows are not communes; Corsican codes stay strings.
    assert list(communes["code"]) == ["2A004", "62001", "62498"]
    assert wh.find_territory("2A", "departement").name == "Corse-du-Sud"
    lens = wh.find_territory("62498")
    parents = wh.parents(lens)
    assert set(zip(parents["level"], parents["code"])) == {("departement", "62"), ("region", "32")}
    dep = wh.find_territory("62", "departement")
    assert list(wh.parents(dep)["code"]) == ["32"]


def test_cog_year_comes_from_the_file_name(wh, fixtures):
    imp(wh, fixtures, "cog-insee", "v_region_2024.csv")
    assert wh.cogs("region") == [2024]


def test_decoupage_administratif_json(wh, fixtures):
    imp(wh, fixtures, "decoupage-administratif", "communes.json", cogs="2025,2026",
        epci=str(fixtures / REF / "epci.json"), population_year=2022)
    assert wh.cogs("commune") == [2025, 2026]
    assert list(wh.territories("commune")["code"]) == ["62001", "62498"]  # the commune déléguée is left out
    call = wh.find_territory("246200364")
    assert list(wh.members(call)["code"]) == ["62001", "62498"]
    pop = wh.values("pop_legale", "commune")
    assert pop.set_index("code")["value"].to_dict() == {"62001": 1994.0, "62498": 31415.0}
    assert set(pop["year"]) == {2022}


def test_tabular_referential_with_populations_and_derived_passage(cog2024, fixtures):
    wh = cog2024
    # The 2024 vintage must know the absorbed communes for the passage to be derived: add them.
    wh.insert_frame("territory", pd.DataFrame({
        "level": "commune", "code": ["62447", "62461", "62549"], "cog": 2024,
        "name": ["Hesdin", "Marconne", "Huby-Saint-Leu"], "source_id": 1}))
    report = imp(wh, fixtures, "referentiel", "referentiel.csv", cogs=[2025, 2026], derive_passage_from=2024,
                 populations="pop_2024:2021@2024,pop_2025:2022@2025")
    assert not report.unchanged
    passage = wh.passages(2024, 2025)
    assert sorted(zip(passage["code_from"], passage["code_to"])) == [
        ("62447", "62447"), ("62461", "62447"), ("62549", "62447")]
    pop = wh.values("pop_legale", "commune", years=[2022])
    assert pop.set_index("code")["value"].to_dict() == {"62001": 1994.0, "62447": 4480.0, "62498": 31415.0}
    assert set(pop["cog"]) == {2025}
    assert set(wh.values("pop_legale", "commune", years=[2021])["cog"]) == {2024}
    seven = wh.find_territory("200044030")
    assert seven.name == "CC des 7 Vallées" and seven.cog == 2026


def test_tabular_referential_needs_known_departements(wh, fixtures):
    before = wh.digest()
    with pytest.raises(ImportValidationError) as exc:
        imp(wh, fixtures, "referentiel", "referentiel.csv", cogs="2026")
    assert "référentiel.csv" not in exc.value.message
    assert exc.value.line == 2 and exc.value.column == "departement"
    assert "COG 2026" in exc.value.message
    assert wh.digest() == before


def test_table_appartenance_single_year(cog2024, fixtures):
    wh = cog2024
    # The single-year INSEE table has no ANNEE_COG column: the vintage is an option.
    with pytest.raises(ImportValidationError) as exc:
        imp(wh, fixtures, "appartenance", "table_appartenance_2024.csv")
    assert exc.value.column == "ANNEE_COG"
    report = imp(wh, fixtures, "appartenance", "table_appartenance_2024.csv", cog=2024)
    # Communes already described by the COG file are kept as they are; the table adds EPCI and zones d'emploi.
    assert report.rows["territory"] == 1 + 1 + 2  # 2 EPCI, 2 zones d'emploi
    assert wh.find_territory("62498").name == "Lens"
    call = wh.find_territory("246200364", cog=2024)
    assert call.name == "EPCI 246200364"  # no labels file given: a plain name, and a warning
    assert list(wh.members(call)["code"]) == ["62001", "62498"]
    lens_ze = wh.find_territory("3215", "zone_emploi")
    assert list(wh.members(lens_ze)["code"]) == ["62001", "62498"]


def test_passage_table_with_split(wh, fixtures):
    imp(wh, fixtures, "passage", "passage.csv")
    split = wh.passages(2019, 2020)
    assert split.set_index("code_to")["weight"].to_dict() == {"62500": 0.7, "62501": 0.3}
    assert set(split["change"]) == {"scission"}
    merge = wh.passages(2018, 2019)
    assert set(merge["change"]) == {"fusion"}


def test_passage_split_ratios_must_sum_to_one(wh, fixtures):
    before = wh.digest()
    with pytest.raises(ImportValidationError) as exc:
        imp(wh, fixtures, "passage", "passage_bad_ratio.csv")
    assert exc.value.line == 2 and exc.value.column == "ratio"
    assert "0,9000" in exc.value.message or "0.9000" in exc.value.message
    assert wh.digest() == before


def test_custom_territory_is_the_union_of_its_members(wh, fixtures):
    from tests.support import seed_communes

    seed_communes(wh, {"62001": "A", "62498": "Lens", "62447": "Hesdin-la-Forêt"}, cog=2026,
                  epci={"246200364": ["62001", "62498"], "200044030": ["62447"]})
    report = imp(wh, fixtures, "territoires", "territoires.yaml")
    assert report.rows["territory"] == 1
    pole = wh.find_territory("TEST")
    assert pole.level == "pole_metropolitain" and pole.name == "Pôle de test"
    assert list(wh.members(pole)["code"]) == ["62001", "62447", "62498"]
    assert sorted(wh.members(pole, child_level="epci")["code"]) == ["200044030", "246200364"]


def test_custom_territory_with_unknown_member(wh, fixtures, tmp_path):
    config = tmp_path / "t.yaml"
    config.write_text("territoires:\n  - {code: X, niveau: scot, nom: X, union: {niveau: epci, codes: ['999999999']}}\n")
    with pytest.raises(ImportValidationError) as exc:
        run_import(wh, importer_class("territoires")(config))
    assert "mal formé" in exc.value.message  # code X is too short
    config.write_text("territoires:\n  - {code: XY, niveau: scot, nom: X, union: {niveau: epci, codes: ['999999999']}}\n")
    with pytest.raises(ImportValidationError) as exc:
        run_import(wh, importer_class("territoires")(config))
    assert "999999999" in exc.value.message


def test_unknown_kind_lists_the_known_ones():
    with pytest.raises(VigieError) as exc:
        importer_class("inconnu")
    assert "recensement" in exc.value.message


def test_custom_contours_read_the_declarations_like_the_territories(wh, tmp_path):
    config = tmp_path / "t.yaml"
    config.write_text("territoires: [unclosed\n")
    for kind in ("territoires", "contours-territoires"):
        with pytest.raises(ImportValidationError) as exc:
            run_import(wh, importer_class(kind)(config))
        assert "YAML illisible" in exc.value.message and exc.value.line is not None
