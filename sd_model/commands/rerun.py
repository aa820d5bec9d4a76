"""``sd-model rerun``: repeat a recorded run exactly from its manifest, and verify it."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import SDModelError
from ..files import atomic_dir, atomic_write_json, check_replaceable

from ..results import FORMATS, max_relative_difference, read_results, tidy, write_results
from ..manifest import build_manifest, load_manifest, scenario_from_manifest
from ..observed import load_observed
from ..plotting import standard_plots
from ..run import load_engine, run
from .options import engine_option, force_option, model_option


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
@force_option
@model_option
def rerun_command(manifest, out, engine, fmt, allow_model_change, no_plots, force, model):
    r"""Repeat the run recorded in MANIFEST (a manifest.json or its folder) exactly.

    Uses every constant value and the time settings the manifest records, checks that the
    model file is the one recorded (SHA-256), writes a new folder, and reports the largest
    relative difference from the recorded results when they are beside the manifest.

    \b
    Example:
      sd-model rerun results/historical/manifest.json
    """
    recorded = load_manifest(manifest)
    folder = manifest if manifest.is_dir() else manifest.parent
    eng = load_engine(engine or recorded["engine"], model)
    spec = scenario_from_manifest(recorded, eng.info, allow_model_change=allow_model_change,
                                  where=str(manifest)).resolve(eng.info)
    sc = spec.scenario
    fmt = fmt or recorded.get("format", "csv")
    if fmt not in FORMATS:
        raise SDModelError(f"{manifest}: recorded format {fmt!r} is not one of {', '.join(FORMATS)}; "
                           "give --format")
    target = out if out is not None else folder.parent / f"{folder.name}-rerun"
    here, there = folder.resolve(), target.resolve()
    if there == here or there in here.parents:
        raise SDModelError(f"--out {target} would replace the recorded results in {folder} that the rerun is "
                           "checked against; choose another --out")
    check_replaceable(target, "rerun", force)
    ds = run(spec, eng)
    with atomic_dir(target, "rerun", force) as tmp:
        write_results(ds, tmp, fmt)
        atomic_write_json(tmp / "manifest.json", build_manifest(
            eng.info, sc, eng.name, extra={"format": fmt, "rerun_of": str(manifest)}))
        if not no_plots:
            observed = load_observed()  # history drawn as dots on the plots
            standard_plots(ds, tmp / "plots", observed)
    try:
        original = read_results(folder)
    except FileNotFoundError:
        click.echo(f"{sc.name}: rerun written to {target} (no recorded results beside the manifest to compare)")
        return
    diff, n = max_relative_difference(tidy(ds), original)
    click.echo(f"{sc.name}: rerun written to {target}; largest relative difference from the recorded "
               f"results {diff:.3g} over {n:,} values")
