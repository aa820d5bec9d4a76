"""Tests of sd_model.experiments and the ``sd-model compare`` path.

Table values are checked against hand-built Datasets (numbers known in advance) or against
direct xarray selections; ensembles run the shipped model with a few draws and short runs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

from cli import main
from sd_model.draws import draws_from_calibration, read_calibration_estimates
from sd_model.errors import ScenarioError, SDModelError
from sd_model.experiments import drop_failed, prepare_scenarios, run_ensembles
from sd_model.indicators import beat_shares, effects, ensemble_table, indicator_table
from sd_model.sampling import load_ranges, sample_parameters
from sd_model.run import run_scenario
from sd_model.scenario import Scenario, resolve_scenario

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"

REGIONS = ["East", "Central", "West", "Northeast"]
FORWARD = ["market_integration", "spatial_organisation", "cooperation", "aid", "governance", "differential_finance",
           "credit_guarantee", "ecological_compensation", "finance_package", "market_package", "transfer_package",
           "coordinated_strong"]
TIMES = np.arange(2000.0, 2051.0)


def _run(ew: float, theil: float, gdp: float, members: int | None = None, rng=None) -> xr.Dataset:
    """A fake results Dataset: constant indicators over time (plus noise per member)."""
    shape = (len(TIMES),) if members is None else (members, len(TIMES))
    dims = ("time",) if members is None else ("member", "time")

    def series(v):
        noise = 0 if rng is None else rng.normal(0, 0.01 * v, (members, 1))
        return xr.DataArray(np.full(shape, v) + noise, dims=dims)

    ds = xr.Dataset({"East West Ratio": series(ew), "Theil Index": series(theil), "National GDP": series(gdp),
                     "GDP per Capita": xr.DataArray(np.ones((*shape, 4)), dims=(*dims, "Region"))},
                    coords={"time": TIMES, "Region": REGIONS})
    if members is not None:
        ds = ds.assign_coords(member=np.arange(members))
    return ds


# ---------------------------------------------------------------- scenario checks


def test_every_shipped_scenario_validates_and_starts_its_levers_within_the_run(simlin_engine):
    info = simlin_engine.info
    scs = prepare_scenarios(sorted(EXPERIMENTS.glob("*.toml")), info)
    assert all(s.description for s in scs)
    forward = [s for s in scs if s.name in FORWARD]
    assert sorted(s.name for s in forward) == sorted(FORWARD)
    for sc in forward:  # each forward strategy starts at least one mechanism lever in 2025
        levers = [k[:-len(" Intensity")] for k, v in sc.params.items() if k.endswith(" Intensity") and v
                  and k not in ("East First Intensity", "Balanced Programme Intensity")]
        assert levers and all(sc.params[f"{lever} Start Year"] == 2025 for lever in levers), sc.name


def test_lever_starting_after_the_run_is_an_error(simlin_engine):
    info = simlin_engine.info
    late = Scenario(name="late", params={"Aid Start Year": 2060, "Aid Intensity": 1}, final_time=2050)
    late.resolve(info)  # a run on its own may end before a lever starts
    with pytest.raises(ScenarioError, match=r"lever 'Aid' starts in 2060, outside the run 1978-2050"):
        late.resolve(info, levers_in_run=True)
    Scenario(params={"Aid Start Year": 2060}, final_time=2050).resolve(info, levers_in_run=True)
    west = Scenario(params={"Balanced Programme Start Year": {"West": 2060}}, final_time=2050)
    with pytest.raises(ScenarioError, match=r"'Balanced Programme\[West\]' starts in 2060"):
        west.resolve(info, levers_in_run=True)


def test_until_before_a_lever_start_is_rejected_for_a_shipped_file(simlin_engine):
    with pytest.raises(ScenarioError, match=r"aid\.toml: lever 'Aid' starts in 2025, outside the run 1978-2020"):
        prepare_scenarios(["aid"], simlin_engine.info, until=2020)


@pytest.mark.parametrize("text, message", [
    ('inherits = "historical.toml"\n[levers."Aidd"]\nstart = 2030\nintensity = 1\n',
     r"unknown lever 'Aidd'; did you mean 'Aid'\?"),
    ('inherits = "other.toml"\n', r"inheritance loop: bad\.toml -> other\.toml -> bad\.toml"),
    ('[levers."Aid"]\nstart = 1950\nintensity = 1\n', r"Aid Start Year = 1950 is outside the range"),
])
def test_bad_scenario_files_give_one_line_errors(simlin_engine, tmp_path, text, message):
    (tmp_path / "historical.toml").write_text((EXPERIMENTS / "historical.toml").read_text())
    (tmp_path / "other.toml").write_text('inherits = "bad.toml"\n')
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(SDModelError, match=message) as err:
        prepare_scenarios([tmp_path / "bad.toml"], simlin_engine.info)
    assert "\n" not in str(err.value)
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and result.output.startswith("error:")
    assert not (tmp_path / "o").exists()


def test_scenario_names_resolve_and_duplicates_are_refused(simlin_engine):
    assert resolve_scenario("historical") == EXPERIMENTS / "historical.toml"
    with pytest.raises(ScenarioError, match="scenario file not found; give a path or one of: aid, balanced"):
        resolve_scenario("no_such_scenario")
    with pytest.raises(ScenarioError, match="two scenarios share the name 'aid'"):
        prepare_scenarios(["aid", "aid"], simlin_engine.info)


# ---------------------------------------------------------------- tables (hand-built data)


def test_indicator_table_values_and_differences_from_the_first():
    runs = {"base": _run(1.5, 0.02, 1000.0), "alt": _run(1.2, 0.01, 1100.0)}
    table = indicator_table(runs, years=(2025, 2050, 2100))
    assert sorted(table["year"].unique()) == [2025, 2050]  # 2100 lies outside the runs
    alt = table[(table["scenario"] == "alt") & (table["year"] == 2050)].set_index("indicator")
    assert alt.loc["East West Ratio", "value"] == pytest.approx(1.2)
    assert alt.loc["East West Ratio", "difference"] == pytest.approx(-0.3)
    assert alt.loc["National GDP", "percent"] == pytest.approx(10.0)
    assert alt.loc["GDP per Capita[West]", "region"] == "West"
    assert (table[table["scenario"] == "base"]["difference"] == 0).all()
    assert set(indicator_table(runs, years=(2100,))["year"]) == {2050}  # none inside: the last year


def test_ensemble_table_quantiles_are_those_of_the_draws_and_paired():
    rng = np.random.default_rng(0)
    ens = {"a": _run(1.5, 0.02, 1000.0, 200, rng), "b": _run(1.2, 0.01, 1100.0, 200, rng)}
    table = ensemble_table(ens, years=(2050,))
    row = table[(table["scenario"] == "b") & (table["indicator"] == "Theil Index")].iloc[0]
    vb = ens["b"]["Theil Index"].sel(time=2050).to_numpy()
    va = ens["a"]["Theil Index"].sel(time=2050).to_numpy()
    assert row["n"] == 200
    assert row["median"] == pytest.approx(np.quantile(vb, 0.5))
    assert row["p05"] == pytest.approx(np.quantile(vb, 0.05))
    assert row["diff_p95"] == pytest.approx(np.quantile(vb - va, 0.95))
    with pytest.raises(SDModelError, match="other members"):
        ensemble_table({"a": ens["a"], "b": ens["b"].isel(member=slice(0, 100))})


def test_beat_shares_count_draws_with_direction_and_ties():
    a = _run(1.0, 0.01, 100.0, 10)
    b = a.copy(deep=True)
    # East/West ratio (lower is better): A better in 7 draws, tied in 1, worse in 2
    b["East West Ratio"][:7] += 0.1
    b["East West Ratio"][8:] -= 0.1
    # National GDP (higher is better): B better in 4 draws, tied in the rest
    b["National GDP"][:4] += 5.0
    shares = beat_shares({"A": a, "B": b}, years=(2050,)).set_index("indicator")
    assert shares.loc["East West Ratio", ["a_better", "b_better", "tied"]].tolist() == [0.7, 0.2, 0.1]
    assert shares.loc["National GDP", ["a_better", "b_better", "tied"]].tolist() == [0.0, 0.4, 0.6]
    assert "GDP Share" not in shares.index  # no direction: never ranked


def test_effects_with_bands_and_drop_failed():
    rng = np.random.default_rng(1)
    runs = {"unbalanced": _run(3.0, 0.1, 1000.0), "historical": _run(2.0, 0.05, 1010.0)}
    ens = {"unbalanced": _run(3.0, 0.1, 1000.0, 50, rng), "historical": _run(2.0, 0.05, 1010.0, 50, rng)}
    ens = {k: v.assign(failed=("member", np.arange(50) == 3 if k == "historical" else np.zeros(50, bool)))
           for k, v in ens.items()}
    kept, dropped = drop_failed(ens)
    assert dropped == 1 and kept["unbalanced"].sizes["member"] == 49 and "failed" not in kept["historical"]
    eff = effects(runs, "unbalanced", 2015, ("East West Ratio",), kept).iloc[0]
    assert eff["difference"] == pytest.approx(-1.0) and eff["percent"] == pytest.approx(-100 / 3)
    d = (kept["historical"] - kept["unbalanced"])["East West Ratio"].sel(time=2015).to_numpy()
    assert eff["diff_p05"] == pytest.approx(np.quantile(d, 0.05))
    assert eff["improved"] == 1.0


# ---------------------------------------------------------------- the compare path on the model


def _small_case(tmp_path: Path) -> list[str]:
    (tmp_path / "base.toml").write_text('name = "base"\n[time]\nfinal_time = 2030\n')
    (tmp_path / "aid.toml").write_text('name = "aid"\ninherits = "base.toml"\n'
                                       '[levers."Aid"]\nstart = 2025\nintensity = 2\n')
    (tmp_path / "ranges.toml").write_text('[ranges]\n"Capital Elasticity" = [0.33, 0.37]\n'
                                          '"Frontier Growth Rate" = [0.008, 0.012]\n')
    return [str(tmp_path / "base.toml"), str(tmp_path / "aid.toml"), "--ranges", str(tmp_path / "ranges.toml"),
            "--no-progress"]


def test_same_seed_gives_identical_ensembles_and_another_seed_does_not(tmp_path, simlin_engine):
    _small_case(tmp_path)
    info = simlin_engine.info
    scs = prepare_scenarios([tmp_path / "base.toml", tmp_path / "aid.toml"], info)
    ranges = load_ranges(tmp_path / "ranges.toml", info)
    first, again, other = (sample_parameters(ranges, 6, seed) for seed in (7, 7, 8))
    pd.testing.assert_frame_equal(first, again)
    assert not np.array_equal(first.to_numpy(), other.to_numpy())
    one = run_ensembles(scs, first, ("National GDP", "Theil Index"), workers=2, progress=False)
    two = run_ensembles(scs, again, ("National GDP", "Theil Index"), workers=1, progress=False)
    for name in one:
        xr.testing.assert_identical(one[name], two[name])
    assert not np.array_equal(one["aid"]["National GDP"].to_numpy(),
                              run_ensembles(scs[1:], other, ("National GDP",), workers=1,
                                            progress=False)["aid"]["National GDP"].to_numpy())


def _calibration_folder(tmp_path: Path) -> Path:
    """A calibration output folder in the layout 'sd-model calibrate' writes (parameters.csv)."""
    folder = tmp_path / "calibration"
    folder.mkdir()
    pd.DataFrame({
        "parameter": ["Capital Elasticity", "Regional Savings Factor[West]", "Collateral Sensitivity"],
        "units": ["dmnl"] * 3, "lower": [0.3, 0.3, 0.0], "upper": [0.7, 1.0, 5.0], "start": [0.35, 0.75, 0.11],
        "estimate": [0.36, 0.74, 0.2], "std_error": [0.015, np.inf, 0.03],
        "ci_low": [0.34, -np.inf, 0.1], "ci_high": [0.40, np.inf, 0.25],
        "flag": ["", "not identified (JᵀJ singular)", ""]}).to_csv(folder / "parameters.csv", index=False)
    return folder


def test_draws_from_calibration_follow_the_95_percent_bounds(tmp_path, simlin_engine):
    estimates = read_calibration_estimates(_calibration_folder(tmp_path))
    draws, notes = draws_from_calibration(estimates, 4000, 3, simlin_engine.info)
    ce = draws["Capital Elasticity"].to_numpy()
    # split normal: 2.5% and 97.5% quantiles at the bounds, median at the estimate
    np.testing.assert_allclose(np.quantile(ce, [0.025, 0.5, 0.975]), [0.34, 0.36, 0.40], atol=1e-3)
    me = draws["Collateral Sensitivity"].to_numpy()
    np.testing.assert_allclose(np.quantile(me, [0.025, 0.5, 0.975]), [0.1, 0.2, 0.25], atol=1e-3)
    assert me.min() >= 0.0  # clipped to the declared range [0, 5]
    assert (draws["Regional Savings Factor[West]"] == 0.74).all()
    assert notes == ["Regional Savings Factor[West]: no valid 95% bounds (not identified (JᵀJ singular)); "
                     "held at its estimate"]
    # with the estimates' correlation (Gaussian copula): scores correlate, quantiles still match the bounds
    corr = pd.DataFrame([[1.0, 0.8], [0.8, 1.0]], index=["Capital Elasticity", "Collateral Sensitivity"],
                        columns=["Capital Elasticity", "Collateral Sensitivity"])
    draws, _ = draws_from_calibration(estimates, 4000, 3, simlin_engine.info, corr)
    ce, me = draws["Capital Elasticity"].to_numpy(), draws["Collateral Sensitivity"].to_numpy()
    np.testing.assert_allclose(np.quantile(ce, [0.025, 0.5, 0.975]), [0.34, 0.36, 0.40], atol=3e-3)
    np.testing.assert_allclose(np.quantile(me, [0.025, 0.5, 0.975]), [0.1, 0.2, 0.25], atol=3e-3)
    ranks = pd.DataFrame({"ce": ce, "me": me}).rank()
    assert ranks.corr().iloc[0, 1] == pytest.approx(6 / np.pi * np.arcsin(0.8 / 2), abs=0.03)  # Spearman
    bad = tmp_path / "bad"
    bad.mkdir()
    pd.DataFrame({"parameter": ["Capital Elasticity"], "estimate": [0.5], "ci_low": [0.34],
                  "ci_high": [0.40]}).to_csv(bad / "parameters.csv", index=False)
    with pytest.raises(SDModelError, match="'Capital Elasticity' has its estimate outside its 95% bounds"):
        read_calibration_estimates(bad)


def test_compare_outputs_common_draws_and_calibrated_single_runs(tmp_path, simlin_engine):
    scenarios = _small_case(tmp_path)[:2]
    out = tmp_path / "cmp"
    result = CliRunner().invoke(main, ["compare", *scenarios, "--samples", "5", "--workers", "1", "--no-progress",
                                       "--from-calibration", str(_calibration_folder(tmp_path)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "note: Regional Savings Factor[West]: no valid 95% bounds" in result.output
    for name in ("report.html", "indicators.csv", "findings.csv", "indicators_ensemble.csv", "beat_shares.csv",
                 "parameter_sets.csv", "manifest.json", "runs/base.parquet", "ensembles/aid.parquet"):
        assert (out / name).is_file(), name
    report = (out / "report.html").read_text(encoding="utf-8")
    assert str(tmp_path) not in report  # paths relative to the output folder, not absolute
    assert "split normal from the 95% bounds in ../calibration" in report
    table = pd.read_csv(out / "indicators.csv")
    assert set(table["year"]) == {2015, 2025}  # the only table years within 1978-2030
    # the single runs use the calibration's estimates
    single = run_scenario(Scenario(final_time=2030, params={
        "Capital Elasticity": 0.36, "Regional Savings Factor": {"West": 0.74}, "Collateral Sensitivity": 0.2}),
        simlin_engine, ["National GDP"])
    gdp = table[(table["scenario"] == "base") & (table["indicator"] == "National GDP") & (table["year"] == 2025)]
    gdp = gdp["value"].iloc[0]
    assert gdp == pytest.approx(float(single["National GDP"].sel(time=2025)), rel=1e-12)
    base = pd.read_parquet(out / "ensembles" / "base.parquet")
    aid = pd.read_parquet(out / "ensembles" / "aid.parquet")
    # before the aid lever starts the two scenarios are the same run in every draw (common draws)
    sel = (base["time"] <= 2025) & (base["variable"] == "National GDP")
    np.testing.assert_array_equal(base.loc[sel, "value"].to_numpy(), aid.loc[sel, "value"].to_numpy())
    assert base["member"].nunique() == 5
    assert (base["time"] > 2025).any() and not np.array_equal(
        base.loc[base["time"] == 2030, "value"], aid.loc[aid["time"] == 2030, "value"])


def test_interrupted_compare_keeps_finished_ensembles_and_resumes(tmp_path, monkeypatch):
    import sd_model.ensemble as ensemble

    args = [*_small_case(tmp_path), "--samples", "4", "--workers", "1"]
    CliRunner().invoke(main, ["compare", *args, "--out", str(tmp_path / "reference")])
    calls = []
    real_chunk = ensemble.run_chunk

    def interrupt_second(job, index, values):
        calls.append(index)
        if len(calls) == 2:  # the second scenario's ensemble: the user presses Ctrl-C
            raise KeyboardInterrupt
        return real_chunk(job, index, values)

    monkeypatch.setattr(ensemble, "run_chunk", interrupt_second)
    out = tmp_path / "cmp"
    result = CliRunner().invoke(main, ["compare", *args, "--out", str(out)])
    assert result.exit_code == 130 and not out.exists()
    finished = {p.parent.name.split("-")[0] for p in (tmp_path / ".cmp.store").glob("*/chunk-*.nc")}
    assert finished == {"base"}  # the finished ensemble was kept on disk

    calls.clear()
    monkeypatch.setattr(ensemble, "run_chunk", lambda *a: (calls.append(a[1]), real_chunk(*a))[1])
    result = CliRunner().invoke(main, ["compare", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1  # only the unfinished scenario ran again
    for name in ("base", "aid"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / "ensembles" / f"{name}.parquet"),
                                      pd.read_parquet(tmp_path / "reference" / "ensembles" / f"{name}.parquet"))
