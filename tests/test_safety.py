"""Nothing lost, nothing silently wrong (issue 10): explicit cases.

- No command deletes or overwrites a file or folder it did not write unless ``--force``.
- Stores (ensemble chunks, calibration checkpoints) refuse what fails their integrity record.
- Killed (SIGKILL) and interrupted (SIGINT, SIGTERM) long runs resume to byte-identical results
  and leave no hidden leftovers.
- Every hostile input listed in the issue ends in exit 2 and one clear line, never a traceback.
"""
from __future__ import annotations

import importlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

from cli import main
from sd_model.calibration import CalibrationError
from sd_model.calibration.store import EvaluationStore
from sd_model.ensemble import run_ensemble
from sd_model.errors import SDModelError
from sd_model.files import atomic_dir, ownership_problem
from sd_model.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments"
RANGES = EXPERIMENTS / "ranges" / "default.toml"


def snapshot(folder: Path) -> dict[str, object]:
    """Every entry under ``folder`` (hidden ones too): file bytes, link targets, folders."""
    out: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = path.read_bytes()
    return out


def cli(args: list[str]):
    res = CliRunner().invoke(main, [str(a) for a in args])
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise AssertionError(f"traceback from {args}: {res.exception!r}\n{res.output}") from res.exception
    return res


# ---------------------------------------------------------------- no command replaces what it did not write


def _foreign_folder(out: Path) -> None:
    out.mkdir(parents=True)
    (out / "notes.txt").write_text("the user's notes")
    (out / "sub").mkdir()
    (out / "sub" / "data.csv").write_text("a,b\n1,2\n")


def _plain_file(out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("the user's file")


def _symlink(out: Path) -> None:
    target = out.parent / "elsewhere"
    _foreign_folder(target)
    os.symlink(target, out)


TARGETS = {"foreign folder": _foreign_folder, "plain file": _plain_file, "symlink": _symlink}

#: One cheap invocation per command that writes an output folder, with OUT as a placeholder.
COMMANDS = {
    "run": ["run", "--until", "1980", "--no-plots", "--out", "{parent}"],  # writes OUT/default
    "compare": ["compare", "historical", "--until", "1980", "--out", "{out}"],
    "sensitivity": ["sensitivity", "--samples", "2", "--outcomes", "National GDP@1980", "--workers", "1",
                    "--no-progress", "--out", "{out}"],
    "ensemble": ["ensemble", "-n", "2", "--ranges", str(RANGES), "--until", "1980", "--workers", "1",
                 "--no-progress", "--out", "{out}"],
    "calibrate": ["calibrate", "--method", "none", "-q", "--workers", "1", "--out", "{out}"],
    "sbc": ["sbc", "-q", "--datasets", "2", "--steps", "8", "--out", "{out}"],
    "findings": ["findings", "-q", "--out", "{out}"],
}


def _args(command: str, out: Path) -> list[str]:
    return [a.format(out=out, parent=out.parent) for a in COMMANDS[command]]


@pytest.mark.parametrize("kind", sorted(TARGETS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_command_replaces_what_it_did_not_write(tmp_path, command, kind):
    out = tmp_path / "work" / "default"
    TARGETS[kind](out)
    before = snapshot(tmp_path)
    res = cli(_args(command, out))
    assert res.exit_code == 2, res.output
    assert "--force" in res.output or "--out" in res.output, res.output
    assert snapshot(tmp_path) == before  # nothing deleted, changed, or left behind (no hidden entries)


@pytest.mark.parametrize("command", ["run", "ensemble"])
@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_force_replaces_it_and_leaves_nothing_behind(tmp_path, command, kind):
    out = tmp_path / "work" / "default"
    TARGETS[kind](out)
    res = cli([*_args(command, out), "--force"])
    if kind == "plain file" and command != "run":  # --out FILE is refused by the option itself, even with --force
        assert res.exit_code == 2 and "is a file" in res.output
        assert out.read_text() == "the user's file"
        return
    assert res.exit_code == 0, res.output
    assert out.is_dir() and not out.is_symlink() and (out / "manifest.json").is_file()
    if kind == "symlink":  # the link was replaced, its target left alone
        assert (tmp_path / "work" / "elsewhere" / "notes.txt").read_text() == "the user's notes"
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".")]


def test_result_folders_are_replaced_only_by_the_command_that_wrote_them(tmp_path):
    res = cli(["run", "--until", "1980", "--no-plots", "--out", tmp_path])
    assert res.exit_code == 0, res.output
    folder = tmp_path / "default"
    assert ownership_problem(folder, "run") is None
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["written_by"] == "run" and set(manifest["written"]) == {"results.csv"}
    # the same command replaces its own folder
    assert cli(["run", "--until", "1981", "--no-plots", "--out", tmp_path]).exit_code == 0
    # another command does not (the compare --help example used to replace README command 1's folder)
    before = snapshot(tmp_path)
    res = cli(["compare", "historical", "--until", "1980", "--out", folder])
    assert res.exit_code == 2 and "output of 'sd-model run'" in res.output
    # an extra file, or an edited one, makes the folder the user's
    (folder / "my-notes.md").write_text("mine")
    res = cli(["run", "--until", "1980", "--no-plots", "--out", tmp_path])
    assert res.exit_code == 2 and "my-notes.md, which sd-model did not write" in res.output
    (folder / "my-notes.md").unlink()
    with (folder / "results.csv").open("a") as fh:
        fh.write("# checked by hand\n")
    res = cli(["run", "--until", "1980", "--no-plots", "--out", tmp_path])
    assert res.exit_code == 2 and "results.csv, changed since sd-model wrote it" in res.output
    assert snapshot(tmp_path) != before  # (only the user's own edits)
    assert (folder / "results.csv").read_text().endswith("# checked by hand\n")


def test_rerun_refuses_to_overwrite_the_results_it_checks(tmp_path):
    assert cli(["run", "--until", "1980", "--no-plots", "--out", tmp_path]).exit_code == 0
    before = snapshot(tmp_path)
    for out in (tmp_path / "default", tmp_path):
        res = cli(["rerun", tmp_path / "default", "--out", out, "--no-plots"])
        assert res.exit_code == 2 and "would replace the recorded results" in res.output
    assert snapshot(tmp_path) == before
    res = cli(["rerun", tmp_path / "default", "--no-plots"])
    assert res.exit_code == 0 and "largest relative difference from the recorded results 0 " in res.output


def test_ensemble_resume_into_a_folder_that_is_not_a_store_changes_nothing(tmp_path):
    out = tmp_path / "mine"
    _foreign_folder(out)
    (out / "parameters.csv").write_text("my own parameters")
    before = snapshot(tmp_path)
    res = cli([*_args("ensemble", out), "--resume"])
    assert res.exit_code == 2 and "not a folder sd-model wrote" in res.output
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("change", [["--seed", "9"], ["-n", "1100"]])
def test_refused_ensemble_resume_rewrites_nothing(tmp_path, monkeypatch, change):
    """A refused --resume (other seed or count) used to have rewritten parameters.csv already."""
    import sd_model.ensemble as ens

    out = tmp_path / "ens"
    args = ["ensemble", "-n", "1200", "--ranges", RANGES, "--until", "1980", "--workers", "1", "--no-progress",
            "--out", out, "--seed", "1"]
    calls = []
    real = ens.run_chunk

    def interrupted_after_one_chunk(*a, **k):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(ens, "run_chunk", interrupted_after_one_chunk)
    assert cli(args).exit_code == 130
    monkeypatch.setattr(ens, "run_chunk", real)
    assert sorted(p.name for p in (out / "chunks").iterdir()) == ["chunk-000000.nc", "chunk-000000.sha256",
                                                                   "store.json"]
    before = snapshot(tmp_path)
    res = cli([*args, *change, "--resume"])
    assert res.exit_code == 2 and "different" in res.output, res.output
    assert snapshot(tmp_path) == before
    res = cli(args)  # without --resume: refused too, nothing touched
    assert res.exit_code == 2 and "pass --resume" in res.output
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("extra", [["--outputs", "Bogus Variable"], ["--scheduler", "bogus://nowhere"],
                                   ["--scheduler", "tcp://127.0.0.1:9"]])
def test_failed_ensemble_start_leaves_nothing(tmp_path, extra):
    out = tmp_path / "ens"
    t0 = time.monotonic()
    res = cli([*_args("ensemble", out), *extra])
    assert res.exit_code == 2 and res.output.startswith("error: ") and res.output.count("\n") == 1, res.output
    assert time.monotonic() - t0 < 20  # the connect timeout is short (was 32 s, 62 s for a bogus address)
    assert not out.exists() and list(tmp_path.iterdir()) == []


_SLOW_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import sd_model.workflows as run_module
    flag = Path(sys.argv[1])
    real = run_module.write_results
    def slow_write(*args, **kwargs):
        path = real(*args, **kwargs)
        flag.write_text("writing")
        time.sleep(60)
        return path
    run_module.write_results = slow_write
    from cli import main
    main(sys.argv[2:])
""")


def _default_sigint() -> None:  # pragma: no cover - runs in the child before exec
    """Let the child take SIGINT as a terminal's Ctrl-C reaches it, whatever the test runner's own disposition.

    A test suite started as a background job (``pytest &`` in a non-interactive shell) inherits
    SIGINT ignored; so would the command under test, and Python installs no KeyboardInterrupt
    handler for a signal ignored at its start: the interrupt tests would then see the command
    finish (exit 0) instead of being interrupted (130).
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _signal_when(cmd: list[str], ready, sig: int, delay: float = 0.0, group: bool = False) -> tuple[int | None, str]:
    """Start ``cmd``, wait until ``ready()`` (or its end), wait ``delay`` s more and send ``sig``.

    With ``group`` the command starts a session and the signal goes to its whole process group.
    Returns the exit code and standard error; the process never outlives the call.
    """
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=group, preexec_fn=_default_sigint)
    try:
        deadline = time.monotonic() + 300
        while not ready() and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(delay)
        if group and proc.poll() is None:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_terminated_run_leaves_no_hidden_partial_folder(tmp_path, sig, code):
    out = tmp_path / "out"
    flag = tmp_path / "flag"
    returncode, err = _signal_when([sys.executable, "-c", _SLOW_WRITER, str(flag), "run", "--until", "1980",
                                    "--no-plots", "--out", str(out)], flag.exists, sig)
    assert returncode == code and "Traceback" not in err, err
    assert list(out.iterdir()) == []  # neither OUT/default nor .default.partial-*


#: Linux capabilities that let root write into, search and chmod folders it may not otherwise:
#: CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER (linux/capability.h).
_ROOT_OVERRIDES = (1, 2, 3)
_PR_CAPBSET_DROP = 24


def _without_root_overrides() -> None:  # pragma: no cover - runs in the child before exec
    """As root, drop the capabilities that ignore file permissions, so a 0555 folder is read-only.

    The child keeps uid 0 (it can still read the project and the interpreter under /root), but
    from exec on, root's permitted capabilities are bounded without them: the kernel then denies
    writes into a folder whose mode gives its owner no write permission, and ``os.access`` says so.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in _ROOT_OVERRIDES:
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            os._exit(97)


_READ_ONLY_DRIVER = textwrap.dedent("""
    import json, os, sys
    from click.testing import CliRunner
    from cli import main
    out = []
    for args in json.loads(sys.argv[1]):
        res = CliRunner().invoke(main, args)
        crash = res.exception is not None and not isinstance(res.exception, SystemExit)
        out.append({"code": res.exit_code, "output": res.output, "crash": repr(res.exception) if crash else None})
    print(json.dumps({"results": out, "can_write": os.access(sys.argv[2], os.W_OK)}))
""")


def test_read_only_output_folders_are_refused_without_leftovers(tmp_path):
    """Issue 10: an unwritable output folder gave a traceback (run, ensemble); a read-only result folder
    left .NAME.old-*. As root (who may write anywhere) the commands run in a child without root's
    permission overrides; otherwise chmod alone makes the folders read-only."""
    out = tmp_path / "out"
    assert cli(["run", "--until", "1980", "--no-plots", "--out", out]).exit_code == 0
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(out / "default", 0o555)
    os.chmod(locked, 0o555)
    cases = [  # (arguments, what the one line must say)
        (["run", "--until", "1980", "--no-plots", "--out", str(out), "--force"],
         f"{out / 'default'}: cannot be replaced ({out / 'default'} is read-only)"),
        (["run", "--until", "1980", "--no-plots", "--out", str(out)],
         f"{out / 'default'}: cannot be replaced ({out / 'default'} is read-only)"),
        (["run", "--until", "1980", "--no-plots", "--out", str(locked)], f"({locked} is not a writable folder)"),
        (_args("ensemble", locked / "ens"), f"({locked} is not a writable folder)"),
        (_args("compare", locked / "cmp"), f"({locked} is not a writable folder)"),
    ]
    before = snapshot(tmp_path)
    try:
        done = subprocess.run([sys.executable, "-c", _READ_ONLY_DRIVER, json.dumps([a for a, _ in cases]),
                               str(locked)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                              preexec_fn=_without_root_overrides if os.geteuid() == 0 else None)
    finally:
        os.chmod(out / "default", 0o755)
        os.chmod(locked, 0o755)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["can_write"] is False  # the child really could not write there
    for (args, message), res in zip(cases, report["results"]):
        assert res["crash"] is None, (args, res)
        assert res["code"] == 2 and res["output"].startswith("error: ") and res["output"].count("\n") == 1, (args, res)
        assert message in res["output"], (args, res["output"])
    assert snapshot(tmp_path) == before  # nothing written, nothing left behind (no .default.old-*/.partial-*)


def test_atomic_dir_replaces_a_file_or_link_without_leftovers(tmp_path):
    for name, make in (("f", lambda p: p.write_text("x")), ("l", lambda p: os.symlink(tmp_path / "nowhere", p))):
        make(tmp_path / name)
        with atomic_dir(tmp_path / name, "run", force=True) as tmp:
            (tmp / "a.txt").write_text("a")
        assert (tmp_path / name / "a.txt").read_text() == "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f", "l"]


# ---------------------------------------------------------------- store integrity


@pytest.fixture()
def small_store(tmp_path):
    sets = pd.DataFrame({"Capital Elasticity": np.linspace(0.35, 0.45, 6)})
    store = tmp_path / "store"
    ds = run_ensemble(Scenario(final_time=1985), sets, ["National GDP"], store=store, workers=1, chunk_size=2,
                      progress=False)
    return sets, store, ds


def _again(sets, store):
    return run_ensemble(Scenario(final_time=1985), sets, ["National GDP"], store=store, workers=1, chunk_size=2,
                        progress=False)


def test_intact_store_resumes_to_identical_results(small_store):
    sets, store, ds = small_store
    xr.testing.assert_identical(_again(sets, store), ds)


def test_edited_chunk_is_refused(small_store):
    sets, store, _ = small_store
    chunk = store / "chunk-000001.nc"
    with xr.load_dataset(chunk) as d:
        d["National GDP"][0, -1] = 1.0  # a plausible-looking edit, written back as valid NetCDF
        d.to_netcdf(chunk)
    with pytest.raises(SDModelError, match="chunk-000001.nc: chunk fails its integrity check"):
        _again(sets, store)


def test_chunk_copied_over_another_is_refused(small_store):
    sets, store, _ = small_store
    shutil.copy(store / "chunk-000000.nc", store / "chunk-000002.nc")
    shutil.copy(store / "chunk-000000.sha256", store / "chunk-000002.sha256")
    with pytest.raises(SDModelError, match="chunk-000002.nc: chunk fails its integrity check"):
        _again(sets, store)


def test_chunk_without_its_record_is_run_again(small_store):
    """A kill between the chunk and its record: the chunk is run again, not trusted, not refused."""
    sets, store, ds = small_store
    (store / "chunk-000001.sha256").unlink()
    xr.testing.assert_identical(_again(sets, store), ds)


def test_calibration_stage_with_an_edited_payoff_is_refused(tmp_path):
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    store = EvaluationStore(folder, "key", n=2, m=3)
    store.finish_stage("start-0", {"payoff": 10.0, "x": [1.0, 2.0]})
    store.finish_stage("start-1", {"payoff": 12.0, "x": [1.5, 2.5]})
    assert EvaluationStore(folder, "key", n=2, m=3, resume=True).stage("start-1")["payoff"] == 12.0
    record = json.loads((folder / "stages.json").read_text())
    record["stages"]["start-1"]["payoff"] = 1.0  # would now be picked as the best start
    (folder / "stages.json").write_text(json.dumps(record))
    with pytest.raises(CalibrationError, match="stages.json: fails its integrity check"):
        EvaluationStore(folder, "key", n=2, m=3, resume=True)


def test_calibration_evaluations_edited_on_disk_are_refused(tmp_path):
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    store = EvaluationStore(folder, "key", n=2, m=3)
    store.add(np.array([[1.0, 2.0]]), np.array([[0.1, 0.2, 0.3]]), full=True)
    raw = bytearray((folder / "full.bin").read_bytes())
    raw[-1] ^= 0x01
    (folder / "full.bin").write_bytes(bytes(raw))
    with pytest.raises(CalibrationError, match="full.bin: fails its integrity check"):
        EvaluationStore(folder, "key", n=2, m=3, resume=True)


@pytest.mark.parametrize("name, text", [("meta.json", "[1, 2]"), ("stages.json", "[]"), ("meta.json", "{"),
                                        ("full.bin.sha256", "x y z")])
def test_calibration_checkpoint_files_of_the_wrong_shape_are_refused(tmp_path, name, text):
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    store = EvaluationStore(folder, "key", n=2, m=3)
    store.add(np.array([[1.0, 2.0]]), np.array([[0.1, 0.2, 0.3]]), full=True)
    store.finish_stage("s", {"payoff": 1.0})
    store.add(np.array([[1.0, 2.0]]), np.array([[0.1, 0.2, 0.3]]), full=True)
    (folder / name).write_text(text)
    with pytest.raises(CalibrationError, match=name.replace(".", r"\.")):
        EvaluationStore(folder, "key", n=2, m=3, resume=True)


# ---------------------------------------------------------------- kill and resume


_CALIBRATION = textwrap.dedent('''
    import sys
    from pathlib import Path
    import numpy as np, xarray as xr
    from sd_model.calibration import calibrate
    config, obs, out, resume = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
    from sd_model.interrupts import interruption
    try:
        calibrate(config, observations=xr.load_dataset(obs), out=out, resume=resume, workers=1)
    except BaseException as exc:  # as the command line does (SDGroup)
        if interruption(exc) is None:
            raise
        sys.exit(130)
''')

_CAL_CONFIG = """\
name = "synthetic"
[span]
start = 1978
end = 1992
[optimizer]
starts = 2
max_nfev = 40
seed = 5
[parameters]
"Capital Elasticity" = { lower = 0.3, upper = 0.6, start = 0.35 }
"Base Migration Rate" = { lower = 0.0, upper = 0.03, start = 0.005 }
[[series]]
name = "GDP"
model = "GDP"
data = "gdp"
transform = "log"
normalise = "error"
error = 0.01
"""


@pytest.fixture(scope="module")
def calibration_inputs(tmp_path_factory, cache_dir):
    from sd_model.engines.simlin_engine import SimlinEngine
    from sd_model.run import DEFAULT_MODEL

    folder = tmp_path_factory.mktemp("cal")
    ds = SimlinEngine(DEFAULT_MODEL).run({"Capital Elasticity": 0.44, "Base Migration Rate": 0.01},
                                         final_time=1992, outputs=["GDP"])
    noise = np.exp(0.01 * np.random.default_rng(1).standard_normal(ds["GDP"].shape))
    obs = xr.Dataset({"gdp": (("year", "region"), ds["GDP"].values * noise)},
                     coords={"year": ds["time"].values.astype(int), "region": ["East", "Central", "West", "Northeast"]})
    obs.to_netcdf(folder / "obs.nc")
    (folder / "cal.toml").write_text(_CAL_CONFIG)
    ref = folder / "reference"
    # The reference run is timed from its first checkpoint to its end, so that the tests below can
    # send their signal at a random point *inside* that window (a fixed window of 1.5 s let a fast
    # machine finish first, and the test skipped instead of testing the resume).
    proc = subprocess.Popen([sys.executable, "-c", _CALIBRATION, folder / "cal.toml", folder / "obs.nc", ref, "0"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first_checkpoint = None
    deadline = time.monotonic() + 600
    while proc.poll() is None:
        assert time.monotonic() < deadline, "the reference calibration did not finish in 600 s"
        if first_checkpoint is None and (ref / "checkpoint" / "full.bin.sha256").exists():
            first_checkpoint = time.monotonic()
        time.sleep(0.01)
    ended = time.monotonic()
    _, err = proc.communicate()
    assert proc.returncode == 0, err[-2000:]
    assert first_checkpoint is not None, "the reference calibration wrote no checkpoint"
    return folder, ref, ended - first_checkpoint


def _interrupt_calibration(cmd: list[str], out: Path, sig: int, rng: random.Random, window: float,
                           group: bool = False) -> tuple[int | None, str]:
    """Start the calibration ``cmd`` (writing ``out``) and send ``sig`` at a random point after its first checkpoint.

    The delay is drawn within the first 60% of ``window``, the reference run's time from its first
    checkpoint to its end (the margin covers a run that meets a less loaded machine). Should the run
    still finish first, it is started again with the signal sent as soon as its first checkpoint exists,
    so that the resume is tested on every machine rather than skipped. Returns the exit code and
    standard error of the interrupted run.
    """
    for delay in (rng.uniform(0.0, 0.6 * window), 0.0):
        returncode, err = _signal_when([*cmd, "0"], (out / "checkpoint" / "full.bin.sha256").exists, sig, delay,
                                       group=group)
        if returncode != 0:
            return returncode, err
        shutil.rmtree(out)  # the test's own temporary folder: a finished run, started again
    raise AssertionError(f"the calibration finished before the signal twice (window {window:.2f} s)")


@pytest.mark.parametrize("sig", [signal.SIGKILL])  # SIGINT: test_calibrate_ctrl_c_..., below
def test_calibration_killed_at_a_random_point_resumes_byte_identical(tmp_path, calibration_inputs, sig):
    folder, ref, window = calibration_inputs
    rng = random.Random(os.environ.get("KILL_SEED", f"calibration-{int(sig)}"))
    out = tmp_path / "killed"
    cmd = [sys.executable, "-c", _CALIBRATION, str(folder / "cal.toml"), str(folder / "obs.nc"), str(out)]
    returncode, err = _interrupt_calibration(cmd, out, sig, rng, window)
    assert "Traceback" not in err, err
    assert returncode == -sig
    res = subprocess.run([*cmd, "1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    for name in ("calibrated.toml", "parameters.csv", "starts.csv", "fit_statistics.csv", "correlation.csv"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name


def test_calibrate_ctrl_c_prints_no_worker_traceback_and_resumes_byte_identical(tmp_path, calibration_inputs):
    folder, ref, window = calibration_inputs
    code = _CALIBRATION.replace("workers=1", "workers=2")
    out = tmp_path / "c"
    cmd = [sys.executable, "-c", code, str(folder / "cal.toml"), str(folder / "obs.nc"), str(out)]
    # as a terminal's Ctrl-C: to the whole process group
    returncode, err = _interrupt_calibration(cmd, out, signal.SIGINT, random.Random("ctrl-c"), window, group=True)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert returncode == 130
    res = subprocess.run([*cmd, "1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    for name in ("calibrated.toml", "parameters.csv", "starts.csv", "fit_statistics.csv", "correlation.csv"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name


_CLI = "from cli import main; main()"
_BASE_SCENARIO = """\
name = "base"
role = "baseline"
description = "The shipped model without the balanced programmes (they start after 1985)."
[params]
"Balanced Programme Intensity" = 0
"""
_OPEN_SCENARIO = """\
name = "open"
description = "Market integration from 1980."
inherits = "base.toml"
[levers."Market Integration"]
start = 1980
intensity = 1
"""
#: Commands that keep finished ensemble chunks in a sealed store and continue from it: cheap settings
#: (batch engine, one worker, to 1985), their number of chunks, the store's chunks, and the resume flag.
#: ensemble keeps its store in OUT/chunks (continued with --resume); compare and sensitivity beside
#: OUT, in .OUT.store (reused when the same command runs again).
_STORE_COMMANDS = {
    "ensemble": (["ensemble", "--samples", "2400", "--ranges", str(RANGES), "--seed", "4", "--until", "1985",
                  "--workers", "1", "--no-progress", "--format", "parquet"], 3, "killed/chunks/chunk-*.sha256",
                 ["--resume"]),
    "compare": (["compare", "{dir}/base.toml", "{dir}/open.toml", "--samples", "1200", "--until", "1985",
                 "--ranges", str(RANGES), "--seed", "3", "--workers", "1", "-q"], 4,  # 2 scenarios x 2 chunks
                ".killed.store/*/chunk-*.sha256", []),
    "sensitivity": (["sensitivity", "--samples", "80", "--outcomes", "National GDP@1985", "--scenario",
                     "{dir}/base.toml", "--ranges", str(RANGES), "--seed", "3", "--workers", "1", "-q"], 3,
                    ".killed.store/*/chunk-*.sha256", []),
}


@pytest.mark.parametrize("command", sorted(_STORE_COMMANDS))
def test_long_commands_killed_at_random_points_resume_byte_identical(tmp_path, command):
    """ensemble, compare, sensitivity: Ctrl-C, then SIGKILL, each after a seeded random number of sealed
    chunks plus a random fraction of a second (KILL_SEED=... tries other points); a tampered chunk is
    then refused, changing nothing; the restored store finishes to files byte-identical to an
    uninterrupted run's, and nothing of the store is left."""
    rng = random.Random(os.environ.get("KILL_SEED", f"{command}-kill"))
    (tmp_path / "base.toml").write_text(_BASE_SCENARIO)
    (tmp_path / "open.toml").write_text(_OPEN_SCENARIO)
    template, chunks, pattern, again = _STORE_COMMANDS[command]
    args = [a.format(dir=tmp_path) for a in template]
    out, fresh = tmp_path / "killed", tmp_path / "fresh"
    cmd = [sys.executable, "-c", _CLI, *args, "--out", str(out)]

    def sealed() -> int:
        return len(list(tmp_path.glob(pattern)))

    def finished() -> bool:
        return (out / "manifest.json").is_file()

    first = rng.randint(1, chunks - 1)
    code, err = _signal_when(cmd, lambda: sealed() >= first, signal.SIGINT, rng.uniform(0.0, 0.3))
    assert code == 130 and "Traceback" not in err and "KeyboardInterrupt" not in err, (code, err[-2000:])
    assert not finished() and sealed() >= first
    done = sealed()
    then = rng.randint(min(done + 1, chunks), chunks)  # at least one more chunk (or in the final writing)
    code, err = _signal_when([*cmd, *again], lambda: sealed() >= then, signal.SIGKILL, rng.uniform(0.0, 0.3))
    assert code == -signal.SIGKILL and "Traceback" not in err, (code, err[-2000:])
    assert not finished()
    # a tampered chunk is refused, and refusing changes nothing
    victim = rng.choice(sorted(p.with_suffix(".nc") for p in tmp_path.glob(pattern)))
    original = victim.read_bytes()
    at = rng.randrange(len(original))
    victim.write_bytes(original[:at] + bytes([original[at] ^ 0x01]) + original[at + 1:])
    before = snapshot(tmp_path)
    res = subprocess.run([*cmd, *again], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "fails its integrity check" in res.stderr and "Traceback" not in res.stderr
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr
    assert snapshot(tmp_path) == before
    victim.write_bytes(original)
    res = subprocess.run([*cmd, *again], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert cli([*args, "--out", fresh]).exit_code == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file())
    for name in files:
        if name != "manifest.json":  # it records when and where
            assert (out / name).read_bytes() == (fresh / name).read_bytes(), name
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no store left beside OUT
    assert not (out / "chunks").exists()


def test_an_interrupt_wrapped_in_another_error_is_an_interrupt():
    """Found by the random Ctrl-C of calibrate: SIGINT while matplotlib was being imported to write the plots
    surfaced as RuntimeError('Error calling __set_name__ ...') raised from the KeyboardInterrupt: a traceback."""
    import click

    from sd_model.commands.options import SDGroup

    @click.command("wrapped")
    def wrapped():
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise RuntimeError("Error calling __set_name__") from exc

    @click.command("other")
    def other():
        raise RuntimeError("a bug")

    group = SDGroup(commands=[wrapped, other])
    res = CliRunner().invoke(group, ["wrapped"])
    assert res.exit_code == 130 and "interrupted: finished work was kept" in res.output, res.output
    res = CliRunner().invoke(group, ["other"])
    assert isinstance(res.exception, RuntimeError)  # a real error is not taken for an interrupt


def test_resume_sweeps_what_a_killed_writer_left(tmp_path):
    """Found by the random kills: a kill while calibrate wrote plots/ left .plots.partial-<pid>-*, and
    --resume then refused the folder as not the tool's."""
    from sd_model.calibration.store import prepare_output

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    out = tmp_path / "cal"
    (out / "checkpoint").mkdir(parents=True)
    (out / "checkpoint" / "meta.json").write_text("{}")
    (out / f".plots.partial-{dead}-abc").mkdir()
    (out / ".parameters.csv.a1b2c3d4.tmp").write_text("half")
    prepare_output(out, resume=True, force=False)
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint"]
    (out / "notes.txt").write_text("mine")
    with pytest.raises(CalibrationError, match="notes.txt, which sd-model calibrate did not write"):
        prepare_output(out, resume=True, force=False)


# ---------------------------------------------------------------- the issue's cases, one by one


def _files(tmp: Path, chain: bool = False) -> dict[str, Path]:
    """Hostile input files of the issue, written into ``tmp``."""
    files = {}
    for name, text in {
        "bom": "\ufeffname = \"bom\"\n",
        "lever_typo": '[levers."Aids"]\nintensity = 1\n',
        "lever_backwards": '[levers."East First"]\nstart = 2010\nend = 2000\n',
        "huge_population": '[params]\n"Initial Population" = 1e308\n',
        "huge_description": 'description = "' + "x" * 50_000 + '"\n',
        "far_future": "[time]\nfinal_time = 1e9\n",
    }.items():
        files[name] = tmp / f"{name}.toml"
        files[name].write_text(text, encoding="utf-8")
    files["chain"] = tmp / "chain" / "c1200.toml"
    if chain:
        (tmp / "chain").mkdir()
        for i in range(1201):
            (tmp / "chain" / f"c{i}.toml").write_text(f'inherits = "c{i - 1}.toml"\n' if i else "")
    files["dangling"] = tmp / "dangling.toml"
    os.symlink(tmp / "missing-target.toml", files["dangling"])
    return files


ISSUE_CASES = [  # (command line with {name} for the files above, fragment of the one-line error)
    (["run", "-s", "{lever_typo}"], "unknown lever 'Aids'; did you mean 'Aid'?"),
    (["run", "-s", "{lever_backwards}"], "lever 'East First' starts in 2010 but ends in 2000"),
    (["run", "-s", "{huge_population}"], "Initial Population[East] = 1e+308 is outside the range"),
    (["run", "-s", "{huge_description}"], "description has 50,000 characters; at most 10,000"),
    (["run", "-s", "{chain}"], "inheritance chain longer than 50 files"),
    (["run", "-s", "{dangling}"], "dangling.toml: scenario file not found (a symbolic link to"),
    (["run", "--until", "1e9"], "TB of memory, more than the"),
    (["run", "-s", "{far_future}"], "a run from 1978 to 1e+09 needs about"),
    (["ensemble", "-n", "3", "--ranges", str(RANGES), "--until", "1e9"], "TB of memory, more than the"),
    (["ensemble", "-n", "1000000000000", "--ranges", str(RANGES)], "1,000,000,000,000 parameter sets"),
    (["sensitivity", "--samples", "1000000000000"], "runs needs about"),
    (["compare", "historical", "--samples", "1000000000000"], "1,000,000,000,000 parameter sets"),
    (["info", "--model", "/dev/zero"], "/dev/zero: not a regular file"),
    (["ensemble", "-n", "3", "--ranges", str(RANGES), "--model", "/dev/zero"], "/dev/zero: not a regular file"),
    (["check", "--only", "bogus"], "valid names are listed by 'sd-model check --list'"),
    (["calibrate", "--until", "3000", "--method", "none"], "--until 3000 is outside the span 1978-2015"),
]


@pytest.mark.parametrize("args, message", ISSUE_CASES, ids=[" ".join(a)[:40] for a, _ in ISSUE_CASES])
def test_issue_cases_end_in_one_clear_line(tmp_path, args, message):
    files = _files(tmp_path, chain="{chain}" in args)
    args = [a.format(**files) for a in args] + ["--out", str(tmp_path / "out")] * (args[0] not in ("info", "check"))
    res = cli(args)
    assert res.exit_code == 2 and message in res.output, res.output
    assert res.output.startswith("error: ") and res.output.count("\n") == 1, res.output
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def recorded_run(tmp_path_factory) -> dict:
    """The manifest of a real ``sd-model run`` (to 1980)."""
    out = tmp_path_factory.mktemp("recorded")
    assert cli(["run", "--until", "1980", "--no-plots", "--out", out]).exit_code == 0
    return json.loads((out / "default" / "manifest.json").read_text())


def _set(*path_value):
    *path, value = path_value

    def edit(m):
        for key in path[:-1]:
            m = m[key]
        m[path[-1]] = value
    return edit


def _drop(*path):
    def edit(m):
        for key in path[:-1]:
            m = m[key]
        del m[path[-1]]
    return edit


TAMPERED_MANIFESTS = {  # the issue's ten kinds (each gave a traceback), and a final year of 1e9
    "final_time missing": (_drop("time", "final_time"), "time.final_time"),
    "final_time null": (_set("time", "final_time", None), "time.final_time must be a number (years), got null"),
    "model a string": (_set("model", "regional_finance_economy.mdl"), "model must be an object"),
    "manifest a number": (lambda m: 42, "not a run manifest (a JSON int, not an object)"),
    "format bogus": (_set("format", "xlsx"), "recorded format 'xlsx' is not one of csv, parquet, netcdf"),
    "parameter not a number": (_set("parameters", "Capital Elasticity", "high"),
                               'parameters["Capital Elasticity"] must be a number'),
    "time_step not a number": (_set("time", "time_step", "fast"), "time.time_step must be a number"),
    "parameters a list": (_set("parameters", [1, 2]), "parameters must be an object, got [1, 2]"),
    "scenario a string": (_set("scenario", "balanced"), 'scenario must be an object, got "balanced"'),
    "time a number": (_set("time", 2000), "time must be an object, got 2000"),
    "final_time 1e9": (lambda m: (_set("time", "final_time", 1e9)(m), _set("scenario", "time", "final_time", 1e9)(m)),
                       "a run from 1978 to 1e+09 needs about"),
}


@pytest.mark.parametrize("kind", sorted(TAMPERED_MANIFESTS))
def test_rerun_of_a_tampered_manifest_ends_in_one_clear_line(tmp_path, recorded_run, kind):
    edit, message = TAMPERED_MANIFESTS[kind]
    manifest = json.loads(json.dumps(recorded_run))
    replaced = edit(manifest)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(replaced if isinstance(replaced, int) else manifest))
    res = cli(["rerun", path, "--no-plots", "--out", tmp_path / "again"])
    assert res.exit_code == 2 and message in res.output, res.output
    assert res.output.startswith("error: ") and res.output.count("\n") == 1, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


@pytest.mark.parametrize("text", ["[1, 2]", "{broken", "42"])
def test_ensemble_resume_with_a_broken_manifest_ends_in_one_clear_line(tmp_path, text):
    out = tmp_path / "ens"
    assert cli(_args("ensemble", out)).exit_code == 0
    (out / "manifest.json").write_text(text)
    before = snapshot(tmp_path)
    res = cli([*_args("ensemble", out), "--resume"])
    assert res.exit_code == 2 and "manifest.json" in res.output and "refusing to write into it" in res.output
    assert res.output.startswith("error: ") and res.output.count("\n") == 1, res.output
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("digits", [300, 400])
def test_a_bound_of_hundreds_of_digits_in_a_calibration_file_is_a_clear_error(tmp_path, digits):
    text = (EXPERIMENTS / "calibration" / "default.toml").read_text(encoding="utf-8")
    old = '"Capital Elasticity" = { lower = 0.3, upper = 0.7 }'
    assert old in text
    text = text.replace(old, '"Capital Elasticity" = { lower = 0.3, upper = ' + "9" * digits + " }")
    text = text.replace('"../historical.toml"', f'"{(EXPERIMENTS / "historical.toml").as_posix()}"')
    path = tmp_path / "cal.toml"
    path.write_text(text, encoding="utf-8")
    line = text[:text.index("9" * digits)].count("\n") + 1
    res = cli(["calibrate", "--config", path, "--method", "none", "-q", "--workers", "1", "--out", tmp_path / "out"])
    assert res.exit_code == 2 and f"cal.toml:{line}: parameter 'Capital Elasticity'" in res.output, res.output
    assert res.output.startswith("error: ") and res.output.count("\n") == 1, res.output
    assert not (tmp_path / "out").exists()


def test_a_run_with_non_finite_results_fails_naming_the_variable_and_year(tmp_path):
    """Issue 10: a model with a division by zero wrote NaN results and exited 0."""
    mdl = tmp_path / "div0.mdl"
    mdl.write_text("Stock = INTEG(Inflow, 1)\n\t~\tthings\n\t~\ta stock\n\t|\n"
                   "Inflow = IF THEN ELSE(Time >= 3, Stock / Divisor, 0)\n\t~\tthings/Year\n\t~\tdivides by zero\n"
                   "\t|\nDivisor = 0\n\t~\tYear [0, 1]\n\t~\tzero\n\t|\n"
                   "INITIAL TIME = 0\n\t~\tYear\n\t~\tstart\n\t|\nFINAL TIME = 10\n\t~\tYear\n\t~\tend\n\t|\n"
                   "TIME STEP = 0.25\n\t~\tYear [0,?]\n\t~\tstep\n\t|\nSAVEPER = 1\n\t~\tYear [0,?]\n\t~\tsave\n\t|\n")
    res = cli(["run", "--model", mdl, "--no-plots", "--out", tmp_path / "out"])
    assert res.exit_code == 2 and "NaN or infinite values, first 'Inflow' in 3" in res.output, res.output
    assert res.output.startswith("error: ") and res.output.count("\n") == 1, res.output
    assert not (tmp_path / "out").exists()


def test_scenario_name_of_the_wrong_type_is_named_as_such():
    """Scenario(name=5) said "scenario name 5 is empty"."""
    with pytest.raises(SDModelError, match="scenario name must be a string such as 'balanced', got int 5"):
        Scenario(name=5)


def test_a_utf8_bom_is_accepted(tmp_path):
    files = _files(tmp_path)
    res = cli(["run", "-s", files["bom"], "--until", "1980", "--no-plots", "--out", tmp_path / "out"])
    assert res.exit_code == 0 and (tmp_path / "out" / "bom" / "results.csv").is_file(), res.output


def test_a_model_without_the_default_outputs_runs(tmp_path):
    """A different valid model: 'run' summarised National GDP and failed with KeyError after writing."""
    mdl = tmp_path / "tiny.mdl"
    mdl.write_text("Stock = INTEG(Inflow, 1)\n\t~\tthings\n\t~\ta stock\n\t|\n"
                   "Inflow = Rate * Stock\n\t~\tthings/Year\n\t~\tgrowth\n\t|\n"
                   "Rate = 0.1\n\t~\t1/Year [0, 1]\n\t~\tgrowth rate\n\t|\n"
                   "INITIAL TIME = 0\n\t~\tYear\n\t~\tstart\n\t|\nFINAL TIME = 10\n\t~\tYear\n\t~\tend\n\t|\n"
                   "TIME STEP = 0.25\n\t~\tYear [0,?]\n\t~\tstep\n\t|\nSAVEPER = 1\n\t~\tYear [0,?]\n\t~\tsave\n\t|\n")
    res = cli(["run", "--model", mdl, "--out", tmp_path / "out"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "default" / "results.csv").is_file()


API_CALLS = {
    "load_scenario(123)": lambda: importlib.import_module("sd_model.scenario").load_scenario(123),
    "Scenario(final_time='2000')": lambda: Scenario(final_time="2000"),
    "Scenario(name=5)": lambda: Scenario(name=5),
    "Scenario(params=[1])": lambda: Scenario(params=[1]),
    "Scenario(params={'a': 'x'})": lambda: Scenario(params={"a": "x"}),
    "Scenario(time_step=True)": lambda: Scenario(time_step=True),
    "Scenario().with_params(5)": lambda: Scenario().with_params(5),
    "run_ensemble(chunk_size=0)": lambda: run_ensemble(Scenario(), pd.DataFrame({"Capital Elasticity": [0.4]}),
                                                        ["National GDP"], chunk_size=0),
    "run_ensemble('historical', ...)": lambda: run_ensemble("historical", pd.DataFrame({"Capital Elasticity": [0.4]}),
                                                             ["National GDP"]),
    "run_ensemble(outputs='National GDP')": lambda: run_ensemble(Scenario(), pd.DataFrame({"Capital Elasticity": [0.4]}),
                                                                  "National GDP"),
    "run_ensemble(workers=0)": lambda: run_ensemble(Scenario(), pd.DataFrame({"Capital Elasticity": [0.4]}),
                                                     ["National GDP"], workers=0),
    "run_ensemble(until='2000')": lambda: run_ensemble(Scenario(), pd.DataFrame({"Capital Elasticity": [0.4]}),
                                                        ["National GDP"], until="2000"),
    "run_ensemble(parameter_sets=[1])": lambda: run_ensemble(Scenario(), [1], ["National GDP"]),
    "run_ensemble(index [1, '1'])": lambda: run_ensemble(Scenario(final_time=1980),
                                                          pd.DataFrame({"Capital Elasticity": [0.4, 0.41]}, index=[1, "1"]),
                                                          ["National GDP"], workers=1, progress=False),
    "run_scenario('x', engine)": lambda: importlib.import_module("sd_model.run").run_scenario("x", None),
    "load_engine('simlin', 5)": lambda: importlib.import_module("sd_model.run").load_engine("simlin", 5),
    "validate('x', info)": lambda: importlib.import_module("sd_model.scenario").validate("x", None),
    "read_model_info(None)": lambda: read_model_info_(None),
    "load_ranges(5)": lambda: importlib.import_module("sd_model.sampling").load_ranges(5),
    "sample_parameters([1], 10, 1)": lambda: importlib.import_module("sd_model.sampling").sample_parameters([1], 10, 1),
    "load_config(5)": lambda: importlib.import_module("sd_model.calibration").load_config(5),
}


def read_model_info_(path):
    from sd_model.mdl import read_model_info

    return read_model_info(path)


@pytest.mark.parametrize("call", sorted(API_CALLS))
def test_python_api_raises_the_projects_errors_for_wrong_types(call):
    with pytest.raises(SDModelError) as info:
        API_CALLS[call]()
    assert str(info.value) and "\n" not in str(info.value)


def test_a_damaged_cached_pysd_translation_is_translated_again(pysd_engine):
    """A truncated cached model.py raised SyntaxError; the cache is now verified by SHA-256 before use."""
    from sd_model.engines.pysd_engine import PysdEngine

    cached = pysd_engine.py_path
    original = cached.read_bytes()
    record = json.loads((cached.parent / "translation.json").read_text())
    assert record["model_sha256"] == pysd_engine.info.sha256 and "model.py" in record["files"]
    cached.write_bytes(original[: len(original) // 2])
    again = PysdEngine(pysd_engine.mdl_path)
    assert again.py_path.read_bytes() == original
