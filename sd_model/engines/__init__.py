"""Run a Vensim model with PySD or pysimlin behind one interface.

Both engines take parameter overrides keyed by Vensim names (any case or ``_`` spelling)
and return the same :class:`xarray.Dataset`: one data variable per Vensim variable
(named as written in the ``.mdl``), dims ``("time", *subscript ranges)``, coords ``time``
(every SAVEPER) and one coord per range (``"Region"``, ``"Dest"``) holding the element
names as written. Only constants can be overridden; lookup tables are not returned.

Engine quirks handled here (see ``shared/design/engines.md``): PySD keeps ``params``
between runs (every PySD run reloads the model), pysimlin names are lower case with
``_`` and arrayed constants are set per element, a pysimlin ``Sim`` keeps values set
with ``set_value`` across ``reset()`` and keeps the sim specs it was created with.

- :mod:`.base`: :class:`Engine`, time settings, parameter and output resolution, the Dataset.
- :mod:`.pysd_engine`: :class:`PysdEngine`.
- :mod:`.simlin_engine`: :class:`SimlinEngine` and :class:`SimlinCompiled`.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import SDModelError
from .base import (Engine, Params, _cells, _dataset, _not_constant_message, _number, _Overrides, _shape, _Times,
                   resolve_outputs, resolve_params)
from .pysd_engine import PysdEngine, _element_index, _pysd_warnings, cache_root
from .simlin_engine import SimlinCompiled, SimlinEngine, _import_simlin, _sim_key

__all__ = ["Engine", "PysdEngine", "SimlinEngine", "SimlinCompiled", "get_engine", "ENGINES"]

ENGINES = ("pysd", "simlin")

# The other names this module held before it became a package, still importable from here.
_REEXPORTED = (Params, _Overrides, _Times, resolve_params, _number, _not_constant_message, resolve_outputs, _cells,
               _shape, _dataset, _pysd_warnings, cache_root, _element_index, _sim_key)


def get_engine(name: str, mdl_path: str | Path) -> Engine:
    """Return the engine called ``name`` ("pysd" or "simlin") for the model at ``mdl_path``.

    Raises
    ------
    SDModelError
        For an unknown engine name.
    EngineError
        If the engine's package cannot be imported.
    """
    key = str(name).strip().lower()
    if key == "pysd":
        return PysdEngine(mdl_path)
    if key == "simlin":
        _import_simlin()
        return SimlinEngine(mdl_path)
    raise SDModelError(f"unknown engine {name!r}; valid engines are {', '.join(ENGINES)}")
