"""The indicator catalogue: published indicators declared in data files, one YAML file per theme.

Each indicator says how it is computed from the base variables stored in the warehouse (`value.indicator`):
- `stock`: an additive count (`variable`), summed through memberships;
- `ratio`: `numerator` / `denominator` × `factor`, both summed first, never averaged;
- `median`, `mean`, `index`, `published_rate`: a published figure (`variable`) that cannot be aggregated: it is
  shown where the producer published it and nowhere else (the answer says so).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from vigie.errors import ConfigurationError

CATALOGUE_DIR = Path(__file__).resolve().parents[1] / "catalogue"
Kind = Literal["stock", "ratio", "mean", "median", "index", "published_rate"]
ADDITIVE = {"stock", "ratio"}


class Secrecy(BaseModel):
    """Statistical secrecy and reliability rules of one indicator."""

    model_config = ConfigDict(extra="forbid")
    # Primary secrecy: a count (the stock, or the numerator of a ratio) strictly between 0 and this is masked.
    min_count: Optional[int] = None
    # Reliability: figures of territories whose population (base variable `population_variable`) is below
    # this are flagged fragile (INSEE advises care under 2,000 inhabitants for the complementary exploitation).
    fragile_below_population: Optional[int] = None


class IndicatorDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    label: str
    theme: str = ""
    unit: str
    kind: Kind
    variable: Optional[str] = None
    numerator: Optional[str] = None
    denominator: Optional[str] = None
    factor: float = 1.0
    decimals: int = 0
    source: str
    definition: str
    secrecy: Secrecy = Secrecy()
    key: bool = False

    @model_validator(mode="after")
    def _inputs(self) -> "IndicatorDef":
        if self.kind == "ratio":
            if not (self.numerator and self.denominator):
                raise ValueError("un ratio demande un numérateur et un dénominateur")
        elif not self.variable:
            raise ValueError("une variable de base est demandée (champ « variable »)")
        return self

    @property
    def inputs(self) -> list[str]:
        return [v for v in (self.variable, self.numerator, self.denominator) if v]

    @property
    def additive(self) -> bool:
        return self.kind in ADDITIVE

    @property
    def count_variable(self) -> str:
        """The count secrecy applies to: the stock itself or a ratio's numerator."""
        return self.numerator if self.kind == "ratio" else self.variable


def load_catalogue(directory: Path | None = None) -> dict[str, IndicatorDef]:
    """All indicators of the YAML files in `directory` (default: the bundled catalogue), by id."""
    return dict(_load(str(directory or CATALOGUE_DIR)))


@lru_cache(maxsize=4)
def _load(directory: str) -> tuple[tuple[str, IndicatorDef], ...]:
    out: dict[str, IndicatorDef] = {}
    files = sorted(Path(directory).glob("*.yaml"))
    if not files:
        raise ConfigurationError(f"Aucun fichier de catalogue d'indicateurs dans {directory}.")
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        theme = data.get("theme", path.stem)
        for i, entry in enumerate(data.get("indicateurs", []), start=1):
            try:
                definition = IndicatorDef(theme=theme, **entry)
            except (ValidationError, TypeError) as exc:
                name = entry.get("id", f"n°{i}") if isinstance(entry, dict) else f"n°{i}"
                raise ConfigurationError(f"Catalogue {path.name}, indicateur {name} : {exc}") from None
            if definition.id in out:
                raise ConfigurationError(f"Catalogue {path.name} : l'indicateur « {definition.id} » est déclaré deux fois.")
            out[definition.id] = definition
    return tuple(out.items())
