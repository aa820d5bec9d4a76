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
- ``capital_adjusted`` (billion yuan, 2000 prices): the perpetual-inventory capital stock rebuilt
  from 2000 on with the over-reported part of each year's investment removed. The data stock
  ``capital_2000`` is K(t) = (1 - d) K(t-1) + I(t) with d = :data:`DATA_DEPRECIATION` and I the
  deflated provincial GFCF, so I(t) is recovered from consecutive stocks and scaled by the same
  factor as ``gfcf_adjusted``; before 2000 the published stock.
- ``gfcf_scaling_factor`` (dimensionless, dim ``year``): that factor, national GFCF / sum of provinces
  (1 before 2000); one minus it is the national over-reporting rate (:func:`implied_overreporting`).
- ``gfcf_adjusted_real`` (billion yuan/year, 2000 prices): the same adjusted investment at 2000
  prices, I(t) from consecutive stocks (the data's own deflator) times the adjustment factor; with
  ``gdp_real_2000`` it gives the investment share at constant prices, as the model computes it.
- ``npl_ratio_national`` (fraction of loans, dim ``year``): commercial-bank NPL ratio, 2003-2015
  with gaps (``national_npl_commercial_banks.csv``; 2003 covers the major banks only).
- ``environmental_cost_national`` (fraction of GDP, dim ``year``): the official green-accounting cost of
  environmental degradation, 2004 and 2008-2010 (``national_environmental_degradation_cost.csv``; an order
  of magnitude for the model's environmental output loss, not a measurement of it).
- ``capital_share_pwt`` (fraction of GDP, dim ``year``): China's capital income share, one minus PWT
  10.01's labour share, 1993-2015 (before 1993 PWT repeats a constant: NaN). In the model's
  competitive Cobb-Douglas it is ``Capital Elasticity``.
- ``schooling_years_pwt`` (school years, dim ``year``): China's average years of schooling behind PWT
  10.01's human-capital index (:func:`sd_model.data_pwt.schooling_years_from_hc`), 1978-2015.
- ``tfp_relative_us_pwt`` (USA = 1, dim ``year``): China's TFP level at current PPPs (PWT ``ctfp``),
  1978-2015; only its level near the ICP benchmark years (2005, 2011) is comparable with the model
  (PWT's real GDP growth for China is not the official series; ``data/raw/SOURCES.md``).
- ``gdp_real_2000_national`` (billion yuan/year, 2000 prices, dim ``year``): the four regions' real
  GDP summed (NaN in a year where a region is missing), the data beside the model's ``National
  GDP``; its annual growth is the national growth that issue 11's out-of-sample target speaks of.
- ``net_migration_residual`` (million persons/year, 2001-2015): change of year-end population minus
  natural increase, by region (:func:`sd_model.data_demography.load_regional_demography`), with the
  years of :data:`POPULATION_REBASING_YEARS` left out (NaN): in those years the provincial
  populations were re-based on a census or 1% sample survey, and the residual there is mostly the
  revision (e.g. the West +0.89 million in 2015 against -0.41 to +0.11 in 2011-2014). A residual
  carrying the remaining breaks, so only the signs of multi-year sums are compared.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from ..data import load_national, load_observations
from ..data_demography import REGIONAL_DEMOGRAPHY_FILES, load_regional_demography
from ..data_environment import ENVIRONMENTAL_COST_FILE, load_environmental_cost
from ..data_finance import load_national_npl
from ..data_pwt import PWT_FILE, load_pwt_china, schooling_years_from_hc

if TYPE_CHECKING:  # the config module is not needed at run time here
    from .config import CalibrationConfig

#: Depreciation rate of the capital-stock data (Zhang, Wu and Zhang 2004), 1/year; the data stock
#: satisfies K(t) = (1 - d) K(t-1) + I(t) with I(t) / GFCF(t) = 1 exactly in 2000.
DATA_DEPRECIATION = 0.096

#: Years whose provincial year-end populations follow a census or 1% sample survey (2005 and 2015
#: surveys, 2010 census): the population change of those years carries the revision, not migration.
POPULATION_REBASING_YEARS = (2005, 2010, 2015)


def config_observations(cfg: CalibrationConfig) -> xr.Dataset:
    """The observations a calibration file fits: its data folder, its pre-2000 deflator, derived series added.

    ``cfg.data_dir`` None reads the project's data; ``cfg.pre2000_deflator`` is one of
    :data:`sd_model.data.PRE2000_DEFLATORS`.
    """
    return add_derived(load_observations(cfg.data_dir, cfg.pre2000_deflator))


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
        out["gfcf_scaling_factor"] = factor.assign_attrs(
            units="1", source="provincial_gfcf_nominal.csv, national_nbs.csv",
            note="National GFCF / sum of provinces (1 before national GFCF); every region's GFCF is scaled by it.")
        if "capital_2000" in obs:
            out["capital_adjusted"] = _capital_adjusted(obs["capital_2000"], factor)
            stock = obs["capital_2000"]
            real = (stock - (1 - DATA_DEPRECIATION) * stock.shift(year=1)) * factor
            out["gfcf_adjusted_real"] = real.assign_attrs(
                units="billion yuan/year, 2000 prices", source="provincial capital stock and GFCF, national_nbs.csv",
                note="Investment of the perpetual-inventory stock, K(t) - (1 - d) K(t-1), scaled like gfcf_adjusted.")
        out["gfcf_adjusted"] = (obs["gfcf_nominal"] * factor).assign_attrs(
            units="billion yuan/year, current prices", source="provincial_gfcf_nominal.csv, national_nbs.csv",
            note="Regional GFCF scaled by national GFCF / sum of provinces (over-reporting removed "
                 "proportionally).")
    if "gdp_real_2000" in obs:
        out["gdp_real_2000_national"] = obs["gdp_real_2000"].sum("region", min_count=4).assign_attrs(
            units="billion yuan/year, 2000 prices", source=obs["gdp_real_2000"].attrs.get("source", ""),
            note="gdp_real_2000 summed over the four regions (NaN where one is missing).")
    if "net_fiscal_inflow" in obs and "gdp_nominal" in obs:
        net = obs["net_fiscal_inflow"]
        share = obs["gdp_nominal"] / obs["gdp_nominal"].sum("region", min_count=4)
        adjusted = net - share * net.sum("region", min_count=4)
        out["net_fiscal_transfer"] = adjusted.where(np.isfinite(adjusted)).assign_attrs(
            units="billion yuan/year, current prices", source=net.attrs.get("source", ""),
            note="net_fiscal_inflow (expenditure minus revenue) less the region's GDP share of the national "
                 "total, so that the regions sum to zero.")
    if folder.is_dir() and (folder / "national_npl_commercial_banks.csv").is_file():
        npl = load_national_npl(folder)["npl_ratio"].reindex(obs["year"].values) / 100
        out["npl_ratio_national"] = xr.DataArray(npl.to_numpy(), dims="year", coords={"year": obs["year"].values},
                                                 attrs={"units": "fraction of loans",
                                                        "source": "national_npl_commercial_banks.csv",
                                                        "note": "Commercial-bank NPL ratio (2003: major banks)."})
    if folder.is_dir() and (folder / ENVIRONMENTAL_COST_FILE).is_file():
        env = load_environmental_cost(folder)["cost_share"].reindex(obs["year"].values)
        out["environmental_cost_national"] = xr.DataArray(
            env.to_numpy(), dims="year", coords={"year": obs["year"].values},
            attrs={"units": "fraction of GDP", "source": ENVIRONMENTAL_COST_FILE,
                   "note": "Official green-accounting cost of environmental degradation, China (2004: pollution "
                           "only; 2008-2010: ecological and environmental), as stated; NaN in other years."})
    if folder.is_dir() and (folder / PWT_FILE).is_file():
        pwt = load_pwt_china(folder).reindex(obs["year"].values)
        for var, values, units, note in (
                ("capital_share_pwt", 1 - pwt["labour_share"], "1 (fraction of GDP)",
                 "One minus PWT 10.01's labour share of GDP, China (NaN before 1993: a constant fill)."),
                ("tfp_relative_us_pwt", pwt["tfp_relative_us"], "1 (USA = 1)",
                 "PWT 10.01 ctfp, China: TFP level at current PPPs relative to the USA; compare levels near "
                 "the ICP benchmark years only."),
                ("schooling_years_pwt", pd.Series(schooling_years_from_hc(pwt["human_capital_index"]), pwt.index),
                 "school_years", "Average years of schooling behind PWT 10.01's human-capital index hc for China "
                 "(Barro-Lee years of the population 25+ and Cohen-Leker), read back through PWT's returns "
                 "by band (sd_model.data_pwt.schooling_years_from_hc).")):
            out[var] = xr.DataArray(values.to_numpy(), dims="year", coords={"year": obs["year"].values},
                                    attrs={"units": units, "source": PWT_FILE, "note": note})
    if folder.is_dir() and all((folder / f).is_file() for f in REGIONAL_DEMOGRAPHY_FILES):

        resid = load_regional_demography(folder)["net_migration_residual"]
        resid = resid.where(~resid["year"].isin(POPULATION_REBASING_YEARS))
        out["net_migration_residual"] = resid.reindex(year=obs["year"].values).transpose("year", "region").assign_attrs(
            note=resid.attrs.get("note", "") + " Re-basing years " + ", ".join(map(str, POPULATION_REBASING_YEARS))
            + " left out (NaN).")
    return out


def implied_overreporting(model_share: xr.DataArray, obs: xr.Dataset) -> xr.DataArray:
    """Over-reporting of GFCF each region would need for the data to show the model's investment share.

    The adjusted data scale every region's GFCF in a year by one factor f = national GFCF / sum of
    provinces, i.e. every region over-reports at the national rate 1 - f. Which regions over-report
    is not known. If region r over-reports at k times the national rate, its investment is the
    published one times 1 - k (1 - f); the k that makes that equal the model's share is

        k = (1 - s_model Y / I_published) / (1 - f)

    with Y real GDP and I_published = ``gfcf_adjusted_real`` / f (both at 2000 prices). k = 1 is
    the target as fitted; k < 1 means the model's share is above the adjusted data (the region
    would have over-reported less than the nation), k > 1 below it. The same with the four
    regions summed (region ``China``, weights the published investment) is 1 when the model's
    national share equals the adjusted national data.

    Parameters
    ----------
    model_share : xarray.DataArray
        The model's Investment / GDP (dimensionless), dims ``(year, region)``.
    obs : xarray.Dataset
        :func:`add_derived` observations (``gfcf_scaling_factor``, ``gfcf_adjusted_real``,
        ``gdp_real_2000``).

    Returns
    -------
    xarray.DataArray
        k (dimensionless), dims ``(year, region)`` with the regions and ``China``; NaN where the
        data are not scaled (f = 1, before national GFCF in 2000) or missing.
    """
    factor = obs["gfcf_scaling_factor"]
    rate = (1 - factor).where(np.abs(1 - factor) > 1e-12)
    published = obs["gfcf_adjusted_real"] / factor
    years = np.intersect1d(model_share["year"].values, obs["year"].values)
    share, published, gdp = (a.sel(year=years) for a in (model_share, published, obs["gdp_real_2000"]))
    rate = rate.sel(year=years)
    k = (1 - share * gdp / published) / rate
    n = share.sizes["region"]  # every region or none: a national figure needs them all
    total = (1 - (share * gdp).sum("region", min_count=n) / published.sum("region", min_count=n)) / rate
    out = xr.concat([k.transpose("year", "region"), total.expand_dims(region=["China"]).transpose("year", "region")],
                    dim="region")
    return out.assign_attrs(units="1", note="Over-reporting rate of GFCF relative to the national rate under "
                                            "which the adjusted data equal the model's investment share.")


def _capital_adjusted(capital: xr.DataArray, factor: xr.DataArray) -> xr.DataArray:
    """Capital stock (2000 prices) rebuilt with each year's investment scaled by ``factor``."""
    k = capital.transpose("year", "region").to_numpy()
    f = factor.reindex(year=capital["year"]).transpose("year", ...).to_numpy()
    f = np.broadcast_to(f.reshape(len(k), -1), k.shape)
    adj = k.copy()
    for t in range(1, len(k)):
        invest = k[t] - (1 - DATA_DEPRECIATION) * k[t - 1]
        scaled = (1 - DATA_DEPRECIATION) * adj[t - 1] + invest * np.where(np.isfinite(f[t]), f[t], 1.0)
        adj[t] = np.where(np.isfinite(scaled), scaled, k[t])
    return xr.DataArray(adj, dims=("year", "region"), coords={"year": capital["year"], "region": capital["region"]},
                        attrs={"units": capital.attrs.get("units", "billion yuan, 2000 prices"),
                               "source": "provincial capital stock and GFCF, national_nbs.csv",
                               "note": "Perpetual-inventory stock with GFCF over-reporting removed from 2000 on "
                                       "(targets.py)."})
