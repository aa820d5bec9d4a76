"""Re-measure the README's single-run findings: ``sd-model findings``.

Every figure README.md quotes from single runs of the shipped scenarios ("Calibration and what the
model finds", "Findings") is computed here in one go, so that a change of the model file is
re-measured by one command. Pure functions over results Datasets (dims ``time``, ``Region``) build
one tidy table; :func:`findings_to_folder` runs the scenarios (each scenario and parameter variant
once) and writes ``findings.csv``, ``findings.md`` and ``manifest.json``.

What is measured (all on the saved points of the runs: whole years, SAVEPER 1):

- *historical run*: compound growth of ``National GDP``; national growth accounting with log
  growth rates of the sums of ``GDP``, ``Effective Capital`` and ``Effective Labour`` and alpha =
  ``Capital Elasticity`` (TFP with the environmental and land terms is the residual); ``TFP
  Relative to Frontier`` by region and nationally; ``National Credit to GDP``; ``East West
  Ratio`` and ``Theil Index``; the 2015 real GDP against the data (``gdp_real_2000``);
- *balanced vs unbalanced*: ``unbalanced`` against ``historical`` in 2015, as run and with the
  mechanisms of :data:`BALANCED_VARIANTS` switched off in both runs;
- *no siphoning*: ``no_siphoning`` against ``historical`` in 2015, and in the historical run the
  mean over the whole years of a period of net credit outflow (and with securities, ``Net Capital
  Outflow Share``) as a share of GDP;
- *forward levers*: each scenario of :data:`LEVERS` against ``historical`` in 2050, nationally and
  by region (:data:`LEVER_REGIONAL`), and aid's net fiscal transfer of the East in 2030.

>>> from sd_model.findings import findings_to_folder        # doctest: +SKIP
>>> result = findings_to_folder(Path("results/findings"))    # doctest: +SKIP
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .engines import DEFAULT_ENGINE
from .errors import SDModelError
from .files import atomic_dir, atomic_write_json, atomic_write_text, check_replaceable
from .growth_accounting import decompose
from .indicators import effects
from .manifest import build_manifest
from .resources import DEFAULT_MODEL, EXPERIMENTS_DIR
from .run import load_engine, run_scenario
from .scenario import Scenario, load_scenario

__all__ = ["BALANCED_VARIANTS", "COLUMNS", "EAST_FIRST_AND_PROGRAMMES", "Findings", "LEVERS", "LEVER_MECHANISMS",
           "LEVER_REGIONAL", "compound_growth", "findings_table", "findings_to_folder", "growth_shares",
           "mean_share", "measure", "to_markdown"]

#: Columns of ``findings.csv``.
COLUMNS = ["finding", "quantity", "scenario", "reference", "variant", "region", "year", "value", "reference_value",
           "difference", "percent", "units"]

#: The 2015 finding (balanced against unbalanced): east-first's FDI spillovers to the coast's catch-up, the
#: coast's priority in central investment, and the programmes' claim on the central pool, switched off.
EAST_FIRST_AND_PROGRAMMES: dict[str, float] = {"Coastal Opening Boost": 0.0, "East First Investment Priority": 0.0,
                                               "Programme Investment Priority": 0.0}

#: Variants of the 2015 comparison: label -> parameters laid over both ``unbalanced`` and ``historical``.
BALANCED_VARIANTS: dict[str, dict[str, float]] = {
    "": {},
    "spillovers off": {"Coastal Opening Boost": 0.0},
    "priority off": {"East First Investment Priority": 0.0},
    "spillovers and priority off": {k: v for k, v in EAST_FIRST_AND_PROGRAMMES.items() if "Programme" not in k},
    "programme intensities off": {"Programme Investment Priority": 0.0},
}

#: Each forward lever's mechanism, switched off (``tests/test_model_mechanisms.py`` explains each chain and
#: checks that with it off, in the lever's scenario and in ``historical``, the lever's effect vanishes).
LEVER_MECHANISMS: dict[str, dict[str, float]] = {
    "aid": {"Transfer Investment Share": 0.0, "Head Office Pooling Scale": 0.0, "Regional Postal Factor": 0.0,
            "Securities Home Share": 1.0, "Market Access Elasticity": 0.0},
    "differential_finance": {"Maximum Directed Credit Share": 0.0, "Differential Reserve Cut": 0.0},
    "credit_guarantee": {"Guarantee Coverage": 0.0, "Institutional Capacity Limit": 1.0},
    "governance": {"Abatement Efficiency": 0.0, "Base Local Competition": 0.0},
    "ecological_compensation": {"Ecological Restoration Effect": 0.0},
    "market_integration": {"Base Migration Rate": 0.0, "Return Migration Rate": 0.0},
    "cooperation": {"Cooperation Spillover Boost": 0.0},
}

#: Forward levers (scenario files in experiments/) compared with ``historical`` in :data:`LEVER_YEAR`.
LEVERS = ("differential_finance", "aid", "ecological_compensation", "cooperation", "credit_guarantee",
          "market_integration", "governance", "spatial_organisation", "balanced")
LEVER_YEAR = 2050
#: Regional variables of each lever's table (those the model has).
LEVER_REGIONAL = ("GDP per Capita", "Loans", "Deposits", "Capital", "Public Capital", "Environmental Quality",
                  "Population Share")
#: National indicators of every comparison.
NATIONAL = ("East West Ratio", "Theil Index", "National GDP")

GROWTH_PERIODS = ((2005, 2010), (2010, 2015), (2015, 2020), (2020, 2030), (2030, 2050))
ACCOUNTING_PERIODS = ((1978, 2015), (2000, 2015))
OUTFLOW_PERIODS = ((2003, 2015), (1985, 1995))
CREDIT_YEARS = (2000, 2015, 2030, 2050, 2100)
GAP_YEARS = (2015, 2050, 2100)
#: Years of the aid fund's regional shares (the README's 2030 and 2050).
AID_SHARE_YEARS = (2030, 2050)
#: Years at which credit rationing is read: gross new loans over the credit demanded, by region and nationally
#: (below 1: the region gets less credit than it asks for; the credit plan of the 1980s, the interior later).
RATIONING_YEARS = (1980, 1985, 1990, 2000, 2005, 2010, 2015, 2030, 2050)
#: Firms' investment by source (own funds, bank credit, securities): with public investment, ``Investment``.
PRIVATE_INVESTMENT = ("Self Financed Investment", "Credit Financed Investment", "Securities Financed Investment")

_FINDINGS = ("historical run", "balanced vs unbalanced", "no siphoning", "forward levers", "credit rationing")
_REQUIRED = ("GDP", "Effective Capital", "Effective Labour", "Capital Elasticity", "National GDP", "East West Ratio",
             "Theil Index", "Loans", "Net Credit Outflow")

#: A run of ``scenario`` (a name in experiments/) with ``variant`` parameters laid over it.
Runner = Callable[[str, Mapping[str, float]], xr.Dataset]


# --- pure computations ------------------------------------------------------------------------------------------

def _at(da: xr.DataArray, year: float) -> xr.DataArray:
    """``da`` at the saved point ``year`` (exactly; an error if the run does not save it)."""
    times = da["time"].to_numpy()
    hit = np.isclose(times, year, atol=1e-6)
    if not hit.any():
        raise SDModelError(f"{da.name}: the run has no saved point at {year:g} (it spans "
                           f"{times[0]:g}-{times[-1]:g})")
    return da.isel(time=int(np.argmax(hit)))


def compound_growth(da: xr.DataArray, start: int, end: int) -> xr.DataArray:
    """Compound growth of ``da`` from ``start`` to ``end``, % a year: ``100 ((x_end / x_start)^(1/n) - 1)``."""
    return 100.0 * ((_at(da, end) / _at(da, start)) ** (1.0 / (end - start)) - 1.0)


def growth_shares(ds: xr.Dataset, periods: Sequence[tuple[int, int]] = ACCOUNTING_PERIODS,
                  alpha: float | None = None) -> pd.DataFrame:
    """National growth accounting of a run: shares of output growth from capital, labour and the residual.

    Output is the sum over regions of ``GDP``, capital of ``Effective Capital``, labour of
    ``Effective Labour`` (with schooling); growth rates are logarithmic
    (:func:`sd_model.growth_accounting.decompose`). alpha is ``Capital Elasticity`` of the run
    unless given. The residual is TFP with the environmental and land terms.

    Returns
    -------
    DataFrame: start, end, output (log growth, % a year), capital_share (alpha g_K / g_Y),
    labour_share ((1 - alpha) g_L / g_Y), residual_share (1 minus the two), all in %.
    """
    if alpha is None:
        alpha = float(np.asarray(ds["Capital Elasticity"]).ravel()[0])
    y, k, n = (ds[name].rename(Region="region") for name in ("GDP", "Effective Capital", "Effective Labour"))
    table = decompose(y, k, n, alpha, periods, dim="time")
    nat = table[table["region"] == "China"]
    return pd.DataFrame({"start": nat["start"], "end": nat["end"], "output": nat["output"],
                         "capital_share": 100 * nat["capital_part"] / nat["output"],
                         "labour_share": 100 * nat["labour_part"] / nat["output"],
                         "residual_share": 100 * nat["residual"] / nat["output"]}).reset_index(drop=True)


def mean_share(ds: xr.Dataset, numerator: str, start: int, end: int, denominator: str | None = "GDP") -> xr.DataArray:
    """Mean of ``numerator / denominator`` over the saved points from ``start`` to ``end`` (both included), in %.

    The runs save whole years, so this is the mean of the yearly values (13 of them for 2003-2015).
    ``denominator`` None averages ``numerator`` itself (already a share).
    """
    times = ds["time"].to_numpy()
    keep = (times >= start - 1e-6) & (times <= end + 1e-6)
    ratio = ds[numerator] if denominator is None else ds[numerator] / ds[denominator]
    return 100.0 * ratio.isel(time=np.flatnonzero(keep)).mean("time")


def _row(finding: str, quantity: str, value: float, *, scenario: str, year: int | str, units: str,
         reference: str = "", reference_value: float = math.nan, variant: str = "", region: str = "") -> dict[str, Any]:
    difference = value - reference_value
    percent = 100 * difference / abs(reference_value) if reference_value else math.nan
    return {"finding": finding, "quantity": quantity, "scenario": scenario, "reference": reference,
            "variant": variant, "region": region, "year": str(year), "value": value,
            "reference_value": reference_value, "difference": difference, "percent": percent, "units": units}


def _by_region(finding: str, quantity: str, da: xr.DataArray, *, scenario: str, year: int | str,
               units: str) -> list[dict[str, Any]]:
    """One row per region of ``da`` (dims ``Region``)."""
    return [_row(finding, quantity, float(da.sel(Region=r)), scenario=scenario, year=year, region=str(r), units=units)
            for r in da["Region"].values]


def _units(ds: xr.Dataset, name: str) -> str:
    return str(ds[name].attrs.get("units", ""))


def historical_rows(ds: xr.Dataset, observed_gdp: xr.DataArray | None = None) -> list[dict[str, Any]]:
    """Rows of the historical run's figures.

    ``ds`` is that run; ``observed_gdp`` the data's ``gdp_real_2000`` (dims ``year``, ``region``),
    for the 2015 level against the data (left out if None).
    """
    f, sc = "historical run", "historical"
    rows = [_row(f, "National GDP growth (compound)", float(compound_growth(ds["National GDP"], a, b)),
                 scenario=sc, year=f"{a}-{b}", units="% a year") for a, b in GROWTH_PERIODS]
    for r in growth_shares(ds).itertuples():
        period = f"{r.start}-{r.end}"
        rows.append(_row(f, "output growth (log, sum of GDP)", r.output, scenario=sc, year=period, units="% a year"))
        for label, value in (("capital", r.capital_share), ("labour with schooling", r.labour_share),
                             ("TFP (residual)", r.residual_share)):
            rows.append(_row(f, f"growth accounting: share of {label}", value, scenario=sc, year=period,
                             units="% of output growth"))
    if "TFP Relative to Frontier" in ds:
        da = _at(ds["TFP Relative to Frontier"], 2015)
        rows += _by_region(f, "TFP Relative to Frontier", da, scenario=sc, year=2015,
                           units=_units(ds, "TFP Relative to Frontier"))
    for name, years in (("National TFP Relative to Frontier", (2010, 2015)), ("National Credit to GDP", CREDIT_YEARS),
                        ("East West Ratio", GAP_YEARS), ("Theil Index", GAP_YEARS)):
        if name in ds:
            rows += [_row(f, name, float(_at(ds[name], y)), scenario=sc, year=y, units=_units(ds, name))
                     for y in years]
    if observed_gdp is not None:
        model = _at(ds["GDP"], 2015)
        data = observed_gdp.sel(year=2015)
        for r in model["Region"].values:
            rows.append(_row(f, "GDP against the data", float(model.sel(Region=r)), scenario=sc, year=2015,
                             region=str(r), reference="data gdp_real_2000",
                             reference_value=float(data.sel(region=r)), units=_units(ds, "GDP")))
        rows.append(_row(f, "GDP against the data", float(model.sum()), scenario=sc, year=2015,
                         reference="data gdp_real_2000", reference_value=float(data.sum("region", min_count=4)),
                         units=_units(ds, "GDP")))
    return rows


def comparison_rows(finding: str, scenario: str, reference: str, run: xr.Dataset, ref: xr.Dataset, year: int,
                    national: Sequence[str] = NATIONAL, regional: Sequence[str] = (),
                    variant: str = "") -> list[dict[str, Any]]:
    """``scenario`` against ``reference`` in ``year`` (:func:`sd_model.indicators.effects`).

    The ``national`` indicators, and each of ``regional`` (those in the runs) region by region.
    """
    def rows_of(table: pd.DataFrame, region: str, units: Mapping[str, str]) -> list[dict[str, Any]]:
        return [{"finding": finding, "quantity": r.indicator, "scenario": scenario, "reference": reference,
                 "variant": variant, "region": region, "year": str(r.year), "value": r.value,
                 "reference_value": r.reference_value, "difference": r.difference, "percent": r.percent,
                 "units": units[r.indicator]} for r in table.itertuples()]

    pair = {scenario: run, reference: ref}
    units = {v: _units(run, v) for v in [*national, *regional] if v in run}
    out = rows_of(effects(pair, reference, year, [v for v in national if v in run]), "", units)
    present = [v for v in regional if v in run]
    for region in run["Region"].values if present else ():
        by_region = {k: v[present].sel(Region=region) for k, v in pair.items()}
        out += rows_of(effects(by_region, reference, year, present), str(region), units)
    return out


def findings_table(run: Runner, observed_gdp: xr.DataArray | None = None) -> pd.DataFrame:
    """Every figure, one row each (:data:`COLUMNS`); ``run(scenario, params)`` returns a run."""
    hist = run("historical", {})
    rows = historical_rows(hist, observed_gdp)
    f = "balanced vs unbalanced"
    for label, params in BALANCED_VARIANTS.items():
        rows += comparison_rows(f, "unbalanced", "historical", run("unbalanced", params), run("historical", params),
                                2015, variant=label)
    f = "no siphoning"
    rows += comparison_rows(f, "no_siphoning", "historical", run("no_siphoning", {}), hist, 2015,
                            regional=("Loans",))
    for numerator, quantity, denominator in (
            ("Net Credit Outflow", "Net Credit Outflow / GDP (mean)", "GDP"),
            ("Net Capital Outflow Share", "(Net Credit Outflow + Net Securities Outflow) / GDP (mean)", None)):
        if numerator not in hist:
            continue
        for a, b in OUTFLOW_PERIODS:
            share = mean_share(hist, numerator, a, b, denominator)
            rows += _by_region(f, quantity, share, scenario="historical", year=f"{a}-{b}", units="% of GDP")
    f = "forward levers"
    for lever in LEVERS:
        rows += comparison_rows(f, lever, "historical", run(lever, {}), hist, LEVER_YEAR, regional=LEVER_REGIONAL)
    if "Net Fiscal Transfer Share" in hist:
        aid, base = (100 * float(_at(ds["Net Fiscal Transfer Share"], 2030).sel(Region="East"))
                     for ds in (run("aid", {}), hist))
        rows.append(_row(f, "Net Fiscal Transfer / GDP", aid, scenario="aid", reference="historical",
                         reference_value=base, region="East", year=2030, units="% of GDP"))
    if "Aid Allocation Share" in hist:
        aid_run = run("aid", {})
        for year in AID_SHARE_YEARS:
            share = _at(aid_run["Aid Allocation Share"], year)
            rows += _by_region(f, "Aid Allocation Share", 100 * share, scenario="aid", year=year,
                               units="% of the aid fund")
    if "Land Conversion" in hist and "Land Supply Quota" in hist:
        # why spatial organisation (a larger quota) changes nothing: conversion never reaches the quota
        spatial, base = (100 * float((ds["Land Conversion"] / ds["Land Supply Quota"]).max())
                         for ds in (run("spatial_organisation", {}), hist))
        rows.append(_row(f, "largest Land Conversion / Land Supply Quota (any region, any year)", spatial,
                         scenario="spatial_organisation", reference="historical", reference_value=base,
                         year=f"{int(hist['time'][0])}-{int(hist['time'][-1])}", units="% of the quota"))
    f = "credit rationing"
    if "Credit Demand" in hist and all(v in hist for v in (*PRIVATE_INVESTMENT, "Desired Investment")):
        for year in RATIONING_YEARS:
            loans = _at(hist["New Loans"], year)   # subscripted by Dest in the model (the column sums of Credit Flow)
            loans = loans.rename({d: "Region" for d in loans.dims if d != "Region"})
            ratio = loans / _at(hist["Credit Demand"], year)
            rows += _by_region(f, "New Loans / Credit Demand", ratio, scenario="historical", year=year, units="dmnl")
            if "National Credit Demand" in hist and "National New Lending" in hist:
                nat = float(_at(hist["National New Lending"], year) / _at(hist["National Credit Demand"], year))
                rows.append(_row(f, "National New Lending / National Credit Demand", nat, scenario="historical",
                                 year=year, units="dmnl"))
            # what the rationing does to investment: firms' investment from own funds, credit and securities over
            # what they want (the desired investment; 1 when finance does not bind)
            private = sum(_at(hist[v], year) for v in PRIVATE_INVESTMENT)
            ratio = private / _at(hist["Desired Investment"], year)
            rows += _by_region(f, "private investment / Desired Investment", ratio, scenario="historical", year=year,
                               units="dmnl")
    return pd.DataFrame(rows, columns=COLUMNS)


# --- the markdown tables ----------------------------------------------------------------------------------------

def figure_row(table: pd.DataFrame, **where: Any) -> pd.Series:
    """The one row of a findings table whose columns equal ``where``.

    ``table`` is :func:`findings_table`'s, or its ``findings.csv`` read back; values are compared as text (an
    empty region, year or variant is ""). Raises :class:`SDModelError` naming ``where`` unless exactly one row
    matches.
    """
    rows = table
    for column, value in where.items():
        rows = rows[rows[column].fillna("").astype(str) == str(value)]
    if len(rows) != 1:
        raise SDModelError(f"findings: {len(rows)} rows for {where}, expected one")
    return rows.iloc[0]


def _number(value: float, units: str, sign: str = "") -> str:
    """``value`` as the README writes it: % to one decimal, large levels with thousands separators, else 4 digits."""
    if not np.isfinite(value):
        return ""
    if units.startswith("%"):
        text = f"{value:{sign}.1f}"
    elif abs(value) >= 1000:
        text = f"{value:{sign},.0f}"
    else:
        text = f"{value:{sign}.4g}"
    return text.replace("-", "−")


def _table(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in frame.itertuples():
        cells = {"quantity": r.quantity, "variant": r.variant or "as run", "region": r.region or "national",
                 "year": r.year, "scenario": r.scenario, "value": _number(r.value, r.units),
                 "reference": _number(r.reference_value, r.units),
                 "difference": _number(r.difference, r.units, "+"), "%": _number(r.percent, "%", "+"),
                 "units": r.units}
        lines.append("| " + " | ".join(str(cells[c]) for c in columns) + " |")
    return lines


def to_markdown(table: pd.DataFrame, meta: Mapping[str, str] | None = None) -> str:
    """``findings.md``: the figures of :func:`findings_table` as tables grouped by finding (one per lever)."""
    lines = ["# Single-run findings", ""]
    lines += [f"- {k}: {v}" for k, v in (meta or {}).items()]
    lines += ["", "Single runs, values at the saved (whole-year) points; percent = (value − reference) / |reference|.",
              "Shares are in % of GDP; a difference of shares is in points.", ""]
    long = ["quantity", "variant", "region", "year", "value", "reference", "difference", "%", "units"]
    for finding in _FINDINGS:
        part = table[table["finding"] == finding]
        if part.empty:
            continue
        lines += [f"## {finding}", ""]
        if finding == "historical run":
            lines += _table(part, ["quantity", "region", "year", "value", "reference", "%", "units"])
        elif finding == "forward levers":
            for lever, block in part.groupby("scenario", sort=False):
                lines += [f"### {lever} against historical", ""]
                lines += _table(block, ["quantity", "region", "year", "value", "reference", "difference", "%",
                                        "units"]) + [""]
        elif finding == "no siphoning":
            compared = part["reference"] != ""
            lines += ["no_siphoning against historical:", ""] + _table(part[compared], long) + [""]
            lines += ["In the historical run (mean of the yearly values):", ""]
            lines += _table(part[~compared], ["quantity", "region", "year", "value", "units"])
        elif finding == "credit rationing":
            lines += ["In the historical run: gross new loans over the credit demanded (below 1, the region gets "
                      "less credit than it asks for):", ""]
            lines += _table(part, ["quantity", "region", "year", "value", "units"])
        else:
            lines += ["unbalanced against historical, both with the variant's parameters:", ""] + _table(part, long)
        lines.append("")
    return "\n".join(lines)


# --- running the scenarios --------------------------------------------------------------------------------------

def _scenario(name: str) -> Scenario:
    return load_scenario(EXPERIMENTS_DIR / f"{name}.toml")


def measure(engine: Any, observed_gdp: xr.DataArray | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run every scenario and variant once on ``engine`` (from :func:`sd_model.run.load_engine`).

    Returns the findings table and a record of the runs: ``scenarios`` (name -> scenario as
    recorded in a manifest) and ``variants`` (label -> the parameters laid over the scenario).
    """
    cache: dict[tuple[str, str], xr.Dataset] = {}
    scenarios: dict[str, Scenario] = {}
    variants: dict[str, dict[str, float]] = {}

    def run(name: str, params: Mapping[str, float]) -> xr.Dataset:
        label = next((k for k, v in BALANCED_VARIANTS.items() if v == dict(params)), None)
        if label is None:
            label = "; ".join(f"{k} = {v:g}" for k, v in params.items())
        key = (name, label)
        if key not in cache:
            if name not in scenarios:
                scenarios[name] = _scenario(name)
            cache[key] = run_scenario(scenarios[name].with_params(dict(params)), engine)
            variants[label] = dict(params)
            missing = [v for v in _REQUIRED if v not in cache[key]]
            if missing:
                raise SDModelError(f"the model {engine.info.path} lacks {', '.join(missing)}, which the findings "
                                   "measure")
        return cache[key]

    table = findings_table(run, observed_gdp)
    record = {"scenarios": {n: s.to_dict() for n, s in scenarios.items()},
              "variants": {k or "as run": v for k, v in variants.items()}, "runs": len(cache)}
    return table, record


@dataclass(frozen=True)
class Findings:
    """What :func:`findings_to_folder` wrote: the table, the folder, the runs and the seconds it took."""

    table: pd.DataFrame
    out: Path
    runs: int
    seconds: float


def findings_to_folder(out: Path, *, model: str | Path | None = None, engine: str = DEFAULT_ENGINE,
                       force: bool = False) -> Findings:
    """Re-measure the README's single-run findings and write ``out``: findings.csv, findings.md, manifest.json.

    ``out`` is checked first (replaced only if ``sd-model findings`` wrote it, or with ``force``)
    and appears only when complete. ``model`` defaults to the shipped model, ``engine`` to simlin.
    """
    from .data import load_observations

    start = time.perf_counter()
    out = Path(out)
    check_replaceable(out, "findings", force)
    eng = load_engine(engine, model if model is not None else DEFAULT_MODEL)
    observed = load_observations()["gdp_real_2000"]
    table, record = measure(eng, observed)
    seconds = time.perf_counter() - start
    meta = {"model": f"{eng.info.path.name} (sha256 {eng.info.sha256[:12]})", "engine": eng.name,
            "runs": f"{record['runs']} single runs, {seconds:.1f} s"}
    with atomic_dir(out, "findings", force) as tmp:
        atomic_write_text(tmp / "findings.csv", table.to_csv(index=False))
        atomic_write_text(tmp / "findings.md", to_markdown(table, meta))
        extra = {**record, "figures": len(table), "elapsed_seconds": round(seconds, 3),
                 "files": ["findings.csv", "findings.md"]}
        atomic_write_json(tmp / "manifest.json", build_manifest(eng.info, _scenario("historical"), eng.name,
                                                                extra=extra))
    return Findings(table, out, int(record["runs"]), seconds)
