"""Render the sector views of a ``.mdl`` sketch with Simlin's renderer, one file per view.

Simlin reads every view of a Vensim sketch into one canvas, each view framed as a group
(``simlin-group``: a rectangle titled with the view's name), shadow variables drawn as aliases.
The model is rendered once; each view is that rendering cropped to its group's frame (SVG: the
same drawing with the view box of the frame; PNG: the frame cut out of Simlin's PNG, whose
pixels are the SVG's user units shifted by the canvas origin).
"""
from __future__ import annotations

import io
import re
from pathlib import Path

from ..errors import SDModelError, unknown_name
from ..mdl import normalize_name
from .sketch import SKETCH_MARK, split_sketch
from .views import DEFAULT_VIEWS, load_view_spec

__all__ = ["sketch_views", "render_views", "view_frames", "write_diagrams"]

_END = "///---\\\\\\"
_GROUP = re.compile(r'<g class="simlin-group"><rect x="([-\d.]+)" y="([-\d.]+)" width="([\d.]+)" '
                    r'height="([\d.]+)"[^>]*></rect><text[^>]*>([^<]*)</text>')
_VIEWBOX = re.compile(r'viewBox="([-\d.]+) ([-\d.]+) ([\d.]+) ([\d.]+)"')
_MARGIN = 10


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


def view_frames(svg: str) -> dict[str, tuple[float, float, float, float]]:
    """{view title: (x, y, width, height)} of the view groups in a Simlin SVG."""
    import html

    return {html.unescape(m.group(5)).strip(): tuple(float(m.group(i)) for i in range(1, 5))  # type: ignore[misc]
            for m in _GROUP.finditer(svg)}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def render_views(model: str | Path, out_dir: str | Path, *, view: str | None = None, fmt: str = "svg",
                 spec_path: str | Path = DEFAULT_VIEWS) -> list[Path]:
    """Render every view (or ``view``: a title or a short name of the view spec) to ``out_dir``.

    Files are named by the view's short name in the spec (else its title), e.g. ``finance.svg``.

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
    titles = list(sketch_views(model))
    if not titles:
        raise SDModelError(f"{model} has no sketch views; write them with 'sd-model sketch'")
    short = {v.title: v.name for v in load_view_spec(spec_path).views} if Path(spec_path).is_file() else {}
    if view is not None:
        key = normalize_name(view)
        hits = [t for t in titles if key in (normalize_name(t), normalize_name(short.get(t, "")))]
        if not hits:
            raise unknown_name("view", view, [short.get(t, t) for t in titles], where=str(model))
        titles = hits[:1]
    try:
        project = simlin.load(str(model)).project
        if project is None:
            raise SDModelError(f"Simlin loaded {model} without a project")
        svg = project.render_svg("main").decode("utf-8")
        png = project.render_png("main") if fmt == "png" else b""
    except simlin.SimlinError as exc:
        raise SDModelError(f"Simlin could not render {model}: {exc}") from None
    frames = view_frames(svg)
    if len(frames) < len(sketch_views(model)):  # a single view has no group frame: use the canvas
        vb = _VIEWBOX.search(svg)
        frames = {t: tuple(float(g) for g in vb.groups()) for t in titles} if vb else {}  # type: ignore[misc]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    origin = _VIEWBOX.search(svg)
    ox, oy = (float(origin.group(1)), float(origin.group(2))) if origin else (0.0, 0.0)
    written = []
    for title in titles:
        if title not in frames:
            raise SDModelError(f"Simlin's rendering of {model} has no frame for view {title!r}")
        x, y, w, h = frames[title]
        x, y, w, h = x - _MARGIN, y - _MARGIN, w + 2 * _MARGIN, h + 2 * _MARGIN
        target = out_dir / f"{_slug(short.get(title, title))}.{fmt}"
        if fmt == "svg":
            one = _VIEWBOX.sub(f'viewBox="{x:g} {y:g} {w:g} {h:g}"', svg, count=1)
            one = re.sub(r'style="width: [\d.]+; height: [\d.]+;"', f'style="width: {w:g}px; height: {h:g}px;"',
                         one, count=1)
            target.write_text(one, encoding="utf-8")
        else:
            from PIL import Image

            image = Image.open(io.BytesIO(png))
            box = (max(0, round(x - ox)), max(0, round(y - oy)), round(x - ox + w), round(y - oy + h))
            image.crop(box).save(target, format="PNG")
        written.append(target)
    return written


def write_diagrams(model: str | Path, out: str | Path, *, view: str | None = None, fmt: str = "svg",
                   force: bool = False) -> list[Path]:
    """Render the views into the output folder ``out`` (``sd-model diagram``) and return the files.

    The folder is built aside and swapped in (:func:`sd_model.files.atomic_dir`); an existing
    folder that ``sd-model diagram`` did not write is only replaced with ``force``.
    """
    from ..files import atomic_dir

    out = Path(out)
    with atomic_dir(out, "diagram", force) as tmp:
        names = [p.name for p in render_views(model, tmp, view=view, fmt=fmt)]
    return [out / n for n in names]
