"""Drive emcee's ensemble sampler with a checkpoint after every step.

All walkers of a half-ensemble are evaluated in one call of the log posterior
(``vectorize=True``), i.e. one batch of the compiled engine. After every step the walkers,
their log posteriors and the sampler's random state are appended to a
:class:`~sd_model.bayes.store.ChainStore`; a resumed run starts from the last stored step
with that state, so it continues exactly as if it had not been stopped.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .posterior import to_z
from .store import ChainStore


@dataclass(frozen=True)
class ChainResult:
    """A finished chain in sampler coordinates: ``coords`` (steps + 1, W, D), ``log_prob`` (steps + 1, W).

    Record 0 is the starting ensemble. ``acceptance`` is the fraction of accepted moves per
    walker; ``evaluations`` the model runs made by this process; ``seconds`` its wall time;
    ``resumed_from`` the steps already in the checkpoint when this process started.
    """

    coords: np.ndarray
    log_prob: np.ndarray
    acceptance: np.ndarray
    evaluations: int
    seconds: float
    resumed_from: int = 0


def initial_ensemble(x0: np.ndarray, lower: np.ndarray, upper: np.ndarray, walkers: int, seed: int,
                     spread: float = 0.05) -> np.ndarray:
    """Walkers (W, D) in sampler coordinates: a small ball around ``x0`` (moved off any bound).

    ``spread`` is the standard deviation of the ball in sampler coordinates (logit units for a
    bounded quantity). Default is 0.05.
    """
    rng = np.random.default_rng(seed)
    return centre(x0, lower, upper) + spread * rng.standard_normal((walkers, len(x0)))


def centre(x0: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``x0`` in sampler coordinates, moved off any bound by 0.1% of the range."""
    width = np.where(np.isfinite(upper - lower), upper - lower, 1.0)
    lo = np.where(np.isfinite(lower), lower + 1e-3 * width, -np.inf)
    hi = np.where(np.isfinite(upper), upper - 1e-3 * width, np.inf)
    return to_z(np.clip(x0, lo, hi), lower, upper)


#: What each name of the proposal moves runs, in the fingerprints of stored chains and SBC data sets: a chain or data
#: set sampled with other moves is not resumed or reused. "de" no longer includes emcee's
#: DESnookerMove: in emcee <= 3.1.6 its direction is not a unit vector and its Metropolis factor is
#: half the (d - 1) log |x* - z| / |x - z| of ter Braak & Vrugt (2008), so its stationary
#: distribution is not the posterior (fixed upstream in dfm/emcee#531, not released).
MOVES_KEY = {"de": "DEMove 0.8 + StretchMove 0.2", "stretch": "StretchMove"}

#: Proposal moves: differential evolution with 20% stretch updates, or emcee's stretch move alone.
MOVES = tuple(MOVES_KEY)


def _moves(name: str) -> Any:
    import emcee

    if name == "stretch":
        return emcee.moves.StretchMove()
    if name == "de":
        return [(emcee.moves.DEMove(), 0.8), (emcee.moves.StretchMove(), 0.2)]
    raise ValueError(f"unknown moves {name!r}; valid: {', '.join(MOVES)}")


def run_chain(log_prob: Callable[[np.ndarray], np.ndarray], z0: np.ndarray, steps: int, seed: int,
              store: ChainStore, progress: bool = False, moves: str = "de",
              callback: Callable[[int, np.ndarray, np.ndarray], None] | None = None) -> ChainResult:
    """Run (or continue) ``steps`` steps of emcee's stretch-move sampler, storing every step.

    Parameters
    ----------
    log_prob : callable
        Vectorised log posterior: (k, D) -> (k,), in sampler coordinates.
    z0 : ndarray (W, D)
        Starting walkers (ignored when ``store`` already holds steps).
    steps : int
        Total number of steps of the chain (including those already in ``store``).
    seed : int
        Seed of the sampler's random generator (ignored on resume: the stored state is used).
    store : ChainStore
        The checkpoint (in memory or on disk).
    progress : bool
        Show acceptance rate and log posterior on stderr. Default is False.
    moves : {"de", "stretch"}
        emcee's differential-evolution move (80%) mixed with its stretch move (20%), or its
        stretch move alone (:data:`MOVES_KEY`). Default is "de".
    callback : callable, optional
        ``callback(step, coords, log_prob)`` after each stored step.

    Returns
    -------
    ChainResult
    """
    import emcee

    t0 = time.perf_counter()
    walkers, dim = store.walkers, store.dim
    guarded = _InterruptGuard(log_prob)
    sampler = emcee.EnsembleSampler(walkers, dim, guarded, vectorize=True, moves=_moves(moves))
    resumed_from = max(0, len(store.steps) - 1)
    if not store.steps:
        sampler.random_state = np.random.RandomState(seed).get_state()
        z0 = np.asarray(z0, dtype=float)
        lp0 = np.asarray(log_prob(z0), dtype=float)
        if not np.isfinite(lp0).any():
            raise ValueError("no starting walker has a finite log posterior")
        store.append(z0, lp0, sampler.random_state)
    last = store.steps[-1]
    state = emcee.State(last.coords.copy(), log_prob=last.log_prob.copy(), random_state=last.random_state)
    done = len(store.steps) - 1
    bar = None
    if progress:
        from tqdm import tqdm

        class _Bar(tqdm):  # no monitor thread: with one, the ensemble executor would spawn instead of fork
            monitor_interval = 0

        bar = _Bar(total=steps, initial=min(done, steps), desc="sample", unit=" steps", file=sys.stderr,
                   dynamic_ncols=True, mininterval=1.0)
    prev = last.coords
    try:
        for new in sampler.sample(state, iterations=max(0, steps - done), store=False):
            if guarded.interrupt is not None:   # this step was cut short: it is not stored
                raise guarded.interrupt
            state = new
            store.append(state.coords, state.log_prob, state.random_state)
            if bar is not None:
                moved = np.any(state.coords != prev, axis=1).mean()
                lp = state.log_prob[np.isfinite(state.log_prob)]
                bar.set_postfix_str(f"accept {moved:.2f} log-post median {np.median(lp):.1f} max {lp.max():.1f}",
                                    refresh=False)
                bar.update(1)
            if callback is not None:
                callback(len(store.steps) - 1, state.coords, state.log_prob)
            prev = state.coords.copy()
    finally:
        if bar is not None:
            bar.close()
    coords, lps = store.chain()
    acceptance = np.mean(np.any(coords[1:] != coords[:-1], axis=2), axis=0) if len(coords) > 1 else np.zeros(walkers)
    evaluations = int(getattr(log_prob, "evaluations", 0))
    return ChainResult(coords=coords, log_prob=lps, acceptance=acceptance, evaluations=evaluations,
                       seconds=time.perf_counter() - t0, resumed_from=resumed_from)


class _InterruptGuard:
    """The log posterior as emcee sees it: an interruption (Ctrl-C, SIGTERM) does not pass through emcee.

    emcee's wrapper of the log-probability function prints "Exception while calling your likelihood
    function", the walkers' coordinates and a traceback for any exception, interruptions included.
    The guard records the interruption, answers -inf for the rest of the step (no proposal is
    accepted, no model runs) and :func:`run_chain` raises it before that step is stored.
    """

    def __init__(self, log_prob: Callable[[np.ndarray], np.ndarray]):
        self.log_prob = log_prob
        self.interrupt: KeyboardInterrupt | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.interrupt is None:
            try:
                return self.log_prob(x)
            except KeyboardInterrupt as exc:
                self.interrupt = exc
        return np.full(len(x), -np.inf)


def evaluations_of(runner: Any) -> int:
    """Model runs counted by a runner (0 if it does not count)."""
    return int(getattr(runner, "runs", 0))
