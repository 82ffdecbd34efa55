"""A small KL-regularized policy-gradient loop on a token tree (claim 5, the paper's PPO run).

Strings are built from ``B`` content tokens ``1..B`` and an end token ``0``; a string has at
most ``L`` content tokens. A state is a prefix, an action is the next token, and a string is
finished by the end token or by its ``L``-th content token. Level ``l`` holds the ``B**l``
prefixes of length ``l`` in lexicographic order, so the child of prefix ``s`` by content token
``k`` is ``s * B + k - 1``: every expectation over the whole tree is a few array operations a
level, which makes exact expected gradients cheap (8 tokens and length 6: 137,257 strings).

A policy is a list of ``L`` arrays of log-probabilities, level ``l`` of shape ``(B**l, B + 1)``.
A reward on finished strings is a list of ``L + 1`` arrays, level ``l`` of shape ``(B**l,)``:
entry ``s`` is the reward of the string "prefix ``s``, then end". The objective is RLHF's

    J(pi) = E_pi[R] - beta D(pi || pi0),

with ``D`` the trajectory KL, which by the chain rule is the expected sum of the per-state KLs
along the trajectory (the paper's definition). Its maximizer is ``pi0 exp(R / beta) / Z`` on
strings; :func:`tilted_policy` reads the per-state policy off it.
"""

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import log_softmax, logsumexp

END = 0


@dataclass(frozen=True)
class TokenTree:
    """All strings of at most ``max_length`` content tokens (``n_tokens - 1`` kinds), then end."""

    n_tokens: int
    max_length: int

    def __post_init__(self):
        if self.n_tokens < 2:
            raise ValueError(f"n_tokens must be >= 2 (end token plus content), got {self.n_tokens}")
        if self.max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {self.max_length}")

    @property
    def branching(self):
        """``B``: the number of content tokens."""
        return self.n_tokens - 1

    @property
    def n_strings(self):
        """The number of finished strings, ``sum_l B**l`` for ``l = 0..L``."""
        return sum(self.branching**level for level in range(self.max_length + 1))

    def counts(self, token):
        """Per level, how often content ``token`` occurs in each prefix (a reward-shaped list)."""
        if not 1 <= token <= self.branching:
            raise ValueError(f"token must be a content token in 1..{self.branching}, got {token}")
        out = [np.zeros(1)]
        for _ in range(self.max_length):
            hit = np.arange(1, self.branching + 1) == token
            out.append((out[-1][:, None] + hit[None, :]).reshape(-1))
        return out

    def lengths(self):
        """Per level, the number of content tokens of each string (``l`` on level ``l``)."""
        return [np.full(self.branching**lv, float(lv)) for lv in range(self.max_length + 1)]

    def require_reward(self, reward, name="reward"):
        """``reward`` as a list of float arrays of the tree's level shapes, or a ValueError."""
        if len(reward) != self.max_length + 1:
            raise ValueError(f"{name} needs {self.max_length + 1} levels, got {len(reward)}")
        out = []
        for level, values in enumerate(reward):
            values = np.asarray(values, dtype=float)
            if values.shape != (self.branching**level,):
                raise ValueError(f"{name}[{level}] must have shape ({self.branching**level},)")
            if not np.all(np.isfinite(values)):
                raise ValueError(f"{name}[{level}] has NaN or infinite entries")
            out.append(values)
        return out


def base_policy(tree, p_end):
    """The base policy ``pi0``: end with probability ``p_end``, else a uniform content token."""
    if not 0 < p_end < 1:
        raise ValueError(f"p_end must lie in (0, 1), got {p_end!r}")
    row = np.full(tree.n_tokens, np.log1p(-p_end) - np.log(tree.branching))
    row[END] = np.log(p_end)
    return [np.tile(row, (tree.branching**level, 1)) for level in range(tree.max_length)]


def policy_from_logits(logits):
    """Log-probabilities from unnormalized logits, level by level."""
    return [log_softmax(level, axis=1) for level in logits]


def string_log_probs(tree, log_policy):
    """Per level, ``log P(string)``: the log-probability that the policy emits each string."""
    prefix = np.zeros(1)
    out = []
    for logp in log_policy:
        out.append(prefix + logp[:, END])
        prefix = (prefix[:, None] + logp[:, 1:]).reshape(-1)
    out.append(prefix)
    return out


def reach_probabilities(log_policy):
    """Per level, the probability that the policy reaches each prefix (levels ``0..L-1``)."""
    reach = [np.ones(1)]
    for logp in log_policy[:-1]:
        reach.append((reach[-1][:, None] * np.exp(logp[:, 1:])).reshape(-1))
    return reach


def expectation(tree, log_policy, values):
    """``E_pi[values]`` over finished strings."""
    values = tree.require_reward(values, "values")
    return float(
        sum(
            _dot(np.exp(lp), v)
            for lp, v in zip(string_log_probs(tree, log_policy), values, strict=True)
        )
    )


@dataclass(frozen=True)
class Evaluation:
    """Exact value of ``J = E[R] - beta D(pi || pi0)`` at a policy, its parts and its gradient."""

    objective: float
    reward: float
    kl: float
    gradient: list  # dJ/dlogits, level shapes ``(B**l, B + 1)``


def evaluate(tree, log_policy, log_base, reward, beta):
    """``J``, ``E[R]``, the trajectory KL and ``dJ/dlogits`` by one backward and one forward pass.

    With ``Q(s, a)`` the penalized value of taking ``a`` in ``s`` (the end reward, or the child's
    value) minus ``beta log(pi/pi0)(a|s)``, and ``W(s) = sum_a pi(a|s) Q(s, a)``, the policy
    gradient theorem for softmax logits gives ``dJ/dlogit(s, a) = rho(s) pi(a|s) (Q - W)``,
    ``rho(s)`` the probability of reaching ``s``. The score-function term of the penalty has
    zero mean and drops out.
    """
    reward = tree.require_reward(reward)
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta!r}")
    b = tree.branching
    reach = reach_probabilities(log_policy)
    value = reward[-1]
    gradient = [None] * tree.max_length
    kl = 0.0
    for level in reversed(range(tree.max_length)):
        logp, pi = log_policy[level], np.exp(log_policy[level])
        log_ratio = logp - log_base[level]
        q = np.concatenate([reward[level][:, None], value.reshape(b**level, b)], axis=1)
        q = q - beta * log_ratio
        value = np.sum(pi * q, axis=1)
        gradient[level] = reach[level][:, None] * pi * (q - value[:, None])
        kl += _dot(reach[level], np.sum(pi * log_ratio, axis=1))
    objective = float(value[0])
    return Evaluation(
        objective=objective, reward=objective + beta * kl, kl=float(kl), gradient=gradient
    )


def tilted_policy(tree, log_base, reward, beta):
    """The maximizer of ``J``: the policy whose strings have law ``pi0 exp(R / beta) / Z``.

    Read off level by level with the soft Bellman recursion ``G(s) = log sum_a pi0(a|s)
    exp(g(s, a))``, ``g`` the end reward over ``beta`` or the child's ``G``; then
    ``pi(a|s) = pi0(a|s) exp(g(s, a) - G(s))`` and ``G(root) = log Z``. Returns
    ``(log_policy, log_z)``.
    """
    reward = tree.require_reward(reward)
    if not beta > 0:
        raise ValueError(f"beta must be > 0 for the tilted optimum, got {beta!r}")
    b = tree.branching
    g_child = reward[-1] / beta
    log_policy = [None] * tree.max_length
    for level in reversed(range(tree.max_length)):
        g = log_base[level] + np.concatenate(
            [reward[level][:, None] / beta, g_child.reshape(b**level, b)], axis=1
        )
        g_child = logsumexp(g, axis=1)
        log_policy[level] = g - g_child[:, None]
    return log_policy, float(g_child[0])


def sample_strings(tree, log_policy, size, rng):
    """Sample ``size`` strings from the policy, all levels at once.

    Returns ``(states, actions, levels, prefixes)``: ``states`` and ``actions``, integer arrays
    of shape ``(size, L)``, hold the prefix index and the token drawn at each level (``-1``
    once the string is finished); ``levels`` and ``prefixes`` locate each finished string in
    the reward lists (``reward[levels[i]][prefixes[i]]``).
    """
    b = tree.branching
    states = np.full((size, tree.max_length), -1)
    actions = np.full((size, tree.max_length), -1)
    prefix = np.zeros(size, dtype=int)
    alive = np.ones(size, dtype=bool)
    level_of = np.full(size, tree.max_length)
    for level, logp in enumerate(log_policy):
        cdf = np.cumsum(np.exp(logp[prefix]), axis=1)
        token = np.minimum((rng.random(size)[:, None] * cdf[:, -1:] > cdf).sum(axis=1), b)
        states[alive, level] = prefix[alive]
        actions[alive, level] = token[alive]
        ended = alive & (token == END)
        level_of[ended] = level
        alive &= ~ended
        prefix = np.where(alive, prefix * b + token - 1, prefix)
    return states, actions, level_of, prefix


def reinforce_gradient(tree, log_policy, log_base, reward, beta, size, rng):
    """A REINFORCE estimate of ``dJ/dlogits`` from ``size`` sampled strings.

    Each step's score ``onehot(a) - pi(s)`` is weighted by the reward-to-go: the string's reward
    minus ``beta`` times the log-ratios from that step on, minus a baseline: the mean penalized
    return of the other strings in the batch (leave-one-out, so the estimate stays unbiased).
    Returns ``(gradient, penalized_returns)``.
    """
    reward = tree.require_reward(reward)
    if size < 2:
        raise ValueError(f"size must be >= 2 for the leave-one-out baseline, got {size}")
    states, actions, level_of, prefix = sample_strings(tree, log_policy, size, rng)
    final = np.array([reward[lv][p] for lv, p in zip(level_of, prefix, strict=True)])
    log_ratio = np.zeros(states.shape)
    for level in range(tree.max_length):
        taken = states[:, level] >= 0
        s, a = states[taken, level], actions[taken, level]
        log_ratio[taken, level] = log_policy[level][s, a] - log_base[level][s, a]
    to_go = final[:, None] - beta * np.cumsum(log_ratio[:, ::-1], axis=1)[:, ::-1]
    total = to_go[:, 0]
    baseline = (total.sum() - total) / (size - 1)
    gradient = []
    for level, logp in enumerate(log_policy):
        taken = states[:, level] >= 0
        s, a = states[taken, level], actions[taken, level]
        weight = (to_go[taken, level] - baseline[taken]) / size
        g = np.zeros_like(logp)
        np.add.at(g, s, -weight[:, None] * np.exp(logp[s]))
        np.add.at(g, (s, a), weight)
        gradient.append(g)
    return gradient, total


def next_kl_coef(beta, kl, target, gain=0.1):
    """Ziegler et al. (2019)'s adaptive KL coefficient: ``beta (1 + gain e)``, ``e`` the error
    ``KL / target - 1`` clipped to ``[-0.2, 0.2]``."""
    if not target > 0:
        raise ValueError(f"KL target must be > 0, got {target!r}")
    return beta * (1 + gain * np.clip(kl / target - 1, -0.2, 0.2))


@dataclass(frozen=True)
class TrainingRun:
    """Per step: ``beta``, the exact ``kl`` and objective, and ``E_pi[m]`` for each monitor."""

    history: dict
    log_policy: list


def train(
    tree,
    log_base,
    reward,
    *,
    beta,
    steps,
    learning_rate,
    kl_target=None,
    kl_gain=0.1,
    monitors=None,
    batch_size=None,
    optimizer="adam",
    seed=None,
):
    """Maximize ``E[R] - beta KL`` from ``pi0`` by gradient steps on the logits.

    The gradient is exact when ``batch_size`` is None and a REINFORCE estimate from
    ``batch_size`` samples otherwise. ``optimizer`` is ``"adam"`` (PPO's optimizer; its steps
    have size about ``learning_rate`` whatever the gradient's scale) or ``"ascent"`` (plain
    gradient ascent, which settles exactly where the gradient vanishes). With ``kl_target`` the
    coefficient follows :func:`next_kl_coef` with ``kl_gain`` after every step, starting from
    ``beta``. Every step records the exact KL, objective and monitor expectations, whatever
    the gradient estimator.
    """
    reward = tree.require_reward(reward)
    monitors = {name: tree.require_reward(m, name) for name, m in (monitors or {}).items()}
    if steps < 1 or not learning_rate > 0:
        raise ValueError(f"need steps >= 1 and learning_rate > 0, got {steps}, {learning_rate}")
    if optimizer not in ("adam", "ascent"):
        raise ValueError(f"optimizer must be 'adam' or 'ascent', got {optimizer!r}")
    rng = np.random.default_rng(seed)
    logits = [lp.copy() for lp in log_base]
    first = [np.zeros_like(x) for x in logits]
    second = [np.zeros_like(x) for x in logits]
    history = {key: np.empty(steps) for key in ["beta", "kl", "objective", *monitors]}
    for step in range(steps):
        log_policy = policy_from_logits(logits)
        exact = evaluate(tree, log_policy, log_base, reward, beta)
        history["beta"][step], history["kl"][step] = beta, exact.kl
        history["objective"][step] = exact.objective
        probs = [np.exp(lp) for lp in string_log_probs(tree, log_policy)]
        for name, values in monitors.items():
            history[name][step] = sum(_dot(p, v) for p, v in zip(probs, values, strict=True))
        if batch_size is None:
            gradient = exact.gradient
        else:
            gradient, _ = reinforce_gradient(
                tree, log_policy, log_base, reward, beta, batch_size, rng
            )
        for x, m, v, g in zip(logits, first, second, gradient, strict=True):
            if optimizer == "adam":
                _adam_step(x, m, v, g, step + 1, learning_rate)
            else:
                x += learning_rate * g
        if kl_target is not None:
            beta = float(next_kl_coef(beta, exact.kl, kl_target, kl_gain))
    return TrainingRun(history=history, log_policy=policy_from_logits(logits))


def _dot(a, b):
    """``sum(a * b)`` without BLAS, whose threads spin and slow everything on a busy machine."""
    return float(np.sum(a * b))


def _adam_step(x, m, v, g, t, lr, b1=0.9, b2=0.999, eps=1e-12):
    """One in-place Adam ascent step (Kingma and Ba 2015); a tiny ``eps`` lets rarely reached
    states, whose exact gradients carry their small reach probability, still move."""
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * g * g
    x += lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)


def kl_coef_for_target(tree, log_base, reward, target, bracket=(1e-3, 1e6)):
    """The ``beta`` whose tilted optimum has trajectory KL ``target``: the optimum under the cap
    ``KL <= target``. Found by ``brentq`` on ``log beta`` (the optimum's KL falls as ``beta``
    grows).
    """
    if not target > 0:
        raise ValueError(f"KL target must be > 0, got {target!r}")

    def excess(log_beta):
        beta = np.exp(log_beta)
        log_policy, _ = tilted_policy(tree, log_base, reward, beta)
        return evaluate(tree, log_policy, log_base, reward, beta).kl - target

    lo, hi = np.log(bracket)
    if excess(lo) < 0 or excess(hi) > 0:
        raise ValueError(f"KL target {target} is not reached for beta in {bracket}")
    return float(np.exp(optimize.brentq(excess, lo, hi, xtol=1e-12, rtol=1e-12)))
