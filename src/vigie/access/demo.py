"""Demo accounts: the agency (AULA, administrator) and two partner EPCI (CALL, CAHC) with their users.

DEMO ONLY: the passwords below are fixed and published (README, `vigie demo` output) so that anyone trying the
demo can log in. Never use them on a real observatory: real accounts are made with `vigie users ajouter`,
which generates a password and shows it once.

Call `build_demo_access(url)` with the FINAL warehouse address (the store lives beside it), at any time of the
demo build: it does not read the warehouse. It empties the access store first, so it can be run again.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigie.access import accounts, audit
from vigie.access.schema import TABLES, open_store

ORGANISATIONS = [
    # id, name, kind, SIREN, agency
    ("AULA", "Agence d'Urbanisme de l'Artois", "agence", None, True),
    ("CALL", "Communauté d'agglomération de Lens-Liévin", "epci", "246200364", False),
    ("CAHC", "Communauté d'agglomération d'Hénin-Carvin", "epci", "246200299", False),
]


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
            audit.record(store, "compte_ajoute", detail={"par": "démonstration", "comptes": len(ACCOUNTS)})
    finally:
        store.close()
    return list(ACCOUNTS)
