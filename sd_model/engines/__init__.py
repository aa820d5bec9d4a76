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

import importlib
from pathlib import Path

from ..errors import SDModelError
from .base import Engine, Runner

__all__ = ["Engine", "Runner", "get_engine", "ENGINES", "DEFAULT_ENGINE", "DEFAULT_ENSEMBLE_ENGINE"]

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
