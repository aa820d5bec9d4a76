"""The Euler update of the generated time loop, with the stocks of one shape stacked in one array.

Stocks with the same subscripts live as rows of one array ``S_g`` (shape ``(m, *dims, N)``), the
names of the stocks being views of its rows; their net flows are written into the rows of a
buffer ``F_g`` of the same shape (the flow's last operation writes there through ``out=``, or
the value is copied). The update of all ``m`` stocks is then two numpy calls instead of
``2 m``::

    np.multiply(DT_g, F_g, out=F_g)     # dt * flow, DT_g filled with TIME STEP
    np.add(S_g, F_g, out=S_g)           # stock + dt * flow, in place

The arithmetic per value is the same as ``stock = stock + dt * flow`` (the same two roundings),
so the results are bit for bit the same; only the number of calls (and of arrays allocated)
per step falls. It is safe because every flow is computed before any stock is updated, and
every name of the loop body is assigned anew at every step before it is read (a name bound
to a stock's row is never read after the update).
"""
from __future__ import annotations

import ast

from .inplace import UFUNC as _INPLACE_UFUNC

__all__ = ["stock_groups", "into", "preamble", "update"]

#: Operators whose result can be written into a buffer by the matching ufunc (same values).
_UFUNC = {ast.Add: "np.add", ast.Sub: "np.subtract", ast.Mult: "np.multiply", ast.Div: "np.true_divide"}
#: Functions of the generated code that take ``out=``.
_OUT_OK = {"np.maximum", "np.minimum", "np.exp", "np.log", "np.sqrt", "np.abs", "np.logical_not",
           "np.add.reduce", "np.maximum.reduce", "np.minimum.reduce"}


def stock_groups(stocks: list[tuple[str, tuple[str, ...]]]) -> list[list[str]]:
    """Stock identifiers grouped by their subscripts (``[(ident, dims), ...]`` in model order)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for ident, dims in stocks:
        groups.setdefault(dims, []).append(ident)
    return list(groups.values())


def into(code: str, out: str) -> str:
    """A statement computing ``code`` into the existing array ``out`` (same values)."""
    tree = ast.parse(code, mode="eval").body
    if isinstance(tree, ast.BinOp) and type(tree.op) in _UFUNC:
        return f"{_UFUNC[type(tree.op)]}({ast.unparse(tree.left)}, {ast.unparse(tree.right)}, out={out})"
    if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id in _INPLACE_UFUNC:
        # t = a * b; t += c becomes out = a * b + c: the same operations into the buffer row
        left, right = (ast.unparse(a) for a in tree.args)
        return f"{_INPLACE_UFUNC[tree.func.id]}({left}, {right}, out={out})"
    if isinstance(tree, ast.Call) and ast.unparse(tree.func) in _OUT_OK and \
            not any(k.arg == "out" for k in tree.keywords):
        tree.keywords.append(ast.keyword(arg="out", value=ast.Name(id=out, ctx=ast.Load())))
        return ast.unparse(tree)
    return f"{out}[...] = {code}"


def preamble(groups: list[list[str]], indent: str) -> list[str]:
    """Lines at the start of ``run``: stacked stocks from the dict ``S``, flow buffers, views."""
    lines = []
    for g, idents in enumerate(groups):
        lines += [f"{indent}S_{g} = np.stack([{', '.join(f'S[{i!r}]' for i in idents)}])",
                  f"{indent}{''.join(f'{i}, ' for i in idents)}= S_{g}",
                  f"{indent}F_{g} = np.empty_like(S_{g})",
                  f"{indent}{''.join(f'fv_{i}, ' for i in idents)}= F_{g}",
                  f"{indent}DT_{g} = np.full(S_{g}.shape, dt)"]
    return lines


def update(groups: list[list[str]], indent: str) -> list[str]:
    """Lines of the Euler update of every stock (after all flows are in the buffers)."""
    lines = []
    for g in range(len(groups)):
        lines += [f"{indent}np.multiply(DT_{g}, F_{g}, out=F_{g})", f"{indent}np.add(S_{g}, F_{g}, out=S_{g})"]
    return lines
