"""Best-of-N exactly: the expected utility, error and proxy of the draw with the largest proxy.

Draw ``n`` iid pairs ``(X_i, V_i)`` with ``X ~ x`` and ``V ~ v`` independent, and keep the one
with the largest ``U = X + V``. Its expected utility is an integral over the law of the maximum::

    E[V at best] = int g(u) n F_U(u)^(n-1) f_U(u) du,   g(u) = E[V | U = u],

and ``E[X at best] = E[U_max] - E[V at best]``. No sampling: ``Fbar_U``, ``f_U`` and ``g`` are
convolutions, evaluated by the trapezoid rule in *logit coordinates* ``z = log(F / Fbar)`` of
each law, which converges geometrically for smooth laws and reaches probabilities of
``e^-70`` with a few hundred nodes. One law's nodes cannot resolve the other law where that
one is sharper, so a smooth partition of unity of each line ``a + h = u`` hands every region
to the law that is broader there (``_Convolution``); the partition weight has a closed-form
tail integral, so ``Fbar_U`` keeps full relative accuracy far out. The outer integral runs
over the logit of a smooth quantile-like map of ``U`` with
``F_U^(n-1) = exp((n-1) log1p(-Fbar_U))``: stable up to ``n = 10^12`` and beyond. Checked
against mpmath and closed forms to about 1e-7 for the book's ten pairs (tests).

``sample_best_of_n`` is the Monte Carlo twin (the paper's protocol), with standard errors.
"""

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from goodhart import _checks, tails

# The paper's synthetic experiment (its appendix): utility V with standard deviation 2, error X
# with unit variance where it has one (Levy has none), lognormal(0, ln 2) shifted by -1.
PAPER_UTILITIES = {"normal": stats.norm(0, 2), "t10": stats.t(10, scale=2 / np.sqrt(10 / 8))}
PAPER_ERRORS = {
    "normal": stats.norm(),
    "t3": stats.t(3, scale=np.sqrt(1 / 3)),
    "t5": stats.t(5, scale=np.sqrt(3 / 5)),
    "lognormal": stats.lognorm(s=np.log(2), loc=-1),
    "levy": stats.levy(),
}

STEP_LIGHT = 0.125  # trapezoid step in logit coordinates for the light law's nodes
STEP_OUTER = 0.25  # and for the law of the maximum; the heavy law's step is 0.5 / power
LOWER = 15.0  # the outer grid starts at z = -LOWER (F_U^2 < 1e-13 below it, for n >= 2)
UPPER = 30.0  # and ends UPPER past log(max n), where the law of the maximum has < e^-30 left
MARGIN = 10.0  # the inner grids start MARGIN below the outer one
TRUNCATION_TOLERANCE = 1e-10  # largest allowed share of the law of the maximum at a grid end
MASS_TOLERANCE = 1e-5  # largest allowed |total mass - 1| of the law of the maximum on the grid


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
    _checks.finite_mean(v, "v (the utility V)")
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

    z: np.ndarray  # logit level log(F / Fbar)
    y: np.ndarray
    log_weight: np.ndarray  # log(step * F * Fbar)
    log_sf: np.ndarray  # log Fbar(y), exact by construction


def _nodes(dist, lo, hi, step):
    z = np.arange(lo, hi + step / 2, step)
    log_sf, log_cdf = -np.logaddexp(0, z), -np.logaddexp(0, -z)
    return _Nodes(z, _quantile(dist, z), np.log(step) + log_sf + log_cdf, log_sf)


def _local_scale(dist, z):
    """``dy/dz = F Fbar / f`` at logit level ``z``: the width of the law's features there."""
    y = _quantile(dist, z)
    return np.exp(-np.logaddexp(0, z) - np.logaddexp(0, -z) - dist.logpdf(y))


def _log_weighted_tail(log_p, log_p_split, power):
    """``log int_0^P w(p) dp`` for ``P = exp(log_p)`` and the weight ``w(p) = exp(-(p/p_s)^k)``.

    The integral is ``p_s Gamma(1 + 1/k) gammainc(1/k, (P/p_s)^k)``; where ``(P/p_s)^k`` is
    below 1e-20 it equals ``P`` to rounding, which keeps tiny ``P`` exact.
    """
    log_p, log_p_split = np.broadcast_arrays(log_p, log_p_split)
    y = np.exp(power * np.minimum(log_p - log_p_split, 100.0 / power))
    out = log_p.copy()
    far = y >= 1e-20
    out[far] = (
        log_p_split[far]
        + special.gammaln(1 + 1 / power)
        + np.log(special.gammainc(1 / power, y[far]))
    )
    return out


def _logsumexp_rows(terms):
    """``log sum exp`` along each row; rows are never all ``-inf`` on the grids used here.

    ``scipy.special.logsumexp(terms, axis=1)`` gives the same values, but 2.5 times slower on
    these grids (it checks and handles cases that cannot occur here), which the engine's speed
    target in benchmarks/best_of_n.py does not allow.
    """
    top = terms.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(terms - top).sum(axis=1, keepdims=True)))[:, 0]


class _Convolution:
    """``Fbar_U``, ``f_U`` and ``E[V | U = u]`` for ``U = X + V`` by partitioned quadrature.

    Call the law with the thinner far tail (larger hazard at its 1e-12 quantile) light, ``A``,
    the other heavy, ``H``. Along each line ``a + h = u`` the weight
    ``w(h) = exp(-(Fbar_H(h) / p_split)^k)`` hands the region where the heavy law is broad to
    the light law's nodes, which integrate ``E_A[int_{u-A}^inf w f_H]`` (a closed form in
    ``Fbar_H(u - A)``), and the rest to the heavy law's nodes, which integrate
    ``E_H[(1 - w(H)) Fbar_A(u - H)]``. The split sits where the heavy law's features (its
    local scale ``F Fbar / f``) become as wide as the light law's at ``u - h``, and at least
    half its interquartile range: in the upper tail for Student-t or lognormal error, below the
    median for Levy error (whose sharp feature is its lower end). Each line may have its own
    split (both parts are exact for any), so each integrand is smooth on its nodes' scale.
    """

    def __init__(self, v, x, z_top):
        self.v_is_heavy = self._hazard(v) < self._hazard(x)
        self.light, self.heavy = (x, v) if self.v_is_heavy else (v, x)
        self.width = 0.5 * float(np.subtract(*self.light.ppf([0.75, 0.25])))
        self.z_split = self._split(z_top)
        # a split below the median sits where Fbar_H is still of order one: the weight must
        # fall faster there, or its slow tail leaks the broad region into the heavy nodes
        self.power = 2.0 if self.z_split > 0 else 8.0
        # a light law that is nowhere broader than in its bulk (a normal, say) needs half the
        # nodes, unless it must resolve the steep weight of a split below the median
        widest = float(np.max(_local_scale(self.light, np.arange(-LOWER - MARGIN, z_top, 1.0))))
        thin = widest <= 2 * self.width and not -np.inf < self.z_split <= 0
        step = 2 * STEP_LIGHT if thin else STEP_LIGHT
        # up to 8 below the top: the outer grid's last 8 units carry < e^-22 of the maximum's
        # law, where a relative error of e^-8 in Fbar_U and f_U is harmless
        self.light_nodes = _nodes(self.light, -LOWER - MARGIN, z_top - 8.0, step)
        self.heavy_nodes = None
        if self.z_split > -np.inf:
            top = self.z_split
            if self.z_split > 0:  # the split may move up to where H is as broad as A ever is
                widest = max(self.width, widest)
                z = np.arange(self.z_split, z_top, 1 / 16)
                top = z[np.argmax(_local_scale(self.heavy, z) >= widest)]
            top = min(top + 50.0 / self.power, z_top)  # 1 - w < e^-50 above
            self.heavy_nodes = _nodes(self.heavy, -LOWER - MARGIN, top, 0.5 / self.power)
            self.heavy_scale = _local_scale(self.heavy, self.heavy_nodes.z)

    @staticmethod
    def _hazard(dist):
        q = _quantile(dist, np.array([np.log(1e12)]))
        return float(np.exp(dist.logpdf(q) - dist.logsf(q))[0])

    def _split(self, z_top):
        z = np.arange(0.0, z_top, 1 / 16)
        broad = _local_scale(self.heavy, z) >= self.width
        if not broad[0]:  # sharp at the median: split where the upper tail turns broad
            return z[np.argmax(broad)] if broad.any() else -np.inf
        if not broad.all():  # a light law, broad only in its bulk: its nodes are not needed
            return -np.inf
        z = -z
        sharp = _local_scale(self.heavy, z) < self.width
        return z[np.argmax(sharp)] if sharp.any() else -np.inf

    def _split_per_line(self, u, a_log_sf, a_log_pdf):
        """``log p_split`` for each line ``u``: moved up from the global split to where the heavy
        law is as broad as the light law at ``u - h`` (a power-law light law is broad far out),
        but not so far that ``1 - w`` leaks more than 1e-10 of the line's main term
        ``h ~ u - median(A)`` into the heavy nodes."""
        nodes = self.heavy_nodes
        a_scale = np.nan_to_num(np.exp(tails.log1mexp(a_log_sf) + a_log_sf - a_log_pdf))
        broad = (self.heavy_scale >= np.maximum(self.width, a_scale)) & (nodes.z >= self.z_split)
        balance = np.where(broad.any(axis=1), np.argmax(broad, axis=1), nodes.y.size - 1)
        main = self.heavy.logsf(u - float(self.light.median()))
        below_cap = nodes.log_sf[None, :] >= main[:, None] + np.log(1e10) / self.power
        cap = np.maximum(below_cap.sum(axis=1) - 1, 0)
        start = np.searchsorted(nodes.z, self.z_split)
        return nodes.log_sf[np.maximum(start, np.minimum(balance, cap))][:, None]

    def __call__(self, u):
        """``log Fbar_U(u)``, ``log f_U(u)`` and ``E[V | U = u]`` at the points ``u``."""
        sf_terms, pdf_terms, v_values = [], [], []
        log_p_split = np.full((u.size, 1), -np.logaddexp(0, self.z_split))
        if self.heavy_nodes is not None:
            nodes = self.heavy_nodes
            a = u[:, None] - nodes.y[None, :]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                a_log_sf, a_log_pdf = self.light.logsf(a), self.light.logpdf(a)
                if self.z_split > 0:
                    log_p_split = self._split_per_line(u, a_log_sf, a_log_pdf)
            w_nodes = -np.exp(self.power * (nodes.log_sf[None, :] - log_p_split))
            log_keep = nodes.log_weight + tails.log1mexp(w_nodes)  # 1 - w
            sf_terms.append(log_keep + a_log_sf)
            pdf_terms.append(log_keep + a_log_pdf)
            v_values.append(np.broadcast_to(nodes.y, a.shape) if self.v_is_heavy else a)
        nodes = self.light_nodes
        h = u[:, None] - nodes.y[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            h_log_sf, h_log_pdf = self.heavy.logsf(h), self.heavy.logpdf(h)
            if self.heavy_nodes is None:
                sf_terms.append(nodes.log_weight + h_log_sf)
                pdf_terms.append(nodes.log_weight + h_log_pdf)
            else:
                log_w = -np.exp(self.power * (h_log_sf - log_p_split))
                tail = _log_weighted_tail(h_log_sf, log_p_split, self.power)
                sf_terms.append(nodes.log_weight + tail)
                pdf_terms.append(nodes.log_weight + h_log_pdf + log_w)
        v_values.append(h if self.v_is_heavy else np.broadcast_to(nodes.y, h.shape))
        sf_terms, pdf_terms = np.hstack(sf_terms), np.hstack(pdf_terms)
        log_sf, log_pdf = _logsumexp_rows(sf_terms), _logsumexp_rows(pdf_terms)
        share = np.exp(pdf_terms - log_pdf[:, None])
        v_given_u = np.sum(np.where(share > 0, share * np.hstack(v_values), 0.0), axis=1)
        return np.minimum(log_sf, 0.0), log_pdf, v_given_u


def _best_of_many(v, x, n, infinite_error):
    """``E[V]`` and ``E[U]`` at the best of ``n >= 2`` draws, by quadrature over ``U``'s logit."""
    top = np.log(n.max()) + UPPER
    convolution = _Convolution(v, x, top)
    # outer grid: U at the comonotone quantile Q_V(p) + Q_X(p), p = expit(z), a smooth
    # increasing map over the range of U, shrunk about the medians by the ratio of
    # interquartile ranges a sum of normals would have, so that logit F_U grows about as fast
    # as z (without shrinking, twice as fast for the normal pair: a coarser effective step)
    z = np.arange(-LOWER, top + STEP_OUTER / 2, STEP_OUTER)
    iqr_v, iqr_x = (float(np.subtract(*d.ppf([0.75, 0.25]))) for d in (v, x))
    shrink = np.hypot(iqr_v, iqr_x) / (iqr_v + iqr_x)
    qv, qx = _quantile(v, z), _quantile(x, z)
    middle = float(v.median() + x.median())
    u = middle + shrink * (qv + qx - middle)
    # du/dz = shrink F Fbar (1/f_V + 1/f_X) at the two quantiles
    log_du = np.log(STEP_OUTER * shrink) - np.logaddexp(0, z) - np.logaddexp(0, -z)
    log_du = log_du + np.logaddexp(-v.logpdf(qv), -x.logpdf(qx))
    log_sf, log_pdf, v_given_u = convolution(u)
    with np.errstate(divide="ignore"):
        log_cdf = tails.log1mexp(log_sf)
    # law of the maximum on the grid: n F^(n-1) f du, per n (rows) and node (columns)
    mass = np.exp(np.log(n)[:, None] + (n - 1)[:, None] * log_cdf + log_pdf + log_du)
    total = mass.sum(axis=1)
    ends = np.maximum(mass[:, 0], mass[:, -1]) / total
    if np.any(np.abs(total - 1) > MASS_TOLERANCE) or np.any(ends > TRUNCATION_TOLERANCE):
        raise RuntimeError(
            f"the law of the maximum is not resolved on the grid: total mass {total.min():.9g}"
            f" to {total.max():.9g}, largest end share {ends.max():.3g}"
        )
    mass /= total[:, None]
    proxy = np.full(len(n), np.inf) if infinite_error else mass @ u
    return mass @ v_given_u, proxy


def expected_best_of_n(v, x, n):
    """``E[V]``, ``E[X]``, ``E[U]`` at the best of ``n`` iid draws of ``U = X + V``, exactly.

    ``v`` and ``x`` are frozen scipy laws of the utility and the error, independent; ``v``
    needs a finite mean. ``n`` is a count or an array of counts (any size up to 1e12 and
    beyond). If ``E[X] = +inf`` (Levy error, say) the error and the proxy at the best draw are
    ``+inf`` for every ``n`` (the best draw's error is stochastically larger than ``X``), and
    the finite utility is still computed; ``note`` says so. Raises ``ValueError`` on bad input
    and ``RuntimeError`` if the grid does not hold the law of the maximum (its mass off by more
    than 1e-5, or more than 1e-10 of it at an end of the grid).
    """
    n, x_mean = _validate(v, x, n)
    flat = n.reshape(-1)
    utility, proxy = np.full(flat.shape, float(v.mean())), np.full(flat.shape, x_mean + v.mean())
    many = flat > 1  # n = 1 is the plain means, exactly
    if many.any():
        utility[many], proxy[many] = _best_of_many(v, x, flat[many], np.isinf(x_mean))
    note = ""
    if np.isinf(x_mean):
        note = (
            "x has E[X] = +inf, so E[X] and E[U] at the best draw are +inf for every n; "
            "E[V] at the best draw is finite and computed"
        )
    shape = n.shape
    return BestOfN(
        n=n,
        utility=utility.reshape(shape),
        error=(proxy - utility).reshape(shape),
        proxy=proxy.reshape(shape),
        note=note,
    )


def utility_peak(v, x, n_max=1e12):
    """The ``N <= n_max`` at which ``E[V]`` at the best of ``N`` is largest, and that ``E[V]``.

    A log grid of 241 values of ``N`` finds the peak, 400 values between its neighbours refine
    it. Returns ``(None, E[V] at n_max)`` when utility is still rising at ``n_max``.
    """
    grid = np.unique(np.round(np.logspace(0, np.log10(n_max), 241)))
    values = expected_best_of_n(v, x, grid).utility
    k = int(np.argmax(values))
    if k == len(grid) - 1:
        return None, float(values[-1])
    candidates = np.unique(np.round(np.geomspace(grid[max(k - 1, 0)], grid[k + 1], 400)))
    refined = expected_best_of_n(v, x, candidates).utility
    return float(candidates[np.argmax(refined)]), float(refined.max())


def utility_given_proxy(v, x, u):
    """``g(u) = E[V | X + V = u]``: the utility a draw with proxy ``u`` carries on average.

    Best-of-``n`` averages ``g`` over the law of the maximum of ``n`` proxies. ``u`` a float
    or array; accurate to about 1e-7 where ``P(U > u)`` is above ``e^-60``.
    """
    _checks.finite_mean(v, "v (the utility V)")
    u = _checks.real(u, "u")
    flat = u.reshape(-1)
    z_top = max(UPPER, float(np.max(-_Convolution(v, x, UPPER)(flat)[0]))) + UPPER
    return _Convolution(v, x, z_top)(flat)[2].reshape(u.shape)


def proxy_threshold(v, x, n):
    """The level ``t_n`` with ``P(U > t_n) = 1/n``: where the best of ``n`` draws typically lands.

    Best-of-``n`` is then comparable with conditioning on ``U >= t_n`` (Theorems 5 and 6).
    Found from the convolution's ``Fbar_U`` by interpolation and Newton steps; ``n`` is any
    real number above 1 (so ``1/n`` is any tail probability below 1).
    """
    _checks.finite_mean(v, "v (the utility V)")
    n = _checks.real(n, "n")
    if np.any(n <= 1):
        raise ValueError(f"n must exceed 1 (P(U > t) = 1 has no finite t), got {n!r}")
    target = -np.log(n.reshape(-1))
    convolution = _Convolution(v, x, -target.min() + UPPER)
    z = np.arange(-LOWER, -target.min() + 5.0, STEP_OUTER)
    grid = _quantile(v, z) + _quantile(x, z)
    log_sf = convolution(grid)[0]
    t = np.interp(-target, -log_sf, grid)
    for _ in range(4):  # Newton on log Fbar_U, whose slope is -f_U / Fbar_U
        log_sf, log_pdf, _ = convolution(t)
        t = t + (log_sf - target) * np.exp(log_sf - log_pdf)
    return t.reshape(n.shape)


def sample_best_of_n(v, x, n, trials, rng, top=None, chunk=2**22):
    """Monte Carlo twin of :func:`expected_best_of_n`: ``trials`` independent best-of-``n``.

    Returns the means over trials of ``V``, ``X`` and ``U`` at each trial's best draw, with
    their standard errors (``std / sqrt(trials)``); ``rng`` is a ``numpy.random.Generator``.
    By default every trial draws its ``n`` pairs (in chunks of about ``chunk`` draws): the
    paper's protocol, with ``trials = 100``. With ``top = k`` each trial draws instead only
    the ``k + 1`` largest values of the heavier law among ``n`` (exactly, by Renyi's
    representation of uniform order statistics), their partners, and the largest partner
    among the rest; when the best of the top ``k`` beats every bound on the rest the trial is
    done, otherwise the rest is drawn from its exact conditional law. Same law of the best
    draw, at a cost of about ``k`` draws a trial when the heavier law wins.
    """
    n, _ = _validate(v, x, n)
    if trials < 2:
        raise ValueError(f"trials must be at least 2 for a standard error, got {trials!r}")
    flat = n.reshape(-1).astype(np.int64)
    best_v = np.empty((len(flat), trials))
    best_x = np.empty((len(flat), trials))
    for row, size in enumerate(flat):
        if top is not None and size > top + 1:
            best_v[row], best_x[row] = _best_by_order_statistics(v, x, size, trials, rng, top)
        else:
            best_v[row], best_x[row] = _best_by_brute_force(v, x, size, trials, rng, chunk)
    best_u = best_v + best_x
    shape = n.shape

    def mean_se(a):
        se = a.std(axis=1, ddof=1) / np.sqrt(trials)
        return a.mean(axis=1).reshape(shape), se.reshape(shape)

    (utility, utility_se), (error, error_se), (proxy, proxy_se) = map(
        mean_se, (best_v, best_x, best_u)
    )
    return SampledBestOfN(
        n=n,
        utility=utility,
        error=error,
        proxy=proxy,
        trials=trials,
        utility_se=utility_se,
        error_se=error_se,
        proxy_se=proxy_se,
    )


def _best_by_brute_force(v, x, n, trials, rng, chunk):
    """``(V, X)`` at the best of ``n`` plain draws, for each of ``trials`` trials."""
    best_v, best_x = np.empty(trials), np.empty(trials)
    rows = max(1, chunk // n)
    for start in range(0, trials, rows):
        block = slice(start, min(trials, start + rows))
        size = block.stop - block.start
        keep_v, keep_x = np.full(size, np.nan), np.full(size, np.nan)
        for lo in range(0, n, chunk):
            width = min(n, lo + chunk) - lo
            vs = v.rvs(size=(size, width), random_state=rng)
            xs = x.rvs(size=(size, width), random_state=rng)
            pick = np.argmax(vs + xs, axis=1)
            cand_v, cand_x = vs[np.arange(size), pick], xs[np.arange(size), pick]
            better = ~(cand_v + cand_x <= keep_v + keep_x)  # also where nothing is kept yet
            keep_v, keep_x = np.where(better, cand_v, keep_v), np.where(better, cand_x, keep_x)
        best_v[block], best_x[block] = keep_v, keep_x
    return best_v, best_x


def _logit(log_p):
    """``log(p / (1 - p))`` from ``log p``."""
    return log_p - tails.log1mexp(log_p)


def _best_by_order_statistics(v, x, n, trials, rng, k):
    """``(V, X)`` at the best of ``n`` draws, drawing the heavier law's top ``k`` exactly."""
    v_heavy = _Convolution._hazard(v) < _Convolution._hazard(x)
    rank, other = (v, x) if v_heavy else (x, v)
    # the k + 1 smallest of n uniform tail probabilities: S_j / S_(n+1), S partial sums of Exp(1)
    s = np.cumsum(rng.exponential(size=(trials, k + 1)), axis=1)
    log_p = np.log(s) - np.log(s[:, -1] + rng.gamma(n - k, size=trials))[:, None]
    ranked = _quantile(rank, -_logit(log_p).ravel()).reshape(log_p.shape)  # decreasing
    partners = other.rvs(size=(trials, k), random_state=rng)
    total = ranked[:, :k] + partners
    pick = np.argmax(total, axis=1)
    best_rank, best_other = ranked[np.arange(trials), pick], partners[np.arange(trials), pick]
    # the largest partner among the other n - k draws: F^(n-k) = W
    log_cdf_max = np.log(rng.uniform(size=trials)) / (n - k)
    largest = _quantile(other, _logit(log_cdf_max))
    for i in np.nonzero(total[np.arange(trials), pick] <= ranked[:, k] + largest)[0]:
        # the rest, from its exact conditional law: one draw at the (k+1)-th value, the others
        # below it; one partner at the largest value (at a random place), the others below it
        rest = np.empty(n - k)
        rest[0] = ranked[i, k]
        below = np.log(rng.uniform(size=n - k - 1)) + rank.logcdf(ranked[i, k])
        rest[1:] = _quantile(rank, _logit(below))
        mates = _quantile(other, _logit(np.log(rng.uniform(size=n - k)) + log_cdf_max[i]))
        mates[rng.integers(n - k)] = largest[i]
        j = np.argmax(rest + mates)
        if rest[j] + mates[j] > best_rank[i] + best_other[i]:
            best_rank[i], best_other[i] = rest[j], mates[j]
    return (best_rank, best_other) if v_heavy else (best_other, best_rank)
