"""What a calibration file declares, as read: the parameters, series and targets, and their vocabularies.

The file format, and :func:`~sd_model.calibration.config.load_config` which reads and checks it,
are in :mod:`sd_model.calibration.config`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SDModelError

TRANSFORMS = ("level", "log", "share", "ratio", "growth")
NORMALISATIONS = ("mean", "error", "none")
STATISTICS = ("mape", "rmse", "r2", "max_abs_error")
PERIODS = ("in-sample", "out-of-sample", "all")
METHODS = ("local", "global", "none")
UNCERTAINTY = ("jacobian", "bootstrap")


class CalibrationError(SDModelError, ValueError):
    """A calibration file is invalid or does not match the model or the data."""


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter to estimate (one element of a subscripted constant, or all of them).

    ``element`` is None for a scalar constant or for one value shared by every element.
    ``lower``/``upper`` are the search bounds and ``start`` the first start value (None:
    the model's value), in the constant's units. ``line`` is its line in the file.
    """

    key: str
    name: str
    element: str | None
    lower: float | None
    upper: float | None
    start: float | None
    line: int

    @property
    def label(self) -> str:
        """``Name`` or ``Name[Element]``."""
        return f"{self.name}[{self.element}]" if self.element else self.name


@dataclass(frozen=True)
class SeriesSpec:
    """One data series compared with one model variable (see :mod:`sd_model.calibration.config`)."""

    name: str
    model: str
    data: str
    transform: str = "level"
    normalise: str = "mean"
    error: float | None = None
    weight: float = 1.0
    years: tuple[int, int] | None = None
    regions: tuple[str, ...] | None = None
    model_denominator: str | None = None
    data_denominator: str | None = None
    line: int = 0


@dataclass(frozen=True)
class TargetSpec:
    """A pass/fail criterion on one statistic of one series, per region."""

    series: str
    statistic: str
    max: float | None
    min: float | None
    period: str
    regions: tuple[str, ...] | None
    line: int


@dataclass(frozen=True)
class CalibrationConfig:
    """A calibration file as read (names not yet checked against the model)."""

    path: Path
    name: str
    description: str
    base: Path | None
    data_dir: Path | None
    span: tuple[int, int]
    optimizer: dict[str, Any]
    parameters: tuple[ParameterSpec, ...]
    series: tuple[SeriesSpec, ...]
    targets: tuple[TargetSpec, ...] = field(default=())
    text: str = ""

    def where(self, line: int | None = None) -> str:
        """``path:line`` (or ``path``) for error messages."""
        return f"{self.path}:{line}" if line else str(self.path)
