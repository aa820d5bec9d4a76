"""``sd-model sbc``: simulation-based calibration of the Bayesian calibration."""
from __future__ import annotations

from pathlib import Path

import click

from .calibrate import DEFAULT_CONFIG


@click.command("sbc", short_help="Simulation-based calibration: does the Bayesian fit cover known true values?")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_CONFIG,
              help="Calibration TOML file (default: experiments/calibration/default.toml).")
@click.option("--priors", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Priors TOML file (default: <config stem>.priors.toml beside --config).")
@click.option("--datasets", type=click.IntRange(min=1), default=50, show_default=True,
              help="Synthetic data sets (the issue asks for at least 50).")
@click.option("--first", type=click.IntRange(min=0), default=0, show_default=True,
              help="Fit only data sets FIRST.. (a second process on the same --out shares the work).")
@click.option("--walkers", type=click.IntRange(min=2), default=None,
              help="Walkers per fit (even; default: twice the sampled quantities).")
@click.option("--steps", type=click.IntRange(min=4), default=None,
              help="Steps per fit, the first 10% burn-in (default: the Bayesian calibration's, 8000).")
@click.option("--thin", type=click.IntRange(min=1), default=5, show_default=True,
              help="Keep every THIN-th step after burn-in for the ranks.")
@click.option("--lockstep", type=click.IntRange(min=1), default=25, show_default=True,
              help="Data sets fitted at once, their model runs in one engine call per round.")
@click.option("--file-priors", is_flag=True,
              help="Fit with the priors file and draw the true values from the real-data Laplace approximation "
                   "(default: priors matched to that approximation, true values drawn from them).")
@click.option("--laplace-only", is_flag=True,
              help="No sampler: the Laplace approximation's intervals on the same data sets, and the sampler's "
                   "widths against them if --out holds its sbc.csv.")
@click.option("--seed", type=click.IntRange(min=0), default=11, show_default=True,
              help="Seed of the true values, the synthetic errors and the fits.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Local processes of the batch engine (on 2 cores, two --workers 1 processes sharing --out "
                   "with --first are faster).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder; finished data sets and running fits are kept there, so the same command "
                   "continues after a kill.")
@click.option("--model", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Vensim model (default: the shipped model).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def sbc_command(config, priors, datasets, first, walkers, steps, thin, lockstep, file_priors, laplace_only, seed,
                workers, out, model, quiet):
    """Simulation-based calibration of `sd-model calibrate --method bayes`.

    Draws true values, simulates data with the error model, fits each data set as the Bayesian
    calibration fits the real data, and reports how often the 90% intervals hold the true values
    (coverage.csv; about 0.9 when the posterior is right) with rank histograms. Writes to OUT:
    sbc.csv, coverage.csv, rank_histograms.png, manifest.json (docs/bayes.md).

    \b
    Example (two processes on two cores, then the tables):
      sd-model sbc --datasets 25 --out results/sbc &
      sd-model sbc --datasets 50 --first 25 --out results/sbc
      sd-model sbc --datasets 50 --out results/sbc
    """  # noqa: D301 (\b is Click's no-rewrap marker)
    from ..bayes.sbc_run import check_out, laplace_check, prepare, sbc_manifest, sbc_tables, write_sbc

    check_out(out)  # before the set-up's minutes of model runs
    say = (lambda _msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    setup = prepare(config, priors, matched=not file_priors, seed=seed, datasets=datasets, workers=workers,
                    model=model)
    try:
        say(f"{len(setup.likelihood.priors.priors)} sampled quantities, {len(setup.fixed)} constants fixed")
        if laplace_only:
            _table, cov, line = laplace_check(setup, out=out, datasets=datasets, seed=seed, first=first)
            click.echo(cov.to_string(index=False))
            click.echo(line)
            return
        result = sbc_tables(setup, out=out, datasets=datasets, walkers=walkers, steps=steps, seed=seed, thin=thin,
                            lockstep=lockstep, first=first, progress=say)
    finally:
        setup.runner.close()
    click.echo(result.coverage.to_string(index=False))
    if first:  # this process fitted only part of the data sets: the tables are for the run over all of them
        click.echo(result.summary() + f"; data sets {first}-{datasets - 1} only: run with --first 0 for the tables")
        return
    write_sbc(result, out, sbc_manifest(setup, result, seed=seed, thin=thin, matched=not file_priors))
    click.echo(result.summary() + f" -> {out}")
