"""Integration error (Sterman 2000, section 21.4.3 and appendix A of ch. 21's tests).

Euler's global error is of first order in TIME STEP: halving the step removes about half of
it, so the change on halving estimates half the error, and the difference from an
integration of higher order (RK4, whose own error is checked to be negligible by halving its
step too) estimates all of it.
"""
from __future__ import annotations

from ._context import Context, max_relative_change
from .result import CheckResult


def time_step(ctx: Context) -> CheckResult:
    """Halving TIME STEP changes no key indicator by more than the declared fraction."""
    spec = ctx.spec
    base = ctx.baseline()
    sc = ctx.baseline_scenario()
    dt = sc.time_step or ctx.info.time_step
    half = ctx.run(sc.with_params({}, time_step=dt / 2), outputs=list(spec.indicators))
    worst, where = max_relative_change(base, half, spec.indicators, spec.signed_indicators)
    ok = worst <= spec.max_half_step_change
    figure = f"max rel change {worst:.2g} ({where})"
    message = (f"TIME STEP {dt:g} -> {dt / 2:g}: {where} changes by {worst:.3%}, "
               f"{'within' if ok else 'above'} the declared {spec.max_half_step_change:.2%}")
    return CheckResult("integration.time_step", ok, figure, message)


def rk4(ctx: Context) -> CheckResult:
    """Euler at the model's step against RK4 (pysimlin), and RK4 against RK4 at half the step."""
    spec = ctx.spec
    sc = ctx.baseline_scenario()
    dt = sc.time_step or ctx.info.time_step
    outputs = list(spec.indicators)
    euler = ctx.run(sc, engine="simlin", outputs=outputs)
    ref = ctx.run(sc, "rk4", "simlin", outputs)
    ref_half = ctx.run(sc.with_params({}, time_step=dt / 2), "rk4", "simlin", outputs)
    err, where = max_relative_change(euler, ref, spec.indicators, spec.signed_indicators)
    self_err, self_where = max_relative_change(ref, ref_half, spec.indicators, spec.signed_indicators)
    problems = []
    if self_err > spec.max_rk4_half_step_change:
        problems.append(f"RK4 has not converged at TIME STEP {dt:g}: halving its step changes {self_where} "
                        f"by {self_err:.2g} (> {spec.max_rk4_half_step_change:g}), so it is no reference")
    if err > spec.max_rk4_vs_euler:
        problems.append(f"Euler differs from RK4 by {err:.3%} at {where} (> {spec.max_rk4_vs_euler:.2%})")
    figure = f"euler vs rk4 {err:.2g} ({where}); rk4 dt/2 {self_err:.1g}"
    message = "; ".join(problems) or (f"Euler's error at TIME STEP {dt:g} is at most {err:.3%} ({where}), "
                                      f"within {spec.max_rk4_vs_euler:.2%}")
    return CheckResult("integration.rk4", not problems, figure, message)
