"""Theorems 2 and 4: exponential tilts, the KL frontier and the KL-penalized optimum.

The numbering is the paper's final one (arXiv 2407.14503): Theorem 2 is the KL frontier
(Theorem 3 of the post and of the submission), Theorem 4 the KL-penalized optimum.

The exponential tilt of ``V ~ Q`` at ``lam >= 0`` is the law ``Q_lam`` with
``dQ_lam/dQ = exp(lam V - Lambda(lam))``, where ``Lambda(lam) = log E_Q exp(lam V)`` is the
log moment generating function (log-MGF). Its mean is ``Lambda'(lam)`` and its KL to ``Q`` is
``lam Lambda'(lam) - Lambda(lam)``, which rises from 0 as ``lam`` does. Tilts solve both
optimization problems of the book:

* the **KL frontier** ``Phi(d) = sup{E_P[V] : D(P||Q) <= d}``. Donsker-Varadhan gives
  ``E_P[V] <= (d + Lambda(lam)) / lam`` for every ``lam > 0``, with equality for the tilt whose
  KL is ``d``: where such a tilt exists it attains the frontier (Theorem 2); where none
  does, the supremum is not attained (below). For small ``d``,
  with ``s`` the standard deviation and ``kappa_3`` the third cumulant,
  ``Phi(d) = E[V] + s sqrt(2 d) + kappa_3 d / (3 s^2) + O(d^{3/2})`` (:func:`frontier_series`);
* the **penalized optimum** ``argmax_P E_P[U] - beta D(P||Q)`` is the Gibbs law
  ``dP/dQ = exp(U / beta) / Z``; for ``U = X + V`` with independent ``X, V`` it is the product
  of their tilts at ``1 / beta`` (Theorem 4), and its objective is ``beta log Z``. Here
  ``D`` is the KL between the laws of the whole outcome (for policies, the trajectory KL:
  the per-state KL summed along the trajectory); the paper's per-state *average* has, for
  texts of different lengths, an optimum that is not a tilt.

Both need ``Lambda`` finite, which is decided by the right tail: the MGF is finite below the
radius ``r = sup{lam : E exp(lam V) < inf}`` and infinite above it; ``r = 0`` exactly for the
heavy right tails, ``r = inf`` for a bounded support or tails lighter than every exponential.
The radius comes from :func:`goodhart.tails.mgf_radius`, which decides it exactly from the
family. A heavy tail has an infinite frontier at every ``d > 0`` and no penalized optimum.

If the tilts' KL stays bounded as ``lam -> r`` (a finite MGF *and* mean at the radius, e.g. a
density ``exp(-x) / x^3`` far out; scipy's ``geninvgauss(p, b)`` with ``p < -1``, whose tilt at
``r = b / 2`` is an inverse gamma law), the frontier beyond ``K = KL(r)`` is *not attained*: it
is ``(d + Lambda(r)) / r``, the Donsker-Varadhan bound at ``lam = r``, approached by moving
mass into the far tail of ``Q_r`` (Theorem 1 applied to ``Q_r``), and no ``P`` reaches it
(equality in the bound needs ``P = Q_r``, whose KL is ``K < d``). Then the maximizer is not a
tilt, and no maximizer exists. None of the families :mod:`goodhart.tails` classifies today has
that property (their MGFs are infinite at the radius, so every ``d`` is reached by a tilt), but
the functions below handle it.

Numerics. Integrals are taken in the family's standard coordinate ``z`` (scipy's ``loc = 0``,
``scale = 1`` member, through its public ``logpdf`` on arrays) by double-exponential
quadrature (tanh-sinh on finite pieces, exp-sinh on infinite ones) on pieces mapped to the
tilted density's peak and width, with nested levels until successive levels agree. The log
integrand is shifted by its peak, so nothing overflows, and two arrangements of the same
integrals avoid cancellation at both ends of ``lam``: around the mean,
``Lambda = log(1 + int (e^{lam y} - 1 - lam y) f)`` and
``Lambda' = int y (e^{lam y} - 1) f / e^Lambda`` (non-negative integrands, exact as
``lam -> 0``), and around the peak for narrow tilts far out. Small budgets use the series.

Every result carries an error estimate: the quadrature's, the rounding of ``lam v`` and of
the log-density where the tilt has its mass (``1e-16`` times their size: a tilt far out,
``|lam v| ~ 1e7``, is good to ``1e-9`` at best), nodes that doubles cannot place nearer to
a singular end of the support, and mass lost where scipy's ``logpdf`` underflows or breaks
down (``laplace`` beyond 745, ``genhyperbolic`` beyond ``1e9``). A result whose estimate
exceeds ``1e-9`` comes with a ``RuntimeWarning``, or raises ``ValueError`` naming the argument
beyond ``1e-6``: never a silent NaN. The normal law, whose tilt is ``N(mu + s^2 lam, s^2)``,
is exact at every ``lam`` (closed form).
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import polynomial
from scipy import special
from scipy.optimize import elementwise

from goodhart import _checks, tails
from goodhart.tails import is_heavy_tailed, mgf_radius  # noqa: F401 (importable from here too)

__all__ = [
    "PenalizedOptimum",
    "Tilt",
    "frontier_series",
    "kl_frontier",
    "log_mgf",
    "penalized_optimum",
    "standardized",
    "tilt",
]

_RTOL = 1e-9  # the relative accuracy every public result is checked against ...
_LIMIT = 1e-6  # ... with a RuntimeWarning up to this estimate, and a ValueError beyond it
_EPS = np.finfo(float).eps


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Tilt:
    """The exponential tilt ``Q_lam`` of a law ``q``: ``dQ_lam/dQ = exp(lam v - log_mgf)``.

    Fields are floats for a scalar ``lam`` and arrays of its shape otherwise.

    Attributes
    ----------
    q : frozen scipy.stats law
        The base law ``Q``.
    lam : float or ndarray
        The tilt parameter.
    log_mgf : float or ndarray
        ``Lambda(lam) = log E_Q exp(lam V)``.
    mean : float or ndarray
        ``E_{Q_lam}[V] = Lambda'(lam)``.
    kl : float or ndarray
        ``D(Q_lam || Q) = lam Lambda'(lam) - Lambda(lam)`` in nats.
    """

    q: object = field(repr=False)
    lam: float | np.ndarray
    log_mgf: float | np.ndarray
    mean: float | np.ndarray
    kl: float | np.ndarray

    def log_likelihood_ratio(self, x):
        """``log dQ_lam/dQ (x) = lam x - Lambda(lam)``; ``x`` broadcasts against ``lam``."""
        x = _checks.real(x, "x", finite=False)
        return _like(np.multiply(self.lam, x) - self.log_mgf, np.broadcast_shapes(
            np.shape(x), np.shape(self.lam)))

    def logpdf(self, x):
        """Log-density of ``Q_lam``; ``x`` broadcasts against ``lam``."""
        with np.errstate(invalid="ignore"):
            out = np.asarray(self.q.logpdf(x)) + self.log_likelihood_ratio(x)
        return _like(np.where(np.isnan(out), -np.inf, out), np.shape(out))

    def pdf(self, x):
        """Density of ``Q_lam``; ``x`` broadcasts against ``lam``.

        Examples
        --------
        >>> from scipy import stats
        >>> print(round(tilt(stats.norm(), 2.0).pdf(2.0), 12), round(stats.norm.pdf(0.0), 12))
        0.398942280401 0.398942280401
        """
        return _like(np.exp(self.logpdf(x)), np.broadcast_shapes(np.shape(x), np.shape(self.lam)))


@dataclass(frozen=True)
class PenalizedOptimum:
    """The maximizer of ``E_P[U] - beta D(P||Q)`` for ``U = X + V``, ``X``, ``V`` independent.

    Fields are floats for a scalar ``beta`` and arrays of its shape otherwise.

    Attributes
    ----------
    beta : float or ndarray
        The KL coefficient.
    utility : float or ndarray
        ``E[V]`` under the optimum.
    error : float or ndarray
        ``E[X]`` under the optimum.
    proxy : float or ndarray
        ``E[U] = E[X] + E[V]`` under the optimum.
    kl : float or ndarray
        ``D(optimum || Q)`` in nats, the sum of the two tilts' KLs.
    objective : float or ndarray
        The optimal value ``E[U] - beta KL = beta log E_Q exp(U / beta)``.
    """

    beta: float | np.ndarray
    utility: float | np.ndarray
    error: float | np.ndarray
    proxy: float | np.ndarray
    kl: float | np.ndarray
    objective: float | np.ndarray


# --------------------------------------------------------------------------------------------
# Public functions


def tilt(v, lam):
    """The exponential tilt of ``v`` at ``lam``: the law that maximizes ``E[V]`` at its own KL.

    Parameters
    ----------
    v : frozen scipy.stats law
        A continuous law with a finite mean.
    lam : float or array_like
        Tilt parameters, ``0 <= lam <`` :func:`goodhart.tails.mgf_radius` ``(v)`` (``lam = 0``
        for any law with a finite mean: the tilt is ``v`` itself).

    Returns
    -------
    Tilt
        Fields ``lam``, ``log_mgf``, ``mean``, ``kl`` (floats for a scalar ``lam``, arrays of
        its shape otherwise), relative error below ``1e-9``.

    Raises
    ------
    ValueError
        For a bad ``v`` or ``lam``, where ``E exp(lam V)`` is infinite (``lam`` at or beyond
        the radius), or where double precision cannot give the tilt to ``1e-6`` (a tilt so far
        out that the rounding of the log-density at its mass is larger; the normal law is exact
        at every ``lam``). Between ``1e-9`` and ``1e-6`` a ``RuntimeWarning`` instead.

    Examples
    --------
    >>> from scipy import stats
    >>> t = tilt(stats.expon(), 0.5)  # Exp(1) tilted at 1/2 is Exp(rate 1/2)
    >>> round(t.mean, 12), round(t.kl, 12), round(t.log_mgf, 12)
    (2.0, 0.30685281944, 0.69314718056)
    >>> tilt(stats.norm(1.0, 2.0), [0.0, 1.0]).mean  # N(mu + s^2 lam, s^2)
    array([1., 5.])
    """
    law = _Law(v, "v", need_mean=True)
    lam = _checks.real(lam, "lam", low=0.0)
    _check_tilt_domain(law, lam, "lam")
    out = law.tilt_v(lam)
    _check_accuracy(law, out, lam, "lam", ("mean", "kl", "log_mgf"))
    return Tilt(
        q=v,
        lam=_like(lam, lam.shape),
        log_mgf=_like(out["log_mgf"], lam.shape),
        mean=_like(out["mean"], lam.shape),
        kl=_like(out["kl"], lam.shape),
    )


def log_mgf(v, lam):
    """``Lambda(lam) = log E exp(lam V)``: finite below the MGF radius, ``inf`` beyond it.

    Parameters
    ----------
    v : frozen scipy.stats law
    lam : float or array_like
        ``lam >= 0``.

    Returns
    -------
    float or ndarray
        ``0`` at ``lam = 0`` for every law; ``inf`` where the MGF diverges (every ``lam > 0``
        for a heavy right tail); otherwise to a relative error below ``1e-9``.

    Examples
    --------
    >>> from scipy import stats
    >>> log_mgf(stats.norm(-1.0, 3.0), 0.5)  # mu lam + s^2 lam^2 / 2
    0.625
    >>> log_mgf(stats.expon(scale=2.0), [0.0, 0.25, 0.5, 1.0])  # -log(1 - 2 lam)
    array([0.        , 0.69314718,        inf,        inf])
    """
    law = _Law(v, "v", need_mean=False)
    lam = _checks.real(lam, "lam", low=0.0)
    out = np.full(lam.shape, np.inf)
    out[lam == 0] = 0.0
    finite = (lam > 0) & law.mgf_finite(lam)
    if np.any(finite):
        values = law.tilt_v(lam[finite])
        _check_accuracy(law, values, lam[finite], "lam", ("log_mgf",))
        out[finite] = values["log_mgf"]
    return _like(out, lam.shape)


def kl_frontier(v, d):
    """``Phi(d) = sup{E_P[V] : D(P||Q) <= d}``: the most utility a KL budget ``d`` can buy.

    Parameters
    ----------
    v : frozen scipy.stats law
        The law ``Q`` of ``V``, with a finite mean.
    d : float or array_like
        KL budgets in nats, finite and ``>= 0``.

    Returns
    -------
    float or ndarray
        ``E_Q[V]`` at ``d = 0``; ``inf`` at every ``d > 0`` for a heavy right tail (Theorem 1:
        any mean at any positive KL). For a light tail: where some tilt has KL ``d``, the
        mean of that tilt, which attains the supremum (Theorem 2), small budgets by
        :func:`frontier_series`; where every tilt's KL stays below ``d`` up to the MGF radius
        ``r`` (a finite MGF and mean at ``r``, see the module notes), the supremum
        ``(d + Lambda(r)) / r``, approached but attained by no ``P``. For every family
        :mod:`goodhart.tails` classifies today the first case holds at every ``d``. For a
        law bounded above the frontier tends to the upper end of the support as ``d`` grows
        (once no tilt resolvable in doubles reaches ``d``, the midpoint of the remaining
        interval, narrower than ``1e-9`` of the excess). The excess
        ``Phi(d) - E_Q[V]`` has a relative error below ``1e-9`` (plus the rounding of the sum).

    Raises
    ------
    ValueError
        For a bad ``v`` or ``d``, a law without a finite mean or a family whose tail
        goodhart cannot classify, and where double precision cannot give the frontier to
        ``1e-6`` (an unbounded law and a budget so large that the maximizing tilt's mass sits
        where the log-density's rounding error exceeds that; the normal law is exact at
        every ``d``). Between ``1e-9`` and ``1e-6`` a ``RuntimeWarning`` instead.

    Examples
    --------
    >>> from scipy import stats
    >>> kl_frontier(stats.norm(1.0, 2.0), 0.5)  # mu + s sqrt(2 d)
    3.0
    >>> print(f"{kl_frontier(stats.norm(), 1e-20):.6e}")  # sqrt(2 d), even for tiny d
    1.414214e-10
    >>> round(kl_frontier(stats.expon(), 1.0), 10)  # rho - 1 - log rho = d, via Lambert W
    3.1461932206
    >>> kl_frontier(stats.t(3), [0.0, 1e-9])  # heavy tail: any mean at any positive KL
    array([ 0., inf])
    >>> round(kl_frontier(stats.uniform(), 50.0), 12)  # tends to the upper end
    1.0
    """
    law = _Law(v, "v", need_mean=True)
    d = _checks.real(d, "d", low=0.0)
    out = np.full(d.shape, law.mean_v)
    positive = d > 0
    if law.radius == 0:
        out[positive] = np.inf
    elif np.any(positive):
        out[positive] = law.frontier_v(d[positive], "d")
    return _like(out, d.shape)


def standardized(law):
    """The law of the same scipy family moved to mean 0 and variance 1, to compare tails alone.

    ``law.dist(*shapes, loc=(loc - m) / sd, scale=scale / sd)`` with ``m`` and ``sd`` the mean
    and standard deviation of ``law``: the law of ``(X - m) / sd``, still a frozen member of
    its family (so that :mod:`goodhart.tails` knows its tail).

    Parameters
    ----------
    law : scipy.stats frozen continuous law
        A law with a finite, positive variance.

    Returns
    -------
    scipy.stats frozen continuous law
        The law of ``(X - E X) / sd(X)``.

    Raises
    ------
    ValueError
        If ``law`` is not a frozen continuous law, or its variance is infinite or undefined.

    Examples
    --------
    >>> from scipy import stats
    >>> z = standardized(stats.weibull_min(1.5))
    >>> print(z.dist.name, f"{z.mean():.12f} {z.var():.12f}")
    weibull_min 0.000000000000 1.000000000000
    """
    _checks.law(law, "law")
    _, shapes, loc, scale = tails.standard_form(law)
    mean, sd = float(law.mean()), float(law.std())
    if not (np.isfinite(mean) and np.isfinite(sd) and sd > 0):
        raise ValueError(f"law ({law.dist.name}) needs a finite, positive variance to be "
                         f"standardized; scipy gives mean {mean}, standard deviation {sd}")
    return law.dist(*shapes, loc=(loc - mean) / sd, scale=scale / sd)


def frontier_series(v):
    """Coefficients ``a`` of ``Phi(d) = sum_k a_k d^{k/2} + O(d^{5/2})``, the small-budget frontier.

    ``a_0 = E[V]``, ``a_1 = s sqrt(2)``, ``a_2 = kappa_3 / (3 s^2)``,
    ``a_3 = sqrt(2) (3 kappa_4 s^2 - 4 kappa_3^2) / (36 s^5)`` and
    ``a_4 = (40 kappa_3^3 - 45 kappa_3 kappa_4 s^2 + 9 kappa_5 s^4) / (270 s^8)``, with ``s`` the
    standard deviation and ``kappa_k`` the cumulants of ``V`` (from inverting
    ``KL(lam) = sum_n (n - 1) kappa_n lam^n / n! = d``). Evaluate with
    ``numpy.polynomial.polynomial.polyval(numpy.sqrt(d), a)``.

    Parameters
    ----------
    v : frozen scipy.stats law
        A light-tailed law (its MGF finite near 0, so all cumulants exist).

    Returns
    -------
    ndarray
        The five coefficients ``a_0 .. a_4`` (cumulants by quadrature, relative error about
        ``1e-12`` for ``a_1 .. a_3``).

    Examples
    --------
    >>> from scipy import stats
    >>> a = frontier_series(stats.expon())  # kappa_n = (n - 1)!
    >>> np.round(a, 10)
    array([ 1.        ,  1.41421356,  0.66666667,  0.07856742, -0.01481481])
    """
    law = _Law(v, "v", need_mean=True)
    if law.radius == 0:
        raise ValueError(
            f"v ({law.name}) is heavy-tailed: its frontier is infinite at every d > 0, "
            "so it has no expansion in d"
        )
    coefficients = law.series_z() * law.scale
    coefficients[0] = law.mean_v
    return coefficients


def penalized_optimum(*, utility, error, beta):
    """The KL-penalized optimum of ``U = X + V``: ``argmax_P E_P[U] - beta D(P||Q)``.

    The optimum is the Gibbs law ``dP/dQ = exp(U / beta) / Z``; with ``X`` and ``V``
    independent it is the product of their tilts at ``1 / beta``, its KL the sum of theirs and
    its objective ``beta (Lambda_X(1/beta) + Lambda_V(1/beta))``. It exists only where
    ``Z = E exp(X / beta) E exp(V / beta)`` is finite (and the tilts have finite means);
    otherwise the supremum is ``+inf`` and no optimum exists.

    Parameters
    ----------
    utility : frozen scipy.stats law
        The law of the true utility ``V``.
    error : frozen scipy.stats law
        The law of the error ``X``, independent of ``V``.
    beta : float or array_like
        KL coefficients, finite and ``> 0``.

    Returns
    -------
    PenalizedOptimum
        Fields ``beta``, ``utility``, ``error``, ``proxy``, ``kl``, ``objective`` (floats for a
        scalar ``beta``, arrays of its shape otherwise), relative error below ``1e-9``.

    Raises
    ------
    ValueError
        For bad laws or ``beta``; "no optimum" with the reason where ``E exp(U / beta)`` is
        infinite (a heavy-tailed law, or ``1 / beta`` at or beyond an MGF radius); where
        double precision cannot give the optimum to ``1e-6`` (a ``RuntimeWarning`` between
        ``1e-9`` and ``1e-6``; normal laws are exact at every ``beta``).

    Examples
    --------
    >>> from scipy import stats
    >>> r = penalized_optimum(utility=stats.norm(), error=stats.norm(), beta=0.5)
    >>> r.utility, r.error, r.kl, r.objective  # 1/beta each, (1 + 1)/(2 beta^2), 1/beta
    (2.0, 2.0, 4.0, 2.0)
    >>> print(f"{penalized_optimum(utility=stats.norm(), error=stats.norm(), beta=1e8).kl:.6e}")
    1.000000e-16
    """
    laws = {
        "utility": _Law(utility, "utility", need_mean=True),
        "error": _Law(error, "error", need_mean=True),
    }
    beta = _checks.real(beta, "beta", low=0.0, low_open=True)
    with np.errstate(over="ignore", divide="ignore"):
        lam = 1.0 / beta
    if not np.all(np.isfinite(lam)):
        raise ValueError(f"beta must be at least 1 / (largest double), got {_short(beta)}")
    for name, law in laws.items():
        if law.radius == 0:
            raise ValueError(
                f"no optimum: the {name} law ({law.name}) is heavy-tailed, so E exp(U / beta) "
                "is infinite for every beta > 0 and sup E[U] - beta KL = inf"
            )
        bad = ~law.tilt_exists(lam)
        if np.any(bad):
            limit = 1.0 / law.radius
            at = "<" if law.tilt_at_radius else "<="
            below = "<" if law.finite_at_radius else "<="
            reason = (
                f"the MGF of the {name} law ({law.name}) is finite only for lam "
                f"{'<=' if law.finite_at_radius else '<'} {law.radius:g}, so for beta "
                f"{below} {limit:g} E exp(U / beta) = inf and sup E[U] - beta KL = inf"
            )
            if law.finite_at_radius and not law.tilt_at_radius:
                reason += (f"; at beta = {limit:g} the supremum beta log E exp(U / beta) is "
                           "finite but not attained (the Gibbs law there has an infinite mean)")
            raise ValueError(
                f"no optimum for beta {at} {limit:g} (got beta = {_short(beta[bad])}): {reason}"
            )
    parts = {}
    for name, law in laws.items():
        parts[name] = law.tilt_v(lam)
        _check_accuracy(law, parts[name], beta, "beta", ("mean", "kl", "log_mgf"),
                        what=f"the tilt of the {name} law at 1 / beta")
    shape = beta.shape
    u, x = parts["utility"], parts["error"]
    return PenalizedOptimum(
        beta=_like(beta, shape),
        utility=_like(u["mean"], shape),
        error=_like(x["mean"], shape),
        proxy=_like(u["mean"] + x["mean"], shape),
        kl=_like(u["kl"] + x["kl"], shape),
        objective=_like(beta * (u["log_mgf"] + x["log_mgf"]), shape),
    )


# --------------------------------------------------------------------------------------------
# Validation helpers


def _like(values, shape):
    values = np.asarray(values, dtype=float)
    return float(values.reshape(())) if shape == () else values.reshape(shape)


def _short(values):
    values = np.ravel(values)
    text = ", ".join(f"{x:g}" for x in values[:3])
    return text + (", ..." if values.size > 3 else "")


def _check_tilt_domain(law, lam, name):
    bad = ~law.tilt_exists(lam)
    if not np.any(bad):
        return
    value = float(np.ravel(lam[bad])[0])
    if law.radius == 0:
        raise ValueError(
            f"{name} = {value:g}: v ({law.name}) is heavy-tailed, so E exp(lam V) is infinite "
            "for every lam > 0; only lam = 0 (v itself) is a tilt"
        )
    if value == law.radius and law.mgf_finite(np.array([value]))[0]:
        raise ValueError(
            f"{name} = {value:g}: at the MGF radius of v ({law.name}) E exp(lam V) is finite "
            "but the tilt's mean is infinite"
        )
    raise ValueError(
        f"{name} = {value:g}: E exp(lam V) is infinite there; the MGF of v ({law.name}) is "
        f"finite only for lam < {law.radius:g}"
    )


def _check_accuracy(law, out, argument, name, fields, what=None):
    """Warn where an estimated relative error exceeds _RTOL, raise beyond _LIMIT."""
    worst = np.zeros(np.shape(argument))
    for key in fields:
        worst = np.maximum(worst, np.nan_to_num(out["rel_" + key], nan=np.inf))
    _report(worst, argument, out["mean"], name, what or f"the tilt of {law.name}")


def _report(worst, argument, where, name, what):
    """The one place where accuracy problems become a RuntimeWarning or a ValueError."""
    worst, argument, where = (np.ravel(np.asarray(x, dtype=float)) for x in
                              (worst, argument, where))
    bad = ~(worst <= _RTOL)
    if not np.any(bad):
        return
    i = int(np.argmax(np.where(bad, np.nan_to_num(worst, nan=np.inf), -1.0)))
    mean = f" (mean {where[i]:.4g})" if np.isfinite(where[i]) else ""
    text = (f"{name} = {argument[i]:g}: {what} cannot be computed to a relative error of "
            f"{_RTOL:g} in double precision (estimated {worst[i]:.1e}): scipy's log-density, "
            f"or the rounding of it and of lam * v, is not accurate enough where the tilt"
            f"{mean} has its mass")
    if not worst[i] <= _LIMIT:
        raise ValueError(text)
    warnings.warn(text, RuntimeWarning, stacklevel=4)


# --------------------------------------------------------------------------------------------
# Laws: the standard member, the radius and the behaviour at the radius

# Families whose MGF is finite at the radius r, as functions of the standard member's shapes:
# (E exp(r V) < inf, E V exp(r V) < inf). For every other family the MGF diverges at r. (These
# laws' radii come from goodhart.tails, which does not classify them yet.)
_AT_RADIUS = {
    # tail ~ x^(p - 1) exp(-(a - b) x)
    "genhyperbolic": lambda p, a, b: (p < 0, p < -1),
    # tail ~ x^(p - 1) exp(-b x / 2)
    "geninvgauss": lambda p, b: (p < 0, p < -1),
    # tails ~ x^(-3/2) exp(-r x)
    "invgauss": lambda mu: (True, False),
    "norminvgauss": lambda a, b: (True, False),
}


class _Law:
    """A validated law in its family's standard coordinate ``z`` (``v = loc + scale z``)."""

    def __init__(self, v, name, *, need_mean):
        if need_mean:
            self.mean_v = _checks.finite_mean(v, name)
        else:
            _checks.law(v, name)
            with np.errstate(all="ignore"):
                self.mean_v = float(v.mean())  # finite wherever a tilt is computed
        self.v = v
        self.name, self.shapes, self.loc, self.scale = tails.standard_form(v)
        try:
            radius = float(tails.mgf_radius(v))
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
        self.radius = radius  # in units of 1 / v
        self.theta_radius = radius * self.scale  # in units of 1 / z
        self.normal = self.name == "norm"
        self.lo, self.hi = (float(x) for x in v.dist.support(*self.shapes))
        self.m_z = (self.mean_v - self.loc) / self.scale
        at_radius = _AT_RADIUS.get(self.name)
        finite_mgf, finite_mean = at_radius(*self.shapes) if at_radius else (False, False)
        self.finite_at_radius = bool(np.isfinite(radius) and radius > 0 and finite_mgf)
        self.tilt_at_radius = self.finite_at_radius and bool(finite_mean)
        self._engine = None

    # -- domain ------------------------------------------------------------------------------

    def mgf_finite(self, lam):
        if self.finite_at_radius:
            return lam <= self.radius
        return lam < self.radius

    def tilt_exists(self, lam):
        ok = (lam == 0) | (lam < self.radius)
        return ok | (self.tilt_at_radius & (lam == self.radius))

    # -- tilts in v units --------------------------------------------------------------------

    @property
    def engine(self):
        if self._engine is None:
            self._engine = _Engine(self)
        return self._engine

    def tilt_z(self, theta):
        """The tilt in z units at ``theta = lam * scale`` (``theta >= 0``), with error estimates."""
        theta = np.asarray(theta, dtype=float)
        if self.normal:
            with np.errstate(over="ignore"):
                half = theta**2 / 2
            out = {"theta": theta, "mean_y": theta, "log_mgf_y": half, "kl": half,
                   "sd": np.ones_like(theta)}
            for key in ("mean", "kl", "log_mgf"):
                out["err_" + key] = 2 * _EPS * (half if key != "mean" else theta)
            out["terms_kl"] = half
            return out
        return self.engine.tilt(theta)

    def tilt_v(self, lam):
        """The tilt at ``lam`` (v units, any shape) with relative error estimates ``rel_*``."""
        lam = np.asarray(lam, dtype=float)
        flat = np.ravel(lam)
        out = {key: np.zeros(flat.shape) for key in ("mean", "kl", "log_mgf", "rel_mean",
                                                     "rel_kl", "rel_log_mgf")}
        out["mean"][:] = self.mean_v
        positive = flat > 0
        if np.any(positive):
            theta = flat[positive] * self.scale
            z = self.tilt_z(theta)
            with np.errstate(over="ignore", invalid="ignore"):
                shift = self.scale * z["mean_y"]
                log_mgf = flat[positive] * self.mean_v + z["log_mgf_y"]
                out["mean"][positive] = self.mean_v + shift
                out["kl"][positive] = np.maximum(z["kl"], 0.0)
                out["log_mgf"][positive] = log_mgf
                out["rel_mean"][positive] = _ratio(z["err_mean"], np.abs(z["mean_y"]))
                out["rel_kl"][positive] = _ratio(z["err_kl"], np.abs(z["kl"]))
                out["rel_log_mgf"][positive] = _ratio(
                    z["err_log_mgf"] + 2 * _EPS * np.abs(flat[positive] * self.mean_v),
                    np.abs(log_mgf))
            for key in ("mean", "kl", "log_mgf"):
                bad = ~np.isfinite(out[key][positive])
                out["rel_" + key][np.flatnonzero(positive)[bad]] = np.inf
        return {key: value.reshape(lam.shape) for key, value in out.items()}

    # -- the frontier ------------------------------------------------------------------------

    def series_z(self):
        """Coefficients of ``Phi_Z(d) - E Z`` in powers of ``sqrt(d)`` (index 0 unused: 0)."""
        if self.normal:
            return np.array([0.0, np.sqrt(2.0), 0.0, 0.0, 0.0])
        k2, k3, k4, k5, _ = self.engine.cumulants()
        s = np.sqrt(k2)
        c = [0.0, s, k3 / (6 * s**2), (3 * k4 * s**2 - 4 * k3**2) / (72 * s**5),
             (40 * k3**3 - 45 * k3 * k4 * s**2 + 9 * k5 * s**4) / (1080 * s**8)]
        return np.array([c[k] * 2.0 ** (k / 2) for k in range(5)])

    def series_limit(self):
        """The largest ``d`` at which the series' first omitted term is below rounding."""
        k2, k3, k4, k5, k6 = self.engine.cumulants()
        s = np.sqrt(k2)
        c5 = abs(560 * k3**4 - 840 * k3**2 * k4 * s**2 + 192 * k3 * k5 * s**4
                 + 135 * k4**2 * s**4 - 24 * k6 * s**6) / (17280 * s**11)
        c5 = max(c5, 1e-3 / s**4)  # a size to assume where the coefficient vanishes
        epsilon = (0.25 * _EPS * s / c5) ** 0.25
        return epsilon**2 / 2

    def frontier_v(self, d, name):
        """``Phi(d)`` for an array of ``d > 0``, light tail."""
        if self.normal:
            return self.mean_v + self.scale * np.sqrt(2 * d)
        excess = np.empty(d.shape)
        small = d <= self.series_limit()
        excess[small] = polynomial.polyval(np.sqrt(d[small]), self.series_z())
        rest = ~small
        if self.tilt_at_radius and np.any(rest):
            # KL(lam) stays below KL(r) < inf: beyond it the supremum is the Donsker-Varadhan
            # bound at the radius, (d + Lambda(r)) / r, approached but not attained
            at = self.tilt_z(np.array([self.theta_radius]))
            _report(at["err_kl"] / at["kl"], d[:1], d[:1] * np.nan, name,
                    f"the tilt of v ({self.name}) at its MGF radius")
            beyond = rest & (d >= at["kl"][0])
            excess[beyond] = (d[beyond] + at["log_mgf_y"][0]) / self.theta_radius
            rest &= ~beyond
        if np.any(rest):
            excess[rest] = self._frontier_by_root(d[rest], name)
        return self.mean_v + self.scale * excess

    def _theta_of(self, s):
        """The map from the root variable ``s`` to ``theta`` in (0, radius)."""
        if np.isfinite(self.theta_radius):
            return self.theta_radius * special.expit(s)
        return np.exp(s)

    def _s_of(self, theta):
        if np.isfinite(self.theta_radius):
            return special.logit(theta / self.theta_radius)
        return np.log(theta)

    def _s_max(self):
        """The largest root variable at which a tilt is still resolvable in double precision."""
        if np.isfinite(self.theta_radius):
            # theta must stay distinguishable from the radius: 1 - theta / r >= 2^-40
            return float(special.logit(1 - 2.0**-40))
        if np.isfinite(self.hi):
            # bounded above: the tilt's mass sits within about 1 / theta of the upper end,
            # which must stay well above the spacing of doubles there
            return float(np.log(2.0**-8 / np.spacing(max(abs(self.hi), 1.0))))
        return float(np.log(1e300))

    def _residual(self, s, log_d):
        with np.errstate(divide="ignore"):
            return np.log(self.tilt_z(self._theta_of(s))["kl"]) - log_d

    def _frontier_by_root(self, d, name):
        """Excess ``E_theta[Z] - E Z`` of the tilt whose KL is ``d`` (z units), by a root on s.

        ``KL`` increases with ``theta``; the root is sought in ``s = log theta`` (or
        ``logit(theta / r)`` for a finite radius ``r``), from the normal law's
        ``theta = sqrt(2 d) / sd``, with the bracket walked outwards first.
        """
        s_max, log_d = self._s_max(), np.log(d)
        radius = self.theta_radius
        start = self._s_of(np.minimum(np.sqrt(2 * d) / self.engine.sd,
                                      0.5 * radius if np.isfinite(radius) else np.inf))
        lower, upper = start - 0.5, np.minimum(start + 0.5, s_max)
        step = np.ones(d.shape)
        for _ in range(100):
            high = self._residual(lower, log_d) > 0
            if not np.any(high):
                break
            lower = np.where(high, lower - step, lower)
            step = np.where(high, 2 * step, step)
        step, top = np.ones(d.shape), np.zeros(d.shape, dtype=bool)
        for _ in range(100):
            low = ~(self._residual(upper, log_d) >= 0) & ~top
            top |= low & (upper >= s_max)
            low &= ~top
            if not np.any(low):
                break
            lower = np.where(low, upper, lower)
            upper = np.where(low, np.minimum(upper + step, s_max), upper)
            step = np.where(low, 2 * step, step)
        excess = np.empty(d.shape)
        inside = ~top
        if np.any(inside):
            root = elementwise.find_root(
                self._residual, (lower[inside], upper[inside]), args=(log_d[inside],),
                tolerances={"xatol": 1e-14, "xrtol": 4 * _EPS, "fatol": 0.0},
            )
            z = self.tilt_z(self._theta_of(np.where(root.success, root.x, np.nan)))
            # the excess moves by err_mean, and by err_kl / theta through the root
            rel = _ratio(z["err_mean"] + z["err_kl"] / z["theta"], np.abs(z["mean_y"]))
            excess[inside] = z["mean_y"]
            where = self.loc + self.scale * (self.m_z + z["mean_y"])
            _report(rel, d[inside], where, name, f"the frontier of v ({self.name})")
        if np.any(top):
            excess[top] = self._beyond_reach(d[top], s_max, name)
        return excess

    def _beyond_reach(self, d, s_max, name):
        """The frontier where no resolvable tilt has KL ``d``: a bracket, or a ValueError."""
        theta = float(self._theta_of(s_max))
        z = self.tilt_z(np.array([theta]))
        kl, mean_y = float(z["kl"][0]), float(z["mean_y"][0])
        if np.isfinite(self.hi) and not np.isfinite(self.theta_radius):
            # bounded above: Phi(d) lies between that tilt's mean and the upper end
            gap = (self.hi - self.m_z) - mean_y
            if 0 <= gap <= _RTOL * (self.hi - self.m_z):
                return np.full(d.shape, mean_y + gap / 2)
        raise ValueError(
            f"{name} = {float(np.ravel(d)[0]):g}: no tilt of v ({self.name}) that double "
            f"precision can resolve reaches that KL (the last one reaches {kl:.4g} nats, at "
            f"lam = {theta / self.scale:.4g}), so the frontier there cannot be computed"
        )


def _de_error(change):
    """The error of the last DE level from its change: about its square once it is small."""
    return np.where(change <= _ACCEPT, np.maximum(change**2, _EPS), change)


def _reliable(linear, log_density):
    """``linear + log_density``, or ``-inf`` where it is not finite or is rounding noise.

    Far out, ``theta z`` and ``log f(z)`` nearly cancel (at the MGF radius); once their
    rounding errors exceed 1 the sum says nothing about where the tilted mass is.
    """
    with np.errstate(all="ignore"):
        total = linear + log_density
        noise = _EPS * (np.abs(linear) + np.abs(log_density))
        return np.where(np.isfinite(total) & (log_density < np.inf) & (noise < 1.0), total,
                        -np.inf)


def _ratio(error, size):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(error == 0, 0.0, error / size)


# --------------------------------------------------------------------------------------------
# The quadrature engine

_NEAR = 16.0  # the near piece spans this many mass scales from the peak
_FAR_TS = 16.0  # a finite far piece longer than this many near pieces is done by exp-sinh
_T_MAX = 4.5  # DE abscissae t in [-4.5, 4.5]
_LEVELS = range(3, 8)  # step 2^-level
_ACCEPT = 1e-8  # successive levels agreeing to this: the finer one is good to ~ its square


class _Engine:
    """Integrals of ``e^{theta y} f(z)`` (``y = z - E Z``) for arrays of ``theta >= 0``."""

    def __init__(self, law):
        self.law = law
        self.dist, self.shapes = law.v.dist, law.shapes
        self.lo, self.hi = law.lo, law.hi
        self.m = (law.mean_v - law.loc) / law.scale
        with np.errstate(all="ignore"):
            sd = float(self.dist.std(*self.shapes))
        self.sd = sd if np.isfinite(sd) and sd > 0 else 1.0
        s = self.sd
        positive = np.concatenate([s * np.logspace(-4, 4, 33),
                                   np.logspace(np.log10(s) + 4.5, 300, 600)])
        grid = np.concatenate([self.m - s * np.logspace(4, -4, 33), [self.m], self.m + positive])
        grid = grid[(grid > self.lo) & (grid < self.hi)]
        ends = [x for x in (self.lo, self.hi) if np.isfinite(x)]
        self.grid = np.sort(np.concatenate([grid, ends]))
        self.grid_logf = self.logf(self.grid)
        self.log_at_lo, self.log_at_hi = (float(self.logf(x)) if np.isfinite(x) else -np.inf
                                          for x in (self.lo, self.hi))
        self._cumulants = None

    def logf(self, z):
        with np.errstate(all="ignore"):
            return np.asarray(self.dist.logpdf(z, *self.shapes), dtype=float)

    # -- the peak and the mass scales of the tilted density --------------------------------

    def _peak(self, theta):
        """``argmax_z theta (z - m) + log f(z)``, vectorized over theta (a local search)."""
        z, lf = self.grid, self.grid_logf
        with np.errstate(all="ignore"):
            g = _reliable(theta[:, None] * (z - self.m)[None, :], lf[None, :])
        j = np.argmax(g, axis=1)
        a = z[np.maximum(j - 1, 0)]
        b = z[np.minimum(j + 1, z.size - 1)]
        best, best_g = z[j], g[np.arange(theta.size), j]
        fractions = np.linspace(0.0, 1.0, 17)
        for _ in range(14):
            points = a[:, None] + (b - a)[:, None] * fractions[None, :]
            points[:, -1] = b
            with np.errstate(all="ignore"):
                values = _reliable(theta[:, None] * (points - self.m), self.logf(points))
            k = np.argmax(values, axis=1)
            rows = np.arange(theta.size)
            better = values[rows, k] >= best_g
            best = np.where(better, points[rows, k], best)
            best_g = np.where(better, values[rows, k], best_g)
            a = points[rows, np.maximum(k - 1, 0)]
            b = points[rows, np.minimum(k + 1, fractions.size - 1)]
            if np.all(b - a <= 4 * np.spacing(np.maximum(np.abs(a), np.abs(b)))):
                break
        reference = self.logf(best)
        # A density unbounded at an end of the support, with the search run into that end:
        # the tilted mass piles up at the end itself. Start the pieces there (so that the
        # quadrature sees the singularity at an end of a piece) and keep the last interior
        # point's log-density as the finite reference value.
        for end, log_at_end in ((self.lo, self.log_at_lo), (self.hi, self.log_at_hi)):
            if log_at_end == np.inf:
                best = np.where(np.abs(best - end) <= 1e-6 * self.sd, end, best)
        return best, reference

    def _scales(self, theta, p, lf_p):
        """Mass scale on each side of ``p`` and the variation of log f over it."""
        base = 2.0**-50 * np.maximum(self.sd, np.abs(p))
        steps = base[:, None] * 4.0 ** np.arange(55)[None, :]
        out = []
        for direction, end in ((-1.0, self.lo), (1.0, self.hi)):
            distance = np.abs(end - p)
            points = p[:, None] + direction * steps
            inside = steps < distance[:, None]
            lf = self.logf(points)
            with np.errstate(all="ignore"):
                h = _reliable(direction * theta[:, None] * steps, lf) - lf_p[:, None]
                score = np.where(inside & np.isfinite(h), h + np.log(steps), -np.inf)
            k = np.argmax(score, axis=1)
            rows = np.arange(p.size)
            found = np.isfinite(score[rows, k])
            width = np.where(found, steps[rows, k], np.minimum(distance, self.sd))
            width = np.minimum(width, distance)
            with np.errstate(all="ignore"):
                variation = np.where(found, np.abs(lf[rows, k] - lf_p), 0.0)
            out.append((width, distance, variation))
        return out

    # -- quadrature ----------------------------------------------------------------------

    def _pieces(self, p, sides):
        """Pieces as arrays (n, 4): direction, start offset, length, kind, scale, to the end."""
        n = p.size
        direction = np.zeros((n, 4))
        start, length, scale = np.zeros((n, 4)), np.zeros((n, 4)), np.ones((n, 4))
        exp_sinh, to_end = np.zeros((n, 4), dtype=bool), np.zeros((n, 4), dtype=bool)
        for i, (sign, (width, distance, _)) in enumerate(zip((-1.0, 1.0), sides, strict=True)):
            near, far = 2 * i, 2 * i + 1
            direction[:, near] = direction[:, far] = sign
            near_length = _NEAR * width
            single = distance <= near_length
            length[:, near] = np.where(single, distance, near_length)
            to_end[:, near] = single & np.isfinite(distance)
            rest = np.where(single, 0.0, distance - near_length)
            start[:, far] = near_length
            length[:, far] = rest
            exp_sinh[:, far] = ~single & ((rest > _FAR_TS * near_length) | ~np.isfinite(rest))
            scale[:, far] = near_length
            to_end[:, far] = ~single & np.isfinite(distance)
        return direction, start, length, exp_sinh, scale, to_end

    @staticmethod
    def _abscissae(level, first):
        """DE abscissae ``t = k 2^-level`` in [-4.5, 4.5]; after the first level only odd k."""
        h = 2.0**-level
        k = np.arange(-int(_T_MAX / h), int(_T_MAX / h) + 1)
        return (k if first else k[k % 2 == 1]) * h, h

    def _nodes(self, t, p, pieces):
        """Nodes of every piece at the abscissae ``t``: arrays (n, 4, len(t))."""
        direction, start, length, exp_sinh, scale, to_end = pieces
        x = np.pi * np.sinh(t)
        plus, minus = special.expit(x), special.expit(-x)
        with np.errstate(over="ignore"):
            u = np.exp(0.5 * x)
        start, length, scale = start[..., None], length[..., None], scale[..., None]
        kind = exp_sinh[..., None]
        # tanh-sinh on [start, start + length]; exp-sinh from start, cut at start + length
        offset = np.where(kind, start + scale * u, start + length * plus)
        weight = np.where(kind, scale * u * (0.5 * np.pi * np.cosh(t)),
                          length * (plus * minus * np.pi * np.cosh(t)))
        weight = np.where((length > 0) & (offset <= start + length), weight, 0.0)
        signed = direction[..., None] * offset
        # positions from the peak, or from the support end on the far half of a piece that
        # reaches it (so that an end, singular or not, is approached as closely as doubles can)
        end = np.where(direction > 0, self.hi, self.lo)[..., None]
        with np.errstate(invalid="ignore"):
            from_end = end - direction[..., None] * length * minus
        use_end = ~kind & to_end[..., None] & (plus > 0.5)
        z = np.where(use_end, from_end, p[:, None, None] + signed)
        # the distance of a node to an end of the support that its piece touches
        at_end = ((p == self.lo) | (p == self.hi))[:, None, None] & (start == 0) & ~kind
        distance = np.where(use_end, length * minus, np.where(at_end & ~use_end, offset, np.inf))
        return {"offset": offset, "signed": signed, "weight": weight, "z": z,
                "distance": distance}

    def _setup(self, theta):
        p, lf_p = self._peak(theta)
        sides = self._scales(theta, p, lf_p)
        return p, lf_p, sides, self._pieces(p, sides)

    def tilt(self, theta):
        """Tilt quantities in z units for an array of ``theta >= 0``, with error estimates."""
        theta = np.asarray(theta, dtype=float)
        shape = theta.shape
        theta = np.ravel(theta)
        n = theta.size
        p, lf_p, sides, pieces = self._setup(theta)
        keys = ("mass", "first", "first_abs", "second", "rounding", "a", "c")
        sums = {key: np.zeros(n) for key in keys}
        estimate = {key: np.zeros(n) for key in keys}
        edge, lost, lost_first = np.zeros(n), np.zeros(n), np.zeros(n)
        delta, delta_mass = np.full(n, np.inf), np.full(n, np.inf)
        active = np.ones(n, dtype=bool)
        for level in _LEVELS:
            t, h = self._abscissae(level, level == _LEVELS[0])
            rows = np.flatnonzero(active)
            nodes = self._nodes(t, p[rows], tuple(x[rows] for x in pieces))
            parts = self._integrands(theta[rows], p[rows], lf_p[rows], nodes)
            edge[rows] = np.maximum(edge[rows], parts["edge"])
            lost[rows] = np.maximum(lost[rows], parts["lost"])
            lost_first[rows] = np.maximum(lost_first[rows], parts["lost_first"])
            previous = {key: estimate[key][rows] for key in keys}
            for key in keys:
                sums[key][rows] += parts[key]
                estimate[key][rows] = sums[key][rows] * h
            if level > _LEVELS[0]:
                # the change from the previous level, of the mass-like integrals (Lambda needs
                # only these) and of the first moments (a first moment that diverges, at the
                # MGF radius, makes the mean infinite, which is refused)
                with np.errstate(invalid="ignore"):
                    changes = [_ratio(np.abs(estimate[key][rows] - previous[key]),
                                      estimate[key][rows]) for key in ("mass", "a")]
                    delta_mass[rows] = np.maximum(*changes)
                    changes = [_ratio(np.abs(estimate["first"][rows] - previous["first"]),
                                      estimate["first_abs"][rows]),
                               _ratio(np.abs(estimate["c"][rows] - previous["c"]),
                                      estimate["c"][rows])]
                    delta[rows] = np.where(np.isnan(np.maximum(*changes)), np.inf,
                                           np.maximum(*changes))
                active[rows] = ~((delta_mass[rows] <= _ACCEPT) & (delta[rows] <= _ACCEPT))
            if not np.any(active):
                break
        # DE error roughly squares from one level to the next: the last change squared
        edges = _ratio(edge, estimate["mass"])
        lost_mass = _ratio(lost, estimate["mass"])  # where scipy's density is unusable
        lost_moment = np.maximum(lost_mass, _ratio(lost_first, estimate["first_abs"]))
        quadrature_mass = _de_error(delta_mass) + edges + lost_mass
        quadrature = np.maximum(_de_error(delta), quadrature_mass) + lost_moment
        out = self._assemble(theta, p, lf_p, sides, estimate, quadrature_mass, quadrature)
        return {key: value.reshape(shape) for key, value in out.items()}

    def _integrands(self, theta, p, lf_p, nodes):
        """Sums over the nodes of each integrand times its DE weight, per theta."""
        signed, weight, distance = nodes["signed"], nodes["weight"], nodes["distance"]
        lf = self.logf(nodes["z"])
        th = theta[:, None, None]
        with np.errstate(all="ignore"):
            # log of e^{theta (y - y_p)} f / f(p); -inf where scipy's value is not usable
            g = _reliable(th * signed, lf) - lf_p[:, None, None]
            ok = np.isfinite(g) & (weight > 0)
            g = np.where(ok, g, -np.inf)
            tilted = np.exp(g) * weight
            y = (p - self.m)[:, None, None] + signed
            ty = th * y
            body = np.exp(g - ty) * weight  # f(z) e^{-S}, S = log f(p) + theta y_p
            # e^{ty} - 1 - ty and e^{ty} - 1, by their series where they would cancel
            small = np.abs(ty) < 0.5
            a = np.where(small, _exp_minus_1_minus_x(ty) * body, tilted - body * (1 + ty))
            c = np.where(small, y * np.expm1(ty) * body, y * (tilted - body))
            a, c = np.where(ok, np.maximum(a, 0.0), 0.0), np.where(ok, np.maximum(c, 0.0), 0.0)
            # the relative rounding error of e^g at a node, eps |terms of g|, at most 1
            rounding = np.minimum(1.0, _EPS * (np.maximum(np.abs(th * signed), np.abs(ty))
                                               + np.where(ok, np.abs(lf), 0.0))) * tilted
            # The mass between an end of the support and the innermost node doubles can place
            # there is not integrated (nodes that round onto a singular end are lost): about
            # the density times the distance at that innermost node.
            distance = np.where(ok, distance, np.inf)
            inner = np.argmin(distance, axis=2)[..., None]
            at_inner = np.take_along_axis(np.exp(g) * np.where(ok, distance, 0.0), inner, axis=2)
            edge = np.where(np.isfinite(np.take_along_axis(distance, inner, axis=2)), at_inner,
                            0.0).max(axis=(1, 2))
            # Nodes inside the support where scipy's log-density is not usable (it underflows,
            # breaks down far out, or is drowned by rounding): the mass beyond the last good
            # node before them is lost, about the density times the distance there (times the
            # distance again for a first moment).
            z = nodes["z"]
            broken = ~ok & (z > self.lo) & (z < self.hi) & (weight > 0)
            offset = nodes["offset"]
            first_broken = np.where(broken, offset, np.inf).min(axis=2, keepdims=True)
            before = ok & (offset < first_broken)
            last = np.argmax(np.where(before, offset, -1.0), axis=2)[..., None]
            reach = np.take_along_axis(np.where(before, offset, 0.0), last, axis=2)
            density = np.take_along_axis(np.where(before, np.exp(g), 0.0), last, axis=2)
            lost = np.where(np.isfinite(first_broken), density * reach, 0.0)
            lost_first = np.where(np.isfinite(first_broken), density * reach**2, 0.0)
            second = np.where(tilted > 0, signed**2 * tilted, 0.0)
        return {
            "edge": edge,
            "lost": lost.max(axis=(1, 2)),
            "lost_first": lost_first.max(axis=(1, 2)),
            "mass": tilted.sum(axis=(1, 2)),
            "first": (signed * tilted).sum(axis=(1, 2)),
            "first_abs": (np.abs(signed) * tilted).sum(axis=(1, 2)),
            "second": second.sum(axis=(1, 2)),
            "rounding": rounding.sum(axis=(1, 2)),
            "a": a.sum(axis=(1, 2)),
            "c": c.sum(axis=(1, 2)),
        }

    def _assemble(self, theta, p, lf_p, sides, est, quadrature, quadrature_moment):
        with np.errstate(all="ignore"):
            mass, first, second = est["mass"], est["first"], est["second"]
            shift = lf_p + theta * (p - self.m)  # log f(p) + theta y_p
            # A = int (e^{theta y} - 1 - theta y) f and C = int y (e^{theta y} - 1) f were
            # summed as A e^{-shift}, C e^{-shift}: Lambda = log(1 + A), Lambda' = C / (1 + A)
            moderate = shift < 700
            scaled = np.exp(np.minimum(shift, 700))
            a_true, c_true = est["a"] * scaled, est["c"] * scaled
            log_one_plus_a = np.where(
                moderate, np.log1p(a_true) - shift,
                np.log(est["a"]) + np.log1p(np.exp(-shift) / est["a"]))
            log_mgf_y = np.where(moderate, np.log1p(a_true), shift + log_one_plus_a)
            mean_mc = np.where(moderate, c_true / (1 + a_true),
                               np.exp(np.log(est["c"]) - log_one_plus_a))
            log_mass = np.log(mass)
            offset_mean = first / mass
            kl_mc = theta * mean_mc - log_mgf_y
            kl_pc = theta * offset_mean - lf_p - log_mass
            terms_mc = theta * mean_mc + np.abs(log_mgf_y)
            terms_pc = theta * np.abs(offset_mean) + np.abs(lf_p) + np.abs(log_mass)
            variance = np.maximum(second / mass - offset_mean**2, 0.0)
            sd = np.sqrt(variance)
            # rounding: of log f and theta v at the tilted mass, and of the nodes' positions
            evaluation = est["rounding"] / mass + _EPS * np.abs(lf_p)
            positions = 0.0
            for width, _, variation in sides:
                spacing = np.spacing(np.abs(p) + width)
                positions = np.maximum(positions, variation * spacing / np.maximum(width, 1e-300))
            eps_mass = quadrature + evaluation + positions
            eps = quadrature_moment + evaluation + positions
            use_pc = terms_pc < terms_mc
            kl = np.where(use_pc, kl_pc, kl_mc)
            err_kl = eps * np.minimum(terms_pc, terms_mc) + 4 * _EPS * np.abs(kl)
            mean_pc = (p - self.m) + offset_mean
            err_mean_mc = eps * np.abs(mean_mc)
            err_mean_pc = _EPS * np.abs(p - self.m) + eps * (sd + np.abs(offset_mean))
            use_pc_mean = err_mean_pc < err_mean_mc
            mean_y = np.where(use_pc_mean, mean_pc, mean_mc)
            err_mean = np.minimum(err_mean_mc, err_mean_pc) + 2 * _EPS * np.abs(mean_y)
            err_log_mgf = (eps_mass * np.minimum(np.abs(log_mgf_y), 1.0)
                           + 4 * _EPS * np.abs(log_mgf_y))
            zero = theta == 0
            kl = np.where(zero, 0.0, kl)
            mean_y = np.where(zero, 0.0, mean_y)
            log_mgf_y = np.where(zero, 0.0, log_mgf_y)
            failed = ~(np.isfinite(kl) & np.isfinite(mean_y) & np.isfinite(log_mgf_y)) & ~zero
        for err in (err_kl, err_mean, err_log_mgf):
            err[failed] = np.inf
        return {"theta": theta, "mean_y": mean_y, "log_mgf_y": log_mgf_y, "kl": kl, "sd": sd,
                "err_mean": err_mean, "err_kl": err_kl, "err_log_mgf": err_log_mgf,
                "terms_kl": np.minimum(terms_pc, terms_mc), "eps": eps}

    # -- cumulants for the series ------------------------------------------------------------

    def cumulants(self):
        """``kappa_2 .. kappa_6`` of the standard member, by quadrature of its density."""
        if self._cumulants is None:
            self._cumulants = self._moments_to_cumulants(self._central_moments())
        return self._cumulants

    def _central_moments(self):
        """``E[y^k]``, k = 1..6, of the standard member (``y = z - E Z``), by quadrature."""
        theta = np.zeros(1)
        p, lf_p, _, pieces = self._setup(theta)
        sums, absolute, previous = np.zeros(7), np.zeros(7), None
        for level in _LEVELS:
            t, _ = self._abscissae(level, level == _LEVELS[0])
            nodes = self._nodes(t, p, pieces)
            with np.errstate(all="ignore"):
                g = self.logf(nodes["z"]) - lf_p[:, None, None]
                ok = np.isfinite(g) & (nodes["weight"] > 0)
                w = np.where(ok, np.exp(g) * nodes["weight"], 0.0)
                y = np.where(ok, (p - self.m)[:, None, None] + nodes["signed"], 0.0)
            sums += np.array([(y**k * w).sum() for k in range(7)])
            absolute += np.array([(np.abs(y) ** k * w).sum() for k in range(7)])
            moments = sums[1:] / sums[0]
            if previous is not None and np.all(
                    np.abs(moments - previous) <= 1e-12 * absolute[1:] / absolute[0]):
                break
            previous = moments
        return moments

    @staticmethod
    def _moments_to_cumulants(mom):
        mu1, mu2, mu3, mu4, mu5, mu6 = mom
        # re-centre on the quadrature's own mean (mu1 is rounding-level)
        c = [mu1, mu2, mu3, mu4, mu5, mu6]
        m2 = c[1] - mu1**2
        m3 = c[2] - 3 * mu1 * c[1] + 2 * mu1**3
        m4 = c[3] - 4 * mu1 * c[2] + 6 * mu1**2 * c[1] - 3 * mu1**4
        m5 = c[4] - 5 * mu1 * c[3] + 10 * mu1**2 * c[2] - 10 * mu1**3 * c[1] + 4 * mu1**5
        m6 = (c[5] - 6 * mu1 * c[4] + 15 * mu1**2 * c[3] - 20 * mu1**3 * c[2]
              + 15 * mu1**4 * c[1] - 5 * mu1**6)
        k4 = m4 - 3 * m2**2
        k5 = m5 - 10 * m3 * m2
        k6 = m6 - 15 * m4 * m2 - 10 * m3**2 + 30 * m2**3
        return float(m2), float(m3), float(k4), float(k5), float(k6)


def _exp_minus_1_minus_x(x):
    """``e^x - 1 - x`` for ``|x| < 0.5`` by its Taylor series (no cancellation)."""
    total = np.zeros_like(x)
    term = x * x / 2
    for n in range(3, 22):
        total = total + term
        term = term * x / n
    return total
