"""In-place arithmetic in the batch engine's time loop (sd_model.batch.inplace) and numbers from comparisons.

References: the same generated code with every in-place call written back as the plain
operator (an independent rewrite of the source, compared bit for bit), and pysimlin.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
from test_batch import TOY, assert_equal_runs

from sd_model.batch import BatchEngine, BatchModel
from sd_model.batch.euler import into
from sd_model.batch.inplace import restore_shared
from sd_model.engines import get_engine
from sd_model.run import DEFAULT_MODEL

_PLAIN = {"_iadd": ast.Add, "_isub": ast.Sub, "_imul": ast.Mult, "_itruediv": ast.Div}
_CALL = re.compile(r"\b_i(add|sub|mul|truediv)\(")


class _Plain(ast.NodeTransformer):
    """Every in-place helper call back to the operator it stands for."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in _PLAIN:
            return ast.BinOp(left=node.args[0], op=_PLAIN[node.func.id](), right=node.args[1])
        return node


def _loop(source: str) -> str:
    return source[source.index("def run("):source.index("def post(")]


def test_restore_shared_writes_back_calls_on_shared_names():
    assert restore_shared("_iadd(x_0, c)") == "x_0 + c"
    assert restore_shared("_imul(_isub(x_0, b), c)") == "_imul(x_0 - b, c)"  # x_0 - b: a new array
    assert restore_shared("_iadd(a * b, c)") == "_iadd(a * b, c)"
    assert restore_shared("_itruediv(np.exp(a), x_1)") == "_itruediv(np.exp(a), x_1)"
    assert restore_shared("np.maximum(a, b)") == "np.maximum(a, b)"


def test_a_flow_ending_in_place_writes_into_its_buffer():
    assert into("_imul(a * b, c)", "fv_s") == "np.multiply(a * b, c, out=fv_s)"
    assert into("_isub(np.exp(a), c)", "fv_s") == "np.subtract(np.exp(a), c, out=fv_s)"


def test_shipped_model_in_place_equals_plain_operators_bit_for_bit():
    """Every variable of the shipped model, with every constant perturbed per member, to 2040:
    the engine's code against the same code with the in-place calls written as operators."""
    batch = BatchModel(DEFAULT_MODEL)
    sim = batch.compile(None, final_time=2040, fold_zeros=False)  # the generic code (source, _fn) runs
    assert len(_CALL.findall(_loop(sim.source))) >= 100  # the loop really updates in place
    plain = batch.compile(None, final_time=2040, fold_zeros=False)
    tree = ast.fix_missing_locations(_Plain().visit(ast.parse(plain.source)))
    assert not _CALL.findall(ast.unparse(tree))
    exec(compile(tree, "<plain operators>", "exec"), plain._fn)  # noqa: S102
    rng = np.random.default_rng(7)
    K = sim.constants(6)
    K = {k: v * rng.uniform(0.95, 1.05, v.shape) for k, v in K.items()}
    got, ref = sim.run_constants(K, 6), plain.run_constants(K, 6)
    for name in sim.names:
        np.testing.assert_array_equal(got[name], ref[name], err_msg=name)


def _toy_with(tmp_path: Path, extra: str) -> Path:
    """The toy model with ``extra`` added to every region's investment."""
    text = TOY.read_text(encoding="utf-8")
    old = "Effective Savings Rate * Output[Region] + Net Credit Inflow[Region]\n"
    assert old in text
    path = tmp_path / "toy.mdl"
    path.write_text(text.replace(old, old.rstrip("\n") + " + " + extra + "\n"), encoding="utf-8")
    return path


@pytest.mark.parametrize("extra", [
    # comparisons added and subtracted: Vensim's 1 + 1 = 2 (numpy's True + True is True)
    "0.01 * Output[Region] * ((Capital[Region] > 60) + (Capital[Region] > 120) - (Capital[Region] > 1e9))",
    "0.01 * Output[Region] * (-(Capital[Region] > 60) + 2 * (Capital[Region] > 120))",
    # a [Region] product under a [Region, Dest] one: broadcast, never in place
    "SUM(Capital[Region] * Capital[Region] * Credit Share[Region, Dest!]) * 1e-4 + "
    "SUM(Credit Share[Region, Dest!] + Capital[Region] * Capital[Region]) * 1e-5",
], ids=["comparisons-added", "minus-comparison", "broadcast"])
def test_comparisons_and_broadcasts_equal_simlin(tmp_path, cache_dir, extra):
    path = _toy_with(tmp_path, extra)
    a = BatchEngine(path).run({})
    b = get_engine("simlin", path).run({})
    assert_equal_runs({n: a[n].values for n in a.data_vars}, b, list(a.data_vars))
    loop = _loop(BatchModel(path).compile(None).source)
    for call in re.finditer(r"\b_i(?:add|sub|mul|truediv)\((.*)", loop):
        first = call.group(1)
        assert not first.startswith("s_capital >"), call.group(0)  # a boolean is never the target


def test_comparisons_count_as_numbers_as_in_vensim(tmp_path, cache_dir):
    """The effect of the comparison term is there (2 where both hold), not just equal to simlin."""
    path = _toy_with(tmp_path, "0.01 * Output[Region] * ((Capital[Region] > 60) + (Capital[Region] > 80))")
    with_term = BatchEngine(path).run({})
    base = BatchEngine(TOY).run({})
    east = with_term["Investment"].sel(Region="East").values[0] - base["Investment"].sel(Region="East").values[0]
    output = float(base["Output"].sel(Region="East").values[0])
    assert east == pytest.approx(0.01 * output * 2, rel=1e-12)  # Capital[East] starts at 100: both hold
