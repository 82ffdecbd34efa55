"""Theorem 1's reweighting P_t: reference tests against mpmath, properties, bad input."""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from goodhart.divergences import bernoulli_kl
from goodhart.reweighting import upweight_tail

THRESHOLDS = [2.0, 10.0, 1e3, 1e6, 1e12]
DPS = 80  # the Student-t tail below cancels ~24 digits at t = 1e12


def student_t3(t):
    """Mean, tail mass Fbar(t) and tail first moment int_t^inf x f(x) dx of Student-t(3)."""
    s3 = mp.sqrt(3)
    return mp.mpf(0), (mp.atan(s3 / t) - s3 * t / (3 + t**2)) / mp.pi, 3 * s3 / (mp.pi * (3 + t**2))


def pareto2(t):
    """The same for scipy's pareto(2): density 2 x^-3 on x >= 1."""
    return mp.mpf(2), t**-2, 2 / t


def lognormal1(t):
    """The same for scipy's lognorm(1): log X ~ N(0, 1)."""
    log_t = mp.log(t)
    return mp.e**0.5, mp.ncdf(-log_t), mp.e**0.5 * mp.ncdf(1 - log_t)


CASES = {
    "student_t3": (stats.t(3), student_t3),
    "pareto2": (stats.pareto(2), pareto2),
    "lognormal1": (stats.lognorm(1), lognormal1),
}


def reference(facts, t, mass):
    """E_{P_t}[X] and D(P_t || Q) from the closed-form tail facts, in mpmath."""
    with mp.workdps(DPS):
        t, m = mp.mpf(t), mp.mpf(mass)
        mean, tail, first_moment = facts(t)
        body_mean = (mean - first_moment) / (1 - tail)
        tail_mean = first_moment / tail
        kl = m * mp.log(m / tail) + (1 - m) * mp.log((1 - m) / (1 - tail))
        return float((1 - m) * body_mean + m * tail_mean), float(kl)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("t", THRESHOLDS)
def test_mean_and_kl_match_mpmath(name, t):
    q, facts = CASES[name]
    mass = 1 / t
    expected_mean, expected_kl = reference(facts, t, mass)
    result = upweight_tail(q, t, mass)
    assert result.mean == pytest.approx(expected_mean, rel=1e-9)
    assert result.kl == pytest.approx(expected_kl, rel=1e-9)


@pytest.mark.parametrize("name", CASES)
def test_density_integrates_to_one_and_reproduces_mean_and_kl(name):
    """Quadrature of the density P_t agrees with the block formulas."""
    q, _ = CASES[name]
    result = upweight_tail(q, 10.0, 0.3)
    lo = q.support()[0]
    pieces = [(lo, 10.0), (10.0, np.inf)]

    def integral(f):
        return sum(integrate.quad(f, a, b, limit=200, epsrel=1e-11)[0] for a, b in pieces)

    assert integral(result.pdf) == pytest.approx(1.0, rel=1e-8)
    assert integral(lambda x: x * result.pdf(x)) == pytest.approx(result.mean, rel=1e-7)
    kl = integral(lambda x: result.pdf(x) * result.log_likelihood_ratio(x))
    assert kl == pytest.approx(result.kl, rel=1e-8)


def test_bernoulli_kl_far_tail_against_mpmath():
    """p = e^-1000 underflows in double precision; the KL must not."""
    mass, log_p = 1e-3, -1000.0
    with mp.workdps(50):
        p = mp.exp(log_p)
        m = mp.mpf(mass)
        expected = float(m * mp.log(m / p) + (1 - m) * mp.log((1 - m) / (1 - p)))
    assert float(bernoulli_kl(mass, log_p)) == pytest.approx(expected, rel=1e-13)


DISTRIBUTIONS = [stats.t(3), stats.pareto(2.5, loc=-1), stats.lognorm(0.7), stats.norm()]
thresholds = st.floats(min_value=0.5, max_value=1e8)
masses = st.floats(min_value=1e-12, max_value=1 - 1e-9)


def rounding_allowance(mass):
    """Bound on the rounding error of the two-term KL sum, relative to its terms."""
    return 16 * np.finfo(float).eps * (mass * (1 + abs(np.log(mass))) + 1e-300)


@settings(max_examples=60, deadline=None)
@given(q=st.sampled_from(DISTRIBUTIONS), t=thresholds, mass=masses)
def test_kl_is_nonnegative(q, t, mass):
    assert upweight_tail(q, t, mass).kl >= -rounding_allowance(mass)


@settings(max_examples=60, deadline=None)
@given(q=st.sampled_from(DISTRIBUTIONS[:3]), t=thresholds)
def test_kl_vanishes_at_the_base_tail_mass(q, t):
    """D(P_t || Q) = 0 when P_t puts on (t, inf) the mass Q already does (P_t = Q)."""
    mass = float(q.sf(t))
    result = upweight_tail(q, t, mass)
    assert abs(result.kl) <= rounding_allowance(mass)
    assert result.mean == pytest.approx(q.mean(), rel=1e-8, abs=1e-10)


@settings(max_examples=40, deadline=None)
@given(q=st.sampled_from(DISTRIBUTIONS), t=thresholds, m1=masses, m2=masses, m3=masses)
def test_mean_is_affine_in_mass(q, t, m1, m2, m3):
    means = [upweight_tail(q, t, m).mean for m in (m1, m2, m3)]
    slope = upweight_tail(q, t, 0.75).mean - upweight_tail(q, t, 0.25).mean
    for m, mean in zip((m2, m3), means[1:], strict=True):
        assert mean - means[0] == pytest.approx(
            2 * slope * (m - m1), rel=1e-9, abs=1e-9 * abs(slope)
        )


@pytest.mark.parametrize("mass", [0.0, 1.0, -0.1, 1.5, np.nan])
def test_mass_outside_unit_interval_is_rejected(mass):
    with pytest.raises(ValueError, match=r"mass must lie in \(0, 1\)"):
        upweight_tail(stats.t(3), 5.0, mass)


@pytest.mark.parametrize("q", [stats.levy(), stats.cauchy(), stats.pareto(1.0)])
def test_distribution_without_finite_mean_is_rejected(q):
    with pytest.raises(ValueError, match="no finite mean"):
        upweight_tail(q, 5.0, 0.1)


@pytest.mark.parametrize("t", [np.inf, -np.inf, np.nan])
def test_non_finite_threshold_is_rejected(t):
    with pytest.raises(ValueError, match="t must (be finite|not be NaN)"):
        upweight_tail(stats.t(3), t, 0.1)


def test_threshold_outside_support_is_rejected():
    with pytest.raises(ValueError, match="inside the support"):
        upweight_tail(stats.pareto(2), 0.5, 0.1)
