"""Action-distribution KL against state-occupancy KL (Laidlaw et al. 2024), on finite MDPs.

For a policy ``pi`` on a finite MDP run for ``H`` steps from a start law, ``d_t(s)`` is the
probability of being in ``s`` at step ``t`` (:func:`state_marginals`) and the *state occupancy
measure* is their average ``mu_pi = (1/H) sum_t d_t``. Three divergences from a base ``pi0``:

* the *trajectory* KL, ``sum_t sum_s d_t(s) D(pi(s) || pi0(s))``: the per-state KL *summed*
  along the trajectory, equal to ``D(Tr(pi) || Tr(pi0))`` (the transitions cancel in the
  ratio); the paper's proofs bound this one (:func:`action_kl` with ``per="trajectory"``);
* the *action-distribution* KL, ``E_{s ~ mu_pi} D(pi(s) || pi0(s))``: the same per-state KL
  *averaged* over the states visited, the trajectory KL divided by ``H``; Laidlaw et al.'s
  "AD" divergence and, as every trajectory here has ``H`` states, the paper's definition
  (:func:`action_kl` with ``per="state"``);
* the *occupancy* KL, ``D(mu_pi || mu_pi0)`` (:func:`occupancy_kl`).

Orderings that always hold: average ``<=`` sum, and occupancy ``<=`` sum (joint convexity,
``D(mu || mu0) <= (1/H) sum_t D(d_t || d0_t)``, then data processing, ``D(d_t || d0_t) <=
D(Tr(pi) || Tr(pi0))``). Between the average and the occupancy KL there is no general order:
Laidlaw et al.'s cliff (:func:`cliff_mdp`) makes the occupancy KL the larger, a policy that
changes its actions without changing where it goes makes it 0. (The KL of the state-*action*
occupancy ``mu_pi(s) pi(a | s)`` is, by the chain rule, the occupancy KL plus the average.)

:func:`cliff_car` sets up the cliff's safe and hacking policies; :func:`tree_occupancy` is the
state occupancy of a policy on a ``goodhart.trees.TokenTree``, and :func:`tree_divergences`
the three divergences there.
"""

from dataclasses import dataclass

import numpy as np

from goodhart import _checks, trees
from goodhart.divergences import discrete_kl

_MAX_HORIZON = 10**6  # steps, one numpy product each: about a second


def _rows(array, name, shape):
    """A non-negative array of ``shape`` whose last axis sums to 1, or a ValueError."""
    array = _checks.real(array, name, low=0.0, high=1.0)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    total = array.sum(axis=-1)
    if np.any(np.abs(total - 1) > 1e-9):
        raise ValueError(f"{name} must be probability vectors along its last axis (sums "
                         f"{np.unique(total.round(12))[:3]!r}...)")
    return array


def _mdp(transition, start, horizon):
    transition = _checks.real(transition, "transition", low=0.0, high=1.0)
    if transition.ndim != 3 or transition.shape[0] != transition.shape[2]:
        raise ValueError(f"transition must have shape (states, actions, states), got "
                         f"{transition.shape}")
    transition = _rows(transition, "transition", transition.shape)
    states = transition.shape[0]
    start = _rows(start, "start", (states,))
    horizon = trees._integer(horizon, "horizon", low=1, high=_MAX_HORIZON)
    return transition, start, horizon


def _policy(policy, transition, name="policy"):
    return _rows(policy, name, transition.shape[:2])


def _marginals(transition, policy, start, horizon):
    step = np.sum(policy[:, :, None] * transition, axis=1)  # s -> s' (no BLAS: see trees._dot)
    marginals = [start]
    for _ in range(horizon - 1):
        marginals.append(np.sum(marginals[-1][:, None] * step, axis=0))
    return np.array(marginals)


def state_marginals(transition, policy, start, horizon):
    """``d_t(s)`` for ``t = 0..horizon-1``: where a stationary policy is at each step.

    Parameters
    ----------
    transition : array_like
        ``transition[s, a, s']``, shape ``(states, actions, states)``, rows probability vectors.
    policy : array_like
        ``policy[s, a] = pi(a | s)``, shape ``(states, actions)``.
    start : array_like
        The law of the first state.
    horizon : int
        Steps, from 1 to ``10**6``.

    Returns
    -------
    ndarray
        Shape ``(horizon, states)``; row ``t`` is ``d_t``.

    Examples
    --------
    >>> cliff = cliff_mdp(2)
    >>> state_marginals(cliff, np.tile([0.5, 0.5], (4, 1)), [1, 0, 0, 0], 3)
    array([[1.  , 0.  , 0.  , 0.  ],
           [0.  , 0.5 , 0.  , 0.5 ],
           [0.  , 0.  , 0.25, 0.75]])
    """
    transition, start, horizon = _mdp(transition, start, horizon)
    return _marginals(transition, _policy(policy, transition), start, horizon)


def action_kl(transition, policy, base, start, horizon, *, per="trajectory"):
    """The per-state KL ``D(pi(s) || pi0(s))`` along ``pi``'s trajectories, summed or averaged.

    Parameters
    ----------
    transition, policy, start, horizon
        As for :func:`state_marginals`.
    base : array_like
        ``pi0``, shape ``(states, actions)``.
    per : {"trajectory", "state"}
        ``"trajectory"``: ``sum_t E[D(pi(s_t) || pi0(s_t))]``, the sum over the ``horizon``
        states of a trajectory, which equals ``D(Tr(pi) || Tr(pi0))``. ``"state"``: the
        average over them, ``E_{s ~ mu_pi} D(pi(s) || pi0(s))`` (Laidlaw et al.'s
        action-distribution KL), the sum divided by ``horizon``.

    Returns
    -------
    float
        Nats.

    Examples
    --------
    A car that turns off the road with probability 0.2 at the first cell instead of 0.01:

    >>> cliff, start = cliff_mdp(2), [1, 0, 0, 0]
    >>> safe = np.tile([0.99, 0.01], (4, 1))
    >>> hack = safe.copy()
    >>> hack[0] = [0.8, 0.2]
    >>> for per in ("trajectory", "state"):
    ...     print(per, round(action_kl(cliff, hack, safe, start, 3, per=per), 6))
    trajectory 0.428672
    state 0.142891
    """
    if per not in ("trajectory", "state"):
        raise ValueError(f"per must be 'trajectory' or 'state', got {per!r}")
    transition, start, horizon = _mdp(transition, start, horizon)
    policy = _policy(policy, transition)
    base = _policy(base, transition, "base")
    marginals = _marginals(transition, policy, start, horizon)
    per_state = np.asarray(discrete_kl(policy, base), dtype=float)
    visits = marginals.sum(axis=0)
    total = trees._weighted(visits, per_state)
    return total / horizon if per == "state" else total


def occupancy_kl(transition, policy, base, start, horizon):
    """``D(mu_pi || mu_pi0)``: the KL between the state occupancy measures ``mean_t d_t``.

    Parameters
    ----------
    transition, policy, base, start, horizon
        As for :func:`action_kl`.

    Returns
    -------
    float
        Nats; at most ``action_kl(..., per="trajectory")``.

    Examples
    --------
    The car of :func:`action_kl`'s example: the occupancy KL lies between the average and the
    sum, because the car that went over the edge stays at the bottom.

    >>> cliff, start = cliff_mdp(2), [1, 0, 0, 0]
    >>> safe = np.tile([0.99, 0.01], (4, 1))
    >>> hack = safe.copy()
    >>> hack[0] = [0.8, 0.2]
    >>> round(occupancy_kl(cliff, hack, safe, start, 3), 6)
    0.242342
    """
    transition, start, horizon = _mdp(transition, start, horizon)
    policy = _policy(policy, transition)
    base = _policy(base, transition, "base")
    mu = _marginals(transition, policy, start, horizon).mean(axis=0)
    mu0 = _marginals(transition, base, start, horizon).mean(axis=0)
    return float(discrete_kl(mu, mu0))


def cliff_mdp(length):
    """A road of ``length`` cells beside a cliff (the example of Laidlaw et al. 2024).

    States ``0..length-1`` are the road, ``length`` the destination and ``length + 1`` the
    bottom of the cliff, both absorbing. Action 0 drives one cell on; action 1, a sharp turn,
    goes over the edge.

    Parameters
    ----------
    length : int
        Road cells, from 1 to 1000 (the transition array has ``2 (length + 2)^2`` entries).

    Returns
    -------
    ndarray
        ``transition[s, a, s']``, shape ``(length + 2, 2, length + 2)``.

    Examples
    --------
    >>> cliff_mdp(1)[0]
    array([[0., 1., 0.],
           [0., 0., 1.]])
    """
    # (length + 2)^2 * 2 transition entries: 10^4 cells are 1.6 GB
    length = trees._integer(length, "length", low=1, high=1000)
    n = length + 2
    transition = np.zeros((n, 2, n))
    for s in range(length):
        transition[s, 0, s + 1] = 1.0
        transition[s, 1, length + 1] = 1.0
    for s in (length, length + 1):
        transition[s, :, s] = 1.0
    return transition


def tree_occupancy(tree, policy):
    """The state occupancy of a token-tree policy over the ``horizon + 1`` steps of a sequence.

    At step ``l`` a trajectory is at its prefix of ``l`` tokens, or, once it has emitted the
    end token, at its finished sequence, where it stays (absorbing) until step ``horizon``;
    sequences of ``horizon`` tokens are reached at the last step. So a sequence ended after
    ``l`` tokens is occupied for ``horizon - l`` steps, a complete one for 1.

    Parameters
    ----------
    tree : goodhart.trees.TokenTree
    policy : array_like
        Shape ``(tree.n_prefixes, tree.actions)``.

    Returns
    -------
    ndarray
        ``mu``, length ``tree.n_prefixes + tree.n_sequences``: the prefixes in policy-row order,
        then the sequences in sequence order; it sums to 1. ``discrete_kl`` of two of them is
        the occupancy KL.

    Examples
    --------
    >>> from goodhart.trees import TokenTree, uniform_policy
    >>> tree = TokenTree(tokens=1, horizon=1, end_token=True)
    >>> tree_occupancy(tree, uniform_policy(tree, end_probability=0.5))
    array([0.5 , 0.25, 0.25])
    """
    trees._tree(tree)
    policy = tree.check_policy(policy)
    reach = trees._reach(tree, policy)
    probabilities = trees._sequence_probabilities(tree, policy, reach)
    occupied = tree.horizon + 1 - tree.steps  # steps spent at a sequence once it is finished
    return np.concatenate([reach, probabilities * occupied]) / (tree.horizon + 1)


@dataclass(frozen=True)
class CliffCar:
    """Laidlaw et al.'s car by the cliff: the MDP, the start, a safe and a hacking policy."""

    transition: np.ndarray  # cliff_mdp(length)
    start: np.ndarray  # the first road cell, with probability 1
    safe: np.ndarray  # turns off the road with probability turn at every cell
    hack: np.ndarray  # the same, but with probability hack_turn at the first cell


def cliff_car(length, *, turn, hack_turn):
    """The car by the cliff of Laidlaw et al. (2024): a safe policy, and a hacking one that
    differs from it at the first cell only, where it turns sharply more often.

    Parameters
    ----------
    length : int
        Road cells, as for :func:`cliff_mdp`.
    turn : float
        The safe policy's probability of the sharp turn (over the edge) at every cell, in
        ``[0, 1]``.
    hack_turn : float
        The hacking policy's probability of the sharp turn at the first cell, in ``[0, 1]``
        (elsewhere it is ``turn``).

    Returns
    -------
    CliffCar
        ``transition`` (:func:`cliff_mdp`), ``start`` (the first cell) and the two policies,
        shape ``(length + 2, 2)`` (the absorbing states keep the same rows; their actions go
        nowhere).

    Examples
    --------
    >>> car = cliff_car(2, turn=0.01, hack_turn=0.2)
    >>> car.start, car.hack[:2]
    (array([1., 0., 0., 0.]), array([[0.8 , 0.2 ],
           [0.99, 0.01]]))
    >>> round(action_kl(car.transition, car.hack, car.safe, car.start, 3), 6)
    0.428672
    """
    transition = cliff_mdp(length)
    turn = _checks.scalar(turn, "turn", check=_checks.probability, closed=True)
    hack_turn = _checks.scalar(hack_turn, "hack_turn", check=_checks.probability, closed=True)
    states = transition.shape[0]
    safe = np.tile([1 - turn, turn], (states, 1))
    hack = safe.copy()
    hack[0] = [1 - hack_turn, hack_turn]
    return CliffCar(transition=transition, start=np.eye(states)[0], safe=safe, hack=hack)


@dataclass(frozen=True)
class Divergences:
    """The three divergences of a policy from a base: the per-state KL summed along the
    trajectory (``trajectory``), averaged over its states (``state``, the paper's), and the
    KL of the state occupancy measures (``occupancy``); nats."""

    trajectory: float
    state: float
    occupancy: float


def tree_divergences(tree, policy, base):
    """The summed and the averaged action KL and the occupancy KL of token-tree policies.

    ``trajectory`` and ``state`` are ``goodhart.trees.policy_kl`` with ``per="trajectory"``
    and ``per="state"``; ``occupancy`` is ``discrete_kl`` of the two :func:`tree_occupancy`
    measures. Always ``state <= trajectory`` and ``occupancy <= trajectory``.

    Parameters
    ----------
    tree : goodhart.trees.TokenTree
    policy : array_like
        Shape ``(tree.n_prefixes, tree.actions)``, or ``(..., tree.n_prefixes, tree.actions)``
        for several policies at once.
    base : array_like
        ``pi0``, shape ``(tree.n_prefixes, tree.actions)``.

    Returns
    -------
    Divergences
        Floats for one policy, arrays of shape ``policy.shape[:-2]`` for several.

    Examples
    --------
    >>> from goodhart.trees import TokenTree, uniform_policy
    >>> tree = TokenTree(tokens=2, horizon=2, end_token=True)
    >>> base = uniform_policy(tree, end_probability=0.5)
    >>> policy = base.copy()
    >>> policy[0] = [0.1, 0.1, 0.8]  # end at once with probability 0.8, not 0.5
    >>> kl = tree_divergences(tree, np.stack([base, policy]), base)
    >>> kl.trajectory.round(6), kl.state.round(6), kl.occupancy.round(6)
    (array([0.      , 0.192745]), array([0.     , 0.17347]), array([0.      , 0.128497]))
    """
    trees._tree(tree)
    base = tree.check_policy(base, "base")
    array = _checks.real(policy, "policy", low=0.0, high=1.0)
    shape = (tree.n_prefixes, tree.actions)
    if array.ndim < 2 or array.shape[-2:] != shape:
        raise ValueError(f"policy must have shape (..., {shape[0]}, {shape[1]}) (prefixes, "
                         f"actions), got {array.shape}")
    stack = [tree.check_policy(pi) for pi in array.reshape(-1, *shape)]
    mu0 = tree_occupancy(tree, base)
    rows = [(trees.policy_kl(tree, pi, base), trees.policy_kl(tree, pi, base, per="state"),
             discrete_kl(tree_occupancy(tree, pi), mu0)) for pi in stack]
    template = np.empty(array.shape[:-2])
    columns = [_checks.like(c, template) for c in np.array(rows, dtype=float).reshape(-1, 3).T]
    return Divergences(*columns)
