"""The pysimlin engine (Euler); its :class:`~sd_model.engines.base.Runner` reuses one compiled ``Sim``."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EngineError
from ..mdl import normalize_name
from ..parameters import cells
from ..runspec import RunSpec, Times, to_overrides
from .base import Engine, Overrides, PerMember, Runner, _shape


def simlin_name(name: str, cell: tuple[str, ...] = ()) -> str:
    """Pysimlin's name for a variable (element): lower case, spaces as ``_``."""
    base = "_".join(normalize_name(name).split())
    return f"{base}[{','.join(e.strip().lower() for e in cell)}]" if cell else base


class SimlinEngine(Engine):
    """pysimlin engine (Euler); :meth:`runner` reuses one compiled ``Sim`` for many runs."""

    name = "simlin"
    methods = ("euler", "rk4")

    def __init__(self, mdl_path: str | Path) -> None:
        super().__init__(mdl_path)
        try:
            import simlin
        except ImportError as exc:
            raise EngineError(f"pysimlin is not available (import simlin failed: {exc}); use --engine pysd") from None
        self._simlin: Any = simlin
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
                # pysimlin's clock adds TIME STEP once per step and saves a point only while it is <= stop:
                # with a step that is not a binary fraction it can pass FINAL TIME by rounding (1/18 year
                # from 1978 reaches 2100 + 2e-10) and, saving every step, lose the last point. A stop a
                # millionth of a step later keeps that point and can add no other (the next is a step away).
                self._model.project.set_sim_specs(start=times.initial, stop=times.final + 1e-6 * times.dt,
                                                  dt=times.dt, save_step=times.saveper, sim_method=times.method)
            except self._simlin.SimlinError as exc:
                # pysimlin re-checks the whole model here: a structural error surfaces now
                raise EngineError(f"pysimlin cannot simulate {self.mdl_path}: {exc}") from None
            self._specs = specs

    def _flat(self, overrides: Overrides) -> dict[str, float]:
        """Pysimlin's name of every overridden constant or element -> its value."""
        return {simlin_name(name, cell): v for name, value in overrides.items()
                for cell, v in (value.items() if isinstance(value, dict) else [((), value)])}

    def _simulate(self, overrides: Overrides, names: list[str],
                  times: Times) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return self._compile(names, times)(overrides)

    def runner(self, spec: RunSpec) -> Runner:
        """Runs many members through one compiled pysimlin ``Sim`` with ``spec``'s outputs and times."""
        run = self._compile(list(spec.outputs), self._check(spec))
        return PerMember(lambda params: run(to_overrides(params))[1], self.info)

    def _compile(self, names: list[str], times: Times) -> Callable[[Overrides], tuple[np.ndarray, dict[str, Any]]]:
        """One compiled ``Sim`` as a function: overrides -> (saved times, {name: array (time, *dims)}).

        The time settings are fixed when the ``Sim`` is made (it keeps the specs it was created
        with). Values set for one run are restored to the model's defaults before the next,
        since a ``Sim`` keeps them across ``reset()``.
        """
        self._set_specs(times)
        try:
            sim = self._model.simulate(enable_ltm=False)
        except self._simlin.SimlinError as exc:
            raise EngineError(f"pysimlin could not compile {self.mdl_path}: {exc}") from None
        columns = {n: [simlin_name(n, c) for c in cells(self.info, self.info.variables[n])] for n in names}
        defaults = self._flat(to_overrides({n: v.default for n, v in self.info.constants().items()}))
        dirty: set[str] = set()

        def run(overrides: Overrides) -> tuple[np.ndarray, dict[str, Any]]:
            flat = self._flat(overrides)
            try:
                sim.reset()
                for key in dirty - flat.keys():
                    sim.set_value(key, defaults[key])
                for key, value in flat.items():
                    sim.set_value(key, value)
                dirty.clear()
                dirty.update(flat)
                sim.run_to_end()
                saved = np.asarray(sim.get_series("time"), dtype=float)
                out = {}
                for name, keys in columns.items():
                    series = np.column_stack([sim.get_series(k) for k in keys])
                    out[name] = series.reshape(len(series), *_shape(self.info, self.info.variables[name]))
            except self._simlin.SimlinError as exc:
                raise EngineError(f"pysimlin failed to run {self.mdl_path}: {exc}") from None
            if len(saved) != times.n:
                raise EngineError(f"pysimlin saved {len(saved)} time points, expected {times.n}")
            return saved, out

        return run
