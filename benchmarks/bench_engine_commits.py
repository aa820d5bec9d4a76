"""The batch engine of an earlier commit against this checkout's, on the same models, in one run.

For a change to the engine that must not change a value (``sd_model/batch``), this shows what it
gains: the package ``sd_model`` of ``--before`` (default ``e312cf9``, session 22's engine) is
extracted with ``git archive`` into a temporary folder, and a child process per repetition runs
either that engine or this checkout's on model 1 (commit ``b673acf``) and on the current model
file (always this checkout's, so both engines run the same model), alternately, ``--members``
at once, 1978-2100, the five outputs of ``bench_model_throughput.py``. Each child prints its CPU
time per run (best of two calls); the script prints the best of ``--repeat`` for each engine and
model, the change in per cent, the model 1 / current model ratio with each engine, and whether
the two engines' outputs are equal to the last bit.

Usage::

    python benchmarks/bench_engine_commits.py                          # about 2 minutes idle
    python benchmarks/bench_engine_commits.py --before 9a9b224 --members 1000 --repeat 5
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import hashlib, json, sys, time
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
import numpy as np
from sd_model.batch import BatchModel
from bench_model_throughput import OUTPUTS
members, out = int(sys.argv[3]), {}
for label, path in (("model 1", sys.argv[4]), ("current model", sys.argv[5])):
    sim = BatchModel(path).compile(OUTPUTS)
    K = sim.constants(members)
    best, digest = 1e9, hashlib.sha256()
    for _ in range(2):
        cpu = time.process_time()
        res = sim.run_constants(K, members)
        best = min(best, time.process_time() - cpu)
    for name in OUTPUTS:
        digest.update(np.ascontiguousarray(res[name]).tobytes())
    out[label] = [1000 * best / members, digest.hexdigest()]
print(json.dumps(out))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="e312cf9", help="commit of the earlier engine (default e312cf9)")
    parser.add_argument("--members", type=int, default=500, help="members per call (default 500)")
    parser.add_argument("--repeat", type=int, default=3, help="alternating repetitions (default 3; best kept)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_model_throughput import OLD_COMMIT, committed_model

    from sd_model.run import DEFAULT_MODEL

    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "before"
        before.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before, "sd_model"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        model1 = committed_model(OLD_COMMIT, Path(tmp))
        roots = {f"engine at {args.before}": before, "engine of this checkout": ROOT}
        best: dict[str, dict[str, float]] = {k: {} for k in roots}
        digests: dict[str, dict[str, str]] = {k: {} for k in roots}
        for _ in range(args.repeat):
            for label, root in roots.items():
                res = subprocess.run([sys.executable, "-c", _CHILD, str(root), str(ROOT / "benchmarks"),
                                      str(args.members), str(model1), str(DEFAULT_MODEL)],
                                     check=True, capture_output=True, text=True)
                for model, (ms, digest) in json.loads(res.stdout.strip().splitlines()[-1]).items():
                    best[label][model] = min(best[label].get(model, 1e9), ms)
                    digests[label][model] = digest
    old, new = roots
    print(f"{args.members} members per call, 1978-2100, CPU ms per run, best of {args.repeat}")
    print(f"| model | {old} | {new} | change |")
    print("|---|---:|---:|---:|")
    for model in best[old]:
        a, b = best[old][model], best[new][model]
        print(f"| {model} | {a:.3f} | {b:.3f} | {100 * (b / a - 1):+.1f}% |")
    for label in roots:
        print(f"ratio model 1 / current model with the {label}: "
              f"{best[label]['model 1'] / best[label]['current model']:.3f}")
    same = all(digests[old][m] == digests[new][m] for m in digests[old])
    print("outputs of the two engines equal to the last bit:", "yes" if same else "NO")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
