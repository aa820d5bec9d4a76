"""Model parameters: the one place that reads ``"Name"`` / ``"Name[El,...]"`` and checks it against the model.

A :class:`Parameter` is a model constant, or one element (cell) of a subscripted constant.
Scenarios, ranges files, parameter-set columns, calibration and priors, draws and the
engines all resolve names and values here, so every one of them gives the same message
for the same mistake (unknown name with close matches, a non-constant, an unknown
element, a value outside the range the ``.mdl`` declares).

>>> from sd_model.mdl import read_model_info
>>> info = read_model_info("vensim/regional_finance_economy.mdl")   # doctest: +SKIP
>>> Parameter.parse(info, "initial schooling[west]")                   # doctest: +SKIP
Parameter(name='Initial Schooling', cell=('West',))
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ScenarioError, UnknownNameError, check_number, did_you_mean, unknown_name
from .mdl import ModelInfo, Variable, normalize_name

__all__ = ["Parameter", "ParamValue", "constant", "resolve_params", "range_text", "outside", "element_keys", "cells",
           "element_tuple", "merge_params", "lever_names"]

#: A scenario-style value: a number, or {element key: number} for a subscripted constant.
ParamValue = float | Mapping[str, float]
_COLUMN = re.compile(r"^\s*(.*?)\s*(?:\[([^\]]*)\])?\s*$", re.DOTALL)


class UnknownElementError(UnknownNameError, ScenarioError):
    """An element (subscript value) the constant's dimension does not have."""


def _loc(where: str) -> str:
    return f"{where}: " if where else ""


def constant(info: ModelInfo, name: str, where: str = "", verb: str = "set") -> Variable:
    """The constant called ``name`` (case, ``_`` and spacing ignored).

    Raises
    ------
    UnknownNameError
        For a name the model does not define (close matches among the constants suggested).
    ScenarioError
        For a variable that is not a constant (for a stock, naming its ``Initial ...`` constants).
    """
    key = info._index.get(normalize_name(str(name)))
    if key is None:
        lever = _misspelled_lever(info, str(name))
        if lever is not None:
            raise unknown_name("lever", lever, lever_names(info), where)
        raise unknown_name("parameter", str(name), info.constants(), where)
    var = info.variables[key]
    if var.kind != "constant":
        article = "an" if var.kind[0] in "aeiou" else "a"
        equation = normalize_name(var.equation)
        init = [n for n in info.constants() if var.kind == "stock" and normalize_name(n) in equation]
        hint = f" (for {var.name!r}: {', '.join(repr(n) for n in init)})" if init else ""
        raise ScenarioError(f"{_loc(where)}{var.name!r} is {article} {var.kind}, not a constant; only constants "
                            f"can be {verb}, and initial stock values are set through their 'Initial ...' "
                            f"constants{hint}")
    return var


_LEVER_SUFFIXES = (" Start Year", " End Year", " Intensity")


def lever_names(info: ModelInfo) -> list[str]:
    """Names of the strategy levers: constants ``<lever> Start Year`` with a ``<lever> Intensity``."""
    names = set(info.constants())
    return sorted(n[: -len(" Start Year")] for n in names
                  if n.endswith(" Start Year") and f"{n[: -len(' Start Year')]} Intensity" in names)


def _misspelled_lever(info: ModelInfo, name: str) -> str | None:
    """The lever part of ``name`` ("Aids" of "Aids Start Year") if it names no lever, else None."""
    for suffix in _LEVER_SUFFIXES:
        if name.endswith(suffix):
            lever = name[: -len(suffix)]
            return lever if lever not in lever_names(info) else None
    return None


def cells(info: ModelInfo, var: Variable) -> list[tuple[str, ...]]:
    """All element tuples of ``var`` in row-major order (``[()]`` for a scalar)."""
    return list(itertools.product(*[info.subscripts[d] for d in var.dims]))


def element_keys(info: ModelInfo, var: Variable) -> list[str]:
    """Element keys of a subscripted constant as scenarios write them (``"East"``, ``"East,West"``)."""
    return [",".join(c) for c in cells(info, var)] if var.dims else []


def element_tuple(info: ModelInfo, var: Variable, key: str, where: str = "") -> tuple[str, ...]:
    """Match ``"east"`` / ``"East, West"`` to the element tuple of ``var`` (case and spaces ignored)."""
    parts = [p.strip() for p in str(key).split(",")]
    if not var.dims:
        raise ScenarioError(f"{_loc(where)}{var.name!r} is a scalar constant; give a number, not {key!r}")
    if len(parts) != len(var.dims):
        raise ScenarioError(f"{_loc(where)}{var.name!r} has {len(var.dims)} subscript(s) {list(var.dims)}, "
                            f"got {len(parts)} in {key!r}")
    out = []
    for dim, part in zip(var.dims, parts):
        elements = info.subscripts[dim]
        found = next((e for e in elements if e.replace(" ", "").lower() == part.replace(" ", "").lower()), None)
        if found is None:
            tail = did_you_mean(part, elements, f"valid: {', '.join(elements)}", n=1)
            raise UnknownElementError(f"{_loc(where)}{var.name!r}: {dim} has no element {part!r}{tail}")
        out.append(found)
    return tuple(out)


def range_text(var: Variable) -> str:
    """The declared range of ``var`` with its units, e.g. ``"[0.3, 0.7] Dmnl"``."""
    lo, hi = var.range
    return f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}] {var.units}".rstrip()


def outside(var: Variable, value: Any) -> Any:
    """True where ``value`` (a number or array) lies outside the range the model declares for ``var``."""
    lo, hi = var.range
    value = np.asarray(value, dtype=float)
    bad = (value < (-np.inf if lo is None else lo)) | (value > (np.inf if hi is None else hi))
    return bad if bad.ndim else bool(bad)


@dataclass(frozen=True)
class Parameter:
    """A model constant, or one element of a subscripted constant.

    Attributes
    ----------
    name : str
        Canonical Vensim name of the constant.
    cell : tuple of str or None
        The element (one name per dimension), or None for the whole constant (every element).
    """

    name: str
    cell: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, info: ModelInfo, text: str, where: str = "", verb: str = "sampled") -> Parameter:
        """Resolve ``"Name"`` or ``"Name[El,...]"`` against the model (names and elements canonicalised).

        Raises :class:`UnknownNameError` / :class:`ScenarioError` for an unknown name or
        element (with close matches), a non-constant, or elements on a scalar.
        """
        match = _COLUMN.match(str(text))
        base, inner = (match.group(1), match.group(2)) if match else (str(text), None)
        var = constant(info, base, where, verb)
        if inner is None:
            return cls(var.name)
        return cls(var.name, element_tuple(info, var, inner, f"{_loc(where)}{text!r}".rstrip(": ")))

    @property
    def label(self) -> str:
        """Canonical label: ``"Name"`` or ``"Name[East]"`` / ``"Name[East,West]"``."""
        return self.name if self.cell is None else f"{self.name}[{','.join(self.cell)}]"

    def variable(self, info: ModelInfo) -> Variable:
        """The model's declaration of this constant."""
        return info.variables[self.name]

    def cells(self, info: ModelInfo) -> list[tuple[str, ...]]:
        """The element tuples this parameter sets (``[()]`` for a scalar)."""
        return [self.cell] if self.cell is not None else cells(info, self.variable(info))

    def overlaps(self, other: Parameter) -> bool:
        """True if both set some element of the same constant."""
        return self.name == other.name and (self.cell is None or other.cell is None or self.cell == other.cell)

    def as_params(self, info: ModelInfo, value: float) -> dict[str, ParamValue]:
        """Scenario-style params setting this parameter to ``value``."""
        var = self.variable(info)
        if not var.dims:
            return {self.name: float(value)}
        return {self.name: {",".join(c): float(value) for c in self.cells(info)}}


def merge_params(base: Mapping[str, ParamValue], over: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
    """Lay ``over`` on ``base``; subscripted values merge element by element."""
    out: dict[str, ParamValue] = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in base.items()}
    for k, v in over.items():
        under = out.get(k)
        out[k] = {**(under if isinstance(under, Mapping) else {}), **v} if isinstance(v, Mapping) else v
    return out


def resolve_params(info: ModelInfo, params: Mapping[str, Any] | None, where: str = "",
                   check_range: bool = True) -> dict[str, ParamValue]:
    """Check scenario-style ``params`` against the model and return them with canonical names.

    Parameters
    ----------
    info : ModelInfo
        The model.
    params : mapping
        Vensim constant name (any case or ``_`` spelling) -> number, or -> {element: number}
        for some elements of a subscripted constant (2-D elements as ``"East,West"``); a bare
        number sets every element.
    where : str
        Names the file or context in messages. Default is "".
    check_range : bool
        Also refuse values outside the range the model declares. Default is True.

    Returns
    -------
    dict
        Canonical name -> float (scalars) or {canonical element key: float} (arrays).
    """
    out: dict[str, ParamValue] = {}
    for raw, value in (params or {}).items():
        var = constant(info, raw, where)

        def check(v: Any, label: str, var: Variable = var) -> float:
            number = check_number(v, f"value of {label!r}", where)
            if check_range and outside(var, number):
                raise ScenarioError(f"{_loc(where)}{label} = {number:g} is outside the range the model declares, "
                                    f"{range_text(var)}")
            return number

        if isinstance(value, Mapping):
            if not var.dims:
                raise ScenarioError(f"{_loc(where)}{var.name!r} is a scalar constant; give a number, not a table")
            out[var.name] = {(cell := ",".join(element_tuple(info, var, key, where))): check(v, f"{var.name}[{cell}]")
                             for key, v in value.items()}
        elif var.dims:
            out[var.name] = {k: check(value, f"{var.name}[{k}]") for k in element_keys(info, var)}
        else:
            out[var.name] = check(value, var.name)
    return out
