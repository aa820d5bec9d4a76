"""The worker side of an ensemble: what one chunk of members runs, in a local process or a Dask worker.

:func:`run_chunk` runs one chunk of a :class:`Job`. Each process compiles the model once per
model, engine, outputs and time settings (:func:`_runner`, a per-process cache, never keyed by
parameter values) and keeps it for later chunks. :func:`sd_model.ensemble.run_ensemble` splits
the members into chunks and collects the :class:`ChunkResult` of each.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import SDModelError
from .mdl import ModelInfo, read_model_info
from .scenario import merge_params

Column = tuple[str, "tuple[str, ...] | None"]


@dataclass(frozen=True)
class Job:
    """What every chunk of one ensemble runs (picklable, sent to the workers).

    ``base`` holds the validated scenario parameters; ``columns`` the (constant, element)
    each column of a chunk's values sets; ``n_times`` the number of saved times.
    """

    engine: str
    model: str
    sha256: str
    outputs: tuple[str, ...]
    final_time: float
    time_step: float
    base: dict
    columns: tuple[Column, ...]
    n_times: int


@dataclass
class ChunkResult:
    """Results of one chunk: arrays {name: (member, time, *dims)}, failure flags and messages."""

    index: int
    arrays: dict[str, np.ndarray] | None
    failed: np.ndarray
    messages: list[str]


@functools.lru_cache(maxsize=4)
def _runner(engine: str, model: str, sha256: str, outputs: tuple[str, ...], final_time: float,
            time_step: float) -> Any:
    """Compile the model once per process for these settings (kept for later chunks)."""
    info = read_model_info(model)
    if info.sha256 != sha256:
        raise SDModelError(f"{model} changed while the ensemble was running (sha256 {info.sha256[:12]}, "
                           f"expected {sha256[:12]}); restart the ensemble")
    if engine == "batch":
        from .batch import BatchModel

        return BatchModel(info).compile(list(outputs), final_time=final_time, time_step=time_step)
    if engine == "simlin":
        from .engines import SimlinEngine

        return _PerMember(SimlinEngine(model).compiled(list(outputs), final_time=final_time,
                                                       time_step=time_step).run, info)
    from .engines import PysdEngine

    eng = PysdEngine(model)

    def run_one(params: dict) -> dict[str, np.ndarray]:
        ds = eng.run(params, final_time=final_time, time_step=time_step, outputs=list(outputs))
        return {n: ds[n].values for n in outputs}

    return _PerMember(run_one, info)


class _PerMember:
    """Runs a chunk one member at a time through ``run_one(params) -> {name: (time, *dims)}``."""

    def __init__(self, run_one: Callable[[dict], dict[str, np.ndarray]], info: ModelInfo) -> None:
        self._run_one, self._info = run_one, info

    def run_sets(self, base: dict, columns: Sequence[Column], values: np.ndarray
                 ) -> tuple[dict[str, np.ndarray], np.ndarray, list[str]]:
        out: dict[str, list[np.ndarray]] = {}
        failed, messages, template = np.zeros(len(values), bool), [""] * len(values), None
        for i, row in enumerate(values):
            try:
                res = self._run_one(merge_params(base, row_params(self._info, columns, row)))
                template = template or {k: np.full_like(v, np.nan) for k, v in res.items()}
            except Exception as exc:  # one failing member must not stop the chunk
                res, failed[i], messages[i] = None, True, f"{type(exc).__name__}: {exc}"
            for k, v in (res or {}).items():
                out.setdefault(k, [None] * len(values))[i] = v  # type: ignore[index]
        if template is None:
            return {}, failed, messages
        arrays = {k: np.stack([template[k] if v is None else v for v in vs]) for k, vs in out.items()}
        return arrays, failed, messages


def row_params(info: ModelInfo, columns: Sequence[Column], row: Iterable[float]) -> dict:
    """Turn one row of parameter values into scenario-style params ({name: float | {el: float}})."""
    out: dict[str, Any] = {}
    for (name, cell), value in zip(columns, row):
        var = info.variables[name]
        if cell is None:
            out[name] = {k: float(value) for k in var.default} if var.dims else float(value)  # type: ignore
        else:
            out.setdefault(name, {})[",".join(cell)] = float(value)
    return out


def run_chunk(job: Job, index: int, values: np.ndarray) -> ChunkResult:
    """Run one chunk of members (the task a local process or a Dask worker executes)."""
    runner = _runner(job.engine, job.model, job.sha256, job.outputs, job.final_time, job.time_step)
    try:
        arrays, failed, messages = runner.run_sets(job.base, job.columns, values)
    except Exception as exc:  # the whole chunk failed: record it, keep the ensemble going
        msg = f"chunk {index} failed: {type(exc).__name__}: {exc}"
        return ChunkResult(index, None, np.ones(len(values), bool), [msg] * len(values))
    return ChunkResult(index, arrays or None, np.asarray(failed, bool), list(messages))
