"""``sd-model run``: run scenarios and write results, manifest and plots."""
from __future__ import annotations

from pathlib import Path

import click

from ..results import FORMATS
from ..workflows import run_to_folder
from .options import engine_option, shared


@click.command("run")
@click.option("--scenario", "-s", "scenarios", multiple=True, type=click.Path(path_type=Path),
              help="Scenario TOML file, or the name of a shipped scenario in experiments/ (e.g. historical); "
                   "repeatable. Default: the model's own values.")
@click.option("--until", type=float, default=None, help="Final year (overrides the scenario's).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Output folder; each scenario gets a sub-folder named after it.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True,
              help="Results file format (csv/parquet: tidy long table; netcdf: xarray Dataset).")
@click.option("--outputs", default=None,
              help="Comma-separated Vensim names of the variables to write (default: every variable); "
                   "the plots still show their own variables.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@engine_option()
@shared("force", "model")
def run_command(scenarios, until, out, fmt, outputs, no_plots, force, engine, model):
    """Run the model for one or more scenarios.

    Writes, per scenario, OUT/<name>/results.<fmt> (every variable, or those of --outputs;
    csv/parquet: one row per variable, time and element with its units, constants once),
    manifest.json (model hash, parameters, scenario, versions) and plots/*.png (GDP per
    capita, shares, disparity, credit flows, migration; the 1978-2015 data as dots). A
    folder appears only when complete. An existing
    OUT/<name> is replaced only if sd-model run wrote it (its manifest.json lists every
    file in it, unchanged); anything else is refused unless --force.

    \b
    Example:
      sd-model run -s experiments/historical.toml -s experiments/unbalanced.toml --out results
    """  # noqa: D301 (\b is Click's no-rewrap marker)
    names = None if outputs is None else [n.strip() for n in outputs.split(",") if n.strip()]
    for name, ds, target in run_to_folder(scenarios, out, until=until, fmt=fmt, plots=not no_plots, engine=engine,
                                          model=model, force=force, outputs=names):
        click.echo(f"{name}: {float(ds.time[0]):g}-{float(ds.time[-1]):g}{_summary(ds.isel(time=-1))} -> {target}")


def _summary(last) -> str:
    """National GDP, Theil and East/West of the final year, for the variables the model has."""
    shown = (("National GDP", "national GDP {:,.0f} billion yuan (2000 prices)"), ("Theil Index", "Theil {:.4f}"),
             ("East West Ratio", "East/West {:.2f}"))
    return "".join(", " + text.format(float(last[name])) for name, text in shown
                   if name in last and not last[name].dims)
