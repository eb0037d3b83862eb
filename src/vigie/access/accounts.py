"""Organisations, user accounts and their memberships (role `partner` or `editor`; the `admin` flag).

Logins are kept lower-case and trimmed, so « Marie.Dupont@… » and « marie.dupont@… » are one account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vigie.access import passwords
from vigie.access.schema import AccessStore, now
from vigie.errors import NotFoundError, VigieError

ROLES = {"partner": "partenaire", "editor": "éditeur"}
ROLE_ALIASES = {"partner": "partner", "partenaire": "partner", "editor": "editor", "editeur": "editor", "éditeur": "editor"}
ORGANISATION_KINDS = ("agence", "epci", "commune", "departement", "region", "etat", "autre")
_ORGANISATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._@+-]{1,99}$")


class ConflictError(VigieError):
    http_status = 409


class InvalidValueError(VigieError):
    http_status = 422


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str
    kind: str
    siren: str | None
    agency: bool


@dataclass(frozen=True)
class Account:
    login: str
    name: str
    email: str | None
    provider: str
    admin: bool
    active: bool
    roles: dict[str, str] = field(default_factory=dict)  # organisation id -> role


def normal_login(login: str) -> str:
    return login.strip().lower()


def parse_role(text: str) -> str:
    role = ROLE_ALIASES.get(text.strip().lower())
    if role is None:
        raise InvalidValueError(f"Rôle inconnu « {text} » : rôles possibles : partenaire, éditeur.")
    return role


# ---------------------------------------------------------------------------------------------- organisations
def add_organisation(store: AccessStore, org_id: str, name: str, kind: str = "autre", siren: str | None = None,
                     agency: bool = False) -> Organisation:
    if not _ORGANISATION_ID.match(org_id):
        raise InvalidValueError(
            f"Identifiant d'organisation invalide « {org_id} » : lettres, chiffres, « - » ou « _ », 40 caractères au plus.")
    if kind not in ORGANISATION_KINDS:
        raise InvalidValueError(f"Type d'organisation inconnu « {kind} » : types possibles : {', '.join(ORGANISATION_KINDS)}.")
    if siren is not None and not re.fullmatch(r"\d{9}", siren):
        raise InvalidValueError(f"SIREN invalide « {siren} » : neuf chiffres attendus.")
    with store.transaction():
        if store.scalar("SELECT count(*) FROM organisation WHERE id = ?", (org_id,)):
            raise ConflictError(f"L'organisation « {org_id} » existe déjà.")
        store.execute("INSERT INTO organisation (id, name, kind, siren, agency, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                      (org_id, name, kind, siren, bool(agency), now()))
    return Organisation(org_id, name, kind, siren, bool(agency))


def organisations(store: AccessStore) -> list[Organisation]:
    rows = store.query("SELECT id, name, kind, siren, agency FROM organisation ORDER BY id")
    return [Organisation(i, n, k, s, bool(a)) for i, n, k, s, a in rows]


def organisation(store: AccessStore, org_id: str) -> Organisation:
    for org in organisations(store):
        if org.id == org_id:
            return org
    raise NotFoundError(f"Aucune organisation n'a l'identifiant « {org_id} ».")


# ---------------------------------------------------------------------------------------------- accounts
def add_account(store: AccessStore, login: str, name: str, password: str | None = None, *, email: str | None = None,
                admin: bool = False, provider: str = "local", subject: str | None = None) -> Account:
    """A new account. A local account needs a password (checked by `passwords.check_strength`, stored hashed)."""
    login = normal_login(login)
    if not _LOGIN.match(login):
        raise InvalidValueError(
            f"Identifiant invalide « {login} » : lettres minuscules, chiffres et « . _ @ + - », 2 à 100 caractères.")
    password_hash = None
    if provider == "local":
        if password is None:
            raise InvalidValueError("Un compte local a besoin d'un mot de passe.")
        passwords.check_strength(password, login)
        password_hash = passwords.hash_password(password)
    with store.transaction():
        if store.scalar("SELECT count(*) FROM account WHERE login = ?", (login,)):
            raise ConflictError(f"Le compte « {login} » existe déjà.")
        store.execute(
            "INSERT INTO account (login, name, email, password_hash, provider, subject, admin, active, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (login, name, email, password_hash, provider, subject, bool(admin), True, now()))
    return account(store, login)


def set_password(store: AccessStore, login: str, password: str) -> None:
    login = normal_login(login)
    account(store, login)
    passwords.check_strength(password, login)
    store.execute("UPDATE account SET password_hash = ? WHERE login = ?", (passwords.hash_password(password), login))


def set_admin(store: AccessStore, login: str, admin: bool) -> None:
    account(store, login)
    store.execute("UPDATE account SET admin = ? WHERE login = ?", (bool(admin), normal_login(login)))


def set_active(store: AccessStore, login: str, active: bool) -> None:
    """Deactivating an account also ends its sessions (its tokens stop working: see `tokens.authenticate`)."""
    login = normal_login(login)
    account(store, login)
    with store.transaction():
        store.execute("UPDATE account SET active = ? WHERE login = ?", (bool(active), login))
        if not active:
            store.execute("DELETE FROM web_session WHERE login = ?", (login,))


def set_role(store: AccessStore, login: str, org_id: str, role: str | None) -> None:
    """Give `login` the role `partner` or `editor` in `org_id`, or remove the membership (`role=None`)."""
    login = normal_login(login)
    account(store, login)
    organisation(store, org_id)
    with store.transaction():
        store.execute("DELETE FROM account_membership WHERE login = ? AND organisation = ?", (login, org_id))
        if role is not None:
            store.execute("INSERT INTO account_membership (login, organisation, role) VALUES (?, ?, ?)",
                          (login, org_id, parse_role(role)))


def _roles(store: AccessStore, login: str) -> dict[str, str]:
    rows = store.query("SELECT organisation, role FROM account_membership WHERE login = ? ORDER BY organisation", (login,))
    return {org: role for org, role in rows}


def find_account(store: AccessStore, login: str) -> Account | None:
    rows = store.query("SELECT login, name, email, provider, admin, active FROM account WHERE login = ?",
                       (normal_login(login),))
    if not rows:
        return None
    lg, name, email, provider, admin, active = rows[0]
    return Account(lg, name, email, provider, bool(admin), bool(active), _roles(store, lg))


def account(store: AccessStore, login: str) -> Account:
    found = find_account(store, login)
    if found is None:
        raise NotFoundError(f"Aucun compte n'a l'identifiant « {normal_login(login)} ».")
    return found


def accounts(store: AccessStore) -> list[Account]:
    return [account(store, r[0]) for r in store.query("SELECT login FROM account ORDER BY login")]


def password_hash(store: AccessStore, login: str) -> str | None:
    """The stored hash of an active local account, None otherwise."""
    return store.scalar("SELECT password_hash FROM account WHERE login = ? AND active = ? AND provider = 'local'",
                        (normal_login(login), True))


def agency_organisations(store: AccessStore) -> frozenset[str]:
    return frozenset(r[0] for r in store.query("SELECT id FROM organisation WHERE agency = ?", (True,)))
