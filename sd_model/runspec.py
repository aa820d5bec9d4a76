"""A run specification: what one simulation runs, checked against the model once.

:meth:`sd_model.scenario.Scenario.resolve` (or :func:`build_spec` for plain parameters) gives a
frozen :class:`RunSpec`: canonical parameters, time settings and outputs. Engines, the
ensemble, calibration and the checks take a RunSpec and never validate again.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from .errors import SDModelError
from .mdl import ModelInfo
from .parameters import ParamValue, resolve_params

__all__ = ["Times", "RunSpec", "build_spec", "resolve_outputs", "model_times"]

#: Integration methods an engine may be asked for (PySD and the batch engine only have Euler).
METHODS = ("euler", "rk4")


@dataclass(frozen=True)
class Times:
    """Time settings of one run (Year); ``n`` is the number of saved points."""

    initial: float
    final: float
    dt: float
    saveper: float
    method: str = "euler"

    @property
    def n(self) -> int:
        """Number of saved time points, INITIAL TIME included."""
        return int(math.floor((self.final - self.initial) / self.saveper + 1e-9)) + 1

    def coords(self) -> np.ndarray:
        """Saved times, computed the same way for every engine."""
        return self.initial + self.saveper * np.arange(self.n)


def model_times(info: ModelInfo, final_time: float | None = None, time_step: float | None = None) -> Times:
    """The model's time settings with optional FINAL TIME and TIME STEP overrides.

    SAVEPER follows TIME STEP only if the model defines ``SAVEPER = TIME STEP``.
    """
    dt = info.time_step if time_step is None else float(time_step)
    final = info.final_time if final_time is None else float(final_time)
    saveper = dt if info.saveper_is_time_step else info.saveper
    if not dt > 0:
        raise SDModelError(f"time_step must be positive, got {dt}")
    if not final >= info.initial_time:
        raise SDModelError(f"final_time {final} is before INITIAL TIME {info.initial_time}")
    if abs(saveper / dt - round(saveper / dt)) > 1e-9 or saveper < dt:
        raise SDModelError(f"SAVEPER {saveper} is not a multiple of time_step {dt}")
    steps = (final - info.initial_time) / dt
    # a run that is not a whole number of steps ends differently in each engine (20 years at 0.3 saved
    # every step: PySD saved 68 points, pysimlin 67 ending at 2019.8), so it is refused, not left to disagree
    if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
        raise SDModelError(f"the run from INITIAL TIME {info.initial_time:g} to final_time {final:g} is "
                           f"{steps:.6g} steps of time_step {dt:g}, not a whole number; choose a final_time or "
                           f"a time_step that makes it one")
    return Times(info.initial_time, final, dt, saveper)


def resolve_outputs(info: ModelInfo, outputs: Sequence[str] | None) -> tuple[str, ...]:
    """Canonical names of the requested outputs (every non-lookup variable if None)."""
    if outputs is None:
        return tuple(n for n, v in info.variables.items() if v.kind != "lookup")
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
    return tuple(names)


@dataclass(frozen=True)
class RunSpec:
    """One validated run: canonical parameters, time settings and outputs of one model.

    Attributes
    ----------
    params : mapping
        Canonical constant name -> float, or -> {element key: float} (only the elements set).
    times : Times
        Initial and final time, time step, save period (Year) and integration method.
    outputs : tuple of str
        Canonical names of the variables to return.
    model_sha256 : str
        Hash of the ``.mdl`` the spec was checked against.
    name, description : str
        Of the scenario it came from ("default" for plain parameters).
    """

    params: Mapping[str, ParamValue]
    times: Times
    outputs: tuple[str, ...]
    model_sha256: str
    name: str = "default"
    description: str = ""
    scenario: Any = field(default=None, compare=False)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # picklable for worker processes (a mappingproxy is not); the scenario stays behind
        plain = {k: dict(v) if isinstance(v, Mapping) else v for k, v in self.params.items()}
        return (RunSpec, (plain, self.times, self.outputs, self.model_sha256, self.name, self.description))

    def __post_init__(self) -> None:
        frozen = {k: MappingProxyType(dict(v)) if isinstance(v, Mapping) else v for k, v in self.params.items()}
        object.__setattr__(self, "params", MappingProxyType(frozen))

    def with_times(self, **changes: Any) -> RunSpec:
        """A copy with other time settings (``final``, ``dt``, ``saveper``, ``method``)."""
        return replace(self, times=replace(self.times, **changes))

    def every_step(self) -> RunSpec:
        """A copy saving every TIME STEP (stock-flow balances checked step by step)."""
        return self.with_times(saveper=self.times.dt)

    def overrides(self) -> dict[str, float | dict[tuple[str, ...], float]]:
        """Parameters keyed by canonical name and element tuple, as the engines set them."""
        return to_overrides(self.params)


def to_overrides(params: Mapping[str, Any]) -> dict[str, float | dict[tuple[str, ...], float]]:
    """Checked scenario-style params keyed by canonical name and element tuple, as the engines set them."""
    return {k: ({tuple(e.split(",")): float(x) for e, x in v.items()} if isinstance(v, Mapping) else float(v))
            for k, v in params.items()}


def build_spec(info: ModelInfo, params: Mapping[str, Any] | None = None, *, final_time: float | None = None,
               time_step: float | None = None, outputs: Sequence[str] | None = None, where: str = "",
               check_range: bool = False, name: str = "default", description: str = "",
               scenario: Any = None) -> RunSpec:
    """Check parameters, time settings and outputs against the model and return a :class:`RunSpec`.

    ``params`` are as for :func:`sd_model.parameters.resolve_params`; a bare number for a
    subscripted constant sets every element. Raises :class:`SDModelError` (or a subclass)
    naming the bad input.
    """
    values = resolve_params(info, params, where, check_range=check_range)
    return RunSpec(values, model_times(info, final_time, time_step), resolve_outputs(info, outputs), info.sha256,
                   name, description, scenario)
