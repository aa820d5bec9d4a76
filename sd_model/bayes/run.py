"""``calibrate_bayes``: sample the posterior of a calibration file's parameters and write the results.

>>> from sd_model.bayes import calibrate_bayes
>>> result = calibrate_bayes("experiments/calibration/default.toml", out="results/bayes",
...                          walkers=128, steps=1500, workers=2)          # doctest: +SKIP
>>> result.summary[["parameter", "posterior_median", "posterior_q05", "posterior_q95"]]  # doctest: +SKIP
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..calibration.config import CalibrationConfig, load_config
from ..calibration.problem import build_problem
from ..calibration.store import fingerprint
from ..calibration.targets import config_observations
from ..errors import SDModelError
from ..mdl import read_model_info
from ..run import DEFAULT_MODEL
from .diagnostics import diagnostics, inference_data, summary
from .likelihood import Likelihood, build_likelihood
from .posterior import LogPosterior, ModelRunner, to_x
from .predictive import bands, coverage, draw_indices, replicate
from .priors import default_priors_path, load_priors
from .sampler import MOVES_KEY, ChainResult, centre, initial_ensemble, run_chain
from .store import ChainStore


#: Fewest walkers by default: a call of the batch engine costs a fixed ~0.2 s of numpy overhead
#: plus a little per member, so the half-ensembles must be large (docs/bayes.md, benchmarks/bench_bayes.py).
MIN_WALKERS = 128


@dataclass(frozen=True)
class BayesSettings:
    """Sampler settings.

    ``walkers`` (even, >= 2 x sampled quantities; 0: twice the sampled quantities, at least
    :data:`MIN_WALKERS`), ``steps`` per walker, ``burn`` (fraction of steps discarded), ``seed``, ``ppc_draws``
    (posterior-predictive runs), ``sample`` (``"identified"``: only the constants the data
    identify, the others fixed at the calibration's start values, :mod:`sd_model.bayes.identify`;
    ``"all"``: every constant of the calibration file), the ``start`` of the walkers
    (``"laplace"``: draws of the Laplace approximation at the posterior mode found from the
    calibration's start values, each sd capped at ``cap``, :mod:`sd_model.bayes.laplace`;
    ``"ball"``: a ball of sd ``spread`` around the start values) and the proposal ``moves``
    (:data:`sd_model.bayes.sampler.MOVES`).
    """

    walkers: int = 0
    # The ninth-round model's default fit: max R-hat 1.053 at 6,000 steps and 1.035 at 8,000, with the longest
    # autocorrelation time 159-170 steps (Maximum Reachable Share), so 8,000 steps are about the 50 of them emcee
    # advises (docs/bayes.md, "Session 19"); the eighth round converged by 6,000 (1.035), the seventh by 4,000.
    steps: int = 8000
    burn: float = 0.1
    seed: int = 1
    ppc_draws: int = 200
    spread: float = 0.05
    moves: str = "de"
    start: str = "laplace"
    cap: float = 0.5
    sample: str = "identified"

    def walkers_for(self, dim: int) -> int:
        """The number of walkers for ``dim`` sampled quantities."""
        return self.walkers or max(MIN_WALKERS, 2 * dim)


def check_walkers(walkers: int, dim: int) -> None:
    """Raise :class:`SDModelError` unless ``walkers`` suits emcee's stretch move on ``dim`` quantities.

    The ensemble is split in two halves that update each other, so it must be even, and it needs
    at least twice as many walkers as dimensions to span the space.
    """
    if walkers < 2 * dim or walkers % 2:
        raise SDModelError(f"walkers must be even and at least twice the number of sampled quantities "
                           f"({2 * dim}), got {walkers}")


@dataclass
class BayesResult:
    """What a Bayesian calibration found (the tables are also written to ``out``)."""

    likelihood: Likelihood
    settings: BayesSettings
    chain: ChainResult
    draws: np.ndarray                 # (S, W, D) after burn-in, in the quantities' units
    summary: pd.DataFrame
    diagnostics: pd.DataFrame
    bands: pd.DataFrame
    coverage: pd.DataFrame
    idata: Any = field(repr=False)
    seconds: float = 0.0
    out: Path | None = None
    identification: pd.DataFrame | None = None

    @property
    def evaluations_per_second(self) -> float:
        """Model runs of the sampler per wall-clock second of sampling (this process)."""
        return self.chain.evaluations / self.chain.seconds if self.chain.seconds > 0 else float("nan")


def setup(config: str | Path | CalibrationConfig, priors: str | Path | None = None, *, until: int | None = None,
          model: str | Path | None = None, observations: xr.Dataset | None = None) -> Likelihood:
    """Resolve a calibration file and its priors file into a :class:`Likelihood`."""
    cfg = config if isinstance(config, CalibrationConfig) else load_config(config)
    info = read_model_info(model if model is not None else DEFAULT_MODEL)
    obs = observations if observations is not None else config_observations(cfg)
    problem = build_problem(cfg, info, obs, until, engine="batch")
    path = Path(priors) if priors is not None else default_priors_path(cfg.path)
    if priors is None and not path.is_file():
        raise SDModelError(f"{cfg.path}: no priors file {path.name} beside it; give --priors FILE")
    return build_likelihood(problem, load_priors(path, problem))


def run_key(likelihood: Likelihood, settings: BayesSettings) -> str:
    """Fingerprint of the posterior and the sampler settings that define a chain."""
    from ..calibration.runner import problem_key

    return fingerprint(problem_key(likelihood.problem), likelihood.priors.text, settings.walkers, settings.seed,
                       settings.spread, settings.moves, MOVES_KEY.get(settings.moves), settings.start, settings.cap)


def start_values(likelihood: Likelihood) -> np.ndarray:
    """Centre of the starting ensemble: the calibration's start values, then the error terms' prior medians."""
    extra = [p.ppf(np.array([0.5]))[0] for p in likelihood.priors.error_model.estimated()]
    return np.concatenate([likelihood.problem.start, extra])


def calibrate_bayes(config: str | Path | CalibrationConfig, *, priors: str | Path | None = None,
                    out: str | Path | None = None, until: int | None = None, settings: BayesSettings | None = None,
                    resume: bool = False, workers: int = 1, scheduler: str | None = None,
                    model: str | Path | None = None, observations: xr.Dataset | None = None,
                    progress: bool = False, runner: Any = None) -> BayesResult:
    """Sample the posterior of the parameters of a calibration file with emcee.

    Parameters
    ----------
    config : path or CalibrationConfig
        The calibration file: parameters, bounds, series and measurement errors.
    priors : path, optional
        The priors file (:mod:`sd_model.bayes.priors`). Default: ``<config stem>.priors.toml``
        beside the calibration file.
    out : path, optional
        Output folder (posterior.nc, tables, report, plots, ``checkpoint/``). Default is None:
        nothing written, the chain kept in memory.
    until : int, optional
        Last fitted year; later years are predicted out of sample. Default: the span's end.
    settings : BayesSettings, optional
        Walkers, steps, burn-in, seed. Default is ``BayesSettings()``.
    resume : bool
        Continue the chain in ``out/checkpoint``. Default is False.
    workers : int
        Local worker processes of the batch engine. Default is 1.
    scheduler : str, optional
        A Dask scheduler address: the runs go to that cluster. Default is None.
    model : path, optional
        The Vensim model. Default is the shipped model.
    observations : xarray.Dataset, optional
        Data to fit instead of :func:`sd_model.data.load_observations` (e.g. synthetic).
    progress : bool
        Show the acceptance rate and the log posterior while sampling. Default is False.
    runner : object, optional
        Replaces the :class:`ModelRunner` (``runner.run(X) -> outputs``). Default is None.

    Returns
    -------
    BayesResult
    """
    t0 = time.perf_counter()
    settings = settings or BayesSettings()
    if settings.sample not in SAMPLE:
        raise SDModelError(f"sample must be one of {', '.join(SAMPLE)}, got {settings.sample!r}")
    if settings.steps < 4:
        raise SDModelError(f"steps must be at least 4, got {settings.steps}")
    lik = setup(config, priors, until=until, model=model, observations=observations)
    own = runner is None
    runner = runner or ModelRunner(lik.problem, workers=workers, scheduler=scheduler)
    ident = None
    try:
        if settings.sample == "identified":
            from .identify import identify, reduced

            ident = identify(lik, runner, start_values(lik))
            if progress:
                import sys

                print(f"identified: {int(ident.table['sampled'].sum())} of {len(ident.table)} quantities sampled, "
                      f"{len(ident.fixed)} fixed at their start values ({ident.approx.evaluations} runs)",
                      file=sys.stderr)
            if ident.fixed:
                if not own:
                    raise SDModelError("a custom runner serves one calibration problem: use sample = \"all\"")
                runner.close()
                lik = reduced(lik, ident.fixed)
                runner = ModelRunner(lik.problem, workers=workers, scheduler=scheduler)
        dim = len(lik.priors.priors)
        walkers = settings.walkers_for(dim)
        check_walkers(walkers, dim)
        settings = replace(settings, walkers=walkers)
        return _sample(lik, runner, settings, out=out, resume=resume, progress=progress, t0=t0,
                       identification=None if ident is None else ident.table)
    finally:
        if own:
            runner.close()


#: What the sampler samples: the identified constants (the rest fixed) or all of them.
SAMPLE = ("identified", "all")


def _sample(lik: Likelihood, runner: Any, settings: BayesSettings, *, out: str | Path | None, resume: bool,
            progress: bool, t0: float, identification: pd.DataFrame | None = None) -> BayesResult:
    """The sampling, analysis and output of :func:`calibrate_bayes` with a ready runner."""
    dim = len(lik.priors.priors)
    log_post = LogPosterior(lik, runner)
    out_path = Path(out) if out is not None else None
    if out_path is not None and out_path.exists() and not out_path.is_dir():
        raise SDModelError(f"--out {out_path} is a file, not a folder")
    key = run_key(lik, settings)
    if out_path is not None:
        store = ChainStore(out_path / "checkpoint", key, settings.walkers, dim, resume=resume)
    else:
        store = ChainStore.memory(settings.walkers, dim)
    lower, upper = lik.priors.lower, lik.priors.upper
    z0 = initial_ensemble(start_values(lik), lower, upper, settings.walkers, settings.seed, settings.spread)
    if settings.start == "laplace" and not store.steps:
        from .laplace import laplace

        approx = laplace(LogPosterior(lik, runner), centre(start_values(lik), lower, upper))
        z0 = approx.draw(settings.walkers, settings.seed, settings.cap)
        if progress:
            import sys

            print(f"start: Laplace approximation at the posterior mode (log posterior {approx.log_post:.1f}, "
                  f"{approx.iterations} Gauss-Newton steps, {approx.evaluations} runs)", file=sys.stderr)
    chain = run_chain(log_post, z0, settings.steps, settings.seed, store, progress=progress, moves=settings.moves)
    result = analyse(lik, chain, settings, runner)
    result.seconds = time.perf_counter() - t0
    result.out = out_path
    result.identification = identification
    if out_path is not None:
        from .report import write_outputs

        write_outputs(result, out_path)
    return result


def analyse(lik: Likelihood, chain: ChainResult, settings: BayesSettings, runner: Any) -> BayesResult:
    """Diagnostics, summary and posterior-predictive bands of a finished chain."""
    lower, upper = lik.priors.lower, lik.priors.upper
    steps = chain.coords.shape[0] - 1
    first = 1 + int(settings.burn * steps)
    draws = to_x(chain.coords[first:], lower, upper)
    lp = chain.log_prob[first:]
    rng = np.random.default_rng(settings.seed)
    prior_draws = lik.priors.draw(max(1000, settings.ppc_draws), rng)
    attrs = {"model_sha256": lik.problem.model_sha256, "seed": settings.seed, "walkers": settings.walkers,
             "steps": steps, "burn_in_steps": first - 1, "until": lik.problem.until,
             "sampler": f"emcee EnsembleSampler ({settings.moves} moves), vectorised"}
    idata = inference_data(draws, lp, lik.priors, prior_draws, attrs)
    diag = pd.concat([pd.DataFrame({"parameter": lik.priors.labels}), diagnostics(draws)], axis=1)
    diag["acceptance_mean"] = float(chain.acceptance.mean())
    summ = summary(draws, lik.priors)
    band, cov = pd.DataFrame(), pd.DataFrame()
    if settings.ppc_draws > 0:
        s_idx, w_idx = draw_indices(draws.shape[0], draws.shape[1], settings.ppc_draws, settings.seed)
        thetas = draws[s_idx, w_idx]
        outputs = runner.run(thetas[:, :lik.n_model])
        reps = replicate(lik, thetas, outputs, settings.seed)
        band = bands(reps)
        cov = coverage(band)
    return BayesResult(likelihood=lik, settings=settings, chain=chain, draws=draws, summary=summ, diagnostics=diag,
                       bands=band, coverage=cov, idata=idata)
