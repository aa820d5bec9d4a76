"""Growth accounting of the data and of a model run on the same terms; the gain from labour leaving farming.

Used to read the 2011-2015 slowdown (issue 11): how much of it is slower capital growth, slower
labour growth and a slower residual (total factor productivity), in the data and in the model, and
how much of the residual the reallocation of workers out of farming accounts for.

Both accountings use the *measured* quantities, so that data and model are compared like for like:
real output (2000 prices), the capital stock (the data's ``capital_adjusted``, the model's
``Capital``) and population as the labour input (the project has no employment by province; see
``data/raw/SOURCES.md``). The residual is ``g_Y - alpha g_K - (1 - alpha) g_L`` with log growth
rates in percent per year; with population as labour it also holds schooling and participation.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

#: The periods of the slowdown question: before, into and after the 2009 stimulus.
PERIODS: tuple[tuple[int, int], ...] = ((2000, 2005), (2005, 2010), (2010, 2015))

#: Five-year periods over the whole fit, 1980-2015: the slowdowns of 1985-1990 and 1995-2000 beside
#: that of 2010-2015 (before 2000 the data's real GDP rests on the proxy deflator).
LONG_PERIODS: tuple[tuple[int, int], ...] = tuple((y, y + 5) for y in range(1980, 2015, 5))

#: Names of output, capital and labour: in the observations (sd_model.data plus
#: sd_model.calibration.targets.add_derived) and in the model's results.
DATA_NAMES = ("gdp_real_2000", "capital_adjusted", "population")
MODEL_NAMES = ("GDP", "Capital", "Population")


def _log_growth(da: xr.DataArray, dim: str, start: int, end: int) -> xr.DataArray:
    """Log growth of ``da`` from ``start`` to ``end`` in percent per year."""
    ratio = da.sel({dim: end}) / da.sel({dim: start})
    return ratio.copy(data=np.log(ratio.values)) / (end - start) * 100.0


def decompose(output: xr.DataArray, capital: xr.DataArray, labour: xr.DataArray, alpha: float,
              periods: Sequence[tuple[int, int]] = PERIODS, dim: str = "year") -> pd.DataFrame:
    """Growth of output, capital and labour and the residual by region and period.

    Parameters
    ----------
    output, capital, labour : xarray.DataArray
        Real output (billion yuan/yr), capital (billion yuan) and labour (million persons), each
        with dimensions ``dim`` and ``region``.
    alpha : float
        Output elasticity of capital (dimensionless, 0 < alpha < 1).
    periods : sequence of (start, end) years
    dim : str
        Name of the time dimension (``year`` in the observations, ``time`` in model results).

    Returns
    -------
    pandas.DataFrame
        One row per (period, region) and one for the four regions summed (``region`` "China"):
        ``start``, ``end``, ``output``, ``capital``, ``labour`` (log growth, % a year), the
        contributions ``capital_part`` (alpha g_K) and ``labour_part`` ((1 - alpha) g_L), and
        ``residual``, all in percentage points a year.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    rows = []
    series = {"output": output, "capital": capital, "labour": labour}
    totals = {k: v.sum("region", min_count=4).expand_dims(region=["China"]) for k, v in series.items()}
    for start, end in periods:
        for part in (series, totals):
            g = {k: _log_growth(v, dim, start, end) for k, v in part.items()}
            for region in g["output"]["region"].values:
                gy, gk, gl = (float(g[k].sel(region=region)) for k in ("output", "capital", "labour"))
                rows.append({"start": start, "end": end, "region": str(region), "output": gy, "capital": gk,
                             "labour": gl, "capital_part": alpha * gk, "labour_part": (1 - alpha) * gl,
                             "residual": gy - alpha * gk - (1 - alpha) * gl})
    return pd.DataFrame(rows)


def decompose_data(obs: xr.Dataset, alpha: float, periods: Sequence[tuple[int, int]] = PERIODS) -> pd.DataFrame:
    """:func:`decompose` of the observations (``sd_model.calibration.targets.add_derived`` applied)."""
    y, k, n = (obs[name] for name in DATA_NAMES)
    return decompose(y, k, n, alpha, periods, dim="year")


def decompose_model(results: xr.Dataset, alpha: float, periods: Sequence[tuple[int, int]] = PERIODS) -> pd.DataFrame:
    """:func:`decompose` of a model run (an xarray Dataset of ``sd-model run --format netcdf``)."""
    y, k, n = (results[name].rename(Region="region") for name in MODEL_NAMES)
    return decompose(y, k, n, alpha, periods, dim="time")


def reallocation_gain(primary_va_share: pd.Series, primary_employment_share: pd.Series) -> pd.DataFrame:
    """Yearly output gain from workers leaving agriculture, in percent of output.

    A worker who leaves farming for the rest of the economy adds the difference of the two
    sectors' average products. With ``s_L`` farming's share of employment and ``s_Y`` its share of
    value added, farming's average product relative to the rest is
    ``r = (s_Y / s_L) / ((1 - s_Y) / (1 - s_L))`` and the gain in a year is
    ``-(Delta s_L) * (1 - r) * (1 - s_Y) / (1 - s_L)`` (output per worker outside farming over
    output per worker, times the fall of the farm share times the gap). Average products stand
    in for marginal ones, so this is an upper bound when farm labour is in surplus (Cai 2010).

    Parameters
    ----------
    primary_va_share, primary_employment_share : pandas.Series
        Indexed by year, fractions.

    Returns
    -------
    pandas.DataFrame
        Indexed by year: ``va_share``, ``employment_share``, ``relative_farm_productivity`` and
        ``gain`` (percent of output in that year; NaN in the first year).
    """
    df = pd.DataFrame({"va_share": primary_va_share, "employment_share": primary_employment_share}).dropna()
    sy, sl = df["va_share"], df["employment_share"]
    df["relative_farm_productivity"] = (sy / sl) / ((1 - sy) / (1 - sl))
    df["gain"] = -sl.diff() * (1 - df["relative_farm_productivity"]) * (1 - sy) / (1 - sl) * 100.0
    return df


def national_primary_va_share(obs: xr.Dataset) -> pd.Series:
    """Farming's share of national value added by year: ``primary_share`` weighted by nominal GDP.

    ``obs`` are the observations (:func:`sd_model.data.load_observations`); a year is NaN unless
    all four regions have both series (no partial sums).
    """
    gdp = obs["gdp_nominal"]
    share = (obs["primary_share"] * gdp).sum("region", min_count=4) / gdp.sum("region", min_count=4)
    return share.to_series().rename("primary_va_share")
