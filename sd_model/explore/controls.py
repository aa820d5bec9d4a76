"""The explorer's controls, read from the model: one per lever setting and per uncertain parameter.

Nothing here names a lever. Levers are the constants ``<lever> Start Year`` that have a
``<lever> Intensity`` (:func:`sd_model.parameters.lever_names`); each lever gets a control for its
start year, its intensity and its end year where the model has ``<lever> End Year``, one per
element where the constant is subscripted. The uncertain parameters are the entries of a ranges
file (``experiments/ranges/default.toml``, the ones ensembles vary). Every control takes its
units, its valid range (the range the model declares) and its comment from the ``.mdl`` file.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product

from ..errors import SDModelError, check_number
from ..mdl import ModelInfo
from ..parameters import Parameter
from ..parameters import ParamValue, lever_names
from ..scenario import Scenario

#: Lever settings in the order they are shown: constant suffix -> label.
_LEVER_SETTINGS = (("Start Year", "start year"), ("Intensity", "intensity"), ("End Year", "end year"))
PARAMETER_GROUP = "Uncertain parameters"


@dataclass(frozen=True)
class Control:
    """One number the page lets the user set.

    Attributes
    ----------
    key : ``"Name"`` or ``"Name[Element]"`` (the column syntax of ranges files).
    name : canonical Vensim constant name.
    element : element of a subscripted constant, or None for a scalar (or every element).
    group : heading it is shown under (the lever's name, or :data:`PARAMETER_GROUP`).
    label : short label within the group, e.g. ``"start year, West"``.
    units : the constant's units, as the model declares them.
    lo, hi : valid range (the range the model declares).
    step : slider step (1 for years).
    comment : the constant's comment in the model (what it is, where its value comes from).
    plausible : for uncertain parameters, the range of the ranges file; else None.
    """

    key: str
    name: str
    element: str | None
    group: str
    label: str
    units: str
    lo: float
    hi: float
    step: float
    comment: str
    plausible: tuple[float, float] | None = None

    def check(self, value: object) -> str | None:
        """None if ``value`` is a finite number in [lo, hi], else a one-line message with the valid range."""
        valid = f"valid: {self.lo:g} to {self.hi:g} {self.units}".rstrip()
        try:
            number = check_number(value, self.key)
        except SDModelError as exc:
            return f"{exc}; {valid}"
        if not self.lo <= number <= self.hi:
            return f"{self.key} = {number:g} is outside the model's range; {valid}"
        return None


def _step(lo: float, hi: float, units: str) -> float:
    if units.strip().lower() == "year":
        return 1.0
    return 10.0 ** math.floor(math.log10((hi - lo) / 100.0)) if hi > lo else 1.0


def _bounds(info: ModelInfo, name: str) -> tuple[float, float]:
    lo, hi = info.variables[name].range
    if lo is None or hi is None:  # the slider needs both ends: widen around the default
        default = info.variables[name].default
        base = abs(next(iter(default.values())) if isinstance(default, Mapping) else default or 1.0) or 1.0
        lo = -10 * base if lo is None else lo
        hi = 10 * base if hi is None else hi
    return float(lo), float(hi)


def _make(info: ModelInfo, name: str, element: str | None, group: str, label: str,
          plausible: tuple[float, float] | None = None) -> Control:
    var = info.variables[name]
    lo, hi = _bounds(info, name)
    return Control(key=Parameter(name, None if element is None else (element,)).label, name=name, element=element,
                   group=group, label=label, units=var.units, lo=lo, hi=hi, step=_step(lo, hi, var.units),
                   comment=var.comment, plausible=plausible)


def lever_controls(info: ModelInfo) -> list[Control]:
    """Controls for every lever the model defines (start year, intensity, end year; per element)."""
    out: list[Control] = []
    for lever in lever_names(info):
        for suffix, label in _LEVER_SETTINGS:
            name = f"{lever} {suffix}"
            if name not in info.variables:
                continue
            var = info.variables[name]
            if not var.dims:
                out.append(_make(info, name, None, lever, label))
                continue
            for dim in var.dims[:1]:  # levers are subscripted by one range (Region)
                for element in info.subscripts[dim]:
                    out.append(_make(info, name, element, lever, f"{label}, {element}"))
    return out


def parameter_controls(info: ModelInfo, ranges: Mapping[str, tuple[float, float]]) -> list[Control]:
    """Controls for the uncertain parameters of a ranges file (``{"Name[Element]": (lo, hi)}``)."""
    out: list[Control] = []
    for column, pair in ranges.items():
        param = Parameter.parse(info, column)
        name, cell = param.name, param.cell
        dims = info.variables[name].dims
        # a whole subscripted constant in the ranges file gets one control per element: its
        # elements have their own defaults, which one shared control would overwrite
        cells = [cell] if cell is not None or not dims else list(product(*(info.subscripts[d] for d in dims)))
        for c in cells:
            element = None if c is None else ",".join(c)
            label = name if element is None else f"{name}, {element}"
            out.append(_make(info, name, element, PARAMETER_GROUP, label,
                             plausible=(float(pair[0]), float(pair[1]))))
    return out


def build_controls(info: ModelInfo, ranges: Mapping[str, tuple[float, float]]) -> tuple[Control, ...]:
    """Every control of the page: the levers, then the uncertain parameters (lever settings win a tie)."""
    levers = lever_controls(info)
    seen = {c.key for c in levers}
    return tuple(levers + [c for c in parameter_controls(info, ranges) if c.key not in seen])


def current_values(controls: Sequence[Control], scenario: Scenario, info: ModelInfo) -> dict[str, float]:
    """Value of every control in ``scenario`` (validated, canonical names), else the model's default."""
    out: dict[str, float] = {}
    for c in controls:
        default = info.variables[c.name].default
        value = scenario.params.get(c.name, default)
        if isinstance(value, Mapping):
            key = c.element if c.element is not None else next(iter(value))
            # an element the scenario does not set keeps the model's value
            value = value.get(key, default.get(key) if isinstance(default, Mapping) else default)
        out[c.key] = float(value)  # type: ignore[arg-type]
    return out


def check_values(controls: Sequence[Control], values: Mapping[str, object]) -> dict[str, str]:
    """Message per control key whose value is missing, not a number or out of range (empty if all valid)."""
    errors: dict[str, str] = {}
    for c in controls:
        message = c.check(values.get(c.key))
        if message:
            errors[c.key] = message
    return errors


def to_params(controls: Sequence[Control], values: Mapping[str, float]) -> dict[str, ParamValue]:
    """Scenario ``params`` for the controls' values: ``{name: value}`` or ``{name: {element: value}}``."""
    params: dict[str, ParamValue] = {}
    for c in controls:
        value = float(values[c.key])
        if c.element is None:
            params[c.name] = value
        else:
            table = params.setdefault(c.name, {})
            table[c.element] = value  # type: ignore[index]
    return params
