"""Projections against published ones: national population and age structure after 2015.

The baseline against the UN World Population Prospects 2015 (issue 11: "national population
follows published projections after 2015 within their spread").

Two items, both declared in the ``[projection]`` table of the checks file:

- ``population``: national population scaled to the UN's 2015 estimate (the model's 2015 population
  is 1.7% below the UN's mid-year figure: 0.4% a difference of scope, the provinces' year-end
  figures summing to 1,370.9 million, and 1.3% the model's own 2015 error; the check is about
  the path after 2015, not that level) within the UN's probabilistic interval
  (``interval``: 80 or 95%) in every fifth year from ``first_year`` to ``last_year``;
- ``age_structure``: the change since 2015 of each age group's share of the population (0-14,
  15-64, 65+; shares, so that the scope difference cancels) within the range the UN's low and
  high variants give for that change (fertility -/+ 0.5 child), widened by ``share_tolerance``
  percentage points: for people already born in 2015 the two variants agree, so a range of
  zero width needs a tolerance, and the model's 2015 shares rest on the NBS counts (65+: 10.5%
  against the UN's 9.6%).
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from ..data_demography import AGE_GROUPS, load_wpp2015
from ..errors import DataError
from ._context import Context
from .result import CheckResult

#: age group -> the model's national stock of it (summed over Region)
AGE_STOCKS = {"0-14": "Children", "15-64": "Working Age Population", "65+": "Elderly"}
BASE_YEAR = 2015


def _years(ctx: Context, ds: xr.Dataset) -> list[int]:
    spec = ctx.spec
    years = list(range(spec.projection_first_year, spec.projection_last_year + 1, 5))
    missing = [y for y in [BASE_YEAR, *years] if float(y) not in ds["time"].values]
    if missing:
        raise DataError(f"{spec.path}: projection: the baseline does not reach {missing[-1]}; "
                        f"valid: last_year up to the baseline's final time")
    return years


def _national(ds: xr.Dataset, name: str) -> xr.DataArray:
    return ds[name].sum("Region")


def population(ctx: Context) -> CheckResult:
    """National population, scaled to the UN's 2015 estimate, within the UN's probabilistic interval."""
    spec = ctx.spec
    wpp = ctx.cached("wpp2015", load_wpp2015)["population"].sel(age_group="total")
    ds = ctx.baseline()
    years = _years(ctx, ds)
    model = _national(ds, "Population")
    scale = float(wpp.sel(variant="estimate", year=BASE_YEAR)) / float(model.sel(time=BASE_YEAR))
    lo_name, hi_name = f"lower{spec.projection_interval}", f"upper{spec.projection_interval}"
    scaled = {y: float(model.sel(time=float(y))) * scale for y in years}
    outside, worst = [], (np.inf, 0)
    for y, value in scaled.items():
        lo, hi = float(wpp.sel(variant=lo_name, year=y)), float(wpp.sel(variant=hi_name, year=y))
        # distance to the nearer bound as a share of the interval's half-width: 1 at the edge
        margin = min(value - lo, hi - value) / ((hi - lo) / 2)
        worst = min(worst, (margin, y))
        if not lo <= value <= hi:
            outside.append(f"{y}: {value:,.0f} million, interval {lo:,.0f}-{hi:,.0f}")
    gaps = {y: 100 * (value / float(wpp.sel(variant="medium", year=y)) - 1) for y, value in scaled.items()}
    dev = max(gaps, key=lambda y: abs(gaps[y]))
    figure = f"largest gap to the medium variant {gaps[dev]:+.1f}% ({dev}); closest to a bound in {worst[1]}"
    message = ("; ".join(outside) if outside else
               f"National population x {scale:.4f} (UN 2015 / model 2015) within the UN WPP 2015 "
               f"{spec.projection_interval}% interval in every fifth year {years[0]}-{years[-1]}")
    return CheckResult("projection.population", not outside, figure, message)


def age_structure(ctx: Context) -> CheckResult:
    """Change since 2015 of each age group's share within the UN's low-high range, widened."""
    spec = ctx.spec
    wpp = ctx.cached("wpp2015", load_wpp2015)["population"]
    ds = ctx.baseline()
    years = _years(ctx, ds)
    total = _national(ds, "Population")
    tol = spec.projection_share_tolerance
    outside, worst = [], (0.0, "", 0)
    for group in AGE_GROUPS:
        share = 100 * _national(ds, AGE_STOCKS[group]) / total
        model_change = share - float(share.sel(time=BASE_YEAR))
        un_share = 100 * wpp.sel(age_group=group) / wpp.sel(age_group="total")
        un_base = float(un_share.sel(variant="estimate", year=BASE_YEAR))
        for y in years:
            change = float(model_change.sel(time=float(y)))
            ends = [float(un_share.sel(variant=v, year=y)) - un_base for v in ("low", "high")]
            lo, hi = min(ends) - tol, max(ends) + tol
            excess = max(lo - change, change - hi, 0.0)
            gap = change - (float(un_share.sel(variant="medium", year=y)) - un_base)
            if abs(gap) > abs(worst[0]):
                worst = (gap, group, y)
            if excess > 0:
                outside.append(f"{group} {y}: {change:+.1f} points since 2015, UN range {lo:+.1f} to {hi:+.1f}")
    figure = f"largest gap to the medium variant {worst[0]:+.1f} points ({worst[1]} share, {worst[2]})"
    message = ("; ".join(outside) if outside else
               f"the 0-14, 15-64 and 65+ shares change since 2015 within the UN WPP 2015 low-high range "
               f"+/- {tol:g} points in every fifth year {years[0]}-{years[-1]}")
    return CheckResult("projection.age_structure", not outside, figure, message)
