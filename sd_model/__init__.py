"""sd_model: a Vensim system-dynamics model of finance and growth across China's four macro-regions.

The public API, from model file to results::

    >>> import sd_model
    >>> engine = sd_model.load_engine("simlin")                          # doctest: +SKIP
    >>> spec = sd_model.load_scenario("experiments/balanced.toml").resolve(engine.info)  # doctest: +SKIP
    >>> ds = sd_model.run_scenario(spec, engine)                         # doctest: +SKIP

Scenarios (:class:`Scenario`) are checked once into a :class:`RunSpec`; parameters are named
with :class:`Parameter`; engines come from the registry :data:`ENGINES`; many runs go through
:func:`run_ensemble`, calibration through :func:`calibrate`, the model-testing battery through
:func:`run_checks`, and whole output folders through :mod:`sd_model.workflows`.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .calibration import calibrate
from .checks import run_checks
from .engines import DEFAULT_ENGINE, ENGINES, Engine, get_engine
from .ensemble import run_ensemble
from .errors import EngineError, ModelFileError, ScenarioError, SDModelError, UnknownNameError
from .mdl import ModelInfo, read_model_info
from .parameters import Parameter
from .resources import DEFAULT_MODEL
from .run import load_engine, run_scenario
from .runspec import RunSpec
from .sampling import load_ranges, sample_parameters
from .scenario import Scenario, load_scenario

try:
    __version__ = version("sd-model")
except PackageNotFoundError:  # pragma: no cover - running from a checkout that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "DEFAULT_ENGINE", "DEFAULT_MODEL", "ENGINES", "Engine", "EngineError", "ModelFileError",
           "ModelInfo", "Parameter", "RunSpec", "SDModelError", "Scenario", "ScenarioError", "UnknownNameError",
           "calibrate", "get_engine", "load_engine", "load_ranges", "load_scenario", "read_model_info",
           "run_checks", "run_ensemble", "run_scenario", "sample_parameters"]
