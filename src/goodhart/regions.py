"""The four regions of the proof of Theorem 5 (paper, Appendix A.5: Table A.1, Figure A.2).

Given ``U = X + V >= t``, with the error ``X`` independent of the utility ``V``, the law of
``V`` has the density ``f_V(v) Fbar_X(t - v) / P(U >= t)``. The paper's proof writes
``Q_t(v) = Fbar_X(t - v) / Fbar_X(t)`` and cuts the line at ``-h``, ``h`` and ``t - h`` for a
slowly growing cut ``h = h(t)``::

    r1 = (-inf, -h],   r2 = (-h, h),   r3 = [h, t - h],   r4 = (t - h, inf).

:func:`split` computes, for each region and threshold, the region's share of the conditional
mass ``P(V in r | U >= t)``, its term of the conditional mean ``E[V; V in r | U >= t]`` (the
four terms add up to ``E[V | U >= t]``) and the quantity the proof bounds in it,
``int_r |v| f_V(v) |Q_t(v) - 1| dv``. :func:`insensitivity` is the quantity of Lemma 1(d),
``sup_{|v| <= h} |Q_t(v) - 1|``; :func:`log_both_large` the probability of Lemma 2,
``P(X + V > t, V > h, X > h)``.

The integrals are taken in log space (they underflow: the normal utility's region 4 holds
``1e-95`` of the mass at ``t = 25``) by scipy's tanh-sinh rule, vectorized over thresholds,
on pieces cut at the region edges, at ``0``, at quantiles of ``V``, at ``t`` minus quantiles
of ``X``, and on geometric ladders out of ``0`` and out of ``t``.

The module also holds two pairs at the edge of the theorem's tail condition,
``lim t^p Fbar_V(t) / Fbar_X(t) = 0`` for some ``p > 1``, that no scipy family provides:
:data:`log_corrected_pareto` (``Fbar_V(v) = e^4 / (v^4 log v)``, for which only ``p = 1``
holds against a Student-t(3) error; :func:`log_corrected_tail_moment` gives its
``E[V; V > t]``) and :func:`slowly_varying_bound` (an error with
``Fbar_X(x) = 1 / log x``, for which ``p = 1`` holds and the conclusion fails).
"""

from dataclasses import dataclass

import numpy as np
from scipy import integrate, special, stats
from scipy.special import logsumexp

from goodhart import _checks, _fast, tails

#: The regions' names, in the paper's order.
NAMES = ("r1", "r2", "r3", "r4")

# Quantile levels of each law that cut the line into pieces tanh-sinh resolves, and the
# ratio of the geometric ladder of breakpoints out of each bump.
_LEVELS = np.array([1e-9, 1e-3, 0.1, 0.5, 0.9, 1 - 1e-3, 1 - 1e-9])
_RATIO = 8.0
_RTOL = 1e-12
_FAR = 1e100
#: The largest |t| of the regions: beyond about 1e95 the tails of a Student-t(3) error
#: (t^-3) come near the smallest double, and tanh-sinh fails on pieces of the line there.
_REACH = 1e90
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)


@dataclass(frozen=True)
class Regions:
    """The four regions of Theorem 5's proof at each threshold (first axis: ``r1`` to ``r4``).

    ``mass[i]`` is ``P(V in r_i | U >= t)``; ``term[i]`` is ``E[V; V in r_i | U >= t]``;
    ``deviation[i]`` is ``int_{r_i} |v| f_V |Q_t - 1| dv``, the paper's bound on the region's
    share of ``|E[V; U >= t] / Fbar_X(t) - E[V]|``. ``log_tail`` is ``log P(U >= t)`` and
    ``log_error_tail`` is ``log Fbar_X(t)``.
    """

    threshold: np.ndarray
    cut: np.ndarray
    mass: np.ndarray
    term: np.ndarray
    deviation: np.ndarray
    log_tail: np.ndarray
    log_error_tail: np.ndarray

    @property
    def conditional_mean(self):
        """``E[V | U >= t]``, the sum of the four terms."""
        return self.term.sum(axis=0)

    @property
    def ratio(self):
        """``P(U >= t) / Fbar_X(t) = int f_V Q_t``, the proof's denominator (tends to 1)."""
        return np.exp(self.log_tail - self.log_error_tail)


def split(proxy, t, h):
    """Shares of the conditional mass and of ``E[V | U >= t]`` in the proof's four regions.

    Parameters
    ----------
    proxy : goodhart.Proxy
        The independent pair ``(V, X)``.
    t : float or array_like
        Thresholds on ``U``.
    h : float or array_like
        The cut ``h(t) > 0``, broadcast against ``t``; the regions need ``t > 2 h``.

    Returns
    -------
    Regions
        Arrays of shape ``(4,) + shape`` (``shape`` that of ``t`` and ``h`` broadcast).

    Examples
    --------
    >>> from scipy import stats
    >>> from goodhart import Proxy
    >>> r = split(Proxy(utility=stats.t(5), error=stats.t(3)), 25.0, 4.0)
    >>> [round(float(m), 4) for m in r.mass]  # the paper's t = 25, h = 4
    [0.0029, 0.9725, 0.0108, 0.0138]
    >>> round(float(r.conditional_mean), 4)
    0.6389
    """
    t, h = _thresholds(proxy, t, h)
    log_tail = np.asarray(proxy.logsf(t), dtype=float)
    log_error_tail = np.asarray(tails.log_sf(proxy.error, t), dtype=float)
    a, b, region = _pieces(proxy, t, h)
    v, x = _fast.FastLaw(proxy.utility), _fast.FastLaw(proxy.error)
    tt = np.broadcast_to(t[..., None], a.shape)
    log_mass, log_moment, log_deviation = _integrate(v, x, a, b, tt, log_error_tail[..., None])
    sign = np.where(a >= 0, 1.0, -1.0)  # 0 is a breakpoint: v keeps its sign on a piece
    shape = (4,) + t.shape
    mass, term, deviation = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for i in range(4):
        inside = region == i
        with np.errstate(divide="ignore"):
            mass[i] = np.exp(logsumexp(np.where(inside, log_mass, -np.inf), axis=-1) - log_tail)
            term[i] = np.sum(
                np.where(inside, sign * np.exp(log_moment - log_tail[..., None]), 0.0), axis=-1
            )
            deviation[i] = np.sum(np.where(inside, np.exp(log_deviation), 0.0), axis=-1)
    return Regions(
        threshold=t, cut=h, mass=mass, term=term, deviation=deviation, log_tail=log_tail,
        log_error_tail=log_error_tail,
    )


def insensitivity(error, t, h):
    """``sup_{|v| <= h} |Q_t(v) - 1|``, ``Q_t(v) = Fbar_X(t - v) / Fbar_X(t)``: Lemma 1(d).

    ``Q_t`` increases in ``v``, so the supremum is the larger of ``Q_t(h) - 1`` and
    ``1 - Q_t(-h)``; Lemma 1 asks for a cut ``h(t) -> inf`` that sends it to 0 (and with it
    Lemma 1(c), ``Fbar_X(t - h) / Fbar_X(t) -> 1``).

    Examples
    --------
    >>> from scipy import stats
    >>> round(insensitivity(stats.t(3), 1e6, 100.0) * 1e6 / 100.0, 3)  # about 3 h / t
    3.0
    """
    _checks.law(error, "error")
    t = _checks.real(t, "t")
    h = _checks.real(h, "h", low=0.0)
    t, h = np.broadcast_arrays(t, h)
    with _checks.named("t"):
        log_t = tails.log_sf(error, t)
    with _checks.named("h"):
        up = np.expm1(tails.log_sf(error, t - h) - log_t)
        down = -np.expm1(tails.log_sf(error, t + h) - log_t)
    return _checks.like(np.maximum(up, down), t)


def log_both_large(proxy, t, h):
    """``log P(X + V > t, V > h, X > h)``: the probability Lemma 2 makes ``o(Fbar_X(t) / t)``.

    For ``t > 2 h`` it is the mass of region ``r3`` plus ``Fbar_X(h) Fbar_V(t - h)`` (the
    part of ``V > t - h`` where the error also exceeds ``h``).

    Examples
    --------
    >>> from scipy import stats
    >>> from goodhart import Proxy
    >>> p = Proxy(utility=stats.t(5), error=stats.t(3))
    >>> t, h = 1e4, 40.0  # Lemma 2: t P(...) / Fbar_X(t) is small
    >>> round(float(t * np.exp(log_both_large(p, t, h) - p.error.logsf(t))), 6)
    0.000935
    """
    t, h = _thresholds(proxy, t, h)
    a, b, region = _pieces(proxy, t, h)
    tt = np.broadcast_to(t[..., None], a.shape)
    v, x = _fast.FastLaw(proxy.utility), _fast.FastLaw(proxy.error)
    log_mass = _integrate(v, x, a, b, tt, None)[0]
    middle = logsumexp(np.where(region == 2, log_mass, -np.inf), axis=-1)
    corner = tails.log_sf(proxy.error, h) + tails.log_sf(proxy.utility, t - h)
    return _checks.like(np.logaddexp(middle, corner), t)


def _thresholds(proxy, t, h):
    if not hasattr(proxy, "logsf") or not hasattr(proxy, "utility"):
        raise ValueError(f"proxy must be a goodhart.Proxy, got {type(proxy).__name__}")
    t = _checks.real(t, "t", low=-_REACH, high=_REACH)
    h = _checks.real(h, "h", low=0.0, low_open=True)
    t, h = (np.array(a, dtype=float) for a in np.broadcast_arrays(t, h))
    if t.size == 0:
        raise ValueError(f"t and h must hold at least one value, got shape {t.shape}")
    if np.any(t <= 2 * h):
        raise ValueError("h: the four regions need t > 2 h (so that h < t - h)")
    return t, h


def _pieces(proxy, t, h):
    """Pieces ``[a, b]`` (last axis) of the line for each threshold, and their region."""
    v, x = proxy.utility, proxy.error
    fixed = np.concatenate([[0.0], v.ppf(_LEVELS)])
    fixed = np.broadcast_to(fixed, t.shape + fixed.shape)
    # t minus quantiles of X, and minus the ends of X's support (a kink of Fbar_X(t - v))
    x_points = np.concatenate([x.isf(_LEVELS), [e for e in x.support() if np.isfinite(e)]])
    moving = t[..., None] - x_points
    # a ladder of powers of _RATIO out of both bumps (about 0, about t) to beyond |t|: power
    # tails fall over many scales, and tanh-sinh wants each piece to span only a few
    top = int(np.ceil(np.log(4 * np.max(np.abs(t)) + 4) / np.log(_RATIO)))
    rungs = _RATIO ** np.arange(top + 1.0)
    ladder = np.concatenate([rungs, -rungs])
    geometric = (np.broadcast_to(ladder, t.shape + ladder.shape), t[..., None] + ladder)
    edges = np.stack([-h, h, t - h], axis=-1)
    inner = np.concatenate([fixed, moving, *geometric, edges], axis=-1)
    lo, hi = v.support()
    inner = np.clip(inner, max(lo, -1e300), min(hi, 1e300))
    ends = np.ones(t.shape + (1,))
    grid = np.concatenate([-np.inf * ends, np.sort(inner, axis=-1), np.inf * ends], axis=-1)
    a, b = grid[..., :-1], grid[..., 1:]
    a = np.where(np.isneginf(a), lo, a)
    b = np.where(np.isposinf(b), hi, b)
    with np.errstate(invalid="ignore"):
        # a point inside each piece (an infinite piece: one unit from its finite end)
        inside = np.where(np.isfinite(a), a + 1, b - 1)
        middle = np.where(np.isfinite(a) & np.isfinite(b), 0.5 * (a + b), inside)
    region = np.select(
        [middle <= -h[..., None], middle < h[..., None], middle <= (t - h)[..., None]], [0, 1, 2], 3
    )
    return a, b, region


def _integrate(v, x, a, b, t, log_error_tail):
    """Log integrals over ``[a, b]`` of ``f_V Fbar_X(t - v)``, of ``|v|`` times it, and of the
    proof's ``|v| f_V |Q_t - 1|`` (``None`` for the last two when ``log_error_tail`` is None)."""

    def log_mass(s, t):
        # beyond |v| = 1e100 a law with a finite mean has a negligible share (E|V| / 1e100),
        # and scipy's tails underflow there: those nodes carry nothing
        far = (np.abs(s) > _FAR) | (np.abs(t - s) > _FAR)
        s = np.where(far, 0.0, s)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = v.logpdf(s) + x.logsf(t - s)
        return np.where(np.isnan(out) | far, -np.inf, out)

    def log_moment(s, t):
        with np.errstate(divide="ignore"):
            return log_mass(s, t) + np.log(np.abs(s))

    options = dict(log=True, rtol=np.log(_RTOL))  # in log mode, the log of the tolerance
    # pieces a few ulps long (breakpoints that coincide up to rounding) carry nothing
    with np.errstate(invalid="ignore"):
        empty = ~(b - a > 1e-12 * np.maximum(1.0, np.abs(a)))
    aa, bb = np.where(empty, 0.0, a), np.where(empty, 1.0, b)

    def run(f, *args):
        result = integrate.tanhsinh(f, aa, bb, args=(t, *args), **options)
        out = np.where(empty, -np.inf, np.real(result.integral))
        # a piece that did not converge is acceptable only if its error estimate is negligible
        # beside its row's largest piece
        largest = np.max(out, axis=-1, keepdims=True)
        with np.errstate(invalid="ignore"):
            open_ = (result.status != 0) & ~empty & ~(result.error < largest + np.log(_RTOL))
        if np.any(np.isnan(out)) or np.any(open_):
            raise ArithmeticError("regions: tanh-sinh did not converge on a piece of the line")
        return out

    mass = run(log_mass)
    if log_error_tail is None:
        return mass, None, None
    moment = run(log_moment)
    lt = np.broadcast_to(log_error_tail, t.shape)

    def log_deviation(s, t, lt):
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = log_mass(s, t) - v.logpdf(s) - lt  # log Q_t(s)
            # near Q_t = 1 the difference of two log tails cancels: there log Q_t(s) is the
            # integral of the hazard f_X / Fbar_X over [t - s, t], by Gauss-Legendre
            near = np.abs(gap) < 1e-3
            if np.any(near):
                nodes = (t - s)[..., None] + 0.5 * s[..., None] * (_GL_NODES + 1)
                hazard = np.exp(x.logpdf(nodes) - x.logsf(nodes))
                gap = np.where(near, 0.5 * s * (hazard @ _GL_WEIGHTS), gap)
            log_q1 = np.log(-np.expm1(-np.abs(gap))) + np.maximum(gap, 0.0)  # log |Q_t - 1|
            out = v.logpdf(s) + np.log(np.abs(s)) + log_q1
        return np.where(np.isnan(out), -np.inf, out)

    return mass, moment, run(log_deviation, lt)


class _LogCorrectedPareto(stats.rv_continuous):
    """``Fbar(v) = e^4 / (v^4 log v)`` for ``v >= e``: a power tail of index 4, over ``log v``."""

    def _logsf(self, v):
        return 4.0 - 4.0 * np.log(v) - np.log(np.log(v))

    def _sf(self, v):
        return np.exp(self._logsf(v))

    def _cdf(self, v):
        return -np.expm1(self._logsf(v))

    def _logpdf(self, v):
        log_v = np.log(v)
        return 4.0 - 5.0 * log_v - 2.0 * np.log(log_v) + np.log1p(4.0 * log_v)

    def _pdf(self, v):
        return np.exp(self._logpdf(v))

    def _isf(self, q):
        # v^4 log v = e^4 / q: with y = log v, 4 y e^(4 y) = 4 e^4 / q, so 4 y = W(4 e^4 / q)
        with np.errstate(divide="ignore"):
            log_argument = np.log(4.0) + 4.0 - np.log(q)
        return np.exp(_lambert_w_of_exp(log_argument) / 4.0)

    def _ppf(self, p):
        return self._isf(1.0 - p)

    def _stats(self):
        # E[V] = e + int_e^inf Fbar = e + e^4 E1(3); E[V^2] = e^2 + 2 int_e^inf v Fbar
        mean = np.e + np.e**4 * special.exp1(3.0)
        second = np.e**2 + 2 * np.e**4 * special.exp1(2.0)
        return mean, second - mean**2, None, None


def _lambert_w_of_exp(z):
    """``W(e^z)``, the principal branch, without overflow for large ``z`` (Newton on ``w``)."""
    z = np.asarray(z, dtype=float)
    small = np.real(special.lambertw(np.exp(np.minimum(z, 2.0))))
    large = np.maximum(z, 2.0)
    w = large - np.log(large) + 0.5  # above the root; Newton on w + log w = z converges fast
    for _ in range(8):
        w = w - (w + np.log(w) - large) / (1.0 + 1.0 / w)
    return np.where(z < 2.0, small, w)


#: A law with ``Fbar_V(v) = e^4 / (v^4 log v)`` on ``[e, inf)`` (freeze it: ``()``). Against a
#: Student-t(3) error, ``t Fbar_V / Fbar_X -> 0`` like ``1 / log t`` but
#: ``t^p Fbar_V / Fbar_X -> inf`` for every ``p > 1``: Theorem 5's tail condition holds only
#: with ``p = 1``. Its mean is ``e + e^4 E1(3) = 3.4307``.
log_corrected_pareto = _LogCorrectedPareto(a=np.e, name="log_corrected_pareto")


def log_corrected_tail_moment(t):
    """``E[V; V > t]`` for :data:`log_corrected_pareto`: the utility's share of region ``r4``.

    With ``Fbar_V(v) = e^4 / (v^4 log v)``, ``E[V; V > t] = t Fbar_V(t) + int_t^inf Fbar_V``,
    and ``v = e^y`` turns the integral into ``e^4 E1(3 log t)``:

        E[V; V > t] = e^4 (t^-3 / log t + E1(3 log t)).

    Divided by ``Fbar_X(t)``, it is what ``E[V | U >= t] - E[V]`` tends to when the error's
    tail is the heavier (region ``r4`` of Theorem 5's proof).

    Parameters
    ----------
    t : float or array_like
        Thresholds, at least ``e`` (the law's lower end).

    Returns
    -------
    float or numpy.ndarray
        ``E[V; V > t]``, of the shape of ``t`` (0 where it underflows, beyond ``t = 1e100``).

    Examples
    --------
    >>> round(float(log_corrected_tail_moment(np.e)), 4)  # the whole mean
    3.4307
    >>> print(f"{float(log_corrected_tail_moment(1e4)):.4e}")
    7.8371e-12
    """
    t = _checks.real(t, "t", low=np.e)
    log_t = np.log(t)
    with np.errstate(under="ignore"):
        moment = np.e**4 * (np.exp(-3.0 * log_t) / log_t + special.exp1(3.0 * log_t))
    return _checks.like(moment, t)


#: ``A = e^(e + 1)`` of :func:`slowly_varying_bound`, so that ``Fbar_V(e^e) = 1``.
SLOWLY_VARYING_A = float(np.exp(np.e + 1))
#: ``E[V] = e^e + A`` for the utility of :func:`slowly_varying_bound`.
SLOWLY_VARYING_MEAN = float(np.exp(np.e)) + SLOWLY_VARYING_A


@dataclass(frozen=True)
class SlowlyVarying:
    """Closed forms for the slowly varying pair of :func:`slowly_varying_bound`, per ``t``."""

    log_threshold: np.ndarray
    tail_ratio: np.ndarray  # t Fbar_V(t) / Fbar_X(t): Theorem 5's condition with p = 1
    tail_moment: np.ndarray  # E[V; V >= t] / Fbar_X(t): must tend to 0 for the conclusion
    lower_bound: np.ndarray  # on E[V | U >= t]


def slowly_varying_bound(log_t):
    """Where ``p > 1`` matters: a slowly varying error that defeats the ``p = 1`` condition.

    The error has ``Fbar_X(x) = 1 / log x`` on ``[e, inf)`` (subexponential: a slowly varying
    tail on the half-line), the utility ``Fbar_V(v) = A / (v log v (log log v)^2)`` on
    ``[e^e, inf)`` with ``A = e^(e + 1)`` (finite mean ``e^e + A = 56.35``). Then
    ``t Fbar_V(t) / Fbar_X(t) = A / (log log t)^2 -> 0`` (the condition with ``p = 1``) while
    ``t^p Fbar_V / Fbar_X -> inf`` for every ``p > 1``, and
    ``E[V; V >= t] = A / (log t (log log t)^2) + A / log log t`` is not ``o(Fbar_X(t))``.
    Both laws are positive, so ``U >= t`` needs ``X >= t/2`` or ``V >= t/2``, and ``V >= t``
    implies ``U >= t``:

        E[V | U >= t] >= E[V; V >= t] / (Fbar_X(t/2) + Fbar_V(t/2)),

    which grows like ``A log t / log log t``: the conclusion of Theorem 5 fails.

    Parameters
    ----------
    log_t : float or array_like
        ``log t`` (natural), at least ``e + log 2`` so that ``t / 2`` lies in both supports;
        ``t`` itself may be far beyond the largest double (``t = 10^10000``).

    Returns
    -------
    SlowlyVarying

    Examples
    --------
    >>> r = slowly_varying_bound(10000 * np.log(10.0))  # t = 10^10000
    >>> round(float(r.tail_ratio), 4), round(float(r.lower_bound), 1)
    (0.4083, 94430.2)
    """
    log_t = _checks.real(log_t, "log_t", low=np.e + np.log(2.0))
    a = SLOWLY_VARYING_A
    log_log = np.log(log_t)
    tail_moment_abs = a / (log_t * log_log**2) + a / log_log  # t Fbar_V(t) + int_t^inf Fbar_V
    half = log_t - np.log(2.0)  # log(t / 2)
    sf_v_half = a * np.exp(-half) / (half * np.log(half) ** 2)
    return SlowlyVarying(
        log_threshold=log_t,
        tail_ratio=_checks.like(a / log_log**2, log_t),
        tail_moment=_checks.like(tail_moment_abs * log_t, log_t),
        lower_bound=_checks.like(tail_moment_abs / (1.0 / half + sf_v_half), log_t),
    )
