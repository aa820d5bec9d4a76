"""Simulation-based calibration in lockstep and its resumable store, on the linear test model (seconds)."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sd_model.bayes.lockstep import Lockstep, run_lockstep
from sd_model.bayes.posterior import BatchRunner
from sd_model.bayes.sbc import SBCSettings, fit_dataset, sbc, sbc_coverage
from sd_model.errors import SDModelError

from test_bayes_sampler import likelihood  # noqa: F401  (fixture)

SMALL = {"walkers": 8, "steps": 40, "seed": 3, "thin": 2}


class Counting:
    """A runner that counts its calls and rows (and checks that one call runs at a time)."""

    def __init__(self, runner):
        self.runner, self.calls, self.rows = runner, 0, 0
        self._busy = threading.Lock()

    def run(self, X):
        assert self._busy.acquire(blocking=False), "two engine calls at once"
        try:
            self.calls += 1
            self.rows += len(X)
            return self.runner.run(X)
        finally:
            self._busy.release()


def test_two_fits_in_lockstep_equal_two_separate_fits_with_fewer_engine_calls(likelihood):  # noqa: F811
    alone, together = Counting(BatchRunner(likelihood.problem)), Counting(BatchRunner(likelihood.problem))
    one_by_one = sbc(likelihood, alone, datasets=2, **SMALL)
    lockstep = sbc(likelihood, together, datasets=2, lockstep=2, **SMALL)
    pd.testing.assert_frame_equal(one_by_one, lockstep)
    assert together.rows == alone.rows
    # a round takes one call of every fit still running: as many engine calls as the longer fit alone makes
    calls = []
    for k in (0, 1):
        one = Counting(BatchRunner(likelihood.problem))
        fit_dataset(likelihood, one, k, SBCSettings(**SMALL))
        calls.append(one.calls)
    assert sum(calls) == alone.calls and together.calls == max(calls) < 0.6 * alone.calls
    assert {"r_hat", "ess_bulk", "tau_steps"} <= set(lockstep.columns)


def test_lockstep_members_get_their_own_rows_back_and_a_finished_member_is_not_waited_for():
    class Echo:
        def run(self, X):
            return list(X[:, 0])

    def task(scale, calls):
        def run(runner):
            return [runner.run(np.arange(i + 1, dtype=float)[:, None] * scale) for i in range(calls)]
        return run

    out = run_lockstep([task(1.0, 3), task(10.0, 1), task(100.0, 2)], Echo())
    assert out[0] == [[0.0], [0.0, 1.0], [0.0, 1.0, 2.0]]
    assert out[1] == [[0.0]] and out[2] == [[0.0], [0.0, 100.0]]


def test_a_failing_fit_is_returned_and_the_others_finish():
    class Echo:
        def run(self, X):
            return list(X[:, 0])

    def bad(runner):
        runner.run(np.ones((1, 1)))
        raise ValueError("boom")

    def good(runner):
        return [runner.run(np.full((2, 1), float(i))) for i in range(3)]

    out = run_lockstep([bad, good], Echo())
    assert isinstance(out[0], ValueError) and out[1] == [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]
    step = Lockstep(Echo(), 1)
    assert step.client(0).run(np.zeros((3, 1))) == [0.0, 0.0, 0.0] and step.calls == 1


def test_sbc_keeps_finished_data_sets_and_skips_them_on_rerun(likelihood, tmp_path):  # noqa: F811
    first = Counting(BatchRunner(likelihood.problem))
    table2 = sbc(likelihood, first, datasets=2, out=tmp_path, **SMALL)
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == ["0000.json", "0001.json"]
    again = Counting(BatchRunner(likelihood.problem))
    table3 = sbc(likelihood, again, datasets=3, out=tmp_path, lockstep=2, **SMALL)
    pd.testing.assert_frame_equal(table3[table3["dataset"] < 2].reset_index(drop=True), table2)
    assert again.rows == first.rows // 2  # only data set 2 was fitted
    # a damaged file (value changed, checksum not) is fitted again, to the same result
    path = tmp_path / "datasets" / "0001.json"
    obj = json.loads(path.read_text())
    obj["rows"][0]["median"] += 1.0
    path.write_text(json.dumps(obj))
    third = Counting(BatchRunner(likelihood.problem))
    pd.testing.assert_frame_equal(sbc(likelihood, third, datasets=3, out=tmp_path, **SMALL), table3)
    assert third.rows == again.rows
    # a process given the last data set only shares the folder: it finds it, fits nothing
    last = Counting(BatchRunner(likelihood.problem))
    pd.testing.assert_frame_equal(sbc(likelihood, last, datasets=3, out=tmp_path, first=2, **SMALL),
                                  table3[table3["dataset"] == 2].reset_index(drop=True))
    assert last.rows == 0
    with pytest.raises(SDModelError, match="other settings"):
        sbc(likelihood, third, datasets=1, out=tmp_path, **{**SMALL, "steps": 41})
    cov = sbc_coverage(table3)
    assert list(cov["datasets"]) == [3, 3] and (cov["r_hat_max"] >= cov["fits_r_hat_over_1_05"] * 0).all()


def test_matched_priors_are_truncated_normals_at_the_draws_mean_and_sd(likelihood):  # noqa: F811
    from scipy import stats

    from sd_model.bayes.likelihood import build_likelihood
    from sd_model.bayes.sbc import matched_priors

    from dataclasses import replace

    from sd_model.bayes.priors import RHO, Prior

    # the fixture fixes rho: estimate it here, so that the error model's prior is replaced too
    fixed = likelihood.priors
    rho = Prior(label=RHO, dist="uniform", params=(), lower=0.0, upper=0.99, source="test")
    base = replace(fixed, priors=fixed.priors + (rho,), error_model=replace(fixed.error_model, rho=rho))
    rng = np.random.default_rng(5)
    centre = (base.lower + base.upper) / 2 if np.all(np.isfinite(base.upper)) else np.ones(len(base.priors))
    spread = 0.05 * np.abs(centre) + 0.01
    draws = centre + spread * rng.standard_normal((20000, len(base.priors)))
    new = matched_priors(base, draws, "test draws")
    assert new.labels == base.labels
    np.testing.assert_array_equal(new.lower, base.lower)
    np.testing.assert_array_equal(new.upper, base.upper)
    for p, c, s in zip(new.priors, centre, spread):
        assert p.dist == "normal" and abs(dict(p.params)["mu"] - c) < 0.05 * s
        assert abs(dict(p.params)["sigma"] / s - 1) < 0.03
    # the log prior is the sum of truncated-normal log densities (scipy, independently)
    x = draws[:3]
    expect = sum(stats.truncnorm.logpdf(x[:, j], (p.lower - dict(p.params)["mu"]) / dict(p.params)["sigma"],
                                        (p.upper - dict(p.params)["mu"]) / dict(p.params)["sigma"],
                                        loc=dict(p.params)["mu"], scale=dict(p.params)["sigma"])
                 for j, p in enumerate(new.priors))
    np.testing.assert_allclose(new.log_prior(x), expect, rtol=1e-10)
    # estimated error terms are replaced too, and an SBC folder of the old priors is not reused
    assert new.error_model.rho is new.priors[-1] and new.error_model.rho.dist == "normal"
    assert new.text != base.text
    # the same priors file in another folder gives the same text (the SBC folder resumes from any clone)
    moved = matched_priors(replace(base, path=Path("/elsewhere") / Path(base.path).name), draws, "test draws")
    assert moved.text == new.text and str(Path(base.path).parent) not in new.text
    build_likelihood(likelihood.problem, matched_priors(fixed, draws[:, :-1], "test draws"))  # a usable likelihood
    with pytest.raises(ValueError, match="at least 2 draws"):
        matched_priors(base, draws[:1], "too few")


def test_laplace_dataset_uses_the_fits_data_and_gives_the_closed_form_interval(likelihood):  # noqa: F811
    """Same true value as the fit of data set k; on the linear model (a normal posterior) its 90% interval is the
    generalised-least-squares posterior's mean +- 1.645 sd, computed from that data set's synthetic observations."""
    from sd_model.bayes.sbc import _dataset, laplace_dataset
    from test_bayes_sampler import gls_posterior

    runner = BatchRunner(likelihood.problem)
    fit = fit_dataset(likelihood, runner, 1, SBCSettings(**SMALL))
    rows = laplace_dataset(likelihood, runner, 1, SMALL["seed"], n_draws=8000)
    theta, lik_1, _ = _dataset(likelihood, runner, 1, SMALL["seed"], None)
    assert [r["true"] for r in rows] == [r["true"] for r in fit] == list(theta)
    mean, cov = gls_posterior(lik_1.problem.series[0].obs[:, 0])
    sd = np.sqrt(np.diag(cov))
    for j, r in enumerate(rows):
        assert r["parameter"] == likelihood.priors.labels[j] and r["draws"] == 8000
        assert abs(r["q05"] - (mean[j] - 1.645 * sd[j])) < 0.1 * sd[j], (r, mean, sd)
        assert abs(r["q95"] - (mean[j] + 1.645 * sd[j])) < 0.1 * sd[j], (r, mean, sd)
        assert r["inside90"] == (r["q05"] <= r["true"] <= r["q95"])


class Failing(Counting):
    """A runner whose engine fails after ``calls`` calls, as a killed process would stop."""

    def __init__(self, runner, calls):
        super().__init__(runner)
        self.limit = calls

    def run(self, X):
        if self.calls >= self.limit:
            raise RuntimeError("engine stopped")
        return super().run(X)


def test_an_interrupted_sbc_continues_its_fits_from_their_checkpoints_to_the_uninterrupted_result(
        likelihood, tmp_path):  # noqa: F811
    whole = Counting(BatchRunner(likelihood.problem))
    expected = sbc(likelihood, whole, datasets=2, lockstep=2, out=tmp_path / "whole", **SMALL)
    assert not list((tmp_path / "whole" / "chains").iterdir())  # checkpoints removed once kept
    # stop both fits part way through: their chains are on disk, no data set is finished
    with pytest.raises(RuntimeError):
        sbc(likelihood, Failing(BatchRunner(likelihood.problem), whole.calls // 2), datasets=2, lockstep=2,
            out=tmp_path / "cut", **SMALL)
    chains = sorted((tmp_path / "cut" / "chains").iterdir())
    assert [c.name for c in chains] == ["0000", "0001"] and not list((tmp_path / "cut" / "datasets").iterdir())
    assert all((c / "chain.bin").stat().st_size > 0 for c in chains)
    # the second fit's checkpoint belongs to other true values (as after a change of the SBC's
    # truths): it is not continued but replaced, and that fit starts afresh
    meta = json.loads((chains[1] / "meta.json").read_text())
    (chains[1] / "meta.json").write_text(json.dumps({**meta, "key": "other true values"}))
    again = Counting(BatchRunner(likelihood.problem))
    pd.testing.assert_frame_equal(sbc(likelihood, again, datasets=2, lockstep=2, out=tmp_path / "cut", **SMALL),
                                  expected)
    # the continued run did only the rest of the work: the first fit from its checkpoint (the
    # cut-off round is run again), the second from its start
    assert whole.rows // 2 < again.rows < whole.rows
    assert not list((tmp_path / "cut" / "chains").iterdir())
