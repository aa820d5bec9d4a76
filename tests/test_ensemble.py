"""Tests of sd_model.ensemble, sd_model.sampling and ``sd-model ensemble`` on the shipped model.

Reference values come from single runs of the simlin engine (independent of the batch
engine) and from the definition of a Latin hypercube, never from the code under test.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

from sd_model import ensemble_store
from sd_model.ensemble import EnsembleWarning, run_ensemble
from sd_model.errors import ScenarioError, SDModelError, UnknownNameError
from sd_model.mdl import read_model_info
from sd_model.parameters import Parameter
from sd_model.run import DEFAULT_MODEL, run_scenario
from sd_model.sampling import load_ranges, sample_parameters
from sd_model.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
RANGES_FILE = ROOT / "experiments" / "ranges" / "default.toml"
RANGES = {"Capital Elasticity": (0.3, 0.45), "Initial Schooling[West]": (3.5, 4.5), "Regional Savings Factor": (0.7, 1.0),
          "Loan Maturity": (2.0, 8.0)}
OUTPUTS = ["National GDP", "GDP", "Migration", "Theil Index"]
SHORT = Scenario(name="short", final_time=2030)


def params_of(row: pd.Series) -> dict:
    """Scenario params of one row of RANGES samples, written out by hand."""
    return {"Capital Elasticity": row["Capital Elasticity"], "Initial Schooling": {"West": row["Initial Schooling[West]"]},
            "Regional Savings Factor": row["Regional Savings Factor"], "Loan Maturity": row["Loan Maturity"]}


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-6)).max())


@pytest.fixture(scope="module")
def sets() -> pd.DataFrame:
    return sample_parameters(RANGES, 12, seed=7)


@pytest.fixture(scope="module")
def local(sets) -> xr.Dataset:
    return run_ensemble(SHORT, sets, OUTPUTS, workers=1, chunk_size=5, progress=False)


# ---------------------------------------------------------------- sampling


def test_same_seed_gives_identical_samples_and_other_seeds_differ():
    a, b = sample_parameters(RANGES, 50, seed=3), sample_parameters(RANGES, 50, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.to_numpy(), sample_parameters(RANGES, 50, seed=4).to_numpy())
    assert list(a.columns) == list(RANGES) and a.index.name == "member" and list(a.index) == list(range(50))


@pytest.mark.parametrize("method", ["lhs", "random"])
def test_samples_lie_in_their_ranges_and_lhs_fills_every_stratum(method):
    n = 40
    s = sample_parameters(RANGES, n, seed=1, method=method)
    for col, (lo, hi) in RANGES.items():
        assert s[col].between(lo, hi).all()
        strata = np.floor((s[col].to_numpy() - lo) / (hi - lo) * n).astype(int)
        if method == "lhs":  # one draw in each of the n equal-width strata
            assert sorted(strata) == list(range(n))


def test_load_ranges_reads_the_shipped_file():
    ranges = load_ranges(RANGES_FILE)
    assert 10 <= len(ranges) <= 35
    assert ranges["Capital Elasticity"] == (0.488, 0.582) and "Institutional Capacity Limit[West]" in ranges
    assert ranges["Head Office Pooling Scale"] == (1.0, 2.0)    # one-sided: 2 is the calibration's bound


def test_every_shipped_range_holds_the_models_default():
    """The file's rule: each range is centred on (or, cut at a bound, still holds) the model's default."""
    info = read_model_info(DEFAULT_MODEL)
    for label, (lo, hi) in load_ranges(RANGES_FILE).items():
        param = Parameter.parse(info, label)
        default = param.variable(info).default
        values = ([default[",".join(c)] for c in param.cells(info)] if isinstance(default, dict) else [default])
        assert all(lo - 1e-12 <= float(v) <= hi + 1e-12 for v in values), (label, (lo, hi), values)


@pytest.mark.parametrize("body, error, message", [
    ('[ranges]\n"Capital Elasticity" = [0.3, 0.4]\n"Loan Maturity" == [2, 3]\n', SDModelError,
     r"bad\.toml: malformed TOML: .*line 3"),
    ('[ranges]\n"Capital Elastcity" = [0.3, 0.4]\n', UnknownNameError,
     r"bad\.toml:2: unknown parameter 'Capital Elastcity'; did you mean 'Capital Elasticity'"),
    ('[ranges]\n\n"Loan Maturity" = [5, 3]\n', SDModelError, r"bad\.toml:3: range of 'Loan Maturity' has low 5 >= high 3"),
    ('[ranges]\n"Capital Elasticity" = [0.1, 0.4]\n', ScenarioError,
     r"bad\.toml:2: range \[0\.1, 0\.4\] of 'Capital Elasticity' is outside the range the model declares, \[0\.3, 0\.7\]"),
    ('[ranges]\n"GDP" = [1, 2]\n', SDModelError, r"bad\.toml:2: 'GDP' is an auxiliary, not a constant"),
    ('[ranges]\n"Regional Savings Factor[Wst]" = [0.7, 0.9]\n', SDModelError, r"Region has no element 'Wst'; did you mean 'West'"),
    ('[ranges]\n"Loan Maturity" = 3\n', SDModelError, r"range of 'Loan Maturity' must be two numbers"),
    ('[range]\n"Loan Maturity" = [2, 3]\n', SDModelError, r"expected a \[ranges\] table"),
])
def test_bad_ranges_files_give_clear_errors(tmp_path, body, error, message):
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(error, match=message):
        load_ranges(path)


# ---------------------------------------------------------------- running


def test_ensemble_equals_single_simlin_runs(local, sets, simlin_engine):
    assert local["GDP"].dims == ("member", "time", "Region") and local["Migration"].dims[-2:] == ("Region", "Dest")
    assert local.sizes["member"] == 12 and local.sizes["time"] == 53 and not local["failed"].any()
    for m in (0, 7, 11):
        single = run_scenario(SHORT.with_params(params_of(sets.loc[m])), simlin_engine, outputs=OUTPUTS)
        for name in OUTPUTS:
            assert rel_diff(local[name].sel(member=m).values, single[name].values) <= 1e-9, (m, name)


def test_engines_and_parallel_paths_agree(local, sets):
    two = run_ensemble(SHORT, sets, OUTPUTS, workers=2, progress=False)
    xr.testing.assert_identical(two.drop_attrs(), local.drop_attrs())
    simlin = run_ensemble(SHORT, sets.iloc[:4], ["GDP"], engine="simlin", workers=2, progress=False)
    assert rel_diff(simlin["GDP"].values, local["GDP"].values[:4]) <= 1e-9


def test_model_changed_since_the_ensemble_was_set_up_is_a_clear_error():
    """A worker refuses a model whose checksum is not the ensemble's (the file changed under it)."""
    from dataclasses import replace

    from sd_model.engines import get_engine
    from sd_model.ensemble_worker import Job, runner_of
    from sd_model.run import DEFAULT_MODEL
    from sd_model.runspec import build_spec

    spec = replace(build_spec(get_engine("batch", DEFAULT_MODEL).info, outputs=["GDP"]), model_sha256="f" * 64)
    with pytest.raises(SDModelError, match=r"\.mdl changed since the ensemble was set up \(sha256 \w{12}, "
                                           r"expected ffffffffffff\); restart the ensemble"):
        runner_of(Job("batch", str(DEFAULT_MODEL), spec, (), 1))


def test_failing_member_is_recorded_and_reported(tmp_path):
    """A member whose run gives NaN (LN(0) at a declared bound of a toy model) is flagged, not fatal."""
    toy = (ROOT / "tests" / "models" / "toy_two_region.mdl").read_text(encoding="utf-8").replace(
        "IF THEN ELSE(Time >= Policy Start Year, Savings Rate * (1 + Policy Boost), Savings Rate)",
        "0.2 + 0 * LN(Savings Rate)")
    model = tmp_path / "toy.mdl"
    model.write_text(toy, encoding="utf-8")
    bad = pd.DataFrame({"Savings Rate": [0.2, 0.0, 0.3]})
    with pytest.warns(EnsembleWarning, match=r"1 of 3 ensemble members failed.*member 1: non-finite value of"):
        ds = run_ensemble(Scenario(), bad, ["Total Output"], model=model, workers=1, progress=False)
    assert ds["failed"].values.tolist() == [False, True, False]
    assert ds["message"].values[0] == "" and "Total Output" in ds["message"].values[1]
    assert np.isfinite(ds["Total Output"].values[[0, 2]]).all() and np.isnan(ds["Total Output"].values[1, 1:]).all()


@pytest.mark.parametrize("column, value, error, message", [
    ("Capital Elastcity", 0.4, UnknownNameError, r"unknown parameter 'Capital Elastcity'; did you mean"),
    ("Capital Elasticity", 0.9, ScenarioError, r"member 0 has Capital Elasticity = 0\.9, outside .* \[0\.3, 0\.7\]"),
    ("GDP", 1.0, SDModelError, r"'GDP' is an auxiliary, not a constant"),
])
def test_bad_parameter_sets_fail_before_running(column, value, error, message):
    with pytest.raises(error, match=message):
        run_ensemble(SHORT, pd.DataFrame({column: [value]}), ["GDP"], workers=1, progress=False)
    with pytest.raises(UnknownNameError, match="unknown variable 'GPD'"):
        run_ensemble(SHORT, pd.DataFrame({"Loan Maturity": [3.0]}), ["GPD"], workers=1, progress=False)


# ---------------------------------------------------------------- store and resume


def test_interrupted_ensemble_resumes_with_identical_results(tmp_path, local, sets, monkeypatch):
    store = tmp_path / "store"
    real_write = ensemble_store.ChunkStore.write
    calls: list[int] = []

    def write_then_stop(self, index, ds):
        calls.append(index)
        path = real_write(self, index, ds)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as if killed after the second chunk was safely on disk
        return path

    monkeypatch.setattr(ensemble_store.ChunkStore, "write", write_then_stop)
    with pytest.raises(KeyboardInterrupt):
        run_ensemble(SHORT, sets, OUTPUTS, workers=1, chunk_size=5, store=store, progress=False)
    kept = sorted(p.name for p in store.glob("chunk-*.nc"))
    assert kept == ["chunk-000000.nc", "chunk-000001.nc"]
    stamps = {p: p.stat().st_mtime_ns for p in store.glob("chunk-*.nc")}
    calls.clear()
    resumed = run_ensemble(SHORT, sets, OUTPUTS, workers=1, store=store, progress=False)
    assert calls == [2]  # only the missing chunk ran (the store's chunk size of 5 was kept)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    xr.testing.assert_identical(resumed.drop_attrs(), local.drop_attrs())


def test_store_interrupted_between_a_chunk_and_its_record_is_discarded_and_runs_again(tmp_path, local, sets,
                                                                                      monkeypatch):
    # an interruption after the first chunk's file and before its integrity record: no chunk finished, so the
    # store this call created is removed whole (the unfinished chunk with it), and the same call runs again;
    # before, the chunk file kept the folder, its store.json was gone, and the rerun refused the folder
    store = tmp_path / "runs" / "store"

    def record_then_stop(path, text):
        raise KeyboardInterrupt

    monkeypatch.setattr(ensemble_store, "atomic_write_text", record_then_stop)
    with pytest.raises(KeyboardInterrupt):
        run_ensemble(SHORT, sets, OUTPUTS, workers=1, chunk_size=5, store=store, progress=False)
    assert not (tmp_path / "runs").exists()
    monkeypatch.undo()
    again = run_ensemble(SHORT, sets, OUTPUTS, workers=1, chunk_size=5, store=store, progress=False)
    xr.testing.assert_identical(again.drop_attrs(), local.drop_attrs())


def test_store_of_another_ensemble_is_refused(tmp_path, sets):
    store = tmp_path / "store"
    run_ensemble(SHORT, sets.iloc[:2], ["GDP"], workers=1, store=store, progress=False)
    with pytest.raises(SDModelError, match=r"different parameter set"):
        run_ensemble(SHORT, sets.iloc[2:4], ["GDP"], workers=1, store=store, progress=False)
    with pytest.raises(SDModelError, match=r"different outputs"):
        run_ensemble(SHORT, sets.iloc[:2], ["National GDP"], workers=1, store=store, progress=False)
    with pytest.raises(SDModelError, match=r"different scenario"):
        run_ensemble(SHORT.with_params({"Aid Intensity": 1.0}), sets.iloc[:2], ["GDP"], workers=1, store=store,
                     progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(SDModelError, match=r"not an ensemble store"):
        run_ensemble(SHORT, sets.iloc[:2], ["GDP"], workers=1, store=tmp_path / "other", progress=False)


# ---------------------------------------------------------------- Dask


def test_dask_local_cluster_gives_the_local_results(local, sets):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            by_client = run_ensemble(SHORT, sets, OUTPUTS, scheduler=client, chunk_size=4, progress=False)
        by_address = run_ensemble(SHORT, sets.iloc[:5], ["GDP"], scheduler=cluster.scheduler_address,
                                  progress=False)
    xr.testing.assert_identical(by_client.drop_attrs(), local.drop_attrs())
    xr.testing.assert_identical(by_address["GDP"], local["GDP"].isel(member=slice(0, 5)))


def test_unreachable_scheduler_is_a_clear_error(sets):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), pytest.raises(SDModelError, match=r"cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:9'"):
        run_ensemble(SHORT, sets.iloc[:2], ["GDP"], scheduler="tcp://127.0.0.1:9", progress=False)


# ---------------------------------------------------------------- command line


def _cli(args: list[str]):
    """Invoke through a group like cli.main (same error handling), without importing the others' commands."""
    from sd_model.commands.ensemble import ensemble_command
    from sd_model.commands.options import SDGroup

    return CliRunner().invoke(SDGroup(commands=[ensemble_command]), args, catch_exceptions=False)


def test_cli_registers_the_command():
    cli = pytest.importorskip("cli")
    assert "ensemble" in cli.main.commands
    res = CliRunner().invoke(cli.main, ["ensemble", "--help"])
    assert res.exit_code == 0 and "--scheduler ADDRESS" in res.output and "--resume" in res.output


def test_cli_writes_ensemble_parameters_and_manifest(tmp_path):
    out = tmp_path / "ens"
    args = ["ensemble", "--samples", "6", "--ranges", str(RANGES_FILE), "--seed", "5", "--until", "1990",
            "--workers", "1", "--no-progress", "--out", str(out), "--outputs", "National GDP,Theil Index"]
    res = _cli(args)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["ensemble.nc", "manifest.json", "parameters.csv"]
    ds = xr.load_dataset(out / "ensemble.nc")
    params = pd.read_csv(out / "parameters.csv", index_col="member")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert ds["National GDP"].shape == (6, 13) and manifest["seed"] == 5 and manifest["ensemble"]["samples"] == 6
    expected = sample_parameters(load_ranges(RANGES_FILE), 6, seed=5)
    pd.testing.assert_frame_equal(params[expected.columns], expected, check_exact=False, rtol=1e-15)
    again = _cli(args)
    assert again.exit_code == 2 and "pass --resume" in again.output
    done = _cli([*args, "--resume"])
    assert done.exit_code == 0 and "already complete" in done.output
    other = _cli([*args[:6], "6", *args[7:], "--resume"])
    assert other.exit_code == 2 and "different seed" in other.output
    bad = _cli(["ensemble", "--samples", "2", "--ranges", str(tmp_path / "none.toml"), "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "ranges file not found" in bad.output


def test_cli_killed_midway_resumes_to_the_same_ensemble(tmp_path):
    """A real kill (SIGKILL) of ``sd-model ensemble`` after its first chunk, then --resume."""
    args = ["ensemble", "--samples", "3000", "--ranges", str(RANGES_FILE), "--seed", "2", "--until", "1992",
            "--workers", "1", "--no-progress", "--format", "parquet"]
    code = ("from sd_model.commands.ensemble import ensemble_command as c; "
            "from sd_model.commands.options import SDGroup; SDGroup(commands=[c])()")
    cmd = [sys.executable, "-c", code]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, *args, "--out", str(killed)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list((killed / "chunks").glob("chunk-*.nc")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = sorted(p.name for p in (killed / "chunks").glob("chunk-*.nc"))
    assert 1 <= len(kept) < 3 and not (killed / "ensemble.parquet").exists()
    resumed = subprocess.run([*cmd, *args, "--out", str(killed), "--resume"], cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    fresh = _cli([*args, "--out", str(tmp_path / "fresh")])
    assert fresh.exit_code == 0
    a = pd.read_parquet(killed / "ensemble.parquet")
    b = pd.read_parquet(tmp_path / "fresh" / "ensemble.parquet")
    assert len(a) == 3000 * 15 * (1 + 4 + 1 + 4 + 4)  # members x years 1978-1992 x values
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_progress_bar_names_its_scenario(capsys):
    from dataclasses import replace

    sets = pd.DataFrame({"Loan Maturity": [3.0, 4.0]})
    run_ensemble(replace(SHORT, name="bar_owner"), sets, ["GDP"], workers=1, progress=True)
    assert "bar_owner (batch)" in capsys.readouterr().err
