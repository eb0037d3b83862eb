"""The atlas part of the demo: synthetic files for the PMA (`synthetic.generate`) imported through the real importers.

`build_demo_atlas(wh, work_dir)` runs AFTER the core imports (it needs the communes' contours, the EPCI memberships
and, for the friches figures, the Cartofriches layer); the atlas is computed on demand, so it does not matter whether
the cube is built before or after.
"""

from __future__ import annotations

from pathlib import Path

from vigie.demo.synthetic import DEMO_NOTICE
from vigie.modules.foncier.cnig import PoleImporter, SiteImporter, TerrainImporter
from vigie.modules.foncier.plu import PluZonesImporter
from vigie.modules.foncier.sirene import SireneZonesImporter
from vigie.modules.foncier.synthetic import SEED, generate
from vigie.progress import Reporter, Silent
from vigie.sources.base import ImportReport, run_import
from vigie.warehouse import Warehouse

PRODUCER = f"Vigie – {DEMO_NOTICE}"


def build_demo_atlas(wh: Warehouse, work_dir: Path | str, report: Reporter | None = None, seed: int = SEED,
                     zones: int = 45) -> list[ImportReport]:
    """Generate the synthetic atlas files in `work_dir` and import them (marked synthetic)."""
    report = report or Silent()
    files = generate(wh, work_dir, seed=seed, zones=zones)
    common = {"synthetic": True, "vintage": "démonstration 2026"}
    steps = [
        PoleImporter(files.poles, title=f"Pôles économiques du PMA ({DEMO_NOTICE})", **common),
        SiteImporter(files.sites, title=f"Zones d'activité du PMA ({DEMO_NOTICE})", **common),
        TerrainImporter(files.plots, title=f"Terrains des zones d'activité du PMA ({DEMO_NOTICE})", **common),
        SireneZonesImporter(files.stock, geoloc=str(files.geoloc), title=f"Établissements des zones d'activité ({DEMO_NOTICE})", **common),
        PluZonesImporter(files.plu, title=f"Zonage PLU des communes du PMA ({DEMO_NOTICE})", **common),
    ]
    return [run_import(wh, importer, report, producer=PRODUCER) for importer in steps]
