"""Parameter ranges and reproducible samples for ensembles.

A ranges file lists the uncertain constants and their bounds::

    [ranges]
    "Capital Elasticity" = [0.30, 0.45]          # a scalar constant
    "Initial Schooling[West]" = [3.5, 4.5]       # one element of a subscripted constant
    "Regional Savings Factor" = [0.7, 1.0]            # every element of a subscripted constant, one value

>>> ranges = load_ranges("experiments/ranges/default.toml")      # doctest: +SKIP
>>> sets = sample_parameters(ranges, n=1000, seed=42)             # doctest: +SKIP
>>> sets.shape                                                    # doctest: +SKIP
(1000, 14)
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ScenarioError, SDModelError, check_number
from .files import read_toml
from .mdl import ModelInfo, read_model_info
from .parameters import Parameter, outside, range_text
from .budget import check_memory
from .resources import DEFAULT_MODEL

__all__ = ["sample_parameters", "load_ranges", "METHODS"]

METHODS = ("lhs", "random")


def sample_parameters(ranges: Mapping[str, tuple[float, float]], n: int, seed: int,
                      method: str = "lhs") -> pd.DataFrame:
    """Draw ``n`` parameter sets, uniform within ``ranges``, reproducibly from ``seed``.

    Parameters
    ----------
    ranges : mapping of str to (float, float)
        Column name (a Vensim constant, optionally one element as ``"Name[East]"``) ->
        (low, high) in the constant's own units; low < high.
    n : int
        Number of parameter sets (ensemble members), at least 1.
    seed : int
        Seed of the :class:`numpy.random.Generator`; the same seed, ranges (in the same
        order) and method give identical samples.
    method : {"lhs", "random"}
        "lhs": Latin hypercube (each range cut into ``n`` equal strata, one draw per
        stratum, strata shuffled independently per column); "random": independent
        uniform draws. Default is "lhs".

    Returns
    -------
    pandas.DataFrame
        One row per member (index "member", 0..n-1), one column per key of ``ranges``.

    Raises
    ------
    SDModelError
        For an unknown method, ``n < 1``, a non-integer seed or a bad range.
    """
    if method not in METHODS:
        raise SDModelError(f"unknown sampling method {method!r}; valid methods are {', '.join(METHODS)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise SDModelError(f"number of samples must be a positive integer, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SDModelError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(ranges, Mapping):
        raise SDModelError(f"ranges must be a mapping of name -> (low, high), got {type(ranges).__name__}")
    bounds = {name: check_range(name, pair, "ranges") for name, pair in ranges.items()}
    if not bounds:
        raise SDModelError("ranges is empty; give at least one parameter to sample")
    k = len(bounds)
    check_memory(5.0 * 8 * n * k, f"{n:,} parameter sets of {k} parameters", "ask for fewer samples")
    rng = np.random.default_rng(int(seed))
    if method == "lhs":
        u = (np.stack([rng.permutation(n) for _ in range(k)], axis=1) + rng.random((n, k))) / n
    else:
        u = rng.random((n, k))
    lo, hi = np.array(list(bounds.values())).T
    return pd.DataFrame(lo + u * (hi - lo), index=pd.RangeIndex(n, name="member"), columns=list(bounds))


def check_range(name: str, pair: Any, where: str) -> tuple[float, float]:
    """``pair`` as a finite (low, high) with low < high; :class:`SDModelError` naming ``where`` and ``name``."""
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise SDModelError(f"{where}: range of {name!r} must be two numbers [low, high], got {pair!r}")
    lo, hi = (check_number(v, f"{end} of the range of {name!r}", where) for end, v in zip(("low", "high"), pair))
    if lo >= hi:
        raise SDModelError(f"{where}: range of {name!r} has low {lo:g} >= high {hi:g}; valid: low < high")
    return lo, hi


def _key_line(text: str, key: str) -> int | None:
    """Line number (1-based) where ``key`` is assigned in the TOML text, if found."""
    pattern = re.compile(r'^[ \t]*(?:"' + re.escape(key) + r'"|' + re.escape(key) + r')\s*=', re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def load_ranges(path: str | Path, model: str | Path | ModelInfo | None = None) -> dict[str, tuple[float, float]]:
    """Read a TOML ranges file and check it against the model.

    Parameters
    ----------
    path : str or Path
        TOML file with one table ``[ranges]`` of ``"Name" = [low, high]`` or
        ``"Name[Element]" = [low, high]`` (values in the constant's units).
    model : path or ModelInfo, optional
        The model to check names and declared ranges against. Default is the shipped model.

    Returns
    -------
    dict
        Canonical column name (``"Name"`` or ``"Name[East]"``) -> (low, high), in file order.

    Raises
    ------
    SDModelError
        Naming the file (and line where known) for a missing or malformed file, an unknown
        name (with close matches), a non-constant, low >= high, a range outside the one the
        model declares, or a parameter given twice.
    """
    data, text = read_toml(path, "ranges file", SDModelError)
    path = Path(path)
    info = model if isinstance(model, ModelInfo) else read_model_info(model if model is not None else DEFAULT_MODEL)
    extra = [k for k in data if k not in ("ranges", "description")]
    if extra or not isinstance(data.get("ranges"), dict):
        raise SDModelError(f"{path}: expected a [ranges] table (and optionally 'description'), "
                           f"got keys {sorted(data)}")
    out: dict[str, tuple[float, float]] = {}
    params: dict[str, Parameter] = {}
    for key, pair in data["ranges"].items():
        line = _key_line(text, key)
        where = f"{path}:{line}" if line else str(path)
        param = Parameter.parse(info, key, where)
        lo, hi = check_range(key, pair, where)
        label = param.label
        overlap = [c for c, q in params.items() if q.overlaps(param)]
        if overlap:
            what = "is given twice" if overlap[0] == label else f"overlaps {overlap[0]!r}"
            raise SDModelError(f"{where}: {label!r} {what}; give each element once")
        var = param.variable(info)
        if outside(var, lo) or outside(var, hi):
            raise ScenarioError(f"{where}: range [{lo:g}, {hi:g}] of {label!r} is outside the range the model "
                                f"declares, {range_text(var)}")
        params[label] = param
        out[label] = (lo, hi)
    if not out:
        raise SDModelError(f"{path}: [ranges] is empty; give at least one parameter")
    return out
