"""The figure of the chapter on real reward models, drawn on small inputs."""

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.colors import to_hex

from goodhart.plotting import COLORS, figsize
from goodhart.plotting import reward_models as figures

mpl.use("Agg")
RNG = np.random.default_rng(0)
RANDOM = RNG.normal(-2.6, 0.35, 300).astype(np.float32)
LLAMA = RNG.normal(0.0, 1.5, 200)
REWARDS = np.array([3.0, 2.2, 8.1, 4.0, 5.5])



def test_acg_rewards_draws_two_densities_the_read_runs_and_the_rest():
    fig = figures.acg_rewards(RANDOM, LLAMA, REWARDS, read=4)
    (ax,) = fig.axes
    assert tuple(fig.get_size_inches()) == pytest.approx(figsize(1, aspect=0.45))
    ticks, crosses = ax.lines
    assert ticks.get_marker() == "|" and crosses.get_marker() == "x"
    assert ticks.get_xdata().tolist() == REWARDS[:4].tolist()
    assert crosses.get_xdata().tolist() == [5.5]
    assert to_hex(ticks.get_color()) == to_hex(COLORS["error"])
    # two histograms of 150 bins each, as densities
    assert len(ax.patches) == 300
    heights = np.array([p.get_height() for p in ax.patches[:150]])
    assert np.sum(heights) * 0.1 == pytest.approx(1.0)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["300 random token sequences", "200 Llama 2 samples",
                      "ACG runs 0 to 3", "run 4 (not read)"]
    notes = [t.get_text() for t in ax.texts]
    assert notes == ["lowest, run 1\n(the paper's)\n2.2000", "highest, run 2\n8.1000"]
    assert ax.get_xlabel() == "Starling reward" and ax.get_ylim() == (-0.16, 1.3)


def test_acg_rewards_names_several_unread_runs():
    fig = figures.acg_rewards(RANDOM, LLAMA, REWARDS, read=2)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[2:] == ["ACG runs 0 to 1", "runs 2 to 4 (not read)"]
    assert fig.axes[0].lines[1].get_xdata().tolist() == [8.1, 4.0, 5.5]
