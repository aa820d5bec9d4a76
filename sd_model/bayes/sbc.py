"""Simulation-based calibration (Talts et al. 2018, arXiv:1804.06788): checks that the sampler recovers known values.

For each synthetic data set: draw ``theta*`` from the priors, run the model at ``theta*``, add
an error path from the error model (:mod:`sd_model.bayes.likelihood`), fit the synthetic data
with the same sampler, and record the rank of ``theta*`` among thinned posterior draws and
whether the central 90% interval contains it. If the sampler and the likelihood are right,
the ranks are uniform and the 90% intervals cover about 90% of the true values.

Many data sets are fitted at once in lockstep (:mod:`sd_model.bayes.lockstep`: one engine call
per round for all of them), and each finished one is kept in the output folder
(:class:`SBCStore`). While a fit runs, its chain is checkpointed step by step in
``folder/chains/NNNN`` (the sampler's :class:`~sd_model.bayes.store.ChainStore`), so an
interrupted SBC continues each unfinished fit from its last complete step, to the result an
uninterrupted run gives; the checkpoint is removed once the data set's rows are kept.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SDModelError
from ..files import atomic_write_json, sha256_bytes

from .likelihood import Likelihood, build_likelihood
from .priors import Prior, PriorSet, make_prior
from .posterior import LogPosterior, to_x
from .predictive import _ar1_path
from .sampler import MOVES_KEY, initial_ensemble, run_chain
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


def matched_priors(priors: PriorSet, draws: np.ndarray, source: str) -> PriorSet:
    """Normal priors at the mean and sd of ``draws``, for an SBC whose true values come from them.

    SBC's guarantee (uniform ranks, 90% coverage) holds when the true values are drawn from the
    priors the fits use. To keep synthetic histories near the real data, ``draws`` (n, D) in the
    quantities' units (e.g. of the Laplace approximation of the real-data posterior) give each
    quantity a normal prior with their mean and sd, truncated to the bounds of ``priors``; the
    fits then use these priors and the true values are drawn from them. Returns a
    :class:`PriorSet` with the same labels, bounds, error model and breaks; its ``text`` (which
    fingerprints the SBC folder) lists the new priors.
    """
    draws = np.atleast_2d(np.asarray(draws, dtype=float))
    if draws.shape[1] != len(priors.priors) or len(draws) < 2:
        raise ValueError(f"need at least 2 draws of {len(priors.priors)} quantities, got shape {draws.shape}")
    mu, sd = draws.mean(axis=0), draws.std(axis=0, ddof=1)
    # through the priors file's own constructor, so that its checks (sigma > 0, mass inside the bounds) apply
    new = tuple(make_prior(p.label, {"dist": "normal", "mu": float(m), "sigma": float(s), "source": source},
                       p.lower, p.upper, f"matched prior of {p.label!r}", 0)
                for p, m, s in zip(priors.priors, mu, sd))
    by_label = {p.label: p for p in new}
    em = priors.error_model
    em = replace(em, rho=by_label[em.rho.label] if isinstance(em.rho, Prior) else em.rho,
                 sigma_scale=by_label[em.sigma_scale.label] if isinstance(em.sigma_scale, Prior) else em.sigma_scale)
    # the file's name, not its path: the text fingerprints the SBC folder, which must resume from any clone
    text = f"# matched priors ({source}) for {Path(priors.path).name}\n" + "".join(
        f"{p.label!r} = normal({dict(p.params)['mu']!r}, {dict(p.params)['sigma']!r}) on [{p.lower!r}, {p.upper!r}]\n"
        for p in new)
    return replace(priors, priors=new, error_model=em, text=priors.text + "\n" + text)


@dataclass(frozen=True)
class SBCSettings:
    """How each synthetic data set is fitted.

    ``walkers``, ``steps``: the sampler's; ``seed``: of the true values, the errors and the
    samplers (data set ``k`` uses ``default_rng([seed, k])`` and sampler seed ``seed + k + 1``,
    so a data set's fit does not depend on which others ran before it); ``thin``: keep every
    ``thin``-th step after burn-in for the ranks; ``moves``: :data:`~sd_model.bayes.sampler.MOVES`;
    ``init``: start each fit in a small ball around the true values (``"truth"``: a test of the
    posterior, not of finding it), from the Laplace approximation found from the true values
    (``"laplace"``, each sd capped at ``cap``, as :func:`~sd_model.bayes.run.calibrate_bayes`
    starts from the least-squares estimates) or from prior draws (``"prior"``); ``burn``:
    fraction of the steps discarded.
    """

    walkers: int
    steps: int
    seed: int
    thin: int = 1
    moves: str = "de"
    init: str = "truth"
    burn: float = 0.5
    cap: float = 0.5


def fit_dataset(likelihood: Likelihood, runner: Any, k: int, settings: SBCSettings,
                truth: np.ndarray | None = None, checkpoint: str | Path | None = None,
                key: str = "") -> list[dict[str, Any]]:
    """Simulate data set ``k`` at its true value, fit it, and return one row per parameter.

    The true value is ``truth``, or drawn from the priors (again until the model runs). Each
    row: true value, posterior median, 5% and 95% quantiles, rank of the true value among the
    kept draws, their number, ``inside90``, and the fit's convergence (ArviZ R-hat and bulk
    ESS, emcee's tau in steps) for that parameter. With ``checkpoint`` (a folder), the chain is
    stored there step by step under the fingerprint ``key`` and a chain found there is continued
    (its start is not searched for again).
    """
    from .diagnostics import diagnostics

    theta, lik_k, rng = _dataset(likelihood, runner, k, settings.seed, truth)
    priors = likelihood.priors
    lower, upper = priors.lower, priors.upper
    walkers, seed = settings.walkers, settings.seed + k + 1
    store = ChainStore.memory(walkers, len(theta)) if checkpoint is None else \
        _checkpoint(Path(checkpoint), f"{key}|{k}|{theta.tolist()!r}", walkers, len(theta))
    if store.steps:
        z0 = store.steps[0].coords  # resumed: run_chain continues from the last stored step
    elif settings.init == "truth":
        z0 = initial_ensemble(theta, lower, upper, walkers, seed, spread=0.1)
    elif settings.init == "laplace":
        from .laplace import laplace
        from .sampler import centre

        z0 = laplace(LogPosterior(lik_k, runner), centre(theta, lower, upper)).draw(walkers, seed, settings.cap)
    else:
        from .posterior import to_z

        z0 = to_z(priors.draw(walkers, rng), lower, upper)
    chain = run_chain(LogPosterior(lik_k, runner), z0, settings.steps, seed, store, moves=settings.moves)
    first = 1 + int(settings.burn * settings.steps)
    kept = to_x(chain.coords[first:], lower, upper)
    diag = diagnostics(kept)
    rows = _interval_rows(k, priors.labels, theta, kept[::settings.thin].reshape(-1, len(theta)))
    for j, row in enumerate(rows):
        row.update({"r_hat": float(diag["r_hat"].iloc[j]), "ess_bulk": float(diag["ess_bulk"].iloc[j]),
                    "tau_steps": float(diag["tau_steps"].iloc[j])})
    return rows


def _checkpoint(folder: Path, key: str, walkers: int, dim: int) -> ChainStore:
    """The chain stored in ``folder`` for this fit, or a new one there.

    A chain of another fit (other true values, after the SBC's true values were changed) can
    never be continued: it is removed, and the fit starts afresh. ``folder`` is inside the
    SBC's own output folder, which the SBC's fingerprint guards; nothing else is removed.
    """
    if ChainStore.holds_other_run(folder, key, walkers, dim):
        shutil.rmtree(folder)
    return ChainStore(folder, key, walkers, dim, resume=True)


def _interval_rows(k: int, labels: list[str], theta: np.ndarray, draws: np.ndarray) -> list[dict[str, Any]]:
    """Per parameter of data set ``k``: true value, median and 90% interval of ``draws`` (n, D).

    Also the rank of the true value among the draws and whether the interval holds it.
    """
    q = np.quantile(draws, [0.05, 0.5, 0.95], axis=0)
    return [{"dataset": int(k), "parameter": label, "true": float(theta[j]), "median": float(q[1, j]),
             "q05": float(q[0, j]), "q95": float(q[2, j]), "rank": int(np.sum(draws[:, j] < theta[j])),
             "draws": int(len(draws)), "inside90": bool(q[0, j] <= theta[j] <= q[2, j])}
            for j, label in enumerate(labels)]


def _dataset(likelihood: Likelihood, runner: Any, k: int, seed: int,
             truth: np.ndarray | None) -> tuple[np.ndarray, Likelihood, np.random.Generator]:
    """Data set ``k``: true value, likelihood of its synthetic data, and its random generator after both.

    The true value is ``truth``, or drawn from the priors (again until the model runs); the
    generator is ``default_rng([seed, k])``, so a data set does not depend on which others ran.
    """
    rng = np.random.default_rng([seed, k])
    while True:
        theta = likelihood.priors.draw(1, rng)[0] if truth is None else np.asarray(truth, dtype=float)
        out = runner.run(theta[None, :likelihood.n_model])[0]
        if out is not None:
            break
        if truth is not None:
            raise ValueError(f"the model fails at true value {k}")
    return theta, synthetic(likelihood, theta, out, rng), rng


def laplace_dataset(likelihood: Likelihood, runner: Any, k: int, seed: int, truth: np.ndarray | None = None,
                    n_draws: int = 8000) -> list[dict[str, Any]]:
    """The Laplace approximation's intervals for data set ``k`` of an SBC with ``seed`` (no sampler).

    The same true value and synthetic data as :func:`fit_dataset` with that seed; the normal
    approximation found from the true value (:func:`~sd_model.bayes.laplace.laplace`, the fits'
    ``init="laplace"`` start) is drawn ``n_draws`` times, uncapped, and mapped to the parameters'
    units. Rows as :func:`fit_dataset` without the convergence columns: a yardstick for the
    sampler's intervals on the same data (a sampler whose intervals are narrower than an accurate
    normal approximation's has not spread over the posterior).
    """
    from .laplace import laplace
    from .sampler import centre

    theta, lik_k, _ = _dataset(likelihood, runner, k, seed, truth)
    lower, upper = likelihood.priors.lower, likelihood.priors.upper
    approx = laplace(LogPosterior(lik_k, runner), centre(theta, lower, upper))
    return _interval_rows(k, likelihood.priors.labels, theta,
                          to_x(approx.draw(n_draws, seed + k + 1, cap=np.inf), lower, upper))


class SBCStore:
    """Finished data sets of a simulation-based calibration on disk: kept, checksummed, skipped on re-run.

    ``folder/sbc_meta.json`` holds the fingerprint of the calibration and settings; each
    finished data set is ``folder/datasets/NNNN.json`` with its rows and the SHA-256 of them. A
    file that fails its checksum or belongs to another fingerprint is not used (the data set
    is fitted again); a folder holding another calibration's data sets is refused.
    """

    def __init__(self, folder: str | Path, key: str) -> None:
        self.folder, self.key = Path(folder), key
        meta = self.folder / "sbc_meta.json"
        if meta.is_file():
            try:
                old = json.loads(meta.read_text(encoding="utf-8")).get("key")
            except (ValueError, AttributeError):
                old = None
            if old != key:
                raise SDModelError(f"{self.folder} holds a simulation-based calibration with other settings "
                                   "(model, data, priors or sampler); give another --out")
        else:
            atomic_write_json(meta, {"key": key})
        (self.folder / "datasets").mkdir(parents=True, exist_ok=True)

    def _path(self, k: int) -> Path:
        return self.folder / "datasets" / f"{k:04d}.json"

    @staticmethod
    def _digest(rows: list[dict[str, Any]]) -> str:
        return sha256_bytes(json.dumps(rows, sort_keys=True).encode())

    def load(self, k: int) -> list[dict[str, Any]] | None:
        """The rows of data set ``k`` if stored intact under this fingerprint, else None."""
        try:
            obj = json.loads(self._path(k).read_text(encoding="utf-8"))
            rows = obj["rows"]
            ok = obj["key"] == self.key and obj["sha256"] == self._digest(rows)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return rows if ok else None

    def save(self, k: int, rows: list[dict[str, Any]]) -> None:
        """Store the rows of data set ``k`` (atomically), then remove its fit's checkpoint."""
        atomic_write_json(self._path(k), {"key": self.key, "dataset": k, "rows": rows, "sha256": self._digest(rows)})
        shutil.rmtree(self.checkpoint(k), ignore_errors=True)

    def checkpoint(self, k: int) -> Path:
        """The folder of data set ``k``'s chain while it is fitted (:class:`~sd_model.bayes.store.ChainStore`)."""
        return self.folder / "chains" / f"{k:04d}"


def sbc_key(likelihood: Likelihood, settings: SBCSettings, given_truths: bool) -> str:
    """Fingerprint of a simulation-based calibration: the posterior and the settings.

    Given true values are checked per data set instead (:func:`sbc`), so that a re-run with
    more data sets keeps the finished ones.
    """
    from ..calibration.runner import problem_key
    from ..calibration.store import fingerprint

    return fingerprint(problem_key(likelihood.problem), likelihood.priors.text, repr(settings),
                       MOVES_KEY.get(settings.moves), given_truths)


def sbc(likelihood: Likelihood, runner: Any, *, datasets: int, walkers: int, steps: int, seed: int,
        thin: int = 1, moves: str = "de", init: str = "truth", burn: float = 0.5, truths: np.ndarray | None = None,
        cap: float = 0.5, lockstep: int = 1, out: str | Path | None = None,
        progress: Callable[[int], None] | None = None, first: int = 0) -> pd.DataFrame:
    """Run simulation-based calibration.

    Parameters
    ----------
    likelihood : Likelihood
        The calibration (its priors are the ones drawn from and fitted with).
    runner : object
        ``runner.run(X) -> outputs`` (:class:`~sd_model.bayes.posterior.ModelRunner` or ``BatchRunner``).
    datasets, walkers, steps : int
        Number of synthetic data sets; sampler walkers and steps per fit.
    seed, thin, moves, init, burn, cap
        See :class:`SBCSettings`.
    truths : ndarray (datasets, D), optional
        The true values (e.g. posterior-centred draws); default: drawn from the priors.
    lockstep : int
        Fit this many data sets at once, their model runs in one engine call per round
        (:mod:`sd_model.bayes.lockstep`); the results are those of fitting them one by one.
        Default is 1.
    out : path, optional
        Folder keeping each finished data set (:class:`SBCStore`) and each running fit's chain
        step by step; a re-run skips the finished data sets and continues the running fits from
        their last complete step. Default is None (nothing kept).
    progress : callable, optional
        ``progress(k)`` after data set ``k`` is done (or found in ``out``).
    first : int
        Only data sets ``first, ..., datasets - 1`` (so that separate processes can share the
        data sets of one ``out`` folder between them). Default is 0.

    Returns
    -------
    DataFrame with one row per (data set, parameter), as :func:`fit_dataset`.
    """
    from .diagnostics import arviz
    from .lockstep import run_lockstep

    settings = SBCSettings(walkers=walkers, steps=steps, seed=seed, thin=thin, moves=moves, init=init, burn=burn,
                           cap=cap)
    if truths is not None and len(truths) < datasets:
        raise ValueError(f"{len(truths)} true values for {datasets} data sets")
    arviz()  # imported once here, not by the fits' threads at once
    store = None if out is None else SBCStore(out, sbc_key(likelihood, settings, truths is not None))
    found: dict[int, list[dict[str, Any]]] = {}
    wanted = range(max(0, int(first)), datasets)
    for k in wanted:
        rows = None if store is None else store.load(k)
        if rows is not None and truths is not None and [r["true"] for r in rows] != [float(v) for v in truths[k]]:
            rows = None  # fitted at other true values
        if rows is not None:
            found[k] = rows
            if progress is not None:
                progress(k)
    todo = [k for k in wanted if k not in found]
    size = max(1, int(lockstep))
    for group in (todo[i:i + size] for i in range(0, len(todo), size)):
        tasks = [partial(_fit_task, likelihood, k, settings, None if truths is None else truths[k],
                         None if store is None else store.checkpoint(k), "" if store is None else store.key)
                 for k in group]
        results = run_lockstep(tasks, runner) if len(tasks) > 1 else [tasks[0](runner)]
        for k, rows in zip(group, results):
            if isinstance(rows, BaseException):
                raise rows
            found[k] = rows
            if store is not None:
                store.save(k, rows)
            if progress is not None:
                progress(k)
    return pd.DataFrame([row for k in wanted for row in found[k]])


def _fit_task(likelihood: Likelihood, k: int, settings: SBCSettings, truth: np.ndarray | None,
              checkpoint: Path | None, key: str, runner: Any) -> list[dict[str, Any]]:
    return fit_dataset(likelihood, runner, k, settings, truth, checkpoint, key)


def sbc_coverage(table: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Per parameter: 90% interval coverage, the counts of the rank histogram (``bins`` bins) and the fits' convergence.

    ``fits_r_hat_over_1_05`` counts the data sets whose fit has R-hat >= 1.05 for the
    parameter (reported, not dropped: the coverage includes them); ``r_hat_max`` and
    ``ess_bulk_min`` are the worst over the fits.
    """
    out = []
    for label, g in table.groupby("parameter", sort=False):
        u = g["rank"].to_numpy() / g["draws"].to_numpy()
        hist = np.histogram(u, bins=bins, range=(0, 1))[0]
        row = {"parameter": label, "datasets": len(g), "coverage90": float(g["inside90"].mean()),
               "rank_histogram": " ".join(map(str, hist))}
        if "r_hat" in g:
            row.update({"fits_r_hat_over_1_05": int((g["r_hat"] >= 1.05).sum()), "r_hat_max": float(g["r_hat"].max()),
                        "ess_bulk_min": float(g["ess_bulk"].min())})
        out.append(row)
    return pd.DataFrame(out)
