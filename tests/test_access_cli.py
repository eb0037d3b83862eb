"""`vigie users …`: organisations, accounts, roles, tokens and visibility from the terminal; the demo accounts."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from vigie.access import accounts, audit, identity, tokens
from vigie.access.demo import ACCOUNTS, build_demo_access
from vigie.access.policy import ANONYMOUS, Rules
from vigie.access.schema import AccessStore, store_location
from vigie.cli import app

runner = CliRunner()


@pytest.fixture
def base(tmp_path, monkeypatch):
    monkeypatch.delenv("VIGIE_ACCES", raising=False)
    return str(tmp_path / "vigie.duckdb")


def users(base: str, *args: str, stdin: str | None = None):
    return runner.invoke(app, ["--base", base, "users", *args], input=stdin)


def test_cli_creates_organisation_user_role_token_and_visibility(base):
    done = users(base, "organisation-ajouter", "CALL", "Communauté d'agglomération de Lens-Liévin", "--type", "epci",
                 "--siren", "246200364")
    assert done.exit_code == 0, done.output
    assert "Organisation ajoutée : CALL" in done.output
    done = users(base, "ajouter", "Marie.Dupont@exemple.fr", "--nom", "Marie Dupont", "-o", "CALL", "--role", "éditeur")
    assert done.exit_code == 0, done.output
    password = re.search(r"une seule fois, à transmettre à son titulaire\) :\s*(\S+)", done.output).group(1)
    assert len(password) == 20

    store = AccessStore(store_location(base))
    try:
        found = accounts.account(store, "marie.dupont@exemple.fr")
        assert found.name == "Marie Dupont" and found.roles == {"CALL": "editor"} and not found.admin
        assert identity.LocalPasswords(store).authenticate("marie.dupont@exemple.fr", password) is not None
        assert store.scalar("SELECT count(*) FROM account WHERE password_hash LIKE ?", (f"%{password}%",)) == 0
    finally:
        store.close()

    assert users(base, "role", "marie.dupont@exemple.fr", "CALL", "partenaire").exit_code == 0
    listed = users(base, "lister")
    assert "CALL : partenaire" in listed.output and "246200364" in listed.output

    made = users(base, "jeton", "creer", "marie.dupont@exemple.fr", "--nom", "QGIS", "--portees", "lecture,export",
                 "--jours", "30")
    assert made.exit_code == 0, made.output
    token = re.search(r"(vigie_[0-9a-f]{12}_\S+)", made.output).group(1)
    store = AccessStore(store_location(base))
    try:
        assert tokens.authenticate(store, token).scopes == {"lecture", "export"}
        token_id = token.split("_")[1]
        assert users(base, "jeton", "revoquer", token_id).exit_code == 0
        assert tokens.authenticate(store, token) is None

        shared = users(base, "visibilite", "layer", "zae-call", "restreint", "-o", "CALL", "--proprietaire", "CALL")
        assert shared.exit_code == 0 and "restreint (CALL)" in shared.output
        assert not Rules.load(store).can_see(ANONYMOUS, "layer", "zae-call")
        events = {e.event for e in audit.entries(store)}
        assert {"organisation_ajoutee", "compte_ajoute", "compte_modifie", "jeton_cree", "jeton_revoque", "visibilite"} <= events
    finally:
        store.close()


def test_cli_errors_are_french_and_exit_non_zero(base):
    assert users(base, "organisation-ajouter", "CALL", "CALL", "--type", "epci").exit_code == 0
    wrong = users(base, "organisation-ajouter", "CALL", "Encore", "--type", "epci")
    assert wrong.exit_code == 1 and "existe déjà" in wrong.output
    missing = users(base, "ajouter", "x.y", "--nom", "X", "-o", "CAHC")
    assert missing.exit_code == 1 and "Aucune organisation n'a l'identifiant « CAHC »" in missing.output
    weak = users(base, "ajouter", "x.y", "--nom", "X", "--mot-de-passe-entree", stdin="court\n")
    assert weak.exit_code == 1 and "au moins 12 caractères" in weak.output


def test_demo_accounts(tmp_path, monkeypatch):
    monkeypatch.delenv("VIGIE_ACCES", raising=False)
    url = str(tmp_path / "demo.duckdb")
    made = build_demo_access(url)
    assert [a.login for a in made] == ["admin.aula", "agent.call", "editeur.call", "agent.cahc"]
    store = AccessStore(store_location(url))
    try:
        assert [(o.id, o.agency, o.siren) for o in accounts.organisations(store)] == [
            ("AULA", True, None), ("CAHC", False, "246200299"), ("CALL", False, "246200364")]
        admin = identity.viewer_for(store, "admin.aula", via="session")
        assert admin.admin and admin.agency and admin.roles == {"AULA": "editor"}
        assert identity.viewer_for(store, "editeur.call", via="session").can_edit("CALL")
        assert identity.viewer_for(store, "agent.cahc", via="session").roles == {"CAHC": "partner"}
        demo = next(a for a in ACCOUNTS if a.login == "agent.call")
        assert identity.LocalPasswords(store).authenticate(demo.login, demo.password) is not None
    finally:
        store.close()


def test_cli_deactivate_and_reset_password(base):
    from vigie.access.sessions import Sessions

    made = users(base, "ajouter", "agent.cahc", "--nom", "Agent", "--mot-de-passe-entree", stdin="premier mot de passe\n")
    assert made.exit_code == 0 and "Mot de passe (affiché" not in made.output  # read, not generated: not echoed
    store = AccessStore(store_location(base))
    try:
        cookie, _ = Sessions(store).create("agent.cahc")
        assert users(base, "desactiver", "agent.cahc").exit_code == 0
        assert Sessions(store).lookup(cookie) is None
        assert identity.LocalPasswords(store).authenticate("agent.cahc", "premier mot de passe") is None  # inactive
        assert users(base, "desactiver", "agent.cahc", "--reactiver").exit_code == 0
        reset = users(base, "mot-de-passe", "agent.cahc")
        new_password = re.search(r"affiché une seule fois\) :\s*(\S+)", reset.output).group(1)
        provider = identity.LocalPasswords(store)
        assert provider.authenticate("agent.cahc", "premier mot de passe") is None
        assert provider.authenticate("agent.cahc", new_password) is not None
    finally:
        store.close()
