r"""Read metadata from a Vensim ``.mdl`` file without translating it.

A small parser of our own (no PySD import): it splits the equation section into
``equation ~ units ~ comment |`` blocks and records, for every variable, its subscript
ranges, units, documented range, kind (stock, lookup, constant, auxiliary), default
values and the line it is defined on. The sketch section after ``\\\\\\---///`` and
group headers (``****`` blocks) are skipped; macros are not supported.

Examples
--------
>>> info = read_model_info("tests/models/toy_two_region.mdl")   # doctest: +SKIP
>>> info.get("savings_rate").default                              # doctest: +SKIP
0.2
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ModelFileError, unknown_name
from .files import read_input, sha256_bytes

__all__ = ["Variable", "ModelInfo", "Definition", "read_model_info", "normalize_name", "scan_definitions",
           "set_constants"]

_SKETCH_MARK = "\\\\\\---///"
_CONTROL = {"initial time", "final time", "time step", "saveper"}
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_LHS = re.compile(r'\s*("[^"]*"|[^\[\]=(:<~"]+)\s*(?:\[([^\]]*)\])?\s*(.*)', re.DOTALL)
_EXCEPT = re.compile(r":EXCEPT:\s*(?:\[[^\]]*\]\s*,?\s*)+", re.IGNORECASE)
_RANGE = re.compile(r"\[([^\]]*)\]\s*$")
_INTEG = re.compile(r"INTEG\s*\(", re.IGNORECASE)
_NUM_SEQ = re.compile(r"\(\s*([^\d\s]*)(\d+)\s*-\s*\1(\d+)\s*\)")


def normalize_name(name: str) -> str:
    """Return the lookup key of a Vensim name: no quotes, lower case, ``_`` as space, single spaces."""
    return " ".join(name.strip().strip('"').replace("_", " ").lower().split())


@dataclass(frozen=True)
class Variable:
    """One model variable as defined in the ``.mdl`` file.

    ``default`` is a float for a scalar constant, a dict ``"East"`` (or ``"East,West"``
    for 2-D) -> float for a subscripted constant, and None for every other kind.
    """

    name: str
    dims: tuple[str, ...]
    units: str
    range: tuple[float | None, float | None]
    comment: str
    kind: str
    equation: str
    line: int
    default: float | dict[str, float] | None


@dataclass(frozen=True)
class ModelInfo:
    """Metadata of a Vensim model: subscripts, variables and time settings.

    ``subscripts`` maps each range (aliases included) to its elements. Time-control
    variables (INITIAL TIME, FINAL TIME, TIME STEP, SAVEPER) are fields, not variables;
    ``saveper_is_time_step`` is True when the file defines ``SAVEPER = TIME STEP``.
    """

    path: Path
    sha256: str
    subscripts: dict[str, tuple[str, ...]]
    variables: dict[str, Variable]
    initial_time: float
    final_time: float
    time_step: float
    saveper: float
    saveper_is_time_step: bool = False
    _index: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {normalize_name(n): n for n in self.variables})

    def get(self, name: str) -> Variable:
        """Return the variable called ``name`` (case, ``_`` and spacing ignored).

        Raises
        ------
        UnknownNameError
            If the model defines no such variable; the message suggests close matches.
        """
        key = self._index.get(normalize_name(name))
        if key is None:
            raise unknown_name("variable", name, self.variables, where=str(self.path))
        return self.variables[key]

    def constants(self) -> dict[str, Variable]:
        """Return the constants (the only variables a run may override), by name."""
        return {n: v for n, v in self.variables.items() if v.kind == "constant"}

    def stocks(self) -> dict[str, Variable]:
        """Return the stocks (``INTEG`` variables), by name."""
        return {n: v for n, v in self.variables.items() if v.kind == "stock"}


@dataclass
class Definition:
    """One ``lhs = rhs ~ units ~ comment`` definition (one element block of a variable)."""

    name: str
    subs: tuple[str, ...]
    rhs: str
    kind: str
    units: str
    comment: str
    line: int
    spans: tuple[tuple[int, int], ...] = ()  # offsets of a constant's numbers in the file's text


#: Largest model file read (bytes).
MAX_MODEL_BYTES = 20_000_000


def read_model_info(path: str | Path) -> ModelInfo:
    """Parse the Vensim model at ``path`` and return its :class:`ModelInfo`.

    Raises
    ------
    ModelFileError
        If the file is missing or unreadable, or a block is malformed (names file and line).
    """
    raw = read_input(path, "Vensim .mdl model file", ModelFileError, MAX_MODEL_BYTES)
    path = Path(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    subscripts, alias_names, defs = scan_definitions(text, path)
    control: dict[str, str] = {}
    grouped: dict[str, list[Definition]] = {}
    for d in defs:
        key = normalize_name(d.name)
        if key in _CONTROL:
            control[key] = d.rhs
        else:
            grouped.setdefault(key, []).append(d)
    variables = {v.name: v for v in (_build_variable(g, subscripts, alias_names, path) for g in grouped.values())}
    times = _control_values(control, path)
    return ModelInfo(path=path, sha256=sha256_bytes(raw), subscripts=subscripts,
                     variables=variables, initial_time=times[0], final_time=times[1], time_step=times[2],
                     saveper=times[3], saveper_is_time_step=normalize_name(control.get("saveper", "")) == "time step")


def scan_definitions(text: str, path: Path) -> tuple[dict[str, tuple[str, ...]], set[str], list[Definition]]:
    """Subscript ranges (aliases included), alias names and definitions of the model's ``text``.

    The one reader of a file's blocks: :func:`read_model_info` builds variables from them,
    :func:`set_constants` edits numbers in place through their offsets, and
    :mod:`sd_model.partition` rewrites a model with a region split. ``path`` only names the file
    in errors (:class:`~sd_model.errors.ModelFileError`, with its line).
    """
    body = text.split(_SKETCH_MARK, 1)[0]
    body = re.sub(r"\{[^}]*\}", lambda m: re.sub(r"[^\n]", " ", m.group()), body)  # {UTF-8}, {comments}; offsets kept
    ranges: dict[str, list[str]] = {}
    aliases: dict[str, str] = {}
    defs: list[Definition] = []
    start = 0
    for block in body.split("|"):
        stripped = block.strip()
        if stripped:
            line = body.count("\n", 0, start + block.index(stripped[0])) + 1
            _parse_block(block, path, line, ranges, aliases, defs, start)
        start += len(block) + 1
    return _resolve_subscripts(ranges, aliases, path), set(aliases), defs


def _parse_block(block: str, path: Path, line: int, ranges: dict[str, list[str]],
                 aliases: dict[str, str], defs: list[Definition], offset: int = 0) -> None:
    """Parse one ``|``-terminated block (at ``offset`` in the text) into ``ranges``, ``aliases`` or ``defs``."""
    fields = block.split("~")
    if fields[0].strip().startswith("*"):  # group header such as ".Control"
        return
    if len(fields) < 3:
        raise ModelFileError(f"{path}:{line}: malformed block, expected 'equation ~ units ~ comment |'")
    eq = " ".join(re.sub(r"\\\s*\n", " ", fields[0]).split())
    units = " ".join(fields[1].split())
    comment = " ".join(re.sub(r"\\\s*\n", " ", fields[2]).split())
    match = _LHS.fullmatch(eq)
    if match is None:
        raise ModelFileError(f"{path}:{line}: cannot parse definition {eq[:40]!r}")
    name, subs_text, rest = match.group(1).strip().strip('"'), match.group(2), match.group(3)
    subs = tuple(s.strip() for s in subs_text.split(",")) if subs_text else ()
    rest = _EXCEPT.sub("", rest).strip()
    if rest.startswith("<->"):
        aliases[name] = rest[3:].strip()
        return
    if rest.startswith(":") and not rest.startswith(":=") and not subs:
        ranges[name] = _range_elements(rest[1:].split("->")[0])
        return
    if rest.startswith("("):
        kind, rhs = "lookup", rest
    elif rest.startswith(":="):
        kind, rhs = "auxiliary", rest[2:].strip()
    elif rest.startswith("=="):
        return  # reality check, not a variable
    elif rest.startswith("="):
        rhs = rest[1:].strip()
        kind = "stock" if _INTEG.match(rhs) else "constant" if _numbers(rhs) is not None else "auxiliary"
        if kind == "constant":  # the numbers of the right-hand side are the last ones of the equation
            found = list(_NUMBER.finditer(fields[0]))[-len(_numbers(rhs) or ()):]
            spans = tuple((offset + m.start(), offset + m.end()) for m in found)
            defs.append(Definition(name, subs, rhs, kind, units, comment, line, spans))
            return
    elif not rest:
        kind, rhs = "auxiliary", ""  # data variable filled from outside
    else:
        raise ModelFileError(f"{path}:{line}: cannot parse definition {eq[:40]!r}")
    defs.append(Definition(name, subs, rhs, kind, units, comment, line))


def _range_elements(text: str) -> list[str]:
    """Split ``East, West`` or ``(a1-a3)`` into element (or subrange) names."""
    text = _NUM_SEQ.sub(lambda m: ",".join(f"{m.group(1)}{i}" for i in range(int(m.group(2)), int(m.group(3)) + 1)),
                        text)
    return [e.strip() for e in text.split(",") if e.strip()]


def _numbers(rhs: str) -> list[float] | None:
    """Return the numbers of a comma/semicolon list, or None if ``rhs`` is not only numbers."""
    parts = [p.strip() for p in rhs.strip().rstrip(";").replace(";", ",").split(",")]
    return [float(p) for p in parts] if all(_NUMBER.fullmatch(p) for p in parts) else None


def _resolve_subscripts(ranges: dict[str, list[str]], aliases: dict[str, str],
                        path: Path) -> dict[str, tuple[str, ...]]:
    """Expand subrange names inside ranges and give each alias its target's elements."""
    def expand(name: str, seen: tuple[str, ...]) -> tuple[str, ...]:
        if name in seen:
            raise ModelFileError(f"{path}: subscript range {name!r} is defined in terms of itself")
        if name in aliases:
            return expand(aliases[name], seen + (name,))
        if name not in ranges:
            raise ModelFileError(f"{path}: alias refers to undefined subscript range {name!r}")
        out: list[str] = []
        for item in ranges[name]:
            out.extend(expand(item, seen + (name,)) if item in ranges or item in aliases else (item,))
        return tuple(out)

    return {name: expand(name, ()) for name in [*ranges, *aliases]}


def _parent_range(token: str, subscripts: dict[str, tuple[str, ...]], alias_names: set[str]) -> str:
    """Return the dimension a subscript token stands for (subranges and elements -> largest range)."""
    if token in alias_names:
        return token
    members = set(subscripts[token]) if token in subscripts else {token}
    parents = [r for r in subscripts if r not in alias_names and members <= set(subscripts[r])]
    return max(parents, key=lambda r: len(subscripts[r]), default=token)


def _build_variable(group: list[Definition], subscripts: dict[str, tuple[str, ...]], alias_names: set[str],
                    path: Path) -> Variable:
    """Merge the element definitions of one variable into a :class:`Variable`."""
    first = group[0]
    ndim = len(first.subs)
    dims: list[str] = []
    for pos in range(ndim):
        tokens = [d.subs[pos] for d in group if len(d.subs) == ndim]
        explicit = [t for t in tokens if t in subscripts]
        dims.append(_parent_range((explicit or tokens)[0], subscripts, alias_names))
    kinds = {d.kind for d in group}
    kind = "stock" if "stock" in kinds else kinds.pop() if len(kinds) == 1 else "auxiliary"
    described = [d for d in group if d.units or d.comment] or group
    units_field, comment = described[-1].units, described[-1].comment
    match = _RANGE.search(units_field)
    units = units_field[: match.start()].strip() if match else units_field
    bounds = _bounds(match.group(1), path, described[-1].line) if match else (None, None)
    equation = first.rhs if len(group) == 1 else "; ".join(f"[{','.join(d.subs)}] {d.rhs}" for d in group)
    default = _default(group, dims, subscripts, path) if kind == "constant" else None
    return Variable(name=first.name, dims=tuple(dims), units=units, range=bounds, comment=comment,
                    kind=kind, equation=equation, line=first.line, default=default)


def _bounds(text: str, path: Path, line: int) -> tuple[float | None, float | None]:
    """Parse ``0,?`` or ``0,1,0.01`` (min, max, step) into (min, max)."""
    parts = [p.strip() for p in text.split(",")] + ["?", "?"]
    for part in parts[:2]:
        if part not in ("", "?") and not _NUMBER.fullmatch(part):
            raise ModelFileError(f"{path}:{line}: bad range bound {part!r} in units field [{text}]")
    low, high = (None if part in ("", "?") else float(part) for part in parts[:2])
    return low, high


def _default(group: list[Definition], dims: list[str], subscripts: dict[str, tuple[str, ...]],
             path: Path) -> float | dict[str, float]:
    """Return the default value(s) of a constant, per element for subscripted ones."""
    if not dims:
        values = _numbers(group[-1].rhs) or []
        if len(values) != 1:
            raise ModelFileError(f"{path}:{group[-1].line}: scalar constant has {len(values)} values")
        return values[0]
    merged: dict[tuple[str, ...], float] = {}
    for d in group:
        cells = _cells(d, subscripts)
        values = _numbers(d.rhs) or []
        if len(values) == 1:
            values = values * len(cells)
        if len(values) != len(cells):
            raise ModelFileError(f"{path}:{d.line}: {d.name!r} has {len(values)} values for {len(cells)} elements")
        merged.update(zip(cells, values))
    order = itertools.product(*[subscripts.get(dim, ()) for dim in dims])
    return {",".join(cell): merged[cell] for cell in order if cell in merged}


def _cells(d: Definition, subscripts: dict[str, tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The elements a definition sets, one tuple (one name per dimension) each; ``[()]`` for a scalar."""
    canon = {e.lower(): e for elements in subscripts.values() for e in elements}
    return list(itertools.product(*[subscripts.get(t) or (canon.get(t.lower(), t),) for t in d.subs]))


def set_constants(text: str, values: Mapping[str, Mapping[str, str]],
                  path: str | Path = "model") -> tuple[str, list[str]]:
    """The model's ``text`` with new numbers for some constants; every other character is kept.

    Parameters
    ----------
    text : str
        The whole ``.mdl`` file.
    values : mapping
        ``{constant name: {element key: number as written}}``, element keys as in
        :attr:`Variable.default` (``"East"``, ``"West,East"``; ``""`` for a scalar constant).
    path : str or Path
        The file, for error messages. Default is "model".

    Returns
    -------
    tuple of (str, list of str)
        The new text, and ``"Name[element]: old -> new"`` for every number whose value changed.

    Raises
    ------
    ModelFileError
        A name that is not a constant of the model, an element no definition sets, or elements
        that share one number in the model but get different numbers.
    """
    subscripts, _, defs = scan_definitions(text, Path(path))
    wanted = {normalize_name(name): (name, cells) for name, cells in values.items()}
    done: dict[str, set[str]] = {name: set() for name in values}
    edits, log = [], []
    for d in defs:
        name, cells = wanted.get(normalize_name(d.name), (None, {}))
        if name is None:
            continue
        if d.kind != "constant":
            raise ModelFileError(f"{path}:{d.line}: {d.name!r} is not a constant; its numbers cannot be set")
        keys = [",".join(c) for c in _cells(d, subscripts)]
        if len(d.spans) == 1 and len(keys) > 1:  # one number for several elements
            given = {float(cells[k]) for k in keys if k in cells}
            if not given:
                continue
            if len(given) > 1 or any(k not in cells for k in keys):
                raise ModelFileError(f"{path}:{d.line}: {d.name!r} gives one number for {', '.join(keys)}; setting "
                                     "them apart needs a change of the model's equation")
            pairs = [(d.spans[0], keys[0], cells[keys[0]])]
            done[name].update(keys)
        else:
            pairs = [(span, k, cells[k]) for span, k in zip(d.spans, keys) if k in cells]
            done[name].update(k for _, k, _ in pairs)
        for (start, end), key, new in pairs:
            if float(text[start:end]) != float(new):
                edits.append((start, end, new))
                log.append(f"{d.name}{f'[{key}]' if key else ''}: {text[start:end]} -> {new}")
    for name, cells in values.items():
        if set(cells) - done[name]:
            raise ModelFileError(f"{path}: no definition of {name!r} sets {sorted(set(cells) - done[name])}")
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text, log


def _control_values(control: dict[str, str], path: Path) -> tuple[float, float, float, float]:
    """Return INITIAL TIME, FINAL TIME, TIME STEP and SAVEPER as numbers."""
    values: dict[str, float] = {}
    for key in ("initial time", "final time", "time step", "saveper"):
        rhs = control.get(key, "TIME STEP" if key == "saveper" else None)
        if rhs is None:
            raise ModelFileError(f"{path}: the model does not define {key.upper()}")
        number = _numbers(rhs)
        if number is not None and len(number) == 1:
            values[key] = number[0]
        elif normalize_name(rhs) in values:
            values[key] = values[normalize_name(rhs)]
        else:
            raise ModelFileError(f"{path}: {key.upper()} = {rhs!r} is not a number")
    return values["initial time"], values["final time"], values["time step"], values["saveper"]
