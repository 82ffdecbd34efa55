"""The best-of-N chapter's figures, drawn on small inputs: panels, curves, scales, labels."""

import numpy as np
import pytest
from matplotlib.colors import to_hex

from goodhart import best_of_n as bon
from goodhart.plotting import COLORS
from goodhart.plotting import best_of_n as figures

N = np.array([1.0, 4.0, 16.0, 1e6, 1e12])



def test_utility_given_draws_two_curves_and_one_level_a_label():
    u = np.linspace(-6, 40, 11)
    fig = figures.utility_given(u, 0.8 * u, np.tanh(u), [5.0, 9.0], ["10", "10^3"])
    (ax,) = fig.axes
    curves = [line for line in ax.lines if len(line.get_xdata()) == u.size]
    assert [to_hex(line.get_color()) for line in curves] == [
        to_hex(COLORS["light"]), to_hex(COLORS["heavy"])]
    levels = [line for line in ax.lines if line not in curves]
    assert [line.get_xdata()[0] for line in levels] == [5.0, 9.0]
    assert [text.get_text() for text in ax.texts] == ["$t_N$, $N = 10$", "$t_N$, $N = 10^3$"]
    assert ax.get_xlim() == (-6.0, 40.0) and ax.get_ylim() == (-2.0, 11.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "$X$ normal", "$X$ Student-t(3)"]


def test_no_curve_crosses_a_level_label():
    """The chapter's own curves (the light error's g rises like 0.8 u): no label is drawn over
    them, at the chapter's three levels."""
    u = np.linspace(-6, 40, 461)
    fig = figures.utility_given(u, 0.8 * u, 4.5 * np.exp(-0.5 * ((u - 7) / 2.5) ** 2),
                                [2.8, 7.6, 28.0], ["10", "10^3", "10^5"])
    (ax,) = fig.axes
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    curves = [line for line in ax.lines if len(line.get_xdata()) == u.size]
    for text in ax.texts:
        box = text.get_window_extent(renderer)
        for line in curves:
            points = ax.transData.transform(np.column_stack(line.get_data()))
            inside = ((points[:, 0] > box.x0) & (points[:, 0] < box.x1)  # 0.1 a step in u
                      & (points[:, 1] > box.y0) & (points[:, 1] < box.y1))
            assert not inside.any(), (text.get_text(), line.get_label())


def test_utility_given_refuses_levels_without_labels():
    with pytest.raises(ValueError):
        figures.utility_given(np.arange(3.0), np.zeros(3), np.zeros(3), [1.0, 2.0], ["10"])


def test_paper_grid_has_ten_panels_three_roles_but_utility_alone_for_levy():
    pairs = bon.paper_pairs()
    exact = {k: p.best_of_n(N) for k, p in pairs.items()}
    sampled = {k: bon.sample_best_of_n(p, N[:2], 5, rng=1) for k, p in pairs.items()}
    fig = figures.paper_grid(N, exact, sampled)
    axes = np.array(fig.axes).reshape(5, 2)
    assert [ax.get_title() for ax in axes[:, 0]] == [
        f"V normal, X {figures.NAMES[x]}" for x in figures.ROWS]
    assert axes[0, 1].get_title() == "V Student-t(10), X normal"
    for ax, x in zip(axes, figures.ROWS, strict=True):
        lines = 1 if x == "levy" else 3  # exact curves; each also has its error bars
        assert all(len(a.lines) >= lines and len(a.containers) == lines for a in ax)
        assert all(a.get_xscale() == "log" for a in ax)
        assert all(a.get_yscale() == ("linear" if x == "levy" else "asinh") for a in ax)
    np.testing.assert_array_equal(axes[0, 0].lines[0].get_xdata(), N)
    assert [a.get_xlabel() for a in axes[-1]] == ["$N$", "$N$"]
    (legend,) = fig.legends
    assert len(legend.get_texts()) == 6  # three roles, exact and sampled


def test_far_tail_draws_the_ratio_and_both_utilities_on_log_axes():
    t = np.logspace(0, 2, 9)
    ratio = {"t5": t**-1.0, "lognormal": t}
    utility = {"t5": 1 / N, "lognormal": np.log(N + 1)}
    levels = {"t5": N[:2], "lognormal": N[1:3]}
    fig = figures.far_tail(t, ratio, N, utility, levels, {"t5": [1, 2], "lognormal": [3, 4]})
    left, right = fig.axes
    assert all(ax.get_xscale() == ax.get_yscale() == "log" for ax in (left, right))
    assert len(left.lines) == 2 and len(right.lines) == 4
    np.testing.assert_array_equal(left.lines[1].get_ydata(), t)
    assert [line.get_marker() for line in right.lines] == ["None", "o", "None", "o"]
    assert [x.get_text() for x in left.get_legend().get_texts()] == [
        "X Student-t(5)", "X lognormal"]
    assert right.get_title() == "utility at the best of $N$" and right.get_xlim() == (2, 1e20)
