"""Theorem 2 on token trees: Tr(pi) = rho, the chain rule, and where the hypotheses fail.

References: exact rational arithmetic (``fractions``) on a small tree, Theorem 1's block KL
for the same thresholds, and for the corollary's proxy an mpmath evaluation by a different
route (integrating over the utility, with the Student-t tail in closed form).
"""

from fractions import Fraction
from itertools import product

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from goodhart import mdp
from goodhart.reweighting import upweight_tail


def small_problem(seed, k=3, horizon=3):
    rng = np.random.default_rng(seed)
    tree = mdp.TokenTree(k, horizon)
    base = mdp.random_policy(tree, rng)
    return tree, base, rng


def test_trajectory_distribution_matches_path_products_exactly():
    """Leaf i of a (k=3, L=3) tree: the product of pi along its path, in rational arithmetic."""
    tree, base, _ = small_problem(1)
    exact = [Fraction(1)]
    for level in range(tree.horizon):
        exact = [p * Fraction(float(base[level][i, a])) for i, p in enumerate(exact)
                 for a in range(tree.k)]
    probs = mdp.trajectory_distribution(base)
    assert np.max(np.abs(probs - np.array([float(e) for e in exact]))) < 1e-16
    assert probs.sum() == pytest.approx(1.0, abs=1e-15)


def test_read_off_policy_reproduces_rho_in_rational_arithmetic():
    """pi(a|s) = rho(s+a)/rho(s) telescopes to rho along every path: exact with Fractions."""
    tree, base, rng = small_problem(2, k=2, horizon=4)
    rho = [Fraction(int(n), 1000) for n in rng.multinomial(1000, np.full(16, 1 / 16))]
    policy = mdp.read_off_policy(tree, np.array([float(r) for r in rho]), base)
    for path in product(range(2), repeat=4):
        leaf = int("".join(map(str, path)), 2)
        prefix_mass = [sum(rho[(leaf >> (4 - level)) << (4 - level):][: 2 ** (4 - level)])
                       for level in range(5)]
        for level, a in enumerate(path):
            if prefix_mass[level] > 0:
                node = leaf >> (4 - level)
                exact = prefix_mass[level + 1] / prefix_mass[level]
                assert policy[level][node, a] == pytest.approx(float(exact), abs=1e-15)
                assert a == (leaf >> (3 - level)) & 1


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10**6), k=st.integers(2, 4), horizon=st.integers(1, 6),
       tilt=st.floats(-3, 3))
def test_read_off_and_chain_rule_for_any_return_weighting(seed, k, horizon, tilt):
    """For any rho = p0 * w(return): Tr(pi) = rho and summed per-state KL = trajectory KL."""
    rng = np.random.default_rng(seed)
    tree = mdp.TokenTree(k, horizon)
    base = mdp.random_policy(tree, rng, concentration=0.7)
    p0 = mdp.trajectory_distribution(base)
    returns = rng.standard_normal(tree.n_leaves)
    rho = mdp.reweight_by_return(p0, returns, lambda r: tilt * r)
    policy = mdp.read_off_policy(tree, rho, base)
    assert np.max(np.abs(mdp.trajectory_distribution(policy) - rho)) < 1e-14
    traj = mdp.trajectory_kl(rho, p0)
    assert mdp.expected_state_kl(policy, base) == pytest.approx(traj, rel=1e-11, abs=1e-15)


@pytest.fixture(scope="module")
def big_tree():
    """The chapter's tree: 2^17 leaves, Dirichlet base policy, Student-t(3) returns."""
    rng = np.random.default_rng(2024)
    tree = mdp.TokenTree(2, 17)
    base = mdp.random_policy(tree, rng)
    q = stats.t(3)
    returns = mdp.quantile_returns(q, mdp.trajectory_distribution(base))
    return tree, base, q, returns


@pytest.mark.parametrize("t", [3.0, 30.0, 1e3, 1e5])
def test_tail_policy_is_theorem1_exactly(big_tree, t):
    """At a leaf boundary, the policy's trajectory KL is Theorem 1's Bernoulli KL for q."""
    tree, base, q, returns = big_tree
    mass = t**-0.8
    result = mdp.tail_policy(tree, base, q, returns, t, mass)
    assert result.threshold == pytest.approx(t, rel=0.2)
    assert result.mass == pytest.approx(mass, rel=1e-12)
    assert np.max(np.abs(mdp.trajectory_distribution(result.policy) / result.rho - 1)) < 1e-12
    assert result.state_kl == pytest.approx(result.trajectory_kl, rel=1e-12)
    assert result.trajectory_kl == pytest.approx(result.block_kl, rel=1e-10)
    expected = upweight_tail(q, result.threshold, mass)
    assert result.trajectory_kl == pytest.approx(expected.kl, rel=1e-10)
    # the mean return is Theorem 1's mean up to the discretization of q by the leaves
    assert result.mean_return == pytest.approx(expected.mean, rel=0.05)


def test_quantile_returns_follow_q(big_tree):
    """Under the base policy, P(return > q.isf(p)) = p at every leaf boundary."""
    tree, base, q, returns = big_tree
    p0 = mdp.trajectory_distribution(base)
    order = np.argsort(returns)
    above = np.cumsum(p0[order][::-1])[::-1]
    boundaries = q.isf(above[1:])
    assert np.all(returns[order][:-1] < boundaries) and np.all(boundaries < returns[order][1:])
    assert returns.max() > 1e5  # the rarest leaves reach far into the heavy tail


def test_stochastic_transitions_break_the_read_off():
    """Nature chooses the last token: the read-off policy cannot reproduce rho."""
    tree, base, _ = small_problem(3, k=2, horizon=3)
    p0 = mdp.trajectory_distribution(base)
    returns = np.arange(8.0)
    rho = mdp.reweight_by_return(p0, returns, lambda r: r)
    policy = mdp.read_off_policy(tree, rho, base)
    realized = mdp.chance_trajectory_distribution(policy, base, chance_levels={2})
    assert mdp.total_variation(realized, rho) > 0.05
    assert np.dot(realized, returns) < np.dot(rho, returns) - 0.05
    # with no chance level the same code reproduces rho
    exact = mdp.chance_trajectory_distribution(policy, base, chance_levels=set())
    assert mdp.total_variation(exact, rho) < 1e-15


def test_merged_paths_need_markovian_returns():
    """On the DAG of token counts a state-based policy reproduces rho iff returns are Markovian."""
    tree = mdp.TokenTree(2, 6)
    base = mdp.uniform_policy(tree)
    p0 = mdp.trajectory_distribution(base)
    counts = mdp.prefix_counts(tree)[-1]
    markovian = counts.astype(float)  # a function of the final state (the count)
    bits = (np.arange(64)[:, None] >> np.arange(6)) & 1
    path_dependent = np.abs(np.diff(bits, axis=1)).sum(axis=1).astype(float)  # token switches
    for returns, exact in ((markovian, True), (path_dependent, False)):
        rho = mdp.reweight_by_return(p0, returns, lambda r: 0.5 * r)
        realized = mdp.trajectory_distribution(mdp.read_off_merged_policy(tree, rho))
        gap = mdp.total_variation(realized, rho)
        assert (gap < 1e-14) if exact else (gap > 0.1)


def student_t3_blocks(t):
    """Q(U > t), E[V; U > t], E[X; U > t] for V ~ N(0,1), X ~ t(3): integrate over V.

    Student-t(3) in closed form: Fbar(a) = 1/2 - (atan(a/s3) + s3 a/(3+a^2))/pi and
    E[X; X > a] = (3 + a^2)/2 * f(a), f(a) = 6 s3 / (pi (3 + a^2)^2) the density.
    """
    s3 = mp.sqrt(3)

    def sf(a):
        return mp.mpf(1) / 2 - (mp.atan(a / s3) + s3 * a / (3 + a**2)) / mp.pi

    def partial(a):
        return (3 + a**2) / 2 * 6 * s3 / (mp.pi * (3 + a**2) ** 2)

    def phi(v):
        return mp.npdf(v)

    def over_v(f):
        return mp.quad(lambda v: phi(v) * f(v), [-mp.inf, -5, 0, 5, mp.inf])

    t = mp.mpf(t)
    return (over_v(lambda v: sf(t - v)), over_v(lambda v: v * sf(t - v)),
            over_v(lambda v: partial(t - v)))


@pytest.mark.parametrize("t", [2.0, 20.0, 1e4])
def test_proxy_blocks_independent_against_mpmath(t):
    with mp.workdps(30):
        tail, v_tail, x_tail = student_t3_blocks(t)
        mass = mp.mpf(0.3)
        utility = (1 - mass) * (0 - v_tail) / (1 - tail) + mass * v_tail / tail
        error = (1 - mass) * (0 - x_tail) / (1 - tail) + mass * x_tail / tail
        kl = mass * mp.log(mass / tail) + (1 - mass) * mp.log((1 - mass) / (1 - tail))
    result = mdp.proxy_blocks(stats.t(3), t, 0.3)
    assert result.tail == pytest.approx(float(tail), rel=1e-9)
    assert result.utility == pytest.approx(float(utility), rel=1e-8)
    assert result.error == pytest.approx(float(error), rel=1e-9)
    assert result.kl == pytest.approx(float(kl), rel=1e-9)
    assert result.proxy == pytest.approx(float(utility + error), rel=1e-9)


def test_proxy_blocks_dependent_against_monte_carlo():
    """V | X ~ N(-tanh X, 1): E_P[V] by importance weights on 2e6 draws, within 4 SE."""
    rng = np.random.default_rng(7)
    n, t, mass = 2_000_000, 3.0, 0.3
    x = stats.t(3).rvs(size=n, random_state=rng)
    v = -np.tanh(x) + rng.standard_normal(n)
    upper = x + v > t
    weights = np.where(upper, mass / upper.mean(), (1 - mass) / (1 - upper.mean()))
    estimate = np.mean(weights * v)
    error = np.std(weights * v) / np.sqrt(n)
    result = mdp.proxy_blocks(stats.t(3), t, mass, utility_mean=lambda e: -np.tanh(e))
    assert abs(result.utility - estimate) < 4 * error
    assert result.base_utility == pytest.approx(0.0, abs=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="k >= 2"):
        mdp.TokenTree(1, 3)
    with pytest.raises(ValueError, match="mass must lie"):
        mdp.proxy_blocks(stats.t(3), 5.0, 1.0)
    with pytest.raises(ValueError, match="finite mean"):
        mdp.proxy_blocks(stats.cauchy(), 5.0, 0.1)
    with pytest.raises(ValueError, match="binary"):
        mdp.prefix_counts(mdp.TokenTree(3, 2))
