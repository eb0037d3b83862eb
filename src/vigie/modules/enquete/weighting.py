"""Weighting a stored survey: calibrate it on margins and keep the weights and their report in the warehouse.

A weighting scheme (`calage` by default) is stored whole or not at all: when the calibration does not converge,
`CalibrationError` says so in French and the warehouse keeps its previous weights. The scheme's rows carry the
survey's `source_id`, so that a new import of the survey removes weights that no longer match its respondents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

import numpy as np
import pandas as pd

from vigie.modules.enquete.calibration import Calibration, Margin, WeightingReport, calibrate
from vigie.modules.enquete.survey import Survey, load_survey, margins_to_json, with_crossings
from vigie.warehouse import Warehouse

DEFAULT_SCHEME = "calage"


@dataclass
class Weighting:
    survey: str
    scheme: str
    calibration: Calibration
    report: WeightingReport


def weight_survey(
    wh: Warehouse,
    survey: str | Survey,
    margins: Sequence[Margin],
    *,
    method: str = "raking",
    bounds: Sequence[float] | None = None,
    trim: Sequence[float] | None = None,
    population: float | None = None,
    scheme: str = DEFAULT_SCHEME,
    max_iter: int = 50,
) -> Weighting:
    """Calibrate the survey's design weights (or N/n) on `margins` and store the weights as `scheme`."""
    data = survey if isinstance(survey, Survey) else load_survey(wh, survey)
    margins = list(margins)
    frame = with_crossings(data.frame, margins)
    known = population or _margin_population(margins)
    d = data.initial_weights(known)
    calibration = calibrate(frame, d, margins, method=method, bounds=bounds, population=population, trim=trim,
                            max_iter=max_iter)
    report = calibration.report()
    stored_report = report.as_dict()
    with wh.transaction():
        wh.execute("DELETE FROM survey_weight WHERE survey = ? AND scheme = ?", (data.id, scheme))
        wh.execute("DELETE FROM survey_weighting WHERE survey = ? AND scheme = ?", (data.id, scheme))
        wh.insert_frame("survey_weighting", pd.DataFrame([{
            "survey": data.id, "scheme": scheme, "method": calibration.method,
            "bound_low": calibration.bounds[0] if calibration.bounds else None,
            "bound_high": calibration.bounds[1] if calibration.bounds else None,
            "trim_low": calibration.trim[0] if calibration.trim else None,
            "trim_high": calibration.trim[1] if calibration.trim else None,
            "population": population, "margins": margins_to_json(margins), "converged": bool(calibration.converged),
            "iterations": int(calibration.iterations), "report": json.dumps(stored_report, ensure_ascii=False, default=_plain),
            "created_at": datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0), "source_id": data.source_id}]))
        wh.insert_frame("survey_weight", pd.DataFrame({
            "survey": data.id, "scheme": scheme, "respondent": data.frame["respondent"].to_numpy(),
            "initial_weight": calibration.initial, "weight": calibration.weights, "source_id": data.source_id}))
    return Weighting(data.id, scheme, calibration, report)


def stored_report(wh: Warehouse, survey: str, scheme: str = DEFAULT_SCHEME) -> dict:
    data = load_survey(wh, survey)
    return json.loads(data.weighting(scheme)["report"])


def _margin_population(margins: Sequence[Margin]) -> float | None:
    from vigie.modules.enquete.calibration import CategoricalMargin

    for m in margins:
        if isinstance(m, CategoricalMargin):
            return float(sum(m.totals.values()))
    return None


def _plain(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, tuple):
        return list(value)
    return str(value)
