"""Behaviour reproduction (Sterman 2000, section 21.4.7): the baseline against history.

For each declared series, the simulated variable is compared with the observed series of
``sd_model.data.load_observations`` region by region over the declared years, using the fit
statistics of ``sd_model.metrics`` (Sterman 1984); every region must meet every declared
threshold. The thresholds are regression guards, not calibration targets.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from ..data import load_observations
from ..errors import DataError
from ..metrics import fit_statistics
from ._context import Context
from .result import CheckResult
from .spec import CheckSpec, FitSeries


def _fit(ctx: Context, series: FitSeries) -> CheckResult:
    obs_all = ctx.cached("observations", load_observations)
    if series.data not in obs_all:
        raise DataError(f"{ctx.spec.path}: behaviour.{series.name}: no observed series {series.data!r}; "
                        f"valid: {', '.join(sorted(obs_all.data_vars))}")
    ds = ctx.baseline()
    sim_all = ds[ctx.info.get(series.variable).name]
    obs = obs_all[series.data].sel(year=slice(series.first_year, series.last_year))
    years = obs["year"].values
    missing_years = [int(y) for y in years if float(y) not in ds["time"].values]
    if missing_years:
        raise DataError(f"behaviour.{series.name}: the baseline does not reach {missing_years[-1]}")
    stats = {}
    for region in obs["region"].values:
        sim = sim_all.sel(Region=str(region), time=years.astype(float)).values
        stats[str(region)] = fit_statistics(sim, obs.sel(region=region).values)
    failures, figures = [], []
    for key, bound, worse in (("mape", series.max_mape, max), ("rmse", series.max_rmse, max),
                              ("r2", series.min_r2, min)):
        if bound is None:
            continue
        values = {r: s[key] for r, s in stats.items()}
        region = worse(values, key=lambda r: values[r] if np.isfinite(values[r]) else
                       (-np.inf if worse is min else np.inf))
        value = values[region]
        figures.append(f"{'worst ' if worse is max else 'min '}{key.upper()} {value:.3g} ({region})")
        bad = [r for r, v in values.items() if not np.isfinite(v) or (v > bound if worse is max else v < bound)]
        if bad:
            sign = "above" if worse is max else "below"
            failures.append(f"{series.variable}: {key.upper()} {sign} {bound:g} in "
                            + ", ".join(f"{r} ({values[r]:.3g})" for r in bad))
    n = sum(s["n"] for s in stats.values())
    message = "; ".join(failures) or (f"{series.variable} vs {series.data} {series.first_year}-{series.last_year}, "
                                      f"{n} region-years: every region within the declared thresholds")
    return CheckResult(f"behaviour.{series.name}", not failures, ", ".join(figures), message)


def checks(spec: CheckSpec) -> dict[str, Callable[[Context], CheckResult]]:
    """One item per declared series."""
    return {s.name: partial(_fit, series=s) for s in spec.behaviour}
