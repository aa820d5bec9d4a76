"""``sd-model rerun``: repeat a recorded run exactly from its manifest, and verify it."""
from __future__ import annotations

from pathlib import Path

import click

from ..results import FORMATS
from ..workflows import rerun
from .options import engine_option, shared


@click.command("rerun", short_help="Repeat a recorded run exactly from its manifest.")
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: the recorded folder's name with '-rerun', beside it).")
@engine_option(None, help="Engine (default: the recorded one)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Results format (default: the recorded one).")
@click.option("--allow-model-change", is_flag=True,
              help="Rerun the recorded parameters on a model file whose hash differs from the recorded one.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@shared("force", "model")
def rerun_command(manifest, out, engine, fmt, allow_model_change, no_plots, force, model):
    """Repeat the run recorded in MANIFEST (a manifest.json or its folder) exactly.

    Uses every constant value and the time settings the manifest records, checks that the
    model file is the one recorded (SHA-256), writes a new folder, and reports the largest
    relative difference from the recorded results when they are beside the manifest.

    \b
    Example:
      sd-model rerun results/historical/manifest.json
    """  # noqa: D301 (\b is Click's no-rewrap marker)
    done = rerun(manifest, out, engine=engine, fmt=fmt, allow_model_change=allow_model_change, plots=not no_plots,
                 force=force, model=model)
    if done.difference is None:
        click.echo(f"{done.name}: rerun written to {done.target} (no recorded results beside the manifest to compare)")
    else:
        click.echo(f"{done.name}: rerun written to {done.target}; largest relative difference from the recorded "
                   f"results {done.difference:.3g} over {done.values:,} values")
