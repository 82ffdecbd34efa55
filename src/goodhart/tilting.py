"""Theorems 3 and 4: exponential tilts, the KL frontier and the KL-penalized optimum.

The exponential tilt of ``V ~ Q`` at ``lam > 0`` is ``dQ_lam/dQ = exp(lam V - Lambda(lam))``,
with the log moment generating function (log-MGF) ``Lambda(lam) = log E_Q exp(lam V)``. Tilts
solve both optimization problems of the book:

* the KL frontier ``sup{E_P[V] : D(P||Q) <= d}`` is attained by the tilt whose KL,
  ``lam Lambda'(lam) - Lambda(lam)``, equals ``d`` (Donsker-Varadhan duality:
  ``E_P[V] <= (d + Lambda(lam)) / lam`` for every ``lam > 0``, with equality at that tilt);
* the optimum of ``E[U] - beta D(P||Q)`` is the tilt of ``U`` at ``1 / beta``.

Both need ``Lambda`` finite. Whether it is, is a property of the right tail: the MGF is finite
for ``lam`` below the *radius* ``liminf_{x->inf} -log Fbar(x) / x`` and infinite above it. The
radius is 0 exactly for the heavy right tails of THEOREMS.md (``exp(a x) Fbar(x) -> inf`` for
every ``a > 0``), and ``inf`` for bounded support and for tails lighter than every exponential
(normal). A quadrature cannot tell ``inf`` from large, so :func:`mgf_radius` decides it
exactly: from the support when that is bounded above, otherwise from the scipy family's known
tail (``_RADIUS``), and refuses families it does not know. The tests check the table against
the decay rate ``-log Fbar(x) / x`` far in the tail.

Integrals are computed with scipy's ``quad`` in the family's standard coordinates, centred on
the mean and shifted by the maximum of the log integrand, so nothing overflows; the scalar
integrand calls the family's ``_logpdf`` directly (the frozen ``logpdf`` costs 40 us a call
and one tilt needs a few thousand calls).
"""

from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize

from goodhart import tails
from goodhart.tails import is_heavy_tailed, mgf_radius  # noqa: F401 (re-exported)


def _standard_form(v):
    """``(name, shapes, loc, scale)`` of a frozen scipy distribution."""
    return tails.standard_form(v)


@dataclass(frozen=True)
class Tilt:
    """The exponential tilt ``Q_lam`` of ``V ~ v`` at ``lam``."""

    lam: float
    log_mgf: float  # Lambda(lam) = log E_Q exp(lam V)
    mean: float  # E_{Q_lam}[V] = Lambda'(lam)
    kl: float  # D(Q_lam || Q) = lam Lambda'(lam) - Lambda(lam)


def tilt(v, lam):
    """The tilt of ``v`` at ``lam >= 0``; ``ValueError`` if ``E exp(lam V)`` is infinite."""
    lam = float(lam)
    if not np.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be finite and >= 0, got {lam!r}")
    radius = mgf_radius(v)
    if lam >= radius:
        raise ValueError(
            f"E exp(lam V) is infinite for lam = {lam:g}: the MGF of {v.dist.name} is finite "
            f"only for lam < {radius:g}"
        )
    _, shapes, loc, scale = _standard_form(v)
    theta = lam * scale
    mean_z = (float(v.mean()) - loc) / scale
    log_mgf_z, mean_shift, kl = _centred_tilt(v, shapes, theta, mean_z)
    return Tilt(
        lam=lam,
        log_mgf=float(lam * v.mean() + log_mgf_z),
        mean=float(v.mean() + scale * mean_shift),
        kl=float(max(kl, 0.0)),
    )


def log_mgf(v, lam):
    """``log E exp(lam V)`` for ``lam >= 0`` (float or array); ``inf`` at and beyond the radius."""
    radius = mgf_radius(v)

    def one(lam_i):
        return tilt(v, lam_i).log_mgf if lam_i < radius else np.inf

    return _map(one, _nonnegative(lam, "lam"))


def _centred_tilt(v, shapes, theta, mean_z):
    """``log E exp(theta Y)``, ``E_theta[Y]`` and the tilt's KL, for ``Y = Z - E Z``.

    ``Z`` is the family's standard member. Centring makes the log-MGF and the mean shift small
    where ``theta`` is, and the KL is assembled around the peak ``y*`` of the integrand,
    ``KL = theta E_theta[Y - y*] - log f(y*) - log int exp(g - g*)``, which has no
    cancellation between large terms at either end of ``theta``.
    """
    logpdf = v.dist._logpdf
    lo, hi = np.asarray(v.dist.support(*shapes), dtype=float)

    # Integrate in the family's own coordinate z = y + E Z, so the ends of the support stay
    # exact (a density unbounded at an end is never evaluated at the end by rounding).
    def log_integrand(z):
        return theta * (z - mean_z) + logpdf(z, *shapes)

    peak, top = _peak(log_integrand, lo, hi, mean_z)
    # Cut the line at multiples of the peak's width on each side (where the integrand has
    # fallen by e), and integrate the infinite ends in units of that width, so quad sees the
    # same shape whether the tilt is narrow (bounded support, large theta) or wide (near the
    # MGF radius of an exponential tail).
    left, right = (_width(log_integrand, peak, top, end) for end in (lo, hi))
    multiples = np.array([1.0, 8.0, 64.0])
    cuts = [*(peak - left * multiples[::-1]), peak, *(peak + right * multiples)]
    cuts = [c for c in cuts if lo + left / 2 < c < hi - right / 2]  # no sliver at an end
    edges = [lo, *cuts, hi]
    # Pieces nearest the peak first: they carry the mass, and the absolute tolerance of the
    # far pieces is set relative to it, so quad does not chase roundoff in a negligible piece.
    pieces = sorted(zip(edges[:-1], edges[1:], strict=True), key=lambda ab: _distance(ab, peak))
    # theta * y carries a rounding error of theta * |y| * 1e-16: no quadrature does better.
    epsrel = max(1e-12, 1e-14 * theta * max(1.0, abs(peak - mean_z)))

    def integral(weight, scale):
        def f(y):
            return weight(y) * np.exp(log_integrand(y) - top)

        total = 0.0
        with np.errstate(over="ignore", divide="ignore"):  # exp overflow inside logpdf = 0 density
            for a, b in pieces:
                tol = (1e-12 * scale) if scale else 1e-13 * abs(total)
                if np.isinf(b):
                    g, a, b = (lambda s, a=a: right * f(a + right * s)), 0.0, np.inf
                elif np.isinf(a):
                    g, a, b = (lambda s, b=b: left * f(b - left * s)), 0.0, np.inf
                else:
                    g = f
                total += integrate.quad(g, a, b, epsabs=tol, epsrel=epsrel, limit=400)[0]
        return total

    mass = integral(lambda y: 1.0, None)
    # E_theta[Y - y*] is small where theta is (its pieces cancel): tolerance set by the mass.
    excess = integral(lambda z: z - peak, mass) / mass
    kl = theta * excess - (top - theta * (peak - mean_z)) - np.log(mass)
    return top + np.log(mass), peak - mean_z + excess, kl


def _width(log_integrand, peak, top, end):
    """Distance from ``peak`` towards ``end`` at which the integrand has fallen by a factor e."""
    direction = 1.0 if end > peak else -1.0
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for step in np.geomspace(1e-9, 1e9, 73):
            if direction * (peak + direction * step - end) >= 0:
                return max(abs(end - peak), 1e-9)
            if not log_integrand(peak + direction * step) > top - 1.0:
                return step
    return 1e9


def _distance(interval, point):
    a, b = interval
    return 0.0 if a <= point <= b else min(abs(a - point), abs(b - point))


def _peak(log_integrand, lo, hi, centre):
    """Location and value of the maximum of ``log_integrand`` on ``[lo, hi]``.

    A geometric grid on both sides of ``centre`` (and the finite ends of the support) finds
    the peak's neighbourhood whatever its scale; a bounded search refines it.
    """
    steps = np.geomspace(1e-3, 1e6, 37)
    grid = centre + np.concatenate([-steps[::-1], [0.0], steps])
    grid = np.concatenate([[lo], grid[(grid > lo) & (grid < hi)], [hi]])
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        raw = np.array([log_integrand(y) if np.isfinite(y) else -np.inf for y in grid])
    values = np.where(np.isfinite(raw), raw, -np.inf)
    i = int(np.argmax(values))
    if np.isposinf(raw[0]) and i <= 1 or np.isposinf(raw[-1]) and i >= len(grid) - 2:
        # The density is unbounded at that end of the support: any finite shift will do, and
        # refining would chase the singularity.
        return float(grid[i]), float(values[i])
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    a, b = (a if np.isfinite(a) else grid[i] - 1.0), (b if np.isfinite(b) else grid[i] + 1.0)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        best = optimize.minimize_scalar(
            lambda y: -log_integrand(y), bounds=(a, b), method="bounded",
            options={"xatol": 1e-14 * max(1.0, abs(a), abs(b))},
        )
    if np.isfinite(best.fun) and -best.fun > values[i]:
        return float(best.x), float(-best.fun)
    return float(grid[i]), float(values[i])


def kl_frontier(v, d):
    """``sup{E_P[V] : D(P||Q) <= d}`` for ``V ~ v``, ``d >= 0`` (float or array).

    ``inf`` for a heavy right tail (Theorem 1 reaches any mean at any positive KL). Otherwise
    the supremum is attained by the tilt with KL exactly ``d`` (Theorem 3), found by brentq on
    ``lam``; ``d = 0`` gives ``E_Q[V]``.
    """
    d = _nonnegative(d, "d")
    if not np.all(np.isfinite(d)):
        raise ValueError(f"d must be finite, got {d!r}")
    mean = float(v.mean())
    if not np.isfinite(mean):
        raise ValueError(f"v has no finite mean (scipy gives {mean}); the frontier needs one")
    radius = mgf_radius(v)
    if radius == 0:
        return _map(lambda d_i: np.inf if d_i > 0 else mean, d)
    std = float(v.std())

    def one(d_i):
        if d_i == 0:
            return mean
        return _tilt_with_kl(v, d_i, radius, std).mean

    return _map(one, d)


def _tilt_with_kl(v, d, radius, std):
    """The tilt whose KL to ``v`` equals ``d``: brentq on ``log lam``, KL increasing in ``lam``."""

    def excess(log_lam):
        return tilt(v, np.exp(log_lam)).kl - d

    start = np.sqrt(2 * d) / std  # exact for a normal V
    lo = np.log(min(start, 0.5 * radius))
    while excess(lo) > 0:
        lo -= np.log(4.0)
    hi = lo
    for _ in range(200):
        step = np.log(2.0) if np.isinf(radius) else np.log((np.exp(hi) + radius) / 2) - hi
        hi += step
        if excess(hi) >= 0:
            break
    else:
        raise ValueError(f"no tilt of {v.dist.name} reaches KL = {d:g}")
    return tilt(v, np.exp(optimize.brentq(excess, lo, hi, xtol=1e-15, rtol=1e-15)))


@dataclass(frozen=True)
class PenalizedOptimum:
    """The optimum of ``E[U] - beta D(P||Q)`` for ``U = X + V`` with ``X``, ``V`` independent."""

    beta: np.ndarray
    utility: np.ndarray  # E[V] under the optimum
    error: np.ndarray  # E[X] under the optimum
    kl: np.ndarray  # D(optimum || base) in nats

    @property
    def proxy(self):
        """``E[U] = E[X] + E[V]`` under the optimum."""
        return self.error + self.utility


def penalized_optimum(x, v, beta):
    """``argmax_P E_P[U] - beta D(P||Q)`` for independent ``X ~ x``, ``V ~ v``, ``U = X + V``.

    The optimum has density ``exp(U / beta) / Z`` relative to ``Q`` (Gibbs); with independence
    it is the product of the tilts of ``X`` and ``V`` at ``1 / beta``, so its KL is the sum of
    theirs. It exists only if ``Z = E exp(X / beta) E exp(V / beta)`` is finite: otherwise the
    supremum is ``+inf`` and no optimum exists, and a ``ValueError`` says why.
    """
    beta = np.asarray(beta, dtype=float)
    if not np.all(np.isfinite(beta)) or np.any(beta <= 0):
        raise ValueError(f"beta must be finite and > 0, got {beta!r}")
    for name, dist in (("error X", x), ("utility V", v)):
        radius = mgf_radius(dist)
        if radius == 0:
            raise ValueError(
                f"no optimum: the {name} ({dist.dist.name}) is heavy-tailed, so "
                "E exp(U / beta) is infinite for every beta > 0 and sup E[U] - beta KL = inf"
            )
        if np.any(1 / beta >= radius):
            raise ValueError(
                f"no optimum for beta <= {1 / radius:g}: the MGF of the {name} "
                f"({dist.dist.name}) is finite only below {radius:g}, so E exp(U / beta) = inf "
                "and sup E[U] - beta KL = inf"
            )
    tilts = [(tilt(x, 1 / b), tilt(v, 1 / b)) for b in beta.ravel()]

    def collect(f):
        out = np.array([f(tx, tv) for tx, tv in tilts]).reshape(beta.shape)
        return float(out) if out.ndim == 0 else out

    return PenalizedOptimum(
        beta=float(beta) if beta.ndim == 0 else beta,
        utility=collect(lambda tx, tv: tv.mean),
        error=collect(lambda tx, tv: tx.mean),
        kl=collect(lambda tx, tv: tx.kl + tv.kl),
    )


def _nonnegative(value, name):
    array = np.asarray(value, dtype=float)
    if np.any(np.isnan(array)) or np.any(array < 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return array


def _map(function, values):
    """Apply a scalar ``function`` over an array, returning a float for a scalar input."""
    out = np.vectorize(function, otypes=[float])(values)
    return float(out) if out.ndim == 0 else out
