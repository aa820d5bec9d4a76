"""Rolling-origin backtest (sd_model/calibration/backtest.py) on synthetic data, against calibrations by hand."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from test_calibration import CONFIG, NOISE, engine, synthetic, write  # noqa: F401  (engine: fixture)

from cli import main
from sd_model.calibration import CalibrationError, calibrate
from sd_model.calibration.backtest import backtest, summary


@pytest.fixture(scope="module")
def obs(engine):  # noqa: F811
    return synthetic(engine, NOISE)


def test_each_origin_is_a_fit_to_that_year_scored_on_its_next_years(tmp_path, obs):
    res = backtest(write(tmp_path, CONFIG), [1990, 1985], horizon=3, observations=obs, out=tmp_path / "bt")
    assert list(res.fits) == [1985, 1990]
    t = res.table
    assert set(t["origin"]) == {1985, 1990}
    for y in (1985, 1990):
        rows = t[t["origin"] == y]
        assert set(rows["first_year"]) == {y + 1} and set(rows["last_year"]) == {y + 3} and set(rows["n"]) == {3}
        # the same fit made directly, scored by hand on the three years after the origin
        direct = calibrate(write(tmp_path, CONFIG), observations=obs, until=y)
        np.testing.assert_allclose(res.fits[y].x, direct.x, rtol=0, atol=0)
        s = next(s for s in direct.problem.series if s.spec.name == "GDP")
        ahead = (s.years > y) & (s.years <= y + 3)
        sim, data = np.exp(direct.simulated["GDP"][ahead, 1]), np.exp(s.obs[ahead, 1])
        row = rows[(rows["series"] == "GDP") & (rows["region"] == "Central")].iloc[0]
        assert row["mape"] == pytest.approx(np.mean(np.abs(sim / data - 1)), rel=1e-12)
        origin, back = np.exp(s.obs[s.years == y, 1][0]), np.exp(s.obs[s.years == y - 5, 1][0])
        naive = origin * (origin / back) ** ((s.years[ahead] - y) / 5)
        assert row["naive_mape"] == pytest.approx(np.mean(np.abs(naive / data - 1)), rel=1e-12)
        assert row["mean_error"] == pytest.approx(np.mean(sim - data), rel=1e-12)
    # written: one calibration folder per origin, the tables, the manifest naming what it wrote
    out = tmp_path / "bt"
    for y in (1985, 1990):
        assert (out / "fits" / f"until{y}" / "calibrated.toml").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["written_by"] == "backtest"
    assert set(manifest["written"]) == {"backtest.csv", "backtest.md", "plots/gdp.png", "plots/population.png"}
    assert manifest["backtest"]["origins"] == [1985, 1990] and manifest["model"]["sha256"]
    assert "| GDP | Central | 2 |" in (out / "backtest.md").read_text()  # summary: two origins


def test_resume_replays_the_finished_fits_and_a_second_run_needs_resume_or_force(tmp_path, obs):
    out = tmp_path / "bt"
    first = backtest(write(tmp_path, CONFIG), [1990], horizon=2, observations=obs, out=out)
    with pytest.raises(CalibrationError, match="holds a backtest; continue .* with --resume"):
        backtest(write(tmp_path, CONFIG), [1990], horizon=2, observations=obs, out=out)
    again = backtest(write(tmp_path, CONFIG), [1990], horizon=2, observations=obs, out=out, resume=True)
    assert again.fits[1990].runs == 0 and again.fits[1990].replayed > 0
    np.testing.assert_array_equal(again.table["mape"].to_numpy(), first.table["mape"].to_numpy())
    # a file the backtest did not write is never deleted without --force
    (out / "notes.txt").write_text("mine")
    with pytest.raises(CalibrationError, match="holds notes.txt, which sd-model backtest did not write"):
        backtest(write(tmp_path, CONFIG), [1990], horizon=2, observations=obs, out=out, resume=True)
    assert (out / "notes.txt").read_text() == "mine"


def test_summary_counts_the_origins_where_the_model_beats_the_naive_forecast():
    import pandas as pd

    t = pd.DataFrame({"series": ["g"] * 3, "region": ["East"] * 3, "origin": [2000, 2005, 2010],
                      "mape": [0.02, 0.05, 0.1], "naive_mape": [0.04, 0.04, np.nan],
                      "relative_mape": [0.5, 1.25, np.nan]})
    s = summary(t).iloc[0]
    assert (s["origins"], s["model_better"], s["median_relative_mape"]) == (2, 1, pytest.approx(0.875))


@pytest.mark.parametrize("args, message", [
    (["--origins", "1980"], "origin 1980 is outside 1983-1994"),
    (["--origins", "1995"], "origin 1995 is outside 1983-1994"),
    (["--origins", "19x0"], "give years separated by commas"),
    (["--origins", "1990", "--horizon", "0"], "0 is not in the range x>=1"),
])
def test_bad_origins_are_clear_errors(tmp_path, args, message):
    r = CliRunner().invoke(main, ["backtest", "--config", str(write(tmp_path, CONFIG)), "--out", str(tmp_path / "o"),
                                  "--workers", "1", "--quiet", *args])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()


def test_an_interrupted_backtest_resumes_without_redoing_the_finished_origins(tmp_path, obs, monkeypatch):
    import sd_model.calibration.backtest as bt

    whole = backtest(write(tmp_path, CONFIG), [1985, 1990], horizon=3, observations=obs)
    real, calls = bt.calibrate, []

    def interrupted(*args, **kwargs):
        calls.append(kwargs["until"])
        if kwargs["until"] == 1990:
            raise KeyboardInterrupt  # Ctrl-C while the second origin is being fitted
        return real(*args, **kwargs)

    monkeypatch.setattr(bt, "calibrate", interrupted)
    out = tmp_path / "bt"
    with pytest.raises(KeyboardInterrupt):
        backtest(write(tmp_path, CONFIG), [1985, 1990], horizon=3, observations=obs, out=out)
    assert calls == [1985, 1990] and (out / "fits" / "until1985" / "calibrated.toml").is_file()
    assert not (out / "backtest.csv").exists()
    monkeypatch.setattr(bt, "calibrate", real)
    resumed = backtest(write(tmp_path, CONFIG), [1985, 1990], horizon=3, observations=obs, out=out, resume=True)
    assert resumed.fits[1985].runs == 0 and resumed.fits[1985].replayed > 0  # finished work kept
    assert resumed.fits[1990].runs > 0
    np.testing.assert_array_equal(resumed.table["mape"].to_numpy(), whole.table["mape"].to_numpy())


REAL = """\
name = "small"
base = "{base}"
[span]
start = 1978
end = 1995
[optimizer]
starts = 1
max_nfev = 4
seed = 1
[parameters]
"Capital Elasticity" = {{ lower = 0.3, upper = 0.7 }}
[[series]]
name = "real GDP"
model = "GDP"
data = "gdp_real_2000"
transform = "log"
normalise = "error"
error = 0.05
"""


def test_backtest_command_on_the_real_data(tmp_path):
    from pathlib import Path

    base = Path(__file__).resolve().parent.parent / "experiments" / "historical.toml"
    config = write(tmp_path, REAL.format(base=base.as_posix()), "small.toml")
    out = tmp_path / "bt"
    args = ["backtest", "--config", str(config), "--origins", "1990", "--horizon", "3", "--out", str(out),
            "--workers", "1", "--quiet"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "origins 1990; horizon 3 years; the model beats the naive forecast in" in r.output and "of 4 fitted" in r.output
    table = (out / "backtest.csv").read_text().splitlines()
    assert table[0].startswith("origin,series,region,first_year,last_year,n,mape,naive_mape") and len(table) == 5
    again = CliRunner().invoke(main, args)  # a finished backtest is not overwritten without --resume or --force
    assert again.exit_code == 2 and "holds a backtest" in again.output
