"""Territorial reading of the survey: where people go for each motive, from which home commune.

For a motive, each destination a respondent names is one trip (a respondent naming two places makes two trips).
With M_ij the trips of respondent i to destination j and m_i = Σ_j M_ij:

* flows: origin o (home commune or EPCI) → destination j, weighted trips Σ_{i∈o} w_i M_ij and the share of the
  origin's trips Σ_{i∈o} w_i M_ij / Σ_{i∈o} w_i m_i, a ratio estimated with its linearised standard error;
* attraction of a pole: its weighted trips and its share of all trips, with their confidence intervals;
* catchment area: for each origin, the destination receiving the largest share of its trips; a pole's catchment
  is the set of origins whose first destination it is;
* leakage: the share of trips whose destination lies outside the study territory (its communes, from the
  warehouse's memberships), overall and by origin.

Every frame carries codes (INSEE commune codes, EPCI SIREN) and names, ready for maps; shares come with 95 %
intervals (logit, see `estimates`) and a `fragile` flag when fewer respondents than the threshold support them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vigie.errors import ConfigurationError, VigieError
from vigie.modules.enquete.codebook import MOTIVES
from vigie.modules.enquete.estimates import MIN_RESPONDENTS, Z95, Design
from vigie.modules.enquete.survey import Survey

ORIGIN_LEVELS = ("commune", "epci")


@dataclass
class Trips:
    """Trips of one motive: the matrix M (respondents × destinations) and what the flows need around it."""

    motive: str
    destinations: list[str]
    matrix: np.ndarray  # n × J trip counts
    origins: np.ndarray  # origin code of each respondent (commune or EPCI)
    names: dict[str, str]
    inside: set[str]  # communes of the study territory

    @property
    def per_respondent(self) -> np.ndarray:
        return self.matrix.sum(axis=1)


class FlowReader:
    """Flows of a stored survey with the weights of one scheme (or the design weights)."""

    def __init__(self, survey: Survey, scheme: str | None = None, *, design: Design | None = None,
                 territory: str | None = None, min_count: int = MIN_RESPONDENTS):
        self.survey = survey
        self.design = design or survey.design(scheme)
        self.min_count = min_count
        wh = survey.wh
        names = wh.query_df("SELECT level, code, name FROM territory WHERE cog = ? AND level IN ('commune', 'epci')",
                            (survey.cog,))
        self.names = {str(c): str(n) for c, n in zip(names["code"], names["name"])}
        self.names.update(survey.codebook.external_destinations)
        territory = territory or survey.territory or survey.codebook.territory
        self.territory = territory
        self.territory_name: str | None = None
        self.inside: set[str] = set()
        if territory:
            place = wh.find_territory(territory)
            members = wh.query_df(
                "SELECT child_code FROM membership WHERE cog = ? AND child_level = 'commune' AND parent_level = ? AND parent_code = ?",
                (survey.cog, place.level, place.code))
            self.inside = set(members["child_code"]) if place.level != "commune" else {place.code}
            self.territory_name = place.name

    def trips(self, motive: str, origin: str = "commune") -> Trips:
        if motive not in MOTIVES:
            raise ConfigurationError(f"Motif « {motive} » inconnu ; motifs : {', '.join(MOTIVES)}.")
        if motive not in self.survey.codebook.motives:
            raise ConfigurationError(f"L'enquête « {self.survey.id} » n'a pas de question sur le motif « {MOTIVES[motive]} ».")
        if origin not in ORIGIN_LEVELS:
            raise ConfigurationError(f"Origine « {origin} » inconnue : commune ou epci.")
        frame = self.survey.frame
        dest = self.survey.destinations[self.survey.destinations["motive"] == motive]
        codes = sorted(dest["destination"].unique())
        row = pd.Index(frame["respondent"]).get_indexer(dest["respondent"])
        col = pd.Index(codes).get_indexer(dest["destination"])
        matrix = np.zeros((len(frame), len(codes)))
        np.add.at(matrix, (row, col), 1.0)
        origins = frame[origin].to_numpy(dtype=object)
        return Trips(motive, codes, matrix, origins, self.names, self.inside)

    # ------------------------------------------------------------------ attraction
    def attraction(self, motive: str) -> pd.DataFrame:
        """Each destination: weighted trips, share of all trips of the motive, respondents naming it."""
        t = self.trips(motive)
        m = t.per_respondent
        if not m.any():
            raise VigieError(f"Aucun déplacement déclaré pour le motif « {MOTIVES[motive]} ».")
        w = self.design.weights
        total = float(w @ m)
        z_share = w[:, None] * (t.matrix - np.outer(m, (w @ t.matrix) / total)) / total
        cov_share = self.design.covariance(z_share)
        cov_total = self.design.covariance(w[:, None] * t.matrix)
        rows = []
        for j, code in enumerate(t.destinations):
            share = float(w @ t.matrix[:, j]) / total
            se = float(np.sqrt(max(cov_share[j, j], 0.0)))
            low, high = self.design.proportion_interval(share, se)
            trips = float(w @ t.matrix[:, j])
            se_t = float(np.sqrt(max(cov_total[j, j], 0.0)))
            n = int(np.sum(t.matrix[:, j] > 0))
            rows.append({"motif": motive, "destination": code, "destination_nom": t.names.get(code, code),
                         "dans_territoire": code in t.inside, "deplacements": trips, "deplacements_erreur_type": se_t,
                         "deplacements_ic_bas": trips - Z95 * se_t, "deplacements_ic_haut": trips + Z95 * se_t,
                         "part": share, "erreur_type": se, "ic_bas": low, "ic_haut": high, "repondants": n,
                         "fragile": n < self.min_count})
        return pd.DataFrame(rows).sort_values(["part", "destination"], ascending=[False, True], ignore_index=True)

    # ------------------------------------------------------------------ flows
    def flows(self, motive: str, origin: str = "commune") -> pd.DataFrame:
        """Origin → destination: weighted trips and share of the origin's trips (non-zero flows only)."""
        t = self.trips(motive, origin)
        m = t.per_respondent
        w = self.design.weights
        rows = []
        for o in sorted({x for x in t.origins if x is not None}):
            inside = t.origins == o
            base = float(w[inside] @ m[inside])
            if base == 0:
                continue
            counts = t.matrix[inside].sum(axis=0)
            present = np.flatnonzero(counts > 0)
            trips = w[inside] @ t.matrix[inside][:, present]
            shares = trips / base
            z = np.zeros((len(w), len(present)))
            z[inside] = w[inside, None] * (t.matrix[inside][:, present] - np.outer(m[inside], shares)) / base
            cov = self.design.covariance(z)
            n_origin = int(np.sum(inside & (m > 0)))
            for k, j in enumerate(present):
                code = t.destinations[j]
                se = float(np.sqrt(max(cov[k, k], 0.0)))
                low, high = self.design.proportion_interval(float(shares[k]), se)
                rows.append({"motif": motive, "origine": o, "origine_nom": t.names.get(o, o), "destination": code,
                             "destination_nom": t.names.get(code, code), "dans_territoire": code in t.inside,
                             "deplacements": float(trips[k]), "part": float(shares[k]), "erreur_type": se,
                             "ic_bas": low, "ic_haut": high, "repondants": int(counts[j]),
                             "repondants_origine": n_origin, "fragile": n_origin < self.min_count})
        columns = ["motif", "origine", "origine_nom", "destination", "destination_nom", "dans_territoire", "deplacements",
                   "part", "erreur_type", "ic_bas", "ic_haut", "repondants", "repondants_origine", "fragile"]
        return pd.DataFrame(rows, columns=columns)

    def catchment(self, motive: str, origin: str = "commune", pole: str | None = None) -> pd.DataFrame:
        """For each origin, its first destination (largest share of its trips); `pole` keeps that pole's catchment."""
        flows = self.flows(motive, origin)
        if flows.empty:
            return flows
        ranked = flows.sort_values(["origine", "part", "destination"], ascending=[True, False, True])
        first = ranked.groupby("origine", sort=True).head(1).reset_index(drop=True)
        second = ranked.groupby("origine", sort=True).nth(1).set_index("origine")["part"]
        first["part_suivante"] = first["origine"].map(second).fillna(0.0).to_numpy()
        first = first.rename(columns={"destination": "pole", "destination_nom": "pole_nom"})
        if pole is not None:
            first = first[first["pole"] == pole].reset_index(drop=True)
        return first

    # ------------------------------------------------------------------ leakage
    def leakage(self, motive: str, by: str | None = "epci") -> pd.DataFrame:
        """Share of trips leaving the study territory: overall (first row) and by origin (`by`: epci, commune, None)."""
        if not self.inside:
            raise ConfigurationError("Territoire d'étude inconnu : précisez-le pour mesurer l'évasion (option --territoire).")
        t = self.trips(motive, by or "commune")
        m = t.per_respondent
        outside_cols = np.array([code not in t.inside for code in t.destinations], dtype=bool)
        y = t.matrix[:, outside_cols].sum(axis=1) if outside_cols.any() else np.zeros(len(m))
        rows = []
        groups: list[tuple[str, str, np.ndarray]] = [("ensemble", self.territory_name or "Ensemble",
                                                      np.ones(len(m), dtype=bool))]
        if by:
            groups += [(o, t.names.get(o, o), t.origins == o) for o in sorted({x for x in t.origins if x is not None})]
        for code, name, mask in groups:
            mask = mask & (m > 0)
            if not mask.any():
                continue
            est = self.design.ratio(y, m, domain=mask)
            low, high = self.design.proportion_interval(est.value, est.se)
            n = int(mask.sum())
            rows.append({"motif": motive, "origine": code, "origine_nom": name, "evasion": est.value,
                         "erreur_type": est.se, "ic_bas": low, "ic_haut": high,
                         "deplacements_hors_territoire": float(self.design.weights[mask] @ y[mask]),
                         "repondants": n, "fragile": n < self.min_count})
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """Per motive: respondents who go somewhere, trips, first destination and leakage."""
        rows = []
        for motive in self.survey.codebook.motives:
            t = self.trips(motive)
            m = t.per_respondent
            if not m.any():
                continue
            practising = self.design.mean((m > 0).astype(float))
            attraction = self.attraction(motive)
            top = attraction.iloc[0]
            row = {"motif": motive, "motif_libelle": MOTIVES[motive], "pratiquants": practising.value,
                   "pratiquants_erreur_type": practising.se, "repondants": int(np.sum(m > 0)),
                   "premiere_destination": top["destination"], "premiere_destination_nom": top["destination_nom"],
                   "part_premiere_destination": top["part"]}
            if self.inside:
                leak = self.leakage(motive, by=None).iloc[0]
                row.update({"evasion": leak["evasion"], "evasion_ic_bas": leak["ic_bas"], "evasion_ic_haut": leak["ic_haut"]})
            rows.append(row)
        return pd.DataFrame(rows)
