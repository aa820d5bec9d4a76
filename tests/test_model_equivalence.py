"""Tests of scripts/model_equivalence.py: the measure of how far two model files' values are apart."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from script_module import load_script

equivalence = load_script("model_equivalence")


def _ds(**variables: list[float]) -> xr.Dataset:
    return xr.Dataset({k: ("time", np.asarray(v, float)) for k, v in variables.items()},
                      coords={"time": np.arange(len(next(iter(variables.values()))))})


def test_differences_by_peak_and_pointwise_hand_computed():
    a = _ds(x=[1.0, -4.0, 2.0], y=[0.0, 1e-12, 10.0], only_a=[1.0, 1.0, 1.0])
    b = _ds(x=[1.0, -4.0, 2.5], y=[1e-15, 1e-12, 10.0], only_b=[0.0, 0.0, 0.0])
    by_peak, pointwise = equivalence.differences(a, b)
    # x: largest |a - b| 0.5 over the peak |a| 4; pointwise 0.5 / 2 at the last value
    # y: 1e-15 over the peak 10; pointwise only over values above 1e-9 of the peak (the 0 and 1e-12 left out): 0
    assert by_peak == [(pytest.approx(0.125), "x"), (pytest.approx(1e-16), "y")]
    assert pointwise == [(pytest.approx(0.25), "x"), (0.0, "y")]


def test_bad_commit_is_a_clear_error(capsys):
    assert equivalence.main(["no-such-commit-xyz"]) == 2
    err = capsys.readouterr().err
    assert "no-such-commit-xyz" in err and "regional_finance_economy.mdl" in err
