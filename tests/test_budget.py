"""The run budget (sd_model.budget): estimates checked against runs timed here, and refusals before a run starts.

The estimates' constants were measured by ``benchmarks/bench_budget.py``; here short runs are
timed independently (CPU time of this process, which load on the shared machine changes far
less than wall time) and each estimate must lie within a factor of 2 of what was measured, relative to the
machine's speed (measured with a simlin run). No test asserts an absolute speed.
"""
from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from cli import main
from sd_model import budget
from sd_model.mdl import read_model_info
from sd_model.run import DEFAULT_MODEL, load_engine, run
from sd_model.scenario import Scenario


def _estimate(engine, spec) -> float:
    t = spec.times
    return budget.run_seconds(engine.name, (t.final - t.initial) / t.dt, t.n, budget.model_values(engine.info))


def _cpu(engine, spec) -> float:
    t0 = time.process_time()
    run(spec, engine, finite=False)
    return time.process_time() - t0


def _machine_speed(simlin_engine) -> float:
    """This machine's speed against the one the constants were measured on: a simlin run to 3100 timed here,
    measured over estimated (the best of two), 0.6-0.9 on the machine of the constants.

    Machines of the same kind differ by up to about two in speed (the suite's PySD run took 73.8 s of CPU in
    session 11 and 38.0 s in session 13, on an idle machine each time; in the session of 2026-12-02 a batch run
    to 1990 took 0.47 of its estimate), which a factor-of-two check of one engine cannot absorb.
    """
    probe = Scenario(name="t").resolve(simlin_engine.info, until=3100)
    return min(_cpu(simlin_engine, probe) for _ in range(2)) / _estimate(simlin_engine, probe)


def test_estimates_are_within_a_factor_of_two_of_timed_runs(simlin_engine):
    """Each estimate within a factor of two of a run timed here, relative to this machine's speed (the simlin run to
    3100); the speed itself only within a factor of four of the constants' machine.

    The speed is a property of the machine, not of the estimates: the CI machine of 2026-12-06 ran at 0.49 of the
    constants' machine, so a factor of two on it fails on faster hardware with nothing wrong. A factor of four still
    catches constants wrong by an order of magnitude, which is what would make the budget refuse good runs or let
    hour-long ones start."""
    speed = _machine_speed(simlin_engine)
    assert 0.25 <= speed <= 4.0, speed
    for name, untils in [("simlin", (2600,)), ("batch", (1990, 2010))]:
        for until in untils:
            # the best of two, as for the speed (one run can be slowed by the other test worker); the batch
            # engine fresh each time, since its estimate includes generating and compiling its code
            engines = [simlin_engine] * 2 if name == "simlin" else [load_engine(name) for _ in range(2)]
            spec = Scenario(name="t").resolve(engines[0].info, until=until)
            measured, estimated = min(_cpu(e, spec) for e in engines), _estimate(engines[0], spec)
            assert 0.5 <= measured / estimated / speed <= 2.0, (name, until, measured, estimated, speed)


@pytest.mark.slow
def test_pysd_estimate_is_within_a_factor_of_two_of_the_shared_pysd_run(pysd_engine, pysd_reference, simlin_engine):
    """The PySD estimate against the suite's PySD run, relative to this machine's speed (_machine_speed)."""
    spec = pysd_reference.scenario.resolve(pysd_engine.info)
    estimated = _estimate(pysd_engine, spec)
    speed = _machine_speed(simlin_engine)
    ratio = pysd_reference.cpu_seconds / estimated / speed
    assert 0.5 <= ratio <= 2.0, (pysd_reference.cpu_seconds, estimated, speed)


def _refused_before_running(monkeypatch, args, env=None):
    """``sd-model ARGS`` with every engine's simulation replaced by a failure: a refusal must come first."""
    from sd_model.engines.base import Engine

    def ran(*a, **k):
        raise AssertionError("the run started")

    monkeypatch.setattr(Engine, "simulate", ran)
    res = CliRunner().invoke(main, args, env=env)
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit), (res.output, res.exception)
    assert res.output.startswith("error: ") and res.output.count("\n") == 1, res.output
    return res.output


def test_until_100000_is_refused_before_it_starts(tmp_path, monkeypatch):
    """The issue's case: the default csv results (98,023 years x ~1,070 values) cannot fit or finish."""
    out = _refused_before_running(monkeypatch, ["run", "--until", "100000", "--out", str(tmp_path / "o")])
    assert "1978 to 100000" in out and ("of memory, more than the" in out or "over the limit of" in out)
    assert "--until" in out
    assert not (tmp_path / "o").exists()


def test_a_run_over_the_time_limit_says_estimate_limit_and_how_to_raise_it(tmp_path, monkeypatch, cache_dir):
    monkeypatch.setattr(budget, "available_memory", lambda: 1 << 50)  # memory is not what refuses it here
    # PySD at ~0.3 s per step (benchmarks/bench_budget.py: 25.9 s of CPU for 80 steps): to 2300 at TIME STEP
    # 1/20, 6,440 steps are over half an hour, over the 10-minute limit
    info = read_model_info(DEFAULT_MODEL)
    values, steps = budget.model_values(info), round((2300 - info.initial_time) / info.time_step)
    out = _refused_before_running(monkeypatch, ["run", "--engine", "pysd", "--until", "2300",
                                                "--out", str(tmp_path / "o")])
    assert f"{steps:,} time steps of {values:,} values: about 3" in out and "minutes with pysd" in out
    assert "over the limit of 10.0 minutes" in out and "SD_MODEL_MAX_RUN_SECONDS" in out
    # the limit can be raised (here the run itself is then stopped by the test's stand-in)
    with pytest.raises(AssertionError, match="the run started"):
        from sd_model.workflows import run_to_folder

        monkeypatch.setenv("SD_MODEL_MAX_RUN_SECONDS", "3600")
        run_to_folder([], tmp_path / "o", until=2300, engine="pysd", plots=False)
    assert not (tmp_path / "o").exists()


def test_a_bad_time_limit_is_a_clear_error(tmp_path, monkeypatch):
    out = _refused_before_running(monkeypatch, ["run", "--until", "1980", "--out", str(tmp_path / "o")],
                                  env={"SD_MODEL_MAX_RUN_SECONDS": "ten"})
    assert "SD_MODEL_MAX_RUN_SECONDS must be a positive number of seconds, got 'ten'" in out


def test_the_results_file_is_part_of_the_estimate(monkeypatch):
    """Writing csv costs ~3 us per value, netcdf ~0.4 us (bench_budget.py): a long run's csv file dominates."""
    monkeypatch.setattr(budget, "available_memory", lambda: 1 << 50)
    monkeypatch.setenv("SD_MODEL_MAX_RUN_SECONDS", "10")
    steps, saved, values = 32 * 5000, 5001, 1068
    assert budget.run_seconds("simlin", steps, saved, values) < 5
    budget.check_single_run("simlin", steps, saved, values, "x")
    budget.check_single_run("simlin", steps, saved, values, "x", fmt="netcdf")
    with pytest.raises(budget.ResourceError, match=r"to run, .* to write csv\), over the limit of 10 s"):
        budget.check_single_run("simlin", steps, saved, values, "x", fmt="csv")
    budget.check_single_run("simlin", steps, saved, values, "x", fmt="csv", n_written=values // 10)
