"""Theorem 2: policies in a deterministic MDP, as trajectory distributions.

The MDP is a *token tree*: from the empty prefix, a policy appends one of ``k`` tokens per step
for ``horizon`` steps; the ``k ** horizon`` full sequences are the sink states, and the return
is a number attached to each of them. Transitions are deterministic and each sink is reached
by exactly one path, so returns are Markovian (they depend on the final state only).

Everything is stored level by level as numpy arrays, never node by node: level ``l`` has
``k ** l`` prefixes, prefix ``i`` has children ``k * i + a``, and a policy is the list of
arrays ``policy[l][i, a] = pi(a | prefix i)``. Reshaping ``(k ** (l + 1),)`` to
``(k ** l, k)`` groups the children of each prefix, so one numpy operation handles a level.

Theorem 2's construction: reweight the base policy's trajectory distribution by a factor
that depends only on the return (``reweight_by_return``; the two blocks of Theorem 1 from
``goodhart.reweighting``), then read off ``pi(a|s) = rho(next token a | prefix s)``
(``read_off_policy``). Then ``Tr(pi) = rho`` and, by the chain rule, the expected per-state
KL along ``pi``'s trajectories equals ``D(rho || Tr(pi0))``.
"""

from dataclasses import dataclass

import numpy as np
from scipy import integrate, special, stats

from goodhart import _checks
from goodhart.divergences import bernoulli_kl
from goodhart.reweighting import upweight_tail


@dataclass(frozen=True)
class TokenTree:
    """``k`` tokens, ``horizon`` steps: ``k ** horizon`` leaves (sink states)."""

    k: int
    horizon: int

    def __post_init__(self):
        if self.k < 2 or self.horizon < 1:
            raise ValueError(f"need k >= 2 tokens and horizon >= 1, got k={self.k}, "
                             f"horizon={self.horizon}")

    @property
    def n_leaves(self):
        return self.k**self.horizon


def uniform_policy(tree):
    """``pi(a|s) = 1/k`` at every prefix."""
    return [np.full((tree.k**level, tree.k), 1.0 / tree.k) for level in range(tree.horizon)]


def random_policy(tree, rng, concentration=1.0):
    """A base policy with ``pi(.|s)`` drawn from a symmetric Dirichlet at every prefix."""
    return [rng.dirichlet(np.full(tree.k, concentration), size=tree.k**level)
            for level in range(tree.horizon)]


def trajectory_distribution(policy):
    """``Tr(pi)``: the probability of each leaf, the product of ``pi`` along its path."""
    probs = np.ones(1)
    for level_policy in policy:
        probs = (probs[:, None] * level_policy).ravel()
    return probs


def reach_probabilities(policy):
    """``d_pi(s)`` for every prefix, level by level: the probability that ``pi`` visits ``s``."""
    reach = [np.ones(1)]
    for level_policy in policy[:-1]:
        reach.append((reach[-1][:, None] * level_policy).ravel())
    return reach


def quantile_returns(q, leaf_probs):
    """Leaf returns whose law under the base policy discretizes the frozen distribution ``q``.

    The leaves are laid along ``q``'s quantile axis in order of decreasing base probability,
    each taking an interval as wide as its probability, and the return of a leaf is ``q``'s
    quantile at the middle of its interval. So the rarest sequences carry the extreme returns:
    the law of the return under the base policy follows ``q`` out to the quantile
    ``1 - min(leaf_probs)``, which is how far a finite tree can follow a heavy tail.
    Upper-tail quantiles come from ``q.isf`` of the mass *above*, exact for tiny masses.
    """
    leaf_probs = np.asarray(leaf_probs, dtype=float)
    if np.any(leaf_probs < 0) or abs(leaf_probs.sum() - 1) > 1e-9:
        raise ValueError(f"leaf_probs must be a probability vector (sum {leaf_probs.sum():.12g})")
    order = np.argsort(-leaf_probs, kind="stable")  # most likely first, rarest last (top)
    sorted_probs = leaf_probs[order]
    above = np.cumsum(sorted_probs[::-1])[::-1] - sorted_probs  # base mass above each interval
    below = np.cumsum(sorted_probs) - sorted_probs
    middle_above = above + sorted_probs / 2
    middle_below = below + sorted_probs / 2
    sorted_returns = np.where(middle_above < 0.5, q.isf(middle_above), q.ppf(middle_below))
    returns = np.empty_like(leaf_probs)
    returns[order] = sorted_returns
    return returns


def boundary_threshold(q, leaf_probs, returns, t):
    """The threshold nearest ``t`` that lies on a boundary between leaves' quantile intervals.

    At such a threshold ``t*`` the base probability of ``{return > t*}`` equals ``Fbar_q(t*)``
    exactly, so Theorem 1's blocks for ``q`` at ``t*`` reweight the leaves without a remainder.
    """
    order = np.argsort(returns)
    mass_above = np.cumsum(np.asarray(leaf_probs)[order][::-1])[::-1]  # P(return >= r_(j))
    log_sf = np.log(mass_above[1:])  # tail mass above each boundary between sorted leaves
    j = int(np.argmin(np.abs(log_sf - q.logsf(t))))
    return float(q.isf(mass_above[j + 1]))


def reweight_by_return(leaf_probs, returns, log_ratio):
    """``rho`` proportional to ``Tr(pi0) * exp(log_ratio(return))``: a factor of the return only."""
    log_weights = np.log(leaf_probs) + log_ratio(returns)
    log_weights -= log_weights.max()
    weights = np.exp(log_weights)
    return weights / weights.sum()


def read_off_policy(tree, rho, base):
    """``pi(a|s) = rho(subtree of s+a) / rho(subtree of s)``; ``base`` where ``rho(s) = 0``."""
    mass = np.asarray(rho, dtype=float)
    policy = [None] * tree.horizon
    for level in reversed(range(tree.horizon)):
        children = mass.reshape(-1, tree.k)
        mass = children.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            policy[level] = np.where(mass[:, None] > 0, children / mass[:, None], base[level])
    return policy


def state_kl(policy, base):
    """``D(pi(.|s) || pi0(.|s))`` at every prefix, level by level (0 log 0 = 0)."""
    return [special.rel_entr(p, p0).sum(axis=1) for p, p0 in zip(policy, base, strict=True)]


def expected_state_kl(policy, base):
    """``D(pi || pi0)`` for policies: the per-state KL summed along ``pi``'s trajectories."""
    reach = reach_probabilities(policy)
    return float(sum(np.dot(r, kl) for r, kl in zip(reach, state_kl(policy, base), strict=True)))


def trajectory_kl(rho, leaf_probs):
    """``D(rho || Tr(pi0))`` over leaves."""
    return float(special.rel_entr(rho, leaf_probs).sum())


@dataclass(frozen=True)
class TailPolicy:
    """Theorem 2's policy for one threshold: its trajectory law, mean return and KLs."""

    threshold: float  # the leaf boundary used, nearest the requested t
    mass: float  # rho(return > threshold)
    rho: np.ndarray  # the reweighted trajectory distribution
    policy: list  # pi(a|s), level by level
    mean_return: float  # E_rho[return]
    state_kl: float  # expected per-state KL along pi's trajectories
    trajectory_kl: float  # D(rho || Tr(pi0))
    block_kl: float  # Theorem 1's Bernoulli KL for q at the threshold


def tail_policy(tree, base, q, returns, t, mass):
    """Theorem 2's construction: Theorem 1's blocks for ``q`` on the returns, read off as a policy.

    ``returns`` come from :func:`quantile_returns` for ``q``; ``t`` is moved to the nearest leaf
    boundary, where Theorem 1's ``P_t`` for ``q`` (``goodhart.reweighting.upweight_tail``)
    reweights the leaves exactly. ``mass`` is the probability the policy gives the tail.
    """
    leaf_probs = trajectory_distribution(base)
    threshold = boundary_threshold(q, leaf_probs, returns, t)
    blocks = upweight_tail(q, threshold, mass)
    rho = reweight_by_return(leaf_probs, returns, blocks.log_likelihood_ratio)
    policy = read_off_policy(tree, rho, base)
    return TailPolicy(
        threshold=threshold,
        mass=float(rho[returns > threshold].sum()),
        rho=rho,
        policy=policy,
        mean_return=float(np.dot(rho, returns)),
        state_kl=expected_state_kl(policy, base),
        trajectory_kl=trajectory_kl(rho, leaf_probs),
        block_kl=blocks.kl,
    )


# ---------------------------------------------------------------------------------------
# Where Theorem 2's hypotheses fail: stochastic transitions and non-Markovian returns.


def chance_trajectory_distribution(policy, nature, chance_levels):
    """``Tr(pi)`` when at ``chance_levels`` the next token is drawn by ``nature``, not ``pi``.

    A chance level is a stochastic transition: the agent's choice there has no effect.
    """
    mixed = [nature[level] if level in chance_levels else p for level, p in enumerate(policy)]
    return trajectory_distribution(mixed)


def prefix_counts(tree):
    """For each level, the number of token-1 choices in each prefix (binary trees).

    Merging the prefixes with equal counts gives a DAG whose state is ``(level, count)``:
    different paths lead to the same state.
    """
    if tree.k != 2:
        raise ValueError(f"prefix counts merge paths of a binary tree; got k = {tree.k}")
    counts = [np.zeros(1, dtype=int)]
    for _ in range(tree.horizon):
        counts.append((counts[-1][:, None] + np.arange(2)).ravel())
    return counts


def read_off_merged_policy(tree, rho):
    """The Markov policy on merged states ``(level, count)``: ``rho(next a | state)``.

    It averages ``rho``'s conditionals over all histories that reach the same state, the only
    policy a state-based agent can express. Returned per prefix, for ``trajectory_distribution``.
    """
    counts = prefix_counts(tree)
    mass = np.asarray(rho, dtype=float)
    policy = [None] * tree.horizon
    for level in reversed(range(tree.horizon)):
        children = mass.reshape(-1, 2)
        mass = children.sum(axis=1)
        n_states = level + 1
        state_mass = np.bincount(counts[level], weights=mass, minlength=n_states)
        state_next = np.stack([np.bincount(counts[level], weights=children[:, a],
                                           minlength=n_states) for a in range(2)], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            by_state = np.where(state_mass[:, None] > 0, state_next / state_mass[:, None], 0.5)
        policy[level] = by_state[counts[level]]
    return policy


def total_variation(p, q):
    """``sup_A |P(A) - Q(A)|`` between two distributions on the same leaves."""
    return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())


def proxy_blocks(x, t, mass, utility_mean=None, utility_sd=1.0):
    """Theorem 2's construction with return ``U = X + V`` (the corollary).

    The error is ``X ~ x`` (a frozen distribution) and the utility is normal given the error,
    ``V | X = e ~ N(utility_mean(e), utility_sd^2)``; the default ``utility_mean = 0`` makes
    ``V ~ N(0, utility_sd^2)`` independent of ``X``. The policy's law ``P`` puts ``mass`` on
    ``{U > t}`` and ``1 - mass`` on ``{U <= t}``, keeping the base law's shape in each block.
    The block moments ``Q(U > t)``, ``E[V; U > t]``, ``E[X; U > t]`` are one quadrature over
    the error each, with the normal tail of ``V`` in closed form inside.
    """
    _checks.finite_mean(x, "x")
    if not 0 < mass < 1:
        raise ValueError(f"mass must lie in (0, 1), got {mass!r}")
    if not utility_sd > 0:
        raise ValueError(f"utility_sd must be > 0, got {utility_sd!r}")
    t = float(_checks.real(t, "t"))
    shift = utility_mean or (lambda e: 0.0 * e)

    def over_error(f):
        """``E[f(X)]``, split at the median of X and on a geometric grid below t; the pieces
        nearest t first, each later one to an absolute tolerance relative to the total."""
        lo, hi = x.support()
        # geometric cuts on both sides of t resolve the normal kernel's edge below t and the
        # error's polynomial decay above it, whatever the scale of t
        steps = 8 * utility_sd * 4.0 ** np.arange(0, 40)
        below_t = (t - steps)[t - steps > float(x.median())]
        above_t = (t + steps)[steps < 1e4 * max(abs(t), 1.0)]
        cuts = sorted({c for c in (float(x.median()), *below_t, *above_t) if lo < c < hi})
        edges = [lo, *cuts, hi]
        pieces = sorted(zip(edges[:-1], edges[1:], strict=True),
                        key=lambda ab: 0.0 if ab[0] <= t <= ab[1] else min(abs(ab[0] - t),
                                                                            abs(ab[1] - t)))

        def integrand(e):
            return np.exp(x.logpdf(e)) * f(e)

        def inverted(u, a):
            """The piece ``(a, inf)`` as ``e = a / u`` on ``(0, 1]``: polynomial tails become
            smooth near ``u = 0`` at any scale of ``a``."""
            return integrand(a / u) * a / u**2 if u > 0 else 0.0

        total = 0.0
        for a, b in pieces:
            if np.isinf(b) and a > 0:
                f_ab, a_, b_, args = inverted, 0.0, 1.0, (a,)
            else:
                f_ab, a_, b_, args = integrand, a, b, ()
            total += integrate.quad(f_ab, a_, b_, args=args, epsabs=1e-14 * abs(total),
                                    epsrel=1e-11, limit=400)[0]
        return total

    def w(e):
        """``V > t - e`` in standard units of ``V | X = e``."""
        return (t - e - shift(e)) / utility_sd

    normal = stats.norm()
    tail = over_error(lambda e: normal.sf(w(e)))
    v_tail = over_error(lambda e: shift(e) * normal.sf(w(e)) + utility_sd * normal.pdf(w(e)))
    x_tail = over_error(lambda e: e * normal.sf(w(e)))
    # E[V] = E[utility_mean(X)] does not involve t; it may be 0 by symmetry (the two halves
    # cancel), so it gets an absolute tolerance, small against sd(V)
    median = float(x.median())
    mean_v = sum(integrate.quad(lambda e: np.exp(x.logpdf(e)) * shift(e), a, b,
                                epsabs=1e-14 * utility_sd, epsrel=1e-11, limit=400)[0]
                 for a, b in ((x.support()[0], median), (median, x.support()[1])))
    mean_x = float(x.mean())

    def blocks(total, upper):
        return (1 - mass) * (total - upper) / (1 - tail) + mass * upper / tail

    return ProxyBlocks(
        t=t, mass=float(mass), tail=tail, utility=blocks(mean_v, v_tail),
        error=blocks(mean_x, x_tail), kl=float(bernoulli_kl(mass, np.log(tail))),
        base_utility=mean_v,
    )


@dataclass(frozen=True)
class ProxyBlocks:
    """Theorem 2's policy for the proxy ``U = X + V``: expectations under it, and its KL."""

    t: float
    mass: float  # P(U > t) under the policy
    tail: float  # Q(U > t) under the base policy
    utility: float  # E_P[V]
    error: float  # E_P[X]
    kl: float  # D(P || Q) = Bernoulli KL between mass and tail
    base_utility: float  # E_Q[V] under the base policy

    @property
    def proxy(self):
        """``E_P[U]``."""
        return self.utility + self.error
