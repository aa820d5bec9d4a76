"""Extreme conditions (Sterman 2000, section 21.4.4).

Every declared case (parameters laid over the baseline scenario) runs to the final time and
must give finite values, no negative stock, and the response its declaration promises. The
sweep ``parameter_bounds`` sets each constant, one at a time, to each end of the range the
model declares for it (every element of a subscripted constant at once): the model claims
to be valid there, so it must at least run cleanly.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial

import numpy as np
import xarray as xr

from ..parameters import Parameter, merge_params
from ..run import run
from ..runspec import build_spec
from ._context import Context, integrity_problems, pick
from .result import CheckResult
from .spec import CheckSpec, CheckSpecError, Expectation, ExtremeCase


def _run_case(ctx: Context, case: ExtremeCase) -> xr.Dataset:
    base = ctx.baseline_scenario()
    if case.outside_declared_range:  # checked for names and elements, not for the declared ranges
        spec = ctx.spec_of(base)
        return run(replace(spec, params=build_spec(ctx.info, merge_params(spec.params, case.params)).params),
                   ctx.get_engine(), finite=False)  # judged by the check
    return ctx.run(base.with_params(case.params))


def _short(exp: Expectation) -> str:
    sel = ",".join(e for e in (exp.region, exp.dest) if e)
    return f"{exp.variable}{'[' + sel + ']' if sel else ''}{f' {exp.year:g}' if exp.year is not None else ''}"


def evaluate(exp: Expectation, ds: xr.Dataset, baseline: xr.Dataset, ctx: Context) -> tuple[bool, str, str]:
    """Check one expectation; return (met, figure, explanation)."""
    info = ctx.info
    label = _short(exp)
    x = pick(ds, info, exp.variable, year=exp.year, region=exp.region, dest=exp.dest)
    if exp.relation in ("lower", "higher"):
        b = pick(baseline, info, exp.variable, year=exp.year, region=exp.region, dest=exp.dest)
        if x.ndim or b.ndim:
            raise CheckSpecError(f"{ctx.spec.path}: expectation on {exp.variable!r} picks {x.size} values; "
                                 f"give region (and dest) to pick one")
        v, ref = float(x), float(b)  # one value each (checked above)
        met = v < ref if exp.relation == "lower" else v > ref
        change = (v - ref) / abs(ref) if ref else float("inf") * np.sign(v - ref)
        figure = f"{label} {change:+.1%}"
        text = f"{label}: {v:.6g} vs baseline {ref:.6g}, expected {exp.relation}"
    elif exp.relation == "zero":
        peak = float(np.nanmax(np.abs(x.values))) if x.size else 0.0
        met = bool(np.isfinite(x.values).all()) and peak <= exp.tolerance
        figure = f"{label} max|x| {peak:.2g}"
        text = f"{label}: max |x| = {peak:.3g}, expected <= {exp.tolerance:g}"
    else:  # constant
        series = x.transpose("time", ...).values
        start = series[0]
        drift = float(np.nanmax(np.abs(series - start))) if series.size else 0.0
        scale = float(np.max(np.abs(start))) if series.size else 0.0
        rel = drift / scale if scale else drift
        met = bool(np.isfinite(series).all()) and rel <= exp.tolerance
        figure = f"{label} drift {rel:.1g}"
        text = f"{label}: relative drift {rel:.3g} from its start, expected <= {exp.tolerance:g}"
    if exp.because and not met:
        text += f" ({exp.because})"
    return met, figure, text


def check_case(ctx: Context, case: ExtremeCase) -> CheckResult:
    """Run one declared case and test integrity and every expected direction."""
    name = f"extremes.{case.name}"
    ds = _run_case(ctx, case)
    problems = integrity_problems(ds, ctx.info, ctx.spec.signed_stocks)
    results = [evaluate(exp, ds, ctx.baseline(), ctx) for exp in case.expect]
    figures, failed = [figure for _, figure, _ in results], [text for met, _, text in results if not met]
    ok = not problems and not failed
    figure = "; ".join(figures) if figures else ("clean run" if not problems else "not clean")
    if problems:
        figure = f"{figure}; {len(problems)} integrity problem(s)"
    message = "; ".join(problems + failed) or f"runs cleanly to {float(ds.time[-1]):g} and responds as declared"
    return CheckResult(name, ok, figure, message)


def check_baseline(ctx: Context) -> CheckResult:
    """The baseline itself: finite values, no negative stock (every comparison relies on it)."""
    ds = ctx.baseline()
    problems = integrity_problems(ds, ctx.info, ctx.spec.signed_stocks)
    mins = {n: float(np.nanmin(ds[n].values)) for n in ctx.info.stocks() if n not in ctx.spec.signed_stocks}
    lowest = min(mins, key=lambda n: mins[n]) if mins else ""
    figure = f"min stock {mins[lowest]:.3g} ({lowest})" if mins else "no stocks"
    return CheckResult("extremes.baseline", not problems, figure,
                       "; ".join(problems) or f"finite, no negative stock to {float(ds.time[-1]):g}")


def check_parameter_bounds(ctx: Context) -> CheckResult:
    """Each constant at each end of its declared range (one at a time) runs cleanly."""
    spec = ctx.spec_of(ctx.baseline_scenario())
    runner = ctx.get_engine().runner(spec)
    runs = [(name, bound, side) for name, var in ctx.info.constants().items()
            for side, bound in (("lower", var.range[0]), ("upper", var.range[1])) if bound is not None]
    failures: list[tuple[str, float, str]] = []
    for name, bound, side in runs:
        arrays, failed, _ = runner.run_sets(spec.params, [Parameter(name)], np.array([[bound]]))
        clean = not failed.any() and all(np.isfinite(a).all() for a in arrays.values()) and all(
            (arrays[s] >= 0).all() for s in ctx.info.stocks() if s not in ctx.spec.signed_stocks)
        if not clean:
            failures.append((name, bound, side))
    details = []
    for name, bound, side in failures:
        params = merge_params(spec.params, Parameter(name).as_params(ctx.info, bound))
        ds = run(replace(spec.every_step(), params=params), ctx.get_engine(), finite=False)  # judged by the check
        details.append(f"{name} = {bound:g} ({side} bound): "
                       + "; ".join(integrity_problems(ds, ctx.info, ctx.spec.signed_stocks)))
    figure = f"{len(runs) - len(failures)} of {len(runs)} bound runs clean"
    message = (" | ".join(details) if details else
               f"every constant runs cleanly at both ends of its declared range ({len(runs)} runs)")
    return CheckResult("extremes.parameter_bounds", not failures, figure, message)


def checks(spec: CheckSpec) -> dict[str, Callable[[Context], CheckResult]]:
    """The items of this group for a spec: baseline, each declared case, the bounds sweep."""
    out: dict[str, Callable[[Context], CheckResult]] = {"baseline": check_baseline}
    out.update({case.name: partial(check_case, case=case) for case in spec.cases})
    if spec.parameter_bounds:
        out["parameter_bounds"] = check_parameter_bounds
    return out

