"""The explorer's charts as Plotly figure dicts: the user's scenario, the baseline, history, bands.

Figures are plain dicts (Plotly's JSON schema), built without Plotly's validating ``Figure``
class, which costs tens of milliseconds per figure; the browser's Plotly draws them. Every
regional series follows the model's ``Region`` order (East, Central, West, Northeast). Each
trace carries ``meta = {"role": ..., "region": ...}`` (role: scenario, baseline, observed,
band) so that the page, the tests and the benchmark can find it.

The observed series come from :func:`sd_model.observed.observed_indicators` (1978-2015).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import SDModelError
from ..files import load_netcdf
from ..plotting import REGION_COLOURS, readable_units


@dataclass(frozen=True)
class Chart:
    """One chart: its page id, title, the model variable it shows and how."""

    id: str
    title: str
    variable: str
    log: bool = False


#: The charts, in page order. ``variable`` is the model's name; a chart whose variable the model
#: does not define is left out (:func:`available_charts`).
CHARTS = (
    Chart("gdp_per_capita", "GDP per capita by region (log scale)", "GDP per Capita", log=True),
    Chart("east_west_ratio", "East/West ratio of GDP per capita", "East West Ratio"),
    Chart("theil", "Theil index between regions (0 = equal)", "Theil Index"),
    Chart("loan_share", "Share of national loans", "Loan Share"),
    Chart("deposit_share", "Share of national deposits", "Deposit Share"),
    Chart("net_credit_outflow", "Net credit outflow (positive: funds leave the region)", "Net Credit Outflow"),
    Chart("net_migration", "Net migration", "Net Migration"),
    Chart("population", "Population", "Population"),
)

def available_charts(info) -> tuple[Chart, ...]:
    """The :data:`CHARTS` whose variable the model defines."""
    return tuple(c for c in CHARTS if c.variable in info.variables)


def read_bands(path: str | Path, variables: list[str], low: float = 0.05,
               high: float = 0.95) -> dict[str, tuple[xr.DataArray, xr.DataArray]]:
    """Quantile bands over the members of an ensemble or posterior file.

    Parameters
    ----------
    path : a NetCDF file with a ``member`` (or ``draw``/``sample``) dimension, as written by
        ``sd-model ensemble --format netcdf`` (``ensemble.nc``); a folder holding ``ensemble.nc``.
    variables : model variables wanted (those missing from the file get no band).
    low, high : quantiles of the band (default 5% and 95%).

    Raises
    ------
    SDModelError
        If the file is missing, unreadable or has no member dimension.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "ensemble.nc"
    if not path.is_file():
        raise SDModelError(f"{path}: bands file not found; give the ensemble.nc of 'sd-model ensemble'")
    try:
        ds = load_netcdf(path)
    except Exception as exc:  # noqa: BLE001 - any reader error is a bad file for the user
        raise SDModelError(f"{path}: cannot read as NetCDF ({type(exc).__name__}: {exc})") from None
    dim = next((d for d in ("member", "draw", "sample") if d in ds.dims), None)
    if dim is None:
        dims = ", ".join(map(str, ds.dims))
        raise SDModelError(f"{path}: no 'member' dimension; give an ensemble file (dims: {dims})")
    out = {}
    for var in variables:
        if var in ds:
            q = ds[var].quantile([low, high], dim=dim, skipna=True)
            out[var] = (q.isel(quantile=0, drop=True), q.isel(quantile=1, drop=True))
    return out


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _series(da: xr.DataArray, region: str | None, dim: str = "Region") -> list[float | None]:
    values = (da.sel({dim: region}) if region is not None else da).values
    if np.isfinite(values).all():
        return values.tolist()
    return [v if math.isfinite(v) else None for v in values.tolist()]


def fixed_traces(chart: Chart, baseline: xr.Dataset, baseline_name: str,
                 observed: Mapping[str, xr.DataArray] | None = None,
                 bands: Mapping[str, tuple[xr.DataArray, xr.DataArray]] | None = None) -> dict[str | None, list[dict]]:
    """The traces of a chart that no control changes, per region: band, observed points, baseline (dashed).

    Built once when the explorer opens; :func:`figure` adds the scenario's traces.
    """
    var = chart.variable
    base = baseline[var]
    regions = [str(r) for r in base["Region"].values] if "Region" in base.dims else [None]
    xb = baseline["time"].values.tolist()
    obs = (observed or {}).get(var)
    band = (bands or {}).get(var)
    out: dict[str | None, list[dict]] = {}
    for region in regions:
        colour = REGION_COLOURS.get(region or "", "#333333")
        label = region or chart.variable
        group = {"legendgroup": label}
        traces = out.setdefault(region, [])
        if band is not None:
            lo, hi = band
            bx = lo["time"].values.tolist()
            traces.append({"type": "scatter", "mode": "lines", "x": bx, "y": _series(lo, region), "line": {"width": 0},
                           "showlegend": False, "hoverinfo": "skip", "meta": {"role": "band", "region": region},
                           **group})
            traces.append({"type": "scatter", "mode": "lines", "x": bx, "y": _series(hi, region), "line": {"width": 0},
                           "fill": "tonexty", "fillcolor": _rgba(colour, 0.15), "showlegend": False,
                           "name": f"{label}, 90% band", "meta": {"role": "band", "region": region}, **group})
        if obs is not None:
            traces.append({"type": "scatter", "mode": "markers", "x": obs["year"].values.tolist(),
                           "y": _series(obs, region, "region"), "marker": {"size": 4, "color": colour},
                           "name": f"{label}, observed", "showlegend": False,
                           "meta": {"role": "observed", "region": region}, **group})
        traces.append({"type": "scatter", "mode": "lines", "x": xb, "y": _series(base, region),
                       "line": {"color": colour, "dash": "dash", "width": 1.5}, "name": f"{label}, {baseline_name}",
                       "showlegend": False, "meta": {"role": "baseline", "region": region}, **group})
    return out


def figure(chart: Chart, units: str, scenario: xr.Dataset, scenario_name: str,
           fixed: Mapping[str | None, list[dict]]) -> dict:
    """Plotly figure dict of one chart: the ``fixed`` traces of each region, then its scenario line (solid).

    Parameters
    ----------
    chart : which chart.
    units : the variable's units in the model (the y-axis title).
    scenario : results Dataset (dims time, Region).
    scenario_name : name shown in hover labels of a national series.
    fixed : from :func:`fixed_traces`.
    """
    da = scenario[chart.variable]
    x = scenario["time"].values.tolist()
    traces: list[dict] = []
    for region, static in fixed.items():
        label = region or chart.variable
        traces += static
        traces.append({"type": "scatter", "mode": "lines", "x": x, "y": _series(da, region),
                       "line": {"color": REGION_COLOURS.get(region or "", "#333333"), "width": 2.5},
                       "name": label if region else f"{label}, {scenario_name}", "legendgroup": label,
                       "showlegend": region is not None, "meta": {"role": "scenario", "region": region}})
    layout = {
        "title": {"text": chart.title, "font": {"size": 14}},
        "xaxis": {"title": {"text": "year"}},
        "yaxis": {"title": {"text": readable_units(units)}, "type": "log" if chart.log else "linear"},
        "legend": {"x": 1.01, "y": 1, "xanchor": "left"},  # outside the plot area: never over data
        "margin": {"l": 60, "r": 10, "t": 40, "b": 40},
        "height": 330,
        "hovermode": "x",
        "uirevision": chart.id,  # keep the user's zoom across redraws
    }
    return {"data": traces, "layout": layout}
