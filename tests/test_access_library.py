"""The study library: PDF uploads checked (magic bytes, end marker, size), stored beside the access store, searched
by theme, territory and title words, and the ONE visibility rule on listing, metadata and download (404 when hidden)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from vigie.access import accounts, audit, editing, library, tokens
from vigie.access.policy import Rules, Viewer
from vigie.access.schema import AccessStore, store_location
from vigie.publish.api import create_app
from vigie.warehouse import connect

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
USERS = {  # login: (password, organisation, role, admin)
    "admin.aula": ("mot de passe admin", "AULA", "editor", True),
    "editeur.call": ("mot de passe editeur call", "CALL", "editor", False),
    "agent.call": ("mot de passe agent call", "CALL", "partner", False),
    "agent.cahc": ("mot de passe agent cahc", "CAHC", "partner", False),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.delenv("VIGIE_ACCES", raising=False)
    mp.delenv(library.FOLDER_VARIABLE, raising=False)
    path = tmp_path_factory.mktemp("etudes") / "vigie.duckdb"
    connect(str(path)).close()
    store = AccessStore(store_location(str(path)))
    accounts.add_organisation(store, "AULA", "Agence d'urbanisme de l'Artois", "agence", None, True)
    accounts.add_organisation(store, "CALL", "CA de Lens-Liévin", "epci", "246200364")
    accounts.add_organisation(store, "CAHC", "CA d'Hénin-Carvin", "epci", "246200299")
    for login, (password, org, role, admin) in USERS.items():
        accounts.add_account(store, login, login, password, admin=admin)
        accounts.set_role(store, login, org, role)
    store.close()
    yield create_app(str(path))
    mp.undo()


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        yield c


def store_of(client) -> AccessStore:
    return client.app.state.context.access_control.store


def log_in(client: TestClient, login: str) -> str:
    client.cookies.clear()
    if login is None:
        return ""
    page = client.get("/connexion")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = client.post("/connexion", data={"identifiant": login, "mot_de_passe": USERS[login][0], "csrf": csrf},
                         follow_redirects=False)
    assert answer.status_code == 303
    return client.get("/api/compte").json()["csrf"]


def upload(client, csrf, content=PDF, **params):
    query = {"titre": "Note de conjoncture", "theme": "economie", "date": "2026-10-01", "territoires": "epci:246200364",
             **params}
    return client.post("/api/etudes", params=query, content=content,
                       headers={"Content-Type": "application/pdf", "X-CSRF-Token": csrf})


@pytest.fixture(scope="module")
def studies(client):
    """Three studies by the CALL editor: public, restricted to the CALL, private to the agency."""
    csrf = log_in(client, "editeur.call")
    ids = {}
    for key, title, level, places in (("public", "Les zones d'activité de l'Artois", "public", "epci:246200364,commune:62498"),
                                      ("restreint", "Friches : diagnostic confidentiel", "restreint", "epci:246200364"),
                                      ("prive", "Note interne d'étape", "prive", "epci:246200299")):
        answer = upload(client, csrf, titre=title, visibilite=level, territoires=places,
                        theme="foncier" if key != "prive" else "habitat")
        assert answer.status_code == 201, answer.text
        ids[key] = answer.json()["id"]
    client.cookies.clear()
    return ids


def test_visibility_of_listing_metadata_and_download(client, studies):
    seen_by = {}
    for login in (None, "agent.call", "agent.cahc", "admin.aula"):
        log_in(client, login)
        seen_by[login] = {s["id"] for s in client.get("/api/etudes").json()["etudes"]}
        for key, study_id in studies.items():
            visible = study_id in seen_by[login]
            meta = client.get(f"/api/etudes/{study_id}")
            file = client.get(f"/api/etudes/{study_id}/fichier")
            assert meta.status_code == file.status_code == (200 if visible else 404), (login, key)
            if visible:
                assert file.content == PDF and file.headers["content-type"] == "application/pdf"
                # Only a public study asked anonymously may be kept by a shared cache.
                shared = key == "public" and login is None
                assert file.headers["cache-control"] == ("public, max-age=3600" if shared else "private, no-store")
            else:  # hidden answers like unknown: no id guessing
                assert meta.json()["detail"] == client.get("/api/etudes/0000000000000000").json()["detail"]
    assert seen_by[None] == seen_by["agent.cahc"] == {studies["public"]}
    assert seen_by["agent.call"] == {studies["public"], studies["restreint"]}
    assert seen_by["admin.aula"] == set(studies.values())
    log_in(client, None)
    assert client.get(f"/etudes/{studies['restreint']}.pdf").status_code == 404


def test_search_and_portrait_block(client, studies):
    log_in(client, "agent.call")
    by_territory = client.get("/api/etudes", params={"territoire": "epci:246200364"}).json()
    # Same publication date: the latest upload first.
    assert [s["id"] for s in by_territory["etudes"]] == [studies["restreint"], studies["public"]]
    assert [s["id"] for s in client.get("/api/etudes", params={"territoire": "commune:62498"}).json()["etudes"]] == [studies["public"]]
    # Title words, accents ignored.
    assert [s["id"] for s in client.get("/api/etudes", params={"q": "zones activite"}).json()["etudes"]] == [studies["public"]]
    assert client.get("/api/etudes", params={"theme": "habitat"}).json()["count"] == 0  # the private one is hidden
    page = client.get("/etudes", params={"q": "friches"})
    assert page.status_code == 200 and "Friches : diagnostic confidentiel" in page.text
    assert "Les zones d'activité" not in page.text


def test_upload_checks(client, monkeypatch):
    csrf = log_in(client, "editeur.call")
    not_pdf = upload(client, csrf, content=b"PK\x03\x04 un classeur")
    assert not_pdf.status_code == 422 and "n'est pas un PDF" in not_pdf.json()["detail"]
    cut = upload(client, csrf, content=PDF[:-7])
    assert cut.status_code == 422 and "incomplet" in cut.json()["detail"]
    assert "Thème" in upload(client, csrf, theme="cuisine").json()["detail"]
    assert "Date" in upload(client, csrf, date="01/10/2026").json()["detail"]
    assert "niveau:code" in upload(client, csrf, territoires="Lens").json()["detail"]
    monkeypatch.setattr(library, "MAX_BYTES", 60)
    big = upload(client, csrf, content=PDF)
    assert big.status_code == 413 and "trop volumineux" in big.json()["detail"]
    monkeypatch.undo()
    assert upload(client, "").status_code == 403  # CSRF
    csrf = log_in(client, "agent.call")
    refused = upload(client, csrf)
    assert refused.status_code == 403 and "éditeurs" in refused.json()["detail"]
    client.cookies.clear()
    assert upload(client, "").status_code == 401
    store = store_of(client)
    reader, _ = tokens.create(store, "editeur.call", "lecture", ["lecture"])
    writer, _ = tokens.create(store, "editeur.call", "dépôt", ["lecture", "edition"])
    assert client.post("/api/etudes", params={"titre": "Par jeton", "theme": "mobilite", "date": "2026-09-01"}, content=PDF,
                       headers={"Authorization": f"Bearer {reader}"}).status_code == 403
    done = client.post("/api/etudes", params={"titre": "Par jeton", "theme": "mobilite", "date": "2026-09-01"}, content=PDF,
                       headers={"Authorization": f"Bearer {writer}"})
    assert done.status_code == 201 and done.json()["organisation"] == "CALL"
    stored = library.folder(store) / f"{done.json()['id']}.pdf"
    assert stored.read_bytes() == PDF and stored.parent.name == "vigie-acces-etudes"
    assert audit.entries(store, event="etude_deposee")[0].object_id == done.json()["id"]


def test_upload_form_multipart(client):
    log_in(client, "editeur.call")
    page = client.get("/etudes")
    assert "data-upload" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    fields = {"titre": "Atlas des mobilités", "theme": "mobilite", "territoires": "epci:246200364", "date": "2026-06-30",
              "visibilite": "restreint", "organisations": ""}
    files = {"fichier": ("atlas mobilités.pdf", PDF, "application/pdf")}
    assert client.post("/etudes", data=fields, files=files, follow_redirects=False).status_code == 403
    sent = client.post("/etudes", data={**fields, "csrf": csrf}, files=files, follow_redirects=False)
    assert sent.status_code == 303
    study_id = sent.headers["location"].rsplit("=", 1)[1]
    meta = client.get(f"/api/etudes/{study_id}").json()
    assert meta["visibilite"] == "restreint" and meta["fichier"] == "atlas_mobilites.pdf"
    wrong = client.post("/etudes", data={**fields, "csrf": csrf}, files={"fichier": ("x.pdf", b"hello", "application/pdf")})
    assert wrong.status_code == 422 and "pas un PDF" in wrong.text and 'role="alert"' in wrong.text
    log_in(client, "agent.cahc")
    assert client.get(f"/api/etudes/{study_id}").status_code == 404
    log_in(client, "agent.call")
    assert "data-upload" not in client.get("/etudes").text


def test_library_functions_directly(tmp_path):
    store = AccessStore(str(tmp_path / "acces.sqlite"))
    accounts.add_organisation(store, "CALL", "CALL", "epci", "246200364")
    editor = Viewer(login="e", roles={"CALL": "editor"}, via="session")
    study = library.add(store, editor, PDF, title="  Étude   test ", theme="territoire", territories=["epci:246200364"],
                        published_on="2026-01-02")
    assert (study.title, study.owner, study.size, study.visibility) == ("Étude test", "CALL", len(PDF), "public")
    with pytest.raises(library.UploadForbidden):
        library.add(store, Viewer(login="p", roles={"CALL": "partner"}, via="session"), PDF, title="abc",
                    theme="territoire", territories="", published_on="2026-01-02")
    library.remove(store, editor, study.id)
    assert not (library.folder(store) / f"{study.id}.pdf").exists()
    store.close()


@pytest.mark.postgres
def test_library_and_edit_tables_on_postgresql(pg_url, tmp_path, monkeypatch):
    """The same study and edit rows in the `vigie_access` schema of a PostgreSQL warehouse (files in VIGIE_ETUDES)."""
    monkeypatch.delenv("VIGIE_ACCES", raising=False)
    monkeypatch.setenv(library.FOLDER_VARIABLE, str(tmp_path / "etudes"))
    store = AccessStore(store_location(pg_url))
    try:
        accounts.add_organisation(store, "CAHC", "CA d'Hénin-Carvin", "epci", "246200299")
        editor = Viewer(login="e.cahc", roles={"CAHC": "editor"}, via="session")
        study = library.add(store, editor, PDF, title="Étude sur PostgreSQL", theme="habitat",
                            territories="epci:246200299", published_on="2026-03-04", visibility="restreint")
        seen = library.search(store, Viewer(login="p", roles={"CAHC": "partner"}, via="session"),
                              Rules.load(store))
        assert [s.id for s in seen] == [study.id] and seen[0].visibility == "restricted"
        assert (tmp_path / "etudes" / f"{study.id}.pdf").read_bytes() == PDF
        store.execute("INSERT INTO edit (seq, object_kind, object_id, field, value, previous, author, organisation, at, note) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (1, "plot", "P1", "terr_etat_occup", "vacant", "occupé",
                                                                "e.cahc", "CAHC", 1_800_000_000.0, None))
        assert [e.previous for e in editing.edits(store, "plot", ["P1"])] == ["occupé"]
    finally:
        store.close()
