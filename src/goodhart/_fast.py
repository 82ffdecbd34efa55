"""Closed-form log densities and log tails of scipy's commonest families, for the engine's grids.

A frozen scipy law's ``logpdf`` and ``logsf`` spend most of their time, on large arrays, in
generic argument handling (shifting, scaling, support masks, ``np.place``): 10 to 50 times the
cost of the formula itself for the normal and Student-t laws, and 100 microseconds a call on
one point. The engine of :mod:`goodhart.proxy` evaluates them on grids of 10^5 points and
more, and the tails' quadratures one point at a time, so for the normal, Student-t (whose
far tail, where scipy's underflows, is a series), lognormal and Levy families (the laws of
the paper's experiments), the exponential, Pareto and Gumbel families (the tails chapter's),
the reflected Levy (whose far tail scipy computes as ``2 Phi(a) - 1``, losing digits), the
Laplace (whose density scipy computes as ``log(exp(-|z|) / 2)``, underflowing at
``|z| > 745``) and the skew-normal (whose light tail scipy integrates one point at a time) it
uses the closed forms below, built from ``scipy.special``; every other family uses its own
methods, with its tails recomputed from its density where they underflow.
``tests/test_fast.py`` checks each formula against scipy's own methods where those are accurate
(1e-12 to 1e-13), and the skew-normal's tails, where scipy's are not, against mpmath.
"""

from types import SimpleNamespace

import numpy as np
from scipy import special, stats

from goodhart import tails

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def _normal(shapes):
    def log_pdf(z):
        return -0.5 * z * z - _LOG_SQRT_2PI

    def log_sf(z):
        return special.log_ndtr(-z)

    def log_cdf(z):
        return special.log_ndtr(z)

    return log_pdf, log_sf, log_cdf


def _student(shapes):
    (df,) = shapes
    constant = special.gammaln((df + 1) / 2) - special.gammaln(df / 2) - 0.5 * np.log(df * np.pi)

    def log_pdf(z):
        # log1p(z^2 / df), also where z^2 overflows: 2 log|z| - log df once 1 is negligible
        with np.errstate(divide="ignore"):
            far = np.abs(z) > 1e150
            log_term = np.where(far, 2 * np.log(np.abs(z)) - np.log(df),
                                np.log1p(np.where(far, 0.0, z) ** 2 / df))
        return constant - (df + 1) / 2 * log_term

    # Far out, where stdtr underflows: P(T > z) = I_x(a, b) / 2 with x = df / (df + z^2),
    # a = df / 2, b = 1 / 2, and I_x(a, b) = x^a (1 - x)^b / (a B(a, b)) 2F1(a + b, 1; a + 1; x),
    # whose series converges like x^k (60 terms are exact to rounding for x < 1/2).
    a, b = df / 2, 0.5
    series = np.cumprod(np.concatenate([[1.0], (a + b + np.arange(59)) / (a + 1 + np.arange(59))]))
    log_front = -np.log(2 * a) - special.betaln(a, b)

    def log_far_sf(z):
        log_x = np.log(df) - 2 * np.log(z) - np.log1p(df / z**2)
        x = np.exp(log_x)
        sum_ = np.polynomial.polynomial.polyval(x, series)
        return log_front + a * log_x + b * np.log1p(-x) + np.log(sum_)

    def log_sf(z):
        z = np.asarray(z, dtype=float)
        with np.errstate(divide="ignore", over="ignore"):
            out = np.log(special.stdtr(df, -z))
            far = (out < -690) & (z > 0) & (df / z**2 < 1.0)  # x < 1/2
        if np.any(far):
            out = np.array(out, dtype=float)
            with np.errstate(over="ignore"):
                out[far] = log_far_sf(z[far])
        return out

    def log_cdf(z):
        return log_sf(-np.asarray(z, dtype=float))

    return log_pdf, log_sf, log_cdf


def _lognormal(shapes):
    (s,) = shapes

    def log_pdf(z):
        with np.errstate(divide="ignore", invalid="ignore"):
            log_z = np.log(z)
            out = -log_z - np.log(s) - _LOG_SQRT_2PI - 0.5 * (log_z / s) ** 2
        return np.where(z > 0, out, -np.inf)

    def log_sf(z):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = special.log_ndtr(-np.log(z) / s)
        return np.where(z > 0, out, 0.0)

    def log_cdf(z):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = special.log_ndtr(np.log(z) / s)
        return np.where(z > 0, out, -np.inf)

    return log_pdf, log_sf, log_cdf


def _levy(shapes):
    def log_pdf(z):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = -_LOG_SQRT_2PI - 1.5 * np.log(z) - 0.5 / z
        return np.where(z > 0, out, -np.inf)

    # F(z) = erfc(a) = 2 Phi(-a sqrt 2) and Fbar(z) = erf(a), with a = 1 / sqrt(2 z)
    def log_sf(z):
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.sqrt(0.5 / z)
            out = np.where(a > 1, np.log1p(-special.erfc(a)), np.log(special.erf(a)))
        return np.where(z > 0, out, 0.0)

    def log_cdf(z):  # log1p(-erf(a)) where F is near 1, so that 1 - F keeps its digits
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.sqrt(0.5 / z)
            out = np.where(a < 1, np.log1p(-special.erf(a)),
                           np.log(2.0) + special.log_ndtr(-1.0 / np.sqrt(z)))
        return np.where(z > 0, out, -np.inf)

    return log_pdf, log_sf, log_cdf


def _skew_normal(shapes):
    (a,) = shapes

    def log_density(z, b):
        return np.log(2.0) - 0.5 * z * z - _LOG_SQRT_2PI + special.log_ndtr(b * z)

    def log_pdf(z):
        return log_density(z, a)

    # skewnorm(b) for b = a and b = -a (the mirror law), as the Laguerre rules see it
    mirrors = {b: SimpleNamespace(logpdf=lambda z, b=b: log_density(z, b)) for b in (a, -a)}
    law = stats.skewnorm(a)  # its own methods, where the Laguerre rules disagree

    def log_cdf_of(z, sign, complement=True):
        """``log F(z)`` of skewnorm(b), ``b = sign a``: Owen's T, ``F = Phi(z) - 2 T(z, b)``,
        in the body; the left tail (``F < 1e-3``, where that form cancels for ``b > 0`` and
        underflows for ``b < 0``) from the density by Gauss-Laguerre; above the median
        ``log(1 - F)`` of the mirror law, skewnorm(-b) at ``-z``, so that ``F`` near 1 keeps
        its digits."""
        z, b = np.asarray(z, dtype=float), sign * a
        with np.errstate(divide="ignore"):
            out = np.log(np.clip(special.ndtr(z) - 2 * special.owens_t(z, b), 0.0, 1.0))
        tail = (z < 0) & (out < np.log(1e-3))
        out = np.array(out, dtype=float)
        if np.any(tail):
            value, good = tails._log_tail_by_laguerre(mirrors[b], z[tail], -1)
            own = law.logcdf if sign > 0 else (lambda y: law.logsf(-y))
            value[~good] = own(z[tail][~good])
            out[tail] = value
        upper = out > np.log(0.5)
        if complement and np.any(upper):
            out[upper] = tails.log1mexp(log_cdf_of(-z[upper], -sign, complement=False))
        return out

    def log_cdf(z):
        return log_cdf_of(z, 1)

    def log_sf(z):
        return log_cdf_of(-np.asarray(z, dtype=float), -1)

    return log_pdf, log_sf, log_cdf


def _reflected_levy(shapes):
    levy_pdf, levy_sf, levy_cdf = _levy(shapes)  # X = -Y, Y ~ Levy: P(X > z) = P(Y < -z)
    return (lambda z: levy_pdf(-np.asarray(z, dtype=float)),
            lambda z: levy_cdf(-np.asarray(z, dtype=float)),
            lambda z: levy_sf(-np.asarray(z, dtype=float)))


def _laplace(shapes):
    def log_pdf(z):
        return -np.log(2.0) - np.abs(z)

    def log_sf(z):  # P(X > z) = exp(-z) / 2 above 0, 1 - exp(z) / 2 below
        z = np.asarray(z, dtype=float)
        return np.where(z > 0, -np.log(2.0) - z, np.log1p(-0.5 * np.exp(np.minimum(z, 0.0))))

    def log_cdf(z):
        return log_sf(-np.asarray(z, dtype=float))

    return log_pdf, log_sf, log_cdf


def _exponential(shapes):
    def log_pdf(z):
        z = np.asarray(z, dtype=float)
        return np.where(z >= 0, -z, -np.inf)

    def log_sf(z):
        z = np.asarray(z, dtype=float)
        return np.where(z > 0, -z, 0.0)

    def log_cdf(z):
        with np.errstate(divide="ignore"):
            return tails.log1mexp(-np.maximum(np.asarray(z, dtype=float), 0.0))

    return log_pdf, log_sf, log_cdf


def _pareto(shapes):
    (b,) = shapes

    def log_pdf(z):
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.asarray(z, dtype=float)
            return np.where(z >= 1, np.log(b) - (b + 1) * np.log(z), -np.inf)

    def log_sf(z):  # 0 left of the support (below 1)
        return -b * np.log(np.maximum(np.asarray(z, dtype=float), 1.0)) + 0.0

    def log_cdf(z):
        with np.errstate(divide="ignore"):
            return tails.log1mexp(log_sf(z))

    return log_pdf, log_sf, log_cdf


def _gumbel(shapes):  # F(z) = exp(-e^-z)
    def log_pdf(z):  # -inf far left, where -z - e^-z would be inf - inf at z = -inf
        z = np.asarray(z, dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.where(z > -np.inf, -z - np.exp(-z), -np.inf)

    def log_sf(z):  # log(1 - exp(-e^-z)), which is -z to rounding once e^-z < 1e-300
        z = np.asarray(z, dtype=float)
        with np.errstate(over="ignore", divide="ignore"):
            return np.where(z < 690, tails.log1mexp(-np.exp(-np.minimum(z, 690))), -z)

    def log_cdf(z):
        with np.errstate(over="ignore"):
            return -np.exp(-np.asarray(z, dtype=float))

    return log_pdf, log_sf, log_cdf


_FAMILIES = {"norm": _normal, "t": _student, "lognorm": _lognormal, "levy": _levy,
             "levy_l": _reflected_levy, "laplace": _laplace, "skewnorm": _skew_normal,
             "expon": _exponential, "pareto": _pareto, "gumbel_r": _gumbel}


def log_pdf_sf_cdf(q):
    """``(logpdf, logsf, logcdf)`` of the frozen law ``q`` as fast vectorized functions of ``x``.

    The closed forms for the normal, Student-t, lognormal, Levy (both sides), Laplace,
    skew-normal, exponential, Pareto and Gumbel families; the law's own methods otherwise.
    Where a tail underflows (``-inf`` or NaN strictly inside the support:
    ``halfnorm().logsf(40)``, ``gamma(2).logsf(800)``) the value is recomputed from the density
    by :func:`goodhart.tails.log_sf` or :func:`goodhart.tails.log_cdf`, unless the density
    underflows there too.
    """
    name, shapes, loc, scale = tails.standard_form(q)
    lower, upper = q.support()
    if name in _FAMILIES:
        standard_pdf, standard_sf, standard_cdf = _FAMILIES[name](shapes)
        log_scale = np.log(scale)

        def log_pdf(x):
            return standard_pdf((np.asarray(x, dtype=float) - loc) / scale) - log_scale

        def standard(law_tail):
            return lambda x: law_tail((np.asarray(x, dtype=float) - loc) / scale)

        own_sf, own_cdf = standard(standard_sf), standard(standard_cdf)
    else:
        log_pdf, own_sf, own_cdf = q.logpdf, q.logsf, q.logcdf

    def rescued(own, accurate):
        def log_tail(x):
            x = np.asarray(x, dtype=float)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                out = np.asarray(own(x), dtype=float)
            lost = ~(out > -np.inf) & (x > lower) & (x < upper)
            if np.any(lost):  # where the density underflows too, nothing is known: -inf
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    lost = lost & (np.asarray(log_pdf(x)) > -np.inf)
                out = np.array(out, dtype=float)
                out[lost] = accurate(q, x[lost])
            return out

        return log_tail

    return log_pdf, rescued(own_sf, tails.log_sf), rescued(own_cdf, tails.log_cdf)


# Quantile levels that mark the body and both tails of a law (the engine's landmarks).
LEVELS = np.array([1e-12, 1e-3, 0.25])


class FastLaw:
    """A frozen law whose ``logpdf``, ``logsf`` and ``logcdf`` are the fast ones.

    It also keeps what the engine asks of the law again and again: its ``middle`` (median),
    ``spread`` (interquartile range) and ``landmarks`` (finite support ends, the median and
    the quantiles at ``LEVELS`` on both sides). Beside an end where the density is infinite
    (``gamma(0.5)`` at 0) only the quartile is kept: the engine maps the piece from that end
    to its first breakpoint so that every scale of the singularity is resolved, and a
    breakpoint a hair from the end would leave the singularity's shoulder to a plain piece.
    """

    def __init__(self, q):
        self.law = q
        self.logpdf, self.logsf, self.logcdf = log_pdf_sf_cdf(q)
        self.middle = float(q.median())
        self.spread = float(q.isf(0.25) - q.ppf(0.25))
        lower, upper = q.support()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            singular = [np.isfinite(end) and np.isposinf(self.logpdf(end))
                        for end in (lower, upper)]
        below, above = (LEVELS[-1:] if infinite else LEVELS for infinite in singular)
        points = np.concatenate([[lower, upper], q.ppf(below), q.isf(above), [self.middle]])
        self.landmarks = np.unique(points[np.isfinite(points)])

    def __getattr__(self, name):
        return getattr(self.law, name)
