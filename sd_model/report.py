"""HTML comparison report: plots embedded as base64 PNG, tables, and generated findings.

Never runs a model: takes single runs ({scenario: Dataset}) and, when parameters were
sampled, ensembles with common draws ({scenario: Dataset with a ``member`` dim}).
"""
from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import xarray as xr

from .indicators import effects
from .plotting import STANDARD_PLOTS, figure_png

#: Indicators shown in the report's tables (the CSV files hold them all).
HEADLINE = ("East West Ratio", "Theil Index", "Coefficient of Variation", "National GDP", "GDP per Capita")
_NATIONAL = (("East West Ratio", "GDP per capita, East / West"), ("Theil Index", "Theil index (between regions)"),
             ("Coefficient of Variation", "coefficient of variation"),
             ("National GDP", "billion yuan per year (2000 prices)"))
_GRID_VARS = ("East West Ratio", "Theil Index", "National GDP")
_MAX_OVERLAID = 6  # more scenarios than this are drawn as small multiples, not on one axis
_MAX_REGIONAL = 3  # the regional standard plots show the first three scenarios
_NO_EFFECT_PCT = 0.01  # |effect| below this percentage on every indicator counts as "no visible effect"


def _colour(i: int, n: int = 10) -> tuple[float, float, float]:
    colours = plt.get_cmap("tab10" if n <= 10 else "tab20").colors
    return colours[i % len(colours)]


def _fan(ax: plt.Axes, da: xr.DataArray, colour: Any, label: str | None, line: str = "-") -> None:
    q = da.quantile([0.05, 0.25, 0.5, 0.75, 0.95], dim="member")
    t = da["time"].to_numpy()
    ax.fill_between(t, q.sel(quantile=0.05), q.sel(quantile=0.95), color=colour, alpha=0.15, lw=0)
    ax.fill_between(t, q.sel(quantile=0.25), q.sel(quantile=0.75), color=colour, alpha=0.35, lw=0)
    ax.plot(t, q.sel(quantile=0.5), line, color=colour, lw=1.5, label=label)


def plot_fans(ensembles: Mapping[str, xr.Dataset]) -> plt.Figure:
    """Fan charts of the national disparity indicators and national GDP, scenarios overlaid.

    Median line, 50% band (25th-75th percentile, dark) and 90% band (5th-95th, light)
    over draws, one colour per scenario.
    """
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    for ax, (var, unit) in zip(axes.flat, _NATIONAL):
        for i, (name, ds) in enumerate(ensembles.items()):
            if var in ds:
                _fan(ax, ds[var], _colour(i, len(ensembles)), name)
        ax.set_title(var)
        ax.set_ylabel(unit)
    return _tidy_axes(fig, list(axes.flat))


def plot_fan_grid(ensembles: Mapping[str, xr.Dataset], var: str, reference: str) -> plt.Figure:
    """Small multiples: one panel per scenario, its fan against the reference's (grey, dashed)."""
    names = [n for n in ensembles if n != reference] or [reference]
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.6 * rows + 0.6), sharex=True, sharey=True,
                             squeeze=False)
    for i, (ax, name) in enumerate(zip(axes.flat, names)):
        _fan(ax, ensembles[reference][var], "0.5", reference if i == 0 else None, "--")
        _fan(ax, ensembles[name][var], "tab:blue", None)
        ax.set_title(name, fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle(f"{var}: each scenario (blue) against '{reference}' (grey, dashed); "
                 "median, 50% and 90% bands", fontsize=10)
    if reference != names[0]:
        axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_effect_bands(table: pd.DataFrame) -> plt.Figure:
    """Forest plot of effects over draws: per comparison, the paired change in percent.

    ``table`` comes from :func:`findings`; dot = median, thick bar = 50% band, thin bar =
    90% band of the change over draws, cross = the single run.
    """
    indicators = list(dict.fromkeys(table["indicator"]))
    labels = list(dict.fromkeys(f"{r.scenario} vs {r.reference} ({r.year})" for r in table.itertuples()))
    fig, axes = plt.subplots(1, len(indicators), figsize=(4.2 * len(indicators), 0.32 * len(labels) + 1.6),
                             sharey=True, squeeze=False)
    for ax, var in zip(axes[0], indicators):
        part = table[table["indicator"] == var]
        for r in part.itertuples():
            y = len(labels) - 1 - labels.index(f"{r.scenario} vs {r.reference} ({r.year})")
            ax.plot([r.pct_p05, r.pct_p95], [y, y], color="0.4", lw=1)
            ax.plot([r.pct_p25, r.pct_p75], [y, y], color="k", lw=3.5)
            ax.plot(r.pct_median, y, "o", color="w", mec="k", ms=5)
            ax.plot(r.percent, y, "x", color="tab:red", ms=5)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_title(f"{var}: change (%)", fontsize=10)
        ax.grid(alpha=0.3, axis="x")
    axes[0, 0].set_yticks(range(len(labels)), labels[::-1], fontsize=8)
    fig.tight_layout()
    return fig


def plot_national(runs: Mapping[str, xr.Dataset]) -> plt.Figure:
    """Single runs: East/West ratio, Theil index, coefficient of variation and national GDP."""
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    for ax, (var, unit) in zip(axes.flat, _NATIONAL):
        for i, (name, ds) in enumerate(runs.items()):
            ax.plot(ds["time"], ds[var], color=_colour(i, len(runs)), lw=1.2, label=name)
        ax.set_title(var)
        ax.set_ylabel(unit)
    axes[1, 1].set_yscale("log")
    return _tidy_axes(fig, list(axes.flat))


def _tidy_axes(fig: plt.Figure, axes: list[plt.Axes]) -> plt.Figure:
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.set_xlabel("year")
    axes[0].legend(fontsize=7, ncol=2 if len(axes[0].get_lines()) > 8 else 1)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- findings


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _signed(x: float) -> str:
    return ("+" if x > 0 else "") + _num(x)


def _pct(x: float) -> str:
    """Signed percentage: one decimal, or two significant digits below 0.1%."""
    if pd.isna(x):
        return "n/a"
    return f"{x:+.1f}%" if abs(x) >= 0.1 or x == 0 else f"{x:+.2g}%"


def _band(row: pd.Series, n: int | None) -> str:
    if "pct_p05" not in row or pd.isna(row.get("pct_p05")):
        return ""
    return (f"; 90% band of the change over {n} draws {_pct(row['pct_p05'])} to {_pct(row['pct_p95'])}, "
            f"better in {100 * row['improved']:.0f}% of draws")


def _change(row: pd.Series, n: int | None) -> str:
    return (f"{row['indicator']} {_num(row['value'])} against {_num(row['reference_value'])} "
            f"({_signed(row['difference'])}, {_pct(row['percent'])}{_band(row, n)})")


def findings(runs: Mapping[str, xr.Dataset], ensembles: Mapping[str, xr.Dataset] | None = None,
             history_year: float = 2015, forward_year: float = 2050) -> tuple[list[str], pd.DataFrame]:
    """Generated findings, as sentences and as the table of numbers behind them.

    1. When the runs include "unbalanced" and "historical" (or "balanced"): whether and
       by how much the balanced strategy narrowed the East/West ratio and the Theil
       index by ``history_year`` relative to the unbalanced counterfactual.
    2. Every other scenario against the baseline ("historical" if present, else the
       first) in ``forward_year``: East/West ratio, Theil index, national GDP.

    Returns
    -------
    (sentences, table): plain-text sentences, and the :func:`sd_model.experiments.effects`
    rows behind them with a column ``finding`` ("history" or "forward").
    """
    n = None if not ensembles else int(next(iter(ensembles.values())).sizes["member"])
    sentences, tables = [], []
    treated = next((s for s in ("historical", "balanced") if s in runs), None)
    last = min(float(ds["time"][-1]) for ds in runs.values())
    if "unbalanced" in runs and treated and last >= history_year:
        eff = effects(runs, "unbalanced", history_year, ("East West Ratio", "Theil Index"), ensembles, [treated])
        tables.append(eff.assign(finding="history"))
        for _, row in eff.iterrows():
            verb = "narrowed" if row["difference"] < 0 else "widened"
            sentences.append(f"By {int(history_year)} the balanced strategy (scenario '{treated}') {verb} the "
                             f"{'East/West GDP-per-capita ratio' if row['indicator'] == 'East West Ratio' else 'Theil index'}"
                             f" relative to the unbalanced counterfactual: {_change(row, n)}.")
    else:
        sentences.append(f"(Include the scenarios 'unbalanced' and 'historical' or 'balanced', run to "
                         f"{int(history_year)} or later, for the balanced-versus-unbalanced finding.)")
    baseline = "historical" if "historical" in runs else next(iter(runs))
    others = [s for s in runs if s not in (baseline, "unbalanced")]
    if others and last >= forward_year:
        eff = effects(runs, baseline, forward_year, ensembles=ensembles, scenarios=others)
        tables.append(eff.assign(finding="forward"))
        for name, block in eff.groupby("scenario", sort=False):
            if (block["percent"].abs() < _NO_EFFECT_PCT).all():
                sentences.append(f"{name}: no visible effect by {int(forward_year)} (every indicator within "
                                 f"{_NO_EFFECT_PCT}% of '{baseline}').")
                continue
            parts = "; ".join(_change(row, n) for _, row in block.iterrows())
            sentences.append(f"{name}, against '{baseline}' in {int(forward_year)}: {parts}.")
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    return sentences, table


# ---------------------------------------------------------------- HTML


_CSS = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}img{max-width:100%}
.small{color:#666;font-size:12px}li{margin:.4em 0}"""


def _img(fig: plt.Figure, alt: str) -> str:
    data = base64.b64encode(figure_png(fig)).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'


def _headline(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["variable"].isin(HEADLINE)]


def _indicator_html(table: pd.DataFrame) -> str:
    t = _headline(table).copy()
    first = t["scenario"].iloc[0]
    t["cell"] = [(_num(v) if s == first else f"{_num(v)} ({_signed(d)}, {_pct(p)})")
                 for s, v, d, p in zip(t["scenario"], t["value"], t["difference"], t["percent"])]
    wide = t.pivot_table(index=["indicator", "year"], columns="scenario", values="cell", aggfunc="first", sort=False)
    return wide[list(dict.fromkeys(t["scenario"]))].to_html(escape=True)


def _ensemble_html(table: pd.DataFrame) -> str:
    t = _headline(table).copy()
    t["cell"] = [f"{_num(m)} [{_num(lo)}, {_num(hi)}]" for m, lo, hi in zip(t["median"], t["p05"], t["p95"])]
    wide = t.pivot_table(index=["indicator", "year"], columns="scenario", values="cell", aggfunc="first", sort=False)
    return wide[list(dict.fromkeys(t["scenario"]))].to_html(escape=True)


def _beats_html(beats: pd.DataFrame, only_with: str | None) -> str:
    t = beats[beats["indicator"].isin(HEADLINE[:4])].copy()
    if only_with is not None:
        t = t[(t["scenario_a"] == only_with) | (t["scenario_b"] == only_with)]
    t["pair"] = t["scenario_a"] + " vs " + t["scenario_b"]
    t["cell"] = [f"{100 * a:.0f}% / {100 * b:.0f}%" + (f" (tied {100 * c:.0f}%)" if c > 0 else "")
                 for a, b, c in zip(t["a_better"], t["b_better"], t["tied"])]
    return t.pivot_table(index=["pair", "indicator"], columns="year", values="cell", aggfunc="first",
                         sort=False).to_html(escape=True)


def _uncertainty_html(ensembles: Mapping[str, xr.Dataset], effects_table: pd.DataFrame | None) -> list[str]:
    n = next(iter(ensembles.values())).sizes["member"]
    first = next(iter(ensembles))
    parts = [f"<h2>Uncertainty: {n} draws per scenario, the same draws for every scenario</h2>"
             "<p class='small'>Median (line), 50% band (dark) and 90% band (light) over draws.</p>"]
    if effects_table is not None and "pct_p05" in effects_table:
        parts += ["<p class='small'>Effects behind the findings: change in percent of the reference, paired "
                  "over draws (dot: median; thick: 50% band; thin: 90% band; red cross: single run).</p>",
                  _img(plot_effect_bands(effects_table), "effects with bands")]
    if len(ensembles) <= _MAX_OVERLAID:
        parts += [_img(plot_fans(ensembles), "fan charts")]
    reference = "historical" if "historical" in ensembles else first
    parts += [_img(plot_fan_grid(ensembles, var, reference), f"{var} fans") for var in _GRID_VARS]
    return parts


def build_report(runs: Mapping[str, xr.Dataset], table: pd.DataFrame, sentences: Sequence[str], *,
                 descriptions: Mapping[str, str], meta: Mapping[str, Any],
                 ensembles: Mapping[str, xr.Dataset] | None = None, ensemble_tab: pd.DataFrame | None = None,
                 beats: pd.DataFrame | None = None, effects_table: pd.DataFrame | None = None) -> str:
    """Assemble the self-contained HTML report.

    Parameters
    ----------
    runs : single runs, scenario -> Dataset (the first is the reference of the tables).
    table : :func:`sd_model.experiments.indicator_table` of ``runs``.
    sentences : findings from :func:`findings`.
    descriptions : scenario -> description.
    meta : settings shown at the top (model hash, engine, span, samples, seed, source).
    ensembles, ensemble_tab, beats, effects_table : with sampled parameters, the ensembles,
        :func:`sd_model.experiments.ensemble_table`, :func:`sd_model.experiments.beat_shares`
        and the table of :func:`findings` (for the plot of effects with bands).

    Returns
    -------
    str, the HTML document.
    """
    e = html.escape
    first = next(iter(runs))
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Scenario comparison</title>"
             f"<style>{_CSS}</style></head><body><h1>Scenario comparison: {e(', '.join(runs))}</h1>",
             "<p class='small'>" + "<br>".join(f"{e(str(k))}: {e(str(v))}" for k, v in meta.items()) + "</p>",
             "<h2>Scenarios</h2><table><tr><th>scenario</th><th>description</th></tr>"
             + "".join(f"<tr><td>{e(n)}</td><td style='text-align:left'>{e(descriptions.get(n, ''))}</td></tr>"
                       for n in runs) + "</table>",
             "<h2>Findings</h2><ul>" + "".join(f"<li>{e(s)}</li>" for s in sentences) + "</ul>"]
    if ensembles:
        parts += _uncertainty_html(ensembles, effects_table)
    regional = dict(list(runs.items())[:_MAX_REGIONAL])
    parts += ["<h2>Single runs (the model's parameter values)</h2>", _img(plot_national(runs), "national indicators"),
              f"<p class='small'>Regional plots of {e(', '.join(regional))}"
              + (" (the first three scenarios; every run is in runs/)" if len(runs) > _MAX_REGIONAL else "")
              + ".</p>"]
    parts += [_img(make(regional), name) for name, make in STANDARD_PLOTS.items() if name != "disparity"]
    parts += [f"<h2>Key indicators</h2><p class='small'>Single runs; in brackets the difference from "
              f"'{e(first)}'. All indicators and regions: indicators.csv.</p>", _indicator_html(table)]
    if ensemble_tab is not None:
        parts += ["<h2>Key indicators over draws</h2><p class='small'>Median [5th, 95th percentile]; "
                  "paired differences in indicators_ensemble.csv.</p>", _ensemble_html(ensemble_tab)]
    if beats is not None and len(beats):
        many = len(runs) > _MAX_OVERLAID
        parts += ["<h2>Pairwise comparison over draws</h2><p class='small'>Share of draws in which the first "
                  "scenario / the second is better (lower disparity, higher GDP)"
                  + (f"; pairs with '{e(first)}' only" if many else "") + "; every pair and indicator in "
                  "beat_shares.csv.</p>", _beats_html(beats, first if many else None)]
    parts.append("</body></html>")
    return "\n".join(parts)
