"""The figures of the chapter on the corollary, drawn on small inputs."""

import numpy as np
import pytest

from goodhart.plotting import COLORS, corollary

T = np.array([3.0, 30.0, 300.0])


def test_draws_marks_the_points_above_the_threshold():
    error, utility = np.array([0.0, 1.0, 9.0, 20.0]), np.array([0.0, 2.0, 0.5, -1.0])
    fig = corollary.draws(error, utility, threshold=8.0)
    (ax,) = fig.axes
    below, above = ax.collections
    assert len(below.get_offsets()) == 2 and len(above.get_offsets()) == 2
    assert np.allclose(above.get_offsets()[:, 0], [9.0, 20.0])
    assert np.allclose(above.get_facecolor()[0][:3], np.array([0, 114, 178]) / 255)
    assert COLORS["proxy"] == "#0072B2"
    assert ax.get_xlim() == pytest.approx((-15, 25))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [r"$U \leq 8$", "$U > 8$", "$X + V = 8$"]


def test_sweep_three_panels_with_the_cap_on_both_sides():
    examples = {"independent": (T, 1 / T, 1e-3 / T), "dependent": (T, 2 / T, -1e-3 / T)}
    fig = corollary.sweep(T, examples, cap=0.1 / T)
    proxy_ax, kl_ax, utility_ax = fig.axes
    assert (len(proxy_ax.lines), len(kl_ax.lines), len(utility_ax.lines)) == (2, 2, 4)
    assert np.allclose(utility_ax.lines[2].get_ydata(), 0.1 / T)
    assert np.allclose(utility_ax.lines[3].get_ydata(), -0.1 / T)
    assert kl_ax.get_yscale() == "log" and utility_ax.get_yscale() == "symlog"
    assert all(ax.get_xscale() == "log" for ax in fig.axes)
    assert proxy_ax.lines[1].get_markerfacecolor() == "none"
    assert proxy_ax.lines[0].get_markerfacecolor() != "none"
