"""Who someone is: the `IdentityProvider` seam, and the `Viewer` built from an account.

The seam. Checking a person's identity is the provider's job; everything else — organisations, roles, sessions,
tokens, the visibility rule — is Vigie's, and only ever sees an `Identity` (a login). Two ways to log in:

- a password form shown by Vigie (`provider.password_form` is True): the form posts to `/connexion`, which calls
  `provider.authenticate(login, password)`;
- a redirection to an external service (single sign-on, `password_form` False): `/connexion` redirects to
  `provider.start(return_url, state)`, the service comes back to `/connexion/retour`, which calls
  `provider.finish(query_parameters, state)`.

Either way the provider returns an `Identity` whose `login` names an ACTIVE account of the store (an
administrator creates it, `vigie users ajouter --fournisseur <nom>`, and gives it its organisations), or None.
The provider is chosen by configuration: `VIGIE_IDENTITE` empty or `local` → `LocalPasswords` (this module);
otherwise `package.module:ClassName`, a class built with `(store)` and reading its own settings (for OpenID
Connect: issuer, client id and secret, the claim giving the login) from the environment. Adding single sign-on
is therefore writing one such class and setting one variable; no other code changes.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from importlib import import_module
from typing import Mapping

from vigie.access import accounts, passwords
from vigie.access.policy import SCOPES, Viewer
from vigie.access.schema import AccessStore, now
from vigie.errors import ConfigurationError

PROVIDER_VARIABLE = "VIGIE_IDENTITE"


@dataclass(frozen=True)
class Identity:
    login: str
    provider: str


class IdentityProvider(ABC):
    """Checks who someone is. Subclasses set `name` and implement one of the two ways of logging in."""

    name: str = ""
    password_form: bool = True

    def __init__(self, store: AccessStore):
        self.store = store

    def authenticate(self, login: str, password: str) -> Identity | None:
        """The identity of `login` if `password` is right (password providers)."""
        raise NotImplementedError

    def start(self, return_url: str, state: str) -> str:
        """The external address to send the browser to (redirect providers)."""
        raise NotImplementedError

    def finish(self, parameters: Mapping[str, str], state: str) -> Identity | None:
        """The identity the external service vouches for, from its answer's query parameters (redirect providers)."""
        raise NotImplementedError

    @abstractmethod
    def describe(self) -> str:
        """A French line saying how people log in (shown on the login page)."""


class LocalPasswords(IdentityProvider):
    """Accounts of the store with an argon2id password hash."""

    name = "local"
    password_form = True

    def authenticate(self, login: str, password: str) -> Identity | None:
        login = accounts.normal_login(login)
        stored = accounts.password_hash(self.store, login)
        if not passwords.verify(stored, password):  # without a hash: a dummy check of the same cost
            return None
        if passwords.needs_rehash(stored):
            self.store.execute("UPDATE account SET password_hash = ? WHERE login = ?",
                               (passwords.hash_password(password), login))
        return Identity(login, self.name)

    def describe(self) -> str:
        return "Connectez-vous avec l'identifiant et le mot de passe que l'agence vous a communiqués."


def load_provider(store: AccessStore, setting: str | None = None) -> IdentityProvider:
    """The provider named by `setting` (default: `VIGIE_IDENTITE`; see the module docstring)."""
    setting = (os.environ.get(PROVIDER_VARIABLE, "") if setting is None else setting).strip()
    if setting in ("", "local"):
        return LocalPasswords(store)
    module_name, _, class_name = setting.partition(":")
    try:
        cls = getattr(import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(
            f"Fournisseur d'identité introuvable « {setting} » ({PROVIDER_VARIABLE}) : attendu « local » ou "
            f"« paquet.module:Classe ». ({exc})") from exc
    if not (isinstance(cls, type) and issubclass(cls, IdentityProvider)):
        raise ConfigurationError(f"« {setting} » n'est pas un fournisseur d'identité (IdentityProvider).")
    return cls(store)


def viewer_for(store: AccessStore, login: str, *, via: str, scopes: frozenset[str] = frozenset(SCOPES),
               token_id: str | None = None) -> Viewer | None:
    """The viewer of an active account (None when it is unknown or inactive)."""
    found = accounts.find_account(store, login)
    if found is None or not found.active:
        return None
    agency = bool(set(found.roles) & accounts.agency_organisations(store))
    return Viewer(login=found.login, name=found.name, roles=dict(found.roles), admin=found.admin, agency=agency,
                  via=via, scopes=frozenset(scopes), token_id=token_id)


def logged_in(store: AccessStore, identity: Identity, at: float | None = None) -> Viewer | None:
    """Record a successful login of `identity` on its account; the viewer, or None if the account is not usable
    (unknown, inactive, or belonging to another provider)."""
    found = accounts.find_account(store, identity.login)
    if found is None or not found.active or found.provider != identity.provider:
        return None
    store.execute("UPDATE account SET last_login_at = ? WHERE login = ?", (now() if at is None else at, found.login))
    return viewer_for(store, found.login, via="session")
