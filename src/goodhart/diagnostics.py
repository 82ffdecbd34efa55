"""Tail diagnostics for a sample of rewards (the paper's section 4.1), their null laws and power.

Four views of one sample, drawn as the paper's authors drew them (their scripts
``plots_random_starling.py`` for Figure 1 and ``plots_from-llama_starling.py`` for Figure 2): a
histogram, a normal probability plot, an exponential probability plot of the values above the
mean, and Hill estimates ``gamma(k)`` with standard errors ``gamma(k) / sqrt(k)``. The two
scripts differ in the Hill panel: Figure 1's centres the samples on their mean (positive part
kept) and runs ``k`` over ``np.arange(int(n**0.1), int(n**0.5))``; Figure 2's takes the positive
samples themselves and runs ``k`` to ``int(n**0.6) - 1``. The book's one convention is the
first, centred, with ``k`` the integers in ``[n^0.1, n^0.5]`` (:func:`hill_k_range`); both of
the authors' are available (``centred=False``, ``authors=True``, ``high=0.6``).

Two of the views become tests with exact null laws, so that "the plot bends" has a precise
meaning and a p-value. Both rest on Renyi's representation: for the order statistics
``y_(1) >= ... >= y_(m+1)`` of exponential variables, the normalized spacings
``i (y_(i) - y_(i+1))`` are independent exponentials, so a mean over the top ``j`` of them
divided by a mean over the top ``k`` is ``(k / j) Beta(j, k - j)``.

- *Hill trend* (:func:`hill_trend`). Under an exact power-law tail the log excesses are
  exponential, so ``gamma(j) / gamma(k) ~ (k / j) Beta(j, k - j)``. A light tail has index 0:
  its estimates fall toward 0 deeper in the tail (smaller ``j``), a ratio far below 1.
- *Exponential bend* (:func:`exponential_bend`). Under an exponential tail above the median,
  the mean excess of the top ``k`` over the next value, divided by the mean excess of the upper
  half, is ``(m / k) Beta(k, m - k)`` with ``m = n // 2``. Far above 1: the exponential plot
  bends up (heavier than exponential); far below 1: it bends down (lighter).

Everything is computed on the samples divided by a power of two near their largest magnitude,
which is exact and changes none of the scale-free statistics, so data near ``1e307`` give the
same answers as data near 1. The population versions (:func:`hill_functional`,
:func:`exponential_bend_functional`) give where the statistics settle for a known law, and the
calibration helpers (:func:`hill_sample_size`, :func:`hill_power`, :func:`bend_sample_size`,
:func:`calibrate`) say how large a sample must be for the readings to be right.

The command line (``goodhart-diagnostics`` or ``python -m goodhart.diagnostics``) lives in
:mod:`goodhart.cli`.
"""

import functools
import sys
import textwrap
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, stats

from goodhart import _checks, _fast, tails

MIN_SAMPLES = 100
"""Fewest samples the tests and the report accept (the Hill range ``n^0.1..n^0.5`` has 9 k)."""

LEVEL = 0.05
"""Significance level of the readings (split in two for the two-sided exponential bend)."""

WIDTH = 78
"""Longest line of :func:`summary`: the text column of a notebook."""

LAWS = {
    "normal": stats.norm(), "exponential": stats.expon(), "Gumbel": stats.gumbel_r(),
    "Student-t, 10 dof": stats.t(10), "Student-t, 3 dof": stats.t(3),
    "lognormal, sigma 1": stats.lognorm(1), "Pareto, shape 3": stats.pareto(3),
}
"""The seven laws the book calibrates the tests on, by name: three light tails (standard
normal, exponential, Gumbel), then four heavy ones (Student-t with 10 and with 3 degrees of
freedom, lognormal with ``sigma = 1``, Pareto with shape 3), all in scipy's standard form.

:meta hide-value:
"""


# Samples: validation, exact rescaling, the sorted tail.


def require_samples(samples, minimum=2):
    """``samples`` as a 1-D float array, or a ValueError naming what is wrong with them.

    Parameters
    ----------
    samples : array_like
        Real numbers, finite, one-dimensional.
    minimum : int
        Fewest samples accepted.

    Returns
    -------
    ndarray
        The samples as float64.

    Examples
    --------
    >>> require_samples([1, 2, 3]).dtype
    dtype('float64')
    >>> require_samples([1.0, float("nan"), 3.0])
    Traceback (most recent call last):
    ...
    ValueError: samples contain 1 NaN or infinite values (first at index 1)
    """
    if isinstance(samples, (str, bytes, bool, np.bool_)) or samples is None:
        raise ValueError(f"samples must be an array of real numbers, got {samples!r}")
    try:
        x = np.asarray(samples)
    except (TypeError, ValueError):
        raise ValueError("samples must be an array of real numbers") from None
    if x.dtype.kind not in "iuf":
        raise ValueError(f"samples must hold real numbers, got an array of {x.dtype}")
    x = x.astype(float)
    if x.ndim != 1:
        raise ValueError(f"samples must be one-dimensional, got shape {x.shape}")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise ValueError(
            f"samples contain {bad.size} NaN or infinite values (first at index {bad[0]})"
        )
    minimum = _checks.integer(minimum, "minimum", low=1)
    if x.size < minimum:
        raise ValueError(f"too few samples: {x.size}; at least {minimum} are needed")
    return x


def _scaled(x):
    """``(x / 2^e, e)`` with ``2^e`` the power of two just above ``max |x|``: exact, in [-1, 1]."""
    largest = float(np.max(np.abs(x), initial=0.0, axis=-1).max())
    if largest == 0.0:
        return x, 0
    exponent = int(np.frexp(largest)[1])
    return np.ldexp(x, -exponent), exponent


@dataclass(frozen=True)
class _Tail:
    """One validated sample, rescaled: sorted (largest first), its mean, its centred tail."""

    sorted: np.ndarray  # the rescaled samples, largest first
    mean: float  # their mean (rescaled)
    top: np.ndarray  # the positive centred values, largest first
    exponent: int  # samples = rescaled * 2^exponent


def _tail(samples, minimum=2):
    z, exponent = _scaled(require_samples(samples, minimum))
    ordered = np.sort(z)[::-1]
    mean = float(np.mean(z))
    centred = ordered - mean
    return _Tail(ordered, mean, centred[centred > 0], exponent)


def tail_above_mean(samples):
    """The samples minus their mean, positive part only, largest first (the paper's convention).

    Parameters
    ----------
    samples : array_like

    Returns
    -------
    ndarray

    Examples
    --------
    >>> tail_above_mean([1.0, 2.0, 3.0, 6.0])
    array([3.])
    """
    tail = _tail(samples)
    return np.ldexp(tail.top, tail.exponent)


def _log_spacings(top, count):
    """``log(top[i] / top[i + 1])`` for ``i < count`` (``top`` positive, largest first), >= 0.

    Exact ties give exactly 0: close neighbours go through ``log1p`` of their exact difference,
    distant ones through the difference of logarithms.
    """
    upper, lower = top[..., :count], top[..., 1 : count + 1]
    close = upper <= 2.0 * lower
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        near = np.log1p((upper - lower) / lower)
        far = np.log(upper) - np.log(lower)
    return np.where(close, near, far)


def _hill_from_top(top, k):
    """Hill estimates at the integer array ``k`` from positive values ``top``, largest first.

    ``gamma(k) = (1/k) sum_{i<=k} i log(x_(i) / x_(i+1))``: the same number as
    ``mean(log x_(1..k)) - log x_(k+1)``, written as a sum of non-negative terms (Renyi), so it
    is never negative and exactly 0 when the top ``k + 1`` values are tied.
    """
    largest = int(np.max(k))
    spacings = _log_spacings(top, largest)
    weighted = np.cumsum(spacings * np.arange(1, largest + 1), axis=-1)
    return weighted[..., k - 1] / k


# The Hill estimator.


@dataclass(frozen=True)
class HillEstimate:
    """Hill estimates of the tail index ``gamma`` (``1 / alpha`` for a tail ``~ x^-alpha``).

    Attributes
    ----------
    gamma : float or ndarray
        The estimates, one for each ``k``.
    se : float or ndarray
        Their standard errors ``gamma / sqrt(k)`` (the paper's; exact in distribution for a
        Pareto tail, blind to the estimator's bias).
    k : int or ndarray
        The numbers of upper order statistics used.
    """

    gamma: object
    se: object
    k: object


def hill_estimator(samples, k, *, centred=True):
    """Hill estimates and standard errors for each ``k``: the paper's tail-index plot.

    ``gamma(k) = mean(log x_(1..k)) - log x_(k+1)`` over the order statistics (largest first)
    of the samples centred on their mean, positive part kept: the convention of the authors'
    script for the random-input rewards (paper Figure 1). ``centred=False`` takes the positive
    samples themselves, as the authors' script for the Llama-sampled rewards does (Figure 2).

    Parameters
    ----------
    samples : array_like
        One-dimensional, finite.
    k : int or array_like of int
        Numbers of upper order statistics, each at least 1 and below the number of positive
        (centred) samples.
    centred : bool
        Subtract the sample mean first (default) or not.

    Returns
    -------
    HillEstimate
        ``gamma``, ``se`` and ``k``: floats for a scalar ``k``, arrays of its shape otherwise.
        ``gamma >= 0`` always; exactly 0 where the top ``k + 1`` values are tied.

    Examples
    --------
    >>> x = [0.3, -1.2, 4.0, 2.5, 0.9, 7.1, -0.4, 1.6, 3.3, -2.0]
    >>> h = hill_estimator(x, 3)
    >>> print(f"{h.gamma:.6f} {h.se:.6f}")
    1.149517 0.663674
    >>> hill_estimator(x, [1, 2]).k
    array([1, 2])
    """
    centred = _flag(centred, "centred")
    k_array = _checks.whole(k, "k", low=1)
    tail = _tail(samples)
    if centred:
        top = tail.top
        where = "above the mean"
    else:
        top = tail.sorted[tail.sorted > 0]
        where = "positive"
    if np.any(k_array >= top.size):
        most = float(k_array.max())
        largest = f"{most:.0f}" if most < 1e15 else f"{most:g}"
        raise ValueError(
            f"k = {largest} needs more than {largest} samples {where}; there are {top.size}"
        )
    k_int = k_array.astype(np.int64)
    if k_int.size == 0:
        return HillEstimate(np.zeros(k_int.shape), np.zeros(k_int.shape), k_int)
    gamma = _hill_from_top(top, k_int.reshape(-1)).reshape(k_int.shape)
    se = gamma / np.sqrt(k_int)
    if k_int.ndim == 0:
        return HillEstimate(float(gamma), float(se), int(k_int))
    return HillEstimate(gamma, se, k_int)


def hill_k_range(n, *, high=0.5, authors=False):
    """The paper's ``k`` for the Hill plot: every integer from ``n^0.1`` to ``n^high``.

    Parameters
    ----------
    n : int
        The sample size (at least 1).
    high : float
        The upper exponent: 0.5 for the paper's Figure 1, 0.6 in the authors' script for
        Figure 2.
    authors : bool
        ``False``: the integers in ``[n^0.1, n^high]`` (the book's convention, used by the
        tests). ``True``: ``np.arange(int(n**0.1), int(n**high))``, the expression of the
        authors' scripts, which starts one below ``n^0.1`` and stops one short of
        ``floor(n^high)`` (2..172 for ``n = 30000`` instead of 3..173).

    Returns
    -------
    ndarray of int

    Examples
    --------
    >>> r = hill_k_range(30000)
    >>> int(r[0]), int(r[-1])
    (3, 173)
    >>> r = hill_k_range(30000, authors=True)
    >>> int(r[0]), int(r[-1])
    (2, 172)
    """
    n = _checks.integer(n, "n", low=1, high=_checks.MAX_DRAWS)
    high = _checks.scalar(high, "high", low=0.1, high=1.0)
    authors = _flag(authors, "authors")
    if authors:
        return np.arange(int(n**0.1), int(n**high))
    return np.arange(int(np.ceil(n**0.1)), int(np.floor(n**high)) + 1)


# Population values: where the statistics settle for a known law.


def hill_functional(dist, tail_fraction, *, centred=True):
    """Where the Hill estimate at ``k = tail_fraction * n`` settles for large ``n``, for ``dist``.

    ``E[log(X / u) | X > u] = int_0^inf Fbar(u e^s) / Fbar(u) ds`` for ``X`` centred on its
    mean (unless ``centred=False``) and ``u`` its upper ``tail_fraction`` quantile: ``1 / alpha``
    in the limit for a power tail, 0 in the limit for a light tail (and for the lognormal).

    Parameters
    ----------
    dist : frozen scipy.stats law
        With a finite mean when ``centred``.
    tail_fraction : float or array_like
        In (0, 1); the quantile must lie above the mean (above 0 when not centred).
    centred : bool

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> from scipy import stats
    >>> round(hill_functional(stats.pareto(4.0), 1e-3, centred=False), 12)
    0.25
    >>> round(hill_functional(stats.expon(), 0.01), 6)
    0.22519
    """
    _checks.law(dist, "dist")
    centred = _flag(centred, "centred")
    if centred:
        _checks.finite_mean(dist, "dist")
    fraction = _checks.probability(tail_fraction, "tail_fraction")
    below = "the mean" if centred else "0"
    # Only the shape matters (and loc / scale when not centred): integrate the standard member,
    # which keeps u = isf(p) - mean free of cancellation when |loc| >> scale.
    _, shapes, loc, scale = tails.standard_form(dist)
    dist = dist.dist(*shapes) if centred else dist.dist(*shapes, loc=loc / scale)
    shift = float(dist.mean()) if centred else 0.0
    _, log_sf, _ = _fast.log_pdf_sf_cdf(dist)  # quad calls it one point at a time

    def one(p):
        u = float(dist.isf(p)) - shift
        if not u > 0:
            raise ValueError(
                f"tail_fraction = {p:g}: the upper quantile lies at or below {below}; "
                "the Hill estimate needs it above"
            )
        log_sf_u = float(tails.log_sf(dist, shift + u))

        def ratio(s):
            with np.errstate(over="ignore", divide="ignore"):  # Fbar = 0 where u e^s = inf
                return np.exp(log_sf(shift + u * np.exp(s)) - log_sf_u)

        value, _ = integrate.quad(ratio, 0.0, np.inf, epsabs=0.0, epsrel=1e-10, limit=200)
        return value

    out = np.vectorize(one, otypes=[float])(fraction)
    return _checks.like(out, fraction)


def exponential_bend_functional(dist, n):
    """Where the exponential bend ratio of :func:`exponential_bend` settles for ``n`` samples.

    ``e(u_k) / e(u_half)`` with ``e(u) = E[X - u | X > u]`` the mean excess, ``u_half`` the
    median and ``u_k`` the upper ``k / n`` quantile, ``k = floor(n^0.5)``: 1 for an exponential
    tail, below 1 for a lighter one, above 1 once the top of the sample reaches the part of a
    heavy tail where the mean excess grows.

    Parameters
    ----------
    dist : frozen scipy.stats law with a finite mean
    n : float or array_like
        Sample sizes, at least ``MIN_SAMPLES``.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> from scipy import stats
    >>> round(exponential_bend_functional(stats.expon(scale=3.0), 1e6), 9)
    1.0
    >>> round(exponential_bend_functional(stats.t(10), 30000), 3)
    0.706
    """
    _checks.finite_mean(dist, "dist")
    sizes = _checks.real(n, "n", low=MIN_SAMPLES)
    return _checks.like(np.vectorize(_bend_ratio(dist), otypes=[float])(sizes), sizes)


def _bend_ratio(dist):
    """``n -> e(u_k) / e(median)`` for ``dist`` (validated), the median's excess computed once.

    The ratio of mean excesses is free of location and scale: the standard member is used.
    """
    _, shapes, _, _ = tails.standard_form(dist)
    dist = dist.dist(*shapes)
    median = float(dist.median())
    median_excess = float(tails.tail_mean(dist, median)) - median

    def ratio(size):
        top = float(dist.isf(np.floor(np.sqrt(size)) / size))
        return (float(tails.tail_mean(dist, top)) - top) / median_excess

    return ratio


# The Q-Q coordinates, as the authors computed them.


def normal_qq(samples):
    """Normal probability plot coordinates, as in the authors' scripts.

    The sorted samples against ``Phi^-1(i / n)`` for ``i = 1, ..., n - 1`` (the authors'
    plotting positions ``i / n``; their first point, ``i = 0``, lies at ``-inf`` and is not
    drawn, so it is left out here).

    Parameters
    ----------
    samples : array_like

    Returns
    -------
    (ndarray, ndarray)
        Normal quantiles (increasing) and the sorted samples, ``n - 1`` of each.

    Examples
    --------
    >>> q, x = normal_qq([3.0, 1.0, 2.0, 4.0])
    >>> print(q.round(4), x)
    [-0.6745  0.      0.6745] [2. 3. 4.]
    """
    x = np.sort(require_samples(samples))
    positions = np.arange(1, x.size) / x.size
    return stats.norm.ppf(positions), x[1:]


def exponential_qq(samples):
    """Exponential probability plot coordinates of the values above the mean (the authors').

    The ``m`` samples above the mean, sorted, against ``-log(1 - i / m)``, ``i = 0..m-1``:
    the exponential quantiles at the authors' plotting positions. A straight line is an
    exponential tail above the mean; bending up, heavier; bending down, lighter. (The test
    :func:`exponential_bend` reads the upper half instead, where its null law is exact.)

    Parameters
    ----------
    samples : array_like

    Returns
    -------
    (ndarray, ndarray)
        Exponential quantiles (from 0, increasing) and the values above the mean, sorted.

    Examples
    --------
    >>> q, x = exponential_qq([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0])
    >>> print(q.round(4), x)
    [0.     0.4055 1.0986] [ 4.  5. 10.]
    """
    tail = _tail(samples)
    above = np.ldexp(tail.sorted[tail.sorted > tail.mean][::-1], tail.exponent)
    m = above.size
    return np.log(m / (m - np.arange(m))), above


def _upper_half_excesses(ordered):
    """The top ``m = n // 2`` values minus the ``(m+1)``-th, largest first (sorted input)."""
    m = ordered.shape[-1] // 2
    return ordered[..., :m] - ordered[..., m : m + 1]


def upper_half_excesses(samples):
    """The top ``n // 2`` samples minus the next one, largest first: the bend test's data.

    Parameters
    ----------
    samples : array_like

    Returns
    -------
    ndarray

    Examples
    --------
    >>> upper_half_excesses([5.0, 1.0, 2.0, 4.0, 3.0])
    array([2., 1.])
    """
    tail = _tail(samples, minimum=3)
    return np.ldexp(_upper_half_excesses(tail.sorted), tail.exponent)


# The two tests.


@dataclass(frozen=True)
class MeanExcessTest:
    """A ratio of two nested mean excesses and where it falls in its exact null law.

    Under the null the ratio is ``(outer / inner) Beta(inner, outer - inner)``.

    Attributes
    ----------
    ratio : float
        The mean over the top ``inner`` divided by the mean over the top ``outer``.
    inner, outer : int
    p_below, p_above : float
        Null probabilities of a ratio at most, at least, the observed one.
    """

    ratio: float
    inner: int
    outer: int
    p_below: float
    p_above: float

    @property
    def p_two_sided(self):
        """``2 min(p_below, p_above)``, at most 1."""
        return min(1.0, 2.0 * min(self.p_below, self.p_above))


def _ratio_test(spacings, inner, outer, what):
    """Normalized ``spacings`` (``i (y_i - y_(i+1))``, rows of length ``outer``): the test."""
    mean_inner = np.sum(spacings[..., :inner], axis=-1) / inner
    mean_outer = np.sum(spacings[..., :outer], axis=-1) / outer
    if np.any(mean_outer <= 0):
        raise ValueError(f"samples: the {what} are all tied; there is no tail to test")
    ratio = mean_inner / mean_outer
    null = stats.beta(inner, outer - inner)
    scaled = np.minimum(ratio * inner / outer, 1.0)
    return ratio, null.cdf(scaled), null.sf(scaled)


def _trend_sizes(n):
    return int(np.round(n**0.3)), int(np.floor(n**0.5))


def _trend_spacings(top, k):
    return _log_spacings(top, k) * np.arange(1, k + 1)


def _bend_spacings(head):
    """``i (x_(i) - x_(i+1))``, ``i = 1..m``, of the ``m + 1`` largest values, largest first."""
    m = head.shape[-1] - 1
    return (head[..., :-1] - head[..., 1:]) * np.arange(1, m + 1)


def _trend(tail):
    j, k = _trend_sizes(tail.sorted.size)
    if k >= tail.top.size:
        raise ValueError(
            f"samples: only {tail.top.size} lie above the mean; Hill at k = {k} needs more"
        )
    ratio, below, above = _ratio_test(
        _trend_spacings(tail.top, k), j, k, f"top {k + 1} values above the mean"
    )
    return MeanExcessTest(float(ratio), j, k, float(below), float(above))


def _bend(tail):
    n = tail.sorted.size
    k, m = int(np.floor(n**0.5)), n // 2
    ratio, below, above = _ratio_test(
        _bend_spacings(tail.sorted[: m + 1]), k, m, f"top {m + 1} values (the upper half)"
    )
    return MeanExcessTest(float(ratio), k, m, float(below), float(above))


def hill_trend(samples):
    """Test whether the Hill estimates fall toward 0 deeper in the tail (a light tail's sign).

    Compares ``gamma(j)`` with ``gamma(k)`` for ``k = floor(n^0.5)`` (the largest ``k`` of the
    book's range; the authors' Figure 1 stops at ``int(n^0.5) - 1``) and ``j = round(n^0.3)``
    (the middle of the range on a log scale). ``p_below`` small: the fall
    is too steep for an exact power-law tail.

    Parameters
    ----------
    samples : array_like
        At least ``MIN_SAMPLES``, with more than ``floor(n^0.5)`` above the mean.

    Returns
    -------
    MeanExcessTest
        ``ratio = gamma(j) / gamma(k)``, ``inner = j``, ``outer = k``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(1).pareto(2.0, 3000)
    >>> t = hill_trend(x)
    >>> print(t.inner, t.outer, f"{t.ratio:.3f} {t.p_below:.3f}")
    11 54 0.756 0.183
    """
    return _trend(_tail(samples, MIN_SAMPLES))


def exponential_bend(samples):
    """Test whether the exponential Q-Q plot of the upper half bends (up: heavier, down: lighter).

    The mean excess of the top ``k = floor(n^0.5)`` values over the ``(k+1)``-th, relative to
    the mean excess of the upper half over the ``(m+1)``-th value, ``m = n // 2``: the slope of
    the plot at its top over its average slope.

    Parameters
    ----------
    samples : array_like
        At least ``MIN_SAMPLES``.

    Returns
    -------
    MeanExcessTest
        ``inner = k``, ``outer = m``.

    Examples
    --------
    >>> import numpy as np
    >>> t = exponential_bend(np.random.default_rng(2).normal(size=3000))
    >>> print(t.inner, t.outer, f"{t.ratio:.3f} {t.p_two_sided:.2g}")
    54 1500 0.522 1.6e-05
    """
    return _bend(_tail(samples, MIN_SAMPLES))


def bend_null_range(n, level=LEVEL):
    """The range an exponential tail keeps the bend ratio of :func:`exponential_bend` in.

    Under an exponential tail above the median the ratio is ``(m / k) Beta(k, m - k)`` with
    ``k = floor(n^0.5)``, ``m = n // 2``; its ``level / 2`` and ``1 - level / 2`` quantiles are
    where :func:`bend_reading` switches to "lighter" and "heavier".

    Parameters
    ----------
    n : int or array_like of int
        Sample sizes, at least ``MIN_SAMPLES``.
    level : float
        In (0, 1).

    Returns
    -------
    (float, float) or (ndarray, ndarray)
        The lower and upper critical ratios.

    Examples
    --------
    >>> low, high = bend_null_range(30000)
    >>> print(f"{low:.3f} {high:.3f}")
    0.857 1.153
    """
    sizes = _checks.whole(n, "n", low=MIN_SAMPLES, high=1e15)  # beyond, scipy's beta is NaN
    level = _checks.scalar(level, "level", check=_checks.probability)
    k = np.floor(np.sqrt(sizes))
    m = np.floor(sizes / 2)
    low = stats.beta.ppf(level / 2, k, m - k) * m / k
    high = stats.beta.isf(level / 2, k, m - k) * m / k
    return _checks.like(low, sizes), _checks.like(high, sizes)


def hill_reading(test):
    """``"light"`` if the Hill estimates fall significantly toward 0, else ``"power law"``.

    Examples
    --------
    >>> hill_reading(MeanExcessTest(0.5, 10, 50, 0.01, 0.99))
    'light'
    """
    _test(test)
    return "light" if test.p_below < LEVEL else "power law"


def bend_reading(test):
    """``"heavier"``, ``"lighter"`` or ``"exponential"``: the two-sided reading of the bend.

    Examples
    --------
    >>> bend_reading(MeanExcessTest(1.5, 50, 1500, 0.999, 0.001))
    'heavier'
    """
    _test(test)
    if test.p_above < LEVEL / 2:
        return "heavier"
    if test.p_below < LEVEL / 2:
        return "lighter"
    return "exponential"


def _test(test):
    if not isinstance(test, MeanExcessTest):
        raise ValueError(f"test must be a MeanExcessTest, got {type(test).__name__}")


# Conditioning a sample on its top values.


@dataclass(frozen=True)
class TopConditioning:
    """A sample conditioned on its ``k`` largest values: what it costs and what it gains.

    Attributes
    ----------
    k : int or ndarray
        How many of the largest values are kept.
    kl : float or ndarray
        ``log(n / k)`` nats: the KL divergence of the uniform law on the top ``k`` from the
        uniform law on the whole sample (the empirical best-of-``n/k`` cost).
    mean : float or ndarray
        Mean of the top ``k`` values.
    gain : float or ndarray
        ``mean`` minus the mean of the whole sample.
    """

    k: object
    kl: object
    mean: object
    gain: object


def condition_on_top(samples, k):
    """Condition a sample on its ``k`` largest values: the KL it costs and the mean it gains.

    The empirical law of the sample is the base policy; keeping only its top ``k`` values
    (ties broken by position) is the policy "condition on being among the best ``k``", whose KL
    from the base is exactly ``log(n / k)``. This is the comparison of the paper's section 4.1
    ("far less than can be obtained with the same KL divergence by conditioning"), within the
    range a sample reaches: at most ``log n`` nats.

    Parameters
    ----------
    samples : array_like
        One-dimensional, finite, at least 2 values.
    k : int or array_like of int
        From 1 to the sample size.

    Returns
    -------
    TopConditioning
        Floats for a scalar ``k``, arrays of its shape otherwise.

    Examples
    --------
    >>> c = condition_on_top([1.0, 4.0, 2.0, 3.0], 2)
    >>> print(f"{c.kl:.6f} {c.mean} {c.gain}")
    0.693147 3.5 1.0
    """
    x = require_samples(samples)
    k_array = _checks.whole(k, "k", low=1)
    if np.any(k_array > x.size):
        raise ValueError(f"k must be at most the sample size {x.size}, got {k_array.max():.0f}")
    k_int = k_array.astype(np.int64)
    top_sums = np.cumsum(-np.sort(-x))  # partial sums of the largest values
    means = top_sums[k_int - 1] / k_int
    gain = means - np.mean(x)
    kl = np.log(x.size / k_int)
    if k_int.ndim == 0:
        return TopConditioning(int(k_int), float(kl), float(means), float(gain))
    return TopConditioning(k_int, kl, means, gain)


# The report: numbers, text, figure.


@dataclass(frozen=True)
class TailReport:
    """The numbers behind the four panels and the two readings, for one sample.

    Attributes
    ----------
    n, above_mean : int
        Sample size; number of samples above the mean.
    mean, sd : float
        Sample mean and standard deviation (``ddof = 1``).
    k_range : tuple of int
        First and last ``k`` of the Hill plot (:func:`hill_k_range`).
    hill : HillEstimate
        At ``k = (trend.inner, trend.outer)``.
    trend, bend : MeanExcessTest
        :func:`hill_trend` and :func:`exponential_bend`.
    hill_reading, bend_reading : str
    ties : int
        How many of the values the two tests use equal their neighbour (the null laws assume
        distinct values: with ties the p-values are approximate).
    """

    n: int
    mean: float
    sd: float
    above_mean: int
    k_range: tuple
    hill: HillEstimate
    trend: MeanExcessTest
    bend: MeanExcessTest
    hill_reading: str
    bend_reading: str
    ties: int

    def text(self):
        """The report as short lines (at most ``WIDTH`` characters), for a terminal or notebook."""
        return _summary_text(self)


def tail_report(samples):
    """The numbers of the tail report: mean, spread, Hill estimates, both tests and readings.

    Parameters
    ----------
    samples : array_like
        At least ``MIN_SAMPLES`` finite values.

    Returns
    -------
    TailReport

    Examples
    --------
    >>> import numpy as np
    >>> r = tail_report(np.random.default_rng(3).exponential(size=1000))
    >>> r.n, r.k_range, r.hill_reading, r.bend_reading
    (1000, (2, 31), 'power law', 'exponential')
    """
    tail = _tail(samples, MIN_SAMPLES)
    n = tail.sorted.size
    ties = _ties(tail, min(_trend_sizes(n)[1], tail.top.size - 1))
    trend, bend = _trend(tail), _bend(tail)
    ks = np.array([trend.inner, trend.outer])
    gamma = _hill_from_top(tail.top, ks)
    hill = HillEstimate(gamma, gamma / np.sqrt(ks), ks)
    mean = float(np.ldexp(tail.mean, tail.exponent))
    sd = float(np.ldexp(np.std(tail.sorted, ddof=1), tail.exponent))
    if not np.isfinite(sd):
        raise ValueError("samples: the standard deviation exceeds the largest float")
    k_range = hill_k_range(n)
    return TailReport(
        n=n,
        mean=mean,
        sd=sd,
        above_mean=int(tail.top.size),
        k_range=(int(k_range[0]), int(k_range[-1])),
        hill=hill,
        trend=trend,
        bend=bend,
        hill_reading=hill_reading(trend),
        bend_reading=bend_reading(bend),
        ties=ties,
    )


TIES = 0.1
"""Largest fraction of tied values a test may read before :func:`tail_report` refuses."""


def _ties(tail, k):
    """Tied neighbours among the values the tests read; ValueError if they are too many.

    The upper half (the bend test) and the top ``k + 1`` of the centred tail (the Hill trend,
    where centring can also round distinct neighbours together).
    """
    m = tail.sorted.size // 2
    half = np.diff(tail.sorted[: m + 1]) == 0
    top = np.diff(tail.top[: k + 1]) == 0
    for count, size, what in ((half.sum(), m, "bend test"), (top.sum(), k, "Hill trend")):
        if count > TIES * size:
            raise ValueError(
                f"samples: {count} of the {size + 1} values read by the {what} are tied "
                f"(more than {TIES:.0%}); the tests assume distinct values (discrete data?)"
            )
    return int(half.sum() + np.count_nonzero(top & ~half[:k]))


def _p(value):
    """A p-value to three significant digits, or a bound where it underflows."""
    return f"{value:.3g}" if value >= 1e-300 else "< 1e-300"


_HILL_TEXT = {
    "light": "they fall toward 0 deeper in the tail, as a light tail's do (or a "
    "lognormal's: its index is also 0).",
    "power law": "the fall, if any, is within what an exact power-law tail gives.",
}
_BEND_TEXT = {
    "heavier": "it bends up, heavier than exponential near the top.",
    "lighter": "it bends down, lighter than exponential near the top.",
    "exponential": "it is straight within the noise, consistent with an exponential tail.",
}


def _glue(text):
    """``text`` with its spaces made unbreakable, so that wrapping keeps it on one line."""
    return text.replace(" ", "\N{NO-BREAK SPACE}")


def _summary_text(report):
    j, k = report.trend.inner, report.trend.outer
    (gamma_j, gamma_k), (se_j, se_k) = report.hill.gamma, report.hill.se
    trend, bend = report.trend, report.bend
    paragraphs = [
        f"n = {report.n} samples: mean {report.mean:.6g}, sd {report.sd:.6g}; "
        f"{report.above_mean} lie above the mean.",
        f"Hill estimates (centred on the mean, positive part, k = {report.k_range[0]}.."
        f"{report.k_range[1]}): " + _glue(f"gamma({k}) = {gamma_k:.3f} +/- {se_k:.3f},")
        + " " + _glue(f"gamma({j}) = {gamma_j:.3f} +/- {se_j:.3f}."),
        "Hill trend: " + _glue(f"gamma({j}) / gamma({k}) = {trend.ratio:.3f}.")
        + " An exact power-law tail gives a ratio this low with probability "
        + _glue(f"{_p(trend.p_below)}:") + " " + _HILL_TEXT[report.hill_reading],
        f"Exponential Q-Q of the upper half: slope of the top {bend.inner} points / average "
        "slope " + _glue(f"= {bend.ratio:.3f}") + " (1 for an exponential tail; two-sided "
        + _glue(f"p = {_p(bend.p_two_sided)}):") + " " + _BEND_TEXT[report.bend_reading],
    ]
    if report.ties:
        paragraphs.append(
            f"Ties: {report.ties} of the {bend.outer + 1} values the tests read equal a "
            "neighbour; the null laws assume distinct values, so the p-values are approximate."
        )
    paragraphs += [
        "Supported: statements about the tail between the median and the top "
        + _glue(f"1/{report.n} quantile,") + " where the samples lie.",
        "Not supported: anything beyond the largest sample. No finite sample shows that a "
        "tail is light; a heavy tail can start further out, and the standard errors "
        "gamma/sqrt(k) ignore the bias of the Hill estimate.",
    ]
    wrapper = textwrap.TextWrapper(
        width=WIDTH, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False
    )
    text = "\n".join(wrapper.fill(paragraph) for paragraph in paragraphs)
    return text.replace("\N{NO-BREAK SPACE}", " ")


def summary(samples):
    """A short text: the numbers behind the four panels and what they do and do not support.

    Lines are at most ``WIDTH`` (78) characters.

    Parameters
    ----------
    samples : array_like
        At least ``MIN_SAMPLES`` finite values.

    Returns
    -------
    str

    Examples
    --------
    >>> import numpy as np
    >>> print(summary(np.random.default_rng(3).exponential(size=1000)).splitlines()[0])
    n = 1000 samples: mean 1.01399, sd 0.968954; 383 lie above the mean.
    """
    return tail_report(samples).text()


def draw_report(axes, samples, *, color=None, label=None, k=None, centred=True,
                log_counts=False, reference=True):
    """Draw the paper's four panels into four axes: histogram, normal, exponential, Hill.

    As the authors drew them: a 100-bin histogram; the sorted samples against normal
    quantiles at ``i / n``; the values above the mean against exponential quantiles; Hill
    estimates joined by a line, with bars of one standard error, against a linear ``k``.
    Added by the book (``reference=True``): a line through the quartiles in the normal plot
    and the exponential tail with the sample's mean excess in the exponential plot, both
    dashed.

    Parameters
    ----------
    axes : sequence of four matplotlib Axes
        In the order histogram, normal Q-Q, exponential Q-Q, Hill (the paper's 2 x 2 grid,
        read row by row).
    samples : array_like
        At least ``MIN_SAMPLES`` finite values.
    color : matplotlib colour, optional
        Of the samples; default ``COLORS["proxy"]`` (a reward is a proxy).
    label : str, optional
        Written above the histogram.
    k : array_like of int, optional
        The Hill plot's ``k``; default :func:`hill_k_range` of the sample size.
    centred : bool
        Passed to :func:`hill_estimator`.
    log_counts : bool
        Logarithmic count axis for the histogram (the authors' is linear).
    reference : bool
        Draw the book's dashed reference lines.

    Returns
    -------
    None
    """
    from goodhart.plotting import COLORS

    x = require_samples(samples, MIN_SAMPLES)
    from matplotlib.axes import Axes

    if not (isinstance(axes, (list, tuple, np.ndarray)) and len(axes) == 4
            and all(isinstance(ax, Axes) for ax in np.ravel(axes))):
        raise ValueError(f"axes must be four matplotlib Axes, got {_checks._short(axes)}")
    k = hill_k_range(x.size) if k is None else k
    hill = hill_estimator(x, k, centred=centred)  # validates k before anything is drawn
    if np.size(hill.k) == 0:
        raise ValueError("k must hold at least one tail size for the Hill plot, got none")
    color = COLORS["proxy"] if color is None else color
    reference_style = dict(color=COLORS["base"], lw=1, ls="--")
    hist, normal, expo, hill_ax = axes
    # matplotlib's tickers overflow near 1e308: show extreme magnitudes in a unit 10^p.
    largest = float(np.max(np.abs(x)))
    power = 0 if largest == 0 or 1e-200 < largest < 1e200 else int(np.floor(np.log10(largest)))
    shown = x / 10.0**power
    name = "reward" if power == 0 else f"reward (units of 1e{power})"

    hist.hist(shown, bins=100, color=color)
    if log_counts:
        hist.set_yscale("log")
    hist.set(xlabel=name, ylabel="count")

    theoretical, ordered = normal_qq(shown)
    normal.plot(theoretical, ordered, "o", ms=3, color=color, rasterized=True)
    if reference:
        q1, q3 = np.quantile(shown, [0.25, 0.75])
        z3 = stats.norm.ppf(0.75)
        ends = np.array([theoretical[0], theoretical[-1]])
        normal.plot(ends, (q1 + q3) / 2 + ends * (q3 - q1) / (2 * z3), **reference_style)
    normal.set(xlabel="normal quantile", ylabel=name)

    theoretical, above = exponential_qq(shown)
    expo.plot(theoretical, above, "o", ms=3, color=color, rasterized=True)
    if reference:
        mean = float(np.mean(shown))
        ends = np.array([0.0, theoretical[-1]])
        expo.plot(ends, mean + ends * float(np.mean(above - mean)), **reference_style)
    expo.set(xlabel="exponential quantile", ylabel=f"{name} (values above the mean)")

    hill_ax.plot(hill.k, hill.gamma, color=color, lw=1)
    hill_ax.errorbar(hill.k, hill.gamma, yerr=hill.se, fmt="o", ms=3, color=color,
                     elinewidth=0.8, alpha=0.6)
    hill_ax.set(xlabel="number of upper order statistics k", ylabel="Hill estimate")
    if label is not None:
        hist.set_title(label, loc="left")


def report_figure(samples, title=None, *, k=None, centred=True, figure=None):
    """The paper's four-panel report as a matplotlib ``Figure`` (no pyplot state involved).

    The paper's layout: a 2 x 2 grid, histogram and normal probability plot on top,
    exponential probability plot and Hill estimates below.

    Parameters
    ----------
    samples : array_like
        At least ``MIN_SAMPLES`` finite values.
    title : str, optional
    k, centred
        Passed to :func:`draw_report` (``k=hill_k_range(n, high=0.6, authors=True)`` and
        ``centred=False`` redraw the Hill panel of the paper's Figure 2 as the authors did).
    figure : matplotlib.figure.Figure, optional
        An empty figure to draw into, such as ``plt.figure(figsize=...)`` in a notebook, where
        ``plt.show()`` then displays it; by default a new ``Figure`` of the book's size, not
        known to pyplot (for scripts and the command line).

    Returns
    -------
    matplotlib.figure.Figure
        ``figure`` if given.

    Examples
    --------
    >>> import numpy as np
    >>> figure = report_figure(np.random.default_rng(0).gumbel(size=500))
    >>> [ax.get_title() for ax in figure.axes][:2]
    ['Histogram', 'Normal probability plot']
    """
    from matplotlib.figure import Figure

    from goodhart.plotting import figsize

    x = require_samples(samples, MIN_SAMPLES)
    if figure is None:
        figure = Figure(figsize=figsize(2, 2, aspect=0.75), layout="constrained")
    elif not isinstance(figure, Figure) or figure.axes:
        raise ValueError(f"figure must be an empty matplotlib Figure, got {figure!r}")
    axes = figure.subplots(2, 2).ravel()
    draw_report(axes, x, k=k, centred=centred)
    hill_k = hill_k_range(x.size) if k is None else np.asarray(k)
    titles = [
        "Histogram",
        "Normal probability plot",
        "Exponential probability plot",
        f"Hill estimate ± SE (k = {int(np.min(hill_k))}..{int(np.max(hill_k))})",
    ]
    for ax, text in zip(axes, titles, strict=True):
        ax.grid(alpha=0.3)
        ax.set_title(text)
    if title:
        figure.suptitle(title)
    return figure


# Calibration: how large must n be, and how often are the readings right?


def _flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _smallest_n(margin, what, low=MIN_SAMPLES, high=1e15):
    """The smallest integer ``n`` in ``[low, high]`` with ``margin(n) >= 0`` (first crossing).

    A scan over one point a decade brackets the first sign change; ``brentq`` narrows it to
    below one unit, and the integers on either side are checked.
    """
    decades = np.arange(np.floor(np.log10(low)), np.ceil(np.log10(high)) + 1)
    grid = np.clip(10.0**decades, low, high)
    previous = None
    for n in grid:
        if margin(n) >= 0:
            if previous is None:
                return int(np.ceil(n))
            root = optimize.brentq(margin, previous, n, xtol=0.25, rtol=1e-15)
            found = int(np.ceil(root))
            for _ in range(3):  # the bracket is below one unit wide: a step or two at most
                if found > low and margin(found - 1) >= 0:
                    found -= 1
                elif margin(found) < 0:
                    found += 1
            return found
        previous = n
    raise ValueError(f"{what}: not reached for any n up to high = {high:.0e}")


@dataclass(frozen=True)
class SampleSize:
    """A sample size at which a reading reaches a power, and where the statistic then lies.

    Attributes
    ----------
    n : int
        The smallest sample size.
    k : int
        ``floor(sqrt(n))``, the number of upper order statistics read.
    null, alternative : float
        The population value of the statistic under each law at that ``n``.
    """

    n: int
    k: int
    null: float
    alternative: float


def hill_sample_size(*, null, alternative, size=LEVEL, power=0.9):
    """The sample size at which the Hill level tells ``alternative`` from ``null``.

    A one-sided test rejects ``null`` when ``gamma(k)`` at ``k = floor(sqrt(n))`` is large.
    With the population values ``h`` (:func:`hill_functional` at ``k / n``) and the standard
    errors ``h / sqrt(k)`` as the spread, it has the given ``power`` where
    ``h_alt - h_null >= (z_(1-size) h_null + z_power h_alt) / sqrt(k)``; the smallest such
    ``n`` (the first crossing from ``MIN_SAMPLES`` up) is returned. A normal approximation:
    check it by simulation with :func:`hill_power`.

    Parameters
    ----------
    null, alternative : frozen scipy.stats laws with finite means
    size, power : float
        In (0, 1).

    Returns
    -------
    SampleSize

    Examples
    --------
    >>> from scipy import stats
    >>> hill_sample_size(null=stats.norm(), alternative=stats.t(10)).n
    6681
    """
    _checks.finite_mean(null, "null")
    _checks.finite_mean(alternative, "alternative")
    z_size = stats.norm.isf(_checks.scalar(size, "size", check=_checks.probability))
    z_power = stats.norm.ppf(_checks.scalar(power, "power", check=_checks.probability))

    def levels(n):
        k = np.floor(np.sqrt(n))
        return k, hill_functional(null, k / n), hill_functional(alternative, k / n)

    def margin(n):
        k, h_null, h_alt = levels(n)
        return (h_alt - h_null) - (z_size * h_null + z_power * h_alt) / np.sqrt(k)

    n = _smallest_n(margin, "the Hill level's power")
    k, h_null, h_alt = levels(n)
    return SampleSize(n, int(k), float(h_null), float(h_alt))


@dataclass(frozen=True)
class HillPower:
    """The simulated power of the one-sided Hill-level test of :func:`hill_sample_size`.

    Attributes
    ----------
    power : float
        Fraction of ``alternative`` samples whose ``gamma(k)`` exceeds ``critical``.
    se : float
        Its Monte Carlo standard error (binomial; the critical value's own noise not counted).
    critical : float
        The ``1 - size`` quantile of ``gamma(k)`` over the ``null`` samples.
    n, k, replicates : int
    """

    power: float
    se: float
    critical: float
    n: int
    k: int
    replicates: int


def hill_power(*, null, alternative, n, replicates=400, size=LEVEL, rng=None):
    """Simulated power of the Hill-level test at ``k = floor(sqrt(n))``, critical value simulated.

    Parameters
    ----------
    null, alternative : frozen scipy.stats laws
    n : int
        Sample size, at least ``MIN_SAMPLES``.
    replicates : int
        Samples drawn from each law (at least 10).
    size : float
        In (0, 1).
    rng : None, int or numpy Generator
        Two independent streams are drawn from it, one a law (SPEC 7).

    Returns
    -------
    HillPower

    Examples
    --------
    >>> from scipy import stats
    >>> p = hill_power(null=stats.norm(), alternative=stats.t(10), n=2000, replicates=100, rng=1)
    >>> print(p.k, f"{p.power:.2f} +/- {p.se:.2f}")
    44 0.78 +/- 0.04
    """
    _checks.law(null, "null")
    _checks.law(alternative, "alternative")
    n = _checks.integer(n, "n", low=MIN_SAMPLES, high=_checks.MAX_DRAWS)
    replicates = _checks.integer(replicates, "replicates", low=10, high=_checks.MAX_DRAWS)
    _checks.draws({"n": n, "replicates": replicates}, "draws of each law")
    size = _checks.scalar(size, "size", check=_checks.probability)
    null_stream, alt_stream = _checks.streams(rng, 2)
    k = int(np.floor(np.sqrt(n)))
    levels = []
    for law, stream in ((null, null_stream), (alternative, alt_stream)):
        draws = np.asarray(law.rvs(size=(replicates, n), random_state=stream), dtype=float)
        levels.append(_hill_rows(draws, k))
    critical = float(np.quantile(levels[0], 1.0 - size))
    power = float(np.mean(levels[1] > critical))
    return HillPower(
        power, float(np.sqrt(power * (1 - power) / replicates)), critical, n, k, replicates
    )


def _sorted_rows(draws, keep):
    """The ``keep`` largest values of each row, largest first, and the rows' means.

    Each row is rescaled by its own power of two (exactly). A partition finds the ``keep``
    largest, and only they are sorted: the tests read the upper half at most.
    """
    scale = np.frexp(np.max(np.abs(draws), axis=1, keepdims=True))[1]
    z = np.ldexp(draws, -scale)
    cut = z.shape[1] - keep
    top = np.partition(z, cut, axis=1)[:, cut:] if cut > 0 else z.copy()
    top.sort(axis=1)
    return top[:, ::-1], z.mean(axis=1, keepdims=True)


def _hill_rows(draws, k):
    ordered, mean = _sorted_rows(draws, k + 1)
    top = ordered - mean
    if np.any(top[:, -1] <= 0):
        raise ValueError(f"n: some samples have fewer than {k + 1} values above their mean")
    return _hill_from_top(top, np.array([k]))[:, 0]


@dataclass(frozen=True)
class BendSampleSize:
    """Sample sizes at which the exponential Q-Q plot of one law bends up.

    Attributes
    ----------
    crossing : int
        From this ``n`` on, the population bend ratio (:func:`exponential_bend_functional`)
        exceeds 1: the plot bends up on average.
    n : int
        From this ``n`` on, the two-sided test reads "heavier" with the given power (normal
        approximation: the log ratio has spread ``1 / sqrt(k)``).
    """

    crossing: int
    n: int


def bend_sample_size(dist, *, power=0.9, level=LEVEL, high=1e15):
    """How many samples a law needs before its exponential Q-Q plot bends up.

    The condition is ``log e_ratio(n) >= (z_(1-level/2) + z_power) / sqrt(k)``,
    ``k = floor(sqrt(n))``, with ``e_ratio`` the population bend ratio; ``crossing`` drops the
    right-hand side. For a light or exponential tail it is never reached: ValueError.

    Parameters
    ----------
    dist : frozen scipy.stats law with a finite mean
    power, level : float
        In (0, 1).
    high : float
        Largest ``n`` searched.

    Returns
    -------
    BendSampleSize

    Examples
    --------
    >>> from scipy import stats
    >>> b = bend_sample_size(stats.t(10), high=1e10)
    >>> print(f"{b.crossing:.3g} {b.n:.3g}")
    9.44e+08 1.41e+09
    """
    _checks.finite_mean(dist, "dist")
    level = _checks.scalar(level, "level", check=_checks.probability)
    power = _checks.scalar(power, "power", check=_checks.probability)
    z = stats.norm.isf(level / 2) + stats.norm.ppf(power)
    high = _checks.scalar(high, "high", low=10 * MIN_SAMPLES)

    ratio = _bend_ratio(dist)

    @functools.cache
    def log_ratio(n):
        return np.log(ratio(n))

    def margin(n, factor):
        if factor == 0:  # the crossing itself: no z (which is inf for a level below 1e-300)
            return log_ratio(float(n))
        return log_ratio(float(n)) - factor * z / np.sqrt(np.floor(np.sqrt(n)))

    what = "the exponential Q-Q bend of dist"
    return BendSampleSize(
        _smallest_n(lambda n: margin(n, 0.0), what, high=high),
        _smallest_n(lambda n: margin(n, 1.0), f"{what} at level = {level:g}, power = {power:g}",
                    high=high),
    )


@dataclass(frozen=True)
class Calibration:
    """How the readings and the Hill level behave on repeated samples of one law.

    Attributes
    ----------
    light : float
        Fraction of samples whose Hill trend reads "light".
    heavier, lighter : float
        Fractions whose exponential bend reads "heavier", "lighter".
    gamma : float
        Mean Hill estimate at ``k = floor(sqrt(n))``.
    spread : float
        Standard deviation of that estimate across samples.
    n, k, replicates : int
    se : Calibration or None
        Monte Carlo standard errors of ``light``, ``heavier``, ``lighter``, ``gamma`` (and
        ``spread``, approximately: ``spread / sqrt(2 (replicates - 1))``).
    """

    light: float
    heavier: float
    lighter: float
    gamma: float
    spread: float
    n: int
    k: int
    replicates: int
    se: object = None


def calibrate(dist, n, *, replicates=200, rng=None):
    """Draw ``replicates`` samples of size ``n`` from ``dist``: how often each reading comes out.

    Vectorized over the replicates (one partition of an ``(replicates, n)`` array, and a sort of
    its upper half).

    Parameters
    ----------
    dist : frozen scipy.stats law
    n : int
        At least ``MIN_SAMPLES``.
    replicates : int
        At least 2.
    rng : None, int or numpy Generator (SPEC 7)

    Returns
    -------
    Calibration

    Examples
    --------
    >>> from scipy import stats
    >>> c = calibrate(stats.expon(), 2000, replicates=100, rng=0)
    >>> print(f"{c.heavier + c.lighter:.2f} {c.gamma:.3f} +/- {c.se.gamma:.3f}")
    0.04 0.279 +/- 0.003
    """
    _checks.law(dist, "dist")
    n = _checks.integer(n, "n", low=MIN_SAMPLES, high=_checks.MAX_DRAWS)
    replicates = _checks.integer(replicates, "replicates", low=2, high=_checks.MAX_DRAWS)
    _checks.draws({"n": n, "replicates": replicates}, "draws")
    (stream,) = _checks.streams(rng, 1)
    draws = np.asarray(dist.rvs(size=(replicates, n), random_state=stream), dtype=float)
    ordered, mean = _sorted_rows(draws, n // 2 + 1)  # the upper half, which the bend reads
    j, k = _trend_sizes(n)
    top = ordered[:, : k + 1] - mean
    if np.any(top[:, -1] <= 0):
        raise ValueError(f"n: some samples have fewer than {k + 1} values above their mean")
    _, trend_below, _ = _ratio_test(_trend_spacings(top, k), j, k, "top values above the mean")
    _, bend_below, bend_above = _ratio_test(
        _bend_spacings(ordered), k, n // 2, "values of the upper half"
    )
    gammas = _hill_from_top(top, np.array([k]))[:, 0]
    rates = {
        "light": np.mean(trend_below < LEVEL),
        "heavier": np.mean(bend_above < LEVEL / 2),
        "lighter": np.mean(bend_below < LEVEL / 2),
    }
    spread = float(np.std(gammas, ddof=1))
    se = Calibration(
        **{name: float(np.sqrt(p * (1 - p) / replicates)) for name, p in rates.items()},
        gamma=spread / np.sqrt(replicates),
        spread=spread / np.sqrt(2 * (replicates - 1)),
        n=n,
        k=k,
        replicates=replicates,
    )
    return Calibration(
        **{name: float(p) for name, p in rates.items()},
        gamma=float(gammas.mean()),
        spread=spread,
        n=n,
        k=k,
        replicates=replicates,
        se=se,
    )


if __name__ == "__main__":
    from goodhart.cli import main

    sys.exit(main(prog="python -m goodhart.diagnostics"))
