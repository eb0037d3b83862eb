"""Builds the demo warehouse from the bundled manifest (`data/demo/demo.yaml`): real open data of the
Pas-de-Calais through the real importers, then the deterministic synthetic complements, marked as such.

A DuckDB warehouse is built in a temporary file next to the target and moved into place at the end, so a
failed build never leaves a half-built warehouse behind. A PostgreSQL warehouse is emptied and rebuilt.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vigie.engine.cube import build_cube
from vigie.errors import ConfigurationError
from vigie.progress import Reporter
from vigie.settings import database_url, demo_dir
from vigie.sources.base import ImportReport, run_import
from vigie.sources.registry import importer_class
from vigie.warehouse import Warehouse, connect
from vigie.warehouse.schema import TABLES

PATH_OPTIONS = {"mapping", "epci_labels", "ze_labels", "dictionary", "epci"}


@dataclass
class DemoStep:
    kind: str
    file: Path
    options: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class DemoResult:
    url: str
    seconds: float
    reports: list[ImportReport]
    accounts: list = field(default_factory=list)  # the demo accounts of the partner space (demo passwords)


def load_manifest(directory: Path | None = None) -> tuple[list[DemoStep], dict[str, Any]]:
    directory = Path(directory or demo_dir())
    path = directory / "demo.yaml"
    if not path.exists():
        raise ConfigurationError(f"Manifeste de démonstration introuvable : {path}")
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    steps = []
    for entry in manifest.get("imports", []):
        options = dict(entry.get("options") or {})
        for key in PATH_OPTIONS & options.keys():
            options[key] = str(directory / options[key])
        meta = {k: entry[k] for k in ("title", "producer", "licence") if k in entry}
        if "vintage" in entry:
            options["vintage"] = entry["vintage"]
        steps.append(DemoStep(entry["kind"], directory / entry["file"], options, meta))
    return steps, manifest


def synthetic_steps(manifest: dict[str, Any], directory: Path, work: Path) -> list[DemoStep]:
    """Generate the synthetic files (official formats) and return the imports that load them."""
    settings = manifest.get("synthetic")
    if not settings:
        return []
    from vigie.demo.synthetic import generate

    return [DemoStep(gen.kind, Path(gen.path), gen.import_options(), {})
            for gen in generate(work, demo_dir=directory, seed=int(settings.get("seed", 2026)))]


def build_demo(url: str | None = None, report: Reporter | None = None, directory: Path | None = None) -> DemoResult:
    """Build the demo warehouse at `url` (default: VIGIE_DATABASE or ./vigie.duckdb)."""
    from vigie.progress import Silent

    report = report or Silent()
    url = url or database_url()
    directory = Path(directory or demo_dir())
    start = time.perf_counter()
    steps, manifest = load_manifest(directory)
    with tempfile.TemporaryDirectory(prefix="vigie-demo-") as work:
        report.step("Génération des données fictives de démonstration")
        steps += synthetic_steps(manifest, directory, Path(work))
        if url.startswith(("postgresql://", "postgres://")):
            wh = connect(url)
            _reset(wh)
            reports = _run(wh, steps, manifest, Path(work), report)
            _after_cube(wh, manifest, directory, report)
            wh.close()
        else:
            target = Path(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            building = target.with_name(target.name + ".building")
            for stale in (building, Path(str(building) + ".wal")):
                stale.unlink(missing_ok=True)
            wh = connect(str(building))
            try:
                reports = _run(wh, steps, manifest, Path(work), report)
                _after_cube(wh, manifest, directory, report)
                wh.execute("CHECKPOINT")
            finally:
                wh.close()
            Path(str(target) + ".wal").unlink(missing_ok=True)
            os.replace(building, target)
    accounts = _accounts(url, manifest, report)
    return DemoResult(url, time.perf_counter() - start, reports, accounts)


def _before_cube(wh: Warehouse, manifest: dict[str, Any], work: Path, report: Reporter) -> list[ImportReport]:
    """The analysis modules' demo data that needs the core imports (communes, contours, friches) and, for the
    land consumption, the cube to aggregate it."""
    reports: list[ImportReport] = []
    settings = manifest.get("foncier")
    if settings:
        from vigie.modules.foncier.demo import build_demo_atlas

        report.step("Atlas du foncier économique : zones, terrains, établissements, PLU (fictifs)")
        reports += build_demo_atlas(wh, work / "foncier", seed=int(settings.get("seed", 62)),
                                    zones=int(settings.get("zones", 45)))
    settings = manifest.get("zan")
    if settings:
        from vigie.modules.foncier.zan_demo import build_zan_demo

        report.step("Consommation d'espaces NAF (format Cerema, fictive)")
        (work / "zan").mkdir(exist_ok=True)
        reports.append(build_zan_demo(wh, seed=int(settings.get("seed", 2026)), work_dir=work / "zan"))
    return reports


def _after_cube(wh: Warehouse, manifest: dict[str, Any], directory: Path, report: Reporter) -> None:
    """The analysis modules' demo data that the cube does not aggregate."""
    settings = manifest.get("enquete")
    if settings:
        from vigie.modules.enquete.synthetic import build_demo_survey

        report.step("Enquête de démonstration (fictive) : tirage, import, calage")
        build_demo_survey(wh, territory=settings["territoire"], seed=int(settings.get("seed", 2026)))
    settings = manifest.get("barometre")
    if settings:
        from vigie.modules.barometre.demo import build_barometre_demo

        report.step("Baromètre économique : séries trimestrielles (chômage réel, autres séries fictives)")
        build_barometre_demo(wh, directory, seed=int(settings.get("seed", 2026)))


def _accounts(url: str, manifest: dict[str, Any], report: Reporter) -> list:
    """The partner space's demo organisations and accounts (stored beside the warehouse, demo passwords)."""
    if not manifest.get("acces"):
        return []
    from vigie.access.demo import build_demo_access

    report.step("Espace partenaires : comptes de démonstration")
    return build_demo_access(url)


def _reset(wh: Warehouse) -> None:
    from vigie.modules.barometre.schema import TABLES as BAROMETRE_TABLES
    from vigie.modules.enquete.schema import INTERVIEW_TABLES, SURVEY_TABLES
    from vigie.modules.foncier.schema import TABLES as FONCIER_TABLES

    module_tables = [*reversed(INTERVIEW_TABLES + SURVEY_TABLES), *reversed(BAROMETRE_TABLES), *reversed(FONCIER_TABLES)]
    with wh.transaction():
        for table in [*module_tables, *TABLES]:
            wh.execute(f"DROP TABLE IF EXISTS {table}")
    wh.init_schema()


def _run(wh: Warehouse, steps: list[DemoStep], manifest: dict[str, Any], work: Path,
         report: Reporter) -> list[ImportReport]:
    reports = []
    report.step("Construction de l'entrepôt de démonstration", total=len(steps))
    for step in steps:
        importer = importer_class(step.kind)(step.file, **step.options)
        reports.append(run_import(wh, importer, **step.meta))
        report.advance(1)
    reports += _before_cube(wh, manifest, work, report)
    report.step("Calcul du cube des indicateurs")
    build_cube(wh)
    return reports
