"""Write calibrated parameter values into the Vensim model as its new defaults.

Reads the ``[params]`` table of a calibration overlay (``calibrated.toml`` written by
``sd-model calibrate``; its ``inherits`` parent is not read) and rewrites, in the model
file, only the number(s) after ``=`` in each calibrated constant's definition: every
other byte (names, units, ranges, comments, layout, sketch) stays as it was. Values are
written with 6 significant digits. Run:

    python scripts/apply_calibration.py results/calibration/default/calibrated.toml [--model FILE] [--dry-run]

It refuses names that are not constants of the model, elements the model lacks, values
outside the declared ranges, and an element that shares one number with others unless
they all get the same value. After writing it re-reads the model and checks that the
calibrated constants have the new values and every other constant kept its value.
"""
from __future__ import annotations

import argparse
import itertools
import re
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sd_model.files import atomic_write_bytes  # noqa: E402
from sd_model.errors import SDModelError  # noqa: E402
from sd_model.mdl import ModelInfo, normalize_name, read_model_info  # noqa: E402
from sd_model.parameters import resolve_params  # noqa: E402

MODEL = ROOT / "vensim" / "regional_finance_economy.mdl"
_SKETCH = "\\\\\\---///"
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_LHS = re.compile(r'\s*("[^"]*"|[^\[\]=(:<~"|]+?)\s*(?:\[([^\]]*)\])?\s*=(?![=])')


class ApplyError(Exception):
    """The overlay cannot be applied to the model."""


def fmt(value: float) -> str:
    """Six significant digits, as Vensim reads them (no exponent for ordinary magnitudes)."""
    if abs(value) < 1e-12:
        return "0"
    return f"{value:.6g}"


def read_overlay(path: Path) -> dict[str, float | dict[str, float]]:
    """The ``[params]`` of an overlay file (only its own, not its parent's)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ApplyError(f"{path}: cannot read the overlay ({exc})") from None
    params = data.get("params")
    if not isinstance(params, dict) or not params:
        raise ApplyError(f"{path}: no [params] table")
    return params


def wanted_cells(info: ModelInfo, params: dict) -> dict[str, dict[str, float]]:
    """{canonical name: {element key ("" for scalars): value}}, checked by sd_model.parameters.

    Values are rounded as they will be written before the declared ranges are checked.
    """
    def rounded(v: object) -> object:
        return float(fmt(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    written = {k: ({e: rounded(x) for e, x in v.items()} if isinstance(v, dict) else rounded(v))
               for k, v in params.items()}
    try:
        resolved = resolve_params(info, written)
    except SDModelError as exc:
        raise ApplyError(str(exc)) from None
    return {name: (dict(v) if isinstance(v, Mapping) else {"": float(v)}) for name, v in resolved.items()}


def _blocks(text: str):
    """(start, end) of each ``|``-terminated block of the equation section."""
    end_eq = text.find(_SKETCH)
    end_eq = len(text) if end_eq < 0 else end_eq
    start = 0
    for m in re.finditer(r"\|", text[:end_eq]):
        yield start, m.start()
        start = m.end()


def _strip_comments(text: str) -> str:
    """Blank out ``{...}`` comments, keeping offsets."""
    return re.sub(r"\{[^}]*\}", lambda m: " " * len(m.group()), text)


def apply(text: str, info: ModelInfo, cells: dict[str, dict[str, float]]) -> tuple[str, list[str]]:
    """Return the model text with the new numbers, and a list of 'name[el]: old -> new' lines."""
    clean = _strip_comments(text)
    edits: list[tuple[int, int, str]] = []
    log: list[str] = []
    done: dict[str, set[str]] = {name: set() for name in cells}
    by_key = {normalize_name(n): n for n in cells}
    elements_of = {e.lower(): e for els in info.subscripts.values() for e in els}
    for b0, b1 in _blocks(clean):
        block = clean[b0:b1]
        tilde = block.find("~")
        if tilde < 0:
            continue
        m = _LHS.match(block)
        if m is None or m.end() > tilde:
            continue
        name = by_key.get(normalize_name(m.group(1)))
        if name is None:
            continue
        var = info.variables[name]
        subs = [s.strip() for s in m.group(2).split(",")] if m.group(2) else []
        axes = [info.subscripts.get(s) or (elements_of.get(s.lower(), s),) for s in subs]
        block_cells = [",".join(c) for c in itertools.product(*axes)] if subs else [""]
        rhs0, rhs1 = b0 + m.end(), b0 + tilde
        numbers = list(_NUMBER.finditer(clean, rhs0, rhs1))
        rest = _NUMBER.sub("", clean[rhs0:rhs1]).replace(",", "").replace(";", "").replace("\\", "").strip()
        if rest:
            raise ApplyError(f"{name!r}: definition is not a list of numbers")
        if len(numbers) == 1 and len(block_cells) > 1:
            targets = {cells[name][c] for c in block_cells if c in cells[name]}
            if not targets:
                continue
            if len(targets) > 1 or any(c not in cells[name] for c in block_cells):
                raise ApplyError(f"{name!r} gives one number for {', '.join(block_cells)}; the overlay sets them "
                                 "apart, which needs a change of the model's equation")
            pairs = [(numbers[0], block_cells[0], targets.pop())]
            done[name].update(block_cells)
        elif len(numbers) == len(block_cells):
            pairs = [(n, c, cells[name][c]) for n, c in zip(numbers, block_cells) if c in cells[name]]
            done[name].update(c for _, c, _ in pairs)
        else:
            raise ApplyError(f"{name!r}: {len(numbers)} numbers for {len(block_cells)} elements")
        for num, cell, value in pairs:
            new = fmt(value)
            old = text[num.start():num.end()]
            if float(old) != float(new):
                edits.append((num.start(), num.end(), new))
                log.append(f"{var.name}{f'[{cell}]' if cell else ''}: {old} -> {new}")
    for name, wanted in cells.items():
        missing = set(wanted) - done[name]
        if missing:
            raise ApplyError(f"{name!r}: no definition found for {sorted(missing)}")
    out, last = [], 0
    for s, e, new in sorted(edits):
        out += [text[last:s], new]
        last = e
    out.append(text[last:])
    return "".join(out), log


def main(argv: list[str] | None = None) -> int:
    """Rewrite the model's constants from a calibration overlay; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overlay", type=Path, help="calibrated.toml written by sd-model calibrate")
    parser.add_argument("--model", type=Path, default=MODEL, help="Vensim model to rewrite")
    parser.add_argument("--dry-run", action="store_true", help="show the changes, write nothing")
    args = parser.parse_args(argv)
    try:
        info = read_model_info(args.model)
        raw = args.model.read_bytes()
        text = raw.decode("utf-8")
        cells = wanted_cells(info, read_overlay(args.overlay))
        new, log = apply(text, info, cells)
    except (ApplyError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in log:
        print(line)
    if args.dry_run or new == text:
        print("no change written" if args.dry_run else "already up to date")
        return 0
    atomic_write_bytes(args.model, new.encode("utf-8"))
    after = read_model_info(args.model)
    for name, var in info.constants().items():
        expect = var.default
        if name in cells:
            expect = {**var.default, **{k: float(fmt(v)) for k, v in cells[name].items()}} if var.dims else \
                float(fmt(cells[name][""]))
        if after.variables[name].default != expect:
            atomic_write_bytes(args.model, raw)
            print(f"error: {name!r} reads back as {after.variables[name].default}, expected {expect}; "
                  "model restored", file=sys.stderr)
            return 1
    print(f"updated {len(log)} value(s) in {args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
