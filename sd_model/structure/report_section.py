"""The "Structure and loop dominance" section of the compare report (``sd-model compare --structure``).

For each scenario: the share of behaviour and measured polarity of the named (pinned) loops by
period and the three dominant discovered loops of each period, and a plot of each named loop's
share over time in every scenario; then the sector views rendered by Simlin from the model's
sketch (if it has one).
"""
from __future__ import annotations

import base64
import html
import io
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..scenario import Scenario
from .diagram import render_views, sketch_views
from .loops import LoopAnalysis, analyze_loops
from .loops_report import annual_mean

__all__ = ["structure_section"]


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode()


def _named_plot(analyses: Sequence[LoopAnalysis]) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n.name for n in analyses[0].named]
    fig, axes = plt.subplots(2, (len(names) + 1) // 2, figsize=(2.6 * len(names), 6.4), sharey=True, squeeze=False)
    for ax, name in zip(axes.flat, names):
        for a in analyses:
            n = next(x for x in a.named if x.name == name)
            ax.plot(*annual_mean(a.times, n.series, a.window), lw=1.0, label=a.scenario)
        ax.set_yscale("log")
        ax.set_ylim(1e-5, 1)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("year")
    axes[0][0].set_ylabel("summed |relative score|, yearly mean")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    out = _png(fig)
    plt.close(fig)
    return out


def structure_section(model: str | Path, scenarios: Sequence[Scenario], start: float | None = None,
                      end: float | None = None) -> str:
    """Return the HTML of the section (loop analysis of every scenario, then the views)."""
    e = html.escape
    analyses = [analyze_loops(model, sc, start=start, end=end) for sc in scenarios]
    first = analyses[0]
    cols = [f"{p0:g}-{p1:g}" for p0, p1 in first.periods]
    parts = ["<h2>Structure and loop dominance</h2>",
             "<p class='small'>Loops That Matter (Schoenberg, Davidsen &amp; Eberlein 2020) on each scenario's "
             "single run: Simlin's loop discovery plus the named loops of vensim/loops.toml, pinned (every element "
             "variant scored). A loop's share is its mean |relative loop score| in the period; a named loop's is the "
             "sum over its variants, with the measured polarity (R reinforcing, B balancing, - inactive). "
             "Details: sd-model loops --scenario FILE.</p>",
             f"<img alt='named loop shares by scenario' src='data:image/png;base64,{_named_plot(analyses)}'>",
             "<table><tr><th>scenario</th><th>named loop</th>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>"]
    for a in analyses:
        for n in a.named:
            parts.append(f"<tr><td>{e(a.scenario)}</td><td>{e(n.name)} ({e(n.expected)})</td>"
                         + "".join(f"<td>{s:.3f} {p}</td>" for s, p in zip(n.shares, n.polarity)) + "</tr>")
    parts.append("</table><h3>Dominant loops by period</h3><p class='small'>The three loops with the largest "
                 "share in each period: id, polarity, share, the stocks on the loop.</p><table><tr><th>period</th>"
                 + "".join(f"<th>{e(a.scenario)}</th>" for a in analyses) + "</tr>")
    for k, col in enumerate(cols):
        cells = []
        for a in analyses:
            by_id = {r.id: r for r in a.rows}
            ids = a.dominant[k] if k < len(a.dominant) else ()
            cells.append("<br>".join(f"{e(i)} {e(by_id[i].polarity)} {by_id[i].shares[k]:.2f}: {e(by_id[i].label)}"
                                     for i in ids))
        parts.append(f"<tr><td>{col}</td>" + "".join(f"<td class='small' style='text-align:left'>{c}</td>"
                                                     for c in cells) + "</tr>")
    parts.append("</table>")
    if sketch_views(model):
        parts.append("<h3>Sector views (stock-and-flow diagrams, rendered by Simlin)</h3>")
        with tempfile.TemporaryDirectory() as tmp:
            for path in render_views(model, tmp, fmt="png"):
                data = base64.b64encode(path.read_bytes()).decode()
                parts.append(f"<p class='small'>{e(path.stem)}</p><img style='max-width:100%' alt='{e(path.stem)}' "
                             f"src='data:image/png;base64,{data}'>")
    return "\n".join(parts)
