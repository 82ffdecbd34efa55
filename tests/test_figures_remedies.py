"""The remedies chapter's figures, drawn on small inputs: panels, curves, scales, labels."""

from types import SimpleNamespace

import numpy as np
from matplotlib.colors import to_hex

from goodhart.plotting import COLORS
from goodhart.plotting import remedies as figures


def test_utility_against_kl_draws_the_frontier_the_base_and_three_remedies():
    d = np.linspace(0, 10, 21)
    results = [SimpleNamespace(kl=np.arange(3.0), utility=k * np.ones(3)) for k in (1, 2, 3)]
    fig = figures.utility_against_kl(d, np.sqrt(2 * d), *results, level=3.0)
    (ax,) = fig.axes
    assert len(ax.lines) == 5 and ax.get_xlim() == (0, 10) and ax.get_ylim() == (-0.1, 1.6)
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), 0)  # Theorem 1: utility stays 0
    assert [line.get_ydata()[0] for line in ax.lines[2:]] == [1, 2, 3]
    assert ax.get_legend().get_texts()[3].get_text() == r"optimum for $\min(U, 3)$"


def test_three_knob_has_three_log_panels_one_curve_an_error():
    severity = np.geomspace(1, 100, 5)
    knob = SimpleNamespace(severity=severity, proxy=severity, quality=1 / severity,
                           hack_kl=np.full(5, 0.25))
    fig = figures.three_knob({"heavy": knob, "light": knob}, cap=0.5)
    axes = fig.axes
    assert len(axes) == 3 and all(ax.get_xscale() == "log" for ax in axes)
    assert [ax.get_yscale() for ax in axes] == ["log", "log", "linear"]
    assert all(len(ax.lines) == 2 for ax in axes)
    np.testing.assert_array_equal(axes[2].lines[0].get_ydata(), 0.5)  # hack_kl / cap
    assert to_hex(axes[0].lines[1].get_color()) == to_hex(COLORS["light"])
    assert axes[2].get_title() == "share of the KL on hacking"
