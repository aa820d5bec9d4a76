"""In-place arithmetic on the time loop's fresh temporaries (the same values, fewer arrays).

In ``a * b + c`` numpy allocates one array for ``a * b`` and another for the sum; on the loop's
small arrays (a few thousand values) it does not reuse the first, as it does for large ones.
The emitter (:meth:`sd_model.batch.emit._Emitter.fresh`) writes such an operation as
``_iadd(a * b, c)`` when its left operand is a new float64 array of the operation's own shape,
i.e. ``t = a * b; t += c``: the same operations in the same order, hence the same values to
the last bit, with one array fewer per operation and a smaller working set. (``b * a`` for
``a * b`` where only the right operand is fresh: IEEE 754 addition and multiplication are
commutative, so that is exact too.)

Two later stages must respect it: common sub-expression elimination may replace the fresh
operand by a shared temporary, which must then not be overwritten (:func:`restore_shared`
turns such a call back into the plain operator); and a net flow's last operation writes into
its buffer row with ``out=`` (:func:`sd_model.batch.euler.into` reads :data:`UFUNC`).
"""
from __future__ import annotations

import ast
import operator

__all__ = ["HELPERS", "INPLACE", "UFUNC", "restore_shared"]

#: Vensim operator -> name of its in-place helper in the generated code.
INPLACE = {"+": "_iadd", "-": "_isub", "*": "_imul", "/": "_itruediv"}
#: The helpers, as the generated code's namespace binds them.
HELPERS = {"_iadd": operator.iadd, "_isub": operator.isub, "_imul": operator.imul, "_itruediv": operator.itruediv}
#: Helper -> the numpy ufunc that writes the same operation into a given array (``out=``).
UFUNC = {"_iadd": "np.add", "_isub": "np.subtract", "_imul": "np.multiply", "_itruediv": "np.true_divide"}
_OPERATOR = {"_iadd": ast.Add, "_isub": ast.Sub, "_imul": ast.Mult, "_itruediv": ast.Div}
_MAKES_NEW = (ast.BinOp, ast.UnaryOp, ast.Call)


class _Restore(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        helper = node.func.id if isinstance(node.func, ast.Name) else None
        if helper in _OPERATOR and not isinstance(node.args[0], _MAKES_NEW):
            return ast.BinOp(left=node.args[0], op=_OPERATOR[helper](), right=node.args[1])
        return node


def restore_shared(code: str) -> str:
    """``code`` with the in-place calls whose target is no longer a fresh array as plain operators.

    Such a target is a name: a temporary that common sub-expression elimination shares between
    statements, which must not be overwritten.
    """
    if "_i" not in code:
        return code
    return ast.unparse(_Restore().visit(ast.parse(code, mode="eval")).body)
