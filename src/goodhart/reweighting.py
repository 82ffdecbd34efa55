"""Theorem 1: the two-block tail reweighting ``P_t`` of a distribution ``Q``.

``P_t`` keeps the shape of ``Q`` on each side of the threshold ``t`` and rescales the tail
``(t, inf)`` to total mass ``mass`` and the body ``(-inf, t]`` to ``1 - mass``::

    dP_t/dQ (x) = mass / Fbar(t)              for x > t
                  (1 - mass) / (1 - Fbar(t))  for x <= t

so ``D(P_t || Q)`` is the KL between two Bernoulli laws, ``Bern(mass)`` and ``Bern(Fbar(t))``,
and ``E_{P_t}[X] = (1 - mass) E[X | X <= t] + mass E[X | X > t]``.
"""

from dataclasses import dataclass

import numpy as np

from goodhart import _checks, tails
from goodhart.divergences import bernoulli_kl


@dataclass(frozen=True)
class TailReweighting:
    """``P_t`` for a frozen distribution ``q``: its mean, its exact KL to ``q``, its density."""

    q: object
    t: float
    mass: float
    log_tail: float
    body_mean: float
    tail_mean: float

    @property
    def mean(self):
        """``E_{P_t}[X]``."""
        return (1 - self.mass) * self.body_mean + self.mass * self.tail_mean

    @property
    def kl(self):
        """``D(P_t || Q)`` in nats."""
        return float(bernoulli_kl(self.mass, self.log_tail))

    def log_likelihood_ratio(self, x):
        """``log dP_t/dQ (x)``: constant on each block."""
        x = np.asarray(x, dtype=float)
        in_tail = np.log(self.mass) - self.log_tail
        in_body = np.log1p(-self.mass) - tails.log1mexp(self.log_tail)
        return np.where(x > self.t, in_tail, in_body)

    def pdf(self, x):
        """Density of ``P_t``."""
        return np.exp(self.q.logpdf(x) + self.log_likelihood_ratio(x))


def upweight_tail(q, t, mass):
    """The reweighting ``P_t`` of ``q`` that puts probability ``mass`` above ``t``.

    ``q`` must have a finite mean (Theorem 1's hypothesis); ``mass`` must lie in (0, 1) and
    ``t`` inside the support, so that both blocks have positive probability under ``q``.
    """
    _checks.finite_mean(q, "q")
    t = float(_checks.real(t, "t"))
    if not 0 < mass < 1:
        raise ValueError(f"mass must lie in (0, 1), got {mass!r}")
    lo, hi = q.support()
    if not lo < t < hi:
        raise ValueError(
            f"t = {t} must lie inside the support ({lo}, {hi}) so both blocks have mass"
        )
    return TailReweighting(
        q=q,
        t=t,
        mass=float(mass),
        log_tail=float(q.logsf(t)),
        body_mean=tails.body_mean(q, t),
        tail_mean=tails.tail_mean(q, t),
    )
