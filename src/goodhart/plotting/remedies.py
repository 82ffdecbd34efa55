"""The figures of the chapter on remedies, drawn from what the chapter computed.

Each function takes the results of :mod:`goodhart.remedies` and :mod:`goodhart.bounded_reward`
that the chapter shows (anything with the fields it reads), and returns the figure.
"""

import matplotlib.pyplot as plt

from goodhart.plotting import STYLES, figsize


def utility_against_kl(d, frontier, quantilizer, clipped, squashed, level):
    """Utility against KL for each remedy, under the frontier that bounds every policy.

    Parameters
    ----------
    d : array_like
        The KL values (nats) of the frontier, and the range of the horizontal axis.
    frontier : array_like
        The most utility any policy within KL ``d`` can have.
    quantilizer, clipped, squashed : results with ``.kl`` and ``.utility``
        The quantilizer, the optimum for the reward clipped at ``level``, and the optimum for
        the reward ``tanh(U)``.
    level : float
        The level of the clipped reward, for its label.

    Returns
    -------
    matplotlib.figure.Figure
        One panel: the frontier, the base utility 0 of Theorem 1's policies, and the three
        remedies.
    """
    fig, ax = plt.subplots(figsize=figsize())
    ax.plot(d, frontier, label=r"KL frontier of $V$, $\sqrt{2d}$")
    ax.plot(d, 0 * d, label="Theorem 1's policies (any reward)")
    for p, label in ((quantilizer, r"quantilizer, $dP/dQ \leq 1/q$"),
                     (clipped, rf"optimum for $\min(U, {level:g})$"),
                     (squashed, r"optimum for $\tanh(U)$")):
        ax.plot(p.kl, p.utility, label=label)
    ax.set(xlabel=r"KL to the base $D(P\,\|\,Q)$ (nats)", xlim=(d[0], d[-1]),
           ylabel=r"true utility $\mathbb{E}_P[V]$", ylim=(-0.1, 1.6))
    ax.legend(loc="upper right")
    return fig


def three_knob(knobs, cap):
    """The three-knob model at a KL cap: reward, quality and the KL spent on hacking.

    Parameters
    ----------
    knobs : dict
        ``{"heavy": ThreeKnob, "light": ThreeKnob}`` (:func:`goodhart.remedies.three_knob`)
        over a grid of severities; the keys are also the colour roles.
    cap : float
        The KL cap (nats) of the model, the unit of the right panel.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels against the severity (log axes): the most reward, its quality, and the
        share of the cap spent on hacking.
    """
    fig, axes = plt.subplots(1, 3, figsize=figsize(3, aspect=0.9))
    for name, p in knobs.items():
        for ax, y in zip(axes, (p.proxy, p.quality, p.hack_kl / cap), strict=True):
            ax.plot(p.severity, y, **STYLES[name], label=f"{name} error")
    axes[0].set(yscale="log", title=r"reward $\mathbb{E}_P[U]$ at the cap")
    axes[1].set(yscale="log", title=r"quality $\mathbb{E}_P[V]$")
    axes[2].set(title="share of the KL on hacking")
    for ax in axes:
        ax.set(xscale="log", xlabel="severity $s$")
    axes[0].legend(loc="upper left")
    return fig
