"""Tests of sd_model.parameters (the one parser of "Name[El,...]") and sd_model.runspec."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from sd_model.errors import ScenarioError, SDModelError, UnknownNameError
from sd_model.mdl import read_model_info
from sd_model.parameters import Parameter, merge_params, outside, range_text, resolve_params
from sd_model.run import DEFAULT_MODEL
from sd_model.runspec import build_spec
from sd_model.scenario import Scenario

INFO = read_model_info(DEFAULT_MODEL)


def test_parse_canonicalises_name_and_element():
    assert Parameter.parse(INFO, "capital_elasticity") == Parameter("Capital Elasticity")
    p = Parameter.parse(INFO, "  coastal exposure [ west ] ")
    assert p == Parameter("Coastal Exposure", ("West",)) and p.label == "Coastal Exposure[West]"
    assert p.cells(INFO) == [("West",)]
    # the whole constant expands to every element the .mdl declares for its range
    assert Parameter("Coastal Exposure").cells(INFO) == [(e,) for e in INFO.subscripts["Region"]]


@pytest.mark.parametrize("text, error, message", [
    ("Capital Elastcity", UnknownNameError, r"unknown parameter 'Capital Elastcity'; did you mean 'Capital Elasticity'"),
    ("GDP", ScenarioError, r"'GDP' is an auxiliary, not a constant; only constants can be sampled"),
    ("Coastal Exposure[Wst]", UnknownNameError, r"Region has no element 'Wst'; did you mean 'West'"),
    ("Coastal Exposure[Wst]", ScenarioError, r"Region has no element 'Wst'"),
    ("Capital Elasticity[East]", ScenarioError, r"'Capital Elasticity' is a scalar constant"),
    ("Coastal Exposure[East,West]", ScenarioError, r"has 1 subscript\(s\) \['Region'\], got 2"),
])
def test_parse_errors_name_the_input(text, error, message):
    with pytest.raises(error, match=message):
        Parameter.parse(INFO, text, "ranges.toml:3")


def test_stock_error_names_its_initial_constant():
    with pytest.raises(SDModelError, match=r"'Modern Capital' is a stock, not a constant.*'Initial Capital'"):
        Parameter.parse(INFO, "Modern Capital", verb="set")


def test_overlaps():
    whole, west, east = Parameter("Coastal Exposure"), Parameter("Coastal Exposure", ("West",)), \
        Parameter("Coastal Exposure", ("East",))
    assert whole.overlaps(west) and west.overlaps(whole) and not west.overlaps(east)
    assert not west.overlaps(Parameter("Capital Elasticity"))


def test_range_checks_against_the_declared_range():
    var = INFO.variables["Capital Elasticity"]
    assert var.range == (0.3, 0.7) and range_text(var).startswith("[0.3, 0.7]")
    assert outside(var, 0.29) and not outside(var, 0.3) and not outside(var, 0.7) and outside(var, 0.71)
    assert outside(var, np.array([0.2, 0.5, 0.9])).tolist() == [True, False, True]


def test_resolve_params_expands_and_checks():
    out = resolve_params(INFO, {"coastal exposure": 0.5, "Initial GDP": {"west": 300}})
    assert out["Coastal Exposure"] == {e: 0.5 for e in INFO.subscripts["Region"]}
    assert out["Initial GDP"] == {"West": 300.0}
    with pytest.raises(ScenarioError, match=r"s\.toml: Capital Elasticity = 0\.95 is outside .*\[0\.3, 0\.7\]"):
        resolve_params(INFO, {"Capital Elasticity": 0.95}, "s.toml")
    assert resolve_params(INFO, {"Capital Elasticity": 0.95}, check_range=False) == {"Capital Elasticity": 0.95}
    with pytest.raises(SDModelError, match="must be a number"):
        resolve_params(INFO, {"Capital Elasticity": "high"})


def test_merge_params_merges_elements():
    merged = merge_params({"A": {"East": 1.0, "West": 2.0}, "B": 1.0}, {"A": {"West": 3.0}, "B": 2.0})
    assert merged == {"A": {"East": 1.0, "West": 3.0}, "B": 2.0}


def test_runspec_is_frozen_picklable_and_keeps_model_times():
    spec = Scenario(params={"Capital Elasticity": 0.4}, final_time=2030).resolve(INFO, ["GDP"])
    assert spec.params == {"Capital Elasticity": 0.4} and spec.outputs == ("GDP",)
    assert (spec.times.initial, spec.times.final, spec.times.dt) == (INFO.initial_time, 2030.0, INFO.time_step)
    assert spec.times.coords()[0] == INFO.initial_time and spec.times.coords()[-1] == 2030.0
    with pytest.raises(TypeError):
        spec.params["Capital Elasticity"] = 0.5  # type: ignore[index]
    again = pickle.loads(pickle.dumps(spec))
    assert again.params == spec.params and again.times == spec.times and again.model_sha256 == INFO.sha256
    assert spec.every_step().times.saveper == spec.times.dt
    assert build_spec(INFO, outputs=["gdp"]).outputs == ("GDP",)
