"""The figures of the chapter on heavy and light tails.

Each function draws one figure from arrays the chapter computed and returns the ``Figure``.
"""

import matplotlib.pyplot as plt

from goodhart.plotting import figsize


def tail_functions(x, log10_tails, heavy):
    """``log10 Fbar(x)`` of several laws: the light ones fall off, the heavy ones flatten.

    Parameters
    ----------
    x : array_like
        Where the tails are drawn.
    log10_tails : mapping
        ``{law's name: log10 Fbar on x}``.
    heavy : mapping
        ``{law's name: whether it is heavy-tailed}`` (right panel if so), the same keys.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels sharing the vertical axis, each with its legend below it.
    """
    fig, axes = plt.subplots(1, 2, figsize=figsize(2), sharey=True)
    for name, log10_tail in log10_tails.items():
        axes[int(heavy[name])].plot(x, log10_tail, label=name)
    for ax, title in zip(axes, ["light tails fall off", "heavy tails flatten"], strict=True):
        ax.set(xlabel="$x$", title=title, ylim=(-40, 0.5))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)  # below the x label
    axes[0].set_ylabel(r"$\log_{10} \overline{F}(x)$")
    return fig


def subexponential(points, ratios):
    """``P(X1 + X2 > x) / P(X > x)`` against ``x``: 2 for subexponential laws, unbounded else.

    Parameters
    ----------
    points : mapping
        ``{law's name: the x of its curve}``.
    ratios : mapping
        ``{law's name: the ratio on its x}``, the same keys.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, both axes logarithmic, the level 2 dotted.
    """
    fig, ax = plt.subplots(figsize=figsize(1))
    for name, ratio in ratios.items():
        ax.plot(points[name], ratio, marker="o", label=name)
    ax.axhline(2, color="k", lw=0.8, ls=":")
    ax.set(xscale="log", yscale="log", ylim=(0.9, 1e3), xlabel="$x$",
           ylabel=r"$P(X_1 + X_2 > x)\,/\,P(X > x)$")
    ax.legend(loc="upper right")
    return fig
