"""``sd-model run``: run scenarios and write results, manifest and plots."""
from __future__ import annotations

from pathlib import Path

import click

from ..results import FORMATS
from ..workflows import run_to_folder
from .options import engine_option, model_option


@click.command("run")
@click.option("--scenario", "-s", "scenarios", multiple=True, type=click.Path(path_type=Path),
              help="Scenario TOML file (repeatable). Default: the model's own values.")
@click.option("--until", type=float, default=None, help="Final year (overrides the scenario's).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Output folder; each scenario gets a sub-folder named after it.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True,
              help="Results file format (csv/parquet: tidy long table; netcdf: xarray Dataset).")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@engine_option()
@model_option
def run_command(scenarios, until, out, fmt, no_plots, engine, model):
    r"""Run the model for one or more scenarios.

    Writes, per scenario, OUT/<name>/results.<fmt>, manifest.json (model hash,
    parameters, scenario, versions) and plots/*.png (GDP per capita, shares, disparity,
    credit flows, migration). A folder appears only when complete.

    \b
    Example:
      sd-model run -s experiments/historical.toml -s experiments/unbalanced.toml --out results
    """
    for name, ds, target in run_to_folder(scenarios, out, until=until, fmt=fmt, plots=not no_plots, engine=engine,
                                          model=model):
        last = ds.isel(time=-1)
        click.echo(f"{name}: {float(ds.time[0]):g}-{float(ds.time[-1]):g}, national GDP "
                   f"{float(last['National GDP']):,.0f} billion yuan (2000 prices), Theil "
                   f"{float(last['Theil Index']):.4f}, East/West {float(last['East West Ratio']):.2f} -> {target}")
