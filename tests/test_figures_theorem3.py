"""The figures of the chapter on Theorem 3, drawn on small inputs."""

import numpy as np
import pytest

from goodhart.plotting import COLORS, theorem3

T = np.array([3.0, 30.0, 300.0])


def test_policies_draws_every_edge_and_every_leaf_of_each_tree():
    uniform = np.full((3, 2), 0.5)  # a binary tree of depth 2: 3 prefixes, 4 leaves
    tilted = np.array([[0.1, 0.9], [0.5, 0.5], [0.2, 0.8]])
    returns = np.array([-1.0, 0.0, 1.0, 5.0])
    fig = theorem3.policies({"base": (uniform, np.full(4, 0.25)),
                             "tilted": (tilted, [0.05, 0.05, 0.18, 0.72])}, returns, 2.0)
    assert [ax.get_title() for ax in fig.axes] == ["base", "tilted"]
    for ax in fig.axes:
        assert len(ax.lines) == 6 and len(ax.texts) == 6 + 4 and not ax.axison
        assert ax.get_ylim() == pytest.approx((-3.1, 0.1))
    widths = [line.get_linewidth() for line in fig.axes[1].lines]
    assert widths[:2] == pytest.approx([0.5 + 0.7, 0.5 + 6.3])
    leaves = [t for t in fig.axes[0].texts if t.get_text().startswith("R=")]
    assert [t.get_color() for t in leaves] == ["k", "k", "k", COLORS["error"]]


def test_a_rare_branch_is_labelled_with_its_digit_not_as_zero():
    """The chapter's rare branch (the one to R = 46) has probability 0.0023 under the base
    policy: two decimals wrote it 0.00 and its sibling 1.00."""
    policy = np.array([[0.4, 0.6], [0.9977, 0.0023], [0.5, 0.5]])
    fig = theorem3.policies({"base": (policy, [0.4 * 0.9977, 0.4 * 0.0023, 0.3, 0.3])},
                            np.array([0.0, 46.0, 1.0, 2.0]), 10.0)
    edges = [t.get_text() for t in fig.axes[0].texts if not t.get_text().startswith("R=")]
    assert edges == ["0.40", "0.60", "0.998", "0.002", "0.50", "0.50"]


def test_tail_is_log_log_over_the_grid():
    r = np.geomspace(1, 100, 5)
    fig = theorem3.tail(r, 1 / r, [1.0, 10.0], [1.0, 0.1])
    (ax,) = fig.axes
    assert ax.get_xscale() == ax.get_yscale() == "log" and len(ax.lines) == 2
    assert ax.get_xlim() == pytest.approx((1, 100))
    assert ax.get_legend() is not None and ax.get_ylabel() == r"$P(R \geq r)$"


def test_sweep_draws_mean_both_kls_and_one_curve_per_level_profile():
    fig = theorem3.sweep(T, T, 1 / T, 0.1 / T, {30.0: [1e-3, 1e-2], 300.0: [1e-4, 1e-3]})
    ax_mean, ax_kl, ax_level = fig.axes
    assert (len(ax_mean.lines), len(ax_kl.lines), len(ax_level.lines)) == (1, 2, 2)
    assert ax_kl.get_yscale() == ax_level.get_yscale() == "log"
    assert ax_mean.get_xscale() == ax_kl.get_xscale() == "log"
    labels = [t.get_text() for t in ax_level.get_legend().get_texts()]
    assert labels == ["$t = 30$", "$t = 300$"]
    assert ax_kl.get_title() == "policy KL (nats)"
