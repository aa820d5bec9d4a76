"""Append-only, checksummed store of the sampler's chain: the checkpoint of a Bayesian calibration.

``chain.bin`` holds one record per sampler step (record 0: the starting ensemble): the
walker positions, their log posterior, and the state of the sampler's random generator
after the step. Each record is framed as::

    b"SDMC" | step (int64) | payload length (int64) | payload | SHA-256 of the payload (32 bytes)

and the file is flushed to disk (``fsync``) after every record. ``meta.json`` holds the
fingerprint of the run (posterior, walkers, dimension, seed), so that a resume only continues
the same run.

Why not emcee's HDF5 backend: a process killed while HDF5 writes can leave the whole file
unreadable (HDF5 keeps metadata in a cache that a SIGKILL never flushes), and it would add
h5py for a dozen lines of work. Here a kill can only cut the last record short; opening the
store verifies every record's checksum and drops a torn tail, so a resumed run restarts from
the last complete step with the exact generator state, and its file ends byte for byte as an
uninterrupted run's (tested in ``tests/test_bayes_sampler.py``).
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SDModelError
from ..files import atomic_write_json

_MAGIC = b"SDMC"
_HEAD = struct.Struct("<4sqq")
_FORMAT = 1


@dataclass(frozen=True)
class Step:
    """One stored step: positions (W, D) in sampler coordinates, log posterior (W,), generator state."""

    step: int
    coords: np.ndarray
    log_prob: np.ndarray
    random_state: tuple


def _pack_state(state: tuple) -> bytes:
    name, key, pos, has_gauss, cached = state
    if name != "MT19937":
        raise SDModelError(f"unsupported random generator {name!r}")
    return np.asarray(key, dtype="<u4").tobytes() + struct.pack("<qqd", int(pos), int(has_gauss), float(cached))


def _unpack_state(raw: bytes) -> tuple:
    key = np.frombuffer(raw[:624 * 4], dtype="<u4").astype(np.uint32)
    pos, has_gauss, cached = struct.unpack("<qqd", raw[624 * 4:])
    return ("MT19937", key, int(pos), int(has_gauss), float(cached))


class ChainStore:
    """The chain of one sampler run on disk.

    Parameters
    ----------
    folder : Path or None
        Checkpoint folder (created); None keeps the chain in memory only.
    key : str
        Fingerprint of the run (see :func:`sd_model.calibration.store.fingerprint`).
    walkers, dim : int
        Ensemble size and number of sampled quantities.
    resume : bool
        Continue the chain already in ``folder``. Without it, a folder holding a chain is refused.
    """

    def __init__(self, folder: str | Path | None, key: str, walkers: int, dim: int, resume: bool = False) -> None:
        self.walkers, self.dim = int(walkers), int(dim)
        self.steps: list[Step] = []
        self.folder: Path | None = None
        self.path: Path | None = None
        if folder is None:  # in memory only
            return
        self.folder = Path(folder)
        self.path = self.folder / "chain.bin"
        meta_path = self.folder / "meta.json"
        meta = self._meta(key, self.walkers, self.dim)
        if self.path.exists() and self.path.stat().st_size > 0:
            if not resume:
                raise SDModelError(f"{self.folder}: holds a sampler chain; pass --resume to continue it, "
                                   "or choose another --out")
            if self.holds_other_run(self.folder, key, self.walkers, self.dim):
                raise SDModelError(f"{self.folder}: the chain there belongs to another run (different priors, "
                                   "data, model, walkers or seed); choose another --out")
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(meta_path, meta)
        self._load()

    @staticmethod
    def _meta(key: str, walkers: int, dim: int) -> dict:
        return {"format": _FORMAT, "key": key, "walkers": int(walkers), "dim": int(dim)}

    @classmethod
    def holds_other_run(cls, folder: str | Path, key: str, walkers: int, dim: int) -> bool:
        """Whether ``folder`` holds a non-empty chain of a run other than (key, walkers, dim)."""
        folder = Path(folder)
        chain, meta_path = folder / "chain.bin", folder / "meta.json"
        if not chain.is_file() or chain.stat().st_size == 0:
            return False
        try:
            old = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        except (OSError, UnicodeDecodeError, ValueError):  # unreadable: no proof it is this run's
            old = {}
        return bool(old != cls._meta(key, walkers, dim))

    @classmethod
    def memory(cls, walkers: int, dim: int) -> ChainStore:
        """A store that keeps the chain in memory only."""
        return cls(None, "", walkers, dim)

    @property
    def _payload_size(self) -> int:
        return 8 * self.walkers * self.dim + 8 * self.walkers + 624 * 4 + 24

    def _load(self) -> None:
        assert self.path is not None  # only called for a store on disk
        if not self.path.exists():
            self.path.touch()
            return
        raw = self.path.read_bytes()
        pos, size = 0, self._payload_size
        while pos + _HEAD.size + size + 32 <= len(raw):
            magic, step, length = _HEAD.unpack_from(raw, pos)
            body = raw[pos + _HEAD.size: pos + _HEAD.size + length]
            digest = raw[pos + _HEAD.size + length: pos + _HEAD.size + length + 32]
            if magic != _MAGIC or length != size or step != len(self.steps) or \
                    hashlib.sha256(body).digest() != digest:
                break
            self.steps.append(self._decode(step, body))
            pos += _HEAD.size + size + 32
        if pos < len(raw):  # a record cut short by a kill (or damaged): drop it and everything after
            with open(self.path, "r+b") as fh:
                fh.truncate(pos)
                fh.flush()
                os.fsync(fh.fileno())

    def _decode(self, step: int, body: bytes) -> Step:
        w, d = self.walkers, self.dim
        coords = np.frombuffer(body[:8 * w * d], dtype="<f8").reshape(w, d).copy()
        log_prob = np.frombuffer(body[8 * w * d: 8 * w * d + 8 * w], dtype="<f8").copy()
        return Step(step, coords, log_prob, _unpack_state(body[8 * w * d + 8 * w:]))

    def append(self, coords: np.ndarray, log_prob: np.ndarray, random_state: tuple) -> None:
        """Write the next step and flush it to disk."""
        coords = np.asarray(coords, dtype="<f8").reshape(self.walkers, self.dim)
        log_prob = np.asarray(log_prob, dtype="<f8").reshape(self.walkers)
        body = coords.tobytes() + log_prob.tobytes() + _pack_state(random_state)
        if self.path is not None:
            record = _HEAD.pack(_MAGIC, len(self.steps), len(body)) + body + hashlib.sha256(body).digest()
            with open(self.path, "ab") as fh:
                fh.write(record)
                fh.flush()
                os.fsync(fh.fileno())
        self.steps.append(Step(len(self.steps), coords.copy(), log_prob.copy(), random_state))

    def chain(self) -> tuple[np.ndarray, np.ndarray]:
        """All stored positions (steps, W, D) and log posteriors (steps, W), record 0 first."""
        if not self.steps:
            return np.empty((0, self.walkers, self.dim)), np.empty((0, self.walkers))
        return np.stack([s.coords for s in self.steps]), np.stack([s.log_prob for s in self.steps])
