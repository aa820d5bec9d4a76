"""The command line, through click's test runner."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def runner(cache_dir):
    return CliRunner()


def test_help_lists_commands(runner):
    out = runner.invoke(main, ["--help"])
    assert out.exit_code == 0
    assert "run" in out.output and "info" in out.output
    out = runner.invoke(main, ["run", "--help"])
    assert "--scenario" in out.output and "--engine" in out.output


def test_info_lists_parameters_with_units_range_and_source(runner):
    out = runner.invoke(main, ["info", "--search", "Capital Elasticity"])
    assert out.exit_code == 0
    line = next(li for li in out.output.splitlines() if li.strip().startswith("Capital Elasticity"))
    assert "dmnl" in line and "[0.3, 0.7]" in line and "Chow and Li" in line
    levers = runner.invoke(main, ["info", "--levers"]).output
    assert "Differential Finance" in levers and "Balanced Programme" in levers


@pytest.mark.parametrize("fmt,suffix", [("csv", ".csv"), ("parquet", ".parquet"), ("netcdf", ".nc")])
def test_run_writes_results_manifest_and_plots(runner, tmp_path, fmt, suffix):
    out = runner.invoke(main, ["run", "-s", str(ROOT / "experiments" / "balanced.toml"), "--until", "2030",
                               "--out", str(tmp_path), "--format", fmt])
    assert out.exit_code == 0, out.output
    folder = tmp_path / "balanced"
    assert (folder / f"results{suffix}").is_file()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model"]["sha256"] and manifest["versions"]["pysd"]
    assert manifest["time"]["final_time"] == 2030
    assert manifest["parameters"]["Aid Intensity"] == 1.0          # set by balanced.toml
    assert manifest["parameters"]["Capital Elasticity"] > 0          # a model default
    assert sorted(p.name for p in (folder / "plots").glob("*.png")) == [
        "credit.png", "disparity.png", "gdp_per_capita.png", "migration.png", "shares.png"]
    if fmt == "csv":
        table = pd.read_csv(folder / "results.csv", keep_default_na=False)
        assert set(table.columns) == {"variable", "time", "Region", "Dest", "value"}
        assert table["time"].max() == 2030
        west = table[(table.variable == "Population") & (table.Region == "West") & (table.time == 1978)]
        assert float(west.value.iloc[0]) == pytest.approx(274.92, rel=1e-4)  # data/raw 1978 population


def test_bad_inputs_exit_2_with_one_line_and_write_nothing(runner, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[params]\n"Capital Elastcity" = 0.4\n')
    cases = [
        (["run", "-s", str(bad)], "did you mean 'Capital Elasticity'"),
        (["run", "-s", str(tmp_path / "missing.toml")], "scenario file not found"),
        (["run", "--until", "1960"], "not after the start year 1978"),
        (["run", "--model", str(tmp_path / "none.mdl")], "model file not found"),
    ]
    malformed = tmp_path / "malformed.toml"
    malformed.write_text("name = \n")
    cases.append((["run", "-s", str(malformed)], "malformed.toml: malformed TOML"))
    outrange = tmp_path / "range.toml"
    outrange.write_text('[params]\n"Depreciation Rate" = 2\n')
    cases.append((["run", "-s", str(outrange)], "outside the range the model declares"))
    for args, message in cases:
        out_dir = tmp_path / "out"
        res = runner.invoke(main, [*args, "--out", str(out_dir)])
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output
        err_lines = [li for li in res.output.splitlines() if li.strip()]
        assert len(err_lines) == 1 and err_lines[0].startswith("error: ")
        assert not out_dir.exists() or not any(out_dir.iterdir())


def test_rerun_replaces_folder_atomically(runner, tmp_path):
    args = ["run", "--until", "1990", "--out", str(tmp_path), "--no-plots"]
    assert runner.invoke(main, args).exit_code == 0
    assert runner.invoke(main, args).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default"]
