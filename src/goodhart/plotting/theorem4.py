"""The figures of the chapter on Theorem 4: the KL-penalized optimum of light-tailed pairs.

Each function draws one figure from arrays the chapter computed (densities on a grid, the
optimum's means against ``1/beta``) and returns it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from goodhart.plotting import CYCLE, figsize, style


def picture(x, v, densities):
    """Contours of the joint density of (error, utility), base law and tilts, with centres.

    Parameters
    ----------
    x, v : array_like
        The grid (from ``np.meshgrid``) of the error and the utility.
    densities : mapping
        ``{label: (centre, density on the grid)}``; the first is the base law (black,
        dotted), the others take the colours of ``CYCLE`` in order, dashed then solid. The
        centre ``c`` is marked at ``(c, c)``.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, equal aspect, contours at the levels 0.01, 0.05 and 0.12.
    """
    fig, ax = plt.subplots(figsize=figsize(1))
    looks = [(style("base")["color"], ":"), *zip(CYCLE, ["--", "-", "-."], strict=False)]
    for (label, (centre, density)), (color, dash) in zip(densities.items(), looks,
                                                          strict=False):
        ax.contour(x, v, density, levels=[0.01, 0.05, 0.12], colors=[color],
                   linestyles=dash)
        ax.plot([centre], [centre], "o", color=color, label=label)
    ax.set(xlabel="error $x$", ylabel="utility $v$", aspect="equal")
    ax.legend(loc="upper left")
    return fig


def pairs(inverse_beta, optima):
    """The optimum's utility and error against ``1/beta``, one curve per pair, log-log.

    Parameters
    ----------
    inverse_beta : array_like
        The values of ``1/beta``.
    optima : mapping
        ``{pair: (utility, error)}``, arrays over ``inverse_beta``.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels sharing the mean axis, with the line ``1/beta`` for reference.
    """
    fig, axes = plt.subplots(1, 2, figsize=figsize(2), sharey=True)
    for k, (ax, letter) in enumerate(zip(axes, "VX", strict=True)):
        for name, means in optima.items():
            ax.plot(inverse_beta, means[k], label=name)
        ax.plot(inverse_beta, inverse_beta, **style("base", marker=""), label=r"$1/\beta$")
        ax.set(xscale="log", yscale="log", xlabel=r"$1/\beta$",
               title=f"{['utility', 'error'][k]} $E[{letter}]$")
    axes[0].legend(loc="upper left")
    return fig
