"""Mass balance (Sterman 2000, section 21.4.5): the model's conservation laws, step by step.

Each identity follows from the model's structure, not from an earlier run: a matrix of
flows X[Region, Dest] must give the named outflows as its row sums and the inflows as its
column sums; national totals of inter-regional flows must cancel; a national stock may only
change by what enters or leaves the nation. Runs are saved every TIME STEP so that the
stock-flow identities are exact Euler steps: (S(t+dt) - S(t)) / dt = net flow(t). Two runs
are checked: the baseline and the baseline with every strategy lever on (so that aid,
ecological compensation and directed credit flow too).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ._context import Context, all_levers_on
from .result import CheckResult

Getter = Callable[[xr.Dataset], xr.DataArray]


@dataclass(frozen=True)
class Identity:
    """``lhs == rhs`` at every step and element, relative to ``scale``; ``blame`` is named on failure."""

    blame: str
    law: str
    lhs: Getter
    rhs: Getter
    scale: Getter | None = None


def _v(name: str) -> Getter:
    return lambda ds: ds[name]


def _sum(name: str, dim: str | tuple[str, ...]) -> Getter:
    return lambda ds: ds[name].sum(dim)


def _zero(ds: xr.Dataset) -> xr.DataArray:
    return xr.zeros_like(ds["time"], dtype=float)


def _rate(name: str) -> Getter:
    """(S(t+dt) - S(t)) / dt of a national total, aligned with the flows at t."""
    def get(ds: xr.Dataset) -> xr.DataArray:
        total = ds[name].sum("Region")
        dt = np.diff(ds["time"].values)
        rate = np.diff(total.values) / dt
        return xr.DataArray(rate, coords={"time": ds["time"].values[:-1]}, dims="time")
    return get


def _plus(*getters: Getter) -> Getter:
    return lambda ds: sum(abs(g(ds)) for g in getters)  # type: ignore[return-value]


MIGRATION = (
    Identity("Emigration", "Emigration = row sums of Migration", _v("Emigration"), _sum("Migration", "Dest")),
    Identity("Immigration", "Immigration = column sums of Migration",
             lambda ds: ds["Immigration"].rename(Dest="Region"),
             lambda ds: ds["Migration"].sum("Region").rename(Dest="Region")),
    Identity("Return Emigration", "Return Emigration = row sums of Return Migration", _v("Return Emigration"),
             _sum("Return Migration", "Dest")),
    Identity("Child Emigration", "Child Emigration = row sums of Child Migration", _v("Child Emigration"),
             _sum("Child Migration", "Dest")),
    Identity("Child Immigration", "Child Immigration = column sums of Child Migration",
             lambda ds: ds["Child Immigration"].rename(Dest="Region"),
             lambda ds: ds["Child Migration"].sum("Region").rename(Dest="Region")),
    Identity("Net Migration", "national sum of Net Migration = 0", _sum("Net Migration", "Region"), _zero,
             _sum("Migration", ("Region", "Dest"))),
    Identity("Population", "change of National Population = sum of Natural Increase", _rate("Population"),
             _sum("Natural Increase", "Region"),
             _plus(_sum("Natural Increase", "Region"), _sum("Migration", ("Region", "Dest")))),
)

CREDIT = (
    Identity("New Loans", "New Loans = column sums of Credit Flow", lambda ds: ds["New Loans"].rename(Dest="Region"),
             lambda ds: ds["Credit Flow"].sum("Region").rename(Dest="Region")),
    Identity("Credit Supply", "Credit Supply = row sums of Credit Flow", _v("Credit Supply"),
             _sum("Credit Flow", "Dest")),
    Identity("National New Lending", "sum of New Loans = National New Lending", _sum("New Loans", "Dest"),
             _v("National New Lending")),
    Identity("Credit Supply", "sum of Credit Supply = National New Lending", _sum("Credit Supply", "Region"),
             _v("National New Lending")),
    Identity("Net Credit Outflow", "national sum of Net Credit Outflow = 0", _sum("Net Credit Outflow", "Region"),
             _zero, _v("National New Lending")),
    Identity("Lending Share", "Lending Share sums to 1", _sum("Lending Share", "Region"),
             lambda ds: xr.ones_like(ds["time"], dtype=float)),
    Identity("Loans", "change of national Loans = National New Lending + sum of Financing Vehicle Bank Loans - "
             "sum of Loan Repayment, Bad Loan Write Off and Guarantee Payments", _rate("Loans"),
             lambda ds: ds["National New Lending"] + ds["Financing Vehicle Bank Loans"].sum("Region")
             - ds["Loan Repayment"].sum("Region")
             - ds["Bad Loan Write Off"].sum("Region") - ds["Guarantee Payments"].sum("Region"),
             _plus(_v("National New Lending"), _sum("Financing Vehicle Bank Loans", "Region"),
                   _sum("Loan Repayment", "Region"), _sum("Bad Loan Write Off", "Region"),
                   _sum("Guarantee Payments", "Region"))),
    Identity("Securities Outflow", "Securities Outflow = row sums of Securities Flow", _v("Securities Outflow"),
             _sum("Securities Flow", "Dest")),
    Identity("Securities Inflow", "Securities Inflow = column sums of Securities Flow",
             lambda ds: ds["Securities Inflow"].rename(Dest="Region"),
             lambda ds: ds["Securities Flow"].sum("Region").rename(Dest="Region")),
    Identity("Net Securities Outflow", "national sum of Net Securities Outflow = 0",
             _sum("Net Securities Outflow", "Region"), _zero, _sum("Securities Flow", ("Region", "Dest"))),
)

FISCAL = (
    Identity("Fiscal Outflow", "Fiscal Outflow = Public Funds Raised + Aid Paid (row sums of Fiscal Transfer)",
             _v("Fiscal Outflow"), _plus(_v("Public Funds Raised"), _v("Aid Paid"))),
    Identity("Fiscal Inflow", "Fiscal Inflow = column sums of Fiscal Transfer",
             lambda ds: ds["Fiscal Inflow"].rename(Dest="Region"),
             lambda ds: ds["Fiscal Transfer"].sum("Region").rename(Dest="Region")),
    Identity("Fiscal Inflow", "sum of Fiscal Inflow = sum of Public Funds Raised and Aid Paid",
             _sum("Fiscal Inflow", "Dest"), _plus(_sum("Public Funds Raised", "Region"), _sum("Aid Paid", "Region"))),
    Identity("Net Fiscal Transfer", "national sum of Net Fiscal Transfer = 0", _sum("Net Fiscal Transfer", "Region"),
             _zero, _plus(_sum("Public Funds Raised", "Region"), _sum("Aid Paid", "Region"))),
    Identity("Ecological Compensation Received", "sum received = sum paid (Ecological Compensation matrix)",
             _sum("Ecological Compensation Received", "Dest"), _sum("Ecological Compensation", ("Region", "Dest"))),
    Identity("Ecological Compensation Paid", "Ecological Compensation Paid = row sums of Ecological Compensation",
             _v("Ecological Compensation Paid"), _sum("Ecological Compensation", "Dest")),
)

#: flows that must be non-zero somewhere in the checked runs, else the identities prove nothing
LIVE = {"migration": ("Migration",), "credit": ("Credit Flow", "Securities Flow"),
        "fiscal": ("Fiscal Transfer", "Ecological Compensation")}


def _error(identity: Identity, ds: xr.Dataset) -> tuple[float, str]:
    lhs, rhs = identity.lhs(ds), identity.rhs(ds)
    diff = abs(lhs - rhs)
    scale = abs(identity.scale(ds)) if identity.scale else xr.where(abs(lhs) > abs(rhs), abs(lhs), abs(rhs))
    diff, scale = xr.broadcast(*xr.align(diff, scale, join="inner"))
    d, s = diff.transpose("time", ...).values, scale.transpose("time", ...).values
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(s > 0, d / s, np.where(d > 0, np.inf, 0.0))
    rel = np.where(np.isfinite(d) & np.isfinite(s), rel, np.inf)  # a non-finite value breaks the law
    if rel.size == 0:
        return 0.0, ""
    idx = np.unravel_index(int(rel.argmax()), rel.shape)
    return float(rel.max()), f"{float(ds['time'].values[idx[0]]):g}"


def _runs(ctx: Context) -> dict[str, xr.Dataset]:
    base = ctx.baseline_scenario()
    levers = base.with_params(all_levers_on(ctx.info, ctx.spec.balance_levers_start))
    return {"baseline": ctx.baseline("every_step"), "levers on": ctx.run(levers, "every_step")}


def check_group(ctx: Context, group: str) -> CheckResult:
    """The identities of ``group`` (a key of :data:`LIVE`) at every step of both runs, and its flows alive."""
    identities = {"migration": MIGRATION, "credit": CREDIT, "fiscal": FISCAL}[group]
    runs = ctx.cached("mass_balance_runs", lambda: _runs(ctx))
    rtol = ctx.spec.balance_rtol
    worst, worst_name, failures = 0.0, "", []
    for identity in identities:
        for label, ds in runs.items():
            err, when = _error(identity, ds)
            if err > worst:
                worst, worst_name = err, identity.blame
            if err > rtol:
                failures.append(f"{identity.blame}: {identity.law} fails by {err:.3g} relative "
                                f"(in {when}, {label} run)")
    live = [v for v in LIVE[group] if any(float(np.abs(ds[v]).max()) > 0 for ds in runs.values())]
    dead = [v for v in LIVE[group] if v not in live]
    if dead:
        failures.append(f"{', '.join(dead)} never flows in the checked runs, so its balance is untested")
    figure = f"max rel error {worst:.2g}" + (f" ({worst_name})" if worst_name else "")
    message = " | ".join(dict.fromkeys(failures)) or (
        f"{len(identities)} identities hold to {rtol:g} at every step of {len(runs)} runs")
    return CheckResult(f"mass_balance.{group}", not failures, figure, message)
