"""Theorem 3: a policy on a token tree whose return law is Theorem 1's reweighting.

The MDP is a :class:`goodhart.trees.TokenTree`: deterministic transitions (append a token),
finished sequences as sink states, and a return attached to each sequence, so returns are
Markovian (a function of the final state). The construction, as the paper's proof of its
Theorem 3 gives it (appendix A.3; the post's Theorem 2):

1. discretize the return law ``q`` on the sequences (:func:`quantile_returns`: the rarest
   sequences carry the extreme returns) and move the threshold to a boundary between
   sequences (:func:`boundary_threshold`);
2. reweight the base policy's sequence law ``Tr(pi0)`` by a factor of the return only
   (:func:`reweight_by_return`): mass ``m`` on ``{return > t}``, ``1 - m`` below, each block
   keeping ``Tr(pi0)``'s shape, which is Theorem 1's ``P_t`` for ``q``;
3. read off ``pi(a | s) = rho(next token a | prefix s)`` (:func:`read_off_policy`), so that
   ``Tr(pi) = rho`` and, by the chain rule, the per-state KL summed along ``pi``'s
   trajectories equals ``D(rho || Tr(pi0))``, Theorem 1's Bernoulli KL. The paper's policy
   KL is the per-state *average* over a trajectory's states (its Section 2.1;
   ``goodhart.trees.policy_kl(..., per="state")``), which is at most that sum.

:func:`tail_policy` does all three. Where the hypotheses fail: a stochastic transition
(:func:`chance_sequence_probabilities`: nature, not the policy, picks some tokens) and states
reached by several paths (:func:`read_off_merged_policy`: a policy of ``(level, count)`` only)
break ``Tr(pi) = rho``. (The corollary's block law for ``U = X + V`` is in
:mod:`goodhart.reweighting`: ``upweight_proxy``.)
"""

from dataclasses import dataclass

import numpy as np

from goodhart import _checks, trees
from goodhart.divergences import discrete_kl
from goodhart.reweighting import upweight_tail


def _probabilities(probabilities, name="probabilities"):
    array = _checks.real(probabilities, name, low=0.0, high=1.0)
    if array.ndim != 1 or array.size < 2:
        raise ValueError(f"{name} must be a vector of at least 2 probabilities, got shape "
                         f"{array.shape}")
    if abs(array.sum() - 1) > 1e-9:
        raise ValueError(f"{name} must sum to 1, got {array.sum()!r}")
    return array


def _returns(returns, probabilities, name="returns"):
    array = _checks.real(returns, name)
    _checks.same_shape("probabilities", probabilities, name, array)
    return array


def quantile_returns(q, probabilities):
    """Returns on the sequences whose law under the base policy discretizes the law ``q``.

    The sequences are laid along ``q``'s quantile axis in order of decreasing base probability,
    each taking an interval as wide as its probability, and the return of a sequence is
    ``q``'s quantile at the middle of its interval. So the rarest sequences carry the extreme
    returns: the law of the return under the base policy follows ``q`` out to the quantile
    ``1 - min(probabilities)``, which is how far a finite tree can follow a heavy tail.
    Upper-tail quantiles come from ``q.isf`` of the mass *above*, exact for tiny masses; where
    scipy cannot invert the tail that far (Student-t below about ``1e-225``) a ValueError
    says so rather than return an infinite or decreasing return.

    Parameters
    ----------
    q : frozen scipy.stats law
        The return law to discretize (continuous).
    probabilities : array_like
        ``Tr(pi0)``, the base policy's sequence probabilities (``trees.sequence_probabilities``).

    Returns
    -------
    ndarray
        One return per sequence.

    Examples
    --------
    >>> from scipy import stats
    >>> quantile_returns(stats.norm(), [0.25, 0.25, 0.5]).round(6)
    array([ 0.318639,  1.150349, -0.67449 ])
    """
    _checks.law(q, "q")
    probabilities = _probabilities(probabilities)
    order = np.argsort(-probabilities, kind="stable")  # most likely first, rarest last (top)
    sorted_probs = probabilities[order]
    above = np.cumsum(sorted_probs[::-1])[::-1] - sorted_probs  # base mass above each interval
    below = np.cumsum(sorted_probs) - sorted_probs
    middle_above = above + sorted_probs / 2
    middle_below = below + sorted_probs / 2
    with np.errstate(invalid="ignore"):
        sorted_returns = np.where(middle_above < 0.5, q.isf(middle_above), q.ppf(middle_below))
    if not np.all(np.isfinite(sorted_returns)) or np.any(np.diff(sorted_returns) < 0):
        raise ValueError(
            f"probabilities: scipy's quantiles of {q.dist.name} are not finite and increasing "
            f"at these masses (the rarest sequence has probability {sorted_probs[-1]:.3g}); "
            "a tree this deep reaches beyond what q.isf can invert"
        )
    returns = np.empty_like(probabilities)
    returns[order] = sorted_returns
    return returns


def boundary_threshold(q, probabilities, returns, t):
    """The threshold nearest ``t`` that lies on a boundary between sequences' quantile intervals.

    At such a threshold ``t*`` the base probability of ``{return > t*}`` equals ``Fbar_q(t*)``
    exactly, so Theorem 1's blocks for ``q`` at ``t*`` reweight the sequences without a
    remainder. "Nearest" is measured by ``log Fbar_q``.

    Parameters
    ----------
    q : frozen scipy.stats law
    probabilities : array_like
        ``Tr(pi0)``.
    returns : array_like
        The returns of :func:`quantile_returns` for ``q``.
    t : float or array_like
        The requested thresholds.

    Returns
    -------
    float or ndarray
        ``t*``, shaped like ``t``.

    Examples
    --------
    >>> from scipy import stats
    >>> p = [0.25, 0.25, 0.5]
    >>> round(boundary_threshold(stats.norm(), p, quantile_returns(stats.norm(), p), 0.5), 6)
    0.67449
    """
    _checks.law(q, "q")
    probabilities = _probabilities(probabilities)
    returns = _returns(returns, probabilities)
    t = _checks.real(t, "t")
    if np.any(t < returns.min()) or np.any(t > returns.max()):
        raise ValueError(f"t must lie within the returns, [{returns.min():g}, "
                         f"{returns.max():g}]: a finite tree has no boundary beyond them; got "
                         f"t from {t.min():g} to {t.max():g}")
    order = np.argsort(returns)
    mass_above = np.cumsum(probabilities[order][::-1])[::-1]  # P(return >= r_(j))
    with np.errstate(divide="ignore"):
        log_sf = np.log(mass_above[1:])  # tail mass above each boundary, decreasing
    wanted = np.ravel(q.logsf(t))
    right = np.clip(np.searchsorted(-log_sf, -wanted), 0, log_sf.size - 1)
    left = np.maximum(right - 1, 0)
    nearer_left = np.abs(log_sf[left] - wanted) <= np.abs(log_sf[right] - wanted)
    j = np.where(nearer_left, left, right)
    return _checks.like(q.isf(mass_above[j + 1]), t)


def reweight_by_return(probabilities, returns, log_ratio):
    """``rho`` proportional to ``Tr(pi0) * exp(log_ratio(return))``: a factor of the return only.

    Parameters
    ----------
    probabilities : array_like
        ``Tr(pi0)``.
    returns : array_like
        One return per sequence.
    log_ratio : callable
        ``log_ratio(returns)``: the log of the (unnormalized) factor, vectorized.

    Returns
    -------
    ndarray
        The probability vector ``rho`` on the sequences.

    Examples
    --------
    >>> reweight_by_return([0.5, 0.25, 0.25], [0.0, 1.0, 2.0], lambda r: np.log(2.0) * r)
    array([0.25, 0.25, 0.5 ])
    """
    probabilities = _probabilities(probabilities)
    returns = _returns(returns, probabilities)
    if not callable(log_ratio):
        raise ValueError(f"log_ratio must be a function of the returns, got {log_ratio!r}")
    log_factor = np.broadcast_to(np.asarray(log_ratio(returns), dtype=float), returns.shape)
    if np.any(np.isnan(log_factor)) or np.any(log_factor == np.inf):
        raise ValueError("log_ratio returned NaN or +inf on the returns")
    with np.errstate(divide="ignore"):
        log_weights = np.log(probabilities) + log_factor
    if not np.any(np.isfinite(log_weights)):
        raise ValueError("log_ratio gives weight 0 to every sequence the base policy emits")
    log_weights = log_weights - log_weights.max()
    weights = np.exp(log_weights)
    return weights / weights.sum()


def _read_off(tree, rho, base):
    policy = np.empty((tree.n_prefixes, tree.actions))
    below = rho[tree.sequences(tree.horizon)]
    for level in reversed(range(tree.horizon)):
        rows = tree.prefixes(level)
        child = trees._child_values(tree, level, below, rho)
        below = child.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            policy[rows] = np.where(below[:, None] > 0, child / below[:, None], base[rows])
    return policy


def read_off_policy(tree, rho, base):
    """The policy whose sequence law is ``rho``: ``pi(a | s) = rho(s + a) / rho(s)``.

    ``rho(s)`` is the mass of the sequences that start with the prefix ``s`` (for the end
    token, the one sequence ``s`` then end); where ``rho(s) = 0`` the policy is ``base``.

    Parameters
    ----------
    tree : goodhart.trees.TokenTree
    rho : array_like
        A probability vector on the sequences.
    base : array_like
        The policy to use where ``rho`` gives a prefix no mass.

    Returns
    -------
    ndarray
        ``pi``, shape ``(tree.n_prefixes, tree.actions)``, with ``Tr(pi) = rho``.

    Examples
    --------
    >>> from goodhart.trees import TokenTree, uniform_policy
    >>> tree = TokenTree(tokens=2, horizon=2, end_token=False)
    >>> read_off_policy(tree, [0.1, 0.3, 0.0, 0.6], uniform_policy(tree))
    array([[0.4 , 0.6 ],
           [0.25, 0.75],
           [0.  , 1.  ]])
    """
    trees._tree(tree)
    rho = _probabilities(rho, "rho")
    tree.check_values(rho, "rho")
    base = tree.check_policy(base, "base")
    return _read_off(tree, rho, base)


@dataclass(frozen=True)
class TailPolicy:
    """Theorem 3's policy for one threshold (arrays of them for arrays of thresholds).

    ``kl`` is ``D(rho || Tr(pi0))`` on the sequences; ``per_trajectory_kl`` and
    ``per_state_kl`` are computed from the read-off policy (``trees.policy_kl`` summed and
    averaged along trajectories): the first equals ``kl`` by the chain rule, the second is the
    paper's definition and at most the first. ``block_kl`` and ``block_mean`` are the KL and the
    mean of Theorem 1's ``P_t`` for the continuous law ``q`` at the same threshold and mass
    (``mean - block_mean`` is the tree's discretization error).
    """

    threshold: float  # the boundary used, nearest the requested t
    mass: float  # rho(return > threshold)
    mean: float  # E_rho[return]
    kl: float  # D(rho || Tr(pi0))
    per_trajectory_kl: float  # E_T sum_{s in T} D(pi(s) || pi0(s)), from the policy
    per_state_kl: float  # E_T mean_{s in T} D(pi(s) || pi0(s)), the paper's definition
    block_kl: float  # D(P_t || q) of Theorem 1 at (threshold, mass)
    block_mean: float  # E_{P_t}[X] of Theorem 1 at (threshold, mass)
    rho: np.ndarray  # the reweighted sequence law (last axis: sequences)
    policy: np.ndarray  # pi(a | s) (last two axes: prefixes, actions)


def tail_policy(tree, base, q, returns, t, mass):
    """Theorem 3's construction: Theorem 1's blocks for ``q`` on the returns, read off as a policy.

    ``returns`` come from :func:`quantile_returns` for ``q`` and ``Tr(base)``; ``t`` is moved to
    the nearest boundary (:func:`boundary_threshold`), where the base policy gives
    ``{return > t*}`` exactly ``q``'s tail mass. The sequence law is ``rho = m Tr(pi0) / P0``
    above and ``(1 - m) Tr(pi0) / (1 - P0)`` below, ``P0 = Tr(pi0)(return > t*)``; then
    ``pi = read_off_policy(tree, rho, base)``.

    Parameters
    ----------
    tree : goodhart.trees.TokenTree
    base : array_like
        ``pi0``, shape ``(tree.n_prefixes, tree.actions)``.
    q : frozen scipy.stats law
        The return law, with a finite mean (Theorem 1's hypothesis).
    returns : array_like
        One return per sequence.
    t : float or array_like
        Requested thresholds.
    mass : float or array_like
        The probability the policy gives to ``{return > t*}``, in (0, 1); broadcast with ``t``.

    Returns
    -------
    TailPolicy
        Floats for scalar ``t`` and ``mass``; otherwise arrays of the broadcast shape, with
        ``rho`` and ``policy`` stacked on leading axes.

    Examples
    --------
    >>> from scipy import stats
    >>> from goodhart.trees import TokenTree, random_policy, sequence_probabilities
    >>> tree = TokenTree(tokens=2, horizon=10, end_token=False)
    >>> base = random_policy(tree, rng=0)
    >>> returns = quantile_returns(stats.t(3), sequence_probabilities(tree, base))
    >>> result = tail_policy(tree, base, stats.t(3), returns, t=10.0, mass=0.1)
    >>> print(f"{result.threshold:.4f} {result.mean:.3f} {result.kl:.6f} {result.block_kl:.6f}")
    9.9878 1.541 0.360076 0.360076
    """
    trees._tree(tree)
    base = tree.check_policy(base, "base")
    _checks.finite_mean(q, "q")
    p0 = trees.sequence_probabilities(tree, base)
    returns = tree.check_values(returns, "returns")
    t = _checks.real(t, "t")
    mass = _checks.probability(mass, "mass")
    t_b, mass_b = np.broadcast_arrays(t, mass)
    if t_b.size == 0:
        raise ValueError(f"t and mass must hold at least one value, got shapes {t.shape} and "
                         f"{mass.shape}")
    thresholds = np.atleast_1d(boundary_threshold(q, p0, returns, t_b.ravel()))
    rows = []
    for threshold, m in zip(thresholds, mass_b.ravel(), strict=True):
        above = returns > threshold
        p_above, p_below = p0[above].sum(), p0[~above].sum()
        if p_above == 0 or p_below == 0:
            raise ValueError(f"t = {threshold:g} leaves no sequence on one side; the tree's "
                             f"returns span [{returns.min():g}, {returns.max():g}]")
        rho = np.where(above, m * p0 / p_above, (1 - m) * p0 / p_below)
        policy = _read_off(tree, rho, base)
        blocks = upweight_tail(q, float(threshold), float(m))
        rows.append((
            float(threshold), float(rho[above].sum()), trees._dot(rho, returns),
            float(discrete_kl(rho, p0)), trees.policy_kl(tree, policy, base),
            trees.policy_kl(tree, policy, base, per="state"), blocks.kl, blocks.mean, rho,
            policy,
        ))
    shape = t_b.shape
    columns = list(zip(*rows, strict=True))
    scalars = [_checks.like(np.array(c), t_b) for c in columns[:8]]
    stacked = [np.stack(c).reshape(shape + c[0].shape) for c in columns[8:]]
    return TailPolicy(*scalars, *stacked)


# ---------------------------------------------------------------------------------------
# Where Theorem 3's hypotheses fail: stochastic transitions and paths that merge.


def chance_sequence_probabilities(tree, policy, nature, chance_levels):
    """``Tr(pi)`` when at ``chance_levels`` the next token is drawn by ``nature``, not by ``pi``.

    A chance level is a stochastic transition: the agent's choice there has no effect.

    Parameters
    ----------
    tree : goodhart.trees.TokenTree
    policy, nature : array_like
        Shape ``(tree.n_prefixes, tree.actions)``; ``nature``'s rows are used at the chance
        levels.
    chance_levels : iterable of int
        Levels (token positions ``0..horizon-1``) at which nature moves.

    Returns
    -------
    ndarray
        The sequence probabilities.

    Examples
    --------
    >>> from goodhart.trees import TokenTree, uniform_policy
    >>> tree = TokenTree(tokens=2, horizon=2, end_token=False)
    >>> always_one = np.tile([0.0, 1.0], (3, 1))
    >>> chance_sequence_probabilities(tree, always_one, uniform_policy(tree), {0})
    array([0. , 0.5, 0. , 0.5])
    """
    trees._tree(tree)
    policy = tree.check_policy(policy)
    nature = tree.check_policy(nature, "nature")
    try:
        levels = sorted({trees._integer(level, "chance_levels", low=0) for level in chance_levels})
    except TypeError:
        raise ValueError(f"chance_levels must be a collection of levels, got "
                         f"{chance_levels!r}") from None
    if levels and levels[-1] >= tree.horizon:
        raise ValueError(f"chance_levels must lie in 0..{tree.horizon - 1}, got {levels}")
    mixed = policy.copy()
    for level in levels:
        mixed[tree.prefixes(level)] = nature[tree.prefixes(level)]
    return trees.sequence_probabilities(tree, mixed)


def read_off_merged_policy(tree, rho, *, token):
    """The best policy of the merged state ``(level, count of token)``: ``rho(next a | state)``.

    Merging the prefixes with equal counts of ``token`` turns the tree into a DAG in which
    different paths reach the same state. A state-based agent's policy is a function of the
    merged state only; the best it can do is ``rho``'s next-token law averaged over all the
    prefixes that reach the state, weighted by ``rho``. Its sequence law equals ``rho`` when
    ``rho``'s weights depend on the count only (Markovian returns), not otherwise.

    Parameters
    ----------
    tree : goodhart.trees.TokenTree
    rho : array_like
        A probability vector on the sequences.
    token : int
        The content token whose count, with the level, is the merged state.

    Returns
    -------
    ndarray
        The policy per prefix (rows of the same merged state are equal), shape
        ``(tree.n_prefixes, tree.actions)``; uniform at states ``rho`` never reaches.

    Examples
    --------
    >>> from goodhart.trees import TokenTree, sequence_probabilities
    >>> tree = TokenTree(tokens=2, horizon=2, end_token=False)
    >>> policy = read_off_merged_policy(tree, [0.4, 0.1, 0.1, 0.4], token=1)
    >>> sequence_probabilities(tree, policy)
    array([0.4, 0.1, 0.1, 0.4])
    """
    trees._tree(tree)
    rho = _probabilities(rho, "rho")
    tree.check_values(rho, "rho")
    counts = tree.prefix_count(token).astype(int)
    policy = np.empty((tree.n_prefixes, tree.actions))
    below = rho[tree.sequences(tree.horizon)]
    for level in reversed(range(tree.horizon)):
        rows = tree.prefixes(level)
        child = trees._child_values(tree, level, below, rho)
        below = child.sum(axis=1)
        state = counts[rows]
        state_mass = np.bincount(state, weights=below, minlength=level + 1)
        state_next = np.stack([np.bincount(state, weights=child[:, a], minlength=level + 1)
                               for a in range(tree.actions)], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            by_state = np.where(state_mass[:, None] > 0, state_next / state_mass[:, None],
                                1.0 / tree.actions)
        policy[rows] = by_state[state]
    return policy
