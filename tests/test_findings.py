"""``sd-model findings``: the README's single-run figures, re-measured in one command.

The reference values are computed here from the runs' own variables (or from a small synthetic
Dataset with known growth rates), never by the functions under test. The command runs once, in a
module-scoped fixture, and the tests read what it wrote.
"""
from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

from cli import main
from sd_model.findings import (BALANCED_VARIANTS, COLUMNS, LEVERS, compound_growth, figure_row, growth_shares,
                               mean_share)
from sd_model.resources import DEFAULT_MODEL
from sd_model.run import run_scenario
from sd_model.scenario import load_scenario

EXPERIMENTS = DEFAULT_MODEL.parent.parent / "experiments"


@pytest.fixture(scope="module")
def written(cache_dir, tmp_path_factory):
    """The command's output folder and its findings.csv (one run of the command for the module)."""
    out = tmp_path_factory.mktemp("findings") / "findings"
    res = CliRunner().invoke(main, ["findings", "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "figures from" in res.output
    return out, pd.read_csv(out / "findings.csv", keep_default_na=False)


@pytest.fixture(scope="module")
def runs(simlin_engine, historical):
    return {"historical": historical,
            **{name: run_scenario(load_scenario(EXPERIMENTS / f"{name}.toml"), simlin_engine)
               for name in ("unbalanced", "no_siphoning")}}


def _pick(table: pd.DataFrame, finding: str, quantity: str, year, region: str = "", variant: str = "",
          scenario: str | None = None) -> pd.Series:
    where = {"finding": finding, "quantity": quantity, "year": year, "region": region, "variant": variant}
    if scenario is not None:
        where["scenario"] = scenario
    return figure_row(table, **where)


# --- pure functions on synthetic data ---------------------------------------------------------------------------

def _synthetic(alpha: float = 0.4, g_k: float = 0.10, g_l: float = 0.01, g_a: float = 0.02) -> xr.Dataset:
    """Four regions whose capital grows exactly g_k a year, labour g_l and TFP g_a; output Cobb-Douglas.

    Every region's series grows at the same rate (its level differs), so the national sums grow at it too.
    """
    t = np.arange(2000, 2011, dtype=float)
    n = t - 2000
    scale = np.array([1.0, 0.5, 0.4, 0.2])
    k = np.outer((1 + g_k) ** n, 100.0 * scale)
    lab = np.outer((1 + g_l) ** n, 10.0 * scale)
    y = np.outer((1 + g_a) ** n, np.ones(4)) * k ** alpha * lab ** (1 - alpha)
    dims, coords = ("time", "Region"), {"time": t, "Region": ["East", "Central", "West", "Northeast"]}
    return xr.Dataset({"GDP": (dims, y), "Effective Capital": (dims, k), "Effective Labour": (dims, lab),
                       "Capital Elasticity": ("time", np.full(t.size, alpha))}, coords=coords)


def test_growth_shares_of_a_synthetic_economy_with_known_rates():
    alpha, g_k, g_l, g_a = 0.4, 0.10, 0.01, 0.02
    ds = _synthetic(alpha, g_k, g_l, g_a)
    g_y = math.log(1 + g_a) + alpha * math.log(1 + g_k) + (1 - alpha) * math.log(1 + g_l)
    got = growth_shares(ds, [(2000, 2010)]).iloc[0]  # alpha read from the Dataset's Capital Elasticity
    assert got["output"] == pytest.approx(100 * g_y)
    assert got["capital_share"] == pytest.approx(100 * alpha * math.log(1.10) / g_y)
    assert got["labour_share"] == pytest.approx(100 * (1 - alpha) * math.log(1.01) / g_y)
    assert got["residual_share"] == pytest.approx(100 * math.log(1.02) / g_y)
    assert got[["capital_share", "labour_share", "residual_share"]].sum() == pytest.approx(100)
    assert growth_shares(ds, [(2000, 2010)], alpha=0.5).iloc[0]["capital_share"] == pytest.approx(
        100 * 0.5 * math.log(1.10) / g_y)


def test_compound_growth_and_mean_share_on_known_series():
    ds = _synthetic()
    k = ds["Effective Capital"].sum("Region")
    assert float(compound_growth(k, 2002, 2007)) == pytest.approx(10.0)
    ds["Outflow"] = ds["GDP"] * xr.DataArray(np.arange(11.0), dims="time", coords={"time": ds["time"]}) / 100
    share = mean_share(ds, "Outflow", 2003, 2005)  # shares 3, 4, 5% in the three whole years
    np.testing.assert_allclose(share.values, [4.0] * 4)
    with pytest.raises(Exception, match="no saved point"):
        compound_growth(k, 2002, 2020)


# --- the command's figures against independent arithmetic on the runs ------------------------------------------

def test_the_table_has_one_row_per_figure(written):
    _, table = written
    assert list(table.columns) == COLUMNS
    keys = ["finding", "quantity", "scenario", "reference", "variant", "region", "year"]
    assert not table.duplicated(keys).any()
    assert set(table["finding"]) == {"historical run", "balanced vs unbalanced", "no siphoning", "forward levers",
                                     "credit rationing"}
    assert set(table.loc[table["finding"] == "balanced vs unbalanced", "variant"]) == set(BALANCED_VARIANTS)
    assert set(table.loc[table["finding"] == "forward levers", "scenario"]) == set(LEVERS)


def test_historical_figures(written, historical):
    _, table = written
    gdp = historical["National GDP"]
    a, b = float(gdp.sel(time=2010)), float(gdp.sel(time=2015))
    row = _pick(table, "historical run", "National GDP growth (compound)", "2010-2015")
    assert float(row["value"]) == pytest.approx(100 * ((b / a) ** (1 / 5) - 1), rel=1e-9)
    y, k, n = (historical[v].sum("Region") for v in ("GDP", "Effective Capital", "Effective Labour"))
    alpha = float(historical["Capital Elasticity"].isel(time=0))

    def g(x):
        return math.log(float(x.sel(time=2015)) / float(x.sel(time=1978)))
    row = _pick(table, "historical run", "growth accounting: share of capital", "1978-2015")
    assert float(row["value"]) == pytest.approx(100 * alpha * g(k) / g(y), rel=1e-9)
    row = _pick(table, "historical run", "growth accounting: share of labour with schooling", "1978-2015")
    assert float(row["value"]) == pytest.approx(100 * (1 - alpha) * g(n) / g(y), rel=1e-9)
    pc = historical["GDP per Capita"].sel(time=2015)
    row = _pick(table, "historical run", "East West Ratio", 2015)
    assert float(row["value"]) == pytest.approx(float(pc.sel(Region="East") / pc.sel(Region="West")), rel=1e-9)
    tfp = historical["TFP"].sel(time=2015, Region="East") / historical["Frontier TFP"].sel(time=2015)
    row = _pick(table, "historical run", "TFP Relative to Frontier", 2015, region="East")
    assert float(row["value"]) == pytest.approx(float(tfp), rel=1e-9)


def test_2015_gdp_against_the_data(written, historical):
    from sd_model.data import load_observations

    _, table = written
    data = load_observations()["gdp_real_2000"].sel(year=2015)
    model = historical["GDP"].sel(time=2015)
    row = _pick(table, "historical run", "GDP against the data", 2015, region="West")
    west = float(model.sel(Region="West")) / float(data.sel(region="West"))
    assert float(row["percent"]) == pytest.approx(100 * (west - 1), rel=1e-9)
    row = _pick(table, "historical run", "GDP against the data", 2015)
    assert float(row["percent"]) == pytest.approx(100 * (float(model.sum()) / float(data.sum()) - 1), rel=1e-9)


def test_balanced_against_unbalanced_in_2015(written, runs):
    _, table = written
    pc = {k: runs[k]["GDP per Capita"].sel(time=2015) for k in ("unbalanced", "historical")}
    ratio = {k: float(v.sel(Region="East") / v.sel(Region="West")) for k, v in pc.items()}
    row = _pick(table, "balanced vs unbalanced", "East West Ratio", 2015)
    assert float(row["value"]) == pytest.approx(ratio["unbalanced"], rel=1e-9)
    assert float(row["reference_value"]) == pytest.approx(ratio["historical"], rel=1e-9)
    assert float(row["percent"]) == pytest.approx(100 * (ratio["unbalanced"] / ratio["historical"] - 1), rel=1e-9)
    gdp = {k: float(runs[k]["National GDP"].sel(time=2015)) for k in ("unbalanced", "historical")}
    row = _pick(table, "balanced vs unbalanced", "National GDP", 2015)
    assert float(row["difference"]) == pytest.approx(gdp["unbalanced"] - gdp["historical"], rel=1e-9)
    # a variant differs from the runs as they are (its parameters are laid over both runs)
    off = _pick(table, "balanced vs unbalanced", "East West Ratio", 2015, variant="spillovers off")
    assert float(off["reference_value"]) != pytest.approx(ratio["historical"], rel=1e-3)


def test_no_siphoning_loans_and_the_historical_outflows(written, runs):
    _, table = written
    loans = {k: runs[k]["Loans"].sel(time=2015, Region="East") for k in ("no_siphoning", "historical")}
    row = _pick(table, "no siphoning", "Loans", 2015, region="East")
    assert float(row["percent"]) == pytest.approx(100 * float(loans["no_siphoning"] / loans["historical"] - 1),
                                                  rel=1e-9)
    h = runs["historical"]
    yearly = [float(h["Net Credit Outflow"].sel(time=y, Region="West") / h["GDP"].sel(time=y, Region="West"))
              for y in range(2003, 2016)]
    row = _pick(table, "no siphoning", "Net Credit Outflow / GDP (mean)", "2003-2015", region="West")
    assert float(row["value"]) == pytest.approx(100 * sum(yearly) / len(yearly), rel=1e-9)


def test_credit_rationing_is_new_loans_over_credit_demand(written, historical):
    """Gross new loans over the credit demanded, by hand from the historical run's two variables."""
    _, table = written
    for year in (1985, 2015):
        loans = historical["New Loans"].sel(time=year)
        demand = historical["Credit Demand"].sel(time=year)
        for i, region in enumerate(["East", "Central", "West", "Northeast"]):
            row = _pick(table, "credit rationing", "New Loans / Credit Demand", year, region=region)
            assert float(row["value"]) == pytest.approx(float(loans.values[i]) / float(demand.values[i]), rel=1e-9)
        row = _pick(table, "credit rationing", "National New Lending / National Credit Demand", year)
        expected = float(historical["National New Lending"].sel(time=year) / historical["National Credit Demand"].sel(
            time=year))
        assert float(row["value"]) == pytest.approx(expected, rel=1e-9)
        assert float(row["value"]) <= 1 + 1e-12   # the short side decides: never more than demanded nationally
        private = sum(historical[v].sel(time=year) for v in ("Self Financed Investment", "Credit Financed Investment",
                                                             "Securities Financed Investment"))
        expected = (private / historical["Desired Investment"].sel(time=year)).sel(Region="Northeast")
        row = _pick(table, "credit rationing", "private investment / Desired Investment", year, region="Northeast")
        assert float(row["value"]) == pytest.approx(float(expected), rel=1e-9)


def test_aid_shares_and_the_land_quota(written, simlin_engine, historical):
    _, table = written
    aid = run_scenario(load_scenario(EXPERIMENTS / "aid.toml"), simlin_engine)
    shares = [float(_pick(table, "forward levers", "Aid Allocation Share", 2030, region=r)["value"])
              for r in ("East", "Central", "West", "Northeast")]
    np.testing.assert_allclose(shares, 100 * aid["Aid Allocation Share"].sel(time=2030).values, rtol=1e-9)
    assert sum(shares) == pytest.approx(100) and shares[0] == 0   # the East is a donor, not a receiver
    row = _pick(table, "forward levers", "largest Land Conversion / Land Supply Quota (any region, any year)",
                "1978-2100", scenario="spatial_organisation")
    used = (historical["Land Conversion"] / historical["Land Supply Quota"]).max()
    assert float(row["reference_value"]) == pytest.approx(100 * float(used), rel=1e-9)


def test_outputs_and_manifest(written):
    out, table = written
    assert sorted(p.name for p in out.iterdir()) == ["findings.csv", "findings.md", "manifest.json"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["sha256"] == hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest()
    assert manifest["written_by"] == "findings" and manifest["engine"] == "simlin"
    assert {"historical", "unbalanced", "no_siphoning", *LEVERS} <= set(manifest["scenarios"])
    assert manifest["variants"]["spillovers off"] == {"Coastal Opening Boost": 0.0}
    assert manifest["figures"] == len(table)
    text = (out / "findings.md").read_text()
    for heading in ("## historical run", "## balanced vs unbalanced", "## no siphoning", "### aid against historical"):
        assert heading in text


def test_a_foreign_folder_is_refused_without_force(tmp_path, cache_dir):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("the user's notes")
    res = CliRunner().invoke(main, ["findings", "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "--force" in res.output and "Traceback" not in res.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("content", [None, "not a model\n"], ids=["missing", "malformed"])
def test_a_bad_model_gives_a_clear_error(tmp_path, cache_dir, content):
    model = tmp_path / "model.mdl"
    if content is not None:
        model.write_text(content)
    res = CliRunner().invoke(main, ["findings", "--out", str(tmp_path / "out"), "--model", str(model)])
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and str(model) in res.output
    assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)
    assert not (tmp_path / "out").exists()
