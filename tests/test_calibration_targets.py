"""Derived calibration targets (sd_model/calibration/targets.py): capital rebuilt without GFCF
over-reporting, adjusted investment at 2000 prices, the national NPL ratio, the PWT anchors."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from raw_csv import rows
from sd_model.calibration.targets import DATA_DEPRECIATION, _capital_adjusted, add_derived
from sd_model.data import load_observations


def test_capital_rebuilt_by_hand():
    """K = 100, 110, 120 with factors 1, 0.5, 0.5: investment 110 - 0.904*100 = 19.6 is halved."""
    assert DATA_DEPRECIATION == 0.096
    k = xr.DataArray([[100.0], [110.0], [120.0]], dims=("year", "region"),
                     coords={"year": [1999, 2000, 2001], "region": ["East"]})
    f = xr.DataArray([1.0, 0.5, 0.5], dims="year", coords={"year": [1999, 2000, 2001]})
    adj = _capital_adjusted(k, f).sel(region="East").values
    first = 0.904 * 100 + 0.5 * (110 - 0.904 * 100)
    second = 0.904 * first + 0.5 * (120 - 0.904 * 110)
    np.testing.assert_allclose(adj, [100.0, first, second], rtol=1e-14)


@pytest.fixture(scope="module")
def obs():
    return add_derived(load_observations())


def test_adjusted_capital_equals_the_published_stock_before_2000_and_is_lower_after(obs):
    before = obs.sel(year=slice(1978, 1999))
    np.testing.assert_array_equal(before["capital_adjusted"].values, before["capital_2000"].values)
    after = obs.sel(year=2015)
    assert (after["capital_adjusted"] < after["capital_2000"]).all()


def test_adjusted_investment_at_2000_prices_matches_current_prices_in_2000(obs):
    """The data stock's investment deflator is 1 in its base year 2000 (SOURCES.md: 2000 prices)."""
    s = obs.sel(year=2000)
    np.testing.assert_allclose(s["gfcf_adjusted_real"].values, s["gfcf_adjusted"].values, rtol=2e-3)


def test_the_scaling_factor_is_national_gfcf_over_the_provinces(obs):
    """The stored factor, from the files: national GFCF of national_nbs.csv over the provinces summed; 1 before 2000."""
    years = list(range(2000, 2016))
    national = {int(r["year"]): float(r["gfcf_nominal_100m_yuan"]) for r in rows("national_nbs.csv")
                if r["gfcf_nominal_100m_yuan"]}
    provinces = {y: sum(float(r["gfcf_nominal_100m_yuan"]) for r in rows("provincial_gfcf_nominal.csv")
                        if int(r["year"]) == y) for y in years}
    np.testing.assert_allclose(obs["gfcf_scaling_factor"].sel(year=years).values,
                               [national[y] / provinces[y] for y in years], rtol=1e-9)
    assert (obs["gfcf_scaling_factor"].sel(year=slice(1978, 1999)) == 1.0).all()


def test_national_npl_ratio_from_the_cbrc_file(obs):
    npl = obs["npl_ratio_national"]
    assert float(npl.sel(year=2003)) == pytest.approx(0.1776)   # national_npl_commercial_banks.csv
    assert np.isnan(float(npl.sel(year=2008)))                  # not found: left blank


def test_pwt_anchors_from_the_penn_world_table_file(obs):
    """Capital share = 1 - PWT labour share from 1993 (before: PWT repeats a fill value, NaN here); TFP level
    relative to the USA as written (national_pwt1001_china.csv: labsh 0.548 and ctfp 0.422 in 2010)."""
    share = obs["capital_share_pwt"]
    assert float(share.sel(year=2010)) == pytest.approx(1 - 0.548)
    assert float(share.sel(year=1993)) == pytest.approx(1 - 0.567)
    assert np.isnan(float(share.sel(year=1992)))
    assert float(obs["tfp_relative_us_pwt"].sel(year=2010)) == pytest.approx(0.422)
    assert share.dims == ("year",) and obs["tfp_relative_us_pwt"].attrs["source"] == "national_pwt1001_china.csv"


def test_schooling_years_read_back_from_the_human_capital_index(obs):
    """PWT's hc = exp(phi(s)), phi rising 0.134 a year to 4 years, 0.101 to 8, 0.068 after: the years
    computed here by hand go to hc and back; China's 1978 hc 1.684 (national_pwt1001_china.csv) is
    ln(1.684) / 0.134 = 3.89 years, 2010's 2.441 is 4 + (ln(2.441) - 0.536) / 0.101 = 7.53."""
    from math import exp, log

    from sd_model.data_pwt import schooling_years_from_hc
    for years, phi in ((2.0, 0.268), (6.0, 0.536 + 0.202), (10.0, 0.536 + 0.404 + 0.136)):
        assert float(schooling_years_from_hc([exp(phi)])[0]) == pytest.approx(years, rel=1e-12)
    assert np.isnan(schooling_years_from_hc([float("nan")])[0])
    s = obs["schooling_years_pwt"]
    assert float(s.sel(year=1978)) == pytest.approx(log(1.684) / 0.134, rel=1e-9)
    assert float(s.sel(year=2010)) == pytest.approx(4 + (log(2.441) - 0.536) / 0.101, rel=1e-9)
    assert s.attrs["units"] == "school_years"


def test_net_migration_residual_leaves_out_the_re_basing_years(obs):
    """The comparison series is the demography module's residual without 2005, 2010 and 2015 (the survey and
    census re-basings: the West's residual is +0.89 million in 2015 against -0.41 to +0.11 in 2011-2014)."""
    from sd_model.calibration.targets import POPULATION_REBASING_YEARS
    from sd_model.data_demography import load_regional_demography

    full = load_regional_demography()["net_migration_residual"]
    got = obs["net_migration_residual"]
    assert POPULATION_REBASING_YEARS == (2005, 2010, 2015) and got.dims == ("year", "region")
    assert float(full.sel(year=2015, region="West")) == pytest.approx(0.89, abs=0.01)
    for year in POPULATION_REBASING_YEARS + (2000, 1990):
        assert got.sel(year=year).isnull().all(), year
    kept = [y for y in range(2001, 2015) if y not in POPULATION_REBASING_YEARS]
    np.testing.assert_array_equal(got.sel(year=kept).values, full.sel(year=kept).transpose("year", "region").values)
    assert "left out" in got.attrs["note"]


def test_national_real_gdp_is_the_provinces_summed(obs):
    # independent of sd_model.data: the 31 provinces' real GDP at 2000 prices read from the raw file, summed;
    # 100 million yuan -> billion yuan
    import csv
    from pathlib import Path

    raw = Path(__file__).resolve().parent.parent / "data" / "raw" / "provincial_gdp_real_2000prices.csv"
    with raw.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["year"] in ("2010", "2015")]
    column = next(c for c in rows[0] if c.startswith("gdp_real"))
    for year in (2010, 2015):
        total = sum(float(r[column]) for r in rows if int(r["year"]) == year) / 10
        assert float(obs["gdp_real_2000_national"].sel(year=year)) == pytest.approx(total, rel=1e-9)
    # a year where a region is missing is NaN, not a partial sum
    gap = obs.copy(deep=True)
    gap["gdp_real_2000"].loc[{"year": 2010, "region": "West"}] = np.nan
    assert np.isnan(float(add_derived(gap)["gdp_real_2000_national"].sel(year=2010)))


def test_implied_overreporting_by_hand():
    """Two regions publish GFCF 100 and 300 (real, 2000 prices) against a national total of 320: f = 0.8, the
    national over-reporting rate 0.2. GDP 400 and 600. A model share of 0.225 in the first region needs its
    investment to be 90 = 100 (1 - 0.2 k): k = 0.5; 0.4 in the second needs 240 = 300 (1 - 0.2 k): k = 1. Summed:
    330 of 400 published, 1 - 330/400 = 0.175 over 0.2: k = 0.875. Before 2000 the data are not scaled: NaN."""
    from sd_model.calibration.targets import implied_overreporting

    coords = {"year": [1999, 2005], "region": ["East", "West"]}
    f = np.array([1.0, 0.8])
    published = np.array([[100.0, 300.0], [100.0, 300.0]])
    obs = xr.Dataset({"gfcf_scaling_factor": ("year", f),
                      "gfcf_adjusted_real": (("year", "region"), published * f[:, None]),
                      "gdp_real_2000": (("year", "region"), np.array([[400.0, 600.0], [400.0, 600.0]]))},
                     coords=coords)
    share = xr.DataArray([[0.225, 0.4], [0.225, 0.4]], dims=("year", "region"), coords=coords)
    k = implied_overreporting(share, obs)
    assert list(k["region"].values) == ["East", "West", "China"]
    np.testing.assert_allclose(k.sel(year=2005).values, [0.5, 1.0, 0.875], rtol=1e-12)
    assert np.isnan(k.sel(year=1999).values).all()


def test_implied_overreporting_is_one_where_the_model_equals_the_adjusted_data(obs):
    """A model share equal to the adjusted data needs every region to over-report at the national rate."""
    from sd_model.calibration.targets import implied_overreporting

    data_share = (obs["gfcf_adjusted_real"] / obs["gdp_real_2000"]).sel(year=slice(2000, 2015))
    k = implied_overreporting(data_share, obs)
    np.testing.assert_allclose(k.values, 1.0, rtol=1e-9)
