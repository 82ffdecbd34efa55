"""The discussion's toy models: a bounded objective, a KL cap and a likelihood-ratio cap.

For the proxy ``U = X + V``, the error ``X`` and the utility ``V`` independent under the base
law ``Q``, each function solves one alternative to "maximize ``E_P[U] - beta D(P || Q)``"
from the paper's section 5.1 or from the post:

* :func:`bounded_objective` and :func:`bounded_objective_optimum`: maximize
  ``sigmoid(E_P[U]) - beta D(P || Q)``, the bounded objective of section 5.1;
* :func:`three_knob`: the three-knob toy model of a KL cap (section 5.1 and the post): at
  ``D(P || Q) = d``, the most proxy reward for a given severity of hacking;
* :func:`quantilizer`: the cap ``dP/dQ <= 1/q`` on the likelihood ratio, from the post.

The first two rest on one computation. The cheapest way to raise the mean of ``V`` is its
exponential tilt at ``lam`` (:func:`goodhart.tilting.tilt`), whose mean rises by ``1 / lam``
per nat; Theorem 1's reweighting of ``X`` at a threshold ``t`` with tail mass ``m``
(:func:`goodhart.reweighting.upweight_tail`) raises ``E[X]`` by
``D = E[X | X > t] - E[X | X <= t]`` per unit of mass and costs the Bernoulli KL, whose slope
in ``m`` is ``logit m - logit Fbar(t)``. Spending the KL on both at equal marginal rates gives

    logit m = logit Fbar(t) + lam D,

so each optimum is a single number ``lam``. Along that curve the derivative of
``s(E[U]) - beta KL`` is ``(s'(E[U]) - beta lam)`` times a positive factor, so the bounded
objective's optimum is a root of ``s'(E[U]) = beta lam`` (located on a grid, then solved);
the three-knob optimum is the root of ``KL(lam) = d``, which is unique.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import elementwise
from scipy.special import expit

from goodhart import _checks, tails
from goodhart.divergences import bernoulli_kl
from goodhart.proxy import Proxy
from goodhart.reweighting import upweight_tail
from goodhart.tilting import tilt

__all__ = [
    "BlockPolicy",
    "ObjectiveOptimum",
    "Quantilizer",
    "ThreeKnob",
    "bounded_objective",
    "bounded_objective_optimum",
    "quantilizer",
    "three_knob",
]

_GRID = 400  # points of the grid in lam that locates the bounded objective's optimum
_SMALLEST = 1e-16  # its smallest positive point, as a fraction of the largest
_SMALLEST_KL = 1e-12  # the smallest cap of three_knob
_LARGEST_BETA = 1e300  # beyond, the optimum's lam <= 1 / (4 beta) is a subnormal number


@dataclass(frozen=True)
class ObjectiveOptimum:
    """The best policy for ``sigmoid(E_P[U]) - beta D(P || Q)`` in a family.

    Fields are floats for scalar arguments and arrays of their broadcast shape otherwise.

    Attributes
    ----------
    beta : float or ndarray
        The KL coefficient.
    utility, error, proxy : float or ndarray
        ``E_P[V]``, ``E_P[X]`` and ``E_P[U]``.
    kl : float or ndarray
        ``D(P || Q)`` in nats.
    objective : float or ndarray
        ``sigmoid(E_P[U]) - beta D(P || Q)``.
    """

    beta: float | np.ndarray
    utility: float | np.ndarray
    error: float | np.ndarray
    proxy: float | np.ndarray
    kl: float | np.ndarray
    objective: float | np.ndarray


@dataclass(frozen=True, kw_only=True)
class BlockPolicy(ObjectiveOptimum):
    """:class:`ObjectiveOptimum` among Theorem 1's reweightings of ``X`` at one threshold.

    Attributes
    ----------
    threshold : float or ndarray
        The threshold ``t`` of the two blocks.
    mass : float or ndarray
        ``P(X > t)`` under the policy.
    """

    threshold: float | np.ndarray
    mass: float | np.ndarray


@dataclass(frozen=True)
class ThreeKnob:
    """The most-reward policy of the three-knob model at one KL and one severity.

    The post's knobs are the *severity* of hacking (the threshold ``s``: a hack draws ``X``
    from ``Q`` above ``s``), its *frequency* (``P(X > s)`` under the policy) and the *quality*
    of the answers (the rise of ``E[V]``); they are also available under those names.

    Attributes
    ----------
    threshold, mass : float or ndarray
        The severity ``s`` and the frequency ``P_P(X > s)``.
    utility, error, proxy : float or ndarray
        ``E_P[V]``, ``E_P[X]`` and ``E_P[U]`` (the reward at the cap).
    kl : float or ndarray
        ``D(P || Q)``, the cap.
    hack_kl : float or ndarray
        The nats spent on hacking; the rest, ``kl - hack_kl``, buys quality.
    """

    threshold: float | np.ndarray
    mass: float | np.ndarray
    utility: float | np.ndarray
    error: float | np.ndarray
    proxy: float | np.ndarray
    kl: float | np.ndarray
    hack_kl: float | np.ndarray
    base_utility: float = 0.0

    @property
    def severity(self):
        """The threshold ``s`` above which a hack draws its error."""
        return self.threshold

    @property
    def frequency(self):
        """How often the policy hacks: ``P(X > s)`` under it."""
        return self.mass

    @property
    def quality(self):
        """``E_P[V] - E_Q[V]``: how much the answers improved."""
        return _checks.like(np.asarray(self.utility) - self.base_utility)


@dataclass(frozen=True)
class Quantilizer:
    """The best policy under ``dP/dQ <= 1/q``: ``Q`` conditioned on the top ``q`` of ``U``.

    Attributes
    ----------
    q : float or ndarray
        The share of ``Q`` kept.
    threshold : float or ndarray
        ``u_q`` with ``P_Q(U >= u_q) = q``.
    utility : float or ndarray
        ``E[V | U >= u_q]``.
    kl : float or ndarray
        ``D(P || Q) = log(1 / q)``.
    """

    q: float | np.ndarray
    threshold: float | np.ndarray
    utility: float | np.ndarray
    kl: float | np.ndarray


def bounded_objective(*, utility, error, beta, t):
    """The best policy of ``sigmoid(E_P[U]) - beta KL`` that reweights ``X`` at threshold ``t``.

    The policy is Theorem 1's two-block reweighting of the error at ``t`` (tail mass ``m``)
    times an exponential tilt of the utility; both are optimized. For a heavy-tailed error the
    objective of these policies tends to 1, the supremum over all policies, as ``t`` grows,
    while their KL and their utility gain tend to 0: the near-optimal policies are Theorem
    1's, with the utility of the base (the paper's section 5.1, first bullet, with the penalty
    subtracted).

    Parameters
    ----------
    utility : frozen scipy.stats law
        The law of ``V``, light-tailed (so that its tilts exist).
    error : frozen scipy.stats law
        The law of ``X``, with a finite mean.
    beta : float or array_like
        KL coefficients, in ``(0, 1e300]``.
    t : float or array_like
        Thresholds inside the support of ``X``; broadcast against ``beta``.

    Returns
    -------
    BlockPolicy
        ``threshold``, ``mass``, ``utility``, ``error``, ``proxy``, ``kl``, ``objective``.

    Examples
    --------
    >>> from scipy import stats
    >>> p = bounded_objective(utility=stats.norm(), error=stats.t(3), beta=0.1,
    ...                       t=[10.0, 1e6])
    >>> print(np.round(p.objective, 6), [f"{u:.2e}" for u in p.utility])
    [0.873376 0.999973] ['3.58e-01', '1.98e-05']
    """
    _light(utility, "utility")
    _checks.finite_mean(error, "error")
    beta = _checks.real(beta, "beta", low=0.0, low_open=True, high=_LARGEST_BETA)
    t = _checks.real(t, "t")
    beta_b, t_b = np.broadcast_arrays(beta, t)
    shape = beta_b.shape
    with _checks.named("t"):  # the blocks' facts; the mass is chosen below
        blocks = upweight_tail(error, t_b.ravel(), 0.5)
    beta_f = beta_b.ravel()
    args = (np.asarray(blocks.log_tail, float), np.asarray(blocks.body_mean, float),
            np.asarray(blocks.tail_mean, float))

    def curve(lam, log_tail, body, tail):
        mass = expit(_logit(log_tail) + lam * (tail - body))
        tilted = tilt(utility, lam)
        error_mean = body + mass * (tail - body)
        kl = bernoulli_kl(mass, log_tail) + tilted.kl
        return mass, tilted.mean, error_mean, kl

    lam = _maximize_bounded(curve, beta_f, args, top=_tilt_reaching(utility, 1 / beta_f, "beta"))
    mass, utility_mean, error_mean, kl = curve(lam, *args)
    proxy = error_mean + utility_mean
    return BlockPolicy(
        beta=_checks.like(beta_b), utility=_checks.like(np.reshape(utility_mean, shape)),
        error=_checks.like(np.reshape(error_mean, shape)),
        proxy=_checks.like(np.reshape(proxy, shape)),
        kl=_checks.like(np.reshape(kl, shape)),
        objective=_checks.like(np.reshape(expit(proxy) - beta_f * kl, shape)),
        threshold=_checks.like(t_b), mass=_checks.like(np.reshape(mass, shape)),
    )


def bounded_objective_optimum(*, utility, error, beta):
    """The optimum of ``sigmoid(E_P[U]) - beta KL`` over all policies, for a light-tailed error.

    For a given ``E_P[U]`` the least KL is reached by tilting ``U``, i.e. ``X`` and ``V`` at
    the same ``lam``; the best ``lam`` solves ``sigmoid'(E[U]) = beta lam``. For independent
    normal laws this is the closed form of the book: ``U ~ N(0, s^2)`` shifted by ``e`` costs
    ``e^2 / (2 s^2)`` nats and raises ``E[V]`` by ``e Var(V) / s^2``. A heavy-tailed error has
    no optimum (the supremum 1 is approached by :func:`bounded_objective` as ``t`` grows).

    Parameters
    ----------
    utility, error : frozen scipy.stats laws
        Light-tailed laws of ``V`` and ``X`` (independent).
    beta : float or array_like
        KL coefficients, in ``(0, 1e300]``.

    Returns
    -------
    ObjectiveOptimum

    Raises
    ------
    ValueError
        For a heavy-tailed law (naming it), or a bad ``beta``.

    Examples
    --------
    >>> from scipy import stats
    >>> best = bounded_objective_optimum(utility=stats.norm(), error=stats.norm(0, 3**0.5),
    ...                                  beta=0.1)
    >>> round(best.objective, 6), round(best.utility, 4), round(best.kl, 4)
    (0.846364, 0.648, 0.8398)
    """
    _light(utility, "utility")
    _light(error, "error")
    beta = _checks.real(beta, "beta", low=0.0, low_open=True, high=_LARGEST_BETA)
    beta_f = beta.ravel()
    top = np.minimum(_tilt_reaching(utility, 1 / beta_f, "beta"),
                     _tilt_reaching(error, 1 / beta_f, "beta"))

    def curve(lam):
        tilts = tilt(utility, lam), tilt(error, lam)
        return None, tilts[0].mean, tilts[1].mean, tilts[0].kl + tilts[1].kl

    lam = _maximize_bounded(curve, beta_f, (), top=top)
    _, utility_mean, error_mean, kl = curve(lam)
    proxy = utility_mean + error_mean
    shape = beta.shape
    return ObjectiveOptimum(
        beta=_checks.like(beta), utility=_checks.like(np.reshape(utility_mean, shape)),
        error=_checks.like(np.reshape(error_mean, shape)),
        proxy=_checks.like(np.reshape(proxy, shape)),
        kl=_checks.like(np.reshape(kl, shape)),
        objective=_checks.like(np.reshape(expit(proxy) - beta_f * kl, shape)),
    )


def three_knob(*, utility, error, kl, severity):
    """The post's three-knob model of a KL cap: the most ``E_P[U]`` at ``D(P || Q) = kl``.

    A policy hacks with frequency ``f``: then its error is a draw of ``Q`` above the
    *severity* ``s``, otherwise a draw of ``Q`` below ``s`` (Theorem 1's two blocks, tail
    mass ``f``); independently it tilts the utility, raising the *quality* ``E_P[V]``. For
    each severity, the KL budget is split between frequency and quality in the best way: the
    tilt ``lam`` with ``logit f = logit Fbar(s) + lam D`` and total KL ``kl`` (a unique root,
    the total KL rising with ``lam``).

    Parameters
    ----------
    utility : frozen scipy.stats law
        The law of ``V``, light-tailed.
    error : frozen scipy.stats law
        The law of ``X``, with a finite mean.
    kl : float or array_like
        The cap in nats, ``>= 1e-12`` (below, the split of the budget is lost to rounding).
    severity : float or array_like
        Thresholds inside the support of ``X``; broadcast against ``kl``.

    Returns
    -------
    ThreeKnob
        ``threshold`` (= ``severity``), ``mass`` (= ``frequency``), ``utility``, ``quality``,
        ``error``, ``proxy``, ``kl``, ``hack_kl``.

    Examples
    --------
    >>> from scipy import stats
    >>> p = three_knob(utility=stats.norm(), error=stats.t(3), kl=0.5, severity=[1.0, 1e4])
    >>> np.round(p.frequency, 4), np.round(p.quality, 4), np.round(p.proxy, 2)
    (array([0.5515, 0.022 ]), array([0.6167, 0.0016]), array([  1.55, 330.  ]))
    """
    _light(utility, "utility")
    _checks.finite_mean(error, "error")
    # below 1e-12 nats the two blocks' KLs (each ~ lam^2) are lost to the rounding of the
    # Bernoulli KL, and the split of the budget cannot be found
    kl = _checks.real(kl, "kl", low=_SMALLEST_KL)
    severity = _checks.real(severity, "severity")
    kl_b, s_b = np.broadcast_arrays(kl, severity)
    shape = kl_b.shape
    with _checks.named("severity"):
        blocks = upweight_tail(error, s_b.ravel(), 0.5)
    log_tail = np.asarray(blocks.log_tail, float)
    body, tail = np.asarray(blocks.body_mean, float), np.asarray(blocks.tail_mean, float)
    budget = kl_b.ravel().astype(float)

    def excess(lam, budget, log_tail, body, tail):
        mass = expit(_logit(log_tail) + lam * (tail - body))
        return tilt(utility, lam).kl + bernoulli_kl(mass, log_tail) - budget

    args = (budget, log_tail, body, tail)
    high = _tilt_reaching(utility, budget, "kl")
    root = elementwise.find_root(excess, (np.zeros_like(budget), high), args=args,
                                 tolerances={"xatol": 0.0, "xrtol": 4 * np.finfo(float).eps})
    if not np.all(root.success):
        raise ArithmeticError("three_knob: the split of the KL budget was not found")
    lam = root.x
    mass = expit(_logit(log_tail) + lam * (tail - body))
    hack = np.minimum(bernoulli_kl(mass, log_tail), budget)
    tilted = tilt(utility, lam)
    error_mean = body + mass * (tail - body)

    def out(values):
        return _checks.like(np.reshape(values, shape))

    return ThreeKnob(
        threshold=_checks.like(s_b), mass=out(mass), utility=out(tilted.mean),
        error=out(error_mean),
        proxy=out(tilted.mean + error_mean), kl=_checks.like(kl_b), hack_kl=out(hack),
        base_utility=float(utility.mean()),
    )


def quantilizer(*, utility, error, q):
    """The ``q``-quantilizer of ``U = X + V`` and its utility ``E[V | U >= u_q]``.

    Among all ``P`` with ``dP/dQ <= 1/q``, ``E_P[U]`` is largest for ``Q`` restricted to its
    top ``q`` of ``U`` and rescaled by ``1/q`` (fill the largest values of ``U`` first, at the
    largest density allowed): the quantilizer of Taylor (2016). Its KL is ``log(1/q)``. The
    threshold is :meth:`goodhart.Proxy.isf`, the utility :meth:`goodhart.Proxy.conditional_mean`.

    Parameters
    ----------
    utility, error : frozen scipy.stats laws
        The laws of ``V`` and ``X`` (independent); ``V`` with a finite mean.
    q : float or array_like
        Shares in (0, 1).

    Returns
    -------
    Quantilizer
        ``q``, ``threshold``, ``utility``, ``kl``.

    Examples
    --------
    >>> from scipy import stats
    >>> best = quantilizer(utility=stats.norm(), error=stats.t(3), q=[0.05, 1e-8])
    >>> np.round(best.utility, 4), np.round(best.kl, 2)
    (array([0.9142, 0.0063]), array([ 3.  , 18.42]))
    """
    proxy = Proxy(utility=utility, error=error)
    q = _checks.probability(q, "q")
    threshold = proxy.isf(q)
    return Quantilizer(q=_checks.like(q), threshold=threshold,
                       utility=proxy.conditional_mean(threshold), kl=_checks.like(-np.log(q)))


# ---------------------------------------------------------------------------------------------
# Helpers


def _light(law, name):
    """``law`` checked: a frozen law with a finite mean and a light right tail."""
    _checks.finite_mean(law, name)
    if tails.is_heavy_tailed(law):
        raise ValueError(
            f"{name} ({law.dist.name}) is heavy-tailed: its tilts do not exist, and a KL budget "
            "buys it any mean (Theorem 1); this model needs a light-tailed law"
        )
    return law


def _logit(log_p):
    """``logit p`` from ``log p``, exact for tiny ``p``."""
    return log_p - tails.log1mexp(log_p)


def _maximize_bounded(curve, beta, others, top):
    """The ``lam`` that maximizes ``sigmoid(E[U]) - beta KL`` along ``curve``, per element.

    ``curve(lam, *others)`` returns ``(mass, E[V], E[X], KL)`` at ``lam`` (arrays broadcast
    with ``others``). The optimum has ``lam = sigmoid'(E[U]) / beta <= 1 / (4 beta)``, and a
    KL below ``1 / beta`` (its objective is positive and at most ``1 - beta KL``), so ``lam``
    is at most ``top``, a tilt whose KL is ``1 / beta``. A grid of ``[0]`` and geometric
    points up to the smaller bound finds the best one, then the root of
    ``sigmoid'(E[U]) - beta lam``, whose sign is that of the derivative, between it and the
    neighbour where the sign changes.
    """
    top = np.minimum(1 / (4 * beta), top)
    grid = np.concatenate([[0.0], np.geomspace(_SMALLEST, 1.0, _GRID - 1)])
    lam = top[:, None] * grid[None, :]
    wide = [np.repeat(np.asarray(a), grid.size) for a in others]
    _, v_mean, x_mean, kl = curve(lam.ravel(), *wide)
    values = expit(v_mean + x_mean) - np.repeat(beta, grid.size) * kl
    best = np.argmax(values.reshape(lam.shape), axis=1)

    def slope(lam, beta, *others):
        _, v_mean, x_mean, _ = curve(lam, *others)
        e = v_mean + x_mean
        return expit(e) * expit(-e) - beta * lam

    rows = np.arange(lam.shape[0])
    here = lam[rows, best]
    sign = slope(here, beta, *others)
    # the neighbours of the best point where the slope changes sign: next to it, unless the
    # objective is flat to rounding there (a large beta), then the nearest change on the grid
    signs = np.sign(slope(lam.ravel(), np.repeat(beta, grid.size), *wide)).reshape(lam.shape)
    index = np.arange(grid.size)[None, :]
    after = np.where((index > best[:, None]) & (signs <= 0), index, grid.size - 1).min(axis=1)
    before = np.where((index < best[:, None]) & (signs > 0), index, 0).max(axis=1)
    # no change up to the top: the slope there (<= 0 in exact arithmetic, as lam <= 1 / (4
    # beta)) is positive only by the rounding of sigmoid' = 1/4, and the optimum is the top
    at_top = (sign > 0) & ~np.any((index > best[:, None]) & (signs <= 0), axis=1)
    at_top &= np.abs(slope(lam[:, -1], beta, *others)) <= 8 * np.finfo(float).eps
    left = np.where(sign > 0, here, lam[rows, before])
    right = np.where(sign > 0, lam[rows, after], here)
    root = elementwise.find_root(slope, (left, right), args=(beta, *others),
                                 tolerances={"xatol": 0.0, "xrtol": 4 * np.finfo(float).eps})
    exact = sign == 0
    if not np.all(root.success | exact | at_top):
        raise ArithmeticError("bounded objective: the optimum was not bracketed by the grid")
    return np.where(at_top, lam[:, -1], np.where(exact, here, root.x))


def _tilt_reaching(law, budget, name):
    """A ``lam`` per budget, below the MGF radius, whose tilt of ``law`` costs at least that.

    A budget that no tilt reaches (``lam`` doubled 200 times) is a ValueError naming ``name``,
    the argument the budget comes from."""
    radius = tails.mgf_radius(law)
    high = np.full(np.shape(budget), min(1.0, radius / 2))
    for _ in range(200):
        short = tilt(law, high).kl < budget
        if not np.any(short):
            return high
        step = 2 * high if not np.isfinite(radius) else np.minimum(2 * high, (high + radius) / 2)
        high = np.where(short, step, high)
    raise ValueError(f"{name}: no tilt of {law.dist.name} reaches a KL of {np.max(budget):g} "
                     "(the tilts' KL stays below it)")

