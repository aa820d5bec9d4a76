"""Split one region of the model into identical parts, to see whether its answers depend on how regions are drawn.

Issue 11 asks that every region-specific value come from data or a subscripted constant, "none from the form
of an equation, so that a finer regional split (31 provinces) would be a data change". A direct test of that
claim: divide one region into ``k`` identical parts (each with ``1/k`` of its people, capital, output and every
other extensive quantity, and the same intensive ones), run the divided model and compare. If every equation is
indifferent to how the map is cut, the parts together do exactly what the whole did: the parts' extensive
variables sum to the whole's and their intensive variables equal it. Where that fails, an equation's *form*
makes a region's fortune depend on its size.

How constants are divided (:func:`split_region`):

- a constant whose units carry a size (``billion_yuan``, ``million_persons``, ``km2`` in the numerator more
  often than in the denominator, :func:`size_exponent`) is divided by ``k`` per unit of that exponent;
- a subscripted constant whose values sum to 1 over the regions (a share of a national total, e.g. of listed
  firms) is divided by ``k``;
- every other constant (rates, elasticities, flags, per-person quantities) is copied to each part;
- in a ``[Region, Dest]`` matrix the parts inherit the region's row and column, and the entry between two
  parts is the region's diagonal entry (the parts are at the same place: ``Regional Distance`` 0), except
  in an identity matrix (``Same Region``), which stays the identity (it says which two elements are one).

The first part keeps the region's name, so equations that name an element (``GDP per Capita[East]``) still
refer to a part, which equals the whole in per-person terms when the model is indifferent to the split.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from .errors import ModelFileError
from .mdl import scan_definitions, read_model_info

__all__ = ["SIZE_UNITS", "Split", "size_exponent", "split_region", "write_split", "invariance_table"]

#: Units whose quantity grows with the size of a region (its people, output, money or land).
SIZE_UNITS = ("billion_yuan", "million_persons", "km2")

_SUBSCRIPT_LINE = r"^(\s*{name}\s*:\s*)([^\n~]*?)(\s*\n?\s*~)"


@dataclass(frozen=True)
class Split:
    """A model text with one region divided.

    ``text`` is the new ``.mdl``; ``parts`` the new elements (the first is the region's own name);
    ``divided`` the constants whose values were divided among the parts and ``copied`` those copied.
    """

    text: str
    region: str
    parts: tuple[str, ...]
    divided: tuple[str, ...]
    copied: tuple[str, ...]


def size_exponent(units: str) -> int:
    """How many size units (:data:`SIZE_UNITS`) the units carry: numerator minus denominator.

    ``"billion_yuan/Year"`` -> 1, ``"billion_yuan/million_persons/Year"`` -> 0, ``"dmnl"`` -> 0,
    ``"km2/million_persons"`` -> 0.
    """
    exponent = 0
    for position, factor in enumerate(units.replace(" ", "").split("/")):
        for unit in factor.split("*"):
            base = unit.split("^")[0].strip("()")
            if base in SIZE_UNITS:
                exponent += 1 if position == 0 else -1
    return exponent


def split_region(text: str, region: str, parts: int = 2, path: str | Path = "model") -> Split:
    """Return the model ``text`` with ``region`` divided into ``parts`` identical parts (rules: module doc).

    Raises
    ------
    ModelFileError
        ``region`` is not an element of the model's ``Region`` range, ``parts`` < 2, or a subscripted
        constant is defined element by element (this function rewrites whole lists only).
    """
    if parts < 2:
        raise ModelFileError(f"{path}: a region is split into at least 2 parts, got {parts}")
    subscripts, aliases, defs = scan_definitions(text, Path(path))
    elements = subscripts.get("Region")
    if elements is None or region not in elements:
        raise ModelFileError(f"{path}: {region!r} is not an element of the Region range "
                             f"(valid: {', '.join(elements or ())})")
    names = (region, *(f"{region} Part {i}" for i in range(2, parts + 1)))
    new_elements = [e for old in elements for e in (names if old == region else (old,))]
    base = {e: (region if e in names else e) for e in new_elements}
    ranges = {"Region", *(a for a in aliases if subscripts.get(a) == elements)}

    edits: list[tuple[int, int, str]] = []
    divided: list[str] = []
    copied: list[str] = []
    for d in defs:
        if d.kind != "constant" or not d.subs:
            continue
        if not set(d.subs) <= ranges:
            raise ModelFileError(f"{path}:{d.line}: {d.name!r} is set element by element ([{', '.join(d.subs)}]); "
                                 "split_region rewrites whole Region lists only")
        values = [float(text[a:b]) for a, b in d.spans]
        if len(values) == 1:  # one number for every element (or cell): written out in full below
            values = values * len(elements) ** len(d.subs)
        if len(d.subs) == 1:
            old = dict(zip(elements, values))
            share = abs(sum(values) - 1) < 1e-9 and len(values) > 1
            exponent = 1 if share else size_exponent(d.units.split("[")[0].strip())
            scale = (1 / parts) ** exponent
            new = [old[base[e]] * (scale if e in names else 1) for e in new_elements]
            (divided if exponent and old[region] else copied).append(d.name)
            body = ", ".join(_number(v) for v in new)
        else:
            n = len(elements)
            old2 = {(r, c): values[i * n + j] for i, r in enumerate(elements) for j, c in enumerate(elements)}
            identity = all(v == (1.0 if r == c else 0.0) for (r, c), v in old2.items())
            rows = []
            for r in new_elements:
                row = []
                for c in new_elements:
                    if identity:
                        row.append(1.0 if r == c else 0.0)
                    else:
                        row.append(old2[(base[r], base[c])])
                rows.append(", ".join(_number(v) for v in row))
            body = "; ".join(rows)
            copied.append(d.name)
        edits.append((d.spans[0][0], d.spans[-1][1], body))

    for start, end, new_text in sorted(edits, reverse=True):
        text = text[:start] + new_text + text[end:]
    pattern = re.compile(_SUBSCRIPT_LINE.format(name="Region"), re.MULTILINE)
    match = pattern.search(text)
    if match is None:
        raise ModelFileError(f"{path}: no 'Region: ...' subscript definition found")
    text = text[:match.start(2)] + ", ".join(new_elements) + text[match.end(2):]
    return Split(text=text, region=region, parts=names, divided=tuple(divided), copied=tuple(copied))


def write_split(model: str | Path, region: str, parts: int, out: str | Path) -> Split:
    """Write the model file ``model`` with ``region`` split into ``parts`` to ``out`` (a new file) and return it."""
    out = Path(out)
    if out.exists():
        raise ModelFileError(f"{out}: exists; split_region writes a new file only")
    split = split_region(Path(model).read_text(encoding="utf-8"), region, parts, model)
    out.write_text(split.text, encoding="utf-8")
    read_model_info(out)  # the written file parses
    return split


def invariance_table(whole: xr.Dataset, divided: xr.Dataset, split: Split,
                     variables: Sequence[str] | None = None) -> list[dict[str, object]]:
    """Compare the divided model's run with the whole model's, variable by variable.

    A ``[Region]`` variable is *extensive* when each part starts at ``1/k`` of the region's value (its parts are
    summed), *intensive* when each part starts at the region's value (the first part is compared), and
    *size-dependent from the start* otherwise (the first part is compared, so the difference shows at once);
    the other regions' elements are compared as they are. Scalars are compared directly; ``[Region, Dest]``
    variables are left out (their sums over a region's rows are other variables).

    Returns one row per variable, largest relative difference first: ``variable``, ``kind`` (extensive,
    intensive, size-dependent or scalar), ``max_rel`` (over time and elements, ``|a - b| / s`` with ``s`` =
    ``|b|`` floored at 1e-6 of the variable's largest ``|b|``), ``element`` and ``time`` where it occurs, and
    ``first_time``, the first time it exceeds 1e-9.
    """
    k = len(split.parts)
    rows = []
    for name in variables or [str(v) for v in whole.data_vars]:
        if name not in divided or "Dest" in whole[name].dims:
            continue
        a, b = divided[name], whole[name]
        kind = "scalar"
        if "Region" in b.dims:
            part = a.sel(Region=list(split.parts))
            kind = _kind(part.isel(Region=0).values, b.sel(Region=split.region).values, k)
            merged = part.sum("Region") if kind == "extensive" else part.isel(Region=0)
            a = xr.concat([merged.expand_dims(Region=[split.region]),
                           a.sel(Region=[e for e in b.Region.values if e != split.region])], "Region")
            a = a.sel(Region=b.Region.values).transpose(*b.dims)
        av, bv = np.asarray(a.values, float), np.asarray(b.values, float)
        scale = np.maximum(np.abs(bv), 1e-6 * float(np.nanmax(np.abs(bv))) + 1e-300)
        rel = np.abs(av - bv) / scale
        rel = np.where(np.isfinite(rel), rel, 0.0)
        where = np.unravel_index(int(np.argmax(rel)), rel.shape)
        over = np.nonzero(rel.reshape(rel.shape[0], -1).max(axis=1) > 1e-9)[0]
        rows.append({"variable": name, "kind": kind, "max_rel": float(rel[where]),
                     "element": str(b.Region.values[where[1]]) if "Region" in b.dims else "",
                     "time": float(b.time.values[where[0]]),
                     "first_time": float(b.time.values[over[0]]) if len(over) else None})
    return sorted(rows, key=lambda r: -float(r["max_rel"]))  # type: ignore[arg-type]


def _kind(part: np.ndarray, whole: np.ndarray, k: int) -> str:
    """``extensive`` if the part starts at 1/k of the whole, ``intensive`` if at the whole, else ``size-dependent``."""
    nonzero = np.nonzero(np.abs(whole) > 0)[0]
    if not len(nonzero):
        return "intensive"
    ratio = part[nonzero[0]] / whole[nonzero[0]]
    if abs(ratio - 1 / k) < 1e-9:
        return "extensive"
    return "intensive" if abs(ratio - 1) < 1e-9 else "size-dependent"


def _number(value: float) -> str:
    """A constant as the .mdl writes it: the shortest repr that reads back to the same float."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text
