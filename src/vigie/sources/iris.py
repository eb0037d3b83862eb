"""What a statistical file must agree with in the warehouse: its territory codes, the IRIS it introduces, and
the figures other sources already hold.

Census, Filosofi and generic CSV files index values by commune, QPV, IRIS or other codes. Those codes must already
be in the warehouse at the geography vintage (COG) of the file. IRIS have no referential of their own in the demo:
the first file that names an IRIS creates it (level `iris`, with its commune as parent, weight 1). A figure that
another source already wrote (same indicator, territory, year and COG) is refused rather than overwritten.
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd

from vigie.errors import ImportValidationError
from vigie.sources.readers import check_codes, reject_first
from vigie.warehouse import Warehouse

IRIS_CODE = re.compile(r"^[0-9][0-9AB][0-9]{7}$")

LEVEL_WORDS = {"commune": "commune", "qpv": "QPV", "iris": "IRIS", "epci": "EPCI", "zone_emploi": "zone d'emploi"}


def territory_codes(wh: Warehouse, level: str, cog: int, file: str, column: str | None = None, *, dataset: str | None = None) -> set[str]:
    """Codes of `level` known at `cog`. An empty set is an error that says which referential is missing.

    With `dataset`, territories written by an earlier import of that same dataset are left out: the new
    import replaces them.
    """
    sql, params = "SELECT code FROM territory WHERE level = ? AND cog = ?", [level, cog]
    if dataset is not None:
        sql += " AND source_id NOT IN (SELECT id FROM source WHERE dataset = ?)"
        params.append(dataset)
    codes = {r[0] for r in wh.query(sql, params)}
    if not codes:
        known = wh.cogs(level)
        have = f" (l'entrepôt en connaît pour : {', '.join(map(str, known))})" if known else ""
        raise ImportValidationError(
            file,
            f"l'entrepôt ne contient aucun territoire de niveau « {level} » au COG {cog}{have}. "
            f"Importez d'abord le référentiel ou la table d'appartenance de ce millésime, "
            f"ou indiquez le millésime des codes du fichier avec --option cog=….",
            column=column,
        )
    return codes


def check_territory_codes(wh: Warehouse, frame: pd.DataFrame, column: str, level: str, cog: int, file: str) -> None:
    """Every code of `column` must name a territory of `level` at `cog` (error at the first unknown one)."""
    known = territory_codes(wh, level, cog, file, column)
    check_codes(frame, column, known, file, what=f"{LEVEL_WORDS.get(level, level)} (COG {cog})")


def iris_territories(
    wh: Warehouse,
    frame: pd.DataFrame,
    *,
    file: str,
    dataset: str,
    cog: int,
    iris_column: str,
    commune_column: str | None = None,
    name_column: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Territory rows for the IRIS of `frame` not yet in the warehouse at `cog`, and their iris→commune memberships.

    Checks every IRIS code (9 characters) and its commune (the `commune_column`, else the first 5 characters of
    the IRIS code) against the communes of the warehouse at `cog`; an IRIS already attached to another commune
    is an error. Returns (territory, membership) frames without `source_id`.
    """
    iris = frame[iris_column].astype(str)
    reject_first(frame, ~iris.str.match(IRIS_CODE), file, iris_column,
                 "code IRIS invalide « {value} » (9 caractères attendus : code commune + 4 chiffres).")
    check = pd.DataFrame({"_line": frame["_line"].to_numpy()})
    check_column = commune_column or iris_column
    check[check_column] = frame[commune_column].astype(str).to_numpy() if commune_column else iris.str[:5].to_numpy()
    communes = dict(wh.query("SELECT code, name FROM territory WHERE level = 'commune' AND cog = ?", (cog,)))
    if not communes:
        territory_codes(wh, "commune", cog, file, check_column)  # raises the "no referential" error
    check_codes(check, check_column, communes, file, what=f"commune (COG {cog})")
    parent = check[check_column].to_numpy()

    others = " AND source_id NOT IN (SELECT id FROM source WHERE dataset = ?)"
    known = {r[0] for r in wh.query("SELECT code FROM territory WHERE level = 'iris' AND cog = ?" + others, (cog, dataset))}
    attached = dict(
        wh.query(
            "SELECT child_code, parent_code FROM membership WHERE cog = ? AND child_level = 'iris' "
            "AND parent_level = 'commune'" + others,
            (cog, dataset),
        )
    )
    codes = iris.to_numpy(dtype=object)
    elsewhere = pd.Series(codes).map(attached).to_numpy(dtype=object)
    conflict = pd.notna(elsewhere) & (elsewhere != parent)
    if conflict.any():
        i = int(np.flatnonzero(conflict)[0])
        raise ImportValidationError(
            file,
            f"l'IRIS « {codes[i]} » appartient à la commune « {elsewhere[i]} » dans l'entrepôt (COG {cog}), "
            f"pas à « {parent[i]} ».",
            line=int(frame["_line"].iloc[i]),
            column=check_column,
        )

    new = ~np.isin(codes, list(known))
    if name_column:
        names = frame[name_column].astype(str).str.strip().to_numpy()
    else:
        names = np.array([""] * len(codes), dtype=object)
    fallback = np.array([f"IRIS {c} ({communes[p]})" for c, p in zip(codes, parent)], dtype=object)
    names = np.where(names == "", fallback, names)
    territory = pd.DataFrame(
        {"level": "iris", "code": codes[new], "cog": cog, "name": names[new]},
        columns=["level", "code", "cog", "name"],
    )
    missing = ~np.isin(codes, list(attached))
    membership = pd.DataFrame(
        {
            "cog": cog,
            "child_level": "iris",
            "child_code": codes[missing],
            "parent_level": "commune",
            "parent_code": parent[missing],
            "weight": 1.0,
        },
        columns=["cog", "child_level", "child_code", "parent_level", "parent_code", "weight"],
    )
    return territory, membership


def check_overlap(
    wh: Warehouse,
    frame: pd.DataFrame,
    table: str,
    *,
    dataset: str,
    file: str,
    locate: Callable[[dict], tuple[int | None, str | None]],
) -> None:
    """Figures already written by ANOTHER dataset (same indicator, territory, year and COG, or period) are an error.

    Two sources cannot both hold the same figure: the warehouse key forbids it, and silently keeping either one
    would hide where a number comes from. `locate(row)` gives the (line, column) of a conflicting batch row.
    """
    if frame is None or frame.empty:
        return
    indicators = sorted(frame["indicator"].unique())
    marks = ", ".join("?" * len(indicators))
    time = "period" if table == "series" else "year"
    where, params = [f"v.indicator IN ({marks})", "s.dataset <> ?"], [*indicators, dataset]
    for column in ("level", "cog", "year") if table == "value" else ("level",):
        levels = frame[column].unique()
        where.append(f"v.{column} IN ({', '.join('?' * len(levels))})")
        params += [x.item() if hasattr(x, "item") else x for x in levels]
    keys = ["indicator", "level", "code", time] + (["cog"] if table == "value" else [])
    existing = wh.query_df(
        f"SELECT {', '.join('v.' + k for k in keys)}, s.file_name FROM {table} v JOIN source s ON s.id = v.source_id "
        f"WHERE {' AND '.join(where)}",
        params,
    )
    if existing.empty:
        return
    for k in keys:
        existing[k] = existing[k].astype(frame[k].dtype) if k in ("year", "cog") else existing[k].astype(str)
    both = frame[keys].astype({"indicator": str, "level": str, "code": str}).merge(existing, on=keys, how="inner")
    if both.empty:
        return
    row = both.iloc[0].to_dict()
    line, column = locate(row)
    when = f"période {row[time]}" if table == "series" else f"{row['year']}, COG {row['cog']}"
    raise ImportValidationError(
        file,
        f"la valeur de « {row['indicator']} » pour « {row['code']} » ({when}) est déjà dans l'entrepôt, importée depuis "
        f"« {row['file_name']} » : un même chiffre ne peut venir que d'une source. Retirez l'autre source ou "
        "donnez un autre identifiant à l'indicateur.",
        line=line,
        column=column,
    )
