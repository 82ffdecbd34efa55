"""The figures of the chapter on best-of-N selection, drawn from what the chapter computed.

Each function takes the arrays (or the results of :meth:`goodhart.proxy.Proxy.best_of_n` and
:func:`goodhart.best_of_n.sample_best_of_n`) that the chapter shows, and returns the figure.
"""

import itertools

import matplotlib.pyplot as plt

from goodhart.plotting import COLORS, CYCLE, CYCLE_LINESTYLES, figsize, style

#: The paper's laws, as the figures name them.
NAMES = {"normal": "normal", "t10": "Student-t(10)", "t3": "Student-t(3)",
         "t5": "Student-t(5)", "lognormal": "lognormal", "levy": "Levy"}
#: The error laws of Figure B.3, one a row, in the paper's order.
ROWS = ("normal", "lognormal", "t3", "t5", "levy")


def utility_given(u, light, heavy, levels, labels):
    """The utility ``g(u) = E[V | U = u]`` under a light and a heavy error, and the levels t_N.

    Parameters
    ----------
    u : array_like
        The proxy values.
    light, heavy : array_like
        ``g(u)`` at ``u`` with a normal error and with a Student-t(3) error.
    levels : array_like
        The levels ``t_N`` that the best of ``N`` reaches, each drawn as a dotted line.
    labels : sequence of str
        The TeX of each level's ``N`` (``"10^3"``).

    Returns
    -------
    matplotlib.figure.Figure
        One panel.
    """
    fig, ax = plt.subplots(figsize=figsize(aspect=0.5))
    ax.plot(u, light, **style("light", label="$X$ normal"))
    ax.plot(u, heavy, **style("heavy", label="$X$ Student-t(3)"))
    for label, t in zip(labels, levels, strict=True):
        ax.axvline(t, **style("base", marker="", lw=1))
        # on the left of its line, where the rising curve of the light error is still low
        ax.text(t - 0.4, 10.5, f"$t_N$, $N = {label}$", rotation=90, va="top", ha="right")
    ax.set(xlabel="proxy $u$", ylabel=r"$g(u) = \mathrm{E}[V \mid U = u]$",
           ylim=(-2, 11), xlim=(u[0], u[-1]))
    ax.legend(loc="center right")
    return fig


def paper_grid(n, exact, sampled):
    """Figure B.3 of the paper: utility, error and proxy at the best of N, exact and sampled.

    Parameters
    ----------
    n : array_like
        The ``N`` of the exact curves.
    exact : dict
        ``{(utility name, error name): BestOfN}`` at ``n``, for the paper's ten pairs.
    sampled : dict
        The Monte Carlo results (with ``.n`` and ``.se``) of the same pairs.

    Returns
    -------
    matplotlib.figure.Figure
        Ten panels, one row an error law (:data:`ROWS`), one column a utility law; the
        vertical axis is ``asinh``-scaled except for the Levy error (utility alone).
    """
    utilities = list(dict.fromkeys(v for v, _ in exact))
    fig, axes = plt.subplots(len(ROWS), len(utilities), sharex=True,
                             figsize=figsize(len(utilities), len(ROWS)))
    for ax, (x, v) in zip(axes.flat, itertools.product(ROWS, utilities), strict=True):
        r, s = exact[v, x], sampled[v, x]
        for role in ["utility"] if x == "levy" else ["proxy", "error", "utility"]:
            ax.plot(n, getattr(r, role), **style(role, marker=""), label=f"{role}, exact")
            ax.errorbar(s.n, getattr(s, role), 2 * getattr(s.se, role), capsize=2,
                        **style(role, linestyle="none", markevery=None),
                        label=f"{role}, 100 trials")
        ax.axvspan(65536, 1e12, color=COLORS["base"], alpha=0.08, lw=0)
        ax.set(xscale="log", xlim=(1, 1e12), xticks=[1, 1e3, 1e6, 1e9, 1e12],
               title=f"V {NAMES[v]}, X {NAMES[x]}", ylim=(-1, 1.5))
        if x != "levy":
            top = 2 * max(r.proxy.max(), r.utility.max())
            ticks = [t for t in [0, 1, 10, 100, 1000, 10000] if t <= top]
            ax.set_yscale("asinh", linear_width=1.0)
            ax.set(yticks=ticks, yticklabels=[f"{t:g}" for t in ticks], ylim=(-1, top))
            ax.yaxis.set_minor_locator(plt.NullLocator())
    for ax in axes[-1]:
        ax.set_xlabel("$N$")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside upper center", ncol=3)
    return fig


def far_tail(t, ratio, n, utility, n_conditioned, conditioned):
    """Theorem 5's ratio, and utility at the best of N and under conditioning, far out.

    Parameters
    ----------
    t : array_like
        The thresholds of the ratio.
    ratio : dict
        ``{error name: t * P(V > t) / P(X > t)}`` at ``t``.
    n : array_like
        The ``N`` of the best-of-N curves.
    utility : dict
        ``{error name: E[V]}`` at the best of ``n``.
    n_conditioned, conditioned : dict
        ``{error name: 1 / P(U >= t_N)}`` and ``{error name: E[V | U >= t_N]}`` at some
        levels ``t_N``, drawn as circles.

    Returns
    -------
    matplotlib.figure.Figure
        Two log-log panels: the ratio (left), utility against ``N`` (right).
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=figsize(2))
    for x, color, dash in zip(ratio, CYCLE[3:5], CYCLE_LINESTYLES[3:5], strict=True):
        left.plot(t, ratio[x], color=color, ls=dash, label=f"X {NAMES[x]}")
        right.plot(n, utility[x], color=color, ls=dash)
        right.plot(n_conditioned[x], conditioned[x], "o", color=color, mfc="none")
    left.set(xscale="log", yscale="log", xlabel="threshold $t$",
             ylabel=r"$t\,\overline{F}_V(t) / \overline{F}_X(t)$",
             title="Theorem 5's ratio, V Student-t(10)")
    left.legend(loc="upper left")
    right.axvspan(65536, 1e20, color=COLORS["base"], alpha=0.08, lw=0)
    right.set(xscale="log", yscale="log", xlim=(2, 1e20), ylim=(1e-3, 300),
              xticks=[1e5, 1e10, 1e15, 1e20], xlabel="$N$", ylabel="utility",
              title="utility at the best of $N$")
    grey = {"color": "0.4", "mfc": "none"}
    right.legend([plt.Line2D([], [], **grey), plt.Line2D([], [], marker="o", ls="", **grey)],
                 ["best of $N$", r"$\mathrm{E}[V \mid U \geq t_N]$"], loc="upper center")
    return fig
