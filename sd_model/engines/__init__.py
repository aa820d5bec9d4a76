"""Run a Vensim model with PySD, pysimlin or the batch engine behind one interface.

Every engine takes a :class:`~sd_model.runspec.RunSpec` (or parameter overrides keyed by
Vensim names, checked into one) and returns the same :class:`xarray.Dataset`: one data
variable per Vensim variable (named as written in the ``.mdl``), dims ``("time", *subscript
ranges)``, coords ``time`` (every SAVEPER) and one coord per range (``"Region"``, ``"Dest"``)
holding the element names as written. Only constants can be overridden; lookup tables are
not returned.

Engine quirks handled in each engine's module (see ``shared/design/engines.md``): PySD keeps
``params`` between runs (every PySD run reloads the model), pysimlin names are lower case
with ``_`` and arrayed constants are set per element, a pysimlin ``Sim`` keeps values set
with ``set_value`` across ``reset()`` and keeps the sim specs it was created with.

A new engine is one module with an :class:`Engine` subclass and one line in :data:`ENGINES`.
"""
from __future__ import annotations

import functools
import importlib
import threading
from pathlib import Path

from ..errors import EngineError, SDModelError
from ..runspec import RunSpec, Times, model_times
from .base import Engine, Runner

__all__ = ["Engine", "Runner", "get_engine", "cached_runner", "ENGINES", "DEFAULT_ENGINE", "DEFAULT_ENSEMBLE_ENGINE"]

#: The engine registry: name -> "module:class" (imported only when used).
ENGINES: dict[str, str] = {
    "batch": "sd_model.batch.engine:BatchEngine",
    "pysd": "sd_model.engines.pysd_engine:PysdEngine",
    "simlin": "sd_model.engines.simlin_engine:SimlinEngine",
}
#: For single runs: the compiled engine.
DEFAULT_ENGINE = "simlin"
#: For many runs: the vectorised engine, equal to simlin to 1e-9 relative (tests/test_batch.py).
DEFAULT_ENSEMBLE_ENGINE = "batch"


def engine_class(name: str) -> type[Engine]:
    """The :class:`Engine` subclass registered as ``name``; :class:`SDModelError` if there is none."""
    key = str(name).strip().lower()
    if key not in ENGINES:
        raise SDModelError(f"unknown engine {name!r}; valid engines are {', '.join(sorted(ENGINES))}")
    module, _, cls = ENGINES[key].partition(":")
    engine: type[Engine] = getattr(importlib.import_module(module), cls)
    return engine


def get_engine(name: str, mdl_path: str | Path) -> Engine:
    """Return the engine called ``name`` (see :data:`ENGINES`) for the model at ``mdl_path``.

    Raises
    ------
    SDModelError
        For an unknown engine name.
    ModelFileError
        For a missing or malformed model file.
    EngineError
        If the engine's package cannot be imported.
    """
    return engine_class(name)(mdl_path)


def cached_runner(engine: str, model: str, sha256: str, outputs: tuple[str, ...], times: Times | float,
                  job: str) -> Runner:
    """The runner of this process and thread for a model, engine, outputs and time settings (compiled once).

    ``times`` is a :class:`~sd_model.runspec.Times` or a final time (the model's other time settings).
    The cache is never keyed by parameter values: later batches and chunks of a calibration or
    ensemble (``job``, named in the error) reuse it. One runner per thread: a Dask worker runs
    tasks in several threads, and a runner holds the state of its run. Raises :class:`EngineError`
    if the model file no longer has the checksum ``sha256``.
    """
    return _compiled(engine, str(model), sha256, tuple(outputs), times, job, threading.get_ident())


@functools.lru_cache(maxsize=8)
def _compiled(engine: str, model: str, sha256: str, outputs: tuple[str, ...], times: Times | float, job: str,
              thread: int) -> Runner:
    eng = get_engine(engine, model)
    if eng.info.sha256 != sha256:
        raise EngineError(f"{model} changed since the {job} was set up (sha256 {eng.info.sha256[:12]}, "
                          f"expected {sha256[:12]}); restart the {job}")
    times = times if isinstance(times, Times) else model_times(eng.info, times)
    return eng.runner(RunSpec({}, times, outputs, sha256))
