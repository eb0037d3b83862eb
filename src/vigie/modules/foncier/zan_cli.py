"""`vigie zan <territoire>`: the ZAN trajectory of a territory, printed in French in the terminal, as JSON
(`--json`) or as the PDF report with its XLSX data pack (`--pdf [--sortie DIR]`, `report_zan.py`).

Registered in the main command as a plain command (`app.command("zan")(zan)`); it uses the warehouse the main
command points to (`--base` or VIGIE_DATABASE).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from vigie import formatting as fmt
from vigie.errors import VigieError

console = Console()
err = Console(stderr=True, soft_wrap=True)


def _ha(m2: float | None, decimals: int = 1) -> str:
    return fmt.quantity(None if m2 is None else m2 / 10_000, "ha", decimals)


def _hectares(m2: float | None) -> str:
    return fmt.number(None if m2 is None else m2 / 10_000, 2)


def _open():
    from vigie.settings import database_url
    from vigie.warehouse import connect

    try:
        from vigie.cli import state

        url = state.database or database_url()
    except ImportError:  # pragma: no cover
        url = database_url()
    if not url.startswith(("postgresql://", "postgres://")) and not Path(url).exists():
        raise VigieError(f"L'entrepôt « {url} » n'existe pas : lancez « vigie init » ou « vigie demo ».")
    return connect(url, create=False, read_only=True)


def zan(
    territoire: str = typer.Argument(..., help="Code du territoire : commune (62498), EPCI (246200364), SCoT, PMA…"),
    methode: str = typer.Option("moyenne", "--methode", "-m", help="Projection : « moyenne » ou « tendance »."),
    annees: Optional[int] = typer.Option(None, "--annees", "-n",
                                         help="Nombre d'années récentes de la projection (défaut : zan.yaml)."),
    niveau: Optional[str] = typer.Option(None, "--niveau", help="Niveau du code s'il est ambigu (commune, epci, scot…)."),
    configuration: Optional[Path] = typer.Option(None, "--configuration", "-c", help="Autre fichier zan.yaml."),
    communes: bool = typer.Option(False, "--communes", help="Afficher aussi le tableau par commune."),
    en_json: bool = typer.Option(False, "--json", help="Sortie JSON (pour un rapport ou un autre outil)."),
    pdf: bool = typer.Option(False, "--pdf", help="Écrire le rapport PDF (rapport local de suivi, partie consommation) "
                                                  "et son classeur XLSX."),
    sortie: Path = typer.Option(Path("publications"), "--sortie", "-o", help="Dossier du rapport PDF (avec --pdf)."),
    sans_donnees: bool = typer.Option(False, "--sans-donnees", help="Avec --pdf : ne pas écrire le classeur XLSX."),
) -> None:
    """Trajectoire ZAN : consommation d'espaces 2011-2020, enveloppe 2021-2030, consommé depuis 2021, projection."""
    from vigie.modules.foncier.zan import load_config, trajectory

    try:
        wh = _open()
        try:
            t = trajectory(wh, territoire, niveau, config=load_config(configuration) if configuration else None,
                           method=methode, years=annees)
        finally:
            wh.close()
    except VigieError as exc:
        err.print(f"[bold red]Erreur :[/bold red] {exc.message}", highlight=False)
        raise typer.Exit(1)
    if en_json:
        typer.echo(json.dumps(t.to_dict(), ensure_ascii=False, indent=1))
        return
    if pdf:
        from vigie.modules.foncier.report_zan import ZanReportData, write

        path, xlsx, pages = write(ZanReportData(t.to_dict()), sortie, datapack=not sans_donnees)
        console.print(f"{path} ({fmt.number(pages)} pages)" + (f" + {xlsx.name}" if xlsx else ""), highlight=False)
        return
    print_trajectory(t, communes)


def print_trajectory(t, show_communes: bool = False) -> None:
    (r0, r1), (p0, p1) = t.config["reference"], t.config["period"]
    console.print(f"[bold]Trajectoire ZAN — {t.territory['name']}[/bold] ({t.territory['level']} {t.territory['code']}, "
                  f"{fmt.number(t.territory['communes'])} commune(s), COG {t.cog})", highlight=False)
    if t.synthetic:
        console.print("[yellow]Flux de consommation : données fictives de démonstration.[/yellow]")
    table = Table(title="Consommation d'espaces naturels, agricoles et forestiers par année, en hectares "
                        "(flux du 1er janvier au 1er janvier suivant)")
    table.add_column("Année")
    table.add_column("Total", justify="right")
    for label in ("Habitat", "Activité", "Mixte", "Routes", "Ferroviaire", "Inconnue"):
        table.add_column(label, justify="right")
    for row in t.series:
        if row["status"] == "absent":
            table.add_row(str(row["year"]), "absent du fichier", *[""] * 6)
            continue
        table.add_row(str(row["year"]), _hectares(row["total_m2"]),
                      *[_hectares(row[f"{k}_m2"]) for k in ("habitat", "activite", "mixte", "routes", "ferroviaire", "inconnu")])
    console.print(table)

    ref, env, cons = t.reference, t.envelope, t.consumed
    lines = [
        f"Consommation de référence {r0}-{r1} : "
        + (_ha(ref["m2"]) + f" ({_ha(ref['annual_mean_m2'], 2)} par an)" if ref["complete"]
           else f"incomplète (au moins {_ha(ref['known_m2'])})"),
        f"Enveloppe {p0}-{p1} : " + (
            f"{_ha(env['m2'])} (sans la garantie communale : {_ha(env['without_floor_m2'])} ; "
            f"plancher appliqué à {fmt.number(env['floor_communes'])} commune(s))" if env["m2"] is not None else "non calculée"),
        f"Consommé depuis {p0} ({cons['years'][0]}-{cons['years'][-1]}) : " if cons["years"] else f"Consommé depuis {p0} : ",
    ]
    if cons["years"]:
        share = f", {fmt.percent(100 * cons['share_of_envelope'])} de l'enveloppe" if cons["share_of_envelope"] is not None else ""
        lines[-1] += ("" if cons["complete"] else "au moins ") + _ha(cons["m2"]) + share
    else:
        lines[-1] += "inconnu"
    if t.remaining_m2 is not None:
        lines.append(f"Enveloppe restante : {_ha(t.remaining_m2)}"
                     + (f", soit {_ha(t.allowed_pace_m2, 2)} par an jusqu'en {p1}" if t.allowed_pace_m2 is not None else ""))
    for line in lines:
        console.print(line, highlight=False)

    p = t.projection
    if p is not None:
        console.print(f"\n[bold]Projection à {p1} ({p.label})[/bold] : {p.statement}.", highlight=False)
        console.print(f"Consommation projetée {p0}-{p1} : {_ha(p.projected_total_m2)}", highlight=False)
        if p.excess_m2 is not None:
            if p.excess_m2 > 0:
                console.print(f"[red]Dépassement projeté de l'enveloppe : {_ha(p.excess_m2)}"
                              + (f", enveloppe épuisée en {p.exhausted_in}" if p.exhausted_in else "") + ".[/red]", highlight=False)
            else:
                console.print(f"[green]Marge projetée : {_ha(-p.excess_m2)} sous l'enveloppe.[/green]", highlight=False)

    dest = ref["by_destination_m2"]
    if ref["complete"] and ref["m2"]:
        parts = [f"{label} {fmt.percent(100 * dest[k] / ref['m2'])}" for k, label in
                 (("habitat", "habitat"), ("activite", "activité"), ("mixte", "mixte"), ("routes", "routes"),
                  ("ferroviaire", "ferroviaire"), ("inconnu", "inconnue")) if dest.get(k) is not None]
        console.print(f"Destinations {r0}-{r1} : " + ", ".join(parts) + ".", highlight=False)
    planned = t.planned_economic
    if planned["m2"] is not None:
        share = (f" ({fmt.percent(100 * planned['share_of_remaining'])} de l'enveloppe restante)"
                 if planned["share_of_remaining"] else "")
        console.print(f"Foncier économique encore prévu (zones AU) : {_ha(planned['m2'])}{share} — {planned['method']}.",
                      highlight=False)
    else:
        console.print(f"Foncier économique encore prévu (zones AU) : inconnu — {planned['method']}.", highlight=False)

    if t.comparison:
        comp = Table(title=f"Comparaison : territoires de même niveau du département, consommation {r0}-{r1} par habitant")
        for col in ("Rang", "Territoire", f"Conso. {r0}-{r1}", "m²/hab.", f"Conso. depuis {p0}"):
            comp.add_column(col, justify="left" if col == "Territoire" else "right")
        shown = t.comparison[:15] + [r for r in t.comparison[15:] if r["current"]]
        for row in shown:
            name = f"[bold]{row['name']}[/bold]" if row["current"] else row["name"]
            comp.add_row(str(row["rank"] or "–"), name, _ha(row["reference_m2"]),
                         fmt.number(row["reference_per_inhabitant_m2"], 1), _ha(row["consumed_m2"]))
        console.print(comp)

    if show_communes:
        ct = Table(title="Par commune")
        for col in ("Commune", f"Réf. {r0}-{r1}", "Réduction", "Enveloppe", "Plancher", f"Consommé depuis {p0}", "Reste"):
            ct.add_column(col, justify="left" if col == "Commune" else "right")
        for c in t.communes:
            ct.add_row(f"{c['name']} ({c['code']})", _ha(c["reference_m2"], 2), fmt.percent(100 * c["reduction"], 0),
                       _ha(c["envelope_m2"], 2), "oui" if c["floor_applied"] else "", _ha(c["consumed_m2"], 2),
                       _ha(c["remaining_m2"], 2))
        console.print(ct)

    for message in t.messages:
        console.print(f"[yellow]• {message}[/yellow]", highlight=False)
    console.print("[dim]Règles : " + " ".join(t.rules) + "[/dim]", highlight=False)
