"""What the page computes, without the page: scenario from control values -> run -> figures.

>>> from sd_model.explore.explorer import open_explorer, redraw    # doctest: +SKIP
>>> ex = open_explorer(load_engine("simlin"), load_scenario("experiments/historical.toml"))  # doctest: +SKIP
>>> values = dict(ex.start_values); values["Aid Intensity"] = 1.0   # doctest: +SKIP
>>> figs = redraw(ex, ex.base, values)                          # doctest: +SKIP

The page keeps no state of its own on the server: every redraw is a function of the base
scenario (the one the explorer was started with, or the last file loaded) and the control
values the browser sends. The engine is the only thing shared between requests; a lock keeps
one run at a time in it.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import xarray as xr

from ..data import load_observations
from ..engines import Engine
from ..errors import EngineError
from ..resources import EXPERIMENTS_DIR
from ..run import run_scenario
from ..sampling import load_ranges
from ..scenario import Scenario, validate
from .controls import Control, build_controls, check_values, current_values, to_params
from ..observed import observed_indicators
from .figures import Chart, available_charts, figure, fixed_traces, read_bands

#: Uncertain parameters shown by default: the ranges ensembles sample.
DEFAULT_RANGES = EXPERIMENTS_DIR / "ranges" / "default.toml"


@dataclass(frozen=True)
class Explorer:
    """Everything a redraw needs that does not change while the page is open.

    Attributes
    ----------
    engine : the loaded engine (its model gives controls, units and ranges).
    base : the validated scenario the page opened with (also the baseline shown dashed).
    controls : the page's controls, from the model and the ranges file.
    charts : the charts the model's variables allow.
    baseline : results of ``base`` (chart variables only).
    observed : observed series per variable (:func:`sd_model.observed.observed_indicators`).
    bands : quantile bands per variable from an ensemble file, or empty.
    bands_source : the bands file, or None.
    fixed : per chart id, the traces no control changes (:func:`~sd_model.explore.figures.fixed_traces`).
    """

    engine: Engine
    base: Scenario
    controls: tuple[Control, ...]
    charts: tuple[Chart, ...]
    baseline: xr.Dataset
    observed: Mapping[str, xr.DataArray]
    bands: Mapping[str, tuple[xr.DataArray, xr.DataArray]]
    bands_source: str | None = None
    fixed: Mapping[str, Mapping[str | None, list[dict]]] = field(default_factory=dict, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)
    #: engine runners by time settings, made on first use (a per-process compile cache, never keyed by values)
    runners: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def outputs(self) -> list[str]:
        """Model variables the charts show (the only ones a redraw asks the engine for)."""
        return [c.variable for c in self.charts]

    @property
    def start_values(self) -> dict[str, float]:
        """Control values of the base scenario (the page's initial state)."""
        return current_values(self.controls, self.base, self.engine.info)


def open_explorer(engine: Engine, base: Scenario, ranges_file: str | Path | None = DEFAULT_RANGES,
                  bands_file: str | Path | None = None, data_dir: str | Path | None = None) -> Explorer:
    """Validate ``base``, read the controls, run the baseline, load history and bands.

    Parameters
    ----------
    engine : from :func:`sd_model.run.load_engine`.
    base : scenario the page starts from and compares with (e.g. the historical baseline).
    ranges_file : ranges TOML naming the uncertain parameters shown; None shows levers only.
    bands_file : optional ensemble NetCDF (see :func:`~sd_model.explore.figures.read_bands`).
    data_dir : historical data folder (default ``data/raw``).
    """
    info = engine.info
    base = validate(base, info)
    ranges = load_ranges(ranges_file, info) if ranges_file is not None else {}
    charts = available_charts(info)
    outputs = [c.variable for c in charts]
    baseline = run_scenario(base, engine, outputs=outputs)
    bands = read_bands(bands_file, outputs) if bands_file is not None else {}
    observed = observed_indicators(load_observations(data_dir))
    fixed = {c.id: fixed_traces(c, baseline, f"baseline ({base.name})", observed, bands) for c in charts}
    return Explorer(engine=engine, base=base, controls=build_controls(info, ranges), charts=charts,
                    baseline=baseline, observed=observed, bands=bands,
                    bands_source=None if bands_file is None else str(bands_file), fixed=fixed)


def page_scenario(explorer: Explorer, base: Scenario, values: Mapping[str, float], name: str | None = None) -> Scenario:
    """The scenario the page shows: ``base`` with the controls' values laid over it (validated).

    Raises
    ------
    ScenarioError
        For a value outside the model's range or a name that cannot be a folder.
    """
    scenario = base.with_params(to_params(explorer.controls, values))
    if name is not None:
        scenario = replace(scenario, name=name)
    return validate(scenario, explorer.engine.info)


def run_page(explorer: Explorer, scenario: Scenario) -> xr.Dataset:
    """Run ``scenario`` for the charts' variables (one run at a time in the shared engine).

    Uses the engine's :meth:`~sd_model.engines.base.Engine.runner` for the scenario's time
    settings, made once and kept (for simlin a compiled ``Sim`` that returns only the charts'
    variables, not every variable as a single run does): the same numbers as ``sd-model run``
    (the browser test compares them), in less time.
    """
    info = explorer.engine.info
    spec = scenario.resolve(info, outputs=explorer.outputs)
    with explorer.lock:
        runner = explorer.runners.get(spec.times)
        if runner is None:
            runner = explorer.runners.setdefault(spec.times, explorer.engine.runner(spec))
        arrays, failed, messages = runner.run_sets(spec.params, [], np.zeros((1, 0)))
    if failed[0]:
        raise EngineError(f"the model failed for scenario {scenario.name!r}: {messages[0]}")
    return xr.Dataset({n: xr.DataArray(arrays[n][0], dims=("time", *info.variables[n].dims),
                                       attrs={"units": info.variables[n].units})
                       for n in explorer.outputs},
                      coords={"time": spec.times.coords(),
                              **{d: list(info.subscripts[d]) for n in explorer.outputs
                                 for d in info.variables[n].dims}})


def figures(explorer: Explorer, results: xr.Dataset, scenario_name: str) -> dict[str, dict]:
    """Figure dict per chart id for ``results`` beside the baseline, history and bands."""
    info = explorer.engine.info
    return {c.id: figure(c, info.variables[c.variable].units, results, scenario_name, explorer.fixed[c.id])
            for c in explorer.charts}


def redraw(explorer: Explorer, base: Scenario, values: Mapping[str, object]) -> tuple[dict[str, dict], dict[str, str]]:
    """Figures for the control ``values``, or no figures and a message per refused value.

    Returns
    -------
    (figures by chart id, errors by control key): exactly one of them is empty.
    """
    errors = check_values(explorer.controls, values)
    if errors:
        return {}, errors
    scenario = page_scenario(explorer, base, values)  # type: ignore[arg-type]
    return figures(explorer, run_page(explorer, scenario), "your scenario"), {}
