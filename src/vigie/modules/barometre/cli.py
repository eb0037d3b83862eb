"""`vigie barometre AAAA-Tn` prints the quarter's release and writes its PDF (`barometre-AAAA-Tn.pdf`, 4–6 A4 pages)
and its XLSX data pack beside it in `--sortie` (default `./publications`); `--sans-pdf` only prints.
`vigie barometre series` lists the series.

Registered in the main command as a single command (`app.command("barometre")(barometre)`): its argument is either
a quarter or the word `series`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from vigie.errors import VigieError

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _open():
    from vigie.warehouse import connect

    try:
        from vigie.cli import state

        url = state.database
    except ImportError:  # pragma: no cover
        url = None
    if not url:
        from vigie.settings import database_url

        url = database_url()
    if not url.startswith(("postgresql://", "postgres://")) and not Path(url).exists():
        raise VigieError(f"L'entrepôt « {url} » n'existe pas : lancez « vigie init » ou « vigie demo ».")
    return connect(url, create=False, read_only=True)


def barometre(
    quoi: str = typer.Argument(..., help="Trimestre AAAA-Tn (ex. 2025-T4) pour la note du trimestre, ou « series » "
                                         "pour la liste des séries."),
    territoire: str = typer.Option("PMA", "--territoire", "-t", help="Code du territoire principal (défaut : PMA)."),
    serie: Optional[list[str]] = typer.Option(None, "--serie", "-s", help="Limiter à une ou plusieurs séries."),
    sortie: Path = typer.Option(Path("publications"), "--sortie", "-o",
                                help="Dossier où écrire la note PDF et son classeur XLSX (défaut : ./publications)."),
    sans_pdf: bool = typer.Option(False, "--sans-pdf", help="Afficher la note sans écrire le PDF ni le classeur."),
) -> None:
    """Baromètre économique trimestriel : la note d'un trimestre (affichée, en PDF et en XLSX), ou la liste des
    séries disponibles."""
    listing = quoi.strip().lower() in ("series", "séries", "serie", "série")
    try:
        wh = _open()
        try:
            if listing:
                _series(wh)
            else:
                from vigie.modules.barometre.release import build_release, summary_lines

                release = build_release(wh, quoi, territory=territoire, series=serie or None)
                for line in summary_lines(release):
                    console.print(line, highlight=False, markup=False)
        finally:
            wh.close()
        if not listing and not sans_pdf:
            _write(release, sortie, territoire)
    except VigieError as exc:
        err.print(f"[bold red]Erreur :[/bold red] {exc.message}", highlight=False)
        raise typer.Exit(1)


def _write(release, sortie: Path, territoire: str) -> None:
    import time

    from vigie import formatting as fmt
    from vigie.modules.barometre.report import write

    start = time.perf_counter()
    try:
        written = write(release, sortie, territoire)
    except OSError as exc:
        raise VigieError(f"Impossible d'écrire la note dans « {sortie} » : {exc.strerror or exc}.") from exc
    console.print("", highlight=False)
    console.print(f"Note PDF : {written.pdf} ({fmt.number(written.pages)} pages) ; classeur des chiffres : "
                  f"{written.xlsx.name} ({fmt.number(written.rows)} lignes) ; écrits en "
                  f"{fmt.number(time.perf_counter() - start, 1)} s.", highlight=False, markup=False)


def _series(wh) -> None:
    from vigie import formatting as fmt
    from vigie.modules.barometre.store import series_table

    table = series_table(wh)
    console.print("Séries du baromètre (identifiant – libellé (producteur) : trimestres, dernière publication)",
                  highlight=False, markup=False)
    for r in table.to_dict("records"):
        if r["last_period"] is None or r["last_period"] != r["last_period"]:
            span = "aucune valeur"
        else:
            n = int(r["releases"])
            span = (f"{r['first_period']} → {r['last_period']}, dernière publication le "
                    f"{fmt.long_date(r['last_release'])} ({n} publication{'s' if n > 1 else ''})")
        hidden = "" if r["visible"] else " [détail]"
        console.print(f"  {r['id']} – {r['label']} ({r['producer']}){hidden} : {span}", highlight=False, markup=False)
