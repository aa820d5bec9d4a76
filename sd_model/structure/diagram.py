"""Render the sector views of a ``.mdl`` sketch with Simlin's renderer, one file per view.

Simlin merges all views of a Vensim file into one canvas, so each view is rendered from a
temporary copy of the model whose sketch holds that view only (the equations are the model's).
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

from ..errors import SDModelError, unknown_name
from ..mdl import normalize_name
from .sketch import SKETCH_MARK, split_sketch
from .views import DEFAULT_VIEWS, load_view_spec

__all__ = ["sketch_views", "render_views"]

_END = "///---\\\\\\"


def sketch_views(model: str | Path) -> dict[str, str]:
    """Return {view title: its sketch block} of the model's sketch section, in order."""
    text = Path(model).read_text(encoding="utf-8", errors="replace")
    _, sketch = split_sketch(text)
    out: dict[str, str] = {}
    for block in sketch.split(SKETCH_MARK)[1:]:
        m = re.search(r"^\*(.*)$", block, re.MULTILINE)
        if m and re.search(r"^\d+,", block, re.MULTILINE):
            out[m.group(1).strip()] = SKETCH_MARK + block.split(_END)[0]
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def render_views(model: str | Path, out_dir: str | Path, *, view: str | None = None, fmt: str = "svg",
                 spec_path: str | Path = DEFAULT_VIEWS) -> list[Path]:
    """Render every view (or ``view``: a title or a short name of the view spec) to ``out_dir``.

    Raises
    ------
    SDModelError
        If the model has no sketch views, the view is unknown, or the format is not svg/png.
    """
    import simlin

    if fmt not in ("svg", "png"):
        raise SDModelError(f"unknown format {fmt!r}; valid formats are svg, png")
    model = Path(model)
    if not model.is_file():
        raise SDModelError(f"model file not found: {model}")
    views = sketch_views(model)
    if not views:
        raise SDModelError(f"{model} has no sketch views; write them with 'sd-model sketch'")
    short = {}
    if Path(spec_path).is_file():
        short = {v.title: v.name for v in load_view_spec(spec_path).views}
    if view is not None:
        key = normalize_name(view)
        hits = [t for t in views if key in (normalize_name(t), normalize_name(short.get(t, "")))]
        if not hits:
            raise unknown_name("view", view, [short.get(t, t) for t in views], where=str(model))
        views = {hits[0]: views[hits[0]]}
    equations, _ = split_sketch(model.read_text(encoding="utf-8"))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for title, block in views.items():
            one = Path(tmp) / "view.mdl"
            one.write_text(equations + block.rstrip("\n") + "\n" + _END + "\n", encoding="utf-8")
            try:
                project = simlin.load(str(one)).project
                data = project.render_svg("main") if fmt == "svg" else project.render_png("main")
            except simlin.SimlinError as exc:
                raise SDModelError(f"Simlin could not render view {title!r}: {exc}") from None
            target = out_dir / f"{_slug(short.get(title, title))}.{fmt}"
            target.write_bytes(data)
            written.append(target)
    return written
