"""Policy experiments: run several scenarios and compare them, with or without uncertainty.

Pure functions over results Datasets (dims ``time``, ``Region``; ensembles add ``member``):
preparing and checking scenarios, running them (once each, or as ensembles over the same
parameter draws: common random numbers), key-indicator tables at chosen years with the
difference from a reference scenario, effects of one scenario against another with bands,
and pairwise "share of draws in which A beats B".

>>> from sd_model.experiments import prepare_scenarios, run_scenarios
>>> from sd_model.indicators import indicator_table
>>> scs = prepare_scenarios(["experiments/historical.toml", "experiments/unbalanced.toml"],
...                         engine.info)                                  # doctest: +SKIP
>>> indicator_table(run_scenarios(scs, engine)).head()                   # doctest: +SKIP

The tables and comparisons are in :mod:`sd_model.indicators`.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .errors import ScenarioError, SDModelError
from .files import sha256_bytes
from .indicators import INDICATORS
from .run import run_scenario
from .scenario import Scenario, load_scenario

#: Outputs an ensemble saves: the key indicators, :data:`sd_model.indicators.INDICATORS` (all that the
#: report's fan charts need).
ENSEMBLE_OUTPUTS = tuple(INDICATORS)


# ---------------------------------------------------------------- scenarios


def prepare_scenarios(paths: Sequence[str | Path], info: Any, until: float | None = None) -> list[Scenario]:
    """Load, validate and check scenario files before anything runs.

    Parameters
    ----------
    paths : scenario files or bare names of files in ``experiments/``.
    info : the model's :class:`sd_model.mdl.ModelInfo`.
    until : final year (Year) for every scenario, overriding theirs. Default is None.

    Returns
    -------
    list of validated Scenario, in the order given (the first is the reference).

    Raises
    ------
    ScenarioError
        For a missing or bad file, an unknown lever or parameter, an inheritance loop,
        a lever starting outside the run, or two scenarios with the same name.
    """
    if not paths:
        raise ScenarioError("no scenario given; name at least one scenario file")
    out = [load_scenario(arg).resolve(info, until=until, levers_in_run=True).scenario for arg in paths]  # or names
    names = [s.name for s in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ScenarioError(f"two scenarios share the name {dupes[0]!r}; each needs its own name")
    return out


# ---------------------------------------------------------------- running


def run_scenarios(scenarios: Sequence[Scenario], engine: Any,
                  outputs: Sequence[str] | None = None) -> dict[str, xr.Dataset]:
    """Run each scenario once with the model's parameter values.

    Returns
    -------
    dict of scenario name -> Dataset (dims time, Region / Dest), in the given order.
    """
    return {sc.name: run_scenario(sc, engine, outputs) for sc in scenarios}


def store_key(scenario: Scenario, parameter_sets: pd.DataFrame, outputs: Sequence[str], model_sha: str) -> str:
    """Fingerprint (12 hex digits) of what an ensemble depends on, to name its resumable store."""
    blob = json.dumps({"scenario": scenario.to_dict() | {"source": None},
                       "outputs": list(outputs), "model": model_sha}, sort_keys=True, default=str)
    return sha256_bytes(blob.encode() + pd.util.hash_pandas_object(parameter_sets, index=True).to_numpy().tobytes()
                        + ",".join(map(str, parameter_sets.columns)).encode())[:12]


def run_ensembles(scenarios: Sequence[Scenario], parameter_sets: pd.DataFrame,
                  outputs: Sequence[str] = ENSEMBLE_OUTPUTS, *, engine: str = "simlin",
                  model: str | Path | None = None, model_sha: str = "", store_root: Path | None = None,
                  workers: int | None = None, scheduler: Any = None,
                  progress: bool = True) -> dict[str, xr.Dataset]:
    """Run every scenario over the same parameter draws (common random numbers).

    Parameters
    ----------
    scenarios : validated scenarios (their final times apply).
    parameter_sets : one row per draw, columns Vensim constant names or "Name[Element]".
    outputs : variables to save. Default is :data:`ENSEMBLE_OUTPUTS`.
    engine, model, workers, scheduler, progress : passed to
        :func:`sd_model.ensemble.run_ensemble`.
    model_sha : SHA-256 of the model file, part of each store's fingerprint.
    store_root : folder for the resumable stores, one per scenario named
        ``<scenario>-<fingerprint>``; finished runs survive an interruption and are
        reused when the same comparison is run again. Default is None (no store).

    Returns
    -------
    dict of scenario name -> Dataset with dims ("member", "time", ...).
    """
    from .ensemble import run_ensemble

    out = {}
    for sc in scenarios:
        store = (None if store_root is None
                 else Path(store_root) / f"{sc.name}-{store_key(sc, parameter_sets, outputs, model_sha)}")
        out[sc.name] = run_ensemble(sc, parameter_sets, list(outputs), engine=engine, model=model, store=store,
                                    workers=workers, scheduler=scheduler, progress=progress)
    return out


def drop_failed(ensembles: Mapping[str, xr.Dataset]) -> tuple[dict[str, xr.Dataset], int]:
    """Keep only the draws that succeeded in every scenario, so that comparisons stay paired.

    Returns
    -------
    (ensembles without the failed draws and without the ``failed`` / ``message``
    bookkeeping variables, number of draws dropped).
    """
    ok = None
    for ds in ensembles.values():
        good = ~ds["failed"].to_numpy().astype(bool) if "failed" in ds else np.ones(ds.sizes["member"], bool)
        ok = good if ok is None else ok & good
    out = {name: ds.drop_vars(["failed", "message"], errors="ignore").isel(member=ok)
           for name, ds in ensembles.items()}
    if ok is not None and not ok.any():
        raise SDModelError("every draw failed in at least one scenario; see the ensemble's messages")
    return out, 0 if ok is None else int((~ok).sum())
