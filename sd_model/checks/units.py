"""Dimensional consistency (Sterman 2000, section 21.4.3): documented units, and the unit checker.

PySD has no unit checker; pysimlin's ``model.check()`` infers the units of every equation and
reports each mismatch with the declared units as a warning naming the variable.
"""
from __future__ import annotations

from ..errors import EngineError
from ..engines.simlin_engine import simlin_name
from ._context import Context
from .result import CheckResult


def documented(ctx: Context) -> CheckResult:
    """Every variable declares units and a comment of at least ``min_comment_chars`` characters."""
    info = ctx.info
    need = ctx.spec.min_comment_chars
    no_units = [n for n, v in info.variables.items() if not v.units.strip()]
    no_comment = [n for n, v in info.variables.items() if len(v.comment.strip()) < need]
    total = len(info.variables)
    ok = total - len(set(no_units) | set(no_comment))
    parts = []
    if no_units:
        parts.append(f"no units: {', '.join(no_units[:6])}{' ...' if len(no_units) > 6 else ''}")
    if no_comment:
        parts.append(f"comment shorter than {need} characters: "
                     f"{', '.join(no_comment[:6])}{' ...' if len(no_comment) > 6 else ''}")
    return CheckResult("units.documented", not parts, f"{ok} of {total} variables documented",
                       "; ".join(parts) or "every variable has units and a comment")


def consistency(ctx: Context) -> CheckResult:
    """Pysimlin's checker reports no error and no unit warning."""
    try:
        import simlin
    except ImportError as exc:
        raise EngineError(f"the unit check needs pysimlin (import simlin failed: {exc})") from None
    try:
        issues = simlin.load(str(ctx.model)).check()
    except simlin.SimlinError as exc:
        raise EngineError(f"pysimlin could not load {ctx.model}: {exc}") from None
    names = {simlin_name(n): n for n in ctx.info.variables}  # pysimlin's name -> the Vensim name
    errors = [i for i in issues if i.severity == "error"]
    unit = [i for i in issues if i.severity != "error" and "unit" in i.message.lower()]
    other = [i for i in issues if i not in errors and i not in unit]

    def describe(issue) -> str:
        text = issue.message.strip().splitlines()[-1].strip()
        if issue.variable:
            return f"{names.get(issue.variable, issue.variable)}: {text}"
        return text

    failing = errors + unit
    named = sorted({names.get(i.variable, i.variable) for i in failing if i.variable})
    figure = f"{len(errors)} errors, {len(unit)} unit warnings"
    if other:
        figure += f", {len(other)} other warnings"
    if failing:
        message = (f"variables: {', '.join(named) or 'see details'}; "
                   + " | ".join(describe(i) for i in failing[:5]))
    else:
        message = "dimensionally consistent" + (
            f"; other warnings: {' | '.join(describe(i) for i in other[:3])}" if other else "")
    return CheckResult("units.consistency", not failing, figure, message)
