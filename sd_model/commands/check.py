"""``sd-model check``: the model-testing battery, as a table, non-zero exit on failure."""
from __future__ import annotations

import textwrap
from pathlib import Path

import click

from ..checks import DEFAULT_SPEC, check_names, iter_checks
from .options import engine_option, model_option


def _row(name: str, result: str, figure: str, width: int) -> str:
    return f"{name:<{width}}  {result:<6}  {figure}"


@click.command("check", short_help="Run the model-testing battery (Sterman ch. 21).")
@click.option("--only", "only", multiple=True, metavar="NAME",
              help="Run only this group (units, integration, extremes, mass_balance, agreement, "
                   "behaviour) or check (e.g. extremes.zero_savings). Repeatable.")
@click.option("--spec", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_SPEC,
              show_default=False, help="Declarations: thresholds and extreme cases "
                                       "(default: experiments/checks/checks.toml).")
@click.option("--list", "list_only", is_flag=True, help="List the checks and exit.")
@engine_option()
@model_option
def check_command(only, spec, list_only, engine, model):
    """Run the model-testing battery (Sterman, Business Dynamics, ch. 21).

    \b
    units         every variable has units and a comment; pysimlin's unit checker is clean
    integration   halving TIME STEP, and RK4 vs Euler, change no key indicator much
    extremes      baseline, declared extreme cases and their promised responses,
                  every constant at both ends of its declared range
    mass_balance  migration, credit and fiscal flows conserve people and funds (1e-9)
    agreement     PySD and pysimlin agree on every variable (PySD: ~10 s)
    behaviour     the baseline against historical GDP, population and loan shares

    Prints one row per check (test, result, figure), then the message of every failed
    check, and exits with status 1 if any check fails (2 for bad input). Thresholds and
    cases are declared in the --spec file; see docs/checks.md. --engine applies to the
    simulation checks (with pysd expect about a minute per run to 2100); the unit check
    and RK4 always use pysimlin, the agreement check both engines.

    \b
    Examples:
      sd-model check
      sd-model check --only extremes --only mass_balance
      sd-model check --only integration.rk4
    """  # noqa: D301 (\b is Click's no-rewrap marker)
    names = check_names(spec)
    if list_only:
        click.echo("\n".join(names))
        return
    pending = iter_checks(model, list(only) or None, engine, spec)  # validates the input first
    width = max(len(n) for n in names + ["check"])
    click.echo(_row("check", "result", "figure", width))
    click.echo(_row("-" * width, "-" * 6, "-" * 6, width))
    results, failed = 0, []
    for result in pending:
        results += 1
        click.echo(_row(result.name, "pass" if result.passed else "FAIL", result.figure, width))
        if not result.passed:
            failed.append(result)
    if failed:
        click.echo(f"\n{len(failed)} of {results} checks failed:")
        for result in failed:
            wrapped = textwrap.fill(result.message, width=100, initial_indent="    ", subsequent_indent="    ")
            click.echo(f"  {result.name}\n{wrapped}")
        click.get_current_context().exit(1)
    click.echo(f"\nall {results} checks passed")
