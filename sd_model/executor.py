"""One executor for many model runs: local worker processes by default, a Dask cluster when given one.

Ensembles (and so sensitivity analyses and comparisons) and calibration hand their work to
an :class:`Executor` as picklable tasks ``(function, *arguments)``. Each worker process
compiles the model once and keeps it (the workflows cache their runners per process), so the
executor itself holds no model state.

>>> with Executor(workers=2) as ex:                                  # doctest: +SKIP
...     results = ex.map(pow, [(2, 3), (3, 2)])                      # [8, 9]
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from multiprocessing import get_all_start_methods, get_context
from typing import Any

from .errors import SDModelError
from .interrupts import ignore_interrupts, workers_ignore_interrupts

__all__ = ["Executor", "dask_client", "default_workers"]

Task = tuple[Any, ...]


def default_workers() -> int:
    """Number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _watch_parent(parent: int) -> None:
    """Pool initializer: end this worker when the parent process is gone (killed); the pool cannot tell it.

    The worker also ignores SIGINT: Ctrl-C reaches the whole process group, and the parent
    handles it (keeps finished work, prints one line) -- a worker would print a traceback.
    """
    ignore_interrupts()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


class Executor:
    """Runs tasks in this process, in local worker processes, or on a Dask cluster.

    Parameters
    ----------
    workers : int, optional
        Local worker processes; 1 runs every task in this process. Default is all cores
        this process may use. Ignored when ``scheduler`` is given.
    scheduler : str or dask.distributed.Client, optional
        A Dask scheduler address (``"tcp://127.0.0.1:8786"``) or a Client: run the tasks on
        that cluster (its workers need this package installed). Default is None (local).
    prepare : callable, optional
        Called once in this process before worker processes are forked (e.g. to compile a
        model they then inherit). Default is None.

    Use as a context manager; the pool starts on entry and stops on exit. Local workers are
    forked when this process has no other thread (no re-import, no ``__main__`` guard needed),
    spawned otherwise (forking a threaded process can deadlock).
    """

    def __init__(self, workers: int | None = None, scheduler: Any = None,
                 prepare: Callable[[], Any] | None = None) -> None:
        self.workers = default_workers() if workers is None else int(workers)
        if self.workers < 1:
            raise SDModelError(f"workers must be at least 1, got {workers}")
        self.scheduler, self._prepare = scheduler, prepare
        self._pool: ProcessPoolExecutor | None = None
        self._client: Any = None
        self._own_client = False

    def __enter__(self) -> Executor:
        if self.scheduler is not None:
            self._client, self._own_client = dask_client(self.scheduler)
        elif self.workers > 1:
            method = "fork" if "fork" in get_all_start_methods() and threading.active_count() == 1 else "spawn"
            if method == "fork" and self._prepare is not None:
                self._prepare()
            # start every worker now (fork: before this process starts any thread), with SIGINT
            # ignored from the first instruction (the disposition survives fork and exec)
            with workers_ignore_interrupts():
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context(method),
                                                 initializer=_watch_parent, initargs=(os.getpid(),))
                for future in [self._pool.submit(int) for _ in range(self.workers)]:
                    future.result()
        return self

    def __exit__(self, exc_type: Any, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=exc_type is None, cancel_futures=True)
            self._pool = None
        if self._client is not None and self._own_client:
            self._client.close()
        self._client = None

    def as_completed(self, tasks: Sequence[Task]) -> Iterator[Any]:
        """Results of ``tasks`` (``(function, *args)`` each) in the order they finish."""
        if self._client is not None:
            from distributed import as_completed as dask_completed

            futures = [self._client.submit(fn, *args, pure=False) for fn, *args in tasks]
            for fut in dask_completed(futures, loop=self._client.loop):
                yield fut.result()
        elif self._pool is not None and len(tasks) > 1:
            pending: list[Future[Any]] = [self._pool.submit(fn, *args) for fn, *args in tasks]
            for fut in as_completed(pending):
                yield fut.result()
        else:
            for fn, *args in tasks:
                yield fn(*args)

    def map(self, fn: Callable[..., Any], tasks: Sequence[Task]) -> list[Any]:
        """``[fn(*args) for args in tasks]``, run by the workers, in order."""
        if self._client is not None:
            return list(self._client.gather([self._client.submit(fn, *args, pure=False) for args in tasks]))
        if self._pool is not None and len(tasks) > 1:
            return [f.result() for f in [self._pool.submit(fn, *args) for args in tasks]]
        return [fn(*args) for args in tasks]


def dask_client(scheduler: Any) -> tuple[Any, bool]:
    """A Dask Client of ``scheduler`` (an address or a Client), and whether the caller owns (closes) it."""
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
        raise SDModelError(f"a Dask scheduler was given but dask.distributed is not available ({exc})") from None
    if isinstance(scheduler, Client):
        return scheduler, False
    if not isinstance(scheduler, str):
        raise SDModelError(f"scheduler must be an address such as 'tcp://127.0.0.1:8786' or a "
                           f"dask.distributed.Client, got {type(scheduler).__name__}")
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False), True
    except (OSError, TimeoutError, ValueError) as exc:  # ValueError: an unknown scheme (bogus://)
        raise SDModelError(f"cannot reach the Dask scheduler at {scheduler!r} within {CONNECT_TIMEOUT} s "
                           f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); start one with "
                           "'dask scheduler' and 'dask worker ADDRESS', or omit --scheduler") from None


#: Seconds to wait for a Dask scheduler before giving up (dask's own default is 30 s).
CONNECT_TIMEOUT = 5
