"""Measure the costs behind :mod:`sd_model.budget` on the shipped model and check its estimates.

``sd_model.budget`` refuses a run that cannot finish within its limit before it starts, from
an estimate per engine: ``start + values x (steps x step_ns + saved x saved_ns)``, plus the time
and memory to write the results file. This script measures those constants on the current
``.mdl`` (every variable saved, as ``sd-model run`` does) and prints them, then times runs it
did not fit on and prints measured / estimated for each (the estimate is meant to be right
within a factor of 2).

Per engine it times the first run in the process (whose extra time, imports and caches, is added
to ``start``: a command runs once per process), then three configurations that separate the
three costs (a short and a long horizon at the model's TIME STEP, and the long one at TIME STEP
1/4, which has the same saved points and 1/8 of the steps), and solves for ``start``,
``step_ns`` and ``saved_ns``. The held-out runs are later runs in the process, so they do not
pay the first run's extra time that ``start`` includes. Times are
CPU seconds of this process (``time.process_time``: the engines run on one core, and CPU time
is what the shared 2-core machine does not distort much), best of ``--repeat``, each configuration
compiled afresh as ``sd-model run`` does. The writers are timed on the long simlin run; their
memory is the growth of a child process's peak resident memory from a run to 2100 to a run
to 4100 and its file, per value saved, less the same for the run alone (``RUN_BYTES``).

Usage::

    python benchmarks/bench_budget.py                    # about 4 minutes (PySD dominates)
    python benchmarks/bench_budget.py --engines simlin batch
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sd_model import budget  # noqa: E402
from sd_model.results import write_results  # noqa: E402
from sd_model.run import load_engine, run  # noqa: E402
from sd_model.scenario import Scenario  # noqa: E402

#: (final year, time step) per engine: fit configurations, then held-out checks.
PLANS = {
    "simlin": ([(2100, None), (3100, None), (3100, 0.25)], [(2600, None), (4100, None), (20100, None)]),
    "batch": ([(2100, None), (3100, None), (3100, 0.25)], [(2600, None)]),
    "pysd": ([(1979, None), (1982, None), (1982, 0.25)], [(1984, None)]),
}


def n_values(info) -> int:
    return sum(math.prod(len(info.subscripts[d]) for d in v.dims) for v in info.variables.values())


def timed(engine, until: float, dt: float | None, repeat: int) -> tuple[float, int, int, object]:
    """Best CPU seconds of ``repeat`` runs, the Euler steps, saved points and the last result."""
    spec = Scenario(name="bench", time_step=dt).resolve(engine.info, until=until)
    t = spec.times
    best, ds = math.inf, None
    for _ in range(repeat):
        t0 = time.process_time()
        ds = run(spec, engine, finite=False)
        best = min(best, time.process_time() - t0)
    return best, round((t.final - t.initial) / t.dt), t.n, ds


def fit_engine(name: str, repeat: int) -> tuple[budget.EngineCost, object]:
    engine = load_engine(name)
    v = n_values(engine.info)
    fit, held = PLANS[name]
    first = timed(engine, fit[0][0] + 1, fit[0][1], 1)  # the process's first run (imports, caches): not fitted
    rows, last = [], None
    for until, dt in fit:
        sec, steps, saved, ds = timed(engine, until, dt, repeat)
        rows.append((sec, steps, saved))
        last = ds
        print(f"  {name:6s} until {until} dt {dt or engine.info.time_step:g}: {steps:,} steps, {saved:,} saved, "
              f"{sec:.3f} s CPU", flush=True)
    a = np.array([[1.0, v * steps * 1e-9, v * saved * 1e-9] for _, steps, saved in rows])
    start, step_ns, saved_ns = np.linalg.lstsq(a, np.array([r[0] for r in rows]), rcond=None)[0]
    cost = budget.EngineCost(start=max(float(start), 0.0), step_ns=max(float(step_ns), 0.0),
                             saved_ns=max(float(saved_ns), 0.0))
    # a command runs once per process: the first run's extra time belongs to every run's start
    extra = max(first[0] - cost.seconds(first[1], first[2], v), 0.0)
    cost = replace(cost, start=cost.start + extra)
    print(f"  fitted {name}: {cost} (start includes {extra:.3f} s more for the first run in a process)", flush=True)
    for until, dt in held:
        sec, steps, saved, _ = timed(engine, until, dt, 1)
        est = cost.seconds(steps, saved, v)
        print(f"  check  {name:6s} until {until}: measured {sec:.3f} s CPU, estimated {est:.3f} s, "
              f"measured/estimated {sec / est:.2f}", flush=True)
    return cost, last


#: A child process: peak resident memory after a short run, then after a long run and writing it.
_CHILD = """
import sys, tempfile
from sd_model.run import load_engine, run
from sd_model.results import write_results
from sd_model.scenario import Scenario
eng = load_engine("simlin")
def go(until):
    ds = run(Scenario(name="m").resolve(eng.info, until=until), eng, finite=False)
    if sys.argv[1] != "none":
        with tempfile.TemporaryDirectory() as tmp:
            write_results(ds, tmp, sys.argv[1])
    return sum(int(ds[n].size) for n in ds.data_vars)
def peak():  # VmHWM: this process's own peak (ru_maxrss would start from the parent's at the fork)
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))
small = go(2100)
before = peak()
large = go(4100)
print((peak() - before) / (large - small))
"""


def peak_bytes(fmt: str) -> float:
    """Bytes of peak resident memory per value saved, for a run (``fmt`` "none") or a run and its file."""
    out = subprocess.run([sys.executable, "-c", _CHILD, fmt], check=True, capture_output=True, text=True, cwd=ROOT)
    return float(out.stdout.split()[-1])


def fit_writes(ds, repeat: int) -> tuple[float, dict[str, budget.WriteCost]]:
    values = sum(int(np.prod(ds[n].shape)) for n in ds.data_vars)
    run_bytes = peak_bytes("none")
    print(f"  a run holds {run_bytes:.1f} bytes per value saved (peak resident memory)", flush=True)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("csv", "parquet", "netcdf"):
            best = math.inf
            for _ in range(repeat):
                t0 = time.process_time()
                path = write_results(ds, tmp, fmt)
                best = min(best, time.process_time() - t0)
            out[fmt] = budget.WriteCost(ns=best / values * 1e9, bytes=max(peak_bytes(fmt) - run_bytes, 0.0))
            print(f"  {fmt:8s}: {values:,} values in {best:.3f} s CPU, {path.stat().st_size / 1e6:.1f} MB file; "
                  f"{out[fmt]}", flush=True)
    return run_bytes, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", nargs="+", default=["simlin", "batch", "pysd"], choices=sorted(PLANS))
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per configuration (best kept); the batch engine compiles only in the first")
    args = parser.parse_args()
    print(f"load average at start {os.getloadavg()}", flush=True)
    costs, long_run = {}, None
    for name in args.engines:
        costs[name], ds = fit_engine(name, args.repeat)
        long_run = ds if name == "simlin" else long_run
    run_bytes, writes = fit_writes(long_run, args.repeat) if long_run is not None else (math.nan, {})
    print("\nENGINE_COSTS = {")
    for name, c in costs.items():
        print(f'    "{name}": EngineCost(start={c.start:.3g}, step_ns={c.step_ns:.3g}, saved_ns={c.saved_ns:.3g}),')
    print("}\nWRITE_COSTS = {")
    for fmt, w in writes.items():
        print(f'    "{fmt}": WriteCost(ns={w.ns:.3g}, bytes={w.bytes:.3g}),')
    print(f"}}\nRUN_BYTES = {run_bytes:.3g}\nload average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
