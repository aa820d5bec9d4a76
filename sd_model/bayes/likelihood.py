"""The likelihood: the calibration's series with an explicit, serially correlated error model.

For every fitted (series, region) column of a calibration :class:`~sd_model.calibration.Problem`,
the data are the model plus an error, ``obs_t = T(sim_t) + e_t`` in the series' transformed
units (log, share, ratio, growth, level), where ``e`` is a stationary AR(1) process:

    e_1 ~ N(0, s^2),   e_t | e_(t-1) ~ N(rho e_(t-1), s^2 (1 - rho^2))

with marginal standard deviation ``s = sigma_scale * error / weight`` (``error`` from the
calibration file, a measurement-error scale per series in transformed units) and
autocorrelation ``rho`` (fixed or estimated, :class:`~sd_model.bayes.priors.ErrorModel`).
At a data break (``[error_model.breaks]``) the process restarts: the residuals after the break
are independent of those before, so a level shift at the break costs one residual, not all.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .priors import PriorError, PriorSet

_LOG2PI = math.log(2.0 * math.pi)


def ar1_loglik(e: np.ndarray, sigma: float | np.ndarray, rho: float | np.ndarray,
               starts: np.ndarray | None = None) -> np.ndarray:
    """Exact log density of residual paths under a stationary AR(1) process.

    Parameters
    ----------
    e : ndarray (..., T)
        Residuals (data - model), in time order along the last axis.
    sigma : float or ndarray broadcasting against ``e[..., 0]``
        Marginal standard deviation (same units as ``e``), > 0.
    rho : float or ndarray broadcasting against ``e[..., 0]``
        Lag-1 autocorrelation, in (-1, 1).
    starts : bool ndarray (T,), optional
        True where the process (re)starts: index 0 and every break. Default: only index 0.

    Returns
    -------
    ndarray (...)
        Sum over time of the log density (natural log).
    """
    e = np.asarray(e, dtype=float)
    sigma = np.asarray(sigma, dtype=float)[..., None]
    rho = np.asarray(rho, dtype=float)[..., None]
    T = e.shape[-1]
    if starts is None:
        starts = np.zeros(T, bool)
    starts = np.asarray(starts, bool).copy()
    starts[0] = True
    prev = np.concatenate([np.zeros(e.shape[:-1] + (1,)), e[..., :-1]], axis=-1)
    mean = np.where(starts, 0.0, rho * prev)
    var = np.where(starts, sigma ** 2, sigma ** 2 * (1.0 - rho ** 2))
    return np.sum(-0.5 * (_LOG2PI + np.log(var)) - 0.5 * (e - mean) ** 2 / var, axis=-1)


@dataclass(frozen=True)
class Column:
    """One fitted (series, region) column: observations, error scale and restart points."""

    series: str
    region: str
    index: int          # position of the series in problem.series
    region_pos: int     # column within the series
    years: np.ndarray   # fitted years
    obs: np.ndarray     # observed, transformed units
    error: float        # error / weight in transformed units (before sigma_scale)
    starts: np.ndarray  # bool (T,): True where the AR(1) process starts


@dataclass(frozen=True)
class Likelihood:
    """The log-likelihood of a calibration problem under an error model.

    Build with :func:`build_likelihood`; evaluate with :meth:`loglik` on the model
    outputs of each parameter set.
    """

    problem: Any
    priors: PriorSet
    columns: tuple[Column, ...]
    n_model: int  # number of model parameters (the first entries of a parameter vector)

    def error_terms(self, theta: np.ndarray) -> tuple[float, float]:
        """(rho, sigma_scale) of a full parameter vector (fixed values or the estimated entries)."""
        em, k = self.priors.error_model, self.n_model
        if isinstance(em.rho, float):
            rho = em.rho
        else:
            rho, k = float(theta[k]), k + 1
        scale = em.sigma_scale if isinstance(em.sigma_scale, float) else float(theta[k])
        return rho, scale

    def residuals(self, outputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Data minus model, per column (transformed units), from one run's outputs."""
        sim = self.problem.simulated(outputs)
        out = []
        for c in self.columns:
            s = self.problem.series[c.index]
            out.append(c.obs - sim[s.spec.name][s.fit][:, c.region_pos])
        return out

    def loglik(self, theta: np.ndarray, outputs: dict[str, np.ndarray] | None) -> float:
        """Log-likelihood of one parameter vector given its run's outputs (None: failed run, -inf)."""
        if outputs is None:
            return -math.inf
        rho, scale = self.error_terms(theta)
        total = 0.0
        for c, e in zip(self.columns, self.residuals(outputs)):
            if not np.all(np.isfinite(e)):
                return -math.inf
            total += float(ar1_loglik(e, scale * c.error, rho, c.starts))
        return total

    def residuals_batch(self, outputs: list[dict[str, np.ndarray]]) -> list[np.ndarray]:
        """Data minus model per column, (k, T) each, for k successful runs' outputs at once."""
        stacked = {name: np.stack([o[name] for o in outputs]) for name in outputs[0]}
        sim = self.problem.simulated(stacked, lead=1)  # {series: (k, years, regions)}, all runs at once
        out = []
        for c in self.columns:
            s = self.problem.series[c.index]
            out.append(c.obs[None, :] - sim[s.spec.name][:, s.fit, c.region_pos])
        return out

    def loglik_batch(self, thetas: np.ndarray, outputs: list[dict[str, np.ndarray] | None]) -> np.ndarray:
        """Log-likelihoods (k,) of parameter vectors (k, D) given their runs' outputs (None: failed, -inf)."""
        k = len(outputs)
        out = np.zeros(k)
        ok = [i for i, o in enumerate(outputs) if o is not None]
        out[[i for i in range(k) if outputs[i] is None]] = -math.inf
        if not ok:
            return out
        terms = np.array([self.error_terms(thetas[i]) for i in ok])
        rho, scale = terms[:, 0], terms[:, 1]
        total = np.zeros(len(ok))
        for c, E in zip(self.columns, self.residuals_batch([o for o in outputs if o is not None])):
            total += ar1_loglik(E, scale * c.error, rho, c.starts)
        out[ok] = np.where(np.isfinite(total), total, -math.inf)
        return out

    def whitened(self, residuals: list[np.ndarray], rho: float, scale: float) -> np.ndarray:
        """Whitened residuals (k, N) of :meth:`residuals_batch`: independent N(0, 1) under the error model.

        ``w_t = (e_t - rho e_(t-1)) / (s sqrt(1 - rho^2))``, and ``e_t / s`` where the AR(1)
        process starts; the log-likelihood is ``-0.5 sum(w^2)`` plus terms that do not
        depend on the model run.
        """
        parts = []
        for c, E in zip(self.columns, residuals):
            starts = np.asarray(c.starts, bool).copy()
            starts[0] = True
            prev = np.concatenate([np.zeros(E.shape[:-1] + (1,)), E[..., :-1]], axis=-1)
            s = scale * c.error
            parts.append(np.where(starts, E / s, (E - rho * prev) / (s * math.sqrt(1.0 - rho ** 2))))
        return np.concatenate(parts, axis=-1)

    @property
    def n_observations(self) -> int:
        """Number of fitted observations."""
        return int(sum(len(c.obs) for c in self.columns))


def build_likelihood(problem: Any, priors: PriorSet) -> Likelihood:
    """The likelihood of ``problem`` (fitted series and in-sample years) under the priors' error model.

    Raises
    ------
    PriorError
        If a fitted series is normalised by its mean instead of a stated measurement error
        (``normalise = "error"``): a Bayesian error model needs an error scale.
    """
    breaks = dict(priors.error_model.breaks)
    columns = []
    for i, s in enumerate(problem.series):
        if not s.fitted:
            continue
        if s.spec.normalise != "error":
            raise PriorError(f"series {s.spec.name!r} (calibration file line {s.spec.line}): the Bayesian error "
                             "model needs normalise = \"error\" and error = <measurement error>")
        years = s.years[s.fit]
        starts = np.isin(years, breaks.get(s.spec.name, ()))
        for j, region in enumerate(s.regions):
            columns.append(Column(series=s.spec.name, region=region, index=i, region_pos=j, years=years,
                                  obs=s.obs[s.fit][:, j], error=float(s.scale[j]) / float(s.spec.weight),
                                  starts=starts))
    return Likelihood(problem=problem, priors=priors, columns=tuple(columns), n_model=len(problem.parameters))
