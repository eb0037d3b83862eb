"""The one visibility rule: its truth table, and the shapes of the same answer the endpoints use."""

from __future__ import annotations

import pytest

from vigie.access import accounts, identity, policy
from vigie.access.policy import ANONYMOUS, Rules
from vigie.access.schema import AccessStore
from vigie.errors import NotFoundError


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Built once for the module (each password hash costs the real argon2id price); tests only add rules
    under their own ids."""
    s = AccessStore(str(tmp_path_factory.mktemp("acces") / "acces.sqlite"))
    accounts.add_organisation(s, "AULA", "Agence d'Urbanisme de l'Artois", "agence", agency=True)
    accounts.add_organisation(s, "CALL", "CA de Lens-Liévin", "epci", "246200364")
    accounts.add_organisation(s, "CAHC", "CA d'Hénin-Carvin", "epci", "246200299")
    for login, org, role, admin in [("partenaire.a", "CALL", "partner", False), ("partenaire.b", "CAHC", "partner", False),
                                    ("editeur.a", "CALL", "editor", False), ("agent.aula", "AULA", "partner", False),
                                    ("admin", None, None, True)]:
        accounts.add_account(s, login, login, "un mot de passe assez long", admin=admin)
        if org:
            accounts.set_role(s, login, org, role)
    policy.set_visibility(s, "layer", "public-layer", "public")
    policy.set_visibility(s, "layer", "zae-call", "restreint", ["CALL"], owner="CALL")
    policy.set_visibility(s, "layer", "brouillon", "privé")
    yield s
    s.close()


def viewers(store) -> dict[str, policy.Viewer]:
    out = {"anonyme": ANONYMOUS}
    for login in ("partenaire.a", "partenaire.b", "editeur.a", "agent.aula", "admin"):
        out[login] = identity.viewer_for(store, login, via="session")
    return out


# (object, viewer) -> visible ; "nouvelle" has no rule at all: public.
TRUTH = {
    "public-layer": {"anonyme": True, "partenaire.a": True, "partenaire.b": True, "editeur.a": True, "agent.aula": True, "admin": True},
    "nouvelle":     {"anonyme": True, "partenaire.a": True, "partenaire.b": True, "editeur.a": True, "agent.aula": True, "admin": True},
    "zae-call":     {"anonyme": False, "partenaire.a": True, "partenaire.b": False, "editeur.a": True, "agent.aula": True, "admin": True},
    "brouillon":    {"anonyme": False, "partenaire.a": False, "partenaire.b": False, "editeur.a": False, "agent.aula": True, "admin": True},
}


def test_truth_table(store):
    rules = Rules.load(store)
    people = viewers(store)
    seen = {obj: {name: rules.can_see(v, "layer", obj) for name, v in people.items()} for obj in TRUTH}
    assert seen == TRUTH
    # the same object id under another kind is another object (public)
    assert rules.can_see(ANONYMOUS, "dataset", "zae-call")


def test_viewer_facts(store):
    people = viewers(store)
    assert people["agent.aula"].agency and not people["partenaire.a"].agency
    assert people["admin"].admin and people["admin"].roles == {}
    assert people["editeur.a"].roles == {"CALL": "editor"}


def test_token_without_read_scope_sees_what_the_public_sees(store):
    rules = Rules.load(store)
    full = identity.viewer_for(store, "partenaire.a", via="token", scopes=frozenset({"lecture"}))
    narrow = identity.viewer_for(store, "partenaire.a", via="token", scopes=frozenset({"export"}))
    admin_narrow = identity.viewer_for(store, "admin", via="token", scopes=frozenset({"edition"}))
    assert rules.can_see(full, "layer", "zae-call")
    assert not rules.can_see(narrow, "layer", "zae-call")
    assert not rules.can_see(admin_narrow, "layer", "brouillon")
    # exports of non-public objects need the `export` scope too; public ones, nothing
    assert not rules.can_export(full, "layer", "zae-call")
    exporter = identity.viewer_for(store, "partenaire.a", via="token", scopes=frozenset({"lecture", "export"}))
    assert rules.can_export(exporter, "layer", "zae-call") and not rules.can_export(exporter, "layer", "brouillon")
    assert rules.can_export(viewers(store)["partenaire.a"], "layer", "zae-call")  # a session has every scope
    assert rules.can_export(ANONYMOUS, "layer", "public-layer")


def test_shapes_of_the_answer(store):
    rules = Rules.load(store)
    people = viewers(store)
    assert rules.hidden(ANONYMOUS, "layer") == {"zae-call", "brouillon"}
    assert rules.hidden(people["partenaire.a"], "layer") == {"brouillon"}
    assert rules.hidden(people["admin"], "layer") == set()
    assert rules.visible(people["partenaire.b"], "layer", ["a", "zae-call", "public-layer", "brouillon"]) == ["a", "public-layer"]
    assert rules.sql_filter(people["admin"], "layer", "l.id") == ("TRUE", [])
    assert rules.sql_filter(ANONYMOUS, "layer", "l.id") == ("l.id NOT IN (?, ?)", ["brouillon", "zae-call"])
    assert rules.restricted_ids("layer") == {"zae-call", "brouillon"}
    with pytest.raises(NotFoundError, match="La couche « zae-call » n'existe pas"):
        rules.require(people["partenaire.b"], "layer", "zae-call", "La couche « zae-call » n'existe pas dans l'entrepôt.")
    rules.require(people["partenaire.a"], "layer", "zae-call", "jamais levé")


def test_sql_filter_runs_in_the_warehouse(store, wh):
    wh.execute("CREATE TABLE demo_layer (id VARCHAR)")
    for layer_id in ("public-layer", "zae-call", "brouillon", "autre"):
        wh.execute("INSERT INTO demo_layer VALUES (?)", (layer_id,))
    rules = Rules.load(store)
    for name, expected in [("anonyme", ["autre", "public-layer"]), ("partenaire.a", ["autre", "public-layer", "zae-call"]),
                           ("admin", ["autre", "brouillon", "public-layer", "zae-call"])]:
        condition, params = rules.sql_filter(viewers(store)[name], "layer", "l.id")
        rows = wh.query(f"SELECT l.id FROM demo_layer l WHERE {condition} ORDER BY l.id", params)
        assert [r[0] for r in rows] == expected


def test_can_edit(store):
    people = viewers(store)
    assert people["editeur.a"].can_edit("CALL")
    assert not people["editeur.a"].can_edit("CAHC")
    assert not people["partenaire.a"].can_edit("CALL")
    assert people["admin"].can_edit("CAHC")
    assert not ANONYMOUS.can_edit("CALL")
    reader = identity.viewer_for(store, "editeur.a", via="token", scopes=frozenset({"lecture"}))
    assert not reader.can_edit("CALL")


def test_set_visibility_checks_and_replaces(store):
    with pytest.raises(policy.InvalidVisibilityError, match="au moins une organisation"):
        policy.set_visibility(store, "layer", "x", "restreint", [])
    with pytest.raises(NotFoundError, match="« ZZZ »"):
        policy.set_visibility(store, "layer", "x", "restreint", ["ZZZ"])
    with pytest.raises(policy.InvalidVisibilityError, match="Type d'objet inconnu"):
        policy.set_visibility(store, "tableau", "x", "public")
    policy.set_visibility(store, "indicator", "essai", "restreint", ["CALL"])
    policy.set_visibility(store, "indicator", "essai", "restreint", ["CAHC"])
    rules = Rules.load(store)
    people = viewers(store)
    assert not rules.can_see(people["partenaire.a"], "indicator", "essai")
    assert rules.can_see(people["partenaire.b"], "indicator", "essai")
    assert rules.rule("indicator", "essai").organisations == {"CAHC"}
    policy.set_visibility(store, "indicator", "essai", "public")
    assert Rules.load(store).can_see(ANONYMOUS, "indicator", "essai")
    assert store.scalar("SELECT count(*) FROM visibility WHERE object_id = 'essai'") == 0
