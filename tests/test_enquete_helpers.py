"""Helpers shared by the survey module's tests (this file holds no test): a small territory like the demo's."""

from __future__ import annotations

import pandas as pd
import shapely

from vigie.warehouse import Warehouse

from tests.conftest import FIXTURES
from tests.support import add_source, seed_communes

MINI = FIXTURES / "survey" / "mini"
CALL, CAHC, CABBALR, CUA = "246200364", "246200299", "200072460", "200033579"
COMMUNES = {"62498": "Lens", "62510": "Liévin", "62119": "Béthune", "62427": "Hénin-Beaumont", "62041": "Arras"}
EPCI = {CALL: ["62498", "62510"], CABBALR: ["62119"], CAHC: ["62427"], CUA: ["62041"]}
PMA_COMMUNES = ["62119", "62427", "62498", "62510"]


def seed_territory(wh: Warehouse, cog: int = 2026) -> None:
    """Five communes, their EPCI, and the PMA (Lens, Liévin, Béthune, Hénin-Beaumont; Arras outside)."""
    seed_communes(wh, COMMUNES, cog=cog, epci=EPCI)
    sid = add_source(wh, dataset=f"test:pma:{cog}")
    wh.insert_frame("territory", pd.DataFrame([("pole_metropolitain", "PMA", cog, "Pôle Métropolitain de l'Artois", sid)],
                                              columns=["level", "code", "cog", "name", "source_id"]))
    wh.insert_frame("membership", pd.DataFrame(
        [(cog, "commune", c, "pole_metropolitain", "PMA", 1.0, sid) for c in PMA_COMMUNES],
        columns=["cog", "child_level", "child_code", "parent_level", "parent_code", "weight", "source_id"]))


# Lambert-93 centroids (km) of the seeded communes, for the synthetic survey's distances.
CENTRES = {"62498": (686.0, 7036.0), "62510": (680.0, 7036.0), "62119": (661.0, 7044.0), "62427": (695.0, 7033.0),
           "62041": (684.0, 7022.0)}


def seed_geometries(wh: Warehouse, cog: int = 2026) -> None:
    sid = add_source(wh, dataset=f"test:contours:{cog}")
    rows = []
    for code, (x, y) in CENTRES.items():
        square = shapely.box(x * 1000 - 2000, y * 1000 - 2000, x * 1000 + 2000, y * 1000 + 2000)
        rows.append({"level": "commune", "code": code, "cog": cog, "area_km2": 16.0, "geom": square,
                     "geom_web": shapely.box(2.8, 50.4, 2.81, 50.41), "source_id": sid})
    wh.insert_frame("territory_geometry", pd.DataFrame(rows))


# Census cells (population of 15 or more) per commune: sex × age group, then CS1 1..8.
CENSUS = {
    "62498": ([3000, 2500, 2600, 2200, 1000], [3100, 2600, 2800, 2500, 1700], [10, 300, 700, 1800, 2700, 3000, 5500, 4990]),
    "62510": ([2800, 2400, 2500, 2000, 900], [2900, 2500, 2600, 2300, 1500], [10, 280, 600, 1700, 2600, 2900, 5000, 4310]),
    "62119": ([2700, 2300, 2400, 2100, 1000], [2800, 2400, 2600, 2400, 1600], [20, 300, 800, 1700, 2600, 2700, 5200, 4980]),
    "62427": ([2300, 2000, 2100, 1800, 800], [2400, 2100, 2200, 2000, 1300], [10, 250, 500, 1400, 2200, 2500, 4300, 3840]),
    "62041": ([3500, 2600, 2500, 2200, 1100], [3700, 2800, 2700, 2600, 1900], [30, 500, 2000, 2500, 3000, 2000, 5500, 8070]),
}
AGES = ["1529", "3044", "4559", "6074", "75p"]


def seed_census(wh: Warehouse, year: int = 2021, cog: int = 2023) -> None:
    """Census values of the seeded communes (at the census's own COG, as the synthetic census stores them)."""
    seed_communes(wh, COMMUNES, cog=cog, epci=EPCI)
    sid = add_source(wh, dataset=f"test:census:{year}")
    rows = []
    for code, (men, women, csp) in CENSUS.items():
        rows += [(f"p_h{a}", code, float(v)) for a, v in zip(AGES, men)]
        rows += [(f"p_f{a}", code, float(v)) for a, v in zip(AGES, women)]
        rows += [(f"c_pop15p_cs{i}", code, float(v)) for i, v in enumerate(csp, start=1)]
        rows.append(("p_pop", code, float(sum(men) + sum(women)) / 0.82))
    frame = pd.DataFrame(rows, columns=["indicator", "code", "value"]).assign(
        level="commune", year=year, cog=cog, status="ok", source_id=sid)
    wh.insert_frame("value", frame)
    seed_pma_membership(wh, cog)


def seed_pma_membership(wh: Warehouse, cog: int) -> None:
    sid = add_source(wh, dataset=f"test:pma-members:{cog}")
    wh.insert_frame("territory", pd.DataFrame([("pole_metropolitain", "PMA", cog, "Pôle Métropolitain de l'Artois", sid)],
                                              columns=["level", "code", "cog", "name", "source_id"]))
    wh.insert_frame("membership", pd.DataFrame(
        [(cog, "commune", c, "pole_metropolitain", "PMA", 1.0, sid) for c in PMA_COMMUNES],
        columns=["cog", "child_level", "child_code", "parent_level", "parent_code", "weight", "source_id"]))
