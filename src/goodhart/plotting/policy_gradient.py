"""The figures of the policy-gradient chapter, drawn from what the chapter computed.

Each function takes the laws, optima and training histories of :mod:`goodhart.rl` and
:mod:`goodhart.trees` that the chapter shows, and returns the figure. The two errors are
named ``"heavy"`` and ``"light"``, which are also their colour roles.
"""

import matplotlib.pyplot as plt
import numpy as np

from goodhart.plotting import COLORS, figsize, style

#: The base policy's utility, a dotted line.
_BASE = style("base", marker="", label=r"base $\mathbb{E}[V]$")
#: The panels of the training figure: history key and its label.
_PANELS = {"proxy": r"proxy $\mathbb{E}[U]$", "kl": "KL (nats)",
           "utility": r"utility $\mathbb{E}[V]$", "share": "share of token 6"}


def tails(laws, alpha):
    """The tail functions of the errors under the base policy, against a power law.

    Parameters
    ----------
    laws : dict
        ``{"heavy": law, "light": law}``, the laws of the errors
        (:func:`goodhart.trees.value_distribution`: ``.value`` and ``.sf``).
    alpha : float
        The tail index of the reference line ``0.3 x^-alpha``.

    Returns
    -------
    matplotlib.figure.Figure
        One log-log panel: a staircase for each error, the power law dotted.
    """
    fig, ax = plt.subplots(figsize=figsize())
    for name, law in laws.items():
        keep = (law.value > 0) & (law.sf > 0)
        ax.step(law.value[keep], law.sf[keep], where="post",
                **style(name, marker="", label=f"$X_{{\\mathrm{{{name}}}}}$"))
    xs = np.geomspace(1, 2000, 50)
    ax.plot(xs, 0.3 * xs**-alpha,
            **style("base", marker="", label=rf"$\propto x^{{-{alpha:.2f}}}$"))
    ax.set(xscale="log", yscale="log", xlabel="error $x$", ylabel=r"$P_{\pi_0}(X > x)$")
    ax.legend()
    return fig


def frontier(optima, best, base_utility, kl_target):
    """The KL-penalized optimum for every ``beta``: true utility and proxy against its KL.

    Parameters
    ----------
    optima : dict
        ``{error name: TiltedOptimum}`` over a grid of ``beta``, monitoring ``"utility"`` and
        ``"proxy"`` (:func:`goodhart.rl.tilted_optimum`).
    best : dict
        ``{error name: TiltedOptimum}``, the optimum at the KL target, drawn as a dot.
    base_utility : float
        The base policy's utility, a dotted line.
    kl_target : float
        The KL target, a vertical line.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: utility (left), proxy reward on a log axis (right).
    """
    fig, (ax_v, ax_u) = plt.subplots(1, 2, figsize=figsize(2, aspect=0.8))
    for name, o in optima.items():
        line = style(name, marker="", label=f"{name} error")
        ax_v.plot(o.kl, o.monitors["utility"], **line)
        ax_u.plot(o.kl, o.monitors["proxy"], **line)
        ax_v.plot(best[name].kl, best[name].monitors["utility"], "o", color=COLORS[name])
    ax_v.axhline(base_utility, **_BASE)
    for ax in (ax_v, ax_u):
        ax.axvline(kl_target, **style("kl", marker="", lw=1))
        ax.set_xlabel("KL of the optimum (nats)")
    ax_v.set(ylabel=r"true utility $\mathbb{E}[V]$")
    ax_u.set(ylabel=r"proxy reward $\mathbb{E}[U]$", yscale="log")
    # the legend starts right of the KL target's line, which would cross its labels
    line_at = ax_v.transAxes.inverted().transform(ax_v.transData.transform((kl_target, 0)))[0]
    ax_v.legend(loc="upper left", bbox_to_anchor=(line_at + 0.02, 1.0))
    return fig


def training(runs, base_utility, kl_target):
    """Training with the adaptive KL coefficient: proxy, KL, utility and share at each step.

    Parameters
    ----------
    runs : dict
        ``{(error name, estimator): history}``, each history a mapping with the arrays
        ``"proxy"``, ``"kl"``, ``"utility"`` and ``"share"``; the estimator ``"exact"`` is
        drawn solid, any other dashed.
    base_utility : float
        The base policy's utility, a dotted line in the utility panel.
    kl_target : float
        The KL target, a line in the KL panel.

    Returns
    -------
    matplotlib.figure.Figure
        Four panels: proxy and KL (top, log axes), utility and share (bottom).
    """
    fig, axes = plt.subplots(2, 2, figsize=figsize(2, 2), sharex=True)
    for (name, estimator), h in runs.items():
        for ax, key in zip(axes.flat, _PANELS, strict=True):
            ax.plot(h[key], **style(name, marker="", lw=1.4,
                                    linestyle="-" if estimator == "exact" else "--",
                                    label=f"{name}, {estimator}"))
    for ax, label in zip(axes.flat, _PANELS.values(), strict=True):
        ax.set_ylabel(label)
    axes[1, 0].axhline(base_utility, **_BASE)
    axes[0, 1].axhline(kl_target, **style("kl", marker="", lw=1, label="KL target"))
    axes[0, 0].set_yscale("log")
    axes[0, 1].set(yscale="log", ylim=(1e-3, 30))
    for ax in axes[1]:
        ax.set_xlabel("training step")
    axes[0, 1].legend(loc="lower right")
    axes[1, 0].legend(handles=axes[1, 0].lines[-1:], loc="lower left")
    return fig
