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
from collections import Counter

__all__ = ["eliminate_common_subexpressions"]

_OPS = (ast.BinOp, ast.UnaryOp, ast.Call, ast.Compare, ast.BoolOp)


def _candidates(trees: list[ast.expr]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, _OPS):
                counts[ast.dump(node)] += 1
    return counts


class _Replace(ast.NodeTransformer):
    def __init__(self, key: str, name: str) -> None:
        self.key, self.name = key, name

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if isinstance(node, _OPS) and ast.dump(node) == self.key:
            return ast.Name(id=self.name, ctx=ast.Load())
        return super().generic_visit(node)


def eliminate_common_subexpressions(statements: list[tuple[str, str]], prefix: str = "x_") -> list[tuple[str, str]]:
    """``[(name, expression code)]`` in order -> the same with repeated sub-expressions computed once.

    Temporaries are named ``prefix`` + a number and inserted before the first statement that
    uses them. The largest repeated sub-expression is taken first.
    """
    names = [n for n, _ in statements]
    trees: list[ast.expr] = [ast.parse(code, mode="eval").body for _, code in statements]
    k = 0
    while True:
        repeated = [key for key, c in _candidates(trees).items() if c > 1]
        if not repeated:
            break
        key = max(repeated, key=len)
        first = next(i for i, t in enumerate(trees) if any(ast.dump(n) == key for n in ast.walk(t)))
        temp = f"{prefix}{k}"
        k += 1
        node = next(n for n in ast.walk(trees[first]) if ast.dump(n) == key)
        expr = ast.parse(ast.unparse(node), mode="eval").body
        trees = [_Replace(key, temp).visit(t) for t in trees]
        trees.insert(first, expr)
        names.insert(first, temp)
    return [(n, ast.unparse(t)) for n, t in zip(names, trees)]
