"""The batch engine's own settings, each switched off or varied, on model 1 and the current model, in one run.

Five things in ``sd_model/batch`` are choices made by measurement: regrouping the loop's
``* /`` and ``+ -`` chains (``regroup.py``), releasing each loop array after its last reader
(``lifetimes.py``), folding the constants at 0 in every member (``zeros.py``), the number of Time
steps computed together (``engine.BLOCK_STEPS``) and the members per pass
(``engine.MEMBERS_PER_PASS``). This script compiles both models with the regrouping and the
releasing on and off (by replacing the emitter's two functions while compiling), and with the
folding off, and runs every variant (members at the models' default constants: levers off),
and every block size, alternately in this one process,
``--repeat`` times, keeping the best CPU time per run (user + system) of each. It prints CPU ms per
run to ``--final-time`` and, for each variant, the ratio model 1 / current model (the ratio
``bench_model_throughput.py`` reports for ensembles: above 1 the current model is the faster).

Usage::

    python benchmarks/bench_engine_settings.py                       # about 3 minutes on an idle machine
    python benchmarks/bench_engine_settings.py --members 500 --blocks 16 32 64 128 --repeat 7
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

from bench_model_throughput import OLD_COMMIT, OUTPUTS, committed_model  # noqa: E402
from sd_model.batch import BatchModel, emit  # noqa: E402
from sd_model.batch import engine as batch_engine  # noqa: E402
from sd_model.batch.engine import BatchSim  # noqa: E402
from sd_model.run import DEFAULT_MODEL  # noqa: E402

#: (label, regroup on, release on, fold on) of the compiled variants.
VARIANTS = (("as shipped", True, True, True), ("no regrouping", False, True, True), ("no releasing", True, False, True),
            ("neither", False, False, True), ("no folding", True, True, False))


def compile_variant(model: BatchModel, regroup_on: bool, release_on: bool, final_time: float,
                    fold_on: bool = True) -> BatchSim:
    """``model`` compiled with the emitter's regrouping, releasing and the folding of zeros each on or off.

    The code folded for the default constants' zeros (sd_model.batch.zeros), which the runs use,
    is emitted here too, with the same settings (the engine emits it at a call's first use).
    """
    saved = emit.regroup, emit.release_dead
    try:
        if not regroup_on:
            emit.regroup = lambda node, info: node
        if not release_on:
            emit.release_dead = lambda units, assigned, indent: [line for unit in units for line in unit]
        sim = model.compile(OUTPUTS, final_time=final_time, fold_zeros=fold_on)
        sim.code_for(sim.constants(1))
        return sim
    finally:
        emit.regroup, emit.release_dead = saved


def cpu_ms_per_run(sim: BatchSim, members: int) -> float:
    """CPU time (user + system, ms) per member of one call of ``members`` members."""
    constants = sim.constants(members)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    sim.run_constants(constants, members)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return ((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) * 1e3 / members


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1024, help="members per call (default 1024)")
    parser.add_argument("--blocks", type=int, nargs="+", default=[32, 64, 128],
                        help="BLOCK_STEPS values to time with the shipped variant (default 32 64 128)")
    parser.add_argument("--final-time", type=float, default=2100, help="FINAL TIME (default 2100)")
    parser.add_argument("--repeat", type=int, default=5, help="alternating repetitions (default 5; best kept)")
    args = parser.parse_args(argv)
    if args.members < 1 or args.repeat < 1 or min(args.blocks) < 1:
        parser.error("--members, --repeat and every --blocks value must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        models = {"model 1": BatchModel(committed_model(OLD_COMMIT, Path(tmp))), "current": BatchModel(DEFAULT_MODEL)}
    sims = {(label, variant): compile_variant(m, on_r, on_d, args.final_time, on_f)
            for label, m in models.items() for variant, on_r, on_d, on_f in VARIANTS}
    default_block = batch_engine.BLOCK_STEPS
    rows = [(variant, default_block) for variant, *_ in VARIANTS]
    rows += [("as shipped", b) for b in args.blocks if b != default_block]
    best: dict[tuple[str, str, int], float] = {}
    load0 = os.getloadavg()
    try:
        for _ in range(args.repeat):
            for variant, block in rows:
                batch_engine.BLOCK_STEPS = block
                for label in models:
                    ms = cpu_ms_per_run(sims[label, variant], args.members)
                    key = (label, variant, block)
                    best[key] = min(best.get(key, float("inf")), ms)
    finally:
        batch_engine.BLOCK_STEPS = default_block
    load1 = os.getloadavg()
    print(f"{args.members} members per call (passes of {batch_engine.MEMBERS_PER_PASS}), 1978-{args.final_time:g}, "
          f"CPU ms per run, best of {args.repeat}; load average at start {load0[0]:.1f}, at end {load1[0]:.1f}")
    print("| variant | BLOCK_STEPS | model 1 | current model | ratio model 1 / current |")
    print("|---|---:|---:|---:|---:|")
    for variant, block in rows:
        old, new = best["model 1", variant, block], best["current", variant, block]
        print(f"| {variant} | {block} | {old:.3f} | {new:.3f} | {old / new:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
