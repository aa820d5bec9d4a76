"""Ensembles: one scenario, many parameter sets, run in parallel, streamed to disk, resumable.

>>> from sd_model.ensemble import run_ensemble
>>> from sd_model.sampling import load_ranges, sample_parameters
>>> from sd_model.scenario import load_scenario
>>> sets = sample_parameters(load_ranges("experiments/ranges/default.toml"), n=1000, seed=1)  # doctest: +SKIP
>>> ds = run_ensemble(load_scenario("experiments/historical.toml"), sets,
...                   ["National GDP", "Theil Index"], store="results/ens")   # doctest: +SKIP
>>> ds["Theil Index"].sel(time=2050).quantile([0.05, 0.95], "member")        # doctest: +SKIP

Members are split into chunks; each chunk runs in one worker (a local process, or a Dask
worker when ``scheduler`` is given), which compiles the model once and keeps it for every
later chunk with the same model, engine, outputs and time settings (a per-process cache of
compiled models, keyed by those, never by parameter values). With ``store`` every finished
chunk is written to its own file at once, so an interrupted ensemble resumes where it stopped.
"""
from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .engines import DEFAULT_ENSEMBLE_ENGINE, engine_class
from .ensemble_store import ChunkStore, fingerprint, plain
from .ensemble_worker import ChunkResult, Job, run_chunk, runner_of
from .errors import EngineError, ScenarioError, SDModelError
from .executor import Executor
from .mdl import ModelInfo, read_model_info
from .budget import check_memory, check_times, model_values
from .parameters import Parameter, outside, range_text
from .scenario import Scenario

__all__ = ["run_ensemble", "EnsembleWarning"]

#: Members per chunk at most, by engine (others: 100).
_MAX_CHUNK = {"batch": 1000, "simlin": 100, "pysd": 1}


class EnsembleWarning(RuntimeWarning):
    """Some ensemble members failed; the ensemble finished and records them."""


def _check_parameter_sets(info: ModelInfo, frame: pd.DataFrame) -> tuple[list[Parameter], np.ndarray, np.ndarray]:
    where = "parameter_sets"
    if not isinstance(frame, pd.DataFrame):
        raise SDModelError(f"{where} must be a pandas DataFrame (one row per member), got {type(frame).__name__}")
    if len(frame) == 0:
        raise SDModelError(f"{where} has no rows; give one row per ensemble member")
    if not frame.index.is_unique:
        dup = frame.index[frame.index.duplicated()][0]
        raise SDModelError(f"{where}: member id {plain(dup)!r} appears twice; the index must be unique")
    members = np.asarray(frame.index)
    if members.dtype.kind not in "iu":
        members = np.asarray([str(m) for m in members], dtype=object)
        twice = pd.Index(members).duplicated()
        if twice.any():
            raise SDModelError(f"{where}: member ids {members[twice.argmax()]!r} appear twice once written as text "
                               "(e.g. 1 and '1'); the index must be unique")
    columns = [Parameter.parse(info, c, f"{where} column {c!r}") for c in frame.columns]
    for i, p in enumerate(columns):
        if any(p.overlaps(q) for q in columns[:i]):
            raise SDModelError(f"{where}: {p.label!r} is given more than once (as a whole or per element)")
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise SDModelError(f"{where}: values must be numbers ({exc})") from None
    for j, p in enumerate(columns):
        col, var = values[:, j], p.variable(info)
        bad = ~np.isfinite(col) | outside(var, col)
        if bad.any():
            i = int(np.argmax(bad))
            raise ScenarioError(f"{where}: member {plain(members[i])!r} has {p.label} = {col[i]:g}, outside the "
                                f"range the model declares, {range_text(var)}")
    return columns, values, members


def _check_arguments(scenario: Any, outputs: Any, model: Any, store: Any, workers: Any, chunk_size: Any) -> None:
    """Type checks of :func:`run_ensemble`'s arguments: SDModelError instead of a TypeError deep inside.

    ``until`` is checked by :meth:`~sd_model.scenario.Scenario.resolve`.
    """
    if not isinstance(scenario, Scenario):
        raise SDModelError(f"scenario must be a Scenario (see sd_model.scenario.load_scenario), got "
                           f"{type(scenario).__name__}")
    if isinstance(outputs, str) or not isinstance(outputs, Sequence) or not all(isinstance(o, str) for o in outputs):
        raise SDModelError(f"outputs must be a list of Vensim variable names, got {outputs!r}"[:200])
    for name, value in (("model", model), ("store", store)):
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise SDModelError(f"{name} must be a path, got {type(value).__name__}")
    for name, value in (("workers", workers), ("chunk_size", chunk_size)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise SDModelError(f"{name} must be a positive integer, got {value!r}")


def _check_resources(info: ModelInfo, spec: Any, members: int, engine: str) -> None:
    """Refuse an ensemble whose results cannot fit in memory, or whose members each run too long."""
    t = spec.times
    # a batch member runs in a vectorised chunk, far cheaper than one batch run alone: costed as simlin
    check_times("simlin" if engine == "batch" else engine, info, t, f"each member's run from {t.initial:g} to "
                f"{t.final:g}")
    check_memory(3.0 * 8 * members * t.n * model_values(info, spec.outputs), f"an ensemble of {members:,} members",
                 "ask for fewer members, fewer --outputs or an earlier --until")


def _chunk_dataset(info: ModelInfo, names: Sequence[str], times: np.ndarray, members: np.ndarray,
                   res: ChunkResult) -> xr.Dataset:
    m = len(members)
    failed, messages = res.failed.copy(), list(res.messages)
    data_vars: dict[str, Any] = {}
    for name in names:
        var = info.variables[name]
        shape = (m, len(times), *(len(info.subscripts[d]) for d in var.dims))
        arr = res.arrays.get(name) if res.arrays else None
        if arr is None:
            arr, failed[:] = np.full(shape, np.nan), True
        if arr.shape != shape:
            raise EngineError(f"engine returned {name!r} with shape {arr.shape}, expected {shape}")
        bad = ~np.isfinite(arr.reshape(m, -1)).all(axis=1)
        for i in np.flatnonzero(bad & ~failed):
            k = int(np.argmax(~np.isfinite(arr[i].reshape(len(times), -1)).all(axis=1)))
            failed[i], messages[i] = True, f"non-finite value of {name!r} from {times[k]:g}"
        data_vars[name] = xr.DataArray(arr, dims=("member", "time", *var.dims), attrs={"units": var.units})
    for i in np.flatnonzero(failed):
        messages[i] = messages[i] or "failed"
    data_vars["failed"] = xr.DataArray(failed, dims=("member",))
    data_vars["message"] = xr.DataArray(np.asarray(messages, dtype=object), dims=("member",))
    dims = {d for n in names for d in info.variables[n].dims}
    coords = {"member": members, "time": times, **{d: list(info.subscripts[d]) for d in sorted(dims)}}
    return xr.Dataset(data_vars, coords=coords)


def run_ensemble(scenario: Scenario, parameter_sets: pd.DataFrame, outputs: Sequence[str], *,
                 engine: str = DEFAULT_ENSEMBLE_ENGINE, model: str | Path | None = None, until: float | None = None,
                 store: Path | None = None, workers: int | None = None, scheduler: Any = None,
                 progress: bool = True, chunk_size: int | None = None) -> xr.Dataset:
    """Run ``scenario`` once per row of ``parameter_sets`` and collect the chosen outputs.

    Parameters
    ----------
    scenario : Scenario
        The scenario every member starts from (time settings and parameters).
    parameter_sets : pandas.DataFrame
        One row per member; the index holds the member ids (unique). Columns are Vensim
        constant names (``"Capital Elasticity"``; a subscripted constant's name sets every
        element), or one element (``"Initial Schooling[West]"``, 2-D ``"Name[East,West]"``).
        Each row is laid over the scenario's params. Values in the constants' own units.
    outputs : sequence of str
        Whole Vensim variables to keep (arrays keep their Region / Dest dims).
    engine : str
        One of :data:`sd_model.engines.ENGINES`.
        "batch": the vectorised engine generated from the .mdl (all members of a chunk at
        once; fastest); "simlin": one compiled pysimlin simulation reused; "pysd": the
        reference (about a minute per run). Default is "batch".
    model : str or Path, optional
        The .mdl file. Default is the shipped model.
    until : float, optional
        Final year (Year), overriding the scenario's.
    store : Path, optional
        Folder to stream finished chunks into (one NetCDF file each, written atomically).
        Running again with the same store skips the members already finished; a store made
        for another model, engine, scenario, parameter set or outputs is refused. Default is
        None (results kept in memory only).
    workers : int, optional
        Local worker processes. Default is all cores this process may use; 1 runs in this
        process. Ignored when ``scheduler`` is given.
    scheduler : str or dask.distributed.Client, optional
        A Dask scheduler address (``"tcp://127.0.0.1:8786"``) or a Client: run the chunks on
        that cluster (its workers need this package installed). Default is None (local).
    progress : bool
        Show a progress bar of finished runs on stderr. Default is True.
    chunk_size : int, optional
        Members per chunk (the unit of work, of storage and of resuming). Default depends on
        the engine and the number of members (at most 1000 for "batch", 100 for "simlin").

    Returns
    -------
    xarray.Dataset
        One variable per output with dims ``("member", "time", *dims)``, plus ``failed``
        (member: bool) and ``message`` (member: why it failed, "" otherwise). Attributes
        name the scenario, engine, model hash and the number of failed members.

    Raises
    ------
    SDModelError
        Before running anything, for unknown names (with close matches), values outside
        the declared ranges, a bad engine, or a store that belongs to another ensemble.

    Warns
    -----
    EnsembleWarning
        If some members failed (their values are NaN or non-finite and ``failed`` is True).
    """
    engine_type = engine_class(engine)  # an unknown engine fails here, before anything runs
    _check_arguments(scenario, outputs, model, store, workers, chunk_size)
    from .run import DEFAULT_MODEL

    path = Path(model) if model is not None else DEFAULT_MODEL
    info = read_model_info(path)
    spec = scenario.resolve(info, outputs, until)
    columns, values, members = _check_parameter_sets(info, parameter_sets)
    _check_resources(info, spec, len(members), engine)
    workers = Executor(workers).workers  # checked before anything runs
    job = Job(engine, str(path.resolve()), spec, tuple(columns), spec.times.n)
    if chunk_size is None:
        chunk_size = max(1, min(_MAX_CHUNK.get(engine, 100), math.ceil(len(members) / workers)))
    prints = fingerprint(info, job, spec, members, values)
    chunks_store = ChunkStore.open(store, prints, int(chunk_size), len(members)) if store is not None else None
    try:
        return _run_chunks(info, job, members, values, prints, workers, chunk_size, chunks_store, scheduler,
                           progress, engine_type)
    except BaseException:
        if chunks_store is not None:
            chunks_store.discard_if_empty()  # a store this call created and left empty is removed
        raise


def _run_chunks(info, job, members, values, prints, workers, chunk_size, chunks_store, scheduler, progress,
                engine_type) -> xr.Dataset:
    """Run the checked ensemble (see :func:`run_ensemble`) chunk by chunk, reusing the chunks in ``chunks_store``."""
    spec, engine, n, times = job.spec, job.engine, len(members), job.spec.times.coords()
    chunk_size = chunks_store.chunk_size if chunks_store is not None else int(chunk_size)
    bounds = [(i, min(i + chunk_size, n)) for i in range(0, n, chunk_size)]
    results: dict[int, xr.Dataset] = {}
    if chunks_store is not None:
        results.update(chunks_store.load_finished(bounds, members))
    tasks = [(k, values[a:b]) for k, (a, b) in enumerate(bounds) if k not in results]

    from tqdm import tqdm

    class _Bar(tqdm):  # no monitor thread: a lingering thread would make the next call spawn, not fork
        monitor_interval = 0

    done_runs = sum(b - a for k, (a, b) in enumerate(bounds) if k in results)
    executor = Executor(min(workers, max(1, len(tasks))), scheduler if tasks else None,
                        prepare=(lambda: runner_of(job)) if engine_type.compile_before_fork else None)
    with executor, _Bar(total=n, initial=done_runs, unit="run", desc=f"{spec.name} ({engine})", file=sys.stderr,
                        disable=not progress, dynamic_ncols=True) as bar:
        for res in executor.as_completed([(run_chunk, job, k, v) for k, v in tasks]):
            a, b = bounds[res.index]
            ds = _chunk_dataset(info, spec.outputs, times, members[a:b], res)
            if chunks_store is not None:
                chunks_store.write(res.index, ds)
            results[res.index] = ds
            bar.update(b - a)
    out = xr.concat([results[k] for k in range(len(bounds))], dim="member", data_vars="all",
                    coords="minimal", compat="override", join="override")
    n_failed = int(out["failed"].sum())
    out.attrs.update({"scenario": spec.name, "engine": engine, "model_sha256": info.sha256,
                      "ensemble_sha256": prints["ensemble"], "members": n, "failed_members": n_failed})
    if n_failed:
        first = int(np.argmax(out["failed"].values))
        warnings.warn(EnsembleWarning(
            f"{n_failed} of {n} ensemble members failed (see the 'failed' and 'message' variables); "
            f"first: member {plain(members[first])!r}: {out['message'].values[first]}"), stacklevel=2)
    return out
