"""Several fits in lockstep: their model runs gathered into one call of the batch engine per round.

A call of the batch engine costs a fixed ~0.2 s of numpy overhead (one operation per equation
and time step) plus a little per member, so many small calls waste most of the time. For
simulation-based calibration, many independent fits (one per synthetic data set) run in
threads; each hands its ``runner.run(X)`` to a :class:`Lockstep`, which waits until every
fit still running has handed in its rows, runs them all in one call of the shared runner, and
gives each fit its own rows back. The fits' own work (emcee's proposals, the likelihood, the
Laplace start) is light and runs in their threads between rounds; the engine call runs in the
thread that completed the round.

Each row's result does not depend on the other rows of its call, so a fit in lockstep
draws exactly what it would draw alone with the same seed (tested on the linear test model).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


class Lockstep:
    """Gathers the ``run`` calls of ``members`` threads into one call of ``runner.run`` per round.

    Parameters
    ----------
    runner : object
        ``runner.run(X) -> list of outputs`` (e.g. :class:`~sd_model.bayes.posterior.ModelRunner`).
    members : int
        The threads taking part; each calls :meth:`client` once and :meth:`leave` when done.

    ``calls`` counts the engine calls, ``runs`` the rows run.
    """

    def __init__(self, runner: Any, members: int) -> None:
        self.runner, self._active = runner, int(members)
        self._cond = threading.Condition()
        self._pending: dict[int, np.ndarray] = {}
        self._results: dict[int, list[Any]] = {}
        self._error: BaseException | None = None
        self.calls = self.runs = 0

    def client(self, member: int) -> _Client:
        """The runner that member ``member`` (0, 1, ...) uses in its thread."""
        return _Client(self, member)

    def _run(self, member: int, X: np.ndarray) -> list[Any]:
        with self._cond:
            self._pending[member] = X
            if len(self._pending) >= self._active:
                self._round()
            while member not in self._results and self._error is None:
                self._cond.wait()
            if self._error is not None and member not in self._results:
                raise RuntimeError("the shared engine call of the lockstep failed") from self._error
            return self._results.pop(member)

    def leave(self) -> None:
        """A member is done (or failed): the others no longer wait for it."""
        with self._cond:
            self._active -= 1
            if self._pending and len(self._pending) >= self._active:
                self._round()

    def _round(self) -> None:
        """Run every pending member's rows in one call (the lock is held: the others are waiting)."""
        order = sorted(self._pending)
        parts = [self._pending.pop(m) for m in order]
        sizes = [len(p) for p in parts]
        try:
            out = self.runner.run(np.vstack(parts)) if sum(sizes) else []
        except BaseException as exc:  # every waiting member raises it (RuntimeError from exc)
            self._error = exc
            self._cond.notify_all()
            return
        self.calls += 1
        self.runs += sum(sizes)
        start = 0
        for m, n in zip(order, sizes):
            self._results[m] = list(out[start:start + n])
            start += n
        self._cond.notify_all()


class _Client:
    """One member's view of a :class:`Lockstep`: ``run(X)`` like a runner."""

    def __init__(self, lockstep: Lockstep, member: int) -> None:
        self.lockstep, self.member, self.runs = lockstep, member, 0

    def run(self, X: np.ndarray) -> list[Any]:
        """Outputs of the rows of ``X``, run together with the other members' rows."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        self.runs += len(X)
        return self.lockstep._run(self.member, X)


def run_lockstep(tasks: Sequence[Callable[[Any], Any]], runner: Any) -> list[Any]:
    """Run ``tasks`` (each ``task(runner) -> result``) in threads, their model runs in lockstep.

    Returns each task's result, or the exception it raised (one failed fit does not stop the
    others).
    """
    if not tasks:
        return []
    step = Lockstep(runner, len(tasks))
    results: list[Any] = [None] * len(tasks)

    def work(i: int) -> None:
        try:
            results[i] = tasks[i](step.client(i))
        except BaseException as exc:  # reported to the caller with the task's index
            results[i] = exc
        finally:
            step.leave()

    threads = [threading.Thread(target=work, args=(i,), name=f"lockstep-{i}", daemon=True) for i in range(len(tasks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
