"""Synthetic NAF-consumption flows for the demo (« données fictives de démonstration »), in the real Cerema layout.

`write_cerema_file` writes the commune file exactly as the Cerema publishes it (`;`-separated, UTF-8, columns
`idcom;idcomtxt;idreg;idregtxt;iddep;iddeptxt;epci23;epci23txt;scot;aav2020;aav2020txt;aav2020_typo;`, then for
each year `nafYYartZZ;artYYactZZ;artYYhabZZ;artYYmixZZ;artYYrouZZ;artYYferZZ;artYYincZZ`, then the totals
`naf09art23;art09act23;art09hab23;art09mix23;art09inc23;art09rou23;art09fer23;artcom0923` and the population,
household and job columns `pop14…surfcom2023`).

`synthetic_flows` makes plausible flows for a list of communes, deterministically (same seed, same bytes):

* a commune's yearly level grows with its area and, less than proportionally, with its population
  (≈ 0.9 ha/km² over 2009–2023 for the Pas-de-Calais order of magnitude, more around the towns);
* the level slowly declines over time (−3 % a year on average, the national trend since 2009) with a
  log-normal year-to-year noise, and a small commune consumes nothing in about one year out of four;
* the split by destination is drawn around habitat 62 %, activité 22 %, routes 7 %, mixte 3 %, inconnu 5 %,
  ferroviaire 1 %, and rounded so that the six destinations add up exactly to the flow, as in the real file.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vigie.modules.foncier.cerema import DESTINATIONS, destination_column, flow_column

IDENTITY_COLUMNS = ["idcom", "idcomtxt", "idreg", "idregtxt", "iddep", "iddeptxt", "epci23", "epci23txt", "scot",
                    "aav2020", "aav2020txt", "aav2020_typo"]
TOTAL_ORDER = ["act", "hab", "mix", "inc", "rou", "fer"]  # order of the multi-year total columns in the real file
TAIL_COLUMNS = ["pop14", "pop20", "pop1420", "men14", "men20", "men1420", "emp14", "emp20", "emp1420",
                "mepart1420", "menhab1420", "artpop1420", "surfcom2023"]
SHARES = {"hab": 0.62, "act": 0.22, "rou": 0.07, "mix": 0.03, "inc": 0.05, "fer": 0.01}


@dataclass
class CommuneFlows:
    """One row of the file: identity, flows {year: {destination code: m²}} and the optional tail figures."""

    code: str
    name: str
    flows: dict[int, dict[str, int]]
    region: tuple[str, str] = ("32", "Hauts-de-France")
    departement: tuple[str, str] = ("62", "Pas-de-Calais")
    epci: tuple[str, str] = ("", "")
    scot: str = ""
    population: tuple[int, int] | None = None  # (2014, 2020)
    area_m2: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


def write_cerema_file(path: Path, communes: list[CommuneFlows], years: list[int], *, skip_years: tuple[int, ...] = ()) -> Path:
    """Write the Cerema commune file for `years` (flow of year Y: 1 Jan Y → 1 Jan Y+1). `skip_years` leaves out
    the columns of those years (a file with a missing year); the multi-year total is then left out too."""
    written = [y for y in years if y not in skip_years]
    first, last = years[0], years[-1]
    total_suffix = f"{first % 100:02d}art{(last + 1) % 100:02d}"
    header = list(IDENTITY_COLUMNS)
    for year in written:
        header.append(flow_column(year))
        header += [destination_column(year, code) for code in DESTINATIONS]
    with_total = not skip_years
    if with_total:
        header.append(f"naf{total_suffix}")
        header += [f"art{first % 100:02d}{code}{(last + 1) % 100:02d}" for code in TOTAL_ORDER]
        header.append(f"artcom{first % 100:02d}{(last + 1) % 100:02d}")
    header += TAIL_COLUMNS
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=";", lineterminator="\n")
        out.writerow(header)
        for c in communes:
            row = [c.code, c.name, c.region[0], c.region[1], c.departement[0], c.departement[1], c.epci[0], c.epci[1],
                   c.scot, c.extra.get("aav2020", "N/A - hors champ"), c.extra.get("aav2020txt", "0"),
                   c.extra.get("aav2020_typo", "T00_30")]
            for year in written:
                split = c.flows.get(year, {})
                row.append(sum(split.values()))
                row += [split.get(code, 0) for code in DESTINATIONS]
            if with_total:
                row.append(sum(sum(c.flows[y].values()) for y in years))
                row += [sum(c.flows[y].get(code, 0) for y in years) for code in TOTAL_ORDER]
                area = c.area_m2 or 0
                consumed = sum(sum(c.flows[y].values()) for y in years)
                row.append(f"{100 * consumed / area:.2f}" if area else "0.00")
            row += _tail(c)
            out.writerow(row)
    return path


def _tail(c: CommuneFlows) -> list[str]:
    if c.population is None:
        return ["0"] * (len(TAIL_COLUMNS) - 1) + [str(c.area_m2 or 0)]
    p14, p20 = c.population
    m14, m20 = round(p14 / 2.3), round(p20 / 2.3)
    e14, e20 = round(p14 * 0.33), round(p20 * 0.33)
    return [str(p14), str(p20), str(p20 - p14), str(m14), str(m20), str(m20 - m14), str(e14), str(e20), str(e20 - e14),
            "0.0", "0.0", "0.0", str(c.area_m2 or 0)]


def synthetic_flows(area_km2: float, population: int, years: list[int],
                    rng: np.random.Generator) -> dict[int, dict[str, int]]:
    """Plausible yearly flows by destination (m², integers adding up exactly) for one commune."""
    density = population / max(area_km2, 0.1)
    level = 650.0 * area_km2 * (1.0 + 0.6 * np.log1p(density / 150.0))
    quiet = 0.25 if population < 1000 else 0.05
    shares = np.array([SHARES[c] for c in DESTINATIONS])
    out: dict[int, dict[str, int]] = {}
    for i, year in enumerate(years):
        if rng.random() < quiet:
            out[year] = {c: 0 for c in DESTINATIONS}
            continue
        total = level * (0.97 ** i) * rng.lognormal(0.0, 0.45)
        weights = rng.dirichlet(shares * 40.0)
        parts = np.floor(weights * total).astype(int)
        parts[list(DESTINATIONS).index("hab")] += int(round(total)) - int(parts.sum())
        out[year] = {c: int(max(v, 0)) for c, v in zip(DESTINATIONS, parts)}
    return out
