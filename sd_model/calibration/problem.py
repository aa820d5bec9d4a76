"""The calibration problem: a calibration file resolved against the model and the data.

:func:`build_problem` checks every name, element, range, region and year of a
:class:`~sd_model.calibration.config.CalibrationConfig` and returns a :class:`Problem`:
plain, picklable data (so worker processes can rebuild it) that maps a parameter vector
``x`` (the constants' own units) to model parameters, and model outputs to the vector of
weighted, normalised residuals whose sum of squares is the payoff (lower is better)::

    r = weight * (T(simulated) - T(observed)) / scale

with ``T`` the series' transform and ``scale`` its mean absolute observed value over the
in-sample years (``normalise = "mean"``), its measurement error (``"error"``) or 1.
Model time ``t`` is compared with data year ``t`` (the convention of the model's initial
values, which are 1978 data at time 1978).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..errors import SDModelError
from ..mdl import ModelInfo
from ..parameters import Parameter, outside, range_text
from ..scenario import load_scenario, merge_params, validate
from .config import CalibrationConfig, CalibrationError, _line_of
from .series import SeriesData, resolve_series

#: Residual given to a model output that is NaN or infinite (a failed or exploding run).
PENALTY = 1.0e3


@dataclass(frozen=True)
class Estimated:
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
class Problem:
    """Everything needed to evaluate the payoff of a parameter vector (picklable)."""

    model_path: str
    model_sha256: str
    initial_time: float
    saveper: float
    final_time: float
    outputs: tuple[str, ...]
    base_params: Mapping[str, Any]
    parameters: tuple[Estimated, ...]
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

    def simulated(self, outputs: Mapping[str, np.ndarray], lead: int = 0) -> dict[str, np.ndarray]:
        """Transformed model values of every series, {name: array (*batch, years, regions)}.

        ``lead`` is the number of leading batch axes of the outputs (0: one run's outputs).
        """
        return {s.spec.name: s.transformed(outputs, self._index, lead) for s in self.series}

    def residuals(self, outputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Weighted normalised residuals of the fitted series over in-sample years (1-D)."""
        r = np.concatenate([(s.spec.weight * (s.transformed(outputs, self._index)[s.fit] - s.obs[s.fit]) / s.scale)
                            .ravel() for s in self.series if s.fitted])
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


def build_problem(config: CalibrationConfig, info: ModelInfo, observations: xr.Dataset,
                  until: int | None = None, engine: str = "simlin") -> Problem:
    """Resolve ``config`` against the model ``info`` and the ``observations``.

    Parameters
    ----------
    config : CalibrationConfig
        From :func:`~sd_model.calibration.config.load_config`.
    info : sd_model.mdl.ModelInfo
        The model the parameters and series refer to.
    observations : xarray.Dataset
        Data with dims ``year`` (integer years) and optionally ``region`` (as returned by
        :func:`sd_model.data.load_observations`).
    until : int, optional
        Last in-sample year; later years are out-of-sample (reported, not fitted).
        Default is None: the span's last year.
    engine : {"simlin", "pysd"}
        Engine of the model runs. Default is "simlin" (pysd is the slow reference).

    Raises
    ------
    CalibrationError
        Unknown model or data names (with close matches), non-constants, elements or
        regions the model lacks, bounds outside the model's declared range, start values
        outside the bounds, years outside the span or without data (NaN), and a split
        year that leaves nothing to fit; the message names the file and the line.
    """
    first, last = config.span
    until = int(last if until is None else until)
    if not first <= until <= last:
        raise CalibrationError(f"{config.where()}: --until {until} is outside the span {first}-{last}; valid: a "
                               f"year from {first} to {last}")
    if first < info.initial_time or last > info.final_time:
        at = config.where(_line_of(config.text.splitlines(), "[span]"))
        raise CalibrationError(f"{at}: span {first}-{last} is outside the model's time "
                               f"{info.initial_time:g}-{info.final_time:g}")
    base_params: dict[str, Any] = {}
    if config.base is not None:
        try:
            base = validate(load_scenario(config.base), info).params
            base_params = {k: (dict(v) if isinstance(v, Mapping) else float(v)) for k, v in base.items()}
        except SDModelError as exc:
            raise CalibrationError(f"{config.where()}: base scenario: {exc}") from None
    parameters = _resolve_parameters(config, info, base_params)
    regions = tuple(info.subscripts.get("Region", ()))
    series = tuple(resolve_series(spec, config, info, observations, regions, until) for spec in config.series)
    if not any(s.fitted for s in series):
        raise CalibrationError(f"{config.where()}: no fitted series has data up to {until}; nothing to fit")
    outputs = dict.fromkeys(name for s in series for name in (s.model, s.model_denominator) if name)
    return Problem(model_path=str(info.path), model_sha256=info.sha256, initial_time=info.initial_time,
                   saveper=info.saveper, final_time=float(last), outputs=tuple(outputs),
                   base_params=base_params, parameters=parameters, series=series, until=until,
                   span=config.span, engine=engine)


def _resolve_parameters(config: CalibrationConfig, info: ModelInfo,
                        base_params: Mapping[str, Any]) -> tuple[Estimated, ...]:
    seen: list[tuple[str, Parameter]] = []  # (key in the file, parameter) estimated so far
    out = []
    for spec in config.parameters:
        where = f"{config.where(spec.line)}: parameter {spec.key!r}"
        try:
            param = Parameter.parse(info, spec.key, where, verb="estimated")
        except SDModelError as exc:
            raise CalibrationError(str(exc)) from None
        var = param.variable(info)
        chosen = tuple(",".join(c) for c in param.cells(info)) if var.dims else ()
        clash = [k for k, other in seen if other.overlaps(param)]
        if clash:
            raise CalibrationError(f"{where}: {var.name!r} is estimated twice (also as {clash[0]!r})")
        seen.append((spec.key, param))
        label = param.label
        dlo, dhi = var.range
        lower = spec.lower if spec.lower is not None else dlo
        upper = spec.upper if spec.upper is not None else dhi
        if lower is None or upper is None:
            raise CalibrationError(f"{where}: give lower and upper; the model declares no "
                                   f"{'lower' if lower is None else 'upper'} bound for {var.name!r}")
        if lower >= upper:
            raise CalibrationError(f"{where}: bounds are reversed or empty (lower {lower:g} >= upper {upper:g})")
        if outside(var, lower) or outside(var, upper):
            raise CalibrationError(f"{where}: bounds [{lower:g}, {upper:g}] are outside the range the model "
                                   f"declares for {var.name!r}, {range_text(var)}")
        if spec.start is None or (config.start_from_base and _set_by(base_params, var.name, chosen)):
            start = _current_value(var, chosen, base_params, where)
        else:
            start = spec.start
        if not lower <= start <= upper:
            raise CalibrationError(f"{where}: start value {start:g} is outside the bounds [{lower:g}, {upper:g}]")
        out.append(Estimated(label=label, name=var.name, elements=chosen, lower=float(lower), upper=float(upper),
                             start=float(start), units=var.units, declared=(dlo, dhi), comment=var.comment))
    return tuple(out)


def _set_by(base: Mapping[str, Any], name: str, elements: tuple[str, ...]) -> bool:
    """Whether the base scenario's parameters ``base`` set ``name`` (every one of ``elements`` if subscripted)."""
    over = base.get(name)
    if over is None:
        return False
    return not elements or not isinstance(over, Mapping) or all(e in over for e in elements)


def _current_value(var: Any, elements: tuple[str, ...], base: Mapping[str, Any], where: str) -> float:
    """The value in effect (base scenario, else model default) of ``elements`` of ``var``."""
    over = base.get(var.name)
    if not elements:
        return float(over if over is not None else var.default)
    values = {float((over or {}).get(e, var.default[e])) for e in elements}
    if len(values) > 1:
        raise CalibrationError(f"{where}: the elements of {var.name!r} differ ({sorted(values)}); "
                               "give start = <value>, or estimate one element at a time")
    return values.pop()


