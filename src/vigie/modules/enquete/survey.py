"""A stored survey read back from the warehouse: respondents, answers, destinations, weights and design.

`load_survey` rebuilds one row per respondent (home commune, its EPCI, design weight and every answer; codes stay
strings, numeric variables become floats) and the destinations in long form. `Survey.design(scheme)` gives the
`estimates.Design` to estimate with: the codebook's strata/clusters/fpc, and the weights of a stored weighting
scheme with its calibration (for the residual variance), or the design weights when no scheme is named.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vigie.errors import NotFoundError
from vigie.modules.enquete.calibration import (
    Calibration,
    CalibrationError,
    CategoricalMargin,
    Margin,
    NumericMargin,
    calibration_matrix,
)
from vigie.modules.enquete.codebook import Codebook, load_codebook
from vigie.modules.enquete.estimates import Design
from vigie.modules.enquete.schema import existing_tables, require_schema
from vigie.warehouse import Warehouse

CROSSING = "*"  # a margin on "sexe*age" calibrates on the crossing of the two variables
CROSSING_JOIN = "|"  # its modalities are the codes joined: "1|15-29"


@dataclass
class Survey:
    id: str
    title: str
    codebook: Codebook
    cog: int
    synthetic: bool
    territory: str | None
    source_id: int
    frame: pd.DataFrame  # respondent, commune, epci, design_weight, then one column per variable
    destinations: pd.DataFrame  # respondent, motive, mention, destination
    wh: Warehouse

    @property
    def n(self) -> int:
        return len(self.frame)

    def initial_weights(self, population: float | None = None) -> np.ndarray:
        """Design weights; without them, population/n (or 1 when the population is unknown)."""
        w = self.frame["design_weight"].to_numpy(dtype=float)
        if np.all(np.isfinite(w)):
            return w
        return np.full(self.n, (population or self.n) / self.n)

    def schemes(self) -> pd.DataFrame:
        return self.wh.query_df(
            "SELECT scheme, method, converged, iterations, created_at FROM survey_weighting WHERE survey = ? ORDER BY scheme",
            (self.id,))

    def weighting(self, scheme: str) -> dict:
        rows = self.wh.query_df("SELECT * FROM survey_weighting WHERE survey = ? AND scheme = ?", (self.id, scheme))
        if rows.empty:
            known = ", ".join(self.schemes()["scheme"]) or "aucune"
            raise NotFoundError(f"L'enquête « {self.id} » n'a pas de pondération « {scheme} » (pondérations : {known}) : "
                                "lancez « vigie enquete ponderer ».")
        return rows.iloc[0].to_dict()

    def design(self, scheme: str | None = None) -> Design:
        """The sampling design, with the weights of `scheme` (calibrated) or the design weights."""
        cb = self.codebook
        frame = self.frame
        strata = frame[cb.design["strata"]].to_numpy() if "strata" in cb.design else None
        clusters = frame[cb.design["cluster"]].to_numpy() if "cluster" in cb.design else None
        fpc = pd.to_numeric(frame[cb.design["fpc"]]).to_numpy(dtype=float) if "fpc" in cb.design else None
        base = Design(self.initial_weights(), strata=strata, clusters=clusters, fpc=fpc)
        if scheme is None:
            return base
        row = self.weighting(scheme)
        weights = self.wh.query_df(
            "SELECT respondent, initial_weight, weight FROM survey_weight WHERE survey = ? AND scheme = ?", (self.id, scheme))
        weights = weights.set_index("respondent").reindex(frame["respondent"])
        if weights["weight"].isna().any():
            raise NotFoundError(f"Pondération « {scheme} » incomplète pour l'enquête « {self.id} » : relancez la pondération.")
        margins = margins_from_json(row["margins"])
        population = None if pd.isna(row["population"]) else float(row["population"])
        matrix = calibration_matrix(with_crossings(frame, margins), margins, population)
        w = weights["weight"].to_numpy(dtype=float)
        d = weights["initial_weight"].to_numpy(dtype=float)
        bounds = None if pd.isna(row["bound_low"]) else (float(row["bound_low"]), float(row["bound_high"]))
        calibration = Calibration(weights=w, initial=d, g=w / d, method=row["method"], bounds=bounds, converged=True,
                                  iterations=int(row["iterations"]), misfit=0.0, message="", matrix=matrix,
                                  margins=margins, population=population)
        return base.calibrated(calibration)


def surveys(wh: Warehouse) -> pd.DataFrame:
    """The surveys of the warehouse (none when no survey was ever imported)."""
    if "survey" not in existing_tables(wh):
        return pd.DataFrame(columns=["id", "title", "vintage", "respondents", "synthetic", "cog", "territory", "source_id", "weightings"])
    return wh.query_df(
        "SELECT s.id, s.title, s.vintage, s.respondents, s.synthetic, s.cog, s.territory, s.source_id, "
        "(SELECT count(*) FROM survey_weighting w WHERE w.survey = s.id) AS weightings FROM survey s ORDER BY s.id")


def load_survey(wh: Warehouse, survey_id: str) -> Survey:
    require_schema(wh)
    rows = wh.query_df("SELECT * FROM survey WHERE id = ?", (survey_id,))
    if rows.empty:
        known = ", ".join(surveys(wh)["id"]) or "aucune"
        raise NotFoundError(f"Aucune enquête « {survey_id} » dans l'entrepôt (enquêtes : {known}) : lancez « vigie enquete importer ».")
    meta = rows.iloc[0]
    codebook = load_codebook(text=meta["codebook"], file=f"dictionnaire de l'enquête {survey_id}")
    respondents = wh.query_df(
        "SELECT respondent, commune, epci, design_weight FROM survey_respondent WHERE survey = ? ORDER BY line", (survey_id,))
    answers = wh.query_df("SELECT respondent, variable, answer FROM survey_answer WHERE survey = ?", (survey_id,))
    wide = answers.pivot(index="respondent", columns="variable", values="answer") if len(answers) else pd.DataFrame()
    frame = respondents.copy()
    for col in ("respondent", "commune", "epci"):
        frame[col] = frame[col].astype(object)
    frame["design_weight"] = frame["design_weight"].astype(float)
    names = list(codebook.variables) + [c for c in codebook.design.values() if c not in codebook.variables]
    for name in names:
        values = wide[name].reindex(frame["respondent"]).to_numpy(dtype=object) if name in wide.columns else np.full(len(frame), None, dtype=object)
        var = codebook.variables.get(name)
        if var is not None and var.kind == "numeric":
            frame[name] = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
        else:
            frame[name] = pd.Series(values, dtype=object).where(pd.notna(pd.Series(values, dtype=object)), None).to_numpy(dtype=object)
    destinations = wh.query_df(
        "SELECT respondent, motive, mention, destination FROM survey_destination WHERE survey = ? ORDER BY respondent, motive, mention",
        (survey_id,))
    for col in ("respondent", "motive", "destination"):
        destinations[col] = destinations[col].astype(object)
    return Survey(str(meta["id"]), str(meta["title"]), codebook, int(meta["cog"]), bool(meta["synthetic"]),
                  None if pd.isna(meta["territory"]) else str(meta["territory"]), int(meta["source_id"]), frame,
                  destinations, wh)


# ---------------------------------------------------------------------------------------------- margins helpers
def with_crossings(frame: pd.DataFrame, margins) -> pd.DataFrame:
    """Add the crossed variables ("sexe*age") the margins name, as codes joined by "|" (missing if any part is)."""
    out = frame
    for margin in margins:
        name = margin.variable
        if CROSSING not in name or name in frame.columns:
            continue
        parts = name.split(CROSSING)
        missing = [p for p in parts if p not in frame.columns]
        if missing:
            raise CalibrationError(f"Variable « {missing[0]} » du croisement « {name} » absente de l'enquête.")
        if out is frame:
            out = frame.copy()
        values = out[parts].astype(object)
        joined = values.astype(str).agg(CROSSING_JOIN.join, axis=1)
        joined[values.isna().any(axis=1)] = None
        out[name] = joined.to_numpy(dtype=object)
    return out


def margins_to_json(margins: list[Margin]) -> str:
    out = []
    for m in margins:
        if isinstance(m, NumericMargin):
            out.append({"variable": m.variable, "total": m.total})
        else:
            entry = {"variable": m.variable, "totals": {str(k): float(v) for k, v in m.totals.items()}}
            if m.groups:
                entry["groups"] = {str(k): [str(c) for c in v] for k, v in m.groups.items()}
            out.append(entry)
    return json.dumps(out, ensure_ascii=False)


def margins_from_json(text: str) -> list[Margin]:
    out: list[Margin] = []
    for m in json.loads(text):
        if "totals" in m:
            out.append(CategoricalMargin(m["variable"], {str(k): float(v) for k, v in m["totals"].items()}, m.get("groups")))
        else:
            out.append(NumericMargin(m["variable"], float(m["total"])))
    return out

