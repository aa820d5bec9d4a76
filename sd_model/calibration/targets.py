"""Calibration targets derived from the observations.

Series the model is fitted to that the data files do not hold directly:

- ``gfcf_adjusted`` (billion yuan/year, current prices): provincial GFCF summed by region and
  scaled, year by year, by national GFCF over the sum of provinces. Provinces over-report GFCF
  (their sum exceeds national GFCF by +6% in 2000 and +35% in 2015, data/raw/SOURCES.md); the
  scaling assumes every region over-reports by the same proportion in a year. Before the first
  year of national GFCF in the data (2000) the provincial values are used as published.
- ``net_fiscal_transfer`` (billion yuan/year, current prices, 2000-2015): ``net_fiscal_inflow``
  (local general-budget expenditure minus revenue, summed by region) less the region's share of
  nominal GDP times the national total (central revenue is taken as raised in proportion to
  GDP), so that the four regions sum to zero like the model's ``Net Fiscal Transfer``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from ..data import load_national

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
    if "net_fiscal_inflow" in obs and "gdp_nominal" in obs:
        net = obs["net_fiscal_inflow"]
        share = obs["gdp_nominal"] / obs["gdp_nominal"].sum("region", min_count=4)
        adjusted = net - share * net.sum("region", min_count=4)
        out["net_fiscal_transfer"] = adjusted.where(np.isfinite(adjusted)).assign_attrs(
            units="billion yuan/year, current prices", source=net.attrs.get("source", ""),
            note="net_fiscal_inflow (expenditure minus revenue) less the region's GDP share of the national "
                 "total, so that the regions sum to zero.")
    return out
