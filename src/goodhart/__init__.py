"""Numerics for the executable book on catastrophic Goodhart under a KL penalty.

One module a concern: ``tails``, ``reweighting`` (Theorem 1), ``mdp`` (Theorem 2),
``tilting`` (Theorems 3 and 4), ``conditioning`` (Theorems 5 and 6), ``best_of_n``,
``diagnostics``, ``mixture``, ``rl``, ``remedies`` (the discussion's toy models and remedies)
and ``plotting``. Distributions are frozen
``scipy.stats`` objects.
"""

__version__ = "0.1.0"
