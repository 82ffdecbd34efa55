"""The figures of the chapter on the tail diagnostics, drawn from what the chapter computed.

Both take one curve a law (the seven laws of :data:`goodhart.diagnostics.LAWS`), drawn as the
members of a family: the colours and line styles of the book's cycle, in order.
"""

import matplotlib.pyplot as plt

from goodhart.plotting import figsize


def picture(qq, hill, k, k_line):
    """One sample a law: its exponential Q-Q curve, its Hill estimates and their limits.

    Parameters
    ----------
    qq : dict
        ``{law name: (quantiles, scaled excesses)}``: the exponential quantiles of the values
        above the mean, and their excesses over the mean divided by the mean excess.
    hill : dict
        ``{law name: (estimates, limits)}``: the Hill estimates at ``k`` and the large-sample
        values at ``k_line``, with the same names as ``qq``.
    k : array_like
        The numbers of upper order statistics of the estimates (dots).
    k_line : array_like
        Those of the limits (lines).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: the Q-Q curves with the diagonal of an exponential tail, and the Hill
        estimates against ``k`` on a log scale.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=figsize(2, aspect=1.0))
    for name, (quantile, excess) in qq.items():
        (line,) = left.plot(quantile, excess, lw=1.5, label=name)
        same = {"color": line.get_color(), "ls": line.get_linestyle()}
        estimates, limits = hill[name]
        right.plot(k, estimates, ".", ms=3, color=same["color"])
        right.plot(k_line, limits, lw=1.2, **same)
    left.plot([0, 10.5], [0, 10.5], color="0.5", lw=1)
    left.set(xlabel="exponential quantile", ylabel="excess over the mean / its mean",
             ylim=(0, 16), title="exponential Q-Q, above the mean")
    left.legend(loc="upper left")
    right.set(xlabel="number of upper order statistics k", ylabel="Hill estimate",
              xscale="log", title="Hill estimates (dots), limits (lines)")
    return fig


def bend(n, ratios, null, sizes):
    """Where the exponential bend ratio settles for each law as the sample grows.

    Parameters
    ----------
    n : array_like
        Sample sizes.
    ratios : dict
        ``{law name: large-sample bend ratio at each n}``.
    null : tuple of array_like
        ``(low, high)``: the range an exponential tail keeps the ratio in at each ``n``,
        shaded grey.
    sizes : sequence of int
        Sample sizes marked by vertical lines (the paper's), the first one annotated.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, both axes on log scales, the legend above it.
    """
    fig, ax = plt.subplots(figsize=figsize(1, aspect=0.7))
    for name, ratio in ratios.items():
        ax.plot(n, ratio, marker="o", ms=3, label=name)
    ax.fill_between(n, *null, color="0.85", label="exponential tail, 95% range")
    for size in sizes:
        ax.axvline(size, color="0.4", lw=1)
    ax.annotate("n = " + " and ".join(f"{size}" for size in sorted(sizes)), (sizes[0], 0.21),
                xytext=(6, 0), textcoords="offset points")
    ax.set(xscale="log", yscale="log", ylim=(0.2, 80), xlabel="sample size n",
           ylabel="bend ratio (large-sample value)")
    fig.legend(ncols=3, loc="outside upper center")
    return fig
