"""Tests of the derived regional series (sd_model.data_derived via data.load_observations).

Reference values are recomputed from the CSV files with the csv module or are numbers printed
in data/raw/SOURCES.md.
"""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from sd_model import data
from raw_csv import RAW, provinces_of



def table(fname, col=2):
    with (RAW / fname).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return {(r[0], int(r[1])): float(r[col]) for r in rows[1:] if r[col] != ""}


def rsum(fname, region, year):
    t = table(fname)
    return sum(t[p, year] for p in provinces_of(region))


@pytest.fixture(scope="module")
def ds():
    return data.load_observations(RAW)


def val(ds, var, year, region):
    return float(ds[var].sel(year=year, region=region))


@pytest.mark.parametrize("region, year", [("West", 2000), ("Northeast", 2015), ("East", 2008)])
def test_net_fiscal_inflow_independent(ds, region, year):
    exp = rsum("provincial_fiscal_expenditure.csv", region, year)
    rev = rsum("provincial_fiscal_revenue.csv", region, year)
    gdp = rsum("provincial_gdp_nominal.csv", region, year)
    assert val(ds, "fiscal_expenditure", year, region) == pytest.approx(exp / 10, rel=1e-12)
    assert val(ds, "fiscal_revenue", year, region) == pytest.approx(rev / 10, rel=1e-12)
    assert val(ds, "net_fiscal_inflow", year, region) == pytest.approx((exp - rev) / 10, rel=1e-12)
    assert val(ds, "net_fiscal_inflow_to_gdp", year, region) == pytest.approx((exp - rev) / gdp, rel=1e-12)


def test_fiscal_span(ds):
    assert math.isnan(val(ds, "net_fiscal_inflow", 1999, "East"))
    assert np.isfinite(ds["net_fiscal_inflow"].sel(year=slice(2000, 2015))).all()
    # the West receives the most relative to GDP, the East the least, in every year
    share = ds["net_fiscal_inflow_to_gdp"].sel(year=slice(2000, 2015))
    assert (share.sel(region="West") > share.sel(region="Central")).all()
    assert (share.sel(region="East") == share.min("region")).all()


@pytest.mark.parametrize("region, year", [("Central", 1985), ("West", 1990), ("Northeast", 2015)])
def test_investment_to_gdp_independent(ds, region, year):
    gfcf = sum(v for (p, y), v in table("provincial_gfcf_nominal.csv").items()
               if y == year and p in provinces_of(region))  # Sichuan includes Chongqing before 1996
    assert val(ds, "investment_to_gdp", year, region) == pytest.approx(
        gfcf / rsum("provincial_gdp_nominal.csv", region, year), rel=1e-12)


def test_investment_to_gdp_national_scaled(ds):
    with (RAW / "national_nbs.csv").open(newline="") as fh:
        nat = {int(r["year"]): float(r["gfcf_nominal_100m_yuan"]) for r in csv.DictReader(fh)}
    gfcf = table("provincial_gfcf_nominal.csv")
    year = 2010
    total = sum(v for (p, y), v in gfcf.items() if y == year)
    east = rsum("provincial_gfcf_nominal.csv", "East", year)
    expect = east * nat[year] / total / rsum("provincial_gdp_nominal.csv", "East", year)
    assert val(ds, "investment_to_gdp_national_scaled", 2010, "East") == pytest.approx(expect, rel=1e-12)
    assert total / nat[year] - 1 == pytest.approx(0.292, abs=0.0006)  # SOURCES.md: +29.2% in 2010
    assert math.isnan(val(ds, "investment_to_gdp_national_scaled", 1999, "East"))


def test_capital_output_current_matches_sources(ds):
    printed = {2015: (2.59, 3.00, 3.51, 4.74), 1980: (1.12, 1.35, 1.97, 1.19)}  # SOURCES.md
    for year, values in printed.items():
        np.testing.assert_allclose(ds["capital_output_current"].sel(year=year).values, values, atol=0.0051)


def test_capital_output_2000_prices(ds):
    np.testing.assert_allclose(ds["capital_output"].values,
                               (ds["capital_2000"] / ds["gdp_real_2000"]).values, rtol=1e-12)
    # at 2000 prices, current and constant-price K/Y coincide in 2000
    np.testing.assert_allclose(ds["capital_output"].sel(year=2000).values,
                               ds["capital_output_current"].sel(year=2000).values, rtol=1e-12)
    k = ds["capital_output"].sel(year=[1990, 2000, 2015]).values
    assert (np.diff(k, axis=0) > 0).all()  # rising in every region


def test_loan_to_deposit_independent(ds):
    for region, year in [("Central", 2003), ("Northeast", 2015)]:
        expect = rsum("provincial_loans_fi.csv", region, year) / rsum("provincial_deposits_fi.csv", region, year)
        assert val(ds, "loan_to_deposit", year, region) == pytest.approx(expect, rel=1e-12)
    assert math.isnan(val(ds, "loan_to_deposit", 2002, "East"))


def test_retail_price_index_weighted(ds):
    rpi = table("provincial_retail_price_index.csv")
    gdp = table("provincial_gdp_nominal.csv")
    provs = provinces_of("Central")
    w = {p: gdp[p, 1994] for p in provs}
    expect = sum(rpi[p, 1995] * w[p] for p in provs) / sum(w.values())
    assert val(ds, "retail_price_index", 1995, "Central") == pytest.approx(expect, rel=1e-12)
    # West before 1996: Sichuan (covering Chongqing) weighted with both provinces' GDP
    west = provinces_of("West")
    w = {p: gdp[p, 1992] for p in west}
    w["Sichuan"] += w.pop("Chongqing")
    expect = sum(rpi[p, 1993] * w[p] for p in w) / sum(w.values())
    assert val(ds, "retail_price_index", 1993, "West") == pytest.approx(expect, rel=1e-12)
    assert math.isnan(val(ds, "retail_price_index", 1985, "West"))  # Tibet missing


def test_fai_growth_weighted(ds):
    fai = table("provincial_fai_growth.csv")
    gfcf = table("provincial_gfcf_nominal.csv")
    provs = provinces_of("Northeast")
    expect = sum(fai[p, 2015] * gfcf[p, 2014] for p in provs) / sum(gfcf[p, 2014] for p in provs)
    assert val(ds, "fai_growth", 2015, "Northeast") == pytest.approx(expect, rel=1e-12)
    assert math.isnan(val(ds, "fai_growth", 1992, "East"))  # Guangdong starts in 1993
    assert np.isfinite(val(ds, "fai_growth", 1993, "West"))  # Sichuan stands for Chongqing


def test_new_variables_have_units(ds):
    for var in ("net_fiscal_inflow", "net_fiscal_inflow_to_gdp", "investment_to_gdp", "capital_output",
                "loan_to_deposit", "retail_price_index", "fai_growth"):
        assert ds[var].dims == ("year", "region")
        assert ds[var].attrs["units"] and ds[var].attrs["note"], var


# ------------------------------------------------------------------ industrial structure, wages
def multi(fname, col):
    with (RAW / fname).open(newline="", encoding="utf-8") as fh:
        return {(r["province"], int(r["year"])): float(r[col]) for r in csv.DictReader(fh)}


@pytest.mark.parametrize("region, year", [("Northeast", 2015), ("East", 2000)])
def test_soe_asset_share_and_profit_rate_independent(ds, region, year):
    f = "provincial_industry_ownership.csv"
    soe = multi(f, "soe_industry_total_assets_100m_yuan")
    allk = multi(f, "above_scale_industry_total_assets_100m_yuan")
    prof = multi(f, "soe_industry_total_profit_100m_yuan")
    ps = provinces_of(region)
    assert val(ds, "soe_industry_asset_share", year, region) == pytest.approx(
        sum(soe[p, year] for p in ps) / sum(allk[p, year] for p in ps), rel=1e-12)
    assert val(ds, "soe_industry_profit_rate", year, region) == pytest.approx(
        sum(prof[p, year] for p in ps) / sum(soe[p, year] for p in ps), rel=1e-12)


def test_industry_share_independent(ds):
    va = multi("provincial_gdp_by_sector.csv", "industry_va_100m_yuan")
    gdp = multi("provincial_gdp_by_sector.csv", "gdp_100m_yuan")
    ps = provinces_of("Central")
    assert val(ds, "industry_share", 2010, "Central") == pytest.approx(
        sum(va[p, 2010] for p in ps) / sum(gdp[p, 2010] for p in ps), rel=1e-12)


def test_sector_file_gdp_equals_gdp_file():
    """The sector file's GDP column is the same NBS series as provincial_gdp_nominal.csv (2000-2015)."""
    a = multi("provincial_gdp_by_sector.csv", "gdp_100m_yuan")
    b = table("provincial_gdp_nominal.csv")
    assert all(a[k] == b[k] for k in a)


def test_average_wage_population_weighted(ds):
    w = multi("provincial_average_wage.csv", "urban_unit_staff_average_wage_yuan_per_year")
    pop = table("provincial_population.csv")
    ps = provinces_of("West")
    expect = sum(w[p, 2015] * pop[p, 2015] for p in ps) / sum(pop[p, 2015] for p in ps)
    assert val(ds, "average_wage", 2015, "West") == pytest.approx(expect, rel=1e-12)
    assert math.isnan(val(ds, "average_wage", 1999, "West"))
