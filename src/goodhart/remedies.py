"""The discussion's toy models: what does and does not stop catastrophic Goodhart (claims 6, 8).

Each function computes one remedy or one failure of a remedy for ``U = X + V`` with the error
``X ~ x`` and the utility ``V`` independent under the base distribution ``Q``:

* :func:`bounded_objective` - maximize ``s(E[U]) - beta KL`` with a bounded increasing ``s``;
* :func:`three_knob_optimum` - the post's toy model of a KL cap: quality, frequency and
  severity of hacking, the most reward at a fixed KL for each severity;
* :func:`quantilizer` - the cap ``dP/dQ <= 1/q`` on the likelihood ratio;
* :func:`bounded_reward_optimum` - the KL-penalized optimum of a bounded (``tanh``,
  clipped) reward, by self-normalized importance sampling with its standard error.

Action-distribution KL against state-occupancy KL (Laidlaw et al.) is ``goodhart.occupancy``.

The utility in the first two is normal, ``V ~ N(mu, sigma^2)``, whose cheapest way to a mean
``mu + delta`` is the shift, at ``delta^2 / (2 sigma^2)`` nats (Theorem 3's frontier).
"""

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import expit, logit

from goodhart import conditioning
from goodhart.divergences import bernoulli_kl
from goodhart.reweighting import upweight_tail


def _positive(value, name):
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Policy:
    """A policy of a toy model: its objective or reward, ``E[V]``, ``E[X]`` and KL to ``Q``."""

    objective: float
    utility: float
    error: float
    kl: float


def bounded_objective(x, v_mean, v_sd, beta, t, squash=expit):
    """The best policy of ``squash(E[U]) - beta KL`` among Theorem 1's blocks at threshold ``t``.

    The policy puts mass ``m`` on ``{X > t}`` (keeping ``Q``'s shape on each block) and shifts
    ``V`` by ``delta``; the KL is the Bernoulli KL plus ``delta^2 / (2 v_sd^2)``. ``m`` and
    ``delta`` are optimized (Nelder-Mead on ``(logit m, delta)``). As ``t`` grows, the best
    objective tends to ``sup squash`` and ``delta`` to 0.
    """
    beta, v_sd = _positive(beta, "beta"), _positive(v_sd, "v_sd")
    blocks = upweight_tail(x, t, 0.5)  # body and tail means depend on t only

    def parts(z):
        p = dataclasses.replace(blocks, mass=float(expit(z[0])))
        kl = p.kl + z[1] ** 2 / (2 * v_sd**2)
        return p.mean, v_mean + z[1], kl

    def negative(z):
        error, utility, kl = parts(z)
        return -(squash(error + utility) - beta * kl)

    start = np.array([logit(max(np.exp(blocks.log_tail), min(0.5, 1 / abs(t)))), 0.0])
    best = optimize.minimize(
        negative, start, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14}
    )
    error, utility, kl = parts(best.x)
    return Policy(
        objective=float(-best.fun), utility=float(utility), error=float(error), kl=float(kl)
    )


@dataclass(frozen=True)
class ThreeKnobPolicy:
    """The most-reward policy at KL ``d`` for one hacking severity ``s``."""

    severity: float  # the threshold s: hacks are draws of X above s
    frequency: float  # P(hack) = P(X > s) under the policy
    quality: float  # the shift of E[V]
    reward: float  # E[U]
    hack_kl: float  # nats spent on hacking; the rest, d - hack_kl, buys quality


def three_knob_optimum(x, v_sd, d, severity):
    """The post's KL-cap toy model: maximize ``E[U]`` at ``KL = d`` over frequency and quality.

    A policy hacks with probability ``f`` (then ``X`` is drawn from ``Q`` above the severity
    ``s``) and otherwise draws ``X`` from ``Q`` below ``s``; independently it raises the mean
    of the normal utility by ``delta``. Its KL is ``bernoulli_kl(f, Fbar(s)) + delta^2 /
    (2 v_sd^2) = d``, so ``delta`` is set by ``f``, and ``f`` in ``[Fbar(s), f_max]`` is
    chosen by bounded scalar search on ``logit f``. The mean of ``V`` is taken as 0.
    """
    d, v_sd = _positive(d, "d"), _positive(v_sd, "v_sd")
    blocks = upweight_tail(x, float(severity), 0.5)
    f0 = float(np.exp(blocks.log_tail))

    def hack_kl(z):
        return float(bernoulli_kl(expit(z), blocks.log_tail))

    lo = float(logit(f0))
    hi = optimize.brentq(lambda z: hack_kl(z) - d, lo, 60.0, xtol=1e-13, maxiter=1000)

    def reward(z):
        quality = v_sd * np.sqrt(2 * max(d - hack_kl(z), 0.0))
        return dataclasses.replace(blocks, mass=float(expit(z))).mean + quality

    best = optimize.minimize_scalar(
        lambda z: -reward(z), bounds=(lo, hi), method="bounded", options={"xatol": 1e-10}
    )
    z = best.x if -best.fun > reward(lo) else lo
    return ThreeKnobPolicy(
        severity=float(severity),
        frequency=float(expit(z)),
        quality=float(v_sd * np.sqrt(2 * max(d - hack_kl(z), 0.0))),
        reward=float(reward(z)),
        hack_kl=hack_kl(z),
    )


@dataclass(frozen=True)
class Quantilizer:
    """The best policy under ``dP/dQ <= 1/q``: ``Q`` conditioned on the top ``q`` of ``U``."""

    q: float
    threshold: float  # P_Q(U >= threshold) = q
    utility: float  # E[V | U >= threshold]
    kl: float  # log(1/q)


def quantilizer(x, v, q):
    """The ``q``-quantilizer of ``U = X + V`` and its utility (Taylor 2016).

    Among all ``P`` with ``dP/dQ <= 1/q``, ``E_P[U]`` is largest for ``Q`` restricted to the
    upper ``q``-quantile of ``U`` and rescaled by ``1/q`` (fill the largest ``U`` first at the
    highest allowed density). The threshold comes from ``brentq`` on
    ``conditioning.log_exceedance``; the utility is ``conditioning.conditional_mean``.
    """
    if not 0 < q < 1:
        raise ValueError(f"q must lie in (0, 1), got {q!r}")
    log_q = np.log(q)
    scale = float(x.std() + v.std()) if np.isfinite(x.std()) else 1.0
    lo, hi = float(x.median() + v.median()), float(x.median() + v.median())
    while conditioning.log_exceedance(v, x, lo) < log_q:
        lo -= scale
    while conditioning.log_exceedance(v, x, hi) > log_q:
        hi = hi + scale if hi <= 0 else 2 * hi + scale
    threshold = optimize.brentq(
        lambda t: conditioning.log_exceedance(v, x, t) - log_q, lo, hi, xtol=1e-12, rtol=1e-12
    )
    return Quantilizer(
        q=float(q),
        threshold=float(threshold),
        utility=float(conditioning.conditional_mean(v, x, threshold)),
        kl=float(-log_q),
    )


@dataclass(frozen=True)
class SampledOptimum:
    """A Gibbs optimum ``dP/dQ = exp(r(X, V) / beta) / Z`` estimated from ``Q``'s samples."""

    beta: float
    utility: float  # E_P[V]
    utility_se: float  # its delta-method standard error
    error: float  # E_P[X]
    kl: float  # D(P || Q) = E_P[r] / beta - log Z
    effective_size: float  # (sum w)^2 / sum w^2


def bounded_reward_optimum(x, v, reward, beta, n=10**6, seed=0):
    """The optimum of ``E[reward(X, V)] - beta KL`` by self-normalized importance sampling.

    ``reward`` must be bounded above (``tanh``, clipping), so ``Z = E exp(reward / beta)`` is
    finite whatever the tails and the optimum exists. ``n`` pairs are drawn from ``Q`` once
    (seeded); the weights are computed in log space. ``beta`` may be an array: one optimum each.
    """
    rng = np.random.default_rng(seed)
    xs = x.rvs(size=n, random_state=rng)
    vs = v.rvs(size=n, random_state=rng)
    r = np.asarray(reward(xs, vs), dtype=float)
    if not np.all(np.isfinite(r)):
        raise ValueError("reward returned NaN or infinite values on the samples")

    def one(b):
        b = _positive(b, "beta")
        log_w = r / b
        shift = log_w.max()
        w = np.exp(log_w - shift)
        total = w.sum()
        p = w / total
        utility = float(np.sum(p * vs))
        se = float(np.sqrt(np.sum(p**2 * (vs - utility) ** 2)))
        log_z = shift + np.log(total / n)
        return SampledOptimum(
            beta=b,
            utility=utility,
            utility_se=se,
            error=float(np.sum(p * xs)),
            kl=float(np.sum(p * r) / b - log_z),
            effective_size=float(1 / np.sum(p**2)),
        )

    betas = np.atleast_1d(np.asarray(beta, dtype=float))
    out = [one(b) for b in betas]
    return out[0] if np.ndim(beta) == 0 else out
