"""The resolved calibration problem as plain data, and its weighted, normalised residuals.

A :class:`Problem` (built by :func:`~sd_model.calibration.problem.build_problem`) maps a
parameter vector ``x`` to model parameters, and model outputs to the residual vector
``r = weight * (T(simulated) - T(observed)) / scale`` whose sum of squares is the payoff.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..scenario import merge_params
from .specs import SeriesSpec

#: Residual given to a model output that is NaN or infinite (a failed or exploding run).
PENALTY = 1.0e3


@dataclass(frozen=True)
class Parameter:
    """A parameter to estimate, resolved against the model.

    ``name`` is the canonical Vensim name; ``elements`` the element keys it sets (all
    elements for a shared value, ``()`` for a scalar constant); ``lower``, ``upper`` and
    ``start`` in the constant's ``units``; ``declared`` is the model's range.
    """

    label: str
    name: str
    elements: tuple[str, ...]
    lower: float
    upper: float
    start: float
    units: str
    declared: tuple[float | None, float | None]
    comment: str


@dataclass(frozen=True)
class SeriesData:
    """A resolved series: observed values in transformed units and where they fit.

    ``obs`` has shape (years, regions); ``fit`` marks the in-sample years (fitted when the
    weight is positive); ``scale`` (per region) normalises residuals.
    """

    spec: SeriesSpec
    model: str
    model_denominator: str | None
    regional: bool
    regions: tuple[str, ...]
    region_index: tuple[int, ...]
    years: np.ndarray
    obs: np.ndarray
    fit: np.ndarray
    scale: np.ndarray
    units: str

    @property
    def fitted(self) -> bool:
        """True if the series enters the payoff (positive weight and in-sample years)."""
        return self.spec.weight > 0 and bool(self.fit.any())


@dataclass(frozen=True)
class Problem:
    """Everything needed to evaluate the payoff of a parameter vector (picklable)."""

    model_path: str
    model_sha256: str
    initial_time: float
    saveper: float
    final_time: float
    outputs: tuple[str, ...]
    base_params: Mapping[str, Any]
    parameters: tuple[Parameter, ...]
    series: tuple[SeriesData, ...]
    until: int
    span: tuple[int, int]
    engine: str = "simlin"

    # -------------------------------------------------------------- parameters
    @property
    def lower(self) -> np.ndarray:
        """Lower search bounds (n,)."""
        return np.array([p.lower for p in self.parameters])

    @property
    def upper(self) -> np.ndarray:
        """Upper search bounds (n,)."""
        return np.array([p.upper for p in self.parameters])

    @property
    def start(self) -> np.ndarray:
        """First start values (n,)."""
        return np.array([p.start for p in self.parameters])

    def overrides(self, x: np.ndarray) -> dict[str, Any]:
        """Parameter values of ``x`` as scenario params (``{name: value or {element: value}}``)."""
        out: dict[str, Any] = {}
        for p, v in zip(self.parameters, np.asarray(x, dtype=float)):
            if p.elements:
                out.setdefault(p.name, {}).update({e: float(v) for e in p.elements})
            else:
                out[p.name] = float(v)
        return out

    def params(self, x: np.ndarray) -> dict[str, Any]:
        """Base scenario params with ``x`` laid over them: the run's full overrides."""
        return merge_params(self.base_params, self.overrides(x))

    # -------------------------------------------------------------- outputs
    def _index(self, year: int) -> int:
        return int(round((year - self.initial_time) / self.saveper))

    def simulated(self, outputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Transformed model values of every series, {name: array (years, regions)}."""
        return {s.spec.name: _transform_sim(s, outputs, self._index) for s in self.series}

    def residuals(self, outputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Weighted normalised residuals of the fitted series over in-sample years (1-D)."""
        parts = []
        for s in self.series:
            if not s.fitted:
                continue
            sim = _transform_sim(s, outputs, self._index)
            r = s.spec.weight * (sim[s.fit] - s.obs[s.fit]) / s.scale
            parts.append(r.ravel())
        r = np.concatenate(parts)
        return np.where(np.isfinite(r), r, PENALTY)

    def residual_groups(self) -> np.ndarray:
        """For each residual, the index of its (series, region) block (for block bootstrap)."""
        groups, g = [], 0
        for s in self.series:
            if not s.fitted:
                continue
            n_years, n_reg = int(s.fit.sum()), len(s.regions)
            groups.append((g + np.tile(np.arange(n_reg), n_years)).astype(int))
            g += n_reg
        return np.concatenate(groups)

    @property
    def n_residuals(self) -> int:
        """Length of the residual vector."""
        return int(sum(s.fit.sum() * len(s.regions) for s in self.series if s.fitted))


def _transform_sim(s: SeriesData, outputs: Mapping[str, np.ndarray], index) -> np.ndarray:
    """Model values of series ``s`` in its transformed units, shape (years, regions)."""
    years = s.years
    rows = [index(int(y)) for y in years]
    if s.spec.transform == "growth":
        rows_prev = [r - 1 for r in rows]
    values = np.asarray(outputs[s.model], dtype=float)
    with np.errstate(all="ignore"):
        if s.spec.transform == "share":
            values = values / values.sum(axis=1, keepdims=True)
        elif s.spec.transform == "ratio":
            den = np.asarray(outputs[str(s.model_denominator)], dtype=float)
            if den.ndim > values.ndim:
                den = den.sum(axis=1)
            values = values / den
        if values.ndim == 1:
            values = values[:, None]
        out = values[rows][:, list(s.region_index)]
        if s.spec.transform == "log":
            out = np.log(out)
        elif s.spec.transform == "growth":
            out = out / values[rows_prev][:, list(s.region_index)] - 1.0
    return out
