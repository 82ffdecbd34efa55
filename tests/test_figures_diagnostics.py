"""The figures of the chapter on the tail diagnostics, drawn on small inputs."""

import matplotlib as mpl
import numpy as np
import pytest

from goodhart.plotting import diagnostics as figures
from goodhart.plotting import figsize

mpl.use("Agg")
K = np.arange(3, 20)
K_LINE = np.array([3.0, 6.0, 12.0, 19.0])
NAMES = ["normal", "exponential", "Pareto"]



def test_picture_draws_one_qq_curve_and_two_hill_series_a_law():
    qq = {v: (np.linspace(0, 5, 30), np.linspace(0, 5 + i, 30)) for i, v in enumerate(NAMES)}
    hill = {v: (np.full(K.size, 0.1 * i), np.full(K_LINE.size, 0.1 * i))
            for i, v in enumerate(NAMES)}
    fig = figures.picture(qq, hill, K, K_LINE)
    left, right = fig.axes
    assert tuple(fig.get_size_inches()) == pytest.approx(figsize(2, aspect=1.0))
    assert len(left.lines) == len(NAMES) + 1  # the curves and the diagonal
    assert [t.get_text() for t in left.get_legend().get_texts()] == NAMES
    assert len(right.lines) == 2 * len(NAMES)
    dots, line = right.lines[:2]
    assert dots.get_marker() == "." and dots.get_linestyle() == "None"
    assert dots.get_color() == line.get_color() == left.lines[0].get_color()
    assert len({str(curve.get_color()) for curve in left.lines[:-1]}) == len(NAMES)
    assert line.get_xdata().tolist() == K_LINE.tolist()
    assert right.get_xscale() == "log" and left.get_ylim() == (0, 16)
    assert left.get_title() == "exponential Q-Q, above the mean"
    assert right.get_xlabel() == "number of upper order statistics k"


def test_bend_draws_a_curve_a_law_the_null_band_and_the_sizes():
    n = np.geomspace(1e2, 1e6, 5)
    ratios = {v: np.linspace(0.5, 2 + i, 5) for i, v in enumerate(NAMES)}
    fig = figures.bend(n, ratios, (0.8 * np.ones(5), 1.2 * np.ones(5)), (30000, 16000))
    (ax,) = fig.axes
    assert ax.get_xscale() == ax.get_yscale() == "log" and ax.get_ylim() == (0.2, 80)
    curves = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(curves) == len(NAMES)
    assert np.allclose(curves[2].get_ydata(), ratios["Pareto"])
    vertical = [line.get_xdata()[0] for line in ax.lines if line.get_marker() != "o"]
    assert vertical == [30000, 16000]
    assert len(ax.collections) == 1  # the band of an exponential tail
    assert [t.get_text() for t in ax.texts] == ["n = 16000 and 30000"]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [*NAMES, "exponential tail, 95% range"]
