"""Print the figures of docs/bayes.md from the folders written by scripts/bayes_figures.sh.

python scripts/bayes_summary.py results/bayes
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd


def fit_figures(folder: Path) -> None:
    """Print speed, convergence and coverage of one calibration folder."""
    m = json.loads((folder / "manifest.json").read_text())["bayes"]
    d = pd.read_csv(folder / "diagnostics.csv")
    print(f"{folder}: {m['walkers']} walkers x {m['steps']} steps; {m['evaluations']} evaluations in "
          f"{m['sampling_seconds']} s = {m['evaluations_per_second']}/s; acceptance {m['acceptance']:.3f}")
    print(f"  R-hat max {d['r_hat'].max():.3f} ({(d['r_hat'] < 1.05).sum()}/{len(d)} below 1.05); "
          f"bulk ESS min {d['ess_bulk'].min():.0f} ({(d['ess_bulk'] >= 400).sum()}/{len(d)} >= 400); "
          f"tail ESS min {d['ess_tail'].min():.0f}; W*S/tau min {d['ess_tau'].min():.0f}; "
          f"tau max {d['tau_steps'].max():.0f} steps")
    s = pd.read_csv(folder / "posterior_summary.csv")
    print(f"  not informed (posterior 90% interval > 80% of the prior's): "
          f"{', '.join(s.loc[s['informed'] != 'yes', 'parameter']) or 'none'}")
    c = pd.read_csv(folder / "coverage.csv")
    print(c.to_string(index=False))


def main() -> None:
    """Print every figure found under the folder given on the command line."""
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "results/bayes")
    for name in ("fit", "oos"):
        if (root / name / "manifest.json").is_file():
            fit_figures(root / name)
    oos = root / "oos" / "coverage.csv"
    if oos.is_file():
        c = pd.read_csv(oos)
        c = c[c["period"] == "out-of-sample"]
        print("out of sample 2011-2015, 90% band coverage:")
        print(c.to_string(index=False))
    for name in ("sbc-linear", "sbc-shipped"):
        path = root / name / "coverage.csv"
        if path.is_file():
            c = pd.read_csv(path)
            print(f"{name}: 90% coverage per parameter min {c['coverage90'].min():.2f} "
                  f"max {c['coverage90'].max():.2f}; "
                  f"{((c['coverage90'] >= 0.8) & (c['coverage90'] <= 0.97)).sum()}/{len(c)} within 0.80-0.97")
    findings = root / "compare" / "findings.csv"
    if findings.is_file():
        f = pd.read_csv(findings)
        cols = [c for c in ("finding", "scenario", "reference", "indicator", "year", "difference", "diff_median",
                            "diff_p05", "diff_p95", "improved") if c in f]
        print(f[cols].to_string(index=False))


if __name__ == "__main__":
    main()
