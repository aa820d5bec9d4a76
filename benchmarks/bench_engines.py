"""Time per run of the full shipped model (1978-2100, at its own TIME STEP) in every engine, in one run.

Measures, on this machine:

1. PySD: one full run (``PysdEngine.run``; translation and loading excluded);
2. pysimlin, plain ``model.run(analyze_loops=False)`` (all variables as a DataFrame);
3. the project's simlin runner, one reused compiled ``Sim`` (``SimlinEngine.runner(spec).run_sets``, one member);
4. the batch engine, one run alone and per run amortised over ``--members`` parameter sets;
5. ensemble throughput (runs/s) of ``run_ensemble`` on all local cores, wall clock including
   worker start-up, for ``--ensemble`` members, batch and simlin engines;

every path saving the same five variables, then prints a table with the ratios to PySD.

Usage::

    /work/venv/bin/python benchmarks/bench_engines.py                  # about 4 minutes
    /work/venv/bin/python benchmarks/bench_engines.py --pysd-runs 0    # skip PySD (~2 min per run)
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sd_model.batch import BatchModel  # noqa: E402
from sd_model.engines.pysd_engine import PysdEngine  # noqa: E402
from sd_model.engines.simlin_engine import SimlinEngine  # noqa: E402
from sd_model.ensemble import run_ensemble  # noqa: E402
from sd_model.executor import default_workers  # noqa: E402
from sd_model.mdl import read_model_info  # noqa: E402
from sd_model.run import DEFAULT_MODEL  # noqa: E402
from sd_model.parameters import Parameter  # noqa: E402
from sd_model.runspec import build_spec  # noqa: E402
from sd_model.sampling import load_ranges, sample_parameters  # noqa: E402
from sd_model.scenario import Scenario  # noqa: E402

OUTPUTS = ["National GDP", "GDP per Capita", "Theil Index", "Loan Share", "Net Credit Outflow"]
RANGES = ROOT / "experiments" / "ranges" / "default.toml"


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pysd-runs", type=int, default=1, help="PySD runs to time (0 skips PySD). Default 1.")
    parser.add_argument("--simlin-runs", type=int, default=30, help="Runs of each simlin path. Default 30.")
    parser.add_argument("--members", type=int, default=1000, help="Batch size for the amortised batch time.")
    parser.add_argument("--ensemble", type=int, default=10000, help="Members of the throughput ensemble.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the numbers to this JSON file.")
    args = parser.parse_args()

    os.environ.setdefault("SD_MODEL_CACHE", tempfile.mkdtemp(prefix="sd_model_bench_"))
    load_start = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    workers = default_workers()
    ranges = load_ranges(RANGES)
    rows: list[tuple[str, float, str]] = []  # (label, seconds per run, note)
    info = read_model_info(DEFAULT_MODEL)
    dt = info.time_step
    steps = round((2100 - 1978) / dt)

    if args.pysd_runs > 0:
        print("PySD: translating and loading ...", file=sys.stderr, flush=True)
        pysd_engine = PysdEngine(DEFAULT_MODEL)
        t = timed(lambda: pysd_engine.run(outputs=OUTPUTS), args.pysd_runs)
        rows.append(("PySD, one full run", statistics.median(t), f"median of {len(t)}"))

    import simlin

    model = simlin.load(str(DEFAULT_MODEL))
    model.project.set_sim_specs(start=1978, stop=2100, dt=dt, save_step=1, sim_method="euler")
    model.run(analyze_loops=False)  # first run compiles
    t = timed(lambda: model.run(analyze_loops=False), args.simlin_runs)
    rows.append(("pysimlin model.run(analyze_loops=False)", statistics.median(t), f"median of {len(t)}, all vars"))

    simlin = SimlinEngine(DEFAULT_MODEL)
    runner = simlin.runner(build_spec(simlin.info, outputs=OUTPUTS))
    elasticity, value = [Parameter.parse(simlin.info, "Capital Elasticity")], np.array([[0.4]])
    assert not runner.run_sets({}, elasticity, value)[1].any(), "simlin run failed"
    t = timed(lambda: runner.run_sets({}, elasticity, value), args.simlin_runs)
    rows.append(("project compiled simlin (reused Sim)", statistics.median(t), f"median of {len(t)}"))

    sim = BatchModel(DEFAULT_MODEL).compile(OUTPUTS)
    sets = sample_parameters(ranges, args.members, seed=0)
    columns = [Parameter.parse(sim.info, c) for c in sets.columns]
    values = sets.to_numpy()
    t1 = timed(lambda: sim.run_sets({}, columns, values[:1]), 3)
    rows.append(("batch engine, 1 member", statistics.median(t1), "median of 3"))
    tn = timed(lambda: sim.run_sets({}, columns, values), 3)
    rows.append((f"batch engine, {args.members} members at once", min(tn) / args.members,
                 f"per run; best of 3 batches ({min(tn):.2f} s each)"))

    big = sample_parameters(ranges, args.ensemble, seed=1)
    start = time.perf_counter()
    ds = run_ensemble(Scenario(), big, OUTPUTS, workers=workers, progress=False)
    wall = time.perf_counter() - start
    assert not ds["failed"].any(), "benchmark ensemble had failed members"
    rows.append((f"run_ensemble batch, {args.ensemble} members, {workers} workers", wall / args.ensemble,
                 f"{args.ensemble / wall:,.0f} runs/s wall clock (incl. start-up)"))
    n_simlin = min(args.ensemble, 2000)
    start = time.perf_counter()
    run_ensemble(Scenario(), big.iloc[:n_simlin], OUTPUTS, engine="simlin", workers=workers, progress=False)
    wall_s = time.perf_counter() - start
    rows.append((f"run_ensemble simlin, {n_simlin} members, {workers} workers", wall_s / n_simlin,
                 f"{n_simlin / wall_s:,.0f} runs/s wall clock (incl. start-up)"))

    pysd_time = rows[0][1] if args.pysd_runs > 0 else None
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nFull shipped model, 1978-2100, TIME STEP {dt:g} ({steps} Euler steps), saving {len(OUTPUTS)} variables; "
          f"{os.cpu_count()} cores, numpy {np.__version__}, Python {sys.version.split()[0]}; "
          f"load average at start {load_start}, at end {load} (other work on the machine slows every row)\n")
    print(f"| {'engine / path':<52} | {'time per run':>13} | {'vs PySD':>10} | note |")
    print(f"|{'-' * 54}|{'-' * 15}:|{'-' * 11}:|------|")
    for label, sec, note in rows:
        ratio = f"{pysd_time / sec:,.0f}x" if pysd_time else "-"
        shown = f"{sec:.3f} s" if sec >= 1 else f"{sec * 1e3:.3f} ms"
        print(f"| {label:<52} | {shown:>13} | {ratio:>10} | {note} |")
    if args.json:
        record = {"rows": rows, "workers": workers, "load": [load_start, load]}
        args.json.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
