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

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_write_json, atomic_write_text, sha256_bytes
from .config import CalibrationError

_FORMAT = 2  # 2: stages.json and the evaluation files carry SHA-256 seals
_FILES = ("full.bin", "payoff.bin")  # residual vectors, payoffs


def fingerprint(*parts: object) -> str:
    """SHA-256 of the ``repr`` of ``parts`` (numpy arrays by their bytes)."""
    return sha256_bytes(b"".join((np.ascontiguousarray(p, dtype=float).tobytes() if isinstance(p, np.ndarray)
                                  else repr(p).encode()) + b"\x00" for p in parts))


def _read_json(path: Path) -> dict:
    """A checkpoint JSON file that must hold an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"{path}: unreadable checkpoint ({exc}); delete the checkpoint folder") from None
    if not isinstance(data, dict):
        raise CalibrationError(f"{path}: not a checkpoint record (a JSON {type(data).__name__}, not an object); "
                               "delete the checkpoint folder")
    return data


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
        meta_path, record = folder / "meta.json", {"format": _FORMAT, "key": key, "n": n, "m": m}
        if not meta_path.exists():
            for name in ("stages.json", *_FILES, *(f"{f}.sha256" for f in _FILES)):
                (folder / name).unlink(missing_ok=True)
            atomic_write_json(meta_path, record)
            return
        if not resume:
            raise CalibrationError(f"{folder.parent}: holds the checkpoint of an earlier calibration; "
                                   "continue it with --resume, or choose another --out")
        meta = _read_json(meta_path)
        if any(meta.get(k) != v for k, v in record.items()):
            raise CalibrationError(f"{folder.parent}: the checkpoint there is of a different calibration "
                                   "(model, data, config or --until changed, or an older checkpoint "
                                   "format); choose another --out or delete it")
        targets: tuple[dict[bytes, Any], ...] = (self.full, self.payoff)
        for name, target in zip(_FILES, targets):
            path = folder / name
            if not path.exists():
                continue
            raw = path.read_bytes()
            sealed, seal = self._read_seal(name)
            if len(raw) < sealed or sha256_bytes(key.encode() + raw[:sealed]) != seal:
                raise CalibrationError(f"{path}: fails its integrity check (edited, truncated or from another "
                                       "calibration); refusing to resume: delete the checkpoint folder")
            if sealed != len(raw):  # records after the last seal were cut short by a kill: evaluate them again
                self._truncate(name, sealed)
            records = np.frombuffer(raw[:sealed], dtype="<f8").reshape(-1, n + (m if target is self.full else 1))
            for row in records:
                target[np.array(row[:n]).tobytes()] = np.array(row[n:]) if target is self.full else float(row[n])
            self.loaded += len(records)
        stages = folder / "stages.json"
        if stages.exists():
            saved = _read_json(stages)
            if not isinstance(saved.get("stages"), dict) or saved.get("sha256") != self._seal_stages(saved["stages"]):
                raise CalibrationError(f"{stages}: fails its integrity check (edited or from another "
                                       "calibration); refusing to resume: delete the checkpoint folder")
            self.stages = saved["stages"]

    def _append(self, name: str, rows: np.ndarray) -> None:
        if self.folder is None or not len(rows):
            return
        with (self.folder / name).open("ab") as fh:
            fh.write(np.ascontiguousarray(rows, dtype="<f8").tobytes())
            fh.flush()
            os.fsync(fh.fileno())
        self._write_seal(name)

    def get(self, x: np.ndarray, full: bool) -> Any:
        """The residual vector (``full``) or the payoff (from either file) stored for ``x``, or None."""
        key = np.asarray(x, dtype=float).tobytes()
        if not full and key in self.payoff:
            return self.payoff[key]
        r = self.full.get(key)
        return r if full or r is None else float(r @ r)

    def add(self, X: np.ndarray, values: np.ndarray, full: bool) -> None:
        """Store residual vectors (``full``: (k, m)) or payoffs (k,) of the points ``X`` (k, n); flush them to disk."""
        X, values = np.asarray(X, dtype=float), np.asarray(values, dtype=float)
        target: dict[bytes, Any] = self.full if full else self.payoff
        target.update({x.tobytes(): (np.array(v) if full else float(v)) for x, v in zip(X, values)})
        self._append(_FILES[0 if full else 1], np.hstack([X, values.reshape(len(X), -1)]) if len(X) else X)

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
        atomic_write_json(self.folder / "stages.json",
                          {"stages": self.stages, "sha256": self._seal_stages(self.stages)})
        for name in _FILES:
            if (self.folder / name).exists():  # unsealed first: a kill before the new seal leaves records to rerun
                (self.folder / f"{name}.sha256").unlink(missing_ok=True)
                self._truncate(name, 0)
                self._write_seal(name)

    def _truncate(self, name: str, size: int) -> None:
        """Cut evaluation file ``name`` to ``size`` bytes, on disk before returning."""
        with (self.folder / name).open("r+b") as fh:  # type: ignore[operator]
            fh.truncate(size)
            fh.flush()
            os.fsync(fh.fileno())

    def _seal_stages(self, stages: dict) -> str:
        return sha256_bytes(self.key.encode() + json.dumps(stages, sort_keys=True, default=str).encode())

    def _write_seal(self, name: str) -> None:
        """Seal the evaluation file ``name``: its length and SHA-256 (with the problem's key)."""
        data = (self.folder / name).read_bytes()  # type: ignore[operator]
        seal = sha256_bytes(self.key.encode() + data)
        atomic_write_text(self.folder / f"{name}.sha256", f"{len(data)} {seal}\n")  # type: ignore[operator]

    def _read_seal(self, name: str) -> tuple[int, str]:
        """(length, SHA-256) recorded for evaluation file ``name``; (0, seal of nothing) if none."""
        path = self.folder / f"{name}.sha256"  # type: ignore[operator]
        if not path.exists():
            return 0, sha256_bytes(self.key.encode())
        try:
            length, seal = path.read_text(encoding="ascii").split()
            return int(length), seal
        except (OSError, UnicodeDecodeError, ValueError):
            raise CalibrationError(f"{path}: unreadable checkpoint seal; delete the checkpoint folder") from None

    def __len__(self) -> int:
        return len(self.full) + len(self.payoff)


#: The checkpoint's sub-folder of a calibration output folder, and the files beside it.
CHECKPOINT = "checkpoint"
_OUTPUTS = {CHECKPOINT, "calibrated.toml", "parameters.csv", "fit_statistics.csv", "targets.csv", "starts.csv",
            "correlation.csv", "plots", "fit_report.md", "manifest.json"}


def prepare_output(out: Path, *, resume: bool, force: bool) -> None:
    """Check a calibration output folder before anything is written into it.

    Accepted: an absent or empty folder; with ``resume``, a folder holding a checkpoint and
    only the files a calibration writes (unchanged since, once the run finished); with
    ``force`` (and not ``resume``), anything: the folder is deleted first.

    Raises
    ------
    CalibrationError
        For a file, a folder of other files, or a checkpoint without ``resume``.
    """
    from ..files import check_replaceable, fresh_start, resumable_problem, sweep_leftovers

    out = Path(out)
    if fresh_start(out, "calibrate", force, resume):
        return
    check_replaceable(out, "calibrate", force=True)  # writable throughout
    if not out.exists() or not any(out.iterdir()):
        return
    if not (out / CHECKPOINT / "meta.json").is_file():
        raise CalibrationError(f"{out}: folder holds files sd-model calibrate did not write; choose another "
                               "--out, or pass --force to replace it")
    if not resume:
        raise CalibrationError(f"{out}: holds the checkpoint of an earlier calibration; continue it with "
                               "--resume, start afresh with --force, or choose another --out")
    for folder in (out, out / CHECKPOINT, out / "plots"):
        sweep_leftovers(folder)  # of a killed run
    problem = resumable_problem(out, "calibrate", _OUTPUTS, exclude=(CHECKPOINT,))
    if problem is not None:
        raise CalibrationError(f"{out} {problem}; refusing to write into it: choose another --out")
