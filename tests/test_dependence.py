"""Reference tests of goodhart.dependence: the footnote's gated error against 30-digit mpmath
quadrature, scipy quadrature and a seeded Monte Carlo of the model as stated; the cancelling
pair against its closed forms and a Monte Carlo; the product reweightings against quadrature of
their densities; the discrete error against the Gumbel closed forms in mpmath."""

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from goodhart import dependence
from goodhart.reweighting import upweight_tail

FOOTNOTE = dependence.GatedError(utility=stats.norm(), error=stats.norm(0, 2), low=-1, high=1)


def mp_gated_mean(t, loc=0.0, scale=1.0, low=-1.0, high=1.0, noise=2.0):
    """E[V | U >= t], V ~ N(loc, scale^2), X | V ~ N(0, noise^2) on [low, high], else X = 0."""
    with mp.workdps(30):
        t, loc, scale = mp.mpf(t), mp.mpf(loc), mp.mpf(scale)
        low, high = mp.mpf(low), mp.mpf(high)

        def density(v):
            return mp.npdf(v, loc, scale)

        def weight(v):
            return density(v) * mp.ncdf(-(t - v) / noise)

        points = mp.linspace(low, high, 81)  # the weight piles up at `high` on a scale 4/t
        num = mp.quad(lambda v: v * weight(v), points)
        den = mp.quad(weight, points)
        # off the window U = V: V >= t and V outside [low, high]
        for a, b in [(max(t, high), mp.inf), (t, low)]:
            if a < b:
                num += mp.quad(lambda v: v * density(v), [a, b])
                den += mp.ncdf(b, loc, scale) - mp.ncdf(a, loc, scale)
        return float(num / den)


@pytest.mark.parametrize("t", [-2.0, 0.5, 2.0, 8.0, 64.0, 512.0])
def test_footnote_against_mpmath(t):
    assert FOOTNOTE.conditional_mean(t) == pytest.approx(mp_gated_mean(t), rel=1e-9)


def test_footnote_limit_is_the_top_of_the_window():
    """1 - E[V | U >= t] is about 1 / lambda(t) (an exponential tilt at the window's top)."""
    t = np.array([64.0, 1000.0, 1e4])
    mean = FOOTNOTE.conditional_mean(t)
    assert np.all(np.diff(mean) > 0) and mean[-1] > 0.9995
    assert np.allclose((1 - mean) * FOOTNOTE.tilt_rate(t), 1, atol=0.02)
    noisy, exact = FOOTNOTE.branches(64.0)
    assert noisy == pytest.approx(-504.6118, abs=1e-4) and exact < noisy - 1500


def test_footnote_against_monte_carlo():
    t = np.array([-1.0, 1.0, 2.0, 3.0])
    estimate = FOOTNOTE.conditional_mean_monte_carlo(t, size=1_000_000, rng=2024)
    assert np.all(np.abs(estimate.value - FOOTNOTE.conditional_mean(t)) < 4 * estimate.se)
    draws = FOOTNOTE.sample(10_000, rng=1)
    off = np.abs(draws.utility) > 1
    assert np.all(draws.error[off] == 0) and np.all(draws.error[~off] != 0)


# The window is kept within 6 standard deviations of V's mean: for a window that reaches
# 9 of them, Proxy on the truncated normal raises ArithmeticError at large t (reported to the
# engine's owner); the engine warns when such integrals reach only ~1e-12.
@pytest.mark.filterwarnings("ignore:the convolution integrals of U converged only")
@settings(max_examples=40, deadline=None)
@given(
    loc=st.floats(-2, 2),
    scale=st.floats(0.3, 3),
    low_sd=st.floats(-4, 3),
    width_sd=st.floats(0.2, 3),
    noise=st.floats(0.5, 3),
    t=st.floats(-6, 12),
)
def test_gated_error_against_scipy_quadrature(loc, scale, low_sd, width_sd, noise, t):
    low, high = loc + low_sd * scale, loc + (low_sd + width_sd) * scale
    width = high - low
    model = dependence.GatedError(
        utility=stats.norm(loc, scale), error=stats.norm(0, noise), low=low, high=high
    )
    v = stats.norm(loc, scale)

    def density(s):  # V's, written out: scipy's frozen pdf costs ~50 us a call inside quad
        return math.exp(-0.5 * ((s - loc) / scale) ** 2) / (scale * math.sqrt(2 * math.pi))

    def weight(s):
        return density(s) * 0.5 * math.erfc((t - s) / (noise * math.sqrt(2)))

    # the weight can be steep at either end of the window: breakpoints packed towards both
    steps = width * 2.0 ** -np.arange(1, 30)
    points = np.unique(np.concatenate([[low, high], low + steps, high - steps]))
    num = den = 0.0
    for a, b in zip(points[:-1], points[1:], strict=True):
        num += integrate.quad(lambda s: s * weight(s), a, b, epsabs=1e-16, epsrel=1e-12)[0]
        den += integrate.quad(weight, a, b, epsabs=1e-300, epsrel=1e-12)[0]
    # off the window U = V; the probabilities as differences of tails (no cancellation)
    for a, b in [(max(t, high), np.inf), (t, low)]:
        if a < b:
            num += integrate.quad(lambda s: s * v.pdf(s), a, b, epsabs=1e-16, epsrel=1e-12)[0]
            den += v.sf(a) - v.sf(b) if a > loc else v.cdf(b) - v.cdf(a)
    assert model.conditional_mean(t) == pytest.approx(num / den, rel=1e-8, abs=1e-10)
    assert np.exp(model.logsf(t)) == pytest.approx(den, rel=1e-8, abs=1e-300)


def test_gated_error_with_loc_and_scale_against_mpmath():
    model = dependence.GatedError(utility=stats.norm(0.5, 2.0), error=stats.norm(0, 2),
                                  low=-0.5, high=2.0)
    for t in [-3.0, 1.0, 20.0]:
        expected = mp_gated_mean(t, loc=0.5, scale=2.0, low=-0.5, high=2.0)
        assert model.conditional_mean(t) == pytest.approx(expected, rel=1e-9)


def test_gated_error_refuses_bad_input():
    with pytest.raises(ValueError, match="utility"):
        dependence.GatedError(utility=stats.t(3), error=stats.norm(), low=-1, high=1)
    with pytest.raises(ValueError, match="low"):
        dependence.GatedError(utility=stats.norm(), error=stats.norm(), low=1, high=1)
    with pytest.raises(ValueError, match="error"):
        dependence.GatedError(utility=stats.norm(), error=stats.norm, low=-1, high=1)
    with pytest.raises(ValueError, match="t"):
        FOOTNOTE.conditional_mean(np.nan)


def test_cancelling_pair():
    pair = dependence.CancellingPair(utility=stats.t(3), noise=stats.laplace())
    x = np.array([100.0, 1000.0, 1e4])
    # X = W - V has V's heavy tail (ratio to the Student-t tail -> 1), U = W a Laplace one
    ratio = np.exp(pair.error_logsf(x) - stats.t(3).logsf(x))
    assert np.all(np.diff(np.abs(ratio - 1)) < 0) and abs(ratio[-1] - 1) < 1e-6
    assert pair.proxy_logsf(10.0) == pytest.approx(np.log(0.5) - 10.0, rel=1e-14)
    assert pair.utility_logsf(10.0) == pytest.approx(stats.t(3).logsf(10.0), rel=1e-14)
    draws = pair.sample(20_000, rng=3)
    assert stats.kstest(draws.proxy, "laplace").pvalue > 1e-3  # U = W
    t = np.array([1.0, 2.0])
    utility = pair.conditional_mean_monte_carlo(t, size=2_000_000, rng=3)
    error = pair.conditional_error_monte_carlo(t, size=2_000_000, rng=3)
    assert np.all(np.abs(utility.value - pair.conditional_mean(t)) < 4 * utility.se)
    assert np.all(np.abs(error.value - pair.conditional_error(t)) < 4 * error.se)
    # E[W | W >= t] = t + 1 for the Laplace law and t >= 0; E[V] = 0
    assert pair.conditional_error(t) == pytest.approx(t + 1, rel=1e-10)
    with pytest.raises(ValueError, match="symmetric"):
        dependence.CancellingPair(utility=stats.lognorm(1.0), noise=stats.norm())
    with pytest.raises(ValueError, match="utility"):
        dependence.CancellingPair(utility=stats.cauchy(), noise=stats.norm())
    with pytest.raises(ValueError, match="t"):
        pair.conditional_mean_monte_carlo(50.0, size=1000, rng=1)


def test_tilted_pair_against_quadrature_of_the_densities():
    """The mean and KL of one reweighted coordinate, from P.pdf by adaptive quadrature."""
    q = stats.t(3)
    for t in [10.0, 1e3]:
        p = upweight_tail(q, t, t**-0.8)
        pieces = [(-np.inf, 0.0), (0.0, t), (t, 2 * t), (2 * t, np.inf)]

        def quad(f, pieces=pieces):
            return sum(integrate.quad(f, a, b, limit=200, epsabs=0, epsrel=1e-11)[0]
                       for a, b in pieces)

        mean = quad(lambda x, p=p: x * p.pdf(x))
        kl = quad(lambda x, p=p: p.pdf(x) * (np.log(p.pdf(x)) - q.logpdf(x)))
        pair = dependence.tilted_pair(utility=q, error=q, t=t, utility_mass=t**-0.8)
        assert pair.utility == pytest.approx(mean, rel=1e-9)
        assert pair.kl == pytest.approx(kl, rel=1e-8)
        assert pair.error == pytest.approx(0.0, abs=1e-15)
        mirrored = dependence.tilted_pair(utility=q, error=q, t=t, error_mass=t**-0.8,
                                          error_sign=-1)
        assert mirrored.error == pytest.approx(-mean, rel=1e-12) and mirrored.kl == pair.kl
    with pytest.raises(ValueError, match="utility_mass"):
        dependence.tilted_pair(utility=q, error=q, t=10.0, utility_mass=1.5)
    with pytest.raises(ValueError, match="error_sign"):
        dependence.tilted_pair(utility=q, error=q, t=10.0, error_sign=2)


def test_both_heavy_families_reach_every_combination():
    t = np.geomspace(10.0, 1e12, 23)
    families = dependence.both_heavy_families(t)
    for name, pair in families.items():
        assert pair.kl[-1] < 1e-7, name
    a, b, c, d, e = (families[k] for k in "ABCDE")
    assert np.all(a.utility == 0) and np.all(np.diff(a.error) > 0) and a.error[-1] > 300
    assert b.utility[-1] > 300 and b.error[-1] == pytest.approx(1.5, abs=1e-6)
    # C: each coordinate returns to its base mean 0 on every other decade, and grows between
    assert c.utility[-1] > 300 and c.utility[-2] == 0 and c.error[-1] == 0 and c.error[-2] > 250
    assert d.utility[-1] > 300 and d.error[-1] < -300
    assert e.utility[-1] > 300 and e.error[-1] == e.utility[-1]
    # the mean of the t^-0.8 reweighting grows like (3/2) t^0.2
    assert a.error[-1] / (1.5 * t[-1] ** 0.2) == pytest.approx(1, rel=0.01)


def mp_gumbel_tail_moment(s):
    """E[V; V >= s] for Fbar_V(v) = exp(-e^v): e^-a log a + E1(a), a = e^s."""
    a = mp.exp(s)
    return mp.exp(-a) * mp.log(a) + mp.e1(a)


def test_discrete_error_against_mpmath():
    n = np.arange(40.0)
    for t in [5.0, 17.0, 24.0, 50.0, 65.0, 80.0]:
        got = dependence.discrete_error_conditional_mean(
            utility=stats.gumbel_l(), points=n**2, log_weights=-(n**4), t=t
        )
        with mp.workdps(60):
            weights = [mp.exp(-mp.mpf(k) ** 4) for k in range(40)]
            gaps = [mp.mpf(t) - k**2 for k in range(40)]
            num = sum(w * mp_gumbel_tail_moment(g) for w, g in zip(weights, gaps, strict=True))
            den = sum(w * mp.exp(-mp.exp(g)) for w, g in zip(weights, gaps, strict=True))
            expected = float(num / den)
        assert got == pytest.approx(expected, rel=1e-8)


def test_discrete_error_stays_bounded_on_the_squares():
    """Theorem 6's edge: no limit to infinity along t = n^2 + 1."""
    n = np.arange(40.0)
    t = np.arange(3.0, 9.0) ** 2 + 1
    mean = dependence.discrete_error_conditional_mean(
        utility=stats.gumbel_l(), points=n**2, log_weights=-(n**4), t=t
    )
    with mp.workdps(30):
        top = float(mp_gumbel_tail_moment(1) / mp.exp(-mp.e))  # E[V | V >= 1]
    assert np.allclose(mean, top, rtol=1e-9)
    with pytest.raises(ValueError, match="points"):
        dependence.discrete_error_conditional_mean(
            utility=stats.gumbel_l(), points=n**2, log_weights=-(n[:-1] ** 4), t=5.0
        )


def test_discrete_error_logsf_against_mpmath():
    n = np.arange(40.0)
    with mp.workdps(60):
        weights = [mp.exp(-mp.mpf(k) ** 4) for k in range(40)]
        total = sum(weights)
        for t in [0.5, 16.0, 17.0, 80.5]:
            expected = float(mp.log(sum(w for k, w in enumerate(weights) if k**2 > t) / total))
            got = dependence.discrete_error_logsf(points=n**2, log_weights=-(n**4), t=t)
            assert got == pytest.approx(expected, rel=1e-12)
    # flat between the squares: the step ratio is 1 there
    gaps = dependence.discrete_error_logsf(points=n**2, log_weights=-(n**4), t=[17.0, 18.0])
    assert gaps[0] == gaps[1]
