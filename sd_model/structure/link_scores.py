"""Loops That Matter link scores per array element, computed from the batch engine's equations.

Schoenberg, Davidsen & Eberlein (2020), *Understanding model behavior using the Loops that Matter
method*, System Dynamics Review 36(2), with the flow-to-stock correction of Schoenberg, Hayward &
Eberlein (2023), System Dynamics Review 39(2). For a link x -> z over one time step [t - dt, t]:

    score = |D_x z / D z| * sign(D_x z / D x)   (0 when D z = 0 or D x = 0)

with D z = z(t) - z(t - dt), D x likewise, and D_x z = f(x(t), others(t - dt)) - z(t - dt): the
target equation re-evaluated with only x (one array element of it) at its new value. For a link
into a stock the target is the stock's net rate (``INTEG``'s first argument), which gives the
2023 flow-to-stock score (|D flow / D net flow|, sign +1 for an inflow and -1 for an outflow) and
generalises it to rates that are expressions. The score over [t - dt, t] is labelled t (as Simlin).

Why not Simlin's scores: pysimlin 0.8.5 gives link scores per *variable* (``Sim.get_links``), not per
array element, and its loop pinning does not resolve the named loops of this arrayed model (see
docs/structure.md). The equations, the run and the re-evaluation all come from the batch engine
(``sd_model.batch``): one run saved at every time step, and each target equation compiled once
into a function of its inputs.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..batch.emit import _Emitter
from ..batch.engine import BLOCK_STEPS, BatchModel
from ..batch.translate import Bin, Call, Eq, Ref, Unary, level, resolve
from ..errors import SDModelError

__all__ = ["Node", "LinkScorer", "node_label", "equation_refs"]

#: An array element of a model quantity: (canonical name, element indices by its dims).
Node = tuple[str, tuple[int, ...]]


def equation_refs(node: object) -> Iterator[Ref]:
    """Every variable reference in an equation tree (depth first)."""
    if isinstance(node, Ref):
        yield node
    elif isinstance(node, Call):
        for a in node.args:
            yield from equation_refs(a)
    elif isinstance(node, Unary):
        yield from equation_refs(node.arg)
    elif isinstance(node, Bin):
        yield from equation_refs(node.left)
        yield from equation_refs(node.right)


def node_label(info, node: Node, dims: tuple[str, ...]) -> str:
    """``GDP[East]``, ``Credit Flow[East,West]``, ``National Lending Capacity``; SMOOTHI stocks by their owner."""
    name, idx = node
    if name.startswith("SMOOTHI "):
        name = "smooth of " + name.split(" of ", 1)[1]
    if not idx:
        return name
    return f"{name}[{','.join(info.subscripts[d][i] for d, i in zip(dims, idx))}]"


class LinkScorer:
    """One run of a model (batch engine, saved every time step) and its element link scores.

    Parameters
    ----------
    model : path of the Vensim model.
    params : scenario constants (``Scenario.params`` after validation).
    final_time, time_step : float, optional
        End of the run and TIME STEP (Year); default the model's.

    Attributes
    ----------
    times : ndarray
        Times (Year) at which link scores are defined: every step after INITIAL TIME.
    """

    def __init__(self, model: str | Path, params: Mapping[str, Any] | None = None, *,
                 final_time: float | None = None, time_step: float | None = None) -> None:
        self.batch = BatchModel(model)
        self.info, self.model = self.batch.info, self.batch.model
        names = [n for n in self.info.variables if self.info.variables[n].kind != "lookup"]
        sim = self.batch.compile(names, final_time=final_time, time_step=time_step,
                                 saveper=time_step or self.info.time_step)
        self._sim = sim
        fn = sim._fn
        with np.errstate(all="ignore"):
            K = sim.constants(1, params or {})
            K = {**K, **fn["setup"](K, 1)}
            S = fn["init"](K, 1)
            saved = {ident: np.empty((len(sim.times), *arr.shape)) for ident, arr in S.items()}
            fn["run"](K, S, 1, sim.n_steps, sim.every, saved, BLOCK_STEPS)
            post = fn["post"](K, saved, sim.times[:, None], 1)
        self._K = K
        self._values: dict[str, np.ndarray] = {i: np.moveaxis(a, 0, -2) for i, a in saved.items()}
        self._values.update(post)
        self._t = sim.times
        self.times = sim.times[1:]
        self._fns: dict[str, tuple[Any, tuple[str, ...]]] = {}
        self._rates: dict[str, np.ndarray] = {}
        self._cache: dict[tuple[Node, Node], np.ndarray] = {}
        self._inputs: dict[Node, tuple[Node, ...]] = {}
        self._users: dict[str, set[str]] | None = None
        self._names = {e.ident: n for n, e in self.model.eqs.items()}  # ident -> name
        self._dyn = {self.model.eqs[n].ident for n in self.model.eqs if self.dynamic(n)}

    # ------------------------------------------------------------ structure
    def eq(self, name: str) -> Eq:
        """The translated equation of a stock or auxiliary."""
        return self.model.eqs[name]

    def dims(self, name: str) -> tuple[str, ...]:
        """Subscript ranges of ``name``."""
        return self.model.eqs[name].dims if name in self.model.eqs else self.info.variables[name].dims

    def label(self, node: Node) -> str:
        """Readable name of an array element (see :func:`node_label`)."""
        return node_label(self.info, node, self.dims(node[0]))

    def dynamic(self, name: str) -> bool:
        """True for stocks and auxiliaries that change over time (level >= 1)."""
        return name in self.model.eqs and level(self.model, name, ()) >= 1

    def elements(self, name: str) -> list[tuple[int, ...]]:
        """Every element index tuple of ``name`` (``[()]`` for a scalar)."""
        return list(itertools.product(*[range(len(self.info.subscripts[d])) for d in self.dims(name)]))

    def users(self) -> dict[str, set[str]]:
        """{variable: the changing variables whose equation (a stock: its rate) uses it}, built once."""
        if self._users is None:
            self._users = {}
            for name, eq in self.model.eqs.items():
                if not self.dynamic(name):
                    continue
                for ref in equation_refs(eq.tree):
                    src = resolve(self.model, eq, ref)
                    if self.dynamic(src):
                        self._users.setdefault(src, set()).add(name)
        return self._users

    def inputs(self, node: Node) -> tuple[Node, ...]:
        """The changing array elements the equation of ``node`` uses (its rate for a stock)."""
        if node in self._inputs:
            return self._inputs[node]
        name, idx = node
        eq = self.eq(name)
        out: list[Node] = []
        for ref in equation_refs(eq.tree):
            src = resolve(self.model, eq, ref)
            if not self.dynamic(src):
                continue
            sdims, choices = self.dims(src), []
            for (tok, bang), dim in zip(ref.subs, sdims):
                if tok in self.info.subscripts:
                    choices.append(range(len(self.info.subscripts[dim])) if bang else [idx[eq.dims.index(tok)]])
                else:
                    choices.append([[e.lower() for e in self.info.subscripts[dim]].index(tok.lower())])
            out += [(src, c) for c in itertools.product(*choices) if (src, c) not in out]
        self._inputs[node] = tuple(out)
        return self._inputs[node]

    # ------------------------------------------------------------ numbers
    def series(self, name: str) -> np.ndarray:
        """Values of a stock or auxiliary at every saved step, shape (*dims, T, 1)."""
        ident = self.eq(name).ident
        if ident in self._values:
            return self._values[ident]
        return np.broadcast_to(self._K[ident][..., None, :], (*self._K[ident].shape[:-1], len(self._t), 1))

    def _fn(self, name: str) -> tuple[Any, tuple[str, ...]]:
        if name not in self._fns:
            eq = self.eq(name)
            step = float(self._t[1] - self._t[0])
            em = _Emitter(self.model, {"initial time": self.info.initial_time, "final time": float(self._t[-1]),
                                       "time step": step, "saveper": step})
            code = em.full(eq, eq.tree, "post")
            used = tuple(sorted(em.uses["post"]))
            dyn = self._dyn
            lines = ["def f(V, K, T):", "    B = (T.shape[0], 1)"]
            lines += [f"    {u} = V[{u!r}]" if u in dyn else f"    {u} = K[{u!r}][..., None, :]" for u in used]
            lines.append(f"    return {code}")
            ns = dict(self._sim._fn)
            exec(compile("\n".join(lines), f"<link score of {name}>", "exec"), ns)  # noqa: S102
            self._fns[name] = (ns["f"], tuple(u for u in used if u in dyn))
        return self._fns[name]

    def evaluate(self, name: str, V: Mapping[str, np.ndarray], T: np.ndarray) -> np.ndarray:
        """The equation of ``name`` (a stock: its net rate) on inputs ``V`` {ident: (*dims, T, 1)} at times ``T``."""
        f, _ = self._fn(name)
        with np.errstate(all="ignore"):
            return np.asarray(f(V, self._K, T[:, None]), dtype=float)

    def target_values(self, name: str) -> np.ndarray:
        """What a link into ``name`` changes: the auxiliary itself, or a stock's net rate; (*dims, T, 1)."""
        if self.eq(name).kind == "aux":
            return self.series(name)
        if name not in self._rates:
            _, used = self._fn(name)
            self._rates[name] = self.evaluate(name, {u: self.series(self._names[u]) for u in used}, self._t)
        return self._rates[name]

    def link_score(self, src: Node, dst: Node) -> np.ndarray:
        """Link score of ``src -> dst`` at :attr:`times` (dimensionless; 0 where undefined)."""
        key = (src, dst)
        if key in self._cache:
            return self._cache[key]
        if src not in self.inputs(dst):
            raise SDModelError(f"no link {self.label(src)} -> {self.label(dst)} in the equations of {self.info.path}")
        (xname, xi), (zname, zi) = src, dst
        _, used = self._fn(zname)
        V = {u: self.series(self._names[u])[..., :-1, :] for u in used}
        xid = self.eq(xname).ident
        x = self.series(xname)
        moved = np.array(V[xid])
        moved[xi] = x[xi][..., 1:, :]
        V[xid] = moved
        z = self.target_values(zname)
        part = self.evaluate(zname, V, self._t[:-1])[zi][:, 0] - z[zi][:-1, 0]
        dz = np.diff(z[zi][:, 0])
        dx = np.diff(x[xi][:, 0])
        with np.errstate(all="ignore"):
            score = np.abs(part / dz) * np.sign(part / dx)
        score = np.where((dz == 0) | (dx == 0) | ~np.isfinite(score), 0.0, score)
        self._cache[key] = score
        return score

    def loop_score(self, nodes: tuple[Node, ...]) -> np.ndarray:
        """Product of the link scores around the cycle ``nodes`` (last links back to first), at :attr:`times`."""
        out = np.ones(len(self.times))
        for a, b in zip(nodes, nodes[1:] + nodes[:1]):
            out = out * self.link_score(a, b)
        return out
