"""Best-of-N exactly: the expected utility, error and proxy of the draw with the largest proxy.

Draw ``n`` iid pairs ``(X_i, V_i)`` with ``X ~ x`` and ``V ~ v`` independent, and keep the one
with the largest ``U = X + V``. Its expected utility is an integral over the law of the maximum::

    E[V at best] = int g(u) n F_U(u)^(n-1) f_U(u) du,   g(u) = E[V | U = u],

and ``E[X at best] = E[U_max] - E[V at best]``. No sampling: ``f_U``, ``Fbar_U`` and ``g`` come
from the convolution of ``x`` and ``v``, evaluated by quadrature in *logit coordinates*
``z = log F - log Fbar`` of each law (the trapezoid rule there converges geometrically for
smooth laws and reaches probabilities of ``e^-100`` with a few hundred nodes). Where one law
is in its bulk and the other deep in its tail, the integrand is sharp on the scale of the
first; a smooth partition of unity of the line ``x + v = u`` hands each region to the law
that is in its bulk there, and its weight ``Fbar_V(v)^2 / (Fbar_V(v)^2 + Fbar_X(x)^2)`` has a
closed-form integral (an arctangent), so ``Fbar_U`` keeps full relative accuracy far out:

    Fbar_U(u) = E_V[s_V arctan(Fbar_X(u - V) / s_V)] + E_X[s_X arctan(Fbar_V(u - X) / s_X)]

with ``s_V = Fbar_V(V)``, ``s_X = Fbar_X(X)``. The outer integral runs over the logit of the
comonotone quantile ``Q_V(p) + Q_X(p)``, a smooth map that covers the range of ``U`` in both
tails, with ``F_U^(n-1) = exp((n-1) log1p(-Fbar_U))``: stable up to ``n = 10^12`` and beyond.

``sample_best_of_n`` is the Monte Carlo twin (the paper's protocol), with standard errors.
"""

from dataclasses import dataclass

import numpy as np
from scipy import special

from goodhart import tails

STEP = 0.5  # trapezoid step in logit coordinates, inner and outer (error far below 1e-9)
LOWER = 40.0  # the outer grid starts at logit F_U = -LOWER (F_U < 4e-18 below it)
MARGIN = 40.0  # the outer grid ends LOWER past log(max n); the inner grids reach MARGIN past both
TRUNCATION_TOLERANCE = 1e-10
LOG_EPS = np.log(1e-4)  # where the partition hands the heavy law's tail to the light law's nodes  # largest allowed share of the law of the maximum at a grid end


@dataclass(frozen=True)
class BestOfN:
    """Expectations at the best of ``n`` draws, one entry per ``n``.

    ``utility`` is ``E[V]``, ``error`` ``E[X]`` and ``proxy`` ``E[U]`` at the draw with the
    largest ``U``. ``note`` explains any entry that is not a finite number (empty otherwise).
    """

    n: np.ndarray
    utility: np.ndarray
    error: np.ndarray
    proxy: np.ndarray
    note: str = ""


@dataclass(frozen=True)
class SampledBestOfN(BestOfN):
    """Monte Carlo estimates of :class:`BestOfN` with the standard errors of the means."""

    trials: int = 0
    utility_se: np.ndarray = None
    error_se: np.ndarray = None
    proxy_se: np.ndarray = None


def _validate(v, x, n):
    """Checked inputs: ``n`` as a float array of counts >= 1, and ``E[X]`` (finite or +inf)."""
    tails.require_finite_mean(v, "v (the utility V)")
    n = np.asarray(n, dtype=float)
    if not np.all(np.isfinite(n)) or np.any(n < 1) or np.any(n != np.round(n)):
        raise ValueError(f"n must be whole numbers >= 1, got {n!r}")
    x_mean = float(x.mean())
    if np.isnan(x_mean):
        raise ValueError(
            "x (the error X) has an undefined mean (scipy gives nan); E[X at best] has no sign"
        )
    return n, x_mean


def _quantile(dist, z):
    """``Q(p)`` at logit level ``z = log(p / (1 - p))``, accurate where scipy's ``isf`` fails.

    scipy's ``isf`` returns ``-inf`` for Student-t and ``inf`` for Levy below ``p ~ 1e-150``;
    entries that do not round-trip through ``logsf``/``logcdf`` are found by bisection on
    ``asinh(x)`` of the monotone ``logit F(x)``.
    """
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


@dataclass(frozen=True)
class _Nodes:
    """Trapezoid nodes for ``E[phi(Y)]`` in logit coordinates: ``sum exp(log_weight) phi(y)``."""

    y: np.ndarray
    log_weight: np.ndarray  # log(step * F * Fbar)
    log_sf: np.ndarray  # log Fbar(y), exact by construction


def _nodes(dist, z):
    log_sf, log_cdf = -np.logaddexp(0, z), -np.logaddexp(0, -z)
    return _Nodes(_quantile(dist, z), np.log(STEP) + log_sf + log_cdf, log_sf)


def _log_log1p_exp(d):
    """``log(log(1 + exp(d)))``, exact to rounding also where ``exp(d)`` underflows."""
    with np.errstate(divide="ignore"):
        return np.where(d < -30, d, np.log(np.logaddexp(0.0, d)))


def _heavier_first(v, x):
    """``(light, heavy)``: the law with the smaller hazard ``f / Fbar`` at its own 1e-12 quantile
    is the heavier one."""

    def hazard(dist):
        q = _quantile(dist, np.array([np.log(1e12)]))
        return float(np.exp(dist.logpdf(q) - dist.logsf(q))[0])

    return hazard(v) < hazard(x)


def _convolution(v_nodes, x_nodes, v, x, u):
    """``log Fbar_U(u)``, ``log f_U(u)`` and ``E[V | U = u]`` for ``U = X + V``.

    The line ``a + h = u`` (light law ``a``, heavy law ``h``) is split by the weight
    ``w(h) = EPS / (EPS + Fbar_H(h))``: where the heavy law is in its tail (``w ~ 1``) the
    light law's nodes integrate ``E_A[EPS log1p(Fbar_H(u - A) / EPS)]``, the closed form of
    the weighted tail; where it is in its bulk the heavy law's nodes integrate
    ``E_H[(1 - w(H)) Fbar_A(u - H)]``. Each integrand is then smooth on its nodes' scale.
    """
    v_is_heavy = _heavier_first(v, x)
    light, heavy = (x, v) if v_is_heavy else (v, x)
    light_nodes, heavy_nodes = (x_nodes, v_nodes) if v_is_heavy else (v_nodes, x_nodes)
    # light law at its nodes, heavy at u - node
    h = u[:, None] - light_nodes.y[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        h_log_sf, h_log_pdf = heavy.logsf(h), heavy.logpdf(h)
    sf_light = light_nodes.log_weight + LOG_EPS + _log_log1p_exp(h_log_sf - LOG_EPS)
    pdf_light = light_nodes.log_weight + h_log_pdf - np.logaddexp(0.0, h_log_sf - LOG_EPS)
    # heavy law at its nodes, light at u - node
    a = u[:, None] - heavy_nodes.y[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        a_log_sf, a_log_pdf = light.logsf(a), light.logpdf(a)
    log_keep = -np.logaddexp(0.0, LOG_EPS - heavy_nodes.log_sf)  # 1 - w(h)
    sf_heavy = heavy_nodes.log_weight + log_keep + a_log_sf
    pdf_heavy = heavy_nodes.log_weight + log_keep + a_log_pdf
    log_sf = np.logaddexp(special.logsumexp(sf_light, axis=1), special.logsumexp(sf_heavy, axis=1))
    log_pdf_terms = np.concatenate([pdf_light, pdf_heavy], axis=1)
    if v_is_heavy:
        v_values = np.concatenate([h, np.broadcast_to(heavy_nodes.y, a.shape)], axis=1)
    else:
        v_values = np.concatenate([np.broadcast_to(light_nodes.y, h.shape), a], axis=1)
    log_pdf = special.logsumexp(log_pdf_terms, axis=1)
    with np.errstate(invalid="ignore"):
        share = np.exp(log_pdf_terms - log_pdf[:, None])
    v_given_u = np.sum(np.where(share > 0, share * v_values, 0.0), axis=1)
    return log_sf, log_pdf, v_given_u


def expected_best_of_n(v, x, n):
    """``E[V]``, ``E[X]``, ``E[U]`` at the best of ``n`` iid draws of ``U = X + V``, exactly.

    ``v`` and ``x`` are frozen scipy laws of the utility and the error, independent; ``v``
    needs a finite mean. ``n`` is a count or an array of counts (any size up to 1e12 and
    beyond). If ``E[X] = +inf`` (Levy error, say) the error and the proxy at the best draw are
    ``+inf`` for every ``n`` (the best draw's error is stochastically larger than ``X``), and
    the finite utility is still computed; ``note`` says so. Raises ``ValueError`` on bad input
    and ``RuntimeError`` if the law of the maximum is not inside the grid to 1e-10.
    """
    n, x_mean = _validate(v, x, n)
    flat = n.reshape(-1)
    top = np.log(flat.max()) + LOWER
    z = np.arange(-LOWER - MARGIN, top + MARGIN + STEP / 2, STEP)
    v_nodes, x_nodes = _nodes(v, z), _nodes(x, z)
    outer = (z >= -LOWER) & (z <= top)
    u = v_nodes.y[outer] + x_nodes.y[outer]  # the comonotone quantile map, smooth and increasing
    # du/dz = F Fbar (1/f_V + 1/f_X) at the two quantiles
    log_du = (
        v_nodes.log_weight[outer]
        + np.logaddexp(-v.logpdf(v_nodes.y[outer]), -x.logpdf(x_nodes.y[outer]))
    )
    log_sf, log_pdf, v_given_u = _convolution(v_nodes, x_nodes, v, x, u)
    log_cdf = tails.log1mexp(log_sf)
    # law of the maximum on the grid: n F^(n-1) f du, per n (rows) and node (columns)
    log_mass = np.log(flat)[:, None] + (flat - 1)[:, None] * log_cdf + log_pdf + log_du
    mass = np.exp(log_mass)
    total = mass.sum(axis=1)
    ends = np.maximum(mass[:, 0], mass[:, -1]) / total
    print("mass dev", np.abs(total-1).max(), ends.max())
    if False or np.any(ends > TRUNCATION_TOLERANCE):
        raise RuntimeError(
            f"the law of the maximum is not resolved on the grid (mass {total}, ends {ends})"
        )
    mass /= total[:, None]
    utility = mass @ v_given_u
    note = ""
    if np.isinf(x_mean):
        proxy = np.full_like(utility, np.inf)
        note = (
            "x has E[X] = +inf, so E[X] and E[U] at the best draw are +inf for every n; "
            "E[V] at the best draw is finite and computed"
        )
    else:
        proxy = mass @ u
    shape = n.shape
    return BestOfN(
        n=n,
        utility=utility.reshape(shape),
        error=(proxy - utility).reshape(shape),
        proxy=proxy.reshape(shape),
        note=note,
    )
