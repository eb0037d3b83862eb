"""Test helpers that build small warehouses without going through the importers."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from vigie.warehouse import Warehouse


def add_source(wh: Warehouse, kind: str = "test", dataset: str = "test:seed") -> int:
    source_id = int(wh.query("SELECT coalesce(max(id), 0) + 1 FROM source")[0][0])
    wh.execute(
        "INSERT INTO source (id, kind, dataset, title, producer, file_name, vintage, licence, sha256, imported_at, rows, synthetic) "
        "VALUES (?, ?, ?, 'jeu de test', 'tests', 'seed.csv', NULL, NULL, ?, ?, 0, false)",
        (source_id, kind, dataset, f"sha-{source_id}", datetime(2026, 1, 1)),
    )
    return source_id


def seed_communes(wh: Warehouse, communes: dict[str, str], cog: int = 2026, epci: dict[str, list[str]] | None = None) -> int:
    """Insert communes {code: name} at `cog`, and optionally EPCI {siren: [commune codes]} with memberships."""
    sid = add_source(wh, dataset=f"test:seed:{cog}:{len(communes)}")
    rows = [("commune", c, cog, n, sid) for c, n in communes.items()]
    members = []
    for siren, codes in (epci or {}).items():
        rows.append(("epci", siren, cog, f"EPCI {siren}", sid))
        members += [(cog, "commune", c, "epci", siren, 1.0, sid) for c in codes]
    wh.insert_frame("territory", pd.DataFrame(rows, columns=["level", "code", "cog", "name", "source_id"]))
    if members:
        wh.insert_frame(
            "membership",
            pd.DataFrame(members, columns=["cog", "child_level", "child_code", "parent_level", "parent_code", "weight", "source_id"]),
        )
    return sid
