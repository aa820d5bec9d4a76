"""Calibration of the model against historical data.

- :mod:`.config`: the calibration TOML file (parameters, series, span, targets).
- :mod:`.specs`: the file as read (:class:`CalibrationConfig` and its parts), :class:`CalibrationError`.
- :mod:`.problem`: the file resolved against the model and the data.
- :mod:`.residuals`: the resolved :class:`Problem` and its residuals.
- :mod:`.store`: the append-only checkpoint of evaluations.
- :mod:`.evaluate`: batched, parallel, cached evaluation.
- :mod:`.optimize`: multi-start least squares and differential evolution.
- :mod:`.uncertainty`: confidence bounds and identification.
- :mod:`.report`: statistics, targets, plots, overlay scenario.
- :mod:`.runner`: :func:`calibrate`, which ties them together.
"""
from .config import load_config
from .problem import build_problem
from .residuals import Problem
from .runner import CalibrationResult, calibrate
from .specs import CalibrationConfig, CalibrationError

__all__ = ["CalibrationConfig", "CalibrationError", "CalibrationResult", "Problem", "build_problem", "calibrate",
           "load_config"]
