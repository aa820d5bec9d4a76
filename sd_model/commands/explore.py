"""``sd-model explore``: the interactive policy explorer in the browser."""
from __future__ import annotations

from pathlib import Path

import click

from ..scenario import resolve_scenario
from ..explore import open_page
from .options import engine_option, model_option


@click.command("explore")
@click.option("--scenario", "-s", "scenario", default="historical", show_default=True,
              help="Scenario the page starts from and shows as the baseline: a TOML path, or the name of a "
                   "file in experiments/.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1; 0 takes a free one.")
@click.option("--bands", type=click.Path(path_type=Path), default=None,
              help="Ensemble file (ensemble.nc of 'sd-model ensemble', or its folder): 5-95% bands on the charts.")
@click.option("--ranges", "ranges_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Ranges TOML naming the uncertain parameters shown (default: experiments/ranges/default.toml).")
@engine_option()
@model_option
def explore_command(scenario, port, bands, ranges_file, engine, model):
    """Open the policy explorer: move a lever, watch the charts redraw.

    Serves a page on 127.0.0.1 only (a free port unless --port is given) and prints its
    address; Ctrl+C stops it. Sliders for every lever and the main uncertain parameters
    come from the model; "Save as scenario" writes a TOML file that 'sd-model run -s'
    reproduces exactly.

    \b
    Example:
      sd-model explore --scenario balanced
    """  # noqa: D301 (\b is Click's no-rewrap marker)
    open_page(resolve_scenario(scenario), port=port, engine=engine, model=model, ranges_file=ranges_file,
              bands_file=bands, announce=lambda url: click.echo(f"sd-model explore: open {url}  (Ctrl+C stops)"))
    click.echo("sd-model explore: stopped")
