"""goodhart.trees against brute-force enumeration over the sequences of small trees.

The references (``tree_reference``) walk each sequence token by token with the prefix rows
computed from the digits, and sum in mpmath at 30 digits: reach probabilities, sequence
probabilities, expectations, the summed and the averaged per-state KL, value laws. Sampling is
checked against the exact probabilities within 5 standard errors.
"""

import itertools

import mpmath as mp
import numpy as np
import pytest
import tree_reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st

from goodhart import trees
from goodhart.divergences import discrete_kl
from goodhart.trees import TokenTree


@st.composite
def small_trees(draw, max_tokens=4, max_horizon=4):
    end_token = draw(st.booleans())
    tokens = draw(st.integers(1 if end_token else 2, max_tokens))
    horizon = draw(st.integers(1, max_horizon if tokens < 4 else 3))
    return TokenTree(tokens=tokens, horizon=horizon, end_token=end_token)


# ---------------------------------------------------------------------------------------
# The tree itself


def test_one_call_one_tree():
    """The keywords are required: no call can mean two trees (``TokenTree(8, 6)`` did)."""
    with pytest.raises(TypeError):
        TokenTree(8, 6)
    with pytest.raises(TypeError):
        TokenTree(tokens=8, horizon=6)
    assert TokenTree(tokens=8, horizon=6, end_token=False).n_sequences == 8**6
    assert TokenTree(tokens=7, horizon=6, end_token=True).n_sequences == 137257
    assert TokenTree(tokens=7, horizon=6, end_token=True).n_prefixes == sum(7**j for j in range(6))
    assert TokenTree(tokens=2, horizon=17, end_token=False).n_sequences == 2**17


@settings(max_examples=40, deadline=None)
@given(tree=small_trees())
def test_level_slices_count_the_levels(tree):
    """The cached level slices: contiguous, of size tokens**level, the same for Python and
    numpy integers and for whole floats, and unequal trees never share them."""
    stop = 0
    for level in range(tree.horizon):
        rows = tree.prefixes(level)
        assert (rows.start, rows.stop) == (stop, stop + tree.tokens**level)
        assert tree.prefixes(np.int64(level)) == tree.prefixes(float(level)) == rows
        stop = rows.stop
    assert stop == tree.n_prefixes
    lengths = range(tree.horizon + 1) if tree.end_token else [tree.horizon]
    sizes = [tree.sequences(length).stop - tree.sequences(length).start for length in lengths]
    assert sizes == [tree.tokens**length for length in lengths]
    assert sum(sizes) == tree.n_sequences
    assert tree.sequences(np.int64(tree.horizon)) == tree.sequences(tree.horizon)
    assert tree == TokenTree(tokens=tree.tokens, horizon=tree.horizon, end_token=tree.end_token)
    assert "slices" not in repr(tree)


@settings(max_examples=40, deadline=None)
@given(tree=small_trees())
def test_layout_matches_enumeration(tree):
    """Sequence order, prefix rows, lengths, steps, counts and decoding, against the walk."""
    walked = list(ref.walk(tree))
    assert len(walked) == tree.n_sequences
    content = [[a for a in actions if a != tree.end] for actions, _ in walked]
    np.testing.assert_array_equal(tree.lengths, [len(c) for c in content])
    np.testing.assert_array_equal(tree.steps, [len(actions) for actions, _ in walked])
    for token in range(tree.tokens):
        np.testing.assert_array_equal(tree.count(token), [c.count(token) for c in content])
    for index, (actions, rows) in enumerate(walked):
        assert tree.sequence(index) == tuple(actions)
        assert tree.index(actions) == index
        for level, row in enumerate(rows):
            assert tree.prefixes(level).start <= row < tree.prefixes(level).stop
        length = len(content[index])
        assert tree.sequences(length).start <= index < tree.sequences(length).stop
    prefixes = [p for level in range(tree.horizon)
                for p in itertools.product(range(tree.tokens), repeat=level)]
    assert [ref.row_of(tree.tokens, p) for p in prefixes] == list(range(tree.n_prefixes))
    for token in range(tree.tokens):
        np.testing.assert_array_equal(tree.prefix_count(token), [p.count(token) for p in prefixes])


# ---------------------------------------------------------------------------------------
# Probabilities and expectations


@settings(max_examples=40, deadline=None)
@given(tree=small_trees(), seed=st.integers(0, 2**32 - 1), scale=st.floats(0.1, 4.0))
def test_probabilities_match_enumeration(tree, seed, scale):
    rng = np.random.default_rng(seed)
    policy = ref.random_policy(tree, rng, scale)
    probs, _, _, reach = ref.brute_force(tree, policy)
    probs = np.array([float(p) for p in probs])
    np.testing.assert_allclose(trees.sequence_probabilities(tree, policy), probs, rtol=1e-13)
    np.testing.assert_allclose(trees.sequence_probabilities(tree, policy, log=True),
                               np.log(probs), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(trees.reach_probabilities(tree, policy),
                               [float(r) for r in reach], rtol=1e-13)
    values = rng.normal(size=(2, tree.n_sequences))
    with mp.workdps(30):
        want = [float(mp.fsum(p * mp.mpf(float(v)) for p, v in zip(probs, row, strict=True)))
                for row in values]
    np.testing.assert_allclose(trees.expectation(tree, policy, values), want, rtol=1e-12,
                               atol=1e-14)
    assert isinstance(trees.expectation(tree, policy, values[0]), float)


def test_log_probabilities_where_products_underflow():
    """Twelve tokens of probability 1e-30: the product 1e-360 underflows, its log does not."""
    tree = TokenTree(tokens=2, horizon=12, end_token=False)
    policy = np.tile([1e-30, 1.0], (tree.n_prefixes, 1))
    log_p = trees.sequence_probabilities(tree, policy, log=True)
    assert log_p[0] == pytest.approx(12 * np.log(1e-30), rel=1e-15)
    assert log_p[-1] == 0.0 and log_p[1] == pytest.approx(11 * np.log(1e-30), rel=1e-15)
    assert trees.sequence_probabilities(tree, policy)[0] == 0.0


def test_uniform_and_random_policies():
    tree = TokenTree(tokens=3, horizon=3, end_token=True)
    base = trees.uniform_policy(tree, end_probability=0.4)
    np.testing.assert_allclose(base, np.tile([0.2, 0.2, 0.2, 0.4], (tree.n_prefixes, 1)))
    np.testing.assert_allclose(trees.uniform_policy(tree), 0.25)
    p = trees.sequence_probabilities(tree, base)
    lengths = tree.lengths
    for length in range(3):  # geometric law of the length, truncated at the horizon
        assert p[lengths == length].sum() == pytest.approx(0.6**length * 0.4, rel=1e-14)
    assert p[lengths == 3].sum() == pytest.approx(0.6**3, rel=1e-14)
    a = trees.random_policy(tree, concentration=0.5, rng=7)
    np.testing.assert_array_equal(a, trees.random_policy(tree, concentration=0.5, rng=7))
    np.testing.assert_allclose(a.sum(axis=1), 1, rtol=1e-15)
    # the rows are Dirichlet(0.5): mean 1/4 per action, variance (1/4)(3/4)/(2 + 1)
    many = trees.random_policy(TokenTree(tokens=3, horizon=9, end_token=True), concentration=0.5,
                               rng=8)
    se = np.sqrt(0.25 * 0.75 / 3 / many.shape[0])
    assert np.all(np.abs(many.mean(axis=0) - 0.25) < 5 * se)


def test_policy_from_logits_is_the_softmax():
    tree = TokenTree(tokens=2, horizon=2, end_token=True)
    logits = np.random.default_rng(0).normal(size=(3, 3)) * 300  # far beyond exp's range
    policy = trees.policy_from_logits(tree, logits)
    with mp.workdps(30):
        for row, z in zip(policy, logits, strict=True):
            e = [mp.exp(mp.mpf(float(v))) for v in z]
            np.testing.assert_allclose(row, [float(x / mp.fsum(e)) for x in e], rtol=1e-13,
                                       atol=1e-300)


# ---------------------------------------------------------------------------------------
# KLs: summed (trajectory) and averaged (per state)


@settings(max_examples=40, deadline=None)
@given(tree=small_trees(), seed=st.integers(0, 2**32 - 1), scale=st.floats(0.1, 3.0))
def test_policy_kl_sum_and_average_match_enumeration(tree, seed, scale):
    """per="trajectory" is E sum_{s in T} D, per="state" is E (1/|T|) sum_{s in T} D, by
    enumeration; the sum equals D(Tr(pi) || Tr(pi0)) (chain rule) and is >= the average."""
    rng = np.random.default_rng(seed)
    policy, base = ref.random_policy(tree, rng, scale), ref.random_policy(tree, rng, scale)
    probs, sums, averages, _ = ref.brute_force(tree, policy, base)
    with mp.workdps(30):
        want_sum = float(mp.fsum(p * s for p, s in zip(probs, sums, strict=True)))
        want_average = float(mp.fsum(p * a for p, a in zip(probs, averages, strict=True)))
    total = trees.policy_kl(tree, policy, base)
    average = trees.policy_kl(tree, policy, base, per="state")
    assert total == pytest.approx(want_sum, rel=1e-11, abs=1e-15)
    assert average == pytest.approx(want_average, rel=1e-11, abs=1e-15)
    chain = discrete_kl(trees.sequence_probabilities(tree, policy),
                        trees.sequence_probabilities(tree, base))
    assert total == pytest.approx(chain, rel=1e-10, abs=1e-14)
    assert average <= total * (1 + 1e-12)
    if not tree.end_token:
        assert average == pytest.approx(total / tree.horizon, rel=1e-12, abs=1e-16)
    levels = trees.kl_by_level(tree, policy, base)
    assert levels.shape == (tree.horizon,)
    assert levels.sum() == pytest.approx(total, rel=1e-12, abs=1e-15)


def test_kl_by_level_and_state_by_hand():
    """Binary tree of depth 2, only the root changed: all the KL is spent at level 0."""
    tree = TokenTree(tokens=2, horizon=2, end_token=False)
    base = trees.uniform_policy(tree)
    policy = base.copy()
    policy[0] = [0.9, 0.1]
    d = 0.9 * np.log(1.8) + 0.1 * np.log(0.2)
    np.testing.assert_allclose(trees.kl_by_state(tree, policy, base), [d, 0, 0], atol=1e-16)
    np.testing.assert_allclose(trees.kl_by_level(tree, policy, base), [d, 0], atol=1e-16)
    assert trees.policy_kl(tree, policy, base) == pytest.approx(d, rel=1e-15)
    assert trees.policy_kl(tree, policy, base, per="state") == pytest.approx(d / 2, rel=1e-15)


def test_infinite_kl_and_unreached_states():
    """An action the base never takes costs inf where it is reached, nothing where it is not."""
    tree = TokenTree(tokens=2, horizon=2, end_token=False)
    base = np.array([[0.5, 0.5], [1.0, 0.0], [0.5, 0.5]])
    policy = np.array([[0.0, 1.0], [0.5, 0.5], [0.5, 0.5]])  # never reaches row 1
    assert trees.kl_by_state(tree, policy, base)[1] == np.inf
    assert trees.policy_kl(tree, policy, base) == pytest.approx(np.log(2), rel=1e-15)
    policy[0] = [0.5, 0.5]
    assert trees.policy_kl(tree, policy, base) == np.inf
    assert trees.policy_kl(tree, policy, base, per="state") == np.inf


# ---------------------------------------------------------------------------------------
# Value laws and sampling


def test_value_distribution_tail_is_exact_far_out():
    """P(count > v) for a policy that rarely picks token 1: tiny tails, summed from the top,
    against the binomial law in mpmath."""
    tree = TokenTree(tokens=2, horizon=10, end_token=False)
    policy = np.tile([1 - 1e-9, 1e-9], (tree.n_prefixes, 1))
    law = trees.value_distribution(tree, policy, tree.count(1))
    np.testing.assert_array_equal(law.value, np.arange(11))
    with mp.workdps(40):
        p = mp.mpf(1e-9)
        pmf = [mp.binomial(10, j) * p**j * (1 - p) ** (10 - j) for j in range(11)]
        sf = [float(mp.fsum(pmf[j + 1:])) for j in range(11)]
    np.testing.assert_allclose(law.probability, [float(x) for x in pmf], rtol=1e-12)
    np.testing.assert_allclose(law.sf, sf, rtol=1e-12)
    assert law.sf[-2] == pytest.approx(1e-90, rel=1e-8)  # 1 - cdf would give 0


@settings(max_examples=20, deadline=None)
@given(tree=small_trees(), seed=st.integers(0, 2**32 - 1))
def test_value_distribution_matches_enumeration(tree, seed):
    rng = np.random.default_rng(seed)
    policy = ref.random_policy(tree, rng)
    values = rng.integers(-2, 3, size=tree.n_sequences).astype(float)
    law = trees.value_distribution(tree, policy, values)
    probs = trees.sequence_probabilities(tree, policy)
    for v, pv, sf in zip(law.value, law.probability, law.sf, strict=True):
        assert pv == pytest.approx(probs[values == v].sum(), rel=1e-12)
        assert sf == pytest.approx(probs[values > v].sum(), rel=1e-12, abs=1e-300)


def test_sampled_paths_follow_the_policy():
    """Frequencies of 200,000 paths within 5 standard errors; states and actions retrace them."""
    tree = TokenTree(tokens=3, horizon=3, end_token=True)
    policy = ref.random_policy(tree, np.random.default_rng(4))
    size = 200_000
    paths = trees.sample_paths(tree, policy, size, rng=5)
    p = trees.sequence_probabilities(tree, policy)
    observed = np.bincount(paths.sequence, minlength=tree.n_sequences) / size
    assert np.all(np.abs(observed - p) < 5 * np.sqrt(p * (1 - p) / size) + 1e-12)
    for i in range(200):
        actions = tree.sequence(paths.sequence[i])
        rows = [ref.row_of(3, [a for a in actions if a != tree.end][:j])
                for j in range(len(actions))]
        n = len(actions)
        assert list(paths.actions[i, :n]) == list(actions)
        assert list(paths.states[i, :n]) == rows
        assert np.all(paths.states[i, n:] == -1) and np.all(paths.actions[i, n:] == -1)
    again = trees.sample_paths(tree, policy, size, rng=5)
    np.testing.assert_array_equal(paths.sequence, again.sequence)


def test_child_values_groups_children_by_parent():
    tree = TokenTree(tokens=2, horizon=2, end_token=True)
    sequence_values = np.arange(tree.n_sequences, dtype=float)  # [e], [0e, 1e], [00, 01, 10, 11]
    below = sequence_values[tree.sequences(2)]
    np.testing.assert_array_equal(trees.child_values(tree, 1, below, sequence_values),
                                  [[3, 4, 1], [5, 6, 2]])


# ---------------------------------------------------------------------------------------
# Bad input


TREE = TokenTree(tokens=2, horizon=2, end_token=True)
GOOD = trees.uniform_policy(TREE)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"tokens": 1, "horizon": 3, "end_token": False}, "tokens"),
    ({"tokens": 0, "horizon": 3, "end_token": True}, "tokens"),
    ({"tokens": 2.5, "horizon": 3, "end_token": True}, "tokens"),
    ({"tokens": 2, "horizon": 0, "end_token": True}, "horizon"),
    ({"tokens": 2, "horizon": np.nan, "end_token": True}, "horizon"),
    ({"tokens": 2, "horizon": 3, "end_token": "yes"}, "end_token"),
    ({"tokens": 8, "horizon": 12, "end_token": False}, "at most"),
    ({"tokens": 8, "horizon": 10**12, "end_token": True}, "at most"),
    ({"tokens": 1, "horizon": 10**12, "end_token": True}, "at most"),
])
def test_bad_trees(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TokenTree(**kwargs)


def bad_policies():
    nan = GOOD.copy()
    nan[1, 0] = np.nan
    negative = GOOD.copy()
    negative[0] = [-0.1, 0.6, 0.5]
    unnormalized = GOOD.copy()
    unnormalized[2] = [0.5, 0.5, 0.5]
    infinite = GOOD.copy()
    infinite[0, 0] = np.inf
    return [nan, negative, unnormalized, infinite, GOOD[:2], GOOD[:, :2], "uniform", None,
            [[True, False, False]] * 3]


@pytest.mark.parametrize("policy", bad_policies())
def test_bad_policies_name_the_argument(policy):
    for call in (
        lambda: trees.reach_probabilities(TREE, policy),
        lambda: trees.sequence_probabilities(TREE, policy),
        lambda: trees.expectation(TREE, policy, np.zeros(7)),
        lambda: trees.value_distribution(TREE, policy, np.zeros(7)),
        lambda: trees.kl_by_state(TREE, policy, GOOD),
        lambda: trees.kl_by_level(TREE, policy, GOOD),
        lambda: trees.policy_kl(TREE, policy, GOOD),
        lambda: trees.sample_paths(TREE, policy, 10),
    ):
        with pytest.raises(ValueError, match="policy"):
            call()
    with pytest.raises(ValueError, match="base"):
        trees.policy_kl(TREE, GOOD, policy)


@settings(max_examples=60, deadline=None)
@given(bad=st.one_of(st.just(np.nan), st.just(np.inf), st.just(-np.inf), st.text(max_size=3),
                     st.none(), st.booleans()), where=st.integers(0, 6))
def test_bad_values_name_the_argument(bad, where):
    values = np.zeros(7, dtype=object)
    values[where] = bad
    with pytest.raises(ValueError, match="values"):
        trees.expectation(TREE, GOOD, values)
    with pytest.raises(ValueError, match="values"):
        trees.value_distribution(TREE, GOOD, values)


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="values"):
        trees.expectation(TREE, GOOD, np.zeros(6))
    with pytest.raises(ValueError, match="tree"):
        trees.reach_probabilities((2, 2), GOOD)
    with pytest.raises(ValueError, match="end_probability"):
        trees.uniform_policy(TokenTree(tokens=2, horizon=2, end_token=False), end_probability=0.3)
    for p in (0.0, 1.0, np.nan, -0.2, "0.4"):
        with pytest.raises(ValueError, match="end_probability"):
            trees.uniform_policy(TREE, end_probability=p)
    for c in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="concentration"):
            trees.random_policy(TREE, concentration=c)
    for rng in (1.5, "seed", True):
        with pytest.raises(ValueError, match="rng"):
            trees.random_policy(TREE, rng=rng)
    with pytest.raises(ValueError, match="per"):
        trees.policy_kl(TREE, GOOD, GOOD, per="sum")
    for size in (0, 2.5, -3, np.nan):
        with pytest.raises(ValueError, match="size"):
            trees.sample_paths(TREE, GOOD, size)
    with pytest.raises(ValueError, match="logits"):
        trees.policy_from_logits(TREE, np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="logits"):
        trees.policy_from_logits(TREE, np.zeros((3, 2)))
    for token in (-1, 2, 1.5, None):
        with pytest.raises(ValueError, match="token"):
            TREE.count(token)
    for level in (-1, 2, 0.5, True, np.nan):
        with pytest.raises(ValueError, match="level"):
            TREE.prefixes(level)
    with pytest.raises(ValueError, match="length"):
        TokenTree(tokens=2, horizon=2, end_token=False).sequences(1)
    with pytest.raises(ValueError, match="index"):
        TREE.sequence(7)
    for sequence in ((0,), (0, 1, 2), (2, 0), (5,), "ab"):
        with pytest.raises(ValueError, match="sequence"):
            TREE.index(sequence)


def test_a_huge_token_count_is_refused_by_name_not_by_numpy():
    # 10^30 is a valid Python int beyond numpy's 64 bits: the size check must still name it
    with pytest.raises(ValueError, match="tokens=1000000000000000000000000000000"):
        TokenTree(tokens=10**30, horizon=2, end_token=False)
