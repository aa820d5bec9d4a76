"""Simulation-based calibration (Talts et al. 2018, arXiv:1804.06788): checks that the sampler recovers known values.

For each synthetic data set: draw ``theta*`` from the priors, run the model at ``theta*``, add
an error path from the error model (:mod:`sd_model.bayes.likelihood`), fit the synthetic data
with the same sampler, and record the rank of ``theta*`` among thinned posterior draws and
whether the central 90% interval contains it. If the sampler and the likelihood are right,
the ranks are uniform and the 90% intervals cover about 90% of the true values.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any
from collections.abc import Callable

import numpy as np
import pandas as pd

from .likelihood import Likelihood, build_likelihood
from .posterior import LogPosterior, to_x
from .predictive import _ar1_path
from .sampler import initial_ensemble, run_chain
from .store import ChainStore


def synthetic(likelihood: Likelihood, theta: np.ndarray, outputs: dict[str, np.ndarray],
              rng: np.random.Generator) -> Likelihood:
    """The likelihood of data simulated at ``theta``: model outputs plus an error path of the error model."""
    problem = likelihood.problem
    rho, scale = likelihood.error_terms(theta)
    sim = problem.simulated(outputs)
    breaks = dict(likelihood.priors.error_model.breaks)
    series = []
    for s in problem.series:
        obs = np.array(s.obs, dtype=float)
        if s.fitted:
            years = s.years[s.fit]
            starts = np.isin(years, breaks.get(s.spec.name, ()))
            rows = np.flatnonzero(s.fit)
            for j in range(len(s.regions)):
                sigma = scale * float(s.scale[j]) / float(s.spec.weight)
                obs[rows, j] = sim[s.spec.name][rows, j] + _ar1_path(len(years), sigma, rho, rng, starts)
        series.append(replace(s, obs=obs))
    return build_likelihood(replace(problem, series=tuple(series)), likelihood.priors)


def sbc(likelihood: Likelihood, runner: Any, *, datasets: int, walkers: int, steps: int, seed: int,
        thin: int = 1, moves: str = "de", init: str = "truth", burn: float = 0.5, truths: np.ndarray | None = None,
        cap: float = 0.5, progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Run simulation-based calibration.

    Parameters
    ----------
    likelihood : Likelihood
        The calibration (its priors are the ones drawn from and fitted with).
    runner : object
        ``runner.run(X) -> outputs`` (:class:`~sd_model.bayes.posterior.ModelRunner` or ``BatchRunner``).
    datasets, walkers, steps : int
        Number of synthetic data sets; sampler walkers and steps per fit.
    seed : int
        Seed of the true values, the errors and the samplers.
    thin : int
        Keep every ``thin``-th step after burn-in for the ranks. Default is 1.
    moves : str
        Sampler moves (:data:`sd_model.bayes.sampler.MOVES`). Default is "de".
    init : {"truth", "laplace", "prior"}
        Start each fit in a small ball around the true values (fast; a test of the posterior, not of
        finding it), from the Laplace approximation found from the true values (as
        :func:`~sd_model.bayes.run.calibrate_bayes` starts from the least-squares estimates; sd capped
        at ``cap``), or from prior draws. Default is "truth".
    burn : float
        Fraction of the steps discarded. Default is 0.5.
    truths : ndarray (datasets, D), optional
        The true values (e.g. posterior-centred draws); default: drawn from the priors.
    progress : callable, optional
        ``progress(k)`` after data set ``k``.

    Returns
    -------
    DataFrame with one row per (data set, parameter): true value, posterior median, 5% and 95%
    quantiles, rank of the true value among the ``L`` kept draws, ``L``, and ``inside90``.
    """
    rng = np.random.default_rng(seed)
    priors = likelihood.priors
    lower, upper = priors.lower, priors.upper
    rows = []
    for k in range(datasets):
        while True:
            theta = priors.draw(1, rng)[0] if truths is None else np.asarray(truths[k], dtype=float)
            out = runner.run(theta[None, :likelihood.n_model])[0]
            if out is not None:
                break
            if truths is not None:
                raise ValueError(f"the model fails at true value {k}")
        lik_k = synthetic(likelihood, theta, out, rng)
        log_post = LogPosterior(lik_k, runner)
        store = ChainStore.memory(walkers, len(theta))
        if init == "truth":
            z0 = initial_ensemble(theta, lower, upper, walkers, seed + k + 1, spread=0.1)
        elif init == "laplace":
            from .laplace import laplace
            from .sampler import centre

            approx = laplace(LogPosterior(lik_k, runner), centre(theta, lower, upper))
            z0 = approx.draw(walkers, seed + k + 1, cap)
        else:
            from .posterior import to_z

            z0 = to_z(priors.draw(walkers, rng), lower, upper)
        chain = run_chain(log_post, z0, steps, seed + k + 1, store, moves=moves)
        first = 1 + int(burn * steps)
        draws = to_x(chain.coords[first::thin], lower, upper).reshape(-1, len(theta))
        q = np.quantile(draws, [0.05, 0.5, 0.95], axis=0)
        for j, label in enumerate(priors.labels):
            rows.append({"dataset": k, "parameter": label, "true": theta[j], "median": q[1, j], "q05": q[0, j],
                         "q95": q[2, j], "rank": int(np.sum(draws[:, j] < theta[j])), "draws": len(draws),
                         "inside90": bool(q[0, j] <= theta[j] <= q[2, j])})
        if progress is not None:
            progress(k)
    return pd.DataFrame(rows)


def sbc_coverage(table: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Per parameter: 90% interval coverage and the counts of the rank histogram (``bins`` bins)."""
    out = []
    for label, g in table.groupby("parameter", sort=False):
        u = g["rank"].to_numpy() / g["draws"].to_numpy()
        hist = np.histogram(u, bins=bins, range=(0, 1))[0]
        out.append({"parameter": label, "datasets": len(g), "coverage90": float(g["inside90"].mean()),
                    "rank_histogram": " ".join(map(str, hist))})
    return pd.DataFrame(out)
