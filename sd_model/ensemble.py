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
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
import threading
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .engines import resolve_outputs
from .ensemble_store import ChunkStore, fingerprint
from .ensemble_worker import ChunkResult, Column, Job, _PerMember, _runner, row_params, run_chunk
from .errors import EngineError, ScenarioError, SDModelError
from .mdl import ModelInfo, read_model_info
from .sampling import column_name, parse_column
from .scenario import Scenario, validate

__all__ = ["run_ensemble", "ENSEMBLE_ENGINES", "DEFAULT_ENSEMBLE_ENGINE", "EnsembleWarning"]

ENSEMBLE_ENGINES = ("batch", "simlin", "pysd")
#: The vectorised engine: equal to simlin to 1e-9 relative (tests/test_batch.py), fastest.
DEFAULT_ENSEMBLE_ENGINE = "batch"
_MAX_CHUNK = {"batch": 1000, "simlin": 100, "pysd": 1}

# Defined in .ensemble_worker; still importable from here, where they were before the split. The executors
# below call run_chunk through this module's namespace, so replacing sd_model.ensemble.run_chunk takes effect.
_REEXPORTED = (_PerMember, row_params)


class EnsembleWarning(RuntimeWarning):
    """Some ensemble members failed; the ensemble finished and records them."""


def _check_parameter_sets(info: ModelInfo, frame: pd.DataFrame) -> tuple[list[Column], np.ndarray, np.ndarray]:
    where = "parameter_sets"
    if not isinstance(frame, pd.DataFrame):
        raise SDModelError(f"{where} must be a pandas DataFrame (one row per member), got {type(frame).__name__}")
    if len(frame) == 0:
        raise SDModelError(f"{where} has no rows; give one row per ensemble member")
    if not frame.index.is_unique:
        dup = frame.index[frame.index.duplicated()][0]
        raise SDModelError(f"{where}: member id {_plain(dup)!r} appears twice; the index must be unique")
    members = np.asarray(frame.index)
    if members.dtype.kind not in "iu":
        members = np.asarray([str(m) for m in members], dtype=object)
    columns = [parse_column(info, c, f"{where} column {c!r}") for c in frame.columns]
    labels = [column_name(n, c) for n, c in columns]
    for (name, cell), label in zip(columns, labels):
        if labels.count(label) > 1 or (cell is None and info.variables[name].dims
                                       and any(lab.startswith(f"{name}[") for lab in labels)):
            raise SDModelError(f"{where}: {label!r} is given more than once (as a whole or per element)")
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise SDModelError(f"{where}: values must be numbers ({exc})") from None
    for j, ((name, _), label) in enumerate(zip(columns, labels)):
        col = values[:, j]
        bad = ~np.isfinite(col)
        lo, hi = info.variables[name].range
        if lo is not None:
            bad |= col < lo
        if hi is not None:
            bad |= col > hi
        if bad.any():
            i = int(np.argmax(bad))
            units = info.variables[name].units
            raise ScenarioError(
                f"{where}: member {_plain(members[i])!r} has {label} = {col[i]:g}, outside the range the model "
                f"declares, [{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}] "
                f"{units}".rstrip())
    return columns, values, members


def _plain(member: Any) -> Any:
    return member.item() if isinstance(member, np.generic) else member


def _times(info: ModelInfo, scenario: Scenario) -> np.ndarray:
    dt = scenario.time_step if scenario.time_step is not None else info.time_step
    final = scenario.final_time if scenario.final_time is not None else info.final_time
    saveper = dt if info.saveper_is_time_step else info.saveper
    n = int(math.floor((final - info.initial_time) / saveper + 1e-9)) + 1
    return info.initial_time + saveper * np.arange(n)


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


def _default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _execute_local(job: Job, tasks: list[tuple[int, np.ndarray]], workers: int,
                   done: Callable[[ChunkResult], None], started: Callable[[], None]) -> None:
    if workers <= 1 or len(tasks) <= 1:
        started()
        for index, values in tasks:
            done(run_chunk(job, index, values))
        return
    # fork (no re-import, no __main__ guard needed) while this process has no other thread;
    # otherwise spawn, since forking a threaded process can deadlock.
    method = "fork" if "fork" in get_all_start_methods() and threading.active_count() == 1 else "spawn"
    if method == "fork" and job.engine == "batch":  # compile once here; the forked workers inherit it
        _runner(job.engine, job.model, job.sha256, job.outputs, job.final_time, job.time_step)
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=get_context(method))
    try:
        futures = [pool.submit(run_chunk, job, index, values) for index, values in tasks]
        started()
        for fut in as_completed(futures):
            done(fut.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _execute_dask(job: Job, tasks: list[tuple[int, np.ndarray]], scheduler: Any,
                  done: Callable[[ChunkResult], None]) -> None:
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
        raise SDModelError(f"a Dask scheduler was given but dask.distributed is not available ({exc})") from None
    own = isinstance(scheduler, str)
    if own:
        try:
            import dask

            timeout = dask.config.get("distributed.comm.timeouts.connect")  # 30s unless configured
            client = Client(scheduler, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise SDModelError(f"cannot reach the Dask scheduler at {scheduler!r} ({exc}); start one with "
                               "'dask scheduler' and 'dask worker ADDRESS', or omit --scheduler") from None
    elif isinstance(scheduler, Client):
        client = scheduler
    else:
        raise SDModelError(f"scheduler must be an address such as 'tcp://127.0.0.1:8786' or a "
                           f"dask.distributed.Client, got {type(scheduler).__name__}")
    try:
        futures = [client.submit(run_chunk, job, index, values, pure=False) for index, values in tasks]
        for fut in dask_completed(futures, loop=client.loop):
            done(fut.result())
    finally:
        if own:
            client.close()


def run_ensemble(scenario: Scenario, parameter_sets: pd.DataFrame, outputs: Sequence[str], *,
                 engine: str = DEFAULT_ENSEMBLE_ENGINE, model: Path | None = None, until: float | None = None,
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
    engine : {"batch", "simlin", "pysd"}
        "batch": the vectorised engine generated from the .mdl (all members of a chunk at
        once; fastest); "simlin": one compiled pysimlin simulation reused; "pysd": the
        reference (about a minute per run). Default is "batch".
    model : Path, optional
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
    if engine not in ENSEMBLE_ENGINES:
        raise SDModelError(f"unknown ensemble engine {engine!r}; valid engines are {', '.join(ENSEMBLE_ENGINES)}")
    from .run import DEFAULT_MODEL

    path = Path(model) if model is not None else DEFAULT_MODEL
    info = read_model_info(path)
    if until is not None:
        scenario = replace(scenario, final_time=float(until))
    valid = validate(scenario, info)
    names = resolve_outputs(info, outputs)
    columns, values, members = _check_parameter_sets(info, parameter_sets)
    times = _times(info, valid)
    n = len(members)
    workers = _default_workers() if workers is None else int(workers)
    if workers < 1:
        raise SDModelError(f"workers must be at least 1, got {workers}")
    job = Job(engine, str(path.resolve()), info.sha256, tuple(names),
              float(times[-1]) if valid.final_time is None else float(valid.final_time),
              float(valid.time_step if valid.time_step is not None else info.time_step),
              {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in valid.params.items()},
              tuple(columns), len(times))
    if chunk_size is None:
        chunk_size = max(1, min(_MAX_CHUNK[engine], math.ceil(n / workers)))
    prints = fingerprint(info, job, valid, members, values)
    chunks_store = ChunkStore.open(Path(store), prints, int(chunk_size), n) if store is not None else None
    chunk_size = chunks_store.chunk_size if chunks_store is not None else int(chunk_size)
    bounds = [(i, min(i + chunk_size, n)) for i in range(0, n, chunk_size)]
    results: dict[int, xr.Dataset] = {}
    if chunks_store is not None:
        results.update(chunks_store.load_finished(len(bounds)))
    tasks = [(k, values[a:b]) for k, (a, b) in enumerate(bounds) if k not in results]

    from tqdm import tqdm

    class _Bar(tqdm):  # no monitor thread: a lingering thread would make the next call spawn, not fork
        monitor_interval = 0

    done_runs = sum(b - a for k, (a, b) in enumerate(bounds) if k in results)
    bars: list[Any] = []

    def started() -> None:  # the bar's monitor thread starts only after any fork
        bars.append(_Bar(total=n, initial=done_runs, unit="run", desc=f"ensemble ({engine})",
                         file=sys.stderr, disable=not progress, dynamic_ncols=True))

    def finished(res: ChunkResult) -> None:
        a, b = bounds[res.index]
        ds = _chunk_dataset(info, names, times, members[a:b], res)
        if chunks_store is not None:
            chunks_store.write(res.index, ds)
        results[res.index] = ds
        bars[0].update(b - a)

    try:
        if tasks and scheduler is not None:
            started()
            _execute_dask(job, tasks, scheduler, finished)
        elif tasks:
            _execute_local(job, tasks, workers, finished, started)
    finally:
        for bar in bars:
            bar.close()
    out = xr.concat([results[k] for k in range(len(bounds))], dim="member", data_vars="all",
                    coords="minimal", compat="override", join="override")
    n_failed = int(out["failed"].sum())
    out.attrs.update({"scenario": valid.name, "engine": engine, "model_sha256": info.sha256,
                      "ensemble_sha256": prints["ensemble"], "members": n, "failed_members": n_failed})
    if n_failed:
        first = int(np.argmax(out["failed"].values))
        warnings.warn(EnsembleWarning(
            f"{n_failed} of {n} ensemble members failed (see the 'failed' and 'message' variables); "
            f"first: member {_plain(members[first])!r}: {out['message'].values[first]}"), stacklevel=2)
    return out
