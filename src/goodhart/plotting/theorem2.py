"""The figures of the chapter on Theorem 2: the KL frontier of a light-tailed utility.

Each function draws one figure from arrays the chapter computed (densities of tilts,
Donsker-Varadhan bounds, frontiers against the budget) and returns it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from goodhart.plotting import figsize, style


def tilts_and_bounds(v, base, tilted, lam, bounds):
    """Exponential tilts of a law, and the Donsker-Varadhan bounds whose least value they reach.

    Parameters
    ----------
    v : array_like
        The points where the densities were evaluated.
    base : array_like
        The density of ``Q`` at ``v``.
    tilted : mapping
        ``{lambda: density of the tilt at lambda, at v}``.
    lam : array_like
        The values of ``lambda`` where the bounds were evaluated.
    bounds : mapping
        ``{d: (bound, (lambda_star, frontier))}``: the bound ``(d + Lambda(lam)) / lam`` over
        ``lam``, and its least point, marked.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: the tilts, and the bounds against ``lambda``.
    """
    fig, (ax_tilts, ax_bounds) = plt.subplots(1, 2, figsize=figsize(2))
    ax_tilts.plot(v, base, **style("base", marker=""), label="$Q$")
    for value, density in tilted.items():
        ax_tilts.plot(v, density, label=rf"$\lambda = {value:g}$")
    for d, (bound, least) in bounds.items():
        (line,) = ax_bounds.plot(lam, bound, label=f"$d = {d:g}$")
        ax_bounds.plot(*least, "o", color=line.get_color())
    # headroom above the densities' peak (1/sqrt(2 pi)) for the legend, in two columns
    ax_tilts.set(xlabel="$v$", ylabel="density", title=r"tilts of $N(0, 1)$", ylim=(0, 0.6))
    ax_bounds.set(xlabel=r"$\lambda$", ylabel=r"$(d + \Lambda(\lambda))/\lambda$",
                  ylim=(0, 6), title="Donsker-Varadhan bounds")
    ax_tilts.legend(loc="upper left", ncols=2)
    ax_bounds.legend(loc="upper right")
    return fig


def frontiers(d, light, heavy, reference="exponential"):
    """Finite frontiers of light tails beside the unbounded means of heavy-tailed ``P_t``.

    Parameters
    ----------
    d : array_like
        The KL budgets of the light frontiers.
    light : mapping
        ``{law: frontier over d}``.
    heavy : mapping
        ``{c: (kl, mean)}`` of the reweightings ``P_t`` of a heavy-tailed law, mass ``c/t``.
    reference : str
        The light law drawn again in the heavy panel, for comparison.

    Returns
    -------
    matplotlib.figure.Figure
        Two log-log panels sharing the mean axis: light tails, and the heavy-tailed family.
    """
    fig, (ax_light, ax_heavy) = plt.subplots(1, 2, figsize=figsize(2), sharey=True)
    for name, values in light.items():
        ax_light.plot(d, values, label=name)
    ax_heavy.plot(d, light[reference], **style("light"), label=reference)
    for (c, (kl, mean)), dash in zip(heavy.items(), ["--", "-.", ":"], strict=False):
        ax_heavy.plot(kl, mean, **style("heavy", linestyle=dash), label=f"$P_t$, $c = {c:g}$")
    ax_light.set(xlabel="KL budget $d$ (nats)", ylabel=r"$\Phi_V(d)$",
                 title="light tails: finite")
    ax_heavy.set(xlabel="KL (nats)", title="Student-t: infinite")
    for ax, where in [(ax_light, "upper left"), (ax_heavy, "lower right")]:
        ax.set(xscale="log", yscale="log", ylim=(1e-3, 30))
        ax.legend(loc=where)
    return fig
