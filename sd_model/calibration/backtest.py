"""Rolling-origin backtest: fit to several last years, score each fit's next years against a naive forecast.

For each origin year the calibration file is fitted to the data up to that year (:func:`calibrate`
with ``until``), and its next ``horizon`` years are compared with the data, beside the naive
forecast from the same origin (:func:`sd_model.metrics.naive_forecast`: levels grown at their last
five years' compound growth, other series unchanged). A model whose structure helps forecasting
beats the naive rule (``relative_mape`` below 1) at most origins; one fitted origin says little
(Tashman 2000, "Out-of-sample tests of forecasting accuracy", International Journal of
Forecasting 16(4), on rolling origins).

Output folder: ``fits/until<YEAR>/`` (one calibration folder per origin, each resumable),
``backtest.csv`` (every series, region and origin), ``backtest.md``, ``plots/<series>.png`` (for
each fitted level series: the model's and the naive forecast's error against the data after each
origin, by region) and ``manifest.json``.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..files import (atomic_dir, atomic_write_bytes, atomic_write_json, atomic_write_text, fresh_start,
                     ownership_problem, stamp_manifest)
from .. import metrics
from ..manifest import build_manifest
from ..mdl import read_model_info
from ..resources import DEFAULT_MODEL
from ..scenario import Scenario, load_scenario, validate
from .config import CalibrationConfig, CalibrationError, load_config
from .report import NAIVE_WINDOW, fit_table, markdown_table, report_values, slug
from .runner import CalibrationResult, calibrate

__all__ = ["BacktestResult", "backtest", "summary", "FITS", "COLUMNS"]

#: Sub-folder of the output folder holding one calibration folder per origin.
FITS = "fits"
_OUTPUTS = frozenset({FITS, "backtest.csv", "backtest.md", "plots", "manifest.json"})
COLUMNS = ["origin", "series", "region", "first_year", "last_year", "n", "mape", "naive_mape", "relative_mape",
           "rebased_mape", "mean_error", "max_abs_error", "weight", "units"]


@dataclass(frozen=True)
class BacktestResult:
    """What a backtest found.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per origin, series and region over the origin's next ``horizon`` years: columns
        :data:`COLUMNS` (MAPE as a fraction; mean and largest error in the series' report units).
    fits : dict
        {origin: the CalibrationResult of the fit to that year}.
    horizon : int
        Years scored after each origin.
    out : Path or None
        Output folder.
    """

    table: pd.DataFrame
    fits: dict[int, CalibrationResult]
    horizon: int
    out: Path | None = None


def _check_origins(origins: Sequence[int], horizon: int, cfg: CalibrationConfig) -> list[int]:
    if horizon < 1:
        raise CalibrationError(f"horizon {horizon}: give at least 1 year")
    years = sorted({int(o) for o in origins})
    if not years:
        raise CalibrationError("no origin year given: name at least one, e.g. 2010")
    first, last = cfg.span
    for y in years:
        # the naive forecast needs the origin and the value NAIVE_WINDOW years before it inside the span
        if not first + NAIVE_WINDOW <= y < last:
            raise CalibrationError(f"origin {y} is outside {first + NAIVE_WINDOW}-{last - 1}: {cfg.where()} spans "
                                   f"{first}-{last}, and an origin needs {NAIVE_WINDOW} years of data before it "
                                   "(the naive forecast's drift) and at least one year after it")
    return years


def _prepare(out: Path, resume: bool, force: bool) -> None:
    """Check the output folder before anything is written (see :func:`backtest`)."""
    if fresh_start(out, "backtest", force, resume) or not out.exists() or not any(out.iterdir()):
        return
    extra = sorted(p.name for p in out.iterdir() if p.name not in _OUTPUTS)
    if extra:
        raise CalibrationError(f"{out}: holds {extra[0]}, which sd-model backtest did not write; choose another "
                               "--out, or pass --force to replace it")
    if not resume:
        raise CalibrationError(f"{out}: holds a backtest; continue (or re-read) it with --resume, start afresh with "
                               "--force, or choose another --out")
    if (out / "manifest.json").is_file():
        problem = ownership_problem(out, "backtest", exclude=(FITS,))
        if problem is not None:
            raise CalibrationError(f"{out} {problem}; refusing to write into it: choose another --out")


def backtest(config: str | Path | CalibrationConfig, origins: Sequence[int], *, horizon: int = 5,
             out: str | Path | None = None, resume: bool = False, force: bool = False, workers: int = 1,
             model: str | Path | None = None, observations: Any = None, progress: bool = False,
             engine: str = "simlin", scheduler: Any = None) -> BacktestResult:
    """Fit ``config`` up to each origin year and score the next ``horizon`` years against a naive forecast.

    Parameters
    ----------
    config : path or CalibrationConfig
        The calibration file (its parameters, series, optimiser settings and targets).
    origins : sequence of int
        Last in-sample years, each at least five years after the span's start (the naive drift)
        and before its end.
    horizon : int
        Years after each origin that are scored (fewer where the span ends sooner). Default 5.
    out : path, optional
        Output folder (``fits/until<YEAR>/``, ``backtest.csv``, ``backtest.md``, ``manifest.json``).
        Default None: nothing is written and nothing is checkpointed.
    resume : bool
        Continue an interrupted backtest in ``out``: each fit resumes from its checkpoint, a
        finished one is replayed from it. Default False.
    force : bool
        Replace ``out`` whatever it holds. Default False.
    workers, model, observations, progress, engine, scheduler
        As for :func:`sd_model.calibration.calibrate`.

    Returns
    -------
    BacktestResult

    Raises
    ------
    CalibrationError, sd_model.errors.SDModelError
        For a bad origin or horizon, an output folder this command may not write into, or
        whatever :func:`calibrate` raises.
    """
    t0 = time.perf_counter()
    cfg = config if isinstance(config, CalibrationConfig) else load_config(config)
    years = _check_origins(origins, horizon, cfg)
    out_path = Path(out) if out is not None else None
    if out_path is not None:
        _prepare(out_path, resume, force)
    fits: dict[int, CalibrationResult] = {}
    rows = []
    for y in years:
        fit = calibrate(cfg, out=out_path / FITS / f"until{y}" if out_path is not None else None, until=y,
                        resume=resume, workers=workers, model=model, observations=observations, progress=progress,
                        engine=engine, scheduler=scheduler)
        fits[y] = fit
        table = fit_table(fit.problem, fit.simulated, horizon=horizon)
        ahead = table[table["period"] == "out-of-sample"].assign(origin=y)
        rows.append(ahead)
    table = pd.concat(rows, ignore_index=True)[COLUMNS] if rows else pd.DataFrame(columns=COLUMNS)
    result = BacktestResult(table=table, fits=fits, horizon=horizon, out=out_path)
    if out_path is not None:
        _write(result, cfg, model, time.perf_counter() - t0)
    return result


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per series and region: origins scored, how many the model beats the naive forecast at, median ratio.

    Only rows where both MAPEs exist count (a level series without a value five years before the
    origin has no naive forecast).
    """
    ok = table.dropna(subset=["mape", "naive_mape", "relative_mape"])
    if ok.empty:
        return pd.DataFrame(columns=["series", "region", "origins", "model_better", "median_relative_mape"])
    g = ok.groupby(["series", "region"], sort=False)
    return pd.DataFrame({"origins": g.size(), "model_better": g["relative_mape"].apply(lambda r: int((r < 1).sum())),
                         "median_relative_mape": g["relative_mape"].median()}).reset_index()


def _write(result: BacktestResult, cfg: CalibrationConfig, model: str | Path | None, seconds: float) -> None:
    out = result.out
    assert out is not None
    info = read_model_info(model if model is not None else DEFAULT_MODEL)
    scenario = validate(load_scenario(cfg.base) if cfg.base is not None else Scenario(name="default"), info)
    t = result.table
    fitted = t[t["weight"] > 0]
    lines = [f"# Backtest: {cfg.name}", "",
             f"- configuration: `{cfg.path}`; model sha256 `{info.sha256[:12]}`",
             f"- origins {', '.join(map(str, result.fits))}; each fitted to the data from {cfg.span[0]} to the origin "
             f"(`fits/until<YEAR>/`), and scored on the next {result.horizon} years (to {cfg.span[1]} at most)",
             "- naive forecast from each origin: levels (log series) grown at their compound growth of the "
             f"{NAIVE_WINDOW} years before it, other series kept at the origin's value; relative_mape = the "
             "model's MAPE over the naive one (below 1: the model forecasts better); rebased_mape (level series): "
             "the MAPE of the model's path scaled to the data at the origin, its growth without its level error there",
             f"- {seconds:.0f} s", ""]
    lines += ["## Summary (fitted series)", "",
              markdown_table(summary(fitted), ["series", "region", "origins", "model_better", "median_relative_mape"]),
              "", "## Every series, region and origin", "",
              markdown_table(t.sort_values(["series", "region", "origin"], kind="stable"), COLUMNS), ""]
    with atomic_dir(out / "plots", None) as tmp:  # inside the checked backtest folder
        write_plots(result, tmp)
    atomic_write_text(out / "backtest.csv", t.to_csv(index=False))
    atomic_write_text(out / "backtest.md", "\n".join(lines))
    extra = {"backtest": {"config": str(cfg.path), "origins": list(result.fits), "horizon": result.horizon,
                          "naive_window": NAIVE_WINDOW, "seconds": round(seconds, 1),
                          "fits": {str(y): {"payoff": f.payoff, "runs": f.runs, "replayed": f.replayed,
                                            "estimates": dict(zip([p.label for p in f.problem.parameters],
                                                                  map(float, np.asarray(f.x))))}
                                   for y, f in result.fits.items()}}}
    manifest = build_manifest(info, scenario, next(iter(result.fits.values())).problem.engine,
                              seed=cfg.optimizer.get("seed"), extra=extra)
    atomic_write_json(out / "manifest.json", manifest)
    stamp_manifest(out, "backtest", exclude=(FITS,))


def write_plots(result: BacktestResult, folder: Path) -> list[Path]:
    """One PNG per fitted level (log) series: forecast error (model / data - 1, %) after each origin, by region.

    Solid lines: the fit to that origin; dashed: the naive forecast from it (same colour). The
    closer to 0, the better; where the dashed line is nearer 0 the naive rule forecast better.
    """
    from matplotlib.ticker import MaxNLocator

    from ..plotting import figure_png, plt

    paths: list[Path] = []
    first = next(iter(result.fits.values()))
    colours = plt.get_cmap("viridis")
    for k, spec in enumerate(s.spec for s in first.problem.series):
        if spec.transform != "log" or spec.weight <= 0:
            continue
        n = len(first.problem.series[k].regions)
        fig, axes = plt.subplots(1, n, figsize=(3.2 * n + 1, 3.2), squeeze=False, sharey=True)
        for i, (origin, fit) in enumerate(result.fits.items()):
            series = fit.problem.series[k]
            sim, obs = report_values(series, fit.simulated[spec.name]), report_values(series, series.obs)
            naive = metrics.naive_forecast(series.years, obs, origin, drift=True, window=NAIVE_WINDOW)
            ahead = (series.years > origin) & (series.years <= origin + result.horizon)
            if origin not in series.years or not ahead.any():  # the series has no data at the origin or after it
                continue
            years = np.concatenate([[origin], series.years[ahead]])
            colour = colours(i / max(1, len(result.fits) - 1) * 0.85)
            for j, ax in enumerate(axes[0]):
                with np.errstate(invalid="ignore", divide="ignore"):
                    model_err = 100 * (sim[ahead, j] / obs[ahead, j] - 1)
                    naive_err = 100 * (naive[ahead, j] / obs[ahead, j] - 1)
                at_origin = 100 * (sim[series.years == origin, j] / obs[series.years == origin, j] - 1)
                ax.plot(years, np.concatenate([at_origin, model_err]), "-", color=colour,
                        label=f"model, fit to {origin}")
                ax.plot(years, np.concatenate([[0.0], naive_err]), "--", color=colour, label=f"naive from {origin}")
        for j, ax in enumerate(axes[0]):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # years, not 2002.5
            ax.axhline(0, color="grey", lw=0.8)
            ax.set_title(first.problem.series[k].regions[j], fontsize=9)
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("forecast error, % of the data")
        axes[0][0].legend(fontsize=6)
        fig.suptitle(f"{spec.name}: error after each origin, model (solid) and naive forecast (dashed)", fontsize=9)
        fig.tight_layout()
        paths.append(atomic_write_bytes(folder / f"{slug(spec.name)}.png", figure_png(fig, dpi=90)))
    return paths
