"""Commands `vigie fiche qpv CODE`, `vigie fiches qpv --all` and `vigie tableau-de-bord CODE [--tous]`.

`register(app)` adds them to the main command; they use the warehouse it points to (`--base` or
VIGIE_DATABASE), opened read-only. Each PDF gets its XLSX data pack beside it (`--sans-donnees` to skip).
Exit status: 0 when everything was made, 1 when a code is unknown or a publication failed (the others are made).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from vigie import formatting as fmt
from vigie.errors import VigieError

console = Console()
err = Console(stderr=True, soft_wrap=True)

OUTPUT_HELP = "Dossier où écrire les PDF et leurs classeurs XLSX (défaut : ./publications)."
WORKERS_HELP = "Nombre de processus de rendu (défaut : un par cœur)."


def _open():
    from vigie.publish.context import open_read_only

    try:
        from vigie.cli import state

        url = state.database
    except ImportError:  # pragma: no cover
        url = None
    if not url:
        from vigie.settings import database_url

        url = database_url()
    return open_read_only(url)


def _fail(exc: VigieError) -> None:
    err.print(f"[bold red]Erreur :[/bold red] {exc.message}", highlight=False)
    raise typer.Exit(1)


def _finish(summary, what: str) -> None:
    for o in summary.done:
        console.print(f"{o.pdf} ({fmt.number(o.pages)} pages)" + (f" + {Path(o.xlsx).name}" if o.xlsx else ""),
                      highlight=False)
    console.print(summary.text(), highlight=False)
    if summary.failed:
        err.print(f"[bold red]Erreur :[/bold red] {fmt.number(len(summary.failed))} {what} en échec (voir ci-dessus).",
                  highlight=False)
        raise typer.Exit(1)


def _run(jobs, workers: Optional[int], label: str):
    from vigie.progress import reporter
    from vigie.publish.pdf.batch import run

    with reporter() as report:
        return run(jobs, workers=workers, report=report, label=label)


def fiche_qpv(
    code: str = typer.Argument(..., help="Code du quartier prioritaire (ex. QN06205M)."),
    sortie: Path = typer.Option(Path("publications"), "--sortie", "-o", help=OUTPUT_HELP),
    sans_donnees: bool = typer.Option(False, "--sans-donnees", help="Ne pas écrire le classeur XLSX des chiffres."),
) -> None:
    """Fiche Quartier d'un QPV en PDF (2 à 4 pages A4), avec son classeur de données."""
    from vigie.publish.pdf.publications import fiche_jobs

    try:
        wh = _open()
        try:
            jobs = fiche_jobs(wh, [code.strip().upper()], sortie, datapack=not sans_donnees)
        finally:
            wh.close()
    except VigieError as exc:
        _fail(exc)
    _finish(_run(jobs, 1, "Fiche quartier"), "fiche(s)")


def fiches_qpv(
    tous: bool = typer.Option(False, "--all", "--tous", help="Tous les QPV du territoire d'accueil (ou de --territoire)."),
    territoire: Optional[str] = typer.Option(None, "--territoire", "-t", help="Code du territoire dont on veut les QPV (ex. PMA, 246200364)."),
    sortie: Path = typer.Option(Path("publications"), "--sortie", "-o", help=OUTPUT_HELP),
    processus: Optional[int] = typer.Option(None, "--processus", "-j", help=WORKERS_HELP),
    sans_donnees: bool = typer.Option(False, "--sans-donnees", help="Ne pas écrire les classeurs XLSX des chiffres."),
) -> None:
    """Fiches Quartiers de tous les QPV d'un territoire, en parallèle, avec un résumé à la fin."""
    from vigie.engine.query import Engine
    from vigie.publish.pdf.publications import fiche_jobs, home_territory, territory_qpv

    if not tous and not territoire:
        _fail(VigieError("Indiquez --all (tous les QPV du territoire d'accueil) ou --territoire CODE."))
    try:
        wh = _open()
        try:
            start = time.perf_counter()
            engine = Engine(wh)
            place = wh.find_territory(territoire) if territoire else home_territory(wh)
            codes = territory_qpv(wh, place, engine)
            jobs = fiche_jobs(wh, codes, sortie, engine=engine, wide=place, datapack=not sans_donnees)
            collected = time.perf_counter() - start
        finally:
            wh.close()
    except VigieError as exc:
        _fail(exc)
    console.print(f"{fmt.number(len(jobs))} quartiers prioritaires de {place.name} ; chiffres lus en "
                  f"{fmt.number(collected, 2)} s.", highlight=False)
    _finish(_run(jobs, processus, "Fiches quartiers"), "fiche(s)")


def tableau_de_bord(
    territoire: Optional[str] = typer.Argument(None, help="Code du territoire (PMA, SIREN d'EPCI, code INSEE…)."),
    tous: bool = typer.Option(False, "--tous", help="Tous les EPCI et territoires personnalisés (pôle, PETR, SCoT)."),
    sortie: Path = typer.Option(Path("publications"), "--sortie", "-o", help=OUTPUT_HELP),
    processus: Optional[int] = typer.Option(None, "--processus", "-j", help=WORKERS_HELP),
    sans_donnees: bool = typer.Option(False, "--sans-donnees", help="Ne pas écrire les classeurs XLSX des chiffres."),
) -> None:
    """Tableau de bord d'un territoire en PDF (démographie, ménages, logement, économie), ou de tous avec --tous."""
    from vigie.engine.query import Engine
    from vigie.publish.pdf.publications import dashboard_jobs, dashboard_territories

    if not tous and not territoire:
        _fail(VigieError("Indiquez le code d'un territoire, ou --tous."))
    try:
        wh = _open()
        try:
            engine = Engine(wh)
            places = dashboard_territories(wh, engine) if tous else [wh.find_territory(territoire.strip())]
            jobs = dashboard_jobs(wh, places, sortie, engine=engine, datapack=not sans_donnees)
        finally:
            wh.close()
    except VigieError as exc:
        _fail(exc)
    _finish(_run(jobs, processus if tous else 1, "Tableaux de bord"), "tableau(x) de bord")


def register(app: typer.Typer) -> None:
    """Add the publication commands to the main `vigie` command."""
    fiche = typer.Typer(help="Fiche d'un territoire en PDF.", no_args_is_help=True, add_completion=False)
    fiche.command("qpv")(fiche_qpv)
    fiches = typer.Typer(help="Fiches en série (PDF).", no_args_is_help=True, add_completion=False)
    fiches.command("qpv")(fiches_qpv)
    for sub in (fiche, fiches):
        @sub.callback()
        def _group() -> None:  # keeps `qpv` a sub-command even when it is the only one
            pass
    app.add_typer(fiche, name="fiche")
    app.add_typer(fiches, name="fiches")
    app.command("tableau-de-bord")(tableau_de_bord)
