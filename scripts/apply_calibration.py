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
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sd_model.files import atomic_write_bytes, read_toml  # noqa: E402
from sd_model.errors import SDModelError  # noqa: E402
from sd_model.mdl import ModelInfo, read_model_info, set_constants  # noqa: E402
from sd_model.parameters import resolve_params  # noqa: E402

MODEL = ROOT / "vensim" / "regional_finance_economy.mdl"


class ApplyError(Exception):
    """The overlay cannot be applied to the model."""


def fmt(value: float) -> str:
    """Six significant digits, as Vensim reads them (no exponent for ordinary magnitudes)."""
    if abs(value) < 1e-12:
        return "0"
    return f"{value:.6g}"


def read_overlay(path: Path) -> dict[str, float | dict[str, float]]:
    """The ``[params]`` of an overlay file (only its own, not its parent's)."""
    data, _ = read_toml(path, "overlay", ApplyError)
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
        new, log = set_constants(text, {name: {k: fmt(v) for k, v in c.items()} for name, c in cells.items()},
                                 args.model)
    except (ApplyError, SDModelError, OSError) as exc:
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
