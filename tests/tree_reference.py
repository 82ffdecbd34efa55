"""Brute-force references on small token trees, independent of ``goodhart.trees``' level arrays.

Every finished sequence is enumerated with ``itertools.product`` and walked token by token;
a prefix's row in a policy array is computed from its digits (``sum_{j<l} k**j`` plus the
prefix read in base ``k``), not from ``TokenTree.prefixes``. Sums and logarithms are taken in
mpmath at 30 digits.
"""

import itertools

import mpmath as mp
import numpy as np


def row_of(tokens, prefix):
    """The policy row of ``prefix`` (a tuple of content tokens)."""
    offset = sum(tokens**j for j in range(len(prefix)))
    position = 0
    for token in prefix:
        position = position * tokens + token
    return offset + position


def walk(tree):
    """``(actions, rows)`` for every finished sequence, in the order of sequence arrays:
    shortest first, lexicographic within a length; ``actions`` include the end token."""
    k, horizon = tree.tokens, tree.horizon
    for length in range(horizon + 1) if tree.end_token else [horizon]:
        for content in itertools.product(range(k), repeat=length):
            actions = list(content) + ([k] if length < horizon else [])
            rows = [row_of(k, content[:j]) for j in range(len(actions))]
            yield actions, rows


def probability(policy, actions, rows):
    """``Tr(pi)`` of one sequence, in mpmath."""
    out = mp.mpf(1)
    for a, r in zip(actions, rows, strict=True):
        out *= mp.mpf(float(policy[r][a]))
    return out


def state_kl(policy, base, row):
    """``D(pi(row) || pi0(row))`` in mpmath (``0 log 0 = 0``, ``inf`` off the support)."""
    total = mp.mpf(0)
    for p, q in zip(policy[row], base[row], strict=True):
        p, q = mp.mpf(float(p)), mp.mpf(float(q))
        if p > 0:
            total += p * mp.log(p / q) if q > 0 else mp.inf
    return total


def brute_force(tree, policy, base=None):
    """Per sequence: probability, and (with ``base``) the summed and averaged per-state KL;
    and the reach probability of every prefix row, all at 30 digits."""
    with mp.workdps(30):
        probs, sums, averages = [], [], []
        reach = [mp.mpf(0)] * tree.n_prefixes
        for actions, rows in walk(tree):
            p = probability(policy, actions, rows)
            probs.append(p)
            for r in rows:
                reach[r] += p
            if base is not None:
                total = mp.fsum(state_kl(policy, base, r) for r in rows)
                sums.append(total)
                averages.append(total / len(rows))
        return probs, sums, averages, reach


def random_policy(tree, rng, scale=1.0):
    """Softmax of normal logits: a full-support policy, independent of ``trees.random_policy``."""
    logits = scale * rng.normal(size=(tree.n_prefixes, tree.actions))
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)
