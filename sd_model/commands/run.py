"""``sd-model run``: run scenarios and write results, manifest and plots."""
from __future__ import annotations

from pathlib import Path

import click

from ..files import atomic_dir, atomic_write_json

from ..results import FORMATS, write_results
from ..manifest import build_manifest
from ..plotting import standard_plots
from ..run import load_engine, run
from ..scenario import Scenario, load_scenario
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
    """Run the model for one or more scenarios.

    Writes, per scenario, OUT/<name>/results.<fmt>, manifest.json (model hash,
    parameters, scenario, versions) and plots/*.png (GDP per capita, shares, disparity,
    credit flows, migration). A folder appears only when complete.

    \b
    Example:
      sd-model run -s experiments/historical.toml -s experiments/unbalanced.toml --out results
    """
    eng = load_engine(engine, model)
    loaded = [load_scenario(p) for p in scenarios] or [Scenario(name="default")]
    # validate everything before writing anything
    specs = [s.resolve(eng.info, until=until) for s in loaded]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise click.UsageError(f"two scenarios share a name: {names}")
    for spec in specs:
        sc = spec.scenario
        ds = run(spec, eng)
        target = out / sc.name
        with atomic_dir(target) as tmp:
            write_results(ds, tmp, fmt)
            atomic_write_json(tmp / "manifest.json", build_manifest(eng.info, sc, eng.name, extra={"format": fmt}))
            if not no_plots:
                standard_plots(ds, tmp / "plots")
        last = ds.isel(time=-1)
        click.echo(f"{sc.name}: {float(ds.time[0]):g}-{float(ds.time[-1]):g}, national GDP "
                   f"{float(last['National GDP']):,.0f} billion yuan (2000 prices), Theil "
                   f"{float(last['Theil Index']):.4f}, East/West {float(last['East West Ratio']):.2f} -> {target}")
