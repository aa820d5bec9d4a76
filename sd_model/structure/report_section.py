"""The "Structure and loop dominance" section of the compare report (``sd-model compare --structure``).

For each scenario: the summed share of behaviour of the named loop families (all loops and the
reinforcing ones) by period and the three dominant loops of each period, and a plot of the
reinforcing finance-growth share over time in every scenario; then the sector views rendered by
Simlin from the model's sketch (if it has one).
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

__all__ = ["structure_section"]


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode()


def _family_plot(analyses: Sequence[LoopAnalysis]) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(analyses[0].families)
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.4), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names):
        for a in analyses:
            mask = (a.times >= a.window[0]) & (a.times <= a.window[1])
            rows = [r for r in a.rows if name in r.named.split(", ") and r.polarity.startswith("R")]
            total = sum((abs(a.series[r.id]) for r in rows), np.zeros_like(a.times))
            ax.plot(a.times[mask], total[mask], label=a.scenario)
        ax.set_title(f"{name} (reinforcing loops)", fontsize=9)
        ax.set_xlabel("year")
    axes[0][0].set_ylabel("summed |relative loop score|")
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
             "<p class='small'>Loops That Matter (Schoenberg, Davidsen &amp; Eberlein 2020) by Simlin's loop discovery "
             "on each scenario's single run. A loop's share is the mean |relative loop score| in the period; a family "
             "sums the loops that pass through all its variables (vensim/loops.toml), R = reinforcing loops only. "
             "Details: sd-model loops --scenario FILE.</p>",
             f"<img alt='finance-growth share by scenario' src='data:image/png;base64,{_family_plot(analyses)}'>",
             "<table><tr><th>scenario</th><th>family</th>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>"]
    for a in analyses:
        for name, shares in a.families.items():
            rein = a.families_reinforcing[name]
            parts.append(f"<tr><td>{e(a.scenario)}</td><td>{e(name)}</td>"
                         + "".join(f"<td>{s:.2f} (R {r:.2f})</td>" for s, r in zip(shares, rein)) + "</tr>")
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
