"""Bounded rewards: the KL-penalized optimum of a clipped or squashed proxy (paper section 5.4).

Replace the proxy ``U = X + V`` by a reward ``r(U)`` bounded above by ``rbar``. The optimum of
``E_P[r(U)] - beta D(P || Q)`` is the Gibbs law ``dP/dQ = w(U) / Z`` with
``w = exp((r - rbar) / beta)`` in ``(0, 1]`` and ``Z = E_Q[w(U)]``, which exists for every
``beta > 0`` whatever the tails, because ``w <= 1``.

For a nondecreasing ``r``, ``w`` is the distribution function of a *threshold* ``T`` (plus an
atom ``w(-inf)`` at ``-inf``), and ``w(u) = P(T <= u)`` turns the optimum into a **mixture of
quantilizers**, ``Q`` conditioned on ``U >= T`` with ``T`` random::

    E_Q[h(U) w(U)] = w(-inf) E_Q[h(U)] + E_T[ E_Q[h(U); U >= T] ].

So ``Z``, ``E_P[V]`` (``h = V``) and the KL (``E_Q[w log w]`` has the density
``w' (1 + log w)``) are integrals over the quantile ``s = w(T)`` in ``(w(-inf), 1)`` of
``P(U >= t)`` and ``E[V; U >= t]`` (:class:`goodhart.Proxy`) at ``t = T(s)``:

* clipping, ``r = min(U, c)``: ``T = c + beta log s``, ``s`` uniform: ``c`` minus an
  exponential of mean ``beta``; as ``beta -> 0`` the optimum is the quantilizer
  ``Q(. | U >= c)``, with ``KL -> -log P(U >= c)``;
* ``r = tanh(U)``: ``T = atanh(1 + beta log s)``, which for small ``beta`` is
  ``(log(2 / beta) + G) / 2`` with ``G`` a standard Gumbel variable: the thresholds move out
  without bound as ``beta -> 0``, and for a subexponential error the utility returns to the
  base (Theorem 5).

The integrals over ``s`` are taken by tanh-sinh quadrature, halving the step until two levels
agree. :func:`sampled_optimum` is the Monte Carlo counterpart for any bounded reward of
``(V, X)``, by self-normalized importance sampling.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import elementwise
from scipy.special import expit, logsumexp

from goodhart import _checks
from goodhart.proxy import Proxy, Sample

__all__ = ["RewardOptimum", "SampledOptimum", "optimum", "sampled_optimum"]

_REWARDS = ("clip", "tanh")
_HALF_WIDTH = 3.0  # tanh-sinh abscissae tau in [-3, 3]: the nodes reach 2e-14 of either end
_STEPS = (0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625)  # halved; each reuses the last's nodes
_AGREEMENT = 1e-7  # two successive levels that agree to this: the finer one is accepted
_INTEGRALS = 1e-13  # the absolute accuracy assumed of the three integrals (each <= 1)
_ROUNDING = 1e-6  # the largest relative error of the KL that this allows, which is accepted
_SMALL_SAMPLE = 100  # a sampled optimum resting on fewer effective draws warns
_LARGEST_BETA = 1e100  # the largest KL coefficient of optimum (see there)
_LOG_SMALLEST_TAIL = np.log(1e-300)  # the smallest P(U >= level) of a clipped reward
_LOG_BETA_REACH = 511.0  # the KL budget's root is sought for |log beta| up to this


@dataclass(frozen=True)
class RewardOptimum:
    """The optimum of ``E_P[r(U)] - beta D(P || Q)`` for a clipped or ``tanh`` reward.

    Fields are floats for a scalar ``beta`` (or ``kl``) and arrays of its shape otherwise.

    Attributes
    ----------
    beta : float or ndarray
        The KL coefficient.
    utility : float or ndarray
        ``E_P[V]``.
    reward : float or ndarray
        ``E_P[r(U)]``.
    kl : float or ndarray
        ``D(P || Q)`` in nats.
    objective : float or ndarray
        ``E_P[r(U)] - beta D(P || Q) = rbar + beta log Z``.
    threshold : float or ndarray
        The proxy level where the weight ``w`` is ``1/e`` of its largest: the median-like
        threshold of the mixture of quantilizers (``c - beta`` for clipping,
        ``atanh(1 - beta)`` for ``tanh``, ``-inf`` when ``beta >= 2``).
    """

    beta: float | np.ndarray
    utility: float | np.ndarray
    reward: float | np.ndarray
    kl: float | np.ndarray
    objective: float | np.ndarray
    threshold: float | np.ndarray


@dataclass(frozen=True)
class SampledOptimum:
    """A Monte Carlo estimate of the optimum ``dP/dQ = exp(r / beta) / Z`` from draws of ``Q``.

    Attributes
    ----------
    beta : float or ndarray
    utility, error, reward : float or ndarray
        ``E_P[V]``, ``E_P[X]`` and ``E_P[r]``.
    kl : float or ndarray
        ``D(P_n || Q_n)`` of the reweighted sample from the sample itself (``log n`` when one
        draw takes all the weight).
    effective_size : float or ndarray
        ``(sum w)^2 / sum w^2``: how many draws the estimate effectively rests on.
    se : SampledOptimum or None
        The delta-method standard errors of ``utility``, ``error``, ``reward`` and ``kl``.
    """

    beta: float | np.ndarray
    utility: float | np.ndarray
    error: float | np.ndarray
    reward: float | np.ndarray
    kl: float | np.ndarray
    effective_size: float | np.ndarray
    se: "SampledOptimum | None" = None


def optimum(*, utility, error, reward, level=None, beta=None, kl=None):
    """The optimum of ``E_P[r(U)] - beta KL`` for ``r = min(U, level)`` or ``r = tanh(U)``.

    Exact up to quadrature, as a mixture of quantilizers (see the module notes). Give exactly
    one of ``beta`` (the coefficient) or ``kl`` (a budget: the ``beta`` whose optimum spends
    exactly ``kl`` nats, i.e. the best policy at ``KL <= kl``).

    Parameters
    ----------
    utility, error : frozen scipy.stats laws
        The laws of ``V`` and ``X`` (independent); ``V`` with a finite mean.
    reward : {"clip", "tanh"}
        ``min(U, level)`` or ``tanh(U)``.
    level : float, optional
        The clipping level ``c`` (for ``"clip"`` only), below the upper end of ``U``, with
        ``P(U >= c) >= 1e-300``.
    beta : float or array_like, optional
        KL coefficients, in ``(0, 1e100]``.
    kl : float or array_like, optional
        KL budgets in nats, ``> 0``; for clipping below ``-log P(U >= level)``, the KL of the
        limit ``beta -> 0``.

    Returns
    -------
    RewardOptimum
        ``beta``, ``utility``, ``reward``, ``kl``, ``objective``, ``threshold``; relative
        error about ``1e-9`` or better (the finer of two tanh-sinh levels that agree to
        ``1e-7``; for the KL, an absolute error about ``1e-13``).

    Raises
    ------
    ValueError
        Naming the argument: an unknown reward, a missing or superfluous ``level``, a bad
        ``beta`` or ``kl``, a budget no ``beta`` reaches, a ``beta`` so large that the KL
        (about ``Var(r) / (2 beta^2)``) drowns in rounding.

    Examples
    --------
    >>> from scipy import stats
    >>> v, x = stats.norm(), stats.t(3)
    >>> clip = optimum(utility=v, error=x, reward="clip", level=3.0, beta=[1.0, 1e-6])
    >>> np.round(clip.utility, 4), np.round(clip.kl, 4)
    (array([0.6954, 0.9048]), array([0.8789, 3.0996]))
    >>> squash = optimum(utility=v, error=x, reward="tanh", beta=[1e-4, 1e-64])
    >>> np.round(squash.utility, 4), np.round(squash.threshold, 2)
    (array([0.6294, 0.0404]), array([ 4.95, 74.03]))
    >>> round(optimum(utility=v, error=x, reward="clip", level=3.0, kl=1.0).kl, 12)
    1.0
    """
    proxy = Proxy(utility=utility, error=error)
    level = _level(reward, level, proxy)
    if (beta is None) == (kl is None):
        raise ValueError("give exactly one of beta (the coefficient) or kl (a budget)")
    name, given = ("beta", beta) if beta is not None else ("kl", kl)
    # beta <= 1e100: beyond, the optimum's KL (about Var r / (2 beta^2)) is below double
    # precision for any reward of variance below 1e186, and the thresholds c + beta log s run
    # out to where the tails of the laws are integrated node by node (minutes)
    given = _checks.real(given, name, low=0.0, low_open=True,
                         high=_LARGEST_BETA if name == "beta" else None)
    given, level = np.broadcast_arrays(given, level)
    shape, given, level = given.shape, given.ravel(), level.ravel()
    if name == "kl":
        given = _beta_for_kl(proxy, reward, level, given)
    return _shaped(_mixture(proxy, reward, level, given), shape)


def sampled_optimum(*, utility, error, reward, bound, beta, size=10**6, rng=None):
    """The optimum of ``E_P[r] - beta KL`` for any reward bounded above, by importance sampling.

    ``size`` draws of ``(V, X)`` from ``Q`` (independent streams of ``rng``) are reweighted by
    ``w = exp((r - max r) / beta)``, in log space; the KL is that of the reweighted sample to
    the sample, ``log size + sum p log p``, exact at every ``beta`` (it tends to ``log size``
    as one draw takes all the weight). Standard errors by the delta method.

    Parameters
    ----------
    utility, error : frozen scipy.stats laws
        The laws of ``V`` and ``X`` (independent).
    reward : callable
        ``reward(sample)`` with ``sample`` a :class:`goodhart.proxy.Sample` (arrays
        ``.utility``, ``.error``, ``.proxy``), returning one finite reward a draw (or one
        number for all of them).
    bound : float
        An upper bound of the reward, checked on the draws and on a probe of extreme values
        of ``V`` and ``X`` (up to ``1e300``): a reward that exceeds it is refused.
    beta : float or array_like
        KL coefficients, ``> 0``.
    size : int
        Draws, ``>= 2``.
    rng : None, int or numpy.random.Generator
        Passed to ``numpy.random.default_rng`` (SPEC 7).

    Returns
    -------
    SampledOptimum
        With ``se``; a ``RuntimeWarning`` if the effective size is below 100.

    Examples
    --------
    >>> from scipy import stats
    >>> est = sampled_optimum(utility=stats.norm(), error=stats.t(3), bound=3.0,
    ...                       reward=lambda s: np.minimum(s.proxy, 3.0), beta=1.0,
    ...                       size=10**5, rng=1)
    >>> abs(est.utility - 0.6954) < 4 * est.se.utility
    True
    """
    if not callable(reward):
        raise ValueError(f"reward must be a function of the draws, got {type(reward).__name__}")
    bound = _checks.scalar(bound, "bound")
    beta = _checks.real(beta, "beta", low=0.0, low_open=True)
    if beta.size == 0:
        raise ValueError("beta must hold at least one KL coefficient, got none")
    size = _checks.integer(size, "size", low=2)
    proxy = Proxy(utility=utility, error=error)
    _probe(reward, bound)
    draws = proxy.sample(size, rng=rng)
    with np.errstate(all="ignore"):
        r = np.asarray(reward(draws), dtype=float)
    if r.ndim == 0:
        r = np.full(size, float(r))
    if r.shape != (size,):
        raise ValueError(f"reward must return one value a draw, shape ({size},), got {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("reward returned NaN or infinite values on the draws")
    if np.any(r > bound):
        raise ValueError(f"reward exceeds bound = {bound:g} on the draws (max {r.max():g})")
    rows = [_sampled(draws, r, float(b), size) for b in beta.ravel()]
    fields = ("utility", "error", "reward", "kl", "effective_size")
    values = {name: _checks.like([row[0][name] for row in rows], beta) for name in fields}
    errors = {name: _checks.like([row[1][name] for row in rows], beta) for name in fields[:4]}
    smallest = float(np.min(values["effective_size"]))
    if smallest < _SMALL_SAMPLE:
        warnings.warn(f"the estimate rests on {smallest:.3g} effective draws of {size}: beta is "
                      "too small for this sample", RuntimeWarning, stacklevel=2)
    beta_out = _checks.like(beta, beta)
    se = SampledOptimum(beta=beta_out, effective_size=values["effective_size"], **errors)
    return SampledOptimum(beta=beta_out, se=se, **values)


# ---------------------------------------------------------------------------------------------
# The mixture of quantilizers


def _level(reward, level, proxy):
    """The clipping levels (``nan`` for ``tanh``), after checking ``reward`` and ``level``."""
    if reward not in _REWARDS:
        raise ValueError(f"reward must be one of {_REWARDS}, got {reward!r}")
    if reward == "tanh":
        if level is not None:
            raise ValueError("level is the clipping level: give it only with reward='clip'")
        return np.array(np.nan)
    if level is None:
        raise ValueError("reward='clip' needs level, the clipping level c of min(U, c)")
    level = _checks.real(level, "level")
    upper = float(proxy.utility.support()[1] + proxy.error.support()[1])
    if np.any(level >= upper):
        raise ValueError(f"level must lie below {upper:g}, the upper end of U's support")
    # every threshold lies below the level: where P(U >= level) is representable the tails
    # come from scipy's; beyond, each node would integrate a density (seconds a node)
    with _checks.named("level"):
        log_tail = proxy.logsf(np.max(level))
    if log_tail < _LOG_SMALLEST_TAIL:
        raise ValueError(f"level = {np.max(level):g} is too far out: P(U >= level) = "
                         f"exp({log_tail:.4g}) is below 1e-300")
    return level


def _grid():
    """The finest tanh-sinh grid: ``tau``, ``s`` in (0, 1), ``1 - s``, and ``ds/dtau``."""
    step = _STEPS[-1]
    tau = step * np.arange(-round(_HALF_WIDTH / step), round(_HALF_WIDTH / step) + 1)
    z = np.pi / 2 * np.sinh(tau)
    s, one_minus = expit(2 * z), expit(-2 * z)
    return tau, s, one_minus, np.pi * np.cosh(tau) * s * one_minus


def _thresholds(reward, level, beta, s, one_minus):
    """``T(s)`` and ``log s`` (rows: beta, columns: nodes), and ``log w(-inf)`` per beta."""
    beta = beta[:, None]
    if reward == "clip":
        log_s = np.where(s < 0.5, np.log(s), np.log1p(-one_minus)) + 0 * beta
        with np.errstate(over="ignore", invalid="ignore"):
            t = level[:, None] + beta * log_s
        if not np.all(np.isfinite(t)):
            raise ValueError(f"beta = {np.max(beta):g} is too large: the thresholds c + beta "
                             "log s overflow")
        return t, log_s, np.full(beta.shape[0], -np.inf)
    # tanh: s = atom + (1 - atom) sigma in (atom, 1), with the atom w(-inf) = exp(-2 / beta);
    # T = atanh(1 + beta log s) = (log(2 + beta log s) - log(beta) - log(-log s)) / 2
    log_atom = -2 / beta
    atom = np.exp(log_atom)
    gap, above = (1 - atom) * one_minus, (1 - atom) * s  # 1 - s and s - atom
    log_s = np.where(gap < 0.5, np.log1p(-gap), np.logaddexp(log_atom, np.log(above)))
    tiny = np.maximum(atom, 1e-300)
    two_plus = np.where(atom > 1e-300, beta * np.log1p(above / tiny), 2 + beta * log_s)
    minus_log_s = np.where(gap < 0.5, -np.log1p(-gap), -log_s)
    t = 0.5 * (np.log(two_plus) - np.log(beta) - np.log(minus_log_s))
    return t, log_s, log_atom[:, 0]


def _mixture(proxy, reward, level, beta, *, utility=True):
    """The optimum's fields for each ``beta`` (flat): tanh-sinh, the step halved (reusing the
    nodes) until two levels agree to ``_AGREEMENT``. ``utility=False`` skips ``E_P[V]`` (the
    KL needs only ``P(U >= t)``)."""
    tau, s, one_minus, jacobian = _grid()
    t, log_s, log_atom = _thresholds(reward, level, beta, s, one_minus)
    q25, q75 = (float(x) for x in proxy.utility.ppf([0.25, 0.75]))
    scale = max(abs(proxy.mean), q75 - q25)
    tail, moment = np.full(t.shape, np.nan), np.full(t.shape, np.nan)
    sums = np.full((3, beta.size), np.nan)
    open_, previous = np.ones(beta.size, bool), None
    for step in _STEPS:
        stride = round(step / _STEPS[-1])
        columns = np.flatnonzero(np.arange(tau.size) % stride == 0)
        rows = np.flatnonzero(open_)
        block = np.ix_(rows, columns)
        new = np.isnan(tail[block])
        where = t[block][new]
        values, moments = tail[block], moment[block]
        if utility:
            above = proxy.tail(where)
            values[new] = np.exp(above.log_tail)
            moments[new] = values[new] * above.utility
        else:
            values[new], moments[new] = np.exp(proxy.logsf(where)), 0.0
        tail[block], moment[block] = values, moments
        weight = step * jacobian[columns]
        current = np.array([values @ weight, moments @ weight,
                            (values * (1 + log_s[block])) @ weight])
        if previous is not None:
            # each integral against its natural size: P(U >= t) times 1, scale(V) and 1
            size = np.abs(current) + np.abs(current[0]) * np.array([[0.0], [scale], [1.0]])
            change = np.max(np.abs(current - previous) / np.maximum(size, 1e-300), axis=0)
            done = change <= _AGREEMENT
            sums[:, rows[done]] = current[:, done]
            open_[rows[done]] = False
            current = current[:, ~done]
            if not np.any(open_):
                break
        previous = current
    else:
        raise ArithmeticError(f"the quadrature did not converge for beta = {beta[open_][0]:g}")
    return _fields(proxy, reward, level, beta, sums, log_atom)


def _fields(proxy, reward, level, beta, sums, log_atom):
    """The optimum's fields from the three integrals over the thresholds' quantile."""
    tail, moment, entropy = sums
    rbar = level if reward == "clip" else 1.0  # the reward's supremum
    atom = np.exp(log_atom)
    z = atom + (1 - atom) * tail
    with np.errstate(invalid="ignore"):
        atom_entropy = np.where(atom > 0, atom * log_atom, 0.0)
    w_log_w = atom_entropy + (1 - atom) * entropy  # E_Q[w log w]
    log_z = np.log(z)
    kl = w_log_w / z - log_z
    # the integrals are good to about 1e-13 of P(U >= t) <= 1: so is the difference
    rounding = _INTEGRALS * (1 + np.abs(w_log_w / z) + np.abs(log_z))
    if np.any(rounding > _ROUNDING * kl):
        i = np.flatnonzero(rounding > _ROUNDING * kl)[0]
        levels = np.broadcast_to(level, beta.shape)
        where = "" if reward != "clip" else f" for level = {levels[i]:g}"
        raise ValueError(f"beta = {beta[i]:g} is too large{where}: the optimum's KL, about "
                         f"{kl[i]:.2g} nats, is not resolved in double precision")
    if reward == "clip":
        threshold = level - beta
    else:  # atanh(1 - beta), without rounding 1 - beta
        with np.errstate(divide="ignore", invalid="ignore"):
            threshold = np.where(beta < 2, 0.5 * np.log((2 - beta) / beta), -np.inf)
    return dict(beta=beta, utility=(atom * proxy.mean + (1 - atom) * moment) / z,
                reward=rbar + beta * w_log_w / z, kl=kl, objective=rbar + beta * log_z,
                threshold=threshold)


def _beta_for_kl(proxy, reward, level, budget):
    """The ``beta`` whose optimum's KL is each budget: a root in ``log beta``.

    The KL falls as ``beta`` grows, about like ``beta^-2`` where it is small; so from
    ``beta = 1`` the walk's first step is half the miss in ``log KL`` (at least 0.05), doubled
    until the root is bracketed. The KL at each ``log beta`` is computed once (the root finder
    evaluates the bracket's ends again)."""
    if reward == "clip":
        limit = -np.asarray(proxy.logsf(level))
        if np.any(budget >= limit):
            i = np.flatnonzero(budget >= limit)[0]
            raise ValueError(f"kl must lie below -log P(U >= level) = {limit[i]:.6g}, the KL "
                             f"of the optimum as beta -> 0, got {budget[i]:g}")
    known = {}

    def excess(log_beta, log_budget, level):
        log_beta, level = np.broadcast_arrays(log_beta, level)
        keys = list(zip(level.ravel().tolist(), log_beta.ravel().tolist(), strict=True))
        new = [i for i, key in enumerate(keys) if key not in known]
        if new:
            kl = _mixture(proxy, reward, level.ravel()[new], np.exp(log_beta.ravel()[new]),
                          utility=False)["kl"]
            known.update(zip([keys[i] for i in new], np.log(kl), strict=True))
        return np.reshape([known[key] for key in keys], log_beta.shape) - log_budget

    args = (np.log(budget), level)
    x = np.zeros(budget.shape)
    f = excess(x, *args)
    far = x.copy()
    step, open_ = np.maximum(np.abs(f) / 2, 0.05), f != 0
    while np.any(open_):
        rows = np.flatnonzero(open_ & (np.abs(x) + step <= _LOG_BETA_REACH))
        if rows.size < np.count_nonzero(open_):
            raise ValueError(f"kl = {budget[open_][0]:g} is not reached for beta in "
                             f"(e^-{_LOG_BETA_REACH:g}, e^{_LOG_BETA_REACH:g})")
        far[rows] = x[rows] + np.sign(f[rows]) * step[rows]
        f_far = excess(far[rows], *(a[rows] for a in args))
        crossed = np.sign(f_far) != np.sign(f[rows])
        open_[rows[crossed]] = False
        moved = rows[~crossed]
        x[moved], f[moved] = far[moved], f_far[~crossed]
        step[moved] *= 2
    lo, hi = np.minimum(x, far), np.maximum(x, far)
    root = elementwise.find_root(excess, (lo, hi), args=args,
                                 tolerances={"xatol": 1e-10, "xrtol": 0.0})
    if not np.all(root.success):
        raise ArithmeticError("the beta for the KL budget was not found")
    return np.exp(root.x)


def _shaped(fields, shape):
    return RewardOptimum(**{name: _checks.like(value, np.empty(shape))
                            for name, value in fields.items()})


# ---------------------------------------------------------------------------------------------
# The sampled optimum


def _probe(reward, bound):
    """Refuse a reward that exceeds ``bound`` at extreme values of ``V`` and ``X``."""
    extremes = np.array([-1e300, -1e12, -1e3, 0.0, 1e3, 1e12, 1e300])
    v, x = (a.ravel() for a in np.meshgrid(extremes, extremes))
    with np.errstate(all="ignore"):
        values = np.asarray(reward(Sample(utility=v, error=x)), float)
    if values.shape not in ((), v.shape):
        raise ValueError(f"reward must return one value a draw, shape ({v.size},) for "
                         f"{v.size} draws, got {values.shape}")
    values = np.broadcast_to(values, v.shape)
    bad = values > bound  # NaN compares False: a reward undefined there is not judged
    if np.any(bad):
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"reward must be bounded above by bound = {bound:g}: it is {values[i]:g} at "
            f"utility = {v[i]:g}, error = {x[i]:g}"
        )


def _sampled(draws, r, beta, size):
    """The self-normalized estimates at one ``beta`` and their delta-method errors."""
    log_w = (r - r.max()) / beta
    log_total = logsumexp(log_w)
    p = np.exp(log_w - log_total)
    kept = p > 0
    log_p = np.where(kept, log_w - log_total, 0.0)
    values = {"effective_size": 1 / np.sum(p**2)}
    errors = {}
    for name, h in (("utility", draws.utility), ("error", draws.error), ("reward", r)):
        mean = float(np.sum(p * h))
        values[name] = mean
        errors[name] = float(np.sqrt(np.sum((p * (h - mean)) ** 2)))
    entropy = float(np.sum(p * log_p))  # sum p log p
    values["kl"] = max(np.log(size) + entropy, 0.0)
    # influence of each draw on log n + sum p log p = E_P[log w] - log mean(w)
    influence = np.where(kept, p * (log_p - entropy - 1), 0.0) + 1 / size
    errors["kl"] = float(np.sqrt(np.sum(influence**2)))
    return values, errors
