"""The pysimlin engine (Euler), and :class:`SimlinCompiled`, a reusable runner for ensembles."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EngineError
from ..mdl import normalize_name
from ..parameters import cells
from ..runspec import RunSpec, Times, build_spec, to_overrides
from .base import Engine, Overrides, Params, PerMember, Runner, _shape


def _import_simlin() -> Any:
    try:
        import simlin
    except ImportError as exc:
        raise EngineError(f"pysimlin is not available (import simlin failed: {exc}); use --engine pysd") from None
    return simlin


def _sim_key(name: str, cell: tuple[str, ...] = ()) -> str:
    """Pysimlin's name for a variable (element): lower case, spaces as ``_``."""
    base = "_".join(normalize_name(name).split())
    return f"{base}[{','.join(e.strip().lower() for e in cell)}]" if cell else base


class SimlinEngine(Engine):
    """pysimlin engine (Euler); :meth:`compiled` gives a reusable runner for ensembles."""

    name = "simlin"
    methods = ("euler", "rk4")

    def __init__(self, mdl_path: str | Path) -> None:
        super().__init__(mdl_path)
        self._simlin = _import_simlin()
        try:
            self._model = self._simlin.load(str(self.mdl_path))
        except self._simlin.SimlinError as exc:
            raise EngineError(f"pysimlin could not load {self.mdl_path}: {exc}") from None
        self._specs: tuple[float, float, float, str] | None = None

    def _set_specs(self, times: Times) -> None:
        """Apply the time settings; a Sim created earlier keeps the specs it was created with."""
        specs = (times.final, times.dt, times.saveper, times.method)
        if specs != self._specs:
            try:
                self._model.project.set_sim_specs(start=times.initial, stop=times.final, dt=times.dt,
                                                  save_step=times.saveper, sim_method=times.method)
            except self._simlin.SimlinError as exc:
                # pysimlin re-checks the whole model here: a structural error surfaces now
                raise EngineError(f"pysimlin cannot simulate {self.mdl_path}: {exc}") from None
            self._specs = specs

    def _flat(self, overrides: Overrides) -> dict[str, float]:
        flat: dict[str, float] = {}
        for name, value in overrides.items():
            if isinstance(value, dict):
                flat.update({_sim_key(name, cell): v for cell, v in value.items()})
            else:
                flat[_sim_key(name)] = value
        return flat

    def _columns(self, names: list[str]) -> dict[str, list[str]]:
        return {n: [_sim_key(n, c) for c in cells(self.info, self.info.variables[n])] for n in names}

    def _simulate(self, overrides: Overrides, names: list[str],
                  times: Times) -> tuple[np.ndarray, dict[str, np.ndarray]]:
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
        return self.compile(build_spec(self.info, final_time=final_time, time_step=time_step, outputs=outputs))

    def compile(self, spec: RunSpec) -> SimlinCompiled:
        """A :class:`SimlinCompiled` for the outputs and time settings of ``spec``."""
        times = self._check(spec)
        self._set_specs(times)
        try:
            sim = self._model.simulate(enable_ltm=False)
        except self._simlin.SimlinError as exc:
            raise EngineError(f"pysimlin could not compile {self.mdl_path}: {exc}") from None
        return SimlinCompiled(self, sim, list(spec.outputs), times)

    def runner(self, spec: RunSpec) -> Runner:
        """Runs many members through one compiled ``Sim`` (see :meth:`compile`)."""
        compiled = self.compile(spec)
        return PerMember(lambda params: compiled.run_overrides(to_overrides(params)), self.info)


class SimlinCompiled:
    """A compiled pysimlin simulation, reset and re-run for each parameter set.

    Use :meth:`run` repeatedly, then :meth:`close` (or use it as a context manager).
    ``times`` holds the saved times shared by all runs.
    """

    def __init__(self, engine: SimlinEngine, sim: Any, names: list[str], times: Times) -> None:
        self._engine, self._sim, self._times = engine, sim, times
        self.names = names
        self.times = times.coords()
        self._columns = engine._columns(names)
        self._defaults = engine._flat(to_overrides({n: v.default for n, v in engine.info.constants().items()}))
        self._dirty: set[str] = set()

    def run(self, params: Params | None = None) -> dict[str, np.ndarray]:
        """Run with ``params`` (as for :meth:`Engine.run`) and return {name: array (time, *dims)}.

        Values set in an earlier run are restored to the model's defaults first, since a
        pysimlin ``Sim`` keeps them across ``reset()``.
        """
        return self.run_overrides(build_spec(self._engine.info, params).overrides())

    def run_overrides(self, overrides: Overrides) -> dict[str, np.ndarray]:
        """Run with checked overrides (canonical names, element tuples)."""
        info = self._engine.info
        flat = self._engine._flat(overrides)
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
