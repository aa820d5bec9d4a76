"""Priors file and likelihood of the Bayesian calibration (sd_model.bayes.priors, .likelihood).

Reference values come from scipy's multivariate normal with the AR(1) covariance matrix
(independent of the recursive formula under test) and from hand arithmetic.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner
from scipy import stats

from sd_model.bayes.likelihood import ar1_loglik, build_likelihood
from sd_model.bayes.priors import PriorError, load_priors
from sd_model.calibration.config import load_config
from sd_model.calibration.problem import build_problem
from sd_model.mdl import read_model_info

MODELS = Path(__file__).parent / "models"
MDL, CONFIG, PRIORS = MODELS / "bayes_linear.mdl", MODELS / "bayes_linear.toml", MODELS / "bayes_linear.priors.toml"
YEARS = np.arange(2000, 2011)


def ar1_cov(n: int, sigma: float, rho: float) -> np.ndarray:
    """Covariance of a stationary AR(1) path: sigma^2 rho^|i-j|."""
    i = np.arange(n)
    return sigma ** 2 * rho ** np.abs(i[:, None] - i[None, :])


def linear_obs(seed: int = 3) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    values = 2.0 + 0.8 * (YEARS - 2000) + 0.5 * rng.standard_normal(len(YEARS))
    return xr.Dataset({"level": ("year", values)}, coords={"year": YEARS})


@pytest.fixture(scope="module")
def problem():
    return build_problem(load_config(CONFIG), read_model_info(MDL), linear_obs(), None, engine="batch")


# ------------------------------------------------------------------ likelihood


def test_ar1_loglik_hand_computed():
    e, sigma, rho = np.array([0.1, -0.2, 0.05]), 0.1, 0.5
    v1, v = sigma ** 2, sigma ** 2 * (1 - rho ** 2)  # 0.01, 0.0075
    by_hand = (-0.5 * math.log(2 * math.pi * v1) - 0.5 * 0.1 ** 2 / v1
               - 0.5 * math.log(2 * math.pi * v) - 0.5 * (-0.2 - 0.05) ** 2 / v
               - 0.5 * math.log(2 * math.pi * v) - 0.5 * (0.05 + 0.1) ** 2 / v)
    assert ar1_loglik(e, sigma, rho) == pytest.approx(by_hand, rel=1e-12)
    mvn = stats.multivariate_normal(np.zeros(3), ar1_cov(3, sigma, rho)).logpdf(e)
    assert ar1_loglik(e, sigma, rho) == pytest.approx(mvn, rel=1e-12)


def test_ar1_loglik_restarts_at_a_break():
    rng = np.random.default_rng(0)
    e = rng.standard_normal(7) * 0.3
    starts = np.zeros(7, bool)
    starts[4] = True
    cov = np.zeros((7, 7))
    cov[:4, :4], cov[4:, 4:] = ar1_cov(4, 0.3, 0.8), ar1_cov(3, 0.3, 0.8)
    want = stats.multivariate_normal(np.zeros(7), cov).logpdf(e)
    assert ar1_loglik(e, 0.3, 0.8, starts) == pytest.approx(want, rel=1e-12)
    # vectorised over walkers with their own sigma and rho
    E = np.stack([e, -e])
    got = ar1_loglik(E, np.array([0.3, 0.2]), np.array([0.8, 0.1]), starts)
    cov2 = np.zeros((7, 7))
    cov2[:4, :4], cov2[4:, 4:] = ar1_cov(4, 0.2, 0.1), ar1_cov(3, 0.2, 0.1)
    assert got[1] == pytest.approx(stats.multivariate_normal(np.zeros(7), cov2).logpdf(-e), rel=1e-12)


def test_likelihood_of_the_linear_model_matches_the_multivariate_normal(problem):
    from sd_model.bayes.posterior import BatchRunner

    lik = build_likelihood(problem, load_priors(PRIORS, problem))
    theta = np.array([0.9, 1.7])  # Slope, Initial Level
    out = BatchRunner(problem).run(theta[None])[0]
    level = 1.7 + 0.9 * (YEARS - 2000)  # Euler with TIME STEP 1 is exact for a constant flow
    np.testing.assert_allclose(out["Level"], level, rtol=1e-12)
    want = stats.multivariate_normal(level, ar1_cov(11, 0.5, 0.5)).logpdf(problem.series[0].obs[:, 0])
    assert lik.loglik(theta, out) == pytest.approx(want, rel=1e-10)
    assert lik.loglik_batch(theta[None], [out])[0] == pytest.approx(want, rel=1e-10)
    assert lik.loglik(theta, None) == -math.inf


def test_series_transforms_of_many_runs_at_once_equal_one_run_at_a_time():
    """The likelihood transforms all walkers' outputs at once (lead=1); each run's values must be
    exactly those of the one-run transform, for every transform and a national series."""
    from sd_model.calibration.config import SeriesSpec
    from sd_model.calibration.series import SeriesData

    rng = np.random.default_rng(5)
    years = np.arange(1980, 1990)
    outputs = {"X": rng.uniform(1, 2, (3, 12, 4)), "D": rng.uniform(1, 2, (3, 12, 4, 4)),
               "N": rng.uniform(1, 2, (3, 12))}

    def series(transform, model="X", regions=(2, 0), den=None):
        spec = SeriesSpec(name=transform, model=model, data="d", transform=transform, model_denominator=den)
        return SeriesData(spec, model, den, True, ("a", "b"), regions, years, np.zeros((10, 2)),
                          np.ones(10, bool), np.ones(2), "1")

    cases = [series("level"), series("log"), series("share"), series("growth"), series("ratio", den="D"),
             series("ratio", den="X"), series("log", model="N", regions=(0,))]
    index = lambda year: year - 1979  # noqa: E731  (times 1979, 1980, ...)
    for s in cases:
        many = s.transformed(outputs, index, lead=1)
        for m in range(3):
            one = s.transformed({k: v[m] for k, v in outputs.items()}, index)
            assert one.shape == (10, len(s.region_index))
            np.testing.assert_array_equal(many[m], one, err_msg=f"{s.spec.transform} {s.model}")


# ------------------------------------------------------------------ priors


def test_priors_resolve_in_the_calibration_order(problem):
    priors = load_priors(PRIORS, problem)
    assert priors.labels == ["Slope", "Initial Level"]
    assert priors.error_model.rho == 0.5 and priors.error_model.sigma_scale == 1.0
    x = np.array([[0.5, 4.0], [1.5, 2.0]])
    want = stats.norm(0.5, 1).logpdf(x[:, 0]) + stats.norm(4, 2).logpdf(x[:, 1])
    # truncation to [-10, 10] and [-50, 50] changes the normalising constant by < 1e-15
    np.testing.assert_allclose(priors.log_prior(x), want, rtol=1e-12)


def test_truncated_prior_density_and_quantiles(problem, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[priors]\n"Slope" = { dist = "truncnormal", mu = 0, sigma = 1, lower = 0, upper = 10, '
                    'source = "test" }\n"Initial Level" = { dist = "beta", a = 2, b = 2, lower = 0, upper = 4, '
                    'source = "test" }\n')
    p = load_priors(path, problem)
    slope, level = p.priors
    # half-normal on [0, 10]: density 2 * phi(x) (mass beyond 10 negligible)
    assert math.exp(slope.logpdf(np.array([1.0]))[0]) == pytest.approx(2 * stats.norm.pdf(1.0), rel=1e-9)
    assert slope.logpdf(np.array([-0.1]))[0] == -math.inf
    assert slope.ppf(np.array([0.5]))[0] == pytest.approx(stats.norm.ppf(0.75), rel=1e-9)
    # beta(2, 2) on [0, 4]: density 6 u (1 - u) / 4, median 2
    assert math.exp(level.logpdf(np.array([1.0]))[0]) == pytest.approx(6 * 0.25 * 0.75 / 4, rel=1e-9)
    assert level.ppf(np.array([0.5]))[0] == pytest.approx(2.0)


_GOOD_SLOPE = '"Slope" = { dist = "normal", mu = 0, sigma = 1, source = "s" }'
_GOOD_LEVEL = '"Initial Level" = { dist = "normal", mu = 4, sigma = 2, source = "s" }'
BAD = [
    ("[priors]\n" + _GOOD_SLOPE + '\n"Initial Level" = { dist = "normall", mu = 4, sigma = 2, source = "s" }\n',
     3, "did you mean 'normal'"),
    ("[priors]\n" + _GOOD_SLOPE + '\n"Initial Level" = { dist = "normal", mu = 4, source = "s" }\n',
     3, "'sigma' is missing"),
    ("[priors]\n" + _GOOD_SLOPE + '\n"Initial Level" = { dist = "normal", mu = 4, sigma = -2, source = "s" }\n',
     3, "sigma must be positive"),
    ("[priors]\n" + _GOOD_SLOPE + '\n"Initial Levl" = { dist = "normal", mu = 4, sigma = 2, source = "s" }\n',
     3, "did you mean 'Initial Level'"),
    ("[priors]\n" + _GOOD_SLOPE + "\n", 0, "no prior for 1 estimated parameter(s): 'Initial Level'"),
    ("[priors]\n" + _GOOD_SLOPE + '\n"Initial Level" = { dist = "normal", mu = 4, sigma = 2 }\n',
     3, "give source"),
    ("[priors]\n" + _GOOD_SLOPE + '\n"Initial Level" = { dist = "uniform", lower = -60, upper = 0, source = "s" }\n',
     3, "outside the bounds [-50, 50]"),
    ("[priors]\n" + _GOOD_SLOPE + '\n"Initial Level" = { dist = "normal", mu = 400, sigma = 1, source = "s" }\n',
     3, "no probability within"),
    ("[priors]\n" + _GOOD_SLOPE + "\n" + _GOOD_LEVEL + "\n[error_model]\nrho = 0.3\n", 5, "rho_source"),
    ("[priors]\n" + _GOOD_SLOPE + "\n" + _GOOD_LEVEL + "\n[error_model]\nrho = 1.5\nrho_source = 'x'\n", 5,
     "outside"),
    ("[priors]\n" + _GOOD_SLOPE + "\n" + _GOOD_LEVEL + "\n[error_model.breaks]\n"
     '"levle" = { years = [2005], source = "s" }\n', 5, "did you mean 'level'"),
    ("[priors]\n" + _GOOD_SLOPE + "\n" + _GOOD_LEVEL + "\n[error_model.breaks]\n"
     '"level" = { years = [2000], source = "s" }\n', 5, "must be an integer in 2001-2010"),
    ("[priors]\n" + _GOOD_SLOPE + "\n" + _GOOD_LEVEL + "\n[prior]\n", 4, "did you mean 'priors'"),
    ("[priors\n", 0, "malformed TOML: Expected ']' at the end of a table declaration (at line 1"),
]


@pytest.mark.parametrize("text,line,message", BAD)
def test_prior_errors_name_the_file_and_line(problem, tmp_path, text, line, message):
    path = tmp_path / "bad.priors.toml"
    path.write_text(text)
    with pytest.raises(PriorError) as info:
        load_priors(path, problem)
    msg = str(info.value)
    assert str(path) in msg
    if line:
        assert f"{path}:{line}:" in msg
    assert message in msg


def test_missing_priors_file(problem, tmp_path):
    with pytest.raises(PriorError, match="not found|No such|cannot"):
        load_priors(tmp_path / "none.toml", problem)


def test_cli_reports_a_bad_priors_file_in_one_line(tmp_path):
    from cli import main

    bad = tmp_path / "bad.priors.toml"
    bad.write_text('[priors]\n"Capital Elasticty" = { dist = "uniform", source = "s" }\n')
    result = CliRunner().invoke(main, ["calibrate", "--method", "bayes", "--priors", str(bad),
                                       "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2, result.output
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert len(lines) == 1 and f"{bad}:2:" in lines[0] and "did you mean 'Capital Elasticity'" in lines[0]
    assert not (tmp_path / "out").exists()


def test_shipped_priors_match_the_default_calibration():
    from sd_model.bayes.run import setup

    root = Path(__file__).resolve().parents[1]
    lik = setup(root / "experiments" / "calibration" / "default.toml")
    labels = lik.priors.labels
    assert labels[:len(lik.problem.parameters)] == [p.label for p in lik.problem.parameters]
    assert labels[len(lik.problem.parameters):] == ["error: AR(1) rho", "error: sigma scale"]
    assert all(p.source for p in lik.priors.priors)
    assert dict(lik.priors.error_model.breaks)["population"] == (2000,)
