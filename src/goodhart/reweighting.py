"""Theorem 1: the two-block tail reweighting ``P_t`` of a law ``Q`` with a finite mean.

``P_t`` keeps the shape of ``Q`` on each side of the threshold ``t`` and gives the tail
``(t, inf)`` the probability ``m`` (the ``mass``) and the body ``(-inf, t]`` the rest::

    dP_t/dQ (x) = m / Fbar(t)              for x > t
                  (1 - m) / (1 - Fbar(t))  for x <= t

with ``Fbar(t) = Q(X > t)``. Its KL to ``Q`` is the KL between two Bernoulli laws,
``D(P_t || Q) = m log(m / Fbar) + (1 - m) log((1 - m) / (1 - Fbar))``, and its mean is
``E_{P_t}[X] = (1 - m) E[X | X <= t] + m E[X | X > t]``, affine in ``m``.

Theorem 1 takes ``m = c / t``: for a heavy right tail with a finite mean the mean stays above
about ``c`` while the KL vanishes as ``t`` grows. Expanding the KL in small ``m`` (with
``Fbar(t) = o(m)``, which a finite mean guarantees for ``m = c / t``),

    D(P_t || Q) = m log(m / Fbar(t)) - m + Fbar(t) + m^2 / 2 + O(m^3 + m Fbar(t)),

so the paper's ``(c/t) log(c / (t Fbar(t)))`` (:attr:`TailReweighting.kl_tail_term`) and the
sharper ``m (log(m / Fbar) - 1)`` (:attr:`TailReweighting.kl_leading`) are asymptotically exact,
while the proof's bound ``-(c/t) log Fbar(t)`` (:attr:`TailReweighting.kl_proof_term`) is not
(it exceeds the KL by about ``(c/t) log(t / c)``). Tail probabilities are carried as logarithms
(``log_tail``) from :func:`goodhart.tails.log_sf`, so thresholds far in either tail are exact.

The corollary applies the same two blocks to the law of the proxy ``U = X + V`` and carries
the pair ``(X, V)`` along: ``dP/dQ`` is a function of ``U`` only, so its KL is still the
Bernoulli KL of ``{U >= t}``, and each block keeps the base law's joint shape, so
``E_P[V] = E_Q[V] + (m - Fbar_U(t)) (E_Q[V | U >= t] - E_Q[V]) / (1 - Fbar_U(t))`` (and the
same for ``X``). :func:`upweight_proxy` takes independent ``X`` and ``V`` from
:class:`goodhart.Proxy`; :func:`upweight_proxy_gaussian` is a dedicated routine for one
dependent family, ``V | X = e ~ N(g(e), s^2)``, by quadrature over the error.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import integrate, optimize, stats
from scipy.optimize import elementwise

from goodhart import _checks, _fast, tails
from goodhart.divergences import bernoulli_kl
from goodhart.proxy import Proxy

__all__ = ["ProxyReweighting", "TailReweighting", "cheapest_upweighting", "upweight_proxy",
           "upweight_proxy_gaussian", "upweight_tail"]


@dataclass(frozen=True)
class TailReweighting:
    """``P_t`` for a law ``q``: the blocks' facts, from which its mean and exact KL follow.

    Fields are floats for scalar arguments and arrays of their broadcast shape otherwise.

    Attributes
    ----------
    q : frozen scipy.stats law
        The base law ``Q``.
    threshold : float or ndarray
        The threshold ``t`` (also available as ``t``).
    mass : float or ndarray
        ``P_t(X > t)``.
    log_tail : float or ndarray
        ``log Fbar(t) = log Q(X > t)``.
    body_mean, tail_mean : float or ndarray
        ``E_Q[X | X <= t]`` and ``E_Q[X | X > t]``.
    """

    q: object = field(repr=False)
    threshold: float | np.ndarray
    mass: float | np.ndarray
    log_tail: float | np.ndarray
    body_mean: float | np.ndarray
    tail_mean: float | np.ndarray

    @property
    def t(self):
        """The threshold (the argument's name; the same as ``threshold``)."""
        return self.threshold

    @property
    def mean(self):
        """``E_{P_t}[X] = (1 - m) E[X | X <= t] + m E[X | X > t]``."""
        mass = np.asarray(self.mass)
        return _checks.like((1 - mass) * self.body_mean + mass * self.tail_mean)

    @property
    def kl(self):
        """``D(P_t || Q)`` in nats, exact (the Bernoulli KL, with ``Fbar`` in log space)."""
        return _checks.like(np.maximum(bernoulli_kl(self.mass, self.log_tail), 0.0))

    @property
    def kl_tail_term(self):
        """``m log(m / Fbar(t))``: the paper's ``(c/t) log(c / (t Fbar(t)))`` for ``m = c/t``."""
        return _checks.like(self.mass * (np.log(self.mass) - self.log_tail))

    @property
    def kl_leading(self):
        """``m (log(m / Fbar(t)) - 1)``: the KL to ``O(m^2 + Fbar(t))`` (the body adds ``-m``)."""
        return _checks.like(self.mass * (np.log(self.mass) - self.log_tail - 1))

    @property
    def kl_proof_term(self):
        """``-m log Fbar(t)``: the term the proof bounds the KL by (not its rate)."""
        return _checks.like(-self.mass * np.asarray(self.log_tail))

    def retarget(self, mass=None, *, mean=None, kl=None):
        """The same thresholds with another target, reusing the blocks' facts (no quadrature).

        Give exactly one of ``mass``, ``mean`` or ``kl``, as for :func:`upweight_tail`; it
        broadcasts against the thresholds.

        Examples
        --------
        >>> from scipy import stats
        >>> p = upweight_tail(stats.t(3), np.array([10.0, 1e6]), kl=0.01)
        >>> print([f"{m:.4g}" for m in p.mean], [f"{d:.4g}" for d in p.retarget(mean=1.0).kl])
        ['0.1105', '464.8'] ['0.215', '1.7e-05']
        """
        kind, target = _target(mass, mean, kl)
        facts = (self.threshold, target, self.log_tail, self.body_mean, self.tail_mean)
        return _solve(self.q, kind, *np.broadcast_arrays(*facts))

    def log_likelihood_ratio(self, x):
        """``log dP_t/dQ (x)``: constant on each block; ``x`` broadcasts against ``t``."""
        x = _checks.real(x, "x", finite=False)
        in_tail = np.log(self.mass) - self.log_tail
        in_body = np.log1p(-np.asarray(self.mass)) - tails.log1mexp(self.log_tail)
        return _checks.like(np.where(x > self.threshold, in_tail, in_body))

    def logpdf(self, x):
        """Log-density of ``P_t``; ``x`` broadcasts against ``t``."""
        return _checks.like(np.asarray(self.q.logpdf(x)) + self.log_likelihood_ratio(x))

    def pdf(self, x):
        """Density of ``P_t``; ``x`` broadcasts against ``t``.

        Examples
        --------
        >>> from scipy import stats
        >>> p = upweight_tail(stats.expon(), 1.0, 0.5)  # the tail's weight e^-1 -> 1/2
        >>> print(round(p.pdf(2.0) / stats.expon.pdf(2.0), 12), round(0.5 / np.exp(-1.0), 12))
        1.35914091423 1.35914091423
        """
        return _checks.like(np.exp(self.logpdf(x)))


def upweight_tail(q, t, mass=None, *, mean=None, kl=None):
    """Theorem 1's ``P_t``: ``q`` with probability ``mass`` moved onto ``(t, inf)``.

    Give exactly one of ``mass``, ``mean`` (the mass that gives ``E_{P_t}[X] = mean``: the
    mean is affine in the mass) or ``kl`` (the mass above ``Q``'s own tail mass whose KL is
    ``kl``: the most upweighted ``P_t`` a KL budget buys at ``t``).

    Parameters
    ----------
    q : frozen scipy.stats law
        A continuous law with a finite mean (Theorem 1's hypothesis).
    t : float or array_like
        Thresholds strictly inside the support, so that both blocks have probability.
    mass : float or array_like, optional
        ``P_t(X > t)``, in (0, 1).
    mean : float or array_like, optional
        The target ``E_{P_t}[X]``, strictly between ``E[X | X <= t]`` and ``E[X | X > t]``.
    kl : float or array_like, optional
        The target ``D(P_t || Q)`` in nats, in ``[0, -log Fbar(t))``.

    Returns
    -------
    TailReweighting
        Fields broadcast over ``t`` and the given target; ``.mean``, ``.kl``, ``.pdf(x)``.

    Raises
    ------
    ValueError
        Naming the argument: a law without a finite mean, a threshold outside the support, a
        mass outside (0, 1), a mean or KL that no mass in (0, 1) reaches at ``t``.

    Examples
    --------
    >>> from scipy import stats
    >>> t = np.array([1e2, 1e6, 1e12])
    >>> p = upweight_tail(stats.t(3), t, 1 / t)  # Theorem 1 with c = 1: mean 3c/2, KL -> 0
    >>> print(np.round(p.mean, 6), [f"{kl:.3e}" for kl in p.kl])
    [1.499926 1.5      1.5     ] ['8.118e-02', '2.653e-05', '5.416e-11']
    >>> round(upweight_tail(stats.norm(), 3.0, mean=1.0).mass, 8)
    0.30552903
    >>> round(upweight_tail(stats.t(3), 100.0, kl=1.0).kl, 12)
    1.0
    """
    _checks.finite_mean(q, "q")
    t = _checks.real(t, "t")
    kind, target = _target(mass, mean, kl)
    lo, hi = (float(x) for x in q.support())
    if np.any((t <= lo) | (t >= hi)):
        bad = float(t[(t <= lo) | (t >= hi)].flat[0])
        raise ValueError(
            f"t = {bad:g} must lie inside the support ({lo:g}, {hi:g}) so both blocks have mass"
        )
    t_b, target_b = np.broadcast_arrays(t, target)
    blocks = _blocks(q, t_b)
    if np.any(blocks[0] == 0):  # far in the lower tail: the body's mass is below rounding
        bad = float(t_b[blocks[0] == 0].flat[0])
        raise ValueError(
            f"t = {bad:g}: P(X > t) rounds to 1 there, so the body below t has no mass in "
            "double precision"
        )
    return _solve(q, kind, t_b, target_b, *blocks)


def _target(mass, mean, kl):
    """``(kind, checked values)`` of the one target given: ``mass``, ``mean`` or ``kl``."""
    given = [name for name, value in (("mass", mass), ("mean", mean), ("kl", kl))
             if value is not None]
    if len(given) != 1:
        raise ValueError(
            "give exactly one of mass, mean or kl (the P_t with that tail mass, that mean or "
            f"that KL), got {', '.join(given) if given else 'none'}"
        )
    if mass is not None:
        target = _checks.real(mass, "mass")
        if np.any((target <= 0) | (target >= 1)):
            bad = float(target[(target <= 0) | (target >= 1)].flat[0])
            raise ValueError(f"mass must lie in (0, 1), got {bad:g}")
        return "mass", target
    if mean is not None:
        return "mean", _checks.real(mean, "mean")
    return "kl", _checks.real(kl, "kl", low=0.0)


def _solve(q, kind, t, target, log_tail, body_mean, tail_mean):
    """The ``TailReweighting`` for broadcast ``t``, ``target`` and the blocks' facts at ``t``."""
    shape = t.shape
    t, target = np.ravel(t), np.ravel(target)
    log_tail, body_mean, tail_mean = (np.ravel(a) for a in (log_tail, body_mean, tail_mean))
    if kind == "mass":
        new_mass = target
    elif kind == "mean":
        new_mass = _mass_for_mean(t, target, body_mean, tail_mean)
    else:
        new_mass = _mass_for_kl(t, target, log_tail)
    return TailReweighting(
        q=q,
        **{name: _checks.like(np.reshape(value, shape)) for name, value in (
            ("threshold", t), ("mass", new_mass), ("log_tail", log_tail),
            ("body_mean", body_mean), ("tail_mean", tail_mean))},
    )


def cheapest_upweighting(q, mean, *, bounds):
    """The two-block ``P_t`` of least KL with ``E_{P_t}[X] = mean``, over thresholds in ``bounds``.

    At each ``t`` the mass is matched to the mean (``upweight_tail(q, t, mean=mean)``); the KL
    is then minimized over ``t``: a grid of 33 thresholds, refined by bounded Brent search
    around the best one. For a heavy right tail there is no minimum (the KL tends to 0 as
    ``t`` grows, Theorem 1): the least KL then sits at the upper bound, which is reported with
    a ``RuntimeWarning``, as is any minimum at an edge of ``bounds``. Theorem 3 puts a floor
    under the result for a light tail: no ``P`` with that mean has a smaller KL than the tilt.

    Parameters
    ----------
    q : frozen scipy.stats law
        A continuous law with a finite mean.
    mean : float or array_like
        Target means above ``E_Q[X]``.
    bounds : (float, float)
        The thresholds searched, inside the support, ``bounds[0] < bounds[1]``.

    Returns
    -------
    TailReweighting
        The ``P_t`` at the best threshold (fields arrays of ``mean``'s shape for an array).

    Examples
    --------
    >>> from scipy import stats
    >>> best = cheapest_upweighting(stats.norm(), 1.0, bounds=(0.2, 5.0))
    >>> round(best.threshold, 4), round(best.kl, 6)  # above Theorem 3's floor of 1/2 nat
    (0.9114, 0.753909)
    """
    base = _checks.finite_mean(q, "q")
    target = _checks.real(mean, "mean")
    if np.any(target <= base):
        raise ValueError(f"mean must exceed E_Q[X] = {base:g} (an upweighting raises the mean)")
    try:
        a, b = (float(x) for x in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be two numbers (low, high), got {bounds!r}") from None
    lo, hi = (float(x) for x in q.support())
    if not (np.isfinite(a) and np.isfinite(b) and lo < a < b < hi):
        raise ValueError(
            f"bounds must satisfy {lo:g} < low < high < {hi:g} (inside the support), got "
            f"{bounds!r}"
        )
    grid = np.linspace(a, b, 33)
    log_tail, body_mean, tail_mean = _blocks(q, grid)
    results = [_cheapest(q, float(m), grid, log_tail, body_mean, tail_mean)
               for m in np.ravel(target)]
    if target.ndim == 0:
        return results[0]
    return TailReweighting(
        q=q, **{name: np.array([getattr(r, name) for r in results]).reshape(target.shape)
                for name in ("threshold", "mass", "log_tail", "body_mean", "tail_mean")}
    )


def _cheapest(q, target, grid, log_tail, body_mean, tail_mean):
    with np.errstate(divide="ignore", invalid="ignore"):
        mass = (target - body_mean) / (tail_mean - body_mean)
    feasible = (mass > 0) & (mass < 1)
    if not np.any(feasible):
        raise ValueError(
            f"mean = {target:g} is reached by no P_t with a threshold in bounds (it needs "
            f"E[X | X > t] > {target:g})"
        )
    kls = np.full(grid.shape, np.inf)
    kls[feasible] = bernoulli_kl(mass[feasible], log_tail[feasible])
    i = int(np.argmin(kls))

    def kl_at(t):
        log_p, body, tail = _blocks(q, np.array([t]))
        m = float((target - body[0]) / (tail[0] - body[0]))
        return float(bernoulli_kl(m, log_p[0])) if 0 < m < 1 else np.inf

    best_t = grid[i]
    if 0 < i < grid.size - 1:
        found = optimize.minimize_scalar(kl_at, bounds=(grid[i - 1], grid[i + 1]),
                                         method="bounded",
                                         options={"xatol": 1e-10 * max(1.0, abs(grid[i]))})
        if found.fun < kls[i]:
            best_t = float(found.x)
    else:
        edge = "upper" if i else "lower"
        warnings.warn(
            f"the least KL for mean {target:g} lies at the {edge} end of bounds, t = "
            f"{grid[i]:g}: the infimum may lie beyond (for a heavy tail it is 0, as t -> inf)",
            RuntimeWarning, stacklevel=3,
        )
    return upweight_tail(q, best_t, mean=target)


def _blocks(q, t):
    """``log Fbar``, body and tail means at each threshold (each distinct one computed once).

    One conditional mean is integrated, on the smaller side (the tail above the median, the
    body below it), and the other follows from ``E[X] = (1 - Fbar) body + Fbar tail``, exactly
    as :func:`goodhart.tails.tail_mean` and :func:`goodhart.tails.body_mean` would get it.
    """
    values, inverse = np.unique(np.ravel(t), return_inverse=True)
    log_tail = np.asarray(tails.log_sf(q, values), dtype=float)
    mean, upper = float(q.mean()), log_tail < tails.LOG_HALF
    tail_mass, body_mass = np.exp(log_tail), -np.expm1(log_tail)
    body, tail = np.empty_like(values), np.empty_like(values)
    if np.any(upper):
        tail[upper] = tails.tail_mean(q, values[upper])
        body[upper] = (mean - tail_mass[upper] * tail[upper]) / body_mass[upper]
    if np.any(~upper):
        body[~upper] = tails.body_mean(q, values[~upper])
        tail[~upper] = (mean - body_mass[~upper] * body[~upper]) / tail_mass[~upper]
    shape = np.shape(t)
    return (log_tail[inverse].reshape(shape), body[inverse].reshape(shape),
            tail[inverse].reshape(shape))


def _mass_for_mean(t, target, body_mean, tail_mean):
    """The mass with ``(1 - m) body + m tail = target``; a ValueError naming mean if none."""
    mass = (target - body_mean) / (tail_mean - body_mean)
    bad = ~((mass > 0) & (mass < 1))
    if np.any(bad):
        i = np.flatnonzero(np.ravel(bad))[0]
        raise ValueError(
            f"mean = {np.ravel(target)[i]:g} is not reached at t = {np.ravel(t)[i]:g}: it must "
            f"lie strictly between E[X | X <= t] = {np.ravel(body_mean)[i]:.6g} and "
            f"E[X | X > t] = {np.ravel(tail_mean)[i]:.6g}"
        )
    return mass


def _mass_for_kl(t, kl, log_tail):
    """The mass ``m >= Fbar(t)`` with ``D(Bern(m) || Bern(Fbar)) = kl``, by a root on log m."""
    limit = -log_tail  # the KL of m = 1
    bad = ~(kl < limit)
    if np.any(bad):
        i = np.flatnonzero(np.ravel(bad))[0]
        raise ValueError(
            f"kl = {np.ravel(kl)[i]:g} is not reached at t = {np.ravel(t)[i]:g}: it must lie "
            f"below -log Fbar(t) = {np.ravel(limit)[i]:.6g}, the KL of putting all the "
            "mass above t"
        )
    mass = np.exp(log_tail)
    _refuse_full_tail(t, kl, (kl > 0) & (mass >= 1))
    # Near m = Fbar the KL is (m - Fbar)^2 / (2 Fbar (1 - Fbar)) to second order, with a
    # relative correction of the order of the step: below 1e-6 the expansion is exact to
    # rounding, and the root finder, which sees the KL as noise there, is not needed.
    variance = mass * -np.expm1(log_tail)
    step = np.sqrt(2 * kl * variance)
    small = (kl > 0) & (step < 1e-6 * variance)
    mass = np.where(small, mass + step, mass)
    positive = (kl > 0) & ~small
    if np.any(positive):

        def excess(log_mass, log_tail, kl):
            return bernoulli_kl(np.exp(log_mass), log_tail) - kl

        root = elementwise.find_root(
            excess, (log_tail[positive], np.zeros(np.count_nonzero(positive))),
            args=(log_tail[positive], kl[positive]),
            tolerances={"xatol": 1e-300, "xrtol": 4 * np.finfo(float).eps},
        )
        if not np.all(root.success):
            i = np.flatnonzero(~root.success)[0]
            raise ArithmeticError(
                f"kl = {kl[positive][i]:g}: the tail mass was not found at t = "
                f"{np.ravel(t)[np.flatnonzero(np.ravel(positive))[i]]:g}"
            )
        mass[positive] = np.exp(root.x)
    _refuse_full_tail(t, kl, mass >= 1)
    return mass


def _refuse_full_tail(t, kl, full):
    """A ValueError naming kl where the tail mass rounds to 1 (no body left)."""
    if np.any(full):
        i = np.flatnonzero(np.ravel(full))[0]
        raise ValueError(
            f"kl = {np.ravel(kl)[i]:g} at t = {np.ravel(t)[i]:g} needs a tail mass that rounds "
            "to 1 in double precision (no body left)"
        )


# ---------------------------------------------------------------------------------------
# The corollary: the two blocks on the law of the proxy U = X + V.


@dataclass(frozen=True)
class ProxyReweighting:
    """``P`` with mass ``m`` on ``{U >= t}``: expectations of ``V``, ``X``, ``U`` and the KL.

    Fields are floats for scalar arguments and arrays of their broadcast shape otherwise.

    Attributes
    ----------
    threshold : float or ndarray
        The threshold ``t`` on the proxy (also available as ``t``).
    mass : float or ndarray
        ``P(U >= t)``.
    log_tail : float or ndarray
        ``log Q(U >= t)`` under the base law.
    utility, error : float or ndarray
        ``E_P[V]`` and ``E_P[X]``.
    kl : float or ndarray
        ``D(P || Q)`` in nats: the Bernoulli KL of ``{U >= t}``, since ``dP/dQ`` depends on
        ``U`` only.
    base_utility, base_error : float
        ``E_Q[V]`` and ``E_Q[X]`` under the base law.
    """

    threshold: float | np.ndarray
    mass: float | np.ndarray
    log_tail: float | np.ndarray
    utility: float | np.ndarray
    error: float | np.ndarray
    kl: float | np.ndarray
    base_utility: float
    base_error: float

    @property
    def t(self):
        """The threshold (the argument's name; the same as ``threshold``)."""
        return self.threshold

    @property
    def proxy(self):
        """``E_P[U] = E_P[X] + E_P[V]``."""
        return _checks.like(np.asarray(self.utility) + self.error)


def upweight_proxy(proxy, t, mass):
    """The corollary's ``P``: mass ``mass`` on ``{U >= t}``, for independent ``X`` and ``V``.

    Theorem 1's two blocks applied to the law of ``U = X + V`` (each block keeps the base
    law's joint shape of ``(X, V)``), from :class:`goodhart.Proxy`: ``logsf``,
    ``conditional_mean`` (``E[V | U >= t]``) and ``conditional_error`` (``E[X | U >= t]``).

    Parameters
    ----------
    proxy : goodhart.Proxy
        The base law; its error must have a finite mean (so that ``E_P[X]`` is finite).
    t : float or array_like
        Thresholds with ``0 < Q(U >= t) < 1`` (``log Q(U >= t)`` may lie far below the
        double range).
    mass : float or array_like
        ``P(U >= t)``, in (0, 1); broadcasts against ``t``.

    Returns
    -------
    ProxyReweighting

    Examples
    --------
    >>> from scipy import stats
    >>> from goodhart import Proxy
    >>> p = upweight_proxy(Proxy(utility=stats.norm(), error=stats.t(3)), 1e6, 1e6**-0.8)
    >>> print(f"{p.proxy:.4f} {p.utility:.3e} {p.kl:.4e}")  # E[U] grows, E[V] -> 0, KL -> 0
    23.7734 4.755e-11 4.6432e-04
    """
    if not isinstance(proxy, Proxy):
        raise ValueError(f"proxy must be a goodhart.Proxy, got {type(proxy).__name__}")
    base_error = _checks.finite_mean(proxy.error, "proxy (its error law)")
    t = _checks.real(t, "t")
    mass = _checks.probability(mass, "mass")
    lower_end = float(proxy.utility.support()[0] + proxy.error.support()[0])
    if np.any(t <= lower_end):
        raise ValueError(
            f"t must lie above {lower_end:g}, the lower end of U's support: P(U < t) = 0 there"
        )
    t_b, mass_b = np.broadcast_arrays(t, mass)
    values, inverse = np.unique(t_b, return_inverse=True)
    above = proxy.tail(values)  # refuses t at U's upper end
    log_tail, v_tail = np.asarray(above.log_tail), np.asarray(above.utility)
    whole = -np.expm1(log_tail) < np.finfo(float).tiny  # P(U < t) in doubles
    if np.any(whole):
        raise ValueError(f"t = {values[whole][0]:g} lies so far below U's bulk that P(U < t) "
                         "is below the smallest normal double: {U >= t} is everything")
    x_tail = np.asarray(proxy.conditional_error(values), dtype=float)
    # each block's means: the body's from the totals where it is the larger side, directly
    # where it is the small one (the totals would leave it to rounding, magnified by 1 / Q)
    tail_share = np.exp(log_tail)
    with np.errstate(divide="ignore", invalid="ignore"):
        v_body = (proxy.mean - tail_share * v_tail) / -np.expm1(log_tail)
        x_body = (base_error - tail_share * x_tail) / -np.expm1(log_tail)
    low = log_tail > tails.LOG_HALF
    if np.any(low):
        v_body[low] = proxy.conditional_mean_below(values[low])
        x_body[low] = proxy.conditional_error_below(values[low])
    log_tail, v_tail, x_tail, v_body, x_body = (
        a[inverse].reshape(t_b.shape) for a in (log_tail, v_tail, x_tail, v_body, x_body))
    return ProxyReweighting(
        threshold=_checks.like(t_b), mass=_checks.like(mass_b), log_tail=_checks.like(log_tail),
        utility=_checks.like(mass_b * v_tail + (1 - mass_b) * v_body),
        error=_checks.like(mass_b * x_tail + (1 - mass_b) * x_body),
        kl=_checks.like(bernoulli_kl(mass_b, log_tail)),
        base_utility=float(proxy.mean), base_error=float(base_error),
    )


def upweight_proxy_gaussian(error, t, mass, *, utility_mean, utility_sd=1.0):
    """The corollary's ``P`` for one dependent family: ``V | X = e ~ N(utility_mean(e), sd^2)``.

    A dedicated routine, not an engine: for independent laws use :func:`upweight_proxy`. Each
    block moment (``Q(U > t)``, ``E[V; U > t]``, ``E[X; U > t]``) is one quadrature over the
    error, with the normal tail of ``V`` given ``X`` in closed form inside; the quadrature is
    split at the error's median and on geometric grids on both sides of ``t``, and the piece
    beyond the last cut is mapped onto ``(0, 1]``. Relative accuracy about ``1e-9``.

    Parameters
    ----------
    error : frozen scipy.stats law
        The law of the error ``X``, with a finite mean.
    t : float or array_like
        Thresholds with ``Q(U > t)`` between the smallest positive double and 1.
    mass : float or array_like
        ``P(U > t)``, in (0, 1); broadcasts against ``t``.
    utility_mean : callable
        ``e -> E[V | X = e]``, finite on the support of the error.
    utility_sd : float, optional
        The standard deviation of ``V`` given ``X``, positive.

    Returns
    -------
    ProxyReweighting

    Examples
    --------
    >>> from scipy import stats
    >>> p = upweight_proxy_gaussian(stats.t(3), 1e4, 1e4**-0.8,
    ...                             utility_mean=lambda e: -np.tanh(e))
    >>> print(f"{p.proxy:.4f} {p.utility:.3e} {p.kl:.4e}")  # worse than the base's E[V] = 0
    9.4647 -6.308e-04 1.2093e-02
    """
    base_error = _checks.finite_mean(error, "error")
    t = _checks.real(t, "t")
    mass = _checks.probability(mass, "mass")
    sd = _checks.scalar(utility_sd, "utility_sd", low=0.0, low_open=True)
    if not callable(utility_mean):
        raise ValueError(f"utility_mean must be a function of the error, got {utility_mean!r}")
    with np.errstate(all="ignore"):
        probe = np.asarray(utility_mean(np.array([float(error.median())])), dtype=float)
    if probe.size != 1 or not np.isfinite(probe).all():
        raise ValueError("utility_mean must return one finite value for each error value")
    t_b, mass_b = np.broadcast_arrays(t, mass)
    values, inverse = np.unique(t_b, return_inverse=True)
    lo, hi = error.support()
    median = float(error.median())
    log_pdf = _fast.log_pdf_sf_cdf(error)[0]  # quad calls it one point at a time
    base_utility = sum(
        integrate.quad(lambda e: np.exp(log_pdf(e)) * utility_mean(e), a, b,
                       epsabs=1e-14 * sd, epsrel=1e-11, limit=400)[0]
        for a, b in ((lo, median), (median, hi))
    )
    if t_b.size == 0:
        raise ValueError(f"t and mass must hold at least one value, got shape {t_b.shape}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", integrate.IntegrationWarning)
        try:
            moments = np.array([_gaussian_blocks(error, log_pdf, ti, utility_mean, sd)
                                for ti in values])
        except integrate.IntegrationWarning as warning:
            raise ValueError(f"t: the integrals of the two blocks do not converge at t = "
                             f"{values.min():g} .. {values.max():g} ({warning})") from None
    tail, v_tail, x_tail = (moments[inverse, k].reshape(t_b.shape) for k in range(3))
    if not np.all((tail > 0) & (tail < 1)):
        bad = float(np.ravel(t_b)[np.flatnonzero(~((tail > 0) & (tail < 1)).ravel())[0]])
        raise ValueError(
            f"t = {bad:g}: Q(U > t) must lie between the smallest positive double and 1"
        )

    def blocks(total, upper):
        return (1 - mass_b) * (total - upper) / (1 - tail) + mass_b * upper / tail

    return ProxyReweighting(
        threshold=_checks.like(t_b), mass=_checks.like(mass_b),
        log_tail=_checks.like(np.log(tail)),
        utility=_checks.like(blocks(base_utility, v_tail)),
        error=_checks.like(blocks(base_error, x_tail)),
        kl=_checks.like(np.maximum(bernoulli_kl(mass_b, np.log(tail)), 0.0)),
        base_utility=float(base_utility), base_error=float(base_error),
    )


def _gaussian_blocks(error, log_pdf, t, utility_mean, sd):
    """``Q(U > t)``, ``E[V; U > t]`` and ``E[X; U > t]`` for ``V | X = e ~ N(g(e), sd^2)``,
    with ``log_pdf`` the error's log density."""
    lo, hi = error.support()
    median = float(error.median())
    # geometric cuts on both sides of t resolve the normal kernel's edge below t and the
    # error's polynomial decay above it, whatever the scale of t
    steps = 8 * sd * 4.0 ** np.arange(0, 40)
    below_t = (t - steps)[t - steps > median]
    above_t = (t + steps)[steps < 1e4 * max(abs(t), 1.0)]
    cuts = sorted({c for c in (median, *below_t, *above_t) if lo < c < hi})
    edges = [lo, *cuts, hi]
    # the pieces nearest t first, so that the later ones get a tolerance relative to them
    pieces = sorted(zip(edges[:-1], edges[1:], strict=True),
                    key=lambda ab: 0.0 if ab[0] <= t <= ab[1]
                    else min(abs(ab[0] - t), abs(ab[1] - t)))

    def over_error(f):
        def integrand(e):
            return np.exp(log_pdf(e)) * f(e)

        def inverted(u, a):
            # (a, inf) as e = a / u on (0, 1]: polynomial tails are smooth near u = 0
            return integrand(a / u) * a / u**2 if u > 0 else 0.0

        total = 0.0
        for a, b in pieces:
            if np.isinf(b) and a > 0:
                args = (inverted, 0.0, 1.0, (a,))
            else:
                args = (integrand, a, b, ())
            total += integrate.quad(args[0], args[1], args[2], args=args[3],
                                    epsabs=1e-14 * abs(total), epsrel=1e-11, limit=400)[0]
        return total

    def w(e):
        return (t - e - utility_mean(e)) / sd  # V > t - e in standard units of V | X = e

    # the standard normal's tail and density by _fast's closed forms (a frozen law's methods
    # cost ~100 us a call, and quad calls them one point at a time)
    normal_log_pdf, normal_log_sf, _ = _fast.log_pdf_sf_cdf(stats.norm())

    def sf(z):
        return np.exp(normal_log_sf(z))

    def pdf(z):
        return np.exp(normal_log_pdf(z))

    return (over_error(lambda e: sf(w(e))),
            over_error(lambda e: utility_mean(e) * sf(w(e)) + sd * pdf(w(e))),
            over_error(lambda e: e * sf(w(e))))
