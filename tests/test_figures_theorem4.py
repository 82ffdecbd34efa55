"""The figures of the chapter on Theorem 4, drawn on small inputs."""

import numpy as np

from goodhart.plotting import CYCLE, STYLES, theorem4


def test_picture_draws_three_contour_sets_and_their_centres():
    xx, vv = np.meshgrid(*2 * [np.linspace(-3, 3, 30)])
    density = np.exp(-(xx**2 + vv**2) / 2) / (2 * np.pi)
    fig = theorem4.picture(xx, vv, {"base": (0.0, density), "one": (1.0, density),
                                    "two": (2.0, density)})
    (ax,) = fig.axes
    assert len(ax.lines) == 3 and [line.get_xdata()[0] for line in ax.lines] == [0, 1, 2]
    colours = [line.get_color() for line in ax.lines]
    assert colours == [STYLES["base"]["color"], CYCLE[0], CYCLE[1]]
    assert ax.get_aspect() == 1.0 and ax.get_xlabel() == "error $x$"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["base", "one", "two"]


def test_pairs_is_log_log_with_one_curve_per_pair_and_the_reference():
    inv = np.geomspace(0.1, 20, 6)
    fig = theorem4.pairs(inv, {"a": (inv, inv / 2), "b": (inv**2, inv)})
    ax_v, ax_x = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["utility $E[V]$", "error $E[X]$"]
    for ax in fig.axes:
        assert ax.get_xscale() == ax.get_yscale() == "log" and len(ax.lines) == 3
        assert np.allclose(ax.lines[-1].get_ydata(), inv)
    assert np.allclose(ax_v.lines[1].get_ydata(), inv**2)
    assert np.allclose(ax_x.lines[0].get_ydata(), inv / 2)
    assert ax_x.get_legend() is None and ax_v.get_legend() is not None

