"""Design-based estimates: totals, means, shares and ratios with linearised standard errors, cross-tabulations.

Variances follow the Taylor linearisation of R `survey` (Lumley), step for step, so that the figures can be checked
against it:

* every estimator is reduced to its influence values z_k (total: w_k y_k; mean: w_k (y_k − ȳ)/Σw; ratio:
  w_k (y_k − R x_k)/X̂), zero outside the domain of a domain estimate, which keeps the whole design;
* calibrated weights (`Design.calibrated`): z is replaced by the g-weighted residual w_k (u_k − x_k'B) of u = z/w on
  the calibration variables, B fitted with the initial weights d (R's `calibrate`, Deville–Särndal's residual
  variance; trimmed weights are treated the same way, as R does after `calibrate(trim=)`); raked weights
  (`Design.raked`): the residual of R's `rake`, ten sweeps of post-stratum centring;
* then the first-stage (ultimate cluster) variance: in each stratum h, with n_h sampled PSUs of N_h and PSU totals
  t_hi of z, f_h n_h/(n_h − 1) Σ_i (t_hi − t̄_h)², with f_h = 1 − n_h/N_h when the population size is given.

Confidence intervals are 95 % Wald intervals with the normal quantile (R's `confint`) for totals, means and ratios;
shares use the logit interval with the design's degrees of freedom (number of PSUs − number of strata), as R's
`svyciprop(method = "logit")`, which stays within [0, 1]. Cross-tabulations give the Rao–Scott second-order
corrected Pearson test of independence (R `svychisq`, statistic "F") and its first-order χ² version, and flag
the cells with fewer respondents than a threshold (30 by default) as unreliable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from vigie.errors import VigieError
from vigie.modules.enquete.calibration import Calibration, Raking

Z95 = float(stats.norm.ppf(0.975))
MIN_RESPONDENTS = 30
# Below this trace of the design-effect matrix per degree of freedom, a cross-table has no sampling variance.
FIXED_TABLE_TRACE = 1e-9


class EstimationError(VigieError):
    """An estimate that cannot be computed (empty domain, lonely PSU…)."""


@dataclass
class Estimate:
    value: float
    se: float
    ci_low: float
    ci_high: float
    n: int  # respondents in the domain
    deff: float | None = None

    @property
    def cv(self) -> float:
        return self.se / abs(self.value) if self.value else float("nan")

    def as_dict(self) -> dict:
        return {"valeur": self.value, "erreur_type": self.se, "ic_bas": self.ci_low, "ic_haut": self.ci_high,
                "n": self.n, "effet_plan": self.deff}


@dataclass
class RaoScott:
    """Rao–Scott tests of independence of a two-way table (R `svychisq`).

    `reason` (French) is set when there is no test: the design effects of the table vanish (its cells are fixed
    by the calibration or the design, e.g. age × sex when sex × age is a margin), so that F would be X²/0. The
    statistics are then NaN and `sentence()` gives the reason.
    """

    pearson: float  # Pearson X² of the weighted table scaled to the sample size
    f: float  # second-order corrected statistic X²/tr(Δ)
    ndf: float
    ddf: float
    p_value: float  # of f under F(ndf, ddf)
    chisq_adjusted: float  # first-order: X²/mean(eigenvalues of Δ)
    df: int
    p_value_chisq: float
    reason: str | None = None

    @property
    def computed(self) -> bool:
        return self.reason is None

    def as_dict(self) -> dict:
        """The statistics (NaN when there is no test); the reason is `sentence()`."""
        return {k: v for k, v in self.__dict__.items() if k != "reason"}

    def sentence(self) -> str:
        from vigie import formatting as fmt

        if self.reason is not None:
            return self.reason
        verdict = "dépendance significative au seuil de 5 %" if self.p_value < 0.05 else "pas de dépendance significative au seuil de 5 %"
        p = f"p < {fmt.number(0.0001, 4)}" if self.p_value < 0.0001 else f"p = {fmt.number(self.p_value, 4)}"
        return (f"Test du χ² de Pearson corrigé de Rao et Scott : F = {fmt.number(self.f, 3)} "
                f"({fmt.number(self.ndf, 2)} et {fmt.number(self.ddf, 1)} degrés de liberté), "
                f"{p} : {verdict}.")


@dataclass
class CrossTab:
    cells: pd.DataFrame
    test: RaoScott | None


def _codes(values) -> np.ndarray:
    """Categorical codes as an object array of strings, None where missing."""
    series = pd.Series(values)
    out = series.astype("string").to_numpy(dtype=object)
    out[series.isna().to_numpy()] = None
    return out


@dataclass
class Design:
    """Sampling design and final weights of a sample, for linearised variances.

    `strata`, `clusters`: stratum and first-stage unit (PSU) of each unit (none: one stratum, each unit its own PSU).
    `fpc`: per unit, the number of PSUs in its stratum's population (or the sampling fraction when ≤ 1).
    """

    weights: np.ndarray
    strata: np.ndarray | None = None
    clusters: np.ndarray | None = None
    fpc: np.ndarray | None = None
    calibration: Calibration | None = None
    raking: Raking | None = None
    lonely_psu: str = "fail"  # "fail" or "certainty" (a stratum with one PSU adds nothing)
    _structure: tuple | None = field(default=None, repr=False)
    _basis: tuple | None = field(default=None, repr=False)
    _quantile: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=float)
        n = len(self.weights)
        strata = np.zeros(n, dtype=int) if self.strata is None else pd.factorize(pd.Series(self.strata).astype(str))[0]
        clusters = np.arange(n) if self.clusters is None else pd.factorize(pd.Series(self.clusters).astype(str))[0]
        # PSUs are identified within strata.
        psu = pd.factorize(pd.MultiIndex.from_arrays([strata, clusters]))[0]
        n_psu = np.zeros(strata.max() + 1 if n else 0, dtype=float)
        for h in range(len(n_psu)):
            n_psu[h] = len(np.unique(psu[strata == h]))
        f = np.ones(len(n_psu))
        if self.fpc is not None:
            fpc = np.asarray(self.fpc, dtype=float)
            for h in range(len(n_psu)):
                value = fpc[strata == h][0]
                population = n_psu[h] / value if value <= 1 else value
                if population < n_psu[h]:
                    raise EstimationError("Correction de population finie : la population d'une strate est plus petite que l'échantillon.")
                f[h] = (population - n_psu[h]) / population
        self._structure = (strata, psu, n_psu, f)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(cls, data: pd.DataFrame, *, weights: str | None = None, strata: str | None = None,
                   cluster: str | None = None, fpc: str | None = None) -> "Design":
        """Like R `svydesign(id = ~cluster, strata = ~strata, weights = ~weights, fpc = ~fpc)`.

        Without weights, they follow from the population sizes: N_h/n_h PSUs (fpc as counts) or 1/f_h.
        """
        fpc_values = data[fpc].to_numpy(dtype=float) if fpc else None
        if weights:
            w = data[weights].to_numpy(dtype=float)
        elif fpc_values is not None:
            design = cls(np.ones(len(data)), strata=data[strata].to_numpy() if strata else None,
                         clusters=data[cluster].to_numpy() if cluster else None, fpc=fpc_values)
            s, _, n_psu, _ = design._structure
            fraction = np.where(fpc_values <= 1, fpc_values, n_psu[s] / fpc_values)
            w = 1.0 / fraction
        else:
            raise EstimationError("Plan de sondage : il faut des poids ou des tailles de population (fpc).")
        return cls(w, strata=data[strata].to_numpy() if strata else None,
                   clusters=data[cluster].to_numpy() if cluster else None, fpc=fpc_values)

    def calibrated(self, calibration: Calibration) -> "Design":
        """The same design with calibrated weights; variances use the calibration residuals."""
        return Design(calibration.weights, self.strata, self.clusters, self.fpc, calibration=calibration,
                      lonely_psu=self.lonely_psu)

    def raked(self, raking: Raking) -> "Design":
        return Design(raking.weights, self.strata, self.clusters, self.fpc, raking=raking, lonely_psu=self.lonely_psu)

    @property
    def n(self) -> int:
        return len(self.weights)

    @property
    def degrees_of_freedom(self) -> int:
        strata, psu, n_psu, _ = self._structure
        return int(n_psu.sum() - len(n_psu))

    # ------------------------------------------------------------------ variance
    def _residuals(self, z: np.ndarray) -> np.ndarray:
        if self.calibration is not None:
            # R: qr.resid(qr(X·√d), z/(g√d))·g√d, i.e. w·(u − X B) with u = z/w and B fitted with the weights d.
            cal = self.calibration
            if self._basis is None:
                x = cal.matrix.X
                norms = np.sqrt((x * x * cal.initial[:, None]).sum(axis=0))
                x = x / np.where(norms > 0, norms, 1.0)  # scaled columns: a well-conditioned normal matrix
                self._basis = (x, np.linalg.pinv((x * cal.initial[:, None]).T @ x, rcond=1e-12, hermitian=True))
            x, inverse = self._basis
            u = z / cal.weights[:, None]
            coef = inverse @ (x.T @ (u * cal.initial[:, None]))
            z = cal.weights[:, None] * (u - x @ coef)
        if self.raking is not None:
            for _sweep in range(10):
                for index, psw in self.raking.steps:
                    counts = np.bincount(index)
                    for j in range(z.shape[1]):
                        means = np.bincount(index, weights=z[:, j] / psw) / np.maximum(counts, 1)
                        z[:, j] = z[:, j] - psw * means[index]
        return z

    def covariance(self, z: np.ndarray) -> np.ndarray:
        """Linearised covariance matrix of the totals of the influence values z (n × k)."""
        z = np.asarray(z, dtype=float)
        if z.ndim == 1:
            z = z[:, None]
        z = self._residuals(z.copy())
        strata, psu, n_psu, f = self._structure
        k = z.shape[1]
        if len(psu) == psu.max() + 1:  # each unit is its own PSU
            totals = np.empty((len(psu), k))
            totals[psu] = z
        else:
            order = np.argsort(psu, kind="stable")
            starts = np.flatnonzero(np.r_[True, np.diff(psu[order]) != 0])
            totals = np.add.reduceat(z[order], starts, axis=0)
        psu_stratum = np.zeros(psu.max() + 1, dtype=int)
        psu_stratum[psu] = strata
        cov = np.zeros((k, k))
        for h in range(len(n_psu)):
            t = totals[psu_stratum == h]
            nh = n_psu[h]
            if nh < 2:
                if self.lonely_psu == "certainty":
                    continue
                raise EstimationError("Une strate ne compte qu'une unité primaire : variance impossible (lonely PSU).")
            if f[h] < 1e-7:
                continue
            centred = t - t.mean(axis=0)
            cov += f[h] * nh / (nh - 1) * centred.T @ centred
        return cov

    def variance(self, z: np.ndarray) -> float:
        return float(self.covariance(z)[0, 0])

    # ------------------------------------------------------------------ estimators
    def _domain(self, domain) -> np.ndarray:
        if domain is None:
            return np.ones(self.n, dtype=bool)
        mask = np.asarray(domain, dtype=bool)
        if not mask.any():
            raise EstimationError("Domaine vide : aucun répondant.")
        return mask

    def _svyvar(self, y: np.ndarray, mask: np.ndarray) -> float:
        w = self.weights[mask]
        yy = y[mask]
        n = int(np.sum(w != 0))
        mean = np.sum(w * yy) / w.sum()
        return float(np.sum(w * (yy - mean) ** 2) / w.sum() * n / (n - 1))

    def total(self, y, domain=None, deff: bool = False) -> Estimate:
        y = np.asarray(y, dtype=float)
        mask = self._domain(domain) & ~np.isnan(y)
        z = np.where(mask, self.weights * np.nan_to_num(y), 0.0)
        value = float(z.sum())
        se = float(np.sqrt(self.variance(z)))
        d = None
        if deff:
            w = self.weights[mask]
            big_n, n = w.sum(), int(np.sum(w != 0))
            d = se**2 / (self._svyvar(np.nan_to_num(y), mask) * big_n**2 * (big_n - n) / (big_n * n))
        return Estimate(value, se, value - Z95 * se, value + Z95 * se, int(mask.sum()), d)

    def mean(self, y, domain=None, deff: bool = False) -> Estimate:
        y = np.asarray(y, dtype=float)
        mask = self._domain(domain) & ~np.isnan(y)
        if not mask.any():
            raise EstimationError("Domaine vide : aucun répondant avec une valeur.")
        w = np.where(mask, self.weights, 0.0)
        psum = w.sum()
        value = float(np.sum(w * np.nan_to_num(y)) / psum)
        z = np.where(mask, w * (np.nan_to_num(y) - value) / psum, 0.0)
        se = float(np.sqrt(self.variance(z)))
        d = None
        if deff:
            n = int(np.sum(w[mask] != 0))
            d = se**2 / (self._svyvar(np.nan_to_num(y), mask) * (psum - n) / (psum * n))
        return Estimate(value, se, value - Z95 * se, value + Z95 * se, int(mask.sum()), d)

    def ratio(self, y, x, domain=None) -> Estimate:
        """Ratio of two totals Ŷ/X̂ (R `svyratio`)."""
        y = np.asarray(y, dtype=float)
        x = np.asarray(x, dtype=float)
        mask = self._domain(domain) & ~np.isnan(y) & ~np.isnan(x)
        w = np.where(mask, self.weights, 0.0)
        big_x = float(np.sum(w * np.nan_to_num(x)))
        if big_x == 0:
            raise EstimationError("Ratio impossible : le dénominateur estimé est nul.")
        value = float(np.sum(w * np.nan_to_num(y)) / big_x)
        z = np.where(mask, w * (np.nan_to_num(y) - value * np.nan_to_num(x)) / big_x, 0.0)
        se = float(np.sqrt(self.variance(z)))
        return Estimate(value, se, value - Z95 * se, value + Z95 * se, int(mask.sum()))

    def proportion_interval(self, p: float, se: float, level: float = 0.95) -> tuple[float, float]:
        """Logit interval of a share, with the design's degrees of freedom (R `svyciprop`, method "logit")."""
        if p <= 0 or p >= 1 or se == 0:
            return p, p
        if level == 0.95 and self._quantile is not None:
            q = self._quantile
        else:
            df = self.degrees_of_freedom
            q = float(stats.t.ppf(0.5 + level / 2, df)) if df > 0 else Z95
            if level == 0.95:
                self._quantile = q
        centre = np.log(p / (1 - p))
        half = q * se / (p * (1 - p))
        return float(1 / (1 + np.exp(-(centre - half)))), float(1 / (1 + np.exp(-(centre + half))))

    def shares(self, values, domain=None, *, modalities: Sequence[str] | None = None, labels: dict | None = None,
               min_count: int = MIN_RESPONDENTS) -> pd.DataFrame:
        """Share of each modality among the respondents of the domain who answered."""
        codes = _codes(values)
        answered = np.array([c is not None for c in codes])
        mask = self._domain(domain) & answered
        if not mask.any():
            raise EstimationError("Domaine vide : aucun répondant n'a répondu.")
        modalities = list(modalities) if modalities is not None else sorted({c for c in codes[mask]})
        indicators = np.column_stack([(codes == m) for m in modalities]).astype(float)
        w = np.where(mask, self.weights, 0.0)
        psum = w.sum()
        p = (w @ indicators) / psum
        z = (w[:, None] * (indicators - p)) / psum
        z[~mask] = 0.0
        cov = self.covariance(z)
        rows = []
        for j, m in enumerate(modalities):
            se = float(np.sqrt(max(cov[j, j], 0.0)))
            low, high = self.proportion_interval(float(p[j]), se)
            n = int(np.sum(mask & (codes == m)))
            rows.append({"modalite": m, "libelle": (labels or {}).get(m, m), "n": n, "effectif_pondere": float(p[j] * psum),
                         "part": float(p[j]), "erreur_type": se, "ic_bas": low, "ic_haut": high, "fragile": n < min_count})
        return pd.DataFrame(rows)

    def by(self, values, groups, statistic: str = "mean", *, min_count: int = MIN_RESPONDENTS,
           group_labels: dict | None = None) -> pd.DataFrame:
        """Mean or total of a numeric variable in each group (R `svyby`)."""
        if statistic not in ("mean", "total"):
            raise EstimationError(f"Statistique « {statistic} » inconnue : mean ou total.")
        group_codes = _codes(groups)
        rows = []
        for g in sorted({c for c in group_codes if c is not None}):
            est = getattr(self, statistic)(values, domain=group_codes == g)
            rows.append({"groupe": g, "groupe_libelle": (group_labels or {}).get(g, g), "n": est.n, "valeur": est.value,
                         "erreur_type": est.se, "ic_bas": est.ci_low,
                         "ic_haut": est.ci_high, "fragile": est.n < min_count})
        return pd.DataFrame(rows)

    def crosstab(self, values, groups, *, min_count: int = MIN_RESPONDENTS, labels: dict | None = None,
                 group_labels: dict | None = None) -> CrossTab:
        """Share of each modality of `values` within each group, and the Rao–Scott test of independence."""
        codes, group_codes = _codes(values), _codes(groups)
        both = np.array([a is not None and b is not None for a, b in zip(codes, group_codes)])
        modalities = sorted({c for c in codes[both]})
        group_list = sorted({g for g in group_codes[both]})
        frames = []
        for g in group_list:
            part = self.shares(codes, domain=both & (group_codes == g), modalities=modalities, labels=labels,
                               min_count=min_count)
            part.insert(0, "groupe", g)
            part.insert(1, "groupe_libelle", (group_labels or {}).get(g, g))
            frames.append(part)
        cells = pd.concat(frames, ignore_index=True)
        test = rao_scott(self, codes, group_codes) if len(modalities) > 1 and len(group_list) > 1 else None
        return CrossTab(cells, test)


def rao_scott(design: Design, rows, cols) -> RaoScott:
    """Rao–Scott corrected Pearson test of independence between two categorical variables (R `svychisq`)."""
    rows, cols = _codes(rows), _codes(cols)
    both = np.array([a is not None and b is not None for a, b in zip(rows, cols)])
    row_levels = sorted({r for r in rows[both]})
    col_levels = sorted({c for c in cols[both]})
    nr, nc = len(row_levels), len(col_levels)
    # Cells in R's order: interaction(rows, cols), the row factor varying fastest.
    cells = np.column_stack([(rows == r) & (cols == c) for c in col_levels for r in row_levels]).astype(float)
    w = np.where(both, design.weights, 0.0)
    psum = w.sum()
    p = (w @ cells) / psum
    z = w[:, None] * (cells - p) / psum
    z[~both] = 0.0
    v = design.covariance(z)
    n = int(both.sum())
    table = (p * n).reshape(nc, nr).T  # rows × cols, scaled to the sample size
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = float(np.nansum((table - expected) ** 2 / expected))
    grid_r = np.tile(np.arange(nr), nc)
    grid_c = np.repeat(np.arange(nc), nr)
    main = np.column_stack([np.ones(nr * nc)] + [(grid_r == i).astype(float) for i in range(1, nr)]
                           + [(grid_c == j).astype(float) for j in range(1, nc)])
    inter = np.column_stack([((grid_r == i) & (grid_c == j)).astype(float) for j in range(1, nc) for i in range(1, nr)])
    coef, *_ = np.linalg.lstsq(main, inter, rcond=None)
    cmat = inter - main @ coef
    inv_p = np.where(p == 0, 0.0, 1.0 / np.where(p == 0, 1.0, p))
    denom = cmat.T @ (np.diag(inv_p) / n) @ cmat
    numr = cmat.T @ np.diag(inv_p) @ v @ np.diag(inv_p) @ cmat
    delta = np.linalg.solve(denom, numr)
    trace = float(np.trace(delta))
    df = delta.shape[1]
    # The eigenvalues of Δ are generalised design effects (about 1 each): a trace at rounding level means the cells
    # have no sampling variance (fixed by the calibration or the design) and X²/tr(Δ) means nothing.
    if not np.isfinite(trace) or trace <= FIXED_TABLE_TRACE * df:
        fixed_by = "le calage" if design.calibration is not None or design.raking is not None else "le plan de sondage"
        nan = float("nan")
        return RaoScott(pearson, nan, nan, nan, nan, nan, df, nan,
                        reason=f"Test d'indépendance non calculable : ce croisement est fixé par {fixed_by} "
                               "(ses parts n'ont pas de variance d'échantillonnage).")
    d0 = trace**2 / float(np.trace(delta @ delta))
    nu = design.degrees_of_freedom
    f = pearson / trace
    p_f = float(stats.f.sf(f, d0, d0 * nu))
    chisq = pearson / float(np.mean(np.diag(delta)))
    return RaoScott(pearson, f, d0, d0 * nu, p_f, chisq, df, float(stats.chi2.sf(chisq, df)))
