"""The PySD engine: translates the ``.mdl`` once into the cache and reloads the model on every run."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..errors import EngineError
from ..files import sha256_file
from ..mdl import normalize_name
from ..parameters import cells
from ..runspec import Times
from .base import Engine, Overrides, _shape


@contextmanager
def _pysd_warnings() -> Iterator[None]:
    """Silence only the known, harmless warnings PySD 3.14 triggers in its own code."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"chardet\.universaldetector is deprecated",
                                category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"The inplace keyword in DataFrame\.set_index",
                                module=r"pysd\.")
        yield


def cache_root() -> Path:
    """Directory for translated models: ``$SD_MODEL_CACHE`` or ``~/.cache/sd_model``."""
    env = os.environ.get("SD_MODEL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "sd_model"


class PysdEngine(Engine):
    """PySD engine; the model is translated once into the cache, never beside the ``.mdl``."""

    name = "pysd"

    def __init__(self, mdl_path: str | Path) -> None:
        super().__init__(mdl_path)
        try:
            with _pysd_warnings():
                import pysd
        except ImportError as exc:
            raise EngineError(f"PySD is not available ({exc}); use --engine simlin") from None
        self._pysd = pysd
        self.py_path = self._translate()
        with _pysd_warnings():
            self._model = pysd.load(str(self.py_path))
        by_key = {normalize_name(n): n for n in self._model.namespace}
        missing = [n for n in self.info.variables if normalize_name(n) not in by_key]
        if missing:
            raise EngineError(f"PySD translation of {self.mdl_path} lacks {missing}")
        self._pysd_name = {n: by_key[normalize_name(n)] for n in self.info.variables}

    def _translate(self) -> Path:
        """The cached translation of this model, translated again unless it verifies.

        The cache folder is named by the model's SHA-256 and holds ``translation.json``: the
        model's SHA-256 and the SHA-256 of every file PySD wrote. A folder whose record is
        missing or does not match (a truncated or edited ``model.py``, a kill mid-way) is
        replaced by a fresh translation, never executed.
        """
        final = cache_root() / self.info.sha256
        if _verified(final, self.info.sha256):
            return final / "model.py"
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{self.info.sha256}.tmp", dir=final.parent))
        try:
            shutil.copyfile(self.mdl_path, tmp / "model.mdl")
            if sha256_file(tmp / "model.mdl") != self.info.sha256:
                raise EngineError(f"{self.mdl_path} changed while it was being translated; run again")
            with _pysd_warnings():
                self._pysd.read_vensim(str(tmp / "model.mdl"))
            record = {"model_sha256": self.info.sha256, "files": _file_hashes(tmp)}
            (tmp / _RECORD).write_text(json.dumps(record, indent=1), encoding="utf-8")
            if final.exists():  # stale, unverified, or written by a concurrent process
                shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(f"PySD could not translate {self.mdl_path}: {exc}") from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return final / "model.py"

    def _simulate(self, overrides: Overrides, names: list[str],
                  times: Times) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        params = {self._pysd_name[n]: self._param_value(n, v) for n, v in overrides.items()}
        with _pysd_warnings():
            df = self._model.run(params=params, return_columns=[self._pysd_name[n] for n in names],
                                 final_time=times.final, time_step=times.dt, saveper=times.saveper,
                                 reload=True)
        by_key = {normalize_name(n): n for n in names}
        arrays = {n: np.full((len(df), *_shape(self.info, self.info.variables[n])), np.nan) for n in names}
        for column in df.columns:
            base, _, inner = str(column).partition("[")
            var = self.info.variables[by_key[normalize_name(base)]]
            elements = inner.rstrip("]").split(",") if var.dims else []
            index = tuple([e.lower() for e in self.info.subscripts[d]].index(el.strip().lower())
                          for d, el in zip(var.dims, elements))
            arrays[var.name][(slice(None), *index)] = df[column].to_numpy(dtype=float)  # type: ignore[index]
        for name, values in arrays.items():
            if np.isnan(values).all():
                raise EngineError(f"PySD returned no values for {name!r}")
        return df.index.to_numpy(dtype=float), arrays

    def _param_value(self, name: str, value: float | dict[tuple[str, ...], float]) -> Any:
        var = self.info.variables[name]
        if not isinstance(value, dict) or not isinstance(var.default, dict):
            return value
        default = var.default
        data = np.array([value.get(c, default[",".join(c)]) for c in cells(self.info, var)]).reshape(
            _shape(self.info, var))
        return xr.DataArray(data, coords={d: list(self.info.subscripts[d]) for d in var.dims}, dims=var.dims)


_RECORD = "translation.json"


def _file_hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != _RECORD and "__pycache__" not in p.parts}


def _verified(folder: Path, model_sha256: str) -> bool:
    """Whether ``folder`` holds a complete translation of the model with this SHA-256, unchanged."""
    try:
        record = json.loads((folder / _RECORD).read_text(encoding="utf-8"))
        files = record["files"]
        return (record["model_sha256"] == model_sha256 and "model.py" in files
                and _file_hashes(folder) == files)
    except (OSError, ValueError, KeyError, TypeError):
        return False
