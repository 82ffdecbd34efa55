"""The token-tree policy gradient: brute-force enumeration, finite differences, closed forms in
mpmath, a seeded Monte Carlo with its standard error, and the adaptive KL controller against a
closed-form bandit."""

import mpmath as mp
import numpy as np
import pytest
import tree_reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st

from goodhart import rl, trees
from goodhart.trees import TokenTree

TREE = TokenTree(tokens=3, horizon=3, end_token=True)


def random_reward(tree, rng):
    return rng.normal(size=tree.n_sequences)


def brute_force(tree, policy, base, reward, beta):
    """``E[R]``, trajectory KL and ``J`` by walking each sequence token by token, in mpmath."""
    with mp.workdps(30):
        total_reward = total_kl = mp.mpf(0)
        for index, (actions, rows) in enumerate(ref.walk(tree)):
            p = ref.probability(policy, actions, rows)
            p0 = ref.probability(base, actions, rows)
            total_reward += p * mp.mpf(float(reward[index]))
            total_kl += p * mp.log(p / p0)
        return (float(total_reward), float(total_kl), float(total_reward - beta * total_kl))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10**6), beta=st.floats(0.0, 3.0), end_token=st.booleans())
def test_evaluate_matches_enumeration(seed, beta, end_token):
    tree = TokenTree(tokens=3, horizon=3, end_token=end_token)
    rng = np.random.default_rng(seed)
    policy, base = ref.random_policy(tree, rng), ref.random_policy(tree, rng)
    reward = random_reward(tree, rng)
    got = rl.evaluate(tree, policy, base, reward, beta)
    want_reward, want_kl, want_objective = brute_force(tree, policy, base, reward, beta)
    assert got.reward == pytest.approx(want_reward, rel=1e-12, abs=1e-12)
    assert got.kl == pytest.approx(want_kl, rel=1e-12, abs=1e-12)
    assert got.objective == pytest.approx(want_objective, rel=1e-12, abs=1e-12)
    assert got.kl == pytest.approx(trees.policy_kl(tree, policy, base), rel=1e-13, abs=1e-15)
    mean = trees.expectation(tree, policy, reward)
    assert mean == pytest.approx(want_reward, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("beta", [0.0, 0.7])
@pytest.mark.parametrize("end_token", [True, False])
def test_gradient_matches_finite_differences(beta, end_token):
    tree = TokenTree(tokens=3, horizon=3, end_token=end_token)
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(tree.n_prefixes, tree.actions))
    base = ref.random_policy(tree, rng)
    reward = random_reward(tree, rng)

    def objective(z):
        return rl.evaluate(tree, trees.policy_from_logits(tree, z), base, reward, beta).objective

    gradient = rl.evaluate(tree, trees.policy_from_logits(tree, logits), base, reward,
                           beta).gradient
    h = 1e-5
    numeric = np.empty_like(logits)
    for index in np.ndindex(logits.shape):
        up, down = logits.copy(), logits.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (objective(up) - objective(down)) / (2 * h)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-9)


def test_tilted_policy_is_the_gibbs_law_and_a_stationary_point():
    rng = np.random.default_rng(2)
    base = ref.random_policy(TREE, rng)
    reward = random_reward(TREE, rng)
    beta = 0.6
    policy = rl.tilted_policy(TREE, base, reward, beta)
    # Reference: pi0(sequence) exp(R / beta) / Z over the enumerated sequences, in mpmath.
    log_p = trees.sequence_probabilities(TREE, policy, log=True)
    log_p0 = trees.sequence_probabilities(TREE, base, log=True)
    weights = log_p0 + reward / beta
    with mp.workdps(30):
        reference_log_z = float(mp.log(mp.fsum(mp.e ** mp.mpf(w) for w in weights)))
    best = rl.tilted_optimum(TREE, base, reward, beta)
    assert best.log_z == pytest.approx(reference_log_z, rel=1e-12)
    np.testing.assert_allclose(log_p, weights - reference_log_z, atol=1e-12)
    result = rl.evaluate(TREE, policy, base, reward, beta)
    assert result.objective == pytest.approx(beta * reference_log_z, rel=1e-12)
    assert best.objective == pytest.approx(beta * reference_log_z, rel=1e-12)
    assert best.kl == pytest.approx(result.kl, rel=1e-12)
    assert best.reward == pytest.approx(result.reward, rel=1e-12)
    assert np.abs(result.gradient).max() < 1e-12


def test_tilted_policy_vectorizes_over_beta():
    """One policy per coefficient, each the Gibbs law of its own beta (mpmath's log Z)."""
    rng = np.random.default_rng(4)
    base = ref.random_policy(TREE, rng)
    reward = random_reward(TREE, rng)
    beta = np.array([[0.3, 1.0, 4.0]])
    policies = rl.tilted_policy(TREE, base, reward, beta)
    assert policies.shape == (1, 3, TREE.n_prefixes, TREE.actions)
    log_p0 = trees.sequence_probabilities(TREE, base, log=True)
    for b, policy in zip(beta.ravel(), policies[0], strict=True):
        weights = log_p0 + reward / b
        with mp.workdps(30):
            log_z = float(mp.log(mp.fsum(mp.e ** mp.mpf(w) for w in weights)))
        np.testing.assert_allclose(trees.sequence_probabilities(TREE, policy, log=True),
                                   weights - log_z, atol=1e-12)
    for bad in ([], [1.0, 0.0], [[1.0], [np.nan]]):
        with pytest.raises(ValueError, match="beta"):
            rl.tilted_policy(TREE, base, reward, bad)


def test_tilted_optimum_closed_form_on_a_bandit():
    """One token then stop (tokens=2, horizon=1, with end): sequence law p0 e^{R/beta} / Z,
    KL = E[R]/beta - log Z, monitors, vectorized over beta; all in mpmath."""
    tree = TokenTree(tokens=2, horizon=1, end_token=True)
    base = trees.uniform_policy(tree, end_probability=0.5)
    reward = np.array([0.0, 1.0, -0.5])  # end, token 0, token 1
    monitor = np.array([1.0, 2.0, 3.0])
    betas = np.array([0.05, 0.5, 5.0, 500.0])
    best = rl.tilted_optimum(tree, base, reward, betas, monitors={"m": monitor})
    p0 = [0.5, 0.25, 0.25]
    with mp.workdps(30):
        for i, b in enumerate(betas):
            w = [mp.mpf(p) * mp.exp(mp.mpf(r) / b) for p, r in zip(p0, reward, strict=True)]
            z = mp.fsum(w)
            p = [x / z for x in w]
            kl = mp.fsum(pi * mp.log(pi / q) for pi, q in zip(p, p0, strict=True))
            # at beta = 500 the KL is 5.9e-7 and log Z 2.5e-4: log(pi / pi0) and log Z carry
            # about eps |log pi0| = 1.5e-16 of absolute error (2e-10 and 6e-13 relative)
            assert best.kl[i] == pytest.approx(float(kl), rel=1e-11, abs=4e-16)
            assert best.log_z[i] == pytest.approx(float(mp.log(z)), rel=1e-13, abs=4e-16)
            mean = mp.fsum(pi * r for pi, r in zip(p, reward, strict=True))
            assert best.reward[i] == pytest.approx(float(mean), rel=1e-13)
            m = mp.fsum(pi * v for pi, v in zip(p, monitor, strict=True))
            assert best.monitors["m"][i] == pytest.approx(float(m), rel=1e-13)
    assert best.kl.shape == (4,) and isinstance(rl.tilted_optimum(tree, base, reward, 1.0).kl,
                                                float)


def test_tilted_policy_at_tiny_beta_is_finite():
    """beta = 1e-4: the optimum puts (almost) all its mass on the best sequence, whose KL is
    -log p0(best); probabilities e^-10000 underflow to 0 without a NaN."""
    rng = np.random.default_rng(11)
    base = ref.random_policy(TREE, rng)
    reward = random_reward(TREE, rng)
    policy = rl.tilted_policy(TREE, base, reward, 1e-4)
    assert np.all(np.isfinite(policy))
    best = int(np.argmax(reward))
    p0 = trees.sequence_probabilities(TREE, base)
    result = rl.evaluate(TREE, policy, base, reward, 1e-4)
    assert result.kl == pytest.approx(-np.log(p0[best]), rel=1e-9)
    assert result.reward == pytest.approx(reward[best], rel=1e-9)


def test_reinforce_is_unbiased():
    """The mean of many REINFORCE estimates is within 5 standard errors of the exact gradient."""
    rng = np.random.default_rng(3)
    policy, base = ref.random_policy(TREE, rng, 0.5), ref.random_policy(TREE, rng, 0.5)
    reward = random_reward(TREE, rng)
    beta = 0.5
    exact = rl.evaluate(TREE, policy, base, reward, beta).gradient
    batches = 2000
    draws = np.stack([rl.reinforce_gradient(TREE, policy, base, reward, beta, 64,
                                            rng=rng).gradient for _ in range(batches)])
    error = draws.std(axis=0, ddof=1) / np.sqrt(batches)
    z = np.abs(draws.mean(axis=0) - exact) / np.maximum(error, 1e-15)
    assert z.max() < 5.0


def test_reinforce_returns_are_the_penalized_returns():
    """Each sample's return is R minus beta times the log-ratio summed along its path."""
    rng = np.random.default_rng(9)
    policy, base = ref.random_policy(TREE, rng), ref.random_policy(TREE, rng)
    reward = random_reward(TREE, rng)
    estimate = rl.reinforce_gradient(TREE, policy, base, reward, 0.3, 50, rng=4)
    paths = trees.sample_paths(TREE, policy, 50, rng=4)  # the same draws
    for i, index in enumerate(paths.sequence):
        actions = TREE.sequence(index)
        rows = [ref.row_of(3, [a for a in actions if a != TREE.end][:j])
                for j in range(len(actions))]
        log_ratio = sum(np.log(policy[r, a] / base[r, a]) for r, a in zip(rows, actions,
                                                                            strict=True))
        assert estimate.returns[i] == pytest.approx(reward[index] - 0.3 * log_ratio, rel=1e-12)


def test_training_at_fixed_beta_reaches_the_tilted_optimum():
    rng = np.random.default_rng(5)
    base = trees.uniform_policy(TREE, end_probability=0.3)
    reward = random_reward(TREE, rng)
    beta = 0.8
    run = rl.train(TREE, base, reward, beta=beta, steps=600, learning_rate=0.05)
    best = rl.tilted_optimum(TREE, base, reward, beta)
    assert run.history["objective"][-1] == pytest.approx(best.objective, abs=1e-6)
    np.testing.assert_allclose(run.policy, rl.tilted_policy(TREE, base, reward, beta), atol=1e-4)


def bandit_kl(beta, p_end, rewards):
    """Closed-form KL of the tilted optimum on a one-token tree, in mpmath (end token first)."""
    p0 = [mp.mpf(p_end)] + [(1 - mp.mpf(p_end)) / (len(rewards) - 1)] * (len(rewards) - 1)
    w = [p * mp.e ** (mp.mpf(r) / beta) for p, r in zip(p0, rewards, strict=True)]
    z = mp.fsum(w)
    return mp.fsum((wi / z) * mp.log(wi / z / p) for wi, p in zip(w, p0, strict=True))


def test_kl_controller_reaches_its_target_on_a_bandit():
    """One token then stop: the optimum's KL has a closed form, so the coefficient at which the
    controller must settle is known; Ziegler's controller with exact gradient ascent settles
    there (Adam's steps of fixed size would keep it circling the target)."""
    tree = TokenTree(tokens=2, horizon=1, end_token=True)
    p_end, target = 0.5, 0.2
    rewards = [0.0, 1.0, -0.5]  # end, token 0, token 1
    reward = np.array(rewards)  # sequence order: (end,), (0,), (1,)
    base = trees.uniform_policy(tree, end_probability=p_end)
    with mp.workdps(30):
        beta_star = float(mp.findroot(lambda b: bandit_kl(b, p_end, rewards) - target, 1.0))
    found = rl.kl_coef_for_target(tree, base, reward, target)
    assert found == pytest.approx(beta_star, rel=1e-9)
    run = rl.train(tree, base, reward, beta=0.2, steps=1000, learning_rate=0.5,
                   kl_target=target, optimizer="ascent")
    assert run.history["beta"][-1] == pytest.approx(beta_star, rel=1e-6)
    assert run.history["kl"][-1] == pytest.approx(target, rel=1e-6)
    assert run.history["beta"][0] == 0.2


def test_kl_coef_for_target_vectorizes():
    rng = np.random.default_rng(6)
    base = trees.uniform_policy(TREE, end_probability=0.4)
    reward = random_reward(TREE, rng)
    targets = np.array([0.01, 0.3, 1.0])
    betas = rl.kl_coef_for_target(TREE, base, reward, targets)
    assert betas.shape == (3,) and np.all(np.diff(betas) < 0)
    np.testing.assert_allclose(rl.tilted_optimum(TREE, base, reward, betas).kl, targets,
                               rtol=1e-9)


@pytest.mark.parametrize("budget", [0.01, 0.2, 1.0])
def test_budget_optimum_is_the_constrained_maximum(budget):
    """Against an independent solver: SLSQP maximizes E_P[R] over all laws P on the texts
    with D(P || Tr(pi0)) <= budget; no policy (whose law is some P) can do better."""
    from scipy import optimize

    rng = np.random.default_rng(11)
    tree = TokenTree(tokens=2, horizon=2, end_token=True)
    base = ref.random_policy(tree, rng)
    reward = random_reward(tree, rng)
    q = trees.sequence_probabilities(tree, base)

    def log_ratio(p):
        return np.log(np.maximum(p, 1e-300) / q)

    # exact gradients: with finite differences the line search can stall at the optimum
    # ("positive directional derivative") on some CPUs
    solved = optimize.minimize(
        lambda p: -p @ reward, q, jac=lambda p: -reward, method="SLSQP",
        bounds=[(0, 1)] * q.size,
        constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1,
                      "jac": lambda p: np.ones_like(p)},
                     {"type": "ineq", "fun": lambda p: budget - p @ log_ratio(p),
                      "jac": lambda p: -(log_ratio(p) + 1)}],
        options={"ftol": 1e-14, "maxiter": 500})
    assert solved.success
    best = rl.budget_optimum(tree, base, reward, budget, monitors={"r": reward})
    assert best.kl == pytest.approx(budget, rel=1e-9)
    assert best.reward == pytest.approx(-solved.fun, rel=1e-6)
    assert best.monitors["r"] == pytest.approx(best.reward, rel=1e-12)
    many = rl.budget_optimum(tree, base, reward, [budget, 2 * budget])
    assert many.reward.shape == (2,) and many.reward[0] == pytest.approx(best.reward)


def test_next_kl_coef_is_ziegler_rule():
    assert rl.next_kl_coef(1.0, 1.1, 1.0) == pytest.approx(1.01)
    assert rl.next_kl_coef(1.0, 10.0, 1.0) == pytest.approx(1.02)  # error clipped at 0.2
    assert rl.next_kl_coef(2.0, 0.0, 1.0) == pytest.approx(2.0 * 0.98)
    np.testing.assert_allclose(rl.next_kl_coef(1.0, [0.0, 1.0, 3.0], 1.0, gain=0.5),
                               [0.9, 1.0, 1.1])


def test_training_records_monitors_and_is_reproducible():
    rng = np.random.default_rng(8)
    base = trees.uniform_policy(TREE, end_probability=0.4)
    reward = random_reward(TREE, rng)
    monitors = {"length": TREE.lengths}
    runs = [rl.train(TREE, base, reward, beta=0.5, steps=5, learning_rate=0.1,
                     monitors=monitors, batch_size=16, rng=3) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].policy, runs[1].policy)
    history = runs[0].history
    assert set(history) == {"beta", "kl", "objective", "reward", "length"}
    assert history["length"][0] == pytest.approx(trees.expectation(TREE, base, TREE.lengths))
    assert history["kl"][0] < 1e-15 and history["reward"][0] == pytest.approx(
        trees.expectation(TREE, base, reward))


# ---------------------------------------------------------------------------------------
# The exploit-token reward


def test_exploit_reward_by_enumeration():
    tree = TokenTree(tokens=3, horizon=3, end_token=True)
    heavy = rl.exploit_reward(tree, token=2, rate=1.2, growth="exponential", rng=0)
    light = rl.exploit_reward(tree, token=2, rate=1.2, growth="linear", utility=heavy.utility)
    counts = [sum(a == 2 for a in actions) for actions, _ in ref.walk(tree)]
    np.testing.assert_array_equal(heavy.count, counts)
    np.testing.assert_allclose(heavy.error, np.expm1(1.2 * np.array(counts)), rtol=1e-15)
    np.testing.assert_allclose(light.error, np.expm1(1.2) * np.array(counts), rtol=1e-15)
    low = heavy.count <= 1
    np.testing.assert_allclose(heavy.error[low], light.error[low], rtol=1e-15)
    np.testing.assert_array_equal(heavy.proxy, heavy.error + heavy.utility)
    # one standard normal per sequence, in sequence order, from default_rng(seed)
    np.testing.assert_array_equal(heavy.utility, np.random.default_rng(0).normal(size=40))
    assert set(heavy.monitors) == {"proxy", "utility", "error", "count", "length"}
    policy = ref.random_policy(tree, np.random.default_rng(1))
    p = trees.sequence_probabilities(tree, policy)
    assert heavy.share(policy) == pytest.approx(np.dot(p, counts) / np.dot(p, tree.lengths))


def test_exploit_tail_index_is_the_power_of_the_count_law():
    """Uniform base, end probability 1/2, two tokens: r = P(token before end) = 1/3, and on a
    deep tree P(n >= j) = r^j (up to P(reaching the horizon) <= 2^-14)."""
    tree = TokenTree(tokens=2, horizon=14, end_token=True)
    model = rl.exploit_reward(tree, token=1, rate=0.7, growth="exponential", rng=0)
    assert model.tail_index(0.5) == pytest.approx(np.log(3) / 0.7, rel=1e-15)
    law = trees.value_distribution(tree, trees.uniform_policy(tree, end_probability=0.5),
                                   model.count)
    at_least = law.sf + law.probability
    for j in range(1, 6):
        assert at_least[j] == pytest.approx(3.0**-j, rel=1e-3)
    linear = rl.exploit_reward(tree, token=1, rate=0.7, growth="linear", rng=0)
    assert linear.tail_index(0.5) == np.inf


# ---------------------------------------------------------------------------------------
# Bad input

BASE = trees.uniform_policy(TREE, end_probability=0.5)
REWARD = np.zeros(TREE.n_sequences)


@settings(max_examples=80, deadline=None)
@given(bad=st.sampled_from([np.nan, np.inf, -np.inf, -1.0, "1", None]),
       argument=st.sampled_from(["beta", "learning_rate", "steps", "kl_target", "kl_gain",
                                 "batch_size"]))
def test_train_bad_input_names_the_argument(bad, argument):
    kwargs = {"beta": 1.0, "steps": 2, "learning_rate": 0.1, argument: bad}
    if argument == "kl_target" and bad is None:
        return  # None is the default: no controller
    if argument == "batch_size" and bad is None:
        return  # None is the default: the exact gradient
    with pytest.raises(ValueError, match=argument):
        rl.train(TREE, BASE, REWARD, **kwargs)


@settings(max_examples=40, deadline=None)
@given(bad=st.sampled_from([np.nan, np.inf, -np.inf, "x", None, True]), where=st.integers(0, 39))
def test_bad_rewards_name_the_argument(bad, where):
    reward = REWARD.astype(object)
    reward[where] = bad
    for call in (lambda: rl.evaluate(TREE, BASE, BASE, reward, 1.0),
                 lambda: rl.tilted_policy(TREE, BASE, reward, 1.0),
                 lambda: rl.tilted_optimum(TREE, BASE, reward, 1.0),
                 lambda: rl.kl_coef_for_target(TREE, BASE, reward, 0.1),
                 lambda: rl.reinforce_gradient(TREE, BASE, BASE, reward, 1.0, 4),
                 lambda: rl.train(TREE, BASE, reward, beta=1.0, steps=1, learning_rate=0.1)):
        with pytest.raises(ValueError, match="reward"):
            call()


def test_bad_input_raises():
    with pytest.raises(ValueError, match="reward"):
        rl.evaluate(TREE, BASE, BASE, np.zeros(3), 1.0)
    for beta in (-1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="beta"):
            rl.evaluate(TREE, BASE, BASE, REWARD, beta)
    for beta in (0.0, -1.0, [1.0, np.nan]):
        with pytest.raises(ValueError, match="beta"):
            rl.tilted_optimum(TREE, BASE, REWARD, beta)
    with pytest.raises(ValueError, match="beta"):
        rl.tilted_policy(TREE, BASE, REWARD, 0.0)
    with pytest.raises(ValueError, match="base"):
        rl.evaluate(TREE, BASE, BASE * 2, REWARD, 1.0)
    zero = BASE.copy()
    zero[0] = [0.0, 0.5, 0.25, 0.25]
    with pytest.raises(ValueError, match="infinite"):
        rl.evaluate(TREE, BASE, zero, REWARD, 1.0)
    with pytest.raises(ValueError, match="policy"):
        rl.evaluate(TREE, BASE[:-1], BASE, REWARD, 1.0)
    for target in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="target"):
            rl.next_kl_coef(1.0, 1.0, target)
        with pytest.raises(ValueError, match="target"):
            rl.kl_coef_for_target(TREE, BASE, REWARD + np.arange(40.0), target)
    with pytest.raises(ValueError, match="kl"):
        rl.next_kl_coef(1.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="not reached"):
        rl.kl_coef_for_target(TREE, BASE, REWARD + np.arange(40.0), 1e3)
    with pytest.raises(ValueError, match="bracket"):
        rl.kl_coef_for_target(TREE, BASE, REWARD, 0.1, bracket=(1.0, 0.5))
    with pytest.raises(ValueError, match="optimizer"):
        rl.train(TREE, BASE, REWARD, beta=1.0, steps=1, learning_rate=0.1, optimizer="sgd")
    with pytest.raises(ValueError, match="monitors"):
        rl.train(TREE, BASE, REWARD, beta=1.0, steps=1, learning_rate=0.1,
                 monitors={"kl": REWARD})
    with pytest.raises(ValueError, match="size"):
        rl.reinforce_gradient(TREE, BASE, BASE, REWARD, 1.0, 1)
    with pytest.raises(ValueError, match="rng"):
        rl.reinforce_gradient(TREE, BASE, BASE, REWARD, 1.0, 4, rng="seed")
    with pytest.raises(ValueError, match="token"):
        rl.exploit_reward(TREE, token=3, rate=1.0, growth="linear")
    for rate in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="rate"):
            rl.exploit_reward(TREE, token=0, rate=rate, growth="linear")
    with pytest.raises(ValueError, match="rate"):
        rl.exploit_reward(TREE, token=0, rate=300.0, growth="exponential")
    with pytest.raises(ValueError, match="growth"):
        rl.exploit_reward(TREE, token=0, rate=1.0, growth="quadratic")
    with pytest.raises(ValueError, match="utility"):
        rl.exploit_reward(TREE, token=0, rate=1.0, growth="linear", utility=np.zeros(3))
    with pytest.raises(ValueError, match="rng"):
        rl.exploit_reward(TREE, token=0, rate=1.0, growth="linear", utility=REWARD, rng=1)
    model = rl.exploit_reward(TREE, token=0, rate=1.0, growth="linear", rng=1)
    with pytest.raises(ValueError, match="end_probability"):
        model.tail_index(1.0)
    fixed = TokenTree(tokens=2, horizon=2, end_token=False)
    with pytest.raises(ValueError, match="end token"):
        rl.exploit_reward(fixed, token=0, rate=1.0, growth="linear", rng=1).tail_index(0.5)


# ---------------------------------------------------------------------------------------
# The depth sweep


def sequence_level_optimum(probabilities, proxy, utility, budget):
    """``E[V]`` under the tilt ``p0 e^{U / beta} / Z`` of the sequence law whose KL is
    ``budget``, and its ``beta``: bisection in ``log beta``, in mpmath at 30 digits."""
    with mp.workdps(30):
        p0 = [mp.mpf(p) for p in probabilities]
        u = [mp.mpf(float(x)) for x in proxy]

        def tilt(log_beta):
            beta = mp.exp(log_beta)
            top = max(u)
            w = [p * mp.exp((x - top) / beta) for p, x in zip(p0, u, strict=True)]
            z = mp.fsum(w)
            return [x / z for x in w]

        def kl(log_beta):
            return mp.fsum(q * mp.log(q / p) for q, p in zip(tilt(log_beta), p0, strict=True)
                           if q > 0) - budget

        lo, hi = mp.log(1e-3), mp.log(1e6)  # the KL falls as beta grows: bisection
        for _ in range(120):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if kl(mid) > 0 else (lo, mid)
        log_beta = (lo + hi) / 2
        q = tilt(log_beta)
        return (float(mp.exp(log_beta)),
                float(mp.fsum(a * float(v) for a, v in zip(q, utility, strict=True))))


@pytest.mark.parametrize("growth", ["exponential", "linear"])
def test_depth_sweep_against_the_tilt_of_the_sequence_law(growth):
    """The utility of depth d, draw k drawn from [rng, d, k]; each optimum found again as the
    exponential tilt of the sequence law (walked sequence by sequence), its mean and its
    standard error over the draws recomputed."""
    depth, draws, rate, p_end, budget = [1, 2, 3], 3, 1.0, 0.3, 0.2
    sweep = rl.depth_sweep(depth, tokens=2, token=1, rate=rate, growth=growth,
                           end_probability=p_end, budget=budget, draws=draws, rng=5)
    for i, d in enumerate(depth):
        tree = TokenTree(tokens=2, horizon=d, end_token=True)
        base = trees.uniform_policy(tree, end_probability=p_end)
        walked = list(ref.walk(tree))
        probabilities = [ref.probability(base, a, r) for a, r in walked]
        count = np.array([sum(t == 1 for t in a) for a, _ in walked], dtype=float)
        error = np.expm1(rate * count) if growth == "exponential" else np.expm1(rate) * count
        betas, gains = [], []
        for k in range(draws):
            utility = np.random.default_rng([5, d, k]).standard_normal(tree.n_sequences)
            beta, mean = sequence_level_optimum(probabilities, error + utility, utility,
                                                budget)
            base_mean = float(sum(p * float(v) for p, v in zip(probabilities, utility,
                                                               strict=True)))
            betas.append(beta)
            gains.append(mean - base_mean)
        assert sweep.depth[i] == d and sweep.sequences[i] == len(walked)
        assert sweep.beta[i] == pytest.approx(np.mean(betas), rel=1e-8)
        assert sweep.gain[i] == pytest.approx(np.mean(gains), rel=1e-8, abs=1e-10)
        assert sweep.se.beta[i] == pytest.approx(np.std(betas, ddof=1) / np.sqrt(draws),
                                                 rel=1e-7)
        assert sweep.se.gain[i] == pytest.approx(np.std(gains, ddof=1) / np.sqrt(draws),
                                                 rel=1e-7, abs=1e-10)


def test_depth_sweep_rows_are_keyed_by_depth_and_draw():
    """A depth's row does not depend on the other depths swept; a scalar depth gives floats; a
    Generator keys the draws with one integer drawn from it."""
    common = {"tokens": 3, "token": 0, "rate": 1.2, "end_probability": 0.4, "budget": 0.5,
              "draws": 4}
    both = rl.depth_sweep([1, 2], growth="exponential", rng=7, **common)
    alone = rl.depth_sweep(2, growth="exponential", rng=7, **common)
    assert isinstance(alone.gain, float) and isinstance(alone.sequences, int)
    assert (alone.beta, alone.gain, alone.se.gain) == (both.beta[1], both.gain[1],
                                                      both.se.gain[1])
    key = int(np.random.default_rng(3).integers(2**63))
    from_generator = rl.depth_sweep(2, growth="linear", rng=np.random.default_rng(3), **common)
    assert from_generator.gain == rl.depth_sweep(2, growth="linear", rng=key, **common).gain


def test_depth_sweep_bad_input_names_the_argument():
    common = {"depth": [1, 2], "tokens": 2, "token": 1, "rate": 1.0, "growth": "linear",
              "end_probability": 0.5, "budget": 0.1, "draws": 3, "rng": 0}
    for argument, bad in [("depth", [0, 1]), ("depth", 1.5), ("depth", np.nan),
                          ("tokens", 0), ("token", 2), ("token", -1), ("rate", 0.0),
                          ("growth", "quadratic"), ("end_probability", 1.0),
                          ("budget", 0.0), ("draws", 1), ("draws", 10**7), ("rng", -1),
                          ("rng", 1.5), ("rng", "seed"), ("depth", 30)]:
        with pytest.raises(ValueError, match=argument):
            rl.depth_sweep(**{**common, argument: bad})
    with pytest.raises(ValueError, match="tokens"):  # the token exists, not the tree
        rl.depth_sweep(**{**common, "tokens": 1})
    with pytest.raises(ValueError, match="draws"):  # too much work
        rl.depth_sweep(**{**common, "tokens": 7, "depth": [6], "draws": 100})
    with pytest.raises(ValueError, match="budget"):  # more than the rarest text costs
        rl.depth_sweep(**{**common, "budget": 50.0})
