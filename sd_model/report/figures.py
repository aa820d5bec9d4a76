"""Figures of the comparison report: single runs, fan charts over draws, effects with bands.

Never runs a model: takes single runs ({scenario: Dataset}) and, when parameters were
sampled, ensembles with common draws ({scenario: Dataset with a ``member`` dim}).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import xarray as xr

from ..plotting import finish_axes

_NATIONAL = (("East West Ratio", "GDP per capita, East / West"), ("Theil Index", "Theil index (between regions)"),
             ("Coefficient of Variation", "coefficient of variation"),
             ("National GDP", "billion yuan per year (2000 prices)"))


def _colour(i: int, n: int = 10) -> tuple[float, float, float]:
    colours = plt.get_cmap("tab10" if n <= 10 else "tab20").colors  # type: ignore[attr-defined]
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
        if var == "National GDP":
            ax.set_yscale("log")  # as in the single runs: growth rates compare as slopes
    return finish_axes(fig, list(axes.flat))


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
    return finish_axes(fig, list(axes.flat)[:len(names)])


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
    return finish_axes(fig, list(axes.flat))


