"""Territory portraits and listings in the terminal (rich), in French."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from vigie import formatting as fmt
from vigie.engine.aggregate import territory_figures
from vigie.warehouse import Territory, Warehouse

LEVEL_LABELS = {
    "commune": "Commune",
    "epci": "EPCI",
    "departement": "Département",
    "region": "Région",
    "zone_emploi": "Zone d'emploi",
    "qpv": "Quartier prioritaire (QPV)",
    "iris": "IRIS",
    "pole_metropolitain": "Pôle métropolitain",
    "scot": "SCoT",
    "petr": "PETR",
}
SYNTHETIC_MARK = "données fictives de démonstration"
STATUS_TEXT = {"secret": "secret statistique", "missing": "non disponible", "fragile": "fragile"}


def level_label(level: str) -> str:
    return LEVEL_LABELS.get(level, level)


def show_territory(console: Console, wh: Warehouse, territory: Territory, all_indicators: bool = False) -> None:
    """Key figures of a territory: every year of the population series, the latest year of the others."""
    members = wh.members(territory) if territory.level != "commune" else pd.DataFrame()
    title = f"{territory.name} — {level_label(territory.level)} {territory.code} (COG {territory.cog})"
    console.print(f"[bold]{title}[/bold]")
    if len(members):
        console.print(f"{fmt.number(len(members))} communes au COG {territory.cog}")
    parents = wh.parents(territory)
    if len(parents):
        console.print("Appartient à : " + " ; ".join(f"{p['name']} ({level_label(p['level'])})" for _, p in parents.iterrows()))
    figures = territory_figures(wh, territory)
    if figures.empty:
        console.print("Aucune donnée pour ce territoire.")
        return
    series = {"pop_legale", "p_pop"}
    latest = figures[~figures["indicator"].isin(series)].sort_values("year").groupby("indicator").tail(1)
    shown = pd.concat([figures[figures["indicator"].isin(series)], latest if all_indicators else latest.head(0)])
    if not all_indicators:
        shown = pd.concat([shown, latest[latest["indicator"].isin(KEY_INDICATORS)]])
    table = Table(title="Chiffres clés", show_lines=False)
    table.add_column("Indicateur")
    table.add_column("Millésime")
    table.add_column("Valeur", justify="right")
    table.add_column("Remarque")
    synthetic_seen = False
    for _, row in shown.iterrows():
        remark = []
        if row["status"] != "ok":
            remark.append(STATUS_TEXT.get(row["status"], row["status"]))
            if row["members"] and row["covered"] < row["members"]:
                remark.append(f"{row['covered']}/{row['members']} communes renseignées")
        if bool(row["synthetic"]):
            remark.append(SYNTHETIC_MARK)
            synthetic_seen = True
        value = None if row["status"] in ("secret", "missing") else row["value"]
        table.add_row(
            str(row["label"]),
            fmt.vintage_words(row["vintage_label"], int(row["year"])),
            fmt.quantity(value, str(row["unit"] or ""), int(row["decimals"] or 0)),
            " ; ".join(remark),
        )
    console.print(table)
    if synthetic_seen:
        console.print(f"[yellow]Certaines valeurs sont des {SYNTHETIC_MARK}.[/yellow]")


KEY_INDICATORS = [
    "p_log", "p_rp", "p_logvac", "c_men", "p_act1564", "p_chom1564", "p_emplt",
    "nb_friches", "revenu_median_uc", "taux_vacance_lovac", "taux_lls",
]


def territories_table(frame: pd.DataFrame) -> Table:
    table = Table(title=f"{fmt.number(len(frame))} territoires")
    for col, label in (("level", "Niveau"), ("code", "Code"), ("name", "Nom"), ("cog", "COG")):
        table.add_column(label)
    for _, row in frame.iterrows():
        table.add_row(level_label(row["level"]), row["code"], row["name"], str(row["cog"]))
    return table


def sources_table(frame: pd.DataFrame) -> Table:
    table = Table(title=f"{fmt.number(len(frame))} fichiers importés")
    for label in ("N°", "Type", "Fichier", "Producteur", "Millésime", "Licence", "Lignes", "SHA-256", "Importé le"):
        table.add_column(label, no_wrap=label in ("Fichier", "SHA-256", "Lignes"))
    for _, row in frame.iterrows():
        table.add_row(
            str(row["id"]), row["kind"], row["file_name"] + (" (fictif)" if row["synthetic"] else ""), row["producer"],
            _text(row["vintage"]), _text(row["licence"]), fmt.number(row["rows"]), row["sha256"][:16] + "…",
            fmt.long_date(row["imported_at"]),
        )
    return table


def _text(value) -> str:
    return "–" if value is None or pd.isna(value) else str(value)
