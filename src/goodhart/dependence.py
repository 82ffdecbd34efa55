"""Laws of ``U = X + V`` beyond the independent pairs of :class:`goodhart.Proxy`.

Theorems 4 to 6 of the paper assume that the error ``X`` is independent of the utility ``V``.
This module computes the examples that show what the assumption does:

* :class:`GatedError`: the paper's footnote 6 (a comment on the 2023 post before it), an
  unbiased error that is light-tailed given every ``V`` but only present on a window,
  ``X | V ~ error`` when ``low <= V <= high`` and ``X = 0`` otherwise. For ``t`` large the event
  ``U >= t`` needs the noisy window, where ``V`` is pushed to its top: ``E[V | U >= t] -> high``.
* :class:`CancellingPair`: the paper's footnote 4, a light-tailed proxy made of two heavy
  tails, ``X = W - V`` with ``W`` light and independent of a heavy, symmetric ``V``, so that
  ``U = W``. Under independence this cannot happen: ``P(U >= t) >= P(V >= -c) P(X >= t + c)``.
* :func:`tilted_pair` and :func:`both_heavy_families`: with ``X`` and ``V`` both heavy-tailed
  and independent under the base law ``Q``, product laws ``P = P_V x P_X`` of two tail
  reweightings (Theorem 1's ``P_t``) reach every combination of limits of ``E_P[V]`` and
  ``E_P[X]`` (or none) as ``D(P || Q) = D(P_V || Q_V) + D(P_X || Q_X) -> 0``, as an author's
  reply in the comments of the 2024 post says.
* :func:`discrete_error_conditional_mean`: ``E[V | X + V >= t]`` for an independent error on
  finitely many points, which Theorem 6's edge needs (an error on the squares: a tail below
  every exponential with flat stretches, for which ``E[V | U >= t]`` stays bounded).
"""

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import logsumexp

from goodhart import _checks, tails
from goodhart.proxy import Estimate, Proxy, Sample
from goodhart.reweighting import upweight_tail


class GatedError:
    """The proxy ``U = X + V`` with ``X | V ~ error`` on ``low <= V <= high``, else ``X = 0``.

    Parameters
    ----------
    utility : frozen ``scipy.stats.norm``
        The law of ``V`` (a normal law: the noisy branch is its truncation, ``truncnorm``).
    error : frozen continuous scipy.stats law
        The law of ``X`` given ``V`` in the window, independent of ``V`` there.
    low, high : float
        The window, ``low < high``.

    Examples
    --------
    >>> from scipy import stats
    >>> footnote = GatedError(utility=stats.norm(), error=stats.norm(0, 2), low=-1, high=1)
    >>> [round(float(m), 6) for m in footnote.conditional_mean([2.0, 64.0, 1000.0])]
    [0.569813, 0.933031, 0.99598]
    """

    def __init__(self, *, utility, error, low, high):
        _checks.law(utility, "utility")
        name, _, loc, scale = tails.standard_form(utility)
        if name != "norm":
            raise ValueError(f"utility must be a frozen normal law, got {name}")
        self.utility, self.error = utility, _checks.law(error, "error")
        low = _checks.scalar(low, "low")
        high = _checks.scalar(high, "high")
        if not low < high:
            raise ValueError(f"low must be below high, got {low} and {high}")
        self.low, self.high, self._loc, self._scale = low, high, loc, scale
        a, b = (low - loc) / scale, (high - loc) / scale
        self._window = stats.truncnorm(a, b, loc=loc, scale=scale)
        self._log_window = float(np.log(stats.norm.cdf(b) - stats.norm.cdf(a)))
        self._noisy = Proxy(utility=self._window, error=self.error)

    def __repr__(self):
        return (
            f"GatedError(utility={self.utility.dist.name}, error={self.error.dist.name}, "
            f"low={self.low:g}, high={self.high:g})"
        )

    def branches(self, t):
        """``log P(U >= t, V in window)`` and ``log P(U >= t, V outside)``, in that order."""
        t = _checks.real(t, "t")
        top, below, _ = self._outside(t)
        with np.errstate(divide="ignore"):
            exact = np.logaddexp(top, np.log(below))
        return _checks.like(self._log_noisy(t), t), _checks.like(exact, t)

    def logsf(self, t):
        """``log P(U >= t)``.

        Examples
        --------
        >>> from scipy import stats
        >>> g = GatedError(utility=stats.norm(), error=stats.norm(0, 2), low=-1, high=1)
        >>> round(g.logsf(64.0), 4)
        -504.6118
        """
        noisy, exact = self.branches(t)
        return _checks.like(np.logaddexp(noisy, exact), noisy)

    def conditional_mean(self, t):
        """``E[V | U >= t]``, from the two branches, each taken relative to the noisy one."""
        t = _checks.real(t, "t")
        log_noisy = self._log_noisy(t)
        top, below, below_moment = self._outside(t)
        z = (np.maximum(t, self.high) - self._loc) / self._scale
        # off the window U = V: mass and E[V; .] of {V >= max(t, high)} and {t <= V < low},
        # with E[V; V >= s] = scale phi(z) + loc Fbar(z)
        mass = np.exp(top - log_noisy) + _relative(below, log_noisy)
        moment = (
            np.exp(stats.norm.logpdf(z) + np.log(self._scale) - log_noisy)
            + self._loc * np.exp(top - log_noisy) + _relative(below_moment, log_noisy)
        )
        mean_noisy = np.asarray(self._noisy.conditional_mean(t))
        return _checks.like((mean_noisy + moment) / (1 + mass), t)

    def _log_noisy(self, t):
        return self._log_window + np.asarray(self._noisy.logsf(t))

    def _outside(self, t):
        """``log P(V >= max(t, high))``, and ``P(t <= V < low)`` with ``E[V; t <= V < low]``
        (both 0 unless ``t < low``)."""
        t = np.asarray(t, dtype=float)
        loc, scale = self._loc, self._scale
        top = stats.norm.logsf((np.maximum(t, self.high) - loc) / scale)
        z_t, z_low = (np.minimum(t, self.low) - loc) / scale, (self.low - loc) / scale
        below = np.maximum(stats.norm.cdf(z_low) - stats.norm.cdf(z_t), 0.0)
        below_moment = scale * (stats.norm.pdf(z_t) - stats.norm.pdf(z_low)) + loc * below
        return top, below, below_moment

    def tilt_rate(self, t):
        """``lambda(t) = h_X(t - high) + (log f_V)'(high)``: near the window's top the weight
        ``f_V(v) Fbar_X(t - v)`` is an exponential tilt of this rate, so that
        ``high - E[V | U >= t]`` is about ``1 / lambda(t)`` for large ``t``."""
        t = _checks.real(t, "t")
        slope = -(self.high - self._loc) / self._scale**2
        return _checks.like(tails.hazard_rate(self.error, t - self.high) + slope, t)

    def sample(self, size, rng=None):
        """``size`` draws of ``(V, X)`` from the model as stated (``X = 0`` off the window)."""
        size = _checks.integer(size, "size", low=1)
        utility_rng, error_rng = _checks.streams(rng, 2)
        v = np.asarray(self.utility.rvs(size=size, random_state=utility_rng), float)
        x = np.asarray(self.error.rvs(size=size, random_state=error_rng), float)
        return Sample(utility=v, error=np.where((v >= self.low) & (v <= self.high), x, 0.0))

    def conditional_mean_monte_carlo(self, t, size=10**6, rng=None):
        """Monte Carlo twin of :meth:`conditional_mean`: ``.value`` and ``.se`` per threshold."""
        t = _checks.real(t, "t")
        draws = self.sample(size, rng=rng)
        return _selected_means(draws.utility, draws.proxy, t)


@dataclass(frozen=True)
class CancellingPair:
    """``V ~ utility`` (heavy, symmetric about its median), ``X = W - V``, ``W ~ noise``.

    The proxy is ``U = W``: it has the light tail of ``noise`` although ``X`` and ``V`` are
    both heavy-tailed (``X`` has the tail of ``W`` plus a reflected copy of ``V``). Selection
    on ``U`` then leaves ``V`` at its mean and sends the error up with ``W``:
    ``E[V | U >= t] = E[V]`` and ``E[X | U >= t] = E[W | W >= t] - E[V]``.

    Examples
    --------
    >>> from scipy import stats
    >>> pair = CancellingPair(utility=stats.t(3), noise=stats.laplace())
    >>> round(pair.error_logsf(100.0) - float(stats.t(3).logsf(100.0)), 2)  # X has V's tail
    0.0
    >>> round(pair.proxy_logsf(10.0), 4)  # U has W's tail, log(e^-10 / 2)
    -10.6931
    """

    utility: object
    noise: object

    def __post_init__(self):
        _checks.finite_mean(self.utility, "utility")
        _checks.finite_mean(self.noise, "noise")
        name, shapes, loc, scale = tails.standard_form(self.utility)
        family = self.utility.dist
        probe = np.array([0.5, 2.0, 10.0])
        if not np.allclose(family.logsf(probe, *shapes), family.logcdf(-probe, *shapes)):
            raise ValueError(f"utility must be symmetric about its median, got {name}")
        object.__setattr__(self, "_reflected", family(*shapes, loc=-loc, scale=scale))

    @property
    def error(self):
        """The law of ``X = W - V`` as a :class:`goodhart.Proxy` of ``W`` and ``-V``."""
        return Proxy(utility=self.noise, error=self._reflected)

    def error_logsf(self, t):
        """``log P(X >= t)``: heavy, with the tail of ``-V``."""
        return self.error.logsf(t)

    def utility_logsf(self, t):
        """``log P(V >= t)``."""
        t = _checks.real(t, "t")
        return _checks.like(tails.log_sf(self.utility, t), t)

    def proxy_logsf(self, t):
        """``log P(U >= t) = log P(W >= t)``: light."""
        t = _checks.real(t, "t")
        return _checks.like(tails.log_sf(self.noise, t), t)

    def conditional_mean(self, t):
        """``E[V | U >= t] = E[V]`` for every ``t``: ``U = W`` is independent of ``V``."""
        t = _checks.real(t, "t")
        return _checks.like(np.full(np.shape(t), float(self.utility.mean())), t)

    def conditional_error(self, t):
        """``E[X | U >= t] = E[W | W >= t] - E[V]``."""
        t = _checks.real(t, "t")
        return _checks.like(tails.tail_mean(self.noise, t) - float(self.utility.mean()), t)

    def sample(self, size, rng=None):
        """``size`` draws of ``(V, X)``, with ``X = W - V``."""
        size = _checks.integer(size, "size", low=1)
        utility_rng, noise_rng = _checks.streams(rng, 2)
        v = np.asarray(self.utility.rvs(size=size, random_state=utility_rng), float)
        w = np.asarray(self.noise.rvs(size=size, random_state=noise_rng), float)
        return Sample(utility=v, error=w - v)

    def conditional_mean_monte_carlo(self, t, size=10**6, rng=None):
        """Monte Carlo twin of :meth:`conditional_mean`: ``.value`` and ``.se`` per threshold.

        Examples
        --------
        >>> from scipy import stats
        >>> pair = CancellingPair(utility=stats.t(3), noise=stats.laplace())
        >>> e = pair.conditional_mean_monte_carlo([0.0, 2.0], size=10**5, rng=1)
        >>> bool(np.all(np.abs(e.value) < 4 * e.se))  # E[V | U >= t] = E[V] = 0
        True
        """
        t = _checks.real(t, "t")
        draws = self.sample(size, rng=rng)
        return _selected_means(draws.utility, draws.proxy, t)

    def conditional_error_monte_carlo(self, t, size=10**6, rng=None):
        """Monte Carlo twin of :meth:`conditional_error` (the same draws for the same ``rng``).

        Examples
        --------
        >>> from scipy import stats
        >>> pair = CancellingPair(utility=stats.t(3), noise=stats.laplace())
        >>> e = pair.conditional_error_monte_carlo(2.0, size=10**5, rng=1)
        >>> bool(abs(e.value - pair.conditional_error(2.0)) < 4 * e.se)  # t + 1 = 3
        True
        """
        t = _checks.real(t, "t")
        draws = self.sample(size, rng=rng)
        return _selected_means(draws.error, draws.proxy, t)


@dataclass(frozen=True)
class Pair:
    """Means and KL of a product law ``P = P_V x P_X`` against ``Q = Q_V x Q_X``."""

    utility: np.ndarray
    error: np.ndarray
    kl: np.ndarray


def tilted_pair(*, utility, error, t, utility_mass=None, error_mass=None, error_sign=1.0):
    """``E_P[V]``, ``E_P[X]`` and ``D(P || Q)`` for ``P = P_V x P_X``, two tail reweightings.

    Each coordinate is Theorem 1's reweighting of its base law at the threshold ``t``, with
    tail mass ``utility_mass`` (or ``error_mass``); ``None``, or a NaN entry, leaves it at its
    base law. ``error_sign = -1`` reweights the tail of ``-X`` instead, which sends the error
    to ``-inf``. By the chain rule ``D(P || Q)`` is the sum of the two Bernoulli KLs.

    Parameters
    ----------
    utility, error : frozen scipy.stats laws with finite means, symmetric if reflected
    t : float or array_like
        Thresholds.
    utility_mass, error_mass : float, array_like or None
        Tail masses in (0, 1), broadcast against ``t``.
    error_sign : 1 or -1

    Returns
    -------
    Pair

    Examples
    --------
    >>> from scipy import stats
    >>> q = stats.t(3)
    >>> p = tilted_pair(utility=q, error=q, t=1e12, utility_mass=1e-12**0.8, error_mass=1e-12)
    >>> round(float(p.utility), 2), round(float(p.error), 6), float(p.kl) < 2e-8
    (376.78, 1.5, True)
    """
    _checks.finite_mean(utility, "utility")
    _checks.finite_mean(error, "error")
    t = _checks.real(t, "t")
    if error_sign not in (1, -1, 1.0, -1.0):
        raise ValueError(f"error_sign must be 1 or -1, got {error_sign!r}")
    columns = []
    coordinates = ((utility, utility_mass, "utility_mass"), (error, error_mass, "error_mass"))
    for q, mass, name in coordinates:
        if mass is None:
            masses = np.full(np.shape(t), np.nan)
        elif isinstance(mass, (str, bytes, bool, np.bool_)):
            raise ValueError(f"{name} must be None or masses in (0, 1), got {mass!r}")
        else:
            try:
                masses = np.asarray(mass)
                if masses.dtype.kind not in "iuf":
                    raise TypeError
                masses = masses.astype(float)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be None or masses in (0, 1), got "
                                 f"{_checks._short(mass)}") from None
        if np.any(~np.isnan(masses) & ~((masses > 0) & (masses < 1))):
            raise ValueError(f"{name} must lie in (0, 1), got {mass!r}")
        try:
            masses = np.broadcast_to(masses, np.shape(t))
        except ValueError:
            raise ValueError(f"{name} must broadcast to the shape of t, {np.shape(t)}, got "
                             f"{masses.shape}") from None
        columns.append(_reweighted(q, t, masses))
    (v_mean, v_kl), (x_mean, x_kl) = columns
    base = float(error.mean())
    x_mean = base + error_sign * (x_mean - base)
    return Pair(utility=_checks.like(v_mean, t), error=_checks.like(x_mean, t),
                kl=_checks.like(v_kl + x_kl, t))


def both_heavy_families(t, law=None):
    """Five product laws on two independent copies of ``law`` (default Student-t(3)).

    ``law`` must be symmetric about its mean: family D reflects its reweighting.

    With ``heavy = t^-0.8`` (the mean grows like ``t^0.2``) and ``bounded = 1/t`` (the mean
    stays bounded) as tail masses at the threshold ``t``, and ``even`` for thresholds in a
    decade ``[10^k, 10^(k+1))`` with ``k`` even:

    * A: ``V`` unchanged, ``X`` heavy: utility ``E[V]``, error to ``inf``;
    * B: ``V`` heavy, ``X`` bounded: utility to ``inf``, error to a finite limit;
    * C: ``V`` heavy on even decades, ``X`` heavy on odd ones: neither converges;
    * D: ``V`` heavy, ``-X`` heavy: utility to ``inf``, error to ``-inf``;
    * E: both heavy: both to ``inf``;

    every one at a KL that tends to 0 along the thresholds. Returns a dict from the family's
    letter to a :class:`Pair`.

    Examples
    --------
    >>> families = both_heavy_families([1e6, 1e12])
    >>> [round(float(x), 1) for x in families["D"].error]
    [-23.8, -376.8]
    """
    law = stats.t(3) if law is None else law
    _checks.finite_mean(law, "law")
    t = _checks.real(t, "t")
    base = float(law.mean())
    if np.any(t <= 1.0):
        raise ValueError(f"t must be > 1 (the tail masses t^-0.8 and 1/t lie in (0, 1)), got "
                         f"{_checks._short(t)}")
    # two reweightings serve all five families (each costs a tail mean per threshold)
    heavy, bounded = (upweight_tail(law, t, mass) for mass in (t**-0.8, 1.0 / t))
    kept = (np.full(np.shape(t), base), np.zeros(np.shape(t)))
    up, flat = (heavy.mean, heavy.kl), (bounded.mean, bounded.kl)
    even = np.floor(np.log10(t) + 1e-9) % 2 == 0
    on_even, on_odd = ([np.where(where, a, b) for a, b in zip(up, kept, strict=True)]
                       for where in (even, ~even))

    def pair(v, x, sign=1.0):
        error = base + sign * (x[0] - base)
        return Pair(utility=_checks.like(v[0], t), error=_checks.like(error, t),
                    kl=_checks.like(v[1] + x[1], t))

    return {"A": pair(kept, up), "B": pair(up, flat), "C": pair(on_even, on_odd),
            "D": pair(up, up, sign=-1.0), "E": pair(up, up)}


def discrete_error_conditional_mean(*, utility, points, log_weights, t):
    """``E[V | X + V >= t]`` for an error on finitely many ``points`` (independent of ``V``).

    ``P(X = points[k])`` is proportional to ``exp(log_weights[k])``; then
    ``E[V | U >= t] = sum_k w_k E[V; V >= t - x_k] / sum_k w_k P(V >= t - x_k)``, each term in
    log space.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> n = np.arange(40.0)  # P(X = n^2) ~ exp(-n^4), V with Fbar(v) = exp(-e^v)
    >>> m = discrete_error_conditional_mean(utility=stats.gumbel_l(), points=n**2,
    ...                                     log_weights=-n**4, t=[17.0, 24.0])
    >>> [round(float(x), 6) for x in m]  # E[V | V >= 1] and E[V | V >= -1]
    [1.283877, 0.097104]
    """
    _checks.finite_mean(utility, "utility")
    points = _checks.real(points, "points").reshape(-1)
    log_weights = _checks.real(log_weights, "log_weights").reshape(-1)
    _checks.same_shape("points", points, "log_weights", log_weights)
    t = _checks.real(t, "t")
    gaps = np.asarray(t, dtype=float).reshape(-1, 1) - points  # V must reach t - x_k
    log_mass = log_weights + np.asarray(tails.log_sf(utility, gaps))
    log_mass -= log_mass.max(axis=1, keepdims=True)
    mass = np.exp(log_mass)
    # points whose weight is below 1e-30 of the largest change nothing (unless E[V | V >= s]
    # exceeds 1e13, far beyond any threshold here): skip their conditional tail means
    matters = mass > 1e-30
    tail = np.zeros_like(gaps)
    tail[matters] = tails.tail_mean(utility, gaps[matters])
    return _checks.like((np.where(matters, mass, 0.0) * tail).sum(axis=1) / mass.sum(axis=1), t)


def discrete_error_logsf(*, points, log_weights, t):
    """``log P(X > t)`` for an error on finitely many ``points`` with weights ``exp(log_weights)``.

    Examples
    --------
    >>> import numpy as np
    >>> n = np.arange(40.0)
    >>> round(float(discrete_error_logsf(points=n**2, log_weights=-n**4, t=17.0)), 6)
    -625.313262
    """
    points = _checks.real(points, "points").reshape(-1)
    log_weights = _checks.real(log_weights, "log_weights").reshape(-1)
    _checks.same_shape("points", points, "log_weights", log_weights)
    t = _checks.real(t, "t")
    above = points > np.asarray(t, dtype=float).reshape(-1, 1)
    with np.errstate(divide="ignore"):
        out = logsumexp(np.where(above, log_weights, -np.inf), axis=1) - logsumexp(log_weights)
    return _checks.like(out, t)


def _reweighted(q, t, masses):
    """Means and KLs of Theorem 1's reweightings of ``q`` at each ``t``; NaN mass: ``q``."""
    keep = np.isnan(masses)
    p = upweight_tail(q, t, np.where(keep, 0.5, masses))  # 0.5: a placeholder where kept
    return np.where(keep, float(q.mean()), p.mean), np.where(keep, 0.0, p.kl)


def _relative(x, log_base):
    """``x / exp(log_base)`` without overflow where ``x`` is 0."""
    with np.errstate(divide="ignore"):
        return np.sign(x) * np.exp(np.log(np.abs(x)) - log_base)


def _selected_means(values, proxy, t):
    """Mean of ``values`` over the draws with ``proxy >= t``, and its standard error."""
    means, errors = [], []
    for ti in np.reshape(t, -1):
        selected = values[proxy >= ti]
        if selected.size < 100:
            raise ValueError(f"t: only {selected.size} draws reach t = {ti:g}; use a smaller t")
        means.append(selected.mean())
        errors.append(selected.std(ddof=1) / np.sqrt(selected.size))
    return Estimate(value=_checks.like(means, t), se=_checks.like(errors, t))
