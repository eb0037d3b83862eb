"""Interview notes: stored with their profile, coded with a theme grid, counted by profile, quoted under each theme."""

from __future__ import annotations

import pytest

from vigie.errors import ImportValidationError, NotFoundError
from vigie.modules.enquete.interviews import Theme, code_text, import_interviews, load_grid, quotations, theme_counts
from vigie.warehouse import connect

from tests.test_enquete_helpers import MINI, seed_territory

NOTES = MINI / "entretiens_mini.csv"
GRID = MINI / "grille_mini.yaml"


@pytest.fixture(scope="module")
def coded(tmp_path_factory):
    """Notes imported once; the tests below only read them."""
    wh = connect(str(tmp_path_factory.mktemp("entretiens") / "entretiens.duckdb"))
    seed_territory(wh)
    result = import_interviews(wh, NOTES, GRID, "mini")
    yield wh, result
    wh.close()


def test_notes_are_stored_and_coded(coded):
    wh, result = coded
    assert (result.interviews, result.codings, result.unchanged) == (3, 6, False)
    assert wh.source(result.source_id)["kind"] == "enquete-entretiens"
    rows = wh.query("SELECT interview, theme, excerpt_no, excerpt, coded_by FROM survey_coding ORDER BY interview, theme, excerpt_no")
    assert rows == [
        ("E01", "metropole", 1, "Je vais à Lille pour les concerts.", "mots-clés"),
        ("E01", "mobilite", 1, "Le TER est souvent en retard !", "mots-clés"),
        ("E02", "sante", 1, "Trouver un médecin généraliste est devenu impossible.", "mots-clés"),
        ("E02", "sante", 2, "Heureusement la pharmacie est à côté.", "mots-clés"),
        ("E03", "cadre_de_vie", 1, "On se sent bien dans le quartier, c'est calme.", "analyste"),
        ("E03", "mobilite", 1, "On se sent bien dans le quartier, c'est calme.", "analyste"),  # the analyst's code: whole note
    ]
    assert import_interviews(wh, NOTES, GRID, "mini").unchanged


def test_theme_counts_overall_and_by_profile(coded):
    wh, _ = coded
    overall = theme_counts(wh, "mini").set_index("theme")
    assert overall["entretiens"].to_dict() == {"mobilite": 2, "sante": 1, "metropole": 1, "cadre_de_vie": 1}
    assert overall.loc["mobilite", "part"] == pytest.approx(2 / 3) and overall.loc["sante", "extraits"] == 2
    assert overall.loc["mobilite", "theme_libelle"] == "Mobilité et transports"
    by_sex = theme_counts(wh, "mini", by="sexe").set_index(["theme", "groupe"])
    assert by_sex.loc[("mobilite", "Homme"), "entretiens"] == 1 and by_sex.loc[("mobilite", "Homme"), "part"] == 1.0
    assert by_sex.loc[("mobilite", "Femme"), "part"] == 0.5 and by_sex.loc[("sante", "Homme"), "entretiens"] == 0
    assert by_sex.loc[("sante", "Femme"), "entretiens_groupe"] == 2


def test_quotations_under_each_theme(coded):
    wh, _ = coded
    quotes = quotations(wh, "mini", "sante")
    assert list(quotes["citation"]) == ["Trouver un médecin généraliste est devenu impossible.",
                                        "Heureusement la pharmacie est à côté."]
    assert quotes["profil"].iloc[0] == "sexe : Femme, age : 60 à 74 ans"
    assert len(quotations(wh, "mini")) == 6
    with pytest.raises(NotFoundError, match="Thème « sport » absent"):
        quotations(wh, "mini", "sport")
    with pytest.raises(NotFoundError, match="Aucun entretien"):
        theme_counts(wh, "autre")


def test_keyword_matching_ignores_case_and_accents_and_short_words_are_whole():
    theme = Theme("mobilite", "Mobilité", None, ["TER", "transport", "Gare"])
    coded = code_text("Les TRANSPORTS manquent. On monte sur le terril. La gare est loin ! Le ter passe.", [theme])
    assert coded == {"mobilite": ["Les TRANSPORTS manquent.", "La gare est loin !", "Le ter passe."]}


def test_bad_notes_and_grids(wh, tmp_path):
    seed_territory(wh)
    text = NOTES.read_text(encoding="utf-8")
    bad = tmp_path / "notes.csv"
    bad.write_text(text.replace("cadre_de_vie;mobilite", "cadre_de_vie;loisirs"), encoding="utf-8")
    with pytest.raises(ImportValidationError) as caught:
        import_interviews(wh, bad, GRID, "mini")
    assert (caught.value.line, caught.value.column) == (4, "themes") and "« loisirs » absent de la grille" in caught.value.problem
    bad.write_text(text.replace("E02,R04,62119", "E02,R04,59350"), encoding="utf-8")
    with pytest.raises(ImportValidationError) as caught:
        import_interviews(wh, bad, GRID, "mini")
    assert (caught.value.line, caught.value.column) == (3, "commune")
    bad.write_text(text.replace("E02,", "E01,"), encoding="utf-8")
    with pytest.raises(ImportValidationError, match="ligne en double"):
        import_interviews(wh, bad, GRID, "mini")
    grid = tmp_path / "grille.yaml"
    grid.write_text("themes:\n  - id: Mobilité\n    label: x\n", encoding="utf-8")
    with pytest.raises(ImportValidationError, match="identifiant « Mobilité » invalide"):
        load_grid(grid)
    assert wh.query("SELECT count(*) FROM survey_interview")[0][0] == 0
