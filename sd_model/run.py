"""Run scenarios: model file + scenario -> tidy results.

>>> from sd_model.run import load_engine, run_scenario
>>> from sd_model.scenario import load_scenario
>>> engine = load_engine("simlin")                       # doctest: +SKIP
>>> ds = run_scenario(load_scenario("experiments/balanced.toml"), engine)  # doctest: +SKIP
>>> ds["GDP per Capita"].sel(Region="West", time=2015)   # doctest: +SKIP
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from .engines import DEFAULT_ENGINE, Engine, get_engine
from .errors import EngineError, ModelFileError, ScenarioError
from .resources import DEFAULT_MODEL
from .runspec import RunSpec
from .scenario import Scenario


#: Variables that summarise a run (used by plots, reports and the integration-error check).
KEY_INDICATORS = (
    "National GDP", "GDP per Capita", "GDP Share", "Population", "Loans", "Deposits",
    "Loan Share", "Theil Index", "Coefficient of Variation", "East West Ratio",
    "National Credit to GDP", "Net Migration", "Net Credit Outflow",
)


def load_engine(name: str = DEFAULT_ENGINE, model: str | Path | None = None) -> Engine:
    """Load the model once into the named engine (see :data:`sd_model.engines.ENGINES`).

    Parameters
    ----------
    name : engine name. Default is "simlin".
    model : path of the ``.mdl`` file. Default is the shipped model.
    """
    if model is not None and not isinstance(model, (str, os.PathLike)):
        raise ModelFileError(f"model must be the path of a Vensim .mdl file, got {type(model).__name__} {model!r}")
    return get_engine(name, Path(model) if model is not None else DEFAULT_MODEL)  # a missing file fails there


def run(spec: RunSpec, engine: Engine, finite: bool = True) -> xr.Dataset:
    """Run a checked :class:`~sd_model.runspec.RunSpec` from a fresh state; attrs name the scenario and engine.

    With ``finite`` (the default) results holding NaN or infinite values are refused
    (:class:`EngineError` naming the first variable, element and year, see :func:`check_finite`);
    ``finite=False`` returns them, for checks that judge extreme cases themselves.
    """
    if not isinstance(engine, Engine):
        raise EngineError(f"run takes an engine from load_engine(), got {type(engine).__name__}")
    if not isinstance(spec, RunSpec):
        raise ScenarioError(f"run takes a RunSpec (Scenario.resolve(info)) or, through run_scenario, a Scenario "
                            f"(see sd_model.scenario.load_scenario), got {type(spec).__name__}")
    ds = engine.simulate(spec)
    ds.attrs.update({"scenario": spec.name, "description": spec.description,
                     "engine": engine.name, "model_sha256": engine.info.sha256})
    if finite:
        check_finite(ds, where=spec.name)
    return ds


def check_finite(ds: xr.Dataset, where: str) -> None:
    """Raise :class:`EngineError` naming the first variable, element and year of a NaN or inf in ``ds``."""
    first: tuple[float, str] | None = None
    count = 0
    for name, da in ds.data_vars.items():
        bad = da.copy(data=~np.isfinite(np.asarray(da.values, dtype=float)))
        if not bad.any():
            continue
        count += int(bad.sum())
        if "time" in bad.dims:  # the earliest year with a bad value of this variable, then its first element
            bad = bad.transpose("time", ...)
        cell = dict(zip(bad.dims, np.unravel_index(int(np.argmax(bad.values)), bad.shape)))
        year = float(ds["time"].values[cell.pop("time")]) if "time" in cell else math.nan
        elements = ",".join(str(da[d].values[k]) for d, k in cell.items())
        label = f"{name}[{elements}]" if elements else str(name)
        if first is None or year < first[0]:
            first = (year, label)
    if first is not None:
        raise EngineError(f"{where}: the run produced {count:,} NaN or infinite values, first {first[1]!r} in "
                          f"{first[0]:g}; the parameters are outside what the model can run (see the declared "
                          "ranges in 'sd-model info')")


def run_scenario(scenario: Scenario | RunSpec, engine: Engine, outputs: Sequence[str] | None = None,
                 until: float | None = None) -> xr.Dataset:
    """Check ``scenario`` against the engine's model once and run it from a fresh state.

    Parameters
    ----------
    scenario : Scenario or RunSpec
        The scenario (its ``final_time`` applies unless ``until`` is given), or a spec from
        :meth:`Scenario.resolve <sd_model.scenario.Scenario.resolve>` (run as it is).
    engine : Engine
        From :func:`load_engine`.
    outputs : sequence of str, optional
        Vensim names to return. Default is all variables.
    until : float, optional
        Final year, overriding the scenario's.

    Returns
    -------
    xarray.Dataset
        Dims time (years) and Region / Dest; attrs name the scenario, engine and model hash.
    """
    if isinstance(scenario, Scenario) and isinstance(engine, Engine):
        scenario = scenario.resolve(engine.info, outputs, until)
    return run(scenario, engine)  # run names a wrong argument's type
