"""Engine agreement: PySD (the reference) and pysimlin (the fast engine) give the same numbers.

Both integrate the same Vensim equations with the same Euler ordering, so they should agree
to rounding. PySD costs about 35 ms per Euler step on this model, so the comparison uses a
short horizon with every strategy lever switched on early (and the east-first lever ending
within it), which exercises every structure of the model.
"""
from __future__ import annotations

import numpy as np

from ..run import run_scenario
from ._context import Context, all_levers_on
from .result import CheckResult


def every_variable(ctx: Context) -> CheckResult:
    """Every variable, element and saved year: |a-b| / max(|a|, |b|, 1e-6) <= the declared tolerance."""
    spec = ctx.spec
    pysd, simlin = ctx.get_engine("pysd"), ctx.get_engine("simlin")
    sc = ctx.baseline_scenario().with_params(
        all_levers_on(simlin.info, spec.agreement_levers_start, spec.agreement_levers_end),
        final_time=spec.agreement_final_time)
    a, b = run_scenario(sc, pysd), run_scenario(sc, simlin)
    missing = sorted(str(n) for n in set(a.data_vars) ^ set(b.data_vars))
    worst, where, over = 0.0, "", []
    for name in map(str, a.data_vars):
        if name not in b:
            continue
        x, y = a[name].values, b[name].values
        with np.errstate(invalid="ignore"):
            rel = np.abs(x - y) / np.maximum(np.maximum(np.abs(x), np.abs(y)), 1e-6)
        rel = np.where(np.isnan(x) & np.isnan(y), 0.0, rel)
        rel = np.where(np.isnan(rel), np.inf, rel)
        peak = float(rel.max()) if rel.size else 0.0
        if peak > worst:
            worst, where = peak, name
        if peak > spec.agreement_rtol:
            over.append((peak, name))
    over.sort(reverse=True)
    problems = [f"{n}: rel diff {p:.3g}" for p, n in over[:6]]
    if missing:
        problems.append(f"returned by one engine only: {', '.join(missing[:6])}")
    figure = (f"max rel diff {worst:.2g} ({where}) over {len(a.data_vars)} variables, "
              f"{float(a.time[0]):g}-{float(a.time[-1]):g}")
    message = "; ".join(problems) or (f"PySD and pysimlin agree to {spec.agreement_rtol:g} on every variable, "
                                      f"every lever on from {spec.agreement_levers_start:g}")
    return CheckResult("agreement.every_variable", not problems, figure, message)
