"""Write the Vensim sketch section (one view per sector) into a ``.mdl`` file.

Everything before the ``\\\\\\---///`` marker (the equations) is kept byte for byte; an existing
sketch is replaced. Object records follow Vensim's sketch format (``10`` variable, ``11`` valve,
``12`` cloud, ``1`` connector; a shadow variable is a variable record whose ``bits`` field has
bit 0 clear). Run from the command line (``sd-model sketch``) after any change of the model's
variables; the lead re-runs it on each new model version.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import ModelFileError
from ..io import atomic_write_bytes
from ..mdl import read_model_info
from .graph import build_graph
from .layout import ViewLayout, layout_view
from .views import DEFAULT_VIEWS, ViewSpec, assign_views, load_view_spec

__all__ = ["SKETCH_MARK", "split_sketch", "build_layouts", "sketch_text", "write_sketch"]

SKETCH_MARK = "\\\\\\---///"
_HEADER = "\\\\\\---/// Sketch information - do not modify anything except names\nV300  Do not put anything below this section - it will be ignored\n"
_FONT = "$192-192-192,0,Arial|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|96,96,100,0\n"
_END = "///---\\\\\\\n"


def split_sketch(text: str) -> tuple[str, str]:
    """Return (equation section, sketch section) of a model text; the sketch starts at the marker."""
    i = text.find(SKETCH_MARK)
    return (text, "") if i < 0 else (text[:i], text[i:])


def build_layouts(model: str | Path, spec: ViewSpec | None = None) -> list[ViewLayout]:
    """Lay out every view of ``spec`` (default ``vensim/views.toml``) for the model file ``model``."""
    info = read_model_info(model)
    graph = build_graph(info, model)
    spec = spec or load_view_spec(DEFAULT_VIEWS)
    where = assign_views(spec, graph)
    return [layout_view(v.name, v.title, [n for n in info.variables if where[n] == v.name], graph)
            for v in spec.views]


def _quote(name: str) -> str:
    return f'"{name}"' if any(c in name for c in ',"') else name


def _view_records(lay: ViewLayout) -> list[str]:
    """The object records of one view, uids from 1."""
    lines: list[str] = []
    uid: dict[str, int] = {}
    valve: dict[str, int] = {}
    cloud_uid: dict[int, int] = {}
    n = 0

    def new() -> int:
        nonlocal n
        n += 1
        return n

    for node in lay.nodes.values():
        x, y = round(node.x), round(node.y)
        if node.kind == "stock":
            uid[node.name] = new()
            lines.append(f"10,{uid[node.name]},{_quote(node.name)},{x},{y},45,26,3,3,0,0,0,0,0,0")
        elif node.kind == "flow":
            valve[node.name] = new()
            lines.append(f"11,{valve[node.name]},0,{x},{y},6,8,34,3,0,0,1,0,0,0")
            uid[node.name] = new()  # the flow variable follows its valve
            lines.append(f"10,{uid[node.name]},{_quote(node.name)},{x},{y + 24},55,14,40,3,0,0,-1,0,0,0")
        else:
            uid[node.name] = new()
            lines.append(f"10,{uid[node.name]},{_quote(node.name)},{x},{y},55,16,8,3,0,0,-1,0,0,0")
    for i, c in enumerate(lay.clouds):
        cloud_uid[i] = new()
        lines.append(f"12,{cloud_uid[i]},48,{round(c.x)},{round(c.y)},10,8,0,3,0,0,-1,0,0,0")
    shadow_uid: dict[str, int] = {}
    for node in lay.shadows.values():
        shadow_uid[node.name] = new()
        lines.append(f"10,{shadow_uid[node.name]},{_quote(node.name)},{round(node.x)},{round(node.y)},55,16,8,2,0,3,-1,"
                     "0,0,0,128-128-128,0-0-0,|12||128-128-128")
    for p in lay.pipes:
        v = valve[p.flow]
        vx, vy = round(lay.nodes[p.flow].x), round(lay.nodes[p.flow].y)
        for end, cloud, kind in ((p.source, p.source_cloud, 100), (p.sink, p.sink_cloud, 4)):
            if end:  # the pipe meets the stock's edge facing the valve
                sx, sy = lay.nodes[end].x, lay.nodes[end].y
                px = sx + (45 if vx > sx + 45 else -45 if vx < sx - 45 else 0)
                py = sy + (26 if vy > sy + 26 else -26 if vy < sy - 26 else 0)
                target = uid[end]
            else:
                px, py, target = lay.clouds[cloud].x, lay.clouds[cloud].y, cloud_uid[cloud]
            lines.append(f"1,{new()},{v},{target},{kind},0,0,22,0,0,0,-1--1--1,,1|({round(px)},{round(py)})|")
    for a in lay.arrows:
        src = shadow_uid[a.cause] if a.shadow else uid.get(a.cause)
        dst = uid.get(a.effect)
        if src is None or dst is None:
            continue
        lines.append(f"1,{new()},{src},{dst},0,0,0,0,0,64,0,-1--1--1,,1|(0,0)|")
    return lines


def sketch_text(layouts: list[ViewLayout]) -> str:
    """The whole sketch section: one ``*<title>`` view per layout, then the end marker."""
    parts = []
    for lay in layouts:
        parts.append(_HEADER + f"*{lay.title}\n" + _FONT + "\n".join(_view_records(lay)) + "\n")
    return "".join(parts) + _END


def write_sketch(model: str | Path, spec_path: str | Path = DEFAULT_VIEWS, out: str | Path | None = None) -> Path:
    """Replace the sketch of ``model`` by the generated views; write to ``out`` (default: in place).

    The equation section is copied unchanged (checked after writing).

    Raises
    ------
    ModelFileError
        If the model cannot be read, or the written file's equations differ (never expected).
    """
    model = Path(model)
    try:
        raw = model.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {model}: {exc.strerror}") from None
    text = raw.decode("utf-8")
    equations, _ = split_sketch(text)
    layouts = build_layouts(model, load_view_spec(spec_path))
    if not equations.endswith("\n"):
        equations += "\n"
    new = equations + sketch_text(layouts)
    target = Path(out) if out else model
    atomic_write_bytes(target, new.encode("utf-8"))
    if split_sketch(target.read_text(encoding="utf-8"))[0].rstrip("\n") != split_sketch(text)[0].rstrip("\n"):
        raise ModelFileError(f"{target}: the equations changed while writing the sketch")
    return target
