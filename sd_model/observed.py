"""Observed counterparts of model indicators, 1978-2015, named as the model names them.

Computed from :func:`sd_model.data.load_observations` independently of the model, for
overlaying history on plots and the explorer's charts:

- ``GDP per Capita``: real GDP (2000 prices) / population, thousand yuan per person per year;
- ``East West Ratio``: East / West of that;
- ``Theil Index``: between-region Theil T, sum of s ln(s/p) over real-GDP shares s and
  population shares p;
- ``Coefficient of Variation``: population-weighted, sqrt(sum p (y / Y - 1)^2), y regional and
  Y national (four-region) GDP per capita (Williamson 1965);
- ``GDP Share``: real-GDP share; ``Population Share``; ``Population`` (million persons);
- ``Loan Share``, ``Deposit Share``: of the four-region sums, 2003-2015;
- ``Loan to Deposit Ratio``: loans / deposits, 2003-2015.

There is no observed series of net credit outflow or net migration. Values that the data do
not give are NaN. Dims: ``(year, region)`` or ``(year,)``.
"""
from __future__ import annotations

import numpy as np
import xarray as xr


def observed_indicators(obs: xr.Dataset) -> dict[str, xr.DataArray]:
    """Observed series keyed by model variable name (see the module docstring).

    Parameters
    ----------
    obs : the Dataset of :func:`sd_model.data.load_observations`.
    """
    gdp, pop = obs["gdp_real_2000"], obs["population"]
    per_capita = gdp / pop  # billion yuan / million persons = thousand yuan per person, 2000 prices
    s, p = gdp / gdp.sum("region", skipna=False), pop / pop.sum("region", skipna=False)
    national = gdp.sum("region", skipna=False) / pop.sum("region", skipna=False)
    out: dict[str, xr.DataArray] = {
        "GDP per Capita": per_capita,
        "East West Ratio": per_capita.sel(region="East", drop=True) / per_capita.sel(region="West", drop=True),
        "Theil Index": (s * np.log(s / p)).sum("region", skipna=False),
        "Coefficient of Variation": ((p * (per_capita / national - 1) ** 2).sum("region", skipna=False)) ** 0.5,
        "GDP Share": s,
        "Population Share": p,
        "Population": pop,
        "Loan Share": obs["loan_share"],
        "Deposit Share": obs["deposits"] / obs["deposits"].sum("region", skipna=False),
        "Loan to Deposit Ratio": obs["loans"] / obs["deposits"],
    }
    return {k: v.where(np.isfinite(v)) for k, v in out.items()}


def load_observed(data_dir=None) -> dict[str, xr.DataArray]:
    """:func:`observed_indicators` of the project's data (``data/raw`` unless ``data_dir``)."""
    from .data import load_observations

    return observed_indicators(load_observations(data_dir))
