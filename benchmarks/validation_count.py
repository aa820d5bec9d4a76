"""Count how often one ``sd-model run`` checks its scenario and parameters against the model.

Profiles ``sd-model run -s experiments/balanced.toml --no-plots`` in this process and prints
the number of calls of every function that validates a scenario or resolves parameters
(``validate``, ``resolve``, ``resolve_params``) in ``sd_model``. Run from the repository root::

    python benchmarks/validation_count.py
"""
from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cli import main  # noqa: E402

NAMES = {"validate", "resolve", "resolve_params"}


def main_() -> None:
    """Run the command under cProfile and print the validation calls."""
    with tempfile.TemporaryDirectory() as tmp:
        profile = cProfile.Profile()
        profile.enable()
        result = CliRunner().invoke(main, ["run", "-s", str(ROOT / "experiments" / "balanced.toml"),
                                           "--no-plots", "--out", tmp])
        profile.disable()
    if result.exit_code != 0:
        raise SystemExit(result.output)
    stats = pstats.Stats(profile)
    total = 0
    for (path, line, func), (calls, *_rest) in sorted(stats.stats.items()):  # type: ignore[attr-defined]
        if func in NAMES and "sd_model" in path:
            print(f"{calls:4d}  {Path(path).relative_to(ROOT)}:{line} {func}")
            total += calls
    print(f"{total:4d}  validation calls in one 'sd-model run' of one scenario")


if __name__ == "__main__":
    main_()
