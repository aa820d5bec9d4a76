"""Run scenarios: model file + scenario -> tidy results.

>>> from sd_model.run import load_engine, run_scenario
>>> from sd_model.scenario import load_scenario
>>> engine = load_engine("simlin")                       # doctest: +SKIP
>>> ds = run_scenario(load_scenario("experiments/balanced.toml"), engine)  # doctest: +SKIP
>>> ds["GDP per Capita"].sel(Region="West", time=2015)   # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import xarray as xr

from .engines import DEFAULT_ENGINE, Engine, get_engine
from .errors import ModelFileError
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
    path = Path(model) if model is not None else DEFAULT_MODEL
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found")
    return get_engine(name, path)


def run(spec: RunSpec, engine: Engine) -> xr.Dataset:
    """Run a checked :class:`~sd_model.runspec.RunSpec` from a fresh state; attrs name the scenario and engine."""
    ds = engine.simulate(spec)
    ds.attrs.update({"scenario": spec.name, "description": spec.description,
                     "engine": engine.name, "model_sha256": engine.info.sha256})
    return ds


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
    if isinstance(scenario, RunSpec):
        return run(scenario, engine)
    return run(scenario.resolve(engine.info, outputs, until), engine)
