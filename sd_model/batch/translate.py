"""Translate a parsed Vensim model into numpy code that advances many parameter sets at once.

Array layout: a value with subscript dims ``(d1, ..., dk)`` is an array of shape
``(len(d1), ..., len(dk), *B)``: the subscripts lead and the batch axes trail. ``B`` is
``(N,)`` (members) inside the time loop, ``(Bt, N)`` in time blocks and ``(T, N)`` when the
outputs are computed after the loop, so the same expression code serves every phase.

Each expression node gets a *level*: 0 = depends on constants only, 1 = also on ``Time``,
2 = on stocks. Inside the time loop, every non-trivial sub-expression of level 0 is
computed once before the loop, and of level 1 for a whole block of time steps at once.
Variables that no stock depends on are not computed in the loop at all: they are computed
for all saved times at once from the saved stocks (auxiliaries are functions of the stocks,
``Time`` and the constants, so this gives the values Vensim's Euler ordering saves).
"""
from __future__ import annotations

import graphlib
import re
from dataclasses import dataclass, field

from ..mdl import ModelInfo, Variable, normalize_name
from .parse import FUNCTIONS, Bin, Call, Num, Ref, Unary, UnsupportedError, parse, parse_lookup

__all__ = ["Model", "Eq", "translate", "TIME_NAMES", "resolve", "node_level", "refs", "order", "Bin", "Call", "Num",
           "Ref", "Unary", "_BINOPS", "_UFUNCS", "_REDUCE"]

TIME_NAMES = {"time", "initial time", "final time", "time step", "saveper"}
_BINOPS = {"+": "+", "-": "-", "*": "*", "/": "/", "^": "**", "=": "==", "<>": "!=", "<": "<", ">": ">",
           "<=": "<=", ">=": ">=", ":AND:": "&", ":OR:": "|"}
_UFUNCS = {"EXP": "np.exp", "LN": "np.log", "SQRT": "np.sqrt", "ABS": "np.abs"}
_REDUCE = {"SUM": "np.add.reduce", "VMAX": "np.maximum.reduce", "VMIN": "np.minimum.reduce"}


@dataclass
class Eq:
    """One computed quantity: an auxiliary, a stock (``flow`` and ``init``) or a SMOOTHI stock."""

    name: str
    ident: str
    dims: tuple[str, ...]
    kind: str  # "aux" | "stock"
    tree: object = None  # auxiliary expression, or the stock's net flow
    init: object = None  # stock initial value
    line: int = 0
    level: int = -1


@dataclass
class Model:
    """The translated model: equations, lookups, constants and dimension sizes."""

    info: ModelInfo
    eqs: dict[str, Eq] = field(default_factory=dict)
    lookups: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    consts: dict[str, str] = field(default_factory=dict)  # constant name -> ident
    index: dict[str, str] = field(default_factory=dict)  # normalized name -> name


def _ident(prefix: str, name: str, taken: set[str]) -> str:
    base = prefix + re.sub(r"\W+", "_", normalize_name(name)).strip("_")
    ident, k = base, 1
    while ident in taken:
        k += 1
        ident = f"{base}_{k}"
    taken.add(ident)
    return ident


def _fail(info: ModelInfo, item: Eq | Variable, what: str) -> UnsupportedError:
    """The error for ``what`` in the equation of ``item`` (an equation or a variable), naming its file and line."""
    return UnsupportedError(f"{info.path}:{item.line}: {item.name!r}: {what}")


def translate(info: ModelInfo) -> Model:
    """Parse every equation of ``info`` and compute levels; raises UnsupportedError naming the line."""
    model = Model(info)
    taken: set[str] = set()
    for name, var in info.variables.items():
        model.index[normalize_name(name)] = name
        if var.kind == "constant":
            model.consts[name] = _ident("c_", name, taken)
            continue
        try:
            if var.kind == "lookup":
                if var.dims:
                    raise UnsupportedError("subscripted lookups")
                model.lookups[name] = parse_lookup(var.equation)
                continue
            if var.equation.lstrip().startswith("["):
                raise UnsupportedError("element-by-element equations ([East] ...; [West] ...)")
            if not var.equation.strip():
                raise UnsupportedError("data variables without an equation")
            tree = parse(var.equation)
        except UnsupportedError as exc:
            raise _fail(info, var, f"the batch engine cannot translate this equation: {exc}") from None
        if var.kind == "stock":
            if not (isinstance(tree, Call) and tree.func == "INTEG" and len(tree.args) == 2):
                raise _fail(info, var, "a stock must be exactly INTEG(flow, initial value)")
            eq = Eq(name, _ident("s_", name, taken), var.dims, "stock", tree.args[0], tree.args[1], var.line)
        else:
            eq = Eq(name, _ident("a_", name, taken), var.dims, "aux", tree, None, var.line)
        model.eqs[name] = eq
    for eq in list(model.eqs.values()):
        eq.tree = _extract_smooth(model, eq, eq.tree, taken)
    for eq in model.eqs.values():
        _check_calls(model, eq, eq.tree)
        if eq.init is not None:
            _check_calls(model, eq, eq.init)
    for eq in model.eqs.values():
        level(model, eq.name, ())
    return model


def _extract_smooth(model: Model, eq: Eq, node: object, taken: set[str]) -> object:
    """Replace each SMOOTHI(input, delay, init) by a hidden first-order stock."""
    if isinstance(node, Call):
        args = tuple(_extract_smooth(model, eq, a, taken) for a in node.args)
        if node.func == "SMOOTHI":
            if len(args) != 3:
                raise _fail(model.info, eq, "SMOOTHI takes (input, delay time, initial value)")
            name = f"SMOOTHI {len(model.eqs)} of {eq.name}"
            ref = Ref(name, tuple((d, False) for d in eq.dims))
            flow = Bin("/", Bin("-", args[0], ref), args[1])
            model.eqs[name] = Eq(name, _ident("s_", name, taken), eq.dims, "stock", flow, args[2], eq.line)
            model.index[normalize_name(name)] = name
            return ref
        return Call(node.func, args)
    if isinstance(node, Unary):
        return Unary(node.op, _extract_smooth(model, eq, node.arg, taken))
    if isinstance(node, Bin):
        return Bin(node.op, _extract_smooth(model, eq, node.left, taken), _extract_smooth(model, eq, node.right, taken))
    return node


def _check_calls(model: Model, eq: Eq, node: object) -> None:
    if isinstance(node, Call):
        if node.func in FUNCTIONS:
            if node.func in ("INTEG", "SMOOTHI"):
                raise _fail(model.info, eq, f"{node.func} is only supported as a whole equation")
            if len(node.args) != FUNCTIONS[node.func]:
                raise _fail(model.info, eq,
                            f"{node.func} takes {FUNCTIONS[node.func]} argument(s), got {len(node.args)}")
        elif model.index.get(normalize_name(node.func)) not in model.lookups:
            raise _fail(model.info, eq,
                        f"function {node.func!r} is not supported by the batch engine; supported: "
                        "MIN, MAX, EXP, LN, SQRT, ABS, SUM, VMAX, VMIN, IF THEN ELSE, INTEG, SMOOTHI and lookups")
        elif len(node.args) != 1:
            raise _fail(model.info, eq, f"lookup {node.func!r} takes one argument")
    for child in _children(node):
        _check_calls(model, eq, child)


def _children(node: object) -> tuple:
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Unary):
        return (node.arg,)
    if isinstance(node, Bin):
        return (node.left, node.right)
    return ()


def resolve(model: Model, eq: Eq, ref: Ref) -> str:
    """Canonical name a reference stands for ("time", "initial time", ... for time names)."""
    key = normalize_name(ref.name)
    if key in TIME_NAMES:
        if ref.subs:
            raise _fail(model.info, eq, f"{ref.name} takes no subscripts")
        return key
    name = model.index.get(key)
    if name is None:
        raise _fail(model.info, eq, f"unknown variable {ref.name!r}")
    if name in model.lookups:
        raise _fail(model.info, eq, f"lookup {name!r} used without an argument")
    return name


def level(model: Model, name: str, stack: tuple[str, ...]) -> int:
    """0 = constants only, 1 = also Time, 2 = stocks; raises on simultaneous equations."""
    if name == "time":
        return 1
    if name in TIME_NAMES or name in model.consts:
        return 0
    eq = model.eqs[name]
    if eq.kind == "stock":
        eq.level = 2
        return 2
    if eq.level >= 0:
        return eq.level
    if name in stack:
        loop = " -> ".join((*stack[stack.index(name):], name))
        raise _fail(model.info, eq, f"simultaneous equations (no stock in the loop {loop})")
    eq.level = node_level(model, eq, eq.tree, (*stack, name))
    return eq.level


def node_level(model: Model, eq: Eq, node: object, stack: tuple[str, ...] = ()) -> int:
    """Level of one expression node (see :func:`level`); a number has no children: level 0."""
    if isinstance(node, Ref):
        return level(model, resolve(model, eq, node), stack)
    return max((node_level(model, eq, c, stack) for c in _children(node)), default=0)


def refs(model: Model, eq: Eq, node: object) -> set[str]:
    """Canonical names referenced by ``node`` (time names included)."""
    if isinstance(node, Ref):
        return {resolve(model, eq, node)}
    return set().union(*(refs(model, eq, child) for child in _children(node)))


def order(model: Model, names: set[str], deps) -> list[str]:
    """Topological order of ``names`` given ``deps(name) -> set of names`` (restricted to ``names``)."""
    sorter = graphlib.TopologicalSorter({n: sorted(deps(n) & names) for n in sorted(names)})
    try:
        return list(sorter.static_order())
    except graphlib.CycleError as exc:
        loop = exc.args[1][::-1]  # each name, then the one its value needs
        raise _fail(model.info, model.eqs[loop[0]], f"circular initial values ({' -> '.join(loop)})") from None
