"""The deflator test: which provincial price index best turns nominal GDP into real GDP.

No provincial real-GDP index exists before 2000, so 1978-1999 real GDP is nominal GDP deflated
by a proxy price index. Two are available for every province: the fixed-asset investment price
index and the retail price index. Where both overlap with the NBS real GDP growth index
(2001-2015), nominal GDP growth deflated by each is compared with the NBS real growth; the
index with the smaller error is :data:`sd_model.data.PRE2000_DEFLATOR`.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import xarray as xr

from .data import load_provincial, load_regions, pre2000_price_level, read_yearly, resolve_data_dir
from .data_panel import REGIONS, regional_sum, wide
from .errors import DataError, check_number

DEFLATORS = ("investment_price_index", "retail_price_index")
FIRST, LAST = 2001, 2015


def _tables(folder) -> dict[str, pd.DataFrame]:
    years = np.arange(FIRST - 1, LAST + 1)
    names = ("gdp_nominal", "gdp_index_prev_year", "gdp_real_2000prices", *DEFLATORS)
    return {n: wide(load_provincial(n, folder), years) for n in names}


def deflator_test(data_dir: str | os.PathLike | None = None) -> xr.Dataset:
    """Error of deflated nominal GDP growth against the NBS real growth index, 2001-2015.

    For each province and year, deflated growth is ``(Y[t] / Y[t-1]) / (P[t] / P[t-1]) - 1``
    with ``Y`` nominal GDP (NBS vintage) and ``P`` the price index; the reference is the NBS
    index ``I[t] / 100 - 1`` (previous year = 100). For each region, deflated real GDP is also
    summed (each province at its own 2000 prices, ``Y / P`` with ``P[2000] = 1``) and its growth
    compared with the growth of the sum of NBS real GDP at 2000 prices.

    Parameters
    ----------
    data_dir : path-like, optional
        Folder of the raw files. Default is :func:`sd_model.data.resolve_data_dir`.

    Returns
    -------
    xarray.Dataset
        Dims ``deflator`` (:data:`DEFLATORS`) and ``region`` (:data:`~sd_model.data_panel.REGIONS`
        plus ``"all"``, the 31 provinces pooled). Variables, in **percentage points** of annual
        growth: ``rmse_provincial`` and ``bias_provincial`` (mean of deflated minus NBS) over the
        region's province-years; ``rmse_regional`` and ``bias_regional`` over the region's 15 annual
        growth rates of summed real GDP (for ``"all"``, pooled over the four regions);
        ``cumulative_error_pct``: deflated 2015/2000 real GDP ratio over the NBS one, minus 1, in
        percent. ``attrs["better"]`` is the deflator with the smaller pooled provincial RMSE.
    """
    folder = resolve_data_dir(data_dir)
    regions = load_regions(folder)
    t = _tables(folder)
    nbs_growth = (t["gdp_index_prev_year"] / 100.0 - 1.0).loc[FIRST:LAST] * 100
    nbs_real = regional_sum(t["gdp_real_2000prices"], regions)
    nbs_reg_growth = (nbs_real[1:] / nbs_real[:-1] - 1.0) * 100
    labels = [*REGIONS, "all"]
    out = {k: np.full((len(DEFLATORS), len(labels)), np.nan) for k in
           ("rmse_provincial", "bias_provincial", "rmse_regional", "bias_regional", "cumulative_error_pct")}
    for i, name in enumerate(DEFLATORS):
        level = pre2000_price_level(name, t)
        nominal = t["gdp_nominal"]
        err = _growth_errors(nominal, level, nbs_growth)
        deflated = regional_sum(nominal / level, regions)
        reg_err = (deflated[1:] / deflated[:-1] - 1.0) * 100 - nbs_reg_growth
        cum = ((deflated[-1] / deflated[0]) / (nbs_real[-1] / nbs_real[0]) - 1.0) * 100
        for j, reg in enumerate(labels):
            cols = [p for p, r in regions.items() if r == reg or reg == "all"]
            re = reg_err.ravel() if reg == "all" else reg_err[:, j]
            out["rmse_provincial"][i, j], out["bias_provincial"][i, j] = _rmse_bias(err[cols].to_numpy())
            out["rmse_regional"][i, j], out["bias_regional"][i, j] = _rmse_bias(re)
            if reg != "all":
                out["cumulative_error_pct"][i, j] = cum[j]
    units = {"cumulative_error_pct": "percent"}
    ds = xr.Dataset({k: (("deflator", "region"), v, {"units": units.get(k, "percentage points per year")})
                     for k, v in out.items()}, coords={"deflator": list(DEFLATORS), "region": labels})
    pooled = ds["rmse_provincial"].sel(region="all")
    ds.attrs.update(better=str(pooled.idxmin("deflator").item()), years=f"{FIRST}-{LAST}",
                    note="Deflated nominal GDP growth minus NBS real growth index; see data/raw/SOURCES.md.")
    return ds


WB_FILE = "national_gdp_deflator_worldbank.csv"
NATIONAL_FIRST, NATIONAL_LAST = 1979, 1999


def load_national_gdp_deflator(data_dir: str | os.PathLike | None = None) -> pd.Series:
    """China's implicit GDP deflator (World Bank NY.GDP.DEFL.ZS), index 2015 = 100, by year 1975-2015."""
    path = resolve_data_dir(data_dir) / WB_FILE
    s = read_yearly(path, {"gdp_deflator_2015eq100": "gdp_deflator"})["gdp_deflator"].sort_index().rename_axis(None)
    s.attrs.update(units="index, 2015 = 100", source=WB_FILE)
    return s


def national_pre2000_check(data_dir: str | os.PathLike | None = None,
                           deflators: tuple[str, ...] = DEFLATORS) -> xr.Dataset:
    """The proxy deflators against the national GDP deflator in the period of use, 1979-1999.

    For each price index, the 31 provinces' Compendium-vintage nominal GDP is deflated province
    by province (2000 = 1) and summed; the implied deflator of the sum (sum of nominal / sum of
    deflated) is compared with the World Bank GDP deflator of China. Provinces without the index
    in a year (Tibet before 1990 for the retail index) are left out of both sums that year.
    ``deflators`` are names of :func:`sd_model.data.pre2000_price_level` (default the two
    indices; :data:`sd_model.data.PRE2000_DEFLATORS` adds the screened investment index).

    Returns
    -------
    xarray.Dataset
        Dim ``deflator``: ``rmse``, ``bias`` (points of annual inflation, implied minus national,
        1979-1999) and ``cumulative_error_pct`` (1999/1978 implied over national, minus 1,
        percent).
    """
    folder = resolve_data_dir(data_dir)
    years = np.arange(NATIONAL_FIRST - 1, 2001)
    names = ("gdp_nominal_compendium_vintage", *DEFLATORS)
    t = {n: wide(load_provincial(n, folder), years) for n in names}
    national = load_national_gdp_deflator(folder).reindex(years)
    out: dict[str, list[float]] = {k: [] for k in ("rmse", "bias", "cumulative_error_pct")}
    for name in deflators:
        for key, value in _national_errors(t["gdp_nominal_compendium_vintage"], pre2000_price_level(name, t),
                                           national).items():
            out[key].append(value)
    units = {"rmse": "percentage points per year", "bias": "percentage points per year",
             "cumulative_error_pct": "percent"}
    ds = xr.Dataset({k: ("deflator", v, {"units": units[k]}) for k, v in out.items()},
                    coords={"deflator": list(deflators)})
    ds.attrs.update(years=f"{NATIONAL_FIRST}-{NATIONAL_LAST}", reference="World Bank GDP deflator of China")
    return ds


def _growth_errors(nominal: pd.DataFrame, level: pd.DataFrame, nbs_growth: pd.DataFrame) -> pd.DataFrame:
    """Year x province: nominal GDP growth deflated by ``level`` minus NBS real growth, points, FIRST-LAST."""
    return ((nominal / nominal.shift(1)) / (level / level.shift(1)) - 1.0).loc[FIRST:LAST] * 100 - nbs_growth


def _rmse_bias(errors: np.ndarray) -> tuple[float, float]:
    """Root mean square and mean of the finite values of ``errors`` (any shape; pooled), in their units."""
    e = np.asarray(errors, dtype=float).ravel()
    e = e[np.isfinite(e)]
    return float(np.sqrt(np.mean(e ** 2))), float(np.mean(e))


def _national_errors(nominal: pd.DataFrame, level: pd.DataFrame, national: pd.Series) -> dict[str, float]:
    """The implied deflator of the provinces' deflated sum against ``national``, 1979-1999.

    Returns rmse and bias (points of annual inflation) and cumulative_error_pct (percent), as
    :func:`national_pre2000_check` reports them.
    """
    real = nominal / level
    implied = nominal.where(real.notna()).sum(axis=1) / real.sum(axis=1)
    nat_infl = (national / national.shift(1) - 1.0) * 100
    err = ((implied / implied.shift(1) - 1.0) * 100 - nat_infl).loc[NATIONAL_FIRST:NATIONAL_LAST]
    first, last = NATIONAL_FIRST - 1, NATIONAL_LAST
    return {"rmse": float(np.sqrt((err ** 2).mean())), "bias": float(err.mean()),
            "cumulative_error_pct": float(((implied[last] / implied[first]) / (national[last] / national[first])
                                           - 1.0) * 100)}


def mixed_price_level(tables: dict[str, pd.DataFrame], investment_weight: float) -> pd.DataFrame:
    """Year x province price level (2000 = 1), a geometric mean of the two proxy indices.

    ``log P = w log P_investment + (1 - w) log P_retail`` with ``w = investment_weight`` in [0, 1]:
    annual inflation is the weighted mean of the two indices' log inflation, as a GDP deflator
    weights the prices of what is produced for investment and for consumption. NaN where either
    index is missing (Tibet's retail index before 1990), whatever the weight, so that every weight
    is judged on the same province-years.
    """
    w = check_number(investment_weight, "investment_weight", "mixed_price_level", DataError, nonneg=True)
    if w > 1.0:
        raise DataError(f"mixed_price_level: investment_weight must be within [0, 1], got {investment_weight!r}")
    inv = pre2000_price_level("investment_price_index", tables)
    ret = pre2000_price_level("retail_price_index", tables)
    return np.exp(w * np.log(inv) + (1.0 - w) * np.log(ret))


def deflator_mix_test(weights=(0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
                      data_dir: str | os.PathLike | None = None) -> xr.Dataset:
    """Both tests of the proxy deflator for geometric mixes of the two indices (:func:`mixed_price_level`).

    Weight 1 is the investment price index alone (the shipped :data:`sd_model.data.PRE2000_DEFLATOR`),
    0 the retail price index alone. Only province-years with both indices count, for every weight:
    the provincial figures at 1 and 0 equal :func:`deflator_test`'s pooled ones (both indices cover
    2000-2015 everywhere); the national ones at 1 leave out Tibet before 1990 where
    :func:`national_pre2000_check` keeps it.

    Returns
    -------
    xarray.Dataset
        Dim ``investment_weight``. ``rmse_provincial``, ``bias_provincial``: 2001-2015, the 31
        provinces pooled, deflated minus NBS real growth (percentage points a year);
        ``rmse_national``, ``bias_national`` (points of annual inflation) and
        ``cumulative_error_pct`` (percent): 1979-1999, the implied deflator of the provinces'
        deflated sum against the World Bank GDP deflator.
    """
    folder = resolve_data_dir(data_dir)
    t = _tables(folder)
    nbs_growth = (t["gdp_index_prev_year"] / 100.0 - 1.0).loc[FIRST:LAST] * 100
    years = np.arange(NATIONAL_FIRST - 1, 2001)
    early = {n: wide(load_provincial(n, folder), years) for n in ("gdp_nominal_compendium_vintage", *DEFLATORS)}
    national = load_national_gdp_deflator(folder).reindex(years)
    out: dict[str, list[float]] = {k: [] for k in ("rmse_provincial", "bias_provincial", "rmse_national",
                                                   "bias_national", "cumulative_error_pct")}
    for w in weights:
        rmse, bias = _rmse_bias(_growth_errors(t["gdp_nominal"], mixed_price_level(t, w), nbs_growth).to_numpy())
        out["rmse_provincial"].append(rmse)
        out["bias_provincial"].append(bias)
        nat = _national_errors(early["gdp_nominal_compendium_vintage"], mixed_price_level(early, w), national)
        out["rmse_national"].append(nat["rmse"])
        out["bias_national"].append(nat["bias"])
        out["cumulative_error_pct"].append(nat["cumulative_error_pct"])
    units = {"cumulative_error_pct": "percent"}
    return xr.Dataset({k: ("investment_weight", v, {"units": units.get(k, "percentage points per year")})
                       for k, v in out.items()}, coords={"investment_weight": [float(w) for w in weights]},
                      attrs={"provincial_years": f"{FIRST}-{LAST}",
                             "national_years": f"{NATIONAL_FIRST}-{NATIONAL_LAST}"})
