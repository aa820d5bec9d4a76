"""Parse the right-hand side of a Vensim equation into a small expression tree.

Only the constructs the shipped model uses are accepted (see :data:`FUNCTIONS`); anything
else raises :class:`UnsupportedError` naming the construct. The tree is plain data:

* ``Num(value)``
* ``Ref(name, subs)`` - a variable, ``Time`` or a time-control constant; ``subs`` is a tuple
  of ``(token, bang)`` with the subscript (range, alias or element name as written) and
  whether it carries ``!``
* ``Call(func, args)`` - a built-in function (upper case, e.g. ``"IF THEN ELSE"``) or a
  lookup table called with one argument (``func`` = the table's name as written)
* ``Unary(op, arg)`` - ``"-"``, ``"+"`` or ``":NOT:"``
* ``Bin(op, left, right)`` - ``+ - * / ^ = <> < > <= >= :AND: :OR:``

Operator precedence, loosest first: ``:OR:``, ``:AND:``, ``:NOT:``, comparisons, ``+ -``,
``* /``, unary ``- +``, ``^`` (so ``-x^2`` is ``-(x^2)``, as in Vensim and PySD).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Num", "Ref", "Call", "Unary", "Bin", "parse", "UnsupportedError", "FUNCTIONS"]

#: Built-in functions and their number of arguments.
FUNCTIONS = {"MIN": 2, "MAX": 2, "EXP": 1, "LN": 1, "SQRT": 1, "ABS": 1, "SUM": 1, "VMAX": 1, "VMIN": 1,
             "IF THEN ELSE": 3, "INTEG": 2, "SMOOTHI": 3}


class UnsupportedError(ValueError):
    """The equation uses a construct the batch engine does not translate."""


@dataclass(frozen=True)
class Num:
    """A number."""

    value: float


@dataclass(frozen=True)
class Ref:
    """A variable, ``Time`` or a time-control constant, with its subscripts."""

    name: str
    subs: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True)
class Call:
    """A built-in function or a lookup table called with its arguments."""

    func: str
    args: tuple


@dataclass(frozen=True)
class Unary:
    """A unary operator and its operand."""

    op: str
    arg: object


@dataclass(frozen=True)
class Bin:
    """A binary operator and its operands."""

    op: str
    left: object
    right: object


_TOKEN = re.compile(r"""\s*(?:
    (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>"[^"]*"|[A-Za-z_][A-Za-z0-9_ $'&%.]*)
  | (?P<op>:AND:|:OR:|:NOT:|<=|>=|<>|[-+*/^(),\[\]!=<>])
)""", re.VERBOSE | re.IGNORECASE)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise UnsupportedError(f"cannot read {text[pos:pos + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "name":
            value = " ".join(value.strip().strip('"').split())
        elif kind == "op":
            value = value.upper()
        out.append((kind, value))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise UnsupportedError(f"unexpected end of equation (expected {expected or 'more'})")
        tok = self.toks[self.i]
        if expected is not None and tok[1] != expected:
            raise UnsupportedError(f"expected {expected!r}, found {tok[1]!r}")
        self.i += 1
        return tok

    def binary(self, level: int):
        ops = _LEVELS[level]
        if ops is None:
            return self.unary()
        if ops == (":NOT:",):
            if self.peek() == ":NOT:":
                self.take()
                return Unary(":NOT:", self.binary(level))
            return self.binary(level + 1)
        left = self.binary(level + 1)
        while self.peek() in ops:
            left = Bin(self.take()[1], left, self.binary(level + 1))
        return left

    def unary(self, exponent: bool = False):
        """Signs, then a power (or, for the ``exponent`` after ``^``, an atom)."""
        if self.peek() in ("-", "+"):
            return Unary(self.take()[1], self.unary(exponent))
        return self.atom() if exponent else self.power()

    def power(self):
        base = self.atom()
        if self.peek() == "^":
            self.take()
            exponent = self.unary(exponent=True)
            if self.peek() == "^":
                raise UnsupportedError("chained '^' (a ^ b ^ c); add parentheses")
            return Bin("^", base, exponent)
        return base

    def atom(self):
        kind, value = self.take()
        if kind == "num":
            return Num(float(value))
        if value == "(":
            inner = self.binary(0)
            self.take(")")
            return inner
        if kind != "name":
            raise UnsupportedError(f"unexpected {value!r}")
        if self.peek() == "(":
            self.take("(")
            args = []
            if self.peek() != ")":
                args.append(self.binary(0))
                while self.peek() == ",":
                    self.take()
                    args.append(self.binary(0))
            self.take(")")
            return Call(value.upper() if value.upper() in FUNCTIONS else value, tuple(args))
        subs: list[tuple[str, bool]] = []
        if self.peek() == "[":
            self.take("[")
            while True:
                k, sub = self.take()
                if k != "name":
                    raise UnsupportedError(f"bad subscript {sub!r} in {value}[...]")
                bang = self.peek() == "!"
                if bang:
                    self.take()
                subs.append((sub, bang))
                if self.peek() == "]":
                    self.take()
                    break
                self.take(",")
        return Ref(value, tuple(subs))


_LEVELS: list[tuple[str, ...] | None] = [(":OR:",), (":AND:",), (":NOT:",), ("=", "<>", "<", ">", "<=", ">="),
                                         ("+", "-"), ("*", "/"), None]


def parse(text: str):
    """Parse one equation's right-hand side; raises :class:`UnsupportedError` if it cannot."""
    parser = _Parser(text)
    tree = parser.binary(0)
    if parser.peek() is not None:
        raise UnsupportedError(f"unexpected {parser.peek()!r} after a complete expression")
    return tree


def parse_lookup(text: str) -> tuple[list[float], list[float]]:
    """Points of a lookup definition ``( [(x0,y0)-(x1,y1)], (x,y), ... )`` as (xs, ys)."""
    body = re.sub(r"\[\s*\([^)]*\)\s*-\s*\([^)]*\)\s*(?:,[^\]]*)?\]", "", text)
    pairs = re.findall(r"\(\s*([^(),]+?)\s*,\s*([^(),]+?)\s*\)", body)
    try:
        xs, ys = [float(x) for x, _ in pairs], [float(y) for _, y in pairs]
    except ValueError:
        raise UnsupportedError("lookup points must be numbers") from None
    if len(xs) < 1 or any(b < a for a, b in zip(xs, xs[1:])):
        raise UnsupportedError("lookup needs at least one point, with x increasing")
    return xs, ys
