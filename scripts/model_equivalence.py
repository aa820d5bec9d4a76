"""How far the shipped model's values are from those of the model file at an earlier commit.

For a change of the model file meant to leave every value as it was (equations rewritten in an
equal form, comments, the sketch), this runs both files with the same engine in the historical
scenario and with every strategy lever on from 1990 (as `sd-model check` does), over 1978-2100,
and prints for the variables both files hold:

- the largest difference of a value relative to the peak magnitude of its series (per variable,
  over all elements and years), and the variables where it is largest;
- the largest pointwise relative difference |a - b| / |a|, over the values above 1e-9 of their
  series' peak (near a zero crossing a pointwise ratio measures nothing);
- the variables only one of the files holds.

Usage::

    python scripts/model_equivalence.py 5a0e6fd                 # the committed file at 5a0e6fd
    python scripts/model_equivalence.py 5a0e6fd --engine pysd   # slower; same comparison
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_model_throughput import committed_model  # noqa: E402  (the one reader of past model files)
from sd_model.checks._context import all_levers_on  # noqa: E402
from sd_model.run import DEFAULT_MODEL, load_engine, run_scenario  # noqa: E402
from sd_model.scenario import load_scenario  # noqa: E402

MODEL_PATH = "vensim/regional_finance_economy.mdl"


def differences(a: xr.Dataset, b: xr.Dataset) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    """Per shared variable: (largest |a-b| over the series' peak |a|, name) and (largest pointwise |a-b|/|a|, name)."""
    by_peak, pointwise = [], []
    for name in sorted(set(a.data_vars) & set(b.data_vars)):
        x, y = np.asarray(a[name].values, float), np.asarray(b[name].values, float)
        peak = float(np.abs(x).max()) if x.size else 0.0
        diff = np.abs(x - y)
        by_peak.append((float(diff.max()) / peak if peak > 0 else float(diff.max()), name))
        keep = np.abs(x) > 1e-9 * peak
        if keep.any():
            pointwise.append((float((diff[keep] / np.abs(x[keep])).max()), name))
    return sorted(by_peak, reverse=True), sorted(pointwise, reverse=True)


def main(argv: list[str] | None = None) -> int:
    """Print the comparison (see the module docstring); 0 on success, 2 if the commit's file cannot be read."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commit", help="commit whose model file is the reference")
    parser.add_argument("--engine", default="simlin", help="engine running both files (default simlin)")
    parser.add_argument("--top", type=int, default=5, help="variables listed per measure (default 5)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            old_path = committed_model(args.commit, Path(tmp))
        except subprocess.CalledProcessError as exc:
            print(f"error: cannot read {MODEL_PATH} at commit {args.commit!r}: {exc.stderr.decode().strip()}",
                  file=sys.stderr)
            return 2
        old, new = load_engine(args.engine, old_path), load_engine(args.engine, DEFAULT_MODEL)
        print(f"reference {args.commit} (sha256 {old.info.sha256[:12]}) against the shipped file "
              f"(sha256 {new.info.sha256[:12]}), engine {args.engine}, 1978-2100")
        only_old = sorted(set(old.info.variables) - set(new.info.variables))
        only_new = sorted(set(new.info.variables) - set(old.info.variables))
        print(f"variables only in the reference: {', '.join(only_old) or 'none'}")
        print(f"variables only in the shipped file: {', '.join(only_new) or 'none'}")
        historical = load_scenario("historical")
        for label, scenario in [("historical", historical),
                                ("every lever on from 1990", historical.with_params(all_levers_on(old.info, 1990)))]:
            a, b = run_scenario(scenario, old), run_scenario(scenario, new)
            by_peak, pointwise = differences(a, b)
            print(f"{label}: {len(by_peak)} variables compared")
            print("  largest difference over the series' peak: "
                  + ", ".join(f"{d:.2g} ({n})" for d, n in by_peak[:args.top]))
            print("  largest pointwise relative difference: "
                  + ", ".join(f"{d:.2g} ({n})" for d, n in pointwise[:args.top]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
