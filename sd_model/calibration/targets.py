"""Calibration targets derived from the observations: series the model is fitted to that the
data files do not hold directly.

- ``gfcf_adjusted`` (billion yuan/year, current prices): provincial GFCF summed by region and
  scaled, year by year, by national GFCF over the sum of provinces. Provinces over-report GFCF
  (their sum exceeds national GFCF by +6% in 2000 and +35% in 2015, data/raw/SOURCES.md); the
  scaling assumes every region over-reports by the same proportion in a year. Before the first
  year of national GFCF in the data (2000) the provincial values are used as published.
- ``net_fiscal_transfer`` (billion yuan/year, current prices, 2000-2015): local general-budget
  expenditure minus revenue summed by region, less the region's share of nominal GDP times the
  national total (central revenue is taken as raised in proportion to GDP), so that the four
  regions sum to zero like the model's ``Net Fiscal Transfer``. Only when the fiscal files
  ``provincial_fiscal_expenditure.csv`` and ``provincial_fiscal_revenue.csv`` are in the data
  folder.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..data import load_national, load_regions

_FISCAL = (("provincial_fiscal_expenditure.csv", "local_general_budget_expenditure_100m_yuan"),
           ("provincial_fiscal_revenue.csv", "local_general_budget_revenue_100m_yuan"))


def add_derived(obs: xr.Dataset) -> xr.Dataset:
    """``obs`` with the derived target series added (see the module docstring).

    Parameters
    ----------
    obs : xarray.Dataset
        Observations of :func:`sd_model.data.load_observations`, dims ``(year, region)``,
        with ``attrs["data_dir"]`` naming the folder they were read from.
    """
    out = obs.copy()
    folder = Path(obs.attrs.get("data_dir", ""))
    if "gfcf_nominal" in obs and folder.is_dir():
        national = load_national(folder)["gfcf_nominal"].reindex(obs["year"].values)
        regional = obs["gfcf_nominal"].sum("region", min_count=4)
        factor = xr.DataArray(national.to_numpy(), dims="year", coords={"year": obs["year"].values}) / regional
        first = int(national.first_valid_index()) if national.notna().any() else None
        if first is not None:  # before national GFCF (2000) no scaling: over-reporting was +6% in 2000
            factor = factor.where(factor["year"] >= first, 1.0)
        out["gfcf_adjusted"] = (obs["gfcf_nominal"] * factor).assign_attrs(
            units="billion yuan/year, current prices", source="provincial_gfcf_nominal.csv, national_nbs.csv",
            note="Regional GFCF scaled by national GFCF / sum of provinces (over-reporting removed "
                 "proportionally).")
    fiscal = [folder / name for name, _ in _FISCAL]
    if all(p.is_file() for p in fiscal) and "gdp_nominal" in obs:
        regions = load_regions(folder)
        net = None
        for sign, (path, (_, column)) in zip((1.0, -1.0), zip(fiscal, _FISCAL)):
            df = pd.read_csv(path)
            df["region"] = df["province"].map(regions)
            part = df.groupby(["year", "region"])[column].sum().unstack() * 0.1 * sign
            net = part if net is None else net + part
        net = net.reindex(index=obs["year"].values, columns=[str(r) for r in obs["region"].values])
        gdp = obs["gdp_nominal"].to_pandas().reindex(columns=net.columns)
        share = gdp.div(gdp.sum(axis=1), axis=0)
        adjusted = net - share.mul(net.sum(axis=1, min_count=4), axis=0)
        out["net_fiscal_transfer"] = xr.DataArray(
            adjusted.to_numpy(dtype=float), dims=("year", "region"),
            coords={"year": obs["year"].values, "region": obs["region"].values},
            attrs={"units": "billion yuan/year, current prices",
                   "source": "provincial_fiscal_expenditure.csv, provincial_fiscal_revenue.csv",
                   "note": "Expenditure minus revenue, less the region's GDP share of the national total."})
        out["net_fiscal_transfer"] = out["net_fiscal_transfer"].where(np.isfinite(out["net_fiscal_transfer"]))
    return out
