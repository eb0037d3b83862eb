"""`vigie users …`: the administrator's commands for organisations, accounts, roles, tokens and visibility.

They write the access store of the warehouse the main command points to (`--base` or VIGIE_DATABASE; the store
is beside it, or at VIGIE_ACCES: see `schema`). They may run while the web server runs.
Passwords are never typed on the command line (other users of the machine could read it): a new account gets a
generated password, printed once, or reads it from the standard input with `--mot-de-passe-entree`.
"""

from __future__ import annotations

import secrets
import sys
import time
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from vigie.access import accounts, audit, policy, tokens
from vigie.access.schema import AccessStore, open_store
from vigie.errors import VigieError

app = typer.Typer(help="Espace partenaires : organisations, comptes, rôles, jetons d'accès, visibilité des données.",
                  no_args_is_help=True, add_completion=False)
jeton_app = typer.Typer(help="Jetons d'accès personnels : créer, lister, révoquer.", no_args_is_help=True,
                        add_completion=False)
app.add_typer(jeton_app, name="jeton")
console = Console()
err = Console(stderr=True, soft_wrap=True)
BY_CLI = {"par": "ligne de commande"}


def _url() -> str:
    try:
        from vigie.cli import state

        if state.database:
            return state.database
    except ImportError:  # pragma: no cover - the main CLI is always there
        pass
    from vigie.settings import database_url

    return database_url()


def _store() -> AccessStore:
    return open_store(_url())


def _fail(exc: VigieError) -> None:
    err.print(f"[bold red]Erreur :[/bold red] {exc.message}", highlight=False)
    raise typer.Exit(1)


def generate_password() -> str:
    """A random password of 20 characters (about 119 bits), without look-alike characters."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(20))


def _date(at: float | None) -> str:
    return "—" if at is None else time.strftime("%d/%m/%Y %H:%M", time.gmtime(at))


# ---------------------------------------------------------------------------------------------- organisations
@app.command("organisation-ajouter")
def organisation_add(
    identifiant: str = typer.Argument(..., help="Identifiant court : AULA, CALL, CAHC, 62498…"),
    nom: str = typer.Argument(..., help="Nom de l'organisation."),
    type_: str = typer.Option("autre", "--type", help="agence, epci, commune, departement, region, etat ou autre."),
    siren: Optional[str] = typer.Option(None, "--siren", help="SIREN (neuf chiffres)."),
    agence: bool = typer.Option(False, "--agence", help="L'organisation est l'agence qui gère l'observatoire "
                                                         "(ses membres voient les données restreintes et privées)."),
) -> None:
    """Ajoute une organisation (EPCI, commune, agence…)."""
    store = _store()
    try:
        org = accounts.add_organisation(store, identifiant, nom, type_, siren, agence)
        audit.record(store, "organisation_ajoutee", object_kind="organisation", object_id=org.id, detail=BY_CLI)
    except VigieError as exc:
        _fail(exc)
    finally:
        store.close()
    console.print(f"Organisation ajoutée : {org.id} — {org.name}{' (agence)' if org.agency else ''}")


# ---------------------------------------------------------------------------------------------- accounts
@app.command("ajouter")
def account_add(
    identifiant: str = typer.Argument(..., help="Identifiant de connexion (souvent l'adresse électronique)."),
    nom: str = typer.Option(..., "--nom", help="Nom affiché (« Marie Dupont »)."),
    organisation: List[str] = typer.Option([], "--organisation", "-o", help="Organisation (répétable)."),
    role: str = typer.Option("partenaire", "--role", help="Rôle dans ces organisations : partenaire ou éditeur."),
    admin: bool = typer.Option(False, "--admin", help="Administrateur (voit et modifie tout)."),
    email: Optional[str] = typer.Option(None, "--email", help="Adresse électronique."),
    fournisseur: str = typer.Option("local", "--fournisseur", help="« local » (mot de passe) ou le nom du fournisseur "
                                                                      "d'identité externe (authentification unique)."),
    entree: bool = typer.Option(False, "--mot-de-passe-entree", help="Lire le mot de passe sur l'entrée standard "
                                                                        "(sinon : mot de passe généré, affiché une fois)."),
) -> None:
    """Crée un compte et lui donne un rôle dans ses organisations."""
    store = _store()
    password = None
    try:
        if fournisseur == "local":
            password = sys.stdin.readline().rstrip("\r\n") if entree else generate_password()
        role_id = accounts.parse_role(role)
        for org in organisation:
            accounts.organisation(store, org)
        with store.transaction():
            created = accounts.add_account(store, identifiant, nom, password, email=email, admin=admin, provider=fournisseur)
            for org in organisation:
                accounts.set_role(store, created.login, org, role_id)
            audit.record(store, "compte_ajoute", login=created.login, detail={**BY_CLI, "organisations": organisation,
                                                                               "role": role_id, "admin": admin})
    except VigieError as exc:
        _fail(exc)
    finally:
        store.close()
    console.print(f"Compte créé : {created.login}" + (f" ({', '.join(organisation)} : {accounts.ROLES[role_id]})" if organisation else ""))
    if password is not None and not entree:
        console.print("Mot de passe (affiché une seule fois, à transmettre à son titulaire) :")
        console.print(password, highlight=False)


@app.command("lister")
def list_accounts() -> None:
    """Liste les organisations et les comptes, avec leurs rôles."""
    store = _store()
    try:
        orgs = accounts.organisations(store)
        users = accounts.accounts(store)
    finally:
        store.close()
    table = Table(title="Organisations")
    for col in ("Identifiant", "Nom", "Type", "SIREN", "Agence"):
        table.add_column(col)
    for o in orgs:
        table.add_row(o.id, o.name, o.kind, o.siren or "—", "oui" if o.agency else "")
    console.print(table)
    table = Table(title="Comptes")
    for col in ("Identifiant", "Nom", "Rôles", "Admin", "Actif", "Fournisseur"):
        table.add_column(col, no_wrap=col in ("Identifiant", "Rôles"))
    for u in users:
        roles = ", ".join(f"{org} : {accounts.ROLES.get(r, r)}" for org, r in u.roles.items()) or "—"
        table.add_row(u.login, u.name, roles, "oui" if u.admin else "", "oui" if u.active else "non", u.provider)
    console.print(table)


@app.command("role")
def role(
    identifiant: str = typer.Argument(..., help="Identifiant du compte."),
    organisation: str = typer.Argument(..., help="Identifiant de l'organisation."),
    role_: str = typer.Argument(..., metavar="ROLE", help="partenaire, éditeur, ou aucun (retire le compte de l'organisation)."),
) -> None:
    """Donne un rôle à un compte dans une organisation (ou l'en retire avec « aucun »)."""
    store = _store()
    try:
        chosen = None if role_.strip().lower() == "aucun" else accounts.parse_role(role_)
        accounts.set_role(store, identifiant, organisation, chosen)
        audit.record(store, "compte_modifie", login=accounts.normal_login(identifiant), object_kind="organisation",
                     object_id=organisation, detail={**BY_CLI, "role": chosen})
    except VigieError as exc:
        _fail(exc)
    finally:
        store.close()
    console.print(f"{accounts.normal_login(identifiant)} dans {organisation} : "
                  f"{accounts.ROLES[chosen] if chosen else 'retiré'}")


@app.command("admin")
def admin(
    identifiant: str = typer.Argument(..., help="Identifiant du compte."),
    oui: bool = typer.Option(True, "--oui/--non", help="Donner (--oui, par défaut) ou retirer (--non) le droit."),
) -> None:
    """Donne (ou retire avec --non) le droit d'administrer."""
    store = _store()
    try:
        accounts.set_admin(store, identifiant, oui)
        audit.record(store, "compte_modifie", login=accounts.normal_login(identifiant), detail={**BY_CLI, "admin": oui})
    except VigieError as exc:
        _fail(exc)
    finally:
        store.close()
    console.print(f"{accounts.normal_login(identifiant)} : {'administrateur' if oui else 'plus administrateur'}")


@app.command("desactiver")
def deactivate(
    identifiant: str = typer.Argument(..., help="Identifiant du compte."),
    reactiver: bool = typer.Option(False, "--reactiver", help="Réactiver le compte au lieu de le désactiver."),
) -> None:
    """Désactive un compte (ses sessions et jetons cessent aussitôt de fonctionner), ou le réactive."""
    store = _store()
    try:
        accounts.set_active(store, identifiant, reactiver)
        audit.record(store, "compte_modifie", login=accounts.normal_login(identifiant), detail={**BY_CLI, "actif": reactiver})
    except VigieError as exc:
        _fail(exc)
    finally:
        store.close()
    console.print(f"{accounts.normal_login(identifiant)} : {'réactivé' if reactiver else 'désactivé'}")


@app.command("mot-de-passe")
def reset_password(
    identifiant: str = typer.Argument(..., help="Identifiant du compte."),
    entree: bool = typer.Option(False, "--mot-de-passe-entree", help="Lire le mot de passe sur l'entrée standard."),
) -> None:
    """Remplace le mot de passe d'un compte (généré et affiché une fois, ou lu sur l'entrée standard) et ferme ses sessions."""
    store = _store()
    password = sys.stdin.readline().rstrip("\r\n") if entree else generate_password()
    try:
        accounts.set_password(store, identifiant, password)
        store.execute("DELETE FROM web_session WHERE login = ?", (accounts.normal_login(identifiant),))
        audit.record(store, "compte_modifie", login=accounts.normal_login(identifiant), detail={**BY_CLI, "mot_de_passe": True})
    except VigieError as exc:
        _fail(exc)
    finally:
        store.close()
    console.print("Mot de passe remplacé." + ("" if entree else " Nouveau mot de passe (affiché une seule fois) :"))
    if not entree:
        console.print(password, highlight=False)


# ---------------------------------------------------------------------------------------------- tokens
@jeton_app.command("creer")
def token_create(
    identifiant: str = typer.Argument(..., help="Compte titulaire du jeton."),
    nom: str = typer.Option(..., "--nom", help="À quoi sert le jeton."),
    portees: str = typer.Option("lecture", "--portees", help="Portées séparées par des virgules : " + ", ".join(policy.SCOPES)),
    jours: int = typer.Option(tokens.DEFAULT_DAYS, "--jours", help=f"Durée de validité (1 à {tokens.MAX_DAYS} jours)."),
) -> None:
    """Crée un jeton d'accès pour un compte ; le jeton est affiché une seule fois."""
    store = _store()
    try:
        owner = accounts.account(store, identifiant)
        token, info = tokens.create(store, owner.login, nom, portees, jours)
        audit.record(store, "jeton_cree", login=owner.login, object_kind="jeton", object_id=info.id,
                     detail={**BY_CLI, "portees": sorted(info.scopes)})
    except VigieError as exc:
        _fail(exc)
    finally:
        store.close()
    console.print(f"Jeton {info.id} créé pour {owner.login} (expire le {_date(info.expires_at)} UTC). "
                  f"Affiché une seule fois :", highlight=False)
    console.print(token, highlight=False, soft_wrap=True)


@jeton_app.command("lister")
def token_list(identifiant: Optional[str] = typer.Argument(None, help="Compte (par défaut : tous).")) -> None:
    """Liste les jetons (jamais leur valeur)."""
    store = _store()
    try:
        found = tokens.tokens_of(store, accounts.normal_login(identifiant) if identifiant else None)
    finally:
        store.close()
    table = Table(title="Jetons d'accès")
    for col in ("Identifiant", "Compte", "Nom", "Portées", "État", "Expire le", "Dernière utilisation"):
        table.add_column(col, no_wrap=col in ("Identifiant", "Compte"), min_width=12 if col == "Identifiant" else None)
    for t in found:
        table.add_row(t.id, t.login, t.name, ", ".join(sorted(t.scopes)), t.state(), _date(t.expires_at), _date(t.last_used_at))
    console.print(table)


@jeton_app.command("revoquer")
def token_revoke(identifiant: str = typer.Argument(..., help="Identifiant du jeton (12 caractères).")) -> None:
    """Révoque un jeton : il cesse de fonctionner à la requête suivante."""
    store = _store()
    try:
        info = tokens.revoke(store, identifiant)
        audit.record(store, "jeton_revoque", login=info.login, object_kind="jeton", object_id=info.id, detail=BY_CLI)
    except VigieError as exc:
        _fail(exc)
    finally:
        store.close()
    console.print(f"Jeton {info.id} de {info.login} révoqué.")


# ---------------------------------------------------------------------------------------------- visibility
@app.command("visibilite")
def visibility(
    type_: str = typer.Argument(..., metavar="TYPE", help="Type d'objet : " + ", ".join(policy.KINDS)),
    identifiant: str = typer.Argument(..., help="Identifiant de l'objet (jeu de données, couche, indicateur…)."),
    niveau: str = typer.Argument(..., help="public, restreint ou privé."),
    organisation: List[str] = typer.Option([], "--organisation", "-o", help="Organisation autorisée (restreint ; répétable)."),
    proprietaire: Optional[str] = typer.Option(None, "--proprietaire", help="Organisation propriétaire (ses éditeurs le modifient)."),
) -> None:
    """Fixe la visibilité d'un objet : public, restreint à des organisations, ou privé à l'agence."""
    store = _store()
    try:
        rule = policy.set_visibility(store, type_, identifiant, niveau, organisation, proprietaire)
        audit.record(store, "visibilite", object_kind=type_, object_id=identifiant,
                     detail={**BY_CLI, "niveau": rule.level, "organisations": sorted(rule.organisations)})
    except VigieError as exc:
        _fail(exc)
    finally:
        store.close()
    shared = f" ({', '.join(sorted(rule.organisations))})" if rule.organisations else ""
    console.print(f"{type_} « {identifiant} » : {policy.LEVELS[rule.level]}{shared}")


@app.command("journal")
def journal(
    identifiant: Optional[str] = typer.Option(None, "--compte", help="Seulement ce compte."),
    nombre: int = typer.Option(50, "--nombre", help="Nombre d'entrées (les plus récentes)."),
) -> None:
    """Affiche le journal d'audit (connexions, jetons, modifications)."""
    store = _store()
    try:
        found = audit.entries(store, login=accounts.normal_login(identifiant) if identifiant else None, limit=nombre)
    finally:
        store.close()
    table = Table(title="Journal d'audit")
    for col in ("Date (UTC)", "Événement", "Compte", "Adresse", "Objet", "Résultat"):
        table.add_column(col)
    for e in found:
        obj = f"{e.object_kind} {e.object_id}" if e.object_kind else ""
        table.add_row(_date(e.at), audit.EVENTS.get(e.event, e.event), e.login or "—", e.ip or "—", obj, e.outcome)
    console.print(table)
