"""Regrouping of ``* /`` and ``+ -`` chains in the batch engine's time loop (sd_model.batch.regroup).

Hand-built chains with known levels and axes give the regrouped tree written out by hand; random
chains evaluated in exact rational arithmetic give the same value regrouped as written (the
rewrite is exact algebra; only floating-point rounding can differ); the shipped model runs with
fewer loop operations and within 1e-12 of the same code without regrouping.
"""
from __future__ import annotations

import ast
import random
from fractions import Fraction

import numpy as np
import pytest

import sd_model.batch.emit as emit
from sd_model.batch import BatchModel
from sd_model.batch.parse import Bin, Call, Num, Ref
from sd_model.batch.regroup import ChainInfo, cost, regroup
from sd_model.run import DEFAULT_MODEL

#: name -> (level, axes) of the hand-built operands: x, y, z depend on the stocks, c on constants,
#: t on Time; X is [Region, Dest].
LEAVES = {"x": (2, ("Region",)), "y": (2, ("Region",)), "z": (2, ("Region",)), "X": (2, ("Region", "Dest")),
          "c1": (0, ()), "c2": (0, ()), "c3": (0, ("Region",)), "t1": (1, ()), "t2": (1, ()),
          "b": (2, ("Region",))}
SIZES = {"Region": 4, "Dest": 4}


def _leaves(node):
    if isinstance(node, Ref):
        return [node.name]
    if isinstance(node, Bin):
        return _leaves(node.left) + _leaves(node.right)
    if isinstance(node, Call):
        return [n for a in node.args for n in _leaves(a)]
    return []


def _level(node) -> int:
    return max((LEAVES[n][0] for n in _leaves(node)), default=0)


def _axes(node) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a for n in _leaves(node) for a in LEAVES[n][1]))


INFO = ChainInfo(level=_level, axes=_axes, size=lambda axes: int(np.prod([SIZES[a] for a in axes])),
                 is_float=lambda node: "b" not in _leaves(node))  # b stands for a comparison (booleans)


def R(name: str) -> Ref:
    return Ref(name)


def chain(*items):
    """``chain("x", "*", "c1", "/", "y")`` -> ((x * c1) / y), as the parser builds it (left to right)."""
    node = R(items[0]) if isinstance(items[0], str) else items[0]
    for op, operand in zip(items[1::2], items[2::2]):
        node = Bin(op, node, R(operand) if isinstance(operand, str) else operand)
    return node


@pytest.mark.parametrize("written, expected", [
    # constants combined into one factor (hoisted out of the loop), where the first stood
    (chain("x", "*", "c1", "*", "c2"), Bin("*", R("x"), Bin("*", R("c1"), R("c2")))),
    (chain("c1", "*", "x", "*", "c2"), Bin("*", Bin("*", R("c1"), R("c2")), R("x"))),
    (chain("x", "/", "c1", "/", "c2"), Bin("/", R("x"), Bin("*", R("c1"), R("c2")))),
    (chain("x", "/", "c1", "*", "c2"), Bin("*", R("x"), Bin("/", R("c2"), R("c1")))),
    (chain("c1", "/", "x", "*", "c2"), Bin("/", Bin("*", R("c1"), R("c2")), R("x"))),
    (chain("x", "-", "c1", "+", "c2"), Bin("+", R("x"), Bin("-", R("c2"), R("c1")))),
    (chain("x", "+", "c1", "+", "y", "+", "c2"), Bin("+", Bin("+", R("x"), Bin("+", R("c1"), R("c2"))), R("y"))),
    # through a nested chain: x / (c1 * c2) * y is x * y / (c1 * c2) with one loop operation fewer
    (Bin("*", Bin("/", R("x"), Bin("*", R("c1"), R("y"))), R("c2")),
     Bin("/", Bin("*", R("x"), Bin("/", R("c2"), R("c1"))), R("y"))),
    # the smallest result first: [Region] * [Region] before the [Region, Dest] operation
    (chain("X", "*", "y", "*", "z"), Bin("*", R("X"), Bin("*", R("y"), R("z")))),
    (chain("X", "-", "y", "-", "z"), Bin("-", R("X"), Bin("+", R("y"), R("z")))),
])
def test_chains_are_regrouped_as_by_hand(written, expected):
    got = regroup(written, INFO)
    assert got == expected
    assert cost(got, INFO) < cost(written, INFO)


@pytest.mark.parametrize("written", [
    chain("x", "*", "y", "*", "z"),             # nothing to gain: as written
    chain("x", "*", "c1"),                      # two operands
    chain("x", "*", "t1", "*", "t2"),           # Time factors are not combined with each other
    chain("x", "*", "c1", "*", "b"),            # a boolean operand: left to the emitter's casts
    chain("x", "*", "c3", "*", "y"),            # one constant: nothing to combine, same cost
])
def test_chains_without_a_gain_stay_as_written(written):
    assert regroup(written, INFO) == written


def test_chains_inside_functions_and_other_operators_are_regrouped():
    inner = chain("x", "*", "c1", "*", "c2")
    got = regroup(Call("EXP", (Bin("^", inner, Num(2.0)),)), INFO)
    assert got == Call("EXP", (Bin("^", regroup(inner, INFO), Num(2.0)),))
    assert got != Call("EXP", (Bin("^", inner, Num(2.0)),))


def _value(node, env):
    if isinstance(node, Ref):
        return env[node.name]
    if isinstance(node, Num):
        return Fraction(node.value)
    a, b = _value(node.left, env), _value(node.right, env)
    if node.op == "/":
        return a / b
    return a * b if node.op == "*" else a + b if node.op == "+" else a - b


def _random_chain(rng: random.Random, depth: int = 0):
    names = ["x", "y", "z", "X", "c1", "c2", "c3", "t1", "t2"]
    family = rng.choice([("*", "/"), ("+", "-")])
    node = R(rng.choice(names)) if depth > 1 or rng.random() < 0.6 else _random_chain(rng, depth + 1)
    for _ in range(rng.randint(1, 5)):
        operand = R(rng.choice(names)) if depth > 1 or rng.random() < 0.7 else _random_chain(rng, depth + 1)
        node = Bin(rng.choice(family), node, operand)
    return node


def test_regrouped_chains_have_the_same_value_in_exact_arithmetic():
    """300 random chains (nested, mixed families) at random non-zero rational values: the
    regrouped tree's value equals the written one's exactly, and no regrouping costs more."""
    rng = random.Random(7)
    changed = 0
    for _ in range(300):
        tree = _random_chain(rng)
        got = regroup(tree, INFO)
        changed += got != tree
        assert cost(got, INFO) <= cost(tree, INFO)
        for _ in range(3):
            env = {n: Fraction(rng.choice([-1, 1]) * rng.randint(1, 97), rng.randint(1, 89)) for n in LEAVES}
            try:
                want = _value(tree, env)
            except ZeroDivisionError:  # e.g. x / (y - y): no value to compare
                continue
            assert _value(got, env) == want, (tree, got)
    assert changed > 50  # the cases above are not all left as written


def _loop_operations(source: str) -> int:
    start = source.index("t = CLOCK[k]")
    body = source[start:source.index("k += 1", start)]
    count = 0
    for line in body.splitlines()[1:]:
        line = line.strip()
        if line.startswith(("if ", "del ", "saved[")):
            continue
        for node in ast.walk(ast.parse(line)):
            count += isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Call))
    return count


def test_shipped_model_runs_fewer_loop_operations_with_the_same_values(monkeypatch):
    batch = BatchModel(DEFAULT_MODEL)
    # the generic code, emitted here: code folded for a call's zero constants is emitted at the call
    on = batch.compile(None, final_time=2050, fold_zeros=False)
    monkeypatch.setattr(emit, "regroup", lambda node, info: node)
    off = batch.compile(None, final_time=2050, fold_zeros=False)
    assert _loop_operations(on.source) <= _loop_operations(off.source) - 8
    a, b = on.run_constants(on.constants(2), 2), off.run_constants(off.constants(2), 2)
    worst = {n: float(np.abs(a[n] - b[n]).max() / max(np.abs(b[n]).max(), 1e-6)) for n in a}
    assert max(worst.values()) < 1e-12, max(worst.items(), key=lambda kv: kv[1])
    assert any(w > 0 for w in worst.values())  # re-association does change the last bits somewhere
