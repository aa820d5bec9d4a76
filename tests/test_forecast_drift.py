"""scripts/forecast_drift.py: one differing constant carries the whole difference, in both directions."""
from __future__ import annotations

import pytest
from script_module import load_script

from sd_model.mdl import read_model_info
from sd_model.parameters import Parameter
from sd_model.resources import DEFAULT_MODEL
from sd_model.run import load_engine
from sd_model.scenario import load_scenario

HISTORICAL = DEFAULT_MODEL.parent.parent / "experiments" / "historical.toml"


def _module():
    return load_script("forecast_drift")


def test_the_one_differing_constant_carries_the_whole_difference():
    """A and B differ in one element of an array constant: both one-at-a-time changes equal
    growth(B) - growth(A), which is not zero, and no other constant is listed."""
    m = _module()
    engine = load_engine("simlin")
    a = load_scenario(HISTORICAL)
    b = a.with_params({"Regional Savings Factor": {"East": 0.8}})
    ga, gb, rows = m.drift(a, b, engine, 2010, 2015)
    assert abs(gb - ga) > 0.01
    assert [r[0] for r in rows] == ["Regional Savings Factor[East]"]
    _, va, vb, with_b, without_a = rows[0]
    assert vb == 0.8 and va != 0.8
    assert with_b == pytest.approx(gb - ga, abs=1e-12) and without_a == pytest.approx(gb - ga, abs=1e-12)


def test_flat_names_are_the_labels_the_parameters_read_back():
    m = _module()
    flat = m.flat_params({"A": 1, "B": {"East": 2.0, "West": 3.0}})
    assert flat == {"A": 1.0, "B[East]": 2.0, "B[West]": 3.0}
    info = read_model_info(DEFAULT_MODEL)
    params = {"Capital Elasticity": 0.4, "Regional Savings Factor": {"East": 0.8}}
    for label, value in m.flat_params(params).items():
        back = Parameter.parse(info, label).as_params(info, value)
        assert back == ({"Capital Elasticity": 0.4} if label == "Capital Elasticity"
                        else {"Regional Savings Factor": {"East": 0.8}})


def test_an_end_before_the_start_is_refused(capsys):
    with pytest.raises(SystemExit):
        _module().main([str(HISTORICAL), str(HISTORICAL), "--start", "2015", "--end", "2010"])
    assert "--end (2010) must be after --start (2015)" in capsys.readouterr().err
