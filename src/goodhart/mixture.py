"""KL cost of "the base policy, except that with probability alpha it emits one fixed output".

The policy is the mixture ``P = (1 - alpha) Q + alpha delta_x`` for one sequence ``x`` with
base probability ``q = Q(x)``. Its likelihood ratio ``dP/dQ`` is ``1 - alpha`` everywhere
except at ``x``, so ``D(P || Q)`` has the closed form (claim 4 of the book)::

    [(1 - a) q + a] log(((1 - a) q + a) / q) + (1 - a)(1 - q) log(1 - a)

and the reward it buys is exactly ``alpha (r(x) - E_Q[r])``. A long sequence has
``log q`` in the thousands of nats, far below the smallest double, so ``q`` enters as
``log_q`` and everything is computed in log space.
"""

import numpy as np
from scipy import optimize, special

from goodhart import tails


def _check(alpha, log_q):
    alpha = tails.require_finite(alpha, "alpha")
    log_q = tails.require_finite(log_q, "log_q")
    if np.any((alpha < 0) | (alpha > 1)):
        raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
    if np.any(log_q > 0):
        raise ValueError(f"log_q must be <= 0 (a probability), got {log_q!r}")
    return alpha, log_q


def _phi(d):
    """``(1 + d) log(1 + d) - d >= 0`` for ``d >= -1``, without the cancellation near ``d = 0``.

    Near 0 the two terms agree to ``d^2 / 2``; there the Taylor series
    ``sum_{n>=2} (-d)^n / (n (n - 1))`` is used (30 terms reach double precision at ``|d| <= 1/4``).
    """
    d = np.asarray(d, dtype=float)
    small = np.abs(d) <= 0.25
    n = np.arange(2, 32)
    series = np.sum((-np.where(small, d, 0.0)[..., None]) ** n / (n * (n - 1)), axis=-1)
    with np.errstate(over="ignore", invalid="ignore"):
        direct = special.xlog1py(1 + d, d) - d
    return np.where(small, series, direct)


def mixture_kl(alpha, log_q):
    """Exact ``D(P || Q)`` in nats for ``P = (1 - alpha) Q + alpha delta_x``, ``log Q(x) = log_q``.

    Written as ``q phi(P(x)/q) + (1 - q) phi(1 - a)`` with ``phi(t) = t log t - t + 1 >= 0``
    (the paper's formula rearranged: the ``- t + 1`` parts cancel), so no two large terms
    cancel, whatever ``alpha`` and ``q``. ``log P(x) = log((1 - a) q + a)`` is a ``logaddexp``;
    ``1 - q`` is ``-expm1(log_q)``. Vectorized over both arguments; ``alpha = 1`` gives ``-log_q``.
    """
    alpha, log_q = _check(alpha, log_q)
    one_minus_q = -np.expm1(log_q)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_a = np.log(alpha)
        # d = P(x)/q - 1 = a (1 - q) / q: tiny for alpha << q, astronomical for q << alpha.
        log_d = log_a + tails.log1mexp(log_q) - log_q
        near = np.exp(log_q) * _phi(np.exp(np.minimum(log_d, 0.0)))
        log_px = np.logaddexp(np.log1p(-alpha) + log_q, log_a)
        far = np.exp(log_px) * (log_px - log_q) - alpha * one_minus_q
        at_x = np.where(log_d <= np.log(0.25), near, far)
    kl = at_x + one_minus_q * _phi(-alpha)
    return float(kl) if kl.ndim == 0 else kl


def first_order_kl(alpha, log_q):
    """``alpha log(alpha / q)``: the approximation to :func:`mixture_kl` for ``q << alpha << 1``."""
    alpha, log_q = _check(alpha, log_q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(alpha > 0, alpha * (np.log(alpha) - log_q), 0.0)
    return float(kl) if kl.ndim == 0 else kl


def alpha_for_kl(kl, log_q):
    """The ``alpha`` whose mixture costs exactly ``kl`` nats: how often ``x`` can be emitted.

    ``mixture_kl`` rises from 0 at ``alpha = 0`` to ``-log_q`` at ``alpha = 1`` (it is convex
    and vanishes at 0), so the root is unique; ``kl`` must lie in ``[0, -log_q]``.
    """
    kl, log_q = np.broadcast_arrays(
        tails.require_finite(kl, "kl"), tails.require_finite(log_q, "log_q")
    )
    if np.any(log_q >= 0):
        raise ValueError(f"log_q must be < 0 (q = 1 leaves nothing to upweight), got {log_q!r}")
    if np.any((kl < 0) | (kl > -log_q)):
        raise ValueError(f"kl must lie in [0, -log_q] (alpha = 1 costs -log_q), got {kl!r}")

    def one(d, lq):
        if d == 0:
            return 0.0
        if d == -lq:
            return 1.0
        return optimize.brentq(lambda a: mixture_kl(a, lq) - d, 0.0, 1.0, xtol=1e-300, rtol=1e-14)

    out = np.vectorize(one, otypes=[float])(kl, log_q)
    return float(out) if out.ndim == 0 else out
