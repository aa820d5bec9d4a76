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
from typing import Any

import numpy as np
import xarray as xr

from ..errors import SDModelError, close_matches
from ..mdl import ModelInfo, normalize_name
from ..parameters import Parameter, outside, range_text
from ..scenario import load_scenario, validate
from .residuals import Parameter as Estimated
from .residuals import Problem, SeriesData
from .specs import CalibrationConfig, CalibrationError, SeriesSpec


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
    if until is None:
        until = last
    until = int(until)
    if not first <= until <= last:
        raise CalibrationError(f"{config.where()}: --until {until} is outside the span {first}-{last}; valid: a "
                               f"year from {first} to {last}")
    if first < info.initial_time or last > info.final_time:
        raise CalibrationError(f"{config.where(_span_line(config))}: span {first}-{last} is outside the model's "
                               f"time {info.initial_time:g}-{info.final_time:g}")
    base_params: dict[str, Any] = {}
    if config.base is not None:
        try:
            base = validate(load_scenario(config.base), info).params
            base_params = {k: (dict(v) if isinstance(v, Mapping) else float(v)) for k, v in base.items()}
        except SDModelError as exc:
            raise CalibrationError(f"{config.where()}: base scenario: {exc}") from None
    parameters = _resolve_parameters(config, info, base_params)
    regions = tuple(info.subscripts.get("Region", ()))
    series = tuple(_resolve_series(spec, config, info, observations, regions, until) for spec in config.series)
    if not any(s.fitted for s in series):
        raise CalibrationError(f"{config.where()}: no fitted series has data up to {until}; nothing to fit")
    outputs: list[str] = []
    for s in series:
        for name in (s.model, s.model_denominator):
            if name and name not in outputs:
                outputs.append(name)
    return Problem(model_path=str(info.path), model_sha256=info.sha256, initial_time=info.initial_time,
                   saveper=info.saveper, final_time=float(last), outputs=tuple(outputs),
                   base_params=base_params, parameters=parameters, series=series, until=until,
                   span=config.span, engine=engine)


def _span_line(config: CalibrationConfig) -> int:
    lines = config.text.splitlines()
    return next((i + 1 for i, t in enumerate(lines) if t.strip().startswith("[span]")), 0)


def _resolve_parameters(config: CalibrationConfig, info: ModelInfo,
                        base_params: Mapping[str, Any]) -> tuple[Estimated, ...]:
    seen: dict[tuple[str, str], str] = {}
    out = []
    for spec in config.parameters:
        where = f"{config.where(spec.line)}: parameter {spec.key!r}"
        try:
            param = Parameter.parse(info, spec.name if spec.element is None else f"{spec.name}[{spec.element}]",
                                    where, verb="estimated")
        except SDModelError as exc:
            raise CalibrationError(str(exc)) from None
        var = param.variable(info)
        chosen = tuple(",".join(c) for c in param.cells(info)) if var.dims else ()
        own = spec.element is None
        clash = [k for (n, el), k in seen.items() if n == var.name and (own or el == "" or el in chosen)]
        if clash:
            raise CalibrationError(f"{where}: {var.name!r} is estimated twice (also as {clash[0]!r})")
        for el in (("",) if own else chosen):
            seen[(var.name, el)] = spec.key
        label = f"{var.name}[{chosen[0]}]" if spec.element is not None else var.name
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
        start = spec.start
        if start is None:
            start = _current_value(var, chosen, base_params, where)
        if not lower <= start <= upper:
            raise CalibrationError(f"{where}: start value {start:g} is outside the bounds [{lower:g}, {upper:g}]")
        out.append(Estimated(label=label, name=var.name, elements=chosen, lower=float(lower), upper=float(upper),
                             start=float(start), units=var.units, declared=(dlo, dhi), comment=var.comment))
    return tuple(out)


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


def _model_var(name: str, info: ModelInfo, where: str, what: str) -> tuple[str, bool]:
    key = normalize_name(name)
    var = next((v for n, v in info.variables.items() if normalize_name(n) == key), None)
    if var is None:
        valid = [n for n, v in info.variables.items() if v.kind != "lookup"]
        hint = close_matches(name, valid)
        tail = ("did you mean " + " or ".join(repr(h) for h in hint) + "?") if hint else \
            "'sd-model info' lists the model's names"
        raise CalibrationError(f"{where}: {what} {name!r} is not a model variable; {tail}")
    if var.kind == "lookup":
        raise CalibrationError(f"{where}: {what} {var.name!r} is a lookup table, not a variable")
    if var.dims not in ((), ("Region",)):
        raise CalibrationError(f"{where}: {what} {var.name!r} has dims {var.dims}; "
                               "only Region-subscripted or scalar variables can be fitted")
    return var.name, bool(var.dims)


def _data_var(name: str, observations: xr.Dataset, where: str, what: str) -> xr.DataArray:
    if name not in observations.data_vars:
        hint = close_matches(name, map(str, observations.data_vars))
        tail = ("did you mean " + " or ".join(repr(h) for h in hint) + "?") if hint else \
            f"available: {', '.join(sorted(map(str, observations.data_vars)))}"
        raise CalibrationError(f"{where}: {what} {name!r} is not in the data; {tail}")
    da = observations[name]
    if da.dims not in (("year",), ("year", "region")):
        raise CalibrationError(f"{where}: data {name!r} has dims {da.dims}; expected (year) or (year, region)")
    return da


def _resolve_series(spec: SeriesSpec, config: CalibrationConfig, info: ModelInfo, observations: xr.Dataset,
                    regions: tuple[str, ...], until: int) -> SeriesData:
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
        if den_regional and not regional:
            pass  # national numerator over a regional denominator: summed over regions
        elif regional and not den_regional:
            raise CalibrationError(f"{where}: model_denominator {den_name!r} is national but {model!r} is by region")
    if spec.transform == "share" and not regional:
        raise CalibrationError(f"{where}: transform = \"share\" needs a variable by region")
    chosen = tuple(regions) if regional else ("National",)
    if spec.regions is not None:
        if not regional:
            raise CalibrationError(f"{where}: regions given, but {model!r} is national")
        for r in spec.regions:
            if r not in regions:
                hint = close_matches(r, regions)
                tail = ("did you mean " + " or ".join(map(repr, hint)) + "?") if hint else \
                    f"valid: {', '.join(regions)}"
                raise CalibrationError(f"{where}: unknown region {r!r}; {tail}")
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
        if bad.size:
            col = obs[:, j]
            avail = years[np.isfinite(col)]
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
    units = {"log": "log", "share": "fraction", "growth": "1/year"}.get(spec.transform, da.attrs.get("units", ""))
    if spec.transform == "ratio":
        units = "ratio"
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
            prev = take(da, years - 1)
            values = values / prev - 1.0
    return values


def _ranges(years: np.ndarray) -> str:
    """``1978-1980, 1985`` for a sorted array of years."""
    parts: list[str] = []
    start: int | None = None
    prev = 0
    for y in map(int, years):
        if start is None:
            start = prev = y
        elif y == prev + 1:
            prev = y
        else:
            parts.append(f"{start}-{prev}" if prev != start else f"{start}")
            start = prev = y
    if start is not None:
        parts.append(f"{start}-{prev}" if prev != start else f"{start}")
    return ", ".join(parts)
