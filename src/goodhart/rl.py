"""KL-regularized policy gradient on a token tree: an analogue of the paper's PPO experiment.

The paper (Appendix B.2, "PPO experiment", Figure B.4) trains Pythia 1B with PPO in OpenRLHF, a
Pythia reward model as the utility plus a heavy-tailed error in the number of "the" tokens, the
adaptive KL controller with ``kl_target=0.5`` and responses of up to 256 tokens. This module is
an *analogue* of that run, not a reproduction: a tabular softmax policy on a
:class:`goodhart.trees.TokenTree` (the book's has an end token; every prefix has its own
logits, no network shares them), trained by exact gradients or REINFORCE with Adam (not PPO: no
clipped surrogate, no value network); the error is one we chose (:func:`exploit_reward`:
``e^{a n} - 1`` in the count ``n`` of one token, or the linear ``(e^a - 1) n`` that agrees
with it for ``n <= 1``); the utility is an independent normal draw per sequence, not a reward
model; and the chapter's KL target is its own. What carries over is the mechanism: a KL-penalized
optimizer facing a power-law error.

The objective is RLHF's ``J(pi) = E_pi[R] - beta D(pi || pi0)`` with ``D`` the trajectory KL
(``goodhart.trees.policy_kl(..., per="trajectory")``: the per-state KL summed along the
trajectory, the KL between the sequence laws): the sequence-level KL that RLHF implementations
penalize, and the quantity by which the paper's proof of Theorem 3 bounds its own per-state
average (the paper's policy KL, its Section 2.1). For this sum the maximizer has sequence law
``pi0 exp(R / beta) / Z`` (:func:`tilted_policy`, :func:`tilted_optimum`); for the average it
is not an exponential tilt when the texts have different lengths. The exact gradient
(:func:`evaluate`) is one backward and one forward pass over the levels; the coefficient can
follow Ziegler et al. (2019)'s controller (:func:`next_kl_coef`), and
:func:`kl_coef_for_target` finds the ``beta`` whose optimum meets a KL budget
(:func:`budget_optimum`: the best policy under that budget).

Rewards are values on sequences (``tree.n_sequences`` entries); policies are arrays of
shape ``(tree.n_prefixes, tree.actions)`` (see :mod:`goodhart.trees`).
"""

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from goodhart import _checks, trees

_HISTORY = ("beta", "kl", "objective", "reward")


def _reward(tree, reward, name="reward"):
    return tree.check_values(reward, name)


def _base(tree, base):
    """``base`` checked, with ``log pi0`` (``-inf`` where ``pi0 = 0``)."""
    base = tree.check_policy(base, "base")
    with np.errstate(divide="ignore"):
        return base, np.log(base)


def _beta(beta, *, positive=False):
    return _checks.scalar(beta, "beta", low=0.0, low_open=positive)


def _state_kl(policy, log_ratio):
    """``D(pi(s) || pi0(s))`` per state from the log-ratios, rounding noise below 0 set to 0."""
    return np.maximum(np.sum(policy * log_ratio, axis=1), 0.0)


def _log_ratio(policy, log_base):
    """``log(pi / pi0)`` where ``pi > 0`` (0 elsewhere: those actions carry no weight)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(policy) - log_base
    if np.any(ratio == np.inf):
        raise ValueError("policy takes an action that base never takes: the KL is infinite")
    ratio[policy == 0] = 0.0
    return ratio


@dataclass(frozen=True)
class Evaluation:
    """``J = E[R] - beta D(pi || pi0)`` at a policy, its parts, and ``dJ / dlogits``."""

    objective: float
    reward: float  # E_pi[R]
    kl: float  # the trajectory KL D(Tr(pi) || Tr(pi0))
    gradient: np.ndarray  # shape (n_prefixes, actions)


def _evaluate(tree, policy, log_base, reward, beta, reach=None, probabilities=None):
    if reach is None:
        reach = trees._reach(tree, policy)
    if probabilities is None:
        probabilities = trees._sequence_probabilities(tree, policy, reach)
    log_ratio = _log_ratio(policy, log_base)
    gradient = np.empty_like(policy)
    per_state = _state_kl(policy, log_ratio)
    value = reward[tree.sequences(tree.horizon)]
    for level in reversed(range(tree.horizon)):
        rows = tree.prefixes(level)
        pi = policy[rows]
        q = trees._child_values(tree, level, value, reward) - beta * log_ratio[rows]
        value = np.einsum("ij,ij->i", pi, q)
        # reach pi (q - value), in place: the last level holds 10^5 entries a step
        q -= value[:, None]
        q *= pi
        q *= reach[rows][:, None]
        gradient[rows] = q
    kl = trees._weighted(reach, per_state)
    mean = trees._dot(probabilities, reward)
    return Evaluation(objective=float(value[0]), reward=mean, kl=kl, gradient=gradient)


_MAX_STEPS = 10**7  # gradient steps of one run: its history is 8 bytes a step a key


def evaluate(tree, policy, base, reward, beta):
    """``J``, ``E[R]``, the trajectory KL and the exact gradient ``dJ / dlogits`` of a policy.

    With ``Q(s, a)`` the penalized value of taking ``a`` in ``s`` (the sequence's reward, or
    the child's value) minus ``beta log(pi / pi0)(a | s)``, and ``W(s) = sum_a pi(a | s) Q(s,
    a)``, the policy-gradient theorem for softmax logits gives ``dJ / dlogit(s, a) = d(s)
    pi(a | s) (Q(s, a) - W(s))``, ``d(s)`` the probability of reaching ``s``; the score term
    of the penalty has mean zero and drops out. One backward pass computes ``Q`` and ``W``.

    Parameters
    ----------
    tree : goodhart.trees.TokenTree
    policy, base : array_like
        ``pi`` and ``pi0``, shape ``(tree.n_prefixes, tree.actions)``; ``pi0 > 0`` wherever
        ``pi > 0``.
    reward : array_like
        One reward per sequence.
    beta : float
        The KL coefficient, ``>= 0``.

    Returns
    -------
    Evaluation
        ``objective`` (``J``), ``reward`` (``E_pi[R]``), ``kl`` (nats) and ``gradient``.

    Examples
    --------
    >>> from goodhart.trees import TokenTree, uniform_policy
    >>> tree = TokenTree(tokens=2, horizon=1, end_token=True)
    >>> base = uniform_policy(tree)
    >>> result = evaluate(tree, base, base, [0.0, 3.0, 0.0], beta=1.0)
    >>> result.objective, result.kl, result.gradient.round(6)
    (1.0, 0.0, array([[ 0.666667, -0.333333, -0.333333]]))
    """
    trees._tree(tree)
    policy = tree.check_policy(policy)
    _, log_base = _base(tree, base)
    return _evaluate(tree, policy, log_base, _reward(tree, reward), _beta(beta))


def _tilted(tree, log_base, reward, beta):
    with np.errstate(over="ignore"):
        scaled = reward / beta
    if not np.all(np.isfinite(scaled)):
        raise ValueError(f"beta = {beta:g} is too small for these rewards: reward / beta "
                         "overflows")
    g_below = scaled[tree.sequences(tree.horizon)]
    log_policy = np.empty((tree.n_prefixes, tree.actions))
    for level in reversed(range(tree.horizon)):
        rows = tree.prefixes(level)
        g = log_base[rows] + trees._child_values(tree, level, g_below, scaled)
        top = g.max(axis=1, keepdims=True)  # finite: every row of pi0 has an action
        g -= top
        log_total = np.log(np.sum(np.exp(g), axis=1, keepdims=True))  # >= 0: the top term is 1
        log_policy[rows] = g - log_total
        g_below = (top + log_total)[:, 0]
    return np.exp(log_policy), float(g_below[0])


def tilted_policy(tree, base, reward, beta):
    """The maximizer of ``J = E[R] - beta KL``: the policy with sequence law ``pi0 e^{R/beta} / Z``.

    Read off level by level with the soft Bellman recursion, in log space:
    ``G(s) = log sum_a pi0(a | s) exp(g(s, a))``, ``g`` the sequence's reward over ``beta`` or
    the child's ``G``; then ``pi(a | s) = pi0(a | s) exp(g(s, a) - G(s))`` and
    ``G(root) = log Z``.

    Parameters
    ----------
    tree : goodhart.trees.TokenTree
    base : array_like
        ``pi0``, shape ``(tree.n_prefixes, tree.actions)``.
    reward : array_like
        One reward per sequence.
    beta : float or array_like
        KL coefficients, ``> 0``: one policy for each.

    Returns
    -------
    ndarray
        The optimal policy, shape ``(tree.n_prefixes, tree.actions)``; for an array ``beta``,
        shape ``beta.shape + (tree.n_prefixes, tree.actions)``, one policy per coefficient.

    Examples
    --------
    >>> from goodhart.trees import TokenTree, uniform_policy
    >>> tree = TokenTree(tokens=2, horizon=1, end_token=True)
    >>> tree.sequence(1)  # reward log 2 for the sequence "token 0", 0 for the others
    (0,)
    >>> tilted_policy(tree, uniform_policy(tree), [0.0, np.log(2.0), 0.0], beta=1.0)
    array([[0.5 , 0.25, 0.25]])
    >>> tilted_policy(tree, uniform_policy(tree), [0.0, np.log(2.0), 0.0], [1.0, 2.0]).round(4)
    array([[[0.5   , 0.25  , 0.25  ]],
    <BLANKLINE>
           [[0.4142, 0.2929, 0.2929]]])
    """
    trees._tree(tree)
    _, log_base = _base(tree, base)
    reward = _reward(tree, reward)
    beta = _checks.real(beta, "beta", low=0.0, low_open=True)
    if beta.size == 0:
        raise ValueError("beta must hold at least one KL coefficient, got none")
    _checks.draws({"beta.size": beta.size, "policy entries": tree.n_prefixes * tree.actions},
                  "numbers")
    policies = [_tilted(tree, log_base, reward, float(b))[0] for b in beta.ravel()]
    return np.reshape(policies, beta.shape + policies[0].shape)


@dataclass(frozen=True)
class TiltedOptimum:
    """The KL-penalized optimum ``pi0 e^{R/beta} / Z`` at each ``beta``: its trajectory KL, its
    ``E[R]``, its objective ``beta log Z`` and the expectation of each monitor."""

    beta: float
    kl: float  # D(Tr(pi*) || Tr(pi0)) = E[R] / beta - log Z
    reward: float  # E_{pi*}[R]
    objective: float  # E[R] - beta KL = beta log Z
    log_z: float
    monitors: dict  # name -> E_{pi*}[monitor], shaped like beta


def tilted_optimum(tree, base, reward, beta, *, monitors=None):
    """The KL-penalized optimum's KL, reward and monitor means, for one ``beta`` or a sweep.

    Parameters
    ----------
    tree : goodhart.trees.TokenTree
    base : array_like
        ``pi0``, shape ``(tree.n_prefixes, tree.actions)``.
    reward : array_like
        One reward per sequence.
    beta : float or array_like
        KL coefficients, ``> 0``.
    monitors : dict of str to array_like, optional
        Values on sequences (a utility, a token count) whose means under the optimum are
        reported.

    Returns
    -------
    TiltedOptimum
        Floats for a scalar ``beta``, arrays of its shape otherwise. The KL is the chain-rule
        sum of per-state KLs of :func:`tilted_policy` (no cancellation at large ``beta``).

    Examples
    --------
    >>> from goodhart.trees import TokenTree, uniform_policy
    >>> tree = TokenTree(tokens=2, horizon=1, end_token=True)
    >>> best = tilted_optimum(tree, uniform_policy(tree), [0.0, np.log(2.0), 0.0], [1.0, 2.0])
    >>> best.kl.round(6), best.objective.round(6)
    (array([0.058892, 0.014221]), array([0.287682, 0.25867 ]))
    """
    trees._tree(tree)
    base, log_base = _base(tree, base)
    reward = _reward(tree, reward)
    beta = _checks.real(beta, "beta", low=0.0, low_open=True)
    if beta.size == 0:
        raise ValueError("beta must hold at least one KL coefficient, got none")
    monitors = {name: tree.check_values(m, name) for name, m in (monitors or {}).items()}
    rows = []
    for b in beta.ravel():
        policy, log_z = _tilted(tree, log_base, reward, float(b))
        reach = trees._reach(tree, policy)
        probabilities = trees._sequence_probabilities(tree, policy, reach)
        kl = trees._weighted(reach, _state_kl(policy, _log_ratio(policy, log_base)))
        rows.append([kl, trees._dot(probabilities, reward), float(b) * log_z, log_z]
                    + [trees._dot(probabilities, m) for m in monitors.values()])
    columns = [_checks.like(np.array(c), beta) for c in zip(*rows, strict=True)]
    return TiltedOptimum(
        beta=_checks.like(beta, beta), kl=columns[0], reward=columns[1], objective=columns[2],
        log_z=columns[3], monitors=dict(zip(monitors, columns[4:], strict=True)),
    )


def kl_coef_for_target(tree, base, reward, target, *, bracket=(1e-3, 1e6)):
    """The ``beta`` whose optimum has trajectory KL ``target``: the optimum under ``KL <= target``.

    The optimum's KL falls as ``beta`` grows, so the root of ``KL(beta) = target`` is unique;
    it is found by ``brentq`` on ``log beta`` inside ``bracket``.

    Parameters
    ----------
    tree : goodhart.trees.TokenTree
    base : array_like
        ``pi0``.
    reward : array_like
        One reward per sequence.
    target : float or array_like
        KL budgets (nats), ``> 0``.
    bracket : (float, float)
        The range of ``beta`` searched, ``0 < low < high``.

    Returns
    -------
    float or ndarray
        ``beta`` for each target.

    Examples
    --------
    >>> from goodhart.trees import TokenTree, uniform_policy
    >>> tree = TokenTree(tokens=2, horizon=1, end_token=True)
    >>> beta = kl_coef_for_target(tree, uniform_policy(tree), [0.0, 1.0, 0.0], 0.1)
    >>> round(beta, 6)
    1.110718
    """
    trees._tree(tree)
    base, log_base = _base(tree, base)
    reward = _reward(tree, reward)
    target = _checks.real(target, "target", low=0.0, low_open=True)
    bracket = _checks.real(bracket, "bracket", low=0.0, low_open=True)
    if bracket.shape != (2,) or not bracket[0] < bracket[1]:
        raise ValueError(f"bracket must be two numbers low < high, got {bracket!r}")

    def kl(log_beta):
        policy, _ = _tilted(tree, log_base, reward, float(np.exp(log_beta)))
        per_state = _state_kl(policy, _log_ratio(policy, log_base))
        return trees._weighted(trees._reach(tree, policy), per_state)

    lo, hi = np.log(bracket)
    kl_lo, kl_hi = kl(lo), kl(hi)

    def one(d):
        if not kl_hi <= d <= kl_lo:
            raise ValueError(f"target {d:g} is not reached for beta in {tuple(bracket)}: the "
                             f"optimum's KL spans [{kl_hi:.4g}, {kl_lo:.4g}] there")
        return float(np.exp(optimize.brentq(lambda lb: kl(lb) - d, lo, hi, xtol=1e-12,
                                            rtol=1e-12)))

    return _checks.like([one(d) for d in target.ravel()], target)


def budget_optimum(tree, base, reward, budget, *, monitors=None, bracket=(1e-3, 1e6)):
    """The policy of largest ``E[R]`` whose trajectory KL is at most ``budget``: the KL frontier
    on a tree.

    Applied to the law of the texts, the Donsker-Varadhan formula (the argument of the paper's
    Theorem 2) says that the best mean at ``D(Tr(pi) || Tr(pi0)) <= d`` is reached by the tilt
    ``pi0 e^{R / beta} / Z`` whose KL is exactly ``d``; on a finite tree such a tilt exists for
    every ``d`` below ``-log`` of the base probability of the best texts. This is
    :func:`tilted_optimum` at :func:`kl_coef_for_target`.

    Parameters
    ----------
    tree : goodhart.trees.TokenTree
    base : array_like
        ``pi0``.
    reward : array_like
        One reward per sequence.
    budget : float or array_like
        KL budgets (nats), ``> 0``.
    monitors : dict of str to array_like, optional
        Values on sequences whose means under the optimum are reported.
    bracket : (float, float)
        The range of ``beta`` searched (see :func:`kl_coef_for_target`).

    Returns
    -------
    TiltedOptimum
        At the ``beta`` of each budget: ``reward`` is the frontier ``sup E[R]``, ``kl`` the
        budget.

    Examples
    --------
    >>> from goodhart.trees import TokenTree, uniform_policy
    >>> tree = TokenTree(tokens=2, horizon=1, end_token=True)
    >>> best = budget_optimum(tree, uniform_policy(tree), [0.0, 1.0, 0.0], [0.01, 0.1])
    >>> best.reward.round(6), best.kl.round(9)
    (array([0.400993, 0.551608]), array([0.01, 0.1 ]))
    """
    if _checks.real(budget, "budget", low=0.0, low_open=True).size == 0:
        raise ValueError("budget must hold at least one KL budget, got none")
    with _checks.named("budget"):
        beta = kl_coef_for_target(tree, base, reward, budget, bracket=bracket)
    return tilted_optimum(tree, base, reward, beta, monitors=monitors)


def next_kl_coef(beta, kl, target, gain=0.1):
    """Ziegler et al. (2019)'s adaptive KL coefficient: ``beta (1 + gain e)``, with the error
    ``e = KL / target - 1`` clipped to ``[-0.2, 0.2]``.

    Parameters
    ----------
    beta : float or array_like
        The current coefficient, ``>= 0``.
    kl : float or array_like
        The current KL (nats), ``>= 0``.
    target : float or array_like
        The KL target, ``> 0``.
    gain : float
        The controller's gain, ``>= 0`` (Ziegler et al.'s ``K_beta``).

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(next_kl_coef(1.0, 1.1, 1.0), 12), round(next_kl_coef(1.0, 10.0, 1.0), 12)
    (1.01, 1.02)
    """
    beta = _checks.real(beta, "beta", low=0.0)
    kl = _checks.real(kl, "kl", low=0.0)
    target = _checks.real(target, "target", low=0.0, low_open=True)
    gain = _checks.real(gain, "gain", low=0.0)
    out = beta * (1 + gain * np.clip(kl / target - 1, -0.2, 0.2))
    return _checks.like(out, np.broadcast_arrays(beta, kl, target, gain)[0])


@dataclass(frozen=True)
class GradientEstimate:
    """A REINFORCE estimate of ``dJ / dlogits`` and the penalized return of each sample."""

    gradient: np.ndarray  # shape (n_prefixes, actions)
    returns: np.ndarray  # R - beta sum log(pi / pi0) along each sampled trajectory


def _reinforce(tree, policy, log_base, reward, beta, size, generator):
    paths = trees._sample(tree, policy, size, generator)
    final = reward[paths.sequence]
    taken = paths.states >= 0
    s, a = paths.states[taken], paths.actions[taken]
    log_ratio = np.zeros(paths.states.shape)
    log_ratio[taken] = np.log(policy[s, a]) - log_base[s, a]  # sampled, so pi(a | s) > 0
    to_go = final[:, None] - beta * np.cumsum(log_ratio[:, ::-1], axis=1)[:, ::-1]
    total = to_go[:, 0]
    baseline = (total.sum() - total) / (size - 1)
    weight = ((to_go - baseline[:, None]) / size)[taken]
    gradient = np.zeros_like(policy)
    np.add.at(gradient, s, -weight[:, None] * policy[s])
    np.add.at(gradient, (s, a), weight)
    return GradientEstimate(gradient=gradient, returns=total)


def reinforce_gradient(tree, policy, base, reward, beta, size, *, rng=None):
    """A REINFORCE estimate of ``dJ / dlogits`` from ``size`` sampled trajectories.

    Each step's score ``onehot(a) - pi(s)`` is weighted by the reward-to-go: the sequence's
    reward minus ``beta`` times the log-ratios from that step on, minus a baseline, the mean
    penalized return of the *other* trajectories of the batch (leave-one-out, so the estimate
    stays unbiased).

    Parameters
    ----------
    tree : goodhart.trees.TokenTree
    policy, base : array_like
        ``pi`` and ``pi0``.
    reward : array_like
        One reward per sequence.
    beta : float
        The KL coefficient, ``>= 0``.
    size : int
        Trajectories in the batch, ``>= 2`` (the baseline leaves one out).
    rng : None, int, array_like or numpy.random.Generator
        Passed to ``numpy.random.default_rng``.

    Returns
    -------
    GradientEstimate

    Examples
    --------
    >>> from goodhart.trees import TokenTree, uniform_policy
    >>> tree = TokenTree(tokens=2, horizon=1, end_token=True)
    >>> base = uniform_policy(tree)
    >>> estimate = reinforce_gradient(tree, base, base, [0.0, 3.0, 0.0], 1.0, 4000, rng=0)
    >>> estimate.gradient.round(1)
    array([[ 0.7, -0.3, -0.3]])
    """
    trees._tree(tree)
    policy = tree.check_policy(policy)
    _, log_base = _base(tree, base)
    size = trees._integer(size, "size", low=2)
    return _reinforce(tree, policy, log_base, _reward(tree, reward), _beta(beta), size,
                      trees._generator(rng))


@dataclass(frozen=True)
class TrainingRun:
    """A training run: per step (before its update) ``history["beta"]``, the exact ``"kl"``,
    ``"objective"`` and ``"reward"`` (``E_pi[R]``) and ``E_pi[m]`` for each monitor ``m``; and
    the final policy."""

    history: dict
    policy: np.ndarray


def train(tree, base, reward, *, beta, steps, learning_rate, kl_target=None, kl_gain=0.1,
          monitors=None, batch_size=None, optimizer="adam", rng=None):
    """Maximize ``E[R] - beta KL`` from ``pi0`` by gradient steps on the logits.

    Parameters
    ----------
    tree : goodhart.trees.TokenTree
    base : array_like
        ``pi0``, the starting policy and the KL's reference.
    reward : array_like
        One reward per sequence.
    beta : float
        The KL coefficient (the starting one, with ``kl_target``), ``>= 0``.
    steps : int
        Gradient steps, ``>= 1``.
    learning_rate : float
        ``> 0``. Adam's steps have about this size whatever the gradient's scale.
    kl_target : float, optional
        If given, ``beta`` follows :func:`next_kl_coef` with ``kl_gain`` after every step.
    kl_gain : float
        The controller's gain.
    monitors : dict of str to array_like, optional
        Values on sequences whose means are recorded at every step.
    batch_size : int, optional
        None for the exact gradient; otherwise a REINFORCE estimate from this many samples.
    optimizer : {"adam", "ascent"}
        Adam (PPO's optimizer) or plain gradient ascent, which settles exactly where the
        gradient vanishes.
    rng : None, int, array_like or numpy.random.Generator
        Passed to ``numpy.random.default_rng``; used only by REINFORCE.

    Returns
    -------
    TrainingRun
        The exact KL, objective, reward and monitor means of every step, whatever the
        gradient estimator, and the final policy.

    Examples
    --------
    >>> from goodhart.trees import TokenTree, uniform_policy
    >>> tree = TokenTree(tokens=2, horizon=1, end_token=True)
    >>> run = train(tree, uniform_policy(tree), [0.0, np.log(2.0), 0.0], beta=1.0, steps=300,
    ...             learning_rate=0.05)
    >>> run.policy.round(4)  # the tilted optimum, pi0 e^R / Z
    array([[0.5 , 0.25, 0.25]])
    """
    trees._tree(tree)
    base, log_base = _base(tree, base)
    reward = _reward(tree, reward)
    beta = _beta(beta)
    steps = trees._integer(steps, "steps", low=1, high=_MAX_STEPS)
    learning_rate = _checks.scalar(learning_rate, "learning_rate", low=0.0, low_open=True)
    if kl_target is not None:
        kl_target = _checks.scalar(kl_target, "kl_target", low=0.0, low_open=True)
    kl_gain = _checks.scalar(kl_gain, "kl_gain", low=0.0)
    monitors = {name: tree.check_values(m, name) for name, m in (monitors or {}).items()}
    clash = set(monitors) & set(_HISTORY)
    if clash:
        raise ValueError(f"monitors must not be named {sorted(clash)}: the history records them")
    if batch_size is not None:
        batch_size = trees._integer(batch_size, "batch_size", low=2)
    if optimizer not in ("adam", "ascent"):
        raise ValueError(f"optimizer must be 'adam' or 'ascent', got {optimizer!r}")
    generator = trees._generator(rng)
    logits = log_base.copy()
    first, second = np.zeros_like(logits), np.zeros_like(logits)
    history = {key: np.empty(steps) for key in (*_HISTORY, *monitors)}
    for step in range(steps):
        policy = trees._softmax(logits)
        reach = trees._reach(tree, policy)
        probabilities = trees._sequence_probabilities(tree, policy, reach)
        exact = _evaluate(tree, policy, log_base, reward, beta, reach, probabilities)
        history["beta"][step], history["kl"][step] = beta, exact.kl
        history["objective"][step], history["reward"][step] = exact.objective, exact.reward
        for name, values in monitors.items():
            history[name][step] = trees._dot(probabilities, values)
        if batch_size is None:
            gradient = exact.gradient
        else:
            with _checks.named("batch_size"):
                gradient = _reinforce(tree, policy, log_base, reward, beta, batch_size,
                                      generator).gradient
        with np.errstate(over="ignore", invalid="ignore"):
            if optimizer == "adam":
                _adam_step(logits, first, second, gradient, step + 1, learning_rate)
            else:
                logits += learning_rate * gradient
        if not np.all(np.isfinite(logits)):
            raise ValueError(f"learning_rate = {learning_rate:g} is too large: the logits "
                             f"overflowed at step {step + 1}")
        if kl_target is not None:
            beta = float(next_kl_coef(beta, exact.kl, kl_target, kl_gain))
    return TrainingRun(history=history, policy=trees._softmax(logits))


def _adam_step(x, m, v, g, t, lr, b1=0.9, b2=0.999, eps=1e-12):
    """One in-place Adam ascent step (Kingma and Ba 2015); a tiny ``eps`` lets rarely reached
    states, whose exact gradients carry their small reach probability, still move."""
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * g * g
    x += lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)


# ---------------------------------------------------------------------------------------
# The exploit-token reward: a proxy whose error grows with the count of one token.


@dataclass(frozen=True)
class ExploitReward:
    """A proxy reward ``U = X + V`` on the sequences of a tree, the error ``X`` a function of
    the count ``n`` of one token: ``e^{rate n} - 1`` ("exponential") or ``(e^rate - 1) n``
    ("linear"); the two agree for ``n <= 1``."""

    tree: trees.TokenTree
    token: int
    rate: float
    growth: str
    count: np.ndarray  # n, per sequence
    utility: np.ndarray  # V, per sequence
    error: np.ndarray  # X, per sequence
    proxy: np.ndarray  # U = X + V, per sequence

    @property
    def monitors(self):
        """The values on sequences a training run should record, by name: ``"proxy"``,
        ``"utility"``, ``"error"``, ``"count"`` and ``"length"`` (for ``train(monitors=...)``
        and ``tilted_optimum(monitors=...)``)."""
        return {"proxy": self.proxy, "utility": self.utility, "error": self.error,
                "count": self.count, "length": self.tree.lengths}

    def share(self, policy):
        """``E_pi[n] / E_pi[length]``: the exploited token's share of the content tokens.

        Examples
        --------
        >>> tree = trees.TokenTree(tokens=7, horizon=6, end_token=True)
        >>> model = exploit_reward(tree, token=6, rate=1.2, growth="exponential", rng=0)
        >>> round(model.share(trees.uniform_policy(tree, end_probability=0.4)), 6)  # 1/7
        0.142857
        """
        counts = trees.expectation(self.tree, policy, np.stack([self.count, self.tree.lengths]))
        return float(counts[0] / counts[1])

    def tail_index(self, end_probability):
        """The power ``alpha`` of the exponential error's tail under the uniform base policy.

        Under ``uniform_policy(tree, end_probability=p)`` the next token is the exploited one
        before the end token with probability ``r = (1 - p) / (1 - p + k p)`` (``k`` content
        tokens), so on an unbounded horizon ``P(n >= j) = r^j`` and the exponential error has
        ``P(X >= x) ~ x^-alpha``, ``alpha = log(1/r) / rate``: a power law, heavy-tailed
        (finite mean iff ``alpha > 1``). A finite tree follows it up to ``n = horizon``. The
        linear error's tail is exponential (light): ``inf`` is returned.

        Examples
        --------
        >>> tree = trees.TokenTree(tokens=7, horizon=6, end_token=True)
        >>> model = exploit_reward(tree, token=6, rate=1.2, growth="exponential", rng=0)
        >>> round(model.tail_index(0.4), 4)
        1.4455
        """
        if not self.tree.end_token:
            raise ValueError("tail_index needs a tree with an end token (a geometric count)")
        p = _checks.scalar(end_probability, "end_probability", check=_checks.probability)
        if self.growth == "linear":
            return np.inf
        p_token = (1 - p) / self.tree.tokens
        return float(np.log((p_token + p) / p_token) / self.rate)


def exploit_reward(tree, *, token, rate, growth, utility=None, rng=None):
    """The exploit-token proxy reward ``U = X(n) + V``, ``n`` the count of ``token``.

    Parameters
    ----------
    tree : goodhart.trees.TokenTree
    token : int
        The exploited content token, ``0..tree.tokens - 1``.
    rate : float
        ``a > 0``: the exponential error is ``e^{a n} - 1``, the linear one ``(e^a - 1) n``.
    growth : {"exponential", "linear"}
        How the error grows with the count: heavy-tailed (a power law under the base policy,
        :meth:`ExploitReward.tail_index`) or light-tailed.
    utility : array_like, optional
        ``V`` per sequence. None draws it: one independent standard normal per sequence, in
        sequence order, from ``rng`` (so the same seed gives the same utility for both
        growths).
    rng : None, int, array_like or numpy.random.Generator
        Passed to ``numpy.random.default_rng``; only when ``utility`` is None.

    Returns
    -------
    ExploitReward
        ``count``, ``utility``, ``error`` and ``proxy`` as values on sequences.

    Examples
    --------
    >>> tree = trees.TokenTree(tokens=2, horizon=2, end_token=True)
    >>> model = exploit_reward(tree, token=1, rate=np.log(3.0), growth="exponential",
    ...                        utility=np.zeros(tree.n_sequences))
    >>> model.count, model.error.round(12)
    (array([0., 0., 1., 0., 1., 1., 2.]), array([0., 0., 2., 0., 2., 2., 8.]))
    """
    trees._tree(tree)
    count = tree.count(token)
    rate = _checks.scalar(rate, "rate", low=0.0, low_open=True)
    if growth not in ("exponential", "linear"):
        raise ValueError(f"growth must be 'exponential' or 'linear', got {growth!r}")
    if rate * tree.horizon > 700:
        raise ValueError(f"rate * horizon must be <= 700 (e^(rate n) overflows), got "
                         f"{rate * tree.horizon:g}")
    if utility is None:
        utility = trees._generator(rng).standard_normal(tree.n_sequences)
    elif rng is not None:
        raise ValueError("rng is used only to draw the utility: give utility or rng, not both")
    else:
        utility = tree.check_values(utility, "utility").copy()
    error = np.expm1(rate * count) if growth == "exponential" else np.expm1(rate) * count
    return ExploitReward(tree=tree, token=int(token), rate=rate, growth=growth, count=count,
                         utility=utility, error=error, proxy=error + utility)


# ---------------------------------------------------------------------------------------
# The budget optimum on trees of growing depth.

_MAX_SWEEP = 10**6  # sequences times draws of one sweep: about half a minute of tilts


@dataclass(frozen=True)
class DepthSweep:
    """The optimum at a KL budget on trees of each depth: the mean over draws of the utility
    of its ``beta`` and of its gain in true utility; ``se`` holds their standard errors."""

    depth: np.ndarray  # int: the horizon of each tree
    sequences: np.ndarray  # int: the sequences of each tree
    beta: np.ndarray  # mean of beta*, the coefficient whose optimum has KL = budget
    gain: np.ndarray  # mean of E_{pi*}[V] - E_{pi0}[V]
    se: "DepthSweep | None"  # the standard errors of beta and gain (None inside se)


def _sweep_key(rng):
    """The integer that keys every draw of a sweep (see :func:`depth_sweep`)."""
    if rng is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63))
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise ValueError(f"rng must be None, a non-negative integer or a numpy Generator, got "
                         f"{rng!r}")
    return int(rng)


def depth_sweep(depth, *, tokens, token, rate, growth, end_probability, budget, draws,
                rng=None):
    """The KL-budget optimum of an exploit-token reward on trees of each depth, over draws of
    the utility: how its coefficient and its gain in true utility change with the depth.

    For each depth ``d`` the tree has ``tokens`` content tokens, at most ``d`` of them, and an
    end token; the base policy is ``uniform_policy(tree, end_probability=...)``. For each draw
    ``k`` of the utility, :func:`exploit_reward` gives the proxy and :func:`budget_optimum`
    the best policy whose trajectory KL is ``budget``: its ``beta`` and its gain
    ``E_{pi*}[V] - E_{pi0}[V]``. The means over the draws are returned with their standard
    errors (sample standard deviation over ``sqrt(draws)``).

    Parameters
    ----------
    depth : int or array_like of int
        Tree horizons, from 1 to ``10**4``.
    tokens : int
        Content tokens, ``>= 1``.
    token : int
        The exploited token, ``0..tokens - 1``.
    rate : float
        The error's rate ``a > 0`` (see :func:`exploit_reward`).
    growth : {"exponential", "linear"}
        The heavy-tailed error ``e^{a n} - 1`` or the light-tailed ``(e^a - 1) n``.
    end_probability : float
        The base policy's probability of ending at each step, in ``(0, 1)``.
    budget : float
        The KL budget (nats), ``> 0``.
    draws : int
        Draws of the utility at each depth, ``>= 2`` (for a standard error); ``draws`` times
        the sequences of all the trees is at most ``10**6``.
    rng : None, int or numpy.random.Generator
        The key of the draws: the utility of depth ``d``, draw ``k`` is drawn by
        ``exploit_reward(..., rng=[rng, d, k])``, so a depth's draws do not depend on which
        other depths are swept, and an integer gives the same utilities whatever the growth
        (the heavy and the light error are compared on the same draws). None keys the draws
        with fresh entropy, a Generator with one integer drawn from it. (An integer key, not
        one stream: one stream for all the depths would make each row depend on the rows
        before it.)

    Returns
    -------
    DepthSweep
        ``depth``, ``sequences``, and the means ``beta`` and ``gain``, with ``se.beta`` and
        ``se.gain``: ints and floats for a scalar ``depth``, arrays of its shape otherwise.

    Examples
    --------
    >>> sweep = depth_sweep([1, 2], tokens=2, token=1, rate=1.0, growth="exponential",
    ...                     end_probability=0.5, budget=0.1, draws=3, rng=0)
    >>> sweep.sequences, sweep.beta.round(4), sweep.se.gain.round(4)
    (array([3, 7]), array([3.3242, 4.2611]), array([0.1716, 0.1046]))
    """
    depth = _checks.whole(depth, "depth", low=1, high=10**4)
    if depth.size == 0:
        raise ValueError("depth must hold at least one depth, got none")
    tokens = trees._integer(tokens, "tokens", low=1, high=trees.MAX_ENTRIES)
    token = trees._integer(token, "token", low=0)
    if token >= tokens:
        raise ValueError(f"token must be one of the tokens 0..{tokens - 1}, got {token}")
    rate = _checks.scalar(rate, "rate", low=0.0, low_open=True)
    if growth not in ("exponential", "linear"):
        raise ValueError(f"growth must be 'exponential' or 'linear', got {growth!r}")
    end_probability = _checks.scalar(end_probability, "end_probability",
                                     check=_checks.probability)
    budget = _checks.scalar(budget, "budget", low=0.0, low_open=True)
    draws = trees._integer(draws, "draws", low=2, high=_MAX_SWEEP)
    key = _sweep_key(rng)
    with _checks.named("depth"):
        tree_of = {d: trees.TokenTree(tokens=tokens, horizon=d, end_token=True)
                   for d in np.unique(depth).astype(int).tolist()}
    work = draws * sum(tree.n_sequences for tree in tree_of.values())
    if work > _MAX_SWEEP:
        raise ValueError(f"draws times the sequences of each depth (tokens = {tokens}) must be "
                         f"at most {_MAX_SWEEP:.0e}, got {work:.3g}")
    if rate * depth.max() > 700:
        raise ValueError(f"rate * depth must be <= 700 (e^(rate n) overflows), got "
                         f"{rate * depth.max():g}")
    rows = {}
    for d, tree in tree_of.items():
        base = trees.uniform_policy(tree, end_probability=end_probability)
        out = np.empty((2, draws))  # (beta*, gain) x draws
        for k in range(draws):
            model = exploit_reward(tree, token=token, rate=rate, growth=growth,
                                   rng=[key, d, k])
            try:
                best = budget_optimum(tree, base, model.proxy, budget,
                                      monitors={"utility": model.utility})
            except ValueError as error:
                raise ValueError(f"budget = {budget:g} at rate = {rate:g}, depth = {d}: "
                                 f"{error}") from None
            out[:, k] = best.beta, best.monitors["utility"] - trees.expectation(
                tree, base, model.utility)
        rows[d] = (d, tree.n_sequences, *out.mean(axis=1),
                   *(out.std(axis=1, ddof=1) / np.sqrt(draws)))
    columns = [_checks.like(c, depth) for c in np.array([rows[int(d)] for d in depth.ravel()]).T]
    counts = [c.astype(int) if depth.ndim else int(c) for c in columns[:2]]
    beta, gain, se_beta, se_gain = columns[2:]
    se = DepthSweep(*counts, beta=se_beta, gain=se_gain, se=None)
    return DepthSweep(*counts, beta=beta, gain=gain, se=se)
