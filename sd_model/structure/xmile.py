"""XMILE export of the Vensim model through Simlin, and the round-trip check.

``export_xmile`` converts the ``.mdl`` with pysimlin (``Project.to_xmile``, XMILE 1.0 with Simlin's
sketch), ``compare_xmile`` runs the ``.mdl`` and the XMILE file in Simlin and returns the largest
relative difference over every common variable and saved time, the metric of the engine-agreement
test (|a-b| / max(|a|, |b|, 1e-6)).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SDModelError
from ..files import atomic_write_bytes

__all__ = ["export_xmile", "compare_xmile", "XmileExport"]


@dataclass(frozen=True)
class XmileExport:
    """A written XMILE file and its check.

    ``max_rel_diff`` is the largest relative difference between Simlin's runs of the ``.mdl`` and of
    the XMILE over ``columns`` common variable columns.
    """

    path: Path
    max_rel_diff: float
    columns: int


def _load(path: Path):
    import simlin

    try:
        return simlin.load(str(path))
    except simlin.SimlinError as exc:
        raise SDModelError(f"Simlin could not load {path}: {exc}") from None


def export_xmile(model: str | Path, out: str | Path, *, force: bool = False) -> XmileExport:
    """Write the model as XMILE to ``out`` and check it (:func:`compare_xmile`).

    Refuses to overwrite an existing file unless ``force``.
    """
    out = Path(out)
    if out.exists() and not force:
        raise SDModelError(f"{out} exists; pass --force to overwrite it")
    if out.suffix.lower() not in (".xmile", ".stmx", ".xml"):
        raise SDModelError(f"{out}: the XMILE file name must end in .xmile, .stmx or .xml")
    data = _load(Path(model)).project.to_xmile()
    atomic_write_bytes(out, data)
    diff, n = compare_xmile(model, out)
    return XmileExport(out, diff, n)


def compare_xmile(model: str | Path, xmile: str | Path) -> tuple[float, int]:
    """Run both files in Simlin and return (largest relative difference, number of common columns).

    Euler, with the files' own time settings.
    """
    a = _load(Path(model)).run(analyze_loops=False).results
    b = _load(Path(xmile)).run(analyze_loops=False).results
    cols = sorted(set(a.columns) & set(b.columns))
    if not cols or len(a) != len(b):
        raise SDModelError(f"{xmile}: its run does not match the model's ({len(cols)} common variables, "
                           f"{len(a)} vs {len(b)} saved times)")
    x, y = a[cols].to_numpy(float), b[cols].to_numpy(float)
    denom = np.maximum(np.maximum(np.abs(x), np.abs(y)), 1e-6)
    return float(np.max(np.abs(x - y) / denom)), len(cols)
