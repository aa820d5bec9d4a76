"""Policy experiments: run several scenarios and compare them, with or without uncertainty.

Pure functions over results Datasets (dims ``time``, ``Region``; ensembles add ``member``):
preparing and checking scenarios, running them (once each, or as ensembles over the same
parameter draws: common random numbers), key-indicator tables at chosen years with the
difference from a reference scenario, effects of one scenario against another with bands,
and pairwise "share of draws in which A beats B".

>>> from sd_model.experiments import prepare_scenarios, run_scenarios, indicator_table
>>> scs = prepare_scenarios(["experiments/historical.toml", "experiments/unbalanced.toml"],
...                         engine.info)                                  # doctest: +SKIP
>>> indicator_table(run_scenarios(scs, engine)).head()                   # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .errors import ScenarioError, SDModelError
from .run import DEFAULT_MODEL, run_scenario
from .scenario import Scenario, lever_names, load_scenario, validate

#: Years of the key-indicator tables (those outside a run are left out).
TABLE_YEARS = (2025, 2035, 2050, 2060, 2100)

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

#: Outputs an ensemble saves: the indicators above (all that the report's fan charts need).
ENSEMBLE_OUTPUTS = tuple(INDICATORS)

EXPERIMENTS_DIR = DEFAULT_MODEL.parent.parent / "experiments"
_QUANTILES = {"p05": 0.05, "p25": 0.25, "median": 0.5, "p75": 0.75, "p95": 0.95}


# ---------------------------------------------------------------- scenarios


def resolve_scenario_path(arg: str | Path, folder: Path = EXPERIMENTS_DIR) -> Path:
    """Return the scenario file for ``arg``: a path, or a bare name of a file in ``folder``.

    Raises
    ------
    ScenarioError
        If neither exists; the message lists the scenarios in ``folder``.
    """
    path = Path(arg)
    if path.is_file():
        return path
    named = folder / f"{path.name}.toml"
    if path.suffix == "" and path.parent == Path(".") and named.is_file():
        return named
    known = ", ".join(sorted(p.stem for p in folder.glob("*.toml")))
    raise ScenarioError(f"{arg}: scenario file not found; give a path or one of: {known}")


def check_lever_starts(scenario: Scenario, info: Any) -> None:
    """Check that every active lever starts within the run ``[INITIAL TIME, final time]``.

    A lever (or one region's element of it) is active when its effective intensity
    (the scenario's value, else the model's default) is above zero.

    Parameters
    ----------
    scenario : a scenario validated with :func:`sd_model.scenario.validate`.
    info : the model's :class:`sd_model.mdl.ModelInfo`.

    Raises
    ------
    ScenarioError
        Naming the file, the lever (and region), its start year and the run's span.
    """
    first = info.initial_time
    last = scenario.final_time if scenario.final_time is not None else info.final_time
    where = scenario.source or scenario.name
    for lever in lever_names(info):
        starts = _effective(scenario, info, f"{lever} Start Year")
        intensity = _effective(scenario, info, f"{lever} Intensity")
        for element, start in starts.items():
            level = intensity.get(element, intensity.get("", 0.0))
            if level > 0 and not first <= start <= last:
                label = f"{lever}[{element}]" if element else lever
                raise ScenarioError(
                    f"{where}: lever {label!r} starts in {start:g}, outside the run {first:g}-{last:g}; "
                    f"valid: a start year from {first:g} to {last:g} (or intensity 0)")


def _effective(scenario: Scenario, info: Any, name: str) -> dict[str, float]:
    """Effective value of a constant as {element: value} ({"": value} for a scalar)."""
    value = info.get(name).default
    over = scenario.params.get(name)
    if isinstance(value, Mapping):
        merged = {**value, **(over or {})} if not isinstance(over, (int, float)) else dict.fromkeys(value, over)
        return {k: float(v) for k, v in merged.items()}
    return {"": float(value if over is None else over)}


def prepare_scenarios(paths: Sequence[str | Path], info: Any, until: float | None = None) -> list[Scenario]:
    """Load, validate and check scenario files before anything runs.

    Parameters
    ----------
    paths : scenario files or bare names of files in ``experiments/``.
    info : the model's :class:`sd_model.mdl.ModelInfo`.
    until : final year (Year) for every scenario, overriding theirs. Default is None.

    Returns
    -------
    list of validated Scenario, in the order given (the first is the reference).

    Raises
    ------
    ScenarioError
        For a missing or bad file, an unknown lever or parameter, an inheritance loop,
        a lever starting outside the run, or two scenarios with the same name.
    """
    if not paths:
        raise ScenarioError("no scenario given; name at least one scenario file")
    out = []
    for arg in paths:
        sc = load_scenario(resolve_scenario_path(arg))
        if until is not None:
            sc = replace(sc, final_time=float(until))
        sc = validate(sc, info)
        check_lever_starts(sc, info)
        out.append(sc)
    names = [s.name for s in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ScenarioError(f"two scenarios share the name {dupes[0]!r}; each needs its own name")
    return out


# ---------------------------------------------------------------- running


def run_scenarios(scenarios: Sequence[Scenario], engine: Any,
                  outputs: Sequence[str] | None = None) -> dict[str, xr.Dataset]:
    """Run each scenario once with the model's parameter values.

    Returns
    -------
    dict of scenario name -> Dataset (dims time, Region / Dest), in the given order.
    """
    return {sc.name: run_scenario(sc, engine, outputs) for sc in scenarios}


def store_key(scenario: Scenario, parameter_sets: pd.DataFrame, outputs: Sequence[str], model_sha: str) -> str:
    """Fingerprint (12 hex digits) of what an ensemble depends on, to name its resumable store."""
    blob = json.dumps({"scenario": scenario.to_dict() | {"source": None},
                       "outputs": list(outputs), "model": model_sha}, sort_keys=True, default=str)
    digest = hashlib.sha256(blob.encode())
    digest.update(pd.util.hash_pandas_object(parameter_sets, index=True).to_numpy().tobytes())
    digest.update(",".join(map(str, parameter_sets.columns)).encode())
    return digest.hexdigest()[:12]


def run_ensembles(scenarios: Sequence[Scenario], parameter_sets: pd.DataFrame,
                  outputs: Sequence[str] = ENSEMBLE_OUTPUTS, *, engine: str = "simlin",
                  model: str | Path | None = None, model_sha: str = "", store_root: Path | None = None,
                  workers: int | None = None, scheduler: Any = None,
                  progress: bool = True) -> dict[str, xr.Dataset]:
    """Run every scenario over the same parameter draws (common random numbers).

    Parameters
    ----------
    scenarios : validated scenarios (their final times apply).
    parameter_sets : one row per draw, columns Vensim constant names or "Name[Element]".
    outputs : variables to save. Default is :data:`ENSEMBLE_OUTPUTS`.
    engine, model, workers, scheduler, progress : passed to
        :func:`sd_model.ensemble.run_ensemble`.
    model_sha : SHA-256 of the model file, part of each store's fingerprint.
    store_root : folder for the resumable stores, one per scenario named
        ``<scenario>-<fingerprint>``; finished runs survive an interruption and are
        reused when the same comparison is run again. Default is None (no store).

    Returns
    -------
    dict of scenario name -> Dataset with dims ("member", "time", ...).
    """
    from .ensemble import run_ensemble

    out = {}
    for sc in scenarios:
        store = None
        if store_root is not None:
            store = Path(store_root) / f"{sc.name}-{store_key(sc, parameter_sets, outputs, model_sha)}"
        out[sc.name] = run_ensemble(sc, parameter_sets, list(outputs), engine=engine, model=model,
                                    store=store, workers=workers, scheduler=scheduler, progress=progress)
    return out


def drop_failed(ensembles: Mapping[str, xr.Dataset]) -> tuple[dict[str, xr.Dataset], int]:
    """Keep only the draws that succeeded in every scenario, so that comparisons stay paired.

    Returns
    -------
    (ensembles without the failed draws and without the ``failed`` / ``message``
    bookkeeping variables, number of draws dropped).
    """
    ok = None
    for ds in ensembles.values():
        good = ~ds["failed"].to_numpy().astype(bool) if "failed" in ds else np.ones(ds.sizes["member"], bool)
        ok = good if ok is None else ok & good
    out = {name: ds.drop_vars(["failed", "message"], errors="ignore").isel(member=ok)
           for name, ds in ensembles.items()}
    if ok is not None and not ok.any():
        raise SDModelError("every draw failed in at least one scenario; see the ensemble's messages")
    return out, 0 if ok is None else int((~ok).sum())


# ---------------------------------------------------------------- tables


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
        g_val = wide[name].groupby(level=keys)
        g_dif = diff.groupby(level=keys)
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
