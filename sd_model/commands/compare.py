"""``sd-model compare``: run scenarios side by side and write an HTML report with tables."""
from __future__ import annotations

from pathlib import Path

import click

from ..engines import DEFAULT_ENSEMBLE_ENGINE
from ..workflows import compare
from .options import engine_option, seed_option, shared


@click.command("compare", short_help="Compare scenarios: HTML report, tables, uncertainty bands.")
@click.argument("scenarios", nargs=-1, required=True)
@click.option("--until", type=float, default=None, help="Final year for every scenario (default: theirs).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results/compare"),
              show_default=True, help="Output folder (replaced as a whole when complete).")
@click.option("--samples", type=click.IntRange(min=0), default=0, show_default=True,
              help="Parameter draws per scenario (the same draws for every scenario); 0 = single runs.")
@seed_option("Seed of the draws.")
@click.option("--ranges", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML file of parameter ranges [ranges] \"Name\" = [lo, hi] (default: "
                   "experiments/ranges/default.toml).")
@click.option("--from-calibration", "calibration", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Calibration output folder: draw around its estimates within its 95% bounds.")
@click.option("--posterior", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="posterior.nc of 'sd-model calibrate --method bayes': joint parameter draws (single runs at the "
                   "posterior medians); effects get posterior intervals and probabilities.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="parquet", show_default=True,
              help="Format of the tidy results of every run.")
@click.option("--structure", is_flag=True, help="Add the loop-dominance comparison and the sector views.")
@engine_option(DEFAULT_ENSEMBLE_ENGINE, "--ensemble-engine",
               "Engine of the sampled runs (--engine runs the single runs)")
@engine_option()
@shared("scheduler", "workers", "quiet", "force", "model")
def compare_command(scenarios, until, out, samples, seed, ranges, calibration, posterior, fmt, scheduler, workers,
                    structure, quiet, ensemble_engine, force, engine, model):
    """Run SCENARIO... (files, or names in experiments/) and write a comparison report.

    Writes OUT/report.html (plots, findings, tables), indicators.csv (key indicators at
    2015/2025/2035/2050/2060/2100 and the difference from the first scenario), findings.csv,
    runs/<scenario>.<fmt> and manifest.json; with --samples N also fan charts,
    indicators_ensemble.csv, beat_shares.csv, parameter_sets.csv and
    ensembles/<scenario>.<fmt>. The folder appears only when complete; finished
    ensemble runs are kept in a hidden sibling folder and reused if interrupted.

    \b
    Example:
      sd-model compare historical unbalanced balanced --samples 1000 --out results/compare-balanced
    """  # noqa: D301 (\b is Click's no-rewrap marker)
    result = compare(scenarios, out, until=until, samples=samples, seed=seed, ranges=ranges,
                     calibration=calibration, posterior=posterior, fmt=fmt, engine=engine,
                     ensemble_engine=ensemble_engine, model=model, workers=workers, scheduler=scheduler,
                     progress=not quiet, force=force, structure=structure)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    for sentence in result.sentences:
        click.echo(sentence)
    click.echo(f"report: {out / 'report.html'}")
