"""The on-disk store of an ensemble: one NetCDF file per finished chunk, plus ``store.json``.

``store.json`` records what the ensemble is (fingerprints of the model, engine, outputs,
time settings, scenario and parameter sets) and how it is cut into chunks. Reopening a
store checks the fingerprints, so results of two different ensembles never mix; chunk files
are written through a temporary file and renamed, so a kill leaves only whole chunks.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .errors import SDModelError
from .files import atomic_write_json, atomic_write_netcdf

__all__ = ["ChunkStore", "fingerprint"]

_META = "store.json"
_WHAT = {"model_sha256": "model file", "engine": "engine", "outputs": "outputs", "time": "time settings",
         "scenario": "scenario", "parameters": "parameter set"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fingerprint(info: Any, job: Any, scenario: Any, members: np.ndarray, values: np.ndarray) -> dict[str, Any]:
    """What identifies an ensemble's results; ``"ensemble"`` hashes all the other entries."""
    params = json.dumps({k: (dict(sorted(v.items())) if isinstance(v, Mapping) else v)
                         for k, v in sorted(scenario.params.items())}, sort_keys=True)
    table = json.dumps({"columns": [[p.name, list(p.cell) if p.cell else None] for p in job.columns],
                        "members": [m.item() if hasattr(m, "item") else m for m in members]})
    out: dict[str, Any] = {
        "model_sha256": info.sha256,
        "engine": job.engine,
        "outputs": list(job.spec.outputs),
        "time": [info.initial_time, job.spec.times.final, job.spec.times.dt, job.n_times],
        "scenario": _sha(params.encode()),
        "parameters": _sha(table.encode() + np.ascontiguousarray(values, dtype="<f8").tobytes()),
    }
    out["ensemble"] = _sha(json.dumps(out, sort_keys=True).encode())
    return out


class ChunkStore:
    """A folder of finished chunks of one ensemble; see :meth:`open`."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        self.folder, self.meta = folder, meta
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
        folder.mkdir(parents=True, exist_ok=True)
        meta = {**prints, "chunk_size": int(chunk_size), "members": int(members)}
        atomic_write_json(meta_path, meta)
        return cls(folder, meta)

    def path(self, index: int) -> Path:
        """File of chunk ``index``."""
        return self.folder / f"chunk-{index:06d}.nc"

    def load_finished(self, n_chunks: int) -> dict[int, xr.Dataset]:
        """Datasets of the chunks already on disk, by chunk index."""
        out = {}
        for k in range(n_chunks):
            if self.path(k).is_file():
                try:
                    out[k] = xr.load_dataset(self.path(k), engine="netcdf4")
                except (OSError, ValueError) as exc:
                    raise SDModelError(f"{self.path(k)}: unreadable chunk ({exc}); delete it to rerun it") from None
        return out

    def write(self, index: int, ds: xr.Dataset) -> Path:
        """Write chunk ``index`` atomically (temporary file, then rename)."""
        final = self.path(index)
        atomic_write_netcdf(final, ds)
        return final

    def finished(self) -> list[int]:
        """Indices of the chunks on disk."""
        return sorted(int(p.stem.split("-")[1]) for p in self.folder.glob("chunk-*.nc"))


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text[:12] if isinstance(value, str) and len(value) == 64 else text
