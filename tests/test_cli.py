"""The command line, through click's test runner."""
from __future__ import annotations

import json
import re
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


def test_info_search_filters_levers_and_levers_show_end_years(runner):
    found = runner.invoke(main, ["info", "--search", "aid"]).output
    lever_lines = [li for li in found.split("Parameters")[0].splitlines() if li.startswith("  ")]
    assert [li.split(":")[0].strip() for li in lever_lines] == ["Aid"]
    assert re.search(r"Strategy levers \(1 of \d+\)", found)
    levers = runner.invoke(main, ["info", "--levers"]).output
    # East First ends in 2000 (vensim/regional_finance_economy.mdl, East First End Year)
    assert "East First: start 1978, end 2000, intensity 1" in levers


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
        assert list(table.columns) == ["variable", "time", "Region", "Dest", "value", "units"]
        assert table["time"].max() == 2030
        west = table[(table.variable == "Population") & (table.Region == "West") & (table.time == 1978)]
        assert float(west.value.iloc[0]) == pytest.approx(274.92, rel=1e-4)  # data/raw 1978 population
        assert set(west.units) == {"million_persons"}  # vensim/regional_finance_economy.mdl, Population
        # a constant is written once, at the start, not at every saved year
        elasticity = table[table.variable == "Capital Elasticity"]
        assert list(elasticity.time) == [1978] and set(elasticity.units) == {"dmnl"}


def test_run_outputs_writes_only_the_named_variables(runner, tmp_path):
    out = runner.invoke(main, ["run", "-s", "historical", "--until", "1990", "--outputs", "Theil Index, gdp per capita",
                               "--out", str(tmp_path), "--no-plots"])
    assert out.exit_code == 0, out.output
    table = pd.read_csv(tmp_path / "historical" / "results.csv", keep_default_na=False)
    assert sorted(set(table.variable)) == ["GDP per Capita", "Theil Index"]
    assert len(table) == 13 * (1 + 4)  # 1978-1990: the index, and per capita in four regions
    bad = runner.invoke(main, ["run", "-s", "historical", "--outputs", "Theil Idx", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "did you mean 'Theil Index'" in bad.output and not (tmp_path / "x").exists()


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


def test_leftovers_of_a_killed_writer_are_swept_on_the_next_write(tmp_path):
    """A SIGKILLed run leaves a hidden partial folder; the next write of that output removes it."""
    import subprocess
    import sys

    from sd_model.files import atomic_dir

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".run.partial-{dead}-abc"
    stale.mkdir()
    (stale / "results.csv").write_text("half")
    live = tmp_path / f".run.partial-{__import__('os').getpid()}-xyz"   # a writer still running
    live.mkdir()
    with atomic_dir(tmp_path / "run", "run") as tmp:
        (tmp / "x.txt").write_text("done")
    assert not stale.exists() and live.exists()
    assert (tmp_path / "run" / "x.txt").read_text() == "done"


def test_time_step_must_divide_saveper_and_not_be_tiny(runner, tmp_path):
    for bad, message in [("1e-6", "is not in [0.000976562, 1] year"), ("0.3", "does not divide SAVEPER")]:
        sc = tmp_path / "s.toml"
        sc.write_text(f"[time]\ntime_step = {bad}\n")
        res = runner.invoke(main, ["run", "-s", str(sc), "--out", str(tmp_path / "o")])
        assert res.exit_code == 2 and message in res.output, res.output


def test_outputs_are_readable_by_others(tmp_path):
    import os
    import stat

    from sd_model.files import atomic_dir, atomic_write_text

    umask = os.umask(0o022)
    os.umask(umask)
    with atomic_dir(tmp_path / "out", "run") as tmp:
        atomic_write_text(tmp / "a.txt", "x")
    mode_file = stat.S_IMODE((tmp_path / "out" / "a.txt").stat().st_mode)
    mode_dir = stat.S_IMODE((tmp_path / "out").stat().st_mode)
    assert mode_file == 0o666 & ~umask and mode_dir == 0o777 & ~umask


def test_rerun_repeats_a_recorded_run_exactly(runner, tmp_path):
    scenario = ROOT / "experiments" / "balanced.toml"
    res = runner.invoke(main, ["run", "-s", str(scenario), "--until", "2040", "--out", str(tmp_path), "--no-plots"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["rerun", str(tmp_path / "balanced" / "manifest.json"), "--no-plots"])
    assert res.exit_code == 0, res.output
    assert "largest relative difference from the recorded results 0 over" in res.output
    again = pd.read_csv(tmp_path / "balanced-rerun" / "results.csv", keep_default_na=False)
    first = pd.read_csv(tmp_path / "balanced" / "results.csv", keep_default_na=False)
    pd.testing.assert_frame_equal(again, first)
    manifest = json.loads((tmp_path / "balanced-rerun" / "manifest.json").read_text())
    assert manifest["time"]["final_time"] == 2040 and manifest["parameters"]["Aid Intensity"] == 1.0


def test_rerun_refuses_another_model_and_bad_manifests(runner, tmp_path):
    res = runner.invoke(main, ["run", "--until", "1985", "--out", str(tmp_path), "--no-plots"])
    assert res.exit_code == 0, res.output
    recorded = tmp_path / "default" / "manifest.json"
    changed = tmp_path / "changed.mdl"
    changed.write_text((ROOT / "vensim" / "regional_finance_economy.mdl").read_text(encoding="utf-8")
                       .replace("Lever Phase In Time = 3", "Lever Phase In Time = 4"), encoding="utf-8")
    res = runner.invoke(main, ["rerun", str(recorded), "--model", str(changed)])
    assert res.exit_code == 2 and "recorded with model sha256" in res.output
    res = runner.invoke(main, ["rerun", str(recorded), "--model", str(changed), "--allow-model-change",
                               "--out", str(tmp_path / "x"), "--no-plots"])
    assert res.exit_code == 0, res.output          # the recorded Lever Phase In Time (3) is used
    assert "largest relative difference from the recorded results 0 over" in res.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = runner.invoke(main, ["rerun", str(bad)])
    assert res.exit_code == 2 and "not a readable manifest" in res.output
    res = runner.invoke(main, ["rerun", str(tmp_path / "none.json")])
    assert res.exit_code == 2 and "manifest not found" in res.output


@pytest.mark.parametrize("engine", ["batch", "simlin"])
def test_run_accepts_every_registered_engine(runner, tmp_path, engine):
    out = runner.invoke(main, ["run", "-s", str(ROOT / "experiments" / "historical.toml"), "--until", "1990",
                               "--out", str(tmp_path), "--no-plots", "--engine", engine])
    assert out.exit_code == 0, out.output
    manifest = json.loads((tmp_path / "historical" / "manifest.json").read_text())
    assert manifest["engine"] == engine
    table = pd.read_csv(tmp_path / "historical" / "results.csv", keep_default_na=False)
    west = table[(table.variable == "Population") & (table.Region == "West") & (table.time == 1978)]
    assert float(west.value.iloc[0]) == pytest.approx(274.92, rel=1e-4)  # data/raw 1978 population


def test_help_shows_example_blocks_as_written():
    """Click keeps a paragraph after a line holding only the \\b character as written (the examples)."""
    runner = CliRunner()
    for name in sorted(main.commands):
        text = runner.invoke(main, [name, "--help"]).output
        assert "\\b" not in text, name
    text = runner.invoke(main, ["check", "--help"]).output
    assert "\n  units         every variable has units" in text
    assert "\n    sd-model check\n    sd-model check --only extremes --only mass_balance\n" in text
