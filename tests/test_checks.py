"""The model-testing battery (sd_model.checks, `sd-model check`).

Each check must pass on the shipped model and fail, naming the variable, on a copy of the
model broken on purpose (made here from the shipped file by a text edit). The reference
values of the helper tests are worked out by hand, not taken from the code under test.
"""
from __future__ import annotations

import re

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from cli import main
from sd_model.checks import DEFAULT_SPEC, CheckSpecError, check_names, load_spec, run_checks
from sd_model.checks._context import integrity_problems, max_relative_change
from sd_model.errors import SDModelError
from sd_model.mdl import read_model_info
from sd_model.run import DEFAULT_MODEL

MODEL_TEXT = DEFAULT_MODEL.read_text(encoding="utf-8")
FAST_GROUPS = ["units", "integration", "extremes", "mass_balance", "behaviour", "projection"]


def broken_copy(tmp_path: Path, old: str, new: str, name: str = "broken.mdl") -> Path:
    """Write the shipped model with ``old`` replaced by ``new`` (which must occur exactly once)."""
    assert MODEL_TEXT.count(old) == 1, old
    path = tmp_path / name
    path.write_text(MODEL_TEXT.replace(old, new), encoding="utf-8")
    return path


def spec_copy(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """The shipped declarations with text edits, its baseline made absolute."""
    text = DEFAULT_SPEC.read_text(encoding="utf-8")
    text = text.replace('baseline = "../historical.toml"',
                        f'baseline = "{(DEFAULT_SPEC.parent.parent / "historical.toml").as_posix()}"')
    for old, new in edits:
        assert text.count(old) >= 1, old
        text = text.replace(old, new)
    path = tmp_path / "checks.toml"
    path.write_text(text, encoding="utf-8")
    return path


def by_name(results):
    return {r.name: r for r in results}


# ---------------------------------------------------------------- the shipped model


@pytest.fixture(scope="module")
def shipped(cache_dir):
    return by_name(run_checks(only=FAST_GROUPS))


@pytest.mark.parametrize("name", [n for n in check_names() if n.split(".")[0] in FAST_GROUPS])
def test_shipped_model_passes(shipped, name):
    result = shipped[name]
    assert result.passed, f"{name}: {result.figure}: {result.message}"
    assert result.figure


def test_parameter_bounds_sweep_covers_every_declared_bound(shipped):
    runs = sum(1 for v in read_model_info(DEFAULT_MODEL).constants().values() for b in v.range if b is not None)
    assert shipped["extremes.parameter_bounds"].figure == f"{runs} of {runs} bound runs clean"


@pytest.mark.slow
def test_engines_agree_on_every_variable(pysd_reference, monkeypatch):
    """The agreement check on the shipped model; its PySD run is the suite's shared one (same scenario).

    The check builds its own scenario and loads its own engines; only its call of PySD on exactly
    the shared run's scenario and model is answered from that run (PySD takes ~50 s on it).
    """
    from sd_model.checks import agreement

    real, shared = agreement.run_scenario, []

    def run_scenario(sc, engine):
        if engine.name == "pysd" and sc == pysd_reference.scenario and \
                engine.info.sha256 == pysd_reference.results.attrs["model_sha256"]:
            shared.append(sc)
            return pysd_reference.copy()
        return real(sc, engine)

    monkeypatch.setattr(agreement, "run_scenario", run_scenario)
    (result,) = run_checks(only=["agreement"])
    assert len(shared) == 1  # the check asked PySD for the shared run's scenario
    assert result.passed, result.message
    from sd_model.mdl import read_model_info
    from sd_model.run import DEFAULT_MODEL

    info = read_model_info(DEFAULT_MODEL)
    compared = int(re.search(r"over (\d+) variables, 1978-1990", result.figure).group(1))
    # every variable but the lookup tables is compared (constants included)
    assert compared == sum(v.kind != "lookup" for v in info.variables.values())


# ---------------------------------------------------------------- broken copies


def test_units_error_fails_units_check_naming_the_variable(tmp_path):
    path = broken_copy(tmp_path, "Modern Depreciation[Region] = Modern Capital[Region] * Depreciation Rate\n\t~\tbillion_yuan/Year",
                       "Modern Depreciation[Region] = Modern Capital[Region] * Depreciation Rate\n\t~\tbillion_yuan")
    results = by_name(run_checks(path, only=["units"]))
    assert results["units.documented"].passed
    bad = results["units.consistency"]
    assert not bad.passed
    assert "Depreciation" in bad.message
    assert bad.figure.startswith("0 errors, ") and not bad.figure.startswith("0 errors, 0 unit")


def test_missing_comment_fails_documentation_check(tmp_path):
    path = broken_copy(tmp_path, "\t~\tModern capital worn out per year.", "\t~\t")
    result = by_name(run_checks(path, only=["units.documented"]))["units.documented"]
    assert not result.passed and "Depreciation" in result.message
    total = len(read_model_info(path).variables)
    assert result.figure == f"{total - 1} of {total} variables documented"


def test_leaking_migration_fails_mass_balance_naming_the_variable(tmp_path):
    path = broken_copy(tmp_path, "Immigration[Dest] = SUM(Migration[Region!, Dest])",
                       "Immigration[Dest] = 1.01 * SUM(Migration[Region!, Dest])")
    results = by_name(run_checks(path, only=["mass_balance", "units.consistency"]))
    leak = results["mass_balance.migration"]
    assert not leak.passed
    assert leak.message.startswith("Immigration: Immigration = column sums of Migration fails")
    assert "Net Migration" in leak.message and "Population" in leak.message
    # the leak is 1% of immigration; relative to the gross flow it is of that order
    assert 1e-3 < float(leak.figure.split()[3]) < 0.02
    # and only that law is broken: units still consistent, credit and fiscal balances hold
    assert results["units.consistency"].passed
    assert results["mass_balance.credit"].passed and results["mass_balance.fiscal"].passed


@pytest.mark.parametrize("group, old, new, blamed", [
    # New Loans, Fiscal Inflow and the row sums of return and child migration are written on pools
    # and totals, not as sums of their Region x Dest matrices (so that the step needs no such
    # product); a pool that leaks breaks the law tying them to the matrices
    ("credit", "Pooled Credit = SUM(Credit Supply[Region!] * (1 - Local Lending Share[Region!]))",
     "Pooled Credit = SUM(Credit Supply[Region!] * (1 - Local Lending Share[Region!])) * 0.999", "New Loans"),
    ("fiscal", "Central Pool = SUM(Public Funds Raised[Region!])",
     "Central Pool = SUM(Public Funds Raised[Region!]) * 0.999", "Fiscal Inflow"),
    ("credit", "National Savings = SUM(Savings[Region!])",
     "National Savings = SUM(Savings[Region!]) * 0.999", "Securities Inflow"),
    ("migration", "Total Return Weight = SUM(Return Origin Weight[Region!])",
     "Total Return Weight = SUM(Return Origin Weight[Region!]) * 1.01", "Return Emigration"),
    ("migration", "Child Emigration[Region] = Emigration[Region] * Child Migration Factor[Region]",
     "Child Emigration[Region] = Income Emigration[Region] * Child Migration Factor[Region]", "Child Emigration"),
])
def test_leaking_pool_fails_its_balance_naming_the_variable(tmp_path, group, old, new, blamed):
    path = broken_copy(tmp_path, old, new)
    result = by_name(run_checks(path, only=[f"mass_balance.{group}"]))[f"mass_balance.{group}"]
    # the variable written on the pool is named (laws built on it, such as Emigration's, may fail too)
    assert not result.passed and f"{blamed}: " in result.message, result.message


def test_negative_stock_fails_extremes_naming_the_stock(tmp_path):
    # the financing vehicles spend their funds and twice their borrowing: the stock is drained below
    # zero (a drained Deposits stock, the example before, now turns the run non-finite within the year)
    path = broken_copy(tmp_path, "Financing Vehicle Spending[Region] = Financing Vehicle Funds[Region] / Financing "
                       "Vehicle \\\n\tSpending Time",
                       "Financing Vehicle Spending[Region] = Financing Vehicle Funds[Region] / Financing "
                       "Vehicle \\\n\tSpending Time + 2 * Financing Vehicle Borrowing[Region]")
    results = by_name(run_checks(path, only=["extremes.baseline", "units.consistency"]))
    assert results["units.consistency"].passed
    bad = results["extremes.baseline"]
    assert not bad.passed
    assert "negative stock Financing Vehicle Funds[" in bad.message


def test_range_the_model_cannot_run_at_fails_the_bounds_sweep(tmp_path):
    # a declared lower bound of 0 for initial capital: 0^alpha makes Initial TFP infinite
    text = MODEL_TEXT
    start = text.index("Initial Capital[Region] = ")
    end = text.index("|", start)
    block = text[start:end]
    assert "billion_yuan [1,5000]" in block
    path = broken_copy(tmp_path, block, block.replace("billion_yuan [1,5000]", "billion_yuan [0,5000]"))
    # the sweep of every bound (hundreds of runs) to 1985, not 2100: the failure shows from 1978
    short = tmp_path / "short.toml"
    short.write_text(f'inherits = "{(DEFAULT_SPEC.parent.parent / "historical.toml").as_posix()}"\n'
                     "[time]\nfinal_time = 1985\n", encoding="utf-8")
    spec = spec_copy(tmp_path, (f'baseline = "{(DEFAULT_SPEC.parent.parent / "historical.toml").as_posix()}"',
                                f'baseline = "{short.as_posix()}"'))
    result = by_name(run_checks(path, only=["extremes.parameter_bounds"], spec=spec))["extremes.parameter_bounds"]
    assert not result.passed
    assert " | " not in result.message  # the one bad bound is the only failure of the sweep
    assert result.message.startswith("Initial Capital = 0 (lower bound): non-finite values in ")
    assert "from 1978" in result.message


def test_model_that_does_not_compile_fails_every_check_it_reaches(tmp_path):
    path = broken_copy(tmp_path, "National GDP = SUM(GDP[Region!])", "National GDP = SUM(GDP[Region!]) +")
    results = run_checks(path, only=["integration.time_step", "mass_balance.fiscal"])
    assert [r.passed for r in results] == [False, False]
    assert all(r.figure == "could not run" and r.message for r in results)


# ---------------------------------------------------------------- declarations can fail the model


def test_a_direction_the_model_does_not_give_fails(tmp_path):
    spec = spec_copy(tmp_path, ('relation = "lower"\n  because = "Savings feed',
                                'relation = "higher"\n  because = "Savings feed'))
    result = by_name(run_checks(only=["extremes.zero_savings"], spec=spec))["extremes.zero_savings"]
    assert not result.passed
    assert "National GDP 2050" in result.message and "expected higher" in result.message
    assert "Savings feed" in result.message  # the declared reason is quoted


def test_thresholds_are_enforced(tmp_path):
    spec = spec_copy(tmp_path, ("max_half_step_change = 0.01", "max_half_step_change = 0.001"),
                     ("max_mape = 0.035", "max_mape = 0.005"))
    results = by_name(run_checks(only=["integration.time_step", "behaviour.population"], spec=spec))
    assert not results["integration.time_step"].passed
    assert "above the declared 0.10%" in results["integration.time_step"].message
    pop = results["behaviour.population"]
    assert not pop.passed and "East" in pop.message


def test_ageing_of_the_drawn_paths_fails_the_projection_check(tmp_path):
    """The post-2015 demographic paths drawn by hand before session 20 (higher elderly mortality, slower ageing)
    leave the 15-64 share 3-4 points too high in 2040-2070 against the UN's cohorts: the check names it."""
    text = MODEL_TEXT
    for name, points in (("Birth Rate Path", "(1978,0.031),(1982,0.036),(1987,0.036),(1990,0.032),(1995,0.0255),"
                                             "(2000,0.02),(2005,0.0172),(2010,0.016),(2015,0.0165),(2030,0.0135),"
                                             "(2050,0.0145),(2100,0.015)"),
                         ("Working Age Mortality Path", "(1978,0.0028),(2000,0.002),(2015,0.0012),(2100,0.0008)"),
                         ("Elderly Mortality Path", "(1978,0.075),(2000,0.068),(2015,0.06),(2050,0.05),(2100,0.042)"),
                         ("Ageing Path", "(1978,0.0079),(1990,0.0086),(2000,0.0099),(2010,0.0115),(2015,0.014),"
                                         "(2030,0.02),(2045,0.026),(2060,0.025),(2100,0.022)")):
        text, n = re.subn(rf"^{name}\(\n.*?\)\)(?=\n\t~)", f"{name}(\n\t{points})", text, count=1,
                          flags=re.S | re.M)
        assert n == 1, name
    path = tmp_path / "drawn.mdl"
    path.write_text(text, encoding="utf-8")
    results = by_name(run_checks(path, only=["projection"]))
    assert results["projection.population"].passed      # the total stays within the UN's 95% interval
    ages = results["projection.age_structure"]
    assert not ages.passed and "15-64 2060" in ages.message and "65+ 2040" in ages.message


def test_share_tolerance_is_enforced(tmp_path):
    # with no tolerance the range of the cohorts already born in 2015 has zero width: the model's 65+ share,
    # resting on the NBS counts, rises 0.3 points less than the UN's by 2020, and the check fails
    spec = spec_copy(tmp_path, ("share_tolerance = 1.0", "share_tolerance = 0"))
    results = by_name(run_checks(only=["projection"], spec=spec))
    assert not results["projection.age_structure"].passed
    assert "65+ 2020" in results["projection.age_structure"].message


# ---------------------------------------------------------------- helpers against hand-worked values


def _ds(**arrays):
    time = np.array([2000.0, 2001.0, 2002.0])
    return xr.Dataset({k: (("time", "Region"), np.asarray(v, float)) for k, v in arrays.items()},
                      coords={"time": time, "Region": ["East", "West"]})


def test_max_relative_change_pointwise_and_signed():
    ref = _ds(a=[[1, 2], [1, 2], [1, 2]], s=[[10, -10], [0.0, 0], [-10, 10]])
    new = _ds(a=[[1, 2], [1.1, 2], [1, 2]], s=[[10, -10], [0.5, 0], [-10, 10]])
    # a: 0.1 / 1 at 2001 East; s (signed): 0.5 against the peak |s| of East, 10 -> 0.05
    assert max_relative_change(new, ref, ("a",), ()) == pytest.approx((0.1, "a[East] in 2001"))
    worst, where = max_relative_change(new, ref, ("s",), ("s",))
    assert worst == pytest.approx(0.05) and where == "s[East] in 2001"


def test_integrity_names_negative_stock_and_first_non_finite_variable():
    info = read_model_info(DEFAULT_MODEL)
    ds = _ds(**{"Modern Capital": [[1, 2], [1, -0.5], [1, 3]]}, GDP=[[1, 1], [1, np.nan], [np.nan, np.nan]],
             **{"GDP per Capita": [[1, 1], [1, 1], [np.nan, 1]], "National GDP": [[1, 1], [1, 1], [1, 1]]})
    problems = integrity_problems(ds, info)
    # GDP turns NaN first (2001); GDP per Capita only later
    assert problems[0] == "non-finite values in 2 variables from 2001, starting at GDP"
    assert problems[1] == "negative stock Modern Capital[West]: -0.5 in 2001"


# ---------------------------------------------------------------- declarations file


@pytest.mark.parametrize("edit,match", [
    (("rtol = 1e-9\n# Second", "rtol = -1\n# Second"), "mass_balance.rtol must be positive"),
    (("max_rk4_vs_euler = 0.01", "max_rk4_vs_euler = \"1%\""),
     "integration.max_rk4_vs_euler must be a number, got .1%."),
    (('relation = "zero"', 'relation = "none"'), "relation 'none' is not one of"),
    (("[mass_balance]", "[mass_balance]\nrtoll = 1"), "unknown key 'mass_balance.rtoll'"),
    (('name = "zero_lending"', 'name = "zero_savings"'), "'zero_savings' is duplicated"),
    (("first_year = 2003", "first_year = 2016"), "last_year 2015 is not after first_year 2016"),
    (("[units]", "[units\n"), "malformed TOML"),
    (("interval = 95", "interval = 90"), "projection.interval 90; valid: 80 or 95"),
    (("first_year = 2020\nlast_year = 2100", "first_year = 2010\nlast_year = 2100"),
     "projection: first_year 2010 must be after 2015"),
])
def test_bad_declarations_are_rejected_with_the_key(tmp_path, edit, match):
    with pytest.raises(CheckSpecError, match=match):
        load_spec(spec_copy(tmp_path, edit))


def test_unknown_check_name_suggests_close_match():
    with pytest.raises(SDModelError, match="did you mean 'mass_balance'"):
        run_checks(only=["mass_balanse"])


def test_unknown_variable_in_declaration_fails_that_check(tmp_path):
    spec = spec_copy(tmp_path, ('variable = "National Deposits"', 'variable = "National Depostis"'))
    result = by_name(run_checks(only=["extremes.zero_savings"], spec=spec))["extremes.zero_savings"]
    assert not result.passed and "National Depostis" in result.message


# ---------------------------------------------------------------- command line


def test_cli_prints_table_and_exits_zero(cache_dir):
    out = CliRunner().invoke(main, ["check", "--only", "units", "--only", "mass_balance.fiscal"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].split() == ["check", "result", "figure"]
    assert any(li.startswith("units.consistency") and " pass " in li for li in lines)
    assert lines[-1] == "all 3 checks passed"


def test_cli_exits_one_and_names_the_variable_on_failure(tmp_path, cache_dir):
    path = broken_copy(tmp_path, "Immigration[Dest] = SUM(Migration[Region!, Dest])",
                       "Immigration[Dest] = 1.01 * SUM(Migration[Region!, Dest])")
    out = CliRunner().invoke(main, ["check", "--only", "mass_balance", "--model", str(path)])
    assert out.exit_code == 1
    assert "mass_balance.migration" in out.output and "FAIL" in out.output
    assert "1 of 3 checks failed" in out.output and "Immigration" in out.output


def test_cli_bad_input_exits_two():
    out = CliRunner().invoke(main, ["check", "--only", "nosuch"])
    assert out.exit_code == 2 and out.output.startswith("error: unknown check 'nosuch'")
    listing = CliRunner().invoke(main, ["check", "--list"])
    assert listing.exit_code == 0 and "extremes.closed_migration" in listing.output.split()
