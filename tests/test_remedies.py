"""The discussion's toy models against brute force, closed forms, mpmath and Monte Carlo.

References: the Student-t (3 dof) blocks in closed form (mpmath, 50 digits); a brute-force grid
over the tail mass and the utility shift for the bounded objective and the three knobs; the
bounded objective of independent normals by mpmath root finding on its one-dimensional closed
form; the normal quantilizer in closed form; the heavy-tailed quantilizer against a Monte Carlo
estimate with its standard error.
"""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import expit

from goodhart import Proxy, remedies

T3, N = stats.t(3), stats.norm()


def t3_blocks(t):
    """``Fbar(t)``, body mean and tail mean of Student-t(3), in closed form (mpmath)."""
    with mp.workdps(50):
        t, s3 = mp.mpf(t), mp.sqrt(3)
        if t > 0:
            tail = (mp.atan(s3 / t) - s3 * t / (3 + t**2)) / mp.pi
        else:
            tail = mp.mpf(1) / 2 - (mp.atan(t / s3) + s3 * t / (3 + t**2)) / mp.pi
        moment = 3 * s3 / (mp.pi * (3 + t**2))
        return float(tail), float(-moment / (1 - tail)), float(moment / tail)


def bern_kl(m, p):
    return m * np.log(m / p) + (1 - m) * np.log((1 - m) / (1 - p))


# -- the bounded objective ------------------------------------------------------------------


@pytest.mark.parametrize("t", [0.0, 3.0, 30.0, 300.0])
def test_bounded_objective_beats_a_grid(t):
    """Against every (mass, shift) of a fine grid; t = 0 once raised ZeroDivisionError."""
    beta = 0.1
    best = remedies.bounded_objective(utility=N, error=T3, beta=beta, t=t)
    tail, body, upper = t3_blocks(t)
    m = expit(np.linspace(-15, 5, 2001))[:, None]
    delta = np.linspace(-0.5, 2.0, 1001)[None, :]
    grid = expit((1 - m) * body + m * upper + delta) - beta * (bern_kl(m, tail) + delta**2 / 2)
    assert best.objective >= grid.max() - 1e-12
    assert best.objective <= grid.max() + 1e-4  # the grid is fine enough to come this close
    assert best.error == pytest.approx((1 - best.mass) * body + best.mass * upper, rel=1e-12)
    assert best.kl == pytest.approx(bern_kl(best.mass, tail) + best.utility**2 / 2, rel=1e-10)
    assert best.objective == pytest.approx(expit(best.proxy) - beta * best.kl, rel=1e-14)


def test_bounded_objective_is_vectorized_and_tends_to_the_supremum():
    t = np.array([10.0, 1e3, 1e6])
    family = remedies.bounded_objective(utility=N, error=T3, beta=0.1, t=t)
    assert family.objective.shape == (3,) and np.all(np.diff(family.objective) > 0)
    assert 1 - family.objective[-1] < 1e-4 and family.utility[-1] < 1e-4 and family.kl[-1] < 1e-3
    one = remedies.bounded_objective(utility=N, error=T3, beta=0.1, t=1e3)
    assert isinstance(one.objective, float) and one.objective == family.objective[1]


@pytest.mark.parametrize("t", [3.0, 10.0])
def test_bounded_objective_kl_at_large_beta_is_second_order(t):
    """As beta grows the optimal tilt lam shrinks like 1 / beta: E[U] moves by lam A and the KL
    is lam^2 A / 2, with A = Var(V) + Fbar (1 - Fbar) (tail mean - body mean)^2 the variance of
    the sufficient statistic, so beta^2 KL -> sigmoid'(E[U])^2 A / 2 = A / 32 (E[U] = 0 here).
    The KL was once rounding noise there (-6e-19 at beta = 1e10). Beyond beta ~ 1e12 the tail
    mass, a double, no longer resolves its shift from Fbar (relative 1e-14), and the KL keeps
    only a few digits."""
    tail, body, upper = t3_blocks(t)
    limit = (1 + tail * (1 - tail) * (upper - body) ** 2) / 32
    beta = np.array([1e6, 1e10, 3e11])
    kl = remedies.bounded_objective(utility=N, error=T3, beta=beta, t=t).kl
    assert np.all(kl > 0)
    np.testing.assert_allclose(beta**2 * kl, limit, rtol=1e-5)


@pytest.mark.parametrize("sd_x, beta", [(1.0, 0.1), (3**0.5, 0.1), (2.0, 0.02)])
def test_bounded_objective_optimum_normal_closed_form(sd_x, beta):
    """X ~ N(0, sd_x^2), V ~ N(0, 1): the optimum shifts U ~ N(0, s^2) by e with
    expit'(e) = beta e / s^2, KL e^2 / (2 s^2) and utility e / s^2 (mpmath root)."""
    s2 = 1 + sd_x**2
    with mp.workdps(30):
        e = mp.findroot(lambda e: mp.exp(-e) / (1 + mp.exp(-e)) ** 2 - beta * e / s2, 1.0)
        expected = {"utility": e / s2, "kl": e**2 / (2 * s2),
                    "objective": 1 / (1 + mp.exp(-e)) - beta * e**2 / (2 * s2)}
    best = remedies.bounded_objective_optimum(utility=N, error=stats.norm(0, sd_x), beta=beta)
    for name, value in expected.items():
        assert getattr(best, name) == pytest.approx(float(value), rel=1e-10)
    assert best.error == pytest.approx(sd_x**2 * best.utility, rel=1e-10)


def test_bounded_objective_optimum_with_an_mgf_radius():
    """V ~ Exp(1) (its tilts exist for lam < 1), X ~ N(0, 1): the product tilt at lam has
    E[U] = 1 / (1 - lam) + lam and KL = lam / (1 - lam) + log(1 - lam) + lam^2 / 2; the best
    lam by mpmath root finding on the derivative of the objective."""
    beta = 0.01
    with mp.workdps(30):
        def objective(lam):
            e = 1 / (1 - lam) + lam
            kl = lam / (1 - lam) + mp.log(1 - lam) + lam**2 / 2
            return 1 / (1 + mp.exp(-e)) - beta * kl

        lam = mp.findroot(lambda x: mp.diff(objective, x), 0.6)
        expected = float(objective(lam)), float(1 / (1 - lam))
    best = remedies.bounded_objective_optimum(utility=stats.expon(), error=N, beta=beta)
    assert best.objective == pytest.approx(expected[0], rel=1e-12)
    assert best.utility == pytest.approx(expected[1], rel=1e-8)


def test_three_knob_with_an_mgf_radius_beats_a_grid():
    """V ~ Exp(1): the quality bought by k nats is kl_frontier(Exp(1), k) at best."""
    from goodhart.tilting import kl_frontier

    d, severity = 2.0, 10.0
    best = remedies.three_knob(utility=stats.expon(), error=T3, kl=d, severity=severity)
    tail, body, upper = t3_blocks(severity)
    f = np.geomspace(tail, 0.999, 2001)
    spent = bern_kl(f, tail)
    ok = spent < d
    reward = (1 - f[ok]) * body + f[ok] * upper + kl_frontier(stats.expon(), d - spent[ok])
    assert reward.max() - 1e-9 <= best.proxy <= reward.max() + 1e-4


def test_bounded_objective_optimum_refuses_a_heavy_error():
    with pytest.raises(ValueError, match="error .* heavy-tailed"):
        remedies.bounded_objective_optimum(utility=N, error=T3, beta=0.1)


@settings(max_examples=15, deadline=None)
@given(beta=st.floats(1e-3, 10.0), t=st.floats(-5.0, 1e8))
def test_bounded_objective_properties(beta, t):
    best = remedies.bounded_objective(utility=N, error=T3, beta=beta, t=t)
    assert best.kl >= 0 and 0 < best.mass < 1 and best.utility >= 0
    assert best.objective <= 1
    assert best.objective == pytest.approx(expit(best.proxy) - beta * best.kl, abs=1e-15)
    # at least as good as the base (mass Fbar(t), no shift)
    assert best.objective >= expit(0.0) - 1e-12


# -- the three knobs --------------------------------------------------------------------------


@pytest.mark.parametrize("severity", [-1.0, 2.0, 20.0, 200.0])
def test_three_knob_meets_the_cap_and_beats_a_grid(severity):
    d = 0.5
    best = remedies.three_knob(utility=N, error=T3, kl=d, severity=severity)
    tail, body, upper = t3_blocks(severity)
    assert bern_kl(best.frequency, tail) + best.quality**2 / 2 == pytest.approx(d, rel=1e-12)
    assert best.hack_kl == pytest.approx(bern_kl(best.frequency, tail), rel=1e-12)
    f = np.geomspace(tail, 0.999, 200001)
    spent = bern_kl(f, tail)
    ok = spent <= d
    reward = (1 - f[ok]) * body + f[ok] * upper + np.sqrt(2 * (d - spent[ok]))
    assert best.proxy >= reward.max() - 1e-12
    assert best.proxy <= reward.max() + 1e-6


def test_three_knob_trades_frequency_and_quality_for_severity():
    """The post's claim: at the cap, more reward means more severity, less of the rest."""
    p = remedies.three_knob(utility=N, error=T3, kl=0.5, severity=[1, 10, 100, 1000, 1e4])
    assert np.all(np.diff(p.proxy) > 0)
    assert np.all(np.diff(p.frequency) < 0) and np.all(np.diff(p.quality) < 0)
    assert p.quality[-1] < 0.002 and p.hack_kl[-1] > 0.4999


def test_three_knob_shifted_utility_reports_quality_against_the_base():
    p = remedies.three_knob(utility=stats.norm(5.0, 2.0), error=T3, kl=0.5, severity=10.0)
    assert p.quality == pytest.approx(p.utility - 5.0, rel=1e-14) and p.quality > 0
    assert p.quality**2 / (2 * 4.0) + p.hack_kl == pytest.approx(0.5, rel=1e-12)


@settings(max_examples=15, deadline=None)
@given(kl=st.floats(1e-4, 5.0), severity=st.floats(-10.0, 1e6))
def test_three_knob_properties(kl, severity):
    p = remedies.three_knob(utility=N, error=T3, kl=kl, severity=severity)
    assert 0 <= p.hack_kl <= kl and p.quality >= 0
    assert p.hack_kl + p.quality**2 / 2 == pytest.approx(kl, rel=1e-9)
    assert p.proxy == pytest.approx(p.error + p.utility, rel=1e-14, abs=1e-14)


# -- the quantilizer -------------------------------------------------------------------------


def test_quantilizer_matches_the_normal_closed_form():
    """X ~ N(0, 3), V ~ N(0, 1): U ~ N(0, 4), E[V | U >= t] = phi(t/2) / (2 Fbar(t/2))."""
    q = np.array([0.3, 1e-3, 1e-8])
    best = remedies.quantilizer(utility=N, error=stats.norm(0, 3**0.5), q=q)
    z = stats.norm.isf(q)
    np.testing.assert_allclose(best.threshold, 2 * z, rtol=1e-10)
    np.testing.assert_allclose(best.utility, np.exp(stats.norm.logpdf(z) - stats.norm.logsf(z))
                               / 2, rtol=1e-9)
    np.testing.assert_allclose(best.kl, -np.log(q), rtol=1e-15)


def test_quantilizer_heavy_error_against_monte_carlo():
    best = remedies.quantilizer(utility=N, error=T3, q=0.01)
    proxy = Proxy(utility=N, error=T3)
    assert np.exp(proxy.logsf(best.threshold)) == pytest.approx(0.01, rel=1e-10)
    estimate = proxy.conditional_mean_monte_carlo(best.threshold, size=10**6, rng=1)
    assert abs(best.utility - estimate.value) < 4 * estimate.se


def test_quantilizer_takes_the_laws_by_keyword():
    """quantilizer(x, v, q) once took the error first: laws are keyword-only now."""
    with pytest.raises(TypeError):
        remedies.quantilizer(T3, N, 0.1)
    swapped = remedies.quantilizer(utility=T3, error=N, q=0.01).utility
    assert swapped > 3 * remedies.quantilizer(utility=N, error=T3, q=0.01).utility


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("call, match", [
    (lambda: remedies.quantilizer(utility=N, error=T3, q=1.0), "q must"),
    (lambda: remedies.quantilizer(utility=N, error=T3, q=np.nan), "q must not be NaN"),
    (lambda: remedies.bounded_objective(utility=N, error=T3, beta=-1.0, t=10.0), "beta"),
    (lambda: remedies.bounded_objective(utility=N, error=T3, beta=np.nan, t=10.0), "beta"),
    (lambda: remedies.bounded_objective(utility=N, error=T3, beta=np.inf, t=10.0), "beta"),
    (lambda: remedies.bounded_objective(utility=N, error=T3, beta=0.1, t=np.nan), "t must"),
    (lambda: remedies.bounded_objective(utility=T3, error=T3, beta=0.1, t=1.0), "utility"),
    (lambda: remedies.bounded_objective(utility=N, error=stats.t(1), beta=0.1, t=1.0),
     "error"),
    (lambda: remedies.bounded_objective(utility=N, error=stats.expon(), beta=0.1, t=-1.0),
     "t = -1"),
    (lambda: remedies.bounded_objective_optimum(utility=N, error=N, beta=0.0), "beta"),
    (lambda: remedies.three_knob(utility=N, error=T3, kl=0.0, severity=10.0), "kl must"),
    (lambda: remedies.three_knob(utility=N, error=T3, kl=np.inf, severity=10.0), "kl must"),
    (lambda: remedies.three_knob(utility=N, error=T3, kl=0.5, severity=np.nan), "severity"),
    (lambda: remedies.three_knob(utility=stats.lognorm(1), error=T3, kl=0.5, severity=1.0),
     "utility"),
    (lambda: remedies.three_knob(utility=stats.norm, error=T3, kl=0.5, severity=1.0),
     "utility"),
])
def test_bad_input_raises_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_results_keep_the_broadcast_shape():
    p = remedies.three_knob(utility=N, error=T3, kl=[[0.1], [1.0]], severity=[2.0, 20.0, 200.0])
    assert p.proxy.shape == (2, 3) and p.kl.shape == (2, 3)
    assert np.all(p.proxy[1] > p.proxy[0])  # more budget, more reward


def test_bounded_objective_refuses_a_threshold_where_the_body_is_empty():
    """Far left of a Student-t the tail mass P(X > t) rounds to 1: the Bernoulli KL of the
    blocks had no body and raised a ValueError about an internal argument (log_p)."""
    with pytest.raises(ValueError, match=r"^t = -5.3e\+102: P\(X > t\) rounds to 1"):
        remedies.bounded_objective(utility=stats.norm(), error=stats.t(3), beta=0.1, t=-5.3e102)
