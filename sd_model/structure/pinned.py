"""The named loops of ``vensim/loops.toml`` as concrete cycles of array elements, always scored.

A named loop lists its variables in causal order, every one a direct input of the next (the last
of the first); a SMOOTHI between them counts as direct (its hidden stock is put into the cycle).
On the arrayed model each named loop has *variants*: one per choice of array elements that closes
the cycle (``GDP[East] -> Savings[East] -> ...``, and, where the loop runs through a Region x Dest
variable or a national total, the variants through other regions). Every variant is enumerated
(up to :data:`MAX_VARIANTS`) and scored with :class:`~sd_model.structure.link_scores.LinkScorer`.
A variant is *in-region* when all its array elements are one region (national totals allowed).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ..errors import SDModelError
from ..mdl import normalize_name
from .link_scores import LinkScorer, Node

__all__ = ["PinnedVariant", "resolve_named", "variable_path", "MAX_VARIANTS"]

#: Largest number of element variants scored per named loop.
MAX_VARIANTS = 256


@dataclass(frozen=True)
class PinnedVariant:
    """One element-level cycle of a named loop: its nodes (hidden SMOOTHI stocks included) and region."""

    loop: str
    nodes: tuple[Node, ...]
    region: str  # a region name when every element is that region, else "cross-region"


def _hidden(name: str) -> bool:
    return name.startswith("SMOOTHI ")


def variable_path(scorer: LinkScorer, a: str, b: str, limit: int = 12) -> list[str] | None:
    """Shortest chain of variables a -> ... -> b through the equations (hidden stocks dropped), or None."""
    users = scorer.users()
    prev: dict[str, str | None] = {a: None}
    todo = deque([a])
    while todo:
        n = todo.popleft()
        for m in sorted(users.get(n, ())):
            if m in prev:
                continue
            prev[m] = n
            if m == b:
                path = [b]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])  # type: ignore[arg-type]
                out = [p for p in reversed(path) if not _hidden(p)]
                return out if len(out) <= limit else None
            todo.append(m)
    return None


def _direct(users: dict[str, set[str]], a: str, b: str) -> bool:
    if b in users.get(a, ()):
        return True
    return any(_hidden(h) and b in users.get(h, ()) for h in users.get(a, ()))


def _check_names(scorer: LinkScorer, loop, where: str) -> list[str]:
    names = []
    for v in loop.variables:
        name = scorer.model.index.get(normalize_name(v))
        if name is not None and (name in scorer.model.consts or name in scorer.model.lookups):
            raise SDModelError(f"{where}: loop {loop.name!r}: {v!r} does not change over time (a constant or lookup), "
                               f"so no loop runs through it")
        if name is None or name not in scorer.model.eqs:
            raise SDModelError(f"{where}: loop {loop.name!r}: unknown variable {v!r} (no stock or auxiliary of that "
                               f"name in {scorer.info.path.name})")
        if not scorer.dynamic(name):
            raise SDModelError(f"{where}: loop {loop.name!r}: {v!r} does not change over time, so no loop runs "
                               f"through it")
        names.append(name)
    if len(set(names)) != len(names):
        raise SDModelError(f"{where}: loop {loop.name!r} lists a variable twice")
    users = scorer.users()
    for a, b in zip(names, names[1:] + names[:1]):
        if not _direct(users, a, b):
            path = variable_path(scorer, a, b)
            hint = (f"; the shortest chain is {' -> '.join(path)}" if path
                    else f"; {b!r} does not depend on {a!r} at all")
            raise SDModelError(f"{where}: loop {loop.name!r} is not a cycle of the model: no link {a!r} -> {b!r} "
                               f"(the equation of {b!r} does not use {a!r}){hint}")
    if not any(scorer.eq(n).kind == "stock" for n in names):
        raise SDModelError(f"{where}: loop {loop.name!r} passes through no stock")
    return names


def _steps(scorer: LinkScorer, node: Node, target: str) -> list[tuple[Node, ...]]:
    """Ways from ``node`` to an element of ``target``: (target,) or (hidden stock, target)."""
    out: list[tuple[Node, ...]] = []
    for idx in scorer.elements(target):
        m = (target, idx)
        inputs = scorer.inputs(m)
        if node in inputs:
            out.append((m,))
        for h in inputs:
            if _hidden(h[0]) and node in scorer.inputs(h):
                out.append((h, m))
    return out


def _region(scorer: LinkScorer, nodes: tuple[Node, ...]) -> str:
    seen = {i for _, idx in nodes for i in idx}
    if len(seen) == 1:
        dims = next(scorer.dims(n) for n, idx in nodes if idx)
        return scorer.info.subscripts[dims[0]][seen.pop()]
    return "cross-region" if seen else "national"


def _walk(scorer: LinkScorer, loop: str, names: list[str], path: tuple[Node, ...], k: int,
          found: list[PinnedVariant]) -> None:
    """Depth-first: extend ``path`` (ending at an element of names[k]) to the next variable, closing the cycle."""
    if len(found) >= MAX_VARIANTS:
        return
    for step in _steps(scorer, path[-1], names[(k + 1) % len(names)]):
        if k + 1 == len(names):
            if step[-1] == path[0] and not set(step[:-1]) & set(path):
                nodes = path + step[:-1]
                found.append(PinnedVariant(loop, nodes, _region(scorer, nodes)))
        elif not set(step) & set(path):
            _walk(scorer, loop, names, path + step, k + 1, found)


def resolve_named(scorer: LinkScorer, loops, where: str = "loops file") -> dict[str, list[PinnedVariant]]:
    """{loop name: every element-level variant of the cycle}; raises SDModelError naming a bad loop or link."""
    out: dict[str, list[PinnedVariant]] = {}
    for loop in loops:
        names = _check_names(scorer, loop, where)
        found: list[PinnedVariant] = []
        for idx in scorer.elements(names[0]):
            _walk(scorer, loop.name, names, ((names[0], idx),), 0, found)
        if not found:
            raise SDModelError(f"{where}: loop {loop.name!r}: its links exist between the variables but no choice of "
                               f"array elements closes the cycle")
        out[loop.name] = found
    return out


def parse_node(scorer: LinkScorer, text: str) -> Node | None:
    """``credit_flow[east,west]`` (Simlin's spelling) -> node, or None for Simlin's internal variables."""
    base, _, rest = text.partition("[")
    name = scorer.model.index.get(normalize_name(base))
    if name is None or name not in scorer.model.eqs:
        return None
    els = [e.strip().lower() for e in rest.rstrip("]").split(",")] if rest else []
    dims = scorer.dims(name)
    if len(els) != len(dims):
        return None
    try:
        idx = tuple([x.lower() for x in scorer.info.subscripts[d]].index(e) for d, e in zip(dims, els))
    except ValueError:
        return None
    return (name, idx)


def cycle_of(scorer: LinkScorer, variables) -> tuple[Node, ...] | None:
    """The element cycle of a loop Simlin discovered (its variable names), hidden stocks put back; None if unmapped."""
    nodes = [n for n in (parse_node(scorer, v) for v in variables) if n is not None]
    if len(nodes) < 1:
        return None
    out: list[Node] = []
    for a, b in zip(nodes, nodes[1:] + nodes[:1]):
        out.append(a)
        if a in scorer.inputs(b):
            continue
        hidden = [h for h in scorer.inputs(b) if _hidden(h[0]) and a in scorer.inputs(h)]
        if not hidden:
            return None
        out.append(hidden[0])
    return tuple(out)
