"""Time the project's .mdl reader against PySD's abstract model, on the shipped model.

Prints seconds per read (best of 3) and the ratio; run from the repository root::

    python benchmarks/mdl_readers.py
"""
from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sd_model.mdl import read_model_info  # noqa: E402
from sd_model.run import DEFAULT_MODEL  # noqa: E402


def best(fn, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def pysd_abstract() -> object:
    """Parse the model into PySD's AbstractModel (what PySD builds its Python from)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pysd.translators.vensim.vensim_file import VensimFile

        vf = VensimFile(DEFAULT_MODEL)
        vf.parse()
        return vf.get_abstract_model()


if __name__ == "__main__":
    own = best(lambda: read_model_info(DEFAULT_MODEL))
    theirs = best(pysd_abstract)
    print(f"project reader (sd_model.mdl.read_model_info): {own * 1000:8.1f} ms")
    print(f"PySD VensimFile.parse + get_abstract_model:   {theirs * 1000:8.1f} ms")
    print(f"ratio PySD / project: {theirs / own:.0f}x")
