"""`vigie enquete …`: import, weight, estimate and read the flows of a household survey, in the terminal.

The sub-application `app` is added to the main command with `app.add_typer(enquete_app, name="enquete")`; it uses
the warehouse the main command points to (`--base` or VIGIE_DATABASE).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from vigie import formatting as fmt
from vigie.errors import ImportValidationError, VigieError

app = typer.Typer(help="Enquête usages et pratiques du territoire : import, pondération, estimations, flux.",
                  no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True, soft_wrap=True)
SYNTHETIC_MARK = "données fictives de démonstration"


def _url() -> str:
    try:
        from vigie.cli import state

        if state.database:
            return state.database
    except ImportError:  # pragma: no cover - the main CLI is always there
        pass
    from vigie.settings import database_url

    return database_url()


def _open(read_only: bool = False):
    from vigie.warehouse import connect

    url = _url()
    if not url.startswith(("postgresql://", "postgres://")) and not Path(url).exists():
        raise VigieError(f"L'entrepôt « {url} » n'existe pas : lancez « vigie init » ou « vigie demo ».")
    return connect(url, create=not read_only, read_only=read_only)


def _fail(exc: VigieError) -> None:
    err.print(f"[bold red]Erreur :[/bold red] {exc.message}", highlight=False)
    raise typer.Exit(2 if isinstance(exc, ImportValidationError) else 1)


def _pair(text: Optional[str], what: str) -> tuple[float, float] | None:
    """« 0.5,2 » or, with decimal commas, « 0,5;2 » → (0.5, 2.0)."""
    if not text:
        return None
    parts = text.split(";") if ";" in text else text.split(",")
    try:
        low, high = (float(p.strip().replace(",", ".")) for p in parts)
    except ValueError:
        raise VigieError(f"{what} : deux nombres attendus (ex. 0.5,2 ou 0,5;2), reçu « {text} ».") from None
    return low, high


def _share(value) -> str:
    return fmt.percent(None if value is None or pd.isna(value) else 100.0 * float(value), 1)


def _save(frame: pd.DataFrame, path: Optional[Path]) -> None:
    if path is not None:
        frame.to_csv(path, index=False, sep=";", decimal=",")
        console.print(f"Tableau écrit dans {path}.")


@app.command("importer")
def importer(
    donnees: Path = typer.Argument(..., help="Fichier des réponses (CSV ou XLSX), une ligne par répondant."),
    dictionnaire: Path = typer.Option(..., "--dictionnaire", "-d", help="Dictionnaire des variables (YAML)."),
) -> None:
    """Importe une enquête : tout est vérifié avant l'écriture, qui se fait en une seule fois (tout ou rien)."""
    from vigie.modules.enquete.importer import import_survey
    from vigie.progress import reporter

    try:
        wh = _open()
        with reporter() as rep:
            result = import_survey(wh, donnees, dictionnaire, rep)
        wh.close()
    except VigieError as exc:
        _fail(exc)
    if result.unchanged:
        console.print(f"Enquête « {result.survey} » : fichier déjà importé (source n°{result.source_id}), aucun changement.")
    else:
        console.print(f"Enquête « {result.survey} » importée (source n°{result.source_id}) : {fmt.number(result.respondents)} "
                      f"répondants, {fmt.number(result.rows.get('survey_answer', 0))} réponses, "
                      f"{fmt.number(result.rows.get('survey_destination', 0))} destinations.")
        console.print("Lancez « vigie enquete ponderer » pour caler les poids.")


@app.command("ponderer")
def ponderer(
    enquete: str = typer.Argument(..., help="Identifiant de l'enquête."),
    methode: str = typer.Option("raking", "--methode", help="Méthode de calage : lineaire, raking ou logit."),
    bornes: Optional[str] = typer.Option(None, "--bornes", help="Bornes L,U des rapports poids calés / initiaux (logit), ex. 0.5,2."),
    ecretage: Optional[str] = typer.Option(None, "--ecretage", help="Écrêtage des rapports poids calés / initiaux, ex. 0.3,3."),
    marges: str = typer.Option("recensement", "--marges", help="« recensement » (marges de l'entrepôt) ou un fichier YAML de marges."),
    territoire: Optional[str] = typer.Option(None, "--territoire", help="Territoire d'étude des marges du recensement (défaut : celui du dictionnaire)."),
    population: Optional[float] = typer.Option(None, "--population", help="Population totale (ajoutée aux marges)."),
    schema: str = typer.Option("calage", "--schema", help="Nom de la pondération enregistrée."),
) -> None:
    """Cale les poids de l'enquête sur des marges (méthodes de Calmar) et enregistre la pondération et son bilan."""
    from vigie.modules.enquete.margins import census_margins, load_margins
    from vigie.modules.enquete.survey import load_survey
    from vigie.modules.enquete.weighting import weight_survey

    try:
        wh = _open()
        survey = load_survey(wh, enquete)
        notes: list[str] = []
        if marges == "recensement":
            census = census_margins(wh, survey.codebook, territoire)
            margin_list, notes = census.margins, census.notes
        else:
            margin_list, from_file = load_margins(Path(marges))
            population = population if population is not None else from_file
        result = weight_survey(wh, survey, margin_list, method=methode, bounds=_pair(bornes, "Bornes"),
                               trim=_pair(ecretage, "Écrêtage"), population=population, scheme=schema)
        wh.close()
    except VigieError as exc:
        _fail(exc)
    console.print(f"[bold]Pondération « {schema} » de l'enquête « {enquete} »[/bold]"
                  + (f" ({SYNTHETIC_MARK})" if survey.synthetic else ""))
    for line in notes + result.report.lines():
        console.print(line)
    table = Table(title="Marges : cible, avant et après calage", show_lines=False)
    for col in ("Variable", "Modalité", "Cible", "Avant", "Après"):
        table.add_column(col, justify="right" if col in ("Cible", "Avant", "Après") else "left")
    for _, row in result.report.margins.iterrows():
        table.add_row(str(row["variable"]), str(row["modalite"] or ""), fmt.number(row["cible"], 0),
                      fmt.number(row["avant"], 0), fmt.number(row["apres"], 0))
    console.print(table)


@app.command("estimer")
def estimer(
    enquete: str = typer.Argument(..., help="Identifiant de l'enquête."),
    variable: str = typer.Argument(..., help="Variable à estimer (qualitative : parts ; numérique : moyenne)."),
    par: Optional[str] = typer.Option(None, "--par", help="Variable de croisement (ex. age, sexe, epci, commune)."),
    schema: Optional[str] = typer.Option("calage", "--schema", help="Pondération à utiliser (« aucune » : poids de sondage)."),
    seuil: int = typer.Option(30, "--seuil", help="Effectif de répondants sous lequel une cellule est signalée fragile."),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Écrit aussi le tableau dans ce fichier CSV."),
) -> None:
    """Parts ou moyenne pondérées, avec erreurs types et intervalles de confiance à 95 % ; croisement et test de Rao-Scott."""
    from vigie.modules.enquete.survey import load_survey

    try:
        wh = _open(read_only=True)
        survey = load_survey(wh, enquete)
        scheme = None if not schema or schema == "aucune" else schema
        design = survey.design(scheme)
        frame = survey.frame
        for col in [variable] + ([par] if par else []):
            if col not in frame.columns:
                raise VigieError(f"Variable « {col} » inconnue ; variables : {', '.join(c for c in frame.columns if c != 'design_weight')}.")
        var = survey.codebook.variables.get(variable)
        numeric = var is not None and var.kind == "numeric"
        labels = var.modalities if var is not None else None
        group_labels = _group_labels(wh, survey, par) if par else None
        wh.close()
        title = f"{var.label if var else variable} — enquête « {enquete} »" + (f" ({SYNTHETIC_MARK})" if survey.synthetic else "")
        if numeric:
            if par:
                result = design.by(frame[variable].to_numpy(dtype=float), frame[par].to_numpy(dtype=object), "mean",
                                   min_count=seuil, group_labels=group_labels)
            else:
                est = design.mean(frame[variable].to_numpy(dtype=float))
                result = pd.DataFrame([{"groupe": "ensemble", "groupe_libelle": "Ensemble", "n": est.n, "valeur": est.value,
                                        "erreur_type": est.se,
                                        "ic_bas": est.ci_low, "ic_haut": est.ci_high, "fragile": est.n < seuil}])
            table = Table(title=f"Moyenne : {title}")
            for col in ("Groupe", "Répondants", "Moyenne", "Erreur type", "IC à 95 %", ""):
                table.add_column(col)
            for _, r in result.iterrows():
                table.add_row(str(r["groupe_libelle"]), fmt.number(r["n"]), fmt.number(r["valeur"], 2), fmt.number(r["erreur_type"], 2),
                              f"{fmt.number(r['ic_bas'], 2)} – {fmt.number(r['ic_haut'], 2)}", "fragile" if r["fragile"] else "")
            console.print(table)
            _save(result, csv)
            return
        values = frame[variable].to_numpy(dtype=object)
        if par:
            cross = design.crosstab(values, frame[par].to_numpy(dtype=object), min_count=seuil, labels=labels,
                                    group_labels=group_labels)
            result = cross.cells
        else:
            result = design.shares(values, labels=labels, min_count=seuil)
            result.insert(0, "groupe", "ensemble")
            result.insert(1, "groupe_libelle", "Ensemble")
            cross = None
        table = Table(title=f"Parts : {title}")
        for col in ("Groupe", "Modalité", "Répondants", "Part", "Erreur type", "IC à 95 %", ""):
            table.add_column(col)
        for _, r in result.iterrows():
            table.add_row(str(r["groupe_libelle"]), str(r["libelle"]), fmt.number(r["n"]), _share(r["part"]),
                          fmt.number(100 * r["erreur_type"], 1) + " pt", f"{_share(r['ic_bas'])} – {_share(r['ic_haut'])}",
                          "fragile" if r["fragile"] else "")
        console.print(table)
        if cross is not None and cross.test is not None:
            console.print(cross.test.sentence())
        if result["fragile"].any():
            console.print(f"[yellow]« fragile » : moins de {seuil} répondants dans la cellule, estimation peu fiable.[/yellow]")
        _save(result, csv)
    except VigieError as exc:
        _fail(exc)


def _group_labels(wh, survey, variable: str) -> dict[str, str]:
    """Labels of a grouping variable: its modalities, or the names of the communes / EPCI."""
    if variable in ("commune", "epci"):
        names = wh.query_df("SELECT code, name FROM territory WHERE level = ? AND cog = ?", (variable, survey.cog))
        return dict(zip(names["code"], names["name"]))
    var = survey.codebook.variables.get(variable)
    return dict(var.modalities) if var is not None else {}


VIEWS = {"synthese": "Synthèse par motif", "attraction": "Attraction des pôles", "flux": "Flux domicile → destination",
         "chalandise": "Zones de chalandise", "evasion": "Évasion hors du territoire"}


@app.command("flux")
def flux(
    enquete: str = typer.Argument(..., help="Identifiant de l'enquête."),
    motif: Optional[str] = typer.Option(None, "--motif", help="Motif : loisirs, sport, culture, sante, demarches, achats_quotidiens, achats_occasionnels."),
    vue: str = typer.Option("attraction", "--vue", help="synthese, attraction, flux, chalandise ou evasion."),
    origine: str = typer.Option("commune", "--origine", help="Origine des flux : commune ou epci."),
    pole: Optional[str] = typer.Option(None, "--pole", help="Code d'un pôle : sa zone de chalandise seulement."),
    territoire: Optional[str] = typer.Option(None, "--territoire", help="Territoire d'étude pour l'évasion (défaut : celui du dictionnaire)."),
    schema: Optional[str] = typer.Option("calage", "--schema", help="Pondération à utiliser (« aucune » : poids de sondage)."),
    seuil: int = typer.Option(30, "--seuil", help="Effectif de répondants sous lequel une part est signalée fragile."),
    lignes: int = typer.Option(25, "--lignes", help="Nombre de lignes affichées (le CSV les a toutes)."),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Écrit le tableau complet dans ce fichier CSV (codes prêts pour une carte)."),
) -> None:
    """Flux domicile → pôles par motif : attraction des pôles, flux, zones de chalandise, évasion hors du territoire."""
    from vigie.modules.enquete.flows import FlowReader
    from vigie.modules.enquete.survey import load_survey

    try:
        if vue not in VIEWS:
            raise VigieError(f"Vue « {vue} » inconnue : {', '.join(VIEWS)}.")
        if vue != "synthese" and not motif:
            raise VigieError("Précisez le motif (--motif), ou demandez la synthèse (--vue synthese).")
        wh = _open(read_only=True)
        survey = load_survey(wh, enquete)
        reader = FlowReader(survey, None if not schema or schema == "aucune" else schema, territory=territoire, min_count=seuil)
        if vue == "synthese":
            result = reader.summary()
        elif vue == "attraction":
            result = reader.attraction(motif)
        elif vue == "flux":
            result = reader.flows(motif, origine).sort_values(["origine", "part"], ascending=[True, False], ignore_index=True)
        elif vue == "chalandise":
            result = reader.catchment(motif, origine, pole)
        else:
            result = reader.leakage(motif, "epci" if origine == "epci" else "commune")
        wh.close()
    except VigieError as exc:
        _fail(exc)
    mark = f" ({SYNTHETIC_MARK})" if survey.synthetic else ""
    from vigie.modules.enquete.codebook import MOTIVES

    table = Table(title=f"{VIEWS[vue]} — {MOTIVES.get(motif, 'tous motifs') if motif else 'tous motifs'} — enquête « {enquete} »{mark}")
    shown = result.head(lignes)
    if vue == "synthese":
        for col in ("Motif", "Pratiquants", "Première destination", "Part", "Évasion"):
            table.add_column(col)
        for _, r in shown.iterrows():
            table.add_row(r["motif_libelle"], _share(r["pratiquants"]), str(r["premiere_destination_nom"]),
                          _share(r["part_premiere_destination"]), _share(r.get("evasion")))
    elif vue == "attraction":
        for col in ("Pôle", "Code", "Déplacements", "Part", "IC à 95 %", "Répondants", ""):
            table.add_column(col)
        for _, r in shown.iterrows():
            table.add_row(str(r["destination_nom"]), str(r["destination"]), fmt.number(r["deplacements"]), _share(r["part"]),
                          f"{_share(r['ic_bas'])} – {_share(r['ic_haut'])}", fmt.number(r["repondants"]), "fragile" if r["fragile"] else "")
    elif vue in ("flux", "chalandise"):
        dest = "pole_nom" if vue == "chalandise" else "destination_nom"
        for col in ("Origine", "Destination", "Part des déplacements", "IC à 95 %", "Répondants", ""):
            table.add_column(col)
        for _, r in shown.iterrows():
            table.add_row(str(r["origine_nom"]), str(r[dest]), _share(r["part"]), f"{_share(r['ic_bas'])} – {_share(r['ic_haut'])}",
                          fmt.number(r["repondants_origine"]), "fragile" if r["fragile"] else "")
    else:
        for col in ("Origine", "Évasion", "IC à 95 %", "Répondants", ""):
            table.add_column(col)
        for _, r in shown.iterrows():
            table.add_row(str(r["origine_nom"]), _share(r["evasion"]), f"{_share(r['ic_bas'])} – {_share(r['ic_haut'])}",
                          fmt.number(r["repondants"]), "fragile" if r["fragile"] else "")
    console.print(table)
    if len(result) > lignes:
        console.print(f"{fmt.number(len(result) - lignes)} ligne(s) de plus : option --csv pour le tableau complet.")
    _save(result, csv)


@app.command("entretiens")
def entretiens(
    enquete: str = typer.Argument(..., help="Identifiant de l'enquête."),
    notes: Optional[Path] = typer.Argument(None, help="Fichier CSV des notes d'entretien à importer (sinon : lecture seule)."),
    grille: Optional[Path] = typer.Option(None, "--grille", help="Grille de thèmes (YAML) ; défaut : la grille fournie avec Vigie."),
    par: Optional[str] = typer.Option(None, "--par", help="Compte les thèmes par profil (sexe, age, csp, commune…)."),
    theme: Optional[str] = typer.Option(None, "--theme", help="Affiche les citations de ce thème."),
) -> None:
    """Importe et code des notes d'entretien avec une grille de thèmes ; compte les thèmes et affiche les citations."""
    from vigie.modules.enquete.interviews import import_interviews, quotations, theme_counts
    from vigie.modules.enquete.synthetic import GRID

    try:
        wh = _open(read_only=notes is None)
        if notes is not None:
            result = import_interviews(wh, notes, grille or GRID, enquete)
            console.print(f"{fmt.number(result.interviews)} entretien(s) de l'enquête « {enquete} » "
                          + ("déjà importés." if result.unchanged else f"importés, {fmt.number(result.codings)} extrait(s) codé(s)."))
        counts = theme_counts(wh, enquete, par)
        quotes = quotations(wh, enquete, theme) if theme else None
        wh.close()
    except VigieError as exc:
        _fail(exc)
    table = Table(title="Thèmes des entretiens" + (f" par {par}" if par else ""))
    for col in ("Thème", "Groupe", "Entretiens", "Part", "Extraits"):
        table.add_column(col)
    for _, r in counts.iterrows():
        table.add_row(r["theme_libelle"], str(r["groupe"]), f"{r['entretiens']} / {r['entretiens_groupe']}", _share(r["part"]),
                      fmt.number(r["extraits"]))
    console.print(table)
    if quotes is not None:
        for _, q in quotes.iterrows():
            console.print(f"« {q['citation']} » — {q['entretien']} ({q['profil']})")


@app.command("rapport")
def rapport(
    enquete: Optional[str] = typer.Option(None, "--enquete", help="Identifiant de l'enquête (défaut : la seule de l'entrepôt)."),
    sortie: Path = typer.Option(Path("publications"), "--sortie", "-o", help="Dossier où écrire le PDF et son classeur XLSX (défaut : ./publications)."),
    schema: str = typer.Option("calage", "--schema", help="Pondération à utiliser (« aucune » : poids de sondage)."),
    sans_donnees: bool = typer.Option(False, "--sans-donnees", help="Ne pas écrire le classeur XLSX des chiffres."),
) -> None:
    """Rapport d'enquête en PDF : méthode, flux et zones de chalandise par motif, estimations, entretiens ; et son classeur XLSX."""
    from vigie.modules.enquete.report import make_report
    from vigie.modules.enquete.survey import surveys

    try:
        wh = _open(read_only=True)
        try:
            if enquete is None:
                known = list(surveys(wh)["id"])
                if not known:
                    raise VigieError("Aucune enquête dans l'entrepôt : « vigie enquete importer » ou « vigie enquete demo ».")
                if len(known) > 1:
                    raise VigieError(f"Plusieurs enquêtes dans l'entrepôt ({', '.join(known)}) : précisez --enquete.")
                enquete = known[0]
            made = make_report(wh, enquete, sortie, scheme=None if schema == "aucune" else schema,
                               datapack=not sans_donnees)
        finally:
            wh.close()
    except VigieError as exc:
        _fail(exc)
    console.print(f"{made.pdf} ({fmt.number(made.pages)} pages)"
                  + (f" + {made.xlsx.name} ({fmt.number(made.figures)} chiffres)" if made.xlsx else ""), highlight=False)


@app.command("liste")
def liste() -> None:
    """Liste les enquêtes de l'entrepôt."""
    from vigie.modules.enquete.survey import surveys

    try:
        wh = _open(read_only=True)
        frame = surveys(wh)
        wh.close()
    except VigieError as exc:
        _fail(exc)
    table = Table(title="Enquêtes")
    for col in ("Identifiant", "Titre", "Répondants", "Pondérations", ""):
        table.add_column(col)
    for _, r in frame.iterrows():
        table.add_row(r["id"], r["title"], fmt.number(r["respondents"]), fmt.number(r["weightings"]),
                      SYNTHETIC_MARK if r["synthetic"] else "")
    console.print(table if len(frame) else "Aucune enquête dans l'entrepôt : « vigie enquete importer » ou « vigie enquete demo ».")


@app.command("demo")
def demo(
    territoire: str = typer.Option("PMA", "--territoire", help="Territoire d'étude (territoire personnalisé)."),
    graine: int = typer.Option(2026, "--graine", help="Graine du tirage (même graine, mêmes données)."),
    dossier: Optional[Path] = typer.Option(None, "--dossier", help="Garde les fichiers générés dans ce dossier."),
) -> None:
    """Génère, importe et pondère l'enquête fictive de démonstration (1 000 répondants, 20 entretiens)."""
    from vigie.modules.enquete.synthetic import build_demo_survey

    try:
        wh = _open()
        result = build_demo_survey(wh, territory=territoire, seed=graine, directory=dossier)
        wh.close()
    except VigieError as exc:
        _fail(exc)
    console.print(f"Enquête « {result.survey} » ({SYNTHETIC_MARK}) : {fmt.number(result.respondents)} répondants, "
                  f"{fmt.number(result.interviews)} entretiens, pondération « calage » :")
    for line in result.weighting.report.lines():
        console.print(line)


__all__ = ["app"]
