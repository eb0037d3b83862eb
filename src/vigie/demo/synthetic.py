"""Deterministic synthetic census data for the demo territory ("données fictives de démonstration").

`generate(out_dir)` writes, from the real totals bundled in `data/demo/`:

* for RP 2012 (COG 2014), RP 2017 (COG 2019) and RP 2021 (COG 2023), five commune-level files per census in the
  INSEE "base-cc" layout (`base-cc-evol-struct-pop-2021.CSV`, …, `;`-separated, UTF-8, `CODGEO;REG;DEP;LIBGEO;`
  then `P21_…`/`C21_…` variables) for every commune of the Pas-de-Calais in that COG;
* `base-qpv-2021.CSV`: the same variables for the 64 QPV 2024 (CODGEO = QPV code, COG 2024);
* `qpv_sante_sport_culture_2024.csv` and its YAML mapping for `vigie import csv`.

Same seed, same bytes. The files are meant for the real importers (`recensement`, `csv`) with `synthetic: true`.

    >>> files = generate(Path("/tmp/demo-synthetique"))       # doctest: +SKIP
    >>> files[0].path.name, files[0].cog, files[0].year      # doctest: +SKIP
    ('base-cc-evol-struct-pop-2012.CSV', 2014, 2012)

How the figures are made is explained in `synthetic_census` (communes) and `synthetic_qpv` (QPV).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any

from vigie import settings
from vigie.sources.census import THEMES as CENSUS_THEMES
from vigie.demo.synthetic_census import (
    CENSUS_COG,
    THEME_LABELS,
    THEMES,
    census_values,
    commune_units,
    load_real,
    theme_stems,
    write_base,
)
from vigie.demo.synthetic_qpv import (
    EXTRAS_YEAR,
    QPV_COG,
    QPV_FILE,
    QPV_STEMS,
    QPV_YEAR,
    load_qpv,
    qpv_units,
    qpv_values,
    write_extras,
)

DEFAULT_SEED = 2026
DEMO_NOTICE = "données fictives de démonstration"


@dataclass(frozen=True)
class GeneratedFile:
    """One generated file and how to import it."""

    path: Path
    _: KW_ONLY
    kind: str = "recensement"  # importer kind (`vigie import <kind>`)
    level: str  # level of the codes: commune, qpv
    cog: int  # geography vintage of the codes
    year: int  # data vintage (census year)
    theme: str  # indicator theme for the census importer ("" = several themes, let the importer guess)
    description: str  # French, for people
    mapping: Path | None = None  # YAML mapping, for kind "csv"

    def import_options(self) -> dict[str, Any]:
        """Options for the importer of `kind` (the same ones `vigie.demo.build` passes)."""
        if self.kind == "csv":
            return {"synthetic": True, "mapping": str(self.mapping)}
        options: dict[str, Any] = {"synthetic": True, "cog": self.cog, "level": self.level}
        if self.theme:
            options["theme"] = self.theme
        return options


def generate(out_dir: Path, demo_dir: Path | None = None, seed: int = DEFAULT_SEED) -> list[GeneratedFile]:
    """Write every synthetic file into `out_dir` and describe them, in import order.

    `demo_dir` is the folder of real demo data (default: `settings.demo_dir()`, read at call time).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    demo_dir = _demo_dir(demo_dir)
    real = load_real(demo_dir)
    files: list[GeneratedFile] = []

    communes_2021 = values_2021 = None
    for year, cog in sorted(CENSUS_COG.items()):
        units = commune_units(real, year, seed)
        values = census_values(units)
        for theme, (pattern, _) in THEMES.items():
            path = out_dir / pattern.format(year=year)
            write_base(path, units, values, theme_stems(theme, year))
            files.append(GeneratedFile(
                path, level="commune", cog=cog, year=year, theme=CENSUS_THEMES[theme],
                description=f"{THEME_LABELS[theme]}, RP {year}, communes du Pas-de-Calais (COG {cog}) – {DEMO_NOTICE}",
            ))
        if year == QPV_YEAR:
            communes_2021, values_2021 = units, values

    qpv = load_qpv(demo_dir)
    unit, portions = qpv_units(qpv, communes_2021, values_2021, seed)
    values = qpv_values(unit, portions, communes_2021, values_2021)
    path = out_dir / QPV_FILE
    write_base(path, unit, values, QPV_STEMS)
    files.append(GeneratedFile(
        path, level="qpv", cog=QPV_COG, year=QPV_YEAR, theme="",
        description=f"Population, ménages, activité, diplômes et logement des QPV, RP {QPV_YEAR} – {DEMO_NOTICE}",
    ))
    csv_path, yaml_path = write_extras(out_dir, unit, values)
    files.append(GeneratedFile(
        csv_path, kind="csv", level="qpv", cog=QPV_COG, year=EXTRAS_YEAR, theme="santé, sport et culture",
        description=f"Santé, sport et culture dans les QPV, {EXTRAS_YEAR} – {DEMO_NOTICE}", mapping=yaml_path,
    ))
    return files


def _demo_dir(demo_dir: Path | None) -> Path:
    return Path(demo_dir) if demo_dir is not None else settings.demo_dir()


def notes(demo_dir: Path | None = None) -> list[str]:
    """How the real totals that had to be derived were derived (French, for the demo report)."""
    return load_real(_demo_dir(demo_dir)).notes
