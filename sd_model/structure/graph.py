"""Causal links between model variables, read from the equations of the ``.mdl``.

A link ``a -> b`` exists when the name ``a`` appears in the equation of ``b``. Names are matched
as whole words, in any case and with ``_`` or spaces, longest name first (so ``Initial GDP per
Capita`` is not also read as ``GDP``). Stocks get their flows: ``Capital = INTEG(Investment -
Depreciation, ...)`` gives the inflow ``Investment`` and the outflow ``Depreciation`` when the
rate is a sum of plain variable names (otherwise the stock has no drawn flows, as in Simlin).
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path

from ..mdl import ModelInfo, normalize_name

__all__ = ["ModelGraph", "build_graph", "read_groups"]

_GROUP = re.compile(r"^\*{3,}\s*\n\s*\.(.+?)\s*\n\*{3,}", re.MULTILINE)


@dataclass(frozen=True)
class ModelGraph:
    """The causal structure of a model.

    Attributes
    ----------
    causes : {variable: tuple of the variables its equation uses}, every variable of the model.
    inflows, outflows : {stock: tuple of flow variables}; only stocks whose rate is a signed sum of names.
    groups : {variable: name of the ``.mdl`` group (``.Finance``) it is defined in, or ""}.
    kinds : {variable: "stock", "flow", "auxiliary", "constant" or "lookup"}.
    """

    causes: dict[str, tuple[str, ...]]
    inflows: dict[str, tuple[str, ...]]
    outflows: dict[str, tuple[str, ...]]
    groups: dict[str, str]
    kinds: dict[str, str]

    def users(self, name: str) -> list[str]:
        """Variables whose equation uses ``name``."""
        return [v for v, cs in self.causes.items() if name in cs]

    def flows(self) -> set[str]:
        """Every variable drawn as a flow (a valve on a stock's pipe)."""
        return {f for fs in (*self.inflows.values(), *self.outflows.values()) for f in fs}


def read_groups(path: str | Path, info: ModelInfo) -> dict[str, str]:
    """Return {variable: group name} from the ``****`` group headers of the ``.mdl`` ("" before the first)."""
    text = Path(path).read_text(encoding="utf-8", errors="replace").split("\\\\\\---///", 1)[0]
    heads = [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in _GROUP.finditer(text)]
    lines = [h[0] for h in heads]
    out = {}
    for name, var in info.variables.items():
        k = bisect.bisect(lines, var.line) - 1
        out[name] = heads[k][1] if k >= 0 else ""
    return out


def _name_pattern(names: list[str]) -> re.Pattern[str]:
    alts = []
    for n in sorted(names, key=len, reverse=True):
        words = normalize_name(n).split()
        alts.append(r"[\s_]+".join(re.escape(w) for w in words))
    return re.compile(r'(?<![\w.])"?(' + "|".join(alts) + r')"?(?![\w])', re.IGNORECASE)


def _split_integ(rhs: str) -> str | None:
    """The rate argument of ``INTEG(rate, init)``, or None."""
    m = re.match(r"\s*INTEG\s*\(", rhs, re.IGNORECASE)
    if not m:
        return None
    depth, start = 0, m.end()
    for i in range(start, len(rhs)):
        c = rhs[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            return rhs[start:i]
    return None


def build_graph(info: ModelInfo, path: str | Path | None = None) -> ModelGraph:
    """Return the :class:`ModelGraph` of the model described by ``info`` (file ``path``, default ``info.path``)."""
    names = list(info.variables)
    pattern = _name_pattern(names)
    key = {normalize_name(n): n for n in names}

    def refs(text: str) -> list[str]:
        text = re.sub(r"\[[^\]]*\]", " ", text)  # subscripts are not variables
        found: list[str] = []
        for m in pattern.finditer(text):
            n = key.get(normalize_name(m.group(1)))
            if n and n not in found:
                found.append(n)
        return found

    causes: dict[str, tuple[str, ...]] = {}
    inflows: dict[str, tuple[str, ...]] = {}
    outflows: dict[str, tuple[str, ...]] = {}
    for name, var in info.variables.items():
        eq = var.equation if var.kind != "lookup" else ""
        causes[name] = tuple(r for r in refs(eq) if r != name or var.kind == "stock")
        if var.kind == "stock":
            rate = _split_integ(var.equation)
            terms = re.findall(r"([+-]?)\s*([^+\-]+)", re.sub(r"\[[^\]]*\]", "", rate or ""))
            ins: list[str] = []
            outs: list[str] = []
            for sign, term in terms:
                n = key.get(normalize_name(term))
                if n is None or info.variables[n].kind != "auxiliary":
                    ins, outs = [], []
                    break
                (outs if sign == "-" else ins).append(n)
            inflows[name], outflows[name] = tuple(ins), tuple(outs)
    flows = {f for fs in (*inflows.values(), *outflows.values()) for f in fs}
    kinds = {n: ("flow" if n in flows else v.kind) for n, v in info.variables.items()}
    groups = read_groups(path or info.path, info)
    return ModelGraph(causes=causes, inflows=inflows, outflows=outflows, groups=groups, kinds=kinds)
