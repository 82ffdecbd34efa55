"""The figures of the chapter on Theorem 1: the two-block reweighting ``P_t`` of a heavy tail.

Each function draws one figure from arrays the chapter computed (densities, means, KL
divergences against the threshold ``t``) and returns it.
"""

from __future__ import annotations

from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np

from goodhart.plotting import figsize, style


def stills(x, thresholds, base, reweighted):
    """The densities of ``Q`` and ``P_t`` at a few thresholds, one panel each, log scale.

    Parameters
    ----------
    x : array_like
        The points where the densities were evaluated.
    thresholds : sequence of float
        The thresholds ``t``, one panel each (at most three).
    base : array_like
        The density of ``Q`` at ``x``.
    reweighted : sequence of array_like
        The density of ``P_t`` at ``x``, one array per threshold.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per threshold, titled with it, sharing the density axis.
    """
    fig, axes = plt.subplots(1, len(thresholds), figsize=figsize(len(thresholds)),
                             sharey=True, squeeze=False)
    for ax, t, density in zip(axes[0], thresholds, reweighted, strict=True):
        ax.plot(x, base, **style("base", marker=""), label="$Q$")
        ax.plot(x, density, **style("error", marker=""), label="$P_t$")
        ax.set(yscale="log", ylim=(1e-8, 1), xlabel="$x$", title=f"$t = {t:.4g}$")
    axes[0, 0].set_ylabel("density")
    axes[0, 0].legend(loc="upper right")
    return fig


def mean_and_kl(t, curves, limit):
    """The mean and the KL of ``P_t`` against the threshold, one curve per choice of mass.

    Parameters
    ----------
    t : array_like
        The thresholds.
    curves : mapping
        ``{label: (mean, kl)}``, arrays over ``t``.
    limit : float
        The limit of the mean, drawn as a horizontal line labelled as a fraction.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels, the mean and the KL, both on a logarithmic ``t`` axis.
    """
    fig, (ax_mean, ax_kl) = plt.subplots(1, 2, figsize=figsize(2))
    for label, (mean, kl) in curves.items():
        ax_mean.plot(t, mean, label=label)
        ax_kl.plot(t, kl, label=label)
    fraction = Fraction(limit).limit_denominator(100)
    ax_mean.axhline(limit, **style("base", marker=""), label=str(fraction))
    ax_mean.set(xscale="log", xlabel="threshold $t$", ylabel=r"$E_{P_t}[X]$")
    ax_kl.set(xscale="log", xlabel="threshold $t$", ylabel="KL (nats)")
    ax_mean.legend(loc="upper left")
    return fig


def budget(t, bought, cost, kl):
    """What a fixed KL buys, and what a fixed mean costs, as the threshold grows.

    Parameters
    ----------
    t : array_like
        The thresholds.
    bought : mapping
        ``{law: mean of P_t at KL kl}``, arrays over ``t``.
    cost : mapping
        ``{law: KL of the P_t of mean 1}``, arrays over ``t``, the same laws.
    kl : float
        The budget of ``bought``; its cap ``sqrt(2 kl)`` for a standard normal is drawn.

    Returns
    -------
    matplotlib.figure.Figure
        Two log-log panels, the mean bought and the KL paid.
    """
    fig, (ax_bought, ax_cost) = plt.subplots(1, 2, figsize=figsize(2))
    for name in bought:
        ax_bought.plot(t, bought[name], label=name)
        ax_cost.plot(t, cost[name], label=name)
    ax_bought.axhline(np.sqrt(2 * kl), color="k", lw=0.8,
                      label=rf"cap $\sqrt{{2 \cdot {kl:g}}}$")
    ax_bought.set(xscale="log", yscale="log", xlabel="threshold $t$",
                  ylabel=f"mean bought with {kl:g} nats")
    ax_cost.set(xscale="log", yscale="log", xlabel="threshold $t$",
                ylabel="KL for mean 1 (nats)")
    # above the panels: inside, the curves and the cap run through it wherever it goes
    fig.legend(*ax_bought.get_legend_handles_labels(), loc="outside upper center", ncols=3)
    return fig


def ratios(t, by_law):
    """The exact KL of ``P_t`` divided by each approximate expression, one panel per law.

    Parameters
    ----------
    t : array_like
        The thresholds.
    by_law : mapping
        ``{law: {expression: ratio}}``, ratios arrays over ``t`` (at most three laws).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per law, titled with it, sharing the ratio axis (0.3 to 1.1).
    """
    fig, axes = plt.subplots(1, len(by_law), figsize=figsize(len(by_law)),
                             sharey=True, squeeze=False)
    for ax, (name, by_term) in zip(axes[0], by_law.items(), strict=True):
        for term, ratio in by_term.items():
            ax.plot(t, ratio, label=term)
        ax.set(xscale="log", xlabel="threshold $t$", title=name, ylim=(0.3, 1.1))
    axes[0, 0].set_ylabel("exact KL / expression")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=len(labels))
    return fig
