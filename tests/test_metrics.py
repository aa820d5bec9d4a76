"""Fit statistics against values computed by hand (Sterman 1984 definitions).

Reference case: simulated (2, 4, 6) against observed (1, 4, 8). Errors 1, 0, -2.
  MAPE = (1/1 + 0/4 + 2/8) / 3 = 5/12
  MSE  = (1 + 0 + 4) / 3 = 5/3,  RMSE = sqrt(5/3)
  means 4 and 13/3: bias² = 1/9, so U^M = (1/9) / (5/3) = 1/15
  population variances: 8/3 (sim) and 222/27 (obs); covariance 14/3
  r = (14/3) / sqrt(8/3 * 222/27) = 42 / sqrt(1776), so R² = 1764/1776 = 147/148
  U^S = (sqrt(8/3) - sqrt(222/27))² / (5/3)
  U^C = 2 (sqrt(8/3 * 222/27) - 14/3) / (5/3)
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sd_model import metrics

SIM = np.array([2.0, 4.0, 6.0])
OBS = np.array([1.0, 4.0, 8.0])
SD_S, SD_O = math.sqrt(8 / 3), math.sqrt(222 / 27)
MSE = 5 / 3


def test_mape_by_hand():
    assert metrics.mape(SIM, OBS) == pytest.approx(5 / 12, rel=1e-12)


def test_rmse_by_hand():
    assert metrics.rmse(SIM, OBS) == pytest.approx(math.sqrt(5 / 3), rel=1e-12)


def test_r_squared_by_hand():
    assert metrics.r_squared(SIM, OBS) == pytest.approx(147 / 148, rel=1e-12)


def test_theil_decomposition_by_hand():
    um, us, uc = metrics.theil_decomposition(SIM, OBS)
    assert um == pytest.approx(1 / 15, rel=1e-12)
    assert us == pytest.approx((SD_S - SD_O) ** 2 / MSE, rel=1e-12)
    assert uc == pytest.approx(2 * (SD_S * SD_O - 14 / 3) / MSE, rel=1e-9)
    assert um + us + uc == pytest.approx(1.0, abs=1e-12)


def test_pure_bias_is_all_um():
    obs = np.array([1.0, 3.0, 2.0, 5.0])
    um, us, uc = metrics.theil_decomposition(obs + 0.5, obs)
    assert (um, us, uc) == pytest.approx((1.0, 0.0, 0.0), abs=1e-12)
    assert metrics.rmse(obs + 0.5, obs) == pytest.approx(0.5, rel=1e-12)


def test_scaled_series_is_unequal_variation():
    # sim = 2 * obs - mean(obs): same mean, perfectly correlated, twice the spread -> all U^S
    obs = np.array([1.0, 2.0, 3.0, 4.0])
    um, us, uc = metrics.theil_decomposition(2 * obs - obs.mean(), obs)
    assert (um, us, uc) == pytest.approx((0.0, 1.0, 0.0), abs=1e-12)


def test_mirror_image_is_unequal_covariation():
    # sim mirrors obs around its mean: same mean and spread, r = -1 -> all U^C
    obs = np.array([1.0, 2.0, 4.0])
    sim = 2 * obs.mean() - obs
    um, us, uc = metrics.theil_decomposition(sim, obs)
    assert (um, us, uc) == pytest.approx((0.0, 0.0, 1.0), abs=1e-12)


def test_nan_pairs_are_skipped():
    sim = np.array([2.0, np.nan, 4.0, 6.0, 1.0])
    obs = np.array([1.0, 5.0, 4.0, 8.0, np.nan])
    stats = metrics.fit_statistics(sim, obs)
    assert stats["n"] == 3
    assert stats["mape"] == pytest.approx(5 / 12, rel=1e-12)
    assert stats["rmse"] == pytest.approx(math.sqrt(5 / 3), rel=1e-12)
    assert stats["um"] + stats["us"] + stats["uc"] == pytest.approx(1.0, abs=1e-12)


def test_degenerate_inputs():
    assert math.isnan(metrics.mape([], []))
    assert math.isnan(metrics.rmse([np.nan], [1.0]))
    assert math.isnan(metrics.mape([1.0, 2.0], [0.0, 2.0]))  # percent error undefined at 0
    assert math.isnan(metrics.r_squared([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))  # no variation
    assert all(math.isnan(u) for u in metrics.theil_decomposition(OBS, OBS))  # perfect fit: MSE 0
    assert metrics.fit_statistics(OBS, OBS)["mape"] == 0.0
    with pytest.raises(ValueError, match="differ in length"):
        metrics.rmse([1.0, 2.0], [1.0])


def test_constant_simulation_splits_into_bias_and_variation():
    obs = np.array([1.0, 2.0, 6.0])  # mean 3, population variance 14/3
    um, us, uc = metrics.theil_decomposition(np.full(3, 5.0), obs)
    mse = ((5 - obs) ** 2).mean()  # (16 + 9 + 1) / 3 = 26/3
    assert mse == pytest.approx(26 / 3)
    assert (um, us, uc) == pytest.approx((4 / (26 / 3), (14 / 3) / (26 / 3), 0.0), abs=1e-12)


finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=2, max_size=40))
def test_theil_shares_sum_to_one(pairs):
    sim, obs = np.array(pairs).T
    mse = float(np.mean((sim - obs) ** 2))
    um, us, uc = metrics.theil_decomposition(sim, obs)
    if mse < 1e-9:
        return
    assert um + us + uc == pytest.approx(1.0, abs=1e-7)
    assert min(um, us, uc) >= -1e-9


def test_same_sign_sum_compares_the_direction_of_the_totals():
    # totals: sim 12, obs 13 -> same sign; a net sender against a net receiver -> 0
    assert metrics.same_sign_sum(SIM, OBS) == 1.0
    assert metrics.same_sign_sum(np.array([-1.0, 0.5]), np.array([0.2, 0.3])) == 0.0
    # single years of either sign do not matter, only the totals: -3 + 4 = 1 against -1 + 2 = 1
    assert metrics.same_sign_sum(np.array([-3.0, 4.0]), np.array([-1.0, 2.0])) == 1.0
    # a NaN pair is skipped (0.4 against NaN), leaving -1 against -0.5
    assert metrics.same_sign_sum(np.array([-1.0, 0.4]), np.array([-0.5, np.nan])) == 1.0
    # no direction to match: no pairs, or an observed total of exactly 0
    assert math.isnan(metrics.same_sign_sum(np.array([1.0, -1.0]), np.array([1.0, -1.0])))
    assert math.isnan(metrics.same_sign_sum(np.array([np.nan]), np.array([1.0])))
    assert metrics.fit_statistics(SIM, OBS)["same_sign_sum"] == 1.0



def test_naive_forecast_by_hand():
    # levels 100 in 1990 and 150 in 1995: the drift is (150/100)^(1/5) a year, so h years after 1995
    # the forecast is 150 * 1.5^(h/5); the observations after 1995 play no part
    years = np.arange(1990, 1999)
    level = np.array([100.0, 110, 120, 130, 140, 150, 999, 999, 999])
    f = metrics.naive_forecast(years, level, 1995, drift=True)
    assert np.isnan(f[:6]).all()
    np.testing.assert_allclose(f[6:], [150 * 1.5 ** 0.2, 150 * 1.5 ** 0.4, 150 * 1.5 ** 0.6], rtol=1e-12)
    # without drift (shares, ratios): the 1995 value unchanged
    np.testing.assert_array_equal(metrics.naive_forecast(years, level, 1995, drift=False)[6:], [150.0] * 3)
    # two columns at once, one with its origin missing: that column is NaN throughout
    two = np.column_stack([level, np.where(years == 1995, np.nan, level)])
    f2 = metrics.naive_forecast(years, two, 1995, drift=True)
    np.testing.assert_allclose(f2[6:, 0], f[6:], rtol=1e-12)
    assert np.isnan(f2[:, 1]).all()
    # drift needs the value `window` years back, and positive levels
    assert np.isnan(metrics.naive_forecast(years, level, 1993, drift=True)).all()
    np.testing.assert_allclose(metrics.naive_forecast(years, level, 1993, drift=True, window=3)[4:6],
                               [130 * (130 / 100) ** (1 / 3), 130 * (130 / 100) ** (2 / 3)], rtol=1e-12)
    assert np.isnan(metrics.naive_forecast(years, -level, 1995, drift=True)).all()
    # an origin year outside the data: nothing to forecast from
    assert np.isnan(metrics.naive_forecast(years, level, 2005, drift=False)).all()


def test_mean_error_by_hand():
    # errors 1, 0, -2: mean -1/3, in the series' units (the bias; negative: the model is low)
    assert metrics.mean_error(SIM, OBS) == pytest.approx(-1 / 3, rel=1e-12)
    assert metrics.fit_statistics(SIM, OBS)["mean_error"] == pytest.approx(-1 / 3, rel=1e-12)
    assert np.isnan(metrics.mean_error(np.array([np.nan]), np.array([1.0])))
