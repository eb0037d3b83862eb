"""What to publish and where: the jobs of a batch (collected figures + output paths), for the fiches quartiers
and the tableaux de bord. File names: `fiche-quartier-<code>.pdf` / `tableau-de-bord-<code>.pdf`, each with its
`.xlsx` data pack beside it.
"""

from __future__ import annotations

from pathlib import Path

from vigie.engine.query import Engine
from vigie.errors import NotFoundError
from vigie.publish.pdf import fiche_quartier, tableau_de_bord
from vigie.publish.pdf.batch import Job
from vigie.warehouse import Territory, Warehouse

DEFAULT_OUTPUT = "publications"
DASHBOARD_LEVELS = ["epci", "pole_metropolitain", "petr", "scot"]  # `--tous`: every EPCI and custom territory


def home_territory(wh: Warehouse) -> Territory:
    """The home territory (VIGIE_TERRITOIRE_ACCUEIL, else the widest grouping present), as the web home page."""
    from vigie.publish.web import home_territory as web_home

    found = web_home(wh)
    if found is None:
        raise NotFoundError("Aucun territoire d'accueil : indiquez-en un avec --territoire CODE.")
    return found


def _safe(code: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in code)


def fiche_jobs(wh: Warehouse, codes: list[str], output: Path, *, engine: Engine | None = None,
               wide: Territory | None = None, datapack: bool = True) -> list[Job]:
    engine = engine or Engine(wh)
    output.mkdir(parents=True, exist_ok=True)
    jobs = []
    for data in fiche_quartier.collect(wh, codes, engine, wide=wide):
        stem = output / f"fiche-quartier-{_safe(data.territory.code)}"
        jobs.append(Job(data.territory.code, "fiche_quartier", data, str(stem) + ".pdf",
                        str(stem) + ".xlsx" if datapack else None))
    return jobs


def territory_qpv(wh: Warehouse, territory: Territory, engine: Engine | None = None) -> list[str]:
    engine = engine or Engine(wh)
    codes = fiche_quartier.qpv_of(wh, territory, engine.cog)
    if not codes:
        raise NotFoundError(f"Aucun quartier prioritaire (QPV) n'est connu dans « {territory.name} » ({territory.code}).")
    return codes


def dashboard_territories(wh: Warehouse, engine: Engine | None = None) -> list[Territory]:
    """Every EPCI and custom territory (pôle métropolitain, PETR, SCoT) of the cube's geography."""
    engine = engine or Engine(wh)
    out = []
    for level in DASHBOARD_LEVELS:
        frame = wh.territories(level=level, cog=engine.cog)
        out += [Territory(level, code, engine.cog, name) for code, name in zip(frame["code"], frame["name"])]
    return out


def dashboard_jobs(wh: Warehouse, territories: list[Territory], output: Path, *, engine: Engine | None = None,
                   datapack: bool = True) -> list[Job]:
    engine = engine or Engine(wh)
    output.mkdir(parents=True, exist_ok=True)
    jobs = []
    for data in tableau_de_bord.collect(wh, territories, engine):
        stem = output / f"tableau-de-bord-{_safe(data.territory.code)}"
        jobs.append(Job(data.territory.code, "tableau_de_bord", data, str(stem) + ".pdf",
                        str(stem) + ".xlsx" if datapack else None))
    return jobs
