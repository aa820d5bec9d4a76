"""Optimisers: multi-start bounded least squares and differential evolution.

Both work in the unit cube ``z = (x - lower) / (upper - lower)`` and evaluate through an
:class:`~sd_model.calibration.evaluate.Evaluator`, so that every evaluation is batched,
parallel and checkpointed. Start points come from a seeded Latin hypercube, so a run is
deterministic and a resumed run replays its earlier path from the store.
"""
from __future__ import annotations

from functools import partial

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import differential_evolution, least_squares
from scipy.stats import qmc

from .evaluate import Evaluator
from .store import fingerprint


@dataclass
class LocalFit:
    """Result of one least-squares run from one start point (``x`` in parameter units)."""

    start: int
    x0: np.ndarray
    x: np.ndarray
    payoff: float
    nfev: int
    status: int
    message: str
    jac_z: np.ndarray = field(repr=False, default_factory=lambda: np.empty((0, 0)))

    def to_dict(self) -> dict:
        """JSON-able record (floats round-trip exactly through ``repr``)."""
        return {"start": self.start, "x0": [float(v) for v in self.x0], "x": [float(v) for v in self.x],
                "payoff": self.payoff, "nfev": self.nfev, "status": self.status, "message": self.message}

    @classmethod
    def from_dict(cls, d: dict) -> LocalFit:
        """Inverse of :meth:`to_dict`."""
        return cls(start=int(d["start"]), x0=np.array(d["x0"], float), x=np.array(d["x"], float),
                   payoff=float(d["payoff"]), nfev=int(d["nfev"]), status=int(d["status"]), message=str(d["message"]))


def stage_name(kind: str, *parts: object) -> str:
    """Name of a checkpoint stage: its kind and a digest of what determines its result."""
    return f"{kind}-{fingerprint(*parts)[:16]}"


def staged_fit(evaluator: Evaluator, name: str, run: Callable[[], LocalFit]) -> LocalFit:
    """The recorded result of stage ``name``, or ``run()`` recorded as that stage."""
    done = evaluator.store.stage(name)
    if done is not None:
        fit = LocalFit.from_dict(done)
        evaluator.note_best(fit.x, fit.payoff)
        return fit
    fit = run()
    evaluator.store.finish_stage(name, fit.to_dict())
    return fit


class Space:
    """Map between parameter units ``x`` and the unit cube ``z``."""

    def __init__(self, lower: np.ndarray, upper: np.ndarray) -> None:
        self.lower, self.width = np.asarray(lower, float), np.asarray(upper, float) - np.asarray(lower, float)

    def x(self, z: np.ndarray) -> np.ndarray:
        """Parameter values of unit-cube points (clipped to the bounds)."""
        return self.lower + np.clip(z, 0.0, 1.0) * self.width

    def z(self, x: np.ndarray) -> np.ndarray:
        """Unit-cube coordinates of parameter values."""
        return (np.asarray(x, float) - self.lower) / self.width


def start_points(z_start: np.ndarray, starts: int, seed: int) -> np.ndarray:
    """The first start (``z_start``) and ``starts - 1`` seeded Latin-hypercube points, (starts, n)."""
    points = [np.asarray(z_start, float)]
    if starts > 1:
        points.extend(qmc.LatinHypercube(d=len(z_start), seed=seed).random(starts - 1))
    return np.array(points)


def jacobian(evaluator: Evaluator, space: Space, z: np.ndarray, step: float,
             r0: np.ndarray | None = None) -> np.ndarray:
    """Forward-difference Jacobian of the residuals in unit-cube coordinates, (m, n).

    One batch of ``n`` evaluations (run in parallel); a coordinate within ``step`` of its
    upper bound is differenced backwards. ``r0`` is the residual vector at ``z`` if known.
    """
    n = len(z)
    steps = np.where(z + step <= 1.0, step, -step)
    Z = np.repeat(z[None, :], n, axis=0)
    Z[np.arange(n), np.arange(n)] += steps
    X = space.x(Z)
    if r0 is None:
        r0 = evaluator.residuals(space.x(z)[None])[0]
    R = evaluator.residuals(X)
    return ((R - r0[None, :]) / steps[:, None]).T


def local_fit(evaluator: Evaluator, space: Space, z0: np.ndarray, *, max_nfev: int, diff_step: float,
              start: int = 0, shift: np.ndarray | None = None) -> LocalFit:
    """Bounded least squares (scipy trf) from ``z0`` with a parallel finite-difference Jacobian.

    Parameters
    ----------
    evaluator : Evaluator
    space : Space
    z0 : ndarray
        Start point in the unit cube.
    max_nfev : int
        Maximum residual evaluations (iterations); Jacobian batches come on top.
    diff_step : float
        Finite-difference step in the unit cube.
    start : int
        Number of the start (for the record). Default is 0.
    shift : ndarray, optional
        Vector subtracted from every residual vector (bootstrap). Default is None.
    """
    offset = 0.0 if shift is None else shift

    def fun(z: np.ndarray) -> np.ndarray:
        return evaluator.residuals(space.x(z)[None])[0] - offset

    z0 = np.clip(np.asarray(z0, float), 0.0, 1.0)
    sol = least_squares(fun, z0, jac=partial(jacobian, evaluator, space, step=diff_step), bounds=(0.0, 1.0),
                        method="trf", x_scale=1.0, max_nfev=max_nfev, ftol=1e-10, xtol=1e-10, gtol=1e-10)
    return LocalFit(start=start, x0=space.x(z0), x=space.x(sol.x), payoff=float(2.0 * sol.cost),
                    nfev=int(sol.nfev), status=int(sol.status), message=str(sol.message), jac_z=sol.jac)


def multistart(evaluator: Evaluator, space: Space, x_start: np.ndarray, *, starts: int, seed: int,
               max_nfev: int, diff_step: float) -> list[LocalFit]:
    """Least squares from the start values and ``starts - 1`` Latin-hypercube points, in turn."""
    fits = []
    for k, z0 in enumerate(start_points(space.z(x_start), starts, seed)):
        evaluator.stage = f"start {k + 1}/{starts}"
        name = stage_name("start", k, z0, max_nfev, diff_step)
        fits.append(staged_fit(evaluator, name, partial(local_fit, evaluator, space, z0, max_nfev=max_nfev,
                                                        diff_step=diff_step, start=k)))
    return fits


def global_fit(evaluator: Evaluator, space: Space, x_start: np.ndarray, *, seed: int, popsize: int,
               maxiter: int, max_nfev: int, diff_step: float) -> list[LocalFit]:
    """Differential evolution over the bounds, then least squares from its best point.

    The population (``popsize`` times the number of parameters, Latin hypercube, with the
    start values as one member) is evaluated generation by generation as one parallel
    batch; only payoffs are stored for it.
    """
    def batch_map(func, population) -> list[float]:  # the `workers` hook of scipy
        return list(evaluator.payoffs(space.x(np.array(list(population)))))

    def payoff(z: np.ndarray) -> float:  # scipy requires a callable; batch_map does the work
        return float(evaluator.payoffs(space.x(z)[None])[0])

    n = len(x_start)
    z_start = np.clip(space.z(x_start), 0, 1)

    def evolve() -> LocalFit:
        de = differential_evolution(payoff, [(0.0, 1.0)] * n, seed=seed, popsize=popsize, maxiter=maxiter,
                                    tol=1e-8, polish=False, updating="deferred", workers=batch_map,
                                    init="latinhypercube", x0=z_start)
        return LocalFit(start=-1, x0=space.x(z_start), x=space.x(de.x), payoff=float(de.fun), nfev=int(de.nfev),
                        status=int(de.success), message=f"differential evolution: {de.message}")

    evaluator.stage = "evolution"
    evo = staged_fit(evaluator, stage_name("evolution", z_start, seed, popsize, maxiter), evolve)
    evaluator.stage = "polish"
    z_evo = space.z(evo.x)
    fit = staged_fit(evaluator, stage_name("polish", z_evo, max_nfev, diff_step),
                     lambda: local_fit(evaluator, space, z_evo, max_nfev=max_nfev, diff_step=diff_step, start=0))
    return [evo, fit]
