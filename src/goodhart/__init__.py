"""Numerics for the executable book on catastrophic Goodhart under a KL penalty.

The proxy reward is ``U = X + V``, true utility ``V`` plus error ``X``; laws are frozen
``scipy.stats`` distributions. One module a concept; the results of the book sit on a few
shared modules. Each module imports only from the floors below it::

    5  report    remedies    dependence    mdp
    4  best_of_n    bounded_reward    reweighting    rl    occupancy    cli
    3  proxy (the engine for U)    trees    regions    diagnostics
    2  tilting    divergences    _fast    results
    1  tails
    0  _checks (validation, used by all)    plotting    data

(three calls go up, made when they run: ``Proxy.report`` into ``report``, ``python -m
goodhart.diagnostics`` into ``cli``, and the tails' quadratures into ``_fast``'s closed-form
densities and tails).

* ``tails``: tail facts of one law, and the one heavy/light classification;
* ``divergences``: Bernoulli, mixture and discrete KL, total variation;
* ``proxy``: ``Proxy(utility=, error=)``, the law of ``U`` (the one engine);
* ``trees``: token trees, policies on them, reach probabilities, per-state KL;
* ``reweighting`` (Theorem 1), ``tilting`` (Theorems 2 and 4), ``mdp`` (Theorem 3),
  ``regions`` (Theorem 5's proof, Lemmas 1 and 2), ``dependence`` (dependent errors),
  ``best_of_n`` (the paper's synthetic experiment), ``rl`` (the policy-gradient analogue of the
  paper's PPO run), ``occupancy``, ``remedies`` and ``bounded_reward`` (the discussion),
  ``diagnostics`` (tails of reward samples) with its command line ``cli``, ``data`` (the
  authors' published scores), ``report`` (every verdict for one pair), ``results`` (the
  scorecard read from the chapters), ``plotting`` (the book's palette, figure style and
  tables; ``plotting.<chapter>`` draws one chapter's figures from the values it computed).
"""

from goodhart.proxy import Proxy

__all__ = ["Proxy"]
__version__ = "0.1.0"
