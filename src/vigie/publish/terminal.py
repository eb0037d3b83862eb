"""Territory portraits and listings in the terminal (rich), in French."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from vigie import formatting as fmt
from vigie.engine.query import Engine
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
STATUS_TEXT = {"secret": "secret statistique", "missing": "non disponible", "fragile": "fragile (petits effectifs)"}
SERIES = ["population_legale", "population"]


def level_label(level: str) -> str:
    return LEVEL_LABELS.get(level, level)


def _value(engine: Engine, indicator: str, value) -> str:
    d = engine.indicator(indicator)
    return fmt.quantity(value, d.unit, d.decimals)


def show_territory(console: Console, wh: Warehouse, territory: Territory, engine: Engine,
                   all_indicators: bool = False, reference: Territory | None = None) -> None:
    """Population series, then key figures with their evolution and the value of a reference territory."""
    title = f"{territory.name} — {level_label(territory.level)} {territory.code}"
    console.print(f"[bold]{title}[/bold] (géographie au 1er janvier {engine.cog})")
    if territory.level != "commune":
        members = wh.members(territory, cog=engine.cog)
        if len(members):
            console.print(f"{fmt.number(len(members))} communes")
    refs = engine.references(territory)
    if refs:
        console.print("Appartient à : " + " ; ".join(f"{r.name} ({level_label(r.level)})" for r in refs))
    reference = reference or (refs[0] if refs else None)
    synthetic_seen = False

    series = Table(title="Population")
    for label, justify in (("Indicateur", "left"), ("Millésime", "left"), ("Valeur", "right"), ("Remarque", "left")):
        series.add_column(label, justify=justify)
    for indicator in SERIES:
        d = engine.indicator(indicator)
        for _, row in engine.values(indicator, territory.level, [territory.code]).iterrows():
            remark = _remark(row)
            synthetic_seen |= bool(row["synthetic"])
            series.add_row(d.label, _vintage(wh, d.variable, int(row["year"])), _value(engine, indicator, row["value"]), remark)
    console.print(series)

    table = Table(title="Chiffres clés")
    for label, justify in (("Indicateur", "left"), ("Millésime", "left"), ("Valeur", "right"), ("Évolution", "right"),
                           (f"{reference.name}" if reference else "Référence", "right"), ("Remarque", "left")):
        table.add_column(label, justify=justify)
    chosen = [d for d in engine.catalogue.values() if d.id not in SERIES and (all_indicators or d.key)]
    for d in chosen:
        rows = engine.values(d.id, territory.level, [territory.code])
        if rows.empty:
            continue
        shown = rows[rows["status"].isin(["ok", "fragile"])]
        rows = shown if len(shown) else rows  # the latest year with a figure, else say why there is none
        last = rows.iloc[-1]
        year = int(last["year"])
        evolution = ""
        if len(rows) > 1:
            first = int(rows.iloc[0]["year"])
            ev = engine.evolution(d.id, territory, first, year)
            if ev.points is not None:
                evolution = f"{fmt.points(ev.points)} depuis {first}"
            elif ev.percent is not None:
                evolution = f"{fmt.signed_percent(ev.percent)} depuis {first}"
        ref_text = ""
        if reference is not None:
            ref = engine.figure(d.id, reference, year)
            ref_text = _value(engine, d.id, ref["value"]) if ref["value"] is not None else "–"
        synthetic_seen |= bool(last["synthetic"])
        table.add_row(d.label, str(year), _value(engine, d.id, last["value"]), evolution, ref_text, _remark(last))
    console.print(table)
    if synthetic_seen:
        console.print(f"[yellow]Les valeurs marquées sont des {SYNTHETIC_MARK}.[/yellow]")


def _remark(row) -> str:
    remark = []
    if row["status"] != "ok":
        remark.append(STATUS_TEXT.get(row["status"], row["status"]))
        if row["members"] and row["covered"] < row["members"]:
            remark.append(f"{int(row['covered'])}/{int(row['members'])} communes renseignées")
    if bool(row["synthetic"]):
        remark.append(SYNTHETIC_MARK)
    return " ; ".join(remark)


def _vintage(wh: Warehouse, variable: str, year: int) -> str:
    rows = wh.query("SELECT vintage_label FROM indicator WHERE id = ?", (variable,))
    return fmt.vintage_words(rows[0][0] if rows else None, year)


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
