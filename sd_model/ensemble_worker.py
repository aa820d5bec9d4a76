"""The worker side of an ensemble: what one chunk of members runs, in a local process or a Dask worker.

:func:`run_chunk` runs one chunk of a :class:`Job`. Each process compiles the model once per
model, engine, outputs and time settings (:func:`~sd_model.engines.cached_runner`, a per-process
cache, never keyed by parameter values) and keeps it for later chunks. :func:`sd_model.ensemble.run_ensemble` splits
the members into chunks and collects the :class:`ChunkResult` of each.
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from .engines import Runner, cached_runner
from .parameters import Parameter
from .runspec import RunSpec


@dataclass(frozen=True)
class Job:
    """What every chunk of one ensemble runs (picklable, sent to the workers).

    ``spec`` holds the checked scenario parameters, outputs and times; ``columns`` the
    parameter each column of a chunk's values sets; ``n_times`` the number of saved times.
    """

    engine: str
    model: str
    spec: RunSpec
    columns: tuple[Parameter, ...]
    n_times: int


@dataclass
class ChunkResult:
    """Results of one chunk: arrays {name: (member, time, *dims)}, failure flags and messages."""

    index: int
    arrays: dict[str, np.ndarray] | None
    failed: np.ndarray
    messages: list[str]


def runner_of(job: Job) -> Runner:
    """The runner of ``job`` for this process and thread (:func:`~sd_model.engines.cached_runner`)."""
    spec = job.spec
    return cached_runner(job.engine, job.model, spec.model_sha256, spec.outputs, spec.times, "ensemble")


def run_chunk(job: Job, index: int, values: np.ndarray) -> ChunkResult:
    """Run one chunk of members (the task a local process or a Dask worker executes)."""
    runner = runner_of(job)
    try:
        arrays, failed, messages = runner.run_sets(job.spec.params, job.columns, values)
    except Exception as exc:  # the whole chunk failed: record it, keep the ensemble going
        msg = f"chunk {index} failed: {type(exc).__name__}: {exc}"
        return ChunkResult(index, None, np.ones(len(values), bool), [msg] * len(values))
    return ChunkResult(index, arrays or None, np.asarray(failed, bool), list(messages))

