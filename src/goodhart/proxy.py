"""The law of the proxy ``U = X + V`` for independent error ``X`` and utility ``V``: one engine.

``Proxy(utility=v, error=x)`` answers everything the book asks of ``U``, vectorized:
``logsf(t) = log P(U >= t)``, ``logpdf(u)``, ``isf(q)``, ``conditional_mean(t) = E[V | U >= t]``,
``conditional_mean_below(t) = E[V | U < t]``, ``tail(t)`` (``log P(U >= t)`` and
``E[V | U >= t]`` in one pass), ``utility_given(u) = E[V | U = u]``,
``best_of_n(n)``, ``penalized_optimum(beta)`` and ``sample(size, rng)``. All of it rests on
four convolution integrals, with the kernel ``K`` the error's tail ``Fbar_X`` or its density
``f_X``::

    I_K(t) = int f_V(s) K(t - s) ds,    J_K(t) = int (s - mu) f_V(s) K(t - s) ds,

so that ``P(U >= t) = I_tail``, ``P(U < t) = I_cdf`` (``K = F_X``), ``f_U = I_density``,
``E[V | U >= t] = mu + J_tail / I_tail`` and ``E[V | U = u] = mu + J_density / I_density``
(``mu = E[V]``).

Far in the tail the integrands underflow, and for a heavy-tailed ``X`` they have two bumps:
one where ``V`` is typical (the error did the work) and one where ``X`` is typical (the utility
did). The engine works in log space, cuts the line at breakpoints that resolve each bump
(quantiles of ``V``, ``t`` minus quantiles of ``X``, a geometric fill between them, the peak),
drops the pieces that carry nothing, and integrates the rest by adaptive Gauss-Kronrod (7/15)
rules, all thresholds and pieces at once; the two ends of the line are mapped onto finite
intervals, exponentially (``s = anchor + length (e^r - 1)``), which turns the algebraic decay
of a heavy utility's ``s f_V(s)`` (``s^-1.05`` for ``V ~ t_1.05``, whose mean converges past
``10^150``) into an exponential one. ``J`` is integrated separately above and below ``mu``, so that
``E[V | U >= t] - mu`` keeps its accuracy when it is tiny (``3 Var(V) / t`` at ``t = 10^6``).
A density infinite at an end of its support (``gamma(0.5)`` at 0) is integrated in the step
from that end, which resolves every scale of the singularity when the end is 0; at an end
``e != 0`` (``beta(0.5, 0.5)`` at 1) doubles space the argument ``ulp(e)`` apart, a
``y^(-1/2)`` singularity holds ``sqrt(ulp)`` of its mass within one ulp, and the density of
``U`` is good to about 1e-8 there, with a warning. Likewise at a finite end of ``U`` made of
ends ``e != 0`` of V and X: within 1e5 doubles of ``e`` (2.2e-11 for two uniform laws) the
arguments are a staircase, and thresholds there are refused.

Best-of-``n`` is an outer integral over the law of the maximum of ``n`` proxies::

    E[V at the best of n] = int E[V | U = u] n F_U(u)^(n-1) f_U(u) du,

by the trapezoid rule in the logit of a smooth quantile-like map of ``U``, with
``F_U^(n-1) = exp((n - 1) log1p(-Fbar_U))``: one set of nodes serves every ``n`` up to
``10^12`` and beyond.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from goodhart import _checks, _fast, tails, tilting

# Gauss-Kronrod 7/15 on [-1, 1] (QUADPACK's dqk15): Kronrod nodes, their weights, and the
# weights of the embedded 7-point Gauss rule on the same nodes (0 at the Kronrod-only nodes).
_XK = np.array([
    0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
    0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
    0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
    0.207784955007898467600689403773245, 0.0,
])
_WK = np.array([
    0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
    0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
    0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
    0.204432940075298892414161999234649, 0.209482141084727828012999174891714,
])
_WG = np.array([
    0.0, 0.129484966168869693270611432679082, 0.0, 0.279705391489276667901467771423780,
    0.0, 0.381830050505118944950369775488975, 0.0, 0.417959183673469387755102040816327,
])
_NODES = np.concatenate([-_XK[:-1], _XK[::-1]])
_KRONROD = np.concatenate([_WK[:-1], _WK[::-1]])
_GAUSS = np.concatenate([_WG[:-1], _WG[::-1]])

# Breakpoints besides each law's landmarks (goodhart._fast.FastLaw): fractions of the way from
# V's median to t - median(X) filled linearly (a pair of light tails peaks in between), and
# geometric steps out of each bump.
_LINEAR = np.linspace(0, 1, 3)
_GEOMETRIC_STEPS = 5
# A piece whose coarse estimate is below this share of its row's largest is dropped.
_LOG_DROP = np.log(1e-30)
# A piece whose log integrand differs by more than this at its two ends is mapped towards
# the larger end (its mass sits there, maybe in a sliver that plain nodes would miss).
_STEEP = 20.0
# Accuracy: a piece is done when |Kronrod - Gauss| is below _RTOL of itself or of its row's
# total times _SHARE; at most _MAX_ROUNDS rounds of bisection and _MAX_PIECES pieces a row.
_RTOL = 1e-13
_SHARE = 1e-4
_TINY = float(np.finfo(float).tiny)
# Breakpoints closer than this (relative, or absolute below 1) are one: about 45 ulps. (At
# 1e-12 a piece of that length was dropped, and with it most of P(U >= t) for two uniform
# laws within 1e-8 of U's upper end, where the whole integral lives on a stretch 1e-8 long.)
_CLOSE = 1e-14
# the largest |log integrand| the engine integrates: beyond it the integrand's rounding,
# eps |log| > 2e-3, defeats the rules (a normal pair fails from |log| ~ 3e13)
_LOG_REACH = 1e13
_RESOLVED = 1e5  # the doubles a threshold keeps between itself and a finite end of U
_REACH = 1e150  # the largest |t| or |u| the engine takes: scipy's log densities overflow beyond
# best-of-n's inner integrals, whose results are good to about 1e-7: a looser tolerance
_BEST_RTOL, _BEST_SHARE = 1e-9, 1e-1
_MAX_ROUNDS = 40
# What is left on pieces that did not converge: silent below _WARN_ABOVE (relative), a
# RuntimeWarning up to _RAISE_ABOVE, an ArithmeticError beyond (the tilting module's contract).
_WARN_ABOVE, _RAISE_ABOVE = 1e-9, 1e-6
_MAX_PIECES = 2000
_ISF_ACCEPT = 1e-11  # the largest |log P - log q| isf accepts when Newton stalls on noise

# Best-of-n's outer grid in the logit z of a quantile-like map of U: from -_LOWER (below it
# F_U^2 < 1e-13) to _UPPER past log(max n) (the law of the maximum has < e^-25 left), with a
# step of _STEP (or finer, where halving it still changes the result).
_LOWER, _UPPER, _STEP = 15.0, 25.0, 0.25
_OUTER_AGREEMENT = 1e-4  # largest |E[V]| change from halving the step at which it is accepted
_OUTER_RELATIVE = 1e-8  # or that relative to |E[V]|, where a heavy utility makes it large
_SEPARATE = 1e12  # beyond this many spreads of X, best-of-n's nodes integrate f_U on its own
_MAX_N = 1e100  # the largest n best_of_n computes (its grid grows with log n)
_EXTEND = 5.0  # how far the grid grows at an end that holds too much of the law
# largest |total mass - 1| of the law of the maximum on an accepted grid: on a smooth law it
# is ~1e-11 there; where it is larger the rule has not converged, whatever the agreement says
_MASS_TOLERANCE = 1e-8
_END_TOLERANCE = 1e-9  # largest allowed share of that law at either end of the grid


@dataclass(frozen=True)
class BestOfN:
    """Expectations at the best of ``n`` draws (the largest ``U``), one entry per ``n``.

    ``utility``, ``error`` and ``proxy`` are ``E[V]``, ``E[X]`` and ``E[U]`` at that draw;
    ``note`` explains any entry that is not finite (empty otherwise). A Monte Carlo estimate
    (:func:`goodhart.best_of_n.sample_best_of_n`) also has ``trials`` and, in ``se``, the
    standard errors of its three means.
    """

    n: np.ndarray
    utility: np.ndarray
    error: np.ndarray
    proxy: np.ndarray
    note: str = ""
    trials: int | None = None
    se: "BestOfN | None" = None


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate and its standard error."""

    value: np.ndarray
    se: np.ndarray


@dataclass(frozen=True)
class Tail:
    """The draws whose proxy passes each threshold: ``log P(U >= t)`` and ``E[V | U >= t]``."""

    threshold: np.ndarray
    log_tail: np.ndarray
    utility: np.ndarray


@dataclass(frozen=True)
class Sample:
    """Independent draws of the utility and the error, and their sum, the proxy."""

    utility: np.ndarray
    error: np.ndarray

    @property
    def proxy(self):
        """``U = X + V`` for each draw."""
        return self.utility + self.error


class Proxy:
    """The proxy ``U = X + V`` for an independent error ``X ~ error`` and utility ``V ~ utility``.

    A frozen object in the spirit of scipy's frozen distributions: build it once, ask it many
    questions, each vectorized over its argument (scalar in, float out; array in, array out).

    Parameters
    ----------
    utility : frozen scipy.stats law
        The law of the true utility ``V``; it must have a finite mean.
    error : frozen scipy.stats law
        The law of the error ``X``, independent of ``V``; any mean (Levy's is infinite).

    Examples
    --------
    >>> from scipy import stats
    >>> proxy = Proxy(utility=stats.norm(0, 2), error=stats.t(3))
    >>> round(proxy.conditional_mean(1e6), 9)  # E[V | U >= t] -> E[V] = 0: Theorem 5
    1.2e-05
    >>> p = Proxy(utility=stats.norm(), error=stats.norm())
    >>> round(p.utility_given(3.0), 12)  # E[V | U = u] = u / 2 for two standard normals
    1.5
    """

    def __init__(self, *, utility, error):
        self.mean = _checks.finite_mean(utility, "utility")
        self.utility = utility
        self.error = _checks.law(error, "error")
        self._laws = _fast.FastLaw(utility), _fast.FastLaw(error)
        self._upper_end = float(utility.support()[1] + error.support()[1])
        self._lower_end = float(utility.support()[0] + error.support()[0])
        # how near a threshold may come to a finite end of U: there the laws' arguments are
        # doubles ulp(end of V or X) apart, and within a few of them of U's end its law is a
        # staircase (two uniforms at 2 - 1e-13: 450 doubles, P(U >= t) 2.4e-8 off, silently);
        # at ends of 0 the doubles are dense, and there is no margin
        parts = [max(abs(utility.support()[i]), abs(error.support()[i])) for i in (0, 1)]
        self._margin = [_RESOLVED * np.spacing(part) if 0 < part < np.inf else 0.0
                        for part in parts]

    def __repr__(self):
        return f"Proxy(utility={_describe(self.utility)}, error={_describe(self.error)})"

    # -- the law of U -------------------------------------------------------------------

    def logsf(self, t):
        """``log P(U >= t)``, accurate far into the tail (in log space, to ``|log P| ~ 1e13``;
        beyond, and for ``|t| > 1e150``, a ValueError says why).

        Examples
        --------
        >>> from scipy import stats
        >>> round(Proxy(utility=stats.norm(), error=stats.norm()).logsf(0.0), 12)
        -0.69314718056
        """
        return self._log_probability(t, "tail", "cdf", "upper")

    def sf(self, t):
        """``P(U >= t)``."""
        return _checks.like(np.exp(self.logsf(t)), t)

    def logpdf(self, u):
        """``log f_U(u)``, the log density of the proxy.

        Examples
        --------
        >>> from scipy import stats
        >>> p = Proxy(utility=stats.norm(), error=stats.norm())
        >>> round(p.logpdf(0.0) - float(stats.norm(0, 2**0.5).logpdf(0.0)), 12)
        0.0
        """
        u = self._thresholds(u, "u", ends=("lower", "upper"))
        with _checks.named("u"):
            return _checks.like(self._integrals(u, ("density",))["density"], u)

    def pdf(self, u):
        """``f_U(u)``."""
        return _checks.like(np.exp(self.logpdf(u)), u)

    def logcdf(self, t):
        """``log P(U < t)``, accurate far into the lower tail.

        Examples
        --------
        >>> from scipy import stats
        >>> p = Proxy(utility=stats.norm(), error=stats.norm())
        >>> round(p.logcdf(-40.0) - float(stats.norm(0, 2**0.5).logcdf(-40.0)), 9)
        0.0
        """
        return self._log_probability(t, "cdf", "tail", "lower")

    def _log_probability(self, t, kernel, complement, end):
        """``log P`` by the ``kernel`` integral, or, where ``P > 1/2``, as ``log(1 - Q)`` from
        the complement's integral: the direct value then carries an absolute error of about
        ``eps``, which would leave ``log P`` at ``+-1e-16`` instead of ``-Q``, however small.
        ``end`` is the end of U's support where ``P`` is 0 (see :meth:`_thresholds`).
        """
        t = self._thresholds(t, "t", ends=(end,))
        with _checks.named("t"):
            out = self._complemented(t, self._integrals(t, (kernel,))[kernel], complement)
        return _checks.like(out, t)

    def _complemented(self, t, log_p, complement):
        """``log_p`` with its entries above ``log(1/2)`` recomputed as ``log(1 - Q)`` from the
        ``complement`` integral (see :meth:`_log_probability`)."""
        out = np.array(log_p, dtype=float).reshape(-1)
        large = out > tails.LOG_HALF
        if large.any():
            # a complement beyond the engine's reach is below exp(-1e13): log P = -0
            other = self._integrals(np.reshape(t, -1)[large], (complement,), vanish=True)
            out[large] = tails.log1mexp(np.minimum(other[complement], 0.0))
        return out

    def isf(self, q):
        """The level ``t`` with ``P(U >= t) = q``, for ``q`` in (0, 1) (at least the smallest
        normal float, 2.2e-308; an empty ``q`` gives an empty array).

        Newton's method on the log of the smaller of ``P(U >= t)`` and ``P(U < t)`` (slope
        ``-+ f_U`` over it), from linear interpolation on a grid that brackets the answer, with
        bisection whenever a step would leave the bracket.

        Examples
        --------
        >>> from scipy import stats
        >>> p = Proxy(utility=stats.norm(), error=stats.norm())
        >>> round(p.isf(1e-6) / float(stats.norm(0, 2**0.5).isf(1e-6)), 10)
        1.0
        """
        q = _checks.probability(q, "q")
        if q.size == 0:
            return _checks.like(np.empty(q.shape), q)
        if np.any(q < _TINY):
            raise ValueError(f"q must be at least {_TINY:.3g}, the smallest normal float: "
                             f"subnormal probabilities carry too few digits, got {q.min():.3g}")
        flat = q.reshape(-1)
        upper = flat <= 0.5  # solve where the probability is the small one: no rounding to 1
        target = np.where(upper, np.log(flat), np.log1p(-flat))
        lo, hi, t = self._isf_bracket(upper, target)
        open_ = np.ones(t.size, dtype=bool)
        for _ in range(100):
            rows = np.flatnonzero(open_)
            gap, slope = np.empty(rows.size), np.empty(rows.size)
            side_of = upper[rows]
            for side, kernel, sign in ((side_of, "tail", -1.0), (~side_of, "cdf", 1.0)):
                if side.any():
                    values = self._integrals(t[rows[side]], (kernel, "density"))
                    gap[side] = values[kernel] - target[rows[side]]
                    slope[side] = sign * np.exp(values["density"] - values[kernel])
            above = np.where(side_of, gap < 0, gap > 0)  # t lies above the answer
            hi[rows] = np.where(above, t[rows], hi[rows])
            lo[rows] = np.where(above, lo[rows], t[rows])
            new = t[rows] - gap / slope
            # a step that rounds to nothing stays (at an end of the bracket it is no way out:
            # bisecting there once left two uniforms' isf(1e-20) 2.4e-14 from its root)
            inside = (new > lo[rows]) & (new < hi[rows]) | (new == t[rows])
            new = np.where(inside, new, 0.5 * (lo[rows] + hi[rows]))
            # done when the step is at the integrals' own accuracy (a relative 1e-13 of the
            # probability) or the bracket has closed to rounding
            done = (np.abs(gap) <= 1e-13) | (np.abs(new - t[rows]) <= 1e-14 * (1 + np.abs(t[rows])))
            done |= hi[rows] - lo[rows] <= 4e-16 * (1 + np.abs(t[rows]))
            t[rows] = np.where(np.abs(gap) <= 1e-13, t[rows], new)
            open_[rows[done]] = False
            if not open_.any():
                break
        else:
            # far in a heavy tail (a Levy error's, at t ~ -1e12) the slope f_U / F_U is ~1/|t|,
            # so the integrals' own error of ~1e-12 keeps Newton stepping by several units:
            # there the answer whose probability matches to _ISF_ACCEPT (relative) is taken
            if np.any(np.abs(gap[open_[rows]]) > _ISF_ACCEPT):
                raise ArithmeticError("isf: Newton's method did not converge")
        return _checks.like(t, q)

    def _isf_bracket(self, upper, target):
        """Brackets ``(lo, hi)`` around each answer of :meth:`isf` and a start between them.

        The grid is the sum ``c`` of the two laws' quantiles at logit levels ``z``, out to one
        beyond each target's: ``P(U >= c) <= 2 p`` at the quantiles of upper level ``p`` (a
        union bound; likewise below), so ``log P(U >= t)`` (or ``log P(U < t)``) passes every
        target on it, and the grid stays clear of where the answer is not.
        """
        z_target = np.where(upper, 1.0, -1.0) * (tails.log1mexp(target) - target)
        z_lo, z_hi = min(-8.0, z_target.min() - 1), max(8.0, z_target.max() + 1)
        z = np.linspace(z_lo, z_hi, int(np.ceil((z_hi - z_lo) / 0.5)) + 1)
        # the engine stops at +-_REACH: a level beyond is refused (a Levy error's isf(1e-200)
        # is about 6e399, past the largest double)
        grid = np.unique(np.clip(_quantile(self.utility, z) + _quantile(self.error, z),
                                 -_REACH, _REACH))
        # levels nearer an end of U than the engine resolves are left out; where the grid
        # reached there, the nearest level it may take stands for them
        grid = grid[(grid > self._lower_end) & (grid < self._upper_end)]
        lowest, highest = self._lower_end + self._margin[0], self._upper_end - self._margin[1]
        ends = [end for end, cut in ((lowest, grid <= lowest), (highest, grid >= highest))
                if cut.any()]
        grid = np.union1d(grid[(grid > lowest) & (grid < highest)], ends)
        with warnings.catch_warnings():
            # the grid only brackets the answer: Newton's steps judge the integrals there
            warnings.simplefilter("ignore", RuntimeWarning)
            values = self._integrals(grid, ("tail", "cdf"))
        # a decreasing sequence in t for the upper side, increasing for the lower one
        lo, hi, start = (np.empty_like(target) for _ in range(3))
        for side, key, sign in ((upper, "tail", -1.0), (~upper, "cdf", 1.0)):
            if not side.any():
                continue
            key_values = sign * values[key]
            k = np.searchsorted(key_values, sign * target[side])
            outside = (k == 0) | (k == grid.size)
            if np.any(outside):
                far = grid[-1] if key == "tail" else grid[0]
                q = np.exp(target[side][outside][0])
                q = q if key == "tail" else 1 - q
                if far in ends:
                    end = self._upper_end if key == "tail" else self._lower_end
                    raise ValueError(f"q = {q:.3g} puts the level within {abs(end - far):.1e} of "
                                     f"{end:g}, an end of U's support, where fewer than "
                                     f"{_RESOLVED:.0e} doubles space the laws' arguments")
                if abs(far) == _REACH:
                    raise ValueError(f"q = {q:.3g} puts the level beyond {far:g}, the engine's "
                                     f"reach: P(U {'>=' if key == 'tail' else '<'} {far:g}) = "
                                     f"exp({values[key][-1 if key == 'tail' else 0]:.6g})")
                raise ArithmeticError("isf: the answer lies beyond the grid of quantiles")
            a, b = grid[k - 1], grid[k]
            fa, fb = key_values[k - 1], key_values[k]
            lo[side], hi[side] = a, b
            start[side] = a + (sign * target[side] - fa) / (fb - fa) * (b - a)
        return lo, hi, start

    # -- conditioning on the proxy (Theorems 5 and 6) ----------------------------------

    def conditional_mean(self, t):
        """``E[V | U >= t]``: the utility of draws whose proxy passes ``t``.

        Examples
        --------
        >>> from scipy import stats
        >>> p = Proxy(utility=stats.norm(), error=stats.norm())
        >>> round(p.conditional_mean(0.0), 12)  # E[U | U >= 0] / 2 = 1 / sqrt(pi)
        0.564189583548
        """
        t = self._thresholds(t, "t")
        with _checks.named("t"):
            values = self._integrals(t, ("tail",), moments=("tail",))
        return _checks.like(self.mean + values["tail_moment"], t)

    def tail(self, t):
        """``log P(U >= t)`` and ``E[V | U >= t]`` together, from one pass of the engine: the
        values of :meth:`logsf` and :meth:`conditional_mean`, at about half their joint cost.

        Parameters
        ----------
        t : float or array_like
            Thresholds inside U's support.

        Returns
        -------
        Tail
            ``threshold``, ``log_tail`` (``log P(U >= t)``) and ``utility``
            (``E[V | U >= t]``), each shaped like ``t``.

        Examples
        --------
        >>> from scipy import stats
        >>> p = Proxy(utility=stats.norm(), error=stats.norm())
        >>> above = p.tail([0.0, 2.0])
        >>> bool(np.allclose(above.log_tail, p.logsf([0.0, 2.0]), rtol=0, atol=1e-15))
        True
        >>> round(float(above.utility[0]), 12)  # E[U | U >= 0] / 2 = 1 / sqrt(pi)
        0.564189583548
        """
        t = self._thresholds(t, "t")
        with _checks.named("t"):
            values = self._integrals(t, ("tail",), moments=("tail",))
            log_tail = self._complemented(t, values["tail"], "cdf")
        return Tail(threshold=_checks.like(t), log_tail=_checks.like(log_tail, t),
                    utility=_checks.like(self.mean + values["tail_moment"], t))

    def conditional_error(self, t):
        """``E[X | U >= t]``: the error of draws whose proxy passes ``t`` (``E[X]`` finite).

        The same engine with the roles of the two laws exchanged.
        """
        _checks.finite_mean(self.error, "error")
        return Proxy(utility=self.error, error=self.utility).conditional_mean(t)

    def conditional_mean_below(self, t):
        """``E[V | U < t]``: the utility of draws whose proxy falls short of ``t``.

        Computed directly (the CDF kernel's integrals), not from ``E[V]`` and
        ``E[V | U >= t]``: far below the median ``P(U < t)`` is tiny and those leave it to
        rounding.

        Examples
        --------
        >>> from scipy import stats
        >>> p = Proxy(utility=stats.norm(), error=stats.norm())
        >>> round(p.conditional_mean_below(0.0), 12)  # -E[U | U >= 0] / 2 = -1 / sqrt(pi)
        -0.564189583548
        """
        t = self._thresholds(t, "t", ends=("lower",))
        with _checks.named("t"):
            values = self._integrals(t, ("cdf",), moments=("cdf",))
        return _checks.like(self.mean + values["cdf_moment"], t)

    def conditional_error_below(self, t):
        """``E[X | U < t]``: the error of draws whose proxy falls short of ``t`` (``E[X]``
        finite). The same engine with the roles of the two laws exchanged."""
        _checks.finite_mean(self.error, "error")
        return Proxy(utility=self.error, error=self.utility).conditional_mean_below(t)

    def conditional_mean_monte_carlo(self, t, size=10**6, rng=None):
        """Monte Carlo twin of :meth:`conditional_mean`: the estimate and its standard error.

        Draws ``size`` pairs once and, for each threshold, averages ``V`` over the draws with
        ``U >= t``; a ValueError where fewer than 100 draws pass a threshold.

        Examples
        --------
        >>> from scipy import stats
        >>> p = Proxy(utility=stats.norm(), error=stats.norm())
        >>> e = p.conditional_mean_monte_carlo(0.0, size=10**5, rng=1)
        >>> bool(abs(e.value - p.conditional_mean(0.0)) < 4 * e.se)
        True
        """
        t = self._thresholds(t, "t")
        size = _checks.integer(size, "size", low=2, high=_checks.MAX_DRAWS)
        draws = self.sample(size, rng=rng)
        proxy = draws.proxy
        estimates = []
        for ti in t.reshape(-1):
            selected = draws.utility[proxy >= ti]
            if selected.size < 100:
                raise ValueError(
                    f"t: only {selected.size} of {size} draws reach t = {ti:g}; "
                    "use a larger size or a smaller t"
                )
            estimates.append((selected.mean(), selected.std(ddof=1) / np.sqrt(selected.size)))
        value, se = np.array(estimates).reshape(-1, 2).T  # none for an empty t
        return Estimate(value=_checks.like(value, t), se=_checks.like(se, t))

    def utility_given(self, u):
        """``E[V | U = u]``: the utility a draw with proxy ``u`` carries on average.

        For ``|u| <= 1e150``: beyond, scipy's log densities (which square their argument)
        overflow, and ``u`` is refused.

        Examples
        --------
        >>> from scipy import stats
        >>> round(Proxy(utility=stats.norm(0, 2), error=stats.norm()).utility_given(-20.0), 10)
        -16.0
        """
        u = self._thresholds(u, "u", ends=("lower", "upper"))
        with _checks.named("u"):
            values = self._integrals(u, ("density",), moments=("density",))
        return _checks.like(self.mean + values["density_moment"], u)

    # -- optimization ------------------------------------------------------------------

    def best_of_n(self, n):
        """``E[V]``, ``E[X]`` and ``E[U]`` at the best of ``n`` iid draws, exactly (no sampling).

        Parameters
        ----------
        n : float or array_like
            Whole numbers ``>= 1``, up to ``10^12`` and beyond.

        Returns
        -------
        BestOfN
            Arrays shaped like ``n``. If ``E[X] = +inf`` (Levy error) the error and the proxy
            at the best draw are ``+inf`` for every ``n``; ``note`` says so.

        Examples
        --------
        >>> from scipy import stats
        >>> r = Proxy(utility=stats.norm(), error=stats.norm()).best_of_n([1, 2])
        >>> [round(float(x), 9) for x in r.utility]  # E[V] = E[max of 2 U] / 2 = sqrt(2 / pi) / 2
        [0.0, 0.39894228]
        """
        n = _checks.whole(n, "n", low=1)
        if np.any(n > _MAX_N):
            raise ValueError(f"n must be at most {_MAX_N:.0e}, got {n.max():g}")
        error_mean = float(self.error.mean())
        if np.isnan(error_mean):
            raise ValueError(
                f"error ({self.error.dist.name}) has an undefined mean (scipy gives nan): "
                "E[X] at the best draw has no value"
            )
        flat = n.reshape(-1)
        utility = np.full(flat.shape, self.mean)
        proxy = np.full(flat.shape, error_mean + self.mean)
        many = flat > 1  # n = 1 is the plain means
        if many.any():
            utility[many], proxy[many] = self._best_of_many(flat[many], np.isinf(error_mean))
        note = ""
        if np.isinf(error_mean):
            note = (
                "the error has E[X] = +inf, so E[X] and E[U] at the best draw are +inf for "
                "every n; E[V] at the best draw is finite and computed"
            )
        return BestOfN(
            n=n,
            utility=utility.reshape(n.shape),
            error=(proxy - utility).reshape(n.shape),
            proxy=proxy.reshape(n.shape),
            note=note,
        )

    def _best_of_many(self, n, infinite_error):
        """``E[V]`` and ``E[U]`` at the best of ``n >= 2`` draws: the outer trapezoid rule.

        The step starts at ``2 _STEP`` and is halved (every other node new) until the rule
        agrees with the one of twice its step to ``_OUTER_AGREEMENT`` (or ``_OUTER_RELATIVE``
        of ``E[V]``, where that is larger) and the law of the best draw has mass 1 on the grid
        to ``_MASS_TOLERANCE``, with neither its mass nor ``E[V]``'s integrand left at an end.
        The trapezoid rule's error falls like ``exp(-c / h)`` for smooth, fast-decaying
        integrands, so halving the step squares it: the accepted rule is good to about
        ``_OUTER_AGREEMENT^2``. A kink (in the law of U or in a quantile of the map) makes the
        error fall like ``h^2`` only; the mass shows it, and where its fall cannot reach the
        tolerance by the finest step the rule is refused.
        """
        # one grid for every n up to 10^12, so that a value does not depend on the others asked
        top = max(np.log(n.max()), np.log(1e12)) + _UPPER
        step = 2 * _STEP
        z = np.arange(-_LOWER, top + step / 2, step)
        nodes = self._outer_nodes(z)
        previous = _law_of_the_best(n, nodes, step, infinite_error)
        # a law whose tails are far from the comonotone map's may leave mass beyond an end of
        # the grid: extend the grid there, a few units at a time
        for _ in range(8):
            low, high = previous.end_shares
            if max(low.max(), high.max()) <= _END_TOLERANCE / 10:
                break
            more = np.arange(1, int(_EXTEND / step) + 1) * step
            new_z = np.concatenate([z[0] - more[::-1]] * bool(low.max() > _END_TOLERANCE / 10)
                                   + [z] + [z[-1] + more] * bool(high.max() > _END_TOLERANCE / 10))
            try:
                new_nodes = self._outer_nodes(np.setdiff1d(new_z, z))
            except (ValueError, ArithmeticError):
                # beyond, the engine cannot resolve U (a heavy utility's grid reaches
                # u ~ 1e23 for V ~ t_1.5, X ~ t_3): stop where the ends already hold less
                # than the rule accepts, a tenth of what the extension aims at
                if max(low.max(), high.max()) <= _END_TOLERANCE:
                    break
                raise
            order = np.argsort(np.concatenate([z, np.setdiff1d(new_z, z)]))
            nodes = {key: np.concatenate([nodes[key], new_nodes[key]])[order] for key in nodes}
            z = np.sort(new_z)
            previous = _law_of_the_best(n, nodes, step, infinite_error)
        # each n keeps the first rule that agrees with the one before it and holds the whole
        # law of the best draw, so that its value does not depend on the other n asked
        utility, proxy = np.full(n.size, np.nan), np.full(n.size, np.nan)
        open_ = np.ones(n.size, dtype=bool)
        # the miss |mass - 1| of each n on the grids before; a kink makes it fall like a power
        # of the step, and where two halvings in a row each cut it less than 8 times (slower
        # than step^3) the finest step cannot bring it under the tolerance: refuse then
        misses = [np.full(n.size, np.inf)] * 2 + [np.abs(previous.total - 1)]
        while open_.any():
            miss = misses[-1]
            slow = np.all([misses[i] < 8 * misses[i + 1] for i in (-3, -2)], axis=0)
            left = round(np.log2(step / (_STEP / 8)))  # the halvings before the finest step
            hopeless = open_ & slow & (miss / 8.0**left > _MASS_TOLERANCE)
            if step <= _STEP / 8 or hopeless.any():
                raise ArithmeticError(
                    "best_of_n: the outer integral did not converge: the law of the best draw "
                    f"has total mass {previous.total[open_].min():.9g} to "
                    f"{previous.total[open_].max():.9g} on the grid of step {step:g} (1 if "
                    "resolved; a kink in the law of U or in a quantile function slows the "
                    f"rule{', too much for the finest step' if step > _STEP / 8 else ''})"
                )
            middles = z[:-1] + step / 2
            z = _interleave(z, middles)
            new = self._outer_nodes(middles)
            nodes = {key: _interleave(nodes[key], new[key]) for key in nodes}
            step /= 2
            best = _law_of_the_best(n, nodes, step, infinite_error)
            resolved = (np.abs(best.total - 1) <= _MASS_TOLERANCE) & (best.ends <= _END_TOLERANCE)
            change = np.abs(best.utility - previous.utility)
            tolerance = np.maximum(_OUTER_AGREEMENT, _OUTER_RELATIVE * np.abs(best.utility))
            agree = open_ & resolved & (change <= tolerance)
            utility[agree], proxy[agree] = best.utility[agree], best.proxy[agree]
            open_ &= ~agree
            previous = best
            misses.append(np.abs(best.total - 1))
        return utility, proxy

    def _outer_nodes(self, z):
        """The outer rule's nodes at logit levels ``z``: ``u(z)`` and what the law needs there.

        ``u`` is the comonotone quantile ``c(z) = Q_V(p) + Q_X(p)``, ``p = expit(z)``, a smooth
        increasing map over the range of U, shrunk about the medians by the ratio ``r`` of
        interquartile ranges a sum of normals would have, so that logit ``F_U`` grows about
        as fast as ``z``. Where U's support has a finite end the shrink gives way on both
        sides, ``r(z) = 1 - (1 - r) sech(z / 2)``, so that ``u`` reaches the end (a constant
        shrink stops short of it, and the law's mass beyond is lost); the map stays analytic
        (a shrink switched at ``z = 0`` would make the rule's error algebraic) and increasing.
        """
        v, x = self._laws
        shrink = np.hypot(v.spread, x.spread) / (v.spread + x.spread)
        qv, qx = _quantile(v, z), _quantile(x, z)
        middle = v.middle + x.middle
        offset = qv + qx - middle
        # du/dz = r(z) c'(z) + r'(z) (c(z) - middle), both terms >= 0, with
        # c'(z) = F Fbar (1/f_V + 1/f_X) at the two quantiles
        if np.isfinite(self._lower_end) or np.isfinite(self._upper_end):
            half = np.abs(z) / 2
            sech = 2 * np.exp(-half) / (1 + np.exp(-2 * half))
            ratio = 1 - (1 - shrink) * sech
            slope = (1 - shrink) * sech * np.tanh(half) / 2 * np.abs(offset)  # r' (c - middle)
        else:
            ratio, slope = shrink, None
        u = middle + ratio * offset
        log_du = np.log(ratio) - np.logaddexp(0, z) - np.logaddexp(0, -z)
        log_du = log_du + np.logaddexp(-v.logpdf(qv), -x.logpdf(qx))
        if slope is not None:
            with np.errstate(divide="ignore"):
                log_du = np.logaddexp(log_du, np.log(slope))
        try:
            values = self._law_at_nodes(u)
        except ValueError as refusal:
            # one grid serves every n up to 10^12, and a heavy utility's E[V] at the best
            # draw reaches far beyond the law's bulk: say where the engine stopped
            reach = u[np.argmax(np.abs(u))]
            raise ValueError(f"best_of_n: its grid of U (one for every n up to 1e12) reaches "
                             f"u = {reach:.3g}, and there {refusal}") from None
        with np.errstate(divide="ignore"):
            log_cdf = tails.log1mexp(np.minimum(values["tail"], 0.0))
        return {
            "u": u,
            "log_weight": values["density"] + log_du,
            "log_cdf": log_cdf,
            "given": self.mean + values["density_moment"],
        }

    def _law_at_nodes(self, u):
        """``log Fbar_U``, ``log f_U`` and ``E[V | U = u] - mu`` at best-of-n's nodes ``u``."""
        x = self._laws[1]
        values = self._integrals(
            u, ("tail", "density"), moments=("density",), rtol=_BEST_RTOL, share=_BEST_SHARE
        )
        # far out, where merging close breakpoints folds X's landmarks together, the tail and
        # the density each on its own pieces: one set for both (the tail's peak where the
        # utility is past u) left the density's bump at u = 4e14 (V ~ t_1.5, X ~ N(0, 1)) in
        # a sliver of an open end, and f_U came out e^-29 of its value
        far = np.abs(u) > _SEPARATE * x.spread
        if far.any():
            alone = self._integrals(u[far], ("density",), moments=("density",),
                                    rtol=_BEST_RTOL, share=_BEST_SHARE)
            for key in ("density", "density_moment"):
                values[key][far] = alone[key]
        return values

    def penalized_optimum(self, beta):
        """The optimum of ``E[U] - beta D(P || Q)`` (Theorem 4).

        See :func:`goodhart.tilting.penalized_optimum`, which this calls.
        """
        return tilting.penalized_optimum(utility=self.utility, error=self.error, beta=beta)

    def report(self, **options):
        """What every result of the book says for this pair: :func:`goodhart.report.report`."""
        from goodhart.report import report  # report builds on this module

        return report(self, **options)

    def sample(self, size, rng=None):
        """``size`` independent draws of ``(V, X)``, from independent streams of ``rng``.

        Examples
        --------
        >>> from scipy import stats
        >>> s = Proxy(utility=stats.norm(), error=stats.norm()).sample(3, rng=1)
        >>> bool((s.utility != s.error).all())
        True
        """
        counts = _checks.whole(size, "size", low=0)
        if np.prod(np.atleast_1d(counts)) > _checks.MAX_DRAWS:
            raise ValueError(f"size must hold at most {_checks.MAX_DRAWS:.0e} draws, got {size}")
        size = int(counts) if counts.ndim == 0 else tuple(int(c) for c in counts)  # 4.0 -> 4
        utility_rng, error_rng = _checks.streams(rng, 2)
        return Sample(
            utility=np.asarray(self.utility.rvs(size=size, random_state=utility_rng), float),
            error=np.asarray(self.error.rvs(size=size, random_state=error_rng), float),
        )

    # -- the engine ------------------------------------------------------------------------

    def _thresholds(self, t, name, ends=("upper",)):
        """``t`` checked: real, within reach, and inside U's support at each of ``ends``:
        "upper" where ``P(U >= t)`` is asked (0 at and above U's upper end), "lower" where
        ``P(U < t)`` is (0 at and below its lower end), both for a density."""
        t = _checks.real(t, name)
        if "upper" in ends and np.any(t >= self._upper_end):
            why = ": P(U >= t) = 0 there" if ends == ("upper",) else ""
            raise ValueError(
                f"{name} must lie below {self._upper_end:g}, the upper end of U's support{why}"
            )
        if "lower" in ends and np.any(t <= self._lower_end):
            why = ": P(U < t) = 0 there" if ends == ("lower",) else ""
            raise ValueError(
                f"{name} must lie above {self._lower_end:g}, the lower end of U's support{why}"
            )
        for side, end, margin in zip(("lower", "upper"), (self._lower_end, self._upper_end),
                                     self._margin, strict=True):
            if side in ends and np.any(np.abs(t - end) < margin):
                raise ValueError(
                    f"{name} must lie at least {margin:.1e} from {end:g}, the {side} end of U's "
                    f"support: nearer, fewer than {_RESOLVED:.0e} doubles space the laws' "
                    "arguments across what is left of U's support there"
                )
        if np.any(np.abs(t) > _REACH):
            # scipy's log densities square their argument: beyond about 1.3e154 they are -inf
            # where the density is positive, and the integrals come out wrong
            raise ValueError(f"{name} must lie in [-{_REACH:g}, {_REACH:g}]: beyond, scipy's "
                             "log densities overflow")
        return t

    def _integrals(self, t, kernels, moments=(), rtol=_RTOL, share=_SHARE, vanish=False):
        """The convolution integrals for each threshold in ``t`` (any shape, flattened).

        Returns a dict: each of ``kernels`` ("tail", "density") maps to ``log I_K(t)``; each of
        ``moments`` (a subset of ``kernels``) to ``J_K(t) / I_K(t)`` under ``K + "_moment"``.
        A threshold too far out (its log integrand below the smallest double, or beyond
        ``_LOG_REACH``) raises, or with ``vanish`` (no moments) gets ``log I = -inf``: the
        integral is below ``exp(-1e13)``, where only its being negligible matters.
        """
        (v, x), mu = self._laws, self.mean
        t = np.asarray(t, dtype=float).reshape(-1)
        # below t minus X's upper end, K(t - s) is 0 for the tail and the density, but 1 for
        # the CDF: that stretch of V's line is left out only when no kernel is the CDF
        lo = np.full_like(t, v.support()[0])
        if "cdf" not in kernels:
            lo = np.maximum(lo, t - x.support()[1])
        hi = np.full_like(t, v.support()[1])
        edges, values, log_peak, log_floor, decay = _breakpoints(v, x, t, mu, lo, hi, kernels)
        pieces = _Pieces.between(edges, values, log_peak, log_floor, decay, t, v, x, mu)
        scale = pieces.log_scale_of_rows
        underflow = ~np.all(np.isfinite(scale), axis=0)
        beyond = np.max(np.abs(np.where(np.isfinite(scale), scale, 0.0)), axis=0) > _LOG_REACH
        far = underflow | beyond
        if far.any():
            if vanish:
                out = {k: np.full(t.size, -np.inf) for k in kernels}
                if not far.all():
                    near = self._integrals(t[~far], kernels, rtol=rtol, share=share)
                    for k in kernels:
                        out[k][~far] = near[k]
                return out
            if underflow.any():
                raise ValueError(
                    "too far out: the law of U underflows there even in log space (below the "
                    "smallest double)"
                )
            raise ValueError(
                f"too far out: the log densities there are about "
                f"-{np.max(np.abs(scale[:, beyond])):.2g}, whose rounding (eps times that) no "
                f"quadrature in double precision resolves (the engine works to |log| <= "
                f"{_LOG_REACH:.0e})"
            )
        totals = {k: np.zeros((1 + (k in moments), t.size)) for k in kernels}
        for round_ in range(_MAX_ROUNDS):
            with np.errstate(invalid="ignore", over="ignore"):
                sums, errors = pieces.integrate(t, v, x, mu, kernels, moments)
            if not all(np.isfinite(sums[k]).all() for k in kernels):
                raise ValueError(
                    "too far out: the integrand's peak there is narrower than the spacing of "
                    "doubles at that threshold, and the engine cannot place its nodes on it"
                )
            last = round_ == _MAX_ROUNDS - 1 or 2 * pieces.row.size > _MAX_PIECES * t.size
            # each row's total so far, to judge which pieces are negligible
            done = np.ones(pieces.row.size, dtype=bool)
            for k in kernels:
                row_total = _row_scale(pieces.row, sums[k], totals[k], t.size)
                floor = rtol * share * row_total[:, pieces.row]
                done &= np.all(errors[k] <= np.maximum(rtol * np.abs(sums[k]), floor), axis=0)
            if last and not done.all():
                _report_unconverged(pieces.row, ~done, errors, totals, sums, kernels, t.size)
                done[:] = True
            for k in kernels:
                for m in range(totals[k].shape[0]):
                    totals[k][m] += np.bincount(pieces.row[done], sums[k][m][done], t.size)
            if done.all():
                break
            pieces = pieces.select(~done).bisect()
        out = {}
        for k in kernels:
            with np.errstate(divide="ignore"):
                out[k] = np.log(totals[k][0]) + pieces.log_scale_of_rows[kernels.index(k)]
            if not np.all(np.isfinite(out[k])):
                raise ValueError(f"too far out: the {k} integral of U underflows even in log space")
            if k in moments:
                out[k + "_moment"] = totals[k][1] / totals[k][0]
        return out


def _row_scale(rows, sums, totals, size):
    """Each threshold's scale of the integral and of its moment (the larger of the two):
    the sum of its pieces' magnitudes. The moment's scale is never below the integral's, so
    that a tiny ``E[V | .] - mu`` is judged against the mass; where the moment is the larger
    (``V`` of size 1e11 at a heavy utility's threshold) against itself."""
    scale = np.abs(totals) + np.stack([np.bincount(rows, np.abs(row), size) for row in sums])
    return np.maximum.accumulate(scale, axis=0)


def _report_unconverged(rows, open_, errors, totals, sums, kernels, size):
    """Warn, or raise when it is large, about the error left on pieces that did not converge."""
    worst = 0.0
    for k in kernels:
        total = _row_scale(rows, sums[k], totals[k], size)
        left = np.stack([np.bincount(rows[open_], e[open_], size) for e in errors[k]])
        worst = max(worst, float(np.max(left / np.where(total > 0, total, 1.0))))
    message = f"the convolution integrals of U converged only to a relative error of {worst:.1e}"
    if worst > _RAISE_ABOVE:
        raise ArithmeticError(message)
    if worst > _WARN_ABOVE:
        warnings.warn(message, RuntimeWarning, stacklevel=4)


@dataclass(frozen=True)
class _OuterRule:
    """Best-of-n's outer trapezoid rule on one grid: expectations and the checks of its grid."""

    utility: np.ndarray
    proxy: np.ndarray
    total: np.ndarray  # the mass of the law of the best draw on the grid, per n (1 if resolved)
    end_shares: tuple  # the shares of that mass on the first and on the last node, per n

    @property
    def ends(self):
        """The larger share of the law of the best draw on either end of the grid, per n."""
        return np.maximum(*self.end_shares)


def _law_of_the_best(n, nodes, step, infinite_error):
    """The law of the best of ``n`` draws, ``n F_U^(n-1) f_U du``, on the outer nodes."""
    log_mass = (
        np.log(n)[:, None] + (n - 1)[:, None] * nodes["log_cdf"] + nodes["log_weight"]
        + np.log(step)
    )
    log_total = logsumexp(log_mass, axis=1, keepdims=True)
    mass = np.exp(log_mass - log_total)
    # an end holds too much if it holds too much of the mass or of E[V]'s integrand, which a
    # heavy utility's E[V | U = u] ~ u can leave far above the mass at the upper end
    moment = mass * np.abs(nodes["given"])
    moment /= np.maximum(moment.sum(axis=1, keepdims=True), 1.0)
    return _OuterRule(
        utility=(mass * nodes["given"]).sum(axis=1),
        proxy=np.full(len(n), np.inf) if infinite_error else (mass * nodes["u"]).sum(axis=1),
        total=np.exp(log_total[:, 0]),
        end_shares=(np.maximum(mass[:, 0], moment[:, 0]), np.maximum(mass[:, -1], moment[:, -1])),
    )


def _interleave(a, b):
    """``a[0], b[0], a[1], b[1], ..., a[-1]`` for ``len(b) = len(a) - 1``."""
    out = np.empty(a.size + b.size)
    out[0::2], out[1::2] = a, b
    return out


@dataclass(frozen=True)
class _Pieces:
    """Pieces of the integration line, one threshold (row) each, in a coordinate ``w``.

    ``kind`` says how ``w`` maps to the line (``r = w / (1 - w)`` for ``w`` in ``[0, 1)``):

    * 0, a plain piece: ``s = w``;
    * 1 and -1, the ends of the line: ``s = anchor +- length (e^r - 1)``, out to ``+inf`` or
      ``-inf``; ``e^r`` makes an algebraic tail ``s^-a`` decay like ``e^(-(a - 1) r)``, where
      ``s = length r`` would leave it ``(1 - w)^(a - 2)``, singular at ``w = 1`` for ``a < 2``;
    * 3 and -3, a piece at an end of V's support, where ``f_V`` may be infinite: in V's own
      probability, ``s = Q_V(w)`` (lower end) or ``s = Qbar_V(w)`` (upper end), so that
      ``f_V(s) ds = dw`` and no density is evaluated near the end;
    * 2 and -2, a piece at an end of X's support (``t - s`` at it), where the kernel may have a
      kink or a singularity: ``s = anchor +- length exp(-r)``, which turns an algebraic
      singularity at the ``anchor`` into an exponential decay in ``r``.

    ``sign`` is the sign of ``s - mu`` on the piece (``mu`` is a breakpoint). ``end`` is, on a
    piece of kind 2 or -2 at an end of X's support, that end (``t - anchor`` rounded exactly),
    else NaN.
    """

    row: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    kind: np.ndarray
    anchor: np.ndarray
    length: np.ndarray
    sign: np.ndarray
    end: np.ndarray
    log_scale_of_rows: np.ndarray  # kernel k's integrand in row i is divided by exp([k, i])

    @classmethod
    def between(cls, edges, values, log_peak, log_floor, decay, t, v, x, mu):
        """The pieces between ``edges`` that carry mass, each mapped as its ends require.

        ``log_peak`` and ``log_floor`` estimate each piece's integral from above and below
        (its length times the larger and the smaller end value): a piece is dropped only when
        its upper estimate is ``_LOG_DROP`` below the largest lower one, for every kernel. (The
        largest upper estimate, once the yardstick, comes from a long piece past a bump and
        overstates it by e^60 at t = 1e146: it dropped a piece of 8.9e-6 of the mass.)

        ``values`` is the log integrand at the edges (the largest over the kernels): a piece
        whose ends differ by more than ``_STEEP`` in it holds its mass near the larger end, and
        is mapped like a support end towards that end. ``decay`` (a row's lower and upper
        open end) is the length over which the integrand falls by a factor ``e`` there: an
        open end's length is at most that, so that its mass does not sit in a sliver of ``w``.
        """
        a, b = edges[:, :-1], edges[:, 1:]
        t = t[:, None]
        with np.errstate(invalid="ignore"):
            steep = values[:, 1:] - values[:, :-1]
        (v_lo, v_hi), (x_lo, x_hi) = v.support(), x.support()
        kind = np.select(
            [np.isinf(b), np.isinf(a), a == v_lo, b == v_hi, a == t - x_hi, b == t - x_lo,
             steep < -_STEEP, steep > _STEEP],
            [1, -1, 3, -3, 2, -2, 2, -2],
            default=0,
        )
        anchor = np.where(kind > 0, a, b)
        end = np.select([(kind == 2) & (a == t - x_hi), (kind == -2) & (b == t - x_lo)],
                        [np.broadcast_to(x_hi, a.shape), np.broadcast_to(x_lo, a.shape)], np.nan)
        with np.errstate(invalid="ignore"):
            width = v.spread + x.spread
            open_end = np.where(kind == 1, decay[:, 1:], decay[:, :1])
            length = np.select(
                [np.abs(kind) == 1, np.abs(kind) == 2],
                [np.minimum(width + 0.1 * np.abs(anchor), open_end), b - a], 0.0,
            )
            lo, hi = np.where(kind == 0, a, 0.0), np.where(kind == 0, b, 1.0)
            # in V's probability: [F(a), F(b)] at the lower end, [Fbar(b), Fbar(a)] at the upper
            lower, upper = kind == 3, kind == -3
            if lower.any():  # scipy's methods cost ~0.1 ms a call, even on nothing
                lo[lower], hi[lower] = v.cdf(a[lower]), v.cdf(b[lower])
            if upper.any():
                lo[upper], hi[upper] = v.sf(b[upper]), v.sf(a[upper])
            nonempty = (b > a) & (hi > lo)
        # each kernel's largest estimate in each row sets that kernel's scale; a piece is kept
        # if it matters for any kernel
        finite_peak = np.where(np.isposinf(log_peak), -np.inf, log_peak)
        scale = finite_peak.max(axis=-1)
        floor = log_floor.max(axis=-1)  # -inf where no piece is nonzero at both ends
        floor = np.where(np.isfinite(floor), floor, scale)
        matters = np.any(log_peak >= floor[..., None] + _LOG_DROP, axis=0)
        keep = nonempty & (matters | (kind != 0))
        with np.errstate(invalid="ignore"):
            middle = np.where(np.abs(kind) == 1, kind, 0.5 * a + 0.5 * b - mu)
        row = np.broadcast_to(np.arange(edges.shape[0])[:, None], a.shape)
        return cls(
            row=row[keep], lo=lo[keep], hi=hi[keep], kind=kind[keep], anchor=anchor[keep],
            length=length[keep], sign=np.sign(middle[keep]), end=end[keep],
            log_scale_of_rows=scale,
        )

    def select(self, mask):
        return _Pieces(
            self.row[mask], self.lo[mask], self.hi[mask], self.kind[mask], self.anchor[mask],
            self.length[mask], self.sign[mask], self.end[mask], self.log_scale_of_rows,
        )

    def bisect(self):
        """Each piece in two halves of its coordinate; a plain piece with no double between
        its ends (far out, where ``ulp(s)`` is wider than X's bump: ``V ~ t_1.5``,
        ``X ~ t_3`` at ``t = 5e17``) in two halves mapped from its ends (kinds 2 and -2),
        whose ``t - s`` comes exactly from ``t`` minus the end: halving ``s`` rounded onto
        an end, and f_U came out 1-4% off without a word."""
        mid = 0.5 * (self.lo + self.hi)
        stuck = (self.kind == 0) & ((mid <= self.lo) | (mid >= self.hi))
        half = 0.5 * (self.hi - self.lo)

        def halves(first, second):
            return np.concatenate([first, second])

        def plain_or(mapped, plain):
            return np.where(stuck, mapped, plain)

        return _Pieces(
            halves(self.row, self.row),
            halves(plain_or(0.0, self.lo), plain_or(0.0, mid)),
            halves(plain_or(1.0, mid), plain_or(1.0, self.hi)),
            halves(plain_or(2, self.kind), plain_or(-2, self.kind)),
            halves(plain_or(self.lo, self.anchor), plain_or(self.hi, self.anchor)),
            halves(plain_or(half, self.length), plain_or(half, self.length)),
            halves(self.sign, self.sign), halves(self.end, self.end), self.log_scale_of_rows,
        )

    def nodes(self, v, t):
        """Each piece's Kronrod nodes on the line, ``s``, the kernel's argument ``t - s`` there,
        and ``log f_V(s) |ds/dw|``.

        ``t - s`` is never ``t`` minus the rounded ``s``: on a piece of kind 1, -1, 2 or -2 it
        is ``(t - anchor) -+ step``, with X's support end for ``t - anchor`` where the piece
        is at one (a density singular at that end has mass within an ulp of it,
        ``gamma(0.5)``: 1e-8 of it within 1e-16, which only the step resolves); on a plain
        piece it is spread between ``t - hi`` and ``t - lo``. So X's line is tiled exactly
        where its bump spans few doubles of ``s`` (``V ~ t_2``, ``X ~ N(0, 1)`` at 1e15).
        """
        half = 0.5 * (self.hi - self.lo)
        w = 0.5 * (self.hi + self.lo)[:, None] + half[:, None] * _NODES
        s, log_weight = w.copy(), np.zeros_like(w)
        size = np.abs(self.kind)
        from_anchor = []  # codes 1 and 2: which pieces, and t - s there, from t - anchor
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            for code in (1, 2):
                mapped = size == code
                if mapped.any():
                    wm = w[mapped]
                    r, log_dr = wm / (1 - wm), -2 * np.log1p(-wm)
                    step = self.length[mapped, None] * (np.expm1(r) if code == 1 else np.exp(-r))
                    step *= np.sign(self.kind[mapped, None])
                    anchor = self.anchor[mapped, None]
                    s[mapped] = anchor + step
                    log_length = np.log(self.length[mapped, None])
                    log_weight[mapped] = log_length + log_dr + (r if code == 1 else -r)
                    # X's support end, or t - anchor (exact where X's bump is near)
                    at = t[self.row[mapped], None] - anchor
                    if code == 2:
                        end = self.end[mapped, None]
                        at = np.where(np.isnan(end), at, end)
                    from_anchor.append((mapped, at - step))
            for code, quantile in ((3, v.ppf), (-3, v.isf)):
                ends = self.kind == code
                if ends.any():
                    s[ends] = quantile(w[ends])
            density = size != 3
            log_weight[density] += v.logpdf(s[density])
        gap = t[self.row][:, None] - s
        # on a plain piece, t - s from the piece's ends in t - s, t - hi and t - lo (exact
        # where X's bump is near): the pieces then tile X's line exactly where its bump is
        # narrower than the spacing of doubles at s (t - s rounded moves each node by up to
        # ulp(s) / 2, and the middle of [lo, hi] rounded shifts a whole piece: at t = 1e11,
        # V ~ t_2 and X ~ N(0, 1), f_U came out 2.7e-6 too large)
        plain = self.kind == 0
        if plain.any():
            ti = t[self.row[plain]]
            middle = 0.5 * ((ti - self.hi[plain]) + (ti - self.lo[plain]))
            gap[plain] = middle[:, None] - half[plain, None] * _NODES
        for mapped, values in from_anchor:
            gap[mapped] = values
        # where a probability rounds to an end of V's support, the node sits on it and
        # carries nothing (a node on a singular point of the kernel: see integrate)
        log_weight[(size == 3)[:, None] & ~np.isfinite(s)] = -np.inf
        return s, gap, log_weight, half

    def integrate(self, t, v, x, mu, kernels, moments):
        """Kronrod sums and |Kronrod - Gauss| errors of each piece, per kernel and moment."""
        s, gap, log_weight, half = self.nodes(v, t)
        sums, errors = {}, {}
        for index, k in enumerate(kernels):
            scale = self.log_scale_of_rows[index, self.row][:, None]
            base = log_weight - scale
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                log_k = _kernel(x, k, gap)
                # a node on a singular point of the kernel (its argument rounded onto an end
                # of X's support) stands for a set of measure zero: it carries nothing
                log_values = np.where(np.isnan(base + log_k) | np.isposinf(log_k), -np.inf,
                                      base + log_k)
                values = np.exp(log_values)
                # the log integrand is a sum of terms of its own size: it carries a rounding
                # error of about that times eps, which no quadrature can beat
                size = np.max(np.where(values > 0, np.abs(log_values + scale), 0.0), axis=1)
            moment = [np.where(values > 0, values * np.abs(s - mu), 0.0)] if k in moments else []
            rows = np.stack([values] + moment)
            kronrod = (rows @ _KRONROD) * half
            gauss = (rows @ _GAUSS) * half
            # QUADPACK's estimate of the Kronrod rule's own error from |Kronrod - Gauss|, the
            # Gauss rule's: scaled by the integrand's spread about its mean on the piece
            spread = (np.abs(rows - (kronrod / (2 * half))[..., None]) @ _KRONROD) * half
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(spread > 0, 200 * np.abs(kronrod - gauss) / spread, 0.0)
            error = spread * np.minimum(1.0, ratio**1.5)
            rounding = 64 * np.finfo(float).eps * (1 + size) * np.abs(kronrod)
            if k in moments:
                kronrod[1] *= self.sign
            sums[k] = kronrod
            errors[k] = np.maximum(error - rounding, 0.0)
        return sums, errors


def _breakpoints(v, x, t, mu, lo, hi, kernels):
    """Breakpoints (one row per threshold) and each piece's coarse log estimate.

    Quantiles of ``V`` resolve the bump where utility is typical, ``t`` minus quantiles of
    ``X`` the bump where error is typical, a geometric-and-linear fill the stretch between,
    and the grid point where the integrand is largest, with its neighbours' midpoints, the
    peak (it moves with ``t`` when both tails are light), refined by golden-section search
    between that point's neighbours. The estimates of a piece are its length times the larger
    and the smaller integrand at its two ends (the larger by the middle where an end is
    singular).
    """
    v_points = np.append(v.landmarks, mu)
    x_points = x.landmarks
    v_mid, x_mid = v.middle, x.middle
    t = t[:, None]
    gap = t - x_mid - v_mid  # from V's bump to the error's bump
    fill = [v_mid + gap * _LINEAR]
    for start, scale, direction in [(v_mid, v.spread, 1.0), (t - x_mid, x.spread, -1.0)]:
        ratio = np.maximum(np.abs(gap) / (2 * scale), 1.0) ** (1 / (_GEOMETRIC_STEPS - 1))
        steps = scale * ratio ** np.arange(_GEOMETRIC_STEPS)
        fill.append(start + direction * np.sign(gap) * steps)
    grid = np.concatenate(
        [np.broadcast_to(v_points, (len(t), v_points.size)), t - x_points, *fill], axis=1
    )
    grid = np.clip(grid, lo[:, None], hi[:, None])
    grid = _merge_close(grid, limits=False)
    values = _log_integrand(v, x, grid, t, kernels).max(axis=0)
    peak = np.argmax(values, axis=1)
    rows = np.arange(len(t))
    left = grid[rows, np.maximum(peak - 1, 0)]
    right = grid[rows, np.minimum(peak + 1, grid.shape[1] - 1)]
    # at a singular peak (a density infinite at an end of its support) the grid point is the
    # edge the singular piece needs; a point found beside it would leave that piece a sliver
    singular = np.isposinf(values[rows, peak])
    extra = [np.where(singular, grid[rows, peak],
                      _golden_peak(v, x, t[:, 0], left, right, kernel)) for kernel in kernels]
    edges = np.concatenate([lo[:, None], grid, *[e[:, None] for e in extra], hi[:, None]], axis=1)
    edges = _merge_close(edges)
    values = _log_integrand(v, x, edges, t, kernels)
    # a piece singular at both ends (V's density at one, X's at the other) is split in two,
    # so that each half maps its own singularity
    singular = np.isposinf(values.max(axis=0))
    both = singular[:, :-1] & singular[:, 1:]
    if both.any():
        middles = np.where(both, 0.5 * (edges[:, :-1] + edges[:, 1:]), edges[:, :-1])
        edges = _merge_close(np.concatenate([edges, middles], axis=1))
        values = _log_integrand(v, x, edges, t, kernels)
    with np.errstate(invalid="ignore", divide="ignore"):
        length = np.diff(edges, axis=1)
        log_length = np.log(np.where(np.isfinite(length) & (length > 0), length, 1.0))
        log_peak = log_length + np.maximum(values[..., :-1], values[..., 1:])
        infinite = np.isposinf(log_peak)  # a singular end: estimate by the piece's middle
        if infinite.any():
            middle = _log_integrand(v, x, 0.5 * (edges[:, :-1] + edges[:, 1:]), t, kernels)
            log_peak = np.where(infinite, log_length + middle, log_peak)
        log_floor = log_length + np.minimum(values[..., :-1], values[..., 1:])
    log_peak = np.where((length > 0) & ~np.isnan(log_peak), log_peak, -np.inf)
    log_floor = np.where((length > 0) & np.isfinite(length) & ~np.isnan(log_floor)
                         & (log_floor < np.inf), log_floor, -np.inf)
    return (edges, values.max(axis=0), log_peak, log_floor,
            _decay_beyond(v, x, t[:, 0], edges, kernels))


def _decay_beyond(v, x, t, edges, kernels):
    """How far beyond each row's first and last finite edge the log integrand falls by 1.

    A one-sided difference over ``h`` (1e-9 relative); where the integrand does not fall
    there (or is not finite), ``inf``: the open end keeps its default length.
    """
    finite = np.where(np.isfinite(edges), edges, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row of no finite edge
        ends = np.stack([np.nanmin(finite, axis=1), np.nanmax(finite, axis=1)], axis=1)
    h = 1e-9 * np.maximum(1.0, np.abs(ends)) * np.array([-1.0, 1.0])
    at = _log_integrand(v, x, ends, t[:, None], kernels).max(axis=0)
    beyond = _log_integrand(v, x, ends + h, t[:, None], kernels).max(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        drop = at - beyond
        return np.where(np.isfinite(at) & (drop > 0), np.abs(h) / drop, np.inf)


def _golden_peak(v, x, t, left, right, kernel, steps=20):
    """The maximum of one log integrand between ``left`` and ``right``, by golden sections.

    Where a bracket end is not finite, or the integrand is infinite (a density singular at an
    end of its support), the bracket's middle is returned: the grid resolves such a peak.
    """
    finite = np.isfinite(left) & np.isfinite(right)
    a, b = np.where(finite, left, 0.0), np.where(finite, right, 0.0)
    ratio = (np.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = (_log_integrand(v, x, point, t, (kernel,))[0] for point in (c, d))
    for _ in range(steps):
        keep_left = fc >= fd
        a, b = np.where(keep_left, a, c), np.where(keep_left, d, b)
        c, d = (
            np.where(keep_left, b - ratio * (b - a), d),
            np.where(keep_left, c, a + ratio * (b - a)),
        )
        new = _log_integrand(v, x, np.where(keep_left, c, d), t, (kernel,))[0]
        fc, fd = np.where(keep_left, new, fd), np.where(keep_left, fc, new)
    middle = 0.5 * (left + right)
    return np.where(finite & np.isfinite(fc) & np.isfinite(fd), 0.5 * (a + b), middle)


def _kernel(x, kernel, gap):
    """The kernel ``K(t - s)``: X's tail, CDF or density at ``gap = t - s``, in logs."""
    if kernel == "tail":
        return x.logsf(gap)
    if kernel == "cdf":
        return x.logcdf(gap)
    return x.logpdf(gap)


def _log_integrand(v, x, s, t, kernels):
    """The log integrands ``log f_V(s) + log K(t - s)``, one for each kernel (stacked)."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        base = v.logpdf(s)
        values = np.stack([base + _kernel(x, k, t - s) for k in kernels])
    return np.where(np.isnan(values), -np.inf, values)


def _merge_close(edges, limits=True):
    """Sort each row and make breakpoints closer than rounding error (``_CLOSE``) equal.

    Pieces a few ulps long carry no mass but defeat the quadrature; collapsing them to zero
    length keeps the neighbouring pieces joined. A run of close breakpoints takes its first
    value; with ``limits`` (the row's first and last edges are the integral's limits) the run
    at the top takes the last, the upper limit (a breakpoint 2 ulps below an upper end of V
    at 1 took its place, and two uniforms lost the mass beyond it: ``P(U >= 2 - e)`` short by
    ``2 eps / e`` of its value, 4e-8 at ``e = 1e-8``, without a word).
    """
    edges = np.sort(edges, axis=1)
    previous = edges[:, :-1]
    with np.errstate(invalid="ignore"):
        gap = edges[:, 1:] - previous
    close = np.isfinite(previous) & (gap <= _CLOSE * np.maximum(1.0, np.abs(previous)))
    # each breakpoint takes the value of the first of the run of close ones it ends
    columns = np.arange(edges.shape[1])
    first = np.maximum.accumulate(np.where(np.insert(~close, 0, True, axis=1), columns, 0), axis=1)
    merged = np.take_along_axis(edges, first, axis=1)
    return np.where(merged == merged[:, -1:], edges[:, -1:], merged) if limits else merged


def _quantile(dist, z):
    """``Q(p)`` at logit level ``z = log(p / (1 - p))``, accurate where scipy's ``isf`` fails.

    scipy's ``isf`` returns ``-inf`` for Student-t and ``inf`` for Levy below ``p ~ 1e-150``;
    entries that do not round-trip through ``logsf``/``logcdf`` are found by bisection on
    ``asinh(x)`` of the monotone ``logit F(x)``.
    """
    z = np.asarray(z, dtype=float)
    log_sf, log_cdf = -np.logaddexp(0, z), -np.logaddexp(0, -z)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        q = np.where(z > 0, dist.isf(np.exp(log_sf)), dist.ppf(np.exp(log_cdf)))
        back = np.where(z > 0, dist.logsf(q) - log_sf, dist.logcdf(q) - log_cdf)
    bad = ~np.isfinite(q) | ~(np.abs(back) <= 1e-9 * (1 + np.abs(z)))
    if np.any(bad):
        q[bad] = _bisect_logit(dist, z[bad])
    return q


def _bisect_logit(dist, z):
    """Solve ``log F(x) - log Fbar(x) = z`` by bisection on ``s = asinh(x)``, ``|x| < 1e300``."""
    lo, hi = np.full(z.shape, -np.arcsinh(1e300)), np.full(z.shape, np.arcsinh(1e300))
    for _ in range(90):
        mid = 0.5 * (lo + hi)
        x = np.sinh(mid)
        with np.errstate(divide="ignore"):
            above = dist.logcdf(x) - dist.logsf(x) > z
        hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
    return np.sinh(0.5 * (lo + hi))


def _describe(q):
    name, shapes, loc, scale = tails.standard_form(q)
    args = [f"{s:g}" for s in shapes]
    if loc != 0:
        args.append(f"loc={loc:g}")
    if scale != 1:
        args.append(f"scale={scale:g}")
    return f"{name}({', '.join(args)})"
