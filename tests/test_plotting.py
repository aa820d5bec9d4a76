"""Standard plots: history overlaid, y-axis labels on every panel, legends outside the data."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from sd_model.observed import load_observed
from sd_model.plotting import STANDARD_PLOTS, plot_disparity, plot_gdp_per_capita


@pytest.fixture(scope="module")
def observed():
    return load_observed()


def test_historical_run_overlays_the_observed_data(historical, observed):
    fig = plot_gdp_per_capita(historical, observed)
    ax = fig.axes[0]
    dots = [line for line in ax.get_lines() if line.get_linestyle() == "None"]
    assert len(dots) == 4  # one series of dots per region
    years = np.concatenate([line.get_xdata() for line in dots])
    assert years.min() == 1978 and years.max() == 2015
    # the dots are the data: East's 2015 real GDP per capita, billion yuan / million persons
    east = dots[0].get_ydata()[list(dots[0].get_xdata()).index(2015)]
    raw = observed["GDP per Capita"].sel(region="East", year=2015)
    assert east == pytest.approx(float(raw))
    plt.close(fig)


def test_every_disparity_panel_has_a_y_label(historical, observed):
    fig = plot_disparity(historical, observed)
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert all(labels) and "Theil" in labels[0] and "CV" in labels[1]
    plt.close(fig)


@pytest.mark.parametrize("name", sorted(STANDARD_PLOTS))
def test_legend_sits_below_the_panels(historical, observed, name):
    fig = STANDARD_PLOTS[name]({"historical": historical, "other": historical}, observed)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert not any(ax.get_legend() for ax in fig.axes)  # no legend inside a panel
    legend = fig.legends[0].get_window_extent(renderer)
    lowest = min(ax.get_tightbbox(renderer).y0 for ax in fig.axes)  # tick labels and x label included
    assert legend.y1 <= lowest
    plt.close(fig)
