"""How many members the batch engine should advance together: CPU time per member-step by pass size.

The batch engine runs a call of N members in passes of at most ``members_per_pass`` members
(``sd_model.batch.engine.MEMBERS_PER_PASS``, the default this script is for). Small passes pay
the fixed cost of every numpy call for few members; large passes work on arrays that no longer
stay in the core's cache (and whose temporaries the C library's malloc maps afresh, page faults
counted as system time). For each pass size given, this script runs ``--members`` members of
model 1 (commit b673acf) and of the current model, alternately in one process, ``--repeat``
times, and prints the best CPU time per member-step of each (user and system time of the
process), the minor page faults per Euler step, and the ratio of CPU time per run (model 1 /
current model, each at its own TIME STEP: the ratio ``bench_model_throughput.py`` reports for
whole ensembles).

Usage::

    python benchmarks/bench_members_per_pass.py                                 # about 2 minutes on an idle machine
    python benchmarks/bench_members_per_pass.py --sizes 128 256 512 --members 1000 --final-time 2100 --repeat 5
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_model_throughput import OLD_COMMIT, OUTPUTS, committed_model  # noqa: E402  (model 1, the outputs of that benchmark)
from sd_model.batch import BatchModel  # noqa: E402
from sd_model.batch.engine import MEMBERS_PER_PASS  # noqa: E402
from sd_model.run import DEFAULT_MODEL  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 384, 512, 768, 1000],
                        help="members per pass to time (default 256 384 512 768 1000)")
    parser.add_argument("--members", type=int, default=2000,
                        help="members per call (default 2000: larger than every pass size)")
    parser.add_argument("--final-time", type=float, default=2020, help="FINAL TIME (default 2020)")
    parser.add_argument("--repeat", type=int, default=3, help="alternating repetitions (default 3; best kept)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        models = {"model 1": BatchModel(committed_model(OLD_COMMIT, Path(tmp))), "current": BatchModel(DEFAULT_MODEL)}
    sims = {label: m.compile(OUTPUTS, final_time=args.final_time) for label, m in models.items()}
    full_steps = {label: round((m.info.final_time - m.info.initial_time) / m.info.time_step)
                  for label, m in models.items()}  # Euler steps of a run to each model's FINAL TIME
    best: dict[tuple[str, int], tuple[float, float, float]] = {}
    load0 = os.getloadavg()
    for _ in range(args.repeat):
        for size in args.sizes:
            for label, sim in sims.items():
                sim.members_per_pass = size
                K = sim.constants(args.members)
                r0 = resource.getrusage(resource.RUSAGE_SELF)
                sim.run_constants(K, args.members)
                r1 = resource.getrusage(resource.RUSAGE_SELF)
                per = 1e9 / (args.members * sim.n_steps)
                user, system = (r1.ru_utime - r0.ru_utime) * per, (r1.ru_stime - r0.ru_stime) * per
                faults = (r1.ru_minflt - r0.ru_minflt) / sim.n_steps
                if (label, size) not in best or user + system < sum(best[label, size][:2]):
                    best[label, size] = (user, system, faults)
    load1 = os.getloadavg()
    print(f"{args.members} members per call, 1978-{args.final_time:g}, best of {args.repeat}; default "
          f"MEMBERS_PER_PASS {MEMBERS_PER_PASS}; load average at start {load0[0]:.1f}, at end {load1[0]:.1f}")
    print("| members per pass | model 1 ns/member-step (user + sys), faults/step "
          "| current model ns/member-step, faults/step | ratio of CPU per run to 2100 |")
    print("|---:|---:|---:|---:|")
    for size in args.sizes:
        cells, per_run = [], {}
        for label in sims:
            user, system, faults = best[label, size]
            cells.append(f"{user + system:,.0f} ({user:,.0f} + {system:,.0f}), {faults:.0f}")
            per_run[label] = (user + system) * full_steps[label]
        print(f"| {size} | {cells[0]} | {cells[1]} | {per_run['model 1'] / per_run['current']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
