"""``sd-model info``: every parameter and lever with units, range, default and comment."""
from __future__ import annotations

import click

from ..mdl import read_model_info
from ..scenario import lever_names
from .options import model_option


def _fmt_default(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v:g}" for k, v in value.items())
    return f"{value:g}" if value is not None else ""


def _fmt_range(rng) -> str:
    lo, hi = rng
    if lo is None and hi is None:
        return ""
    return f"[{'' if lo is None else f'{lo:g}'}, {'' if hi is None else f'{hi:g}'}]"


@click.command("info")
@click.option("--levers", "only_levers", is_flag=True, help="List only the strategy levers.")
@click.option("--search", default=None, help="Show only names containing this text.")
@model_option
def info_command(only_levers, search, model):
    """List the model's parameters and strategy levers.

    For each constant: name, units, declared range, default value and comment (with its
    source). Scenario files set these names under [params], or levers under [levers].
    """
    info = read_model_info(model)
    levers = lever_names(info)
    click.echo(f"model {info.path} (sha256 {info.sha256[:12]}), {len(info.variables)} variables, "
               f"{info.initial_time:g}-{info.final_time:g}, TIME STEP {info.time_step:g}")
    click.echo(f"\nStrategy levers ({len(levers)}): set in a scenario as [levers.\"<name>\"] start/end/intensity")
    for lever in levers:
        start = info.get(f"{lever} Start Year")
        inten = info.get(f"{lever} Intensity")
        click.echo(f"  {lever}: start {_fmt_default(start.default)}, intensity {_fmt_default(inten.default)} "
                   f"{_fmt_range(inten.range)} - {start.comment}")
    if only_levers:
        return
    click.echo("\nParameters (name | units | range | default | comment):")
    for name, var in sorted(info.constants().items()):
        if search and search.lower() not in name.lower():
            continue
        click.echo(f"  {name} | {var.units} | {_fmt_range(var.range)} | {_fmt_default(var.default)} | {var.comment}")
