"""``sd-model info``: every parameter and lever with units, range, default and comment."""
from __future__ import annotations

import click

from ..mdl import read_model_info
from ..parameters import lever_names
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


def _matches(search, lever, info) -> bool:
    """A lever matches ``--search`` if its name or the name of one of its constants contains the text."""
    names = [f"{lever} {s}".strip() for s in ("", "Start Year", "End Year", "Intensity")]
    return not search or any(search.lower() in n.lower() for n in names if n == lever or n in info.variables)


@click.command("info")
@click.option("--levers", "only_levers", is_flag=True, help="List only the strategy levers.")
@click.option("--search", default=None, help="Show only levers and parameters whose names contain this text.")
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
    shown = [lever for lever in levers if _matches(search, lever, info)]
    click.echo(f"\nStrategy levers ({len(shown)}{f' of {len(levers)}' if search else ''}): set in a scenario as "
               "[levers.\"<name>\"] start/end/intensity")
    for lever in shown:
        start = info.get(f"{lever} Start Year")
        inten = info.get(f"{lever} Intensity")
        end = info.variables.get(f"{lever} End Year")
        until = f", end {_fmt_default(end.default)}" if end is not None else ""
        click.echo(f"  {lever}: start {_fmt_default(start.default)}{until}, intensity {_fmt_default(inten.default)} "
                   f"{_fmt_range(inten.range)} - {start.comment}")
    if only_levers:
        return
    click.echo("\nParameters (name | units | range | default | comment):")
    for name, var in sorted(info.constants().items()):
        if search and search.lower() not in name.lower():
            continue
        click.echo(f"  {name} | {var.units} | {_fmt_range(var.range)} | {_fmt_default(var.default)} | {var.comment}")
