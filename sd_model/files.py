"""Files: atomic output (files and whole folders appear complete or not at all) and TOML input.

Everything the package writes goes through these helpers, so that an error, a kill
or a full disk half-way through leaves the previous results intact.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import xarray as xr

from .errors import SDModelError
from .interrupts import interrupts_held


_UMASK = os.umask(0)  # the process's umask, read (and set back at once) for the files written
os.umask(_UMASK)


@contextmanager
def _atomic_file(path: Path) -> Iterator[str]:
    """A temporary file name in ``path``'s folder, renamed to ``path`` if the block succeeds, else deleted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and rename it."""
    path = Path(path)
    with _atomic_file(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write text (UTF-8) atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_netcdf(path: str | Path, ds: xr.Dataset) -> Path:
    """Write ``ds`` as NetCDF-4 through a temporary file in the same folder, then rename it.

    Attributes that NetCDF cannot hold (dicts, lists, None) are stored as JSON text. Ctrl-C or
    SIGTERM during the write takes effect once the file is complete (:func:`interrupts_held`).
    """
    path = Path(path)
    clean = ds.copy()
    clean.attrs = {k: (v if isinstance(v, (str, int, float)) else json.dumps(v, default=str))
                   for k, v in ds.attrs.items()}
    for var in clean.data_vars.values():
        var.attrs = {k: (v if isinstance(v, (str, int, float)) else str(v)) for k, v in var.attrs.items()}
    with interrupts_held(), _atomic_file(path) as tmp:
        clean.to_netcdf(tmp, engine="netcdf4")
    return path


def load_netcdf(path: str | Path, **options: Any) -> xr.Dataset:
    """``xarray.load_dataset(path, **options)`` (all in memory, file closed), uninterrupted by Ctrl-C or SIGTERM.

    An interrupt arriving during the read takes effect once the file is closed (see
    :func:`~sd_model.interrupts.interrupts_held`).
    """
    with interrupts_held():
        return xr.load_dataset(path, **options)


#: Largest TOML input read (bytes): scenario, ranges, calibration and check files are a few kB.
MAX_TOML_BYTES = 10_000_000


def read_input(path: str | os.PathLike, what: str, error: type[Exception], limit: int) -> bytes:
    """The bytes of the input file ``path``, a ``what`` of at most ``limit`` bytes.

    Every failure (not a path, missing, not a regular file, unreadable, too large) raises ``error``
    naming the file.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise error(f"expected the path of a {what}, got {type(path).__name__} {path!r}")
    path = Path(path)
    if not path.exists():
        target = f" (a symbolic link to {os.readlink(path)}, which does not exist)" if path.is_symlink() else ""
        raise error(f"{path}: {what} not found{target}")
    if not path.is_file():
        raise error(f"{path}: not a regular file; give a {what}")
    try:
        with path.open("rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror})") from None
    if len(raw) > limit:
        raise error(f"{path}: larger than {limit:,} bytes; a {what} of this package is far smaller")
    return raw


def read_toml(path: str | Path, what: str, error: type[Exception]) -> tuple[dict[str, Any], str]:
    """Read a TOML file; return (data, text). Every failure raises ``error`` naming the file.

    ``what`` names the kind of file in messages ("scenario file", "ranges file", ...);
    malformed TOML gives tomllib's line and column on one line.
    """
    raw = read_input(path, what, error, MAX_TOML_BYTES)
    try:
        text = raw.decode("utf-8-sig")  # a UTF-8 byte-order mark is accepted
        return tomllib.loads(text), text
    except UnicodeDecodeError as exc:
        raise error(f"{path}: cannot read {what} ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: malformed TOML: {str(exc).replace(chr(10), ' ')}") from None


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


MANIFEST = "manifest.json"


class OutputError(SDModelError):
    """An output folder cannot be written without losing something the tool did not write."""


def sha256_bytes(data: bytes) -> str:
    """SHA-256 (hex) of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """SHA-256 (hex) of the file at ``path``, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def inventory(folder: str | Path, exclude: tuple[str, ...] = ()) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` by relative POSIX path.

    ``manifest.json`` and the top-level entries named in ``exclude`` are left out.
    """
    folder = Path(folder)
    files = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if not p.is_dir()}
    return {rel: sha256_file(p) for rel, p in files.items() if rel != MANIFEST and rel.split("/", 1)[0] not in exclude}


def stamp_manifest(folder: str | Path, kind: str, exclude: tuple[str, ...] = (),
                   base: dict[str, Any] | None = None) -> None:
    """Record in ``folder/manifest.json`` (created if absent) every file the tool wrote there.

    The record (``"written_by"``: the command ``kind``; ``"written"``: path -> SHA-256) is
    how a later command recognises the folder as its own: see :func:`ownership_problem`. It is
    added to ``base`` if given (a new manifest), else to the manifest already in ``folder``.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if base is not None:
        manifest: Any = dict(base)
    else:
        manifest = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    if not isinstance(manifest, dict):
        raise OutputError(f"{path}: not a JSON object")
    manifest["written_by"] = kind
    manifest["written"] = inventory(folder, exclude)
    atomic_write_json(path, manifest)


def ownership_problem(path: str | Path, kind: str, exclude: tuple[str, ...] = ()) -> str | None:
    """Why ``path`` may not be replaced by command ``kind`` without ``--force``, or None if it may.

    A path may be replaced when it does not exist, is an empty folder, or is a folder that
    the same command wrote: its ``manifest.json`` names ``kind`` and records every file in
    it, unchanged. Anything else -- a file, a symbolic link, a folder of someone else's
    files, another command's results, an extra or edited file in a result folder -- is not
    this command's to delete.
    """
    path = Path(path)
    if path.is_symlink():
        return "is a symbolic link, not a folder sd-model wrote"
    if not path.exists():
        return None
    if not path.is_dir():
        return "is a file, not a folder sd-model wrote"
    if not any(path.iterdir()):
        return None
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return f"has no readable {MANIFEST}, so it is not a folder sd-model wrote"
    written = manifest.get("written") if isinstance(manifest, dict) else None
    if not isinstance(written, dict):
        return f"has a {MANIFEST} without the record of the files sd-model wrote"
    if manifest.get("written_by") != kind:
        return f"holds the output of 'sd-model {manifest.get('written_by')}', not of 'sd-model {kind}'"
    try:
        actual = inventory(path, exclude)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    extra = sorted(set(actual) - set(written))
    if extra:
        more = f" and {len(extra) - 1} more" if len(extra) > 1 else ""
        return f"holds {extra[0]}{more}, which sd-model did not write"
    changed = sorted(f for f in actual if actual[f] != written[f])
    return f"holds {changed[0]}, changed since sd-model wrote it" if changed else None


def resumable_problem(path: str | Path, kind: str, outputs: frozenset[str] | set[str],
                      exclude: tuple[str, ...] = ()) -> str | None:
    """Why command ``kind`` may not continue writing into the folder ``path``, or None if it may.

    For commands that keep an unfinished run's state in their output folder (``calibrate``,
    ``sbc``); the caller has already found that state there. With a ``manifest.json`` (the run
    finished once), :func:`ownership_problem` decides; without one, every top-level entry must
    be one of ``outputs``, the names the command writes.
    """
    path = Path(path)
    if (path / MANIFEST).is_file():
        return ownership_problem(path, kind, exclude)
    extra = sorted(p.name for p in path.iterdir() if p.name not in outputs and not p.name.startswith("."))
    return f"holds {extra[0]}, which sd-model {kind} did not write" if extra else None


def _unwritable(path: Path) -> Path | None:
    """The first folder under (and including) ``path`` whose entries cannot be removed."""
    if not path.is_dir() or path.is_symlink():
        return None
    for folder in [path, *(p for p in path.rglob("*") if p.is_dir() and not p.is_symlink())]:
        if not os.access(folder, os.W_OK | os.X_OK):
            return folder
    return None


def check_replaceable(path: str | Path, kind: str, force: bool = False, exclude: tuple[str, ...] = ()) -> None:
    """Raise :class:`OutputError` unless ``path`` may be replaced (see :func:`ownership_problem`).

    ``force`` allows replacing what the tool did not write. A read-only folder (or one
    with a read-only sub-folder) is refused even with ``force``: it cannot be removed whole.
    """
    path = Path(path)
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot write here ({parent} is not a writable folder); choose another --out")
    if path.exists() and not path.is_symlink():
        locked = _unwritable(path)
        if locked is not None:
            raise OutputError(f"{path}: cannot be replaced ({locked} is read-only); make it writable or "
                              "choose another --out")
    if not force:
        problem = ownership_problem(path, kind, exclude)
        if problem is not None:
            raise OutputError(f"{path} {problem}; refusing to replace it: choose another --out, or pass "
                              "--force to replace it")


def fresh_start(out: Path, kind: str, force: bool, resume: bool) -> bool:
    """With ``force``, delete ``out`` (once :func:`check_replaceable` allows it) and return True; else False.

    Without ``force``, a file or symbolic link at ``out`` raises :class:`OutputError`: a command
    that resumes into ``out`` needs a folder there. ``force`` with ``resume`` is an error.
    """
    if resume and force:
        raise OutputError("give either --resume (continue) or --force (start afresh), not both")
    if force:
        check_replaceable(out, kind, force=True)
        if out.exists() or out.is_symlink():
            remove_path(out)
        return True
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutputError(f"--out {out} is not a folder; choose another --out (or --force to replace it)")
    return False


def remove_path(path: Path) -> None:
    """Delete a file, symbolic link or folder (the link itself, never its target)."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


@contextmanager
def atomic_dir(path: str | Path, kind: str | None, force: bool = False) -> Iterator[Path]:
    """Build an output folder in a hidden sibling and swap it in when the block succeeds.

    Yields the temporary folder to write into. Before anything is written, ``path`` is
    checked with :func:`check_replaceable` (refused unless it is absent or a folder that
    command ``kind`` wrote, or ``force``). On success the files written are recorded in the folder's
    ``manifest.json`` and the folder replaces ``path`` (the old one is moved aside and
    removed after the swap); on any error or interruption the temporary folder is deleted
    and ``path`` is untouched. ``kind`` None is for a sub-folder of an output folder the
    caller has checked already: no check and no record of its own.
    """
    path = Path(path)
    force = force or kind is None
    check_replaceable(path, kind or "", force)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(path.parent, path.name)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.partial-{os.getpid()}-"))
    os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes 0700 folders
    try:
        yield tmp
        if kind is not None:
            stamp_manifest(tmp, kind)
        check_replaceable(path, kind or "", force)  # again: the folder may have changed while the results were computed
        old = None
        if path.exists() or path.is_symlink():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old-"))
            old.rmdir()
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            remove_path(old)
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


_PARTIAL = re.compile(r"^\.(?P<name>.+)\.partial-(?P<pid>\d+)-")
_TMP_FILE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def sweep_leftovers(folder: str | Path, name: str | None = None) -> None:
    """Remove what a killed writer left in ``folder`` (an output folder of this tool being resumed).

    That is: hidden ``.<name>.partial-<pid>-*`` folders of :func:`atomic_dir` whose process
    is gone, and hidden ``.<name>.<random>.tmp`` files of the atomic file writers. With ``name``
    (:func:`atomic_dir`, before it writes ``folder/name``) only the leftovers of earlier writes of
    that output: its partial folders whose process is gone (a process killed with SIGKILL cannot
    clean up; never one of a process still running), and its ``.<name>.old-*`` copies once
    ``folder/name`` exists (the swap completed; the old copy is garbage).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        partial = _PARTIAL.match(path.name)
        if (partial and (name is None or partial["name"] == name) and path.is_dir() and not path.is_symlink()
                and not _pid_alive(int(partial["pid"]))):
            shutil.rmtree(path, ignore_errors=True)
        elif name is None and _TMP_FILE.match(path.name) and path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
        elif name is not None and path.name.startswith(f".{name}.old-") and (folder / name).exists():
            with contextlib.suppress(OSError):
                remove_path(path)
