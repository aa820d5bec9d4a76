"""Standard plots of one or more runs. Never runs a model: takes results Datasets.

Each ``plot_*`` function takes ``{label: Dataset}`` and, optionally, observed series keyed by
model variable (:func:`sd_model.observed.observed_indicators`), drawn as dots where the data
have the variable; it returns the Figure; :func:`standard_plots` writes the set as PNG files.
Legends sit below the panels, never over data.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # plots are files; no screen is needed
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
import xarray as xr  # noqa: E402

from .files import atomic_write_bytes  # noqa: E402

REGION_COLOURS = {"East": "#1b6ca8", "Central": "#e08e0b", "West": "#2a9d5c", "Northeast": "#b8336a"}
_STYLES = ("-", "--", ":", "-.")


def _as_runs(runs: xr.Dataset | Mapping[str, xr.Dataset]) -> dict[str, xr.Dataset]:
    return {runs.attrs.get("scenario", "run"): runs} if isinstance(runs, xr.Dataset) else dict(runs)


Observed = Mapping[str, xr.DataArray] | None
_READABLE_UNITS = {"dmnl": "dimensionless", "1": "dimensionless",
                   "billion_yuan/million_persons/Year": "thousand yuan per person per year"}


def readable_units(units: str) -> str:
    """Units of a model variable as a reader writes them (``billion_yuan/Year`` -> ``billion yuan/Year``)."""
    return _READABLE_UNITS.get(units.strip(), units.replace("_", " "))
_OBSERVED_LABEL = "observed (data/raw)"


def _regional(ax: plt.Axes, runs: dict[str, xr.Dataset], var: str, scale: float = 1.0,
              observed: Observed = None) -> None:
    for style, (label, ds) in zip(_STYLES * 4, runs.items()):
        da = ds[var]
        for region in da["Region"].values:
            series = da.sel(Region=region) * scale
            ax.plot(ds["time"], series, style, color=REGION_COLOURS.get(str(region)),
                    label=f"{region}" + (f" ({label})" if len(runs) > 1 else ""))
    if observed is not None and var in observed:
        obs = observed[var]
        for i, region in enumerate(runs[next(iter(runs))][var]["Region"].values):
            if str(region) in obs["region"].values:
                ax.plot(obs["year"], obs.sel(region=str(region)) * scale, ".", ms=3.5,
                        color=REGION_COLOURS.get(str(region)), label=_OBSERVED_LABEL if i == 0 else None)


def _national(ax: plt.Axes, runs: dict[str, xr.Dataset], var: str, observed: Observed = None) -> None:
    for style, (label, ds) in zip(_STYLES * 4, runs.items()):
        ax.plot(ds["time"], ds[var], style, color="k", label=label)
    if observed is not None and var in observed:
        ax.plot(observed[var]["year"], observed[var], ".", ms=3.5, color="grey", label=_OBSERVED_LABEL)


def finish_axes(fig: plt.Figure, axes: list[plt.Axes]) -> plt.Figure:
    """Grid and x label on every panel; one legend below the panels (it never covers data)."""
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.set_xlabel("year")
    seen: dict[str, Artist] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    if seen:
        ncol = min(len(seen), 5)
        rows = -(-len(seen) // ncol)
        bottom = min(0.45, (0.12 + 0.2 * rows) / fig.get_figheight())
        fig.legend(list(seen.values()), list(seen), loc="lower center", ncol=ncol, fontsize=7, frameon=False)
        fig.tight_layout(rect=(0, bottom, 1, 1))
    else:
        fig.tight_layout()
    return fig


def plot_gdp_per_capita(runs: xr.Dataset | Mapping[str, xr.Dataset], observed: Observed = None) -> plt.Figure:
    """Real GDP per capita by region (thousand yuan at 2000 prices, log scale)."""
    runs = _as_runs(runs)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    _regional(ax, runs, "GDP per Capita", observed=observed)
    ax.set_yscale("log")
    ax.set_ylabel("thousand yuan per person (2000 prices)")
    ax.set_title("GDP per capita by region")
    return finish_axes(fig, [ax])


def _regional_panels(runs: xr.Dataset | Mapping[str, xr.Dataset], observed: Observed = None, *,
                     panels: Sequence[tuple[str, str, str, float, bool]], width: float = 13,
                     national: bool = False) -> plt.Figure:
    """One panel per (variable, title, y label, scale, zero line) with a line per region (``national``: per run)."""
    runs = _as_runs(runs)
    fig, axes = plt.subplots(1, len(panels), figsize=(width, 4))
    for ax, (var, title, ylabel, scale, zero) in zip(axes, panels):
        if national:
            _national(ax, runs, var, observed)
        else:
            _regional(ax, runs, var, scale=scale, observed=observed)
        if zero:
            ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
    return finish_axes(fig, list(axes))


def _panels(*panels: tuple[str, str, str, float, bool], width: float = 13, national: bool = False) -> Any:
    """A plot ``(runs, observed) -> Figure`` of :func:`_regional_panels` with these panels."""
    return partial(_regional_panels, panels=panels, width=width, national=national)


_SHARE = "% of national total"
#: The standard plots: name -> plot(runs, observed=None) -> Figure.
STANDARD_PLOTS = {
    "gdp_per_capita": plot_gdp_per_capita,
    # shares of national GDP, population and loans (percent)
    "shares": _panels(("GDP Share", "GDP share", _SHARE, 100, False),
                      ("Population Share", "population share", _SHARE, 100, False),
                      ("Loan Share", "loan share", _SHARE, 100, False)),
    # between-region Theil index, population-weighted CV, and the East/West ratio
    "disparity": _panels(
        ("Theil Index", "Theil index between regions", "Theil T (dimensionless, 0 = equal)", 1, False),
        ("Coefficient of Variation", "coefficient of variation", "population-weighted CV (dimensionless)", 1, False),
        ("East West Ratio", "East/West ratio", "GDP per capita, East / West", 1, False), national=True),
    # net credit outflow (siphoning), loan-to-deposit ratio and credit/GDP by region
    "credit": _panels(("Net Credit Outflow", "net credit outflow (+ = funds leave)",
                       "billion yuan per year (2000 prices)", 1, True),
                      ("Loan to Deposit Ratio", "loans / deposits", "ratio", 1, False),
                      ("Credit to GDP", "loans / GDP (years)", "years of output", 1, False)),
    # net migration and population by region
    "migration": _panels(("Net Migration", "net migration", "million persons per year", 1, True),
                         ("Population", "population", "million persons", 1, False), width=11),
}
plot_disparity = STANDARD_PLOTS["disparity"]


def figure_png(fig: plt.Figure, dpi: int = 110) -> bytes:
    """Render a Figure to PNG bytes and close it."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def standard_plots(runs: xr.Dataset | Mapping[str, xr.Dataset], folder: str | Path,
                   observed: Observed = None) -> list[Path]:
    """Write the standard plots as ``<folder>/<name>.png``; returns the paths.

    ``observed`` (:func:`sd_model.observed.observed_indicators`) adds the historical data as dots.
    A plot whose variables the model does not have (another model file) is left out.
    """
    folder = Path(folder)
    paths = []
    for name, make in STANDARD_PLOTS.items():
        try:
            fig = make(runs, observed)
        except KeyError:  # a variable of this plot is missing from the results
            plt.close("all")
            continue
        paths.append(atomic_write_bytes(folder / f"{name}.png", figure_png(fig)))
    return paths
