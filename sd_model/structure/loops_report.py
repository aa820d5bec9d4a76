"""Tables and the dominance plot of a :class:`~sd_model.structure.loops.LoopAnalysis`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .loops import LoopAnalysis
from .pinned import MAX_VARIANTS

__all__ = ["loop_table", "period_table", "named_table", "named_links_table", "dominance_plot", "format_summary",
           "annual_mean"]


def loop_table(a: LoopAnalysis, top: int | None = None) -> pd.DataFrame:
    """The discovered loops (the ``top`` ones, default all) by mean |share| in the window.

    Columns: id, the named loop it is a variant of, Simlin's polarity, our mean share, Simlin's mean
    share, the correlation of the two relative scores at whole years, stocks, variables.
    """
    rows = [{"id": r.id, "named": r.named, "polarity": r.polarity, "mean_share": r.importance,
             "simlin_mean_share": r.simlin_importance, "agreement_with_simlin": r.agreement,
             "largest_difference_from_simlin": r.simlin_max_diff,
             "stocks": r.label, "variables": " -> ".join(r.variables)} for r in a.rows[:top or len(a.rows)]]
    return pd.DataFrame(rows)


def period_table(a: LoopAnalysis, top: int = 20) -> pd.DataFrame:
    """Mean |share| of behaviour of the ``top`` loops (rows) in each period (columns ``1978-1990``)."""
    cols = [f"{p0:g}-{p1:g}" for p0, p1 in a.periods]
    data = {r.id: r.shares for r in a.rows[:top]}
    table = pd.DataFrame.from_dict(data, orient="index", columns=cols)
    named = pd.DataFrame.from_dict({f"named: {n.name}": n.shares for n in a.named}, orient="index", columns=cols)
    return pd.concat([table, named])


def named_table(a: LoopAnalysis) -> pd.DataFrame:
    """Every named loop (all variants, then per region of its first variable): share and polarity by period."""
    cols = [f"{p0:g}-{p1:g}" for p0, p1 in a.periods]
    rows: list[dict[str, object]] = []
    for n in a.named:
        base: dict[str, object] = {"loop": n.name, "expected": n.expected, "variants": n.variants, "active": n.active}
        rows.append({**base, "region": "all", **{f"share {c}": s for c, s in zip(cols, n.shares)},
                     **{f"polarity {c}": p for c, p in zip(cols, n.polarity)},
                     "strongest variant": " -> ".join(n.strongest)})
        if n.family_count:
            rows.append({**base, "region": f"family: {n.family_count} discovered loops through all its variables",
                         **{f"share {c}": s for c, s in zip(cols, n.family)}})
        for region, shares in n.by_region.items():
            rows.append({**base, "region": region, **{f"share {c}": s for c, s in zip(cols, shares)},
                         "strongest variant": " -> ".join(n.region_strongest.get(region, ()))})
    return pd.DataFrame(rows)


def named_links_table(a: LoopAnalysis) -> pd.DataFrame:
    """The links of each named loop's strongest variant in every region: median link score by period."""
    cols = [f"{p0:g}-{p1:g}" for p0, p1 in a.periods]
    rows = []
    for n in a.named:
        for region, links in n.region_links.items():
            for k, (src, dst, med) in enumerate(links, 1):
                rows.append({"loop": n.name, "region": region, "link": k, "from": src, "to": dst,
                             **{f"median score {c}": m for c, m in zip(cols, med)}})
    return pd.DataFrame(rows)


def format_summary(a: LoopAnalysis, top: int = 10) -> str:
    """Text for the terminal: the top loops and the three dominant loops of each period."""
    label = {r.id: r for r in a.rows}
    kept = f" of {a.retained} Simlin retained" if a.retained else ""
    lines = [f"Loops That Matter ({a.scenario}, {a.window[0]:g}-{a.window[1]:g}): {len(a.rows)} loops discovered{kept}"
             f"{'' if a.enumeration_complete else ' (a sample: discovery did not enumerate every loop)'}"
             f"{', truncated (timeout or candidate cap reached)' if a.truncated else ''}",
             "", f"{'id':<6} {'pol':<4} {'share':>6}  named / stocks on the loop"]
    for r in a.rows[:top]:
        lines.append(f"{r.id:<6} {r.polarity:<4} {r.importance:6.3f}  {(r.named + ': ') if r.named else ''}{r.label}")
    lines += ["", "Dominant loops by period (mean |share| of behaviour):"]
    for (p0, p1), ids in zip(a.periods, a.dominant):
        k = a.periods.index((p0, p1))
        parts = [f"{i} {label[i].polarity} {label[i].shares[k]:.2f} ({label[i].label})" for i in ids]
        lines.append(f"  {p0:g}-{p1:g}: " + "; ".join(parts))
    lines += ["", "Named loops (vensim/loops.toml, pinned: every element variant scored), summed |share| and "
                  "measured polarity by period:"]
    for n in a.named:
        per = ", ".join(f"{p0:g}-{p1:g} {s:.3f} {p}" for (p0, p1), s, p in zip(a.periods, n.shares, n.polarity))
        seen = sorted({p for p in n.polarity if p != "-"})
        flag = "" if seen == [n.expected] else f" (expected {n.expected}, measured {'/'.join(seen) or 'inactive'})"
        mask = (a.times >= a.window[0]) & (a.times <= a.window[1])
        mean = float(np.mean(n.series[mask]))
        rank = 1 + sum(r.importance > mean for r in a.rows if r.importance == r.importance)
        cap = f" (capped at {MAX_VARIANTS})" if n.variants >= MAX_VARIANTS else ""
        lines.append(f"  {n.name} [{n.expected}]{flag}: {n.active} of {n.variants}{cap} variants active; mean share "
                     f"{mean:.4f} (would rank {rank} of {len(a.rows)} discovered loops); strongest: "
                     f"{' -> '.join(n.strongest)}")
        lines.append(f"      {per}")
        if n.family_count:
            fam = ", ".join(f"{p0:g}-{p1:g} {s:.2f} (R {r:.2f})"
                            for (p0, p1), s, r in zip(a.periods, n.family, n.family_reinforcing))
            lines.append(f"      family ({n.family_count} discovered loops through all its variables): {fam}")
    agree = [r.agreement for r in a.rows if r.agreement == r.agreement]
    if agree:
        lines += ["", f"Check against Simlin: our relative scores of the {len(agree)} discovered loops correlate with "
                      f"Simlin's at median {np.median(agree):.3f} (whole years); unmapped loops: {len(a.unmapped)}"]
    return "\n".join(lines)


def annual_mean(times: np.ndarray, x: np.ndarray, window: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``x`` over each year (t-1, t] of the window, labelled t: smooths the step-to-step spikes."""
    years = np.arange(np.floor(window[0]) + 1, np.floor(window[1]) + 1)
    k = np.ceil(times - 1e-9)
    out = np.array([x[k == y].mean() if np.any(k == y) else np.nan for y in years])
    return years, out


def dominance_plot(a: LoopAnalysis, indicators: pd.DataFrame | None, path: str | Path, top: int = 8) -> Path:
    """Indicators (top panel, if given), the |share| of the ``top`` discovered loops, and of the named loops.

    Shares are yearly means of |relative loop score| (the step values spike at dominance shifts).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keep = [r for r in a.rows if r.id in a.series][:top]
    n_panels = 3 if indicators is not None else 2
    fig, axes = plt.subplots(n_panels, 1, figsize=(11, 2 + 3.2 * n_panels), sharex=True, squeeze=False)
    if indicators is not None:
        ax = axes[0][0]
        ind = indicators[(indicators.index >= a.window[0]) & (indicators.index <= a.window[1])]
        for col in ind.columns:
            ax.plot(ind.index, ind[col] / ind[col].iloc[0], label=col)
        ax.set_ylabel("relative to first year")
        ax.set_yscale("log")
        ax.legend(fontsize=8, ncol=2)
    axes[0][0].set_title(f"Indicators and loop dominance ({a.scenario})")
    ax = axes[-2][0]
    for r in keep:
        style = "-" if r.polarity.startswith("R") else "--"
        ax.plot(*annual_mean(a.times, np.abs(a.series[r.id]), a.window), style,
                label=f"{r.id} {r.polarity} {r.named + ': ' if r.named else ''}{r.label[:60]}")
    ax.set_ylabel("|relative loop score|, yearly mean")
    ax.legend(fontsize=7, loc="upper left", title="strongest discovered loops", title_fontsize=7)
    ax = axes[-1][0]
    for n in a.named:
        style = "-" if n.expected == "R" else "--"
        ax.plot(*annual_mean(a.times, n.series, a.window), style, lw=1.6,
                label=f"{n.name} ({n.expected}, {n.variants} variants)")
    ax.set_yscale("log")
    ax.set_ylim(1e-5, 1)
    ax.set_ylabel("summed |relative score|, yearly mean")
    ax.legend(fontsize=7, loc="upper left", ncol=2, title="named loops (pinned), all variants", title_fontsize=7)
    for row in axes[1:]:
        for p0, _ in a.periods[1:]:
            row[0].axvline(p0, color="0.85", lw=0.8)
    axes[-1][0].set_xlabel("year")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
