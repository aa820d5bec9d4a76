"""``sd-model ensemble``: sample uncertain parameters and run the model once per sample."""
from __future__ import annotations

from pathlib import Path

import click

from ..engines import DEFAULT_ENSEMBLE_ENGINE
from ..sampling import METHODS
from ..workflows import ensemble_to_folder
from .options import engine_option, seed_option, shared

DEFAULT_OUTPUTS = ("National GDP", "GDP per Capita", "Theil Index", "Loan Share", "Net Credit Outflow")


@click.command("ensemble")
@click.option("--samples", "-n", type=click.IntRange(min=1), required=True, help="Number of members (runs).")
@click.option("--ranges", "ranges_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML file with a [ranges] table: \"Name\" = [low, high] or \"Name[East]\" = [low, high].")
@click.option("--posterior", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Instead of --ranges: posterior.nc of 'sd-model calibrate --method bayes' (joint draws).")
@click.option("--scenario", "-s", "scenario_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Scenario every member starts from: a TOML file or the name of a shipped scenario "
                   "(e.g. historical). Default: the model's own values.")
@seed_option("Random seed: the same seed, ranges and sample count give identical results.")
@click.option("--method", type=click.Choice(METHODS), default="lhs", show_default=True,
              help="Latin hypercube or independent uniform draws.")
@click.option("--outputs", default=",".join(DEFAULT_OUTPUTS), show_default=True,
              help="Comma-separated Vensim variables to keep (arrays keep their Region/Dest dims).")
@click.option("--until", type=float, default=None, help="Final year (overrides the scenario's).")
@engine_option(DEFAULT_ENSEMBLE_ENGINE)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results/ensemble"),
              show_default=True, help="Output folder.")
@click.option("--format", "fmt", type=click.Choice(["netcdf", "parquet"]), default="netcdf", show_default=True,
              help="netcdf: ensemble.nc (xarray Dataset, dims member x time x Region/Dest); "
                   "parquet: ensemble.parquet (long table member, variable, time, Region, Dest, value).")
@click.option("--resume", is_flag=True, help="Continue an interrupted ensemble in --out (finished chunks are kept).")
@shared("scheduler", "workers", "quiet", "force", "model")
def ensemble_command(samples, ranges_file, posterior, scenario_file, seed, method, outputs, until, engine, workers,
                     scheduler, out, fmt, resume, quiet, force, model):
    """Run the model once per sampled parameter set (an ensemble).

    Samples SAMPLES parameter sets from the ranges file (reproducibly from --seed), lays each
    over the scenario and runs them all on every local core, or on a Dask cluster with
    --scheduler. Writes into OUT: parameters.csv (the samples, then with 'failed' and
    'message' columns), ensemble.nc or ensemble.parquet, and manifest.json (model hash,
    scenario, seed, ranges, versions). Finished chunks are kept in OUT/chunks while it runs:
    if it is interrupted, the same command with --resume continues where it stopped (each
    chunk is checked against its SHA-256 record; an edited or swapped chunk is refused).
    An existing non-empty OUT is refused unless --resume (an interrupted or finished
    ensemble of the same settings) or --force (start afresh; OUT is deleted first).

    \b
    Example (10,000 runs to 2100 on all cores):
      sd-model ensemble --samples 10000 --ranges experiments/ranges/default.toml \\
          --scenario experiments/historical.toml --seed 1 --out results/ens
    """  # noqa: D301 (\b is Click's no-rewrap marker)
    names = [n.strip() for n in outputs.split(",") if n.strip()]
    ds, failures, elapsed = ensemble_to_folder(out, samples, ranges_file, names, posterior=posterior,
                                               scenario_file=scenario_file,
                                               seed=seed, method=method, until=until, fmt=fmt, resume=resume,
                                               engine=engine, model=model, workers=workers, scheduler=scheduler,
                                               progress=not quiet, force=force)
    if ds is None:
        click.echo(f"{out}: ensemble already complete ({samples} members); nothing to do")
        return
    for message in failures:
        click.echo(f"warning: {message}", err=True)
    path = out / ("ensemble.nc" if fmt == "netcdf" else "ensemble.parquet")
    click.echo(f"{samples} runs ({engine}) in {elapsed:.1f} s, {int(ds.attrs['failed_members'])} failed -> {path}")
