"""The explorer without a browser: controls from the model, save/load TOML, redraw, history, bands, CLI errors."""
from __future__ import annotations

import math
import socket
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from sd_model.errors import ScenarioError, SDModelError
from sd_model.explore.controls import PARAMETER_GROUP, build_controls, check_values
from sd_model.explore.figures import read_bands
from sd_model.explore.scenario_file import scenario_from_text, scenario_toml
from sd_model.mdl import read_model_info
from sd_model.run import DEFAULT_MODEL, run_scenario
from sd_model.scenario import Scenario, load_scenario, validate

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"

NEW_LEVER = """
Tidal Power Start Year = 2030
\t~\tYear [1990,2080]
\t~\tStart of a lever added for this test.
\t|

Tidal Power Intensity[Region] = 0, 0, 0.5, 0
\t~\tdmnl [0,2]
\t~\tIntensity of the test lever per region.
\t|

"""


@pytest.fixture(scope="module")
def explorer(simlin_engine):
    from sd_model.explore.explorer import open_explorer

    return open_explorer(simlin_engine, load_scenario(EXPERIMENTS / "historical.toml"))


def test_a_new_lever_in_the_model_gets_controls_with_its_units_and_range(tmp_path):
    text = DEFAULT_MODEL.read_text(encoding="utf-8")
    head, tail = text.split("\n\n", 1)  # after {UTF-8} and the first block
    model = tmp_path / "model.mdl"
    model.write_text(head + "\n\n" + NEW_LEVER + tail, encoding="utf-8")
    controls = {c.key: c for c in build_controls(read_model_info(model), {})}
    start = controls["Tidal Power Start Year"]
    assert (start.group, start.units, start.lo, start.hi, start.step) == ("Tidal Power", "Year", 1990, 2080, 1)
    west = controls["Tidal Power Intensity[West]"]
    assert (west.element, west.lo, west.hi, west.label) == ("West", 0, 2, "intensity, West")
    assert [k for k in controls if k.startswith("Tidal Power Intensity")] == [
        f"Tidal Power Intensity[{r}]" for r in ("East", "Central", "West", "Northeast")]


def test_levers_and_uncertain_parameters_of_the_shipped_model():
    info = read_model_info(DEFAULT_MODEL)
    ranges = {"Capital Elasticity": (0.33, 0.51), "Regional Savings Factor[West]": (1.2, 1.35)}
    controls = build_controls(info, ranges)
    east_first = [c.label for c in controls if c.group == "East First"]
    assert east_first == ["start year", "intensity", "end year"]  # East First has an end year
    params = [c for c in controls if c.group == PARAMETER_GROUP]
    assert [(c.key, c.lo, c.hi, c.plausible) for c in params] == [
        ("Capital Elasticity", 0.3, 0.7, (0.33, 0.51)), ("Regional Savings Factor[West]", 0.0, 2.0, (1.2, 1.35))]


def test_out_of_range_and_non_numbers_are_refused_with_the_valid_range():
    controls = build_controls(read_model_info(DEFAULT_MODEL), {})
    errors = check_values(controls, {"Aid Intensity": 7, "Aid Start Year": None, "Cooperation Intensity": float("nan")})
    assert errors["Aid Intensity"] == "Aid Intensity = 7 is outside the model's range; valid: 0 to 3 dmnl"
    assert errors["Aid Start Year"] == "Aid Start Year must be a number, got None; valid: 1978 to 2100 Year"
    assert errors["Cooperation Intensity"] == "Cooperation Intensity must be a finite number, got nan; valid: 0 to 3 dmnl"
    # every control not given is missing, hence refused too
    assert len(errors) == len(controls)


def test_saved_toml_loads_back_to_the_same_scenario(tmp_path):
    info = read_model_info(DEFAULT_MODEL)
    scenario = validate(Scenario(name="round trip", description='quotes " and \\ and ünïcode', final_time=2061.0,
                                 time_step=0.0625,
                                 params={"Aid Intensity": 0.1 + 0.2, "Aid Start Year": 2031.0,
                                         "Balanced Programme Start Year": {"West": 2001.0, "East": 2100.0},
                                         "Capital Elasticity": 0.4218100000000001,
                                         "Base Migration Rate": 1e-05, "Regional Savings Factor": {"West": 1 / 3}}), info)
    path = tmp_path / "saved.toml"
    path.write_text(scenario_toml(scenario, info), encoding="utf-8")
    back = validate(load_scenario(path), info)
    assert (back.name, back.description, back.final_time, back.time_step) == (
        scenario.name, scenario.description, 2061.0, 0.0625)
    assert {k: (dict(v) if hasattr(v, "items") else v) for k, v in back.params.items()} == \
        {k: (dict(v) if hasattr(v, "items") else v) for k, v in scenario.params.items()}
    assert '[levers."Aid"]' in path.read_text(encoding="utf-8")


def test_uploaded_text_errors_name_the_file_not_a_temporary_path():
    with pytest.raises(ScenarioError) as bad:
        scenario_from_text('name = "x"\n[params\n', "mine.toml")
    assert str(bad.value).startswith("mine.toml") and "line 2" in str(bad.value) and "/tmp" not in str(bad.value)
    # a shipped parent is found by name; any other parent cannot be, from an upload
    child = scenario_from_text('inherits = "historical"\n[levers."Aid"]\nintensity = 1\n', "child.toml")
    assert child.params["Aid Intensity"] == 1 and child.params["East First End Year"] == 2000
    with pytest.raises(ScenarioError, match="--scenario FILE"):
        scenario_from_text('inherits = "my_parent.toml"\n', "child.toml")


def test_redraw_gives_the_runs_numbers_or_refuses(explorer, simlin_engine):
    from sd_model.explore.explorer import redraw

    values = dict(explorer.start_values)
    values["Aid Intensity"] = 2.0
    figs, errors = redraw(explorer, explorer.base, values)
    assert not errors and set(figs) == {c.id for c in explorer.charts}
    # an independent path to the same scenario: the shipped file plus one setting
    direct = run_scenario(load_scenario(EXPERIMENTS / "historical.toml").with_params({"Aid Intensity": 2.0}),
                          simlin_engine)
    trace = next(t for t in figs["gdp_per_capita"]["data"]
                 if t["meta"] == {"role": "scenario", "region": "West"})
    assert trace["y"] == direct["GDP per Capita"].sel(Region="West").values.tolist()
    base = next(t for t in figs["theil"]["data"] if t["meta"]["role"] == "baseline")
    assert base["y"] == run_scenario(load_scenario(EXPERIMENTS / "historical.toml"),
                                     simlin_engine)["Theil Index"].values.tolist()
    assert figs["gdp_per_capita"]["layout"]["yaxis"]["type"] == "log"
    values["Aid Intensity"] = -1
    assert redraw(explorer, explorer.base, values) == ({}, {"Aid Intensity": (
        "Aid Intensity = -1 is outside the model's range; valid: 0 to 3 dmnl")})


@pytest.mark.parametrize("var,year,tol", [("Theil Index", 2000, 0.25), ("Theil Index", 2015, 0.25),
                                          ("East West Ratio", 2015, 0.1)])
def test_observed_series_agree_with_the_calibrated_history(explorer, var, year, tol):
    # units or formula errors in the observed series would show as gaps far beyond the calibration's misfit
    observed = float(explorer.observed[var].sel(year=year))
    model = float(explorer.baseline[var].sel(time=year))
    assert math.isclose(observed, model, rel_tol=tol), (observed, model)


def test_bands_are_quantiles_over_members(tmp_path, explorer):
    rng = np.random.default_rng(1)
    base = explorer.baseline["Theil Index"]
    members = xr.concat([base * f for f in rng.uniform(0.5, 1.5, 21)], dim="member")
    path = tmp_path / "ensemble.nc"
    xr.Dataset({"Theil Index": members}).to_netcdf(path)
    lo, hi = read_bands(tmp_path, ["Theil Index", "Population"])["Theil Index"]
    column = members.sel(time=2050).values
    assert float(lo.sel(time=2050)) == pytest.approx(np.quantile(column, 0.05))
    assert float(hi.sel(time=2050)) == pytest.approx(np.quantile(column, 0.95))
    xr.Dataset({"Theil Index": base}).to_netcdf(tmp_path / "single.nc")
    with pytest.raises(SDModelError, match="no 'member' dimension"):
        read_bands(tmp_path / "single.nc", ["Theil Index"])


def test_cli_errors_are_one_line_and_exit_2(tmp_path, cache_dir):
    from cli import main

    runner = CliRunner()
    for args, expected in ((["--scenario", "nonsense"], "scenario file not found"),
                           (["--bands", str(tmp_path / "none.nc")], "bands file not found")):
        result = runner.invoke(main, ["explore", *args])
        assert result.exit_code == 2, result.output
        assert expected in result.output and "Traceback" not in result.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = runner.invoke(main, ["explore", "--port", str(taken.getsockname()[1])])
    assert result.exit_code == 2 and "cannot listen on 127.0.0.1" in result.output, result.output
    assert Path(tmp_path).is_dir()


def test_ctrl_c_stops_the_page_cleanly():
    import signal
    import subprocess
    import sys

    from sd_model.explore.headless import ROOT

    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "explore"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = proc.stdout.readline()
        assert first.startswith("sd-model explore: open http://127.0.0.1:"), first
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and rest == "sd-model explore: stopped\n"
