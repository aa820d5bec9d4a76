"""Confidence bounds of the estimates and identification checks.

The Jacobian method linearises the residuals at the optimum: with ``J`` the Jacobian in
parameter units, ``m`` residuals, ``n`` parameters and ``s² = SSR / (m - n)``, the
covariance is ``s² (JᵀJ)⁻¹`` and the 95% bounds are ``x ± t(0.975, m - n) · se``. Residuals
of annual series are autocorrelated, so these bounds are optimistic; the bootstrap
(moving blocks of residuals within each series and region, refitted by least squares)
gives percentile bounds that do not rely on the linearisation.

A parameter is flagged as not identified when ``JᵀJ`` is singular in its direction
(singular values below ``1e-8`` of the largest, in unit-cube scaling) or its 95%
interval is wider than its search range; at a bound, the linearised interval is not
valid and the parameter is flagged as such.
"""
from __future__ import annotations

from functools import partial

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .evaluate import Evaluator
from .optimize import Space, local_fit, stage_name, staged_fit

SINGULAR = 1e-8
AT_BOUND = 1e-4


@dataclass
class Uncertainty:
    """Standard errors, bounds and flags, one entry per parameter (parameter units)."""

    se: np.ndarray
    low: np.ndarray
    high: np.ndarray
    correlation: np.ndarray
    flags: list[str]
    condition: float
    dof: int
    s2: float
    method: str
    boot_low: np.ndarray | None = None
    boot_high: np.ndarray | None = None
    boot_n: int = 0


def jacobian_bounds(x: np.ndarray, residuals: np.ndarray, jac_z: np.ndarray, space: Space,
                    level: float = 0.95) -> Uncertainty:
    """Linearised confidence bounds from the Jacobian ``jac_z`` (unit-cube coordinates) at ``x``."""
    m, n = jac_z.shape
    dof = max(m - n, 1)
    s2 = float(residuals @ residuals) / dof
    u, sv, vt = np.linalg.svd(jac_z, full_matrices=False)
    keep = sv > SINGULAR * (sv[0] if sv.size and sv[0] > 0 else 1.0)
    inv_sv2 = np.where(keep, 1.0 / np.where(keep, sv, 1.0) ** 2, 0.0)
    cov_z = (vt.T * inv_sv2) @ vt * s2
    null = vt[~keep]
    weak = np.abs(null).max(axis=0) > 0.1 if null.size else np.zeros(n, bool)
    se_z = np.sqrt(np.clip(np.diag(cov_z), 0.0, None))
    se_z = np.where(weak, np.inf, se_z)
    se = se_z * space.width
    t = float(stats.t.ppf(0.5 + level / 2.0, dof))
    low, high = x - t * se, x + t * se
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.sqrt(np.diag(cov_z))
        corr = cov_z / np.outer(d, d)
    z = space.z(x)
    flags = []
    for i in range(n):
        notes = []
        if weak[i]:
            notes.append("not identified (JᵀJ singular)")
        elif 2 * t * se_z[i] > 1.0:
            notes.append("not identified (95% interval wider than the search range)")
        if z[i] <= AT_BOUND or z[i] >= 1 - AT_BOUND:
            notes.append(f"at {'lower' if z[i] <= AT_BOUND else 'upper'} bound (interval not valid)")
        flags.append("; ".join(notes))
    cond = float(sv[0] / sv[-1]) if sv.size and sv[-1] > 0 else float("inf")
    return Uncertainty(se=se, low=low, high=high, correlation=corr, flags=flags, condition=cond, dof=dof, s2=s2,
                       method="jacobian")


def block_resample(residuals: np.ndarray, groups: np.ndarray, rng: np.random.Generator,
                   block: int = 3) -> np.ndarray:
    """Residuals resampled in circular moving blocks of ``block`` years within each group."""
    out = np.empty_like(residuals)
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        k = len(idx)
        starts = rng.integers(0, k, size=-(-k // block))
        take = (starts[:, None] + np.arange(block)[None, :]).ravel()[:k] % k
        out[idx] = residuals[idx[take]]
    return out


def bootstrap_bounds(evaluator: Evaluator, space: Space, x: np.ndarray, residuals: np.ndarray,
                     groups: np.ndarray, *, replicates: int, seed: int, max_nfev: int, diff_step: float,
                     level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentile bounds from a residual block bootstrap refitted by least squares.

    Replicate data are ``simulated(x̂) - e*`` with ``e*`` block-resampled from the
    residuals ``e`` at ``x̂``; in residual space each replicate's objective is
    ``r(x) - e + e*``. Returns (low, high, estimates of shape (replicates, n)).
    """
    rng = np.random.default_rng(seed)
    shifts = [residuals - block_resample(residuals, groups, rng) for _ in range(replicates)]
    z = space.z(x)
    estimates = []
    for b, shift in enumerate(shifts):
        evaluator.stage = f"bootstrap {b + 1}/{replicates}"
        fit = staged_fit(evaluator, stage_name("bootstrap", b, z, shift, max_nfev, diff_step),
                         partial(local_fit, evaluator, space, z, max_nfev=max_nfev, diff_step=diff_step,
                                 start=b, shift=shift))
        estimates.append(fit.x)
    est = np.array(estimates)
    alpha = (1 - level) / 2
    return np.quantile(est, alpha, axis=0), np.quantile(est, 1 - alpha, axis=0), est
