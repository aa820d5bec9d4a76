"""Model evaluations per second of the Bayesian calibration (issue 12: >= 200,000 in 30 minutes on 2 cores).

Runs the sampler of ``sd-model calibrate --method bayes`` in its default configuration (the
constants the data identify sampled, the others fixed; shipped model, default calibration and
priors, 1978-2015) for ``--steps`` steps at each walker count of ``--walkers``, in one process
on the same machine state, and prints per walker count:

1. evaluations per second of wall clock over the timed steps (the first step, which forks the
   workers and compiles the model, is left out), the ratio to the first walker count, and the
   wall time 200,000 evaluations would take at that rate;
2. where the parent process's time went: waiting for the engine (the workers), the likelihood,
   the priors, and emcee and the rest;
3. the batch engine alone in this process at the per-worker batch size (CPU time per
   evaluation): a call costs a fixed ~0.2 s of numpy overhead per 1,184 time steps plus a
   little per member, so the rate grows with the members per call;
4. the rate two idle cores would give at most: emcee's differential-evolution move (80% of the
   steps) makes two calls of W/2 walkers per step, its snooker move (20%) four calls of W/4
   (it needs three complementary sets), each split over the workers, so a step costs
   ``0.8 x 2 x t(W/2/workers) + 0.2 x 4 x t(W/4/workers)`` of engine time per core, ``t`` the
   CPU time of one engine call measured here.

The load average is printed beside the figures: on a shared machine the wall-clock rate falls
with every other job. The identification (about 1,100 runs) is done once, first.

Usage::

    python benchmarks/bench_bayes.py                        # 64 and 128 walkers, 10 steps each, 2 workers
    python benchmarks/bench_bayes.py --walkers 128 256 --steps 6
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sd_model.bayes.identify import identify, reduced  # noqa: E402
from sd_model.bayes.likelihood import Likelihood  # noqa: E402
from sd_model.bayes.posterior import LogPosterior, ModelRunner  # noqa: E402
from sd_model.bayes.run import setup, start_values  # noqa: E402
from sd_model.bayes.sampler import initial_ensemble, run_chain  # noqa: E402
from sd_model.bayes.store import ChainStore  # noqa: E402
from sd_model.executor import default_workers  # noqa: E402

CONFIG = ROOT / "experiments" / "calibration" / "default.toml"
TARGET = 200_000


class Timed:
    """Wraps a callable and adds its wall time to ``seconds``."""

    def __init__(self, fn):
        self.fn, self.seconds = fn, 0.0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def engine_alone(runner: ModelRunner, X: np.ndarray, repeat: int) -> float:
    """CPU seconds of one batch-engine call in this process for the rows of ``X`` (best of ``repeat``)."""
    runner.run(X)  # compile
    best = np.inf
    for _ in range(repeat):
        start = time.process_time()
        runner.run(X)
        best = min(best, time.process_time() - start)
    return best


def timed_chain(lik: Likelihood, walkers: int, steps: int, workers: int) -> dict[str, float]:
    """Wall time of ``steps`` sampler steps with ``walkers`` walkers, and the parent's time by part."""
    dim = len(lik.priors.priors)
    z0 = initial_ensemble(start_values(lik), lik.priors.lower, lik.priors.upper, walkers, seed=1)
    with ModelRunner(lik.problem, workers=workers) as runner:
        log_post = LogPosterior(lik, runner)
        run = runner.run = Timed(runner.run)  # type: ignore[method-assign]
        loglik = Timed(lik.loglik_batch)
        object.__setattr__(lik, "loglik_batch", loglik)  # frozen dataclasses: timed on the instance
        prior = Timed(lik.priors.log_prior)
        object.__setattr__(lik.priors, "log_prior", prior)
        try:
            store = ChainStore.memory(walkers, dim)
            run_chain(log_post, z0, 1, 1, store)  # the start ensemble and one step: fork, compile
            evals0, run.seconds, loglik.seconds, prior.seconds = log_post.evaluations, 0.0, 0.0, 0.0
            start = time.perf_counter()
            run_chain(log_post, z0, 1 + steps, 1, store)
            wall = time.perf_counter() - start
        finally:
            for name in ("loglik_batch",):
                object.__delattr__(lik, name)
            object.__delattr__(lik.priors, "log_prior")
        return {"evals": log_post.evaluations - evals0, "wall": wall, "engine": run.seconds,
                "likelihood": loglik.seconds, "priors": prior.seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walkers", type=int, nargs="+", default=[64, 128],
                        help="walker counts to time (default 64 128: the old and the new default)")
    parser.add_argument("--steps", type=int, default=10, help="sampler steps timed per walker count (default 10)")
    parser.add_argument("--workers", type=int, default=min(2, default_workers()),
                        help="local worker processes (default 2)")
    args = parser.parse_args(argv)
    load0 = os.getloadavg()
    full = setup(CONFIG)
    with ModelRunner(full.problem, workers=args.workers) as runner:
        ident = identify(full, runner, start_values(full))
    lik = reduced(full, ident.fixed)
    dim = len(lik.priors.priors)
    print(f"Bayesian calibration, default configuration, {CONFIG.name}: {dim} sampled quantities "
          f"({len(ident.fixed)} constants fixed), {args.workers} workers, 1978-{lik.problem.final_time:g}, "
          f"{args.steps} steps per walker count")
    first = None
    for walkers in args.walkers:
        t = timed_chain(lik, walkers, args.steps, args.workers)
        rate = t["evals"] / t["wall"]
        first = first or rate
        other = t["wall"] - t["engine"] - t["likelihood"] - t["priors"]
        per_worker = max(1, walkers // 2 // args.workers)
        quarter = max(1, walkers // 4 // args.workers)
        with ModelRunner(lik.problem, workers=1) as alone:
            cpu = engine_alone(alone, np.repeat(lik.problem.start[None], per_worker, axis=0), repeat=3)
            cpu4 = engine_alone(alone, np.repeat(lik.problem.start[None], quarter, axis=0), repeat=3)
        bound = walkers / (0.8 * 2 * cpu + 0.2 * 4 * cpu4)
        print(f"{walkers} walkers ({per_worker} runs per worker per call): {t['evals']:.0f} evaluations in "
              f"{t['wall']:.1f} s = {rate:.1f} evaluations/s (x{rate / first:.2f}; 200,000 would take "
              f"{TARGET / rate / 60:.1f} min; the issue asks <= 30 min, >= {TARGET / 1800:.0f}/s); parent's time: "
              f"engine {t['engine']:.2f} s, likelihood {t['likelihood']:.2f} s, priors {t['priors']:.2f} s, "
              f"emcee and the rest {other:.2f} s; engine alone {1000 * cpu / per_worker:.2f} ms CPU per evaluation "
              f"at {per_worker} per call, {1000 * cpu4 / quarter:.2f} ms at {quarter}: two idle cores would give "
              f"at most {bound:.0f} evaluations/s ({TARGET / bound / 60:.1f} min for 200,000)")
    load1 = os.getloadavg()
    print(f"load average at start {load0[0]:.1f}, at end {load1[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
