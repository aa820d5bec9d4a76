"""scripts/savings_path_variants.py: the scaled saving path (hand-computed) and a variant model run by simlin."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from sd_model.errors import SDModelError
from sd_model.mdl import lookup_points, set_lookup_points
from sd_model.resources import DEFAULT_MODEL
from sd_model.run import load_engine, run_scenario
from sd_model.scenario import load_scenario, resolve_scenario

SCRIPT = DEFAULT_MODEL.parent.parent / "scripts" / "savings_path_variants.py"


def _module():
    spec = importlib.util.spec_from_file_location("savings_path_variants", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_points_after_2015_scale_their_change_from_the_2015_level():
    mod = _module()
    points = [(1978.0, 0.37), (2015.0, 0.47), (2025.0, 0.42), (2050.0, 0.33)]
    # by hand: 0.47 + 0.5 * (0.42 - 0.47) = 0.445; 0.47 + 0.5 * (0.33 - 0.47) = 0.40
    np.testing.assert_allclose(mod.scaled_points(points, 0.5), [(1978, 0.37), (2015, 0.47), (2025, 0.445), (2050, 0.40)])
    np.testing.assert_allclose(mod.scaled_points(points, 0.0), [(1978, 0.37), (2015, 0.47), (2025, 0.47), (2050, 0.47)])
    assert mod.scaled_points(points, 1.0) == points
    with pytest.raises(SDModelError, match="no point at 2015"):
        mod.scaled_points([(2000.0, 0.4), (2020.0, 0.3)], 0.5)


def test_a_flat_variant_keeps_1978_2015_and_holds_the_2015_saving_rate(tmp_path):
    mod = _module()
    text = DEFAULT_MODEL.read_text(encoding="utf-8")
    points = lookup_points(text, mod.LOOKUP)
    copy = tmp_path / "flat.mdl"
    copy.write_text(set_lookup_points(text, mod.LOOKUP, mod.scaled_points(points, 0.0)), encoding="utf-8")
    scenario = load_scenario(resolve_scenario("historical"))
    names = ["Savings Rate", "Regional Savings Factor", "GDP"]
    shipped = run_scenario(scenario, load_engine("simlin"), outputs=names, until=2030)
    flat = run_scenario(scenario, load_engine("simlin", copy), outputs=names, until=2030)
    # the WDI rate of 2015 (0.47, the path's data) times each region's calibrated factor, from 2015 on
    factor = flat["Regional Savings Factor"].sel(time=2030)
    np.testing.assert_allclose(flat["Savings Rate"].sel(time=2030), 0.47 * factor, rtol=1e-12)
    np.testing.assert_allclose(shipped["Savings Rate"].sel(time=2025), 0.42 * factor, rtol=1e-12)
    before = dict(time=slice(None, 2015))
    np.testing.assert_array_equal(flat["GDP"].sel(before), shipped["GDP"].sel(before))
