"""Global sensitivity analysis with SALib: Morris elementary effects and Sobol indices.

SALib samples and analyses; it never runs the model. The caller supplies an evaluator
that maps a sample matrix (rows = parameter sets) to outcome values; for the model,
:func:`model_evaluator` runs the rows through :func:`sd_model.ensemble.run_ensemble`.

>>> problem = make_problem({"Capital Elasticity": (0.3, 0.4), "Frontier Growth Rate": (0.005, 0.015)})
>>> result = run_sensitivity(problem, evaluator, "morris", n=20, seed=1)   # doctest: +SKIP
>>> result.table.head()                                                    # doctest: +SKIP

References
----------
Morris, M. D. (1991). Factorial sampling plans for preliminary computational experiments.
Technometrics 33(2), 161-174. https://doi.org/10.1080/00401706.1991.10484804
Saltelli, A. et al. (2010). Variance based sensitivity analysis of model output. Computer
Physics Communications 181(2), 259-270. https://doi.org/10.1016/j.cpc.2009.09.018
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .errors import SDModelError
from .budget import check_memory
from .plotting import readable_units
from .sampling import check_range

METHODS = ("morris", "sobol")
DEFAULT_OUTCOMES = ("Theil Index@2050", "National GDP@2050")
#: Index that ranks parameters, and the indices reported, per method.
_RANK_BY = {"morris": "mu_star", "sobol": "ST"}
_INDICES = {"morris": (("mu_star", "mu_star_conf"), ("sigma", None), ("mu", None)),
            "sobol": (("S1", "S1_conf"), ("ST", "ST_conf"))}
_OUTCOME_RE = re.compile(r"^\s*(?P<var>[^\[@]+?)\s*(\[\s*(?P<el>[^\]]+?)\s*\])?\s*@\s*(?P<year>[0-9.]+)\s*$")

Evaluator = Callable[[np.ndarray], Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class Outcome:
    """A scalar outcome: a variable (one region's element, if subscripted) in one year."""

    variable: str
    region: str | None
    year: float

    @property
    def label(self) -> str:
        """``Name@Year`` or ``Name[Region]@Year``."""
        el = f"[{self.region}]" if self.region else ""
        return f"{self.variable}{el}@{self.year:g}"


def parse_outcome(text: str) -> Outcome:
    """Parse ``"Theil Index@2050"`` or ``"GDP per Capita[West]@2050"``.

    Raises
    ------
    SDModelError
        If the text does not have the form ``Name[Region]@Year``.
    """
    m = _OUTCOME_RE.match(text)
    if not m:
        raise SDModelError(f"outcome {text!r} is not of the form 'Name@Year' or 'Name[Region]@Year', "
                           "e.g. 'Theil Index@2050'")
    return Outcome(m["var"], m["el"], float(m["year"]))


def make_problem(ranges: Mapping[str, tuple[float, float]]) -> dict[str, Any]:
    """SALib problem dict from ranges {name: (low, high)}.

    Raises
    ------
    SDModelError
        If there are no ranges or a range is not finite with low < high.
    """
    if not ranges:
        raise SDModelError("no parameter ranges; declare at least one")
    bounds = [list(check_range(name, pair, "ranges")) for name, pair in ranges.items()]  # the one range check
    return {"num_vars": len(ranges), "names": list(ranges), "bounds": bounds}


def sample(problem: Mapping[str, Any], method: str, n: int, seed: int) -> np.ndarray:
    """Draw SALib's design for ``method``.

    Parameters
    ----------
    problem : from :func:`make_problem`.
    method : "morris" (``n`` trajectories, 4 levels: n * (k + 1) runs for k parameters)
        or "sobol" (Saltelli/Sobol' sequence without second-order indices, ``n`` a power
        of two: n * (k + 2) runs).
    n, seed : base sample size and seed.

    Returns
    -------
    ndarray of shape (runs, k).
    """
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    if n < 2:
        raise SDModelError(f"sample size {n} is too small; give at least 2")
    k = len(problem["names"])
    runs = n * (k + 1 if method == "morris" else k + 2)
    check_memory(6.0 * 8 * runs * k, f"a {method} design of {runs:,} runs", "give a smaller --samples")
    if method == "morris":
        return morris_sample.sample(dict(problem), n, num_levels=4, seed=seed)
    if method == "sobol":
        if n & (n - 1):
            raise SDModelError(f"Sobol sample size {n} is not a power of two (e.g. 256, 512, 1024)")
        return sobol_sample.sample(dict(problem), n, calc_second_order=False, seed=seed)
    raise SDModelError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")


def analyze(problem: Mapping[str, Any], method: str, x: np.ndarray, y: Mapping[str, np.ndarray],
            seed: int) -> pd.DataFrame:
    """Run SALib's analysis for each outcome and return one tidy table.

    Returns
    -------
    DataFrame: outcome, method, parameter, index (mu_star, sigma, mu / S1, ST), value,
    conf (95% confidence half-width where SALib gives one, else NaN), rank (1 = most
    influential, by mu_star for Morris and ST for Sobol).
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    rows = []
    for outcome, values in y.items():
        values = np.asarray(values, dtype=float)
        if not np.isfinite(values).all():
            raise SDModelError(f"outcome {outcome!r} has non-finite values in {int((~np.isfinite(values)).sum())} runs")
        if method == "morris":
            res = morris_analyze.analyze(dict(problem), x, values, num_levels=4, seed=seed)
        else:
            res = sobol_analyze.analyze(dict(problem), values, calc_second_order=False, seed=seed)
        key = np.asarray(res[_RANK_BY[method]], dtype=float)
        rank = pd.Series(-np.nan_to_num(key, nan=-np.inf)).rank(method="first").astype(int).to_numpy()
        for i, name in enumerate(problem["names"]):
            for index, conf in _INDICES[method]:
                rows.append({"outcome": outcome, "method": method, "parameter": name, "index": index,
                             "value": float(res[index][i]), "conf": float(res[conf][i]) if conf else np.nan,
                             "rank": int(rank[i])})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class SensitivityResult:
    """Outcome of :func:`run_sensitivity`: the tidy table, the design and the outcomes."""

    table: pd.DataFrame
    x: np.ndarray
    y: Mapping[str, np.ndarray]
    problem: Mapping[str, Any]


def run_sensitivity(problem: Mapping[str, Any], evaluate: Evaluator, method: str, n: int,
                    seed: int) -> SensitivityResult:
    """Sample with SALib, evaluate the design with ``evaluate``, analyse with SALib.

    Parameters
    ----------
    problem : from :func:`make_problem`.
    evaluate : maps the design (runs x parameters) to {outcome label: values (runs,)}.
    method : "morris" or "sobol".
    n, seed : base sample size (trajectories for Morris) and seed of sampling and bootstrap.
    """
    x = sample(problem, method, n, seed)
    y = evaluate(x)
    for label, values in y.items():
        if np.shape(values) != (len(x),):
            raise SDModelError(f"outcome {label!r} has shape {np.shape(values)}, expected ({len(x)},)")
    return SensitivityResult(analyze(problem, method, x, y, seed), x, dict(y), dict(problem))


def model_evaluator(scenario: Any, names: Sequence[str], outcomes: Sequence[Outcome],
                    **ensemble_kwargs: Any) -> Evaluator:
    """Evaluator that runs the model for each design row through ``run_ensemble``.

    Parameters
    ----------
    scenario : the validated scenario the parameters are varied around.
    names : column names of the design ("Name" or "Name[Element]").
    outcomes : the outcomes to extract; runs end at the latest outcome year.
    **ensemble_kwargs : engine, model, workers, scheduler, store, progress.
    """
    variables = list(dict.fromkeys(o.variable for o in outcomes))
    until = max(o.year for o in outcomes)

    def evaluate(x: np.ndarray) -> dict[str, np.ndarray]:
        from .ensemble import run_ensemble

        ds = run_ensemble(scenario, pd.DataFrame(x, columns=list(names)), variables, until=until,
                          **ensemble_kwargs)
        if "failed" in ds and bool(ds["failed"].any()):
            first = int(np.argmax(ds["failed"].to_numpy()))
            raise SDModelError(f"{int(ds['failed'].sum())} of {len(x)} sensitivity runs failed (first: run {first}: "
                               f"{ds['message'].to_numpy()[first]}); narrow the ranges")
        out = {}
        for o in outcomes:
            da = ds[o.variable].sel(time=o.year, method="nearest")
            if abs(float(da["time"]) - o.year) > 1e-6:
                raise SDModelError(f"outcome {o.label!r}: year {o.year:g} is not a saved time of the run")
            if o.region is not None:
                if "Region" not in da.dims or o.region not in da["Region"].to_numpy():
                    raise SDModelError(f"outcome {o.label!r}: {o.variable!r} has no element {o.region!r}")
                da = da.sel(Region=o.region)
            elif set(da.dims) - {"member"}:
                raise SDModelError(f"outcome {o.label!r}: {o.variable!r} is subscripted; name an element, "
                                   f"e.g. '{o.variable}[West]@{o.year:g}'")
            out[o.label] = da.to_numpy().astype(float)
        return out

    return evaluate


def plot_ranking(table: pd.DataFrame, units: Mapping[str, str] | None = None) -> plt.Figure:
    """Horizontal bars ranking the parameters for each outcome.

    Morris: mu* with its 95% confidence interval; Sobol: first-order S1 and total ST
    indices with theirs. Most influential at the top.

    Parameters
    ----------
    table : the result table (columns outcome, method, parameter, index, value, conf, rank).
    units : outcome label -> its units (shown in the title, and on the axis for Morris's mu*,
        which is in the outcome's units). Default: no units shown.
    """
    units = units or {}
    outcomes = list(dict.fromkeys(table["outcome"]))
    method = str(table["method"].iloc[0])
    k = table["parameter"].nunique()
    fig, axes = plt.subplots(1, len(outcomes), figsize=(5.5 * len(outcomes), 0.35 * k + 1.8), squeeze=False)
    for ax, outcome in zip(axes[0], outcomes):
        part = table[table["outcome"] == outcome]
        order = part[part["index"] == _RANK_BY[method]].sort_values("rank", ascending=False)["parameter"].tolist()
        pos = np.arange(len(order))
        shown = ("mu_star",) if method == "morris" else ("S1", "ST")
        height = 0.8 / len(shown)
        for j, index in enumerate(shown):
            rows = part[part["index"] == index].set_index("parameter").loc[order]
            ax.barh(pos + j * height - 0.4 + height / 2, rows["value"], height,
                    xerr=rows["conf"].fillna(0), label=index, capsize=2)
        ax.set_yticks(pos, order, fontsize=8)
        unit = readable_units(units[outcome]) if units.get(outcome) else ""
        ax.set_title(f"{outcome} ({unit})" if unit else outcome, fontsize=10)
        ax.grid(alpha=0.3, axis="x")
        ax.legend(fontsize=8)
        if method == "morris":
            ax.set_xlabel(f"mu*, mean |elementary effect| ({unit or 'units of the outcome'})")
        else:
            ax.set_xlabel("share of the outcome's variance (dimensionless)")
    fig.tight_layout()
    return fig
