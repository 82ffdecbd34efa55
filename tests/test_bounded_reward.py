"""Bounded rewards: the exact optimum against quadrature and Monte Carlo; the sampled one's
defects fixed, each against an independent reference.

References: for independent normals U ~ N(0, 2) and E[V | U = u] = u / 2, so every
expectation under the optimum is one integral over u (scipy.integrate.quad); for a heavy error
the direct integral of E[V | U = u] w(u) f_U(u) (a different formula from the module's
mixture of quantilizers); Monte Carlo estimates with their standard errors; the exact limits
log n (a reweighted sample on one draw) and the quantilizer (clipping as beta -> 0).
"""

import warnings

import numpy as np
import pytest
from scipy import integrate, stats

from goodhart import Proxy, bounded_reward
from goodhart.bounded_reward import optimum, sampled_optimum

N, T3 = stats.norm(), stats.t(3)


def normal_reference(reward, beta, level=None):
    """E_P[V], E_P[r] and the KL of the optimum for X, V ~ N(0, 1), by quadrature over U."""
    u_law = stats.norm(0, np.sqrt(2))
    if reward == "clip":
        r, rbar, points = (lambda u: np.minimum(u, level)), level, [level]
    else:
        r, rbar, points = np.tanh, 1.0, [0.5 * np.log(2 / beta)]

    def expect(g):
        pieces = [(-np.inf, points[0]), (points[0], np.inf)]
        return sum(integrate.quad(lambda u: u_law.pdf(u) * g(u) * np.exp((r(u) - rbar) / beta),
                                  a, b, epsabs=0, epsrel=1e-13, limit=200)[0]
                   for a, b in pieces)

    z = expect(lambda u: 1.0)
    log_w = expect(lambda u: (r(u) - rbar) / beta) / z
    return {"utility": expect(lambda u: u / 2) / z, "kl": log_w - np.log(z),
            "reward": rbar + beta * log_w, "objective": rbar + beta * np.log(z)}


@pytest.mark.parametrize("reward, level", [("clip", 1.5), ("clip", -2.0), ("tanh", None)])
@pytest.mark.parametrize("beta", [10.0, 1.0, 0.1, 0.01])
def test_optimum_against_quadrature(reward, level, beta):
    result = optimum(utility=N, error=N, reward=reward, level=level, beta=beta)
    for name, value in normal_reference(reward, beta, level).items():
        assert getattr(result, name) == pytest.approx(value, rel=1e-9), name


@pytest.mark.parametrize("reward", ["clip", "tanh"])
def test_optimum_heavy_error_against_the_direct_integral(reward):
    """E_P[V] = int E[V | U = u] w(u) f_U(u) du / int w f_U, with Proxy's density and
    E[V | U = u]: the same laws, another formula."""
    beta, level = 0.3, 3.0
    proxy = Proxy(utility=N, error=T3)
    clip = reward == "clip"
    centre = level if clip else 0.5 * np.log(2 / beta)
    edges = centre + np.concatenate([-np.geomspace(400, 0.01, 40), [0],
                                     np.geomspace(0.01, 1e5, 50)])
    nodes, weights = np.polynomial.legendre.leggauss(20)
    mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
    u = (mid[:, None] + half[:, None] * nodes).ravel()
    log_w = ((np.minimum(u, level) - level) if clip else (np.tanh(u) - 1)) / beta
    w = (half[:, None] * weights).ravel() * np.exp(log_w + proxy.logpdf(u))
    expected = np.sum(w * proxy.utility_given(u)) / np.sum(w)
    result = optimum(utility=N, error=T3, reward=reward, level=level if reward == "clip" else None,
                     beta=beta)
    assert result.utility == pytest.approx(expected, rel=1e-6)


def test_clipping_tends_to_the_quantilizer_and_tanh_to_the_base():
    proxy = Proxy(utility=N, error=T3)
    clip = optimum(utility=N, error=T3, reward="clip", level=3.0, beta=[1e-6, 1e-12])
    assert clip.utility[-1] == pytest.approx(proxy.conditional_mean(3.0), rel=1e-9)
    assert clip.kl[-1] == pytest.approx(-proxy.logsf(3.0), rel=1e-9)
    squash = optimum(utility=N, error=T3, reward="tanh", beta=[1e-4, 1e-16, 1e-64, 1e-300])
    assert np.all(np.diff(squash.utility) < 0) and squash.utility[-1] < 0.01
    assert np.all(np.diff(squash.kl) > 0)
    # the thresholds atanh(1 - beta) move out as log(2 / beta) / 2
    np.testing.assert_allclose(squash.threshold, 0.5 * np.log((2 - squash.beta) / squash.beta),
                               rtol=1e-14)


def test_optimum_at_a_kl_budget():
    levels = np.array([1.0, 3.0, 10.0])
    at = optimum(utility=T3, error=stats.norm(0, 0.5), reward="clip", level=levels, kl=1.0)
    np.testing.assert_allclose(at.kl, 1.0, rtol=1e-9)
    again = optimum(utility=T3, error=stats.norm(0, 0.5), reward="clip", level=levels,
                    beta=at.beta)
    np.testing.assert_allclose(again.utility, at.utility, rtol=1e-12)
    squash = optimum(utility=N, error=T3, reward="tanh", kl=[0.5, 5.0])
    np.testing.assert_allclose(squash.kl, [0.5, 5.0], rtol=1e-9)
    assert squash.beta[0] > squash.beta[1]


def test_optimum_shapes():
    one = optimum(utility=N, error=N, reward="tanh", beta=0.5)
    assert isinstance(one.utility, float) and isinstance(one.threshold, float)
    grid = optimum(utility=N, error=N, reward="clip", level=[[0.0], [1.0]], beta=[1.0, 2.0, 3.0])
    assert grid.kl.shape == (2, 3)


@pytest.mark.parametrize("kwargs, match", [
    ({"reward": "sigmoid", "beta": 1.0}, "reward must be one of"),
    ({"reward": "clip", "beta": 1.0}, "needs level"),
    ({"reward": "tanh", "level": 1.0, "beta": 1.0}, "level is the clipping level"),
    ({"reward": "clip", "level": np.nan, "beta": 1.0}, "level must not be NaN"),
    ({"reward": "tanh", "beta": -1.0}, "beta must be > 0"),
    ({"reward": "tanh", "beta": np.inf}, "beta must be finite"),
    ({"reward": "tanh"}, "exactly one of beta"),
    ({"reward": "tanh", "beta": 1.0, "kl": 1.0}, "exactly one of beta"),
    ({"reward": "tanh", "kl": 0.0}, "kl must be > 0"),
    ({"reward": "clip", "level": 3.0, "kl": 4.0}, "kl must lie below"),
    ({"reward": "tanh", "beta": 1e4}, "beta = 10000 is too large"),
])
def test_optimum_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        optimum(utility=N, error=T3, **kwargs)


def test_optimum_refuses_a_level_above_the_support():
    with pytest.raises(ValueError, match="level must lie below 2"):
        optimum(utility=stats.uniform(), error=stats.uniform(), reward="clip", level=2.0,
                beta=1.0)


# -- the sampled optimum: the defects of the old bounded_reward_optimum, each a regression ---


def clipped(s):
    return np.minimum(s.proxy, 3.0)


def test_sampled_agrees_with_the_exact_optimum():
    beta = np.array([3.0, 1.0, 0.1])
    est = sampled_optimum(utility=N, error=T3, reward=clipped, bound=3.0, beta=beta,
                          size=4 * 10**5, rng=2)
    exact = optimum(utility=N, error=T3, reward="clip", level=3.0, beta=beta)
    assert np.all(np.abs(est.utility - exact.utility) < 4 * est.se.utility)
    assert np.all(np.abs(est.kl - exact.kl) < 4 * est.se.kl + 1e-3)
    assert np.all(np.abs(est.reward - exact.reward) < 4 * est.se.reward)


def test_sampled_scalar_reward_gives_the_mean_not_the_sum():
    """A constant reward leaves Q unchanged: E_P[V] is the sample mean of the draws."""
    est = sampled_optimum(utility=N, error=T3, reward=lambda s: 0.5, bound=1.0, beta=1.0,
                          size=1000, rng=5)
    draws = Proxy(utility=N, error=T3).sample(1000, rng=5)
    assert est.utility == pytest.approx(draws.utility.mean(), rel=1e-12)
    assert est.kl == pytest.approx(0.0, abs=1e-12) and est.effective_size == pytest.approx(1000)


def test_sampled_kl_at_tiny_beta_is_log_n():
    """One draw takes all the weight: the reweighted sample's KL is exactly log n (it once
    collapsed to 0 below beta = 1e-20)."""
    with pytest.warns(RuntimeWarning, match="effective draws"):
        est = sampled_optimum(utility=N, error=T3, reward=lambda s: np.tanh(s.proxy / 10),
                              bound=1.0, beta=[1e-15, 1e-30, 1e-300], size=1000, rng=3)
    np.testing.assert_allclose(est.kl, np.log(1000), rtol=1e-14)
    draws = Proxy(utility=N, error=T3).sample(1000, rng=3)
    best = np.argmax(draws.proxy)
    np.testing.assert_allclose(est.utility, draws.utility[best], rtol=1e-14)


def test_sampled_refuses_an_unbounded_reward():
    with pytest.raises(ValueError, match="bounded above by bound = 5"):
        sampled_optimum(utility=N, error=T3, reward=lambda s: s.proxy, bound=5.0, beta=1.0,
                        size=100, rng=0)
    with pytest.raises(ValueError, match="exceeds bound"):  # not at the probe, on the draws
        sampled_optimum(utility=N, error=T3, reward=lambda s: np.where(
            np.abs(s.proxy) < 100, s.proxy, 0.0), bound=2.0, beta=1.0, size=1000, rng=0)


def test_sampled_random_streams():
    """rng=None works (SPEC 7); a seed repeats; utility and error come from separate streams."""
    seen = []

    def spy(s):
        seen.append(s)
        return np.minimum(s.proxy, 1.0)

    sampled_optimum(utility=N, error=N, reward=spy, bound=1.0, beta=1.0, size=500, rng=None)
    draws = seen[-1]
    assert not np.allclose(draws.utility, draws.error)
    assert abs(np.corrcoef(draws.utility, draws.error)[0, 1]) < 0.2
    a, b = (sampled_optimum(utility=N, error=N, reward=clipped, bound=3.0, beta=1.0, size=500,
                            rng=np.random.default_rng(7)) for _ in range(2))
    assert a.utility == b.utility


@pytest.mark.parametrize("kwargs, match", [
    ({"reward": lambda s: s.proxy[:3], "bound": 5.0}, "one value a draw"),
    ({"reward": lambda s: np.where(s.proxy > 0, np.nan, 0.0) * np.ones(s.proxy.size),
      "bound": 5.0}, "NaN or infinite"),
    ({"reward": "tanh", "bound": 1.0}, "reward must be a function"),
    ({"reward": clipped, "bound": np.nan}, "bound must not be NaN"),
    ({"reward": clipped, "bound": 3.0, "beta": 0.0}, "beta must be > 0"),
    ({"reward": clipped, "bound": 3.0, "size": 1}, "size must be an integer >= 2"),
    ({"reward": clipped, "bound": 3.0, "rng": 1.5}, "rng must be"),
])
def test_sampled_bad_input(kwargs, match):
    arguments = {"beta": 1.0, "size": 100, "rng": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        sampled_optimum(utility=N, error=T3, **arguments)


def test_sampled_has_no_warning_for_a_healthy_sample():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = sampled_optimum(utility=N, error=T3, reward=clipped, bound=3.0, beta=0.5,
                              size=10**4, rng=1)
    assert est.effective_size > 100 and est.se.effective_size == est.effective_size


def test_module_lists_its_public_names():
    assert set(bounded_reward.__all__) == {"RewardOptimum", "SampledOptimum", "optimum",
                                           "sampled_optimum"}
