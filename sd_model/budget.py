"""Estimates of the memory and time a run needs, checked before it starts.

A request that cannot fit (``--until 1e9``: terabytes of results; ``--samples 1e12``:
terabytes of parameter sets) is refused with the estimate and the limit, instead of
aborting inside the compiled engine or after minutes of swapping. The estimates are
deliberately low (the fastest the engines have been measured to run), so only what
cannot fit is refused.
"""
from __future__ import annotations

import math
import os

from .errors import SDModelError

#: Microseconds per Euler step of one whole model run, lower bounds measured on the shipped
#: model (219 variables, 603 values): simlin about 40 us, PySD about 15 ms (one core).
STEP_MICROSECONDS = {"simlin": 20.0, "pysd": 5000.0}
#: Longest single run accepted (seconds); override with SD_MODEL_MAX_RUN_SECONDS.
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


def check_single_run(engine: str, n_steps: float, n_saved: float, n_values: int, what: str) -> None:
    """Refuse one simulation that cannot fit in memory or would run longer than the limit.

    Parameters
    ----------
    engine : "simlin" or "pysd" (other names use simlin's speed).
    n_steps : Euler steps; n_saved : saved time points; n_values : values per time point
        (every element of every variable).
    """
    check_memory(3.0 * 8 * n_saved * n_values, what, "give an earlier final year (--until)")
    seconds = n_steps * STEP_MICROSECONDS.get(engine, STEP_MICROSECONDS["simlin"]) * 1e-6
    limit = float(os.environ.get("SD_MODEL_MAX_RUN_SECONDS", MAX_RUN_SECONDS))
    if not math.isfinite(seconds) or seconds > limit:
        raise ResourceError(f"{what} takes {n_steps:,.0f} time steps, at least {_duration(seconds)} with {engine} "
                            f"(the limit is {_duration(limit)}, SD_MODEL_MAX_RUN_SECONDS); give an earlier final "
                            "year (--until) or a larger time step")
