"""Lines of the package at the issue-9 baseline (b673acf) against now, for the behaviours that existed then.

Issue 9 asks that the package (``sd_model/`` and ``cli.py``) have fewer lines than at b673acf
"with every behaviour kept". Since then other issues added whole features; their files are left
out of the "now" side, because they carry behaviour b673acf did not have:

- ``sd_model/bayes/``: Bayesian calibration (issue 12).
- ``sd_model/explore/``, ``sd_model/commands/explore.py``: the interactive explorer (issue 13).
- ``sd_model/observed.py``: observed counterparts of model indicators, drawn as dots on plots and
  in the explorer (issue 13, commit 82f8cd9 "Outputs a reader understands"; b673acf drew no data
  on its plots).
- ``sd_model/structure/``, ``sd_model/commands/structure.py``: structure views and loops (issue 14).
- ``sd_model/data_{debt,deflator,demography,derived,finance,migration,panel,series}.py``: data series for
  Model 2.0 (issue 11) beyond the loaders of b673acf (``data.py`` itself is counted).
- ``sd_model/calibration/targets.py``: derived calibration targets for Model 2.0 (issue 11).
- ``sd_model/budget.py``, ``sd_model/interrupts.py``: resource budgets and Ctrl-C handling (issue 10).

Everything else under ``sd_model/`` (``.py`` files) and ``cli.py`` is counted on both sides, including
modules that issue 9's refactor created (``parameters.py``, ``executor.py``, ``workflows.py``,
``report/``, ...): they carry the behaviours of b673acf. Files are read from git commits (committed
state, so the figure is reproducible), and a line is a newline character, as ``wc -l`` counts.

Run::

    python benchmarks/line_count.py [--base b673acf] [--rev HEAD] [--files]
"""
from __future__ import annotations

import argparse
import fnmatch
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = "b673acf"
#: New features of other issues (glob patterns on paths), left out of the comparison.
NEW_FEATURES = ("sd_model/bayes/*", "sd_model/explore/*", "sd_model/commands/explore.py", "sd_model/observed.py",
                "sd_model/structure/*", "sd_model/commands/structure.py", "sd_model/data_debt.py",
                "sd_model/data_deflator.py",
                "sd_model/data_demography.py", "sd_model/data_derived.py", "sd_model/data_finance.py",
                "sd_model/data_migration.py", "sd_model/data_panel.py", "sd_model/data_series.py",
                "sd_model/calibration/targets.py", "sd_model/budget.py", "sd_model/interrupts.py")


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def counts(rev: str) -> dict[str, int]:
    """Lines of every package ``.py`` file and ``cli.py`` at ``rev``, new features excluded."""
    files = [f for f in _git("ls-tree", "-r", "--name-only", rev, "--", "sd_model", "cli.py").splitlines()
             if f.endswith(".py") and not any(fnmatch.fnmatch(f, p) for p in NEW_FEATURES)]
    return {f: _git("show", f"{rev}:{f}").count("\n") for f in files}


def main(argv: list[str] | None = None) -> int:
    """Print the totals at ``--base`` and ``--rev`` and their difference (with ``--files``, per file)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=BASE)
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--files", action="store_true", help="also print every file's lines on both sides")
    args = parser.parse_args(argv)
    before, after = counts(args.base), counts(args.rev)
    if args.files:
        for f in sorted(set(before) | set(after)):
            b, a = before.get(f), after.get(f)
            print(f"{'-' if b is None else b:>6} {'-' if a is None else a:>6}  {f}")
    total_b, total_a = sum(before.values()), sum(after.values())
    rev = _git("rev-parse", "--short", args.rev).strip()
    print(f"{args.base}: {total_b:,} lines in {len(before)} files")
    print(f"{rev} ({args.rev}): {total_a:,} lines in {len(after)} files, new features of other issues excluded")
    print(f"difference: {total_a - total_b:+,} lines ({(total_a - total_b) / total_b:+.1%})"
          f" -> {'fewer lines: met' if total_a < total_b else 'not fewer: not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
