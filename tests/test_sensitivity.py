"""Tests of sd_model.sensitivity: against SALib's own analysis, the Ishigami function's
analytic indices, and single model runs; and of ``sd-model sensitivity``."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from SALib.analyze import morris as salib_morris
from SALib.analyze import sobol as salib_sobol
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample
from SALib.test_functions import Ishigami

from cli import main
from sd_model.errors import SDModelError
from sd_model.run import run_scenario
from sd_model.scenario import Scenario
from sd_model.sensitivity import (Outcome, make_problem, model_evaluator, parse_outcome, plot_ranking,
                                  run_sensitivity, sample)

ISHIGAMI = make_problem({f"x{i}": (-np.pi, np.pi) for i in (1, 2, 3)})


def _ishigami(x: np.ndarray) -> dict[str, np.ndarray]:
    return {"y": Ishigami.evaluate(x)}


def _analytic_ishigami(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """First-order and total indices of Ishigami (Sobol' and Levitan 1999), from the formulas."""
    pi = np.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / var, np.array([v1 + v13, v2, v13]) / var


def _indices(table: pd.DataFrame, index: str) -> np.ndarray:
    return table[table["index"] == index].set_index("parameter").loc[["x1", "x2", "x3"], "value"].to_numpy()


def test_sobol_indices_equal_salibs_own_and_the_analytic_values():
    result = run_sensitivity(ISHIGAMI, _ishigami, "sobol", n=1024, seed=11)
    x = sobol_sample.sample(dict(ISHIGAMI), 1024, calc_second_order=False, seed=11)
    own = salib_sobol.analyze(dict(ISHIGAMI), Ishigami.evaluate(x), calc_second_order=False, seed=11)
    np.testing.assert_allclose(_indices(result.table, "S1"), own["S1"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(_indices(result.table, "ST"), own["ST"], rtol=0, atol=1e-12)
    s1, st = _analytic_ishigami()
    np.testing.assert_allclose(_indices(result.table, "S1"), s1, atol=0.05)
    np.testing.assert_allclose(_indices(result.table, "ST"), st, atol=0.05)
    ranks = result.table[result.table["index"] == "ST"].set_index("parameter")["rank"]
    assert ranks.to_dict() == {"x1": 1, "x2": 2, "x3": 3}  # ST: 0.56, 0.44, 0.24


def test_morris_equals_salibs_own():
    result = run_sensitivity(ISHIGAMI, _ishigami, "morris", n=40, seed=2)
    x = morris_sample.sample(dict(ISHIGAMI), 40, num_levels=4, seed=2)
    own = salib_morris.analyze(dict(ISHIGAMI), x, Ishigami.evaluate(x), num_levels=4, seed=2)
    np.testing.assert_allclose(_indices(result.table, "mu_star"), own["mu_star"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(_indices(result.table, "sigma"), own["sigma"], rtol=0, atol=1e-12)
    assert len(result.x) == 40 * 4  # n trajectories of k + 1 points


@pytest.mark.parametrize("call, message", [
    (lambda: sample(ISHIGAMI, "sobol", 100, 1), "not a power of two"),
    (lambda: sample(ISHIGAMI, "fast", 64, 1), "unknown method 'fast'"),
    (lambda: make_problem({"a": (1.0, 1.0)}), "low < high"),
    (lambda: parse_outcome("Theil Index 2050"), "not of the form"),
    (lambda: run_sensitivity(ISHIGAMI, lambda x: {"y": np.full(len(x), np.nan)}, "morris", 4, 1), "non-finite"),
])
def test_bad_input_is_refused(call, message):
    with pytest.raises(SDModelError, match=message):
        call()


def test_parse_outcome():
    assert parse_outcome(" GDP per Capita [West] @ 2050") == Outcome("GDP per Capita", "West", 2050.0)
    assert parse_outcome("Theil Index@2035").label == "Theil Index@2035"


def test_model_evaluator_returns_the_values_of_single_runs(simlin_engine):
    names = ["Capital Elasticity", "Regional Savings Factor[West]"]
    x = np.array([[0.33, 0.7], [0.37, 0.8], [0.35, 0.75]])
    outcomes = [parse_outcome("Theil Index@2030"), parse_outcome("GDP per Capita[West]@2030")]
    evaluate = model_evaluator(Scenario(name="base"), names, outcomes, engine="simlin", workers=1, progress=False)
    y = evaluate(x)
    for i in (0, 2):
        single = run_scenario(Scenario(final_time=2030, params={"Capital Elasticity": x[i, 0],
                                                                "Regional Savings Factor": {"West": x[i, 1]}}),
                              simlin_engine, ["Theil Index", "GDP per Capita"])
        assert y["Theil Index@2030"][i] == float(single["Theil Index"].sel(time=2030))
        assert y["GDP per Capita[West]@2030"][i] == float(single["GDP per Capita"].sel(time=2030, Region="West"))


def test_sensitivity_command_writes_a_ranked_table(tmp_path):
    ranges = tmp_path / "ranges.toml"
    ranges.write_text('[ranges]\n"Capital Elasticity" = [0.33, 0.37]\n"Base Migration Rate" = [0.006, 0.008]\n'
                      '"Frontier Growth Rate" = [0.008, 0.012]\n')
    (tmp_path / "base.toml").write_text('name = "base"\n')
    out = tmp_path / "sens"
    args = ["sensitivity", "--ranges", str(ranges), "--samples", "3", "--scenario", str(tmp_path / "base.toml"),
            "--outcomes", "Theil Index@2030,National GDP@2030", "--workers", "1", "--no-progress", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sensitivity.csv")
    assert set(table["outcome"]) == {"Theil Index@2030", "National GDP@2030"}
    gdp = table[(table["outcome"] == "National GDP@2030") & (table["index"] == "mu_star")]
    assert sorted(gdp["rank"]) == [1, 2, 3]
    design = pd.read_csv(out / "design.csv")
    assert len(design) == 3 * 4 and (out / "ranking.png").stat().st_size > 1000
    bad = CliRunner().invoke(main, [*args[:-2], "--outcomes", "Theil Indx@2030", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2 and "did you mean 'Theil Index'" in bad.output and bad.output.count("\n") == 1


def test_plot_ranking_orders_bars_by_rank():
    result = run_sensitivity(ISHIGAMI, _ishigami, "sobol", n=256, seed=1)
    fig = plot_ranking(result.table)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["x3", "x2", "x1"]  # most influential (highest ST) at the top
    morris = run_sensitivity(ISHIGAMI, _ishigami, "morris", n=20, seed=1)
    fig = plot_ranking(morris.table, {"y": "billion_yuan/Year"})
    assert fig.axes[0].get_xlabel() == "mu*, mean |elementary effect| (billion yuan/Year)"
    assert fig.axes[0].get_title() == "y (billion yuan/Year)"
