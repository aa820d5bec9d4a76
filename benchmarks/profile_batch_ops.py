"""Where the batch engine's time loop spends its time: every numpy operation of every equation, timed.

The generated Euler loop (``sd_model.batch``) is rewritten into one numpy operation per line
(the same operations in the same order, so the same values), each line timed with
``time.perf_counter``, and the model is run for ``--members`` members. It prints, for each model
(model 1 from commit b673acf and the current model by default, or the .mdl files given):

1. microseconds per Euler step, in total and by kind of operation (multiply, EXP, SUM, ...) and by
   the shape of its result (scalar per member, [Region], [Region, Dest]);
2. the most expensive equations (Vensim names, with the SMOOTHI stocks' flows named by the
   variable that holds them), their operations per step and their cost.

The timer adds about 0.1 us per operation; the totals are therefore slightly above the plain
engine's time, and the shares between operations are what this script is for.

Usage::

    python benchmarks/profile_batch_ops.py                          # both models, 500 members, to 2100
    python benchmarks/profile_batch_ops.py --members 64 --final-time 2015 --top 15
    python benchmarks/profile_batch_ops.py vensim/regional_finance_economy.mdl
    python benchmarks/profile_batch_ops.py --no-fold                # the generic code (no constants folded)
    python benchmarks/profile_batch_ops.py --scenario coordinated_strong   # every lever on

The members hold each model's default constants (its levers off), and the code profiled is the
one the engine runs for them: with the constants that are 0 in every member folded away
(``sd_model/batch/zeros.py``), unless ``--no-fold``.
"""
from __future__ import annotations

import argparse
import ast
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sd_model.batch import BatchModel  # noqa: E402
from sd_model.batch.engine import Code  # noqa: E402
from sd_model.run import DEFAULT_MODEL  # noqa: E402
from sd_model.scenario import load_scenario  # noqa: E402

from bench_model_throughput import committed_model  # noqa: E402  (benchmarks/ is on sys.path when run)

OLD_COMMIT = "b673acf"
OUTPUTS = ["National GDP", "GDP per Capita", "Theil Index", "Loan Share", "Net Credit Outflow"]
_DIMS = {-1: "all stocks of a shape", 0: "per member", 1: "[Region]", 2: "[Region, Dest]"}
_EULER = "Euler update of the stacked stocks"
_OPS = (ast.BinOp, ast.UnaryOp, ast.Call, ast.Compare, ast.Subscript)
_IN_PLACE = {"_iadd": "add in place", "_isub": "sub in place", "_imul": "mult in place", "_itruediv": "div in place"}


def _kind(node: ast.AST) -> str:
    if isinstance(node, ast.BinOp):
        return type(node.op).__name__.lower()
    if isinstance(node, ast.UnaryOp):
        return "neg" if isinstance(node.op, ast.USub) else type(node.op).__name__.lower()
    if isinstance(node, ast.Compare):
        return "compare"
    if isinstance(node, ast.Subscript):
        return "index (view)"
    name = ast.unparse(node.func)  # type: ignore[attr-defined]
    if name in _IN_PLACE:  # t = a * b; t += c (sd_model.batch.inplace)
        return _IN_PLACE[name]
    return name.replace("np.", "")


class _Split(ast.NodeTransformer):
    """Post-order: every operation becomes ``_tK = op(children)``, timed."""

    def __init__(self, start: int) -> None:
        self.lines: list[str] = []
        self.kinds: list[str] = []
        self.k = start

    def generic_visit(self, node: ast.AST) -> ast.AST:
        node = super().generic_visit(node)
        if isinstance(node, _OPS):
            name = f"_t{self.k}"
            self.lines.append(f"_a = _pc(); {name} = {ast.unparse(node)}; _T[{self.k}] += _pc() - _a; "
                              f"_D[{self.k}] = np.ndim({name}) - 1")
            self.kinds.append(_kind(node))
            self.k += 1
            return ast.Name(id=name, ctx=ast.Load())
        return node


def instrument(code: Code) -> tuple[list[str], list[str], str]:
    """Rewrite the time loop of ``code`` (a :class:`~sd_model.batch.engine.BatchSim`'s) one timed operation per line.

    Returns (kind, equation) of each operation and the rewritten source.
    """
    lines = code.source.splitlines()
    start = next(i for i, s in enumerate(lines) if s.strip() in ("t = CLOCK[k]", "t = t0 + dt * k")) + 1
    end = next(i for i in range(start, len(lines)) if lines[i].strip() == "k += 1")
    ident_name = {e.ident: n for n, e in code.model.eqs.items()}
    out, kinds, owner = [], [], []
    for line in lines[start:end]:
        if line.strip() == "if k % every == 0:" or line.strip().startswith("saved["):
            out.append(line)  # the loop saving the auxiliaries asked for at a saved time: a copy, not timed
            continue
        if line.strip().startswith("del "):
            out.append(line)  # arrays released after their last reader (sd_model.batch.lifetimes): not timed
            continue
        stmt = ast.parse(line.strip()).body[0]
        if isinstance(stmt, ast.Assign):
            target, value = ast.unparse(stmt.targets[0]), stmt.value
        else:  # a call writing into a buffer: np.subtract(a, b, out=fv_s_x), the stacked Euler update
            assert isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call), line
            value = stmt.value
            target = next((ast.unparse(k.value) for k in value.keywords if k.arg == "out"), ast.unparse(value))
        split = _Split(len(kinds))
        tree = split.visit(value)
        indent = line[:len(line) - len(line.lstrip())]
        rest = f"{ast.unparse(stmt.targets[0])} = {ast.unparse(tree)}" if isinstance(stmt, ast.Assign) else ""
        out += [indent + s for s in split.lines] + ([indent + rest] if rest else [])
        kinds += split.kinds
        name = target.split("[")[0]
        if name.startswith("fv_"):
            label = f"{ident_name.get(name[3:], name[3:])} (net flow)"
        elif name.startswith(("F_", "S_", "np.")):
            label = _EULER
        else:
            label = ident_name.get(name, f"common sub-expression {name}" if name.startswith("x_") else name)
        owner += [label] * len(split.kinds)
    return kinds, owner, "\n".join(lines[:start] + out + lines[end:])


def profile(path: Path, members: int, final_time: float | None, fold: bool = True,
            scenario: str | None = None) -> tuple[dict, float, int]:
    """(per-op records, CPU seconds of the run, Euler steps) of one instrumented run of ``path``.

    The members hold the model's default constants, or ``scenario``'s; the code is the one the
    engine runs for them, with the constants at 0 folded (sd_model.batch.zeros) unless ``fold`` is False.
    """
    batch = BatchModel(path)
    sim = batch.compile(OUTPUTS, final_time=final_time, fold_zeros=fold)
    K = sim.constants(members, load_scenario(scenario).resolve(batch.info).params if scenario else None)
    code = sim.code_for(K)
    kinds, owner, source = instrument(code)
    ns = code.fn
    ns.update({"_pc": time.perf_counter, "_T": [0.0] * len(kinds), "_D": [0] * len(kinds)})
    exec(compile(source, "<profiled batch code>", "exec"), ns)  # noqa: S102
    cpu = time.process_time()
    sim.run_constants(K, members)
    cpu = time.process_time() - cpu
    dims = [-1 if o == _EULER else d for o, d in zip(owner, ns["_D"])]
    records = {"kind": kinds, "owner": owner, "seconds": ns["_T"], "dims": dims}
    return records, cpu, sim.n_steps


def report(label: str, records: dict, cpu: float, steps: int, top: int) -> None:
    us = np.array(records["seconds"]) / steps * 1e6
    n = len(us)
    print(f"\n## {label}: {n} numpy operations per Euler step, {us.sum():.0f} us per step timed "
          f"({cpu / steps * 1e6:.0f} us per step of CPU over the whole run, {steps} steps)\n")
    by: dict[tuple[str, int], list[float]] = defaultdict(list)
    for kind, dims, t in zip(records["kind"], records["dims"], us):
        by[(kind, dims)].append(t)
    print("| operation | result | count | us per step | share |")
    print("|---|---|---:|---:|---:|")
    for (kind, dims), ts in sorted(by.items(), key=lambda kv: -sum(kv[1])):
        print(f"| {kind} | {_DIMS.get(dims, f'{dims}-D')} | {len(ts)} | {sum(ts):.1f} | {sum(ts) / us.sum():.1%} |")
    per_dim: dict[int, list[float]] = defaultdict(list)
    for dims, t in zip(records["dims"], us):
        per_dim[dims].append(t)
    print("\nby result shape: " + "; ".join(f"{_DIMS.get(d, d)} {len(ts)} ops, {sum(ts):.0f} us"
                                          for d, ts in sorted(per_dim.items())))
    eqs: dict[str, list[float]] = defaultdict(list)
    for name, t in zip(records["owner"], us):
        eqs[name].append(t)
    print(f"\n| equation (top {top}) | ops | us per step | share |")
    print("|---|---:|---:|---:|")
    for name, ts in sorted(eqs.items(), key=lambda kv: -sum(kv[1]))[:top]:
        print(f"| {name} | {len(ts)} | {sum(ts):.1f} | {sum(ts) / us.sum():.1%} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help=f"model files (default: model 1 at {OLD_COMMIT} and the shipped one)")
    parser.add_argument("--members", type=int, default=500, help="members run together (default 500)")
    parser.add_argument("--final-time", type=float, default=None, help="FINAL TIME (default: the model's)")
    parser.add_argument("--top", type=int, default=25, help="equations listed (default 25)")
    parser.add_argument("--no-fold", action="store_true",
                        help="profile the generic code, without the constants at 0 folded (sd_model.batch.zeros)")
    parser.add_argument("--scenario", default=None,
                        help="scenario of experiments/ whose constants the members hold (default: the model's)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.models:
            models = {p: Path(p) for p in args.models}
        else:
            old = committed_model(OLD_COMMIT, Path(tmp))
            models = {f"model 1 ({OLD_COMMIT})": old, "current model": DEFAULT_MODEL}
        for label, path in models.items():
            with np.errstate(all="ignore"):
                records, cpu, steps = profile(path, args.members, args.final_time, fold=not args.no_fold,
                                              scenario=args.scenario)
            report(label, records, cpu, steps, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
