"""Ctrl-C and worker processes: the parent handles an interrupt, the workers stay quiet.

A terminal's Ctrl-C sends SIGINT to every process of the foreground group, workers
included. The parent keeps finished work and prints one line; a worker that raised
KeyboardInterrupt would print a traceback (even while still importing, before a pool
initializer can run). So worker pools are started with SIGINT ignored, which a child
inherits across fork and exec, and each worker keeps ignoring it.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


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


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Run the block to its end whatever Ctrl-C (SIGINT) or SIGTERM arrives; act on a held signal afterwards.

    For short steps that must not be cut in the middle: reading or writing a NetCDF file. The
    NetCDF4 library under xarray takes non-reentrant locks; a KeyboardInterrupt raised while one
    is held leaves it held, and xarray's clean-up (closing the file) then waits for it for ever:
    an ensemble interrupted while sealing a chunk hung instead of exiting (seen in CI, reproduced
    in 1 of 60 interrupts under load). Inside the block a signal is only recorded; when the block
    ends the previous handlers are back and the first signal held is handed to its own handler
    (KeyboardInterrupt for SIGINT, the command's ``Terminated`` for SIGTERM; a default
    disposition is re-raised as the signal itself). Outside the main thread this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[tuple[int, FrameType | None]] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append((signum, frame))

    previous: dict[int, Any] = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[int(sig)] = signal.signal(sig, hold)
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
        if held:
            first, frame = held[0]
            handler = previous.get(first)
            if callable(handler):
                handler(first, frame)
            elif handler in (signal.SIG_DFL, None):
                signal.raise_signal(first)


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
