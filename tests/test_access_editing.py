"""Editing plot and zone statuses through the web app: only the editors of the owning organisation (or a token with
the scope `edition`), CSRF required for sessions, every change kept with its previous value in the access store,
the atlas reading "last of warehouse history ∪ edits", and the audit log."""

from __future__ import annotations

import io
import shutil
import time
from datetime import date, timedelta

import openpyxl
import pytest
from pypdf import PdfReader
from fastapi.testclient import TestClient

from vigie import formatting as fmt
from vigie.access import accounts, audit, editing, tokens
from vigie.access.schema import AccessStore, store_location
from vigie.modules.foncier.importing import current_with_edits, set_status
from vigie.publish.api import create_app
from vigie.warehouse import connect

from tests.access_support import copy_with_store, csrf_in, log_in

CALL, CAHC = "246200364", "246200299"


@pytest.fixture(scope="module")
def warehouse(demo_warehouse, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.delenv("VIGIE_ACCES", raising=False)
    path = copy_with_store(demo_warehouse, tmp_path_factory.mktemp("edition") / "vigie.duckdb")
    store = AccessStore(store_location(path))
    accounts.add_account(store, "editeur.cahc", "Éditeur de la CAHC", "mot de passe cahc")
    accounts.set_role(store, "editeur.cahc", "CAHC", "editor")
    store.close()
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def client(warehouse):
    with TestClient(create_app(warehouse)) as c:
        yield c


@pytest.fixture(scope="module")
def call_zone(client):
    """A CALL zone with a vacant plot and an occupied one (the demo's synthetic atlas)."""
    for feature in client.get("/api/atlas/zones", params={"epci": CALL}).json()["features"]:
        site = feature["properties"]["site_id"]
        plots = client.get(f"/api/atlas/zones/{site}").json()["plots"]
        if any(p["vacant"] for p in plots) and any(not p["vacant"] for p in plots):
            return site
    pytest.fail("aucune zone de la CALL avec un terrain vacant et un terrain occupé dans la démo")


def store_of(client) -> AccessStore:
    return client.app.state.context.access_control.store


def test_editor_changes_a_plot_and_the_zone_figures_follow(client, call_zone):
    csrf = log_in(client, "editeur.call", "demo-editeur-call")
    before = client.get(f"/api/atlas/zones/{call_zone}").json()
    plots = before["plots"]
    vacant = next(p for p in plots if p["vacant"])
    n, n_vacant = len(plots), sum(p["vacant"] for p in plots)
    assert before["zone"]["plots_vacant"] == n_vacant
    before_totals = {t["code"]: t for t in client.get("/api/atlas/territoires", params={"niveau": "epci"}).json()["territories"]}

    answer = client.post(f"/api/atlas/terrains/{vacant['plot_id']}/statut",
                         json={"champ": "terr_etat_occup", "valeur": "occupé", "note": "vendu en mai"},
                         headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 201, answer.text
    edit = answer.json()
    assert (edit["precedent"], edit["valeur"], edit["auteur"], edit["organisation"]) == ("vacant", "occupé", "editeur.call", "CALL")

    after = client.get(f"/api/atlas/zones/{call_zone}").json()
    assert after["zone"]["plots_vacant"] == n_vacant - 1
    assert after["zone"]["vacancy_rate"] == pytest.approx(100.0 * (n_vacant - 1) / n)
    changed = next(p for p in after["plots"] if p["plot_id"] == vacant["plot_id"])
    assert changed["occupancy"] == "occupé" and changed["vacant"] is False
    listed = next(f["properties"] for f in client.get("/api/atlas/zones", params={"epci": CALL}).json()["features"]
                  if f["properties"]["site_id"] == call_zone)
    assert listed["plots_vacant"] == n_vacant - 1  # the zones layer and the totals count the edit too
    totals = {t["code"]: t for t in client.get("/api/atlas/territoires", params={"niveau": "epci"}).json()["territories"]}
    assert totals[CALL]["plots_vacant"] == before_totals[CALL]["plots_vacant"] - 1
    layer = client.get("/api/atlas/terrains", params={"zone": call_zone}).json()["features"]
    assert next(f for f in layer if f["properties"]["plot_id"] == vacant["plot_id"])["properties"]["occupancy"] == "occupé"
    fiche = PdfReader(io.BytesIO(client.get(f"/api/atlas/zones/{call_zone}/fiche.pdf").content))  # the zone fiche too
    first_page = " ".join(fiche.pages[0].extract_text().split()).replace("\u202f", " ").replace("\xa0", " ")
    expected = fmt.percent(100.0 * (n_vacant - 1) / n, 1).replace("\u202f", " ").replace("\xa0", " ")
    assert f"Taux de vacance {expected}" in first_page
    exported = client.get("/api/atlas/export/terrains.xlsx", params={"epci": CALL})  # downloads count the edit too
    assert exported.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(exported.content)).worksheets[0]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[header.index("terr_id")] == vacant["plot_id"])
    assert row[header.index("etat_occupation")] == "occupé"

    history = client.get(f"/api/atlas/zones/{call_zone}/historique").json()["changes"]
    newest = history[0]
    assert (newest["object_id"], newest["field"], newest["previous"], newest["value"], newest["author"], newest["origine"]) == \
        (vacant["plot_id"], "terr_etat_occup", "vacant", "occupé", "editeur.call", "web")
    assert any(h["origine"] == "import" for h in history)  # the warehouse history is still there

    # The same value again: nothing is recorded.
    again = client.post(f"/api/atlas/terrains/{vacant['plot_id']}/statut",
                        json={"champ": "terr_etat_occup", "valeur": "occupé"}, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 200 and again.json()["modifie"] is False
    rows = store_of(client).query("SELECT value, previous, author FROM edit WHERE object_id = ?", (vacant["plot_id"],))
    assert rows == [("occupé", "vacant", "editeur.call")]
    logged = audit.entries(store_of(client), login="editeur.call", event="edition")
    assert logged[0].object_id == vacant["plot_id"] and logged[0].detail["apres"] == "occupé"


def test_the_cli_zone_fiche_counts_the_web_edits_and_lists_them_in_its_history(client, call_zone, warehouse, tmp_path):
    from typer.testing import CliRunner

    from vigie.cli import app

    plots = client.get(f"/api/atlas/zones/{call_zone}").json()["plots"]
    plot = plots[-1]["plot_id"]  # not the one `test_refusals` checks is never edited
    assert plot != plots[0]["plot_id"]
    csrf = log_in(client, "editeur.call", "demo-editeur-call")
    answer = client.post(f"/api/atlas/terrains/{plot}/statut", json={"champ": "terr_stade_comm", "valeur": "sous option"},
                         headers={"X-CSRF-Token": csrf})
    assert answer.status_code in (200, 201), answer.text
    done = CliRunner().invoke(app, ["--base", str(warehouse), "foncier", "fiche", call_zone, "-o", str(tmp_path)])
    assert done.exit_code == 0, done.output
    [pdf] = tmp_path.glob("*.pdf")
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(pdf).pages)
    assert "editeur.call" in text and "sous option" in text  # the edit, in the fiche's history extract


def test_refusals(client, call_zone):
    plot = client.get(f"/api/atlas/zones/{call_zone}").json()["plots"][0]["plot_id"]
    url = f"/api/atlas/terrains/{plot}/statut"
    body = {"champ": "terr_stade_comm", "valeur": "sous option"}
    client.cookies.clear()
    assert client.post(url, json=body).status_code == 401  # anonymous

    csrf = log_in(client, "editeur.call", "demo-editeur-call")
    assert client.post(url, json=body).status_code == 403  # no CSRF token
    assert client.post(url, json=body, headers={"X-CSRF-Token": "faux"}).status_code == 403
    bad = client.post(url, json={"champ": "terr_stade_comm", "valeur": "loué"}, headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 422 and "valeurs possibles" in bad.json()["detail"]
    assert client.post(url, json={"champ": "site_etat", "valeur": "en projet"}, headers={"X-CSRF-Token": csrf}).status_code == 422
    assert client.post("/api/atlas/terrains/INCONNU/statut", json=body, headers={"X-CSRF-Token": csrf}).status_code == 404

    for login, password in (("agent.call", "demo-partenaire-call"), ("editeur.cahc", "mot de passe cahc")):
        csrf = log_in(client, login, password)  # a partner of the owner, an editor of another EPCI
        refused = client.post(url, json=body, headers={"X-CSRF-Token": csrf})
        assert refused.status_code == 403 and "éditeurs de l'organisation" in refused.json()["detail"]
    assert not store_of(client).query("SELECT 1 FROM edit WHERE object_id = ? AND field = 'terr_stade_comm'", (plot,))
    assert audit.entries(store_of(client), login="editeur.cahc", event="edition")[0].outcome == "refus"


def test_tokens_need_the_edition_scope(client, call_zone):
    store = store_of(client)
    reader, _ = tokens.create(store, "editeur.call", "lecture seule", ["lecture"])
    writer, _ = tokens.create(store, "editeur.call", "script d'édition", ["lecture", "edition"])
    client.cookies.clear()
    url = f"/api/atlas/zones/{call_zone}/statut"
    body = {"champ": "site_etat", "valeur": "en reconversion"}
    assert client.post(url, json=body, headers={"Authorization": f"Bearer {reader}"}).status_code == 403
    done = client.post(url, json=body, headers={"Authorization": f"Bearer {writer}"})  # no CSRF for a token
    assert done.status_code == 201 and done.json()["objet"] == "site"
    assert client.get(f"/api/atlas/zones/{call_zone}").json()["zone"]["state"] == "en reconversion"


def test_zone_page_form(client, call_zone):
    client.cookies.clear()
    assert "data-edit-plot" not in client.get(f"/atlas/zone/{call_zone}").text  # anonymous: no form
    log_in(client, "agent.call", "demo-partenaire-call")
    assert "data-edit-plot" not in client.get(f"/atlas/zone/{call_zone}").text  # partner: no form
    log_in(client, "editeur.call", "demo-editeur-call")
    page = client.get(f"/atlas/zone/{call_zone}")
    assert "data-edit-plot" in page.text and page.headers["cache-control"] == "private, no-store"
    plot = client.get(f"/api/atlas/zones/{call_zone}").json()["plots"][-1]["plot_id"]
    form = {"objet": "terrain", "id": plot, "terr_stade_comm": "non commercialisable"}
    assert client.post(f"/atlas/zone/{call_zone}/statut", data=form, follow_redirects=False).status_code == 403
    sent = client.post(f"/atlas/zone/{call_zone}/statut", data={**form, "csrf": csrf_in(page.text)}, follow_redirects=False)
    assert sent.status_code == 303
    page = client.get(sent.headers["location"])
    history = page.text[page.text.index("data-history"):]
    assert plot in history and "non commercialisable" in history and "editeur.call" in history and "observatoire" in history
    other = next(f["properties"]["site_id"] for f in client.get("/api/atlas/zones", params={"epci": CAHC}).json()["features"])
    # A plot of this zone posted to another zone's address: not found there.
    wrong = client.post(f"/atlas/zone/{other}/statut", data={**form, "csrf": csrf_in(page.text)}, follow_redirects=False)
    assert wrong.status_code == 404


def test_last_of_warehouse_history_and_edits(warehouse, tmp_path):
    """An import dated after an edit wins; an edit made after the last import wins; both histories stay whole."""
    path = tmp_path / "vigie.duckdb"
    shutil.copyfile(warehouse, path)
    wh = connect(str(path))
    plot = wh.query("SELECT plot_id FROM foncier_plot ORDER BY plot_id LIMIT 1")[0][0]
    today = date.today()
    edit = {"object_id": plot, "field": "terr_stade_comm", "value": "sous option", "at": time.time()}
    assert current_with_edits(wh, "plot", [edit], [plot])[(plot, "terr_stade_comm")] == "sous option"
    set_status(wh, "plot", plot, "terr_stade_comm", "vendu en bloc", "import CNIG", changed_on=today + timedelta(days=1))
    assert current_with_edits(wh, "plot", [edit], [plot])[(plot, "terr_stade_comm")] == "vendu en bloc"
    later = {**edit, "value": "non commercialisable", "at": edit["at"] + 3 * 86400}
    assert current_with_edits(wh, "plot", [edit, later], [plot])[(plot, "terr_stade_comm")] == "non commercialisable"
    wh.close()
    assert editing.FIELDS["plot"]["terr_stade_comm"][0] == "Commercialisation"
