"""The barometer's demo series: the real INSEE unemployment rates, plus deterministic synthetic series written in
the official layouts (Urssaf, France Travail, SIRENE, Sitadel, DVF) and loaded through the real importers.

The synthetic files follow the real territory: every commune of the Pas-de-Calais at the warehouse's latest COG,
sized by its legal population (bundled `referentiel/communes_62.csv`); jobseekers follow the real unemployment rate
of the commune's zone d'emploi; housing starts and permits split the real annual Sitadel totals of each commune
over months. They are marked synthetic (« données fictives de démonstration »).

To show revisions, Urssaf employment comes in two releases: the first stops at 2025-T3, the second adds 2025-T4
and revises 2025-T3. DVF is published with a lag: its last quarter is 2025-T2, so the 2025-T4 release says that
the series is missing for the quarter.

`build_barometre_demo(wh)` runs after the cube is built (nothing here feeds the cube).
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vigie import settings
from vigie.demo.synthetic import DEMO_NOTICE
from vigie.progress import Reporter, Silent
from vigie.sources.base import run_import
from vigie.warehouse import Warehouse
from vigie.modules.barometre.import_chomage import ChomageZoneImporter
from vigie.modules.barometre.import_defm import JobseekersImporter
from vigie.modules.barometre.import_dvf import DvfImporter
from vigie.modules.barometre.import_sirene import SireneCreationsImporter
from vigie.modules.barometre.import_sitadel import SitadelImporter
from vigie.modules.barometre.import_urssaf import UrssafEmploymentImporter

YEARS = range(2021, 2026)
QUARTERS = [f"{y}-T{q}" for y in YEARS for q in range(1, 5)]
SECTORS = {"Industrie": 0.17, "Construction": 0.08, "Commerce": 0.16, "Services hors intérim": 0.55, "Intérim": 0.04}
SYNTHETIC_TITLE = f" – {DEMO_NOTICE}"


@dataclass
class DemoFile:
    importer: type
    path: Path
    options: dict
    synthetic: bool


def _communes(wh: Warehouse, directory: Path) -> pd.DataFrame:
    cog = wh.latest_cog("commune")
    codes = wh.query_df("SELECT t.code, m.parent_code AS ze FROM territory t LEFT JOIN membership m ON m.cog = t.cog "
                        "AND m.child_level = 'commune' AND m.child_code = t.code AND m.parent_level = 'zone_emploi' "
                        "WHERE t.level = 'commune' AND t.cog = ? ORDER BY t.code", (cog,))
    ref = pd.read_csv(directory / "referentiel" / "communes_62.csv", dtype=str, keep_default_na=False)
    pop = dict(zip(ref["code_insee"], pd.to_numeric(ref["pop_pkg2026"], errors="coerce")))
    codes["pop"] = [float(pop.get(c) or 300.0) for c in codes["code"]]
    return codes


def _write(path: Path, header: list[str], rows, sep: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=sep, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def _urssaf(communes: pd.DataFrame, rng: np.random.Generator, out: Path) -> list[Path]:
    """Two releases of the quarterly employment file, wide layout (`Effectifs salariés AAAA-Tn`)."""
    trend = 1 + 0.004 * np.arange(len(QUARTERS)) - 0.006 * (np.arange(len(QUARTERS)) >= 17)
    season = np.tile([-0.004, 0.006, 0.008, -0.010], len(YEARS))
    rows_a, rows_b = [], []
    for code, pop in zip(communes["code"], communes["pop"]):
        base = pop * 0.21 * rng.uniform(0.6, 1.4)
        for sector, share in SECTORS.items():
            level = base * share * rng.uniform(0.7, 1.3)
            if level < 3:
                continue
            noise = rng.normal(0, 0.01, len(QUARTERS))
            series = np.round(level * (trend + season + noise))
            revised = series.copy()
            revised[-2] = round(series[-2] * (1 + rng.normal(0, 0.01)))
            head = ["Hauts-de-France", "62", code, sector]
            rows_a.append(head + [int(v) for v in series[:-1]])
            rows_b.append(head + [int(v) for v in revised])
    cols = ["Région", "Code département", "Code commune", "Grand secteur d'activité"]
    a = _write(out / "urssaf_effectifs_commune_secteur_2025T3.csv",
               cols + [f"Effectifs salariés {q}" for q in QUARTERS[:-1]], rows_a, ";")
    b = _write(out / "urssaf_effectifs_commune_secteur_2025T4.csv",
               cols + [f"Effectifs salariés {q}" for q in QUARTERS], rows_b, ";")
    return [a, b]


def _defm(communes: pd.DataFrame, directory: Path, rng: np.random.Generator, out: Path) -> Path:
    """Monthly jobseekers A, B, C by commune, following the real unemployment rate of the zone d'emploi."""
    rates = pd.read_csv(directory / "economie" / "chomage_trimestriel_ze2020_62.csv", dtype=str)
    rates["v"] = rates["taux_chomage_cvs_pct"].astype(float)
    by_ze = {ze: dict(zip(g["trimestre"], g["v"])) for ze, g in rates.groupby("ze2020")}
    months = [f"{y}-{m:02d}" for y in YEARS for m in range(1, 13)]
    rows = []
    for code, ze, pop in zip(communes["code"], communes["ze"], communes["pop"]):
        curve = by_ze.get(ze) or by_ze["FR"]
        base = pop * 0.0062 * rng.uniform(0.7, 1.3)
        for month in months:
            q = f"{month[:4]}-T{(int(month[5:]) - 1) // 3 + 1}"
            a = max(0, round(base * curve[q] * rng.uniform(0.97, 1.03)))
            b = round(a * 0.17 * rng.uniform(0.9, 1.1))
            c = round(a * 0.36 * rng.uniform(0.9, 1.1))
            rows += [[code, month, "A", a], [code, month, "B", b], [code, month, "C", c]]
    return _write(out / "defm_communes_mensuel_62.csv", ["code_commune", "periode", "categorie", "nombre"], rows, ";")


def _sirene(communes: pd.DataFrame, rng: np.random.Generator, out: Path) -> Path:
    """StockEtablissement extract (official column names): establishments created 2021–2025."""
    header = ["siren", "nic", "siret", "statutDiffusionEtablissement", "dateCreationEtablissement",
              "trancheEffectifsEtablissement", "etablissementSiege", "codePostalEtablissement",
              "libelleCommuneEtablissement", "codeCommuneEtablissement", "etatAdministratifEtablissement",
              "activitePrincipaleEtablissement", "nomenclatureActivitePrincipaleEtablissement"]
    days = pd.date_range("2021-01-01", "2025-12-31", freq="D")
    weight = 1 + 0.10 * np.sin(np.arange(len(days)) / 365.25 * 2 * np.pi) + np.arange(len(days)) / len(days) * 0.08
    weight /= weight.sum()
    naf = ["47.11F", "56.10A", "43.21A", "49.41A", "62.01Z", "68.20A", "85.59A", "96.02A", "70.22Z", "45.20A"]
    rows, serial = [], 100000000
    for code, pop in zip(communes["code"], communes["pop"]):
        n = rng.poisson(pop * 0.0017 * 20)
        for d in rng.choice(len(days), size=n, p=weight):
            serial += 1
            siege = rng.random() < 0.82
            siren = f"{serial:09d}"
            rows.append([siren, "00012", siren + "00012", "O", days[d].strftime("%Y-%m-%d"), "NN",
                         "true" if siege else "false", "", "", code, "A", naf[serial % len(naf)], "NAFRev2"])
    rows.sort(key=lambda r: r[2])
    return _write(out / "StockEtablissement_extrait_62.csv", header, rows)


def _sitadel(communes: pd.DataFrame, directory: Path, rng: np.random.Generator, out: Path) -> Path:
    """Monthly LOG_AUT / LOG_COM per commune: the real annual Sitadel totals split over months."""
    annual = pd.read_csv(directory / "logement" / "sitadel_logements_communes_62.csv", dtype=str)
    annual = annual[annual["annee"].astype(int).isin(list(YEARS)) & annual["code_insee"].isin(set(communes["code"]))]
    season = np.array([0.07, 0.075, 0.09, 0.085, 0.085, 0.095, 0.085, 0.06, 0.085, 0.09, 0.08, 0.1])
    rows = []
    for r in annual.itertuples():
        aut, com = int(r.log_autorises_tous), int(r.log_commences_tous)
        split_a = rng.multinomial(max(aut, 0), season / season.sum()) if aut >= 0 else [-1] * 12
        split_c = rng.multinomial(max(com, 0), season / season.sum()) if com >= 0 else [-1] * 12
        for m in range(12):  # -1: the real annual cell is missing (starts of 2025 not yet known), so are its months
            if split_a[m] or split_c[m]:
                rows.append([r.annee, m + 1, "32", "62", r.code_insee, int(split_a[m]), int(split_c[m])])
    # months without any dwelling are written as zeros so that every quarter is complete
    seen = {(r[4], r[0], r[1]) for r in rows}
    for code in sorted(set(annual["code_insee"])):
        for y in YEARS:
            for m in range(1, 13):
                if (code, str(y), m) not in seen:
                    rows.append([str(y), m, "32", "62", code, 0, -1 if y == 2025 else 0])
    rows.sort(key=lambda r: (r[4], int(r[0]), r[1]))
    return _write(out / "sitadel_logements_mensuels_communes_62.csv",
                  ["ANNEE", "MOIS", "REG", "DEP", "COMM", "LOG_AUT", "LOG_COM"], rows, ";")


def _dvf(communes: pd.DataFrame, directory: Path, rng: np.random.Generator, out: Path) -> Path:
    """geo-dvf rows (official columns) up to 2025-T2, prices around each commune's real median (apartments)."""
    prices = pd.read_csv(directory / "foncier" / "dvf_prix_appartements_communes_62.csv", dtype=str)
    median = dict(zip(prices["INSEE_C"], pd.to_numeric(prices["p50"], errors="coerce")))
    header = ["id_mutation", "date_mutation", "numero_disposition", "nature_mutation", "valeur_fonciere",
              "adresse_numero", "adresse_nom_voie", "code_postal", "code_commune", "nom_commune", "code_departement",
              "id_parcelle", "nombre_lots", "code_type_local", "type_local", "surface_reelle_bati",
              "nombre_pieces_principales", "surface_terrain", "longitude", "latitude"]
    days = pd.date_range("2021-01-01", "2025-06-30", freq="D")
    rows, serial = [], 0
    for code, pop in zip(communes["code"], communes["pop"]):
        m2 = median.get(code)
        m2 = float(m2) if m2 == m2 and m2 is not None else 1450.0 * rng.uniform(0.8, 1.2)
        for d in np.sort(rng.choice(len(days), size=rng.poisson(pop * 0.0016 * 18), replace=True)):
            serial += 1
            day = days[d]
            mid = f"{day.year}-{serial:06d}"
            house = rng.random() < 0.72
            surface = round(rng.normal(95 if house else 62, 18))
            surface = max(surface, 18)
            drift = 1 + 0.025 * (day.year - 2021) - 0.02 * (day.year >= 2023)
            value = round(surface * m2 * drift * (0.85 if house else 1.0) * rng.lognormal(0, 0.18), -2)
            kind = ("1", "Maison") if house else ("2", "Appartement")
            date = day.strftime("%Y-%m-%d")
            base = [mid, date, "000001", "Vente", f"{value:.2f}", "", "", "", code, "", "62", f"{code}000AB{serial % 999:04d}"]
            rows.append(base + ["0" if house else "1", kind[0], kind[1], str(surface), str(rng.integers(2, 6)),
                                str(round(rng.uniform(150, 900))) if house else "", "", ""])
            if not house and rng.random() < 0.5:  # a dependency sold with the flat
                rows.append(base + ["1", "3", "Dépendance", "", "0", "", "", ""])
            if rng.random() < 0.04:  # a sale of two flats: counted as a sale, left out of the price per m²
                rows.append(base + ["1", "2", "Appartement", str(max(round(rng.normal(45, 10)), 15)), "2", "", "", ""])
    return _write(out / "dvf_62_2021_2025S1.csv", header, rows)


def demo_files(wh: Warehouse, work: Path, directory: Path | None = None, seed: int = 2026) -> list[DemoFile]:
    directory = Path(directory or settings.demo_dir())
    communes = _communes(wh, directory)
    rng = np.random.default_rng(seed)
    urssaf_a, urssaf_b = _urssaf(communes, rng, work)
    return [
        DemoFile(ChomageZoneImporter, directory / "economie" / "chomage_trimestriel_ze2020_62.csv",
                 {"release": "2026-03-12"}, False),
        DemoFile(UrssafEmploymentImporter, urssaf_a, {"release": "2025-12-09"}, True),
        DemoFile(UrssafEmploymentImporter, urssaf_b, {"release": "2026-03-10"}, True),
        DemoFile(JobseekersImporter, _defm(communes, directory, rng, work), {"release": "2026-01-27"}, True),
        DemoFile(SireneCreationsImporter, _sirene(communes, rng, work), {"release": "2026-01-15", "until": "2025-T4"}, True),
        DemoFile(SitadelImporter, _sitadel(communes, directory, rng, work), {"release": "2026-01-29"}, True),
        DemoFile(DvfImporter, _dvf(communes, directory, rng, work), {"release": "2025-10-15"}, True),
    ]


def build_barometre_demo(wh: Warehouse, directory: Path | None = None, seed: int = 2026,
                         report: Reporter | None = None) -> list:
    """Generate and import the barometer's demo series into `wh` (after the cube; deterministic for a seed)."""
    report = report or Silent()
    reports = []
    with tempfile.TemporaryDirectory(prefix="vigie-barometre-") as work:
        for f in demo_files(wh, Path(work), directory, seed):
            importer = f.importer(f.path, synthetic=True, **f.options) if f.synthetic else f.importer(f.path, **f.options)
            title = importer.title + (SYNTHETIC_TITLE if f.synthetic else "")
            reports.append(run_import(wh, importer, report, title=title))
    return reports
