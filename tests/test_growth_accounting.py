"""Growth accounting (sd_model.growth_accounting): closed-form cases built by hand."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sd_model.growth_accounting import decompose, national_primary_va_share, reallocation_gain

REGIONS = ["East", "Central", "West", "Northeast"]


def _exp(rates, years, dim="year"):
    """Series growing at constant log rates (fractions a year) by region from 100 in years[0]."""
    t = np.asarray(years, float) - years[0]
    data = 100.0 * np.exp(np.outer(t, rates))
    return xr.DataArray(data, dims=(dim, "region"), coords={dim: years, "region": REGIONS})


def test_constant_growth_gives_the_textbook_residual():
    years = list(range(2000, 2016))
    y = _exp([0.10, 0.09, 0.08, 0.07], years)
    k = _exp([0.12, 0.10, 0.10, 0.06], years)
    n = _exp([0.01, 0.00, -0.01, 0.02], years)
    out = decompose(y, k, n, alpha=0.4, periods=[(2000, 2005), (2010, 2015)])
    east = out[(out["region"] == "East") & (out["start"] == 2010)].iloc[0]
    # 10 - 0.4 * 12 - 0.6 * 1 = 4.6 points a year
    assert east["output"] == pytest.approx(10.0) and east["capital"] == pytest.approx(12.0)
    assert east["residual"] == pytest.approx(4.6)
    ne = out[(out["region"] == "Northeast") & (out["start"] == 2000)].iloc[0]
    assert ne["residual"] == pytest.approx(7.0 - 0.4 * 6.0 - 0.6 * 2.0)
    # the national row sums levels first: equal starting levels, so its output growth is the log of
    # the mean growth factor, not the mean rate
    china = out[(out["region"] == "China") & (out["start"] == 2000)].iloc[0]
    expect = math.log(np.mean(np.exp(5 * np.array([0.10, 0.09, 0.08, 0.07])))) / 5 * 100
    assert china["output"] == pytest.approx(expect)
    assert len(out) == 2 * 5


def test_model_time_dimension_and_bad_alpha():
    years = [2000.0, 2005.0]
    y = _exp([0.1] * 4, years, dim="time")
    out = decompose(y, y, y, alpha=0.5, periods=[(2000, 2005)], dim="time")
    assert out["residual"].abs().max() < 1e-12  # everything at the same rate: nothing left over
    with pytest.raises(ValueError, match="alpha"):
        decompose(y, y, y, alpha=1.0, periods=[(2000, 2005)], dim="time")


def test_a_missing_region_leaves_the_national_row_missing():
    years = [2000, 2005]
    y = _exp([0.1] * 4, years)
    y[1, 2] = np.nan
    out = decompose(y, y.fillna(1.0), y.fillna(1.0), alpha=0.5, periods=[(2000, 2005)])
    assert math.isnan(out.loc[out["region"] == "China", "output"].iloc[0])


def test_reallocation_gain_by_hand():
    # farm share of jobs 50% -> 48%, of value added 15% in both years:
    # r = (0.15/0.48) / (0.85/0.52); gain = 0.02 * (1 - r) * 0.85 / 0.52
    va = pd.Series([0.15, 0.15], index=[2000, 2001])
    emp = pd.Series([0.50, 0.48], index=[2000, 2001])
    out = reallocation_gain(va, emp)
    r = (0.15 / 0.48) / (0.85 / 0.52)
    assert out.loc[2001, "relative_farm_productivity"] == pytest.approx(r)
    assert out.loc[2001, "gain"] == pytest.approx(100 * 0.02 * (1 - r) * 0.85 / 0.52)
    assert math.isnan(out.loc[2000, "gain"])
    # equal productivity in both sectors: moving workers gains nothing
    same = reallocation_gain(pd.Series([0.5, 0.4], index=[1, 2]), pd.Series([0.5, 0.4], index=[1, 2]))
    assert same.loc[2, "gain"] == pytest.approx(0.0)


def test_national_primary_share_weights_regions_by_gdp_and_needs_all_four():
    years = [2000, 2001]
    gdp = xr.DataArray([[100.0, 50.0, 30.0, 20.0], [110.0, 55.0, 33.0, np.nan]], dims=("year", "region"),
                       coords={"year": years, "region": REGIONS})
    share = xr.DataArray([[0.10, 0.20, 0.30, 0.20], [0.1, 0.2, 0.3, 0.2]], dims=("year", "region"),
                         coords={"year": years, "region": REGIONS})
    out = national_primary_va_share(xr.Dataset({"gdp_nominal": gdp, "primary_share": share}))
    assert out.loc[2000] == pytest.approx((10 + 10 + 9 + 4) / 200)
    assert math.isnan(out.loc[2001])


def test_primary_share_of_the_data_matches_the_provincial_file():
    """The observations' national farm share against a sum of the CSV rows done here."""
    import csv

    from sd_model.data import load_observations, resolve_data_dir

    with open(resolve_data_dir() / "provincial_gdp_by_sector.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["year"] == "2010"]
    with open(resolve_data_dir() / "provincial_gdp_nominal.csv", newline="", encoding="utf-8") as f:
        gdp_rows = [r for r in csv.DictReader(f) if r["year"] == "2010"]
    primary = sum(float(r["primary_va_100m_yuan"]) for r in rows)
    gdp_col = next(c for c in gdp_rows[0] if c not in ("province", "year", "source"))
    gdp = sum(float(r[gdp_col]) for r in gdp_rows)
    assert len(rows) == len(gdp_rows) == 31
    assert national_primary_va_share(load_observations()).loc[2010] == pytest.approx(primary / gdp, rel=1e-9)
