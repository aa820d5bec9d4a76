"""Priors of a Bayesian calibration: a TOML file beside the calibration file, checked against it.

A priors file gives one distribution per estimated parameter of the calibration file, with
its source, and the error model of the likelihood (:mod:`sd_model.bayes.likelihood`)::

    [priors]
    "Capital Elasticity" = { dist = "normal", mu = 0.4, sigma = 0.1, source = "Chow and Li (2002): 0.4-0.6" }
    "Regional Savings Factor[West]" = { dist = "uniform", source = "weakly informative: no study; the bounds" }

    [error_model]
    rho = { dist = "uniform", lower = 0, upper = 0.95, source = "weakly informative: annual residuals" }
    sigma_scale = 1.0                               # a number: fixed; a table: estimated
    sigma_scale_source = "the errors of the calibration file are measurement errors"

    [error_model.breaks]                            # the AR(1) residual process restarts in these years
    "population" = { years = [2000], source = "SOURCES.md: registered -> resident population" }

Distributions (every one is truncated to the parameter's bounds in the calibration file,
which lie within the range the model declares):

- ``normal``: ``mu``, ``sigma``; ``truncnormal``: the same, with ``lower``/``upper`` inside the bounds
- ``lognormal``: ``mu``, ``sigma`` of the natural log of the value
- ``beta``: ``a``, ``b`` on ``[lower, upper]`` (default: the bounds)
- ``uniform``: ``[lower, upper]`` (default: the bounds)

Nothing in this module names a model parameter: the names come from the files and are
checked against the calibration (:class:`~sd_model.calibration.problem.Problem`). Every
error names the file and the line.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from ..errors import SDModelError, check_number, close_matches
from ..files import read_toml
from ..sampling import _key_line

DISTRIBUTIONS = {"normal": ("mu", "sigma"), "truncnormal": ("mu", "sigma"), "lognormal": ("mu", "sigma"),
                 "beta": ("a", "b"), "uniform": ()}
_OPTIONAL = {"normal": (), "truncnormal": ("lower", "upper"), "lognormal": (), "beta": ("lower", "upper"),
             "uniform": ("lower", "upper")}
_TOP = ("description", "priors", "error_model")
_ERROR_KEYS = ("rho", "rho_source", "sigma_scale", "sigma_scale_source", "breaks")
#: Labels of the error-model parameters when they are estimated (they follow the model parameters).
RHO, SCALE = "error: AR(1) rho", "error: sigma scale"
#: A prior must give at least this much probability to the bounds it is truncated to.
_MIN_MASS = 1e-9


class PriorError(SDModelError, ValueError):
    """A priors file is invalid or does not match the calibration."""


@dataclass(frozen=True)
class Prior:
    """A prior of one sampled quantity, truncated to ``[lower, upper]``.

    ``params`` holds the distribution's numbers (``mu``, ``sigma``, ``a``, ``b``, ...);
    ``lower``/``upper`` are where it is truncated (in the quantity's units; infinite when open).
    """

    label: str
    dist: str
    params: tuple[tuple[str, float], ...]
    lower: float
    upper: float
    source: str
    line: int = 0

    @cached_property
    def _dist(self) -> Any:
        return self._make()

    def frozen(self) -> Any:
        """The untruncated scipy distribution (built once)."""
        return self._dist

    def _make(self) -> Any:
        p = dict(self.params)
        if self.dist in ("normal", "truncnormal"):
            return stats.norm(p["mu"], p["sigma"])
        if self.dist == "lognormal":
            return stats.lognorm(s=p["sigma"], scale=math.exp(p["mu"]))
        if self.dist == "beta":
            return stats.beta(p["a"], p["b"], loc=p["beta_lower"], scale=p["beta_upper"] - p["beta_lower"])
        return stats.uniform(self.lower, self.upper - self.lower)

    @cached_property
    def _cdf_bounds_cached(self) -> tuple[float, float]:
        d = self.frozen()
        return float(d.cdf(self.lower)), float(d.cdf(self.upper))

    def _cdf_bounds(self) -> tuple[float, float]:
        return self._cdf_bounds_cached

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of the truncated prior at ``x`` (-inf outside ``[lower, upper]``)."""
        x = np.asarray(x, dtype=float)
        lo, hi = self._cdf_bounds()
        with np.errstate(divide="ignore"):
            out = self.frozen().logpdf(x) - math.log(hi - lo)
        return np.where((x >= self.lower) & (x <= self.upper), out, -np.inf)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantiles of the truncated prior (``u`` in [0, 1])."""
        lo, hi = self._cdf_bounds()
        x = self.frozen().ppf(lo + np.asarray(u, dtype=float) * (hi - lo))
        return np.clip(x, self.lower, self.upper)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Cumulative distribution of the truncated prior."""
        lo, hi = self._cdf_bounds()
        return np.clip((self.frozen().cdf(np.asarray(x, dtype=float)) - lo) / (hi - lo), 0.0, 1.0)


@dataclass(frozen=True)
class ErrorModel:
    """The error model: AR(1) correlation ``rho`` and a factor on every series' error.

    Each is a fixed number (``rho``/``sigma_scale``) or a :class:`Prior` (estimated).
    ``breaks`` maps a series name to the years its residual process restarts.
    """

    rho: float | Prior
    sigma_scale: float | Prior
    breaks: tuple[tuple[str, tuple[int, ...]], ...]
    rho_source: str = ""
    sigma_scale_source: str = ""

    def estimated(self) -> tuple[Prior, ...]:
        """The priors of the estimated error parameters (rho first, then the scale)."""
        return tuple(p for p in (self.rho, self.sigma_scale) if isinstance(p, Prior))


@dataclass(frozen=True)
class PriorSet:
    """The priors file resolved against a calibration: one prior per sampled quantity, in order."""

    path: Path
    priors: tuple[Prior, ...]
    error_model: ErrorModel
    text: str = ""

    @property
    def labels(self) -> list[str]:
        """Labels of the sampled quantities: the calibration's parameters, then estimated error terms."""
        return [p.label for p in self.priors]

    @property
    def lower(self) -> np.ndarray:
        """Lower truncation bounds (D,)."""
        return np.array([p.lower for p in self.priors])

    @property
    def upper(self) -> np.ndarray:
        """Upper truncation bounds (D,)."""
        return np.array([p.upper for p in self.priors])

    def log_prior(self, X: np.ndarray) -> np.ndarray:
        """Sum of the log prior densities of the rows of ``X`` (k, D)."""
        X = np.atleast_2d(X)
        return np.sum([p.logpdf(X[:, j]) for j, p in enumerate(self.priors)], axis=0)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent draws (n, D) from the truncated priors."""
        u = rng.random((n, len(self.priors)))
        return np.column_stack([p.ppf(u[:, j]) for j, p in enumerate(self.priors)])


def default_priors_path(calibration_file: str | Path) -> Path:
    """``<calibration stem>.priors.toml`` beside the calibration file."""
    path = Path(calibration_file)
    return path.with_name(f"{path.stem}.priors.toml")


def make_prior(label: str, spec: Any, lower: float, upper: float, where: str, line: int) -> Prior:
    """One prior from its table (``dist``, its parameters, ``source``), checked and truncated to ``[lower, upper]``.

    ``where`` and ``line`` name the table in error messages; raises :class:`PriorError` on a bad table.
    """
    if not isinstance(spec, dict):
        raise PriorError(f"{where}: give a table such as {{ dist = \"normal\", mu = 0.4, sigma = 0.1, "
                         f"source = \"...\" }}, got {spec!r}")
    dist = spec.get("dist")
    if dist not in DISTRIBUTIONS:
        hint = close_matches(str(dist), DISTRIBUTIONS)
        tail = f"; did you mean {hint[0]!r}?" if hint else ""
        raise PriorError(f"{where}: dist {dist!r} is not one of {', '.join(DISTRIBUTIONS)}{tail}")
    need, optional = DISTRIBUTIONS[dist], _OPTIONAL[dist]
    valid = {"dist", "source", *need, *optional}
    for key in spec:
        if key not in valid:
            raise PriorError(f"{where}: unknown key {key!r} for dist {dist!r}; valid: {', '.join(sorted(valid))}")
    for key in need:
        if key not in spec:
            raise PriorError(f"{where}: dist {dist!r} needs {', '.join(need)}; {key!r} is missing")
    source = spec.get("source")
    if not isinstance(source, str) or not source.strip():
        raise PriorError(f"{where}: give source = \"...\" (a study, a data moment, or 'weakly informative: "
                         "<reason>')")
    params = {k: check_number(spec[k], k, where, PriorError, positive=k in ("sigma", "a", "b")) for k in need}
    lo = check_number(spec["lower"], "lower", where, PriorError) if "lower" in spec else lower
    hi = check_number(spec["upper"], "upper", where, PriorError) if "upper" in spec else upper
    if lo >= hi:
        raise PriorError(f"{where}: lower {lo:g} >= upper {hi:g}")
    if lo < lower or hi > upper:
        raise PriorError(f"{where}: [{lo:g}, {hi:g}] is outside the bounds [{lower:g}, {upper:g}] "
                         "(the calibration file's bounds, within the model's declared range)")
    if dist == "beta":
        params.update(beta_lower=lo, beta_upper=hi)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise PriorError(f"{where}: a beta prior needs finite lower and upper")
    if dist == "uniform" and not (math.isfinite(lo) and math.isfinite(hi)):
        raise PriorError(f"{where}: a uniform prior needs finite lower and upper")
    if dist == "lognormal":
        lo = max(lo, 0.0)
    prior = Prior(label=label, dist=dist, params=tuple(params.items()), lower=lo, upper=hi,
                  source=source.strip(), line=line)
    cdf_lo, cdf_hi = prior._cdf_bounds()
    if not cdf_hi - cdf_lo > _MIN_MASS:
        raise PriorError(f"{where}: the prior puts no probability within [{lo:g}, {hi:g}]")
    return prior


def load_priors(path: str | Path, problem: Any) -> PriorSet:
    """Read a priors file and check it against a resolved calibration problem.

    Parameters
    ----------
    path : str or Path
        The priors TOML file (format in the module docstring).
    problem : sd_model.calibration.Problem
        The calibration resolved against the model and the data: its parameters (names and
        bounds) and series.

    Returns
    -------
    PriorSet
        One prior per parameter of ``problem``, in its order, then the estimated error terms.

    Raises
    ------
    PriorError
        Naming the file and line: a missing file, bad TOML, unknown keys or distributions,
        a parameter the calibration does not estimate (with close matches) or one left without
        a prior, bad numbers, a prior outside the bounds or without probability inside them,
        a missing source, an unknown series or year in ``breaks``.
    """
    path = Path(path)
    data, text = read_toml(path, "priors file", PriorError)

    def where(key: str) -> tuple[str, int]:
        line = _key_line(text, key) or next((i + 1 for i, t in enumerate(text.splitlines())
                                             if t.strip().strip("[]").strip() == key), 0)
        return (f"{path}:{line}" if line else str(path)), line

    for key in data:
        if key not in _TOP:
            hint = close_matches(key, _TOP)
            raise PriorError(f"{where(key)[0]}: unknown key {key!r}"
                             + (f"; did you mean {hint[0]!r}?" if hint else f"; valid: {', '.join(_TOP)}"))
    table = data.get("priors")
    if not isinstance(table, dict) or not table:
        raise PriorError(f"{path}: give a [priors] table with one prior per estimated parameter")
    params = {p.label: p for p in problem.parameters}
    by_key = {k.replace(" ", "").lower(): k for k in params}
    chosen: dict[str, Prior] = {}
    for key, spec in table.items():
        loc, line = where(key)
        label = by_key.get(key.replace(" ", "").lower())
        if label is None:
            hint = close_matches(key, params)
            tail = (f"did you mean {hint[0]!r}?" if hint else
                    "the calibration file's [parameters] lists the estimated ones")
            raise PriorError(f"{loc}: {key!r} is not estimated by the calibration file; {tail}")
        if label in chosen:
            raise PriorError(f"{loc}: {label!r} has two priors")
        p = params[label]
        chosen[label] = make_prior(label, spec, p.lower, p.upper, f"{loc}: prior of {key!r}", line)
    missing = [label for label in params if label not in chosen]
    if missing:
        raise PriorError(f"{path}: no prior for {len(missing)} estimated parameter(s): "
                         f"{', '.join(repr(m) for m in missing[:5])}{' ...' if len(missing) > 5 else ''}")
    error_model = _error_model(data.get("error_model", {}), path, text, problem)
    priors = tuple(chosen[label] for label in params) + error_model.estimated()
    return PriorSet(path=path, priors=priors, error_model=error_model, text=text)


def _error_model(table: Any, path: Path, text: str, problem: Any) -> ErrorModel:
    line = _key_line(text, "rho") or 0
    head = next((i + 1 for i, t in enumerate(text.splitlines()) if t.strip() == "[error_model]"), 0)
    loc = f"{path}:{head}" if head else str(path)
    if not isinstance(table, dict):
        raise PriorError(f"{loc}: [error_model] must be a table")
    for key in table:
        if key not in _ERROR_KEYS:
            hint = close_matches(key, _ERROR_KEYS)
            raise PriorError(f"{loc}: unknown [error_model] key {key!r}"
                             + (f"; did you mean {hint[0]!r}?" if hint else f"; valid: {', '.join(_ERROR_KEYS)}"))

    def term(key: str, label: str, default: float, lower: float, upper: float) -> float | Prior:
        value = table.get(key, default)
        line = _key_line(text, key) or head
        at = f"{path}:{line}: [error_model] {key}"
        if isinstance(value, dict):
            return make_prior(label, value, lower, upper, at, line)
        v = check_number(value, key, at, PriorError)
        if not lower <= v < upper or (key == "sigma_scale" and v <= 0):
            raise PriorError(f"{at}: {v:g} is outside ({lower:g}, {upper:g})")
        if key in table and not str(table.get(f"{key}_source", "")).strip():
            raise PriorError(f"{at}: a fixed {key} needs {key}_source = \"<why this value>\"")
        return v

    rho = term("rho", RHO, 0.0, -0.999, 0.999)
    scale = term("sigma_scale", SCALE, 1.0, 0.0, math.inf)
    del line
    breaks = []
    series = {s.spec.name: s for s in problem.series if s.fitted}
    for name, spec in (table.get("breaks") or {}).items():
        bline = _key_line(text, name) or head
        at = f"{path}:{bline}: [error_model.breaks] {name!r}"
        if name not in series:
            hint = close_matches(name, series)
            raise PriorError(f"{at}: not a fitted series of the calibration file"
                             + (f"; did you mean {hint[0]!r}?" if hint else f"; fitted: {', '.join(series)}"))
        if not isinstance(spec, dict) or set(spec) != {"years", "source"} or not isinstance(spec["years"], list):
            raise PriorError(f"{at}: give {{ years = [2000], source = \"...\" }}")
        years = spec["years"]
        s = series[name]
        fit_years = s.years[s.fit]
        for y in years:
            if isinstance(y, bool) or not isinstance(y, int) or not fit_years[0] < y <= fit_years[-1]:
                raise PriorError(f"{at}: break year {y!r} must be an integer in {fit_years[0] + 1}-{fit_years[-1]} "
                                 "(the series' fitted years after the first)")
        if not isinstance(spec["source"], str) or not spec["source"].strip():
            raise PriorError(f"{at}: give the break's source")
        breaks.append((name, tuple(sorted(years))))
    return ErrorModel(rho=rho, sigma_scale=scale, breaks=tuple(breaks),
                      rho_source=str(table.get("rho_source", "")), sigma_scale_source=str(
                          table.get("sigma_scale_source", "")))
