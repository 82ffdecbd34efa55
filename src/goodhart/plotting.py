"""The book's figure style, shared by all chapters.

Call ``use_book_style()`` once at the top of a chapter. Colours name roles, not hues, so the
same quantity has the same colour in every chapter: ``COLORS["utility"]`` for the true
utility ``V``, ``COLORS["error"]`` for the error ``X``, ``COLORS["proxy"]`` for ``U``.
"""

import matplotlib as mpl

COLORS = {
    "utility": "#1b7837",  # V, true utility: green
    "error": "#b2182b",  # X, error: red
    "proxy": "#2166ac",  # U = X + V, proxy reward: blue
    "kl": "#762a83",  # KL divergence: purple
    "base": "#4d4d4d",  # base policy / reference distribution: grey
    "light": "#2166ac",  # light-tailed distributions
    "heavy": "#b2182b",  # heavy-tailed distributions
}

# A qualitative cycle (Okabe-Ito, readable by colour-blind readers) for families of curves.
CYCLE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]


def use_book_style():
    """Set matplotlib's rcParams to the book's style: PNG at print resolution, light grid."""
    mpl.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "figure.figsize": (7.0, 4.2),
            "figure.constrained_layout.use": True,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": mpl.cycler(color=CYCLE),
            "axes.titlesize": "medium",
            "legend.frameon": False,
            "font.size": 10,
            "lines.linewidth": 1.8,
        }
    )
