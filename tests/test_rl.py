"""The token-tree policy gradient: brute-force enumeration, finite differences, Monte Carlo, and
the adaptive KL controller against a closed-form bandit."""

import itertools

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goodhart import rl

TREE = rl.TokenTree(n_tokens=4, max_length=3)


def random_policy(tree, rng, scale=1.0):
    shapes = [(tree.branching**level, tree.n_tokens) for level in range(tree.max_length)]
    return rl.policy_from_logits([scale * rng.normal(size=shape) for shape in shapes])


def random_reward(tree, rng):
    return [rng.normal(size=tree.branching**level) for level in range(tree.max_length + 1)]


def enumerate_strings(tree):
    """Every finished string as a token tuple (end token included unless the length is full)."""
    b = tree.branching
    for length in range(tree.max_length + 1):
        for content in itertools.product(range(1, b + 1), repeat=length):
            yield content + ((rl.END,) if length < tree.max_length else ())


def brute_force(tree, log_policy, log_base, reward, beta):
    """``E[R]``, trajectory KL and ``J`` by walking each string token by token."""
    b = tree.branching
    total_reward = total_kl = 0.0
    for tokens in enumerate_strings(tree):
        prefix, log_p, log_p0 = 0, 0.0, 0.0
        for level, token in enumerate(tokens):
            log_p += log_policy[level][prefix, token]
            log_p0 += log_base[level][prefix, token]
            if token != rl.END:
                prefix = prefix * b + token - 1
        length = sum(t != rl.END for t in tokens)
        p = np.exp(log_p)
        total_reward += p * reward[length][prefix]
        total_kl += p * (log_p - log_p0)
    return total_reward, total_kl, total_reward - beta * total_kl


def test_tree_sizes_and_counts():
    tree = rl.TokenTree(8, 6)
    assert tree.n_strings == sum(7**k for k in range(7)) == 137257
    counts = TREE.counts(2)
    strings = [t for t in enumerate_strings(TREE) if len(t) == 3 and t[-1] != rl.END]
    assert [c.count(2) for c in strings] == list(counts[3])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10**6), beta=st.floats(0.0, 3.0))
def test_evaluate_matches_enumeration(seed, beta):
    rng = np.random.default_rng(seed)
    log_policy, log_base = random_policy(TREE, rng), random_policy(TREE, rng)
    reward = random_reward(TREE, rng)
    got = rl.evaluate(TREE, log_policy, log_base, reward, beta)
    want_reward, want_kl, want_objective = brute_force(TREE, log_policy, log_base, reward, beta)
    assert got.reward == pytest.approx(want_reward, rel=1e-12, abs=1e-12)
    assert got.kl == pytest.approx(want_kl, rel=1e-12, abs=1e-12)
    assert got.objective == pytest.approx(want_objective, rel=1e-12, abs=1e-12)
    mean = rl.expectation(TREE, log_policy, reward)
    assert mean == pytest.approx(want_reward, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("beta", [0.0, 0.7])
def test_gradient_matches_finite_differences(beta):
    rng = np.random.default_rng(1)
    logits = [rng.normal(size=(TREE.branching**lv, TREE.n_tokens)) for lv in range(TREE.max_length)]
    log_base = random_policy(TREE, rng)
    reward = random_reward(TREE, rng)

    def objective(z):
        return rl.evaluate(TREE, rl.policy_from_logits(z), log_base, reward, beta).objective

    gradient = rl.evaluate(TREE, rl.policy_from_logits(logits), log_base, reward, beta).gradient
    h = 1e-5
    for level, block in enumerate(logits):
        numeric = np.empty_like(block)
        for index in np.ndindex(block.shape):
            up = [z.copy() for z in logits]
            down = [z.copy() for z in logits]
            up[level][index] += h
            down[level][index] -= h
            numeric[index] = (objective(up) - objective(down)) / (2 * h)
        np.testing.assert_allclose(gradient[level], numeric, rtol=1e-6, atol=1e-9)


def test_tilted_policy_is_the_gibbs_law_and_a_stationary_point():
    rng = np.random.default_rng(2)
    log_base = random_policy(TREE, rng)
    reward = random_reward(TREE, rng)
    beta = 0.6
    log_policy, log_z = rl.tilted_policy(TREE, log_base, reward, beta)
    # Reference: pi0(string) exp(R / beta) / Z over the enumerated strings.
    log_p = np.concatenate(rl.string_log_probs(TREE, log_policy))
    log_p0 = np.concatenate(rl.string_log_probs(TREE, log_base))
    r = np.concatenate(reward)
    weights = log_p0 + r / beta
    reference_log_z = float(mp.log(mp.fsum(mp.e ** mp.mpf(w) for w in weights)))
    assert log_z == pytest.approx(reference_log_z, rel=1e-12)
    np.testing.assert_allclose(log_p, weights - reference_log_z, atol=1e-12)
    result = rl.evaluate(TREE, log_policy, log_base, reward, beta)
    assert result.objective == pytest.approx(beta * reference_log_z, rel=1e-12)
    assert max(np.abs(g).max() for g in result.gradient) < 1e-12


def test_reinforce_is_unbiased():
    """The mean of many REINFORCE estimates is within 5 standard errors of the exact gradient."""
    rng = np.random.default_rng(3)
    log_policy, log_base = random_policy(TREE, rng, 0.5), random_policy(TREE, rng, 0.5)
    reward = random_reward(TREE, rng)
    beta = 0.5
    exact = rl.evaluate(TREE, log_policy, log_base, reward, beta).gradient
    batches = 2000
    draws = [
        rl.reinforce_gradient(TREE, log_policy, log_base, reward, beta, 64, rng)[0]
        for _ in range(batches)
    ]
    for level in range(TREE.max_length):
        sample = np.stack([d[level] for d in draws])
        error = sample.std(axis=0, ddof=1) / np.sqrt(batches)
        z = np.abs(sample.mean(axis=0) - exact[level]) / np.maximum(error, 1e-15)
        assert z.max() < 5.0


def test_sampled_strings_follow_the_policy():
    rng = np.random.default_rng(4)
    log_policy = random_policy(TREE, rng)
    size = 200_000
    _, _, levels, prefixes = rl.sample_strings(TREE, log_policy, size, rng)
    for level, log_p in enumerate(rl.string_log_probs(TREE, log_policy)):
        observed = np.bincount(prefixes[levels == level], minlength=TREE.branching**level) / size
        p = np.exp(log_p)
        assert np.all(np.abs(observed - p) < 5 * np.sqrt(p * (1 - p) / size) + 1e-12)


def test_training_at_fixed_beta_reaches_the_tilted_optimum():
    rng = np.random.default_rng(5)
    log_base = rl.base_policy(TREE, 0.3)
    reward = random_reward(TREE, rng)
    beta = 0.8
    run = rl.train(TREE, log_base, reward, beta=beta, steps=600, learning_rate=0.05)
    _, log_z = rl.tilted_policy(TREE, log_base, reward, beta)
    assert run.history["objective"][-1] == pytest.approx(beta * log_z, abs=1e-6)


def bandit_kl(beta, p_end, rewards):
    """Closed-form KL of the tilted optimum on a one-token tree, in mpmath."""
    p0 = [mp.mpf(p_end)] + [(1 - mp.mpf(p_end)) / (len(rewards) - 1)] * (len(rewards) - 1)
    w = [p * mp.e ** (mp.mpf(r) / beta) for p, r in zip(p0, rewards, strict=True)]
    z = mp.fsum(w)
    return mp.fsum((wi / z) * mp.log(wi / z / p) for wi, p in zip(w, p0, strict=True))


def test_kl_controller_reaches_its_target_on_a_bandit():
    """One token then stop: the optimum's KL has a closed form, so the coefficient at which the
    controller must settle is known; Ziegler's controller with exact gradient ascent settles
    there (Adam's steps of fixed size would keep it circling the target)."""
    tree = rl.TokenTree(n_tokens=3, max_length=1)
    p_end, target = 0.5, 0.2
    rewards = [0.0, 1.0, -0.5]  # end, token 1, token 2
    reward = [np.array([rewards[0]]), np.array(rewards[1:])]
    log_base = rl.base_policy(tree, p_end)
    with mp.workdps(30):
        beta_star = float(mp.findroot(lambda b: bandit_kl(b, p_end, rewards) - target, 1.0))
    found = rl.kl_coef_for_target(tree, log_base, reward, target)
    assert found == pytest.approx(beta_star, rel=1e-9)
    run = rl.train(
        tree,
        log_base,
        reward,
        beta=0.2,
        steps=1000,
        learning_rate=0.5,
        kl_target=target,
        optimizer="ascent",
    )
    assert run.history["beta"][-1] == pytest.approx(beta_star, rel=1e-6)
    assert run.history["kl"][-1] == pytest.approx(target, rel=1e-6)
    assert run.history["beta"][0] == 0.2


def test_next_kl_coef_is_ziegler_rule():
    assert rl.next_kl_coef(1.0, 1.1, 1.0) == pytest.approx(1.01)
    assert rl.next_kl_coef(1.0, 10.0, 1.0) == pytest.approx(1.02)  # error clipped at 0.2
    assert rl.next_kl_coef(2.0, 0.0, 1.0) == pytest.approx(2.0 * 0.98)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="n_tokens"):
        rl.TokenTree(1, 3)
    with pytest.raises(ValueError, match="p_end"):
        rl.base_policy(TREE, 1.0)
    with pytest.raises(ValueError, match="levels"):
        rl.evaluate(TREE, rl.base_policy(TREE, 0.5), rl.base_policy(TREE, 0.5), [np.zeros(1)], 1.0)
    bad = random_reward(TREE, np.random.default_rng(0))
    bad[2][0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        rl.expectation(TREE, rl.base_policy(TREE, 0.5), bad)
    bad[2][0] = 0.0
    with pytest.raises(ValueError, match="beta"):
        rl.tilted_policy(TREE, rl.base_policy(TREE, 0.5), bad[:2] + bad[2:], 0.0)
    with pytest.raises(ValueError, match="target"):
        rl.next_kl_coef(1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="token"):
        TREE.counts(0)
    with pytest.raises(ValueError, match="optimizer"):
        rl.train(
            TREE,
            rl.base_policy(TREE, 0.5),
            bad,
            beta=1.0,
            steps=1,
            learning_rate=0.1,
            optimizer="sgd",
        )
    with pytest.raises(ValueError, match="not reached"):
        rl.kl_coef_for_target(TREE, rl.base_policy(TREE, 0.5), bad, 1e3)
