"""The `vigie` command: build, fill, query and serve the territorial warehouse."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from vigie import formatting as fmt
from vigie.errors import ImportValidationError, VigieError
from vigie.progress import reporter
from vigie.settings import database_url

app = typer.Typer(help="Vigie — observatoire territorial ouvert.", no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True, soft_wrap=True)


class State:
    database: str | None = None


state = State()


def _add_modules() -> None:
    """The publications and the analysis modules bring their own sub-commands."""
    from vigie.access.cli import app as users_app
    from vigie.modules.barometre.cli import barometre
    from vigie.modules.enquete.cli import app as enquete_app
    from vigie.modules.foncier.cli import app as foncier_app
    from vigie.modules.foncier.zan_cli import zan
    from vigie.publish.pdf.cli import register as register_publications

    register_publications(app)  # fiche, fiches, tableau-de-bord
    app.add_typer(enquete_app, name="enquete")
    app.add_typer(foncier_app, name="foncier")
    app.command("zan")(zan)
    app.command("barometre")(barometre)
    app.add_typer(users_app, name="users")


@app.callback()
def main(
    base: Optional[str] = typer.Option(
        None, "--base", "-b", envvar="VIGIE_DATABASE",
        help="Entrepôt : chemin d'un fichier DuckDB (défaut ./vigie.duckdb) ou adresse postgresql://…",
    ),
) -> None:
    state.database = base


def _url() -> str:
    return state.database or database_url()


def _fail(exc: VigieError) -> None:
    err.print(f"[bold red]Erreur :[/bold red] {exc.message}", highlight=False)
    raise typer.Exit(2 if isinstance(exc, ImportValidationError) else 1)


def _open(read_only: bool = False):
    from vigie.warehouse import connect

    url = _url()
    if not url.startswith(("postgresql://", "postgres://")) and not Path(url).exists():
        raise VigieError(f"L'entrepôt « {url} » n'existe pas : lancez « vigie init » ou « vigie demo ».")
    return connect(url, create=not read_only, read_only=read_only)


@app.command()
def init() -> None:
    """Crée un entrepôt vide (ou vérifie le schéma d'un entrepôt existant)."""
    from vigie.warehouse import connect

    try:
        wh = connect(_url())
        wh.close()
    except VigieError as exc:
        _fail(exc)
    console.print(f"Entrepôt prêt : {_url()}")


@app.command()
def demo() -> None:
    """Construit l'entrepôt de démonstration (Pas-de-Calais, Pôle Métropolitain de l'Artois)."""
    from vigie.demo.build import build_demo

    try:
        with reporter() as rep:
            result = build_demo(_url(), rep)
    except VigieError as exc:
        _fail(exc)
    rows = sum(sum(r.rows.values()) for r in result.reports)
    console.print(
        f"Entrepôt de démonstration construit en {fmt.number(result.seconds, 1)} s : {_url()} "
        f"({fmt.number(len(result.reports))} fichiers, {fmt.number(rows)} lignes)."
    )
    if result.accounts:
        console.print("Comptes de démonstration de l'espace partenaires (mots de passe publics, pour la démo seulement) :")
        for account in result.accounts:
            role = "administrateur" if account.admin else {"editor": "éditeur", "partner": "partenaire"}[account.role]
            console.print(f"  {account.login} / {account.password} — {account.organisation}, {role}")


@app.command("import")
def import_(
    kind: str = typer.Argument(..., help="Type de fichier : referentiel, appartenance, passage, contours, recensement, qpv, filosofi, friches, couche, csv, territoires…"),
    file: Path = typer.Argument(..., help="Fichier à importer."),
    option: list[str] = typer.Option([], "--option", "-o", help="Option de l'importeur, sous la forme clé=valeur (répétable)."),
    titre: Optional[str] = typer.Option(None, help="Titre de la source."),
    producteur: Optional[str] = typer.Option(None, help="Producteur de la donnée."),
    licence: Optional[str] = typer.Option(None, help="Licence de la donnée."),
    millesime: Optional[str] = typer.Option(None, help="Millésime de la donnée (ex. « RP 2021 »)."),
    encodage: Optional[str] = typer.Option(None, help="Encodage du fichier (utf-8, latin-1, auto)."),
) -> None:
    """Importe un fichier dans l'entrepôt : tout ou rien, et sans effet si le fichier est déjà importé."""
    from vigie.sources.base import run_import
    from vigie.sources.registry import importer_class

    try:
        options = {}
        for item in option:
            if "=" not in item:
                raise VigieError(f"Option « {item} » mal formée : attendu clé=valeur.")
            key, value = item.split("=", 1)
            options[key.strip()] = value.strip()
        if millesime:
            options["vintage"] = millesime
        if encodage:
            options["encoding"] = encodage
        importer = importer_class(kind)(file, **options)
        wh = _open()
        with reporter() as rep:
            result = run_import(wh, importer, rep, title=titre, producer=producteur, licence=licence)
        wh.close()
    except VigieError as exc:
        _fail(exc)
    for message in result.messages:
        console.print(f"[yellow]{message}[/yellow]")
    if result.unchanged:
        console.print(f"{file.name} : déjà importé (source n°{result.source_id}), aucun changement.")
    else:
        detail = ", ".join(f"{fmt.number(n)} {table}" for table, n in result.rows.items())
        console.print(f"{file.name} importé (source n°{result.source_id}) : {detail}.")
        console.print("Lancez « vigie build » pour recalculer les indicateurs.")


@app.command()
def territories(
    level: Optional[str] = typer.Option(None, "--level", "--niveau", help="Niveau : commune, epci, departement, qpv, pole_metropolitain…"),
    cog: Optional[int] = typer.Option(None, help="Millésime du COG (défaut : le plus récent de chaque niveau)."),
    search: Optional[str] = typer.Option(None, "--search", "--cherche", help="Recherche par nom ou début de code."),
) -> None:
    """Liste les territoires de l'entrepôt."""
    from vigie.publish.terminal import territories_table

    try:
        wh = _open(read_only=True)
        frame = wh.territories(level, cog, search)
        wh.close()
    except VigieError as exc:
        _fail(exc)
    console.print(territories_table(frame))


@app.command()
def show(
    code: str = typer.Argument(..., help="Code du territoire (code INSEE, SIREN d'EPCI, code QPV, PMA…)."),
    level: Optional[str] = typer.Option(None, "--level", "--niveau", help="Niveau, si le code est ambigu."),
    cog: Optional[int] = typer.Option(None, help="Millésime du COG."),
    tout: bool = typer.Option(False, "--tout", help="Tous les indicateurs disponibles, pas seulement les chiffres clés."),
    reference: Optional[str] = typer.Option(None, "--reference", help="Code du territoire de comparaison (défaut : le plus proche qui le contient)."),
) -> None:
    """Chiffres clés d'un territoire : population, indicateurs, évolutions et comparaison."""
    from vigie.engine.query import Engine
    from vigie.publish.terminal import show_territory

    try:
        wh = _open(read_only=True)
        engine = Engine(wh)
        territory = wh.find_territory(code, level, cog)
        ref = wh.find_territory(reference) if reference else None
        show_territory(console, wh, territory, engine, all_indicators=tout, reference=ref)
        wh.close()
    except VigieError as exc:
        _fail(exc)


@app.command()
def build(cog: Optional[int] = typer.Option(None, help="Millésime du COG cible (défaut : le plus récent).")) -> None:
    """Calcule le cube des indicateurs (tous indicateurs × territoires × années) dans l'entrepôt."""
    from vigie.engine.cube import build_cube

    try:
        wh = _open()
        with reporter() as rep:
            result = build_cube(wh, cog, report=rep)
        wh.close()
    except VigieError as exc:
        _fail(exc)
    console.print(
        f"Cube du COG {result.cog} calculé en {fmt.number(result.seconds, 1)} s : {fmt.number(result.rows)} valeurs, "
        f"{fmt.number(result.secret_primary)} cellules sous secret primaire, {fmt.number(result.secret_secondary)} en secret secondaire."
    )


@app.command()
def sources() -> None:
    """Liste les fichiers importés : producteur, millésime, licence, empreinte SHA-256, lignes."""
    from vigie.publish.terminal import sources_table

    try:
        wh = _open(read_only=True)
        frame = wh.sources()
        wh.close()
    except VigieError as exc:
        _fail(exc)
    console.print(sources_table(frame))


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Adresse d'écoute."),
    port: int = typer.Option(8000, help="Port."),
) -> None:
    """Sert l'observatoire (pages web, API JSON, OGC API Features, tuiles) sur http://HOST:PORT."""
    import uvicorn

    from vigie.publish.api import create_app

    try:
        application = create_app(_url())
    except VigieError as exc:
        _fail(exc)
    console.print(f"Vigie sert {_url()} sur http://{host}:{port}")
    uvicorn.run(application, host=host, port=port, log_level="warning")


_add_modules()  # after the core commands, so that `vigie --help` lists those first


if __name__ == "__main__":
    sys.exit(app())
