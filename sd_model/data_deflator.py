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
        growth = ((nominal / nominal.shift(1)) / (level / level.shift(1)) - 1.0).loc[FIRST:LAST] * 100
        err = growth - nbs_growth
        deflated = regional_sum(nominal / level, regions)
        reg_err = (deflated[1:] / deflated[:-1] - 1.0) * 100 - nbs_reg_growth
        cum = ((deflated[-1] / deflated[0]) / (nbs_real[-1] / nbs_real[0]) - 1.0) * 100
        for j, reg in enumerate(labels):
            cols = [p for p, r in regions.items() if r == reg or reg == "all"]
            e = err[cols].to_numpy().ravel()
            e = e[np.isfinite(e)]
            re = reg_err.ravel() if reg == "all" else reg_err[:, j]
            out["rmse_provincial"][i, j] = np.sqrt(np.mean(e ** 2))
            out["bias_provincial"][i, j] = np.mean(e)
            out["rmse_regional"][i, j] = np.sqrt(np.mean(re ** 2))
            out["bias_regional"][i, j] = np.mean(re)
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


def national_pre2000_check(data_dir: str | os.PathLike | None = None) -> xr.Dataset:
    """The two proxy deflators against the national GDP deflator in the period of use, 1979-1999.

    For each price index, the 31 provinces' Compendium-vintage nominal GDP is deflated province
    by province (2000 = 1) and summed; the implied deflator of the sum (sum of nominal / sum of
    deflated) is compared with the World Bank GDP deflator of China. Provinces without the index
    in a year (Tibet before 1990 for the retail index) are left out of both sums that year.

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
    nat_infl = (national / national.shift(1) - 1.0) * 100
    out: dict[str, list[float]] = {k: [] for k in ("rmse", "bias", "cumulative_error_pct")}
    for name in DEFLATORS:
        level = pre2000_price_level(name, t)
        real = t["gdp_nominal_compendium_vintage"] / level
        implied = t["gdp_nominal_compendium_vintage"].where(real.notna()).sum(axis=1) / real.sum(axis=1)
        err = ((implied / implied.shift(1) - 1.0) * 100 - nat_infl).loc[NATIONAL_FIRST:NATIONAL_LAST]
        out["rmse"].append(float(np.sqrt((err ** 2).mean())))
        out["bias"].append(float(err.mean()))
        first, last = NATIONAL_FIRST - 1, NATIONAL_LAST
        out["cumulative_error_pct"].append(
            float(((implied[last] / implied[first]) / (national[last] / national[first]) - 1.0) * 100))
    units = {"rmse": "percentage points per year", "bias": "percentage points per year",
             "cumulative_error_pct": "percent"}
    ds = xr.Dataset({k: ("deflator", v, {"units": units[k]}) for k, v in out.items()},
                    coords={"deflator": list(DEFLATORS)})
    ds.attrs.update(years=f"{NATIONAL_FIRST}-{NATIONAL_LAST}", reference="World Bank GDP deflator of China")
    return ds
