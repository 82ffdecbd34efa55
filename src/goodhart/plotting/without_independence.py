"""The figures of the chapter on dependent errors (the paper's footnotes 4 and 6).

Each function draws one figure from arrays the chapter computed and returns the ``Figure``.
"""

import matplotlib.pyplot as plt

from goodhart.plotting import figsize, style


def counterexample(t, footnote, independent, far_t, gap, inverse_rate):
    """The footnote's dependent error: ``E[V | U >= t]`` returns to 1, and how fast.

    Parameters
    ----------
    t : array_like
        Thresholds of the left panel.
    footnote, independent : array_like
        ``E[V | U >= t]`` on ``t`` for the footnote's model and for an independent error.
    far_t : array_like
        Thresholds of the right panel.
    gap : array_like
        ``1 - E[V | U >= t]`` on ``far_t``.
    inverse_rate : array_like
        ``1 / lambda(t)`` on ``far_t``, the predicted gap.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: the curves with the computed and the footnote's limits, then the gap on
        logarithmic axes.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=figsize(2, aspect=0.8))
    left.plot(t, footnote, **style("utility", label="footnote's model"))
    left.plot(t, independent, **style("light", label="independent $X \\sim N(0, 4)$"))
    left.axhline(1, **style("base", marker="", linewidth=1))
    left.text(30, 1.15, "computed limit: 1")
    left.text(30, 0.12, "footnote's limit: 0")
    left.axhline(0, **style("base", marker="", linestyle="--", linewidth=1))
    left.set(ylim=(-0.3, 4), xlabel="threshold $t$", ylabel="$E[V \\mid X + V \\geq t]$")
    left.legend(loc="upper left")
    right.loglog(far_t, gap, **style("utility", label="$1 - E[V \\mid U \\geq t]$"))
    right.loglog(far_t, inverse_rate, **style("base", marker="", label="$1/\\lambda(t)$"))
    right.set(xlabel="threshold $t$", title="the approach to 1")
    right.legend(loc="lower left")
    return fig


def families(t, families):
    """Utility, error and KL of each family of the both-heavy construction, a panel each.

    Parameters
    ----------
    t : array_like
        Thresholds.
    families : mapping
        ``{name: result with fields utility, error and kl on t}``.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels, logarithmic in ``t`` (the KL also in value), a legend below.
    """
    fig, axes = plt.subplots(1, 3, figsize=figsize(3, aspect=1.0))
    for name, family in families.items():
        for ax, values in zip(axes, (family.utility, family.error, family.kl), strict=True):
            ax.plot(t, values, marker="o", markersize=3, label=f"family {name}")
    titles = ["utility $E_P[V]$", "error $E_P[X]$", "$D(P \\,\\|\\, Q)$ (nats)"]
    for ax, title in zip(axes, titles, strict=True):
        ax.set(xscale="log", xlabel="threshold $t$", title=title)
    axes[2].set_yscale("log")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=5)
    return fig
