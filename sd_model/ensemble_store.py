"""The on-disk store of an ensemble: one NetCDF file per finished chunk, plus ``store.json``.

``store.json`` records what the ensemble is (fingerprints of the model, engine, outputs,
time settings, scenario and parameter sets) and how it is cut into chunks. Reopening a
store checks the fingerprints, so results of two different ensembles never mix; chunk files
are written through a temporary file and renamed, so a kill leaves only whole chunks.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .errors import SDModelError
from .files import (atomic_write_json, atomic_write_netcdf, atomic_write_text, load_netcdf, sha256_bytes,
                    sweep_leftovers)
from .interrupts import interrupts_held

__all__ = ["ChunkStore", "fingerprint", "plain"]

_META = "store.json"
_WHAT = {"model_sha256": "model file", "engine": "engine", "outputs": "outputs", "time": "time settings",
         "scenario": "scenario", "parameters": "parameter set"}


def fingerprint(info: Any, job: Any, scenario: Any, members: np.ndarray, values: np.ndarray) -> dict[str, Any]:
    """What identifies an ensemble's results; ``"ensemble"`` hashes all the other entries."""
    params = json.dumps({k: (dict(sorted(v.items())) if isinstance(v, Mapping) else v)
                         for k, v in sorted(scenario.params.items())}, sort_keys=True)
    table = json.dumps({"columns": [[p.name, list(p.cell) if p.cell else None] for p in job.columns],
                        "members": [plain(m) for m in members]})
    out: dict[str, Any] = {
        "model_sha256": info.sha256,
        "engine": job.engine,
        "outputs": list(job.spec.outputs),
        "time": [info.initial_time, job.spec.times.final, job.spec.times.dt, job.n_times],
        "scenario": sha256_bytes(params.encode()),
        "parameters": sha256_bytes(table.encode() + np.ascontiguousarray(values, dtype="<f8").tobytes()),
    }
    out["ensemble"] = sha256_bytes(json.dumps(out, sort_keys=True).encode())
    return out


class ChunkStore:
    """A folder of finished chunks of one ensemble; see :meth:`open`."""

    def __init__(self, folder: Path, meta: dict[str, Any], created: tuple[Path, ...] | None = None) -> None:
        self.folder, self.meta, self.created = folder, meta, created  # a new store: the folders made for it
        self.chunk_size = int(meta["chunk_size"])

    @classmethod
    def open(cls, folder: Path, prints: dict[str, Any], chunk_size: int, members: int) -> ChunkStore:
        """Open (resume) or create the store at ``folder`` for the ensemble ``prints`` describes.

        Raises
        ------
        SDModelError
            If the folder holds another ensemble (naming what differs) or other files.
        """
        folder = Path(folder)
        meta_path = folder / _META
        if meta_path.is_file():
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise SDModelError(f"{meta_path}: unreadable ensemble store ({exc}); delete the folder") from None
            if not isinstance(meta, dict) or not isinstance(meta.get("chunk_size"), int) or meta["chunk_size"] < 1:
                raise SDModelError(f"{meta_path}: not an ensemble store record; delete the folder to start afresh")
            for key, what in _WHAT.items():
                if meta.get(key) != prints[key]:
                    raise SDModelError(
                        f"{folder}: this store belongs to an ensemble with a different {what} "
                        f"({_short(meta.get(key))} there, {_short(prints[key])} now); "
                        "use another store folder or delete this one to start afresh")
            if meta.get("members") != members:
                raise SDModelError(f"{folder}: this store is for {meta.get('members')} members, not {members}")
            return cls(folder, meta)
        if folder.exists() and any(folder.iterdir()):
            raise SDModelError(f"{folder}: folder exists and is not an ensemble store (no {_META}); "
                               "choose an empty or new folder")
        created = tuple(p for p in (folder, *folder.parents) if not p.exists())
        folder.mkdir(parents=True, exist_ok=True)
        meta = {**prints, "chunk_size": int(chunk_size), "members": int(members)}
        atomic_write_json(meta_path, meta)
        return cls(folder, meta, created)

    def discard_if_empty(self) -> None:
        """Remove a store :meth:`open` created if no chunk finished: its record, then the folders it made if empty.

        A chunk file without its integrity record (a run killed between the two writes) is the store's own
        unfinished work and goes first; left in place, it kept the folder from being removed, and the next run
        refused the folder as "not an ensemble store" (its record was gone).
        """
        if self.created is None or self.finished():
            return
        for chunk in self.folder.glob("chunk-*.nc"):
            chunk.unlink(missing_ok=True)
        sweep_leftovers(self.folder)  # temporary files of an atomic write cut short
        (self.folder / _META).unlink(missing_ok=True)
        for folder in self.created:
            try:
                folder.rmdir()  # only if empty: never anything else's files
            except OSError:
                break

    def path(self, index: int) -> Path:
        """File of chunk ``index``."""
        return self.folder / f"chunk-{index:06d}.nc"

    def _seal(self, index: int, data: bytes) -> str:
        """Integrity record of chunk ``index``: SHA-256 of this ensemble's fingerprint, the index and the bytes."""
        return sha256_bytes(f"{self.meta['ensemble']}:{index}:".encode() + data)

    def _record(self, index: int) -> Path:
        return self.folder / f"chunk-{index:06d}.sha256"

    def load_finished(self, bounds: list[tuple[int, int]], members: np.ndarray) -> dict[int, xr.Dataset]:
        """Datasets of the chunks already on disk, by chunk index, each checked before use.

        A chunk is used only if its integrity record (written after the chunk) matches its
        bytes and its member ids are the ones it should hold; a chunk without a record (the
        run was killed between the two writes) is run again.

        Raises
        ------
        SDModelError
            For a chunk that was edited, swapped or copied from elsewhere.
        """
        out = {}
        for k, (a, b) in enumerate(bounds):
            path, record = self.path(k), self._record(k)
            if not path.is_file() or not record.is_file():
                continue
            try:  # a seal that does not match is raised as it is (SDModelError is no ValueError)
                data, seal = path.read_bytes(), record.read_text(encoding="ascii").strip()
                if seal != self._seal(k, data):
                    raise SDModelError(f"{path}: chunk fails its integrity check (edited, truncated or copied from "
                                       "another ensemble); refusing to resume: delete it (and its .sha256) to rerun it")
                ds = load_netcdf(path, engine="netcdf4")
            except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
                raise SDModelError(f"{path}: unreadable chunk ({exc}); delete it to rerun it") from None
            got = [plain(m) for m in ds["member"].values] if "member" in ds.coords else []
            want = [plain(m) for m in members[a:b]]
            if got != want:
                raise SDModelError(f"{path}: holds members {_span(got)}, expected {_span(want)}; refusing to "
                                   "resume: delete it (and its .sha256) to rerun it")
            out[k] = ds
        return out

    def write(self, index: int, ds: xr.Dataset) -> Path:
        """Write chunk ``index`` atomically (temporary file, then rename), then its integrity record.

        Ctrl-C or SIGTERM during the two writes takes effect after both (a chunk without its record is run
        again on resume, but it is work thrown away); SIGKILL can still fall between them.
        """
        final = self.path(index)
        with interrupts_held():
            atomic_write_netcdf(final, ds)
            atomic_write_text(self._record(index), self._seal(index, final.read_bytes()) + "\n")
        return final

    def finished(self) -> list[int]:
        """Indices of the chunks on disk with their integrity record."""
        return sorted(int(p.stem.split("-")[1]) for p in self.folder.glob("chunk-*.nc")
                      if self._record(int(p.stem.split("-")[1])).is_file())


def plain(value: Any) -> Any:
    """A member id as plain Python (a numpy scalar's ``item()``), for messages and records."""
    return value.item() if isinstance(value, np.generic) else value


def _span(ids: list) -> str:
    if not ids:
        return "none"
    return f"{ids[0]!r}..{ids[-1]!r} ({len(ids)})" if len(ids) > 2 else ", ".join(map(repr, ids))


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text[:12] if isinstance(value, str) and len(value) == 64 else text


#: What an ensemble output folder may hold while it runs (besides the store) and when finished.
STORE_FOLDER = "chunks"
_IN_PROGRESS = {STORE_FOLDER, "parameters.csv"}


def prepare_output(out: Path, record: dict[str, Any], *, resume: bool, force: bool) -> str:
    """Decide what an ensemble run may do with its output folder, before anything is written.

    Returns "fresh" (absent or empty folder, or ``force``: the folder is removed), "resume"
    (an interrupted ensemble store to continue) or "done" (a finished ensemble of the same
    ``record``: nothing to do).

    Raises
    ------
    SDModelError
        If the folder holds anything sd-model's ensemble did not write (unless ``force``),
        a finished or interrupted ensemble without ``--resume``, or one made with other
        settings.
    """
    from .files import MANIFEST, check_replaceable, fresh_start, ownership_problem

    out = Path(out)
    if fresh_start(out, "ensemble", force, resume) or not out.exists() or not any(out.iterdir()):
        check_replaceable(out, "ensemble", force=True)  # a writable place
        return "fresh"
    if resume:
        for folder in (out, out / STORE_FOLDER):
            sweep_leftovers(folder)  # of a killed run
    entries = {p.name for p in out.iterdir()}
    if (out / STORE_FOLDER / _META).is_file() and entries <= _IN_PROGRESS:
        if not resume:
            raise SDModelError(f"{out}: holds an interrupted ensemble; pass --resume to continue it, --force to "
                               "start afresh, or choose another --out")
        check_replaceable(out, "ensemble", force=True)  # writable throughout
        return "resume"
    problem = ownership_problem(out, "ensemble")
    if problem is not None:
        raise SDModelError(f"{out} {problem}; refusing to write into it: choose another --out"
                           + ("" if resume else ", or pass --force to replace it"))
    if not resume:
        raise SDModelError(f"{out}: holds a finished ensemble; pass --resume to accept it if the settings "
                           "match, --force to replace it, or choose another --out")
    done = json.loads((out / MANIFEST).read_text(encoding="utf-8")).get("ensemble")
    if not isinstance(done, dict):
        raise SDModelError(f"{out / MANIFEST}: has no 'ensemble' record; choose another --out")
    changed = [k for k in record if done.get(k) != record[k]]
    if changed:
        raise SDModelError(f"{out}: holds a finished ensemble made with a different {changed[0]} "
                           f"({done.get(changed[0])!r}, now {record[changed[0]]!r}); choose another --out")
    return "done"
