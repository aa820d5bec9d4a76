"""Automatic layout of one sector view: stock band on top, auxiliaries in rows below, shadows last.

- Stocks sit in a band (at most :data:`STOCKS_PER_ROW` per row); a flow joining two stocks of the
  view puts them side by side with its valve between them. Otherwise the first inflow comes from a
  cloud on the left, the first outflow goes to a cloud on the right, further inflows come from above
  and further outflows go below.
- The other variables of the view are ranked by their longest chain of causes inside the view
  (links into stocks cut, since every feedback loop passes through a stock); the highest rank is
  drawn just under the stock band. Constants and shadow variables (causes that live in another
  view) hang in the row just below the first variable they act on. Rows wrap at :data:`PER_ROW`;
  within a row each variable sits as near the mean x of its linked variables as the spacing
  allows (barycentre heuristic, three sweeps).

Coordinates are Vensim sketch pixels (origin top-left, y down).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .graph import ModelGraph

__all__ = ["Node", "Pipe", "Arrow", "ViewLayout", "layout_view", "STOCKS_PER_ROW", "PER_ROW"]

STOCKS_PER_ROW = 3
PER_ROW = 7
COL = 190          # column spacing of auxiliaries (px)
ROW = 80           # row spacing (px)
STOCK_CELL = 480   # horizontal room of one stock with its two side flows (px)


@dataclass
class Node:
    """A drawn object.

    ``kind`` is stock, aux, flow (the valve; the name is drawn under it), cloud or shadow.
    """

    name: str
    kind: str
    x: float
    y: float


@dataclass(frozen=True)
class Pipe:
    """A flow pipe.

    ``flow`` runs from ``source`` to ``sink`` (stock names, or ``None`` for a cloud, whose node is
    ``source_cloud``/``sink_cloud``).
    """

    flow: str
    source: str | None
    sink: str | None
    source_cloud: int | None = None
    sink_cloud: int | None = None


@dataclass(frozen=True)
class Arrow:
    """An information link from ``cause`` to ``effect`` (the shadow of ``cause`` if ``shadow``)."""

    cause: str
    effect: str
    shadow: bool


@dataclass
class ViewLayout:
    """Positions of everything drawn in one view."""

    name: str
    title: str
    nodes: dict[str, Node] = field(default_factory=dict)      # primary variables and flows, by name
    shadows: dict[str, Node] = field(default_factory=dict)    # shadow variables, by name
    clouds: list[Node] = field(default_factory=list)
    pipes: list[Pipe] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)

    def size(self) -> tuple[float, float]:
        """Width and height (px) of the drawn area."""
        pts = [*self.nodes.values(), *self.shadows.values(), *self.clouds]
        return (max((p.x for p in pts), default=0) + 120, max((p.y for p in pts), default=0) + 60)


def _stock_rows(stocks: list[str], graph: ModelGraph) -> list[list[str]]:
    """Order stocks so that stocks joined by a flow are neighbours, then cut into rows."""
    nxt: dict[str, str] = {}
    prev: set[str] = set()
    for a in stocks:
        for f in graph.outflows.get(a, ()):
            for b in stocks:
                if b != a and f in graph.inflows.get(b, ()) and a not in nxt and b not in prev:
                    nxt[a] = b
                    prev.add(b)
    order: list[str] = []
    for s in stocks:
        if s in prev or s in order:
            continue
        cur: str | None = s
        while cur and cur not in order:
            order.append(cur)
            cur = nxt.get(cur)
    order += [s for s in stocks if s not in order]
    return [order[i:i + STOCKS_PER_ROW] for i in range(0, len(order), STOCKS_PER_ROW)]


def layout_view(name: str, title: str, members: list[str], graph: ModelGraph) -> ViewLayout:
    """Lay out the view ``name`` holding the variables ``members`` (in model order)."""
    lay = ViewLayout(name, title)
    members_set = set(members)
    stocks = [v for v in members if graph.kinds[v] == "stock"]
    flow_names = graph.flows()
    x0, y = 160.0, 190.0
    placed_flows: set[str] = set()

    def cloud(x: float, y: float) -> int:
        lay.clouds.append(Node("", "cloud", x, y))
        return len(lay.clouds) - 1

    for row in _stock_rows(stocks, graph):
        x = x0
        for i, s in enumerate(row):
            ins = [f for f in graph.inflows.get(s, ()) if f in members_set]
            outs = [f for f in graph.outflows.get(s, ()) if f in members_set]
            if i > 0 and any(f in graph.outflows.get(row[i - 1], ()) for f in ins):
                x += STOCK_CELL * 0.6
            elif i > 0:
                x += STOCK_CELL
            else:
                x += STOCK_CELL / 2
            lay.nodes[s] = Node(s, "stock", x, y)
            side_in = True
            for k, f in enumerate(ins):
                if f in placed_flows:
                    continue
                src = next((p for p in row[:i] if f in graph.outflows.get(p, ())), None)
                if src is not None:  # stock-to-stock flow: valve between the two stocks
                    n_between = sum(1 for p in lay.pipes if p.source == src and p.sink == s)
                    lay.nodes[f] = Node(f, "flow", (lay.nodes[src].x + x) / 2, y + 60 * n_between)
                    lay.pipes.append(Pipe(f, src, s))
                    side_in = False
                elif side_in:
                    lay.nodes[f] = Node(f, "flow", x - 120, y)
                    lay.pipes.append(Pipe(f, None, s, source_cloud=cloud(x - 210, y)))
                    side_in = False
                else:
                    dx = -30 + 60 * (k % 2)
                    lay.nodes[f] = Node(f, "flow", x + dx, y - 100)
                    lay.pipes.append(Pipe(f, None, s, source_cloud=cloud(x + dx, y - 170)))
                placed_flows.add(f)
            # the right-hand side is taken by a flow into the next stock of the row, if any
            side_out = not any(f in graph.inflows.get(q, ()) for f in outs for q in row[i + 1:])
            for k, f in enumerate(outs):
                if f in placed_flows:
                    continue
                dst = next((q for q in row[i + 1:] if f in graph.inflows.get(q, ())), None)
                if dst is not None:
                    continue  # drawn when the sink stock is placed
                if side_out:
                    lay.nodes[f] = Node(f, "flow", x + 120, y)
                    lay.pipes.append(Pipe(f, s, None, sink_cloud=cloud(x + 210, y)))
                    side_out = False
                else:
                    dx = -30 + 60 * (k % 2)
                    lay.nodes[f] = Node(f, "flow", x + dx, y + 75)
                    lay.pipes.append(Pipe(f, s, None, sink_cloud=cloud(x + dx, y + 140)))
                placed_flows.add(f)
        y += 230
    y = y - (230 - 150) if stocks else 40.0  # views without stocks start at the top
    # flows of the view whose stock is elsewhere are drawn as ordinary variables
    rest = [v for v in members if v not in lay.nodes]
    shadows: list[str] = []
    for v in members:
        for c in graph.causes[v]:
            if c not in members_set and c not in shadows:
                shadows.append(c)
    for v in members:
        for c in graph.causes[v]:
            pipe = graph.kinds[v] == "stock" and c in flow_names and c in lay.nodes
            if not pipe and c != v:
                lay.arrows.append(Arrow(c, v, c not in members_set))
    # rank: longest chain of causes inside the view, links into stocks cut
    rank: dict[str, int] = {}

    def depth(v: str, seen: tuple[str, ...] = ()) -> int:
        if v in rank:
            return rank[v]
        if v in seen or v in lay.nodes and graph.kinds[v] == "stock":
            return 0
        cs = [c for c in graph.causes[v] if c in members_set and graph.kinds[c] != "stock"]
        rank[v] = 1 + max((depth(c, seen + (v,)) for c in cs), default=-1)
        return rank[v]

    for v in rest:
        depth(v)
    # variables with causes in the view are layered by rank; the others (constants, inputs from
    # elsewhere) and the shadows hang in the row just below the first variable they act on
    inner = [v for v in rest if rank[v] > 0 or not any(v in graph.causes[u] for u in members)]
    ranks = sorted({rank[v] for v in inner}, reverse=True)
    rows: list[list[str]] = []
    for r in ranks:
        group = [v for v in inner if rank[v] == r]
        rows += [group[i:i + PER_ROW] for i in range(0, len(group), PER_ROW)]
    row_of = {v: k for k, row in enumerate(rows) for v in row}
    extra: dict[int, list[str]] = {}
    for v in [*(v for v in rest if v not in row_of), *shadows]:
        effects = [a.effect for a in lay.arrows if a.cause == v]
        k = min((row_of[e] + 1 if e in row_of else 0 for e in effects), default=len(rows))
        extra.setdefault(k, []).append(v)
    merged: list[list[str]] = []
    for k in range(len(rows) + 1):
        group = (rows[k] if k < len(rows) else []) + extra.get(k, [])
        merged += [group[i:i + PER_ROW + 1] for i in range(0, len(group), PER_ROW + 1)]
    rows = merged
    neighbours: dict[str, set[str]] = {}
    for a in lay.arrows:
        neighbours.setdefault(a.cause, set()).add(a.effect)
        neighbours.setdefault(a.effect, set()).add(a.cause)
    width = max(PER_ROW * COL, (max((n.x for n in lay.nodes.values()), default=0) + 250))

    def node(v: str) -> Node:
        return lay.shadows.get(v) or lay.nodes[v]

    def barycentre(v: str, default: float) -> float:
        xs = [node(n).x for n in neighbours.get(v, ()) if n in lay.nodes or n in lay.shadows]
        return math.fsum(xs) / len(xs) if xs else default  # fsum: exact, so set order cannot matter

    def spread(row: list[str], targets: dict[str, float]) -> None:
        """Put each variable of the row as near its target x as the minimum spacing allows."""
        ordered = sorted(row, key=lambda v: targets[v])
        pos: list[float] = []
        for v in ordered:
            pos.append(targets[v] if not pos else max(targets[v], pos[-1] + COL))
        shift = sum(p - targets[v] for p, v in zip(pos, ordered)) / len(ordered)
        shift = min(shift, pos[0] - x0)  # keep the row right of the left margin
        for j, v in enumerate(ordered):
            node(v).x = pos[j] - shift
            # stagger crowded rows so that labels do not touch
            node(v).y = ys[id(row)] + (18 if j % 2 and len(ordered) > 4 else 0)

    ys: dict[int, float] = {}
    for row in rows:
        y += ROW
        ys[id(row)] = y
        for v in row:  # first sweep, top down: targets from the rows above
            is_shadow = v in shadows and v not in members_set
            (lay.shadows if is_shadow else lay.nodes)[v] = Node(v, "shadow" if is_shadow else "aux", 0.0, y)
        spread(row, {v: barycentre(v, width / 2) for v in row})
    for _ in range(2):  # further sweeps: targets from every placed neighbour, above and below
        for row in rows:
            spread(row, {v: barycentre(v, node(v).x) for v in row})
    return lay
