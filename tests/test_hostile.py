"""Property-based hostile inputs (issue 10): manifests, checkpoint and store files, CLI options.

Complements tests/test_robustness.py (scenario, ranges, calibration and data files). Every
generated input must end in the project's own error (exit 2 on the command line) or in a
correct result -- never a traceback, and never wrong data accepted from a damaged store:
when a mutated checkpoint or chunk still loads, every value it yields equals what was written.
"""
from __future__ import annotations

import copy
import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import main
from sd_model.calibration import CalibrationError
from sd_model.calibration.store import EvaluationStore
from sd_model.ensemble import run_ensemble
from sd_model.errors import SDModelError
from sd_model.manifest import build_manifest, load_manifest, scenario_from_manifest
from sd_model.mdl import read_model_info
from sd_model.run import DEFAULT_MODEL
from sd_model.scenario import Scenario, load_scenario, validate

ROOT = Path(__file__).resolve().parent.parent
INFO = read_model_info(DEFAULT_MODEL)
RANGES = ROOT / "experiments" / "ranges" / "default.toml"

#: Examples per test; together at least 500 (checked below).
EXAMPLES = {"manifest": 200, "checkpoint": 150, "chunk_store": 100, "cli_options": 80}


def ci(n: int) -> settings:
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


def test_at_least_500_generated_inputs():
    assert sum(EXAMPLES.values()) >= 500


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                      st.text(max_size=12))
json_value = st.recursive(json_leaf, lambda c: st.one_of(st.lists(c, max_size=3),
                                                          st.dictionaries(st.text(max_size=8), c, max_size=3)),
                          max_leaves=8)


# ---------------------------------------------------------------- manifests


BASE_MANIFEST = build_manifest(INFO, validate(load_scenario(ROOT / "experiments" / "balanced.toml"), INFO),
                               "simlin", extra={"format": "csv"})


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    return out


@st.composite
def mutated_manifests(draw):
    m = copy.deepcopy(BASE_MANIFEST)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(m) if p]
        if not paths or draw(st.integers(0, 15)) == 0:
            return draw(json_value)  # not an object at all, sometimes
        path = draw(st.sampled_from(paths))
        parent = m
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_value)
    return m


@ci(EXAMPLES["manifest"])
@given(manifest=mutated_manifests())
def test_tampered_manifests_fail_clearly_or_repeat_a_valid_run(tmp_path_factory, manifest):
    folder = tmp_path_factory.mktemp("m")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    try:
        loaded = load_manifest(folder)
        sc = validate(scenario_from_manifest(loaded, INFO, allow_model_change=True), INFO)
    except SDModelError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(sc, Scenario) and math.isfinite(sc.final_time) and math.isfinite(sc.time_step)


# ---------------------------------------------------------------- calibration checkpoints


N, M = 2, 3
X1, R1 = np.array([[0.1, 0.2], [0.3, 0.4]]), np.arange(6.0).reshape(2, 3)
X2, F2 = np.array([[0.5, 0.6]]), np.array([7.5])
STAGE = {"start-0": {"payoff": 3.25, "x": [0.1, 0.2]}}
FILES = ["meta.json", "stages.json", "full.bin", "payoff.bin", "full.bin.sha256", "payoff.bin.sha256"]


def _checkpoint(folder: Path) -> None:
    store = EvaluationStore(folder, "key", N, M)
    store.add(np.array([[9.0, 9.0]]), np.array([[1.0, 1.0, 1.0]]), full=True)
    store.finish_stage("start-0", STAGE["start-0"])
    store.add(X1, R1, full=True)
    store.add(X2, F2, full=False)


def _numbers(obj: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(obj, bool):
        return []
    if isinstance(obj, (int, float)):
        return [path]
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else []
    return [p for k, v in items for p in _numbers(v, (*path, k))]


@st.composite
def damage(draw, raw: bytes) -> bytes:
    """A damaged copy of ``raw``: cut, bit-flipped, extended, replaced, or (JSON) one number edited."""
    try:
        doc = json.loads(raw)
        numbers = _numbers(doc)
    except ValueError:
        doc, numbers = None, []
    how = draw(st.sampled_from(["truncate", "flip", "append", "replace", "json"] + ["number"] * 3 * bool(numbers)))
    if how == "number":
        path = draw(st.sampled_from(numbers))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = draw(st.floats(allow_nan=False, allow_infinity=False).filter(lambda v: v != parent[path[-1]]))
        return json.dumps(doc).encode()
    if how == "truncate":
        return raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
    if how == "flip" and raw:
        i = draw(st.integers(0, len(raw) - 1))
        return raw[:i] + bytes([raw[i] ^ draw(st.integers(1, 255))]) + raw[i + 1:]
    if how == "append":
        return raw + draw(st.binary(min_size=1, max_size=40))
    if how == "json":
        return json.dumps(draw(json_value)).encode()
    return draw(st.binary(max_size=60))


@ci(EXAMPLES["checkpoint"])
@given(data=st.data(), name=st.sampled_from(FILES))
def test_damaged_checkpoints_are_refused_or_yield_only_what_was_written(data, name):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _checkpoint(folder)
        raw = (folder / name).read_bytes()
        changed = data.draw(damage(raw))
        (folder / name).write_bytes(changed)
        try:
            store = EvaluationStore(folder, "key", N, M, resume=True)
        except CalibrationError as exc:
            assert str(exc) and "\n" not in str(exc)
            return
        for x, r in zip(X1, R1):  # dropped (re-evaluated later) or exactly as written
            got = store.get(x, full=True)
            assert got is None or np.array_equal(got, r)
        got = store.get(X2[0], full=False)
        assert got is None or got == F2[0]
        assert store.stage("start-0") in (None, STAGE["start-0"])
        assert store.get(np.array([9.0, 9.0]), full=True) is None  # cleared by the finished stage


# ---------------------------------------------------------------- ensemble chunk stores


SETS = pd.DataFrame({"Capital Elasticity": np.linspace(0.35, 0.45, 4)})


@pytest.fixture(scope="module")
def store_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("store") / "s"
    ds = run_ensemble(Scenario(final_time=1982), SETS, ["National GDP"], store=folder, workers=1, chunk_size=2,
                      progress=False)
    return folder, ds


@ci(EXAMPLES["chunk_store"])
@given(data=st.data(), name=st.sampled_from(["store.json", "chunk-000000.nc", "chunk-000001.nc",
                                             "chunk-000000.sha256", "chunk-000001.sha256"]))
def test_damaged_chunk_stores_are_refused_or_resume_to_the_same_ensemble(store_template, data, name):
    template, expected = store_template
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "s"
        shutil.copytree(template, folder)
        (folder / name).write_bytes(data.draw(damage((folder / name).read_bytes())))
        try:
            ds = run_ensemble(Scenario(final_time=1982), SETS, ["National GDP"], store=folder, workers=1,
                              chunk_size=2, progress=False)
        except SDModelError as exc:
            assert str(exc)
            return
        xr.testing.assert_identical(ds, expected)


# ---------------------------------------------------------------- command-line options


hostile_text = st.one_of(st.text(max_size=20), st.sampled_from(
    ["", "-1", "0", "1e9", "1e308", "nan", "inf", "-inf", "1978", "1979.5", "2e3", "/dev/zero", "/", ".",
     "..", "bogus://x", "tcp://", "\x00", "National GDP", "National GDP@1e9", "Theil Index[East]@2050",
     "[", "1" * 300, "historical", "--help"]))
OPTIONS = {
    "run": ["--until", "--format", "--scenario", "--engine", "--model"],
    "ensemble": ["--samples", "--until", "--outputs", "--seed", "--method", "--engine", "--workers",
                 "--scheduler", "--format", "--ranges", "--scenario"],
    "sensitivity": ["--samples", "--outcomes", "--method", "--seed", "--scenario", "--ranges", "--workers"],
    "compare": ["--until", "--samples", "--seed", "--format", "--ranges", "--from-calibration"],
    "calibrate": ["--until", "--method", "--seed", "--starts", "--config", "--workers", "--uncertainty"],
    "check": ["--only", "--spec"],
    "info": ["--search", "--model"],
    "rerun": ["--format", "--engine", "--model"],
}


@ci(EXAMPLES["cli_options"])
@given(data=st.data(), command=st.sampled_from(sorted(OPTIONS)))
def test_hostile_command_line_options_end_in_a_clear_error(tmp_path_factory, data, command):
    out = tmp_path_factory.mktemp("cli")
    options = data.draw(st.lists(st.sampled_from(OPTIONS[command]), min_size=1, max_size=3, unique=True))
    args = [command]
    if command == "compare":
        args.append(data.draw(hostile_text.filter(lambda t: not t.startswith("-")) | st.just("historical")))
    if command == "rerun":
        args.append(data.draw(hostile_text.filter(lambda t: not t.startswith("-"))))
    for option in options:
        args += [option, data.draw(hostile_text)]
    if command in ("run", "ensemble", "sensitivity", "compare", "calibrate", "rerun"):
        args += ["--out", str(out / "o")]
    if command == "ensemble" and "--samples" not in options:
        args += ["--samples", "3"]
    if command == "ensemble" and "--ranges" not in options:
        args += ["--ranges", str(RANGES)]
    if command in ("run", "ensemble", "compare") and "--until" not in options:
        args += ["--until", "1980"]  # what runs stays short
    if command == "check":
        args += ["--only", "units.comments"]
    if command == "calibrate" and "--method" not in options:
        args += ["--method", "none", "--until", "1977"]  # refused before running: the options are the point
    if command == "sensitivity" and "--outcomes" not in options:
        args += ["--outcomes", "National GDP@1980"]
    res = CliRunner().invoke(main, args)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise AssertionError(f"traceback from {args}: {res.exception!r}") from res.exception
    assert res.exit_code in (0, 1, 2), (args, res.exit_code, res.output)
    if res.exit_code == 2:
        assert res.output.strip().splitlines()[-1].startswith(("error:", "Error:")), (args, res.output)
