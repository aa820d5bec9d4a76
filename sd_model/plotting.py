"""Standard plots of one or more runs. Never runs a model: takes results Datasets.

Each ``plot_*`` function takes ``{label: Dataset}`` and an optional Axes (or Figure)
and returns the Figure; :func:`standard_plots` writes the set as PNG files.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # plots are files; no screen is needed
import matplotlib.pyplot as plt  # noqa: E402
import xarray as xr  # noqa: E402

from .files import atomic_write_bytes  # noqa: E402

REGION_COLOURS = {"East": "#1b6ca8", "Central": "#e08e0b", "West": "#2a9d5c", "Northeast": "#b8336a"}
_STYLES = ("-", "--", ":", "-.")


def _as_runs(runs: xr.Dataset | Mapping[str, xr.Dataset]) -> dict[str, xr.Dataset]:
    if isinstance(runs, xr.Dataset):
        return {runs.attrs.get("scenario", "run"): runs}
    return dict(runs)


def _regional(ax: plt.Axes, runs: dict[str, xr.Dataset], var: str, scale: float = 1.0) -> None:
    for style, (label, ds) in zip(_STYLES * 4, runs.items()):
        da = ds[var]
        for region in da["Region"].values:
            series = da.sel(Region=region) * scale
            ax.plot(ds["time"], series, style, color=REGION_COLOURS.get(str(region)),
                    label=f"{region}" + (f" ({label})" if len(runs) > 1 else ""))


def _finish(fig: plt.Figure, axes: list[plt.Axes]) -> plt.Figure:
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.set_xlabel("year")
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        axes[0].legend(fontsize=7, ncol=2 if len(handles) > 4 else 1)
    fig.tight_layout()
    return fig


def plot_gdp_per_capita(runs: xr.Dataset | Mapping[str, xr.Dataset]) -> plt.Figure:
    """Real GDP per capita by region (thousand yuan at 2000 prices, log scale)."""
    runs = _as_runs(runs)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    _regional(ax, runs, "GDP per Capita")
    ax.set_yscale("log")
    ax.set_ylabel("thousand yuan per person (2000 prices)")
    ax.set_title("GDP per capita by region")
    return _finish(fig, [ax])


def _regional_panels(runs: xr.Dataset | Mapping[str, xr.Dataset],
                     panels: list[tuple[str, str, str, float, bool]], width: float = 13) -> plt.Figure:
    """One panel per (variable, title, y label, scale, zero line) with a line per region."""
    runs = _as_runs(runs)
    fig, axes = plt.subplots(1, len(panels), figsize=(width, 4))
    for ax, (var, title, ylabel, scale, zero) in zip(axes, panels):
        _regional(ax, runs, var, scale=scale)
        if zero:
            ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
    return _finish(fig, list(axes))


def plot_shares(runs: xr.Dataset | Mapping[str, xr.Dataset]) -> plt.Figure:
    """Shares of national GDP, population and loans (percent)."""
    return _regional_panels(runs, [
        ("GDP Share", "GDP share", "% of national total", 100, False),
        ("Population Share", "population share", "% of national total", 100, False),
        ("Loan Share", "loan share", "% of national total", 100, False)])


def plot_disparity(runs: xr.Dataset | Mapping[str, xr.Dataset]) -> plt.Figure:
    """Between-region Theil index, population-weighted CV, and the East/West ratio."""
    runs = _as_runs(runs)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, var in zip(axes, ["Theil Index", "Coefficient of Variation", "East West Ratio"]):
        for style, (label, ds) in zip(_STYLES * 4, runs.items()):
            ax.plot(ds["time"], ds[var], style, color="k", label=label)
        ax.set_title(var)
    axes[2].set_ylabel("GDP per capita, East / West")
    return _finish(fig, list(axes))


def plot_credit(runs: xr.Dataset | Mapping[str, xr.Dataset]) -> plt.Figure:
    """Net credit outflow (siphoning), loan-to-deposit ratio and credit/GDP by region."""
    return _regional_panels(runs, [
        ("Net Credit Outflow", "net credit outflow (+ = funds leave)", "billion yuan per year (2000 prices)",
         1, True),
        ("Loan to Deposit Ratio", "loans / deposits", "ratio", 1, False),
        ("Credit to GDP", "loans / GDP (years)", "years of output", 1, False)])


def plot_migration(runs: xr.Dataset | Mapping[str, xr.Dataset]) -> plt.Figure:
    """Net migration and population by region."""
    return _regional_panels(runs, [
        ("Net Migration", "net migration", "million persons per year", 1, True),
        ("Population", "population", "million persons", 1, False)], width=11)


STANDARD_PLOTS = {
    "gdp_per_capita": plot_gdp_per_capita,
    "shares": plot_shares,
    "disparity": plot_disparity,
    "credit": plot_credit,
    "migration": plot_migration,
}


def figure_png(fig: plt.Figure, dpi: int = 110) -> bytes:
    """Render a Figure to PNG bytes and close it."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def standard_plots(runs: xr.Dataset | Mapping[str, xr.Dataset], folder: str | Path) -> list[Path]:
    """Write the standard plots as ``<folder>/<name>.png``; returns the paths.

    A plot whose variables the model does not have (another model file) is left out.
    """
    folder = Path(folder)
    paths = []
    for name, make in STANDARD_PLOTS.items():
        try:
            fig = make(runs)
        except KeyError:  # a variable of this plot is missing from the results
            plt.close("all")
            continue
        paths.append(atomic_write_bytes(folder / f"{name}.png", figure_png(fig)))
    return paths
