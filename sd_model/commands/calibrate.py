"""``sd-model calibrate``: estimate parameters against historical data."""
from __future__ import annotations

from pathlib import Path

import click

from ..calibration import calibrate
from ..calibration.config import METHODS, UNCERTAINTY
from ..executor import default_workers
from ..resources import EXPERIMENTS_DIR
from .options import engine_option, force_option, model_option

DEFAULT_CONFIG = EXPERIMENTS_DIR / "calibration" / "default.toml"


@click.command("calibrate", short_help="Fit parameters to 1978-2015 data; fit report and 95% bounds.")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_CONFIG,
              help="Calibration TOML file (default: experiments/calibration/default.toml).")
@click.option("--until", type=int, default=None,
              help="Fit only data up to this year; later years are reported out-of-sample.")
@click.option("--method", type=click.Choice(METHODS), default=None,
              help="local: multi-start least squares; global: differential evolution + least squares; "
                   "none: evaluate the start values. Default: the file's.")
@click.option("--resume", is_flag=True, help="Continue the calibration checkpointed in --out.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: results/calibration/<config name>[-until<YEAR>]).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: every core this process may use).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed (default: the file's).")
@click.option("--starts", type=click.IntRange(min=1), default=None,
              help="Number of least-squares starts (default: the file's).")
@click.option("--uncertainty", type=click.Choice(UNCERTAINTY), default=None,
              help="Confidence bounds from the Jacobian, or also from a residual bootstrap (default: the file's).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@force_option
@engine_option()
@model_option
def calibrate_command(config, until, method, resume, out, workers, seed, starts, uncertainty, quiet, force, engine,
                      model):
    r"""Estimate model parameters against the historical data of a calibration file.

    Writes to OUT: calibrated.toml (a scenario overlay for `sd-model run --scenario`),
    fit_report.md, fit_statistics.csv, parameters.csv (estimates, 95% bounds, flags),
    targets.csv, starts.csv, correlation.csv, plots/*.png, manifest.json, and the
    checkpoint/ that --resume continues from after a kill.

    \b
    Example:
      sd-model calibrate --workers 2
      sd-model calibrate --until 2010 --workers 2        # out-of-sample test 2011-2015
    """
    if out is None:
        out = Path("results") / "calibration" / (config.stem + (f"-until{until}" if until is not None else ""))
    result = calibrate(config, out=out, until=until, method=method, resume=resume,
                       workers=workers or default_workers(), seed=seed, starts=starts, uncertainty=uncertainty,
                       model=model, progress=not quiet, engine=engine, force=force)
    failed = [] if result.targets.empty else result.targets[result.targets["pass"] == False]  # noqa: E712
    click.echo(f"payoff {result.payoff:.6g}; {result.runs} model runs ({result.replayed} replayed) in "
               f"{result.seconds:.0f} s; targets met {int((result.targets['pass'] == True).sum())}"  # noqa: E712
               f"/{int(result.targets['pass'].notna().sum())} -> {out}")
    for _, row in (failed.iterrows() if len(failed) else []):
        click.echo(f"  target not met: {row['series']} {row['region']} {row['period']} {row['statistic']} "
                   f"{row['value']:.4g} (limit {row['max'] if row['max'] is not None else row['min']})")
