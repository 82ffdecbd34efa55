"""Tail facts of a distribution, computed in log space so they stay accurate far out.

A distribution is a frozen ``scipy.stats`` object. The tail function is
``Fbar(t) = P(X > t)``; everything here is built from ``logsf`` and ``logpdf``, so nothing
underflows where ``Fbar(t)`` itself would round to 0 or ``F(t)`` to 1.
"""

import numpy as np
from scipy import integrate

LOG_HALF = np.log(0.5)
LOG_MAX = np.log(np.finfo(float).max)


def require_finite_mean(q, name="q"):
    """E[X] of ``q``, or a ValueError if the mean is infinite or undefined."""
    mean = float(q.mean())
    if not np.isfinite(mean):
        raise ValueError(
            f"{name} has no finite mean (scipy gives {mean}); the result needs E|X| < inf"
        )
    return mean


def require_finite(value, name):
    """``value`` as a float array, or a ValueError naming it if any entry is NaN or infinite."""
    array = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return array


def log1mexp(log_p):
    """``log(1 - exp(log_p))`` for ``log_p <= 0``, accurate at both ends (Maechler 2012)."""
    log_p = np.asarray(log_p, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(
            log_p > LOG_HALF, np.log(-np.expm1(np.minimum(log_p, 0.0))), np.log1p(-np.exp(log_p))
        )


def log_sf(q, t):
    """``log Fbar(t) = log P(X > t)``."""
    return q.logsf(t)


def log_cdf(q, t):
    """``log F(t) = log P(X <= t)``, accurate also where ``F(t)`` is close to 1."""
    return log1mexp(q.logsf(t))


def decay_rate(q, x):
    """``-log Fbar(x) / x``: tends to 0 for a heavy right tail, stays positive for a light one."""
    return -q.logsf(x) / x


def _mean_excess(log_tail, log_density, t, sign):
    """``int_0^inf tail(t + sign*s) / tail(t) ds`` on the natural scale ``tail(t) / density(t)``.

    ``tail`` is ``Fbar`` (``sign = +1``) or ``F`` (``sign = -1``). Rescaling by the inverse
    hazard makes the integrand decay on a scale of order one whatever ``t`` is, so one
    adaptive quadrature over ``[0, inf)`` resolves it from ``t = 2`` to ``t = 10^12``.
    """
    log_tail_t = log_tail(t)
    scale = np.exp(log_tail_t - log_density(t))
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0 + abs(t)

    def ratio(s):
        return np.exp(log_tail(t + sign * scale * s) - log_tail_t)

    # The ratio is a difference of two logs of size |log tail(t)|, so it carries a relative
    # rounding error of about |log tail(t)| * eps; ask quad for no more than that.
    epsrel = max(1e-12, 64 * np.finfo(float).eps * abs(log_tail_t))
    value, _ = integrate.quad(ratio, 0.0, np.inf, epsabs=0.0, epsrel=epsrel, limit=500)
    return scale * value


def tail_mean(q, t):
    """``E[X | X > t]``: the conditional tail mean, stable on both sides of the median."""
    mean = require_finite_mean(q)
    t = require_finite(t, "t")
    lo, hi = q.support()

    def one(ti):
        if ti >= hi:
            raise ValueError(f"t = {ti} is at or above the upper end of the support: P(X > t) = 0")
        if ti <= lo:
            return mean
        log_p = log_cdf(q, ti)
        if log_p < LOG_HALF:
            # E[X 1{X > t}] = E[X] - F(t) E[X | X <= t]; no cancellation where F(t) < 1/2.
            return (mean - np.exp(log_p) * body_mean(q, ti)) / -np.expm1(log_p)
        return ti + _mean_excess(q.logsf, q.logpdf, ti, +1)

    return _map(one, t)


def body_mean(q, t):
    """``E[X | X <= t]``: the mean of the body below ``t``, stable on both sides of the median."""
    mean = require_finite_mean(q)
    t = require_finite(t, "t")
    lo, hi = q.support()

    def one(ti):
        if ti <= lo:
            raise ValueError(f"t = {ti} is at or below the lower end of the support: P(X <= t) = 0")
        if ti >= hi:
            return mean
        log_p = q.logsf(ti)
        if log_p < LOG_HALF:
            # E[X 1{X <= t}] = E[X] - Fbar(t) E[X | X > t]; no cancellation where Fbar(t) < 1/2.
            return (mean - np.exp(log_p) * tail_mean(q, ti)) / -np.expm1(log_p)
        return ti - _mean_excess(lambda x: log_cdf(q, x), q.logpdf, ti, -1)

    return _map(one, t)


def subexponential_ratio(q, x):
    """``P(X1 + X2 > x) / P(X > x)`` for iid ``X1, X2 ~ q``; tends to 2 iff ``q`` is subexponential.

    Uses ``P(X1 + X2 > x) = 2 int_{-inf}^{x/2} f(y) Fbar(x - y) dy + Fbar(x/2)^2`` with each
    term divided by ``Fbar(x)`` in log space. For a light tail the ratio can exceed the largest
    double (the normal's does beyond x ~ 55); it is then returned as ``inf``.
    """
    x = require_finite(x, "x")
    lo, _ = q.support()

    def one(xi):
        log_sf_x = q.logsf(xi)
        # Both terms peak at y = x/2 for a light tail; scale by that peak to stay in range.
        log_corner = 2.0 * q.logsf(xi / 2) - log_sf_x
        shift = max(0.0, q.logpdf(xi / 2) + q.logsf(xi / 2) - log_sf_x, log_corner)

        def integrand(y):
            return np.exp(q.logpdf(y) + q.logsf(xi - y) - log_sf_x - shift)

        # Geometric breakpoints from the median to x/2 resolve both the bulk near the median
        # and the far end near x/2, whatever the ratio of their scales.
        start = min(float(q.median()), xi / 2)
        width = xi / 2 - start
        edges = [lo, start]
        if width > 0:
            edges += list(start + width * np.geomspace(min(1e-3, 1 / width), 1, 30))
        body = sum(
            integrate.quad(integrand, a, b, epsabs=0.0, epsrel=1e-11, limit=200)[0]
            for a, b in zip(edges[:-1], edges[1:], strict=True)
            if b > a
        )
        log_ratio = shift + np.log(2.0 * body + np.exp(log_corner - shift))
        return np.inf if log_ratio > LOG_MAX else np.exp(log_ratio)

    return _map(one, x)


def _map(function, values):
    """Apply a scalar ``function`` over an array, returning a float for a scalar input."""
    out = np.vectorize(function, otypes=[float])(values)
    return float(out) if out.ndim == 0 else out
