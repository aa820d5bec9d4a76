"""Run scenarios: model file + scenario -> tidy results.

>>> from sd_model.run import load_engine, run_scenario
>>> from sd_model.scenario import load_scenario
>>> engine = load_engine("simlin")                       # doctest: +SKIP
>>> ds = run_scenario(load_scenario("experiments/balanced.toml"), engine)  # doctest: +SKIP
>>> ds["GDP per Capita"].sel(Region="West", time=2015)   # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import xarray as xr

from .engines import Engine, get_engine
from .errors import ModelFileError
from .scenario import Scenario, validate

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "vensim" / "regional_finance_economy.mdl"
ENGINES = ("simlin", "pysd")
DEFAULT_ENGINE = "simlin"

#: Variables that summarise a run (used by plots, reports and the integration-error check).
KEY_INDICATORS = (
    "National GDP", "GDP per Capita", "GDP Share", "Population", "Loans", "Deposits",
    "Loan Share", "Theil Index", "Coefficient of Variation", "East West Ratio",
    "National Credit to GDP", "Net Migration", "Net Credit Outflow",
)


def load_engine(name: str = DEFAULT_ENGINE, model: str | Path | None = None) -> Engine:
    """Load the model once into the named engine ("simlin" or "pysd").

    Parameters
    ----------
    name : engine name. Default is "simlin".
    model : path of the ``.mdl`` file. Default is the shipped model.
    """
    path = Path(model) if model is not None else DEFAULT_MODEL
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found")
    return get_engine(name, path)


def run_scenario(scenario: Scenario, engine: Engine, outputs: Sequence[str] | None = None,
                 until: float | None = None) -> xr.Dataset:
    """Validate ``scenario`` against the engine's model and run it from a fresh state.

    Parameters
    ----------
    scenario : the scenario (its ``final_time`` applies unless ``until`` is given).
    engine : an engine from :func:`load_engine`.
    outputs : Vensim names to return; default all variables.
    until : final year, overriding the scenario's.

    Returns
    -------
    xarray.Dataset with dims time (years) and Region / Dest; attrs name the scenario,
    engine and model hash.
    """
    if until is not None:
        scenario = replace(scenario, final_time=float(until))
    valid = validate(scenario, engine.info)
    ds = engine.run(valid.params, final_time=valid.final_time, time_step=valid.time_step,
                    outputs=outputs)
    ds.attrs.update({"scenario": valid.name, "description": valid.description,
                     "engine": engine.name, "model_sha256": engine.info.sha256})
    return ds
