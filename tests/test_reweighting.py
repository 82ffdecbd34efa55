"""Theorem 1's reweighting P_t: reference tests against mpmath, properties, bad input.

References: the tail facts of the Student-t (3 dof), Pareto (index 2), lognormal and normal
laws in closed form, evaluated in mpmath at 80 digits (``mp.workdps``); the mass solvers
against mpmath root finding; the cheapest threshold against a brute-force grid.
"""

import warnings

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from goodhart import Proxy
from goodhart.divergences import bernoulli_kl
from goodhart.reweighting import (
    TailReweighting,
    cheapest_upweighting,
    upweight_proxy,
    upweight_proxy_gaussian,
    upweight_tail,
)

THRESHOLDS = [2.0, 10.0, 1e3, 1e6, 1e12]
DPS = 80  # the Student-t tail below cancels ~24 digits at t = 1e12


def student_t3(t):
    """Mean, tail mass Fbar(t) and tail first moment int_t^inf x f(x) dx of Student-t(3)."""
    s3 = mp.sqrt(3)
    tail = mp.mpf(1) / 2 - (mp.atan(t / s3) + s3 * t / (3 + t**2)) / mp.pi
    if t > 0:  # the same, without the cancellation far in the right tail
        tail = (mp.atan(s3 / t) - s3 * t / (3 + t**2)) / mp.pi
    return mp.mpf(0), tail, 3 * s3 / (mp.pi * (3 + t**2))


def pareto2(t):
    """The same for scipy's pareto(2): density 2 x^-3 on x >= 1."""
    return mp.mpf(2), t**-2, 2 / t


def lognormal1(t):
    """The same for scipy's lognorm(1): log X ~ N(0, 1)."""
    log_t = mp.log(t)
    return mp.e**0.5, mp.ncdf(-log_t), mp.e**0.5 * mp.ncdf(1 - log_t)


def normal(t):
    """The same for N(0, 1): int_t^inf x phi = phi(t) (and the body mass, for t << 0)."""
    return mp.mpf(0), mp.ncdf(-t), mp.npdf(t), mp.ncdf(t)


CASES = {
    "student_t3": (stats.t(3), student_t3),
    "pareto2": (stats.pareto(2), pareto2),
    "lognormal1": (stats.lognorm(1), lognormal1),
}


def blocks(facts, t, loc=0, scale=1):
    """log Fbar, body mean and tail mean at t for loc + scale X, in mpmath."""
    z = (mp.mpf(t) - loc) / scale
    mean, tail, first_moment, *body = facts(z)
    body = body[0] if body else 1 - tail
    body_mean = (mean - first_moment) / body
    tail_mean = first_moment / tail
    return mp.log(tail), loc + scale * body_mean, loc + scale * tail_mean


def reference(facts, t, mass, loc=0, scale=1):
    """E_{P_t}[X] and D(P_t || Q) from the closed-form tail facts, in mpmath."""
    with mp.workdps(DPS):
        log_tail, body_mean, tail_mean = blocks(facts, t, loc, scale)
        m, tail = mp.mpf(mass), mp.exp(log_tail)
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
def test_vectorized_sweep_matches_mpmath_and_the_scalar_calls(name):
    """One call for the chapters' sweeps: t and mass broadcast, fields of the broadcast shape."""
    q, facts = CASES[name]
    t = np.array(THRESHOLDS)[:, None]
    mass = np.array([1e-13, 1e-4, 0.3])
    result = upweight_tail(q, t, mass)
    assert isinstance(result, TailReweighting)
    assert result.mean.shape == result.kl.shape == result.threshold.shape == (5, 3)
    for i, ti in enumerate(THRESHOLDS):
        for j, mj in enumerate(mass):
            expected_mean, expected_kl = reference(facts, ti, mj)
            assert result.mean[i, j] == pytest.approx(expected_mean, rel=1e-9)
            assert result.kl[i, j] == pytest.approx(expected_kl, rel=1e-9)
    single = upweight_tail(q, THRESHOLDS[1], mass[2])
    assert isinstance(single.mean, float) and isinstance(single.kl, float)
    assert single.mean == result.mean[1, 2] and single.kl == result.kl[1, 2]
    assert np.array_equal(result.t, result.threshold)


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


def test_density_broadcasts_against_the_thresholds():
    q = stats.t(3)
    result = upweight_tail(q, np.array([2.0, 5.0]), 0.2)
    x = np.linspace(-3, 9, 7)[:, None]
    density = result.pdf(x)
    assert density.shape == (7, 2)
    assert density[:, 1] == pytest.approx(upweight_tail(q, 5.0, 0.2).pdf(x[:, 0]), rel=1e-14)
    assert result.logpdf(x) == pytest.approx(np.log(density), rel=1e-14)


def test_bernoulli_kl_far_tail_against_mpmath():
    """p = e^-1000 underflows in double precision; the KL must not."""
    mass, log_p = 1e-3, -1000.0
    with mp.workdps(50):
        p = mp.exp(log_p)
        m = mp.mpf(mass)
        expected = float(m * mp.log(m / p) + (1 - m) * mp.log((1 - m) / (1 - p)))
    assert float(bernoulli_kl(mass, log_p)) == pytest.approx(expected, rel=1e-13)


def test_far_right_threshold_of_a_light_tail():
    """t = 40 for the normal: Fbar = 3.7e-350 is below the double range; log Fbar is not."""
    result = upweight_tail(stats.norm(), 40.0, 1e-3)
    with mp.workdps(DPS):
        log_tail, body, tail = blocks(normal, 40)
        m = mp.mpf("1e-3")
        expected_kl = float(m * (mp.log(m) - log_tail) + (1 - m) * mp.log1p(-m))
        expected_mean = float((1 - m) * body + m * tail)
    assert result.log_tail == pytest.approx(float(log_tail), rel=1e-13)
    assert result.kl == pytest.approx(expected_kl, rel=1e-12)
    assert result.mean == pytest.approx(expected_mean, rel=1e-12)


# --------------------------------------------------------------------------------------------
# Theorem 1's rate: the exact KL against the terms of the proof


@pytest.mark.parametrize("name, alpha", [("student_t3", 3), ("pareto2", 2)])
def test_kl_rate_terms(name, alpha):
    """With m = c/t: KL / (m log(m/Fbar) - m) -> 1; KL / (-m log Fbar) -> 1 - 1/alpha."""
    q, facts = CASES[name]
    t = np.array([1e4, 1e8, 1e12])
    result = upweight_tail(q, t, 1 / t)
    with mp.workdps(DPS):
        for i, ti in enumerate(t):
            log_tail = blocks(facts, ti)[0]
            m = 1 / mp.mpf(ti)
            assert result.kl_tail_term[i] == pytest.approx(float(m * (mp.log(m) - log_tail)),
                                                           rel=1e-12)
            assert result.kl_proof_term[i] == pytest.approx(float(-m * log_tail), rel=1e-12)
    # the leading term's error is Fbar + m^2 / 2 + O(m Fbar + m^3): here below m^1.9
    assert np.all(np.abs(result.kl - result.kl_leading) < (1 / t) ** 1.9)
    assert abs(result.kl[-1] / result.kl_leading[-1] - 1) < 1e-10
    assert abs(result.kl[-1] / result.kl_proof_term[-1] - (1 - 1 / alpha)) < 0.03
    # the tail term alone is asymptotically exact too, more slowly (it misses the -m)
    assert abs(result.kl[-1] / result.kl_tail_term[-1] - 1) < 0.04


def test_kl_expansion_second_order():
    """KL = m log(m/Fbar) - m + Fbar + m^2/2 + O(m^3 + m Fbar), checked at small m and Fbar."""
    q, facts = CASES["pareto2"]
    for t, m in [(1e3, 1e-4), (1e5, 1e-6)]:
        result = upweight_tail(q, t, m)
        fbar = np.exp(result.log_tail)
        remainder = result.kl - (result.kl_leading + fbar + m**2 / 2)
        assert abs(remainder) < 10 * (m**3 + m * fbar) + 1e-15 * result.kl


# --------------------------------------------------------------------------------------------
# The solvers: mass for a mean, mass for a KL, the cheapest threshold


@pytest.mark.parametrize("name", ["student_t3", "normal"])
def test_mass_for_a_target_mean(name):
    q, facts = (stats.t(3), student_t3) if name == "student_t3" else (stats.norm(), normal)
    t = np.array([1.0, 3.0, 10.0, 30.0])
    result = upweight_tail(q, t, mean=1.0)
    assert result.mean == pytest.approx(np.ones(4), rel=1e-12)
    with mp.workdps(DPS):
        for i, ti in enumerate(t):
            _, body, tail = blocks(facts, ti)
            assert result.mass[i] == pytest.approx(float((1 - body) / (tail - body)), rel=1e-10)


def test_mass_for_a_target_mean_that_no_mass_reaches():
    with pytest.raises(ValueError, match=r"^mean = 5 is not reached at t = 2"):
        upweight_tail(stats.norm(), 2.0, mean=5.0)  # E[X | X > 2] = 2.37 < 5


@pytest.mark.parametrize("kl", [1e-10, 1e-3, 1.0, 5.0])
def test_mass_for_a_kl_budget(kl):
    """The upweighting root m > Fbar(t) of D(Bern(m) || Bern(Fbar)) = kl, against mpmath."""
    q, t = stats.t(3), np.array([10.0, 1e3, 1e6])
    result = upweight_tail(q, t, kl=kl)
    assert result.kl == pytest.approx(np.full(3, kl), rel=1e-9)
    with mp.workdps(DPS):
        for i, ti in enumerate(t):
            log_tail = blocks(student_t3, ti)[0]
            p = mp.exp(log_tail)

            lo, hi = p, mp.mpf(1)  # the KL rises from 0 at m = p to -log p at m = 1
            for _ in range(200):
                m = (lo + hi) / 2
                if m * mp.log(m / p) + (1 - m) * mp.log((1 - m) / (1 - p)) > kl:
                    hi = m
                else:
                    lo = m
            assert result.mass[i] == pytest.approx(float((lo + hi) / 2), rel=1e-8)
            assert result.mass[i] > float(p)


def test_kl_budget_zero_and_too_large():
    q = stats.pareto(2)
    base = upweight_tail(q, 10.0, kl=0.0)
    assert base.mass == pytest.approx(0.01, rel=1e-14) and base.kl < 1e-15
    with pytest.raises(ValueError, match=r"^kl = 5 is not reached at t = 10: .* -log Fbar"):
        upweight_tail(q, 10.0, kl=5.0)  # -log Fbar(10) = log 100 = 4.6


def test_cheapest_threshold_for_the_normal():
    """The chapter's number, and a brute-force grid: no two-block P_t with mean 1 beats it,
    and all of them cost more than Theorem 3's floor of 1/2 nat."""
    best = cheapest_upweighting(stats.norm(), 1.0, bounds=(0.2, 5.0))
    assert best.mean == pytest.approx(1.0, rel=1e-12)
    assert best.threshold == pytest.approx(0.9114, abs=5e-4)
    assert best.kl == pytest.approx(0.753909, abs=1e-6)
    grid = np.linspace(0.35, 5.0, 40)
    brute = upweight_tail(stats.norm(), grid, mean=1.0).kl
    assert best.kl <= brute.min() + 1e-12
    assert best.kl > 0.5


def test_cheapest_threshold_vectorizes_over_the_mean():
    best = cheapest_upweighting(stats.norm(), np.array([0.5, 1.0]), bounds=(0.1, 5.0))
    assert best.mean == pytest.approx([0.5, 1.0], rel=1e-12)
    assert best.kl[1] == pytest.approx(0.753909, abs=1e-6)
    assert best.kl[0] < best.kl[1]


def test_cheapest_threshold_for_a_heavy_tail_warns_at_the_edge():
    """Theorem 1: for a heavy tail the infimum is 0, as t -> inf; the search reports the edge."""
    with pytest.warns(RuntimeWarning, match="upper end of bounds"):
        best = cheapest_upweighting(stats.t(3), 1.0, bounds=(2.0, 1e4))
    assert best.threshold == 1e4 and best.kl < 1e-2


@pytest.mark.parametrize("bounds", [(5.0, 1.0), (-np.inf, 1.0), (0.5, np.nan), "ab", 3.0])
def test_cheapest_threshold_bad_bounds(bounds):
    with pytest.raises(ValueError, match="^bounds must"):
        cheapest_upweighting(stats.norm(), 1.0, bounds=bounds)


def test_cheapest_threshold_bad_mean():
    with pytest.raises(ValueError, match="^mean must exceed"):
        cheapest_upweighting(stats.norm(), -0.5, bounds=(0.1, 2.0))
    with pytest.raises(ValueError, match="^mean = 50 is reached by no P_t"):
        cheapest_upweighting(stats.norm(), 50.0, bounds=(0.1, 2.0))


# --------------------------------------------------------------------------------------------
# Properties


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
    means = upweight_tail(q, t, np.array([m1, m2, m3])).mean
    slope = upweight_tail(q, t, 0.75).mean - upweight_tail(q, t, 0.25).mean
    for m, mean in zip((m2, m3), means[1:], strict=True):
        assert mean - means[0] == pytest.approx(
            2 * slope * (m - m1), rel=1e-9, abs=1e-9 * abs(slope)
        )


def _value_or_named_error(call, names):
    """The call's value, or None if it raised a ValueError whose message names an argument."""
    try:
        return call()
    except ValueError as error:
        assert str(error).startswith(names), str(error)
    return None


@settings(max_examples=60, deadline=None)
@given(loc=st.floats(-1e3, 1e3), scale=st.floats(1e-3, 1e3), z=st.floats(-1e12, 1e12),
       log_mass=st.floats(-300, -1e-12))
def test_student_t_over_the_whole_domain(loc, scale, z, log_mass):
    """Thresholds far in both tails, any mass, loc/scale laws: mpmath agrees to 1e-9, or a
    ValueError names the argument."""
    t, mass = loc + scale * z, float(np.exp(log_mass))
    q = stats.t(3, loc=loc, scale=scale)
    result = _value_or_named_error(lambda: upweight_tail(q, t, mass), ("t ", "mass "))
    if result is None:
        return
    expected_mean, expected_kl = reference(student_t3, t, mass, loc, scale)
    with mp.workdps(DPS):
        _, body, tail = blocks(student_t3, t, loc, scale)
        size = float(abs((1 - mp.mpf(mass)) * body) + abs(mp.mpf(mass) * tail))
    assert result.kl == pytest.approx(expected_kl, rel=1e-9, abs=1e-300)
    assert result.mean == pytest.approx(expected_mean, rel=0, abs=1e-9 * size + 1e-12 * abs(loc))


@settings(max_examples=30, deadline=None)
@given(z=st.floats(-30, 30), target=st.floats(-5, 5), kl=st.floats(0, 50))
def test_normal_solvers_over_the_domain(z, target, kl):
    """mean= and kl= hit their targets, or a ValueError names the target."""
    q = stats.norm()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        by_mean = _value_or_named_error(lambda: upweight_tail(q, z, mean=target), "mean = ")
        by_kl = _value_or_named_error(lambda: upweight_tail(q, z, kl=kl), "kl = ")
    with mp.workdps(DPS):
        log_tail, body, tail = blocks(normal, z)
        exact_mass = float((target - body) / (tail - body))
        log_tail, body, tail = float(log_tail), float(body), float(tail)
    if by_mean is None:  # refused only where no mass in (0, 1) in doubles gives that mean
        assert not 0 < exact_mass < 1
    else:
        rounding = 8 * np.finfo(float).eps * (abs(body) + abs(tail))
        assert by_mean.mean == pytest.approx(target, rel=1e-10, abs=rounding)
    if by_kl is None:  # beyond -log Fbar, or a tail mass that rounds to 1 (Fbar ~ 1)
        assert kl >= -log_tail * (1 - 1e-9) or np.exp(log_tail) > 1 - 1e-15
    else:
        assert by_kl.kl == pytest.approx(kl, rel=1e-9, abs=1e-15)
        assert by_kl.mass >= np.exp(log_tail) * (1 - 1e-12)


# --------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("mass", [0.0, 1.0, -0.1, 1.5])
def test_mass_outside_unit_interval_is_rejected(mass):
    with pytest.raises(ValueError, match=r"mass must lie in \(0, 1\)"):
        upweight_tail(stats.t(3), 5.0, mass)


@pytest.mark.parametrize("mass", [np.nan, "0.1", [0.1, np.nan]])
def test_mass_not_a_number_is_rejected(mass):
    with pytest.raises(ValueError, match="^mass must"):
        upweight_tail(stats.t(3), 5.0, mass)


@pytest.mark.parametrize("q", [stats.levy(), stats.cauchy(), stats.pareto(1.0)])
def test_distribution_without_finite_mean_is_rejected(q):
    with pytest.raises(ValueError, match="no finite mean"):
        upweight_tail(q, 5.0, 0.1)


@pytest.mark.parametrize("q", [None, "t", stats.t, stats.poisson(3.0), 2.0],
                         ids=lambda q: repr(q)[:16])
def test_bad_laws_are_rejected(q):
    with pytest.raises(ValueError, match="^q "):
        upweight_tail(q, 5.0, 0.1)
    with pytest.raises(ValueError, match="^q "):
        cheapest_upweighting(q, 1.0, bounds=(0.5, 2.0))


@pytest.mark.parametrize("t", [np.inf, -np.inf, np.nan, "5"])
def test_non_finite_threshold_is_rejected(t):
    with pytest.raises(ValueError, match="t must (be finite|not be NaN|be a real|hold real)"):
        upweight_tail(stats.t(3), t, 0.1)


def test_threshold_outside_support_is_rejected():
    with pytest.raises(ValueError, match="^t = 0.5 must lie inside the support"):
        upweight_tail(stats.pareto(2), 0.5, 0.1)
    with pytest.raises(ValueError, match="^t = 1 must lie inside the support"):
        upweight_tail(stats.uniform(), [0.5, 1.0], 0.1)


@pytest.mark.parametrize("kwargs", [{}, {"mass": 0.1, "mean": 1.0}, {"mean": 1.0, "kl": 0.1},
                                    {"mass": 0.1, "kl": 0.1}])
def test_exactly_one_target(kwargs):
    with pytest.raises(ValueError, match="give exactly one of mass, mean or kl"):
        upweight_tail(stats.t(3), 5.0, **kwargs)


@pytest.mark.parametrize("kl", [-1.0, np.nan, np.inf])
def test_bad_kl(kl):
    with pytest.raises(ValueError, match="^kl must"):
        upweight_tail(stats.t(3), 5.0, kl=kl)


# ---------------------------------------------------------------------------------------
# The corollary: the two blocks on the law of U = X + V


def proxy_reference(t, mass, utility_mean=None):
    """E_P[V], E_P[X], D(P || Q) for X ~ t(3), V | X = e ~ N(g(e), 1), in mpmath at 30 digits
    (more far left, where the body's means are differences of totals that agree to ``|t|^-3``).

    Independent (g = 0): integrate over V, with the Student-t(3) tail in closed form,
    Fbar(a) = 1/2 - (atan(a/s3) + s3 a/(3+a^2))/pi and E[X; X > a] = (3 + a^2)/2 f(a).
    Dependent: integrate over X, with the normal tail of V given X in closed form.
    """
    with mp.workdps(30 + 4 * max(0, int(np.log10(-t))) if t < -1 else 30):
        s3, t, m = mp.sqrt(3), mp.mpf(t), mp.mpf(mass)

        def density(e):
            return 6 * s3 / (mp.pi * (3 + e**2) ** 2)

        if utility_mean is None:
            def sf(a):
                if a > 0:  # no cancellation far in the right tail
                    return (mp.atan(s3 / a) - s3 * a / (3 + a**2)) / mp.pi
                return mp.mpf(1) / 2 - (mp.atan(a / s3) + s3 * a / (3 + a**2)) / mp.pi

            def over(f):
                return mp.quad(lambda v: mp.npdf(v) * f(v), [-mp.inf, -5, 0, 5, mp.inf])

            tail = over(lambda v: sf(t - v))
            v_tail = over(lambda v: v * sf(t - v))
            x_tail = over(lambda v: (3 + (t - v) ** 2) / 2 * density(t - v))
            mean_v = mp.mpf(0)
        else:
            def over(f):
                cuts = sorted({-mp.inf, -20, 0, 20, t - 20, t - 5, t, t + 5, t + 20, 2 * t + 40,
                               mp.inf})
                return mp.quad(lambda e: density(e) * f(e), cuts)

            def w(e):
                return t - e - utility_mean(e)

            tail = over(lambda e: mp.ncdf(-w(e)))
            v_tail = over(lambda e: utility_mean(e) * mp.ncdf(-w(e)) + mp.npdf(w(e)))
            x_tail = over(lambda e: e * mp.ncdf(-w(e)))
            mean_v = over(utility_mean)

        def blocks(total, upper):
            return (1 - m) * (total - upper) / (1 - tail) + m * upper / tail

        kl = m * mp.log(m / tail) + (1 - m) * mp.log((1 - m) / (1 - tail))
        return float(blocks(mean_v, v_tail)), float(blocks(0, x_tail)), float(kl)


PROXY = Proxy(utility=stats.norm(), error=stats.t(3))


@pytest.mark.parametrize("t", [-1e6, -1e3, -30.0, 0.0, 2.0, 20.0, 1e4])
@pytest.mark.parametrize("mass", [0.3, 1e-3])
def test_upweight_proxy_against_mpmath(t, mass):
    """Far left the body {U < t} is the small block: its means are computed directly (from
    the totals they came out at -6.5e78 for E_P[V] at t = -1e30)."""
    utility, error, kl = proxy_reference(t, mass)
    result = upweight_proxy(PROXY, t, mass)
    assert result.utility == pytest.approx(utility, rel=1e-9)
    assert result.error == pytest.approx(error, rel=1e-10)
    assert result.kl == pytest.approx(kl, rel=1e-10)
    assert result.proxy == pytest.approx(utility + error, rel=1e-10)
    assert (result.base_utility, result.base_error) == (0.0, 0.0)


def test_upweight_proxy_broadcasts_and_matches_the_scalar_calls():
    t = np.array([[3.0], [1e6]])
    mass = np.array([0.2, 1e-5, 0.2])  # repeated values, shape (2, 3) after broadcasting
    result = upweight_proxy(PROXY, t, mass)
    assert result.utility.shape == result.kl.shape == result.threshold.shape == (2, 3)
    for i, j in np.ndindex(2, 3):
        one = upweight_proxy(PROXY, float(t[i, 0]), float(mass[j]))
        assert isinstance(one.kl, float)
        assert result.utility[i, j] == pytest.approx(one.utility, rel=1e-14)
        assert result.kl[i, j] == pytest.approx(one.kl, rel=1e-14)


@pytest.mark.parametrize("t", [2.0, 20.0, 1e4])
def test_upweight_proxy_gaussian_against_mpmath(t):
    mass = 0.3

    def g(e):
        return -mp.tanh(e) if isinstance(e, mp.mpf) else -np.tanh(e)

    utility, error, kl = proxy_reference(t, mass, utility_mean=g)
    result = upweight_proxy_gaussian(stats.t(3), t, mass, utility_mean=g)
    assert result.utility == pytest.approx(utility, rel=1e-8)
    assert result.error == pytest.approx(error, rel=1e-9)
    assert result.kl == pytest.approx(kl, rel=1e-9)
    assert result.base_utility == pytest.approx(0.0, abs=1e-12)


def test_upweight_proxy_gaussian_against_monte_carlo():
    """V | X ~ N(-tanh X, 1): E_P[V] by importance weights on 4e5 draws, within 4 SE."""
    rng = np.random.default_rng(7)
    n, t, mass = 400_000, 3.0, 0.3
    x = stats.t(3).rvs(size=n, random_state=rng)
    v = -np.tanh(x) + rng.standard_normal(n)
    upper = x + v > t
    weights = np.where(upper, mass / upper.mean(), (1 - mass) / (1 - upper.mean()))
    result = upweight_proxy_gaussian(stats.t(3), t, mass, utility_mean=lambda e: -np.tanh(e))
    for value, draws in ((result.utility, v), (result.error, x)):
        assert abs(value - np.mean(weights * draws)) < 4 * np.std(weights * draws) / np.sqrt(n)


def test_the_two_routes_agree_for_independent_laws():
    """utility_mean = 0 makes V ~ N(0, sd^2) independent of X: the Proxy engine's answer."""
    t, mass = np.array([1.0, 30.0, 1e5]), 0.05
    engine = upweight_proxy(Proxy(utility=stats.norm(0, 2), error=stats.t(3)), t, mass)
    dedicated = upweight_proxy_gaussian(stats.t(3), t, mass, utility_mean=lambda e: 0 * e,
                                        utility_sd=2.0)
    for name in ("log_tail", "utility", "error", "kl"):
        np.testing.assert_allclose(getattr(dedicated, name), getattr(engine, name), rtol=1e-8)


def test_upweight_proxy_bad_input():
    with pytest.raises(ValueError, match="proxy"):
        upweight_proxy(stats.t(3), 5.0, 0.1)
    with pytest.raises(ValueError, match="proxy"):
        upweight_proxy(Proxy(utility=stats.norm(), error=stats.cauchy()), 5.0, 0.1)
    for mass in (0.0, 1.0, np.nan):
        with pytest.raises(ValueError, match="mass"):
            upweight_proxy(PROXY, 5.0, mass)
    with pytest.raises(ValueError, match="t"):
        upweight_proxy(PROXY, np.nan, 0.1)
    bounded = Proxy(utility=stats.uniform(), error=stats.uniform())
    for t in (0.0, -1.0, 2.0, 3.0):  # outside the support (0, 2) of U
        with pytest.raises(ValueError, match="t must lie"):
            upweight_proxy(bounded, t, 0.1)
    # far below the bulk P(U < t) underflows (it raised "log_p must be < 0", not naming t)
    with pytest.raises(ValueError, match=r"t = -7\.6e\+107 .* smallest normal double"):
        upweight_proxy(PROXY, -7.6e107, 0.5)


def test_upweight_proxy_gaussian_bad_input():
    g = np.tanh
    with pytest.raises(ValueError, match="error"):
        upweight_proxy_gaussian(stats.cauchy(), 5.0, 0.1, utility_mean=g)
    for mass in (0.0, 1.0, -0.5, 2.0):
        with pytest.raises(ValueError, match="mass"):
            upweight_proxy_gaussian(stats.t(3), 5.0, mass, utility_mean=g)
    for sd in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="utility_sd"):
            upweight_proxy_gaussian(stats.t(3), 5.0, 0.1, utility_mean=g, utility_sd=sd)
    with pytest.raises(ValueError, match="utility_mean"):
        upweight_proxy_gaussian(stats.t(3), 5.0, 0.1, utility_mean=0.0)
    with pytest.raises(ValueError, match="utility_mean"):
        upweight_proxy_gaussian(stats.t(3), 5.0, 0.1, utility_mean=lambda e: e * np.nan)
    with pytest.raises(ValueError, match="t = 1e"):
        upweight_proxy_gaussian(stats.t(3), 1e120, 0.1, utility_mean=g)


# ---------------------------------------------------------------------------------------
# The paper's Figure A.1: the authors' script, goodhart_kl_theorem_graph.py


def test_figure_a1_matches_the_authors_script():
    """The script's own formulas on every 7th of its 50 frames (t from 1.5 to 100, t^-0.8):
    E_P[X] = left * E[X; X < t] + right * E[X; X > t] by ``t.expect`` and the KL
    F log(left) left + Fbar right log(right), with left, right the two density factors."""
    q, df = stats.t(3), 3
    threshold = np.geomspace(1.5, 100, 50)[::7]
    left = (1 - 1 / threshold**0.8) / stats.t.cdf(threshold, df)
    right = (1 / threshold**0.8) / (1 - stats.t.cdf(threshold, df))
    mean = [stats.t.expect(lambda x: x, args=(df,), ub=b) * lf
            + stats.t.expect(lambda x: x, args=(df,), lb=b) * rf
            for b, lf, rf in zip(threshold, left, right, strict=True)]
    kl = (stats.t.cdf(threshold, df) * left * np.log(left)
          + (1 - stats.t.cdf(threshold, df)) * right * np.log(right))
    result = upweight_tail(q, threshold, threshold**-0.8)
    np.testing.assert_allclose(result.mean, mean, rtol=1e-7)
    np.testing.assert_allclose(result.kl, kl, rtol=1e-9)


@pytest.mark.parametrize("target", [{"mass": 1e-3}, {"mean": 2.0}, {"kl": 0.05}])
def test_retarget_is_a_fresh_call(target):
    """retarget reuses the blocks' facts; the answer is the one a new call computes."""
    t = np.array([3.0, 1e3, 1e8])
    first = upweight_tail(stats.t(3), t, 0.5 * np.ones(3) / t)
    again, fresh = first.retarget(**target), upweight_tail(stats.t(3), t, **target)
    for name in ("threshold", "mass", "log_tail", "body_mean", "tail_mean"):
        np.testing.assert_array_equal(getattr(again, name), getattr(fresh, name))
    with pytest.raises(ValueError, match="exactly one"):
        first.retarget(mass=0.1, kl=0.1)
    with pytest.raises(ValueError, match="mass"):
        first.retarget(mass=1.5)


def test_upweighting_the_whole_support_far_left_has_the_exact_kl():
    # log P(X > -38) rounds to 0 in scipy; the complement gives -2.885e-316 (issue 15)
    with mp.workdps(40):
        below = mp.ncdf(-38)  # P(X <= -38); the tail holds 1 - below
        exact = 0.5 * (mp.log(0.5) - mp.log1p(-below)) + 0.5 * (mp.log(0.5) - mp.log(below))
    result = upweight_tail(stats.norm(), -38.0, 0.5)
    assert abs(result.kl - float(exact)) < 1e-9 * float(exact)
    assert abs(result.mean - (-19.0131397333)) < 1e-9


def test_a_threshold_whose_tail_mass_rounds_to_1_is_refused_by_name():
    """At t = -1e160 the t(3) law has P(X > t) = 1 - 1e-481: the body below t has no mass in
    double precision, and the Bernoulli KL raised about an internal argument (log_p)."""
    with pytest.raises(ValueError, match=r"^t = -1e\+160: P\(X > t\) rounds to 1"):
        upweight_tail(stats.t(3), -1e160, 0.5)
