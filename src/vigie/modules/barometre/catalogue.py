"""The barometer's series: what each one measures, how it adds up over territories and over months.

`kind` follows the engine's vocabulary: `stock` (additive count: summed over communes), `ratio` (recomputed from
its numerator and denominator series, never averaged), `published_rate` (a rate published for a territory: shown,
never aggregated). `flow` says whether the quarter's value is a flow over the quarter (summed over its months; the
four-quarter trend compares sums) or a level (the four-quarter trend compares means).
"""

from __future__ import annotations

import re
import unicodedata

SERIES: dict[str, dict] = {
    "chomage_taux": dict(
        label="Taux de chômage localisé", theme="emploi", unit="%", kind="published_rate", decimals=1, flow=False,
        definition="Taux de chômage au sens du BIT, moyenne trimestrielle corrigée des variations saisonnières, "
                   "par zone d'emploi 2020 (INSEE, taux de chômage localisés).", producer="INSEE"),
    "emploi_prive": dict(
        label="Emploi salarié privé", theme="emploi", unit="salariés", kind="stock", decimals=0, flow=False,
        definition="Effectifs salariés du secteur privé en fin de trimestre, régime général (Urssaf).",
        producer="Urssaf"),
    "defm_a": dict(
        label="Demandeurs d'emploi de catégorie A", theme="emploi", unit="demandeurs", kind="stock", decimals=0,
        flow=False, definition="Demandeurs d'emploi tenus de rechercher un emploi, sans emploi ; moyenne des fins de "
                               "mois du trimestre (France Travail, Dares).", producer="France Travail / Dares"),
    "defm_abc": dict(
        label="Demandeurs d'emploi de catégories A, B, C", theme="emploi", unit="demandeurs", kind="stock",
        decimals=0, flow=False, definition="Demandeurs d'emploi tenus de rechercher un emploi, avec ou sans activité "
                                           "réduite ; moyenne des fins de mois du trimestre (France Travail, Dares).",
        producer="France Travail / Dares"),
    "creations_entreprises": dict(
        label="Créations d'entreprises", theme="entreprises", unit="créations", kind="stock", decimals=0, flow=True,
        definition="Sièges d'entreprise créés dans le trimestre (date de création de l'établissement siège, "
                   "répertoire SIRENE).", producer="INSEE (SIRENE)"),
    "log_autorises": dict(
        label="Logements autorisés", theme="construction", unit="logements", kind="stock", decimals=0, flow=True,
        definition="Logements autorisés (permis de construire) dans le trimestre, en date réelle (Sitadel).",
        producer="SDES (Sitadel)"),
    "log_commences": dict(
        label="Logements commencés", theme="construction", unit="logements", kind="stock", decimals=0, flow=True,
        definition="Logements mis en chantier dans le trimestre, en date réelle (Sitadel).", producer="SDES (Sitadel)"),
    "dvf_ventes": dict(
        label="Ventes de logements", theme="immobilier", unit="ventes", kind="stock", decimals=0, flow=True,
        definition="Mutations de type « Vente » comprenant au moins une maison ou un appartement (DVF).",
        producer="DGFiP (DVF)"),
    "dvf_prix_m2": dict(
        label="Prix moyen des logements au m²", theme="immobilier", unit="€/m²", kind="ratio",
        numerator="dvf_valeur", denominator="dvf_surface", factor=1.0, decimals=0, flow=False,
        definition="Somme des valeurs foncières divisée par la somme des surfaces bâties des ventes d'un seul "
                   "logement (maison ou appartement), recalculée pour chaque territoire (DVF).",
        producer="DGFiP (DVF)"),
    "dvf_valeur": dict(
        label="Valeur des ventes d'un seul logement", theme="immobilier", unit="€", kind="stock", decimals=0,
        flow=True, visible=False, definition="Numérateur du prix au m² (DVF).", producer="DGFiP (DVF)"),
    "dvf_surface": dict(
        label="Surface bâtie des ventes d'un seul logement", theme="immobilier", unit="m²", kind="stock",
        decimals=0, flow=True, visible=False, definition="Dénominateur du prix au m² (DVF).",
        producer="DGFiP (DVF)"),
}

ORDER = list(SERIES)


def slug(text: str) -> str:
    """« Services hors intérim » → « services_hors_interim »."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")


def sector_series(sector: str) -> tuple[str, dict]:
    """The definition of the private-employment series of one sector."""
    base = SERIES["emploi_prive"]
    return f"emploi_prive.{slug(sector)}", dict(base, label=f"Emploi salarié privé – {sector}", visible=False,
                                                definition=base["definition"] + f" Secteur : {sector}.")


def definition_row(series_id: str, spec: dict, position: int | None = None) -> dict:
    return {
        "id": series_id, "label": spec["label"], "theme": spec["theme"], "unit": spec["unit"], "kind": spec["kind"],
        "numerator": spec.get("numerator"), "denominator": spec.get("denominator"), "factor": spec.get("factor"),
        "decimals": int(spec["decimals"]), "flow": bool(spec["flow"]), "visible": bool(spec.get("visible", True)),
        "position": position if position is not None else (ORDER.index(series_id) if series_id in ORDER else 100),
        "definition": spec.get("definition"), "producer": spec["producer"],
    }
