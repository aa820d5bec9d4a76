"""Emit the Python source of a translated model (see :mod:`sd_model.batch.translate`).

The generated module defines five functions over dicts of arrays (layout: subscripts
first, batch axes last):

``setup(K, N)``
    level-0 auxiliaries and the level-0 sub-expressions hoisted out of the time loop;
``init(K, N)``
    the stocks' initial values (at INITIAL TIME);
``block(K, T, N)``
    level-1 auxiliaries and hoisted level-1 sub-expressions for the times ``T`` (shape
    ``(Bt, 1)``), returned time-first: ``(Bt, *dims, N)``;
``run(K, S, N, n_steps, every, saved, BT, KB=None)``
    the Euler loop: auxiliaries from the stocks at t = ``CLOCK[k]`` (the engine's clock, see
    :class:`sd_model.batch.engine.BatchSim`), then every stock += dt * net flow
    (stocks of one shape stacked, see :mod:`.euler`);
    stocks are written into ``saved`` every ``every`` steps; ``block`` reads its constants
    from ``KB`` (default ``K``), whose arrays may have a member axis of length 1 where every
    member's value is the same (the names it reads: ``BLOCK_READS``);
``post(K, S, T, N)``
    the requested auxiliaries at all saved times at once from the saved stocks.
"""
from __future__ import annotations

from collections.abc import Mapping
from math import prod

from ..mdl import normalize_name
from .cse import _AST_LOCK, eliminate_common_subexpressions
from .euler import into, preamble, stock_groups, update
from .inplace import INPLACE as _INPLACE
from .inplace import restore_shared
from .lifetimes import release_dead
from .regroup import ChainInfo, regroup
from .translate import (_BINOPS, _REDUCE, _UFUNCS, TIME_NAMES, Bin, Call, Eq, Model, Num, Ref, Unary,
                        _children, _fail, level, node_level, order, refs, resolve)

__all__ = ["emit_source"]

#: Operators whose number operand is expanded to an array in the time loop (see ``_Emitter.align``).
_EXPANDABLE = ("+", "-", "*", "/")
#: Arithmetic operators as numpy ufuncs, for operands that are both comparisons (booleans).
_NUMERIC = {"+": "np.add", "-": "np.subtract", "*": "np.multiply", "/": "np.true_divide", "^": "np.power"}


class _Emitter:
    def __init__(self, model: Model, times: dict[str, float]) -> None:
        self.m, self.times = model, times
        self.hoisted: dict[str, dict[str, str]] = {"setup": {}, "block": {}}  # code -> name
        self.uses: dict[str, set[str]] = {m: set() for m in ("setup", "init", "block", "loop", "post")}
        self.block_vars: set[str] = set()
        self.step_vars: dict[str, None] = {}  # block arrays the loop reads, one row per step (ordered)
        self.floats: dict[str, bool] = {}  # auxiliary -> its values are float64 (see is_float)

    # ------------------------------------------------------------ expressions
    def expr(self, eq: Eq, node: object, mode: str, canon: list[str]) -> tuple[str, tuple[str, ...], bool]:
        """Return (code, leading axes, plain) of ``node``; plain = a Python float without batch axes."""
        if mode == "loop" and not isinstance(node, (Num, Ref)):
            lvl = node_level(self.m, eq, node)
            if lvl < 2:
                return self.hoist(eq, node, lvl, canon)
        if isinstance(node, Num):
            return repr(node.value), (), True
        if isinstance(node, Ref):
            return self.ref(eq, node, mode, canon)
        if isinstance(node, Unary):
            code, axes, plain = self.expr(eq, node.arg, mode, canon)
            if node.op == ":NOT:":
                return f"np.logical_not({code})", axes, plain
            if node.op == "-" and not plain and not self.is_float(eq, node.arg):
                return f"np.negative({code}, dtype=float)", axes, plain  # minus a comparison (see Bin)
            return (f"(-{code})" if node.op == "-" else code), axes, plain
        if isinstance(node, Bin):
            (lc, la, lp), (rc, ra, rp) = self.expr(eq, node.left, mode, canon), self.expr(eq, node.right, mode, canon)
            axes = _merge(canon, la, ra)
            if node.op == "^" and lp and rp:
                return f"np.power({lc}, {rc})", axes, True
            arithmetic = node.op in _EXPANDABLE and not (lp and rp)
            lc = self.align(eq, node.left, (lc, la, lp), axes, mode, canon, arithmetic)
            rc = self.align(eq, node.right, (rc, ra, rp), axes, mode, canon, arithmetic)
            if node.op in _NUMERIC and not (lp and rp) and not (self.is_float(eq, node.left) or
                                                                self.is_float(eq, node.right)):
                # Vensim's comparisons are the numbers 1 and 0; numpy's are booleans, and
                # True + True is True (True - True an error): compute in float64 instead
                return f"{_NUMERIC[node.op]}({lc}, {rc}, dtype=float)", axes, False
            if mode == "loop" and node.op in _INPLACE:
                if la == axes and self.fresh(eq, node.left):
                    return f"{_INPLACE[node.op]}({lc}, {rc})", axes, False
                if node.op in ("+", "*") and ra == axes and self.fresh(eq, node.right):
                    return f"{_INPLACE[node.op]}({rc}, {lc})", axes, False  # a + b == b + a exactly (IEEE 754)
            return f"({lc} {_BINOPS[node.op]} {rc})", axes, lp and rp
        assert isinstance(node, Call)
        args = [self.expr(eq, a, mode, canon) for a in node.args]
        if node.func in _UFUNCS:
            code, axes, plain = args[0]
            return f"{_UFUNCS[node.func]}({code})", axes, plain
        if node.func in _REDUCE:
            code, axes, _ = args[0]
            bang = [i for i, a in enumerate(axes) if a.endswith("!")]
            if not bang:
                raise _fail(self.m.info, eq, f"{node.func} needs an argument with a '!' subscript, e.g. x[Region!]")
            axis = bang[0] if len(bang) == 1 else tuple(bang)
            return f"{_REDUCE[node.func]}({code}, axis={axis})", tuple(a for a in axes if not a.endswith("!")), False
        axes = _merge(canon, *[a for _, a, _ in args])
        plain = all(p for _, _, p in args)
        expand = not plain and node.func in ("MIN", "MAX", "IF THEN ELSE")
        codes = [self.align(eq, n, a, axes, mode, canon, expand) for n, a in zip(node.args, args)]
        if node.func in ("MIN", "MAX"):
            if args[0][2] and not args[1][2]:  # array first: numpy is ~2x faster (same value)
                codes.reverse()
            return f"np.{'minimum' if node.func == 'MIN' else 'maximum'}({codes[0]}, {codes[1]})", axes, plain
        if node.func == "IF THEN ELSE":
            return f"np.where({codes[0]}, {codes[1]}, {codes[2]})", axes, plain
        ident = f"L{list(self.m.lookups).index(self.m.index[normalize_name(node.func)])}"  # as BatchSim names them
        return f"np.interp({codes[0]}, {ident}_x, {ident}_y)", axes, plain

    def fresh(self, eq: Eq, node: object) -> bool:
        """Whether the loop code of ``node`` makes a new float64 array that nothing else holds.

        Such an operand of ``+ - * /`` whose axes are the operation's own can take the result in
        place (``_imul(a * b, c)``, i.e. ``t = a * b; t *= c``): the same operations in the same
        order, so the same values to the last bit, with one array fewer to allocate and a
        smaller working set (about 6% of a run of either model; benchmarks/README.md). Only
        level-2 nodes qualify: they hold a stock, so their array has the full shape (axes...,
        members); constant and Time-only operands are names of hoisted arrays, never fresh.
        Comparisons and logical operators give booleans and are excluded, as is any node that
        could give a boolean (``bool + bool`` stays boolean in numpy), so the in-place
        operation never casts. A fresh array made twice is shared by common sub-expression
        elimination only through a name, which :func:`restore_shared` turns back.
        """
        if isinstance(node, Bin):
            makes = node.op in _INPLACE or node.op == "^"
        elif isinstance(node, Unary):
            makes = node.op == "-"
        else:
            makes = isinstance(node, Call)
        return makes and node_level(self.m, eq, node) == 2 and self.is_float(eq, node)

    def is_float(self, eq: Eq, node: object) -> bool:
        """Whether ``node``'s values, as an array, are certainly float64.

        Constants, stocks and Time are; so is arithmetic (see :meth:`expr`); comparisons and
        logical operators are booleans.
        """
        if isinstance(node, Num):
            return True
        if isinstance(node, Ref):
            name = resolve(self.m, eq, node)
            target = self.m.eqs.get(name)
            if target is None or target.kind != "aux":
                return True
            if name not in self.floats:
                self.floats[name] = False  # a cycle (not in a valid model) reads as "not float"
                self.floats[name] = self.is_float(target, target.tree)
            return self.floats[name]
        if isinstance(node, (Bin, Unary)):  # arithmetic on arrays is made float64 (see expr), logic is not
            return node.op in _NUMERIC if isinstance(node, Bin) else node.op == "-"
        assert isinstance(node, Call)
        if node.func in ("MIN", "MAX"):
            return any(self.is_float(eq, a) for a in node.args)
        if node.func == "IF THEN ELSE":
            return self.is_float(eq, node.args[1]) or self.is_float(eq, node.args[2])
        if node.func in _UFUNCS or node.func in _REDUCE:
            return self.is_float(eq, node.args[0])
        return True  # a lookup: np.interp gives float64

    def align(self, eq: Eq, node: object, arg: tuple[str, tuple[str, ...], bool], target: tuple[str, ...], mode: str,
              canon: list[str], expand_plain: bool = False) -> str:
        """Code of an operand ``arg`` of ``node`` laid out for the ``target`` axes of the operation.

        In the time loop, an operand that depends on constants only (level 0) and would be
        broadcast or transposed at every step is instead expanded once, in ``setup``, to a
        contiguous array of the full target shape: numpy's element-wise loops are several
        times faster on equal-shaped contiguous operands than with broadcasting (the values
        are the same). Level-1 operands are not expanded: a copy per block of steps costs
        more than it saves for large batches.

        With ``expand_plain`` (an operand of ``+ - * /``, MIN, MAX or IF THEN ELSE whose other
        operand is an array), a number is likewise expanded once to an array of the full
        shape: numpy converts a Python float at every call (0.15-0.2 us, half the cost of the
        operation itself on 4 x 32 values) and its MIN/MAX loops with a scalar operand run at
        half speed. The values are the same, so the results are bit for bit the same. Not for
        ``^``: numpy computes ``x ** 2.0`` or ``x ** 0.5`` from a scalar by other routines.
        """
        code, axes, plain = arg
        if mode == "loop" and plain and expand_plain and node_level(self.m, eq, node) == 0:  # not Time
            return self.expanded(f"np.full({self.shape(target)} + B, {code})")
        if mode != "loop" or plain or tuple(axes) == tuple(target):
            return _align(code, axes, target, plain)
        if node_level(self.m, eq, node) != 0:
            return _align(code, axes, target, plain)
        if isinstance(node, Ref):
            hcode, haxes, hplain = self.ref(eq, node, "setup", canon)
        else:  # already hoisted by expr(): the name in setup
            hcode, haxes, hplain = code, axes, plain
        return self.expanded(f"np.ascontiguousarray(np.broadcast_to({_align(hcode, haxes, target, hplain)}, "
                             f"{self.shape(target)} + B))")

    def expanded(self, code: str) -> str:
        """Name of a constant array computed once in ``setup`` by ``code`` and used in the loop."""
        table = self.hoisted["setup"]
        if code not in table:
            table[code] = f"h{len(self.hoisted['setup']) + len(self.hoisted['block'])}"
        self.uses["loop"].add(table[code])
        return table[code]

    def hoist(self, eq: Eq, node: object, lvl: int, canon: list[str]) -> tuple[str, tuple[str, ...], bool]:
        mode = "setup" if lvl == 0 else "block"
        code, axes, plain = self.expr(eq, node, mode, canon)
        if plain:
            return code, axes, plain
        if mode == "setup":
            return self.expanded(code), axes, False
        table = self.hoisted["block"]
        if code not in table:
            table[code] = f"h{len(self.hoisted['setup']) + len(table)}"
        self.step_vars[table[code]] = None
        return f"v_{table[code]}", axes, False

    def ref(self, eq: Eq, node: Ref, mode: str, canon: list[str]) -> tuple[str, tuple[str, ...], bool]:
        name = resolve(self.m, eq, node)
        if name in TIME_NAMES:
            if name != "time":
                return repr(self.times[name]), (), True
            if mode in ("init", "loop"):
                return ("t" if mode == "loop" else repr(self.times["initial time"])), (), True
            if mode == "setup":
                raise _fail(self.m.info, eq, "internal error: Time in a constant expression")
            return "T", (), False
        if name in self.m.consts:
            ident, dims, lvl = self.m.consts[name], self.m.info.variables[name].dims, 0
        else:
            target = self.m.eqs[name]
            ident, dims, lvl = target.ident, target.dims, level(self.m, name, ())
        if mode in ("loop", "block") and lvl == 1:
            self.block_vars.add(name)
        if mode == "loop" and lvl == 1:
            self.step_vars[ident] = None
            base = f"v_{ident}"
        else:
            self.uses[mode].add(ident)
            base = ident
        if len(node.subs) != len(dims):
            raise _fail(self.m.info, eq, f"{node.name!r} has {len(dims)} subscript(s) {list(dims)}, "
                                    f"referenced with {len(node.subs)}")
        parts, axes = [], []
        subscripts = self.m.info.subscripts
        for (tok, bang), dim in zip(node.subs, dims):
            elements = subscripts[dim]
            if tok in subscripts:
                if list(subscripts[tok]) != list(elements):
                    raise _fail(self.m.info, eq, f"subscript {tok!r} of {node.name!r} does not match its range "
                                            f"{dim!r} (subranges and mappings are not supported)")
                axis = tok + ("!" if bang else "")
                if not bang and tok not in eq.dims:
                    raise _fail(self.m.info, eq, f"subscript {tok!r} of {node.name!r} is not a dimension of the "
                                            f"equation {list(eq.dims)}")
                if bang and axis not in canon:
                    canon.append(axis)
                if axis in axes:
                    raise _fail(self.m.info, eq, f"{node.name!r} uses subscript {tok!r} twice")
                parts.append(":")
                axes.append(axis)
                continue
            found = [i for i, e in enumerate(elements) if e.lower() == tok.lower()]
            if not found or bang:
                raise _fail(self.m.info, eq, f"unknown subscript {tok!r} in {node.name!r}; valid: "
                                        f"{dim}, {', '.join(elements)}")
            parts.append(str(found[0]))
        while parts and parts[-1] == ":":
            parts.pop()
        return (f"{base}[{', '.join(parts)}]" if parts else base), tuple(axes), False

    def axes_of(self, eq: Eq, node: object) -> tuple[str, ...]:
        """Subscript axes of ``node``'s value (ranges as named, ``!`` kept), in order of appearance."""
        if isinstance(node, Ref):
            name = resolve(self.m, eq, node)
            if name in TIME_NAMES:
                return ()
            subscripts = self.m.info.subscripts
            return tuple(tok + ("!" if bang else "") for tok, bang in node.subs if tok in subscripts)
        if isinstance(node, Call) and node.func in _REDUCE:
            return tuple(a for a in self.axes_of(eq, node.args[0]) if not a.endswith("!"))
        out: dict[str, None] = {}
        for child in _children(node):
            out.update(dict.fromkeys(self.axes_of(eq, child)))
        return tuple(out)

    def regrouped(self, eq: Eq) -> object:
        """``eq``'s tree regrouped for the time loop (see :mod:`.regroup`).

        ``eq`` is an auxiliary or a stock (whose tree is its net flow); its ``* /`` and ``+ -``
        chains are regrouped where that costs fewer level-2 operations.
        """
        info = ChainInfo(level=lambda n: node_level(self.m, eq, n), axes=lambda n: self.axes_of(eq, n),
                         size=lambda axes: prod(self.shape(axes)), is_float=lambda n: self.is_float(eq, n))
        return regroup(eq.tree, info)

    # ------------------------------------------------------------ statements
    def full(self, eq: Eq, node: object, mode: str) -> str:
        """Code of ``node`` as a full array of ``eq``'s dims (plus the batch axes)."""
        canon = list(eq.dims)
        code, axes, plain = self.expr(eq, node, mode, canon)
        if any(a.endswith("!") for a in axes):
            raise _fail(self.m.info, eq, "a '!' subscript outside SUM, VMAX or VMIN")
        code = _align(code, axes, eq.dims, plain)
        if plain or set(axes) != set(eq.dims):
            code = f"np.broadcast_to({code}, {self.shape(eq.dims)} + B)"
            if mode == "setup":  # used at every step: contiguous, not a broadcast view
                code = f"np.ascontiguousarray({code})"
        return code

    def shape(self, dims: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(len(self.m.info.subscripts[d.rstrip("!")]) for d in dims)


def _merge(canon: list[str], *axes_lists: tuple[str, ...]) -> tuple[str, ...]:
    present = set().union(*axes_lists) if axes_lists else set()
    return tuple(a for a in canon if a in present)


def _align(code: str, axes: tuple[str, ...], target: tuple[str, ...], plain: bool) -> str:
    if plain or tuple(axes) == tuple(target):
        return code
    rel = [a for a in target if a in axes]
    if rel != list(axes):
        code = f"_perm({code}, {tuple(axes.index(a) for a in rel)})"
    if len(rel) == len(target):
        return code
    idx = [":" if a in axes else "None" for a in target]
    while idx and idx[-1] == ":":
        idx.pop()
    if all(i == "None" for i in idx):  # only leading axes missing: numpy's broadcasting adds them
        return code
    return f"{code}[{', '.join(idx)}]"


def emit_source(model: Model, outputs: list[str], times: dict[str, float],
                loop_trees: Mapping[str, object] | None = None) -> str:
    """Python source of the five functions for ``outputs`` (canonical names) and ``times``.

    The time loop computes each equation (a level-2 auxiliary, a stock's net flow) from its
    tree regrouped (:mod:`.regroup`), or, if given, from ``loop_trees[name]`` as it stands
    (trees regrouped and then folded by :func:`sd_model.batch.zeros.fold_zeros`).

    Emission parses and unparses code with :mod:`ast` in several stages; it runs under
    :data:`.cse._AST_LOCK` because ``ast.parse`` in two threads at once can fail (see there).
    """
    with _AST_LOCK:
        return _emit_source(model, outputs, times, loop_trees)


def _closure(model: Model, start: set[str], keep) -> set[str]:
    """``start`` and the auxiliaries they need, through auxiliaries for which ``keep(name)`` holds."""
    eqs = model.eqs
    todo, seen = list(start), set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        e = eqs[n]
        todo.extend(d for d in refs(model, e, e.tree if e.kind == "aux" else e.init)
                    if d in eqs and eqs[d].kind == "aux" and keep(d))
    return seen


def loop_auxiliaries(model: Model) -> set[str]:
    """The auxiliaries the time loop computes: those of level 2 that the stocks' net flows need."""
    eqs = model.eqs
    stocks = [n for n, e in eqs.items() if e.kind == "stock"]
    flow_deps = set().union(*(refs(model, eqs[s], eqs[s].tree) for s in stocks)) if stocks else set()
    is_loop = lambda d: eqs[d].kind == "aux" and level(model, d, ()) == 2  # noqa: E731
    return _closure(model, {d for d in flow_deps if d in eqs and is_loop(d)}, is_loop)


def _emit_source(model: Model, outputs: list[str], times: dict[str, float],
                 loop_trees: Mapping[str, object] | None) -> str:
    em = _Emitter(model, times)
    eqs = model.eqs
    stocks = [n for n, e in eqs.items() if e.kind == "stock"]
    aux = {n: e for n, e in eqs.items() if e.kind == "aux"}
    lvl = {n: level(model, n, ()) for n in aux}
    loop_tree = em.regrouped if loop_trees is None else (lambda e: loop_trees[e.name])

    def deps(n: str) -> set[str]:
        e = eqs[n]
        return refs(model, e, e.tree if e.kind == "aux" else e.init)

    # setup: every level-0 auxiliary
    setup_names = order(model, {n for n in aux if lvl[n] == 0}, deps)
    setup = [f"    {eqs[n].ident} = {em.full(eqs[n], eqs[n].tree, 'setup')}" for n in setup_names]
    # init: stocks from their initial values (with the auxiliaries of level >= 1 they need)
    init_set = _closure(model, set(stocks), lambda d: lvl[d] >= 1) | set(stocks)
    init = []
    for n in order(model, init_set, deps):
        e = eqs[n]
        code = em.full(e, e.init if e.kind == "stock" else e.tree, "init")
        init.append(f"    {e.ident} = np.array({code}, dtype=float)" if e.kind == "stock"
                    else f"    {e.ident} = {code}")
    # loop: flows of every stock, with the level-2 auxiliaries they need
    loop_set = loop_auxiliaries(model)
    body = [(eqs[n].ident, em.full(eqs[n], loop_tree(eqs[n]), 'loop'))
            for n in order(model, loop_set, lambda n: refs(model, eqs[n], eqs[n].tree))]
    body += [(f"f_{eqs[s].ident}", em.full(eqs[s], loop_tree(eqs[s]), 'loop')) for s in stocks]
    flows = {f"f_{eqs[s].ident}": f"fv_{eqs[s].ident}" for s in stocks}  # net flows go into the buffer rows
    shared = [(name, restore_shared(code)) for name, code in eliminate_common_subexpressions(body)]
    # the auxiliaries (with the temporaries they use) come before every flow: common sub-expression
    # elimination puts a temporary before its first use, so one used by a flow only comes after
    loop_ids = {eqs[n].ident for n in loop_set}
    n_aux = 1 + max((i for i, (name, _) in enumerate(shared) if name in loop_ids), default=-1)
    aux_lines = [f"            {name} = {code}" for name, code in shared[:n_aux]]
    loop = [f"            {into(code, flows[name]) if name in flows else f'{name} = {code}'}"
            for name, code in shared[n_aux:]]
    groups = stock_groups([(eqs[s].ident, eqs[s].dims) for s in stocks])
    loop += update(groups, "            ")
    # block: the level-1 auxiliaries the loop uses, then the hoisted level-1 sub-expressions
    block_set = _closure(model, set(em.block_vars), lambda d: lvl[d] == 1)
    block = [f"    {eqs[n].ident} = {em.full(eqs[n], eqs[n].tree, 'block')}"
             for n in order(model, block_set, lambda n: refs(model, eqs[n], eqs[n].tree))]
    block += [f"    {name} = {code}" for code, name in em.hoisted["block"].items()]
    block_out = [eqs[n].ident for n in sorted(block_set)] + list(em.hoisted["block"].values())
    setup += [f"    {name} = {code}" for code, name in em.hoisted["setup"].items()]
    setup_out = [eqs[n].ident for n in setup_names] + list(em.hoisted["setup"].values())
    # post: requested auxiliaries of level >= 1 at all saved times, except those the loop computes:
    # the loop saves them (and the ones post reads) at the saved times, as it saves the stocks
    post_set = _closure(model, {n for n in outputs if n in aux and lvl[n] >= 1 and n not in loop_set},
                        lambda d: lvl[d] >= 1 and d not in loop_set)
    from_loop = [n for n in order(model, loop_set, lambda n: refs(model, eqs[n], eqs[n].tree))
                 if n in outputs or any(n in deps(m) for m in post_set)]
    save_aux = [f"saved[{eqs[n].ident!r}][k // every] = {eqs[n].ident}" for n in from_loop]
    post = [f"    {eqs[n].ident} = {em.full(eqs[n], eqs[n].tree, 'post')}"
            for n in order(model, post_set, lambda n: refs(model, eqs[n], eqs[n].tree))]

    stock_ids = {eqs[s].ident for s in stocks}
    ext = lambda mode, local: sorted(em.uses[mode] - local)  # noqa: E731
    lines = ["def setup(K, N):", "    B = (N,)"]
    lines += [f"    {u} = K[{u!r}]" for u in ext("setup", set(setup_out))] + setup
    lines += [f"    return {{{', '.join(f'{o!r}: {o}' for o in setup_out)}}}", "",
              "def init(K, N):", "    B = (N,)"]
    lines += [f"    {u} = K[{u!r}]" for u in ext("init", {eqs[n].ident for n in init_set})] + init
    lines += [f"    return {{{', '.join(f'{eqs[s].ident!r}: {eqs[s].ident}' for s in stocks)}}}", "",
              "def block(K, T, N):", "    B = (T.shape[0], N)"]
    block_reads = ext("block", {eqs[n].ident for n in block_set})
    lines += [f"    {u} = K[{u!r}][..., None, :]" for u in block_reads] + block
    lines += [f"    return {{{', '.join(f'{o!r}: _tfirst({o})' for o in block_out)}}}", "",
              f"BLOCK_READS = {tuple(block_reads)!r}", "",
              "def run(K, S, N, n_steps, every, saved, BT, KB=None):", "    B = (N,)",
              "    KB = K if KB is None else KB"]
    lines += [f"    {u} = K[{u!r}]" for u in ext("loop", stock_ids | {eqs[n].ident for n in loop_set})]
    lines += preamble(groups, "    ")
    lines += [f"    saved[{eqs[n].ident!r}] = np.empty((n_steps // every + 1,) + {em.shape(eqs[n].dims)} + B)"
              for n in from_loop]
    lines += ["    k = 0", "    while k < n_steps:", "        nb = min(BT, n_steps - k)",
              "        T = CLOCK[k:k + nb, None]",
              "        blk = block(KB, T, N)"]
    # one step's rows of the block arrays, unpacked by zip (views made in C, no indexing per use)
    step = list(em.step_vars)
    steps = (f"        for {''.join(f'v_{o}, ' for o in step)}in zip({', '.join(f'blk[{o!r}]' for o in step)}):"
             if step else "        for _ in range(nb):")
    lines += [steps, "            if k % every == 0:"]
    lines += [f"                saved[{eqs[s].ident!r}][k // every] = {eqs[s].ident}" for s in stocks]
    # the step's statements, each array released after its last reader (the save block is one unit)
    units = [[line] for line in aux_lines]
    if save_aux:
        units.append(["            if k % every == 0:"] + [f"                {line}" for line in save_aux])
    units += [[line] for line in loop]
    assigned = {name for name, _ in shared if name not in flows}
    lines += ["            t = CLOCK[k]"] + release_dead(units, assigned, "            ")
    lines += ["            k += 1", "    if k % every == 0:"]
    lines += [f"        saved[{eqs[s].ident!r}][k // every] = {eqs[s].ident}" for s in stocks]
    if save_aux:  # the auxiliaries at the last saved time: the loop's, once more, without a step
        lines += ["        nb = 1", "        blk = block(KB, CLOCK[k:k + 1, None], N)", steps,
                  "            t = CLOCK[k]"] + aux_lines + [f"            {line}" for line in save_aux]
    lines += ["    return saved", "", "def post(K, S, T, N):", "    B = (T.shape[0], N)"]
    post_local = {eqs[n].ident for n in post_set}
    read_saved = stock_ids | {eqs[n].ident for n in from_loop}
    for u in ext("post", post_local):
        lines.append(f"    {u} = np.moveaxis(S[{u!r}], 0, -2)" if u in read_saved
                     else f"    {u} = K[{u!r}][..., None, :]")
    lines += post + [f"    return {{{', '.join(f'{eqs[n].ident!r}: {eqs[n].ident}' for n in sorted(post_set))}}}", ""]
    lines.insert(0, f"t0 = {times['initial time']!r}\ndt = {times['time step']!r}\n")
    return "\n".join(lines)
