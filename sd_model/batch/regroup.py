"""Re-associate chains of ``* /`` and ``+ -`` in the time loop to spend fewer numpy calls.

An equation such as ``K[Region] * a * b / c[Region]`` is written left to right, so the batch
engine computed it as three operations on arrays of the stock's shape at every Euler step,
although ``a * b`` depends on constants only and could be computed once before the loop. The
loop is bound by the fixed cost of each numpy call (about 1 us on the loop's small arrays,
benchmarks/README.md), so an operation saved there is time saved at every step of every member.

:func:`regroup` rewrites each such chain:

1. the chain is flattened into its operands, each with its sign (``*``/``+`` or ``/``/``-``),
   through nested chains of the same operators (``a / (b * c)`` is ``a / b / c``);
2. operands that depend on constants only (level 0) are combined into one sub-expression,
   placed where the first of them stood; the emitter hoists it out of the loop;
3. the operands left are combined pairwise, the pair with the smallest result first (elements
   per member: a ``[Region]`` by a ``[Region]`` before anything by a ``[Region, Dest]``),
   preferring pairs with an operand that depends on the stocks: Time-dependent operands are
   combined with each other only in a chain without such an operand (computed with the Time
   blocks anyway), since their product is one more array per block of steps (steps x shape x
   members, beyond the cache at large blocks) to save one operation per step.

The rewritten chain is kept only if it has fewer loop operations, or as many over fewer
elements (:func:`cost`); otherwise the chain stays as written. Re-association changes the
rounding (``(a * b) * c`` and ``a * (b * c)`` can differ in the last bit), so the results are
no longer bit for bit those of the equation as written: they agree to about 1e-15 per
operation, and the tests hold the shipped model within 1e-12 of it and pysimlin within 1e-9.
Only chains whose operands are all float64 are touched (comparisons are booleans, whose
arithmetic the emitter casts explicitly).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .parse import Bin, Call, Unary
from .translate import _children

__all__ = ["ChainInfo", "regroup", "cost"]

#: The two operator families, each as (direct, inverse).
_FAMILIES = (("*", "/"), ("+", "-"))
#: Level of an expression that depends on the stocks (translate.level): computed in the loop.
_LOOP = 2


@dataclass(frozen=True)
class ChainInfo:
    """What :func:`regroup` needs to know about an expression node of one equation.

    ``level(node)``: 0 constants only, 1 also Time, 2 the stocks (see
    :func:`sd_model.batch.translate.node_level`); ``axes(node)``: its subscript axes (ranges
    as named, ``!`` kept); ``size(axes)``: the number of elements per member of an array with
    those axes; ``is_float(node)``: whether its values are certainly float64.
    """

    level: Callable[[object], int]
    axes: Callable[[object], tuple[str, ...]]
    size: Callable[[tuple[str, ...]], int]
    is_float: Callable[[object], bool]


@dataclass(frozen=True)
class _Term:
    inverse: bool  # divided by (subtracted), not multiplied by (added)
    node: object
    level: int
    axes: tuple[str, ...]


def regroup(node: object, info: ChainInfo) -> object:
    """``node`` with every chain of ``* /`` or ``+ -`` in it regrouped (see the module docstring)."""
    if isinstance(node, Call):
        return Call(node.func, tuple(regroup(a, info) for a in node.args))
    if isinstance(node, Unary):
        return Unary(node.op, regroup(node.arg, info))
    if not isinstance(node, Bin):
        return node
    family = next((f for f in _FAMILIES if node.op in f), None)
    if family is None:
        return Bin(node.op, regroup(node.left, info), regroup(node.right, info))
    done: dict[int, object] = {}  # id(operand) -> the operand regrouped, once for both uses
    terms = _flatten(node, family, False, info, done)
    written = _as_written(node, family, info, done)
    if len(terms) < 3 or not all(info.is_float(t.node) for t in terms):
        return written
    new = _combine(terms, family, info)
    return new if cost(new, info) < cost(written, info) else written


def cost(node: object, info: ChainInfo) -> tuple[int, int]:
    """(operations, elements per member) that ``node`` computes in the loop (level-2 operations)."""
    ops, elements = 0, 0
    todo = [node]
    while todo:
        n = todo.pop()
        if isinstance(n, (Bin, Unary, Call)):
            if info.level(n) == _LOOP:
                ops += 1
                elements += info.size(info.axes(n))
            todo.extend(_children(n))
    return ops, elements


def _as_written(node: object, family: tuple[str, str], info: ChainInfo, done: dict[int, object]) -> object:
    """The chain with its association as written, its operands as :func:`_flatten` regrouped them."""
    if isinstance(node, Bin) and node.op in family:
        return Bin(node.op, _as_written(node.left, family, info, done), _as_written(node.right, family, info, done))
    return done[id(node)]


def _flatten(node: object, family: tuple[str, str], inverse: bool, info: ChainInfo,
             done: dict[int, object]) -> list[_Term]:
    if isinstance(node, Bin) and node.op in family:
        return (_flatten(node.left, family, inverse, info, done)
                + _flatten(node.right, family, inverse != (node.op == family[1]), info, done))
    operand = done[id(node)] = regroup(node, info)
    return [_Term(inverse, operand, info.level(operand), info.axes(operand))]


def _pair(a: _Term, b: _Term, family: tuple[str, str]) -> tuple[bool, Bin]:
    """(inverse, node) of ``a`` combined with ``b`` (x * y, x / y, y / x or, both inverse, x * y)."""
    direct, inv = family
    if a.inverse and b.inverse:
        return True, Bin(direct, a.node, b.node)
    if b.inverse:
        return False, Bin(inv, a.node, b.node)
    if a.inverse:
        return False, Bin(inv, b.node, a.node)
    return False, Bin(direct, a.node, b.node)


def _merge(a: _Term, b: _Term, family: tuple[str, str]) -> _Term:
    inverse, node = _pair(a, b, family)
    axes = a.axes + tuple(x for x in b.axes if x not in a.axes)
    return _Term(inverse, node, max(a.level, b.level), axes)


def _combine(terms: list[_Term], family: tuple[str, str], info: ChainInfo) -> object:
    constant = [t for t in terms if t.level == 0]
    rest: list[_Term] = []
    group: _Term | None = None
    for t in terms:
        if t.level != 0:
            rest.append(t)
        elif group is None:  # the constants, combined in their order, where the first stood
            group = constant[0]
            for c in constant[1:]:
                group = _merge(group, c, family)
            rest.append(group)
    while len(rest) > 1:
        best = None
        for i in range(len(rest)):
            for j in range(i + 1, len(rest)):
                a, b = rest[i], rest[j]
                both_outside = max(a.level, b.level) < _LOOP  # would make a block or setup array
                merged = a.axes + tuple(x for x in b.axes if x not in a.axes)
                key = (both_outside, info.size(merged), i, j)
                if best is None or key < best:
                    best = key
        assert best is not None
        _, _, i, j = best
        rest[i] = _merge(rest[i], rest[j], family)
        del rest[j]
    final = rest[0]
    assert not final.inverse  # the chain's leftmost operand is direct, and so is every merge with it
    return final.node
