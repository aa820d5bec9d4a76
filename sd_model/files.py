"""Files: atomic output (files and whole folders appear complete or not at all) and TOML input.

Everything the package writes goes through these helpers, so that an error, a kill
or a full disk half-way through leaves the previous results intact.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import xarray as xr

def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and rename it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are for sharing
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write text (UTF-8) atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_netcdf(path: str | Path, ds: xr.Dataset) -> Path:
    """Write ``ds`` as NetCDF-4 through a temporary file in the same folder, then rename it.

    Attributes that NetCDF cannot hold (dicts, lists, None) are stored as JSON text.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = ds.copy()
    clean.attrs = {k: (v if isinstance(v, (str, int, float)) else json.dumps(v, default=str))
                   for k, v in ds.attrs.items()}
    for var in clean.data_vars.values():
        var.attrs = {k: (v if isinstance(v, (str, int, float)) else str(v)) for k, v in var.attrs.items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        clean.to_netcdf(tmp, engine="netcdf4")
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_toml(path: str | Path, what: str, error: type[Exception]) -> tuple[dict[str, Any], str]:
    """Read a TOML file; return (data, text). Every failure raises ``error`` naming the file.

    ``what`` names the kind of file in messages ("scenario file", "ranges file", ...);
    malformed TOML gives tomllib's line and column on one line.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: {what} not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read {what} ({exc})") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: malformed TOML: {str(exc).replace(chr(10), ' ')}") from None


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build an output folder in a hidden sibling and swap it in when the block succeeds.

    Yields the temporary folder to write into. On success the folder replaces ``path``
    (an existing ``path`` is moved aside first and removed only after the swap); on any
    error or interruption the temporary folder is deleted and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale(path)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.partial-{os.getpid()}-"))
    os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes 0700 folders
    try:
        yield tmp
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old-"))
            old.rmdir()
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_stale(path: Path) -> None:
    """Remove hidden leftovers of earlier writes to ``path`` whose writing process is gone.

    A process killed with SIGKILL cannot clean up its ``.<name>.partial-<pid>-*`` folder;
    the next write of the same output removes it (never one of a process still running).
    """
    for leftover in path.parent.glob(f".{path.name}.partial-*"):
        pid_text = leftover.name[len(f".{path.name}.partial-"):].split("-", 1)[0]
        if pid_text.isdigit() and not _pid_alive(int(pid_text)):
            shutil.rmtree(leftover, ignore_errors=True)
    for leftover in path.parent.glob(f".{path.name}.old-*"):
        if path.exists():  # the swap completed; the old copy is garbage
            shutil.rmtree(leftover, ignore_errors=True)
