"""Scenario files: loading, inheritance, levers, and the errors users see."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sd_model.errors import ScenarioError, UnknownNameError
from sd_model.mdl import read_model_info
from sd_model.run import DEFAULT_MODEL
from sd_model.parameters import lever_names, merge_params
from sd_model.scenario import Scenario, load_scenario, validate

ROOT = Path(__file__).resolve().parent.parent
INFO = read_model_info(DEFAULT_MODEL)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_scenarios_load_and_validate():
    names = set()
    for path in sorted((ROOT / "experiments").glob("*.toml")):
        sc = validate(load_scenario(path), INFO)
        names.add(sc.name)
        assert sc.description
    assert {"historical", "unbalanced", "balanced"} <= names


def test_inheritance_and_levers(tmp_path):
    write(tmp_path / "base.toml", 'name = "base"\n[params]\n"Capital Elasticity" = 0.4\n'
          '"Initial Population" = { East = 300, West = 250 }\n[time]\nfinal_time = 2050\n')
    write(tmp_path / "child.toml", 'name = "child"\ninherits = "base"\n[params]\n'
          '"Initial Population" = { West = 260 }\n[levers."Differential Finance"]\nstart = 2030\nintensity = 0.5\n')
    sc = validate(load_scenario(tmp_path / "child.toml"), INFO)
    assert sc.params["Capital Elasticity"] == 0.4
    assert dict(sc.params["Initial Population"]) == {"East": 300.0, "West": 260.0}
    assert sc.params["Differential Finance Start Year"] == 2030.0
    assert sc.params["Differential Finance Intensity"] == 0.5
    assert sc.final_time == 2050.0
    assert sc.lineage == (str((tmp_path / "base.toml").resolve()),)


def test_names_are_canonicalised_case_and_underscores(tmp_path):
    sc = validate(Scenario(params={"capital_elasticity": 0.45, "INITIAL GDP": {"west": 300}}), INFO)
    assert sc.params == {"Capital Elasticity": 0.45, "Initial GDP": {"West": 300.0}}


def test_unknown_parameter_suggests_close_match(tmp_path):
    path = write(tmp_path / "s.toml", '[params]\n"Capital Elastcity" = 0.4\n')
    with pytest.raises(UnknownNameError, match=r"s\.toml.*'Capital Elastcity'.*did you mean 'Capital Elasticity'"):
        validate(load_scenario(path), INFO)


def test_value_outside_declared_range_names_the_range(tmp_path):
    path = write(tmp_path / "s.toml", '[params]\n"Capital Elasticity" = 0.95\n')
    with pytest.raises(ScenarioError, match=r"Capital Elasticity = 0.95 is outside .*\[0.3, 0.7\]"):
        validate(load_scenario(path), INFO)


def test_malformed_toml_names_file_and_line(tmp_path):
    path = write(tmp_path / "bad.toml", 'name = "x"\n[params]\n"Capital Elasticity" = = 0.4\n')
    with pytest.raises(ScenarioError, match=r"bad\.toml: malformed TOML: .*line 3"):
        load_scenario(path)


def test_inheritance_loop_is_reported(tmp_path):
    write(tmp_path / "a.toml", 'inherits = "b.toml"\n')
    write(tmp_path / "b.toml", 'inherits = "a.toml"\n')
    with pytest.raises(ScenarioError, match="inheritance loop: a.toml -> b.toml -> a.toml"):
        load_scenario(tmp_path / "a.toml")


def test_unknown_lever_setting_and_unknown_element(tmp_path):
    path = write(tmp_path / "s.toml", '[levers."Aid"]\nstrat = 2030\n')
    with pytest.raises(ScenarioError, match="unknown setting 'strat'.*did you mean 'start'"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="has no element 'Wset'.*did you mean 'West'"):
        validate(Scenario(params={"Initial GDP": {"Wset": 1.0}}), INFO)


def test_unknown_lever_name_suggests_close_match(tmp_path):
    path = write(tmp_path / "s.toml", '[levers."Ecological Compensations"]\nintensity = 1\n')
    with pytest.raises(UnknownNameError, match=r"unknown lever 'Ecological Compensations'; did you mean 'Ecological Compensation'\?"):
        validate(load_scenario(path), INFO)


def test_stock_cannot_be_set_and_end_before_start(tmp_path):
    with pytest.raises(ScenarioError, match="'Modern Capital' is a stock, not a constant"):
        validate(Scenario(params={"Modern Capital": 1.0}), INFO)
    with pytest.raises(ScenarioError, match="final time 1970 is not after the start year 1978"):
        validate(Scenario(final_time=1970), INFO)


def test_non_numbers_are_rejected(tmp_path):
    path = write(tmp_path / "s.toml", '[params]\n"Capital Elasticity" = "high"\n')
    with pytest.raises(ScenarioError, match=r"s\.toml: Capital Elasticity must be a number, got 'high'"):
        load_scenario(path)


def test_merge_params_is_per_element():
    merged = merge_params({"a": {"East": 1.0, "West": 2.0}, "b": 1.0}, {"a": {"West": 3.0}, "b": 2.0})
    assert merged == {"a": {"East": 1.0, "West": 3.0}, "b": 2.0}


def test_lever_names_cover_the_papers_mechanisms():
    assert set(lever_names(INFO)) == {
        "East First", "Balanced Programme", "Market Integration", "Spatial Organisation",
        "Cooperation", "Aid", "Governance", "Differential Finance", "Credit Guarantee",
        "Ecological Compensation"}


def test_initial_values_in_the_model_match_the_data():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "update_initial_values.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_shipped_scenarios_resolve_by_name_everywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no file called historical here
    shipped = Path(__file__).resolve().parent.parent / "experiments" / "historical.toml"
    by_name = load_scenario("historical")
    assert by_name.source == str(shipped) and by_name == load_scenario("historical.toml") == load_scenario(shipped)
    child = tmp_path / "elsewhere" / "mine.toml"
    child.parent.mkdir()
    child.write_text('name = "mine"\ninherits = "historical"\n[levers."Aid"]\nintensity = 1\n')
    mine = load_scenario(child)
    assert mine.lineage == (str(shipped),) and mine.params["Aid Intensity"] == 1
    assert mine.params["East First End Year"] == by_name.params["East First End Year"]
    # a file given by its file name where the command runs wins over the shipped one
    (tmp_path / "historical.toml").write_text('name = "local"\n')
    assert load_scenario("historical.toml").name == "local" and load_scenario("historical").name == "historical"
    with pytest.raises(ScenarioError, match="scenario file not found; give a path or one of: .*historical"):
        load_scenario("no_such_scenario")
    child.write_text('inherits = "no_such_parent"\n')
    with pytest.raises(ScenarioError, match="no shipped scenario has that name"):
        load_scenario(child)
