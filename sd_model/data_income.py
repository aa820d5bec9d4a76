"""Factor shares of income by macro-region, from the provincial income-approach GDP accounts (2000-2015).

The raw file is ``provincial_gdp_income_approach.csv`` (provenance and caveats in ``data/raw/SOURCES.md``:
the 2004 reclassification of the self-employed's income, farmers' mixed income counted as labour
compensation). The model's production function has one capital elasticity for every region; these
shares are what a regional elasticity or a labour-share anchor by region would be set against.
"""
from __future__ import annotations

import os

import numpy as np
import xarray as xr

from .data import load_provincial, load_regions, resolve_data_dir
from .data_panel import REGIONS, regional_sum, wide

__all__ = ["load_factor_shares"]


def load_factor_shares(data_dir: str | os.PathLike | None = None) -> xr.Dataset:
    """Capital and labour shares of factor income by region and for the four regions together, by year.

    Factor income is income-approach GDP less net taxes on production; the labour share is labour
    compensation over it and the capital share (depreciation plus operating surplus) one minus that,
    provinces summed by region (a region is missing in a year unless all its provinces are present).

    Returns
    -------
    xarray.Dataset
        Dims ``(year, region)`` (region order :data:`sd_model.data_panel.REGIONS`): ``capital_share`` and
        ``labour_share`` (dimensionless); ``capital_share_national`` (dim ``year``), the four regions summed.

    Raises
    ------
    sd_model.errors.DataError
        A missing or malformed raw file (naming the file and the line).
    """
    folder = resolve_data_dir(data_dir)
    regions = load_regions(folder)
    frames = {name: load_provincial(name, folder)
              for name in ("gdp_income_approach", "labour_compensation", "net_production_taxes")}
    years = np.unique(frames["gdp_income_approach"]["year"])
    sums = {name: regional_sum(wide(df, years), regions) for name, df in frames.items()}
    factor = sums["gdp_income_approach"] - sums["net_production_taxes"]
    labour = sums["labour_compensation"] / factor
    national = 1.0 - sums["labour_compensation"].sum(axis=1) / factor.sum(axis=1)
    coords = {"year": years, "region": list(REGIONS)}
    unit = {"units": "dimensionless", "source": "provincial_gdp_income_approach.csv"}
    return xr.Dataset(
        {"labour_share": (("year", "region"), labour, unit),
         "capital_share": (("year", "region"), 1.0 - labour, unit),
         "capital_share_national": ("year", national, unit)},
        coords=coords, attrs={"note": "factor income = income-approach GDP - net taxes on production"})
