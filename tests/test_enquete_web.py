"""The survey's JSON API (`vigie.modules.enquete.web`) over the demo warehouse and its synthetic survey.

Figures are checked against sums written here in SQL over the stored weights and destinations (independent of the
module's matrices): weighted trips, shares of an origin's trips, leakage outside the Pôle Métropolitain, weighted
shares of an answer, Kish's effective size. Errors answer 404 (unknown survey, motive, pole, weighting) or 422
(unusable parameter), in French.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from vigie.errors import ImportValidationError
from vigie.modules.enquete.codebook import load_codebook
from vigie.publish.api import create_app
from vigie.warehouse import connect

SURVEY = "usages_pma_demo"
LENS = "62498"
LILLE = "59350"
BASE = f"/api/enquete/{SURVEY}"


@pytest.fixture(scope="module")
def client(demo_warehouse):
    """The survey is private to the agency in the demo (issue 9): the client reads it with an agency token."""
    from vigie.access import tokens
    from vigie.access.schema import open_store

    store = open_store(str(demo_warehouse))
    try:
        token, info = tokens.create(store, "admin.aula", "tests de la page enquête", ["lecture"], days=1)
    finally:
        store.close()
    with TestClient(create_app(str(demo_warehouse)), headers={"Authorization": f"Bearer {token}"}) as c:
        yield c
    store = open_store(str(demo_warehouse))
    try:
        tokens.revoke(store, info.id)
    finally:
        store.close()


@pytest.fixture(scope="module")
def wh(demo_warehouse):
    warehouse = connect(str(demo_warehouse), create=False, read_only=True)
    yield warehouse
    warehouse.close()


def weighted_trips(wh, motive: str) -> dict[tuple[str, str], float]:
    """(home commune, destination) -> Σ calibrated weights of the respondents naming it (one trip each)."""
    rows = wh.query(
        "SELECT r.commune, d.destination, sum(w.weight) FROM survey_destination d "
        "JOIN survey_weight w ON w.survey = d.survey AND w.respondent = d.respondent AND w.scheme = 'calage' "
        "JOIN survey_respondent r ON r.survey = d.survey AND r.respondent = d.respondent "
        "WHERE d.survey = ? AND d.motive = ? GROUP BY r.commune, d.destination", (SURVEY, motive))
    return {(o, d): float(t) for o, d, t in rows}


def get(client, path: str, **params):
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------------------------------------- surveys
def test_the_survey_is_listed_and_described(client):
    listing = get(client, "/api/enquete")
    assert [s["id"] for s in listing["enquetes"]] == [SURVEY]
    assert listing["enquetes"][0]["respondents"] == 1000 and listing["enquetes"][0]["synthetic"] is True
    survey = get(client, BASE)
    assert survey["mention"] == "données fictives de démonstration" and survey["ponderation"] == "calage"
    assert survey["territoire"]["name"] == "Pôle Métropolitain de l'Artois"
    assert [m["id"] for m in survey["motifs"]] == ["achats_quotidiens", "sante", "demarches", "sport", "loisirs",
                                                   "culture", "achats_occasionnels"]
    culture = next(m for m in survey["motifs"] if m["id"] == "culture")
    assert culture["label"] == "Culture" and culture["repondants"] > 400
    assert {"epci", "age", "sexe"} <= {g["id"] for g in survey["croisements"]}
    assert survey["entretiens"]["entretiens"] == 20 and "sexe" in survey["entretiens"]["profils"]


def test_the_page_is_in_the_menu_and_carries_the_surveys(client):
    page = client.get("/enquete", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert 'href="/enquete" aria-current="page">Enquête</a>' in page.text
    assert f'"surveys": [{{"id": "{SURVEY}"' in page.text
    assert 'data-page="enquete"' in page.text


def test_a_warehouse_without_survey_says_so(tmp_path):
    path = tmp_path / "vide.duckdb"
    connect(str(path)).close()
    with TestClient(create_app(str(path))) as empty:
        assert empty.get("/api/enquete").json() == {"count": 0, "enquetes": []}
        missing = empty.get(f"/api/enquete/{SURVEY}")
        assert missing.status_code == 404
        assert missing.json()["detail"] == "L'entrepôt ne contient aucune enquête : lancez « vigie enquete importer »."
        page = empty.get("/enquete", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "L'entrepôt ne contient aucune enquête" in page.text


# ---------------------------------------------------------------------------------------------- flows
def test_flows_add_up_to_the_weighted_trips_of_every_origin_and_destination(client, wh):
    body = get(client, f"{BASE}/motifs/culture")
    expected = weighted_trips(wh, "culture")
    flows = {(f["origine"], f["destination"]): f for f in body["flux"]}
    assert set(flows) == set(expected)
    for key, trips in expected.items():
        assert flows[key]["deplacements"] == pytest.approx(trips, rel=1e-9)
    assert body["deplacements"] == pytest.approx(sum(expected.values()), rel=1e-12)
    # Each pole's trips are the sum of the flows it receives; its share is of all trips.
    for pole in body["poles"]:
        received = sum(t for (_o, d), t in expected.items() if d == pole["destination"])
        assert pole["deplacements"] == pytest.approx(received, rel=1e-9)
        assert pole["part"] == pytest.approx(received / body["deplacements"], rel=1e-9)
        assert pole["ic_bas"] <= pole["part"] <= pole["ic_haut"]
    # The shares of an origin's trips add up to 1, and Lens's share of its own trips is what the weights say.
    for origin in {o for o, _d in expected}:
        assert sum(f["part"] for (o, _d), f in flows.items() if o == origin) == pytest.approx(1.0, abs=1e-9)
    from_lens = sum(t for (o, _d), t in expected.items() if o == LENS)
    assert flows[(LENS, LENS)]["part"] == pytest.approx(expected[(LENS, LENS)] / from_lens, rel=1e-9)
    assert flows[(LENS, LENS)]["interne"] is True and flows[(LENS, LILLE)]["interne"] is False
    assert flows[(LENS, LILLE)]["dans_territoire"] is False and flows[(LENS, LENS)]["dans_territoire"] is True


def test_the_summary_gives_each_motive_its_practice_and_first_destination(client, wh):
    body = get(client, f"{BASE}/motifs")
    culture = next(m for m in body["motifs"] if m["motif"] == "culture")
    (practising, everyone) = wh.query(
        "SELECT sum(CASE WHEN EXISTS (SELECT 1 FROM survey_destination d WHERE d.survey = w.survey "
        "AND d.respondent = w.respondent AND d.motive = 'culture') THEN w.weight ELSE 0 END), sum(w.weight) "
        "FROM survey_weight w WHERE w.survey = ? AND w.scheme = 'calage'", (SURVEY,))[0]
    assert culture["pratiquants"] == pytest.approx(practising / everyone, rel=1e-9)
    assert culture["pratiquants_ic_bas"] < culture["pratiquants"] < culture["pratiquants_ic_haut"]
    assert culture["premiere_destination_nom"] == "Lille" and culture["motif_libelle"] == "Culture"
    assert len(body["motifs"]) == 7


def test_every_place_of_the_flow_map_has_a_point(client, wh):
    body = get(client, f"{BASE}/motifs/culture")
    places = {p["code"]: p for p in body["lieux"]}
    assert body["non_places"] == []
    assert {f["origine"] for f in body["flux"]} | {f["destination"] for f in body["flux"]} <= set(places)
    assert (places[LILLE]["lon"], places[LILLE]["lat"]) == (3.05729, 50.6365)  # from the codebook
    assert places[LILLE]["dans_territoire"] is False
    west, south, east, north = wh.query(
        "SELECT ST_XMin(geom_web), ST_YMin(geom_web), ST_XMax(geom_web), ST_YMax(geom_web) FROM territory_geometry "
        "WHERE level = 'commune' AND code = ? AND cog = 2026", (LENS,))[0]
    assert west < places[LENS]["lon"] < east and south < places[LENS]["lat"] < north


def test_flows_by_epci_add_up_to_the_same_total(client, wh):
    body = get(client, f"{BASE}/motifs/sport", origine="epci")
    assert body["origine"] == "epci"
    assert {f["origine"] for f in body["flux"]} == {"200072460", "246200299", "246200364"}
    assert body["deplacements"] == pytest.approx(sum(weighted_trips(wh, "sport").values()), rel=1e-12)
    assert {p["code"] for p in body["lieux"]} >= {"200072460", "246200299", "246200364"}


def test_leakage_is_the_weighted_share_of_trips_leaving_the_study_territory(client, wh):
    body = get(client, f"{BASE}/motifs/culture")
    inside = {r[0] for r in wh.query("SELECT child_code FROM membership WHERE cog = 2026 AND child_level = 'commune' "
                                     "AND parent_level = 'pole_metropolitain' AND parent_code = 'PMA'")}
    trips = weighted_trips(wh, "culture")
    outside = sum(t for (_o, d), t in trips.items() if d not in inside)
    overall = body["evasion"]["ensemble"]
    assert body["evasion"]["territoire"] == "Pôle Métropolitain de l'Artois"
    assert overall["evasion"] == pytest.approx(outside / sum(trips.values()), rel=1e-9)
    assert overall["deplacements_hors_territoire"] == pytest.approx(outside, rel=1e-9)
    assert overall["ic_bas"] < overall["evasion"] < overall["ic_haut"]
    assert len(body["evasion"]["par_epci"]) == 3


# ---------------------------------------------------------------------------------------------- catchment
def test_catchment_of_a_pole_gives_each_commune_its_share_and_its_first_destination(client, wh):
    body = get(client, f"{BASE}/motifs/culture/poles/{LENS}")
    motive = get(client, f"{BASE}/motifs/culture")
    trips = weighted_trips(wh, "culture")
    origins = {o for o, _d in trips}
    rows = {r["code"]: r for r in body["origines"]}
    assert set(rows) == origins
    for code, row in rows.items():
        mine = {d: t for (o, d), t in trips.items() if o == code}
        assert row["part"] == pytest.approx(mine.get(LENS, 0.0) / sum(mine.values()), rel=1e-9, abs=1e-12)
        best = max(mine.values())
        assert row["zone"] == (row["premiere_destination"] == LENS)
        assert mine[row["premiere_destination"]] == pytest.approx(best, rel=1e-12)
    zone = [c for c, r in rows.items() if r["zone"]]
    assert body["pole"]["destination_nom"] == "Lens" and body["pole"]["origines_zone"] == len(zone) > 0
    lens_in_motive = next(p for p in motive["poles"] if p["destination"] == LENS)
    assert lens_in_motive["communes_zone"] == len(zone)
    assert body["pole"]["part"] == pytest.approx(lens_in_motive["part"], rel=1e-12)
    # A commune that never names Lens: share 0, no interval.
    never = next(r for r in body["origines"] if r["repondants_pole"] == 0)
    assert never["part"] == 0.0 and never["ic_bas"] is None and never["zone"] is False


# ---------------------------------------------------------------------------------------------- estimates
def test_weighted_shares_by_epci_with_intervals_and_small_cells_flagged(client, wh):
    body = get(client, f"{BASE}/estimations", variable="voiture", par="epci", seuil=120)
    assert body["statistique"] == "part" and body["par"]["id"] == "epci"
    rows = body["lignes"]
    assert {r["groupe_libelle"] for r in rows} == {"CA de Lens - Liévin", "CA d'Hénin-Carvin",
                                                   "CA de Béthune-Bruay, Artois-Lys Romane"}
    for r in rows:
        assert r["ic_bas"] <= r["part"] <= r["ic_haut"]
        assert r["fragile"] == (r["n"] < 120)
    assert body["fragiles"] == sum(r["fragile"] for r in rows) > 0
    assert body["test"]["phrase"].startswith("Test du χ² de Pearson corrigé de Rao et Scott")
    # The share of car owners in Hénin-Carvin, from the stored weights and answers.
    (share,) = wh.query(
        "SELECT sum(CASE WHEN a.answer = '1' THEN w.weight ELSE 0 END) / sum(w.weight) FROM survey_answer a "
        "JOIN survey_weight w ON w.survey = a.survey AND w.respondent = a.respondent AND w.scheme = 'calage' "
        "JOIN survey_respondent r ON r.survey = a.survey AND r.respondent = a.respondent "
        "WHERE a.survey = ? AND a.variable = 'voiture' AND r.epci = '246200299'", (SURVEY,))[0]
    hc = next(r for r in rows if r["groupe"] == "246200299" and r["modalite"] == "1")
    assert hc["part"] == pytest.approx(share, rel=1e-12)


def test_a_crossing_fixed_by_the_calibration_has_no_test(client):
    body = get(client, f"{BASE}/estimations", variable="age", par="sexe")  # sex × age is a calibration margin
    assert body["test"]["f"] is None and body["test"]["p_value"] is None
    assert body["test"]["phrase"].startswith("Test d'indépendance non calculable : ce croisement est fixé par le calage")
    assert all(r["erreur_type"] < 1e-9 for r in body["lignes"])


def test_a_numeric_variable_gives_means_by_age(client):
    body = get(client, f"{BASE}/estimations", variable="sorties_mois", par="age")
    assert body["statistique"] == "moyenne"
    assert [r["groupe"] for r in body["lignes"]] == ["15-29", "30-44", "45-59", "60-74", "75+"]
    for r in body["lignes"]:
        assert r["ic_bas"] < r["valeur"] < r["ic_haut"] and r["n"] > 0
    overall = get(client, f"{BASE}/estimations", variable="sorties_mois")["lignes"]
    assert len(overall) == 1 and overall[0]["groupe_libelle"] == "Ensemble"


# ---------------------------------------------------------------------------------------------- weighting, interviews
def test_weighting_report_matches_the_stored_weights(client, wh):
    body = get(client, f"{BASE}/ponderation")
    total, squares, n, low, high = wh.query(
        "SELECT sum(weight), sum(weight * weight), count(*), min(weight), max(weight) FROM survey_weight "
        "WHERE survey = ? AND scheme = 'calage'", (SURVEY,))[0]
    report = body["bilan"]
    assert report["n"] == n == 1000
    assert report["effective_size"] == pytest.approx(total**2 / squares, rel=1e-9)
    assert report["design_effect"] == pytest.approx(n * squares / total**2, rel=1e-9)
    assert (report["minimum"], report["maximum"]) == (pytest.approx(low), pytest.approx(high))
    assert body["methode"] == "raking" and body["converge"] is True
    assert any(line.startswith("Taille d'échantillon effective (Kish)") for line in body["phrases"])
    assert {m["variable"] for m in body["marges"]} == {"sexe*age", "epci", "csp"}
    for margin in body["marges"]:
        assert margin["apres"] == pytest.approx(margin["cible"], rel=1e-6)


def test_interview_themes_are_counted_by_profile_with_their_quotations(client, wh):
    body = get(client, f"{BASE}/entretiens", par="sexe")
    assert body["groupes"] == ["Femme", "Homme"] and body["entretiens"] == 20
    for theme in body["themes"]:
        (coded,) = wh.query("SELECT count(DISTINCT interview) FROM survey_coding WHERE survey = ? AND theme = ?",
                            (SURVEY, theme["theme"]))[0]
        assert sum(c["entretiens"] for c in theme["comptes"]) == coded
        assert sum(c["entretiens_groupe"] for c in theme["comptes"]) == 20
        (quotes,) = wh.query("SELECT count(*) FROM survey_coding WHERE survey = ? AND theme = ?",
                             (SURVEY, theme["theme"]))[0]
        assert len(theme["citations"]) == quotes
        assert all(q["profil"].startswith("sexe : ") for q in theme["citations"])


# ---------------------------------------------------------------------------------------------- errors
NOT_FOUND = [
    ("/api/enquete/inconnue", "Aucune enquête « inconnue »"),
    (f"{BASE}/motifs/peche", "Motif « peche » inconnu"),
    (f"{BASE}/motifs/culture/poles/99999", "« 99999 » n'est pas une destination du motif « Culture »"),
    (f"{BASE}/motifs?schema=brut", "n'a pas de pondération « brut »"),
    (f"{BASE}/ponderation?schema=brut", "n'a pas de pondération « brut »"),
    (f"{BASE}/entretiens?theme=meteo", "Thème « meteo » absent de la grille"),
]
INVALID = [
    (f"{BASE}/motifs/culture?origine=iris", "Paramètre « origine » : « iris » inconnu (commune ou epci)."),
    (f"{BASE}/estimations?variable=revenu", "Paramètre « variable » : « revenu » n'est pas une variable estimable"),
    (f"{BASE}/estimations?variable=age&par=age", "Paramètre « par » : « age » ne permet pas de croiser « age »"),
    (f"{BASE}/estimations", "paramètre obligatoire absent : « variable »"),
    (f"{BASE}/motifs/culture?seuil=0", "paramètre « seuil » : valeur au moins égale à 1 attendue"),
    (f"{BASE}/entretiens?par=revenu", "Paramètre « par » : profil « revenu » inconnu"),
]


@pytest.mark.parametrize("path, words", NOT_FOUND, ids=[p for p, _ in NOT_FOUND])
def test_unknown_things_are_french_404(client, path, words):
    response = client.get(path)
    assert response.status_code == 404
    assert words in response.json()["detail"]


@pytest.mark.parametrize("path, words", INVALID, ids=[p for p, _ in INVALID])
def test_unusable_parameters_are_french_422(client, path, words):
    response = client.get(path)
    assert response.status_code == 422
    assert words in response.json()["detail"]


# ---------------------------------------------------------------------------------------------- codebook positions
CODEBOOK = """\
survey: positions
respondent: id
commune: commune
variables:
  sexe: {label: Sexe, modalities: {"1": Homme, "2": Femme}}
motives:
  culture: dest_culture
external_destinations:
%s
"""


def test_external_destinations_may_carry_a_position(tmp_path):
    path = tmp_path / "dictionnaire.yaml"
    path.write_text(CODEBOOK % '  "59350": {name: Lille, lon: 3.0573, lat: 50.6365}\n  "59009": Villeneuve-d\'Ascq',
                    encoding="utf-8")
    codebook = load_codebook(path)
    assert codebook.external_destinations == {"59350": "Lille", "59009": "Villeneuve-d'Ascq"}
    assert codebook.external_positions == {"59350": (3.0573, 50.6365)}


@pytest.mark.parametrize("entry, words", [
    ('  "59350": {name: Lille, lon: est, lat: 50.6}', "lon et lat doivent être deux nombres"),
    ('  "59350": {name: Lille, lon: 3.06}', "lon et lat doivent être deux nombres"),
    ('  "59350": {name: Lille, lon: 3.06, lat: 95}', "position hors limites"),
    ('  "59350": {lon: 3.06, lat: 50.6}', "nom (name) absent"),
])
def test_a_bad_position_names_the_destination_and_its_line(tmp_path, entry, words):
    path = tmp_path / "dictionnaire.yaml"
    path.write_text(CODEBOOK % entry, encoding="utf-8")
    with pytest.raises(ImportValidationError) as caught:
        load_codebook(path)
    assert words in caught.value.problem and "« 59350 »" in caught.value.problem
    assert caught.value.line == 9 and caught.value.column == "external_destinations.59350"
