"""The model-testing battery of system-dynamics practice (Sterman 2000, *Business Dynamics*, ch. 21).

Groups of checks, each with named items (``group.item``):

- ``units``: every variable documented; pysimlin's unit checker reports nothing.
- ``integration``: halving TIME STEP, and RK4 against Euler, change no key indicator much.
- ``extremes``: the baseline, declared extreme cases with their promised responses, and
  every constant at each end of its declared range.
- ``mass_balance``: migration, credit and fiscal flows conserve people and funds.
- ``agreement``: PySD and pysimlin agree on every variable.
- ``behaviour``: the baseline reproduces the historical series within declared thresholds.
- ``projection``: after 2015 the baseline's national population and age structure stay within
  the spread of the UN's 2015 projections.

Thresholds and cases are declared in ``experiments/checks/checks.toml`` (see
``docs/checks.md``).

Examples
--------
>>> from sd_model.checks import run_checks
>>> results = run_checks(only=["mass_balance"])          # doctest: +SKIP
>>> [(r.name, r.passed, r.figure) for r in results]      # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path

from ..errors import SDModelError, unknown_name
from ..engines import DEFAULT_ENGINE, engine_class
from ..run import DEFAULT_MODEL
from . import agreement, balance, behaviour, extremes, integration, projection, units
from ._context import Context
from .result import CheckResult
from .spec import DEFAULT_SPEC, CheckSpec, CheckSpecError, load_spec

__all__ = ["CheckResult", "CheckSpec", "CheckSpecError", "DEFAULT_SPEC", "GROUPS", "check_names",
           "iter_checks", "load_spec", "run_checks"]

#: group name -> function from the spec to {item: check(ctx) -> CheckResult}, in running order (the one list)
GROUPS: dict[str, Callable[[CheckSpec], dict[str, Callable[[Context], CheckResult]]]] = {
    "units": lambda spec: {"documented": units.documented, "consistency": units.consistency},
    "integration": lambda spec: {"time_step": integration.time_step, "rk4": integration.rk4},
    "extremes": extremes.checks,
    "mass_balance": lambda spec: {group: partial(balance.check_group, group=group) for group in balance.LIVE},
    "agreement": lambda spec: {"every_variable": agreement.every_variable},
    "behaviour": behaviour.checks,
    "projection": lambda spec: {"population": projection.population, "age_structure": projection.age_structure},
}


def _plan(spec: CheckSpec, only: Sequence[str] | None) -> list[tuple[str, Callable[[Context], CheckResult]]]:
    items = [(f"{g}.{item}", fn) for g, make in GROUPS.items() for item, fn in make(spec).items()]
    if only is None:
        return items
    if isinstance(only, str):
        only = [only]
    wanted: set[str] = set()
    for key in only:
        names = [n for n, _ in items if n == key or n.startswith(f"{key}.")]
        if not names:
            raise unknown_name("check", key, [*GROUPS, *(n for n, _ in items)], listed_by="sd-model check --list")
        wanted.update(names)
    return [(n, fn) for n, fn in items if n in wanted]


def check_names(spec: str | Path | CheckSpec = DEFAULT_SPEC) -> list[str]:
    """Names of every check (``group.item``) the declaration file gives rise to, in running order."""
    spec = spec if isinstance(spec, CheckSpec) else load_spec(spec)
    return [name for name, _ in _plan(spec, None)]


def iter_checks(model: str | Path = DEFAULT_MODEL, only: Sequence[str] | None = None,
                engine: str = DEFAULT_ENGINE, spec: str | Path | CheckSpec = DEFAULT_SPEC) -> Iterator[CheckResult]:
    """Run the battery lazily: return an iterator yielding each result as soon as it is known.

    See :func:`run_checks` for the parameters. The model path, engine, declaration file and
    selection are validated at once (before the iterator is returned), so bad input raises
    here rather than after some checks have run.
    """
    model = Path(model)
    if not model.is_file():
        raise SDModelError(f"{model}: model file not found")
    engine_class(engine)  # an unknown engine fails here, before any check runs
    spec = spec if isinstance(spec, CheckSpec) else load_spec(spec)
    plan = _plan(spec, only)
    return _run(Context(model=model, engine=engine, spec=spec), plan)


def _run(ctx: Context, plan: list[tuple[str, Callable[[Context], CheckResult]]]) -> Iterator[CheckResult]:
    for name, fn in plan:
        try:
            yield fn(ctx)
        except CheckSpecError:
            raise
        except SDModelError as exc:
            yield CheckResult(name, False, "could not run", str(exc))


def run_checks(model: Path = DEFAULT_MODEL, only: Sequence[str] | None = None, engine: str = "simlin",
               spec: str | Path | CheckSpec = DEFAULT_SPEC) -> list[CheckResult]:
    """Run the model-testing battery and return one result per check.

    Parameters
    ----------
    model : Path
        The Vensim model. Default is the shipped model.
    only : sequence of str, optional
        Group names (``"units"``) or check names (``"extremes.zero_savings"``) to run.
        Default is None (every check).
    engine : str
        Engine of the simulation checks, "simlin" or "pysd" (PySD takes about a minute per
        run to 2100). The unit checker and RK4 always use pysimlin, engine agreement both.
        Default is "simlin".
    spec : path or CheckSpec
        The declarations (thresholds, extreme cases). Default is
        ``experiments/checks/checks.toml``.

    Returns
    -------
    list of CheckResult
        In running order; a check that could not run (e.g. the model does not compile) is a
        failed result whose message says why.

    Raises
    ------
    SDModelError
        For a missing model file, an unknown engine or check name, or a malformed
        declaration file (:class:`CheckSpecError`).
    """
    return list(iter_checks(model, only, engine, spec))
