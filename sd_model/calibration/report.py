"""Calibration outputs: fit statistics, targets, plots, the overlay scenario and the report.

Statistics (:mod:`sd_model.metrics`) are computed per series, region and period
(in-sample: years up to the split year; out-of-sample: later years) on the values the
series compares, with log series taken back to levels (so a log-fitted GDP reports the
MAPE of GDP itself).
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import metrics
from ..files import atomic_write_bytes
from .problem import Problem
from .series import SeriesData
from .config import TargetSpec

def report_values(series: SeriesData, values: np.ndarray) -> np.ndarray:
    """Values in the units the report uses: levels for log series, else as compared."""
    return np.exp(values) if series.spec.transform == "log" else values


#: Years over which the naive out-of-sample forecast measures its drift (the last in-sample years).
NAIVE_WINDOW = 5


def fit_table(problem: Problem, simulated: Mapping[str, np.ndarray], horizon: int | None = None) -> pd.DataFrame:
    """Fit statistics per series, region and period (rows without years are left out).

    ``horizon`` (years) limits the out-of-sample period to the years ``until + 1`` to
    ``until + horizon`` (default: every year after ``until``).

    Columns: series, region, period, first_year, last_year, n, mape (fraction), rmse,
    r2, um, us, uc, max_abs_error (in the series' report units), weight, units, and for the
    out-of-sample rows naive_mape and relative_mape: the MAPE of the naive forecast from the last
    in-sample year (:func:`sd_model.metrics.naive_forecast`: with drift for log series, whose levels
    grow; unchanged for the others) and the model's MAPE over it (below 1: the model forecasts
    better than the naive rule); NaN elsewhere. For log series also rebased_mape: the MAPE of the
    model's path scaled to the data in the last in-sample year (an intercept correction, Clements
    and Hendry 1998, *Forecasting Economic Time Series*), which scores the model's growth after
    the origin without its level error at the origin.
    """
    rows = []
    for s in problem.series:
        sim = report_values(s, simulated[s.spec.name])
        obs = report_values(s, s.obs)
        naive = metrics.naive_forecast(s.years, obs, problem.until, drift=s.spec.transform == "log",
                                       window=NAIVE_WINDOW)
        origin = np.flatnonzero(s.years == problem.until)
        if s.spec.transform == "log" and origin.size:
            with np.errstate(invalid="ignore", divide="ignore"):
                rebased = sim * (obs[origin[0]] / sim[origin[0]])
        else:
            rebased = np.full_like(sim, np.nan)
        in_sample = s.years <= problem.until
        ahead = ~in_sample if horizon is None else ~in_sample & (s.years <= problem.until + horizon)
        for period, mask in (("in-sample", in_sample), ("out-of-sample", ahead), ("all", in_sample | True)):
            if not mask.any():
                continue
            for j, region in enumerate(s.regions):
                a, b = sim[mask, j], obs[mask, j]
                stats = metrics.fit_statistics(a, b)
                err = np.abs(a - b)
                oos = period == "out-of-sample"
                naive_mape = metrics.mape(naive[mask, j], b) if oos else math.nan
                rows.append({"series": s.spec.name, "region": region, "period": period,
                             "first_year": int(s.years[mask][0]), "last_year": int(s.years[mask][-1]),
                             **stats, "max_abs_error": float(np.nanmax(err)) if err.size else math.nan,
                             "weight": s.spec.weight, "units": "level" if s.spec.transform == "log" else s.units,
                             "naive_mape": naive_mape,
                             "relative_mape": stats["mape"] / naive_mape if naive_mape > 0 else math.nan,
                             "rebased_mape": metrics.mape(rebased[mask, j], b) if oos else math.nan})
    return pd.DataFrame(rows)


def check_targets(targets: Sequence[TargetSpec], table: pd.DataFrame) -> pd.DataFrame:
    """One row per target and region: value, threshold, pass (True/False) or None (no data)."""
    rows = []
    for t in targets:
        sub = table[(table["series"] == t.series) & (table["period"] == t.period)]
        regions = t.regions or tuple(table.loc[table["series"] == t.series, "region"].unique())
        for region in regions:
            hit = sub[sub["region"] == region]
            value = float(hit[t.statistic].iloc[0]) if len(hit) else math.nan
            ok = ((t.max is None or value <= t.max) and (t.min is None or value >= t.min)
                  if math.isfinite(value) else None)
            rows.append({"series": t.series, "region": region, "period": t.period, "statistic": t.statistic,
                         "value": value, "max": t.max, "min": t.min, "pass": ok})
    return pd.DataFrame(rows, columns=["series", "region", "period", "statistic", "value", "max", "min", "pass"])


# ------------------------------------------------------------------ files


def toml_string(text: str) -> str:
    """A TOML basic string (JSON escaping is valid TOML for these names)."""
    return json.dumps(text, ensure_ascii=False)


def overlay_toml(problem: Problem, x: np.ndarray, *, name: str, description: str, base: Path | None,
                 folder: Path) -> str:
    """The calibrated parameters as a scenario overlay (``inherits`` the base scenario)."""
    lines = [f"name = {toml_string(name)}", f"description = {toml_string(description)}"]
    if base is not None:
        rel = os.path.relpath(base, folder.resolve())
        lines.append(f"inherits = {toml_string(Path(rel).as_posix())}")
    lines += ["", "[params]"]
    for pname, value in problem.overrides(x).items():
        if isinstance(value, dict):
            inner = ", ".join(f"{toml_string(e) if not e.isidentifier() else e} = {v!r}" for e, v in value.items())
            lines.append(f"{toml_string(pname)} = {{ {inner} }}")
        else:
            lines.append(f"{toml_string(pname)} = {value!r}")
    return "\n".join(lines) + "\n"


def write_plots(problem: Problem, simulated: Mapping[str, np.ndarray], folder: Path) -> list[Path]:
    """One PNG per series: simulated (line) and observed (dots) per region; the split year dashed."""
    from ..plotting import REGION_COLOURS, figure_png, plt

    paths = []
    for s in problem.series:
        sim = report_values(s, simulated[s.spec.name])
        obs = report_values(s, s.obs)
        n = len(s.regions)
        fig, axes = plt.subplots(1, n, figsize=(3.2 * n + 1, 3.2), squeeze=False)
        for j, (ax, region) in enumerate(zip(axes[0], s.regions)):
            colour = REGION_COLOURS.get(region, "k")
            ax.plot(s.years, obs[:, j], "o", ms=3, color=colour, alpha=0.6, label="data")
            ax.plot(s.years, sim[:, j], "-", color=colour, label="model")
            if problem.until < s.years[-1]:
                ax.axvline(problem.until + 0.5, color="grey", ls="--", lw=0.8)
            ax.set_title(region, fontsize=9)
            ax.grid(alpha=0.3)
            if s.spec.transform == "log":
                ax.set_yscale("log")
        axes[0][0].legend(fontsize=7)
        unit = "level" if s.spec.transform == "log" else s.units
        fig.suptitle(f"{s.spec.name}: {s.model} vs {s.spec.data} ({s.spec.transform}, {unit}; "
                     f"weight {s.spec.weight:g})", fontsize=9)
        fig.tight_layout()
        paths.append(atomic_write_bytes(folder / f"{slug(s.spec.name)}.png", figure_png(fig, dpi=90)))
    return paths


def slug(text: str) -> str:
    """File-name form of a series name."""
    out = "".join(c.lower() if c.isalnum() else "_" for c in text)
    return "_".join(p for p in out.split("_") if p) or "series"


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return "" if isinstance(v, float) and math.isnan(v) else f"{v:.{digits}g}"  # inf as "inf", "-inf"


def markdown_table(df: pd.DataFrame, columns: Sequence[str], headers: Sequence[str] | None = None) -> str:
    """A GitHub Markdown table of ``columns`` of ``df``."""
    headers = headers or columns
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(columns)]
    for _, row in df.iterrows():
        out.append("| " + " | ".join(_fmt(row[c]) if not isinstance(row[c], str) else row[c] for c in columns) + " |")
    return "\n".join(out)

