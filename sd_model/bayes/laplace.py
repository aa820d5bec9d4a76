"""A Laplace (Gauss-Newton) approximation of the posterior, to start the sampler's walkers.

Started at the calibration's start values (the least-squares estimates), a few damped
Gauss-Newton steps move to the mode of the *posterior* (AR(1) error model, priors, the
sampler's logit/log coordinates ``z``), and the curvature there gives a normal approximation
``N(mode, H^-1)`` of the posterior in ``z``. Walkers drawn from it start close to the typical
set, so the sampler's burn-in is short; the sampler, not this approximation, makes the
posterior.

- Model parameters: whitened residuals ``w(z)`` of the error model (independent N(0, 1)), their
  forward-difference Jacobian ``J`` (one batch-engine call of ``n + 1`` runs per iteration), and
  ``H = J^T J + P``, with ``P`` the (diagonal) curvature of the log prior plus the log Jacobian
  of the coordinate map: the priors are independent, so that part is separable.
- Error terms (``rho``, ``sigma_scale``): their conditional mode and curvature given the residuals
  at the current point, found without model runs. Their covariance with the model parameters is
  left out (block-diagonal ``H``); at the mode the cross term with ``sigma_scale`` is zero.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from .likelihood import ar1_loglik
from .posterior import LogPosterior, log_jacobian, to_x


@dataclass(frozen=True)
class Laplace:
    """Normal approximation ``N(mode, cov)`` of the posterior in sampler coordinates.

    ``log_post`` is the log posterior (sampler coordinates) at ``mode``; ``evaluations`` the
    model runs spent; ``iterations`` the Gauss-Newton steps taken.
    """

    mode: np.ndarray
    cov: np.ndarray
    log_post: float
    evaluations: int
    iterations: int

    def draw(self, n: int, seed: int, cap: float = 1.0) -> np.ndarray:
        """``n`` draws (n, D) of ``N(mode, cov)``, each standard deviation capped at ``cap``.

        A parameter the data hardly inform, or one piled at a bound, has a far-from-normal
        posterior in logit coordinates and a huge Laplace standard deviation; its walkers
        start within ``cap`` of the mode and the sampler spreads them out.
        """
        rng = np.random.default_rng(seed)
        sd = np.sqrt(np.diag(self.cov))
        shrink = np.minimum(1.0, cap / sd)
        chol = np.linalg.cholesky(self.cov * np.outer(shrink, shrink))
        return self.mode + rng.standard_normal((n, len(self.mode))) @ chol.T


def _prior_curvature(post: LogPosterior, z: np.ndarray, h: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and diagonal of the Hessian (D,) of log prior + log Jacobian at ``z`` (separable)."""
    lo, hi = post.lower, post.upper

    def f(Z: np.ndarray) -> np.ndarray:
        return post.likelihood.priors.log_prior(to_x(Z, lo, hi)) + log_jacobian(Z, lo, hi)

    eye = h * np.eye(len(z))
    f0, fp, fm = f(z[None, :])[0], f(z + eye), f(z - eye)
    return (fp - fm) / (2 * h), (fp - 2 * f0 + fm) / h ** 2


def _error_block(post: LogPosterior, z: np.ndarray, residuals: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Conditional mode (e,) and curvature (e, e) in ``z`` of the estimated error terms, given residuals."""
    lik, n = post.likelihood, post.likelihood.n_model
    k = len(z) - n
    if k == 0:
        return np.zeros(0), np.zeros((0, 0))

    def neg(ze: np.ndarray) -> float:
        zz = np.concatenate([z[:n], ze])
        x = to_x(zz, post.lower, post.upper)
        rho, scale = lik.error_terms(x)
        if not (abs(rho) < 1 and scale > 0):
            return math.inf
        ll = sum(float(ar1_loglik(E[0], scale * c.error, rho, c.starts)) for c, E in zip(lik.columns, residuals))
        lp = lik.priors.log_prior(x[None, :])[0] + log_jacobian(zz, post.lower, post.upper)
        return -(ll + lp) if np.isfinite(ll + lp) else math.inf

    best = minimize(neg, z[n:], method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 2000})
    ze, h = best.x, 1e-3
    H = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = h * np.eye(k)[i], h * np.eye(k)[j]
            H[i, j] = (neg(ze + ei + ej) - neg(ze + ei - ej) - neg(ze - ei + ej) + neg(ze - ei - ej)) / (4 * h * h)
    return ze, H


def laplace(post: LogPosterior, z0: np.ndarray, iterations: int = 25, step: float = 1e-3,
            tol: float = 0.05) -> Laplace:
    """Damped Gauss-Newton from ``z0`` to the posterior mode, and the curvature there.

    Parameters
    ----------
    post : LogPosterior
        The log posterior; its runner runs the Jacobian batches.
    z0 : ndarray (D,)
        Start, in sampler coordinates (model parameters, then estimated error terms).
    iterations : int
        Most Gauss-Newton steps. Default is 25.
    step : float
        Forward-difference step of the Jacobian, in sampler coordinates. Default is 1e-3.
    tol : float
        Stop when a step gains less log posterior than this. Default is 0.05.

    Returns
    -------
    Laplace
    """
    lik, runner = post.likelihood, post.runner
    n, D = lik.n_model, len(z0)
    z = np.asarray(z0, dtype=float).copy()
    runs0 = post.evaluations
    extra = 0
    lp_z = float(post(z[None, :])[0])
    if not np.isfinite(lp_z):
        raise ValueError("the start of the Laplace approximation has no finite log posterior")
    done = 0
    while True:
        batch = np.vstack([z, z + step * np.eye(D)[:n]])
        outputs = runner.run(to_x(batch, post.lower, post.upper)[:, :n])
        extra += len(batch)
        if outputs[0] is None:
            raise ValueError("the model failed at the current point of the Laplace approximation")
        ok = [o is not None for o in outputs]
        residuals = lik.residuals_batch([o if o is not None else outputs[0] for o in outputs])
        ze, H_err = _error_block(post, z, [E[:1] for E in residuals])
        z[n:] = ze
        rho, scale = lik.error_terms(to_x(z, post.lower, post.upper))
        W = lik.whitened(residuals, rho, scale)
        J = ((W[1:] - W[0]) / step).T * np.asarray(ok[1:], float)  # (N, n); a failed run: column 0
        grad_p, curv_p = _prior_curvature(post, z)
        H = J.T @ J + np.diag(np.maximum(-curv_p[:n], 1e-6))
        if done >= iterations:
            break
        g = -J.T @ W[0] + grad_p[:n]
        lam = np.array([1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0])
        damp = np.diag(np.maximum(np.diag(H), 1.0))  # at least 1: weakly curved directions are damped too
        cands = np.repeat(z[None, :], len(lam), axis=0)
        for i, la in enumerate(lam):
            cands[i, :n] += np.linalg.solve(H + la * damp, g)
        lp_c = post(cands)
        lp_here = float(post(z[None, :])[0])  # error terms moved: the log posterior of this point
        done += 1
        best = int(np.argmax(lp_c))
        if not lp_c[best] > lp_here + tol:
            lp_z = max(lp_here, float(lp_c[best]))
            if lp_c[best] > lp_here:
                z = cands[best]
            break
        z, lp_z = cands[best], float(lp_c[best])
    cov = np.zeros((D, D))
    cov[:n, :n] = np.linalg.inv(H)
    if D > n:
        try:
            cov[n:, n:] = np.linalg.inv(H_err)  # H_err: curvature of -log posterior
            np.linalg.cholesky(cov[n:, n:])
        except np.linalg.LinAlgError:
            cov[n:, n:] = np.diag(1.0 / np.maximum(np.abs(np.diag(H_err)), 1e-6))
    cov = 0.5 * (cov + cov.T)
    return Laplace(mode=z, cov=cov, log_post=lp_z, evaluations=post.evaluations - runs0 + extra, iterations=done)
