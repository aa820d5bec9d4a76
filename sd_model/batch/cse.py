"""Common sub-expressions of the time loop's statements, computed once per step.

The generated loop body is a sequence of assignments ``name = expression`` in which every
name is assigned once per step before it is used. A sub-expression (an operation, a function
call) that occurs more than once in the body therefore has the same value at every
occurrence: it is computed once into a temporary placed before the first statement that uses
it, and every occurrence reads the temporary. The operations and their order are unchanged,
so the values are bit for bit the same; only repeated work goes.
"""
from __future__ import annotations

import ast
import threading
from collections import Counter

__all__ = ["eliminate_common_subexpressions"]

_OPS = (ast.BinOp, ast.UnaryOp, ast.Call, ast.Compare, ast.BoolOp)

#: CPython 3.11 keeps the AST constructor's recursion depth in per-interpreter state: ast.parse
#: in two threads at once can fail with "SystemError: AST constructor recursion depth mismatch"
#: (CPython gh-106905; seen with a two-thread Dask LocalCluster, whose threads each compile).
#: Re-entrant: :func:`sd_model.batch.emit.emit_source` holds it for the whole emission (which
#: parses in several places: here, :mod:`.inplace`, :mod:`.euler`) and calls this module.
_AST_LOCK = threading.RLock()


class _Keys:
    """Hash-consing: equal sub-trees get the same integer key (one pass, linear in the tree size)."""

    def __init__(self) -> None:
        self.table: dict[tuple, int] = {}
        self.size: dict[int, int] = {}
        self.of: dict[int, int] = {}  # id(node) -> key

    def key(self, node: ast.AST) -> int:
        if isinstance(node, ast.BinOp):  # the common cases first, without ast.iter_fields
            left, right = self.key(node.left), self.key(node.right)
            parts: tuple = ("BinOp", type(node.op).__name__, left, right)
            size = 1 + self.size[left] + self.size[right]
        elif isinstance(node, ast.Name):
            parts, size = ("Name", node.id), 1
        elif isinstance(node, ast.Constant):
            parts, size = ("Constant", repr(node.value)), 1
        else:
            items: list[object] = [type(node).__name__]
            size = 1
            for _, value in ast.iter_fields(node):
                if isinstance(value, ast.AST):
                    q = self.key(value)
                    items.append(q)
                    size += self.size[q]
                elif isinstance(value, list):
                    qs = tuple(self.key(v) if isinstance(v, ast.AST) else repr(v) for v in value)
                    items.append(qs)
                    size += sum(self.size[q] for q in qs if isinstance(q, int))
                else:
                    items.append(repr(value))
            parts = tuple(items)
        k = self.table.setdefault(parts, len(self.table))
        self.size[k] = size
        self.of[id(node)] = k
        return k


class _Replace(ast.NodeTransformer):
    def __init__(self, keys: _Keys, names: dict[int, str]) -> None:
        self.keys, self.names = keys, names

    def visit(self, node: ast.AST) -> ast.AST:
        name = self.names.get(self.keys.of.get(id(node), -1))
        if name is not None:
            return ast.Name(id=name, ctx=ast.Load())
        return self.generic_visit(node)


def eliminate_common_subexpressions(statements: list[tuple[str, str]], prefix: str = "x_") -> list[tuple[str, str]]:
    """``[(name, expression code)]`` in order -> the same with repeated sub-expressions computed once.

    Temporaries are named ``prefix`` + a number and inserted before the first statement that
    uses them. Larger repeated sub-expressions are taken first; a few passes (each replacing
    every repeated sub-expression not inside another one taken in the same pass) reach a body
    with no repetition left.
    """
    with _AST_LOCK:
        return _eliminate(statements, prefix)


def _eliminate(statements: list[tuple[str, str]], prefix: str) -> list[tuple[str, str]]:
    names = [n for n, _ in statements]
    trees: list[ast.AST] = [ast.parse(code, mode="eval").body for _, code in statements]
    k = 0
    while True:
        keys = _Keys()
        counts: Counter[int] = Counter()
        first: dict[int, ast.AST] = {}
        at: dict[int, int] = {}
        for i, tree in enumerate(trees):
            keys.key(tree)
            for node in ast.walk(tree):
                if isinstance(node, _OPS):
                    key = keys.of[id(node)]
                    counts[key] += 1
                    if key not in first:
                        first[key], at[key] = node, i
        repeated = sorted((q for q, c in counts.items() if c > 1), key=lambda q: (-keys.size[q], q))
        if not repeated:
            break
        chosen: dict[int, str] = {}
        inside: set[int] = set()  # sub-trees of the chosen ones: left for the next pass
        again = False
        for q in repeated:
            if q in inside:
                again = True
                continue
            chosen[q] = f"{prefix}{k}"
            k += 1
            inside.update(keys.of[id(n)] for n in ast.walk(first[q]) if n is not first[q] and id(n) in keys.of)
        defs = [(at[q], name, ast.parse(ast.unparse(first[q]), mode="eval").body) for q, name in chosen.items()]
        trees = [_Replace(keys, chosen).visit(t) for t in trees]
        for i, name, expr in sorted(defs, key=lambda d: -d[0]):
            trees.insert(i, expr)
            names.insert(i, name)
        if not again:  # nothing was left inside a replaced sub-expression: no repetition remains
            break
    return [(n, ast.unparse(t)) for n, t in zip(names, trees)]
