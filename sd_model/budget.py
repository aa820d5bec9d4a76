"""Estimates of the memory and time a run needs, checked before it starts.

A request that cannot fit (``--until 1e9``: terabytes of results; ``--until 100000``: an hour of
stepping and a results table larger than memory; ``--samples 1e12``: terabytes of parameter
sets) is refused with the estimate, the limit and how to change either, instead of aborting
inside the compiled engine or running for an hour.

A run's time is estimated from what it computes, per engine: ``start + values x (steps x
step_ns + saved x saved_ns)`` (values: every element of every variable; steps: Euler steps;
saved: saved time points), plus the time to write its results file. The constants were measured
on Model 2.0 (359 variables, 1,070 values) by ``benchmarks/bench_budget.py``, which also checks
the estimates against runs it did not fit on.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import SDModelError


@dataclass(frozen=True)
class EngineCost:
    """CPU cost of one run of an engine (measured by ``benchmarks/bench_budget.py``).

    Attributes
    ----------
    start : float
        Seconds per run whatever its length (compilation or reload, assembling the results).
    step_ns : float
        Nanoseconds per value (element of a variable) per Euler step.
    saved_ns : float
        Nanoseconds per value per saved time point (collecting the results).
    """

    start: float
    step_ns: float
    saved_ns: float

    def seconds(self, n_steps: float, n_saved: float, n_values: float) -> float:
        """Estimated seconds of one run of ``n_steps`` Euler steps saving ``n_saved`` points of ``n_values``."""
        return self.start + n_values * (n_steps * self.step_ns + n_saved * self.saved_ns) * 1e-9


@dataclass(frozen=True)
class WriteCost:
    """Cost of writing a results file: nanoseconds and peak bytes of memory per value written."""

    ns: float
    bytes: float


#: Per engine, measured on Model 2.0 (359 variables, 1,070 values) by ``python benchmarks/bench_budget.py`` (CPU time,
#: 2-core machine at load 4-5, 2026-11-30 03:30 UTC); its runs not fitted on gave measured/estimated 0.59-1.03, the
#: lowest short later runs that do not pay the first run's extra time included in ``start``. simlin re-measured
#: (``--engines simlin``, load 1, 12:31 UTC) after its single runs took the runner's compiled path: checks 0.65-0.89.
#: pysd re-measured on model ``866da7052f54`` (``--engines pysd``, load 0.6-0.9, 2026-12-01 06:14 UTC; check 1.06):
#: the earlier constants, from a model at TIME STEP 1/32 with fewer values, put a PySD run at half its cost.
ENGINE_COSTS = {
    "simlin": EngineCost(start=0.342, step_ns=22.7, saved_ns=6.62),
    "batch": EngineCost(start=0.155, step_ns=197.0, saved_ns=0.0),
    "pysd": EngineCost(start=2.1, step_ns=263000.0, saved_ns=199000.0),
}
#: Per results format (:func:`sd_model.results.write_results`), measured likewise: CPU time, and the growth of
#: peak resident memory beyond the run's own.
WRITE_COSTS = {
    "csv": WriteCost(ns=3180.0, bytes=217.0),
    "parquet": WriteCost(ns=821.0, bytes=115.0),
    "netcdf": WriteCost(ns=381.0, bytes=0.0),
}
#: Bytes of peak resident memory per value per saved point while a run's results are collected (measured likewise).
RUN_BYTES = 26.7
#: Longest single run accepted (seconds); override with the environment variable SD_MODEL_MAX_RUN_SECONDS.
MAX_RUN_SECONDS = 600.0
#: Share of the available memory one request may plan to use.
MEMORY_SHARE = 0.5


class ResourceError(SDModelError):
    """A request needs more memory or time than this machine can give it."""


def available_memory() -> int:
    """Bytes of memory available to a new allocation (MemAvailable, else physical memory)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 << 30


def max_run_seconds() -> float:
    """The time limit of one run: SD_MODEL_MAX_RUN_SECONDS if set (a positive number), else :data:`MAX_RUN_SECONDS`."""
    text = os.environ.get("SD_MODEL_MAX_RUN_SECONDS")
    if text is None:
        return MAX_RUN_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0:
        raise SDModelError(f"SD_MODEL_MAX_RUN_SECONDS must be a positive number of seconds, got {text!r}")
    return value


def _size(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n / 1e3:,.1f} kB"


def _duration(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:,.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:,.1f} hours"
    return f"{seconds / 60:,.1f} minutes" if seconds >= 60 else f"{seconds:.0f} s"


def check_memory(nbytes: float, what: str, hint: str) -> None:
    """Refuse ``what`` if it needs more than :data:`MEMORY_SHARE` of the available memory.

    ``hint`` says how to ask for less (e.g. "give an earlier --until").
    """
    limit = MEMORY_SHARE * available_memory()
    if not math.isfinite(nbytes) or nbytes > limit:
        raise ResourceError(f"{what} needs about {_size(nbytes)} of memory, more than the {_size(limit)} this "
                            f"machine can give it; {hint}")


def run_seconds(engine: str, n_steps: float, n_saved: float, n_values: float) -> float:
    """Estimated seconds of one run with ``engine`` (unknown engines are costed as simlin)."""
    return ENGINE_COSTS.get(engine, ENGINE_COSTS["simlin"]).seconds(n_steps, n_saved, n_values)


def check_single_run(engine: str, n_steps: float, n_saved: float, n_values: int, what: str, *,
                     fmt: str | None = None, n_written: int | None = None) -> None:
    """Refuse one simulation that cannot fit in memory or would run longer than the limit.

    Parameters
    ----------
    engine : "simlin", "batch" or "pysd" (other names are costed as simlin).
    n_steps : Euler steps; n_saved : saved time points; n_values : values per time point
        (every element of every variable).
    what : the run, as the message names it ("a run from 1978 to 100000").
    fmt, n_written : optional results format and values per saved point written to it
        (default every value): the time and memory to write the results file are added.

    Raises
    ------
    ResourceError
        Naming the estimate, the limit and what to change.
    """
    write = WRITE_COSTS.get(fmt or "", WriteCost(0.0, 0.0))
    written = n_saved * (n_values if n_written is None else n_written)
    check_memory(RUN_BYTES * n_saved * n_values + write.bytes * written, what, "give an earlier final year (--until)")
    engine_s = run_seconds(engine, n_steps, n_saved, n_values)
    write_s = write.ns * written * 1e-9
    seconds, limit = engine_s + write_s, max_run_seconds()
    if not math.isfinite(seconds) or seconds > limit:
        parts = f" ({_duration(engine_s)} to run, {_duration(write_s)} to write {fmt})" if write_s >= 1 else ""
        raise ResourceError(f"{what} takes {n_steps:,.0f} time steps of {n_values:,} values: about "
                            f"{_duration(seconds)} with {engine}{parts}, over the limit of {_duration(limit)} (raise "
                            "it with the environment variable SD_MODEL_MAX_RUN_SECONDS); give an earlier final year "
                            "(--until) or a larger time step")


def model_values(info: Any, names: Sequence[str] | None = None) -> int:
    """Values per time point of ``names`` (default every variable) of a :class:`~sd_model.mdl.ModelInfo`."""
    variables = info.variables.values() if names is None else (info.variables[n] for n in names)
    return sum(math.prod(len(info.subscripts[d]) for d in v.dims) for v in variables)


def check_times(engine: str, info: Any, times: Any, what: str, *, fmt: str | None = None,
                outputs: Sequence[str] | None = None) -> None:
    """:func:`check_single_run` for a run of ``info``'s model with :class:`~sd_model.runspec.Times` ``times``.

    With ``fmt`` the results file is costed too, holding ``outputs`` (default every variable).
    """
    n_written = None if outputs is None else model_values(info, outputs)
    check_single_run(engine, (times.final - times.initial) / times.dt, times.n, model_values(info), what,
                     fmt=fmt, n_written=n_written)
