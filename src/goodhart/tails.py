"""Tail facts of one law, accurate far out on both sides, and the book's one heavy/light test.

A law is a frozen continuous ``scipy.stats`` distribution. The tail function is
``Fbar(t) = P(X > t)`` and ``F(t) = P(X <= t)``. Everything is computed in log space, from the
law's own ``logsf``, ``logcdf`` and ``logpdf`` where scipy computes them accurately, and by
integrating the density where scipy's value underflows (``gamma(2).logsf(800)`` is ``-inf``
in scipy, ``log(801) - 800`` in truth).

The classification (:func:`mgf_radius`, :func:`is_heavy_tailed`, :func:`classify`) decides
heavy against light *exactly*, from the support and from the known tails of scipy's families:
no finite computation can tell a heavy tail from a light one that decays slowly, so the
family table is the evidence and the decay rate ``-log Fbar(x) / x`` far out is shown beside it.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import integrate

from goodhart import _checks

LOG_HALF = np.log(0.5)
LOG_MAX = np.log(np.finfo(float).max)


def log1mexp(log_p):
    """``log(1 - exp(log_p))`` for ``log_p <= 0``, accurate at both ends (Maechler 2012).

    Parameters
    ----------
    log_p : float or array_like
        Logarithms of probabilities.

    Returns
    -------
    float or ndarray
        ``log(1 - p)``; ``-inf`` at ``log_p = 0``.

    Examples
    --------
    >>> float(log1mexp(-1e-20))
    -46.051701859880914
    """
    log_p = _checks.real(log_p, "log_p", high=0.0, finite=False)
    with np.errstate(divide="ignore"):
        out = np.where(
            log_p > LOG_HALF, np.log(-np.expm1(np.minimum(log_p, 0.0))), np.log1p(-np.exp(log_p))
        )
    return _checks.like(out)


def log_sf(q, t):
    """``log Fbar(t) = log P(X > t)``, also where scipy's own ``logsf`` underflows.

    Parameters
    ----------
    q : frozen scipy.stats law
    t : float or array_like
        Thresholds (``-inf`` and ``inf`` allowed).

    Returns
    -------
    float or ndarray
        ``log P(X > t)``: 0 below the support, ``-inf`` at and above its upper end.

    Examples
    --------
    >>> from scipy import stats
    >>> float(stats.gamma(2).logsf(800.0))  # scipy underflows; exactly log(801) - 800
    -inf
    >>> round(log_sf(stats.gamma(2), 800.0), 9)
    -793.314139053
    """
    _checks.law(q, "q")
    t = _checks.real(t, "t", finite=False)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.asarray(q.logsf(t), dtype=float).reshape(-1).copy()
    flat_t = t.reshape(-1)  # flat, so that flatnonzero's indices address single values
    lo, hi = q.support()
    # Above the median log Fbar < log(1/2) < 0; 0, NaN or -inf inside the support is scipy
    # failing (an underflow, or 1 - F(t) rounding to 0): integrate the density instead.
    broken = (flat_t >= q.median()) & (flat_t < hi) & ~((out < 0) & (out > -np.inf))
    if broken.any():
        with _checks.named("t"):
            out[broken] = _log_tail_by_density(q, flat_t[broken], +1)
    # Far below the median scipy's log Fbar rounds to 0 while F(t) > 0: log(1 - F) from logcdf.
    rounded = (out == 0) & (flat_t > lo)
    if rounded.any():
        with np.errstate(divide="ignore"):
            out[rounded] = log1mexp(np.asarray(q.logcdf(flat_t[rounded]), dtype=float))
    return _checks.like(out, t)


def log_cdf(q, t):
    """``log F(t) = log P(X <= t)``, accurate on both sides of the median.

    Below the median the law's own ``logcdf`` (or the integral of its density where that
    underflows); above it ``log(1 - Fbar(t))``, which keeps ``F(t)`` distinct from 1.

    Examples
    --------
    >>> from scipy import stats
    >>> print(f"{log_cdf(stats.norm(), 30.0):.12e}")  # -Fbar(30): F(30) = 1 - 4.9e-198
    -4.906713927148e-198
    """
    _checks.law(q, "q")
    t = _checks.real(t, "t", finite=False)
    median = float(q.median())
    upper = t >= median
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lower = np.asarray(q.logcdf(np.where(upper, median, t)), dtype=float)
    out = np.where(upper, log1mexp(np.minimum(log_sf(q, np.where(upper, t, median)), 0.0)), lower)
    flat_t, flat_out = t.reshape(-1), out.reshape(-1).copy()  # flat: one value an index
    # Below the median log F < 0 is finite inside the support; -inf or NaN is an underflow.
    broken = ~upper.reshape(-1) & (flat_t > q.support()[0]) & ~(flat_out > -np.inf)
    if broken.any():
        with _checks.named("t"):
            flat_out[broken] = _log_tail_by_density(q, flat_t[broken], -1)
    return _checks.like(flat_out, t)


# Gauss-Laguerre rules for a tail from its density: the coarse one checks the fine one.
_LAGUERRE = [np.polynomial.laguerre.laggauss(n) for n in (40, 60)]


def _log_tail_by_laguerre(q, t, sign):
    """``log int_0^inf f(t + sign r) dr`` at many ``t`` at once, and where it can be trusted.

    With ``r = c w``, ``c`` the density's outward decay scale at ``t``, the integral is
    ``c f(t)`` times ``int_0^inf e^-w [f(t + sign c w) e^w / f(t)] dw``, whose bracket is
    nearly flat for a smooth tail: Gauss-Laguerre in ``w``. A value is *good* where the 40- and
    60-node rules agree to 1e-13 (relative to ``max(1, |log P|)``); elsewhere (a kink or an end
    of the support among the nodes, a density rising outwards) it is not to be used.

    Returns
    -------
    (ndarray, ndarray)
        The log tails and the boolean mask of good ones.
    """
    t = np.asarray(t, dtype=float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        log_f = np.asarray(q.logpdf(t), dtype=float)
        scale = _density_scale(q, t, sign)
        sums = []
        for nodes, weights in _LAGUERRE:
            s = t[..., None] + sign * nodes * scale[..., None]
            shape = np.asarray(q.logpdf(s), dtype=float) - log_f[..., None] + nodes
            sums.append(np.log(np.exp(shape) @ weights))
        out = log_f + np.log(scale) + sums[1]
        good = np.abs(sums[1] - sums[0]) <= 1e-13 * np.maximum(1.0, np.abs(out))
    return out, good & np.isfinite(out)


def _log_tail_by_density(q, t, sign):
    """``log int_0^inf f(t + sign r) dr``: tails of ``q`` from its density alone, at each ``t``.

    Used where scipy's ``logsf`` or ``logcdf`` underflows: :func:`_log_tail_by_laguerre` for
    all ``t`` at once, and ``quad`` one point at a time where its rules disagree.
    """
    out, good = _log_tail_by_laguerre(q, t, sign)
    for i in np.flatnonzero(~good):
        out[i] = _log_tail_by_quad(q, float(t[i]), sign)
    return out


def _log_tail_by_quad(q, t, sign):
    """``log int_0^inf f(t + sign r) dr`` at one ``t``, by ``quad``.

    The integrand is divided by ``f(t)`` and stretched by the density's own scale at ``t`` so
    that ``quad`` sees a bump of width about one.
    """
    log_pdf = _quadrature_logs(q)[0]
    with np.errstate(over="ignore"):
        log_f = float(log_pdf(t))
    if not np.isfinite(log_f):
        side = ">" if sign > 0 else "<="
        raise ValueError(
            f"log P(X {side} {t:g}) cannot be computed for the {q.dist.name} law: "
            "scipy's log tail and log density both underflow there"
        )
    scale = float(_density_scale(q, t, sign))
    if scale < 1e-8 * abs(t):
        # A light tail far out (the normal's scale is 1/t): t + scale * r no longer resolves
        # r, so quad would see a staircase. Laplace's first order instead,
        # log P = log f(t) - log(rate) with a relative error of order scale / |t| < 1e-8,
        # the rate measured over a step of 1e-8 |t| (its bias and rounding are below 1e-8).
        step = 1e-8 * abs(t)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            rate = -(float(q.logpdf(t + sign * step)) - log_f) / step
        if not (np.isfinite(rate) and rate > 0):
            raise ValueError(
                f"log P(X {'>' if sign > 0 else '<='} {t:g}) cannot be computed for "
                f"the {q.dist.name} law: its log density does not fall outwards there"
            )
        return log_f - np.log(rate)
    _within_reach(q, t, scale)
    value, _ = integrate.quad(  # rounding of the integrand: about eps |log f(t)|
        lambda r: np.exp(log_pdf(t + sign * scale * r) - log_f),
        0.0, np.inf, epsabs=0.0, epsrel=max(1e-12, 64 * np.finfo(float).eps * abs(log_f)),
        limit=400,
    )
    return log_f + np.log(scale * value)


def _within_reach(q, t, scale):
    """Refuse a tail integral whose stretch, ``10^20`` of its own scales, overflows a double
    (beyond it the integrand would read as 0, and the result come out silently short)."""
    if not np.isfinite(abs(t) + 1e20 * scale):
        raise ValueError(
            f"t = {t:g} is too far out for the {q.dist.name} law: the integral beyond it "
            "reaches past the largest double"
        )


def _quadrature_logs(q):
    """``q``'s log density, log tail and log CDF for ``quad``, which calls them one point at a
    time: the closed forms where :mod:`goodhart._fast` has them (scipy's generic methods cost
    ~100 microseconds a call, the formulas a tenth of that), ``q``'s own methods otherwise."""
    from goodhart import _fast  # a floor up (it builds on this module), called when it runs

    return _fast.log_pdf_sf_cdf(q)


def _density_scale(q, t, sign):
    """The distance over which the density falls by ``e`` from each ``t`` (outwards), roughly;
    ``1 + |t|`` where it does not fall."""
    t = np.asarray(t, dtype=float)
    step = 1e-6 * np.maximum(1.0, np.abs(t))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        slope = (np.asarray(q.logpdf(t + sign * step)) - np.asarray(q.logpdf(t))) / step
    falls = (slope < 0) & np.isfinite(slope)
    return np.where(falls, -1.0 / np.where(falls, slope, -1.0), 1.0 + np.abs(t))


def decay_rate(q, x):
    """``-log Fbar(x) / x``: its ``liminf`` is 0 for a heavy right tail, positive for a light one.

    For a long-tailed law (every subexponential one) the limit itself is 0; a heavy tail with
    long flat stretches can have ``liminf`` 0 and ``limsup`` positive.

    Examples
    --------
    >>> from scipy import stats
    >>> decay_rate(stats.expon(scale=2), 1e4)
    0.5
    """
    x = _checks.real(x, "x", low=0.0, low_open=True)
    with _checks.named("x"):
        return _checks.like(-np.asarray(log_sf(q, x)) / x, x)


def hazard_rate(q, x):
    """``f(x) / Fbar(x)``, the failure rate, computed in log space.

    Examples
    --------
    >>> from scipy import stats
    >>> round(hazard_rate(stats.expon(scale=2), 50.0), 12)
    0.5
    """
    _checks.law(q, "q")
    x = _checks.real(x, "x")
    with np.errstate(divide="ignore", invalid="ignore"), _checks.named("x"):
        out = np.exp(np.asarray(q.logpdf(x)) - np.asarray(log_sf(q, x)))
    return _checks.like(out, x)


def tail_mean(q, t):
    """``E[X | X > t]``: the conditional tail mean, accurate on both sides of the median.

    Parameters
    ----------
    q : frozen scipy.stats law with a finite mean
    t : float or array_like
        Thresholds below the upper end of the support (below the lower end, the mean).

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> from scipy import stats
    >>> round(tail_mean(stats.expon(scale=2.0), 3.0), 12)
    5.0
    """
    mean = _checks.finite_mean(q, "q")
    t = _checks.real(t, "t")
    lo, hi = q.support()
    if np.any(t >= hi):
        raise ValueError(f"t must lie below the upper end of the support ({hi}): P(X > t) = 0")

    def one(ti):
        if ti <= lo:
            return mean
        log_p = log_cdf(q, ti)
        if log_p < LOG_HALF:
            # E[X 1{X > t}] = E[X] - F(t) E[X | X <= t]; no cancellation where F(t) < 1/2.
            return (mean - np.exp(log_p) * _body_mean(q, ti)) / -np.expm1(log_p)
        return ti + _mean_excess(q, ti, +1)

    return _checks.like(np.vectorize(one, otypes=[float])(t), t)


def body_mean(q, t):
    """``E[X | X <= t]``: the mean of the body below ``t``, accurate on both sides of the median.

    Examples
    --------
    >>> from scipy import stats
    >>> round(body_mean(stats.gumbel_l(), -800.0), 9)  # E[X | X <= t] = t - 1 far out
    -801.0
    """
    _checks.finite_mean(q, "q")
    t = _checks.real(t, "t")
    lo, _ = q.support()
    if np.any(t <= lo):
        raise ValueError(f"t must lie above the lower end of the support ({lo}): P(X <= t) = 0")
    return _checks.like(np.vectorize(lambda ti: _body_mean(q, ti), otypes=[float])(t), t)


def _body_mean(q, t):
    lo, hi = q.support()
    if t >= hi:
        return float(q.mean())
    log_p = log_sf(q, t)
    if log_p < LOG_HALF:
        # E[X 1{X <= t}] = E[X] - Fbar(t) E[X | X > t]; no cancellation where Fbar(t) < 1/2.
        return (float(q.mean()) - np.exp(log_p) * (t + _mean_excess(q, t, +1))) / -np.expm1(log_p)
    return t - _mean_excess(q, t, -1)


def _mean_excess(q, t, sign):
    """``E[sign (X - t) | sign (X - t) > 0]`` from the density: ``int r f / int f`` beyond ``t``.

    Both integrals are taken in units of the tail's natural scale ``tail(t) / f(t)``, so one
    adaptive quadrature over ``[0, inf)`` resolves them from ``t = 2`` to ``t = 10^12``. Where
    that scale is below ``1e-8 |t|`` (a light tail far out: the normal at ``t = 10^155``) the
    excess is that scale itself to first order, and ``t`` plus it is exact to rounding.
    """
    log_pdf = _quadrature_logs(q)[0]
    with np.errstate(over="ignore"):
        log_f = float(log_pdf(t))
    log_tail = log_sf(q, t) if sign > 0 else log_cdf(q, t)
    scale = np.exp(log_tail - log_f) if np.isfinite(log_f) else np.nan
    if not (np.isfinite(scale) and scale > 0):
        scale = float(_density_scale(q, t, sign))
    if scale < 1e-8 * abs(t):
        return scale
    _within_reach(q, t, scale)

    def weight(r):
        with np.errstate(over="ignore", invalid="ignore"):
            return np.exp(log_pdf(t + sign * scale * r) - log_f)

    # The weight's rounding is about eps |log f(t)| (a difference of two large log densities):
    # ask quad for no more than that (1e-8 for the normal at t = 10^4), not for 1e-12.
    options = dict(epsabs=0.0, epsrel=max(1e-12, 64 * np.finfo(float).eps * abs(log_f)),
                   limit=500)
    mass, _ = integrate.quad(weight, 0.0, np.inf, **options)
    first, _ = integrate.quad(lambda r: r * weight(r), 0.0, np.inf, **options)
    return scale * first / mass


def subexponential_ratio(q, x):
    """``P(X1 + X2 > x) / P(X > x)`` for iid ``X1, X2 ~ q``; tends to 2 iff ``q`` is subexponential.

    (For a law on ``[0, inf)``; on the whole line, subexponential also asks for a long tail,
    ``Fbar(x + 1) / Fbar(x) -> 1``.)

    Uses ``P(X1 + X2 > x) = 2 int_{-inf}^{x/2} f(y) Fbar(x - y) dy + Fbar(x/2)^2`` with each
    term divided by ``Fbar(x)`` in log space. For a light tail the ratio can exceed the largest
    double (the normal's does beyond x ~ 55); it is then returned as ``inf``. A ValueError
    for ``x`` at or above the upper end of the support, where scipy's log tail underflows,
    or where ``|log Fbar(x)|`` is so large (about 5e8) that its differences lose their digits.

    Examples
    --------
    >>> from scipy import stats
    >>> round(subexponential_ratio(stats.expon(), 5.0), 9)  # Gamma(2) tail / Exp tail = 1 + x
    6.0
    """
    _checks.law(q, "q")
    x = _checks.real(x, "x")
    lo, hi = q.support()
    if np.any(x >= hi):
        raise ValueError(f"x must lie below {hi:g}, the upper end of the support of "
                         f"{q.dist.name}: P(X > x) = 0 there")

    def one(xi):
        log_sf_x = log_sf(q, xi)
        with np.errstate(divide="ignore"):
            scipy_tail = float(q.logsf(xi))
        if np.isfinite(log_sf_x) and scipy_tail == -np.inf:
            # the integrand takes scipy's log tail at x - y ~ x: 0 there would give a ratio
            # of 0 (the t(3) beyond x ~ 1e103), so refuse rather than return it
            raise ValueError(f"x = {xi:g} is too far out: scipy's log tail of "
                             f"{q.dist.name} underflows there (P(X > x) = exp({log_sf_x:.4g}))")
        # Both terms peak at y = x/2 for a light tail; scale by that peak to stay in range.
        log_half = log_sf(q, xi / 2)
        log_corner = 2.0 * log_half - log_sf_x
        # the logs below are differences of numbers as large as these: their rounding
        rounding = 8 * np.finfo(float).eps * (2 * abs(log_half) + abs(log_sf_x))
        if log_corner - rounding > LOG_MAX:
            return np.inf  # the corner P(X1 > x/2, X2 > x/2) / Fbar(x) alone overflows
        if rounding > 1e-6:
            raise ValueError(f"x = {xi:g} is too far out: log P(X > x) = {log_sf_x:.4g}, and "
                             "the differences of such logs lose their digits to rounding")
        shift = max(0.0, log_pdf(xi / 2) + log_half - log_sf_x, log_corner)

        def integrand(y):
            return np.exp(log_pdf(y) + log_tail(xi - y) - log_sf_x - shift)

        # Geometric breakpoints from the median to x/2 resolve both the bulk near the median
        # and the far end near x/2, whatever the ratio of their scales.
        start = min(float(q.median()), xi / 2)
        width = xi / 2 - start
        edges = [lo, start]
        if width > 0:
            edges += list(start + width * np.geomspace(min(1e-3, 1 / width), 1, 30))
        # quad judges each piece alone and warns of roundoff on pieces that carry nothing;
        # what matters is the error of the sum, checked against the sum below
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            pieces = [
                integrate.quad(integrand, a, b, epsabs=0.0, epsrel=1e-11, limit=200)
                for a, b in zip(edges[:-1], edges[1:], strict=True)
                if b > a
            ]
        body = sum(value for value, _ in pieces)
        error = sum(err for _, err in pieces)
        if error > 1e-9 * body:
            warnings.warn(f"subexponential_ratio at x = {xi:g}: the integral is good to only "
                          f"{error / body:.1g} (relative)", RuntimeWarning, stacklevel=3)
        log_ratio = shift + np.log(2.0 * body + np.exp(log_corner - shift))
        return np.inf if log_ratio > LOG_MAX else np.exp(log_ratio)

    log_pdf, log_tail, _ = _quadrature_logs(q)
    with _checks.named("x"):
        return _checks.like(np.vectorize(one, otypes=[float])(x), x)


# Right tails of scipy's families with unbounded support, as functions of the *standard*
# member's shapes: (radius of convergence of the MGF, subexponential?). Divide radii by scale.
_FAMILIES = {
    # lighter than every exponential: the MGF is finite for every lam
    "norm": lambda: (np.inf, False),
    "skewnorm": lambda a: (np.inf, False),
    "halfnorm": lambda: (np.inf, False),
    "truncnorm": lambda a, b: (np.inf, False),
    "chi": lambda df: (np.inf, False),
    "maxwell": lambda: (np.inf, False),
    "rayleigh": lambda: (np.inf, False),
    "gumbel_l": lambda: (np.inf, False),
    # exponential tails: the MGF is finite only below the rate
    "expon": lambda: (1.0, False),
    "gamma": lambda a: (1.0, False),
    "erlang": lambda a: (1.0, False),
    "chi2": lambda df: (0.5, False),
    "gumbel_r": lambda: (1.0, False),
    "laplace": lambda: (1.0, False),
    "logistic": lambda: (1.0, False),
    "genlogistic": lambda c: (1.0, False),
    "exponnorm": lambda K: (1.0 / K, False),
    # Weibull: heavy (and subexponential) for shape < 1, exponential at 1, lighter above
    "weibull_min": lambda c: (0.0, True) if c < 1 else (1.0 if c == 1 else np.inf, False),
    # heavy right tails, all subexponential: the MGF is infinite for every lam > 0
    "t": lambda df: (0.0, True),
    "cauchy": lambda: (0.0, True),
    "halfcauchy": lambda: (0.0, True),
    "pareto": lambda b: (0.0, True),
    "lomax": lambda c: (0.0, True),
    "lognorm": lambda s: (0.0, True),
    "levy": lambda: (0.0, True),
    "invgamma": lambda a: (0.0, True),
    "invweibull": lambda c: (0.0, True),
    "fisk": lambda c: (0.0, True),
    "burr": lambda c, d: (0.0, True),
    "burr12": lambda c, d: (0.0, True),
    "betaprime": lambda a, b: (0.0, True),
    "f": lambda dfn, dfd: (0.0, True),
    "genpareto": lambda c: (0.0, True) if c > 0 else (1.0, False),  # c < 0: bounded support
}


def standard_form(q):
    """``(family, shapes, loc, scale)`` of a frozen scipy law, from its public attributes.

    Examples
    --------
    >>> from scipy import stats
    >>> standard_form(stats.t(3, scale=2.0))
    ('t', (3.0,), 0.0, 2.0)
    """
    _checks.law(q, "q")
    names = [s.strip() for s in (q.dist.shapes or "").split(",") if s.strip()]
    values = dict(zip([*names, "loc", "scale"], q.args, strict=False))
    values.update(q.kwds)
    shapes = tuple(float(values[name]) for name in names)
    return q.dist.name, shapes, float(values.get("loc", 0.0)), float(values.get("scale", 1.0))


def _family_tail(q):
    """``(radius, subexponential)`` of the right tail of ``q``, or a ValueError."""
    _checks.law(q, "q")
    if np.isfinite(q.support()[1]):
        return np.inf, False
    name, shapes, _, scale = standard_form(q)
    if name not in _FAMILIES:
        known = ", ".join(sorted(_FAMILIES))
        raise ValueError(
            f"cannot decide the right tail of scipy's {name!r} (its MGF radius is not known to "
            f"goodhart; known unbounded families: {known})"
        )
    radius, subexponential = _FAMILIES[name](*shapes)
    return radius / scale, subexponential


def mgf_radius(q):
    """``sup{lam : E exp(lam X) < inf}`` for the law ``q``: 0 exactly for a heavy right tail.

    Exact, not estimated: ``inf`` when the support is bounded above, otherwise the family's
    known tail. A family goodhart does not know raises ``ValueError`` rather than guessing.

    Examples
    --------
    >>> from scipy import stats
    >>> mgf_radius(stats.expon(scale=2.0)), mgf_radius(stats.t(3)), mgf_radius(stats.norm())
    (0.5, 0.0, inf)
    """
    return float(_family_tail(q)[0])


def is_heavy_tailed(q):
    """True when ``E exp(lam X) = inf`` for every ``lam > 0``: the book's heavy right tail.

    Equivalently ``limsup_{x -> inf} exp(lam x) Fbar(x) = inf`` for every ``lam > 0``. (The
    paper asks for ``lim`` instead, a stronger condition that every long-tailed law meets.)

    Examples
    --------
    >>> from scipy import stats
    >>> is_heavy_tailed(stats.lognorm(1.0)), is_heavy_tailed(stats.gumbel_r())
    (True, False)
    """
    return mgf_radius(q) == 0


@dataclass(frozen=True)
class TailClass:
    """The right tail of one law: the classification and the evidence shown beside it.

    ``heavy`` and ``subexponential`` come from the family (or the bounded support);
    ``decay_rate`` is ``-log Fbar(x) / x`` at ``x``, the upper ``1e-12`` quantile (its
    ``liminf`` is 0 exactly for heavy tails), ``basis`` says where the classification comes from.
    """

    family: str
    heavy: bool
    subexponential: bool
    mgf_radius: float
    x: float
    decay_rate: float
    basis: str

    @property
    def label(self):
        """``"subexponential"``, ``"heavy"``, ``"exponential"`` or ``"light"`` (in words)."""
        if self.subexponential:
            return "subexponential"
        if self.heavy:
            return "heavy"
        return "light (exponential)" if np.isfinite(self.mgf_radius) else "light"


def classify(q):
    """The right tail of ``q``: heavy or light, subexponential or not, MGF radius, decay rate.

    Examples
    --------
    >>> from scipy import stats
    >>> c = classify(stats.t(3))
    >>> c.label, c.mgf_radius
    ('subexponential', 0.0)
    """
    radius, subexponential = _family_tail(q)
    x = float(q.isf(1e-12))
    if not np.isfinite(x) or x <= 0:
        x = max(1.0, float(q.support()[1]) if np.isfinite(q.support()[1]) else 1.0)
    bounded = np.isfinite(q.support()[1])
    rate = float(-log_sf(q, x) / x) if x < q.support()[1] else np.inf
    return TailClass(
        family=q.dist.name,
        heavy=bool(radius == 0),
        subexponential=bool(subexponential),
        mgf_radius=float(radius),
        x=x,
        decay_rate=rate,
        basis="bounded support" if bounded else f"the known tail of scipy's {q.dist.name!r}",
    )
