"""The territories a statistical file refers to: codes checked against the warehouse, IRIS created on the fly.

Census and Filosofi files index values by commune, QPV or IRIS codes. Commune and QPV codes must already be in
the warehouse at the geography vintage (COG) of the file. IRIS have no referential of their own in the demo: the
first file that names an IRIS creates it (level `iris`, with its commune as parent, weight 1).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from vigie.errors import ImportValidationError
from vigie.sources.readers import check_codes
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
    bad = ~iris.str.match(IRIS_CODE)
    if bad.any():
        row = frame[bad].iloc[0]
        raise ImportValidationError(
            file,
            f"code IRIS invalide « {row[iris_column]} » (9 caractères attendus : code commune + 4 chiffres).",
            line=int(row["_line"]),
            column=iris_column,
        )
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
