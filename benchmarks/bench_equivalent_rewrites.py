"""How much would equivalent rewrites of Model 2.0's costliest Region x Dest equations gain? An experiment.

``profile_batch_ops.py`` names the equations that cost most in the batch engine's loop. Four of
them apply a factor that depends on the origin region only to a Region x Dest array, or take
the LN of a Region x Dest ratio. This script rewrites them, in a temporary copy of Model 2.0 as
committed at ``MODEL_COMMIT``, into algebraically equal forms with the origin factor as a
[Region] auxiliary (the same model, other rounding):

* Child Migration = Migration x Child Migration Factor[Region]
* Income Migration = Income Migration Origin[Region] x Income Pull x Receiving Capacity[Dest]
* Return Migration = Return Origin Factor[Region] x Same Region Complement x Return Origin Weight[Dest]
* Income Pull: LN(Perceived Wage[Dest] / Perceived Wage[Region]) as the difference of a [Region]
  LN, and the two cost terms added before they are subtracted

and runs model 1 (``b673acf``), Model 2.0 and the rewritten Model 2.0 in the batch engine,
alternately in one process, ``--members`` at once, 1978-2100, best of ``--repeat``. It prints CPU
ms per run, the ratio to model 1, and the largest relative difference of the five outputs between
the rewritten and the original model.

Usage::

    python benchmarks/bench_equivalent_rewrites.py            # about 1 minute idle
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sd_model.batch import BatchModel  # noqa: E402

from bench_model_throughput import committed_model  # noqa: E402  (benchmarks/ is on sys.path when run)

OLD_COMMIT, MODEL_COMMIT = "b673acf", "7fde741"
OUTPUTS = ["National GDP", "GDP per Capita", "Theil Index", "Loan Share", "Net Credit Outflow"]
REWRITES = {  # equation name pattern -> new right-hand side
    r"Child Migration\[Region, Dest\]": "Migration[Region, Dest] * Child Migration Factor[Region]",
    r"Income Migration\[Region, Dest\]": "Income Migration Origin[Region] * Income Pull[Region, Dest] * "
                                         "Receiving Capacity[Dest]",
    r"Return Migration\[Region, Dest\]": "Return Origin Factor[Region] * Same Region Complement[Region, Dest] * "
                                         "Return Origin Weight[Dest]",
    r"Income Pull\[Region, Dest\]": "Same Region Complement[Region, Dest] * Migration Softness * LN(1 + EXP(("
                                    "Log Perceived Wage[Dest] - Log Perceived Wage[Region] - (Current Moving Cost + "
                                    "Distance Cost * Regional Distance[Region, Dest])) / Migration Softness))",
}
NEW = [  # (equation, units) of the [Region] auxiliaries the rewrites use
    ("Child Migration Factor[Region] = Migrant Child Share * Children[Region] / Population[Region] / "
     "Reference Child Share", "dmnl"),
    ("Income Migration Origin[Region] = Working Age Population[Region] * Base Migration Rate / "
     "(1 - Migrant Child Share)", "million_persons/Year"),
    ("Return Origin Factor[Region] = Migrant Residents[Region] * Return Migration Rate / "
     "MAX(Return Weight Sum[Region], Minimum Return Weight * Population[Region])", "1/Year"),
    ("Log Perceived Wage[Region] = LN(Perceived Wage[Region])", "dmnl"),
]


def rewritten(text: str) -> str:
    for pattern, rhs in REWRITES.items():
        match = re.search(r"^(" + pattern + r"\s*=)(.*?)(\n\t~)", text, re.S | re.M)
        if match is None:
            raise SystemExit(f"equation {pattern} not found in the model at {MODEL_COMMIT}")
        text = text[:match.start()] + f"{match.group(1)} {rhs}{match.group(3)}" + text[match.end():]
    added = "".join(f"{eq}\n\t~\t{units}\n\t~\tExperiment: an origin factor as its own auxiliary.\n\t|\n\n"
                    for eq, units in NEW)
    return text.replace("\\\\\\---///", added + "\\\\\\---///", 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500, help="members run together (default 500)")
    parser.add_argument("--repeat", type=int, default=3, help="alternating repetitions, best kept (default 3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        texts = {f"model 1 ({OLD_COMMIT})": committed_model(OLD_COMMIT, Path(tmp)).read_text(encoding="utf-8"),
                 f"Model 2.0 ({MODEL_COMMIT})": committed_model(MODEL_COMMIT, Path(tmp)).read_text(encoding="utf-8")}
        texts["Model 2.0 rewritten"] = rewritten(texts[f"Model 2.0 ({MODEL_COMMIT})"])
        sims = {}
        for k, (label, text) in enumerate(texts.items()):
            path = Path(tmp) / f"m{k}.mdl"
            path.write_text(text, encoding="utf-8")
            sims[label] = BatchModel(path).compile(OUTPUTS)
    n = args.members
    consts = {label: sim.constants(n) for label, sim in sims.items()}
    best = {label: float("inf") for label in sims}
    outs = {}
    with np.errstate(all="ignore"):
        for _ in range(args.repeat):
            for label, sim in sims.items():
                start = time.process_time()
                outs[label] = sim.run_constants(consts[label], n)
                best[label] = min(best[label], time.process_time() - start)
    old, current, new = list(sims)
    print(f"{n} members at once, 1978-2100, best of {args.repeat}, CPU time")
    for label in sims:
        print(f"  {label:28s} {1000 * best[label] / n:6.2f} ms per run, model 1 / this {best[old] / best[label]:.3f}")
    worst = max(float(np.max(np.abs(outs[new][v] - outs[current][v]) / np.maximum(np.abs(outs[current][v]), 1e-6)))
                for v in OUTPUTS)
    print(f"  rewritten against original: largest relative difference of the five outputs {worst:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
