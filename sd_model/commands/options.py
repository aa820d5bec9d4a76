"""Options shared by every command, and the error handling of the command line."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import SDModelError
from ..engines import DEFAULT_ENGINE, ENGINES
from ..run import DEFAULT_MODEL

_ENGINE_HELP = ("simlin: compiled pysimlin (fast); batch: vectorised numpy code generated from the .mdl "
                "(fastest for many runs); pysd: the reference (slow)")


def engine_option(default: str | None = DEFAULT_ENGINE, flag: str = "--engine", help: str = "Simulation engine"):
    """``--engine NAME``: any registered engine (:data:`sd_model.engines.ENGINES`)."""
    return click.option(flag, type=click.Choice(sorted(ENGINES)), default=default, show_default=default is not None,
                        help=f"{help} ({_ENGINE_HELP}).")


def quiet_option(f):
    """``--quiet`` / ``-q`` (also spelled ``--no-progress``): no progress bar."""
    return click.option("--quiet", "-q", "--no-progress", "quiet", is_flag=True, help="No progress bar.")(f)


def seed_option(help: str = "Random seed: the same seed and inputs give identical results."):
    """``--seed`` with the one default of every sampled workflow."""
    from ..workflows import DEFAULT_SEED

    return click.option("--seed", type=click.IntRange(min=0), default=DEFAULT_SEED, show_default=True, help=help)


def model_option(f):
    """``--model FILE``: the Vensim model (default: the shipped model)."""
    return click.option(
        "--model", "model", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_MODEL,
        show_default=False, help="Vensim .mdl file (default: vensim/regional_finance_economy.mdl).")(f)


class SDGroup(click.Group):
    """A click group that turns user errors into one line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context):  # noqa: D102
        try:
            return super().invoke(ctx)
        except SDModelError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted: finished work was kept; partial output was discarded", err=True)
            ctx.exit(130)
