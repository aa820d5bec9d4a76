"""Rank histograms of an SBC: the uniform band by hand, and the figure."""
from __future__ import annotations

from math import comb

import numpy as np
import pandas as pd
import pytest

from sd_model.bayes.sbc_plots import plot_rank_histograms, uniform_rank_band


def _cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed by hand."""
    return sum(comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(0, k + 1)) if k >= 0 else 0.0


@pytest.mark.parametrize("n, bins, level", [(50, 10, 0.99), (100, 10, 0.99), (50, 5, 0.9)])
def test_uniform_rank_band_is_the_binomial_central_interval(n, bins, level):
    low, high = uniform_rank_band(n, bins, level)
    tail = (1 - level) / 2
    # low is the smallest count whose cdf reaches the lower tail, high the smallest reaching 1 - tail
    assert _cdf(low - 1, n, 1 / bins) < tail <= _cdf(low, n, 1 / bins)
    assert _cdf(high - 1, n, 1 / bins) < 1 - tail <= _cdf(high, n, 1 / bins)
    assert low < n / bins < high


def test_uniform_rank_band_refuses_bad_arguments():
    with pytest.raises(ValueError, match="0 < level < 1"):
        uniform_rank_band(50, 10, 1.5)


def test_rank_histograms_are_written_one_panel_per_parameter(tmp_path):
    rng = np.random.default_rng(0)
    rows = [{"dataset": k, "parameter": p, "rank": int(rng.integers(0, 400)), "draws": 400,
             "inside90": bool(rng.random() < 0.9)} for k in range(50) for p in ("a", "b", "c")]
    out = plot_rank_histograms(pd.DataFrame(rows), tmp_path / "ranks.png", title="test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no rows"):
        plot_rank_histograms(pd.DataFrame(columns=["parameter", "rank", "draws", "inside90"]), tmp_path / "x.png")
