"""The figures of the Theorem 5 chapter, drawn on small inputs."""

from types import SimpleNamespace

import numpy as np
import pytest

from goodhart.plotting import COLORS, theorem5


def test_regions_draws_a_panel_a_law_with_the_edges():
    v = np.linspace(-12, 32, 9)
    laws = {"normal": -v**2 / 2, "t_5": -np.log1p(v**2)}
    conditional = {k: f - 1.0 for k, f in laws.items()}
    fig = theorem5.regions(v, laws, -np.abs(v), conditional, 25.0, 4.0)
    assert len(fig.axes) == 2
    for ax, name in zip(fig.axes, laws, strict=True):
        assert ax.get_title() == name and ax.get_xlabel() == "$v$"
        assert ax.get_ylim() == (0, 36)
        curves, edges = ax.lines[:3], ax.lines[3:]
        assert np.allclose(curves[0].get_ydata(), -laws[name])  # minus logs
        assert np.allclose(curves[2].get_ydata(), -conditional[name])
        assert curves[0].get_color() == COLORS["utility"]
        assert [line.get_xdata()[0] for line in edges] == [-4.0, 4.0, 21.0]
        assert [t.get_text() for t in ax.texts] == [f"$r_{i}$" for i in range(1, 5)]
    assert fig.axes[0].get_ylabel() == "nats"
    assert len(fig.legends) == 1 and len(fig.legends[0].get_texts()) == 3


def test_rates_draws_each_curve_its_twin_and_the_first_order_rate():
    t, mc_t = np.geomspace(1, 1e6, 7), np.array([1.0, 2.0])
    means = {"a": 1 / t, "b": 2 / t}
    twins = {k: SimpleNamespace(value=np.array([0.5, 0.3]), se=np.array([0.01, 0.02]))
             for k in means}
    fig = theorem5.rates(t, means, {k: m * 1.1 for k, m in means.items()}, mc_t, twins,
                         t[:3], 1 / t[:3])
    (ax,) = fig.axes
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.get_ylim() == pytest.approx((1e-6, 1e2))
    assert len(ax.containers) == 2  # the two error bars
    labels = [line.get_label() for line in ax.lines if not line.get_label().startswith("_")]
    assert labels == ["$X \\sim$ a", "$X \\sim$ b", "$X \\sim N(0, 1)$ (light tail)",
                      "first order"]
    assert ax.get_legend() is not None


def test_violations_labels_each_slope_and_draws_the_limit():
    t = np.geomspace(1, 1e6, 5)
    fig = theorem5.violations(t, {2.0: t, 4.0: np.ones(5)}, {2.0: 1.0, 4.0: 0.004}, 3.6)
    (ax,) = fig.axes
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [
        "$V \\sim t_{2}$, slope 1.00", "$V \\sim t_{4}$, slope 0.00"]
    assert ax.lines[-1].get_ydata()[0] == 3.6 and ax.get_xlabel() == "threshold $t$"
