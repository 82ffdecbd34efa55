"""The figures of the chapter on heavy and light tails, drawn on small inputs."""

import numpy as np
import pytest

from goodhart.plotting import tails


def test_tail_functions_puts_each_law_in_its_panel():
    x = np.linspace(0.01, 60, 5)
    drawn = {"normal": -x**2, "exponential": -x, "Pareto": -2 * np.log10(x + 1)}
    heavy = {"normal": False, "exponential": False, "Pareto": True, "unused": True}
    fig = tails.tail_functions(x, drawn, heavy)
    light, heavy_ax = fig.axes
    assert [line.get_label() for line in light.lines] == ["normal", "exponential"]
    assert [line.get_label() for line in heavy_ax.lines] == ["Pareto"]
    assert light.get_title() == "light tails fall off"
    assert heavy_ax.get_title() == "heavy tails flatten"
    assert light.get_ylim() == (-40, 0.5) and light.get_ylabel().startswith("$\\log_{10}")
    assert light.get_legend() is not None and heavy_ax.get_legend() is not None


def test_subexponential_draws_each_ratio_on_its_points_and_the_level_2():
    points = {"a": np.geomspace(1, 1e6, 3), "b": np.geomspace(1, 40, 4)}
    ratios = {"a": np.array([3.0, 2.1, 2.0]), "b": 1 + points["b"]}
    fig = tails.subexponential(points, ratios)
    (ax,) = fig.axes
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.get_ylim() == pytest.approx((0.9, 1e3))
    assert np.array_equal(ax.lines[1].get_xdata(), points["b"])
    assert ax.lines[-1].get_ydata()[0] == 2  # the level of subexponential laws
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["a", "b"]
