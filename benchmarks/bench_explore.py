"""Server-side time of one redraw of ``sd-model explore`` (run + figures), measured in one run.

Times, for ``--redraws`` redraws with a different lever value each time (Aid Intensity from 0 to
its top; the first redraw, which warms caches, is not counted):

1. the engine run alone (the charts' variables, 1978 to the scenario's final year);
2. :func:`sd_model.explore.explorer.redraw`: checking the values, building the scenario, the run
   and the eight Plotly figure dicts (what the page's callback computes);
3. the same plus serialising the figures to JSON with Plotly's encoder (what Dash sends back);

and prints median, 90th percentile and maximum of each (wall clock), the median's share of the
issue's budget of 200 ms per redraw, and the median CPU time of this process (``time.process_time``),
which other jobs on the machine do not inflate as they do the wall clock.

Usage::

    .venv/bin/python benchmarks/bench_explore.py               # about 30 s
    .venv/bin/python benchmarks/bench_explore.py --redraws 100
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plotly.io.json import to_json_plotly  # noqa: E402

from sd_model.explore.explorer import open_explorer, page_scenario, redraw, run_page  # noqa: E402
from sd_model.run import load_engine  # noqa: E402
from sd_model.scenario import load_scenario  # noqa: E402

BUDGET_MS = 200.0


def _stats(name: str, times: list[float], cpu: list[float]) -> str:
    ms = sorted(1000 * t for t in times)
    p90 = ms[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))]
    med = statistics.median(ms)
    return (f"| {name:<44} | {med:9.1f} | {p90:6.1f} | {ms[-1]:6.1f} | {med / BUDGET_MS:15.2f} | "
            f"{1000 * statistics.median(cpu):10.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redraws", type=int, default=30, help="redraws timed (default 30)")
    parser.add_argument("--scenario", default=str(ROOT / "experiments" / "historical.toml"))
    parser.add_argument("--lever", default="Aid Intensity", help="control moved between redraws")
    args = parser.parse_args()

    load = os.getloadavg()
    explorer = open_explorer(load_engine("simlin"), load_scenario(args.scenario))
    control = next(c for c in explorer.controls if c.key == args.lever)
    values = dict(explorer.start_values)
    steps = [control.lo + (control.hi - control.lo) * i / max(1, args.redraws) for i in range(args.redraws + 1)]
    wall: dict[str, list[float]] = {"run": [], "redraw": [], "json": []}
    cpu: dict[str, list[float]] = {"run": [], "redraw": [], "json": []}
    for i, v in enumerate(steps):
        values[args.lever] = v
        t0, c0 = time.perf_counter(), time.process_time()
        run_page(explorer, page_scenario(explorer, explorer.base, values))
        t1, c1 = time.perf_counter(), time.process_time()
        figs, errors = redraw(explorer, explorer.base, values)
        t2, c2 = time.perf_counter(), time.process_time()
        to_json_plotly(list(figs.values()))
        t3, c3 = time.perf_counter(), time.process_time()
        assert not errors and len(figs) == len(explorer.charts)
        if i:  # the first one warms caches
            for key, dt, dc in (("run", t1 - t0, c1 - c0), ("redraw", t2 - t1, c2 - c1), ("json", t3 - t1, c3 - c1)):
                wall[key].append(dt)
                cpu[key].append(dc)
    print(f"sd-model explore, one redraw; scenario {Path(args.scenario).name}, {len(explorer.charts)} charts, "
          f"{len(explorer.controls)} controls, {args.redraws} redraws moving {args.lever!r}; "
          f"{os.cpu_count()} cores; load average at start {load[0]:.1f}, at end {os.getloadavg()[0]:.1f}\n")
    head = f"| {'what (wall clock unless said)':<44} | median ms | p90 ms | max ms | median / {BUDGET_MS:.0f} ms |"
    print(head + " CPU median |")
    print(f"|{'-' * 46}|----------:|-------:|-------:|----------------:|-----------:|")
    print(_stats("engine run (chart variables)", wall["run"], cpu["run"]))
    print(_stats("redraw: check + scenario + run + figures", wall["redraw"], cpu["redraw"]))
    print(_stats("redraw + figures to JSON (what Dash sends)", wall["json"], cpu["json"]))


if __name__ == "__main__":
    main()
