"""Reference tests of goodhart.tails against closed forms evaluated in mpmath."""

import warnings

import mpmath as mp
import numpy as np
import pytest
from scipy import stats

from goodhart import tails

mp.mp.dps = 40


def normal_tail_mean(t):
    """E[X | X > t] for a standard normal: phi(t) / Phi(-t), in mpmath."""
    t = mp.mpf(t)
    return mp.npdf(t) / mp.ncdf(-t)


@pytest.mark.parametrize("t", [-30.0, -5.0, 0.0, 1.0, 5.0, 30.0, 37.0])
def test_normal_tail_mean_matches_mills_ratio(t):
    assert tails.tail_mean(stats.norm(), t) == pytest.approx(float(normal_tail_mean(t)), rel=1e-10)


@pytest.mark.parametrize("t", [-37.0, -30.0, -5.0, 0.0, 2.0, 30.0])
def test_normal_body_mean_is_mirrored_tail_mean(t):
    assert tails.body_mean(stats.norm(), t) == pytest.approx(
        -float(normal_tail_mean(-t)), rel=1e-10
    )


@pytest.mark.parametrize("t", [0.0, 3.0, 700.0])
def test_exponential_tail_mean_is_memoryless(t):
    assert tails.tail_mean(stats.expon(scale=2.0), t) == pytest.approx(t + 2.0, rel=1e-12)


@pytest.mark.parametrize("t", [2.0, 1e3, 1e6, 1e12])
def test_student_t3_tail_mean(t):
    """Closed forms for t(3): int_t^inf x f = 3 sqrt3 / (pi (3 + t^2)),
    Fbar(t) = (atan(sqrt3 / t) - sqrt3 t / (3 + t^2)) / pi."""
    with mp.workdps(80):
        s3, tt = mp.sqrt(3), mp.mpf(t)
        first_moment = 3 * s3 / (mp.pi * (3 + tt**2))
        tail = (mp.atan(s3 / tt) - s3 * tt / (3 + tt**2)) / mp.pi
        expected = float(first_moment / tail)
    assert tails.tail_mean(stats.t(3), t) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("t", [1e160, 1e200, 1e280])
def test_student_t3_means_beyond_scipy_density_reach(t):
    """Beyond |t| ~ 1.3e154 scipy's t density squares its argument and is -inf, and both
    means were refused; the closed-form density reaches on: E[X | X > t] and, mirrored,
    E[X | X <= -t] against int_t^inf x f = 3 sqrt3 / (pi (3 + t^2)) over the incomplete beta
    tail, Fbar(t) = I_{3 / (3 + t^2)}(3/2, 1/2) / 2 (about 1.5 t)."""
    with mp.workdps(40):
        tt = mp.mpf(t)
        tail = mp.betainc(mp.mpf(3) / 2, mp.mpf(1) / 2, 0, 3 / (3 + tt**2), regularized=True) / 2
        expected = float(3 * mp.sqrt(3) / (mp.pi * (3 + tt**2)) / tail)
    assert tails.tail_mean(stats.t(3), t) == pytest.approx(expected, rel=1e-10)
    assert tails.body_mean(stats.t(3), -t) == pytest.approx(-expected, rel=1e-10)


def test_a_tail_integral_past_the_largest_double_is_refused_by_name():
    """At t = 1e300 the integral of the t(3) tail (scale t / 2) would run past 1.8e308, where
    the integrand reads as 0 and the mean would come out short (1.25 t, not 1.5 t)."""
    with pytest.raises(ValueError, match=r"^t = 1e\+300 is too far out for the t law"):
        tails.tail_mean(stats.t(3), 1e300)


def test_tail_mean_below_support_is_the_mean():
    q = stats.pareto(2.0)
    assert tails.tail_mean(q, 0.5) == pytest.approx(2.0, rel=1e-14)


def test_tail_mean_vectorizes():
    t = np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(tails.tail_mean(stats.expon(), t), t + 1.0, rtol=1e-12)


@pytest.mark.parametrize("log_p", [-1e-300, -1e-20, -1e-5, -0.5, -np.log(2), -1.0, -50.0, -800.0])
def test_log1mexp_against_mpmath(log_p):
    expected = float(mp.log(-mp.expm1(mp.mpf(log_p))))
    assert tails.log1mexp(log_p) == pytest.approx(expected, rel=1e-14)


def test_log_cdf_keeps_the_tail_where_cdf_rounds_to_one():
    # F(40) = 1 - Fbar(40) with Fbar(40) ~ 4e-350: log F(40) = -Fbar(40), below double range.
    # At 30, Fbar ~ 5e-198 is representable and log F(30) ~ -Fbar(30) must keep it.
    expected = -float(mp.ncdf(-30))
    assert tails.log_cdf(stats.norm(), 30.0) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("x", [0.5, 5.0, 50.0])
def test_subexponential_ratio_exponential_is_gamma_tail(x):
    """X1 + X2 ~ Gamma(2): P(X1+X2 > x) / P(X > x) = 1 + x."""
    assert tails.subexponential_ratio(stats.expon(), x) == pytest.approx(1 + x, rel=1e-9)


@pytest.mark.parametrize("x", [0.0, 3.0, 12.0])
def test_subexponential_ratio_normal_is_normal_sum(x):
    expected = float(mp.ncdf(-x / mp.sqrt(2)) / mp.ncdf(-x))
    assert tails.subexponential_ratio(stats.norm(), x) == pytest.approx(expected, rel=1e-9)


def test_subexponential_ratio_beyond_double_range_is_inf():
    """The normal's ratio ~ sqrt(2) exp(x^2 / 4) passes 1.8e308 near x = 53."""
    log_expected = float(mp.log(mp.ncdf(-50 / mp.sqrt(2)) / mp.ncdf(-50)))
    assert np.log(tails.subexponential_ratio(stats.norm(), 50.0)) == pytest.approx(
        log_expected, rel=1e-10
    )
    assert tails.subexponential_ratio(stats.norm(), 60.0) == np.inf


def test_subexponential_ratio_pareto_tends_to_two():
    """Pareto(2) is subexponential; P(X1+X2 > x) has a closed form we check at large x."""
    ratios = tails.subexponential_ratio(stats.pareto(2.0), [1e2, 1e4, 1e6])
    gaps = np.abs(ratios - 2.0)
    assert gaps[-1] < 1e-4
    assert np.all(np.diff(gaps) < 0)


def test_pareto_sum_tail_exact():
    """For Pareto(1) (density y^-2 on y >= 1) the convolution is elementary; check at x = 10.

    P(X1 + X2 > x) = 1 - int_1^{x-1} y^-2 (1 - (x-y)^-1) dy, evaluated in mpmath.
    """
    x = mp.mpf(10)
    inner = mp.quad(lambda y: y**-2 * (1 - 1 / (x - y)), [1, x - 1])
    expected = float((1 - inner) / (1 / x))
    assert tails.subexponential_ratio(stats.pareto(1.0), 10.0) == pytest.approx(expected, rel=1e-9)


def test_decay_rate_separates_light_from_heavy():
    x = 1e4
    assert tails.decay_rate(stats.expon(scale=2), x) == pytest.approx(0.5, rel=1e-12)
    assert tails.decay_rate(stats.t(3), x) < 1e-2


def test_no_finite_mean_is_rejected():
    with pytest.raises(ValueError, match="no finite mean"):
        tails.tail_mean(stats.levy(), 3.0)
    with pytest.raises(ValueError, match="no finite mean"):
        tails.tail_mean(stats.cauchy(), 3.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_threshold_is_rejected(bad):
    with pytest.raises(ValueError, match="t must (be finite|not be NaN)"):
        tails.tail_mean(stats.norm(), bad)


def test_threshold_beyond_support_is_rejected():
    with pytest.raises(ValueError, match="upper end of the support"):
        tails.tail_mean(stats.uniform(), 1.0)
    with pytest.raises(ValueError, match="lower end of the support"):
        tails.body_mean(stats.expon(), 0.0)


@pytest.mark.parametrize("x", [40.0, 1e3, 1e6, 1e12, 1e100])
def test_light_tail_far_beyond_scipy_both_sides(x):
    """skewnorm(4) has P(X > x) = 2 Phi(-x) (1 - O(e^{-8 x^2})) far out, where scipy's logsf
    is -inf and the density's scale (1/x) is below the spacing of doubles near x; the lower
    tail of skewnorm(-4) is its mirror image. Relative error below 1e-8 (Laplace, first order).
    """
    with mp.workdps(40):
        expected = float(mp.log(2 * mp.ncdf(-mp.mpf(x))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        upper = tails.log_sf(stats.skewnorm(4), x)
        lower = tails.log_cdf(stats.skewnorm(-4), -x)
    assert upper == pytest.approx(expected, rel=1e-8, abs=1e-8)
    assert lower == pytest.approx(expected, rel=1e-8, abs=1e-8)
