"""Which constants the data identify: the Laplace approximation against the prior, and the reduced posterior.

A constant is *identified* when the Laplace approximation of the full posterior
(:mod:`sd_model.bayes.laplace`) at the posterior mode is narrower than ``ratio`` times its prior,
both measured as standard deviations in the sampler's coordinates (logit of the bounds). The
others (data too weak, or the fit pressed against a bound) can be fixed at the calibration's
start values (the least-squares estimates shipped as the model's defaults), which leaves
a posterior of fewer quantities that an ensemble sampler mixes within the budget. The price:
the intervals of the sampled constants are conditional on the fixed values, so they leave out
the uncertainty the fixed constants would add; the full posterior stays available
(``BayesSettings.sample = "all"``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .laplace import Laplace, laplace
from .likelihood import Likelihood, build_likelihood
from .posterior import LogPosterior, to_z
from .sampler import centre

#: Sample a constant when its Laplace sd (logit units) is below this fraction of its prior sd
#: (chosen by measurement: docs/bayes.md).
RATIO = 0.3


@dataclass(frozen=True)
class Identification:
    """The full posterior's Laplace approximation and, per sampled quantity, whether the data identify it."""

    table: pd.DataFrame  # parameter, start, laplace_sd_z, prior_sd_z, ratio, sampled
    approx: Laplace

    @property
    def fixed(self) -> list[str]:
        """Labels of the model constants to fix."""
        return list(self.table.loc[~self.table["sampled"], "parameter"])


def prior_sd_z(likelihood: Likelihood, n: int = 4000, seed: int = 0) -> np.ndarray:
    """Standard deviation of each prior in sampler coordinates (Monte Carlo, ``n`` draws)."""
    p = likelihood.priors
    return to_z(p.draw(n, np.random.default_rng(seed)), p.lower, p.upper).std(axis=0)


def identify(likelihood: Likelihood, runner: Any, start: np.ndarray, ratio: float = RATIO) -> Identification:
    """Laplace approximation of the full posterior from ``start`` (quantities' units) and the identified constants.

    The error terms are always sampled.
    """
    lower, upper = likelihood.priors.lower, likelihood.priors.upper
    approx = laplace(LogPosterior(likelihood, runner), centre(start, lower, upper))
    sd = np.sqrt(np.diag(approx.cov))
    psd = prior_sd_z(likelihood)
    r = sd / psd
    sampled = (r < ratio) | (np.arange(len(sd)) >= likelihood.n_model)
    table = pd.DataFrame({"parameter": likelihood.priors.labels, "start": start, "laplace_sd_z": sd,
                          "prior_sd_z": psd, "ratio": r, "sampled": sampled})
    return Identification(table=table, approx=approx)


def reduced(likelihood: Likelihood, fixed: list[str]) -> Likelihood:
    """The likelihood without the constants ``fixed``: they keep the calibration's start values in every run."""
    if not fixed:
        return likelihood
    problem, priors = likelihood.problem, likelihood.priors
    unknown = set(fixed) - {q.label for q in problem.parameters}
    if unknown:
        raise ValueError(f"not estimated constants of the calibration: {sorted(unknown)}")
    base = {k: (dict(v) if isinstance(v, dict) else v) for k, v in problem.base_params.items()}
    for q in problem.parameters:
        if q.label in fixed:
            old = base.get(q.name)
            if isinstance(old, (int, float)) and float(old) == q.start:
                continue  # the base scenario already sets it (to the start value)
            if q.elements and (old is None or isinstance(old, dict)):
                base[q.name] = {**(old or {}), **{e: q.start for e in q.elements}}
            elif not q.elements:
                base[q.name] = q.start
            else:
                raise ValueError(f"cannot fix {q.label!r}: the base scenario sets all of {q.name!r} to {old!r}")
    keep = [q for q in problem.parameters if q.label not in fixed]
    problem = replace(problem, parameters=tuple(keep), base_params=base)
    priors = replace(priors, priors=tuple(p for p in priors.priors if p.label not in fixed))
    return build_likelihood(problem, priors)
