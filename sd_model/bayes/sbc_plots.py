"""Rank histograms of a simulation-based calibration (Talts et al. 2018, arXiv:1804.06788, section 4).

If every fit's posterior is right, the normalised rank of the true value among a fit's draws is
uniform on [0, 1] across data sets, so each of ``bins`` equal bins holds Binomial(n, 1/bins) of
the n data sets. The plot draws each parameter's histogram over that binomial's central band:
bars outside it in many bins, a U shape (intervals too narrow) or a hump (too wide) say the
sampler or the error model is miscalibrated.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats


def uniform_rank_band(datasets: int, bins: int, level: float = 0.99) -> tuple[int, int]:
    """Central ``level`` interval (counts, inclusive) of one bin's count under uniform ranks.

    Parameters
    ----------
    datasets : int
        Number of synthetic data sets n.
    bins : int
        Number of equal bins of the normalised rank.
    level : float
        Probability of the band, e.g. 0.99.

    Returns
    -------
    (low, high) : the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of Binomial(n, 1/bins).
    """
    if datasets < 1 or bins < 1 or not 0 < level < 1:
        raise ValueError(f"need datasets >= 1, bins >= 1 and 0 < level < 1, got {datasets}, {bins}, {level}")
    dist = stats.binom(datasets, 1.0 / bins)
    return int(dist.ppf((1 - level) / 2)), int(dist.ppf((1 + level) / 2))


def plot_rank_histograms(table: pd.DataFrame, path: str | Path, bins: int = 10, level: float = 0.99,
                         title: str = "") -> Path:
    """Write a PNG of one rank histogram per parameter of an SBC table.

    Parameters
    ----------
    table : DataFrame
        Rows of :func:`sd_model.bayes.sbc.sbc` (columns ``parameter``, ``rank``, ``draws``,
        ``inside90``): one per data set and parameter.
    path : path
        The PNG to write (its folder must exist).
    bins, level
        Histogram bins of the normalised rank ``rank / draws``; probability of the grey band
        (:func:`uniform_rank_band`).
    title : str
        First line of the figure's title.

    Returns
    -------
    The path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(table.groupby("parameter", sort=False))
    if not groups:
        raise ValueError("the SBC table has no rows")
    ncol = min(5, len(groups))
    nrow = int(np.ceil(len(groups) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.2 * nrow), squeeze=False)
    for ax, (label, g) in zip(axes.flat, groups):
        u = g["rank"].to_numpy() / g["draws"].to_numpy()
        counts = np.histogram(u, bins=bins, range=(0, 1))[0]
        low, high = uniform_rank_band(len(g), bins, level)
        ax.axhspan(low, high, color="0.85", zorder=0)
        ax.axhline(len(g) / bins, color="0.5", lw=0.8, zorder=1)
        ax.bar((np.arange(bins) + 0.5) / bins, counts, width=0.9 / bins, color="C0", zorder=2)
        ax.set_title(f"{label}\n90% coverage {g['inside90'].mean():.2f} (n={len(g)})", fontsize=7)
        ax.set_xlim(0, 1)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(groups):]:
        ax.axis("off")
    fig.suptitle((title + "\n" if title else "") + f"Rank of the true value among each fit's draws; grey: the "
                 f"{level:.0%} band of a bin's count if the ranks are uniform", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
