"""Posterior draws as ArviZ InferenceData, convergence diagnostics, and the summary against the priors.

Each walker of the ensemble is treated as a chain (as :func:`arviz.from_emcee` does): R-hat
is ArviZ's rank-normalised split R-hat over walkers, the effective sample sizes are ArviZ's
bulk and tail ESS, and ``tau`` is emcee's integrated autocorrelation time (in steps; the autocorrelation
function averaged over walkers), with ``W * S / tau`` a second estimate of the ESS. Walkers of an
ensemble sampler are not independent chains, so the two estimates are reported side by side.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .priors import PriorSet

#: Posterior 90% interval wider than this fraction of the prior's: the data do not inform the parameter.
NOT_INFORMED = 0.8


def arviz() -> Any:
    """Import ArviZ without its refactor announcement (a FutureWarning raised on import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az
    return az


def inference_data(draws: np.ndarray, log_prob: np.ndarray, priors: PriorSet, prior_draws: np.ndarray,
                   attrs: dict[str, Any] | None = None) -> Any:
    """InferenceData of post-burn-in draws.

    Parameters
    ----------
    draws : ndarray (S, W, D)
        Draws in the quantities' own units (steps, walkers, parameters).
    log_prob : ndarray (S, W)
        Log posterior (sampler coordinates) of each draw.
    priors : PriorSet
    prior_draws : ndarray (n, D)
        Independent draws from the priors (the ``prior`` group, one chain).
    attrs : dict, optional
        Attributes of the posterior group (model hash, seed, ...).
    """
    az = arviz()
    labels = priors.labels
    posterior = {"theta": np.transpose(draws, (1, 0, 2))}
    coords = {"parameter": labels}
    dims = {"theta": ["parameter"]}
    with warnings.catch_warnings():  # an ensemble has more walkers (chains) than draws: intended
        warnings.filterwarnings("ignore", message="More chains", category=UserWarning)
        idata = az.from_dict(posterior=posterior, prior={"theta": prior_draws[None]},
                             sample_stats={"lp": log_prob.T}, coords=coords, dims=dims,
                             attrs=dict(attrs or {}))
    units = {p.label: p.dist for p in priors.priors}
    idata.posterior["theta"].attrs["prior"] = "; ".join(f"{k}: {v}" for k, v in units.items())
    return idata


def diagnostics(draws: np.ndarray) -> pd.DataFrame:
    """R-hat, bulk and tail ESS (ArviZ) and autocorrelation time (emcee) of draws (S, W, D)."""
    az = arviz()
    S, W, D = draws.shape
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="More chains", category=UserWarning)
        data = az.convert_to_dataset({"theta": np.transpose(draws, (1, 0, 2))})
    rhat = az.rhat(data)["theta"].values
    bulk = az.ess(data, method="bulk")["theta"].values
    tail = az.ess(data, method="tail")["theta"].values
    tau = np.array([_tau_quiet(draws[:, :, j]) for j in range(D)]) if S > 1 else np.full(D, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.DataFrame({"r_hat": rhat, "ess_bulk": bulk, "ess_tail": tail, "tau_steps": tau,
                             "ess_tau": W * S / tau, "steps_over_tau": S / tau})


def _tau_quiet(x: np.ndarray) -> float:
    """Emcee's integrated autocorrelation time of (S, W) draws, without its too-short-chain log message."""
    import logging

    import emcee

    logger = logging.getLogger("emcee.autocorr")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(emcee.autocorr.integrated_time(x, quiet=True)[0])
    finally:
        logger.setLevel(level)


def summary(draws: np.ndarray, priors: PriorSet) -> pd.DataFrame:
    """Posterior median and 90% interval of each parameter against its prior's.

    ``contraction`` is 1 - (posterior 90% width / prior 90% width); a parameter whose
    posterior interval keeps more than :data:`NOT_INFORMED` of the prior's width is flagged
    "not informed" (posterior close to prior).
    """
    flat = draws.reshape(-1, draws.shape[-1])
    rows = []
    for j, p in enumerate(priors.priors):
        q = np.quantile(flat[:, j], [0.05, 0.5, 0.95])
        pq = p.ppf(np.array([0.05, 0.5, 0.95]))
        width = pq[2] - pq[0]
        ratio = (q[2] - q[0]) / width if width > 0 else np.nan
        rows.append({"parameter": p.label, "prior": p.dist + "(" + ", ".join(f"{k}={v:g}" for k, v in p.params
                                                                           if not k.startswith("beta_")) + ")",
                     "lower": p.lower, "upper": p.upper,
                     "prior_median": pq[1], "prior_q05": pq[0], "prior_q95": pq[2],
                     "posterior_median": q[1], "posterior_q05": q[0], "posterior_q95": q[2],
                     "posterior_mean": float(flat[:, j].mean()), "posterior_sd": float(flat[:, j].std()),
                     "contraction": 1.0 - ratio,
                     "informed": "no (posterior close to prior)" if ratio > NOT_INFORMED else "yes",
                     "source": p.source})
    return pd.DataFrame(rows)
