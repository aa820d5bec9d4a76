"""``sd-model backtest``: fit to several last years and score the next years against a naive forecast."""
from __future__ import annotations

from pathlib import Path

import click

from ..calibration.backtest import backtest, summary
from ..executor import default_workers
from .calibrate import DEFAULT_CONFIG
from .options import engine_option, shared


def _years(ctx, param, value: str) -> list[int]:  # noqa: ARG001 - click callback signature
    try:
        return [int(v) for v in value.replace(" ", "").split(",") if v]
    except ValueError:
        raise click.BadParameter(f"{value!r}: give years separated by commas, e.g. 2000,2005,2010") from None


@click.command("backtest", short_help="Fit to several origins; score the next years against a naive forecast.")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_CONFIG,
              help="Calibration TOML file (default: experiments/calibration/default.toml).")
@click.option("--origins", default="2000,2005,2010", show_default=True, callback=_years,
              help="Last in-sample years, separated by commas.")
@click.option("--horizon", type=click.IntRange(min=1), default=5, show_default=True,
              help="Years scored after each origin.")
@click.option("--resume", is_flag=True, help="Continue (or re-read) the backtest in --out.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: results/backtest/<config name>).")
@engine_option()
@shared("scheduler", "workers", "quiet", "force", "model")
def backtest_command(config, origins, horizon, resume, out, engine, scheduler, workers, quiet, force, model):
    """Rolling-origin backtest of the calibration: one fit per origin year, then its next years.

    Writes to OUT: fits/until<YEAR>/ (a calibration folder per origin, resumable),
    backtest.csv and backtest.md (MAPE of the model and of the naive forecast from each
    origin, their ratio, the mean error), plots/ (forecast errors of each fitted level
    series) and manifest.json.

    \b
    Example:
      sd-model backtest --workers 2                       # origins 2000, 2005, 2010; 5 years each
      sd-model backtest --origins 2005,2010 --horizon 5 --out results/backtest/recent
    """  # noqa: D301 (\b is Click's no-rewrap marker)
    out = out if out is not None else Path("results") / "backtest" / config.stem
    res = backtest(config, origins, horizon=horizon, out=out, resume=resume, force=force,
                   workers=workers or default_workers(), model=model, progress=not quiet, engine=engine,
                   scheduler=scheduler)
    s = summary(res.table[res.table["weight"] > 0])
    better, scored = int(s["model_better"].sum()), int(s["origins"].sum())
    click.echo(f"origins {', '.join(map(str, res.fits))}; horizon {horizon} years; the model beats the naive "
               f"forecast in {better} of {scored} fitted series x region x origin -> {out}")
