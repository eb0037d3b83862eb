"""Calibration of survey weights on known margins, as INSEE's Calmar/Calmar2 and R `survey` do it.

Calibration (Deville & Särndal 1992) looks for weights w_k = d_k F(q_k x_k'λ) close to the initial weights d_k
whose weighted totals hit the known population totals: Σ w_k x_k = T. `x_k` holds one dummy per modality of each
categorical margin and the value of each numeric margin; `F` is the inverse distance function of the method:

* `linear`  (Calmar méthode 1): F(u) = 1 + u — generalised regression weights, which may become negative;
* `raking`  (Calmar méthode 2, « raking ratio »): F(u) = exp(u) — always positive;
* `logit`   (Calmar méthode 3): F(u) = L + (U − L)·expit(A·u + log((1 − L)/(U − 1))), A = (U − L)/((1 − L)(U − 1)),
  which keeps every ratio g = w/d strictly inside the bounds (L, U), L < 1 < U.

λ is found by Newton's method from λ = 0, as in Calmar: Σ_k d_k q_k F'(q_k x_k'λ) x_k x_k' is the Jacobian.
Margins that are linear combinations of others (e.g. a population total next to full sets of dummies) are
checked for consistency, then dropped from the system; inconsistent margins, bounds that no weight can meet, or
an iteration that does not settle are reported as a failure to converge — never as weights.

Trimming bounds the ratios g = w/d: the units outside the bounds are set on them and held fixed while the
others are calibrated again to the rest of the totals, until no ratio leaves the bounds (the margins stay met).

`rake` is iterative proportional fitting exactly as R `survey::rake` runs it (successive post-stratifications,
stopped when the weighted cross-table of the margin variables moves by less than `epsilon`), so that its weights
and its variance (see `estimates`) reproduce R's.

The weighting report gives the range and the ratio of the weights, Kish's effective sample size
n_eff = (Σw)²/Σw² and the design effect due to weighting n/n_eff = 1 + CV².
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.linalg import qr as pivoted_qr
from scipy.special import expit

from vigie.errors import VigieError

METHODS = ("linear", "raking", "logit")
METHOD_ALIASES = {
    "linear": "linear", "lineaire": "linear", "linéaire": "linear", "1": "linear",
    "raking": "raking", "ratissage": "raking", "exponentielle": "raking", "2": "raking",
    "logit": "logit", "3": "logit",
}
METHOD_LABELS = {"linear": "linéaire", "raking": "raking ratio (exponentielle)", "logit": "logit (bornée)"}

# A margin whose dummy column is a combination of the others must have the same total within this relative gap.
CONSISTENCY_TOLERANCE = 1e-7


class CalibrationError(VigieError):
    """Calibration impossible: bad margins, or no convergence. `result` holds the failed attempt, if any."""

    def __init__(self, message: str, result: "Calibration | None" = None):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class CategoricalMargin:
    """Population totals of the modalities of a categorical variable (codes as strings)."""

    variable: str
    totals: Mapping[str, float]
    # Optional regrouping of the variable's codes: margin modality -> codes of the variable it gathers.
    groups: Mapping[str, Sequence[str]] | None = None

    def scaled(self, population: float) -> "CategoricalMargin":
        """Shares (summing to 1 or to 100) turned into totals for a population."""
        values = {k: float(v) for k, v in self.totals.items()}
        s = sum(values.values())
        base = 100.0 if abs(s - 100.0) < 1e-6 else 1.0
        return CategoricalMargin(self.variable, {k: v / base * population for k, v in values.items()}, self.groups)

    def recode(self, codes: np.ndarray) -> np.ndarray:
        """The margin modality of each unit's code (codes as strings; regrouped when `groups` says so)."""
        if not self.groups:
            return codes
        lookup = {str(c): str(label) for label, members in self.groups.items() for c in members}
        return np.array([lookup.get(c, c) for c in codes], dtype=object)


@dataclass(frozen=True)
class NumericMargin:
    """Population total of a numeric variable."""

    variable: str
    total: float


Margin = CategoricalMargin | NumericMargin


@dataclass
class CalibrationMatrix:
    """The calibration variables x_k (one row per unit) and their population totals, with their labels."""

    X: np.ndarray
    totals: np.ndarray
    labels: list[tuple[str, str | None]]  # (variable, modality) — modality None for numeric margins and the total

    def sample_totals(self, weights: np.ndarray) -> np.ndarray:
        return self.X.T @ weights


def calibration_matrix(data: pd.DataFrame, margins: Sequence[Margin], population: float | None = None) -> CalibrationMatrix:
    """Build x_k and T from the margins. Every unit must fall in a modality of each categorical margin."""
    columns: list[np.ndarray] = []
    totals: list[float] = []
    labels: list[tuple[str, str | None]] = []
    n = len(data)
    seen: set[str] = set()
    for margin in margins:
        if margin.variable in seen:
            raise CalibrationError(f"La variable « {margin.variable} » figure deux fois dans les marges.")
        seen.add(margin.variable)
        if margin.variable not in data.columns:
            raise CalibrationError(f"Variable de calage « {margin.variable} » absente des données de l'enquête.")
        raw = data[margin.variable]
        if isinstance(margin, NumericMargin):
            values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
            if np.isnan(values).any():
                first = int(np.flatnonzero(np.isnan(values))[0])
                raise CalibrationError(
                    f"Variable de calage numérique « {margin.variable} » : valeur manquante ou non numérique "
                    f"(unité n°{first + 1}).")
            columns.append(values)
            totals.append(float(margin.total))
            labels.append((margin.variable, None))
            continue
        codes = margin.recode(raw.astype("string").fillna("").to_numpy(dtype=object))
        known = {str(k) for k in margin.totals}
        outside = sorted({c for c in codes if c not in known})
        if outside and outside[0] == "":
            count = int(np.sum(codes == ""))
            raise CalibrationError(
                f"Marge « {margin.variable} » : {count} répondant(s) sans réponse à cette variable ; le calage exige une "
                "réponse de chacun (imputez-la, ou regroupez les non-réponses dans une modalité des marges).")
        if outside:
            raise CalibrationError(
                f"Marge « {margin.variable} » : la modalité « {outside[0]} » est présente dans l'échantillon "
                f"mais absente des marges ({', '.join(sorted(known))}).")
        for modality, total in margin.totals.items():
            column = (codes == str(modality)).astype(float)
            if not column.any():
                if float(total) == 0.0:
                    continue
                raise CalibrationError(
                    f"Marge « {margin.variable} » : la modalité « {modality} » (total {float(total):g}) n'a aucun "
                    "répondant : regroupez-la avec une autre modalité.")
            columns.append(column)
            totals.append(float(total))
            labels.append((margin.variable, str(modality)))
    if population is not None:
        columns.append(np.ones(n))
        totals.append(float(population))
        labels.append(("Ensemble", None))
    if not columns:
        raise CalibrationError("Aucune marge de calage.")
    return CalibrationMatrix(np.column_stack(columns), np.asarray(totals, dtype=float), labels)


# ---------------------------------------------------------------------------------------------- distances
def _distance(method: str, bounds: tuple[float, float] | None):
    """F and F' for the method, both of u = q·x'λ; F(0) = 1."""
    if method == "linear":
        return (lambda u: 1.0 + u), (lambda u: np.ones_like(u))
    if method == "raking":
        return np.exp, np.exp
    low, up = bounds  # type: ignore[misc]
    a = (up - low) / ((1.0 - low) * (up - 1.0))
    c = np.log((1.0 - low) / (up - 1.0))

    def f(u):
        return low + (up - low) * expit(a * u + c)

    def df(u):
        s = expit(a * u + c)
        return (up - low) * a * s * (1.0 - s)

    return f, df


def check_method(method: str, bounds: Sequence[float] | None) -> tuple[str, tuple[float, float] | None]:
    key = METHOD_ALIASES.get(str(method).strip().lower())
    if key is None:
        raise CalibrationError(f"Méthode de calage inconnue « {method} » : lineaire, raking ou logit.")
    if key == "logit":
        if bounds is None or len(bounds) != 2:
            raise CalibrationError("La méthode logit exige deux bornes L et U (ex. 0,5 et 2).")
        low, up = float(bounds[0]), float(bounds[1])
        if not (0.0 <= low < 1.0 < up):
            raise CalibrationError(f"Bornes logit invalides ({low:g} ; {up:g}) : il faut 0 ≤ L < 1 < U.")
        return key, (low, up)
    if bounds is not None:
        raise CalibrationError("Des bornes ne s'appliquent qu'à la méthode logit (utilisez l'écrêtage pour les autres).")
    return key, None


@dataclass
class Solution:
    g: np.ndarray
    converged: bool
    iterations: int
    misfit: float  # max |Σ w x − T| / (1 + |T|)
    message: str
    lam: np.ndarray | None = None


def _independent_columns(X: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Indices of linearly independent columns and, for the others, their coefficients on them."""
    scaled = X * np.sqrt(np.abs(d))[:, None]
    norms = np.linalg.norm(scaled, axis=0)
    norms[norms == 0] = 1.0
    scaled = scaled / norms
    _, r, perm = pivoted_qr(scaled, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > 1e-9 * max(diag[0], 1e-300)))
    keep = np.sort(perm[:rank])
    drop = np.setdiff1d(np.arange(X.shape[1]), keep)
    if not len(drop):
        return keep, None
    coef, *_ = np.linalg.lstsq(X[:, keep] * np.sqrt(np.abs(d))[:, None], X[:, drop] * np.sqrt(np.abs(d))[:, None], rcond=None)
    return keep, coef


def solve(
    X: np.ndarray,
    d: np.ndarray,
    totals: np.ndarray,
    method: str = "linear",
    bounds: tuple[float, float] | None = None,
    q: np.ndarray | None = None,
    max_iter: int = 50,
    tol: float = 1e-10,
    labels: Sequence[str] | None = None,
) -> Solution:
    """Newton iterations of Deville & Särndal / Calmar: ratios g = F(q·Xλ) with Σ d g x = T.

    Overflows of exp() on a runaway step are expected and handled (step halving, non-convergence), not warned of.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return _newton(X, d, totals, method, bounds, q, max_iter, tol, labels)


def _newton(X, d, totals, method, bounds, q, max_iter, tol, labels) -> Solution:
    method, bounds = check_method(method, bounds)
    X = np.asarray(X, dtype=float)
    d = np.asarray(d, dtype=float)
    totals = np.asarray(totals, dtype=float)
    q = np.ones(len(d)) if q is None else np.asarray(q, dtype=float)
    labels = list(labels) if labels is not None else [f"marge n°{j + 1}" for j in range(X.shape[1])]
    keep, coef = _independent_columns(X, d)
    if coef is not None:
        drop = np.setdiff1d(np.arange(X.shape[1]), keep)
        implied = coef.T @ totals[keep]
        gaps = np.abs(implied - totals[drop]) / np.maximum(1.0, np.abs(totals[drop]))
        worst = int(np.argmax(gaps))
        if gaps[worst] > CONSISTENCY_TOLERANCE:
            j = drop[worst]
            return Solution(
                np.ones(len(d)), False, 0, float(gaps[worst]),
                f"le calage ne peut pas converger : les marges sont incohérentes (le total « {labels[j]} » vaut "
                f"{totals[j]:g} alors que les autres marges imposent {implied[worst]:g}).")
        X, totals = X[:, keep], totals[keep]
    f, df = _distance(method, bounds)
    scale = 1.0 + np.abs(totals)
    lam = np.zeros(X.shape[1])
    g = f(q * (X @ lam))
    misfit = np.abs(X.T @ (d * g) - totals) / scale
    iterations = 0
    while misfit.max() >= tol:
        if iterations >= max_iter:
            return Solution(g, False, iterations, float(misfit.max()),
                            f"le calage n'a pas convergé en {iterations} itérations (écart relatif maximal aux marges : "
                            f"{misfit.max():.2e}) : marges impossibles à atteindre"
                            + (f" avec des rapports de poids entre {bounds[0]:g} et {bounds[1]:g}" if bounds else "")
                            + ".", lam)
        iterations += 1
        u = q * (X @ lam)
        phi = X.T @ (d * f(u)) - totals
        jac = (X * (d * q * df(u))[:, None]).T @ X
        try:
            step = np.linalg.solve(jac, -phi)
        except np.linalg.LinAlgError:  # singular Jacobian (all ratios of a margin on a bound): least squares
            step, *_ = np.linalg.lstsq(jac, -phi, rcond=None)
        if not np.all(np.isfinite(step)):
            return Solution(g, False, iterations, float(misfit.max()),
                            "le calage n'a pas convergé : le système est devenu singulier (bornes trop étroites ?).", lam)
        candidate = lam + step
        halvings = 0
        while halvings < 40:
            g_new = f(q * (X @ candidate))
            if np.all(np.isfinite(g_new)):
                break
            step = step / 2
            candidate = lam + step
            halvings += 1
        lam = candidate
        g = f(q * (X @ lam))
        misfit = np.abs(X.T @ (d * g) - totals) / scale
        if not np.all(np.isfinite(misfit)):
            return Solution(g, False, iterations, float("inf"), "le calage n'a pas convergé : les poids divergent.", lam)
    return Solution(g, True, iterations, float(misfit.max()), "calage réussi.", lam)


# ---------------------------------------------------------------------------------------------- calibration
@dataclass
class Calibration:
    """Calibrated weights and how they were obtained."""

    weights: np.ndarray
    initial: np.ndarray  # initial weights d, after the Calmar scaling when it applies
    g: np.ndarray
    method: str
    bounds: tuple[float, float] | None
    converged: bool
    iterations: int
    misfit: float
    message: str
    matrix: CalibrationMatrix
    trim: tuple[float, float] | None = None
    trimmed: np.ndarray | None = None
    margins: list[Margin] = field(default_factory=list)
    population: float | None = None

    def report(self) -> "WeightingReport":
        return weighting_report(self.weights, self.initial, calibration=self)

    def margins_table(self) -> pd.DataFrame:
        """Each calibration total: target, estimate with the initial weights, with the calibrated weights."""
        before = self.matrix.sample_totals(self.initial)
        after = self.matrix.sample_totals(self.weights)
        rows = []
        for (variable, modality), target, b, a in zip(self.matrix.labels, self.matrix.totals, before, after):
            rows.append({"variable": variable, "modalite": modality, "cible": target, "avant": b, "apres": a,
                         "ecart_relatif": (a - target) / target if target else a - target})
        return pd.DataFrame(rows)


def calibrate(
    data: pd.DataFrame,
    weights: np.ndarray | Sequence[float] | str,
    margins: Sequence[Margin],
    *,
    method: str = "linear",
    bounds: Sequence[float] | None = None,
    population: float | None = None,
    scale: bool | None = None,
    q: np.ndarray | Sequence[float] | None = None,
    trim: Sequence[float] | None = None,
    max_iter: int = 50,
    tol: float = 1e-10,
    raise_on_failure: bool = True,
) -> Calibration:
    """Calibrate `weights` (an array or a column of `data`) on `margins`.

    `population`: total population, added as a calibration total (Calmar's POPTOT). With it, the initial weights
    are first scaled to sum to it (Calmar's ECHELLE), unless `scale=False`: the bounds of the logit method then
    apply to ratios around 1. `q`: Calmar's heterogeneity factors (u = q·x'λ). `trim`: bounds (low, high) on the
    ratios w/d. On failure, raises `CalibrationError` (French message), or with `raise_on_failure=False` returns
    a result whose `converged` is False.
    """
    method, checked_bounds = check_method(method, bounds)
    d = data[weights].to_numpy(dtype=float) if isinstance(weights, str) else np.asarray(weights, dtype=float)
    if len(d) != len(data):
        raise CalibrationError("Le vecteur des poids initiaux n'a pas autant d'éléments que l'échantillon.")
    if not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise CalibrationError("Les poids initiaux doivent être tous renseignés et strictement positifs.")
    if scale is None:
        scale = population is not None
    if scale:
        if population is None:
            raise CalibrationError("La mise à l'échelle des poids initiaux exige la population totale.")
        d = d * (float(population) / d.sum())
    qv = None if q is None else np.asarray(q, dtype=float)
    matrix = calibration_matrix(data, margins, population)
    labels = [v if m is None else f"{v} = {m}" for v, m in matrix.labels]
    trim_bounds = None
    if trim is not None:
        trim_bounds = (float(trim[0]), float(trim[1]))
        if not (0.0 <= trim_bounds[0] < 1.0 < trim_bounds[1]):
            raise CalibrationError(f"Bornes d'écrêtage invalides ({trim_bounds[0]:g} ; {trim_bounds[1]:g}) : il faut 0 ≤ bas < 1 < haut.")
    solution, g, trimmed = _solve_with_trimming(matrix, d, method, checked_bounds, qv, trim_bounds, max_iter, tol, labels)
    result = Calibration(
        weights=d * g, initial=d, g=g, method=method, bounds=checked_bounds, converged=solution.converged,
        iterations=solution.iterations, misfit=solution.misfit, message=solution.message, matrix=matrix,
        trim=trim_bounds, trimmed=trimmed, margins=list(margins), population=population)
    if not solution.converged and raise_on_failure:
        raise CalibrationError("Calage " + METHOD_LABELS[method] + " : " + solution.message, result)
    return result


def _solve_with_trimming(matrix, d, method, bounds, q, trim, max_iter, tol, labels):
    solution = solve(matrix.X, d, matrix.totals, method, bounds, q, max_iter, tol, labels)
    g = solution.g
    trimmed = np.zeros(len(d), dtype=bool)
    if trim is None or not solution.converged:
        return solution, g, trimmed
    low, high = trim
    g = g.copy()
    for _cycle in range(50):
        out = ~trimmed & ((g < low * (1 - 1e-12)) | (g > high * (1 + 1e-12)))
        if not out.any():
            return solution, g, trimmed
        g[out] = np.clip(g[out], low, high)
        trimmed |= out
        free = ~trimmed
        if not free.any():
            break
        rest = matrix.totals - matrix.X[trimmed].T @ (d[trimmed] * g[trimmed])
        sub = solve(matrix.X[free], d[free], rest, method, bounds, None if q is None else q[free], max_iter, tol, labels)
        if not sub.converged:
            return Solution(g, False, solution.iterations + sub.iterations, sub.misfit,
                            "l'écrêtage des poids est incompatible avec les marges (" + sub.message.rstrip(".")
                            + ") ; élargissez les bornes, ou calez par la méthode logit avec ces bornes."), g, trimmed
        g[free] = sub.g
        solution = Solution(g, True, solution.iterations + sub.iterations, sub.misfit, solution.message)
    return Solution(g, False, solution.iterations, solution.misfit,
                    "l'écrêtage n'a pas abouti : trop d'unités hors des bornes pour atteindre les marges."), g, trimmed


# ---------------------------------------------------------------------------------------------- raking (R rake)
@dataclass
class Raking:
    """Weights of iterative proportional fitting, with the post-strata of its last pass (for the variance)."""

    weights: np.ndarray
    initial: np.ndarray
    converged: bool
    iterations: int
    # For each margin of the last pass: the index of each unit's modality and the weights right after that step.
    steps: list[tuple[np.ndarray, np.ndarray]]
    margins: list[CategoricalMargin]

    def report(self) -> "WeightingReport":
        return weighting_report(self.weights, self.initial, method="raking (ajustement proportionnel itératif)",
                                converged=self.converged, iterations=self.iterations)


def rake(
    data: pd.DataFrame,
    weights: np.ndarray | Sequence[float] | str,
    margins: Sequence[CategoricalMargin],
    *,
    epsilon: float = 1.0,
    max_iter: int = 10,
) -> Raking:
    """Iterative proportional fitting as R `survey::rake` (defaults `epsilon = 1`, `maxit = 10`).

    Each pass post-stratifies on each margin in turn; the passes stop when no cell of the weighted cross-table of
    all margin variables moved by `epsilon` or more (`epsilon < 1` is a fraction of the sum of the weights).
    """
    w = data[weights].to_numpy(dtype=float) if isinstance(weights, str) else np.asarray(weights, dtype=float).copy()
    initial = w.copy()
    if epsilon < 1:
        epsilon = epsilon * w.sum()
    indexes = []
    for margin in margins:
        codes = margin.recode(data[margin.variable].astype("string").fillna("").to_numpy(dtype=object))
        modalities = [str(k) for k in margin.totals]
        lookup = {m: i for i, m in enumerate(modalities)}
        missing = sorted({c for c in codes if c not in lookup})
        if missing:
            raise CalibrationError(f"Marge « {margin.variable} » : modalité « {missing[0]} » absente des marges.")
        index = np.array([lookup[c] for c in codes])
        targets = np.array([float(margin.totals[k]) for k in margin.totals])
        indexes.append((index, targets))
    joint = pd.MultiIndex.from_arrays([data[m.variable].astype("string").fillna("").to_numpy() for m in margins])
    cell = pd.factorize(joint)[0]

    def table(weights):
        return np.bincount(cell, weights=weights)

    old = table(w)
    iterations, converged, steps = 0, False, []
    while iterations < max_iter:
        steps = []
        for index, targets in indexes:
            current = np.bincount(index, weights=w, minlength=len(targets))
            if np.any((current == 0) & (targets > 0)):
                raise CalibrationError("Raking impossible : une modalité des marges n'a aucun répondant.")
            factor = np.divide(targets, current, out=np.ones_like(targets), where=current > 0)
            w = w * factor[index]
            steps.append((index, w.copy()))
        new = table(w)
        if np.max(np.abs(old - new)) < epsilon:
            converged = True
            break
        old = new
        iterations += 1
    return Raking(w, initial, converged, iterations, steps, list(margins))


# ---------------------------------------------------------------------------------------------- report
@dataclass
class WeightingReport:
    """Summary of a set of weights (French labels in `lines`)."""

    n: int
    total: float
    minimum: float
    maximum: float
    ratio: float
    mean: float
    cv: float
    effective_size: float  # Kish: (Σw)² / Σw²
    design_effect: float  # n / n_eff = 1 + CV²
    g_min: float | None = None
    g_max: float | None = None
    negative: int = 0
    trimmed: int = 0
    method: str | None = None
    bounds: tuple[float, float] | None = None
    converged: bool | None = None
    iterations: int | None = None
    message: str | None = None
    margins: pd.DataFrame | None = None

    def as_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "margins"}
        if self.margins is not None:
            out["margins"] = self.margins.to_dict(orient="records")
        return out

    def lines(self) -> list[str]:
        from vigie import formatting as fmt

        out = []
        if self.method:
            state = "convergé" if self.converged else "NON CONVERGÉ"
            extra = f", bornes {fmt.number(self.bounds[0], 2)} – {fmt.number(self.bounds[1], 2)}" if self.bounds else ""
            out.append(f"Méthode : {self.method}{extra} ; {state}"
                       + (f" en {self.iterations} itération(s)" if self.iterations is not None else "") + ".")
        out += [
            f"Répondants : {fmt.number(self.n)} ; somme des poids : {fmt.number(self.total, 1)}.",
            f"Poids : min {fmt.number(self.minimum, 3)}, max {fmt.number(self.maximum, 3)}, "
            f"rapport max/min {fmt.number(self.ratio, 2)}, coefficient de variation {fmt.number(self.cv, 3)}.",
            f"Taille d'échantillon effective (Kish) : {fmt.number(self.effective_size, 1)} ; "
            f"effet de plan dû à la pondération : {fmt.number(self.design_effect, 3)}.",
        ]
        if self.g_min is not None:
            out.append(f"Rapports poids calés / poids initiaux : de {fmt.number(self.g_min, 3)} à {fmt.number(self.g_max, 3)}.")
        if self.negative:
            out.append(f"Attention : {self.negative} poids négatif(s) (méthode linéaire) : préférez raking ou logit.")
        if self.trimmed:
            out.append(f"Écrêtage : {self.trimmed} poids ramené(s) sur les bornes.")
        return out


def weighting_report(
    weights: np.ndarray,
    initial: np.ndarray | None = None,
    *,
    calibration: Calibration | None = None,
    method: str | None = None,
    converged: bool | None = None,
    iterations: int | None = None,
) -> WeightingReport:
    w = np.asarray(weights, dtype=float)
    n = len(w)
    total = float(w.sum())
    mean = total / n
    cv = float(np.sqrt(np.mean((w - mean) ** 2)) / mean)
    n_eff = total**2 / float(np.sum(w**2))
    positive = w[w > 0]
    report = WeightingReport(
        n=n, total=total, minimum=float(w.min()), maximum=float(w.max()),
        ratio=float(w.max() / positive.min()) if len(positive) else float("nan"),
        mean=mean, cv=cv, effective_size=n_eff, design_effect=n / n_eff, negative=int(np.sum(w < 0)),
        method=method, converged=converged, iterations=iterations)
    if initial is not None:
        g = w / np.asarray(initial, dtype=float)
        report.g_min, report.g_max = float(g.min()), float(g.max())
    if calibration is not None:
        report.method = METHOD_LABELS[calibration.method]
        report.bounds = calibration.bounds
        report.converged = calibration.converged
        report.iterations = calibration.iterations
        report.message = calibration.message
        report.trimmed = int(calibration.trimmed.sum()) if calibration.trimmed is not None else 0
        report.margins = calibration.margins_table()
    return report
