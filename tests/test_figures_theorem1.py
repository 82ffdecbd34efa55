"""The figures of the chapter on Theorem 1, drawn on small inputs."""

import numpy as np
import pytest

from goodhart.plotting import theorem1

T = np.geomspace(1.5, 100, 5)


def test_stills_one_log_panel_per_threshold_with_q_and_p():
    x = np.linspace(-1, 5, 7)
    fig = theorem1.stills(x, [2.0, 30.0], np.full(7, 0.1), [np.full(7, 0.2)] * 2)
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["$t = 2$", "$t = 30$"]
    for ax in fig.axes:
        assert ax.get_yscale() == "log" and len(ax.lines) == 2
        assert ax.get_ylim() == pytest.approx((1e-8, 1))
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["$Q$", "$P_t$"]
    assert fig.axes[0].get_ylabel() == "density"


def test_mean_and_kl_draws_each_curve_and_the_limit_as_a_fraction():
    curves = {"a": (T, 1 / T), "b": (2 * T, 2 / T)}
    fig = theorem1.mean_and_kl(T, curves, limit=1.5)
    ax_mean, ax_kl = fig.axes
    assert len(ax_mean.lines) == 3 and len(ax_kl.lines) == 2
    assert ax_mean.get_xscale() == ax_kl.get_xscale() == "log"
    labels = [t.get_text() for t in ax_mean.get_legend().get_texts()]
    assert labels == ["a", "b", "3/2"]
    assert np.allclose(ax_mean.lines[2].get_ydata(), 1.5)
    assert np.allclose(ax_kl.lines[1].get_ydata(), 2 / T)


def test_budget_is_log_log_with_the_normal_cap():
    laws = {"heavy": T, "light": 1 / T}
    fig = theorem1.budget(T, laws, laws, kl=0.02)
    ax_bought, ax_cost = fig.axes
    assert len(ax_bought.lines) == 3 and len(ax_cost.lines) == 2
    for ax in fig.axes:
        assert ax.get_xscale() == ax.get_yscale() == "log"
    assert np.allclose(ax_bought.lines[-1].get_ydata(), 0.2)
    assert ax_bought.get_ylabel() == "mean bought with 0.02 nats"
    # one legend, above the panels, where no curve can run through it
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["heavy", "light",
                                                          r"cap $\sqrt{2 \cdot 0.02}$"]
    assert all(ax.get_legend() is None for ax in fig.axes)


def test_ratios_one_panel_per_law_a_curve_per_expression():
    by_law = {name: {"x": T / T, "y": T / 100} for name in ("one", "two", "three")}
    fig = theorem1.ratios(T, by_law)
    assert [ax.get_title() for ax in fig.axes] == ["one", "two", "three"]
    assert all(len(ax.lines) == 2 and ax.get_xscale() == "log" for ax in fig.axes)
    assert fig.axes[0].get_ylim() == pytest.approx((0.3, 1.1))
    (legend,) = fig.legends  # above the panels, where no curve can run through it
    assert [t.get_text() for t in legend.get_texts()] == ["x", "y"]
    assert all(ax.get_legend() is None for ax in fig.axes)


def test_stills_refuses_more_than_three_panels():
    with pytest.raises(ValueError, match="ncols"):
        theorem1.stills(T, [1, 2, 3, 4], T, [T] * 4)
