"""Evaluate parameter vectors in batches, in parallel, through the checkpoint store.

An :class:`Evaluator` takes a batch of parameter vectors, answers those already in the
:class:`~sd_model.calibration.store.EvaluationStore` from it, runs the rest on the
:class:`~sd_model.executor.Executor` (each worker process compiles the model once and keeps
its runner), and appends the new results to the store before returning. With ``workers=1``
everything runs in the calling process. Results do not depend on the number of workers.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..engines import Runner, cached_runner
from ..errors import EngineError
from ..executor import Executor
from .problem import PENALTY, Problem
from .store import EvaluationStore

__all__ = ["Evaluator", "compile_runner", "evaluate_one", "run_one"]


def compile_runner(problem: Problem) -> Runner:
    """The runner of the problem's model up to its last year for this process and thread (compiled once).

    Kept for later batches (:func:`~sd_model.engines.cached_runner`); :func:`run_one` runs it.
    """
    return cached_runner(problem.engine, problem.model_path, problem.model_sha256, tuple(problem.outputs),
                         problem.final_time, "calibration")


def run_one(runner: Runner, params: Any) -> dict[str, np.ndarray]:
    """One run through an engine's :class:`~sd_model.engines.Runner`: {name: array (time, *dims)}."""
    arrays, failed, messages = runner.run_sets(params, (), np.zeros((1, 0)))
    if failed[0]:
        raise EngineError(messages[0])
    return {name: values[0] for name, values in arrays.items()}


def evaluate_one(problem: Problem, runner: Runner, x: np.ndarray) -> np.ndarray:
    """Residual vector of ``x``; a run that fails gives :data:`PENALTY` everywhere."""
    try:
        outputs = run_one(runner, problem.params(x))
    except EngineError:
        return np.full(problem.n_residuals, PENALTY)
    return problem.residuals(outputs)


def _work(problem: Problem, chunk: np.ndarray) -> np.ndarray:
    """Residual vectors of the rows of ``chunk`` (the task of one worker)."""
    try:
        runner = compile_runner(problem)
    except Exception as exc:  # noqa: BLE001 - reported to the calibrating process with its cause
        raise EngineError(f"calibration could not load the model: {exc}") from None
    return np.array([evaluate_one(problem, runner, x) for x in chunk])


class Evaluator:
    """Batch evaluation with a cache, a process pool, a progress bar and a callback.

    Parameters
    ----------
    problem : Problem
    store : EvaluationStore
    workers : int
        Worker processes; 1 runs in this process (unless ``scheduler`` is given). With a
        ``scheduler``, the number of tasks each batch is split into. Default is 1.
    progress : bool
        Show a tqdm progress bar (runs, best payoff so far) on stderr. Default is False.
    callback : callable, optional
        Called as ``callback(evaluator)`` after every batch that ran the model (e.g. to
        stop a run: an exception raised there propagates after the batch is stored).
    scheduler : str or dask.distributed.Client, optional
        Run the batches on this Dask cluster (see :class:`~sd_model.executor.Executor`). Default is None.

    Use as a context manager (starts and stops the pool).
    """

    def __init__(self, problem: Problem, store: EvaluationStore, workers: int = 1, progress: bool = False,
                 callback: Callable[[Evaluator], None] | None = None, scheduler: Any = None) -> None:
        self.problem, self.store, self.scheduler = problem, store, scheduler
        self.workers = max(1, int(workers))
        self.callback = callback
        self.runs = 0          # model runs made by this process
        self.replayed = 0      # evaluations answered from the store
        self.batches = 0
        self.best = math.inf
        self.best_x: np.ndarray | None = None
        self.stage = ""
        self._pool: Executor | None = None
        self._bar: Any = None
        self._progress = progress

    def __enter__(self) -> Evaluator:
        self._pool = Executor(self.workers, self.scheduler).__enter__()  # workers=1: runs in this process
        if self._progress:
            from tqdm import tqdm

            self._bar = tqdm(desc="calibrate", unit=" runs", dynamic_ncols=True, mininterval=0.5)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.__exit__(None)
            self._pool = None
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    # ---------------------------------------------------------------- running
    def _run(self, X: np.ndarray) -> np.ndarray:
        if self._pool is None:
            raise RuntimeError("use the Evaluator as a context manager")
        chunks = [c for c in np.array_split(X, min(self.workers, len(X))) if len(c)]
        return np.vstack(self._pool.map(_work, [(self.problem, c) for c in chunks]))

    def note_best(self, x: np.ndarray, payoff: float) -> None:
        """Record ``payoff`` at ``x`` if it is the best so far (also a finished stage restored from the checkpoint)."""
        if payoff < self.best:
            self.best, self.best_x = float(payoff), np.array(x)

    def residuals(self, X: np.ndarray) -> np.ndarray:
        """Residual vectors (k, m) of the parameter vectors ``X`` (k, n)."""
        return self._evaluate(X, full=True)

    def payoffs(self, X: np.ndarray) -> np.ndarray:
        """Payoffs (sum of squared residuals) of ``X`` (k, n); only the payoff is stored."""
        return self._evaluate(X, full=False)

    def _evaluate(self, X: np.ndarray, full: bool) -> np.ndarray:
        """Answer the rows of ``X`` the checkpoint knows, run and store the others (residual vectors if ``full``)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        out = np.empty((len(X), self.problem.n_residuals) if full else (len(X),))
        todo = []
        for i, x in enumerate(X):
            known = self.store.get(x, full)
            if known is None:
                todo.append(i)
            else:
                out[i] = known
        self.replayed += len(X) - len(todo)
        if todo:
            R = self._run(X[todo])
            self.runs += len(todo)
            out[todo] = R if full else np.einsum("ij,ij->i", R, R)
            self.store.add(X[todo], out[todo], full)
        f = np.einsum("ij,ij->i", out, out) if full else out
        if len(f):
            self.note_best(X[int(np.argmin(f))], float(np.min(f)))
        if self._bar is not None:
            self._bar.update(len(todo))
            self._bar.set_postfix_str(f"{self.stage} best payoff {self.best:.6g}", refresh=False)
        if todo:
            self.batches += 1
            if self.callback is not None:
                self.callback(self)
        return out
