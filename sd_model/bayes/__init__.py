"""Bayesian calibration: priors, an AR(1) error model, emcee sampling on the batch engine, diagnostics.

- :mod:`.priors`: the priors file (one distribution and source per estimated parameter; error model).
- :mod:`.likelihood`: the AR(1) log-likelihood of the calibration's series.
- :mod:`.posterior`: the vectorised log posterior and the model runner (``sd_model.ensemble``).
- :mod:`.store`: the append-only, checksummed chain checkpoint.
- :mod:`.sampler`: emcee's ensemble sampler, checkpointed every step.
- :mod:`.diagnostics`: ArviZ InferenceData, R-hat, ESS, posterior against prior.
- :mod:`.predictive`: posterior-predictive bands and coverage.
- :mod:`.report`: files, report, plots.
- :mod:`.run`: :func:`calibrate_bayes`, which ties them together.
- :mod:`.draws`: parameter sets drawn from a posterior file (``--posterior``).
"""
from .priors import PriorError, load_priors
from .run import BayesResult, BayesSettings, calibrate_bayes

__all__ = ["BayesResult", "BayesSettings", "PriorError", "calibrate_bayes", "load_priors"]
