"""Action KL (summed and averaged) against occupancy KL: enumeration of trajectories, the
orderings that always hold, the one that does not, and the token-tree occupancy step by step."""

import itertools

import mpmath as mp
import numpy as np
import pytest
import tree_reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st

from goodhart import occupancy, trees
from goodhart.divergences import discrete_kl
from goodhart.trees import TokenTree


def test_cliff_marginals_and_action_kl_by_enumeration():
    length, horizon = 4, 6
    transition = occupancy.cliff_mdp(length)
    rng = np.random.default_rng(0)
    policy = rng.dirichlet([1, 1], size=length + 2)
    base = rng.dirichlet([1, 1], size=length + 2)
    start = np.eye(length + 2)[0]
    marginals = occupancy.state_marginals(transition, policy, start, horizon)
    # Enumerate the 2^(horizon-1) action sequences: trajectory laws and their KL.
    traj_kl, counted = 0.0, np.zeros_like(marginals)
    for actions in itertools.product([0, 1], repeat=horizon - 1):
        s, p, p0 = 0, 1.0, 1.0
        path = [0]
        for a in actions:
            p *= policy[s, a]
            p0 *= base[s, a]
            s = int(np.argmax(transition[s, a]))
            path.append(s)
        for t, state in enumerate(path):
            counted[t, state] += p
        traj_kl += p * np.log(p / p0)
    np.testing.assert_allclose(marginals, counted, atol=1e-12)
    # action_kl sums the per-state KL over horizon steps; the enumeration covers horizon - 1
    # actions, so compare with horizon - 1.
    summed = occupancy.action_kl(transition, policy, base, start, horizon - 1)
    assert summed == pytest.approx(traj_kl, rel=1e-12)
    averaged = occupancy.action_kl(transition, policy, base, start, horizon - 1, per="state")
    assert averaged == pytest.approx(traj_kl / (horizon - 1), rel=1e-12)


def random_mdp(rng, states, actions):
    transition = rng.dirichlet(np.full(states, 0.5), size=(states, actions))
    start = rng.dirichlet(np.ones(states))
    return transition, start


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), horizon=st.integers(1, 12), states=st.integers(1, 5),
       actions=st.integers(1, 3), cliff=st.booleans())
def test_orderings_that_always_hold(seed, horizon, states, actions, cliff):
    """occupancy <= sum (joint convexity, data processing); average <= sum; average = sum / H."""
    rng = np.random.default_rng(seed)
    if cliff:
        transition, actions = occupancy.cliff_mdp(5), 2
        start = np.eye(7)[0]
        states = 7
    else:
        transition, start = random_mdp(rng, states, actions)
    policy = rng.dirichlet(np.full(actions, 0.5), size=states)
    base = rng.dirichlet(np.ones(actions), size=states)
    om = occupancy.occupancy_kl(transition, policy, base, start, horizon)
    total = occupancy.action_kl(transition, policy, base, start, horizon)
    average = occupancy.action_kl(transition, policy, base, start, horizon, per="state")
    assert om <= total * (1 + 1e-12) + 1e-15
    assert average == pytest.approx(total / horizon, rel=1e-13, abs=1e-300)
    # the state-action occupancy KL is the occupancy KL plus the average (chain rule)
    mu = occupancy.state_marginals(transition, policy, start, horizon).mean(axis=0)
    mu0 = occupancy.state_marginals(transition, base, start, horizon).mean(axis=0)
    joint = discrete_kl((mu[:, None] * policy).ravel(), (mu0[:, None] * base).ravel())
    assert joint == pytest.approx(om + average, rel=1e-9, abs=1e-13)


def test_average_and_occupancy_have_no_general_order():
    """The cliff: the occupancy KL exceeds the averaged action KL (Laidlaw et al.'s point).
    One state that every action leads back to: the occupancy never changes, its KL is 0,
    while the actions' KL is not."""
    length, horizon = 10, 20
    cliff = occupancy.cliff_mdp(length)
    start = np.eye(length + 2)[0]
    safe = np.tile([0.99, 0.01], (length + 2, 1))
    hack = safe.copy()
    hack[0] = [0.8, 0.2]
    total = occupancy.action_kl(cliff, hack, safe, start, horizon)
    average = occupancy.action_kl(cliff, hack, safe, start, horizon, per="state")
    om = occupancy.occupancy_kl(cliff, hack, safe, start, horizon)
    assert average < om < total
    assert om > 5 * average
    loop = np.ones((1, 2, 1))
    policy, base = np.array([[0.9, 0.1]]), np.array([[0.5, 0.5]])
    assert occupancy.occupancy_kl(loop, policy, base, [1.0], 5) == 0.0
    assert occupancy.action_kl(loop, policy, base, [1.0], 5, per="state") == pytest.approx(
        0.9 * np.log(1.8) + 0.1 * np.log(0.2), rel=1e-14)


def occupancy_by_steps(tree, policy):
    """mu by walking each sequence through the horizon + 1 steps, in mpmath."""
    with mp.workdps(30):
        mu = [mp.mpf(0)] * (tree.n_prefixes + tree.n_sequences)
        for index, (actions, rows) in enumerate(ref.walk(tree)):
            p = ref.probability(policy, actions, rows)
            for t in range(tree.horizon + 1):
                state = rows[t] if t < len(rows) else tree.n_prefixes + index
                mu[state] += p
        return np.array([float(m / (tree.horizon + 1)) for m in mu])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10**6), tokens=st.integers(1, 3), horizon=st.integers(1, 4),
       end_token=st.booleans())
def test_tree_occupancy_step_by_step(seed, tokens, horizon, end_token):
    if not end_token:
        tokens = max(tokens, 2)
    tree = TokenTree(tokens=tokens, horizon=horizon, end_token=end_token)
    rng = np.random.default_rng(seed)
    policy, base = ref.random_policy(tree, rng), ref.random_policy(tree, rng)
    mu = occupancy.tree_occupancy(tree, policy)
    np.testing.assert_allclose(mu, occupancy_by_steps(tree, policy), rtol=1e-12, atol=1e-300)
    assert mu.sum() == pytest.approx(1.0, rel=1e-13)
    om = discrete_kl(mu, occupancy.tree_occupancy(tree, base))
    assert om <= trees.policy_kl(tree, policy, base) * (1 + 1e-12) + 1e-15


def test_tree_occupancy_of_the_chapter_tree():
    """Seven tokens, up to six, end probability 0.4: sums to 1 and sits below the trajectory
    KL for a random policy."""
    tree = TokenTree(tokens=7, horizon=6, end_token=True)
    base = trees.uniform_policy(tree, end_probability=0.4)
    policy = ref.random_policy(tree, np.random.default_rng(3))
    mu, mu0 = occupancy.tree_occupancy(tree, policy), occupancy.tree_occupancy(tree, base)
    assert mu.sum() == pytest.approx(1.0, rel=1e-12)
    assert mu.shape == (tree.n_prefixes + tree.n_sequences,)
    assert discrete_kl(mu, mu0) <= trees.policy_kl(tree, policy, base)


# ---------------------------------------------------------------------------------------
# Bad input

CLIFF = occupancy.cliff_mdp(2)
SAFE = np.tile([0.9, 0.1], (4, 1))
START = np.eye(4)[0]


@settings(max_examples=60, deadline=None)
@given(bad=st.sampled_from([np.nan, np.inf, -0.5, 1.5, "a", None]),
       argument=st.sampled_from(["transition", "policy", "base", "start"]))
def test_bad_entries_name_the_argument(bad, argument):
    args = {"transition": CLIFF, "policy": SAFE, "base": SAFE, "start": START}
    broken = np.asarray(args[argument], dtype=object).copy()
    broken.flat[0] = bad
    args[argument] = broken
    with pytest.raises(ValueError, match=argument):
        occupancy.action_kl(args["transition"], args["policy"], args["base"], args["start"], 3)
    if argument != "base":
        with pytest.raises(ValueError, match=argument):
            occupancy.state_marginals(args["transition"], args["policy"], args["start"], 3)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="transition"):
        occupancy.state_marginals(np.ones((2, 1, 2)), np.ones((2, 1)), [1, 0], 3)
    with pytest.raises(ValueError, match="transition"):
        occupancy.state_marginals(np.ones((2, 2)), np.ones((2, 1)), [1, 0], 3)
    with pytest.raises(ValueError, match="policy"):
        occupancy.state_marginals(CLIFF, SAFE[:3], START, 3)
    with pytest.raises(ValueError, match="start"):
        occupancy.state_marginals(CLIFF, SAFE, [0.5, 0.5, 0.5, 0.0], 3)
    for horizon in (0, 2.5, np.nan):
        with pytest.raises(ValueError, match="horizon"):
            occupancy.occupancy_kl(CLIFF, SAFE, SAFE, START, horizon)
    with pytest.raises(ValueError, match="per"):
        occupancy.action_kl(CLIFF, SAFE, SAFE, START, 3, per="average")
    for length in (0, -1, 1.5, np.inf):
        with pytest.raises(ValueError, match="length"):
            occupancy.cliff_mdp(length)
    with pytest.raises(ValueError, match="tree"):
        occupancy.tree_occupancy("tree", SAFE)
    with pytest.raises(ValueError, match="policy"):
        occupancy.tree_occupancy(TokenTree(tokens=2, horizon=2, end_token=False), SAFE)


# ---------------------------------------------------------------------------------------
# The car by the cliff, and the three divergences on a token tree


@pytest.mark.parametrize(("length", "horizon", "turn", "hack_turn"),
                         [(10, 20, 0.01, 0.2), (3, 2, 0.1, 0.5), (4, 9, 0.0, 0.3)])
def test_cliff_car_closed_forms(length, horizon, turn, hack_turn):
    """Only the first cell differs, visited once with probability 1: the summed KL is one
    Bernoulli KL, the average that over the horizon; the car falls unless it goes straight
    on at each of the first min(horizon - 1, length) cells."""
    car = occupancy.cliff_car(length, turn=turn, hack_turn=hack_turn)
    np.testing.assert_array_equal(car.transition, occupancy.cliff_mdp(length))
    assert car.start.tolist() == [1.0] + [0.0] * (length + 1)
    cells = min(horizon - 1, length)
    fell = [occupancy.state_marginals(car.transition, pi, car.start, horizon)[-1, -1]
            for pi in (car.safe, car.hack)]
    straight = 1 - turn
    want = [1 - straight**cells, 1 - (1 - hack_turn) * straight ** (cells - 1) if cells else 0]
    np.testing.assert_allclose(fell, want, rtol=1e-13, atol=1e-15)
    with mp.workdps(30):
        p, q = mp.mpf(hack_turn), mp.mpf(turn)
        bern = float(p * mp.log(p / q) + (1 - p) * mp.log((1 - p) / (1 - q))) if turn else None
    if bern is not None:
        args = (car.transition, car.hack, car.safe, car.start, horizon)
        assert occupancy.action_kl(*args) == pytest.approx(bern, rel=1e-12)
        assert occupancy.action_kl(*args, per="state") == pytest.approx(bern / horizon,
                                                                      rel=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10**6), tokens=st.integers(1, 3), horizon=st.integers(1, 3),
       end_token=st.booleans(), stack=st.integers(1, 3))
def test_tree_divergences_by_enumeration(seed, tokens, horizon, end_token, stack):
    """Each divergence of a stack of policies by walking every sequence, in mpmath."""
    if not end_token:
        tokens = max(tokens, 2)
    tree = TokenTree(tokens=tokens, horizon=horizon, end_token=end_token)
    rng = np.random.default_rng(seed)
    base = ref.random_policy(tree, rng)
    policies = np.stack([ref.random_policy(tree, rng) for _ in range(stack)])
    got = occupancy.tree_divergences(tree, policies, base)
    mu0 = occupancy_by_steps(tree, base)
    for i, pi in enumerate(policies):
        probs, sums, averages, _ = ref.brute_force(tree, pi, base)
        mu = occupancy_by_steps(tree, pi)
        with mp.workdps(30):
            want = [float(mp.fsum(p * s for p, s in zip(probs, sums, strict=True))),
                    float(mp.fsum(p * a for p, a in zip(probs, averages, strict=True))),
                    float(mp.fsum(mp.mpf(m) * mp.log(mp.mpf(m) / mp.mpf(m0))
                                  for m, m0 in zip(mu, mu0, strict=True) if m > 0))]
        have = [got.trajectory[i], got.state[i], got.occupancy[i]]
        np.testing.assert_allclose(have, want, rtol=1e-10, atol=1e-14)
    one = occupancy.tree_divergences(tree, policies[0], base)
    assert isinstance(one.trajectory, float) and one.occupancy == got.occupancy[0]
    assert np.all(got.occupancy <= got.trajectory * (1 + 1e-12) + 1e-15)


def test_cliff_car_and_tree_divergences_bad_input():
    for turn in (-0.1, 1.5, np.nan, [0.1, 0.2]):
        with pytest.raises(ValueError, match="turn"):
            occupancy.cliff_car(3, turn=turn, hack_turn=0.2)
        with pytest.raises(ValueError, match="hack_turn"):
            occupancy.cliff_car(3, turn=0.01, hack_turn=turn)
    with pytest.raises(ValueError, match="length"):
        occupancy.cliff_car(0, turn=0.01, hack_turn=0.2)
    tree = TokenTree(tokens=2, horizon=2, end_token=True)
    base = trees.uniform_policy(tree)
    for policy in (base[:-1], base[0], np.stack([base, base * 2])):
        with pytest.raises(ValueError, match="policy"):
            occupancy.tree_divergences(tree, policy, base)
    with pytest.raises(ValueError, match="base"):
        occupancy.tree_divergences(tree, base, base[:-1])
    with pytest.raises(ValueError, match="tree"):
        occupancy.tree_divergences("tree", base, base)
