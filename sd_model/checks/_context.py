"""Shared state of one battery run: engines (loaded once), the baseline run, measurements.

Two run variants exist only for the checks: ``every_step`` saves every TIME STEP (so that
stock-flow balances can be checked step by step, where SAVEPER = 1 would hide them) and
``rk4`` integrates with RK4 (pysimlin; the integration-error check).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..engines import Engine
from ..mdl import ModelInfo, normalize_name
from ..run import load_engine, run
from ..runspec import RunSpec
from ..parameters import lever_names
from ..scenario import Scenario, load_scenario
from .spec import CheckSpec, CheckSpecError


@dataclass
class Context:
    """What the checks of one battery run share.

    Parameters
    ----------
    model : path of the ``.mdl`` file.
    engine : engine for the simulation checks ("simlin" or "pysd").
    spec : the declarations (thresholds, cases).
    """

    model: Path
    engine: str
    spec: CheckSpec
    _cache: dict[str, Any] = field(default_factory=dict)

    def get_engine(self, name: str | None = None) -> Engine:
        """The engine ``name`` (default: the battery's), loaded once."""
        key = name or self.engine
        return self.cached(f"engine/{key}", lambda: load_engine(key, self.model))

    def spec_of(self, scenario: Scenario, variant: str = "default", outputs: list[str] | None = None) -> RunSpec:
        """``scenario`` checked once, in ``variant`` default / every_step (saving every TIME STEP) / rk4."""
        spec = scenario.resolve(self.info, outputs)
        return {"default": spec, "every_step": spec.every_step(),
                "rk4": spec.with_times(method="rk4")}[variant]

    def run(self, scenario: Scenario, variant: str = "default", engine: str | None = None,
            outputs: list[str] | None = None) -> xr.Dataset:
        """Run ``scenario`` with the engine ``engine`` (default: the battery's) in ``variant``."""
        return run(self.spec_of(scenario, variant, outputs), self.get_engine(engine), finite=False)  # judged by checks

    @property
    def info(self) -> ModelInfo:
        """Metadata of the model under test."""
        return self.get_engine().info

    def baseline_scenario(self) -> Scenario:
        """The declared baseline scenario."""
        return load_scenario(self.spec.baseline)

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        """``make()``, computed once per battery run under ``key``."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def baseline(self, variant: str = "default") -> xr.Dataset:
        """The baseline run to the scenario's final time (all variables), cached."""
        return self.cached(f"baseline/{variant}", lambda: self.run(self.baseline_scenario(), variant))


def all_levers_on(info: ModelInfo, start: float, end: float | None = None) -> dict[str, float]:
    """Parameters switching every strategy lever on at intensity 1 from ``start`` (and off at ``end``).

    Levers are found by name (``<lever> Start Year`` + ``<lever> Intensity``), so a lever added
    to the model is exercised without editing the checks. Subscripted lever constants get the
    value in every element (the Balanced Programme then also runs in the East).
    """
    params: dict[str, float] = {}
    for lever in lever_names(info):
        params.update({f"{lever} Start Year": float(start), f"{lever} Intensity": 1.0})
        if end is not None and f"{lever} End Year" in info.variables:
            params[f"{lever} End Year"] = float(end)
    return params


# ---------------------------------------------------------------- measurements


def max_relative_change(a: xr.Dataset, b: xr.Dataset, names: tuple[str, ...],
                        signed: tuple[str, ...]) -> tuple[float, str]:
    """Largest relative difference of ``a`` from the reference ``b`` over the named variables.

    Pointwise |a-b|/|b|, except for variables in ``signed`` (they cross zero), measured against
    the peak magnitude of the reference series per element. Returns (value, where) with
    ``where`` naming the variable, element and year.
    """
    worst, where = 0.0, ""
    for name in names:
        x, y = a[name], b[name].sel(time=a.time)
        scale = abs(y).max("time") if name in signed else abs(y)
        rel = (abs(x - y) / scale.clip(min=1e-12)).transpose("time", ...)
        values = rel.values
        if not np.isfinite(values).all():
            return float("inf"), f"{name} (not finite)"
        if values.size and float(values.max()) > worst:
            worst = float(values.max())
            idx = np.unravel_index(int(values.argmax()), values.shape)
            labels = [f"{rel[d].values[i]}" for d, i in zip(rel.dims[1:], idx[1:])]
            year = float(rel.time.values[idx[0]])
            where = f"{name}{'[' + ','.join(labels) + ']' if labels else ''} in {year:g}"
    return worst, where


def _dependencies(info: ModelInfo) -> dict[str, set[str]]:
    """Variables each variable's equation names (by whole-word match of normalised names)."""
    patterns = {n: re.compile(r"(?<![\w])" + re.escape(normalize_name(n)) + r"(?![\w])") for n in info.variables}
    deps: dict[str, set[str]] = {}
    for name, var in info.variables.items():
        text = normalize_name(var.equation)
        deps[name] = {m for m, pat in patterns.items() if m != name and pat.search(text)}
    return deps


def integrity_problems(ds: xr.Dataset, info: ModelInfo, signed_stocks: tuple[str, ...] = ()) -> list[str]:
    """Non-finite values and negative stocks of a run, each named; empty if none.

    For non-finite values the message gives the first saved time and the variables that turn
    non-finite first while every variable their equation uses is still finite (the likely
    origin), else the first few in model order.
    """
    problems: list[str] = []
    bad = {n: da for n, da in ds.data_vars.items() if not np.isfinite(da.values).all()}
    if bad:
        first_t = {n: float(da.time.values[np.argmax((~np.isfinite(da.values)).reshape(da.sizes["time"], -1)
                                                        .any(axis=1))]) for n, da in bad.items()}
        t0 = min(first_t.values())
        at_t0 = {n for n, t in first_t.items() if t == t0}
        deps = _dependencies(info)
        order = [str(n) for n in ds.data_vars]
        roots = [str(n) for n in at_t0 if not (deps.get(str(n), set()) & at_t0)] or [str(n) for n in at_t0]
        roots = sorted(roots, key=order.index)
        problems.append(f"non-finite values in {len(bad)} variables from {t0:g}, starting at "
                        f"{', '.join(roots[:4])}{' ...' if len(roots) > 4 else ''}")
    for name in info.stocks():
        if name in signed_stocks or name not in ds:
            continue
        da = ds[name]
        values = np.where(np.isfinite(da.values), da.values, 0.0)
        if values.min() < 0:
            idx = np.unravel_index(int(values.argmin()), values.shape)
            labels = [str(da[d].values[i]) for d, i in zip(da.dims[1:], idx[1:])]
            problems.append(f"negative stock {name}{'[' + ','.join(labels) + ']' if labels else ''}: "
                            f"{values.min():.4g} in {float(da.time.values[idx[0]]):g}")
    return problems


def pick(ds: xr.Dataset, info: ModelInfo, name: str, *, year: float | None = None, region: str | None = None,
         dest: str | None = None) -> xr.DataArray:
    """Select a variable (canonical name looked up in ``info``) by year and element names."""
    var = info.get(name)
    da = ds[var.name]
    for dim, element in (("Region", region), ("Dest", dest)):
        if element is not None:
            if dim not in da.dims:
                raise CheckSpecError(f"{var.name!r} has no {dim} dimension; remove its {dim.lower()}")
            matches = [e for e in da[dim].values if str(e).lower() == element.lower()]
            if not matches:
                raise CheckSpecError(f"{var.name!r} has no element {element!r} in {dim}")
            da = da.sel({dim: matches[0]})
    if year is not None:
        da = da.sel(time=year)
    return da

