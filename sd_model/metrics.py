"""Fit statistics of simulated against observed series (pure numpy; no model import).

The statistics system-dynamics practice recommends (Sterman 1984, "Appropriate summary
statistics for evaluating the historical fit of system dynamics models", Dynamica 10(2)):
mean absolute percent error, root mean square error, R², and Theil's decomposition of the
mean square error into bias (U^M), unequal variation (U^S) and unequal covariation (U^C),
which sum to one. For flows whose direction matters more than their size (net migration), also
whether the simulated and observed sums over a period have the same sign.

For out-of-sample years, a naive benchmark forecast (:func:`naive_forecast`): the last in-sample
observation carried forward, with its compound growth over the last in-sample years for levels
(a random walk with drift). A structural model that forecasts no better than that has not shown
that its structure adds to forecasting (Armstrong 2001, *Principles of Forecasting*, on relative
absolute errors against the no-change forecast).
"""
from __future__ import annotations

import numpy as np


def _pair(sim: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(sim, dtype=float).ravel()
    o = np.asarray(obs, dtype=float).ravel()
    if s.shape != o.shape:
        raise ValueError(f"simulated and observed series differ in length ({s.size} vs {o.size})")
    keep = np.isfinite(s) & np.isfinite(o)
    return s[keep], o[keep]


def mape(sim: np.ndarray, obs: np.ndarray) -> float:
    """Mean absolute percent error, as a fraction (0.05 = 5%); NaN pairs are skipped."""
    s, o = _pair(sim, obs)
    if s.size == 0 or np.any(o == 0):
        return float("nan")
    return float(np.mean(np.abs((s - o) / o)))


def rmse(sim: np.ndarray, obs: np.ndarray) -> float:
    """Root mean square error, in the series' units."""
    s, o = _pair(sim, obs)
    return float(np.sqrt(np.mean((s - o) ** 2))) if s.size else float("nan")


def r_squared(sim: np.ndarray, obs: np.ndarray) -> float:
    """Squared correlation of simulated and observed (Sterman 1984's R²)."""
    s, o = _pair(sim, obs)
    if s.size < 2 or np.std(s) == 0 or np.std(o) == 0:
        return float("nan")
    return float(np.corrcoef(s, o)[0, 1] ** 2)


def theil_decomposition(sim: np.ndarray, obs: np.ndarray) -> tuple[float, float, float]:
    """Theil inequality proportions (U^M, U^S, U^C) of the mean square error.

    MSE = (mean_s - mean_o)² + (sd_s - sd_o)² + 2 (1 - r) sd_s sd_o, with population
    standard deviations; each term over MSE. Returns NaNs when the MSE is zero.
    """
    s, o = _pair(sim, obs)
    mse = float(np.mean((s - o) ** 2)) if s.size else 0.0
    if mse == 0.0:
        return (float("nan"),) * 3
    ss, so = float(np.std(s)), float(np.std(o))
    r = float(np.corrcoef(s, o)[0, 1]) if ss > 0 and so > 0 else 0.0
    um = (float(np.mean(s)) - float(np.mean(o))) ** 2 / mse
    us = (ss - so) ** 2 / mse
    uc = 2.0 * (1.0 - r) * ss * so / mse
    return um, us, uc


def same_sign_sum(sim: np.ndarray, obs: np.ndarray) -> float:
    """1.0 if the simulated and observed totals over the pairs have the same sign, else 0.0.

    NaN when there are no pairs or the observed total is 0 (no direction to match). For flows
    summed over a period, e.g. a region's net migration in a decade: is it a net sender or a
    net receiver, as in the data?
    """
    s, o = _pair(sim, obs)
    if s.size == 0 or float(np.sum(o)) == 0.0:
        return float("nan")
    return float(np.sign(np.sum(s)) == np.sign(np.sum(o)))


def mean_error(sim: np.ndarray, obs: np.ndarray) -> float:
    """Mean of simulated minus observed, in the series' units (the bias; > 0: the model is high).

    For annual growth rates over a period it is the gap of the mean growth rates, e.g. "national
    growth 2011-2015 within 1 point a year of the data" is |mean_error| <= 0.01.
    """
    s, o = _pair(sim, obs)
    return float(np.mean(s - o)) if s.size else float("nan")


def fit_statistics(sim: np.ndarray, obs: np.ndarray) -> dict[str, float]:
    """All statistics at once: n, mape, rmse, r2, um, us, uc, same_sign_sum, mean_error."""
    s, o = _pair(sim, obs)
    um, us, uc = theil_decomposition(s, o)
    return {"n": int(s.size), "mape": mape(s, o), "rmse": rmse(s, o), "r2": r_squared(s, o),
            "um": um, "us": us, "uc": uc, "same_sign_sum": same_sign_sum(s, o), "mean_error": mean_error(s, o)}


def naive_forecast(years: np.ndarray, values: np.ndarray, until: int, *, drift: bool,
                   window: int = 5) -> np.ndarray:
    """The naive forecast of ``values`` after year ``until`` (NaN up to ``until``).

    Parameters
    ----------
    years : (n,) integer years of ``values``' first axis.
    values : (n,) or (n, k) observations (NaN where missing).
    until : the last in-sample year; its observation is the forecast origin.
    drift : True for levels: the origin grown at the compound growth rate of ``until - window`` to
        ``until``, value(t) = v(until) (v(until) / v(until - window)) ** ((t - until) / window);
        False: the origin's value carried forward unchanged (for shares, ratios and rates).
    window : years over which the drift is measured.

    Returns
    -------
    numpy.ndarray of the shape of ``values``: NaN for years up to ``until``, and for every year of a
    column whose origin (or, with drift, the value ``window`` years before it) is missing or, with
    drift, not positive.
    """
    y = np.asarray(years)
    v = np.asarray(values, dtype=float)
    col = v.reshape(len(y), -1)
    out = np.full_like(col, np.nan)
    at = np.flatnonzero(y == until)
    if at.size == 0:
        return out.reshape(v.shape)
    origin = col[at[0]]
    later = y > until
    h = (y[later] - until)[:, None].astype(float)
    if drift:
        back = np.flatnonzero(y == until - window)
        base = col[back[0]] if back.size else np.full_like(origin, np.nan)
        ok = (origin > 0) & (base > 0)
        ratio = np.divide(origin, base, out=np.full_like(origin, np.nan), where=ok)
        out[later] = origin * ratio ** (h / window)
    else:
        out[later] = np.broadcast_to(origin, (int(later.sum()), origin.size))
    return out.reshape(v.shape)
