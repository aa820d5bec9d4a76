"""``sd-model sketch | diagram | loops | export``: the model's structure (views, loops, XMILE)."""
from __future__ import annotations

from pathlib import Path

import click

from .options import model_option


@click.command("sketch")
@click.option("--views", "views", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="View specification TOML (default: vensim/views.toml).")
@model_option
def sketch_command(views, model):
    """Write the sector views (Vensim sketch) into the model file; equations are not touched."""
    from ..structure.sketch import write_sketch
    from ..structure.views import DEFAULT_VIEWS

    path = write_sketch(model, views or DEFAULT_VIEWS)
    click.echo(f"sketch written into {path}")


@click.command("diagram")
@click.option("--view", default=None, help="One view (short name or title); default: every view.")
@click.option("--format", "fmt", type=click.Choice(["svg", "png"]), default="svg", show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results/diagrams"),
              show_default=True, help="Output folder (one file per view).")
@model_option
def diagram_command(view, fmt, out, model):
    """Render the stock-and-flow views of the model with Simlin's renderer."""
    from ..structure.diagram import render_views

    for path in render_views(model, out, view=view, fmt=fmt):
        click.echo(str(path))


@click.command("loops")
@click.option("--scenario", "-s", type=click.Path(path_type=Path), default=None, help="Scenario TOML.")
@click.option("--from", "start", type=float, default=None, help="First year of the window (default: start).")
@click.option("--to", "end", type=float, default=None, help="Last year of the window (default: the run's end).")
@click.option("--top", type=int, default=10, show_default=True, help="Loops listed.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results/loops"),
              show_default=True, help="Folder for loops.csv, periods.csv and dominance.png.")
@model_option
def loops_command(scenario, start, end, top, out, model):
    """Loops That Matter: the loops that dominate behaviour, by period (Simlin loop discovery)."""
    from ..structure.loop_run import run_loops

    click.echo(run_loops(model, scenario, start, end, top, out))


@click.command("export")
@click.option("--xmile", "xmile", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="XMILE file to write (.xmile).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@model_option
def export_command(xmile, force, model):
    """Export the model as XMILE (via Simlin) and check that it runs to the same results."""
    from ..structure.xmile import compare_xmile, export_xmile

    path = export_xmile(model, xmile, force=force)
    diff, n = compare_xmile(model, path)
    click.echo(f"{path}: XMILE written; Simlin runs it like the .mdl (largest relative difference {diff:.3g} "
               f"over {n} variables)")
