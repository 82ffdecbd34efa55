"""The discussion's toy models against brute force, closed forms and Monte Carlo."""

import itertools

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit

from goodhart import conditioning, remedies

T3 = stats.t(3)


def t3_blocks(t):
    """Closed-form ``Fbar(t)``, body mean and tail mean of Student-t(3)."""
    s3 = np.sqrt(3)
    tail = (np.arctan(s3 / t) - s3 * t / (3 + t**2)) / np.pi
    moment = 3 * s3 / (np.pi * (3 + t**2))
    return tail, -moment / (1 - tail), moment / tail


def bern_kl(m, p):
    return m * np.log(m / p) + (1 - m) * np.log((1 - m) / (1 - p))


@pytest.mark.parametrize("t", [3.0, 30.0, 300.0])
def test_bounded_objective_beats_a_grid(t):
    beta = 0.1
    best = remedies.bounded_objective(T3, 0.0, 1.0, beta, t)
    tail, body, upper = t3_blocks(t)
    m = expit(np.linspace(-15, 5, 2001))[:, None]
    delta = np.linspace(-0.5, 2.0, 1001)[None, :]
    grid = expit((1 - m) * body + m * upper + delta) - beta * (bern_kl(m, tail) + delta**2 / 2)
    assert best.objective >= grid.max() - 1e-9
    assert best.objective <= grid.max() + 1e-4  # the grid is fine enough to come this close
    assert best.objective == pytest.approx(expit(best.error + best.utility) - beta * best.kl)


@pytest.mark.parametrize("severity", [2.0, 20.0, 200.0])
def test_three_knob_meets_the_cap_and_beats_a_grid(severity):
    d = 0.5
    best = remedies.three_knob_optimum(T3, 1.0, d, severity)
    tail, body, upper = t3_blocks(severity)
    assert bern_kl(best.frequency, tail) + best.quality**2 / 2 == pytest.approx(d, rel=1e-9)
    f = np.geomspace(tail, 0.999, 200001)
    spent = bern_kl(f, tail)
    ok = spent <= d
    reward = (1 - f[ok]) * body + f[ok] * upper + np.sqrt(2 * (d - spent[ok]))
    assert best.reward >= reward.max() - 1e-9
    assert best.reward <= reward.max() + 1e-6


def test_three_knob_trades_frequency_and_quality_for_severity():
    policies = [remedies.three_knob_optimum(T3, 1.0, 0.5, s) for s in [1, 10, 100, 1000]]
    for a, b in itertools.pairwise(policies):
        assert b.reward > a.reward and b.frequency < a.frequency and b.quality < a.quality


def test_quantilizer_matches_the_normal_closed_form():
    """For X, V ~ N(0, 1): E[V | U] = U / 2 and E[U | U >= t] = s phi(t/s) / Fbar(t/s)."""
    x = v = stats.norm()
    s = np.sqrt(2)
    for q in [0.3, 1e-3, 1e-8]:
        result = remedies.quantilizer(x, v, q)
        assert result.threshold == pytest.approx(s * stats.norm.isf(q), rel=1e-9)
        z = result.threshold / s
        expected = 0.5 * s * np.exp(stats.norm.logpdf(z) - stats.norm.logsf(z))
        assert result.utility == pytest.approx(expected, rel=1e-8)
        assert result.kl == pytest.approx(-np.log(q))


def test_quantilizer_heavy_error_against_monte_carlo():
    result = remedies.quantilizer(T3, stats.norm(), 0.01)
    assert np.exp(conditioning.log_exceedance(stats.norm(), T3, result.threshold)) == pytest.approx(
        0.01, rel=1e-9
    )
    mean, se = conditioning.conditional_mean_monte_carlo(
        stats.norm(), T3, result.threshold, n=10**6, seed=1
    )
    assert abs(result.utility - mean) < 4 * se


@pytest.mark.parametrize("beta", [2.0, 0.5, 0.1])
def test_bounded_reward_optimum_against_quadrature(beta):
    """X, V ~ N(0, 1) and a reward clipped at c: with U ~ N(0, 2) and E[V | U] = U / 2 every
    expectation is a one-dimensional integral over U."""
    c = 1.5
    result = remedies.bounded_reward_optimum(
        stats.norm(), stats.norm(), lambda x, v: np.minimum(x + v, c), beta, n=4 * 10**5, seed=2
    )
    u = stats.norm(0, np.sqrt(2))

    def expect(g):
        pieces = [(-np.inf, c), (c, np.inf)]
        return sum(
            integrate.quad(lambda w: u.pdf(w) * g(w) * np.exp((min(w, c) - c) / beta), a, b)[0]
            for a, b in pieces
        )

    z = expect(lambda w: 1.0)
    utility = expect(lambda w: w / 2) / z
    kl = expect(lambda w: (min(w, c) - c) / beta) / z - np.log(z)
    assert abs(result.utility - utility) < 4 * result.utility_se
    assert result.kl == pytest.approx(kl, abs=0.02)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="q must"):
        remedies.quantilizer(T3, stats.norm(), 1.0)
    with pytest.raises(ValueError, match="beta"):
        remedies.bounded_objective(T3, 0.0, 1.0, -1.0, 10.0)
    with pytest.raises(ValueError, match="d must"):
        remedies.three_knob_optimum(T3, 1.0, 0.0, 10.0)
    with pytest.raises(ValueError, match="NaN"):
        remedies.bounded_reward_optimum(T3, T3, lambda x, v: x * np.nan, 1.0, n=100)
