"""Divergences in closed form: Bernoulli, mixture and discrete KL, and total variation.

All KLs are in nats. Probabilities that can be astronomically small enter as logarithms
(``log_p``, ``log_q``), so that a tail mass of ``e^-1000`` or a sequence probability of
``e^-1339.70`` is exact.

* :func:`bernoulli_kl` - ``D(Bern(m) || Bern(p))``, the KL of Theorem 1's two-block
  reweighting;
* :func:`mixture_kl` - the KL of "the base policy, except that with probability ``alpha`` it
  emits one fixed sequence" (the paper's adversarial-sequence arithmetic), with
  :func:`first_order_kl` (``alpha log(alpha / q)``, the paper's approximation) and its inverse
  :func:`alpha_for_kl`;
* :func:`discrete_kl` and :func:`total_variation` for distributions on a finite set.
"""

import numpy as np
from scipy import optimize, special

from goodhart import _checks
from goodhart.tails import log1mexp


def bernoulli_kl(mass, log_p):
    """``D(Bern(mass) || Bern(p))`` in nats, with ``p`` given as ``log_p`` so a tiny ``p`` is exact.

    Parameters
    ----------
    mass : float or array_like
        The probability of the event under the first law, in [0, 1].
    log_p : float or array_like
        The log-probability of the event under the second law, in (-inf, 0).

    Returns
    -------
    float or ndarray
        ``mass log(mass / p) + (1 - mass) log((1 - mass) / (1 - p))``, broadcast.

    Examples
    --------
    >>> round(bernoulli_kl(0.5, np.log(0.5)), 15)
    0.0
    >>> round(bernoulli_kl(1e-6, -1000.0), 10)  # p = e^-1000, below the double range
    0.0009851845
    """
    mass = _checks.probability(mass, "mass", closed=True)
    log_p = _checks.real(log_p, "log_p", high=0.0, high_open=True, finite=False)
    if np.any(log_p == -np.inf):
        raise ValueError("log_p must be > -inf: an event of probability 0 has an infinite KL")
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = np.where(mass > 0, mass * (np.log(mass) - log_p), 0.0)
        lower = np.where(mass < 1, (1 - mass) * (np.log1p(-mass) - log1mexp(log_p)), 0.0)
        # near mass = p the two terms cancel to (mass - p)^2 / (2 p (1 - p)): there the sum
        # is p phi(d / p) + (1 - p) phi(-d / (1 - p)), d = mass - p, each term >= 0
        p, not_p = np.exp(log_p), -np.expm1(log_p)
        close = (np.abs(mass - p) <= 0.25 * np.minimum(p, not_p)) & (p > 0) & (not_p > 0)
        d, p, not_p = (np.where(close, a, b) for a, b in ((mass - p, 0.0), (p, 1.0), (not_p, 1.0)))
        near = p * _phi(d / p) + not_p * _phi(-d / not_p)
    out = np.where(close, near, upper + lower)
    return _checks.like(out)


def _mixture_args(alpha, log_q):
    alpha = _checks.probability(alpha, "alpha", closed=True)
    log_q = _checks.real(log_q, "log_q", high=0.0)
    return np.broadcast_arrays(alpha, log_q)


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

    The paper's formula, ``[(1 - a) q + a] log(((1 - a) q + a) / q) + (1 - a)(1 - q) log(1 - a)``,
    rearranged as ``q phi(P(x)/q - 1) + (1 - q) phi(-alpha)`` with
    ``phi(d) = (1 + d) log(1 + d) - d >= 0``, so that no two large terms cancel whatever
    ``alpha`` and ``q``. Vectorized over both arguments; ``alpha = 1`` gives ``-log_q``.

    Parameters
    ----------
    alpha : float or array_like
        How often the fixed sequence is emitted, in [0, 1].
    log_q : float or array_like
        Its log-probability under the base policy, ``<= 0``.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(mixture_kl(0.01, -1339.70), 6)  # the paper's example
    13.340998
    """
    alpha, log_q = _mixture_args(alpha, log_q)
    one_minus_q = -np.expm1(log_q)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_a = np.log(alpha)
        # d = P(x)/q - 1 = a (1 - q) / q: tiny for alpha << q, astronomical for q << alpha.
        log_d = log_a + log1mexp(np.minimum(log_q, -1e-300)) - log_q
        near = np.exp(log_q) * _phi(np.exp(np.minimum(log_d, 0.0)))
        log_px = np.logaddexp(np.log1p(-alpha) + log_q, log_a)
        far = np.exp(log_px) * (log_px - log_q) - alpha * one_minus_q
        at_x = np.where(log_d <= np.log(0.25), near, far)
    kl = np.where(log_q == 0, 0.0, at_x + one_minus_q * _phi(-alpha))
    return _checks.like(kl)


def first_order_kl(alpha, log_q):
    """``alpha log(alpha / q)``: the paper's approximation to :func:`mixture_kl` (q << alpha).

    Examples
    --------
    >>> round(first_order_kl(0.01, -1339.70), 6)
    13.350948
    """
    alpha, log_q = _mixture_args(alpha, log_q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(alpha > 0, alpha * (np.log(alpha) - log_q), 0.0)
    return _checks.like(kl)


def alpha_for_kl(kl, log_q):
    """The ``alpha`` whose mixture costs exactly ``kl`` nats: how often ``x`` can be emitted.

    ``mixture_kl`` rises from 0 at ``alpha = 0`` to ``-log_q`` at ``alpha = 1`` (convex, zero at
    0), so the root is unique; ``kl`` must lie in ``[0, -log_q]``.

    Examples
    --------
    >>> round(alpha_for_kl(mixture_kl(0.01, -1339.70), -1339.70), 12)
    0.01
    """
    kl = _checks.real(kl, "kl", low=0.0)
    log_q = _checks.real(log_q, "log_q", high=0.0, high_open=True)
    kl, log_q = np.broadcast_arrays(kl, log_q)
    if np.any(kl > -log_q):
        raise ValueError(f"kl must lie in [0, -log_q] (alpha = 1 costs -log_q), got {kl!r}")
    tiny = np.finfo(float).tiny
    if np.any((kl > 0) & (kl < tiny)):
        raise ValueError(f"kl must be 0 or at least {tiny:.3g} (the smallest normal float): a "
                         "subnormal KL carries too few digits to invert")

    def one(d, lq):
        if d == 0:
            return 0.0
        if d == -lq:
            return 1.0
        # on log alpha: the KL spans hundreds of decades as alpha does (bisection on alpha
        # itself would need a thousand halvings to reach alpha ~ 1e-300)
        def gap(log_a):
            return np.log(max(mixture_kl(np.exp(log_a), lq), 1e-320)) - np.log(d)

        return float(np.exp(optimize.brentq(gap, np.log(5e-324), 0.0, xtol=1e-15, rtol=1e-15,
                                             maxiter=500)))

    out = np.vectorize(one, otypes=[float])(kl, log_q)
    return _checks.like(out)


def _distributions(p, q):
    p = _checks.real(p, "p", low=0.0)
    q = _checks.real(q, "q", low=0.0)
    _checks.same_shape("p", p, "q", q)
    for name, array in (("p", p), ("q", q)):
        total = array.sum(axis=-1)
        if np.any(np.abs(total - 1) > 1e-9):
            raise ValueError(f"{name} must sum to 1 along its last axis, got {total!r}")
    return p, q


def discrete_kl(p, q):
    """``D(p || q) = sum p log(p / q)`` along the last axis, with ``0 log 0 = 0``.

    Examples
    --------
    >>> round(discrete_kl([0.5, 0.5], [0.9, 0.1]), 12)
    0.510825623766
    """
    p, q = _distributions(p, q)
    # the terms' rounding can leave a sum of about -1e-16 where the KL is 0: it is >= 0
    out = np.maximum(special.rel_entr(p, q).sum(axis=-1), 0.0)
    return _checks.like(out)


def total_variation(p, q):
    """``sup_A |p(A) - q(A)| = (1/2) sum |p - q|`` along the last axis.

    Examples
    --------
    >>> total_variation([0.5, 0.5], [0.9, 0.1])
    0.4
    """
    p, q = _distributions(p, q)
    out = 0.5 * np.abs(p - q).sum(axis=-1)
    return _checks.like(out)
