"""Posterior-predictive draws of every series, their 50/90% bands, and the coverage of the data.

A replicated observation is the model's value at a posterior draw plus an error drawn from
the error model (:mod:`sd_model.bayes.likelihood`): in-sample, a fresh AR(1) path; after the
last fitted year (out of sample), the AR(1) path continued from the draw's last in-sample
residual, so the band is the forecast of the data given the data up to the split year.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .likelihood import Likelihood

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _ar1_path(n: int, sigma: float, rho: float, rng: np.random.Generator, starts: np.ndarray,
              e0: float | None = None) -> np.ndarray:
    """An AR(1) path of length ``n`` (stationary; continued from ``e0`` when given)."""
    eps = rng.standard_normal(n)
    out = np.empty(n)
    prev = e0
    for t in range(n):
        if prev is None or starts[t]:
            out[t] = sigma * eps[t]
        else:
            out[t] = rho * prev + sigma * math.sqrt(1.0 - rho ** 2) * eps[t]
        prev = out[t]
    return out


def replicate(likelihood: Likelihood, thetas: np.ndarray, outputs: list[dict[str, np.ndarray] | None],
              seed: int) -> pd.DataFrame:
    """Replicated observations of every series, region and year, one column per draw.

    Returns a long table (series, region, year, draw, model, replicate, observed, in_sample).
    Failed runs are left out.
    """
    problem = likelihood.problem
    rng = np.random.default_rng(seed)
    breaks = dict(likelihood.priors.error_model.breaks)
    rows = []
    for k, (theta, out) in enumerate(zip(thetas, outputs)):
        if out is None:
            continue
        rho, scale = likelihood.error_terms(theta)
        sim = problem.simulated(out)
        for s in problem.series:
            values = sim[s.spec.name]
            starts_all = np.isin(s.years, breaks.get(s.spec.name, ()))
            for j, region in enumerate(s.regions):
                error = float(s.scale[j]) / (float(s.spec.weight) if s.spec.weight > 0 else 1.0)
                sigma = scale * error
                m, obs = values[:, j], s.obs[:, j]
                fit = s.fit
                e = np.empty(len(s.years))
                e[fit] = _ar1_path(int(fit.sum()), sigma, rho, rng, starts_all[fit])
                if (~fit).any():
                    last_in = np.flatnonzero(fit)
                    e0 = float(obs[last_in[-1]] - m[last_in[-1]]) if len(last_in) else None
                    e[~fit] = _ar1_path(int((~fit).sum()), sigma, rho, rng, starts_all[~fit], e0)
                rows.append(pd.DataFrame({"series": s.spec.name, "region": region, "year": s.years, "draw": k,
                                          "model": m, "replicate": m + e, "observed": obs, "in_sample": fit}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def bands(replicates: pd.DataFrame) -> pd.DataFrame:
    """Quantiles 5/25/50/75/95% of the replicated data and of the model, per series, region and year."""
    keys = ["series", "region", "year"]
    g = replicates.groupby(keys, sort=False)
    out = g[["observed", "in_sample"]].first()
    for q in QUANTILES:
        out[f"q{int(q * 100):02d}"] = g["replicate"].quantile(q)
    out["model_median"] = g["model"].median()
    out["inside90"] = (out["observed"] >= out["q05"]) & (out["observed"] <= out["q95"])
    out["inside50"] = (out["observed"] >= out["q25"]) & (out["observed"] <= out["q75"])
    return out.reset_index()


def coverage(band: pd.DataFrame) -> pd.DataFrame:
    """Share of observations inside the 50% and 90% bands, per series and period."""
    b = band[np.isfinite(band["observed"])].copy()
    b["period"] = np.where(b["in_sample"], "in-sample", "out-of-sample")
    g = b.groupby(["series", "period"], sort=False)
    return pd.DataFrame({"n": g.size(), "inside50": g["inside50"].mean(), "inside90": g["inside90"].mean()}
                        ).reset_index()


def draw_indices(steps: int, walkers: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (step, walker) pairs drawn without replacement from a (steps, walkers) chain."""
    rng = np.random.default_rng(seed)
    flat = rng.choice(steps * walkers, size=min(n, steps * walkers), replace=False)
    return flat // walkers, flat % walkers


def run_draws(runner: Any, likelihood: Likelihood, thetas: np.ndarray) -> list[dict[str, np.ndarray] | None]:
    """Model outputs of parameter vectors (model parameters first, error terms after)."""
    return runner.run(thetas[:, :likelihood.n_model])
