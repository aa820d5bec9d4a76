"""Options shared by every command, and the error handling of the command line."""
from __future__ import annotations

import signal
from pathlib import Path

import click

from ..errors import SDModelError
from ..interrupts import interruption
from ..engines import DEFAULT_ENGINE, ENGINES
from ..run import DEFAULT_MODEL

_ENGINE_HELP = ("simlin: compiled pysimlin (fast); batch: vectorised numpy code generated from the .mdl "
                "(fastest for many runs); pysd: the reference (slow)")


def engine_option(default: str | None = DEFAULT_ENGINE, flag: str = "--engine", help: str = "Simulation engine"):
    """``--engine NAME``: any registered engine (:data:`sd_model.engines.ENGINES`)."""
    return click.option(flag, type=click.Choice(sorted(ENGINES)), default=default, show_default=default is not None,
                        help=f"{help} ({_ENGINE_HELP}).")


#: ``--quiet`` / ``-q`` (also spelled ``--no-progress``): no progress bar.
quiet_option = click.option("--quiet", "-q", "--no-progress", "quiet", is_flag=True, help="No progress bar.")


def seed_option(help: str = "Random seed: the same seed and inputs give identical results."):
    """``--seed`` with the one default of every sampled workflow."""
    from ..workflows import DEFAULT_SEED

    return click.option("--seed", type=click.IntRange(min=0), default=DEFAULT_SEED, show_default=True, help=help)


#: ``--scheduler ADDRESS``: run the model on a Dask cluster instead of local worker processes.
scheduler_option = click.option("--scheduler", default=None, metavar="ADDRESS", help="Run on a Dask cluster "
                                "instead, e.g. tcp://127.0.0.1:8786 (see docs/ensembles.md).")
#: ``--workers N``: local worker processes (default: every core this process may use).
workers_option = click.option("--workers", type=click.IntRange(min=1), default=None,
                              help="Local worker processes (default: every core this process may use).")
#: ``--model FILE``: the Vensim model (default: the shipped model).
model_option = click.option("--model", "model", type=click.Path(dir_okay=False, path_type=Path),
                            default=DEFAULT_MODEL, show_default=False,
                            help="Vensim .mdl file (default: vensim/regional_finance_economy.mdl).")
#: ``--force``: replace an output folder (or file) that sd-model did not write.
force_option = click.option("--force", is_flag=True, help="Replace --out even if sd-model did not write it (or "
                            "it holds files sd-model did not write).")
_SHARED = {"scheduler": scheduler_option, "workers": workers_option, "quiet": quiet_option, "force": force_option,
           "model": model_option}


def shared(*names: str):
    """The shared options ``names`` (``scheduler``, ``workers``, ``quiet``, ``force``, ``model``) in that order."""
    def decorate(command):
        for name in reversed(names):
            command = _SHARED[name](command)
        return command
    return decorate


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every clean-up of partial output runs."""


def _terminate(signum, frame):  # noqa: ARG001 - signal handler signature
    raise Terminated()


class SDGroup(click.Group):
    """A click group that turns user errors into one line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context):  # noqa: D102
        try:
            previous = signal.signal(signal.SIGTERM, _terminate)
        except ValueError:  # not the main thread: leave SIGTERM alone
            previous = None
        try:
            return super().invoke(ctx)
        except SDModelError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except (KeyboardInterrupt, Exception) as exc:  # or an interrupt wrapped in another error (Ctrl-C in an import)
            cause = interruption(exc)
            if cause is None:
                raise
            word, code = ("terminated", 143) if isinstance(cause, Terminated) else ("interrupted", 130)
            click.echo(f"{word}: finished work was kept; partial output was discarded", err=True)
            ctx.exit(code)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
