"""Tests of sd_model.report: generated findings (numbers computed here by hand) and the HTML."""
from __future__ import annotations

import base64
import re

import numpy as np
import pytest
import xarray as xr

from sd_model.indicators import indicator_table
from sd_model.report import build_report, findings, plot_fans

TIMES = np.arange(2000.0, 2061.0)


def _run(ew2015, theil2015, ew2050, theil2050, gdp2050, members=None, rng=None):
    """Fake results: indicators that step from their 2015 to their 2050 values in 2030."""
    def series(before, after):
        values = np.where(TIMES < 2030, before, after)
        if members is None:
            return xr.DataArray(values, dims=("time",))
        factor = 1 + rng.normal(0, 0.02, (members, 1))
        return xr.DataArray(values[None, :] * factor, dims=("member", "time"))

    ds = xr.Dataset({"East West Ratio": series(ew2015, ew2050), "Theil Index": series(theil2015, theil2050),
                     "National GDP": series(1000.0, gdp2050)}, coords={"time": TIMES})
    return ds if members is None else ds.assign_coords(member=np.arange(members))


def test_findings_state_the_balanced_effect_and_each_mechanism_with_numbers():
    runs = {"historical": _run(2.0, 0.05, 1.3, 0.010, 1500.0), "unbalanced": _run(3.0, 0.10, 1.4, 0.014, 1490.0),
            "aid": _run(2.0, 0.05, 1.2, 0.008, 1515.0), "idle": _run(2.0, 0.05, 1.3, 0.010, 1500.0),
            "tiny": _run(2.0, 0.05, 1.3 * 1.0005, 0.010, 1500.0)}
    sentences, table = findings(runs, roles={"historical": "baseline", "unbalanced": "counterfactual"})
    # by hand: East/West 2.0 vs 3.0 -> -1, -33.3%; Theil 0.05 vs 0.10 -> -50%
    assert sentences[0] == ("By 2015, scenario 'historical' (the baseline) narrowed the East/West GDP-per-capita "
                            "ratio against scenario 'unbalanced' (the counterfactual): 2 against 3 (-1, -33.3%).")
    assert "narrowed the Theil index" in sentences[1] and "(-0.05, -50.0%)" in sentences[1]
    aid = [s for s in sentences if s.startswith("Scenario 'aid' against 'historical', 2050: ")]
    # 2050: 1.2 vs 1.3 -> -0.1 (-7.7%); Theil 0.008 vs 0.010 -> -20%; GDP +15 (+1.0%); one sentence each
    assert [s.split(": ", 1)[1] for s in aid] == [
        "East/West GDP-per-capita ratio 1.2 against 1.3 (-0.1, -7.7%).",
        "Theil index 0.008 against 0.01 (-0.002, -20.0%).",
        "national GDP (billion yuan/year, 2000 prices) 1,515 against 1,500 (+15, +1.0%)."]
    assert any(s.startswith("Scenario 'idle': no visible effect by 2050") for s in sentences)
    tiny = next(s for s in sentences if s.startswith("Scenario 'tiny'"))
    assert "(+0.00065, +0.05%)" in tiny  # small effects keep two significant digits
    assert set(table["finding"]) == {"history", "forward"}
    assert not any("'unbalanced' against" in s for s in sentences)  # the counterfactual is not a mechanism


def test_findings_say_widened_and_give_bands_from_the_draws():
    rng = np.random.default_rng(3)
    runs = {"unbalanced": _run(2.0, 0.05, 1.3, 0.01, 1500.0), "balanced": _run(2.5, 0.07, 1.3, 0.01, 1500.0)}
    ens = {k: _run(*args, members=40, rng=rng) for k, args in
           (("unbalanced", (2.0, 0.05, 1.3, 0.01, 1500.0)), ("balanced", (2.5, 0.07, 1.3, 0.01, 1500.0)))}
    sentences, table = findings(runs, ens, roles={"balanced": "baseline", "unbalanced": "counterfactual"})
    assert "widened the East/West" in sentences[0]
    a = ens["balanced"]["East West Ratio"].sel(time=2015).to_numpy()
    b = ens["unbalanced"]["East West Ratio"].sel(time=2015).to_numpy()
    pct = 100 * (a - b) / b
    lo, hi = np.quantile(pct, [0.05, 0.95])
    assert f"90% band of the change over 40 draws {lo:+.1f}% to {hi:+.1f}%" in sentences[0]
    assert f"better in {100 * np.mean(a < b):.0f}% of draws" in sentences[0]


def test_findings_explain_why_the_history_finding_is_missing_only_when_it_is_wanted():
    sentences, table = findings({"aid": _run(2, 0.05, 1.2, 0.008, 1515.0)})
    assert sentences == [] and table.empty  # no roles declared: a comparison of mechanisms, nothing to explain
    runs = {"historical": _run(2, 0.05, 1.3, 0.01, 1500.0), "aid": _run(2, 0.05, 1.2, 0.008, 1515.0)}
    sentences, _ = findings(runs, roles={"historical": "baseline"})
    assert sentences[0].startswith('No baseline-versus-counterfactual finding: no scenario has role = "counterfactual"')
    short = {k: v.sel(time=slice(None, 2010)) for k, v in (("historical", _run(2, 0.05, 1.3, 0.01, 1500.0)),
                                                          ("unbalanced", _run(3, 0.1, 1.4, 0.014, 1490.0)))}
    sentences, _ = findings(short, roles={"historical": "baseline", "unbalanced": "counterfactual"})
    assert sentences == ["No baseline-versus-counterfactual finding: the runs end in 2010, before 2015; "
                         "run them to 2015 or later."]


def test_report_embeds_png_plots_tables_and_escapes_text(historical, simlin_engine):
    from sd_model.run import run_scenario
    from sd_model.scenario import Scenario

    runs = {"historical": historical.sel(time=slice(None, 2060)),
            "aid": run_scenario(Scenario(name="aid", params={"Aid Intensity": 1}, final_time=2060), simlin_engine)}
    rng = np.random.default_rng(0)
    ens = {name: xr.concat([ds[["East West Ratio", "Theil Index", "Coefficient of Variation", "National GDP",
                                "GDP per Capita"]] * (1 + rng.normal(0, 0.02)) for _ in range(5)], "member")
           for name, ds in runs.items()}
    sentences, effects_table = findings(runs, ens)
    doc = build_report(runs, indicator_table(runs), sentences, ensembles=ens, effects_table=effects_table,
                       descriptions={"historical": "<script>alert(1)</script>", "aid": "aid & co"},
                       meta={"engine": "simlin"})
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', doc)
    # effects with bands, overlaid fans, 3 small-multiple fans; national indicators, 4 regional plots
    assert len(images) == 1 + 1 + 3 + 1 + 4
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    assert "<script>alert" not in doc and "&lt;script&gt;" in doc and "aid &amp; co" in doc
    assert "Key indicators over draws" not in doc  # no ensemble table was given
    gdp = float(historical["National GDP"].sel(time=2050))
    assert f"{gdp:,.0f}" in doc  # the indicator table shows the run's value
    no_draws = build_report(runs, indicator_table(runs), sentences, descriptions={}, meta={})
    assert "Uncertainty" not in no_draws and len(re.findall("data:image/png", no_draws)) == 5
    # a table of contents links to every section
    sections = re.findall(r"<h2 id='(s\d+)'>(.*?)</h2>", doc)
    assert [t for _, t in sections][:3] == ["Scenarios", "Findings",
                                            "Uncertainty: 5 draws per scenario, the same draws for every scenario"]
    assert all(f"<a href='#{i}'>{t}</a>" in doc for i, t in sections)
    assert doc.index("Contents") < doc.index("<h2 id='s1'>")
    # the key-indicator table gives each indicator's units, regions in the model's order
    table = doc[doc.index("Key indicators</h2>"):]
    assert "<th>units</th>" in table and "thousand yuan per person per year" in table and "dimensionless" in table
    order = [table.index(f"GDP per Capita[{r}]") for r in ("East", "Central", "West", "Northeast")]
    assert order == sorted(order)
    assert ">2015<" in table  # the year the findings cite
    from sd_model.observed import load_observed

    with_data = build_report(runs, indicator_table(runs), sentences, descriptions={}, meta={},
                             observed=load_observed())
    assert with_data.count("data:image/png") == 5 and len(with_data) > len(no_draws)  # dots on the regional plots


def test_fan_charts_draw_gdp_on_a_log_scale_with_the_legend_outside():
    rng = np.random.default_rng(5)
    fig = plot_fans({"a": _run(2.0, 0.05, 1.3, 0.01, 1500.0, members=20, rng=rng),
                     "b": _run(2.5, 0.06, 1.3, 0.01, 1600.0, members=20, rng=rng)})
    gdp = next(ax for ax in fig.axes if ax.get_title() == "National GDP")
    assert gdp.get_yscale() == "log"
    assert not any(ax.get_legend() for ax in fig.axes) and len(fig.legends) == 1


def test_fan_chart_bands_come_from_the_draws():
    rng = np.random.default_rng(5)
    ens = {"a": _run(2.0, 0.05, 1.3, 0.01, 1500.0, members=100, rng=rng)}
    fig = plot_fans(ens)
    ax = fig.axes[0]
    line = ax.get_lines()[0]
    median = np.median(ens["a"]["East West Ratio"].to_numpy(), axis=0)
    np.testing.assert_allclose(line.get_ydata(), median)
    outer = ax.collections[0].get_paths()[0].vertices[:, 1]
    q95 = np.quantile(ens["a"]["East West Ratio"].to_numpy(), 0.95, axis=0)
    assert outer.max() == pytest.approx(q95.max())
