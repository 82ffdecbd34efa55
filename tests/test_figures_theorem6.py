"""The figures of the Theorem 6 chapter, drawn on small inputs."""

from types import SimpleNamespace

import numpy as np

from goodhart.plotting import COLORS, theorem6


def test_conditional_densities_draws_a_panel_an_error():
    v = np.linspace(-4, 14, 7)
    densities = {"normal": {"$t = 2$": v * 0 + 0.1, "$t = 5$": v * 0 + 0.2},
                 "t_3": {"$t = 2$": v * 0 + 0.3}}
    fig = theorem6.conditional_densities(v, np.exp(-v**2 / 2), densities)
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["normal", "t_3"]
    assert [len(ax.lines) for ax in fig.axes] == [3, 2]  # f_V in each, then the curves
    assert fig.axes[0].lines[0].get_color() == COLORS["base"]
    assert fig.axes[0].get_ylabel().startswith("density of $V$")
    assert fig.axes[0].get_legend() is None and fig.axes[1].get_legend() is not None


def test_growth_draws_curves_twins_closed_form_and_rate():
    t, mc_t = np.geomspace(1, 1e4, 9), np.array([1.0, 2.0])
    twin = SimpleNamespace(value=np.array([1.0, 1.5]), se=np.array([0.1, 0.1]))
    fig = theorem6.growth(t, {"normal": t / 2, "Weibull": np.sqrt(t)}, mc_t, [twin, twin],
                          t / 2, 1.5 * np.sqrt(t))
    (ax,) = fig.axes
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert len(ax.containers) == 2
    marks = [line for line in ax.lines if line.get_label() == "closed form, normal error"]
    assert len(marks) == 1 and len(marks[0].get_xdata()) == 3  # every fourth of 9
    assert [text.get_text() for text in ax.get_legend().get_texts()][-2:] == [
        "closed form, normal error", "$\\frac{3}{2}\\sqrt{t}$"]
