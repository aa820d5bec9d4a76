"""The view specification (``vensim/views.toml``) and the assignment of every variable to one view.

Rules, in order (the first that places a variable wins): a view's ``include`` patterns that its
``exclude`` patterns do not veto (views in file order), a view's ``groups`` (the ``.mdl`` group
headers), the view holding most of the
variable's neighbours (causes and users, after the first two rules), ``default_view``.
"""
from __future__ import annotations

import fnmatch
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import SDModelError, unknown_name
from ..mdl import normalize_name
from ..resources import resource
from .graph import ModelGraph

__all__ = ["View", "ViewSpec", "load_view_spec", "assign_views", "DEFAULT_VIEWS"]

DEFAULT_VIEWS = resource("vensim", "views.toml")


@dataclass(frozen=True)
class View:
    """One sector view.

    A short ``name`` (for ``--view``), a ``title`` (the Vensim view name), name patterns to include
    (unless they match ``exclude``) and ``.mdl`` groups.
    """

    name: str
    title: str
    include: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class ViewSpec:
    """The views in display order and the view that takes what no rule places."""

    views: tuple[View, ...]
    default_view: str

    def get(self, name: str) -> View:
        """The view called ``name`` (its short name or its title, any case).

        Raises
        ------
        UnknownNameError
            For an unknown view; the message lists close matches.
        """
        for v in self.views:
            if normalize_name(name) in (normalize_name(v.name), normalize_name(v.title)):
                return v
        raise unknown_name("view", name, [v.name for v in self.views])


def load_view_spec(path: str | Path = DEFAULT_VIEWS) -> ViewSpec:
    """Read and check a view specification TOML.

    Raises
    ------
    SDModelError
        If the file is missing, not TOML, or a view lacks a name, title, or repeats a name.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SDModelError(f"view specification not found: {path}") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SDModelError(f"{path}: cannot read the view specification ({exc})") from None
    raw = data.get("view")
    if not isinstance(raw, list) or not raw:
        raise SDModelError(f"{path}: no [[view]] tables")
    views = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("name", "title")):
            raise SDModelError(f"{path}: view {i} needs a name and a title (strings)")
        for key in ("include", "groups", "exclude"):
            if not all(isinstance(x, str) for x in item.get(key, [])):
                raise SDModelError(f"{path}: view {item['name']!r}: {key} must be a list of strings")
        unknown = set(item) - {"name", "title", "include", "groups", "exclude"}
        if unknown:
            raise SDModelError(f"{path}: view {item['name']!r}: unknown key {sorted(unknown)[0]!r} "
                               "(valid: name, title, include, exclude, groups)")
        views.append(View(item["name"], item["title"], tuple(item.get("include", [])), tuple(item.get("groups", [])),
                          tuple(item.get("exclude", []))))
    names = [v.name for v in views]
    if len(set(names)) != len(names):
        raise SDModelError(f"{path}: two views share a name: {names}")
    default = data.get("default_view", views[-1].name)
    if default not in names:
        raise SDModelError(f"{path}: default_view {default!r} is not a view; views are {', '.join(names)}")
    return ViewSpec(tuple(views), default)


def assign_views(spec: ViewSpec, graph: ModelGraph) -> dict[str, str]:
    """Return {variable: view name} for every variable of ``graph`` (see the module rules)."""
    out: dict[str, str] = {}
    for var in graph.causes:
        key = normalize_name(var)
        for view in spec.views:
            if any(fnmatch.fnmatchcase(key, normalize_name(p)) for p in view.include) and not any(
                    fnmatch.fnmatchcase(key, normalize_name(p)) for p in view.exclude):
                out[var] = view.name
                break
    for var in graph.causes:
        if var in out:
            continue
        for view in spec.views:
            if graph.groups.get(var) in view.groups:
                out[var] = view.name
                break
    users: dict[str, list[str]] = {v: [] for v in graph.causes}
    for v, cs in graph.causes.items():
        for c in cs:
            users[c].append(v)
    for _ in range(3):  # neighbours placed in one pass can place others in the next
        for var in graph.causes:
            if var in out:
                continue
            votes = Counter(out[n] for n in (*graph.causes[var], *users[var]) if n in out)
            if votes:
                out[var] = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    for var in graph.causes:
        out.setdefault(var, spec.default_view)
    # a flow is drawn with its stock: it goes to the stock's view
    for stock in graph.inflows:
        for f in (*graph.inflows[stock], *graph.outflows[stock]):
            out[f] = out[stock]
    return out
