"""Fold the terms that are 0 for a whole call: constants at 0 in every member, and what they zero.

In a scenario most policy levers are off: their intensities are constants at 0, so their
activities (``Aid Intensity * MIN(1, ...)``) are 0 at every step, and so is every term they
multiply (``Aid Paid``, the ``Ecological Compensation`` matrix and its sums, ...): in the
historical scenario 31 of the shipped model's 370 variables are 0 throughout. The generic code
still computes them, and adds and multiplies them in, at every Euler step. Given the constants
that are 0 in every element and member of one call (:func:`zero_constants`), :func:`fold_zeros`
rewrites the model's trees without them, by these rules only (``0`` is the number 0.0):

* a reference to such a constant, to an auxiliary whose folded tree is ``0``, or to a stock whose
  initial value and net flow fold to ``0`` (assuming such stocks are 0: the largest such set) is
  ``0``;
* ``0 * x``, ``x * 0``, ``0 / x``, ``-0``, ``SQRT(0)``, ``ABS(0)``, ``SUM/VMAX/VMIN(0)``,
  ``MIN/MAX(0, 0)`` and ``IF THEN ELSE(c, 0, 0)`` are ``0``;
* ``x + 0``, ``0 + x``, ``x - 0``, ``x * 1``, ``1 * x`` and ``x / 1`` are ``x`` (only where ``x``
  is float64, not a comparison, whose arithmetic the emitter makes float64);
* ``a + b``, ``a - b``, ``a * b`` and ``a / b`` of two numbers are their Python value (the value
  the generated code would compute, in the same IEEE arithmetic).

Nothing else is folded (``x / 0``, ``0 - x``, ``EXP(0)``, ``LN(0)``, comparisons and lookups stay
as written, with 0 in place of the references above); the exponent of ``^`` is kept as written,
and so is the argument of EXP or LN or the base of ``^`` that would fold to a number other than
0 and 1 (numpy's array loops for these can round unlike its scalar ones). For finite values each
rule gives exactly the value of the term it replaces (``x * 0`` is 0 and ``y + 0`` is ``y`` in
IEEE arithmetic), up to the sign of a zero (``-3 * 0`` is -0.0, folded +0.0), which changes no
value (only a division by that zero could, giving an infinity; in the shipped model's runs not
even a zero's sign differs, tests/test_batch_zeros.py). A run whose unfolded terms are not
finite (``0 * inf``, ``0 / 0``: NaN) fails anyway and may fail differently, or not at all. The
time loop then no longer computes the folded terms; a variable folded to ``0`` is computed once,
before the loop, as an array of zeros.

The loop's chains are regrouped (:mod:`.regroup`) before they are folded, with the levels of
the model as written, so the operations left keep their order and grouping: the values are
those of the generic code. Where that cannot hold, because an equation the loop computed
regrouped is no longer stock-dependent, is not 0, and its folded regrouped and written trees
differ (the loop's and the initial value's roundings would have to share one array),
:func:`fold_zeros` returns None and the generic code runs.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from .emit import _Emitter, loop_auxiliaries
from .parse import Bin, Call, Num, Ref, Unary
from .translate import TIME_NAMES, Eq, Model, level, refs, resolve

__all__ = ["zero_constants", "fold_zeros", "Folded"]

_ZERO = Num(0.0)
_ONE = Num(1.0)
_ARITHMETIC = {"+": float.__add__, "-": float.__sub__, "*": float.__mul__, "/": float.__truediv__}
_REDUCE = ("SUM", "VMAX", "VMIN")


def zero_constants(model: Model, K: Mapping[str, np.ndarray]) -> frozenset[str]:
    """Names of ``model``'s constants whose array in ``K`` (by identifier) is 0 in every element and member."""
    return frozenset(name for name, ident in model.consts.items() if not np.any(K[ident]))


class Folded:
    """A model with its zero terms folded, for :func:`sd_model.batch.emit.emit_source`.

    ``model`` holds the folded trees (its stocks that are 0 throughout are auxiliaries ``0``);
    ``loop_trees`` the folded regrouped trees of the equations the generic loop computes (level-2
    auxiliaries, net flows), by name; ``zero`` the names of the variables folded to 0.
    """

    def __init__(self, model: Model, loop_trees: dict[str, object], zero: frozenset[str]) -> None:
        self.model, self.loop_trees, self.zero = model, loop_trees, zero


class _Folder:
    """Folds trees of ``model`` given zero constants and the stocks assumed 0 (see the module docstring)."""

    def __init__(self, model: Model, em: _Emitter, zero_consts: frozenset[str], zero_stocks: set[str]) -> None:
        self.m, self.em, self.consts, self.stocks = model, em, zero_consts, zero_stocks
        self.trees: dict[str, object] = {}  # auxiliary -> its folded (written) tree

    def zero_ref(self, eq: Eq, node: Ref) -> bool:
        name = resolve(self.m, eq, node)
        if name in TIME_NAMES:
            return False
        if name in self.m.consts:
            return name in self.consts
        if self.m.eqs[name].kind == "stock":
            return name in self.stocks
        return self.aux_tree(name) == _ZERO

    def aux_tree(self, name: str) -> object:
        """The folded tree of the auxiliary ``name`` (as written, not regrouped)."""
        if name not in self.trees:
            target = self.m.eqs[name]
            self.trees[name] = target.tree  # a cycle (not in a valid model) reads as "not 0"
            self.trees[name] = self.fold(target, target.tree)
        return self.trees[name]

    def fold(self, eq: Eq, node: object) -> object:
        if isinstance(node, Num):
            return node
        if isinstance(node, Ref):
            return _ZERO if self.zero_ref(eq, node) else node
        if isinstance(node, Unary):
            arg = self.fold(eq, node.arg)
            if node.op in ("-", "+") and arg == _ZERO:
                return _ZERO
            return Unary(node.op, arg)
        if isinstance(node, Bin):
            return self.binary(eq, node)
        assert isinstance(node, Call)
        args = tuple(self.fold(eq, a) for a in node.args)
        if node.func in ("SQRT", "ABS") + _REDUCE and args[0] == _ZERO:
            return _ZERO
        if node.func in ("MIN", "MAX") and args == (_ZERO, _ZERO):
            return _ZERO
        if node.func == "IF THEN ELSE" and args[1] == args[2] == _ZERO:
            return _ZERO
        if node.func in _REDUCE and _bang(self.em.axes_of(eq, args[0])) != _bang(self.em.axes_of(eq, node.args[0])):
            args = node.args  # a term dropped from the argument carried an axis summed over: as written
        if node.func in ("EXP", "LN") and _inexact_number(args[0]):
            args = node.args
        return Call(node.func, args)

    def binary(self, eq: Eq, node: Bin) -> object:
        op = node.op
        if op == "^":  # the exponent as written; a base that became a number other than 0 or 1 too
            base = self.fold(eq, node.left)
            return Bin(op, node.left if _inexact_number(base) else base, node.right)
        left, right = self.fold(eq, node.left), self.fold(eq, node.right)
        if op == "*" and _ZERO in (left, right):
            return _ZERO
        if op == "/" and left == _ZERO:
            return _ZERO
        if (op in ("+", "-") and right == _ZERO or op in ("*", "/") and right == _ONE) \
                and self.em.is_float(eq, node.left):  # x + 0 is float64 like x (not a comparison)
            return left
        if (op == "+" and left == _ZERO or op == "*" and left == _ONE) and self.em.is_float(eq, node.right):
            return right
        if op in _ARITHMETIC and isinstance(left, Num) and isinstance(right, Num) and \
                not (op == "/" and right.value == 0):
            return Num(_ARITHMETIC[op](float(left.value), float(right.value)))
        return Bin(op, left, right)


def _inexact_number(node: object) -> bool:
    """A number other than 0 and 1: EXP, LN and ``^`` of it as a number could round unlike numpy's array loops.

    (EXP(0) = 1, LN(1) = 0, 0 ^ p and 1 ^ p are exact in every implementation.)
    """
    return isinstance(node, Num) and node.value not in (0.0, 1.0)


def _bang(axes: tuple[str, ...]) -> set[str]:
    return {a for a in axes if a.endswith("!")}


def fold_zeros(model: Model, zero_consts: frozenset[str], times: dict[str, float]) -> Folded | None:
    """``model`` with the constants ``zero_consts`` (0 in every member of the call) folded away.

    Returns None where the folded code could not be bit for bit the generic code's (see the
    module docstring). ``times`` are the time settings the emitter is given.
    """
    em = _Emitter(model, times)
    eqs = model.eqs
    stocks = [n for n, e in eqs.items() if e.kind == "stock"]
    loop_names = sorted(loop_auxiliaries(model)) + stocks
    regrouped = {n: em.regrouped(eqs[n]) for n in loop_names}
    # the largest set of stocks that stay 0 if assumed 0: each with initial value and net flow 0
    assumed = set(stocks)
    while True:
        folder = _Folder(model, em, zero_consts, assumed)
        keep = {s for s in assumed if folder.fold(eqs[s], eqs[s].init) == _ZERO
                and folder.fold(eqs[s], regrouped[s]) == _ZERO}
        if keep == assumed:
            break
        assumed = keep
    loop_trees = {n: folder.fold(eqs[n], tree) for n, tree in regrouped.items() if n not in assumed}
    new_eqs: dict[str, Eq] = {}
    for name, eq in eqs.items():
        if name in assumed:  # a stock that stays 0: an auxiliary 0, computed before the loop
            new_eqs[name] = replace(eq, kind="aux", tree=_ZERO, init=None, level=-1)
        elif eq.kind == "stock":  # its tree is its net flow, which only the loop computes
            new_eqs[name] = replace(eq, tree=loop_trees[name], init=folder.fold(eq, eq.init), level=-1)
        else:
            new_eqs[name] = replace(eq, tree=folder.aux_tree(name), level=-1)
    out = Model(model.info, new_eqs, model.lookups, model.consts, model.index)
    for name in loop_names:
        if name in assumed or new_eqs[name].kind != "aux":
            continue
        tree = new_eqs[name].tree
        if refs(out, new_eqs[name], loop_trees[name]) != refs(out, new_eqs[name], tree):
            return None  # the emitter orders the loop by the written trees' references
        if level(out, name, ()) < 2 and loop_trees[name] != tree:
            return None  # computed once, outside the loop: from which of its two trees?
    zero = frozenset(n for n in eqs if n in assumed or (eqs[n].kind == "aux" and new_eqs[n].tree == _ZERO))
    return Folded(out, loop_trees, zero)
