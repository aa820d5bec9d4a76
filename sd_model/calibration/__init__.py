"""Calibration of the model against historical data.

- :mod:`.config`: the calibration TOML file (parameters, series, span, targets) as read:
  :class:`CalibrationConfig` and its parts, :func:`load_config`, :class:`CalibrationError`.
- :mod:`.problem`: the file resolved against the model and the data: :class:`Problem` and its residuals.
- :mod:`.series`: one data series resolved against the model and the data, and its transform.
- :mod:`.store`: the append-only checkpoint of evaluations.
- :mod:`.evaluate`: batched, parallel, cached evaluation.
- :mod:`.optimize`: multi-start least squares and differential evolution.
- :mod:`.uncertainty`: confidence bounds and identification.
- :mod:`.report`: statistics, targets, plots, overlay scenario.
- :mod:`.runner`: :func:`calibrate`, which ties them together.
- :mod:`.backtest`: :func:`~.backtest.backtest`, fits to several origin years scored against a naive forecast.
"""
from .config import CalibrationConfig, CalibrationError, load_config
from .problem import Problem, build_problem
from .runner import CalibrationResult, calibrate

__all__ = ["CalibrationConfig", "CalibrationError", "CalibrationResult", "Problem", "build_problem", "calibrate",
           "load_config"]
