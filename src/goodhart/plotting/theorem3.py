"""The figures of the chapter on Theorem 3: policies read off a reweighted token tree.

Each function draws one figure from arrays the chapter computed (policies, leaf laws,
returns, tail functions, KL divergences) and returns it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from goodhart.plotting import COLORS, figsize, style


def policies(panels, returns, threshold):
    """Binary token trees, one panel each: edges as wide as their probability, leaves' returns.

    Parameters
    ----------
    panels : mapping
        ``{title: (policy, leaf probabilities)}``: the policy an array of shape
        ``(prefixes, 2)`` of a binary tree of full depth, the law of its leaves.
    returns : array_like
        The return of each leaf; those above ``threshold`` are written in the error's colour.
    threshold : float
        The threshold of the reweighting.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per policy, stacked, without axes.
    """
    fig, axes = plt.subplots(len(panels), 1, figsize=figsize(1, len(panels), aspect=0.5),
                             squeeze=False)
    returns = np.asarray(returns)
    depth = int(np.log2(len(returns)))
    for ax, (title, (policy, leaf_p)) in zip(axes[:, 0], panels.items(), strict=True):
        for s, a in np.ndindex(len(policy), 2):
            level = int(np.log2(s + 1))
            i, n = s + 1 - 2**level, 2**level
            x0, x1 = (i + 0.5) / n, (2 * i + a + 0.5) / (2 * n)
            ax.plot([x0, x1], [-level, -level - 1], color=COLORS["proxy"], ls="-",
                    lw=0.5 + 7 * policy[s, a], solid_capstyle="round")
            ax.text((x0 + x1) / 2 + 0.02 * (2 * a - 1), -level - 0.5,
                    _probability(policy[s, a]), ha=["right", "left"][a], va="center")
        for j, (r, p) in enumerate(zip(returns, leaf_p, strict=True)):
            colour = COLORS["error"] if r > threshold else "k"
            ax.text((j + 0.5) / len(returns), -depth - 0.15, f"R={r:.2f}\np={p:.2g}",
                    ha="center", va="top", color=colour)
        ax.set(title=title, xlim=(0, 1), ylim=(-depth - 1.1, 0.1))
        ax.axis("off")
    return fig


def _probability(p):
    """Two decimals, or as many as show ``p`` or ``1 - p`` to one digit: a rare branch reads
    0.002 and its sibling 0.998, not 0.00 and 1.00."""
    smaller = min(p, 1 - p)
    decimals = 2 if smaller <= 0 else max(2, -int(np.floor(np.log10(smaller))))
    return f"{p:.{decimals}f}"


def tail(r, continuous, values, tree_sf):
    """The tail function of the tree's returns beside the continuous law they discretize.

    Parameters
    ----------
    r : array_like
        Points where the continuous tail function was evaluated.
    continuous : array_like
        ``P(R >= r)`` of the continuous law.
    values : array_like
        The distinct returns of the tree, increasing.
    tree_sf : array_like
        ``P(R >= value)`` under the base policy, at each of ``values``.

    Returns
    -------
    matplotlib.figure.Figure
        One log-log panel over the range of ``r``.
    """
    fig, ax = plt.subplots(figsize=figsize())
    ax.plot(r, continuous, **style("heavy", marker="", label="Student-t (3 dof)"))
    ax.step(values, tree_sf, where="post",
            **style("base", marker="", lw=1.5, label=r"tree, under $\pi_0$"))
    ax.set(xscale="log", yscale="log", xlim=(np.min(r), np.max(r)), xlabel="return $r$",
           ylabel=r"$P(R \geq r)$")
    ax.legend()
    return fig


def sweep(t, mean, summed, averaged, by_level):
    """Mean return and policy KL of the read-off policies against the threshold.

    Parameters
    ----------
    t : array_like
        The thresholds.
    mean : array_like
        The mean return of each policy.
    summed, averaged : array_like
        Its KL summed and averaged along the trajectories (nats).
    by_level : mapping
        ``{t: KL at each token position}`` of a few policies.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels: the mean return, the two KLs, the KL by position.
    """
    fig, (ax_mean, ax_kl, ax_level) = plt.subplots(1, 3, figsize=figsize(3, aspect=1.1))
    ax_mean.plot(t, mean, **style("proxy", label=r"$E_\pi[R]$"))
    ax_kl.plot(t, summed, **style("kl", label="summed"))
    ax_kl.plot(t, averaged, **style("kl", linestyle=":", marker="o", label="averaged"))
    for threshold, kl in by_level.items():
        ax_level.plot(kl, marker=".", label=f"$t = {threshold:g}$")
    ax_mean.set(xscale="log", xlabel="threshold $t$", title="mean return")
    ax_kl.set(xscale="log", yscale="log", xlabel="threshold $t$", title="policy KL (nats)")
    ax_level.set(yscale="log", xlabel="token position", title="KL by position")
    for ax in (ax_mean, ax_kl, ax_level):
        ax.legend()
    return fig
