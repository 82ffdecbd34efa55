"""The figures of the chapter on dependent errors, drawn on small inputs."""

from types import SimpleNamespace

import numpy as np

from goodhart.plotting import COLORS, without_independence


def test_counterexample_draws_both_limits_and_the_gap():
    t, far = np.linspace(1, 64, 5), np.geomspace(8, 1e4, 4)
    fig = without_independence.counterexample(t, 1 - 1 / t, t / 4, far, 1 / far, 1.1 / far)
    left, right = fig.axes
    assert left.get_ylim() == (-0.3, 4)
    assert [text.get_text() for text in left.texts] == ["computed limit: 1",
                                                        "footnote's limit: 0"]
    assert left.lines[0].get_color() == COLORS["utility"]
    assert left.get_xscale() == "linear"
    assert right.get_xscale() == right.get_yscale() == "log"
    assert right.get_title() == "the approach to 1" and len(right.lines) == 2


def test_families_draws_three_panels_a_curve_a_family():
    t = 10.0 ** np.arange(1, 5)
    family = SimpleNamespace(utility=t, error=-t, kl=1 / t)
    fig = without_independence.families(t, {"A": family, "B": family})
    assert len(fig.axes) == 3
    assert [len(ax.lines) for ax in fig.axes] == [2, 2, 2]
    assert all(ax.get_xscale() == "log" for ax in fig.axes)
    assert [ax.get_yscale() for ax in fig.axes] == ["linear", "linear", "log"]
    assert fig.axes[2].get_title() == "$D(P \\,\\|\\, Q)$ (nats)"
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["family A",
                                                                         "family B"]
