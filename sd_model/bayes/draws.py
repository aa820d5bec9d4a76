"""Parameter sets drawn from a posterior file (``posterior.nc`` of ``sd-model calibrate --method bayes``).

The thin alternative to ranges and calibration bounds for ``ensemble``, ``compare`` and
``sensitivity`` (``--posterior FILE``): joint draws keep the posterior's correlations. The
error-model terms (labels starting ``"error:"``) are not model parameters and are left out.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import SDModelError
from ..files import load_netcdf


def read_posterior(path: str | Path) -> pd.DataFrame:
    """Every posterior draw (rows: chain x draw) of the model parameters (columns: labels).

    Raises
    ------
    SDModelError
        If the file is missing, is not NetCDF, or has no posterior group with ``theta``.
    """
    path = Path(path)
    if not path.is_file():
        raise SDModelError(f"{path}: posterior file not found (write one with 'sd-model calibrate --method bayes')")
    try:
        theta = load_netcdf(path, group="posterior")["theta"]
    except (OSError, ValueError, KeyError) as exc:
        raise SDModelError(f"{path}: not a posterior file of 'sd-model calibrate --method bayes' "
                           f"(needs group 'posterior' with variable 'theta'): {exc}") from None
    if set(theta.dims) != {"chain", "draw", "parameter"}:
        raise SDModelError(f"{path}: theta has dims {theta.dims}; expected (chain, draw, parameter)")
    labels = [str(p) for p in theta["parameter"].values]
    keep = [lab for lab in labels if not lab.startswith("error:")]
    flat = theta.sel(parameter=keep).transpose("chain", "draw", "parameter").values.reshape(-1, len(keep))
    return pd.DataFrame(flat, columns=keep)


def posterior_model_sha256(path: str | Path) -> str | None:
    """The SHA-256 of the model file the posterior at ``path`` was sampled on, or None if it does not say."""
    try:
        value = load_netcdf(path).attrs.get("model_sha256")
    except (OSError, ValueError):
        return None
    return str(value) if value else None


def draws_from_posterior(path: str | Path, n: int, seed: int,
                         model_sha256: str | None = None) -> tuple[pd.DataFrame, dict[str, float], list[str]]:
    """``n`` joint draws (without replacement when the file holds enough), the medians, and notes.

    ``model_sha256``, if given, is the model the draws will run on: a posterior sampled on another
    model file is used as it is, with a note saying so (the draws are constants by name; whether they
    still mean the same is the user's to judge).

    Returns
    -------
    (draws, central, notes): draws indexed 0..n-1 ("member"); central = posterior medians
    {label: value} (the single runs of ``compare``); notes for the user.
    """
    table = read_posterior(path)
    rng = np.random.default_rng(seed)
    notes = []
    sampled_on = posterior_model_sha256(path)
    if model_sha256 and sampled_on and sampled_on != model_sha256:
        notes.append(f"{path}: sampled on model sha256 {sampled_on[:12]}, now run on {model_sha256[:12]}: the draws "
                     "are applied by name to the changed model")
    replace = n > len(table)
    if replace:
        notes.append(f"{path}: {n} draws asked from {len(table)} posterior draws; drawn with replacement")
    rows = rng.choice(len(table), size=n, replace=replace) if n else np.array([], int)
    draws = table.iloc[rows].reset_index(drop=True)
    draws.index.name = "member"
    return draws, {c: float(table[c].median()) for c in table.columns}, notes


def ranges_from_posterior(path: str | Path, level: float = 0.9) -> dict[str, tuple[float, float]]:
    """Central ``level`` posterior intervals as ranges {label: (low, high)} (for sensitivity)."""
    table = read_posterior(path)
    lo, hi = table.quantile((1 - level) / 2), table.quantile(1 - (1 - level) / 2)
    return {c: (float(lo[c]), float(hi[c])) for c in table.columns if hi[c] > lo[c]}
