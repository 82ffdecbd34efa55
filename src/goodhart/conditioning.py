"""Theorems 5 and 6: the true utility ``V`` given that the proxy ``U = X + V`` passes ``t``.

For independent ``X ~ x`` and ``V ~ v``, conditioning on ``U >= t`` reweights ``V``'s density
by the chance that the error makes up the rest::

    E[V | X + V >= t] = int s f_V(s) Fbar_X(t - s) ds / int f_V(s) Fbar_X(t - s) ds.

Far in the tail both integrals underflow, and for a heavy-tailed ``X`` the integrand has
two bumps: one where ``V`` is typical (``s ~ 1``, the error did the work) and one where the
error is typical (``s ~ t``, the utility did). Both are integrated in log space, piece by
piece between breakpoints that resolve each scale, with scipy's tanh-sinh quadrature
vectorized over the thresholds.
"""

import numpy as np
from scipy import integrate
from scipy.optimize import elementwise
from scipy.special import logsumexp

from goodhart import _checks

# Quantile levels that place breakpoints across the body and tails of each distribution.
_LEVELS = np.array([1e-12, 1e-6, 1e-3, 0.05, 0.25, 0.5])
# Fractions of the way from V's median to t - X's median where the fill is linear (a pair
# of light tails peaks in between), and the number of geometric steps out of each bump.
_LINEAR = np.linspace(0, 1, 11)
_GEOMETRIC_STEPS = 16
# Tanh-sinh relative tolerance, for each piece and for the total (pieces have one sign).
_RTOL = 1e-12
# The coarse screening pass, and the share of its total below which a piece is dropped.
_LOG_SCREEN_RTOL = np.log(1e-3)
_LOG_DROP = np.log(1e-22)
_LOG_ATOL = np.log(1e-16)


def conditional_mean(v, x, t):
    """``E[V | X + V >= t]`` for independent ``X ~ x`` and ``V ~ v``; ``t`` a float or array.

    ``v`` must have a finite mean (the theorems' hypothesis); ``x`` need not.
    """
    return _condition(v, x, t)[1]


def log_exceedance(v, x, t):
    """``log P(X + V >= t)`` for independent ``X ~ x`` and ``V ~ v``; ``t`` a float or array."""
    return _condition(v, x, t)[0]


def conditional_mean_monte_carlo(v, x, t, n=10**6, seed=0):
    """Monte Carlo twin of :func:`conditional_mean`: the estimate and its standard error.

    Draws ``n`` pairs once (seeded) and, for each threshold, averages ``V`` over the draws
    with ``X + V >= t``. Raises a ValueError where fewer than 100 draws pass a threshold.
    """
    _checks.finite_mean(v, "v")
    t = _checks.real(t, "t")
    rng = np.random.default_rng(seed)
    utility = v.rvs(size=n, random_state=rng)
    proxy = utility + x.rvs(size=n, random_state=rng)

    def one(ti):
        selected = utility[proxy >= ti]
        if selected.size < 100:
            raise ValueError(
                f"only {selected.size} of {n} draws reach t = {ti}; use a larger n or smaller t"
            )
        return selected.mean(), selected.std(ddof=1) / np.sqrt(selected.size)

    estimates = [one(ti) for ti in t.ravel()]
    mean, stderr = (np.reshape(column, t.shape) for column in zip(*estimates, strict=True))
    if t.ndim == 0:
        return float(mean), float(stderr)
    return mean, stderr


def _condition(v, x, t):
    """``(log P(U >= t), E[V | U >= t])`` as floats or arrays shaped like ``t``."""
    mu = _checks.finite_mean(v, "v")
    t_in = _checks.real(t, "t")
    t = np.atleast_1d(t_in).ravel()[:, None]
    v_lo, v_hi = v.support()
    x_lo, x_hi = x.support()
    lo, hi = np.maximum(v_lo, t - x_hi), np.full_like(t, v_hi)
    if np.any(lo >= hi):
        raise ValueError(f"P(X + V >= t) = 0 for some t: X + V is bounded above by {v_hi + x_hi}")

    def log_weight(s, ti):
        # log of f_V(s) Fbar_X(t - s): the density of V jointly with U >= t.
        return v.logpdf(s) + x.logsf(ti - s)

    edges = _breakpoints(v, x, t, mu, log_weight)
    edges = _merge_close(np.clip(np.concatenate([lo, edges, hi], axis=1), lo, hi))
    # Repeated breakpoints give zero-length pieces: tanh-sinh returns log 0 for them at once.
    a, b = edges[:, :-1], edges[:, 1:]
    # mu is a breakpoint, so (s - mu) has one sign on each piece, up to the merging of
    # breakpoints a few ulps apart: judge it at the middle of the piece.
    with np.errstate(invalid="ignore"):  # no piece runs from -inf to inf: mu lies between
        sign = np.where(a / 2 + b / 2 >= mu, 1.0, -1.0)

    def log_integrand(s, ti, log_scale, moment):
        # The weight (moment 0) or |s - mu| times it (moment 1), divided by exp(log_scale).
        with np.errstate(divide="ignore"):
            log_distance = np.log(np.abs(s - mu))
        return log_weight(s, ti) - log_scale + np.where(moment == 1, log_distance, 0.0)

    # Screen: a coarse pass finds the pieces that carry mass; most carry none (a tail of V
    # far from both bumps) and would cost most of the work at full accuracy.
    coarse = integrate.tanhsinh(
        log_integrand, a, b, args=(t, 0.0, 0), log=True, rtol=_LOG_SCREEN_RTOL, maxlevel=3
    )
    log_coarse = logsumexp(coarse.integral, axis=1)
    with np.errstate(invalid="ignore"):
        relevant = ~(coarse.integral - log_coarse[:, None] < _LOG_DROP)
    rows, cols = np.nonzero(relevant)
    # The log weight is a sum of terms of size |log P(U >= t)|, so it carries a rounding
    # error of about that times eps: no quadrature can do better, relative to the total.
    log_floor = np.log(np.maximum(_RTOL, 16 * np.finfo(float).eps * np.abs(log_coarse)))
    # The fine pass divides each row by its coarse total times floor / 1e-16, so the one
    # absolute tolerance 1e-16 asks every row for its own floor relative to its total, and
    # ends at once the work on pieces that hold a negligible share.
    log_scale = log_coarse + log_floor - _LOG_ATOL
    moment = np.arange(2)[:, None]
    fine = integrate.tanhsinh(
        log_integrand,
        a[rows, cols],
        b[rows, cols],
        args=(t[rows, 0], log_scale[rows], moment),
        log=True,
        atol=_LOG_ATOL,
        rtol=np.log(_RTOL),
        maxlevel=12,
    )
    log_pieces = np.full((2,) + a.shape, -np.inf)
    log_pieces[:, rows, cols] = fine.integral
    log_total = logsumexp(log_pieces[0], axis=1)
    # A piece that stopped short is accepted if its error is within 100 floors of the total.
    tolerated = fine.error - log_total[rows] < log_floor[rows] + np.log(100.0)  # NaN: False
    if np.any((fine.status != 0) & ~tolerated):
        raise ArithmeticError("tanh-sinh quadrature did not converge on a piece that matters")
    if not np.all(np.isfinite(log_total)):
        raise ArithmeticError("P(X + V >= t) underflowed even in log space")
    with np.errstate(divide="ignore"):
        upper = logsumexp(np.where(sign > 0, log_pieces[1], -np.inf), axis=1) - log_total
        lower = logsumexp(np.where(sign < 0, log_pieces[1], -np.inf), axis=1) - log_total
    mean = mu + np.exp(upper) - np.exp(lower)
    if t_in.ndim == 0:
        return float(log_total[0] + log_scale[0]), float(mean[0])
    log_total = log_total + log_scale
    return log_total.reshape(t_in.shape), mean.reshape(t_in.shape)


def _merge_close(edges):
    """Sort each row and make breakpoints closer than rounding error exactly equal.

    Pieces a few ulps long carry no mass but defeat the quadrature; collapsing them to zero
    length (rather than dropping them) keeps the neighbouring pieces joined.
    """
    edges = np.sort(edges, axis=1)
    for k in range(1, edges.shape[1]):
        previous = edges[:, k - 1]
        with np.errstate(invalid="ignore"):  # inf - inf at an infinite end: not close
            gap = edges[:, k] - previous
        close = np.isfinite(previous) & (gap <= 1e-12 * np.maximum(1.0, np.abs(previous)))
        edges[:, k] = np.where(close, previous, edges[:, k])
    return edges


def _spread(q):
    """The interquartile range of ``q``: the width of its bump."""
    return float(q.isf(0.25) - q.ppf(0.25))


def _breakpoints(v, x, t, mu, log_weight):
    """Breakpoints (one row per threshold) that resolve every bump of the integrand.

    Quantiles of ``V`` resolve the bump where utility is typical, ``t`` minus quantiles of
    ``X`` the bump where error is typical, a geometric-and-linear fill the stretch between,
    and the integrand's largest value on all of these, refined by a bracketing minimizer,
    pins the peak (it moves with ``t`` when both tails are light).
    """
    # Support ends are kinks of the integrand (a density that jumps at its lower end).
    v_points = np.concatenate([v.support(), v.ppf(_LEVELS), v.isf(_LEVELS), [mu]])
    v_points = v_points[np.isfinite(v_points)]
    x_points = np.concatenate([x.support(), x.ppf(_LEVELS), x.isf(_LEVELS)])
    x_points = x_points[np.isfinite(x_points)]
    v_mid, x_mid = float(v.median()), float(x.median())
    gap = t - x_mid - v_mid  # from V's bump to the error's bump
    fill = [v_mid + gap * _LINEAR]
    for start, scale, direction in [(v_mid, _spread(v), 1.0), (t - x_mid, _spread(x), -1.0)]:
        # Steps growing geometrically from the bump's own width to half the gap.
        ratio = np.maximum(np.abs(gap) / (2 * scale), 1.0) ** (1 / (_GEOMETRIC_STEPS - 1))
        steps = scale * ratio ** np.arange(_GEOMETRIC_STEPS)
        fill.append(start + direction * np.sign(gap) * steps)
    fill = np.concatenate(fill, axis=1)
    grid = np.concatenate(
        [np.broadcast_to(v_points, (len(t), v_points.size)), t - x_points, fill], axis=1
    )
    grid = _merge_close(grid)
    with np.errstate(invalid="ignore"):
        values = np.nan_to_num(log_weight(grid, t), nan=-np.inf)
    peak = np.argmax(values, axis=1)
    middle = grid[np.arange(len(t)), peak]
    left = np.where(grid < middle[:, None], grid, -np.inf).max(axis=1)
    right = np.where(grid > middle[:, None], grid, np.inf).min(axis=1)
    bracket = np.stack([left, middle, right])
    with np.errstate(invalid="ignore"):
        bracket_values = log_weight(bracket, t[:, 0])
    # Refine only a peak inside the support, with finite values around it: a density that is
    # infinite at its lower end (gamma with shape < 1) peaks at a breakpoint already.
    inner = np.all(np.isfinite(bracket) & np.isfinite(bracket_values), axis=0)
    mode = middle.copy()
    if np.any(inner):
        found = elementwise.find_minimum(
            lambda s, ti: -log_weight(s, ti),
            (left[inner], middle[inner], right[inner]),
            args=(t[inner, 0],),
        )
        mode[inner] = np.where(found.success, found.x, middle[inner])
    return np.concatenate([grid, mode[:, None]], axis=1)
