"""Demo step of the ZAN module: synthetic Cerema consumption flows for every commune of the demo warehouse (the
Pas-de-Calais at COG 2023, as the real 2009–2023 file), written in the real layout and imported through the real
importer, marked synthetic (« données fictives de démonstration »).

Must run **before** the cube is built (its values are summed by the cube to EPCI, SCoT, PMA; the three communes
merged between COG 2024 and 2025 are carried by the COG passages):

    from vigie.modules.foncier.zan_demo import build_zan_demo
    build_zan_demo(wh)                      # then build_cube(wh)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from vigie.modules.foncier.cerema import CeremaConsommationImporter
from vigie.modules.foncier.consommation_synthetic import CommuneFlows, synthetic_flows, write_cerema_file
from vigie.sources.base import ImportReport, run_import
from vigie.warehouse import Warehouse

DEMO_COG = 2023
DEMO_YEARS = list(range(2009, 2023))  # flows naf09art10 … naf22art23, as the real « 2009-2023 » file
FILE_NAME = "conso_com_2009_2023.csv"
DEMO_NOTICE = "données fictives de démonstration"


def build_zan_demo(wh: Warehouse, seed: int = 2026, work_dir: Path | None = None) -> ImportReport:
    """Generate the synthetic Cerema file for the communes of the warehouse at COG 2023 and import it."""
    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix="vigie-zan-") as tmp:
            return build_zan_demo(wh, seed, Path(tmp))
    path = write_demo_file(wh, Path(work_dir) / FILE_NAME, seed)
    importer = CeremaConsommationImporter(path, cog=DEMO_COG, synthetic=True)
    return run_import(wh, importer, title=f"Consommation d'espaces NAF par commune ({DEMO_NOTICE})",
                      producer=f"Vigie, au format du Cerema ({DEMO_NOTICE})")


def write_demo_file(wh: Warehouse, path: Path, seed: int = 2026) -> Path:
    communes = wh.query_df(
        "SELECT code, name FROM territory WHERE level = 'commune' AND cog = ? ORDER BY code", (DEMO_COG,))
    parents = wh.query_df(
        "SELECT m.child_code AS code, m.parent_level AS level, m.parent_code AS parent, t.name FROM membership m "
        "LEFT JOIN territory t ON t.level = m.parent_level AND t.code = m.parent_code AND t.cog = m.cog "
        "WHERE m.cog = ? AND m.child_level = 'commune' AND m.parent_level IN ('epci', 'scot')", (DEMO_COG,))
    epci = {r.code: (r.parent, r.name or "") for r in parents[parents["level"] == "epci"].itertuples()}
    scot = {r.code: r.name or "" for r in parents[parents["level"] == "scot"].itertuples()}
    population = _population(wh)
    areas = dict(wh.query(
        "SELECT code, area_km2 FROM territory_geometry WHERE level = 'commune' "
        "AND cog = (SELECT max(cog) FROM territory_geometry WHERE level = 'commune')"))
    rng = np.random.default_rng(seed)
    rows = []
    for code, name in zip(communes["code"], communes["name"]):
        area = float(areas.get(code, 7.5))
        pop = int(population.get(code, 600))
        rows.append(CommuneFlows(
            code, name, synthetic_flows(area, pop, DEMO_YEARS, rng),
            departement=(code[:2], "Pas-de-Calais" if code.startswith("62") else ""),
            epci=epci.get(code, ("", "")), scot=scot.get(code, ""),
            population=(pop, pop), area_m2=int(area * 1_000_000),
        ))
    return write_cerema_file(path, rows, DEMO_YEARS)


def _population(wh: Warehouse) -> dict[str, float]:
    rows = wh.query(
        "SELECT code, value FROM value WHERE indicator = 'pop_legale' AND level = 'commune' AND status = 'ok' AND cog = "
        "(SELECT max(cog) FROM value WHERE indicator = 'pop_legale' AND level = 'commune' AND cog <= ?)", (DEMO_COG,))
    return {code: value for code, value in rows if value is not None}
