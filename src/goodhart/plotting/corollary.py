"""The figures of the chapter on the corollary (catastrophic Goodhart).

Each function draws one figure from arrays the chapter computed (draws of the error and the
utility, the proxy, KL and utility of the reweighted policies) and returns it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from goodhart.plotting import COLORS, figsize, style


def draws(error, utility, threshold):
    """Draws of (error, utility), those with a proxy ``X + V`` above the threshold marked.

    Parameters
    ----------
    error, utility : array_like
        The draws of ``X`` and ``V``.
    threshold : float
        The threshold ``t`` of the proxy; the line ``X + V = t`` is drawn.

    Returns
    -------
    matplotlib.figure.Figure
        One scatter panel, the error axis from -15 to 25.
    """
    error, utility = np.asarray(error), np.asarray(utility)
    upper = error + utility > threshold
    fig, ax = plt.subplots(figsize=figsize(1))
    ax.scatter(error[~upper], utility[~upper], s=2, alpha=0.3, color=COLORS["base"],
               label=rf"$U \leq {threshold:g}$")
    ax.scatter(error[upper], utility[upper], s=12, marker="^", color=COLORS["proxy"],
               label=f"$U > {threshold:g}$")
    ax.axline((threshold, 0), slope=-1, **style("base", marker=""),
              label=f"$X + V = {threshold:g}$")
    ax.set(xlim=(-15, 25), xlabel="error $X$", ylabel="utility $V$")
    ax.legend(loc="lower right", markerscale=2)
    return fig


def sweep(t, examples, cap):
    """Proxy, KL and utility of the reweighted policies against the threshold.

    Parameters
    ----------
    t : array_like
        The thresholds.
    examples : mapping
        ``{label: (proxy, kl, utility)}``, arrays over ``t``; the first is drawn with filled
        markers, the others with open ones.
    cap : array_like
        Theorem 2's cap on the utility at each KL, drawn as plus and minus ``cap``.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels on a logarithmic ``t`` axis: the proxy, the KL (log scale), the utility
        (symmetric log scale).
    """
    fig, axes = plt.subplots(1, 3, figsize=figsize(3))
    for k, (label, values) in enumerate(examples.items()):
        face = None if k == 0 else "none"
        for ax, y, role in zip(axes, values, ("proxy", "kl", "utility"), strict=True):
            ax.plot(t, y, **style(role, markevery=None, markerfacecolor=face), label=label)
    for sign in (1, -1):
        axes[2].plot(t, sign * np.asarray(cap), **style("base", marker=""))
    axes[0].set(title="proxy $E_P[U]$")
    axes[1].set(yscale="log", title="KL (nats)")
    axes[2].set(title="utility $E_P[V]$")
    axes[2].set_yscale("symlog", linthresh=1e-6)
    axes[2].set_yticks([-1, -1e-3, 0, 1e-3, 1])
    for ax in axes:
        ax.set(xscale="log", xlabel="threshold $t$")
    axes[0].legend(loc="upper left")
    return fig
