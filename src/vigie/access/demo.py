"""Demo accounts: the agency (AULA, administrator) and two partner EPCI (CALL, CAHC) with their users.

DEMO ONLY: the passwords below are fixed and published (README, `vigie demo` output) so that anyone trying the
demo can log in. Never use them on a real observatory: real accounts are made with `vigie users ajouter`,
which generates a password and shows it once.

Call `build_demo_access(url)` with the FINAL warehouse address (the store lives beside it), after the warehouse is
built: it reads it (read-only) to name the survey's datasets. It empties the access store first, so it can be run
again.

Visibility of the demo data (the ONE rule, `policy`; everything else stays public, e.g. the layers `gares` and
`friches`, the census, the map, the portraits):
- restricted to the CALL: the (fictitious) health figures of the QPV — indicators `qpv_nb_medecins`,
  `qpv_nb_pharmacies`, `qpv_nb_beneficiaires_css`, `qpv_population_couverte`, hence the catalogue indicators built on
  them (`qpv_medecins`, `qpv_pharmacies`, `qpv_medecins_pour_10000`, `beneficiaires_css`, `part_css`);
- restricted to the CAHC: the (fictitious) sport and culture facilities of the QPV — indicators
  `qpv_nb_equipements_sportifs`, `qpv_nb_equipements_culturels` (catalogue: `qpv_equipements_sportifs`,
  `qpv_equipements_culturels`, `qpv_equipements_sportifs_pour_10000`);
- private to the agency: the survey microdata and interviews (the datasets of the sources of kind `enquete` and
  `enquete-entretiens`): `/api/enquete/…` answers 404 to anyone else, and `/enquete` asks to log in.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigie.access import accounts, audit, policy
from vigie.access.schema import TABLES, open_store

ORGANISATIONS = [
    # id, name, kind, SIREN, agency
    ("AULA", "Agence d'Urbanisme de l'Artois", "agence", None, True),
    ("CALL", "Communauté d'agglomération de Lens-Liévin", "epci", "246200364", False),
    ("CAHC", "Communauté d'agglomération d'Hénin-Carvin", "epci", "246200299", False),
]


# (kind, id, level, organisations): the demo's non-public objects (see the module docstring).
RESTRICTED = [
    *[("indicator", i, "restreint", ["CALL"]) for i in
      ("qpv_nb_medecins", "qpv_nb_pharmacies", "qpv_nb_beneficiaires_css", "qpv_population_couverte")],
    *[("indicator", i, "restreint", ["CAHC"]) for i in ("qpv_nb_equipements_sportifs", "qpv_nb_equipements_culturels")],
]
PRIVATE_SOURCE_KINDS = ("enquete", "enquete-entretiens")  # every dataset of these kinds: private to the agency
SURVEY_DATASETS = ("enquete:usages_pma_demo", "enquete-entretiens:usages_pma_demo")  # when the warehouse is unreadable


def private_datasets(url: str) -> list[str]:
    """The datasets of the demo warehouse at `url` that are private to the agency (the survey's)."""
    import duckdb

    from vigie.errors import VigieError
    from vigie.warehouse import connect

    try:
        wh = connect(url, create=False, read_only=True)
    except (VigieError, duckdb.Error, OSError):  # not built, or opened elsewhere for writing: the demo's names
        return list(SURVEY_DATASETS)
    try:
        marks = ", ".join("?" * len(PRIVATE_SOURCE_KINDS))
        rows = wh.query(f"SELECT DISTINCT dataset FROM source WHERE kind IN ({marks}) ORDER BY dataset",
                        list(PRIVATE_SOURCE_KINDS))
    finally:
        wh.close()
    return [r[0] for r in rows]


@dataclass(frozen=True)
class DemoAccount:
    login: str
    password: str
    name: str
    organisation: str
    role: str
    admin: bool = False


ACCOUNTS = [
    DemoAccount("admin.aula", "demo-admin-aula", "Administratrice de l'agence (démo)", "AULA", "editor", admin=True),
    DemoAccount("agent.call", "demo-partenaire-call", "Agent de la CALL (démo)", "CALL", "partner"),
    DemoAccount("editeur.call", "demo-editeur-call", "Éditeur de la CALL (démo)", "CALL", "editor"),
    DemoAccount("agent.cahc", "demo-partenaire-cahc", "Agent de la CAHC (démo)", "CAHC", "partner"),
]


def build_demo_access(url: str) -> list[DemoAccount]:
    """Fill the access store of the warehouse at `url` with the demo organisations and accounts (see above)."""
    store = open_store(url)
    try:
        with store.transaction():
            for table in TABLES:
                if table != "access_meta":
                    store.execute(f"DELETE FROM {table}")
            for org_id, name, kind, siren, agency in ORGANISATIONS:
                accounts.add_organisation(store, org_id, name, kind, siren, agency)
            for acc in ACCOUNTS:
                accounts.add_account(store, acc.login, acc.name, acc.password, admin=acc.admin)
                accounts.set_role(store, acc.login, acc.organisation, acc.role)
            for kind, object_id, level, orgs in RESTRICTED:
                policy.set_visibility(store, kind, object_id, level, orgs, owner=orgs[0], by="démonstration")
            for dataset in private_datasets(url):
                policy.set_visibility(store, "dataset", dataset, "privé", owner="AULA", by="démonstration")
            audit.record(store, "compte_ajoute", detail={"par": "démonstration", "comptes": len(ACCOUNTS)})
    finally:
        store.close()
    return list(ACCOUNTS)
