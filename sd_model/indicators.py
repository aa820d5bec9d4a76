"""Key-indicator tables and comparisons of scenario results, single runs or ensembles.

Pure functions over results Datasets (dims ``time``, ``Region``; ensembles add ``member``):
key-indicator tables at chosen years with the difference from a reference scenario, quantiles
over common draws, effects of one scenario against another with bands, and pairwise "share of
draws in which A beats B". :mod:`sd_model.experiments` prepares and runs the scenarios.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .errors import SDModelError

#: Years of the key-indicator tables (those outside a run are left out); 2015, the last year of the
#: data, is the year the balanced-versus-unbalanced finding cites.
TABLE_YEARS = (2015, 2025, 2035, 2050, 2060, 2100)

#: Variables tabulated and compared, with the direction that counts as better
#: (None: reported, never ranked).
INDICATORS: dict[str, str | None] = {
    "East West Ratio": "lower",
    "Theil Index": "lower",
    "Coefficient of Variation": "lower",
    "National GDP": "higher",
    "GDP per Capita": "higher",
    "GDP Share": None,
    "Loan Share": None,
    "Net Credit Outflow": None,
    "Net Migration": None,
}

_QUANTILES = {"p05": 0.05, "p25": 0.25, "median": 0.5, "p75": 0.75, "p95": 0.95}


def indicator_values(ds: xr.Dataset, years: Sequence[float] = TABLE_YEARS) -> pd.DataFrame:
    """Long table of the :data:`INDICATORS` present in ``ds`` at ``years``.

    Returns
    -------
    DataFrame with columns indicator ("Name" or "Name[Region]"), variable, region ("" for
    national values), units, year, value, and member when ``ds`` has that dimension.
    Years outside the run are left out; if none is inside, the run's last year is used.
    """
    times = ds["time"].to_numpy()
    keep = [y for y in years if np.isclose(times, y, atol=1e-6).any()] or [float(times[-1])]
    frames = []
    for var in INDICATORS:
        if var not in ds:
            continue
        da = ds[var].sel(time=keep, method="nearest")
        df = da.to_dataframe(name="value").reset_index()
        region = df["Region"].astype(str) if "Region" in df else pd.Series("", index=df.index)
        df = df.assign(variable=var, region=region, units=da.attrs.get("units", ""),
                       year=df["time"].round().astype(int))
        df["indicator"] = np.where(df["region"] == "", var, var + "[" + df["region"] + "]")
        cols = ["indicator", "variable", "region", "units", "year", "value"]
        frames.append(df[(["member"] if "member" in df else []) + cols])
    if not frames:
        raise SDModelError("none of the key indicators is in the results: " + ", ".join(INDICATORS))
    return pd.concat(frames, ignore_index=True)


def indicator_table(runs: Mapping[str, xr.Dataset], years: Sequence[float] = TABLE_YEARS) -> pd.DataFrame:
    """Key indicators of single runs, with the difference from the first scenario.

    Returns
    -------
    DataFrame: scenario, indicator, variable, region, units, year, value, difference
    (value minus the first scenario's, same units) and percent (difference in % of the
    first scenario's value).
    """
    frames = [indicator_values(ds, years).assign(scenario=name) for name, ds in runs.items()]
    table = pd.concat(frames, ignore_index=True)
    ref = frames[0].set_index(["indicator", "year"])["value"]
    ref_v = ref.reindex(pd.MultiIndex.from_frame(table[["indicator", "year"]])).to_numpy()
    table["difference"] = table["value"].to_numpy() - ref_v
    with np.errstate(divide="ignore", invalid="ignore"):
        table["percent"] = np.where(ref_v != 0, 100 * table["difference"] / np.abs(ref_v), np.nan)
    return table[["scenario", "indicator", "variable", "region", "units", "year", "value", "difference", "percent"]]


def _paired(ensembles: Mapping[str, xr.Dataset], years: Sequence[float]) -> pd.DataFrame:
    """Wide table: rows (indicator, year, member), one column per scenario."""
    members = None
    cols = {}
    for name, ds in ensembles.items():
        if "member" not in ds.dims:
            raise SDModelError(f"ensemble {name!r} has no 'member' dimension")
        m = ds["member"].to_numpy()
        if members is not None and not np.array_equal(m, members):
            raise SDModelError(f"ensemble {name!r} has other members than the first; the draws must be common")
        members = m
        long = indicator_values(ds, years)
        cols[name] = long.set_index(["indicator", "variable", "region", "units", "year", "member"])["value"]
    return pd.DataFrame(cols)


def ensemble_table(ensembles: Mapping[str, xr.Dataset], years: Sequence[float] = TABLE_YEARS,
                   reference: str | None = None) -> pd.DataFrame:
    """Quantiles over draws of each indicator, and of its paired difference from ``reference``.

    Parameters
    ----------
    ensembles : scenario name -> ensemble Dataset; all with the same members (draws).
    years : table years. Default is :data:`TABLE_YEARS`.
    reference : scenario the differences are taken from. Default is the first.

    Returns
    -------
    DataFrame: scenario, indicator, variable, region, units, year, n, p05, p25, median,
    p75, p95 (of the value) and diff_p05, diff_p25, diff_median, diff_p75, diff_p95 (of
    the value minus the reference's in the same draw).
    """
    wide = _paired(ensembles, years)
    reference = reference or next(iter(ensembles))
    rows = []
    keys = ["indicator", "variable", "region", "units", "year"]
    for name in ensembles:
        diff = wide[name] - wide[reference]
        g_val = wide[name].groupby(level=keys, sort=False)  # keep the model's order: East, Central, West, Northeast
        g_dif = diff.groupby(level=keys, sort=False)
        part = pd.DataFrame({"n": g_val.count()})
        for label, q in _QUANTILES.items():
            part[label] = g_val.quantile(q)
            part[f"diff_{label}"] = g_dif.quantile(q)
        rows.append(part.reset_index().assign(scenario=name, reference=reference))
    table = pd.concat(rows, ignore_index=True)
    front = ["scenario", "reference", *keys, "n"]
    return table[front + [c for c in table.columns if c not in front]]


def beat_shares(ensembles: Mapping[str, xr.Dataset], years: Sequence[float] = TABLE_YEARS,
                rtol: float = 1e-9) -> pd.DataFrame:
    """For each pair of scenarios, the share of draws in which each is better on each indicator.

    Only indicators with a direction in :data:`INDICATORS` are ranked. Values within
    ``rtol`` (relative) of each other count as tied.

    Returns
    -------
    DataFrame: scenario_a, scenario_b, indicator, better ("lower"/"higher"), year, n,
    a_better, b_better, tied (shares of draws, 0-1; the three sum to 1).
    """
    wide = _paired(ensembles, years)
    names = list(ensembles)
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    rows = []
    for (indicator, variable, year), block in wide.groupby(level=["indicator", "variable", "year"], sort=False):
        better = INDICATORS[variable]
        if better is None:
            continue
        values = block[names].to_numpy()  # draws x scenarios
        for i, j in pairs:
            va, vb = values[:, i], values[:, j]
            tied = np.isclose(va, vb, rtol=rtol, atol=0)
            a_wins = ~tied & ((va < vb) if better == "lower" else (va > vb))
            rows.append({"scenario_a": names[i], "scenario_b": names[j], "indicator": indicator, "better": better,
                         "year": year, "n": len(va), "a_better": a_wins.mean(),
                         "b_better": (~tied & ~a_wins).mean(), "tied": tied.mean()})
    rows.sort(key=lambda r: (names.index(r["scenario_a"]), names.index(r["scenario_b"])))
    return pd.DataFrame(rows, columns=["scenario_a", "scenario_b", "indicator", "better", "year", "n",
                                       "a_better", "b_better", "tied"])


def effects(runs: Mapping[str, xr.Dataset], reference: str, year: float,
            indicators: Sequence[str] = ("East West Ratio", "Theil Index", "National GDP"),
            ensembles: Mapping[str, xr.Dataset] | None = None,
            scenarios: Sequence[str] | None = None) -> pd.DataFrame:
    """Effect of each scenario against ``reference`` in ``year``, with its band over draws.

    Parameters
    ----------
    runs : single runs (scenario -> Dataset) holding ``reference`` and ``scenarios``.
    reference : the scenario compared against (e.g. the counterfactual).
    year : the year (Year).
    indicators : national (unsubscripted) indicators.
    ensembles : optional ensembles with common draws; adds the band of the paired effect.
    scenarios : scenarios to report. Default is every scenario but ``reference``.

    Returns
    -------
    DataFrame: scenario, reference, indicator, year, value, reference_value, difference,
    percent (of the reference value), and with ensembles diff_<q> and pct_<q> for q in
    p05, p25, median, p75, p95 (paired, over draws) and improved (share of draws in
    which the scenario is better than the reference, by the indicator's direction).
    """
    if reference not in runs:
        raise SDModelError(f"reference scenario {reference!r} is not among the runs: {', '.join(runs)}")
    names = [s for s in (scenarios or runs) if s != reference]
    rows = []
    for name in names:
        for var in indicators:
            v = float(runs[name][var].sel(time=year, method="nearest"))
            r = float(runs[reference][var].sel(time=year, method="nearest"))
            row = {"scenario": name, "reference": reference, "indicator": var, "year": int(round(year)),
                   "value": v, "reference_value": r, "difference": v - r, "percent": 100 * (v - r) / abs(r)}
            if ensembles is not None:
                a = ensembles[name][var].sel(time=year, method="nearest").to_numpy()
                b = ensembles[reference][var].sel(time=year, method="nearest").to_numpy()
                d, pct = a - b, 100 * (a - b) / np.abs(b)
                for label, q in _QUANTILES.items():
                    row[f"diff_{label}"] = float(np.quantile(d, q))
                    row[f"pct_{label}"] = float(np.quantile(pct, q))
                tied = np.isclose(a, b, rtol=1e-9, atol=0)
                wins = (a < b) if INDICATORS[var] == "lower" else (a > b)
                row["improved"] = float((wins & ~tied).mean())
            rows.append(row)
    return pd.DataFrame(rows)
