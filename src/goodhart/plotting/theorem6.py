"""The figures of the chapter on Theorem 6 (conditioning on a light-tailed error).

Each function draws one figure from arrays the chapter computed and returns the ``Figure``.
"""

import matplotlib.pyplot as plt

from goodhart.plotting import figsize, style


def conditional_densities(v, base, densities):
    """The density of ``V`` given ``U >= t`` at several thresholds, a panel an error law.

    Parameters
    ----------
    v : array_like
        The grid of utility values.
    base : array_like
        The density ``f_V`` on ``v``, without selection (drawn in every panel).
    densities : mapping
        ``{panel title: {curve label: density of V given U >= t on v}}``.

    Returns
    -------
    matplotlib.figure.Figure
        One panel a law, sharing the vertical axis; the legend in the last panel.
    """
    fig, axes = plt.subplots(1, len(densities), figsize=figsize(2, aspect=0.8),
                             sharey=True, squeeze=False)
    axes = axes[0]
    for ax, (title, curves) in zip(axes, densities.items(), strict=True):
        ax.plot(v, base, **style("base", marker="", label="$f_V$, no selection"))
        for label, density in curves.items():
            ax.plot(v, density, label=label)
        ax.set_title(title)
        ax.set_xlabel("$v$")
    axes[0].set_ylabel("density of $V$ given $U \\geq t$")
    axes[-1].legend(loc="upper right")
    return fig


def growth(t, means, mc_t, twins, closed_form, rate):
    """``E[V | U >= t]`` growing without bound for light-tailed errors, with its checks.

    Parameters
    ----------
    t : array_like
        Thresholds.
    means : mapping
        ``{legend label: E[V | U >= t] on t}``, one curve an error law.
    mc_t : array_like
        Thresholds of the Monte Carlo twins.
    twins : sequence
        One result with fields ``value`` and ``se`` on ``mc_t`` a curve, in order.
    closed_form : array_like
        The exact ``E[V | U >= t]`` for the normal error on ``t`` (every fourth is marked).
    rate : array_like
        The asymptote ``(3/2) sqrt(t)`` of the Weibull error on ``t``.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, both axes logarithmic.
    """
    fig, ax = plt.subplots(figsize=figsize())
    for (label, mean), twin in zip(means.items(), twins, strict=True):
        (line,) = ax.plot(t, mean, label=label)
        ax.errorbar(mc_t, twin.value, yerr=twin.se, fmt="o", ms=4,
                    color=line.get_color(), capsize=2)
    ax.plot(t[::4], closed_form[::4], "x", color="black", label="closed form, normal error")
    ax.plot(t, rate, **style("base", marker="", linewidth=1), label="$\\frac{3}{2}\\sqrt{t}$")
    ax.set(xscale="log", yscale="log", xlabel="threshold $t$",
           ylabel="$E[V \\mid X + V \\geq t]$")
    ax.legend(loc="upper left")
    return fig
