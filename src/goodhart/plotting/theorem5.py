"""The figures of the chapter on Theorem 5 (conditioning on a heavy-tailed error).

Each function draws one figure from arrays the chapter computed and returns the ``Figure``.
"""

import matplotlib.pyplot as plt

from goodhart.plotting import figsize, style


def regions(v, log_density, log_error_tail, log_conditional, t, h,
            label_x=(-10.5, 0.0, 12.5, 27.0)):
    """The paper's Figure A.2 redrawn: the log densities the proof's regions cut, a panel a law.

    Parameters
    ----------
    v : array_like
        The grid of utility values.
    log_density : mapping
        ``{panel title: log f_V on v}``, one panel a utility law.
    log_error_tail : array_like
        ``log Fbar_X(t - v)`` on ``v``, the same in every panel.
    log_conditional : mapping
        ``{panel title: log density of V given U >= t on v}``, the keys of ``log_density``.
    t, h : float
        The threshold and the cut: the regions' edges are at ``-h``, ``h`` and ``t - h``.
    label_x : sequence of 4 floats, optional
        Where the names ``r_1`` to ``r_4`` stand (the defaults suit ``t = 25``, ``h = 4`` on
        ``[-12, 32]``).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels (one a law) sharing the vertical axis, in nats, and a legend below.
    """
    fig, axes = plt.subplots(1, len(log_density), figsize=figsize(2, aspect=0.95),
                             sharey=True, squeeze=False)
    axes = axes[0]
    for ax, (name, log_f) in zip(axes, log_density.items(), strict=True):
        ax.plot(v, -log_f, **style("utility", label="$-\\log f_V(v)$"))
        ax.plot(v, -log_error_tail,
                **style("error", label="$-\\log \\overline{F}_X(t - v)$"))
        ax.plot(v, -log_conditional[name],
                **style("proxy", label="$-\\log$ density of $V \\mid U \\geq t$"))
        for edge in (-h, h, t - h):
            ax.axvline(edge, **style("base", marker="", linewidth=1))
        for i, centre in enumerate(label_x):
            ax.text(centre, 33, f"$r_{i + 1}$", ha="center")
        ax.set(ylim=(0, 36), title=name, xlabel="$v$")
    axes[0].set_ylabel("nats")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=3)
    return fig


def rates(t, means, first_order, mc_t, twins, light_t, light):
    """``E[V | U >= t]`` against ``t`` for several errors, with its first-order rate.

    Parameters
    ----------
    t : array_like
        Thresholds of the curves.
    means : mapping
        ``{error's name: E[V | U >= t] on t}``.
    first_order : mapping
        ``{error's name: Var(V) hazard rate of the error on t}``, the same keys.
    mc_t : array_like
        Thresholds of the Monte Carlo twins.
    twins : mapping
        ``{error's name: result with fields value and se on mc_t}``, the same keys.
    light_t, light : array_like
        Thresholds and ``E[V | U >= t]`` for a light-tailed error, for contrast.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, both axes logarithmic.
    """
    fig, ax = plt.subplots(figsize=figsize())
    for name, mean in means.items():
        (curve,) = ax.plot(t, mean, label=f"$X \\sim$ {name}")
        ax.errorbar(mc_t, twins[name].value, yerr=twins[name].se, fmt="o", ms=4,
                    color=curve.get_color(), capsize=2)
    ax.plot(light_t, light, label="$X \\sim N(0, 1)$ (light tail)")
    for index, name in enumerate(means):
        ax.plot(t, first_order[name], **style("base", marker="", linewidth=1),
                label="first order" if index == 0 else None)
    ax.set(xscale="log", yscale="log", ylim=(1e-6, 1e2), xlabel="threshold $t$",
           ylabel="$E[V \\mid X + V \\geq t]$")
    ax.legend(loc="lower left")
    return fig


def violations(t, means, slopes, level):
    """``E[V | U >= t]`` when the utility's tail is too heavy for Theorem 5, a curve a law.

    Parameters
    ----------
    t : array_like
        Thresholds.
    means : mapping
        ``{nu: E[V | U >= t] on t}`` for a Student-t utility of ``nu`` degrees of freedom.
    slopes : mapping
        ``{nu: slope of log E[V | U >= t] against log t}``, shown in the legend.
    level : float
        The limit of the boundary case, drawn as a horizontal line.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, both axes logarithmic.
    """
    fig, ax = plt.subplots(figsize=figsize())
    for nu, mean in means.items():
        ax.plot(t, mean, label=f"$V \\sim t_{{{nu:g}}}$, slope {slopes[nu]:.2f}")
    ax.axhline(level, **style("base", marker="", linestyle="-", linewidth=0.8))
    ax.set(xscale="log", yscale="log", xlabel="threshold $t$",
           ylabel="$E[V \\mid X + V \\geq t]$")
    ax.legend(loc="upper left")
    return fig
