"""The figures of the chapter on Theorem 2, drawn on small inputs."""

import numpy as np
import pytest

from goodhart.plotting import theorem2

D = np.geomspace(1e-3, 1, 4)


def test_tilts_and_bounds_draws_base_tilts_bounds_and_their_least_points():
    v, lam = np.linspace(-1, 1, 5), np.linspace(0.1, 2, 6)
    tilted = {0.5: v**2, 2.0: v**2 + 1}
    bounds = {0.5: (lam + 1, (1.0, 2.0)), 2.0: (lam + 2, (2.0, 3.0))}
    fig = theorem2.tilts_and_bounds(v, np.ones(5), tilted, lam, bounds)
    ax_tilts, ax_bounds = fig.axes
    assert len(ax_tilts.lines) == 3 and len(ax_bounds.lines) == 4
    labels = [t.get_text() for t in ax_tilts.get_legend().get_texts()]
    assert labels == ["$Q$", r"$\lambda = 0.5$", r"$\lambda = 2$"]
    least = ax_bounds.lines[1]
    assert least.get_marker() == "o" and least.get_color() == ax_bounds.lines[0].get_color()
    assert ax_bounds.get_ylim() == pytest.approx((0, 6))
    assert ax_bounds.get_title() == "Donsker-Varadhan bounds"


def test_frontiers_are_log_log_with_the_reference_in_the_heavy_panel():
    light = {"normal": D, "exponential": 2 * D}
    heavy = {1.0: (D, 1 / D), 4.0: (D, 4 / D)}
    fig = theorem2.frontiers(D, light, heavy)
    ax_light, ax_heavy = fig.axes
    assert len(ax_light.lines) == 2 and len(ax_heavy.lines) == 3
    assert np.allclose(ax_heavy.lines[0].get_ydata(), 2 * D)
    for ax in fig.axes:
        assert ax.get_xscale() == ax.get_yscale() == "log"
        assert ax.get_ylim() == pytest.approx((1e-3, 30))
    labels = [t.get_text() for t in ax_heavy.get_legend().get_texts()]
    assert labels == ["exponential", "$P_t$, $c = 1$", "$P_t$, $c = 4$"]
    assert ax_heavy.get_title() == "Student-t: infinite"

