"""The log posterior of many parameter sets at once, in the sampler's unbounded coordinates.

The sampler works on ``z``: each bounded quantity ``x`` in ``[lower, upper]`` is
``lower + (upper - lower) * sigmoid(z)`` (only a lower bound: ``lower + exp(z)``), so that
walkers near a bound are not thrown out by every proposal that crosses it; the log
Jacobian of the map is added to the log density, so the posterior of ``x`` is unchanged.

:class:`ModelRunner` runs all parameter sets of one call in one batch-engine call per
local worker process (forked once and kept), or through :func:`sd_model.ensemble.run_ensemble`
on a Dask cluster, so one call of :class:`LogPosterior` is one batch of the compiled engine.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..ensemble import EnsembleWarning, run_ensemble
from ..scenario import Scenario
from .likelihood import Likelihood


def to_x(z: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Map unbounded coordinates ``z`` (..., D) to the quantities ``x`` within their bounds."""
    z = np.asarray(z, dtype=float)
    both = np.isfinite(lower) & np.isfinite(upper)
    low_only = np.isfinite(lower) & ~np.isfinite(upper)
    with np.errstate(over="ignore"):
        sig = 1.0 / (1.0 + np.exp(-z))
        span = np.where(both, upper - lower, 1.0)
        return np.where(both, lower + span * sig, np.where(low_only, np.where(low_only, lower, 0) + np.exp(z), z))


def to_z(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_x` (``x`` strictly inside its bounds)."""
    x = np.asarray(x, dtype=float)
    both = np.isfinite(lower) & np.isfinite(upper)
    low_only = np.isfinite(lower) & ~np.isfinite(upper)
    with np.errstate(all="ignore"):
        u = (x - lower) / (upper - lower)
        logit = np.log(u) - np.log1p(-u)
        return np.where(both, logit, np.where(low_only, np.log(x - np.where(low_only, lower, 0)), x))


def log_jacobian(z: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Log |dx/dz| summed over the last axis."""
    z = np.asarray(z, dtype=float)
    both = np.isfinite(lower) & np.isfinite(upper)
    low_only = np.isfinite(lower) & ~np.isfinite(upper)
    span = np.where(both, upper - lower, 1.0)
    logit_jac = np.log(span) - np.logaddexp(0.0, -z) - np.logaddexp(0.0, z)
    return np.sum(np.where(both, logit_jac, np.where(low_only, z, 0.0)), axis=-1)


class ModelRunner:
    """Runs parameter sets of a calibration problem with the batch engine, on persistent local workers.

    Locally, the model is compiled once (for the problem's outputs and final year) and the
    ``workers`` processes are forked once, on the first call, and kept until :meth:`close`;
    each call splits its parameter sets evenly over them (one batch-engine call per process)
    and returns only the outputs the likelihood reads. With a Dask ``scheduler`` each call
    goes through :func:`sd_model.ensemble.run_ensemble` on that cluster instead.

    Parameters
    ----------
    problem : sd_model.calibration.Problem
    workers : int
        Local worker processes (1: in this process). Default is 1.
    scheduler : str, optional
        Dask scheduler address; the runs go to that cluster instead. Default is None.

    Use as a context manager (or call :meth:`close`) to stop the worker processes.
    """

    def __init__(self, problem: Any, workers: int = 1, scheduler: str | None = None) -> None:
        self.problem, self.workers, self.scheduler = problem, int(workers), scheduler
        self.runs = 0
        self._job: Any = None
        self._executor: Any = None

    def __enter__(self) -> ModelRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes (a later call starts them again)."""
        if self._executor is not None:
            executor, self._executor = self._executor, None
            executor.__exit__(None, None, None)

    def _local_job(self) -> Any:
        from ..ensemble_worker import Job
        from ..mdl import read_model_info
        from ..parameters import Parameter

        if self._job is None:
            p = self.problem
            info = read_model_info(p.model_path)
            spec = Scenario(name="bayes", params=dict(p.base_params)).resolve(info, list(p.outputs), p.final_time)
            columns = tuple(Parameter.parse(info, q.label) for q in p.parameters)
            self._job = Job("batch", str(Path(p.model_path).resolve()), spec, columns, spec.times.n)
        return self._job

    def run(self, X: np.ndarray) -> list[dict[str, np.ndarray] | None]:
        """Outputs ``{name: (time, *dims)}`` of each row of ``X`` (k, n model parameters); None: failed."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if len(X) == 0:
            return []
        if self.scheduler is not None:
            return self._run_dask(X)
        from ..ensemble_worker import run_chunk, runner_of
        from ..executor import Executor

        job = self._local_job()
        parts = [part for part in np.array_split(X, min(self.workers, len(X))) if len(part)]
        if self._executor is None and self.workers > 1:
            self._executor = Executor(self.workers, prepare=lambda: runner_of(job)).__enter__()
        if self._executor is not None and len(parts) > 1:
            results = self._executor.map(run_chunk, [(job, k, part) for k, part in enumerate(parts)])
        else:
            results = [run_chunk(job, k, part) for k, part in enumerate(parts)]
        self.runs += len(X)
        out: list[dict[str, np.ndarray] | None] = []
        names = list(self.problem.outputs)
        for res, part in zip(results, parts):
            if res.arrays is None:
                out.extend([None] * len(part))
                continue
            ok = ~np.asarray(res.failed, bool)
            for name in names:
                ok &= np.isfinite(res.arrays[name].reshape(len(part), -1)).all(axis=1)
            out.extend({name: res.arrays[name][i] for name in names} if ok[i] else None for i in range(len(part)))
        return out

    def _run_dask(self, X: np.ndarray) -> list[dict[str, np.ndarray] | None]:
        p = self.problem
        sets = pd.DataFrame(X, columns=[q.label for q in p.parameters])
        scenario = Scenario(name="bayes", params=dict(p.base_params))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EnsembleWarning)
            ds = run_ensemble(scenario, sets, list(p.outputs), engine="batch", model=Path(p.model_path),
                              until=p.final_time, scheduler=self.scheduler, progress=False)
        self.runs += len(X)
        arrays = {name: ds[name].values for name in p.outputs}
        failed = ds["failed"].values
        return [None if failed[i] else {name: a[i] for name, a in arrays.items()} for i in range(len(X))]


class BatchRunner:
    """Runs parameter sets in this process with one compiled :class:`~sd_model.batch.BatchSim`.

    The same engine as :class:`ModelRunner` without the ensemble executor's per-call set-up:
    for small models (tests, simulation-based calibration of a test model).
    """

    def __init__(self, problem: Any) -> None:
        from ..batch import BatchModel
        from ..mdl import read_model_info
        from ..parameters import Parameter

        self.problem = problem
        info = read_model_info(problem.model_path)
        self._sim = BatchModel(info).compile(list(problem.outputs), final_time=problem.final_time)
        self._columns = [Parameter.parse(info, q.label) for q in problem.parameters]
        self._base = {k: (dict(v) if isinstance(v, dict) else v) for k, v in problem.base_params.items()}
        self.runs = 0

    def run(self, X: np.ndarray) -> list[dict[str, np.ndarray] | None]:
        """Outputs of each row of ``X`` (k, n model parameters); None where a value is not finite."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if len(X) == 0:
            return []
        arrays, _, _ = self._sim.run_sets(self._base, self._columns, X)
        self.runs += len(X)
        out: list[dict[str, np.ndarray] | None] = []
        for i in range(len(X)):
            one = {name: a[i] for name, a in arrays.items()}
            out.append(one if all(np.isfinite(a).all() for a in one.values()) else None)
        return out


@dataclass
class LogPosterior:
    """``log p(x | data) + log |dx/dz|`` of each row of ``Z`` (k, D), for a vectorised sampler.

    Rows outside the prior's support are not run. ``evaluations`` counts model runs.
    """

    likelihood: Likelihood
    runner: Any
    evaluations: int = field(default=0, init=False)

    @property
    def lower(self) -> np.ndarray:
        """Lower bounds of the sampled quantities."""
        return self.likelihood.priors.lower

    @property
    def upper(self) -> np.ndarray:
        """Upper bounds of the sampled quantities."""
        return self.likelihood.priors.upper

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        """Log posterior (k,) of the rows of ``Z`` (k, D) in sampler coordinates; -inf outside the support."""
        Z = np.atleast_2d(np.asarray(Z, dtype=float))
        X = to_x(Z, self.lower, self.upper)
        lp = self.likelihood.priors.log_prior(X) + log_jacobian(Z, self.lower, self.upper)
        ok = np.flatnonzero(np.isfinite(lp))
        outputs = self.runner.run(X[ok, :self.likelihood.n_model])
        self.evaluations += len(ok)
        out = np.full(len(Z), -math.inf)
        if len(ok):
            ll = self.likelihood.loglik_batch(X[ok], outputs)
            out[ok] = np.where(np.isfinite(ll), lp[ok] + ll, -math.inf)
        return out
