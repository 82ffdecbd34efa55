"""The figures of the chapter on real reward models, drawn from the authors' published scores.

The chapter's Figures 1 and 2 are :func:`goodhart.diagnostics.report_figure`; this module
draws the one figure of its own: the rewards of the ACG runs against the two samples.
"""

import matplotlib.pyplot as plt
import numpy as np

from goodhart.plotting import COLORS, HATCHES, figsize


def acg_rewards(random, llama, rewards, *, read=39):
    """The ACG rewards as ticks under the densities of the random-token and Llama rewards.

    The lowest and the highest ACG reward are annotated with their run (the index in
    ``rewards``); the runs from ``read`` on, which the authors' script never loads, are
    crosses.

    Parameters
    ----------
    random : array_like
        The rewards of the random token sequences.
    llama : array_like
        The rewards of the Llama 2 samples.
    rewards : array_like
        The reward of each ACG run, in the order of the runs.
    read : int
        How many runs, from the first, the authors' script reads.

    Returns
    -------
    matplotlib.figure.Figure
        One panel: two histograms (density, 150 bins from -6 to 9), the ticks and the crosses
        below them.
    """
    random, llama, rewards = (np.asarray(x) for x in (random, llama, rewards))
    lowest, highest = np.argmin(rewards), np.argmax(rewards)
    fig, ax = plt.subplots(figsize=figsize(1, aspect=0.45))
    bins = np.linspace(-6, 9, 151)
    ax.hist(random, bins=bins, density=True, color=COLORS["base"], alpha=0.35,
            hatch=HATCHES["base"], label=f"{random.size} random token sequences")
    ax.hist(llama, bins=bins, density=True, color=COLORS["proxy"], alpha=0.6,
            label=f"{llama.size} Llama 2 samples")
    ax.plot(rewards[:read], np.full(read, -0.08), "|", ms=14, mew=1.5, color=COLORS["error"],
            label=f"ACG runs 0 to {read - 1}")
    unread = (f"run {read}" if rewards.size == read + 1
              else f"runs {read} to {rewards.size - 1}")
    ax.plot(rewards[read:], np.full(rewards.size - read, -0.08), "x", ms=8,
            color=COLORS["error"], label=f"{unread} (not read)")
    for i, text, side in ((lowest, f"lowest, run {lowest}\n(the paper's)", "left"),
                          (highest, f"highest, run {highest}", "right")):
        ax.annotate(f"{text}\n{rewards[i]:.4f}", (rewards[i], -0.05),
                    xytext=(rewards[i], 0.45), ha=side, arrowprops={"arrowstyle": "-"})
    ax.set(xlabel="Starling reward", ylabel="density", ylim=(-0.16, 1.3))
    ax.legend(loc="upper left", bbox_to_anchor=(0.4, 1.0))
    return fig
