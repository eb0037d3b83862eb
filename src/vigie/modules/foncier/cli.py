"""`vigie foncier …`: the economic-land atlas in the terminal — figures per zone or territory, status changes and
their history, the CNIG export (art. 220 inventory) and the layer exports (GeoPackage, XLSX), the PDF fiche of a
zone (`fiche <site_id>`) or of every zone (`fiches --toutes [--epci SIREN]`), the synthetic demo atlas.

Imports go through `vigie import` (kinds cnig-pole-eco, cnig-site-eco, cnig-terrain-eco, cnig-etablissement,
sirene-zones, plu-zones). Registered in `vigie.cli._add_modules` as `app.add_typer(foncier_app, name="foncier")`.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from vigie import formatting as fmt
from vigie.errors import ImportValidationError, VigieError

app = typer.Typer(help="Atlas du foncier économique : zones d'activité, terrains, établissements, export CNIG.",
                  no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True, soft_wrap=True)


@contextmanager
def _warehouse(read_only: bool = False):
    """The warehouse the main command points to, closed whatever happens."""
    wh = _open(read_only)
    try:
        yield wh
    finally:
        wh.close()


def _open(read_only: bool = False):
    from vigie.cli import state
    from vigie.settings import database_url
    from vigie.warehouse import connect

    url = state.database or database_url()
    if not url.startswith(("postgresql://", "postgres://")) and not Path(url).exists():
        raise VigieError(f"L'entrepôt « {url} » n'existe pas : lancez « vigie init » ou « vigie demo ».")
    return connect(url, create=not read_only, read_only=read_only)


def _observatory_edits() -> tuple[list[dict], list[dict]] | None:
    """The status edits made in the observatory (plots, zones), kept in the access store beside the warehouse: the
    fiches count them as the pages do. None when there is no store yet (nothing was ever edited)."""
    from vigie.access import editing
    from vigie.access.schema import open_store, store_location
    from vigie.cli import state
    from vigie.settings import database_url

    url = state.database or database_url()
    location = store_location(url)
    if not location.startswith(("postgresql://", "postgres://")) and not Path(location).is_file():
        return None
    store = open_store(location=location)
    try:
        return ([e.as_change() for e in editing.edits(store, "plot")], [e.as_change() for e in editing.edits(store, "site")])
    finally:
        store.close()


def _fail(exc: VigieError) -> None:
    err.print(f"[bold red]Erreur :[/bold red] {exc.message}", highlight=False)
    raise typer.Exit(2 if isinstance(exc, ImportValidationError) else 1)


@app.command("atlas")
def atlas(
    niveau: str = typer.Option("zone", "--niveau", "-n", help="zone, commune, epci, pole_metropolitain, scot…"),
    sortie: Optional[Path] = typer.Option(None, "--sortie", "-o", help="Écrire le tableau complet en CSV (;)."),
    distance: float = typer.Option(200.0, help="Distance (m) des friches « proches » d'une zone."),
) -> None:
    """Chiffres de l'atlas par zone d'activité ou par territoire (stocks sommés, taux recalculés)."""
    from vigie.modules.foncier.atlas import totals, zone_table

    try:
        with _warehouse(read_only=True) as wh:
            zones = zone_table(wh, friche_distance=distance)
            frame = zones if niveau == "zone" else totals(wh, niveau, zones)
    except VigieError as exc:
        _fail(exc)
    if sortie:
        frame.to_csv(sortie, sep=";", decimal=",", index=False)
        console.print(f"Tableau écrit dans {sortie}.")
    table = Table(title=f"Foncier économique – {'zones d’activité' if niveau == 'zone' else niveau}")
    key = "site_id" if niveau == "zone" else "code"
    for col in ("Code", "Nom", "Surface brute", "Disponible", "Terrains", "Vacance", "Établissements", "Emplois"):
        table.add_column(col, justify="left" if col in ("Code", "Nom") else "right")
    for _, r in frame.iterrows():
        table.add_row(str(r[key]), str(r["name"] or ""), fmt.quantity(r["gross_ha"], "ha", 1), fmt.quantity(r["available_ha"], "ha", 1),
                      fmt.number(r["plots"]), fmt.percent(r["vacancy_rate"], 1), fmt.number(r["establishments"]), fmt.number(r["jobs"]))
    console.print(table)
    console.print("Emplois estimés par le milieu de la tranche d'effectif SIRENE de chaque établissement.")


@app.command("statut")
def statut(
    objet: str = typer.Argument(..., help="Identifiant du terrain (terr_id) ou de la zone (site_id)."),
    valeur: str = typer.Argument(..., help="Nouvelle valeur, ex. « sous option », « vendu, commercialisation achevée »."),
    auteur: str = typer.Option(..., "--auteur", "-a", help="Qui fait le changement."),
    champ: str = typer.Option("terr_stade_comm", "--champ", help="terr_stade_comm, terr_etat_occup ou site_etat."),
    le: Optional[str] = typer.Option(None, "--date", help="Date du changement (AAAA-MM-JJ), aujourd'hui par défaut."),
    note: Optional[str] = typer.Option(None, help="Commentaire."),
) -> None:
    """Enregistrer un changement de statut (la valeur précédente reste dans l'historique)."""
    from vigie.modules.foncier.importing import set_status

    kind = "site" if champ == "site_etat" else "plot"
    try:
        when = date.fromisoformat(le) if le else None
    except ValueError:
        _fail(VigieError(f"Date invalide « {le} » : AAAA-MM-JJ attendu."))
    try:
        with _warehouse() as wh:
            set_status(wh, kind, objet, champ, valeur, author=auteur, changed_on=when, note=note)
    except VigieError as exc:
        _fail(exc)
    console.print(f"Statut de {objet} ({champ}) : « {valeur} » enregistré.")


@app.command("historique")
def historique(objet: str = typer.Argument(..., help="Identifiant du terrain ou de la zone.")) -> None:
    """Historique des statuts d'un terrain ou d'une zone."""
    from vigie.modules.foncier.importing import status_history

    try:
        with _warehouse(read_only=True) as wh:
            frame = status_history(wh, "plot", objet)
            if frame.empty:
                frame = status_history(wh, "site", objet)
    except VigieError as exc:
        _fail(exc)
    table = Table(title=f"Historique des statuts – {objet}")
    for col in ("Date", "Champ", "Avant", "Après", "Auteur", "Note"):
        table.add_column(col)
    for _, r in frame.iterrows():
        text = lambda v, empty="": empty if v is None or (isinstance(v, float) and v != v) else str(v)  # noqa: E731
        table.add_row(fmt.long_date(r["changed_on"]), r["field"], text(r["previous"], "—"), r["value"], r["author"], text(r["note"]))
    console.print(table)


@app.command("exporter")
def exporter(
    dossier: Path = typer.Argument(..., help="Dossier où écrire les fichiers (CNIG : pole-eco.csv, site-eco.csv, "
                                             "terrain-eco.csv, etablissement.csv)."),
    epci: Optional[str] = typer.Option(None, help="SIREN de l'EPCI dont exporter les zones (toutes par défaut)."),
    format: str = typer.Option("cnig", "--format", "-f",
                               help="cnig (inventaire art. 220, CSV), gpkg (GeoPackage Lambert-93) ou xlsx : couches "
                                    "zones, terrains, établissements publiables, zones AU économiques."),
    couche: str = typer.Option("atlas", "--couche", help="gpkg/xlsx : atlas (toutes), zones, terrains, etablissements ou au."),
) -> None:
    """Export au standard CNIG « sites économiques » (validé par frictionless), ou des couches de l'atlas en
    GeoPackage / XLSX."""
    from vigie.modules.foncier.export_cnig import export_cnig

    if format in ("gpkg", "xlsx"):
        from vigie.modules.foncier.web import EXPORT_LAYERS, export_file

        try:
            with _warehouse(read_only=True) as wh:
                content, _media, name = export_file(wh, couche, format, epci)
        except VigieError as exc:
            _fail(exc)
        dossier.mkdir(parents=True, exist_ok=True)
        (dossier / name).write_bytes(content)
        layers = list(EXPORT_LAYERS) if couche == "atlas" else [couche]
        console.print(f"{dossier / name} : couche(s) {', '.join(layers)} ({fmt.number(len(content) / 1024, 0)} Ko).",
                      highlight=False)
        return
    if format != "cnig":
        _fail(VigieError(f"Format « {format} » inconnu : cnig, gpkg ou xlsx."))
    try:
        with _warehouse(read_only=True) as wh:
            result = export_cnig(wh, dossier, epci=epci)
    except VigieError as exc:
        _fail(exc)
    for name, path in result.files.items():
        console.print(f"{path} : {fmt.number(result.rows[name])} ligne(s), conforme au schéma CNIG.")
    for why, n in result.skipped.items():
        if n:
            console.print(f"{fmt.number(n)} établissement(s) non exporté(s) : {why}.")


@app.command("demo")
def demo(
    dossier: Path = typer.Option(Path("atlas-demo"), help="Dossier où écrire les fichiers fictifs."),
    zones: int = typer.Option(45, help="Nombre de zones d'activité à tirer."),
) -> None:
    """Atlas fictif du PMA (données fictives de démonstration) importé par les importeurs réels."""
    from vigie.modules.foncier.demo import build_demo_atlas

    try:
        with _warehouse() as wh:
            reports = build_demo_atlas(wh, dossier, zones=zones)
    except VigieError as exc:
        _fail(exc)
    for r in reports:
        console.print(f"{r.file} : {', '.join(f'{t} {fmt.number(n)}' for t, n in r.rows.items()) or 'inchangé'}")


@app.command("fiche")
def fiche(
    zone: str = typer.Argument(..., help="Identifiant de la zone d'activité (site_id, ex. 62498_SITE-ECO_00001)."),
    sortie: Path = typer.Option(Path("publications"), "--sortie", "-o", help="Dossier où écrire le PDF et son classeur XLSX."),
    sans_donnees: bool = typer.Option(False, "--sans-donnees", help="Ne pas écrire le classeur XLSX des chiffres."),
    distance: float = typer.Option(200.0, help="Distance (m) des friches « proches » de la zone."),
) -> None:
    """Fiche PDF d'une zone d'activité (carte, surfaces, terrains, filières, friches, historique), avec ses données."""
    from vigie.modules.foncier import report_zone

    try:
        with _warehouse(read_only=True) as wh:
            data = report_zone.collect(wh, [zone.strip()], distance=distance, edits=_observatory_edits())
    except VigieError as exc:
        _fail(exc)
    _make_fiches(data, sortie, not sans_donnees)


@app.command("fiches")
def fiches(
    toutes: bool = typer.Option(False, "--toutes", "--all", help="Toutes les zones (de l'entrepôt, ou de --epci)."),
    epci: Optional[str] = typer.Option(None, help="SIREN de l'EPCI dont faire les fiches."),
    sortie: Path = typer.Option(Path("publications"), "--sortie", "-o", help="Dossier où écrire les PDF et leurs classeurs."),
    sans_donnees: bool = typer.Option(False, "--sans-donnees", help="Ne pas écrire les classeurs XLSX des chiffres."),
) -> None:
    """Fiches PDF de toutes les zones d'activité (ou de celles d'un EPCI), avec un résumé à la fin."""
    from vigie.modules.foncier import report_zone

    if not toutes and not epci:
        _fail(VigieError("Indiquez --toutes (toutes les zones) ou --epci SIREN."))
    try:
        with _warehouse(read_only=True) as wh:
            data = report_zone.collect(wh, None, epci=epci, edits=_observatory_edits())
    except VigieError as exc:
        _fail(exc)
    _make_fiches(data, sortie, not sans_donnees)


def _make_fiches(data: list, output: Path, datapack: bool) -> None:
    """Render the fiches one after the other (each takes a fraction of a second) with a progress bar and the summary
    of `vigie.publish.pdf.batch` (whose worker pool only knows its own renderers)."""
    import os
    import time

    from vigie.modules.foncier import report_zone
    from vigie.progress import reporter
    from vigie.publish.pdf.batch import Outcome, Summary

    output.mkdir(parents=True, exist_ok=True)
    summary = Summary(workers=1)
    start = time.perf_counter()
    with reporter() as report:
        report.step("Fiches des zones d'activité", total=len(data))
        for d in data:
            stem = output / report_zone.file_stem(d.site_id)
            pdf, xlsx = stem.with_suffix(".pdf"), stem.with_suffix(".xlsx") if datapack else None
            began = time.perf_counter()
            try:
                pages = report_zone.write(d, pdf, xlsx)
                summary.outcomes.append(Outcome(d.site_id, True, str(pdf), str(xlsx) if xlsx else None, pages,
                                                time.perf_counter() - began))
            except Exception as exc:  # one failure must not stop the others
                for path in (pdf, xlsx):
                    if path and os.path.exists(path):
                        os.remove(path)
                message = getattr(exc, "message", None) or f"{type(exc).__name__} : {exc}"
                summary.outcomes.append(Outcome(d.site_id, False, error=message))
            report.advance()
    summary.seconds = time.perf_counter() - start
    for o in summary.done:
        console.print(f"{o.pdf} ({fmt.number(o.pages)} pages)" + (f" + {Path(o.xlsx).name}" if o.xlsx else ""), highlight=False)
    console.print(summary.text(), highlight=False)
    if summary.failed:
        err.print(f"[bold red]Erreur :[/bold red] {fmt.number(len(summary.failed))} fiche(s) en échec (voir ci-dessus).",
                  highlight=False)
        raise typer.Exit(1)
