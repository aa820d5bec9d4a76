"""Parameter draws for uncertainty bands from calibration bounds (from declared ranges: :mod:`sd_model.sampling`).

Both give a DataFrame with one row per draw and one column per parameter ("Name" or
"Name[Element]"), drawn with :func:`sd_model.sampling.sample_parameters` (Latin hypercube)
from a seed, so the same seed gives the same draws.

A calibration output folder (``sd-model calibrate``) holds ``parameters.csv`` with each
parameter's estimate and 95% bounds (see :func:`read_calibration_estimates`). Its draws
follow a split normal distribution: centred on the estimate, with the standard deviation
of each side chosen so that the 95% bound on that side is 1.96 standard deviations away,
and clipped to the range the model declares for the parameter; the normal scores carry the
estimates' correlations (``correlation.csv``) when the folder has them. Parameters without
valid bounds (not identified) are held at their estimate in every draw and listed in the notes.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from .errors import SDModelError
from .parameters import Parameter
from .sampling import sample_parameters

_COLUMNS = ("parameter", "estimate", "lower95", "upper95")
_Z95 = float(norm.ppf(0.975))
_EPS = 1e-6  # keeps the normal quantiles finite at the edges of the unit interval


def read_calibration_estimates(folder: str | Path) -> pd.DataFrame:
    """Read the parameter estimates and 95% bounds of a calibration output folder.

    Reads ``parameters.csv`` as ``sd-model calibrate`` writes it (columns parameter,
    estimate, ci_low, ci_high, flag), else ``estimates.csv`` (parameter, estimate,
    lower95, upper95). Infinite bounds, and the bounds of a parameter whose flag says it
    is not identified or its interval is not valid, are set to NaN: such a parameter is
    held at its estimate.

    Returns
    -------
    DataFrame with the columns parameter, estimate, lower95, upper95 and flag.

    Raises
    ------
    SDModelError
        If the folder or file is missing or lacks those columns, an estimate is missing,
        or a finite bound lies on the wrong side of its estimate.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SDModelError(f"{folder}: calibration folder not found")
    path = next((folder / n for n in ("parameters.csv", "estimates.csv") if (folder / n).is_file()), None)
    if path is None:
        raise SDModelError(f"{folder}: no parameters.csv (from 'sd-model calibrate') or estimates.csv "
                           f"(columns {', '.join(_COLUMNS)})")
    try:
        table = pd.read_csv(path, keep_default_na=False, na_values=["", "nan", "NaN"])
    except (OSError, ValueError) as exc:
        raise SDModelError(f"{path}: cannot read calibration estimates ({exc})") from None
    table = table.rename(columns={"ci_low": "lower95", "ci_high": "upper95"})
    missing = [c for c in _COLUMNS if c not in table.columns]
    if missing:
        raise SDModelError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(_COLUMNS)} "
                           "(or ci_low, ci_high)")
    table["flag"] = table["flag"].fillna("").astype(str) if "flag" in table else ""
    for col in ("estimate", "lower95", "upper95"):
        table[col] = pd.to_numeric(table[col], errors="coerce").replace([np.inf, -np.inf], np.nan)
    if table["estimate"].isna().any():
        raise SDModelError(f"{path}: parameter {table.loc[table['estimate'].isna(), 'parameter'].iloc[0]!r} "
                           "has no estimate")
    invalid = table["flag"].str.contains("not identified|not valid", regex=True)
    table.loc[invalid, ["lower95", "upper95"]] = np.nan
    bad = table[(table["lower95"] > table["estimate"]) | (table["upper95"] < table["estimate"])]
    if len(bad):
        raise SDModelError(f"{path}: parameter {bad['parameter'].iloc[0]!r} has its estimate outside "
                           "its 95% bounds")
    return table[["parameter", "estimate", "lower95", "upper95", "flag"]]


def draws_from_calibration(estimates: pd.DataFrame, n: int, seed: int,
                           info: Any = None, correlation: pd.DataFrame | None = None
                           ) -> tuple[pd.DataFrame, list[str]]:
    """Draw ``n`` parameter sets around the calibration's estimates (split normal).

    Parameters
    ----------
    estimates : table from :func:`read_calibration_estimates`.
    n : number of draws.
    seed : random seed.
    info : the model's ModelInfo; draws are clipped to the ranges it declares. Default
        is None (no clipping).
    correlation : correlation matrix of the estimates (index and columns = parameter
        names), e.g. from :func:`read_calibration_correlation`; the normal scores of the
        drawn parameters get these correlations (Gaussian copula). Missing entries count
        as 0; the matrix is made positive semi-definite. Default is None (independent).

    Returns
    -------
    (draws, notes): the DataFrame of draws (parameters without valid bounds held at
    their estimate), and a note for each of those.
    """
    ok = estimates.dropna(subset=["lower95", "upper95"])
    held = estimates.loc[~estimates.index.isin(ok.index)]
    notes = [f"{r.parameter}: no valid 95% bounds ({getattr(r, 'flag', '') or 'missing'}); held at its estimate"
             for r in held.itertuples()]
    if ok.empty:
        raise SDModelError("no calibrated parameter has 95% bounds; nothing to draw")
    names = [str(p) for p in ok["parameter"]]
    unit = sample_parameters({p: (0.0, 1.0) for p in names}, n, seed)
    scores = norm.ppf(np.clip(unit[names].to_numpy(dtype=float), _EPS, 1 - _EPS))
    if correlation is not None:
        scores = scores @ _cholesky(correlation, names).T
    est, low, high = (ok[c].to_numpy(dtype=float) for c in ("estimate", "lower95", "upper95"))
    out = {}  # each side's standard deviation puts its 95% bound 1.96 of them from the estimate
    for name, values in zip(names, (est + scores * np.where(scores < 0, (est - low) / _Z95, (high - est) / _Z95)).T):
        if info is not None:
            lo, hi = Parameter.parse(info, name).variable(info).range
            values = np.clip(values, -np.inf if lo is None else lo, np.inf if hi is None else hi)
        out[name] = values
    for r in held.itertuples():
        out[str(r.parameter)] = np.full(n, float(r.estimate))
    return pd.DataFrame(out, index=unit.index), notes


def _cholesky(correlation: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """Lower Cholesky factor of the correlation among ``names`` (nearest PSD, unit diagonal)."""
    c = correlation.reindex(index=names, columns=names).to_numpy(dtype=float)
    c = np.where(np.isfinite(c), c, 0.0)
    c = (c + c.T) / 2
    np.fill_diagonal(c, 1.0)
    w, v = np.linalg.eigh(c)
    c = (v * np.clip(w, 1e-10, None)) @ v.T
    d = np.sqrt(np.diag(c))
    return np.linalg.cholesky(c / np.outer(d, d) + 1e-12 * np.eye(len(names)))


def read_calibration_correlation(folder: str | Path) -> pd.DataFrame | None:
    """The estimates' correlation matrix (``correlation.csv``) of a calibration folder, or None."""
    path = Path(folder) / "correlation.csv"
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path, index_col=0)
    except (OSError, ValueError) as exc:
        raise SDModelError(f"{path}: cannot read the correlation of the estimates ({exc})") from None


def ranges_from_calibration(estimates: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """The 95% confidence bounds as ranges {parameter: (lower95, upper95)} (for sensitivity).

    Parameters without finite bounds, or with lower95 == upper95, are left out.
    """
    ok = estimates.dropna(subset=["lower95", "upper95"])
    ok = ok[ok["upper95"] > ok["lower95"]]
    return {str(r.parameter): (float(r.lower95), float(r.upper95)) for r in ok.itertuples()}


def check_parameter_sets(columns: Sequence[str], scenarios: Sequence[Any], info: Any) -> None:
    """Check sampled columns ("Name" or "Name[Element]") against the model and the scenarios.

    Raises
    ------
    SDModelError
        For an unknown name or element, a name that is not a constant, or a parameter that
        a scenario also sets (the draws would overwrite the scenario's setting and hide the
        difference being compared).
    """
    for column in columns:
        name = Parameter.parse(info, str(column), "sampled parameter").name
        for sc in scenarios:
            if name in sc.params:
                raise SDModelError(f"{name!r} is both sampled and set by scenario {sc.name!r}; "
                                   "remove it from the ranges or from the scenario")
