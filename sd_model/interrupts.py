"""Ctrl-C and worker processes: the parent handles an interrupt, the workers stay quiet.

A terminal's Ctrl-C sends SIGINT to every process of the foreground group, workers
included. The parent keeps finished work and prints one line; a worker that raised
KeyboardInterrupt would print a traceback (even while still importing, before a pool
initializer can run). So worker pools are started with SIGINT ignored, which a child
inherits across fork and exec, and each worker keeps ignoring it.
"""
from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


def ignore_interrupts() -> None:
    """Pool initializer: ignore SIGINT in this worker (the parent handles it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def workers_ignore_interrupts() -> Iterator[None]:
    """Start worker processes inside this block: they begin life ignoring SIGINT.

    The parent ignores SIGINT for the duration of the block too (start the workers and
    wait until they are ready, then leave it); its own handler is restored afterwards.
    Outside the main thread this does nothing.
    """
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def interruption(exc: BaseException | None) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt behind ``exc``: ``exc`` itself or one in its chain of causes and contexts.

    Ctrl-C while a module is being imported can surface as another error raised from the
    interrupt: Python wraps an exception raised in a class body's ``__set_name__`` in a
    RuntimeError (seen when calibrate was interrupted while matplotlib loaded to write plots).
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
