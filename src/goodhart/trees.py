"""Token trees: the deterministic MDP of text generation, policies on it, and their KLs.

A :class:`TokenTree` is the MDP in which a state is a *prefix* (a sequence of tokens), an
action is the next token, transitions are deterministic (append the token) and the finished
*sequences* are the sink states. It comes in two kinds, chosen by the required keyword
``end_token``:

* ``TokenTree(tokens=k, horizon=L, end_token=False)``: every sequence has exactly ``L`` tokens
  out of ``k``; there are ``k**L`` sequences (Theorem 3's construction);
* ``TokenTree(tokens=k, horizon=L, end_token=True)``: a sequence is ``0..L`` content tokens
  out of ``k``, closed by an end token unless it has ``L`` (the policy-gradient loop); there
  are ``sum_{l<=L} k**l`` sequences.

``tokens`` always counts the *content* tokens (the end token is never among them) and
``horizon`` always counts content tokens per sequence, so a call means one tree whatever the
kind. Tokens are numbered ``0..k-1``; the end token, when there is one, is action ``k``
(``tree.end``).

Storage is flat and level by level, never node by node:

* a *policy* is one array of shape ``(tree.n_prefixes, tree.actions)``: row ``s`` is
  ``pi(. | prefix s)``; the prefixes of length ``l`` occupy the rows ``tree.prefixes(l)`` in
  lexicographic order, so prefix ``i`` of level ``l`` has children ``k i + a`` on level
  ``l + 1``, and reshaping a level's children to ``(k**l, k)`` groups them by parent;
* a *value on sequences* (a reward, a return, a count) is one array of length
  ``tree.n_sequences``, shortest sequences first, lexicographic within a length
  (``tree.sequences(l)``), so rewards add and multiply as numpy arrays;
* a *value on states* (a reach probability, a per-state KL) is an array of length
  ``tree.n_prefixes``, in the policy's row order.

Eight content tokens and length 6 give 137,257 sequences; every function here is a few numpy
operations a level.

Two ways to charge a policy for leaving the base, :func:`policy_kl`:

* ``per="trajectory"``: ``E_{T ~ Tr(pi)} sum_{s in T} D(pi(s) || pi0(s))``, the per-state KL
  *summed* along the trajectory. By the chain rule it equals the KL between the sequence
  laws, ``D(Tr(pi) || Tr(pi0))``; it is what RLHF's penalty and the book's constructions use.
* ``per="state"``: ``E_{T ~ Tr(pi)} [(1/|T|) sum_{s in T} D(pi(s) || pi0(s))]``, the
  *average* over the ``|T|`` states at which the trajectory acts (one per token, the end token
  included): the paper's definition (Section 2.1, ``E_{s in T, T ~ Tr(pi)}``). Since
  ``|T| >= 1`` and each term is ``>= 0``, it is at most the sum, so a bound on the trajectory
  KL is the stronger statement (the last step of the paper's proof of Theorem 3); on a tree
  of fixed horizon ``L`` the average is exactly the sum over ``L``.
"""

import math
from dataclasses import dataclass

import numpy as np

from goodhart import _checks
from goodhart.divergences import discrete_kl

MAX_ENTRIES = 50_000_000  # policy entries plus sequences: 400 MB of float64 each


@dataclass(frozen=True, kw_only=True)
class TokenTree:
    """All sequences of a fixed ``horizon``, or of up to ``horizon`` tokens then an end token.

    Parameters
    ----------
    tokens : int
        The number of content tokens (the branching factor); the end token is not one of them.
        At least 2 without an end token, at least 1 with one.
    horizon : int
        Content tokens per sequence: exactly ``horizon`` when ``end_token`` is False, at most
        ``horizon`` when it is True (a sequence with ``horizon`` tokens needs no end token).
    end_token : bool
        Whether the policy may end a sequence early with the end token, action ``tokens``.
        Required: ``TokenTree(tokens=8, horizon=6)`` alone does not say which tree is meant.

    Examples
    --------
    >>> TokenTree(tokens=2, horizon=17, end_token=False).n_sequences
    131072
    >>> tree = TokenTree(tokens=7, horizon=6, end_token=True)
    >>> tree.n_sequences, tree.n_prefixes, tree.actions, tree.end
    (137257, 19608, 8, 7)
    >>> TokenTree(tokens=2, horizon=2, end_token=True).sequence(4)
    (0, 1)
    """

    tokens: int
    horizon: int
    end_token: bool

    def __post_init__(self):
        if not isinstance(self.end_token, (bool, np.bool_)):
            raise ValueError(f"end_token must be True or False, got {self.end_token!r}")
        object.__setattr__(self, "end_token", bool(self.end_token))
        low = 1 if self.end_token else 2
        tokens = _integer(self.tokens, "tokens", low=low)
        horizon = _integer(self.horizon, "horizon", low=1)
        object.__setattr__(self, "tokens", tokens)
        object.__setattr__(self, "horizon", horizon)
        log_level = horizon * math.log(tokens)  # log of the last level's size, before summing
        if horizon > MAX_ENTRIES or log_level > np.log(MAX_ENTRIES) or (
                self.n_prefixes * self.actions + self.n_sequences > MAX_ENTRIES):
            raise ValueError(
                f"tokens={tokens} and horizon={horizon} give about e^{log_level:.1f} sequences; "
                f"at most {MAX_ENTRIES:,} entries (policy and sequences) are supported"
            )
        # The level slices, computed once: the level loops of trees, mdp and rl ask for them
        # at every step (not dataclass fields, so equality and repr ignore them).
        starts = np.concatenate([[0], np.cumsum([tokens**j for j in range(horizon + 1)])])
        object.__setattr__(self, "_prefix_slices", tuple(
            slice(int(starts[j]), int(starts[j + 1])) for j in range(horizon)))
        object.__setattr__(self, "_sequence_slices", tuple(
            slice(int(starts[j]), int(starts[j + 1])) if self.end_token
            else slice(0, tokens**horizon) for j in range(horizon + 1)))

    @property
    def actions(self):
        """Actions at each prefix: the content tokens, plus the end token if there is one."""
        return self.tokens + int(self.end_token)

    @property
    def end(self):
        """The end token's action number (``tokens``), or None for a tree of fixed horizon."""
        return self.tokens if self.end_token else None

    def level_size(self, level):
        """The number of prefixes (or nodes) with ``level`` tokens, ``tokens ** level``.

        Examples
        --------
        >>> TokenTree(tokens=7, horizon=6, end_token=True).level_size(2)
        49
        """
        return self.tokens**level

    @property
    def n_prefixes(self):
        """States at which the policy acts: the prefixes with ``0..horizon-1`` tokens."""
        return sum(self.tokens**level for level in range(self.horizon))

    @property
    def n_sequences(self):
        """Finished sequences (the sink states)."""
        if not self.end_token:
            return self.tokens**self.horizon
        return sum(self.tokens**level for level in range(self.horizon + 1))

    def prefixes(self, level):
        """The rows of a policy (or a value on states) that hold the prefixes of ``level`` tokens.

        Examples
        --------
        >>> TokenTree(tokens=3, horizon=3, end_token=False).prefixes(2)
        slice(4, 13, None)
        """
        if type(level) is int and 0 <= level < self.horizon:  # the fast path of the loops
            return self._prefix_slices[level]
        level = _integer(level, "level", low=0)
        if level >= self.horizon:
            raise ValueError(f"level must be < horizon = {self.horizon}, got {level}")
        return self._prefix_slices[level]

    def sequences(self, length):
        """The entries of a value on sequences that hold the sequences of ``length`` tokens.

        Without an end token only ``length == horizon`` exists.

        Examples
        --------
        >>> TokenTree(tokens=3, horizon=2, end_token=True).sequences(1)
        slice(1, 4, None)
        """
        if type(length) is int and (length == self.horizon or (
                self.end_token and 0 <= length < self.horizon)):  # the fast path of the loops
            return self._sequence_slices[length]
        length = _integer(length, "length", low=0)
        if length > self.horizon or (not self.end_token and length != self.horizon):
            allowed = f"0..{self.horizon}" if self.end_token else f"{self.horizon}"
            raise ValueError(f"length must be {allowed} for this tree, got {length}")
        return self._sequence_slices[length]

    @property
    def lengths(self):
        """The number of content tokens of each sequence (a value on sequences).

        Examples
        --------
        >>> TokenTree(tokens=2, horizon=2, end_token=True).lengths
        array([0., 1., 1., 2., 2., 2., 2.])
        """
        if not self.end_token:
            return np.full(self.n_sequences, float(self.horizon))
        sizes = [self.tokens**level for level in range(self.horizon + 1)]
        return np.repeat(np.arange(self.horizon + 1, dtype=float), sizes)

    @property
    def steps(self):
        """``|T|``: how many actions produce each sequence (its tokens, plus the end token): the
        number of states at which its trajectory acts, the divisor of ``per="state"``.

        Examples
        --------
        >>> TokenTree(tokens=2, horizon=2, end_token=True).steps
        array([1., 2., 2., 2., 2., 2., 2.])
        """
        if not self.end_token:
            return self.lengths
        return np.minimum(self.lengths + 1, self.horizon)

    def _counts_by_level(self, token):
        token = _integer(token, "token", low=0)
        if token >= self.tokens:
            raise ValueError(f"token must be a content token in 0..{self.tokens - 1}, got {token}")
        hit = (np.arange(self.tokens) == token).astype(float)
        out = [np.zeros(1)]
        for _ in range(self.horizon):
            out.append((out[-1][:, None] + hit[None, :]).ravel())
        return out

    def count(self, token):
        """How often content ``token`` occurs in each sequence (a value on sequences).

        Examples
        --------
        >>> TokenTree(tokens=2, horizon=2, end_token=False).count(1)
        array([0., 1., 1., 2.])
        """
        by_level = self._counts_by_level(token)
        return np.concatenate(by_level if self.end_token else by_level[-1:])

    def prefix_count(self, token):
        """How often content ``token`` occurs in each prefix (a value on states).

        Examples
        --------
        >>> TokenTree(tokens=2, horizon=2, end_token=False).prefix_count(1)
        array([0., 0., 1.])
        """
        return np.concatenate(self._counts_by_level(token)[:-1])

    def sequence(self, index):
        """The tokens of sequence ``index``, the end token (``tree.end``) included if it has one.

        Examples
        --------
        >>> tree = TokenTree(tokens=3, horizon=2, end_token=True)
        >>> [tree.sequence(i) for i in (0, 3, 12)]
        [(3,), (2, 3), (2, 2)]
        """
        index = _integer(index, "index", low=0)
        if index >= self.n_sequences:
            raise ValueError(f"index must be < n_sequences = {self.n_sequences}, got {index}")
        length = self.horizon
        if self.end_token:
            length = next(
                level for level in range(self.horizon + 1)
                if index < self.sequences(level).stop
            )
            index -= self.sequences(length).start
        digits = []
        for _ in range(length):
            index, digit = divmod(index, self.tokens)
            digits.insert(0, digit)
        digits = tuple(digits)
        return digits + ((self.end,) if self.end_token and length < self.horizon else ())

    def index(self, sequence):
        """The position of a sequence of tokens (as :meth:`sequence` gives it) in sequence arrays.

        Examples
        --------
        >>> TokenTree(tokens=3, horizon=2, end_token=True).index((2, 3))
        3
        """
        try:
            tokens = [_integer(t, "sequence", low=0) for t in sequence]
        except TypeError:
            raise ValueError(f"sequence must be a sequence of tokens, got {sequence!r}") from None
        if self.end_token and tokens and tokens[-1] == self.end:
            content, finished = tokens[:-1], len(tokens) <= self.horizon
        else:
            content, finished = tokens, len(tokens) == self.horizon
        if not finished or any(t >= self.tokens for t in content):
            raise ValueError(f"sequence {tuple(tokens)} is not a finished sequence of this tree")
        position = 0
        for token in content:
            position = position * self.tokens + token
        return self.sequences(len(content)).start + position

    def check_policy(self, policy, name="policy"):
        """``policy`` as a float array of shape ``(n_prefixes, actions)`` with rows that are
        probability vectors (within 1e-9), or a ValueError naming ``name``.

        Parameters
        ----------
        policy : array_like
        name : str
            The argument's name, for the error message.

        Returns
        -------
        ndarray

        Examples
        --------
        >>> tree = TokenTree(tokens=2, horizon=1, end_token=False)
        >>> tree.check_policy([[0.5, 0.5]])
        array([[0.5, 0.5]])
        """
        array = _checks.real(policy, name, low=0.0, high=1.0)
        shape = (self.n_prefixes, self.actions)
        if array.shape != shape:
            raise ValueError(f"{name} must have shape {shape} (prefixes, actions), got "
                             f"{array.shape}")
        total = array.sum(axis=1)
        if np.any(np.abs(total - 1) > 1e-9):
            worst = int(np.argmax(np.abs(total - 1)))
            raise ValueError(f"{name}[{worst}] must sum to 1, got {total[worst]!r}")
        return array

    def check_values(self, values, name="values", *, stacked=False):
        """``values`` as a finite float array over the sequences, or a ValueError naming ``name``.

        Parameters
        ----------
        values : array_like
            Shape ``(n_sequences,)``, or ``(..., n_sequences)`` if ``stacked``.
        name : str
            The argument's name, for the error message.
        stacked : bool
            Whether leading axes (several values at once) are allowed.

        Returns
        -------
        ndarray

        Examples
        --------
        >>> TokenTree(tokens=2, horizon=1, end_token=False).check_values([1, 2])
        array([1., 2.])
        """
        array = _checks.real(values, name)
        if array.ndim == 0 or array.shape[-1] != self.n_sequences or (
                not stacked and array.ndim != 1):
            want = "(..., n_sequences)" if stacked else "(n_sequences,)"
            raise ValueError(f"{name} must have shape {want} = {self.n_sequences} sequences, "
                             f"got {array.shape}")
        return array


def _integer(value, name, *, low=None, high=None):
    """``_checks.integer``, with NaN and infinities refused by name first (``int(nan)`` would
    raise numpy's own message)."""
    if isinstance(value, float | np.floating):
        _checks.real(value, name)
    return _checks.integer(value, name, low=low, high=high)


def _tree(tree):
    if not isinstance(tree, TokenTree):
        raise ValueError(f"tree must be a goodhart.trees.TokenTree, got {type(tree).__name__}")
    return tree


def _generator(rng):
    """``np.random.default_rng(rng)`` (SPEC 7), with ``rng`` validated as ``_checks`` does."""
    _checks.streams(rng, 0)
    return np.random.default_rng(rng)


def child_values(tree, level, below, sequence_values):
    """The ``(k**level, actions)`` matrix of the values each action of a level's prefixes leads to.

    The building block of backward passes (``mdp``, ``rl`` and :func:`policy_kl` use it).

    Parameters
    ----------
    tree : TokenTree
    level : int
        The parents' level, ``0..horizon-1``.
    below : array_like
        One value per node of level ``level + 1``: its prefixes, or the sequences of
        ``horizon`` tokens when ``level + 1 == horizon``.
    sequence_values : array_like
        A value on sequences; its entries for the sequences ended at ``level`` fill the end
        column (unused without an end token).

    Returns
    -------
    ndarray
        Shape ``(tokens**level, actions)``: row ``i``, column ``a`` is the value of the child
        ``a`` of the ``i``-th prefix of ``level`` (``below`` grouped by parent, then the end).

    Examples
    --------
    >>> tree = TokenTree(tokens=2, horizon=1, end_token=True)
    >>> child_values(tree, 0, [10.0, 20.0], [5.0, 10.0, 20.0])
    array([[10., 20.,  5.]])
    """
    _tree(tree)
    level = _integer(level, "level", low=0, high=tree.horizon - 1)
    below = _checks.real(below, "below")
    if below.shape != (tree.level_size(level) * tree.tokens,):
        raise ValueError(f"below must have shape ({tree.level_size(level) * tree.tokens},) (a "
                         f"value for each prefix of level {level + 1}), got {below.shape}")
    sequence_values = tree.check_values(sequence_values, "sequence_values")
    return _child_values(tree, level, below, sequence_values)


def _child_values(tree, level, below, sequence_values):
    """:func:`child_values` without the checks, for the loops over levels."""
    content = np.asarray(below).reshape(tree.level_size(level), tree.tokens)
    if not tree.end_token:
        return content
    ended = np.asarray(sequence_values)[tree.sequences(level)]
    return np.concatenate([content, ended[:, None]], axis=1)


def uniform_policy(tree, *, end_probability=None):
    """The uniform base policy: every content token equally likely, the end token as asked.

    Parameters
    ----------
    tree : TokenTree
    end_probability : float, optional
        With an end token: end with this probability in (0, 1) at every prefix, else a uniform
        content token. None (the default) makes all ``tree.actions`` actions equally likely.
        Must be None for a tree without an end token.

    Returns
    -------
    ndarray
        The policy, shape ``(tree.n_prefixes, tree.actions)``.

    Examples
    --------
    >>> tree = TokenTree(tokens=3, horizon=2, end_token=True)
    >>> uniform_policy(tree, end_probability=0.4)[0]
    array([0.2, 0.2, 0.2, 0.4])
    """
    _tree(tree)
    if end_probability is None:
        row = np.full(tree.actions, 1.0 / tree.actions)
    else:
        if not tree.end_token:
            raise ValueError("end_probability must be None for a tree without an end token")
        p = _checks.scalar(end_probability, "end_probability", check=_checks.probability)
        row = np.full(tree.actions, (1 - p) / tree.tokens)
        row[tree.end] = p
    return np.tile(row, (tree.n_prefixes, 1))


def random_policy(tree, *, concentration=1.0, rng=None):
    """A random policy: its action law ``pi(s)`` at every prefix drawn from a symmetric Dirichlet.

    Parameters
    ----------
    tree : TokenTree
    concentration : float
        The Dirichlet parameter, in ``(0, 1e300]`` (1 is uniform on the simplex; small values
        give policies that nearly always pick one action; numpy's draws overflow beyond).
    rng : None, int, array_like or numpy.random.Generator
        Passed to ``numpy.random.default_rng``.

    Returns
    -------
    ndarray
        The policy, shape ``(tree.n_prefixes, tree.actions)``, rows drawn in row order.

    Examples
    --------
    >>> policy = random_policy(TokenTree(tokens=2, horizon=3, end_token=False), rng=0)
    >>> policy.shape, bool(np.allclose(policy.sum(axis=1), 1))
    ((7, 2), True)
    """
    _tree(tree)
    # beyond 1e300 numpy's Dirichlet draws overflow to NaN; by then every row is uniform
    concentration = _checks.scalar(concentration, "concentration", low=0.0, low_open=True,
                                   high=1e300)
    generator = _generator(rng)
    policy = generator.dirichlet(np.full(tree.actions, concentration), size=tree.n_prefixes)
    return policy / policy.sum(axis=1, keepdims=True)


def policy_from_logits(tree, logits):
    """The softmax policy ``pi(a | s) = exp(logits[s, a]) / sum_b exp(logits[s, b])``.

    Examples
    --------
    >>> tree = TokenTree(tokens=2, horizon=1, end_token=False)
    >>> policy_from_logits(tree, [[0.0, np.log(3.0)]])
    array([[0.25, 0.75]])
    """
    _tree(tree)
    logits = _checks.real(logits, "logits")
    if logits.shape != (tree.n_prefixes, tree.actions):
        raise ValueError(f"logits must have shape {(tree.n_prefixes, tree.actions)}, "
                         f"got {logits.shape}")
    return _softmax(logits)


def _softmax(logits):
    out = logits - logits.max(axis=1, keepdims=True)
    np.exp(out, out=out)  # in place: the training loops call this on 10^5 logits every step
    out /= out.sum(axis=1, keepdims=True)
    return out


def _reach(tree, policy):
    reach = np.empty(tree.n_prefixes)
    reach[0] = 1.0
    for level in range(tree.horizon - 1):
        rows = tree.prefixes(level)
        below = reach[rows][:, None] * policy[rows, : tree.tokens]
        reach[tree.prefixes(level + 1)] = below.ravel()
    return reach


def reach_probabilities(tree, policy):
    """``d_pi(s)``: the probability that a trajectory of ``pi`` passes through each prefix.

    Parameters
    ----------
    tree : TokenTree
    policy : array_like
        Shape ``(tree.n_prefixes, tree.actions)``.

    Returns
    -------
    ndarray
        One probability per prefix; each level sums to the probability of reaching it.

    Examples
    --------
    >>> tree = TokenTree(tokens=2, horizon=2, end_token=True)
    >>> reach_probabilities(tree, uniform_policy(tree, end_probability=0.5))
    array([1.  , 0.25, 0.25])
    """
    _tree(tree)
    return _reach(tree, tree.check_policy(policy))


def _sequence_probabilities(tree, policy, reach):
    out = np.empty(tree.n_sequences)
    last = tree.prefixes(tree.horizon - 1)
    out[tree.sequences(tree.horizon)] = (reach[last][:, None] * policy[last, : tree.tokens]).ravel()
    if tree.end_token:
        for level in range(tree.horizon):
            rows = tree.prefixes(level)
            out[tree.sequences(level)] = reach[rows] * policy[rows, tree.end]
    return out


def _sequence_log_probabilities(tree, policy):
    with np.errstate(divide="ignore"):
        log_policy = np.log(policy)
    log_reach = np.empty(tree.n_prefixes)
    log_reach[0] = 0.0
    out = np.empty(tree.n_sequences)
    for level in range(tree.horizon):
        rows = tree.prefixes(level)
        below = (log_reach[rows][:, None] + log_policy[rows, : tree.tokens]).ravel()
        if level + 1 < tree.horizon:
            log_reach[tree.prefixes(level + 1)] = below
        else:
            out[tree.sequences(tree.horizon)] = below
        if tree.end_token:
            out[tree.sequences(level)] = log_reach[rows] + log_policy[rows, tree.end]
    return out


def sequence_probabilities(tree, policy, *, log=False):
    """``Tr(pi)``: the probability of each finished sequence, the product of ``pi`` along it.

    Parameters
    ----------
    tree : TokenTree
    policy : array_like
        Shape ``(tree.n_prefixes, tree.actions)``.
    log : bool
        Return ``log Tr(pi)``, summed in log space (``-inf`` for impossible sequences), exact
        where the product would underflow.

    Returns
    -------
    ndarray
        One entry per sequence, in ``tree.sequences`` order; the probabilities sum to 1.

    Examples
    --------
    >>> tree = TokenTree(tokens=2, horizon=2, end_token=True)
    >>> sequence_probabilities(tree, uniform_policy(tree, end_probability=0.5))
    array([0.5   , 0.125 , 0.125 , 0.0625, 0.0625, 0.0625, 0.0625])
    """
    _tree(tree)
    policy = tree.check_policy(policy)
    if log:
        return _sequence_log_probabilities(tree, policy)
    return _sequence_probabilities(tree, policy, _reach(tree, policy))


def expectation(tree, policy, values):
    """``E_pi[values]``: the mean of a value on sequences under the policy's sequence law.

    Parameters
    ----------
    tree : TokenTree
    policy : array_like
        Shape ``(tree.n_prefixes, tree.actions)``.
    values : array_like
        Shape ``(..., tree.n_sequences)``: several values may be stacked on leading axes.

    Returns
    -------
    float or ndarray
        A float for one value, an array of the leading shape for stacked ones.

    Examples
    --------
    >>> tree = TokenTree(tokens=2, horizon=3, end_token=True)
    >>> round(expectation(tree, uniform_policy(tree, end_probability=0.5), tree.lengths), 12)
    0.875
    """
    _tree(tree)
    probabilities = sequence_probabilities(tree, policy)
    values = tree.check_values(values, stacked=True)
    return _checks.like(np.sum(values * probabilities, axis=-1), values[..., 0])


@dataclass(frozen=True)
class ValueDistribution:
    """The law of a value on sequences under a policy: its distinct values, their probabilities
    and the tail ``sf = P(value > v)`` (summed from the top, so tiny tails are exact)."""

    value: np.ndarray
    probability: np.ndarray
    sf: np.ndarray


def value_distribution(tree, policy, values):
    """The distribution of a value on sequences (a return, an error, a count) under ``pi``.

    Parameters
    ----------
    tree : TokenTree
    policy : array_like
        Shape ``(tree.n_prefixes, tree.actions)``.
    values : array_like
        Shape ``(tree.n_sequences,)``.

    Returns
    -------
    ValueDistribution
        ``value`` (sorted distinct values), ``probability`` (``P(value = v)``) and ``sf``
        (``P(value > v)``, summed over the larger values, without the cancellation of
        ``1 - cdf``); ``P(value >= v)`` is ``sf + probability``.

    Examples
    --------
    >>> tree = TokenTree(tokens=2, horizon=2, end_token=False)
    >>> law = value_distribution(tree, uniform_policy(tree), tree.count(1))
    >>> law.value, law.probability, law.sf
    (array([0., 1., 2.]), array([0.25, 0.5 , 0.25]), array([0.75, 0.25, 0.  ]))
    """
    _tree(tree)
    probabilities = sequence_probabilities(tree, policy)
    values = tree.check_values(values)
    distinct, inverse = np.unique(values, return_inverse=True)
    mass = np.bincount(inverse.ravel(), weights=probabilities, minlength=distinct.size)
    above = np.concatenate([np.cumsum(mass[::-1])[::-1][1:], [0.0]])
    return ValueDistribution(value=distinct, probability=mass, sf=above)


def kl_by_state(tree, policy, base):
    """The action-law KL ``D(pi(s) || pi0(s))`` at every prefix ``s`` (nats; ``0 log 0 = 0``).

    Computed by ``goodhart.divergences.discrete_kl`` along the action axis (rounding noise
    below 0 set to 0); ``inf`` where ``pi`` puts mass on an action that ``pi0`` never takes.

    Examples
    --------
    >>> tree = TokenTree(tokens=2, horizon=1, end_token=False)
    >>> round(float(kl_by_state(tree, [[0.5, 0.5]], [[0.9, 0.1]])[0]), 12)
    0.510825623766
    """
    _tree(tree)
    policy = tree.check_policy(policy)
    base = tree.check_policy(base, "base")
    per_state = np.asarray(discrete_kl(policy, base), dtype=float).reshape(tree.n_prefixes)
    return np.maximum(per_state, 0.0)  # a KL is >= 0; rounding can leave -1e-17


def _dot(a, b):
    """``sum(a * b)`` without BLAS, whose threads spin and slow everything on a busy machine."""
    return float(np.sum(np.multiply(a, b)))


def _weighted(weights, values):
    """``sum weights * values`` with ``0 * inf = 0`` (states a policy never reaches)."""
    used = weights > 0
    return float(np.sum(weights[used] * values[used]))


def kl_by_level(tree, policy, base):
    """``sum_{s at level l} d_pi(s) D(pi(s) || pi0(s))`` for ``l = 0..horizon-1``: where along
    the sequences the trajectory KL is spent (the levels sum to it).

    Examples
    --------
    >>> tree = TokenTree(tokens=2, horizon=2, end_token=False)
    >>> policy = uniform_policy(tree)
    >>> policy[0] = [0.9, 0.1]
    >>> np.round(kl_by_level(tree, policy, uniform_policy(tree)), 6)
    array([0.368064, 0.      ])
    """
    _tree(tree)
    policy = tree.check_policy(policy)
    per_state = kl_by_state(tree, policy, base)
    reach = _reach(tree, policy)
    return np.array([_weighted(reach[tree.prefixes(level)], per_state[tree.prefixes(level)])
                     for level in range(tree.horizon)])


def _inverse_steps_to_go(tree, policy):
    """``h(s) = E_pi[1 / |T| | T passes through s]`` at every prefix, by one backward pass."""
    inverse_steps = 1.0 / tree.steps
    h = np.empty(tree.n_prefixes)
    below = inverse_steps[tree.sequences(tree.horizon)]
    for level in reversed(range(tree.horizon)):
        rows = tree.prefixes(level)
        h[rows] = np.sum(policy[rows] * _child_values(tree, level, below, inverse_steps), axis=1)
        below = h[rows]
    return h


def policy_kl(tree, policy, base, *, per="trajectory"):
    """The KL of a policy from the base, summed or averaged over the states of a trajectory.

    Parameters
    ----------
    tree : TokenTree
    policy, base : array_like
        Shape ``(tree.n_prefixes, tree.actions)``: ``pi`` and ``pi0``.
    per : {"trajectory", "state"}
        ``"trajectory"``: ``E_{T ~ Tr(pi)} sum_{s in T} D(pi(s) || pi0(s))``, the per-state KL
        *summed* along the trajectory, equal by the chain rule to ``D(Tr(pi) || Tr(pi0))``
        (the book's constructions and RLHF's penalty). ``"state"``:
        ``E_{T ~ Tr(pi)} [(1 / |T|) sum_{s in T} D(pi(s) || pi0(s))]``, the *average* over
        the ``|T|`` states where the trajectory acts (``tree.steps``): the paper's definition
        of ``D(pi || pi0)`` (Section 2.1). The average is at most the sum; on a tree of fixed
        horizon it is the sum divided by ``horizon``.

    Returns
    -------
    float
        Nats; ``inf`` if ``pi`` takes, at a state it reaches, an action ``pi0`` never takes.

    Examples
    --------
    >>> tree = TokenTree(tokens=2, horizon=2, end_token=True)
    >>> base = uniform_policy(tree, end_probability=0.5)
    >>> policy = base.copy()
    >>> policy[0] = [0.1, 0.1, 0.8]  # end at once with probability 0.8, not 0.5
    >>> for per in ("trajectory", "state"):
    ...     print(per, round(policy_kl(tree, policy, base, per=per), 6))
    trajectory 0.192745
    state 0.17347

    Only the first state changed, and it is one of one state with probability 0.8 and one of
    two with probability 0.2: the average is ``(0.8 + 0.2 / 2)`` times the sum.
    """
    _tree(tree)
    if per not in ("trajectory", "state"):
        raise ValueError(f"per must be 'trajectory' or 'state', got {per!r}")
    policy = tree.check_policy(policy)
    per_state = kl_by_state(tree, policy, base)
    weights = _reach(tree, policy)
    if per == "state":
        weights = weights * _inverse_steps_to_go(tree, policy)
    return _weighted(weights, per_state)


@dataclass(frozen=True)
class Paths:
    """Sampled trajectories: per step the prefix row and the action (``-1`` once finished),
    and the finished sequence's index."""

    states: np.ndarray  # (size, horizon) int: rows of the policy visited at each step
    actions: np.ndarray  # (size, horizon) int: the action taken at each step
    sequence: np.ndarray  # (size,) int: index of the finished sequence in sequence arrays


def sample_paths(tree, policy, size, *, rng=None):
    """Sample ``size`` trajectories from the policy, all of them a level at a time.

    Parameters
    ----------
    tree : TokenTree
    policy : array_like
        Shape ``(tree.n_prefixes, tree.actions)``.
    size : int
        The number of trajectories, ``>= 1``.
    rng : None, int, array_like or numpy.random.Generator
        Passed to ``numpy.random.default_rng``; one uniform draw per trajectory and level.

    Returns
    -------
    Paths

    Examples
    --------
    >>> tree = TokenTree(tokens=2, horizon=3, end_token=True)
    >>> paths = sample_paths(tree, uniform_policy(tree, end_probability=0.5), 4, rng=0)
    >>> [tree.sequence(i) for i in paths.sequence]
    [(2,), (1, 2), (0, 2), (0, 2)]
    """
    _tree(tree)
    policy = tree.check_policy(policy)
    size = _integer(size, "size", low=1)
    return _sample(tree, policy, size, _generator(rng))


def _sample(tree, policy, size, generator):
    if size * tree.horizon > MAX_ENTRIES:
        raise ValueError(f"size must be at most {MAX_ENTRIES // tree.horizon:,} for this tree, "
                         f"got {size}")
    states = np.full((size, tree.horizon), -1)
    actions = np.full((size, tree.horizon), -1)
    node = np.zeros(size, dtype=np.int64)  # index of the prefix within its level
    alive = np.ones(size, dtype=bool)
    sequence = np.zeros(size, dtype=np.int64)
    for level in range(tree.horizon):
        row = tree.prefixes(level).start + node
        cdf = np.cumsum(policy[row], axis=1)
        u = generator.random(size)[:, None] * cdf[:, -1:]
        action = np.minimum((u > cdf).sum(axis=1), tree.actions - 1)
        states[alive, level] = row[alive]
        actions[alive, level] = action[alive]
        if tree.end_token:
            ended = alive & (action == tree.end)
            sequence[ended] = tree.sequences(level).start + node[ended]
            alive &= ~ended
        node = np.where(alive, node * tree.tokens + np.minimum(action, tree.tokens - 1), node)
    sequence[alive] = tree.sequences(tree.horizon).start + node[alive]
    return Paths(states=states, actions=actions, sequence=sequence)
