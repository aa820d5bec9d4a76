"""The sampler of the Bayesian calibration: closed-form recovery, resume after SIGKILL, checkpoint integrity, SBC.

The reference posterior of the linear test model (tests/models/bayes_linear.mdl) is computed
here by generalised least squares with the AR(1) covariance matrix and the normal priors,
independently of sd_model.bayes.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sd_model.bayes.posterior import BatchRunner, LogPosterior, to_x
from sd_model.bayes.priors import load_priors
from sd_model.bayes.likelihood import build_likelihood
from sd_model.bayes.run import BayesSettings, calibrate_bayes
from sd_model.bayes.sampler import MOVES, initial_ensemble, run_chain
from sd_model.bayes.sbc import sbc, sbc_coverage
from sd_model.bayes.store import ChainStore
from sd_model.calibration.config import load_config
from sd_model.calibration.problem import build_problem
from sd_model.errors import SDModelError
from sd_model.mdl import read_model_info

from test_bayes import CONFIG, MDL, PRIORS, YEARS, ar1_cov, linear_obs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def likelihood():
    problem = build_problem(load_config(CONFIG), read_model_info(MDL), linear_obs(), None, engine="batch")
    return build_likelihood(problem, load_priors(PRIORS, problem))


def gls_posterior(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normal posterior of (Slope, Initial Level): y = X b + e, e ~ N(0, AR(1) cov), b ~ N(m, P)."""
    X = np.column_stack([YEARS - 2000.0, np.ones(len(YEARS))])
    Si = np.linalg.inv(ar1_cov(len(YEARS), 0.5, 0.5))
    m, Pi = np.array([0.5, 4.0]), np.diag([1 / 1.0 ** 2, 1 / 2.0 ** 2])
    cov = np.linalg.inv(X.T @ Si @ X + Pi)
    return cov @ (X.T @ Si @ y + Pi @ m), cov


def test_sampler_recovers_the_closed_form_posterior(likelihood):
    mean, cov = gls_posterior(likelihood.problem.series[0].obs[:, 0])
    sd = np.sqrt(np.diag(cov))
    log_post = LogPosterior(likelihood, BatchRunner(likelihood.problem))
    lower, upper = likelihood.priors.lower, likelihood.priors.upper
    z0 = initial_ensemble(np.array([0.5, 4.0]), lower, upper, 32, seed=5)
    chain = run_chain(log_post, z0, 1000, 5, ChainStore.memory(32, 2))
    draws = to_x(chain.coords[501:], lower, upper).reshape(-1, 2)
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 0.1 * sd), (draws.mean(axis=0), mean, sd)
    np.testing.assert_allclose(draws.std(axis=0), sd, rtol=0.1)
    corr = cov[0, 1] / (sd[0] * sd[1])
    assert np.corrcoef(draws.T)[0, 1] == pytest.approx(corr, abs=0.05)
    assert log_post.evaluations == 32 * 1001


_KILLED_RUN = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from test_bayes import CONFIG, MDL, PRIORS, linear_obs
    from sd_model.bayes.likelihood import build_likelihood
    from sd_model.bayes.posterior import BatchRunner, LogPosterior
    from sd_model.bayes.priors import load_priors
    from sd_model.bayes.sampler import initial_ensemble, run_chain
    from sd_model.bayes.store import ChainStore
    from sd_model.calibration.config import load_config
    from sd_model.calibration.problem import build_problem
    from sd_model.mdl import read_model_info
    import numpy as np

    problem = build_problem(load_config(CONFIG), read_model_info(MDL), linear_obs(), None, engine="batch")
    lik = build_likelihood(problem, load_priors(PRIORS, problem))
    store = ChainStore({folder!r}, "key", 16, 2, resume=True)
    z0 = initial_ensemble(np.array([0.5, 4.0]), lik.priors.lower, lik.priors.upper, 16, seed=2)

    def kill(step, coords, log_prob):
        if step == {kill_at}:
            os.kill(os.getpid(), signal.SIGKILL)

    run_chain(LogPosterior(lik, BatchRunner(problem)), z0, 60, 2, store, callback=kill)
""")


def _chain(likelihood, folder: Path, steps: int = 60) -> None:
    store = ChainStore(folder, "key", 16, 2, resume=True)
    z0 = initial_ensemble(np.array([0.5, 4.0]), likelihood.priors.lower, likelihood.priors.upper, 16, seed=2)
    run_chain(LogPosterior(likelihood, BatchRunner(likelihood.problem)), z0, steps, 2, store)


def test_resume_after_sigkill_equals_an_uninterrupted_run(likelihood, tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    _chain(likelihood, whole)
    script = _KILLED_RUN.format(tests=str(Path(__file__).parent), folder=str(killed), kill_at=23)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    partial = ChainStore(killed, "key", 16, 2, resume=True)
    assert len(partial.steps) == 24  # record 0 (the start) and steps 1-23
    with open(killed / "chain.bin", "ab") as fh:  # a record torn by a kill in the middle of a write
        fh.write(b"SDMC" + os.urandom(100))
    _chain(likelihood, killed)
    assert (killed / "chain.bin").read_bytes() == (whole / "chain.bin").read_bytes()


def test_store_drops_a_damaged_record_and_refuses_a_foreign_chain(tmp_path):
    store = ChainStore(tmp_path, "key", 4, 3)
    state = np.random.RandomState(0).get_state()
    for _ in range(3):
        store.append(np.ones((4, 3)), np.zeros(4), state)
    raw = bytearray((tmp_path / "chain.bin").read_bytes())
    size = len(raw) // 3
    raw[size + 40] ^= 0xFF  # flip one bit of the second record's payload
    (tmp_path / "chain.bin").write_bytes(bytes(raw))
    again = ChainStore(tmp_path, "key", 4, 3, resume=True)
    assert len(again.steps) == 1
    assert again.steps[0].random_state[2] == state[2]
    np.testing.assert_array_equal(again.steps[0].random_state[1], state[1])
    assert (tmp_path / "chain.bin").stat().st_size == size
    with pytest.raises(SDModelError, match="pass --resume"):
        ChainStore(tmp_path, "key", 4, 3)
    with pytest.raises(SDModelError, match="another run"):
        ChainStore(tmp_path, "other", 4, 3, resume=True)
    assert ChainStore.holds_other_run(tmp_path, "other", 4, 3) and ChainStore.holds_other_run(tmp_path, "key", 5, 3)
    assert not ChainStore.holds_other_run(tmp_path, "key", 4, 3)
    assert not ChainStore.holds_other_run(tmp_path / "empty", "other", 4, 3)  # no chain there
    (tmp_path / "meta.json").write_text("{damaged")
    assert ChainStore.holds_other_run(tmp_path, "key", 4, 3)  # unreadable: not shown to be this run's
    with pytest.raises(SDModelError, match="another run"):
        ChainStore(tmp_path, "key", 4, 3, resume=True)


def test_calibrate_bayes_writes_arviz_readable_draws(tmp_path):
    from sd_model.bayes.diagnostics import arviz

    out = tmp_path / "out"
    res = calibrate_bayes(CONFIG, priors=PRIORS, model=MDL, observations=linear_obs(), out=out, until=2007,
                          settings=BayesSettings(walkers=8, steps=40, burn=0.5, ppc_draws=30))
    idata = arviz().from_netcdf(out / "posterior.nc")
    assert idata.posterior["theta"].shape == (8, 20, 2)
    assert list(idata.posterior["parameter"].values) == ["Slope", "Initial Level"]
    np.testing.assert_allclose(idata.posterior["theta"].values, np.transpose(res.draws, (1, 0, 2)))
    for name in ("posterior_summary.csv", "diagnostics.csv", "ppc.csv", "coverage.csv", "bayes_report.md",
                 "manifest.json", "plots/trace.png", "plots/ppc_level.png"):
        assert (out / name).is_file(), name
    periods = set(res.coverage["period"])
    assert periods == {"in-sample", "out-of-sample"}
    # the report says which constants the held-out years may inform (none here: both are sampled)
    assert ("- out of sample 2008-2010: 0 constants are not sampled"
            in (out / "bayes_report.md").read_text(encoding="utf-8"))
    # --posterior: joint draws for sd-model ensemble
    from click.testing import CliRunner

    from cli import main
    from sd_model.bayes.draws import draws_from_posterior, read_posterior

    table = read_posterior(out / "posterior.nc")
    np.testing.assert_array_equal(table.to_numpy(), res.draws.transpose(1, 0, 2).reshape(-1, 2))
    draws, central, notes = draws_from_posterior(out / "posterior.nc", 5, seed=1)
    assert central["Slope"] == pytest.approx(float(np.median(res.draws[:, :, 0])))
    assert not notes and len(draws) == 5
    # a posterior sampled on another model file is used as it is, with a note naming both files' hashes
    from sd_model.bayes.draws import posterior_model_sha256
    from sd_model.files import sha256_file

    assert posterior_model_sha256(out / "posterior.nc") == sha256_file(MDL)
    assert draws_from_posterior(out / "posterior.nc", 5, seed=1, model_sha256=sha256_file(MDL))[2] == []
    again, _, notes = draws_from_posterior(out / "posterior.nc", 5, seed=1, model_sha256="ab" * 32)
    assert notes == [f"{out / 'posterior.nc'}: sampled on model sha256 {sha256_file(MDL)[:12]}, now run on "
                     "abababababab: the draws are applied by name to the changed model"]
    pd.testing.assert_frame_equal(again, draws)
    result = CliRunner().invoke(main, ["ensemble", "--samples", "5", "--posterior", str(out / "posterior.nc"),
                                       "--model", str(MDL), "--outputs", "Level", "--workers", "1", "--seed", "1",
                                       "--out", str(tmp_path / "ens"), "--no-progress"])
    assert result.exit_code == 0, result.output
    sets = pd.read_csv(tmp_path / "ens" / "parameters.csv", index_col=0)
    np.testing.assert_allclose(sets[["Slope", "Initial Level"]].to_numpy(), draws.to_numpy())
    result = CliRunner().invoke(main, ["ensemble", "--samples", "5", "--posterior", str(tmp_path / "no.nc"),
                                       "--model", str(MDL), "--outputs", "Level", "--out", str(tmp_path / "ens2")])
    assert result.exit_code == 2 and "posterior file not found" in result.output
    with pytest.raises(SDModelError, match="pass --resume"):
        calibrate_bayes(CONFIG, priors=PRIORS, model=MDL, observations=linear_obs(), out=out,
                        settings=BayesSettings(walkers=8, steps=40, ppc_draws=0))


def test_simulation_based_calibration_of_the_linear_model(likelihood):
    table = sbc(likelihood, BatchRunner(likelihood.problem), datasets=12, walkers=16, steps=300, seed=11, thin=5)
    cov = sbc_coverage(table)
    assert list(cov["parameter"]) == ["Slope", "Initial Level"]
    # 24 intervals: with 90% coverage, fewer than 18 inside has probability < 0.3%
    assert table["inside90"].sum() >= 18
    assert (table["rank"] <= table["draws"]).all()


def test_laplace_start_is_the_closed_form_posterior_of_a_linear_model(likelihood):
    """Linear model, normal priors, wide bounds: the Laplace approximation is the GLS posterior."""
    from sd_model.bayes.laplace import laplace
    from sd_model.bayes.sampler import centre

    mean, cov = gls_posterior(likelihood.problem.series[0].obs[:, 0])
    lower, upper = likelihood.priors.lower, likelihood.priors.upper
    approx = laplace(LogPosterior(likelihood, BatchRunner(likelihood.problem)),
                     centre(np.array([0.5, 4.0]), lower, upper))
    h = 1e-6  # delta method: the covariance in x from the one in logit coordinates
    dxdz = (to_x(approx.mode + h, lower, upper) - to_x(approx.mode - h, lower, upper)) / (2 * h)
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(to_x(approx.mode, lower, upper) - mean) < 0.01 * sd)
    np.testing.assert_allclose(approx.cov * np.outer(dxdz, dxdz), cov, rtol=0.01)
    sd_z = np.sqrt(np.diag(approx.cov))  # the draws' sd is capped: the wider one down to the narrower one's
    draws = approx.draw(4000, seed=3, cap=float(sd_z.min()))
    np.testing.assert_allclose(draws.std(axis=0), [sd_z.min(), sd_z.min()], rtol=0.04)
    assert sd_z.max() > 1.15 * sd_z.min()


def test_identification_compares_the_laplace_sd_with_the_prior_and_fixing_keeps_the_start(likelihood):
    """Ratios = closed-form posterior sd / prior sd (wide bounds); a fixed constant runs at its start value."""
    from sd_model.bayes.identify import identify, reduced

    _, cov = gls_posterior(likelihood.problem.series[0].obs[:, 0])
    runner = BatchRunner(likelihood.problem)
    start = likelihood.problem.start
    ident = identify(likelihood, runner, start, ratio=0.1)
    # bounds +-10 and +-50 around priors of sd 1 and 2: the logit map is nearly linear there
    np.testing.assert_allclose(ident.table["ratio"], np.sqrt(np.diag(cov)) / [1.0, 2.0], rtol=0.03)
    assert ident.fixed == ["Initial Level"]  # ratio 0.2 > 0.1; Slope 0.06 < 0.1
    small = reduced(likelihood, ident.fixed)
    assert [q.label for q in small.problem.parameters] == ["Slope"] and small.priors.labels == ["Slope"]
    for slope in (0.3, 0.9):
        full = likelihood.loglik(np.array([slope, start[1]]), runner.run(np.array([[slope, start[1]]]))[0])
        red = small.loglik(np.array([slope]), BatchRunner(small.problem).run(np.array([[slope]]))[0])
        assert red == pytest.approx(full, rel=1e-12)


@pytest.mark.parametrize("moves", MOVES)
def test_moves_sample_a_19_dimensional_normal_with_its_spread(moves):
    """Each move set keeps a correlated 19-D normal's sds (as many dimensions as the shipped SBC samples).

    emcee 3.1.6's DESnookerMove fails this: alone it keeps about 0.76 of the sds, as 20% of "de" (the
    old mix) 0.92 (this test's normal and seeds, 38 walkers x 3,000 steps), failing the 0.96 floor.
    """
    D, W = 19, 38
    rng = np.random.default_rng(0)
    A = rng.normal(size=(D, D))
    cov = A @ A.T / D + np.eye(D)
    prec = np.linalg.inv(cov)

    def log_prob(Z):
        return -0.5 * np.einsum("ij,jk,ik->i", Z, prec, Z)

    z0 = rng.multivariate_normal(np.zeros(D), cov, size=W)
    chain = run_chain(log_prob, z0, 3000, 7, ChainStore.memory(W, D), moves=moves)
    draws = chain.coords[1001:].reshape(-1, D)
    ratio = draws.std(axis=0) / np.sqrt(np.diag(cov))
    assert 0.96 < np.median(ratio) < 1.04, np.round(ratio, 2)


def test_an_interrupt_inside_the_log_posterior_stops_the_chain_quietly_and_keeps_finished_steps(capfd):
    """Ctrl-C or SIGTERM while the model runs: emcee's wrapper would print the walkers and a traceback for any
    exception. The chain stops with the interruption, prints nothing, and keeps exactly the steps finished before
    it; resuming from them gives the chain an uninterrupted run gives."""
    D, W = 2, 8

    def log_prob(Z):
        return -0.5 * np.sum(Z ** 2, axis=1)

    calls = {"n": 0}

    def interrupted(Z):
        calls["n"] += 1
        if calls["n"] == 12:            # the first half of step 6 (the start takes one call, each step two)
            raise KeyboardInterrupt
        return log_prob(Z)

    z0 = np.random.default_rng(1).normal(size=(W, D))
    store = ChainStore.memory(W, D)
    with pytest.raises(KeyboardInterrupt):
        run_chain(interrupted, z0, 20, 3, store)
    out, err = capfd.readouterr()
    assert "emcee" not in out + err and "Traceback" not in out + err, (out, err)
    assert len(store.steps) - 1 == 5    # the start and the five steps finished before the interruption
    whole = run_chain(log_prob, z0, 20, 3, ChainStore.memory(W, D))
    resumed = run_chain(log_prob, z0, 20, 3, store)
    np.testing.assert_array_equal(resumed.coords, whole.coords)
