"""The policy-gradient chapter's figures, drawn on small inputs: panels, curves, scales, labels."""

from types import SimpleNamespace

import numpy as np
from matplotlib.colors import to_hex

from goodhart.plotting import COLORS
from goodhart.plotting import policy_gradient as figures

KL = np.array([0.1, 1.0, 2.0, 5.0])



def _optimum(kl, scale):
    kl = np.asarray(kl)
    return SimpleNamespace(kl=kl, monitors={"utility": scale * kl, "proxy": np.exp(kl)})


def test_tails_draws_a_staircase_an_error_and_the_power_law_on_log_axes():
    law = SimpleNamespace(value=np.array([0.0, 1.0, 3.0, 9.0]), sf=np.array([0.5, 0.2, 0.1, 0]))
    fig = figures.tails({"heavy": law, "light": law}, alpha=1.45)
    (ax,) = fig.axes
    assert ax.get_xscale() == ax.get_yscale() == "log"
    heavy, light, power = ax.lines
    np.testing.assert_array_equal(heavy.get_xdata(), [1.0, 3.0])  # x > 0 and sf > 0 only
    assert heavy.get_drawstyle() == "steps-post"
    assert [to_hex(line.get_color()) for line in (heavy, light)] == [
        to_hex(COLORS["heavy"]), to_hex(COLORS["light"])]
    np.testing.assert_allclose(power.get_ydata()[0], 0.3)
    assert power.get_label() == r"$\propto x^{-1.45}$"


def test_frontier_has_two_panels_a_dot_at_each_optimum_and_a_log_proxy_axis():
    optima = {"heavy": _optimum(KL, -1.0), "light": _optimum(KL, 1.0)}
    best = {"heavy": _optimum(2.0, -1.0), "light": _optimum(2.0, 1.0)}
    fig = figures.frontier(optima, best, base_utility=0.15, kl_target=2.0)
    ax_v, ax_u = fig.axes
    assert ax_u.get_yscale() == "log" and ax_v.get_yscale() == "linear"
    dots = [line for line in ax_v.lines if line.get_marker() == "o"]
    assert [line.get_ydata()[0] for line in dots] == [-2.0, 2.0]
    assert ax_v.lines[-2].get_ydata()[0] == 0.15  # the base utility
    assert all(ax.lines[-1].get_xdata()[0] == 2.0 for ax in (ax_v, ax_u))  # the target
    assert [t.get_text() for t in ax_v.get_legend().get_texts()] == [
        "heavy error", "light error", r"base $\mathbb{E}[V]$"]


def test_frontier_legend_starts_right_of_the_kl_target():
    """In the chapter the legend's default place was the upper left, where the KL target's
    line crossed its labels: it is now anchored right of that line."""
    optima = {"heavy": _optimum(KL, -1.0), "light": _optimum(KL, 1.0)}
    fig = figures.frontier(optima, optima, base_utility=0.15, kl_target=2.0)
    ax_v = fig.axes[0]
    fig.canvas.draw()
    anchor = ax_v.get_legend().get_bbox_to_anchor()
    assert anchor.x0 > ax_v.transData.transform((2.0, 0.0))[0]


def test_training_has_four_panels_a_curve_each_run_solid_for_exact():
    history = {key: np.linspace(1, 2, 5) for key in ("proxy", "kl", "utility", "share")}
    runs = {(name, est): history for name in ("heavy", "light")
            for est in ("exact", "REINFORCE")}
    fig = figures.training(runs, base_utility=0.15, kl_target=2.0)
    axes = np.array(fig.axes).reshape(2, 2)
    assert [ax.get_ylabel() for ax in axes.flat] == [
        r"proxy $\mathbb{E}[U]$", "KL (nats)", r"utility $\mathbb{E}[V]$", "share of token 6"]
    assert [ax.get_yscale() for ax in axes.flat] == ["log", "log", "linear", "linear"]
    assert [line.get_linestyle() for line in axes[1, 1].lines] == ["-", "--", "-", "--"]
    assert len(axes[0, 1].lines) == 5 and axes[0, 1].get_ylim() == (1e-3, 30)
    assert [ax.get_xlabel() for ax in axes[1]] == ["training step"] * 2
