"""The engine interface: the :class:`Engine` base class, the :class:`Runner` protocol and the Dataset engines return.

Engines run a :class:`~sd_model.runspec.RunSpec` (parameters, times and outputs already checked
against the model, :mod:`sd_model.parameters`). Every engine returns the same
:class:`xarray.Dataset` (see :mod:`sd_model.engines`).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import xarray as xr

from ..errors import EngineError
from ..mdl import ModelInfo, Variable, read_model_info
from ..budget import check_times
from ..parameters import Parameter, merge_params
from ..runspec import RunSpec, Times, build_spec

Params = Mapping[str, "float | Mapping[str, float]"]
#: per canonical Vensim name: a float (scalar) or {element tuple: value} (only the given elements)
Overrides = dict[str, "float | dict[tuple[str, ...], float]"]
#: Results of many members: ({name: (member, time, *dims)}, failed flags, messages)
SetResults = tuple[dict[str, np.ndarray], np.ndarray, list[str]]


class Runner(Protocol):
    """Runs many parameter sets with the outputs and times of one :class:`RunSpec` (an ensemble chunk's work).

    Made once per process for given outputs and time settings, never for parameter values.
    """

    def run_sets(self, base: Mapping[str, Any], columns: Sequence[Parameter], values: np.ndarray) -> SetResults:
        """One member per row of ``values`` (one column per parameter) laid over checked ``base`` params."""


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
        """Check ``params`` against the model, simulate once from the initial state and return the results.

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
        return self.simulate(build_spec(self.info, params, final_time=final_time, time_step=time_step,
                                        outputs=outputs))

    def simulate(self, spec: RunSpec) -> xr.Dataset:
        """Run a checked :class:`~sd_model.runspec.RunSpec` (no further validation) and return the results."""
        times = self._check(spec)
        times_out, arrays = self._simulate(spec.overrides(), list(spec.outputs), times)
        expected = times.coords()
        # engines add TIME STEP once per step: with a step that is not a binary fraction (1/20) the clock drifts
        # by rounding (more than 1e-9 years by 2600), never by a whole step
        if len(times_out) != len(expected) or not np.allclose(times_out, expected, rtol=0, atol=1e-3 * times.dt):
            raise EngineError(f"{self.name} saved {len(times_out)} time points, expected {len(expected)} "
                              f"from {times.initial} to {times.final} every {times.saveper}")
        return _dataset(self.info, expected, arrays, self.name)

    def _check(self, spec: RunSpec) -> Times:
        if spec.model_sha256 != self.info.sha256:
            raise EngineError(f"this run was checked against another model (sha256 {spec.model_sha256[:12]}), "
                              f"not {self.mdl_path} ({self.info.sha256[:12]})")
        if spec.times.method not in self.methods:
            raise EngineError(f"the {self.name} engine integrates with {', '.join(self.methods)}, "
                              f"not {spec.times.method}")
        t = spec.times
        check_times(self.name, self.info, t, f"a run from {t.initial:g} to {t.final:g}")
        return spec.times

    #: Integration methods this engine offers.
    methods: tuple[str, ...] = ("euler",)
    #: Compile once in the parent before forking workers (pure numpy engines; native libraries may not survive it).
    compile_before_fork: bool = False

    def runner(self, spec: RunSpec) -> Runner:
        """A :class:`Runner` with ``spec``'s outputs and times; by default one :meth:`simulate` per member."""
        self._check(spec)

        def run_one(params: Mapping[str, Any]) -> dict[str, np.ndarray]:
            ds = self.simulate(replace(spec, params=params))
            return {n: ds[n].values for n in spec.outputs}

        return PerMember(run_one, self.info)

    @abstractmethod
    def _simulate(self, overrides: Overrides, names: list[str],
                  times: Times) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Run and return (saved times, {name: array of shape (time, *element counts)})."""


class PerMember:
    """A :class:`Runner` that runs a chunk one member at a time through ``run_one(params)``."""

    def __init__(self, run_one: Callable[[Mapping[str, Any]], dict[str, np.ndarray]], info: ModelInfo) -> None:
        self._run_one, self._info = run_one, info

    def run_sets(self, base: Mapping[str, Any], columns: Sequence[Parameter], values: np.ndarray) -> SetResults:
        """Run each row; a failing member is recorded (NaN, failed, message), never fatal."""
        runs: list[dict[str, np.ndarray] | None] = []
        failed, messages = np.zeros(len(values), bool), [""] * len(values)
        for i, row in enumerate(values):
            try:
                runs.append(self._run_one(merge_params(base, row_params(self._info, columns, row))))
            except Exception as exc:  # one failing member must not stop the chunk
                runs.append(None)
                failed[i], messages[i] = True, f"{type(exc).__name__}: {exc}"
        first = next((run for run in runs if run is not None), {})  # its shapes, NaN-filled, for failed members
        return ({k: np.stack([np.full_like(v, np.nan) if run is None else run[k] for run in runs])
                 for k, v in first.items()}, failed, messages)


def row_params(info: ModelInfo, columns: Sequence[Parameter], row: Iterable[float]) -> dict[str, Any]:
    """One row of parameter values as scenario-style params ({name: float | {element key: float}})."""
    out: dict[str, Any] = {}
    for param, value in zip(columns, row):
        out = merge_params(out, param.as_params(info, float(value)))
    return out


def _shape(info: ModelInfo, var: Variable) -> tuple[int, ...]:
    return tuple(len(info.subscripts[d]) for d in var.dims)


def _dataset(info: ModelInfo, times: np.ndarray, arrays: dict[str, np.ndarray], engine: str) -> xr.Dataset:
    data_vars = {}
    for name, values in arrays.items():
        var = info.variables[name]
        data_vars[name] = xr.DataArray(values, dims=("time", *var.dims), attrs={"units": var.units, "kind": var.kind})
    dims = {d for name in arrays for d in info.variables[name].dims}
    coords = {"time": times, **{d: list(info.subscripts[d]) for d in sorted(dims)}}
    return xr.Dataset(data_vars, coords=coords, attrs={"engine": engine, "model_sha256": info.sha256})
