"""The engine interface: time settings, parameter and output resolution, and the Dataset both engines return.

Parameters are keyed by Vensim names (any case or ``_`` spelling) and checked against the model
(:func:`resolve_params`); outputs likewise (:func:`resolve_outputs`). Every engine returns the same
:class:`xarray.Dataset` (see :mod:`sd_model.engines`).
"""
from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..errors import EngineError, SDModelError, unknown_name
from ..mdl import ModelInfo, Variable, normalize_name, read_model_info

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
