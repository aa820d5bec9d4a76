"""Model evaluations per second of the Bayesian calibration (issue 12: >= 200,000 in 30 minutes on 2 cores).

Runs ``--steps`` steps of the sampler of ``sd-model calibrate --method bayes`` on the shipped model
with the default calibration and priors files (emcee, ``--walkers`` walkers: two calls of the log
posterior per step, each with half the walkers, split evenly over ``--workers`` persistent local
worker processes, one batch-engine call each), and prints:

1. evaluations per second of wall clock over the timed steps (the first step, which forks the
   workers and compiles the model, is timed separately), and the wall time 200,000 evaluations
   would take at that rate;
2. where the parent process's time went: waiting for the engine (the workers), the likelihood,
   the priors and emcee's own work;
3. the batch engine alone in this process (CPU time per evaluation at the per-worker batch
   size), the bound the workers cannot beat.

The load average is printed beside the figures: on a shared machine the wall-clock rate falls
with every other job.

Usage::

    python benchmarks/bench_bayes.py                        # 128 walkers, 20 steps, 2 workers (~1 min idle)
    python benchmarks/bench_bayes.py --walkers 256 --steps 10
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


def engine_alone(lik: Likelihood, X: np.ndarray, repeat: int) -> float:
    """CPU seconds per evaluation of the batch engine in this process for the rows of ``X`` (best of ``repeat``)."""
    runner = ModelRunner(lik.problem, workers=1)
    runner.run(X)  # compile
    best = np.inf
    for _ in range(repeat):
        start = time.process_time()
        runner.run(X)
        best = min(best, time.process_time() - start)
    return best / len(X)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walkers", type=int, default=128, help="emcee walkers (default 128, as the command)")
    parser.add_argument("--steps", type=int, default=20, help="sampler steps timed (default 20)")
    parser.add_argument("--workers", type=int, default=min(2, default_workers()),
                        help="local worker processes (default 2)")
    args = parser.parse_args(argv)
    load0 = os.getloadavg()
    lik = setup(CONFIG)
    dim = len(lik.priors.priors)
    z0 = initial_ensemble(start_values(lik), lik.priors.lower, lik.priors.upper, args.walkers, seed=1)
    with ModelRunner(lik.problem, workers=args.workers) as runner:
        log_post = LogPosterior(lik, runner)
        run = runner.run = Timed(runner.run)  # type: ignore[method-assign]
        loglik = Timed(lik.loglik_batch)
        object.__setattr__(lik, "loglik_batch", loglik)  # frozen dataclasses: timed on the instance
        prior = Timed(lik.priors.log_prior)
        object.__setattr__(lik.priors, "log_prior", prior)
        store = ChainStore.memory(args.walkers, dim)
        start = time.perf_counter()
        run_chain(log_post, z0, 1, 1, store)  # the start ensemble and one step: fork, compile
        first = time.perf_counter() - start
        evals0, run.seconds, loglik.seconds, prior.seconds = log_post.evaluations, 0.0, 0.0, 0.0
        start = time.perf_counter()
        run_chain(log_post, z0, 1 + args.steps, 1, store)
        wall = time.perf_counter() - start
        evals = log_post.evaluations - evals0
    load1 = os.getloadavg()
    per_worker = max(1, args.walkers // 2 // args.workers)
    cpu = engine_alone(lik, np.repeat(lik.problem.start[None], per_worker, axis=0), repeat=3)
    rate = evals / wall
    other = wall - run.seconds - loglik.seconds - prior.seconds
    print(f"Bayesian calibration, shipped model, {CONFIG.name}: {dim} sampled quantities, {args.walkers} walkers, "
          f"{args.workers} workers ({per_worker} runs per worker per call), 1978-{lik.problem.final_time:g}; "
          f"load average at start {load0[0]:.1f}, at end {load1[0]:.1f}")
    print(f"first call + step (fork workers, compile): {first:.1f} s")
    print(f"{evals} evaluations in {wall:.1f} s over {args.steps} steps: {rate:.1f} evaluations/s "
          f"(200,000 would take {TARGET / rate / 60:.1f} min; the issue asks <= 30 min, >= {TARGET / 1800:.0f}/s)")
    print(f"parent's time: engine (waiting for the workers) {run.seconds:.2f} s, likelihood {loglik.seconds:.2f} s, "
          f"priors {prior.seconds:.2f} s, emcee and the rest {other:.2f} s")
    print(f"batch engine alone in this process, {per_worker} runs at once: {1000 * cpu:.2f} ms CPU per evaluation "
          f"= {1 / cpu:.0f} evaluations/s per core")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
