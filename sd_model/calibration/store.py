"""Append-only store of evaluated parameter vectors: the calibration's checkpoint.

Every evaluation is kept: ``x -> residual vector`` for least-squares steps
(``full.bin``) and ``x -> payoff`` for differential-evolution generations
(``payoff.bin``), each a flat file of float64 records appended batch by batch and
flushed to disk (``fsync``) after every batch. ``meta.json`` holds the fingerprint of
the problem (model, data, parameters, series, split year), so that a resumed run only
replays evaluations of the same problem.

Because the optimisers are deterministic (seeded start points, seeded differential
evolution) and the evaluations are looked up by the exact bytes of ``x``, a resumed
run replays the killed run's path from the store and continues where it stopped: it
loses at most the batch that was being evaluated. A record cut short by a kill is
dropped when the store is opened.

A finished stage (one least-squares start, the evolution, one bootstrap replicate) is
recorded with its result in ``stages.json``; the evaluations are then cleared, so the
files hold the evaluations of the current stage only (a few thousand residual vectors)
and a resumed run skips finished stages without replaying them.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..files import atomic_write_json
from .config import CalibrationError

_FORMAT = 1


def fingerprint(*parts: object) -> str:
    """SHA-256 of the ``repr`` of ``parts`` (numpy arrays by their bytes)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(np.ascontiguousarray(part, dtype=float).tobytes())
        else:
            h.update(repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


class EvaluationStore:
    """Evaluations by parameter vector, in memory and (with a folder) on disk.

    Parameters
    ----------
    folder : Path or None
        Checkpoint folder; None keeps evaluations in memory only.
    key : str
        Fingerprint of the problem (see :func:`fingerprint`).
    n, m : int
        Length of the parameter vector and of the residual vector.
    resume : bool
        Load the evaluations already in ``folder``. Without it an existing checkpoint
        is an error (it would be overwritten). Default is False.
    """

    def __init__(self, folder: Path | None, key: str, n: int, m: int, resume: bool = False) -> None:
        self.folder, self.key, self.n, self.m = folder, key, n, m
        self.full: dict[bytes, np.ndarray] = {}
        self.payoff: dict[bytes, float] = {}
        self.stages: dict[str, dict] = {}
        self.loaded = 0
        if folder is None:
            return
        meta_path = folder / "meta.json"
        if meta_path.exists():
            if not resume:
                raise CalibrationError(f"{folder.parent}: holds the checkpoint of an earlier calibration; "
                                       "continue it with --resume, or choose another --out")
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CalibrationError(f"{meta_path}: unreadable checkpoint ({exc}); delete the folder") from None
            if meta.get("key") != key or meta.get("n") != n or meta.get("m") != m or meta.get("format") != _FORMAT:
                raise CalibrationError(f"{folder.parent}: the checkpoint there is of a different calibration "
                                       "(model, data, config or --until changed); choose another --out or "
                                       "delete it")
            self._load()
            stages = folder / "stages.json"
            if stages.exists():
                try:
                    self.stages = json.loads(stages.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise CalibrationError(f"{stages}: unreadable checkpoint ({exc}); delete the folder") from None
        else:
            (folder / "stages.json").unlink(missing_ok=True)
            for name in ("full.bin", "payoff.bin"):
                (folder / name).unlink(missing_ok=True)
            atomic_write_json(meta_path, {"format": _FORMAT, "key": key, "n": n, "m": m})

    def _load(self) -> None:
        for name, width, target in (("full.bin", self.n + self.m, self.full),
                                    ("payoff.bin", self.n + 1, self.payoff)):
            path = self.folder / name  # type: ignore[operator]
            if not path.exists():
                continue
            raw = path.read_bytes()
            whole = len(raw) // (8 * width) * 8 * width
            if whole != len(raw):  # a record cut short by a kill
                with path.open("r+b") as fh:
                    fh.truncate(whole)
            records = np.frombuffer(raw[:whole], dtype="<f8").reshape(-1, width)
            for row in records:
                x = np.array(row[: self.n])
                target[x.tobytes()] = np.array(row[self.n:]) if target is self.full else float(row[self.n])  # type: ignore[assignment]
            self.loaded += len(records)

    def _append(self, name: str, rows: np.ndarray) -> None:
        if self.folder is None or not len(rows):
            return
        with (self.folder / name).open("ab") as fh:
            fh.write(np.ascontiguousarray(rows, dtype="<f8").tobytes())
            fh.flush()
            os.fsync(fh.fileno())

    def get_full(self, x: np.ndarray) -> np.ndarray | None:
        """The residual vector stored for ``x``, or None."""
        return self.full.get(np.asarray(x, dtype=float).tobytes())

    def get_payoff(self, x: np.ndarray) -> float | None:
        """The payoff stored for ``x`` (from either file), or None."""
        key = np.asarray(x, dtype=float).tobytes()
        if key in self.payoff:
            return self.payoff[key]
        r = self.full.get(key)
        return None if r is None else float(r @ r)

    def add_full(self, X: np.ndarray, R: np.ndarray) -> None:
        """Store residual vectors ``R`` (k, m) of the points ``X`` (k, n) and flush them to disk."""
        for x, r in zip(X, R):
            self.full[np.asarray(x, dtype=float).tobytes()] = np.array(r)
        self._append("full.bin", np.hstack([X, R]) if len(X) else X)

    def add_payoff(self, X: np.ndarray, f: np.ndarray) -> None:
        """Store payoffs ``f`` (k,) of the points ``X`` (k, n) and flush them to disk."""
        for x, v in zip(X, f):
            self.payoff[np.asarray(x, dtype=float).tobytes()] = float(v)
        self._append("payoff.bin", np.hstack([X, np.asarray(f, dtype=float)[:, None]]) if len(X) else X)

    def stage(self, name: str) -> dict | None:
        """The recorded result of a finished stage, or None."""
        return self.stages.get(name)

    def finish_stage(self, name: str, result: dict) -> None:
        """Record a finished stage's result (JSON-able) and clear the evaluations kept so far."""
        self.stages[name] = result
        self.full.clear()
        self.payoff.clear()
        if self.folder is None:
            return
        atomic_write_json(self.folder / "stages.json", self.stages)
        for fname in ("full.bin", "payoff.bin"):
            path = self.folder / fname
            if path.exists():
                with path.open("r+b") as fh:
                    fh.truncate(0)
                    fh.flush()
                    os.fsync(fh.fileno())

    def __len__(self) -> int:
        return len(self.full) + len(self.payoff)
