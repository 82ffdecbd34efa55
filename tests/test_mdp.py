"""Theorem 3 on token trees: Tr(pi) = rho, the chain rule, and where the hypotheses fail.

References: exact rational arithmetic (``fractions``) on small trees, brute-force enumeration of
the sequences below each prefix, Theorem 1's block KL for the same thresholds, and for the
corollary's proxy an mpmath evaluation by a different route (integrating over the utility,
with the Student-t tail in closed form) and a Monte Carlo estimate with its standard error.
"""

from fractions import Fraction
from itertools import product

import mpmath as mp
import numpy as np
import pytest
import tree_reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from goodhart import mdp, trees
from goodhart.divergences import discrete_kl, total_variation
from goodhart.reweighting import upweight_tail
from goodhart.trees import TokenTree


def small_problem(seed, tokens=3, horizon=3, end_token=False):
    rng = np.random.default_rng(seed)
    tree = TokenTree(tokens=tokens, horizon=horizon, end_token=end_token)
    base = trees.random_policy(tree, rng=rng)
    return tree, base, rng


def test_sequence_probabilities_match_path_products_exactly():
    """Leaf i of a (k=3, L=3) tree: the product of pi along its path, in rational arithmetic."""
    tree, base, _ = small_problem(1)
    exact = [Fraction(1)]
    for level in range(tree.horizon):
        rows = base[tree.prefixes(level)]
        exact = [p * Fraction(float(rows[i, a])) for i, p in enumerate(exact)
                 for a in range(tree.tokens)]
    probs = trees.sequence_probabilities(tree, base)
    assert np.max(np.abs(probs - np.array([float(e) for e in exact]))) < 1e-16
    assert probs.sum() == pytest.approx(1.0, abs=1e-15)


def test_read_off_policy_reproduces_rho_in_rational_arithmetic():
    """pi(a|s) = rho(s+a)/rho(s) telescopes to rho along every path: exact with Fractions."""
    tree, base, rng = small_problem(2, tokens=2, horizon=4)
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
                row = policy[tree.prefixes(level)][node]
                assert row[a] == pytest.approx(float(exact), abs=1e-15)
                assert a == (leaf >> (3 - level)) & 1


def test_read_off_policy_by_enumeration_with_an_end_token():
    """With an end token: pi(a|s) = rho(sequences through s+a) / rho(sequences through s),
    the sums taken over the enumerated sequences; base where rho(s) = 0."""
    tree, base, rng = small_problem(3, tokens=2, horizon=3, end_token=True)
    rho = rng.dirichlet(np.ones(tree.n_sequences))
    rho[tree.index((1, 0, 0))] = rho[tree.index((1, 0, 1))] = rho[tree.index((1, 0, 2))] = 0
    rho /= rho.sum()
    policy = mdp.read_off_policy(tree, rho, base)
    through = np.zeros((tree.n_prefixes, tree.actions))
    for index, (actions, rows) in enumerate(ref.walk(tree)):
        for a, r in zip(actions, rows, strict=True):
            through[r, a] += rho[index]
    mass = through.sum(axis=1, keepdims=True)
    want = np.where(mass > 0, through / np.where(mass > 0, mass, 1), base)
    np.testing.assert_allclose(policy, want, rtol=1e-13, atol=1e-16)
    empty = ref.row_of(2, (1, 0))
    np.testing.assert_array_equal(policy[empty], base[empty])
    np.testing.assert_allclose(trees.sequence_probabilities(tree, policy), rho, atol=1e-16)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10**6), tokens=st.integers(2, 4), horizon=st.integers(1, 6),
       end_token=st.booleans(), tilt=st.floats(-3, 3))
def test_read_off_and_chain_rule_for_any_return_weighting(seed, tokens, horizon, end_token, tilt):
    """For any rho = p0 * w(return): Tr(pi) = rho and summed per-state KL = trajectory KL."""
    if tokens == 4:
        horizon = min(horizon, 4)
    rng = np.random.default_rng(seed)
    tree = TokenTree(tokens=tokens, horizon=horizon, end_token=end_token)
    base = trees.random_policy(tree, concentration=0.7, rng=rng)
    p0 = trees.sequence_probabilities(tree, base)
    returns = rng.standard_normal(tree.n_sequences)
    rho = mdp.reweight_by_return(p0, returns, lambda r: tilt * r)
    policy = mdp.read_off_policy(tree, rho, base)
    assert np.max(np.abs(trees.sequence_probabilities(tree, policy) - rho)) < 1e-14
    traj = discrete_kl(rho, p0)
    assert trees.policy_kl(tree, policy, base) == pytest.approx(traj, rel=1e-11, abs=1e-15)
    assert trees.policy_kl(tree, policy, base, per="state") <= max(traj, 0) * (1 + 1e-12) + 1e-15


def test_reweight_by_return_is_the_normalized_product():
    p0 = np.array([0.5, 0.3, 0.2])
    returns = np.array([0.0, 1.0, 800.0])  # e^800 overflows; the log weights do not
    rho = mdp.reweight_by_return(p0, returns, lambda r: r)
    with mp.workdps(30):
        w = [mp.mpf(p) * mp.exp(mp.mpf(r)) for p, r in zip(p0, returns, strict=True)]
        want = [float(x / mp.fsum(w)) for x in w]
    np.testing.assert_allclose(rho, want, rtol=1e-14, atol=1e-300)


@pytest.fixture(scope="module")
def big_tree():
    """The chapter's tree: 2^17 leaves, Dirichlet base policy, Student-t(3) returns."""
    tree = TokenTree(tokens=2, horizon=17, end_token=False)
    base = trees.random_policy(tree, rng=np.random.default_rng(2024))
    q = stats.t(3)
    returns = mdp.quantile_returns(q, trees.sequence_probabilities(tree, base))
    return tree, base, q, returns


@pytest.mark.parametrize("t", [3.0, 30.0, 1e3, 1e5])
def test_tail_policy_is_theorem1_exactly(big_tree, t):
    """At a leaf boundary, the policy's trajectory KL is Theorem 1's Bernoulli KL for q."""
    tree, base, q, returns = big_tree
    mass = t**-0.8
    result = mdp.tail_policy(tree, base, q, returns, t, mass)
    assert result.threshold == pytest.approx(t, rel=0.2)
    assert result.mass == pytest.approx(mass, rel=1e-12)
    realized = trees.sequence_probabilities(tree, result.policy)
    assert np.max(np.abs(realized / result.rho - 1)) < 1e-12
    assert result.per_trajectory_kl == pytest.approx(result.kl, rel=1e-12)
    assert result.kl == pytest.approx(result.block_kl, rel=1e-10)
    assert result.per_state_kl == pytest.approx(result.kl / tree.horizon, rel=1e-12)
    expected = upweight_tail(q, result.threshold, mass)
    assert result.kl == pytest.approx(expected.kl, rel=1e-10)
    assert result.block_mean == pytest.approx(expected.mean, rel=1e-12)
    # the mean return is Theorem 1's mean up to the discretization of q by the leaves
    assert result.mean == pytest.approx(expected.mean, rel=0.05)


def test_tail_policy_vectorizes(big_tree):
    tree, base, q, returns = big_tree
    t = np.array([[3.0, 30.0], [1e3, 1e5]])
    sweep = mdp.tail_policy(tree, base, q, returns, t, t**-0.8)
    assert sweep.mean.shape == (2, 2) and sweep.rho.shape == (2, 2, tree.n_sequences)
    assert sweep.policy.shape == (2, 2, tree.n_prefixes, 2)
    one = mdp.tail_policy(tree, base, q, returns, 1e3, 1e3**-0.8)
    assert isinstance(one.kl, float) and one.rho.shape == (tree.n_sequences,)
    assert sweep.kl[1, 0] == pytest.approx(one.kl, rel=1e-14)
    assert sweep.mean[1, 0] == pytest.approx(one.mean, rel=1e-14)
    np.testing.assert_allclose(sweep.policy[1, 0], one.policy, rtol=1e-13)


def test_quantile_returns_follow_q(big_tree):
    """Under the base policy, P(return > q.isf(p)) = p at every leaf boundary."""
    tree, base, q, returns = big_tree
    p0 = trees.sequence_probabilities(tree, base)
    order = np.argsort(returns)
    above = np.cumsum(p0[order][::-1])[::-1]
    boundaries = q.isf(above[1:])
    assert np.all(returns[order][:-1] < boundaries) and np.all(boundaries < returns[order][1:])
    assert returns.max() > 1e5  # the rarest leaves reach far into the heavy tail


@pytest.mark.parametrize("t", [-2.0, 0.5, 7.0, 300.0])
def test_boundary_threshold_splits_the_base_mass_exactly(big_tree, t):
    tree, base, q, returns = big_tree
    p0 = trees.sequence_probabilities(tree, base)
    threshold = mdp.boundary_threshold(q, p0, returns, t)
    assert p0[returns > threshold].sum() == pytest.approx(q.sf(threshold), rel=1e-12)
    assert threshold == pytest.approx(t, rel=0.05, abs=0.05)
    both = mdp.boundary_threshold(q, p0, returns, [t, 2 * t])
    assert both.shape == (2,) and both[0] == threshold


LAWS = [stats.norm(3.0, 0.01), stats.t(2.5, loc=-5.0, scale=40.0), stats.lognorm(1.5),
        stats.pareto(1.2, scale=1e3), stats.gumbel_r(-2.0, 3.0)]


@settings(max_examples=40, deadline=None)
@given(law=st.sampled_from(LAWS), seed=st.integers(0, 10**6), n=st.integers(2, 300),
       spread=st.floats(0.05, 30.0), quantile=st.floats(1e-12, 1 - 1e-12))
def test_quantile_returns_and_boundaries_for_any_law(law, seed, n, spread, quantile):
    """For loc/scale laws and probabilities spanning many decades: P(return > q.isf(p)) = p at
    every boundary, and boundary_threshold picks the boundary nearest in log Fbar (argmin)."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(n, 1.0 / spread))
    p = np.maximum(p, 1e-300)
    p /= p.sum()
    try:
        returns = mdp.quantile_returns(law, p)
    except ValueError as error:  # scipy's isf fails beyond its range (t below ~1e-225)
        assert "probabilities" in str(error)
        assert not np.all(np.isfinite(law.isf(p.min() / 2))) or law.isf(p.min() / 2) < law.mean()
        return
    assert np.all(np.isfinite(returns))
    order = np.argsort(returns)
    above = np.cumsum(p[order][::-1])[::-1]
    inner = above[1:] > 1e-200
    boundaries = law.isf(above[1:][inner])
    assert np.all(returns[order][:-1][inner] <= boundaries)
    assert np.all(boundaries <= returns[order][1:][inner])
    t = float(np.clip(law.isf(quantile), returns.min(), returns.max()))
    with np.errstate(divide="ignore"):
        distance = np.abs(np.log(above[1:]) - law.logsf(t))
    want = law.isf(above[1:][int(np.argmin(distance))])
    assert mdp.boundary_threshold(law, p, returns, t) == pytest.approx(want, rel=1e-12)


def test_quantile_returns_refuses_what_scipy_cannot_invert():
    p = np.array([0.5, 0.5 - 1e-250, 1e-250])
    with pytest.raises(ValueError, match="probabilities"):
        mdp.quantile_returns(stats.t(3), p)


def test_stochastic_transitions_break_the_read_off():
    """Nature chooses the last token: the read-off policy cannot reproduce rho."""
    tree, base, _ = small_problem(3, tokens=2, horizon=3)
    p0 = trees.sequence_probabilities(tree, base)
    returns = np.arange(8.0)
    rho = mdp.reweight_by_return(p0, returns, lambda r: r)
    policy = mdp.read_off_policy(tree, rho, base)
    realized = mdp.chance_sequence_probabilities(tree, policy, base, chance_levels={2})
    assert total_variation(realized, rho) > 0.05
    assert np.dot(realized, returns) < np.dot(rho, returns) - 0.05
    # with no chance level the same code reproduces rho
    exact = mdp.chance_sequence_probabilities(tree, policy, base, chance_levels=set())
    assert total_variation(exact, rho) < 1e-15


def test_chance_levels_by_enumeration():
    """Tr = product of nature's rows at chance levels and the policy's elsewhere, path by path."""
    tree, base, rng = small_problem(4, tokens=2, horizon=3, end_token=True)
    policy = ref.random_policy(tree, rng)
    got = mdp.chance_sequence_probabilities(tree, policy, base, chance_levels=[0, 2])
    want = [np.prod([(base if level in (0, 2) else policy)[r, a]
                     for level, (a, r) in enumerate(zip(actions, rows, strict=True))])
            for actions, rows in ref.walk(tree)]
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_merged_paths_need_markovian_returns():
    """On the DAG of token counts a state-based policy reproduces rho iff returns are Markovian."""
    tree = TokenTree(tokens=2, horizon=6, end_token=False)
    base = trees.uniform_policy(tree)
    p0 = trees.sequence_probabilities(tree, base)
    markovian = tree.count(1)  # a function of the final state (the count)
    bits = (np.arange(64)[:, None] >> np.arange(6)) & 1
    path_dependent = np.abs(np.diff(bits, axis=1)).sum(axis=1).astype(float)  # token switches
    for returns, exact in ((markovian, True), (path_dependent, False)):
        rho = mdp.reweight_by_return(p0, returns, lambda r: 0.5 * r)
        merged = mdp.read_off_merged_policy(tree, rho, token=1)
        realized = trees.sequence_probabilities(tree, merged)
        gap = total_variation(realized, rho)
        assert (gap < 1e-14) if exact else (gap > 0.1)


def test_merged_policy_with_an_end_token():
    """Three tokens and an end token: weights that depend on (length, count) only are
    reproduced by the merged policy; the merged rows are equal within a state."""
    tree = TokenTree(tokens=3, horizon=4, end_token=True)
    base = trees.uniform_policy(tree, end_probability=0.3)
    p0 = trees.sequence_probabilities(tree, base)
    rho = p0 * np.exp(0.7 * tree.count(2) - 0.2 * tree.lengths)
    rho /= rho.sum()
    policy = mdp.read_off_merged_policy(tree, rho, token=2)
    np.testing.assert_allclose(trees.sequence_probabilities(tree, policy), rho, atol=1e-15)
    counts = tree.prefix_count(2)
    rows = policy[tree.prefixes(3)]
    for c in range(4):
        same = rows[counts[tree.prefixes(3)] == c]
        np.testing.assert_allclose(same, same[:1].repeat(len(same), axis=0), atol=1e-15)


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


# ---------------------------------------------------------------------------------------
# Bad input

TREE = TokenTree(tokens=2, horizon=3, end_token=False)
BASE = trees.uniform_policy(TREE)
P0 = trees.sequence_probabilities(TREE, BASE)
RETURNS = mdp.quantile_returns(stats.t(3), P0)


@settings(max_examples=60, deadline=None)
@given(bad=st.sampled_from([np.nan, np.inf, -np.inf, "1", None, True]),
       argument=st.sampled_from(["t", "mass", "returns"]))
def test_tail_policy_bad_input_names_the_argument(bad, argument):
    args = {"t": 1.0, "mass": 0.3, "returns": RETURNS}
    if argument == "returns":
        returns = RETURNS.astype(object)
        returns[3] = bad
        args["returns"] = returns
    else:
        args[argument] = bad
    with pytest.raises(ValueError, match=argument):
        mdp.tail_policy(TREE, BASE, stats.t(3), args["returns"], args["t"], args["mass"])


def test_bad_input():
    with pytest.raises(ValueError, match="tokens"):
        TokenTree(tokens=1, horizon=3, end_token=False)
    for mass in (0.0, 1.0, -0.5, 2.0):
        with pytest.raises(ValueError, match="mass"):
            mdp.tail_policy(TREE, BASE, stats.t(3), RETURNS, 1.0, mass)
    with pytest.raises(ValueError, match="q"):
        mdp.tail_policy(TREE, BASE, stats.cauchy(), RETURNS, 1.0, 0.3)
    with pytest.raises(ValueError, match="q"):
        mdp.quantile_returns(stats.t, P0)
    with pytest.raises(ValueError, match="q"):
        mdp.quantile_returns(stats.poisson(3), P0)
    with pytest.raises(ValueError, match="probabilities"):
        mdp.quantile_returns(stats.t(3), [0.5, 0.6])
    with pytest.raises(ValueError, match="probabilities"):
        mdp.quantile_returns(stats.t(3), [0.5, np.nan, 0.5])
    with pytest.raises(ValueError, match="returns"):
        mdp.tail_policy(TREE, BASE, stats.t(3), RETURNS[:-1], 1.0, 0.3)
    with pytest.raises(ValueError, match="returns"):
        mdp.boundary_threshold(stats.t(3), P0, RETURNS[:-1], 1.0)
    with pytest.raises(ValueError, match="base"):
        mdp.tail_policy(TREE, BASE[:, ::-1] * 2, stats.t(3), RETURNS, 1.0, 0.3)
    with pytest.raises(ValueError, match="tree"):
        mdp.read_off_policy("tree", P0, BASE)
    with pytest.raises(ValueError, match="rho"):
        mdp.read_off_policy(TREE, P0 * 2, BASE)
    with pytest.raises(ValueError, match="rho"):
        mdp.read_off_policy(TREE, np.full(4, 0.25), BASE)
    with pytest.raises(ValueError, match="log_ratio"):
        mdp.reweight_by_return(P0, RETURNS, 2.0)
    with pytest.raises(ValueError, match="log_ratio"):
        mdp.reweight_by_return(P0, RETURNS, lambda r: r * np.nan)
    with pytest.raises(ValueError, match="chance_levels"):
        mdp.chance_sequence_probabilities(TREE, BASE, BASE, chance_levels={3})
    with pytest.raises(ValueError, match="chance_levels"):
        mdp.chance_sequence_probabilities(TREE, BASE, BASE, chance_levels=1)
    with pytest.raises(ValueError, match="token"):
        mdp.read_off_merged_policy(TREE, P0, token=2)
    with pytest.raises(ValueError, match="t must lie within the returns"):
        mdp.tail_policy(TREE, BASE, stats.t(3), RETURNS, 1e9, 0.3)
    with pytest.raises(ValueError, match="no sequence"):
        mdp.tail_policy(TREE, BASE, stats.t(3), np.zeros(8), 0.0, 0.3)
    with pytest.raises(ValueError, match="mass must lie"):
        mdp.proxy_blocks(stats.t(3), 5.0, 1.0)
    with pytest.raises(ValueError, match="finite mean"):
        mdp.proxy_blocks(stats.cauchy(), 5.0, 0.1)
