"""Data series of a calibration: a series spec resolved against the model and the data, and its transform.

:func:`resolve_series` checks one :class:`~sd_model.calibration.config.SeriesSpec` against the model
(variable, dims, regions) and the observations (variable, years with values) and returns a
:class:`SeriesData`: the observed values in transformed units, the in-sample years and the scale
that normalises residuals. :meth:`SeriesData.transformed` applies the same transform to model outputs.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..errors import did_you_mean
from ..mdl import ModelInfo, normalize_name
from .config import CalibrationConfig, CalibrationError, SeriesSpec


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

    def transformed(self, outputs: Mapping[str, np.ndarray], index: Callable[[int], int],
                    lead: int = 0) -> np.ndarray:
        """Model values of this series in its transformed units, shape (*batch, years, regions).

        ``outputs`` maps model names to arrays (*batch, time[, region]); ``index`` maps a year to
        its row; ``lead`` is the number of leading batch axes (0: one run's outputs).
        """
        rows = [index(int(y)) for y in self.years]
        values = np.asarray(outputs[self.model], dtype=float)
        batch: tuple[Any, ...] = (slice(None),) * lead
        with np.errstate(all="ignore"):
            if self.spec.transform == "share":
                values = values / values.sum(axis=lead + 1, keepdims=True)
            elif self.spec.transform == "ratio":
                den = np.asarray(outputs[str(self.model_denominator)], dtype=float)
                if den.ndim > values.ndim:
                    den = den.sum(axis=lead + 1)
                values = values / den
            if values.ndim == lead + 1:
                values = values[..., None]
            regions: tuple[Any, ...] = batch + (slice(None), list(self.region_index))
            out = values[batch + (rows,)][regions]
            if self.spec.transform == "log":
                out = np.log(out)
            elif self.spec.transform == "growth":
                out = out / values[batch + ([r - 1 for r in rows],)][regions] - 1.0
        return out

def _model_var(name: str, info: ModelInfo, where: str, what: str) -> tuple[str, bool]:
    key = normalize_name(name)
    var = next((v for n, v in info.variables.items() if normalize_name(n) == key), None)
    if var is None:
        valid = [n for n, v in info.variables.items() if v.kind != "lookup"]
        tail = did_you_mean(name, valid, "'sd-model info' lists the model's names")
        raise CalibrationError(f"{where}: {what} {name!r} is not a model variable{tail}")
    if var.kind == "lookup":
        raise CalibrationError(f"{where}: {what} {var.name!r} is a lookup table, not a variable")
    if var.dims not in ((), ("Region",)):
        raise CalibrationError(f"{where}: {what} {var.name!r} has dims {var.dims}; "
                               "only Region-subscripted or scalar variables can be fitted")
    return var.name, bool(var.dims)


def _data_var(name: str, observations: xr.Dataset, where: str, what: str) -> xr.DataArray:
    if name not in observations.data_vars:
        names = sorted(map(str, observations.data_vars))
        tail = did_you_mean(name, names, f"available: {', '.join(names)}")
        raise CalibrationError(f"{where}: {what} {name!r} is not in the data{tail}")
    da = observations[name]
    if da.dims not in (("year",), ("year", "region")):
        raise CalibrationError(f"{where}: data {name!r} has dims {da.dims}; expected (year) or (year, region)")
    return da


def resolve_series(spec: SeriesSpec, config: CalibrationConfig, info: ModelInfo, observations: xr.Dataset,
                    regions: tuple[str, ...], until: int) -> SeriesData:
    """Check ``spec`` against the model and the observations and return it resolved.

    ``regions`` are the model's Region elements; years after ``until`` are out-of-sample. Raises
    :class:`~sd_model.calibration.config.CalibrationError` naming the file, the line and what is valid.
    """
    where = f"{config.where(spec.line)}: series {spec.name!r}"
    model, regional = _model_var(spec.model, info, where, "model")
    da = _data_var(spec.data, observations, where, "data")
    if regional != ("region" in da.dims):
        raise CalibrationError(f"{where}: model {model!r} is {'by region' if regional else 'national'} but data "
                               f"{spec.data!r} is {'by region' if 'region' in da.dims else 'national'}")
    if regional:
        data_regions = [str(r) for r in observations["region"].values]
        if list(data_regions) != list(regions):
            raise CalibrationError(f"{where}: data regions {data_regions} differ from the model's {list(regions)}")
    den_name = None
    if spec.transform == "ratio":
        den_name, den_regional = _model_var(str(spec.model_denominator), info, where, "model_denominator")
        if regional and not den_regional:  # (a regional denominator of a national numerator is summed)
            raise CalibrationError(f"{where}: model_denominator {den_name!r} is national but {model!r} is by region")
    if spec.transform == "share" and not regional:
        raise CalibrationError(f"{where}: transform = \"share\" needs a variable by region")
    chosen = tuple(regions) if regional else ("National",)
    if spec.regions is not None:
        if not regional:
            raise CalibrationError(f"{where}: regions given, but {model!r} is national")
        for r in spec.regions:
            if r not in regions:
                valid = ", ".join(regions)
                raise CalibrationError(f"{where}: unknown region {r!r}{did_you_mean(r, regions, f'valid: {valid}')}")
        chosen = spec.regions
    index = tuple(regions.index(r) for r in chosen) if regional else (0,)

    first, last = spec.years or config.span
    if first < config.span[0] or last > config.span[1]:
        raise CalibrationError(f"{where}: years {first}-{last} are outside the span "
                               f"{config.span[0]}-{config.span[1]}")
    if spec.transform == "growth" and first <= info.initial_time:
        raise CalibrationError(f"{where}: a growth rate needs the year before {first}, which the model lacks; "
                               f"start the series in {int(info.initial_time) + 1} or later")
    years = np.arange(first, last + 1)
    obs = _transform_obs(spec, da, observations, where, years)
    obs = obs[:, list(index)] if regional else obs
    for j, reg in enumerate(chosen):
        bad = years[~np.isfinite(obs[:, j])]
        # a reported-only series (weight 0) may have gaps (e.g. statistical break years left out):
        # its statistics skip them; a fitted series may not
        if bad.size and (spec.weight > 0 or bad.size == years.size):
            avail = years[np.isfinite(obs[:, j])]
            have = f"; it has values for {avail.min()}-{avail.max()}" if avail.size else "; it has none"
            raise CalibrationError(f"{where}: data {spec.data!r}{'' if not regional else f' for {reg}'} is missing "
                                   f"(NaN) in {_ranges(bad)}{have} within {first}-{last}; set years = [first, last]")
    fit = years <= until
    sample = obs[fit] if fit.any() else obs
    if spec.normalise == "mean":
        scale = np.abs(sample).mean(axis=0)
        if np.any(scale == 0):
            raise CalibrationError(f"{where}: the mean of the observed values is 0; use normalise = \"error\"")
    elif spec.normalise == "error":
        scale = np.full(len(chosen), float(spec.error))  # type: ignore[arg-type]
    else:
        scale = np.ones(len(chosen))
    units = {"log": "log", "share": "fraction", "growth": "1/year", "ratio": "ratio"}.get(spec.transform,
                                                                                      da.attrs.get("units", ""))
    return SeriesData(spec=spec, model=model, model_denominator=den_name, regional=regional, regions=chosen,
                      region_index=index, years=years, obs=obs, fit=fit, scale=scale, units=units)


def _transform_obs(spec: SeriesSpec, da: xr.DataArray, observations: xr.Dataset, where: str,
                   years: np.ndarray) -> np.ndarray:
    """Observed values of ``spec`` transformed, shape (years, regions or 1); NaN where missing."""
    all_years = observations["year"].values.astype(int)

    def take(arr: xr.DataArray, yrs: np.ndarray) -> np.ndarray:
        out = np.full((len(yrs),) + arr.shape[1:], np.nan)
        present = np.isin(yrs, all_years)
        if present.any():
            out[present] = arr.sel(year=yrs[present]).values
        return out if out.ndim == 2 else out[:, None]

    values = take(da, years)
    with np.errstate(all="ignore"):
        if spec.transform == "share":
            values = values / values.sum(axis=1, keepdims=True)
        elif spec.transform == "ratio":
            den = _data_var(spec.data_denominator, observations, where, "data_denominator")  # type: ignore[arg-type]
            dv = take(den, years)
            if "region" in den.dims and "region" not in da.dims:
                dv = np.where(np.isfinite(dv).all(axis=1, keepdims=True), np.nansum(dv, axis=1, keepdims=True),
                              np.nan)
            elif "region" in da.dims and "region" not in den.dims:
                raise CalibrationError(f"{where}: data_denominator {spec.data_denominator!r} is national but "
                                       f"{spec.data!r} is by region")
            values = values / dv
        elif spec.transform == "log":
            values = np.where(values > 0, np.log(values), np.nan)
        elif spec.transform == "growth":
            values = values / take(da, years - 1) - 1.0
    return values


def _ranges(years: np.ndarray) -> str:
    """``1978-1980, 1985`` for a sorted array of years."""
    runs = [[y for _, y in run] for _, run in itertools.groupby(enumerate(map(int, years)), lambda p: p[1] - p[0])]
    return ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 1 else f"{run[0]}" for run in runs)
