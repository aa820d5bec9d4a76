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
"""
from __future__ import annotations

import itertools
import math
import os
import shutil
import tempfile
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .errors import EngineError, SDModelError, unknown_name
from .mdl import ModelInfo, Variable, normalize_name, read_model_info

__all__ = ["Engine", "PysdEngine", "SimlinEngine", "SimlinCompiled", "get_engine", "ENGINES"]

ENGINES = ("pysd", "simlin")
Params = Mapping[str, "float | Mapping[str, float]"]
# per canonical Vensim name: a float (scalar) or {element tuple: value} (only the given elements)
_Overrides = dict[str, "float | dict[tuple[str, ...], float]"]


@dataclass(frozen=True)
class _Times:
    """Time settings of one run; ``n`` is the number of saved points."""

    initial: float
    final: float
    dt: float
    saveper: float

    @property
    def n(self) -> int:
        """Number of saved time points, INITIAL TIME included."""
        return int(math.floor((self.final - self.initial) / self.saveper + 1e-9)) + 1

    def coords(self) -> np.ndarray:
        """Saved times, computed the same way for every engine."""
        return self.initial + self.saveper * np.arange(self.n)


class Engine(ABC):
    """A simulation engine for one ``.mdl`` file.

    Parameters
    ----------
    mdl_path : str or Path
        The Vensim model file; read with :func:`sd_model.mdl.read_model_info`.
    """

    name: str = ""

    def __init__(self, mdl_path: str | Path) -> None:
        self.mdl_path = Path(mdl_path)
        self.info: ModelInfo = read_model_info(self.mdl_path)

    def run(self, params: Params | None = None, *, final_time: float | None = None,
            time_step: float | None = None, outputs: Sequence[str] | None = None) -> xr.Dataset:
        """Simulate once from the model's initial state and return the results.

        Parameters
        ----------
        params : mapping, optional
            Vensim constant name -> float, or -> {element: float} for some elements of a
            subscripted constant (2-D elements as ``"East,West"``; a bare float sets every
            element). Initial stock values are set through their ``Initial ...`` constants.
            Default is None (the model's values).
        final_time, time_step : float, optional
            Override FINAL TIME and TIME STEP. SAVEPER follows TIME STEP only if the model
            defines ``SAVEPER = TIME STEP``. Default is None (the model's values).
        outputs : sequence of str, optional
            Variables to return. Default is None: every variable except lookup tables
            (constants broadcast over time).

        Returns
        -------
        xarray.Dataset
            One data variable per Vensim variable, dims ``("time", *dims)``.
        """
        overrides = resolve_params(self.info, params)
        names = resolve_outputs(self.info, outputs)
        times = self._times(final_time, time_step)
        times_out, arrays = self._simulate(overrides, names, times)
        expected = times.coords()
        if len(times_out) != len(expected) or not np.allclose(times_out, expected, rtol=0, atol=1e-9):
            raise EngineError(f"{self.name} saved {len(times_out)} time points, expected {len(expected)} "
                              f"from {times.initial} to {times.final} every {times.saveper}")
        return _dataset(self.info, expected, arrays, self.name)

    def _times(self, final_time: float | None, time_step: float | None) -> _Times:
        info = self.info
        dt = info.time_step if time_step is None else float(time_step)
        final = info.final_time if final_time is None else float(final_time)
        saveper = dt if info.saveper_is_time_step else info.saveper
        if not dt > 0:
            raise SDModelError(f"time_step must be positive, got {dt}")
        if not final >= info.initial_time:
            raise SDModelError(f"final_time {final} is before INITIAL TIME {info.initial_time}")
        if abs(saveper / dt - round(saveper / dt)) > 1e-9 or saveper < dt:
            raise SDModelError(f"SAVEPER {saveper} is not a multiple of time_step {dt}")
        return _Times(info.initial_time, final, dt, saveper)

    @abstractmethod
    def _simulate(self, overrides: _Overrides, names: list[str],
                  times: _Times) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Run and return (saved times, {name: array of shape (time, *element counts)})."""


def resolve_params(info: ModelInfo, params: Params | None) -> _Overrides:
    """Check ``params`` against the model and key them by canonical names and element tuples.

    Raises
    ------
    UnknownNameError
        For an unknown variable or element name.
    SDModelError
        For a variable that is not a constant, or a value that is not a finite number.
    """
    out: _Overrides = {}
    for key, value in (params or {}).items():
        var = info.get(key)
        if var.kind != "constant":
            raise SDModelError(_not_constant_message(info, var))
        if not var.dims:
            if isinstance(value, Mapping):
                raise SDModelError(f"{var.name!r} is a scalar constant; give a number, not {value!r}")
            out[var.name] = _number(var.name, value)
            continue
        elements = {normalize_name(k): tuple(k.split(",")) for k in var.default}  # type: ignore[union-attr]
        items = value.items() if isinstance(value, Mapping) else [(k, value) for k in var.default]  # type: ignore
        cells: dict[tuple[str, ...], float] = {}
        for element, number in items:
            cell = elements.get(normalize_name(",".join(p.strip() for p in str(element).split(","))))
            if cell is None:
                raise unknown_name(f"element of {var.name!r}", str(element), var.default)  # type: ignore[arg-type]
            cells[cell] = _number(f"{var.name}[{element}]", number)
        out[var.name] = cells
    return out


def _number(label: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SDModelError(f"value of {label!r} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise SDModelError(f"value of {label!r} must be finite, got {value!r}")
    return float(value)


def _not_constant_message(info: ModelInfo, var: Variable) -> str:
    article = "an" if var.kind[0] in "aeiou" else "a"
    msg = (f"cannot override {var.name!r}: it is {article} {var.kind}, not a constant; only constants can be "
           "overridden, and initial stock values are set through their 'Initial ...' constants")
    equation = normalize_name(var.equation)
    init = [n for n in info.constants() if var.kind == "stock" and normalize_name(n) in equation]
    return msg + (f" (for {var.name!r}: {', '.join(repr(n) for n in init)})" if init else "")


def resolve_outputs(info: ModelInfo, outputs: Sequence[str] | None) -> list[str]:
    """Return canonical names of the requested outputs (all non-lookup variables if None)."""
    if outputs is None:
        return [n for n, v in info.variables.items() if v.kind != "lookup"]
    if isinstance(outputs, str):
        outputs = [outputs]
    if not outputs:
        raise SDModelError("outputs is empty; give at least one variable name, or None for all")
    names: list[str] = []
    for key in outputs:
        var = info.get(key)
        if var.kind == "lookup":
            raise SDModelError(f"{var.name!r} is a lookup table, not a variable with values over time")
        if var.name not in names:
            names.append(var.name)
    return names


def _cells(info: ModelInfo, var: Variable) -> list[tuple[str, ...]]:
    """All element tuples of ``var`` in row-major order (``[()]`` for a scalar)."""
    return list(itertools.product(*[info.subscripts[d] for d in var.dims]))


def _shape(info: ModelInfo, var: Variable) -> tuple[int, ...]:
    return tuple(len(info.subscripts[d]) for d in var.dims)


def _dataset(info: ModelInfo, times: np.ndarray, arrays: dict[str, np.ndarray], engine: str) -> xr.Dataset:
    data_vars = {}
    for name, values in arrays.items():
        var = info.variables[name]
        data_vars[name] = xr.DataArray(values, dims=("time", *var.dims), attrs={"units": var.units})
    dims = {d for name in arrays for d in info.variables[name].dims}
    coords = {"time": times, **{d: list(info.subscripts[d]) for d in sorted(dims)}}
    return xr.Dataset(data_vars, coords=coords, attrs={"engine": engine, "model_sha256": info.sha256})


# ---------------------------------------------------------------- PySD


@contextmanager
def _pysd_warnings() -> Iterator[None]:
    """Silence only the known, harmless warnings PySD 3.14 triggers in its own code."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"chardet\.universaldetector is deprecated",
                                category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"The inplace keyword in DataFrame\.set_index",
                                module=r"pysd\.")
        yield


def cache_root() -> Path:
    """Directory for translated models: ``$SD_MODEL_CACHE`` or ``~/.cache/sd_model``."""
    env = os.environ.get("SD_MODEL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "sd_model"


class PysdEngine(Engine):
    """PySD engine; the model is translated once into the cache, never beside the ``.mdl``."""

    name = "pysd"

    def __init__(self, mdl_path: str | Path) -> None:
        super().__init__(mdl_path)
        try:
            with _pysd_warnings():
                import pysd
        except ImportError as exc:
            raise EngineError(f"PySD is not available ({exc}); use --engine simlin") from None
        self._pysd = pysd
        self.py_path = self._translate()
        with _pysd_warnings():
            self._model = pysd.load(str(self.py_path))
        by_key = {normalize_name(n): n for n in self._model.namespace}
        missing = [n for n in self.info.variables if normalize_name(n) not in by_key]
        if missing:
            raise EngineError(f"PySD translation of {self.mdl_path} lacks {missing}")
        self._pysd_name = {n: by_key[normalize_name(n)] for n in self.info.variables}

    def _translate(self) -> Path:
        final = cache_root() / self.info.sha256
        if (final / "model.py").is_file():
            return final / "model.py"
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{self.info.sha256}.tmp", dir=final.parent))
        try:
            shutil.copyfile(self.mdl_path, tmp / "model.mdl")
            with _pysd_warnings():
                self._pysd.read_vensim(str(tmp / "model.mdl"))
            if final.exists():  # stale or written by a concurrent process
                shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
        except Exception as exc:
            raise EngineError(f"PySD could not translate {self.mdl_path}: {exc}") from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return final / "model.py"

    def _simulate(self, overrides: _Overrides, names: list[str],
                  times: _Times) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        params = {self._pysd_name[n]: self._param_value(n, v) for n, v in overrides.items()}
        with _pysd_warnings():
            df = self._model.run(params=params, return_columns=[self._pysd_name[n] for n in names],
                                 final_time=times.final, time_step=times.dt, saveper=times.saveper,
                                 reload=True)
        by_key = {normalize_name(n): n for n in names}
        arrays = {n: np.full((len(df), *_shape(self.info, self.info.variables[n])), np.nan) for n in names}
        for column in df.columns:
            base, _, inner = str(column).partition("[")
            var = self.info.variables[by_key[normalize_name(base)]]
            elements = inner.rstrip("]").split(",") if var.dims else []
            index = tuple(_element_index(self.info, var, i, e) for i, e in enumerate(elements))
            arrays[var.name][(slice(None), *index)] = df[column].to_numpy(dtype=float)
        for name, values in arrays.items():
            if np.isnan(values).all():
                raise EngineError(f"PySD returned no values for {name!r}")
        return df.index.to_numpy(dtype=float), arrays

    def _param_value(self, name: str, value: float | dict[tuple[str, ...], float]) -> Any:
        var = self.info.variables[name]
        if not isinstance(value, dict) or not isinstance(var.default, dict):
            return value
        default = var.default
        data = np.array([value.get(c, default[",".join(c)]) for c in _cells(self.info, var)]).reshape(
            _shape(self.info, var))
        return xr.DataArray(data, coords={d: list(self.info.subscripts[d]) for d in var.dims}, dims=var.dims)


def _element_index(info: ModelInfo, var: Variable, pos: int, element: str) -> int:
    elements = [e.lower() for e in info.subscripts[var.dims[pos]]]
    return elements.index(element.strip().lower())


# ---------------------------------------------------------------- pysimlin


def _import_simlin() -> Any:
    try:
        import simlin
    except ImportError as exc:
        raise EngineError(f"pysimlin is not available (import simlin failed: {exc}); use --engine pysd") from None
    return simlin


def _sim_key(name: str, cell: tuple[str, ...] = ()) -> str:
    """pysimlin's name for a variable (element): lower case, spaces as ``_``."""
    base = "_".join(normalize_name(name).split())
    return f"{base}[{','.join(e.strip().lower() for e in cell)}]" if cell else base


class SimlinEngine(Engine):
    """pysimlin engine (Euler); :meth:`compiled` gives a reusable runner for ensembles."""

    name = "simlin"

    def __init__(self, mdl_path: str | Path) -> None:
        super().__init__(mdl_path)
        self._simlin = _import_simlin()
        try:
            self._model = self._simlin.load(str(self.mdl_path))
        except self._simlin.SimlinError as exc:
            raise EngineError(f"pysimlin could not load {self.mdl_path}: {exc}") from None
        self._specs: tuple[float, float, float] | None = None

    def _set_specs(self, times: _Times) -> None:
        """Apply the time settings; a Sim created earlier keeps the specs it was created with."""
        specs = (times.final, times.dt, times.saveper)
        if specs != self._specs:
            try:
                self._model.project.set_sim_specs(start=times.initial, stop=times.final, dt=times.dt,
                                                  save_step=times.saveper, sim_method="euler")
            except self._simlin.SimlinError as exc:
                # pysimlin re-checks the whole model here: a structural error surfaces now
                raise EngineError(f"pysimlin cannot simulate {self.mdl_path}: {exc}") from None
            self._specs = specs

    def _flat(self, overrides: _Overrides) -> dict[str, float]:
        flat: dict[str, float] = {}
        for name, value in overrides.items():
            if isinstance(value, dict):
                flat.update({_sim_key(name, cell): v for cell, v in value.items()})
            else:
                flat[_sim_key(name)] = value
        return flat

    def _columns(self, names: list[str]) -> dict[str, list[str]]:
        return {n: [_sim_key(n, c) for c in _cells(self.info, self.info.variables[n])] for n in names}

    def _simulate(self, overrides: _Overrides, names: list[str],
                  times: _Times) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        self._set_specs(times)
        try:
            df = self._model.run(overrides=self._flat(overrides), analyze_loops=False).results
        except self._simlin.SimlinError as exc:
            raise EngineError(f"pysimlin failed to run {self.mdl_path}: {exc}") from None
        arrays = {}
        for name, columns in self._columns(names).items():
            missing = [c for c in columns if c not in df.columns]
            if missing:
                raise EngineError(f"pysimlin returned no column {missing[0]!r} for {name!r}")
            values = df[columns].to_numpy(dtype=float)
            arrays[name] = values.reshape(len(df), *_shape(self.info, self.info.variables[name]))
        return df.index.to_numpy(dtype=float), arrays

    def compiled(self, outputs: Sequence[str] | None = None, *, final_time: float | None = None,
                 time_step: float | None = None) -> SimlinCompiled:
        """Compile once and return a runner that reuses one pysimlin ``Sim`` for many runs.

        The time settings are fixed at compile time (a ``Sim`` keeps the specs it was created with).
        """
        times = self._times(final_time, time_step)
        self._set_specs(times)
        try:
            sim = self._model.simulate(enable_ltm=False)
        except self._simlin.SimlinError as exc:
            raise EngineError(f"pysimlin could not compile {self.mdl_path}: {exc}") from None
        return SimlinCompiled(self, sim, resolve_outputs(self.info, outputs), times)


class SimlinCompiled:
    """A compiled pysimlin simulation, reset and re-run for each parameter set.

    Use :meth:`run` repeatedly, then :meth:`close` (or use it as a context manager).
    ``times`` holds the saved times shared by all runs.
    """

    def __init__(self, engine: SimlinEngine, sim: Any, names: list[str], times: _Times) -> None:
        self._engine, self._sim, self._times = engine, sim, times
        self.names = names
        self.times = times.coords()
        self._columns = engine._columns(names)
        self._defaults: dict[str, float] = {}
        for name, var in engine.info.constants().items():
            if var.dims:
                self._defaults.update({_sim_key(name, tuple(k.split(","))): v for k, v in var.default.items()})
            else:
                self._defaults[_sim_key(name)] = float(var.default)  # type: ignore[arg-type]
        self._dirty: set[str] = set()

    def run(self, params: Params | None = None) -> dict[str, np.ndarray]:
        """Run with ``params`` (as for :meth:`Engine.run`) and return {name: array (time, *dims)}.

        Values set in an earlier run are restored to the model's defaults first, since a
        pysimlin ``Sim`` keeps them across ``reset()``.
        """
        info = self._engine.info
        flat = self._engine._flat(resolve_params(info, params))
        sim = self._sim
        if sim is None:
            raise EngineError("this compiled simulation has been closed")
        try:
            sim.reset()
            for key in self._dirty - flat.keys():
                sim.set_value(key, self._defaults[key])
            for key, value in flat.items():
                sim.set_value(key, value)
            self._dirty = set(flat)
            sim.run_to_end()
            out = {}
            for name, columns in self._columns.items():
                series = np.column_stack([sim.get_series(c) for c in columns])
                out[name] = series.reshape(len(series), *_shape(info, info.variables[name]))
        except self._engine._simlin.SimlinError as exc:
            raise EngineError(f"pysimlin failed to run {self._engine.mdl_path}: {exc}") from None
        if len(next(iter(out.values()), self.times)) != len(self.times):
            raise EngineError(f"pysimlin saved an unexpected number of time points ({len(self.times)} expected)")
        return out

    def close(self) -> None:
        """Release the compiled simulation."""
        if self._sim is not None:
            self._sim.__exit__(None, None, None)
            self._sim = None

    def __enter__(self) -> SimlinCompiled:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
