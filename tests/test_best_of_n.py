"""Reference tests of best-of-N (goodhart.best_of_n and Proxy.best_of_n): closed forms,
high-precision quadrature, and the Monte Carlo twin with its standard errors."""

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy.integrate import trapezoid

from goodhart.best_of_n import (
    PAPER_ERRORS,
    PAPER_UTILITIES,
    paper_pairs,
    sample_best_of_n,
    utility_peak,
)
from goodhart.proxy import Proxy

UTILITY, ERROR = PAPER_UTILITIES, PAPER_ERRORS
PAIRS = [(v, x) for v in UTILITY for x in ERROR]
PROXIES = paper_pairs()


def expected_max_of_normals(n):
    """E[max of n standard normals], mpmath at 30 digits (independent of the engine)."""
    with mp.workdps(30):
        density = lambda z: z * n * mp.ncdf(z) ** (n - 1) * mp.npdf(z)  # noqa: E731
        return float(mp.quad(density, [-mp.inf, -4, 0, 2, 4, 6, 8, mp.inf]))


@pytest.mark.parametrize(("v_name", "x_name"), PAIRS)
def test_a_single_draw_has_the_plain_means(v_name, x_name):
    v, x = UTILITY[v_name], ERROR[x_name]
    result = PROXIES[v_name, x_name].best_of_n(1)
    assert result.utility == pytest.approx(v.mean(), abs=1e-15)
    assert result.error == pytest.approx(x.mean(), abs=1e-15)  # inf for Levy


def test_normal_pair_matches_the_closed_form():
    # E[V at best] = s_V^2 / (s_V^2 + s_X^2) E[U_max], E[U_max] = sqrt(5) E[max of n normals]
    n = [2, 16, 1024, 65536, 10**6, 10**9, 10**12]
    result = PROXIES["normal", "normal"].best_of_n(n)
    maxima = np.array([expected_max_of_normals(k) for k in n])
    assert maxima[0] == pytest.approx(1 / np.sqrt(np.pi), rel=1e-14)  # the reference itself
    np.testing.assert_allclose(result.utility, 0.8 * np.sqrt(5) * maxima, rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.proxy, np.sqrt(5) * maxima, rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.error, 0.2 * np.sqrt(5) * maxima, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("v_name", "x_name"), PAIRS)
def test_monte_carlo_agrees_within_four_standard_errors(v_name, x_name):
    proxy = PROXIES[v_name, x_name]
    n = [16, 1024]
    exact = proxy.best_of_n(n)
    sampled = sample_best_of_n(proxy, n, 10_000, rng=sum(map(ord, v_name + x_name)))
    assert np.all(np.abs(sampled.utility - exact.utility) < 4 * sampled.se.utility)
    if np.isfinite(ERROR[x_name].mean()):
        assert np.all(np.abs(sampled.error - exact.error) < 4 * sampled.se.error)


# pairs whose top-64 (or top-256) draws of the heavier law certify the best draw in almost
# every trial, so that 10^4 trials of 65536 draws stay cheap
CERTIFIED = [("normal", "levy", 64), ("t10", "levy", 64), ("normal", "t3", 256)]


@pytest.mark.parametrize(("v_name", "x_name", "top"), CERTIFIED)
def test_monte_carlo_agrees_at_65536_draws(v_name, x_name, top):
    # 10^4 trials of 65536 draws each, through the exact top-k order statistics sampler
    proxy = PROXIES[v_name, x_name]
    exact = proxy.best_of_n(65536)
    sampled = sample_best_of_n(proxy, 65536, 10_000, rng=65536, top=top)
    assert abs(sampled.utility - exact.utility) < 4 * sampled.se.utility
    if np.isfinite(ERROR[x_name].mean()):
        assert abs(sampled.error - exact.error) < 4 * sampled.se.error


def test_order_statistics_sampler_has_the_law_of_brute_force():
    # independent of the engine: both samplers estimate the same means
    proxy = PROXIES["normal", "t3"]
    rng = np.random.default_rng(7)
    plain = sample_best_of_n(proxy, 1024, 3_000, rng=rng)
    ranked = sample_best_of_n(proxy, 1024, 3_000, rng=rng, top=64)
    for name in ("utility", "error"):
        se = np.hypot(getattr(plain.se, name), getattr(ranked.se, name))
        assert abs(getattr(plain, name) - getattr(ranked, name)) < 4 * se


def test_levy_error_makes_error_and_proxy_infinite_but_not_utility():
    result = PROXIES["normal", "levy"].best_of_n([1, 10, 10**6])
    assert np.all(np.isinf(result.error)) and np.all(np.isinf(result.proxy))
    assert np.all(np.isfinite(result.utility))
    assert "E[X] = +inf" in result.note
    assert PROXIES["normal", "t3"].best_of_n(10).note == ""


@settings(max_examples=8, deadline=None)
@given(s_v=hs.floats(0.3, 3.0), s_x=hs.floats(0.3, 3.0))
def test_best_of_more_draws_has_a_larger_proxy(s_v, s_x):
    # E[U_max] grows with n for any pair; for normals E[V at best] grows too
    result = Proxy(utility=st.norm(0, s_v), error=st.norm(0, s_x)).best_of_n(
        [1, 2, 10, 100, 10**4, 10**8]
    )
    assert np.all(np.diff(result.proxy) > 0)
    share = s_v**2 / (s_v**2 + s_x**2)
    np.testing.assert_allclose(result.utility, share * result.proxy, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    ("v", "x", "n", "message"),
    [
        (st.norm(), st.norm(), 0, "n must be >= 1"),
        (st.norm(), st.norm(), [1, 2.5], "n must be whole numbers"),
        (st.norm(), st.norm(), [2, np.nan], "n must not be NaN"),
        (st.levy(), st.norm(), 10, "no finite mean"),
        (st.cauchy(), st.norm(), 10, "no finite mean"),
        (st.norm(), st.cauchy(), 10, "undefined mean"),
    ],
)
def test_bad_input_raises_a_value_error_naming_it(v, x, n, message):
    with pytest.raises(ValueError, match=message):
        Proxy(utility=v, error=x).best_of_n(n)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"trials": 1}, "trials"), ({"trials": 2.5}, "trials"), ({"trials": 10, "top": 0}, "top")],
)
def test_monte_carlo_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sample_best_of_n(PROXIES["normal", "normal"], 4, rng=0, **kwargs)


def test_monte_carlo_refuses_more_draws_than_it_can_make():
    """n = 10^15 drawn in full would run for years (it hung the hostile-value walk); with top
    it is sampled, unless the top does not settle a trial and the rest is too large to draw."""
    proxy = PROXIES["normal", "t3"]
    with pytest.raises(ValueError, match=r"n \* trials must be at most 1e\+08 draws"):
        sample_best_of_n(proxy, [16, 10**15], trials=4, rng=0)
    heavy = sample_best_of_n(proxy, 10**15, trials=4, rng=0, top=64)
    assert np.isfinite(heavy.utility) and heavy.error > 1e3  # the error wins, far out
    with pytest.raises(ValueError, match="top = 1 does not settle"):
        sample_best_of_n(PROXIES["normal", "normal"], 10**12, trials=20, rng=0, top=1)


def test_monte_carlo_needs_a_proxy():
    with pytest.raises(ValueError, match="proxy must be a goodhart.Proxy"):
        sample_best_of_n(st.norm(), 4, 10)


def test_monte_carlo_draws_utility_and_error_independently():
    sampled = sample_best_of_n(PROXIES["normal", "normal"], 1, 50, rng=42)
    assert not np.allclose(sampled.utility, sampled.error)


def test_utility_given_proxy_is_the_regression_line_for_normals():
    # Gao et al.'s identity E[V | U = u] = s_V^2 / (s_V^2 + s_X^2) u, here 0.8 u
    u = np.array([-20.0, -6.0, -1.0, 0.5, 4.0, 12.0, 25.0])
    np.testing.assert_allclose(PROXIES["normal", "normal"].utility_given(u), 0.8 * u, atol=1e-9)


def test_utility_peak_is_the_maximum_of_a_brute_force_grid():
    """Normal utility, Student-t(3) error: the peak beats every integer N on a brute-force grid
    from 1 to 10^4 (the engine at every N, not the search's own grid)."""
    proxy = PROXIES["normal", "t3"]
    peak = utility_peak(proxy)
    assert 10 < peak.n < 1e4
    grid = np.arange(1, 10_001, dtype=float)
    everywhere = proxy.best_of_n(grid).utility
    assert peak.utility == pytest.approx(everywhere.max(), abs=1e-9)
    assert peak.n == grid[np.argmax(everywhere)]


def test_utility_peak_reports_no_peak_for_normal_error():
    proxy = PROXIES["normal", "normal"]
    peak = utility_peak(proxy, n_max=1e6)
    assert peak.n is None
    assert peak.utility == pytest.approx(float(proxy.best_of_n(1e6).utility), rel=1e-12)


def test_a_value_does_not_depend_on_the_other_n_asked():
    # same grid and same rule whatever else is asked: equal up to the rounding of sums taken
    # over arrays of another shape (a few ulps), far below the engine's accuracy
    proxy = PROXIES["t10", "t5"]
    alone = proxy.best_of_n(1000.0).utility
    together = proxy.best_of_n([2.0, 1000.0, 1e9]).utility[1]
    assert alone == pytest.approx(together, rel=1e-13, abs=0)


def second_largest_average(proxy, n, t):
    """E[V at the best of n], integrated by parts: E[V | U >= t] averaged over the law of the
    second-largest proxy, density n (n - 1) S F^(n - 2) f, by the trapezoid rule in log t on
    the grid ``t`` (the tail route: conditional_mean, logsf and logpdf, not the engine's outer
    rule or utility_given). Returns the estimates and the law's mass on the grid."""
    n = np.asarray(n, dtype=float)[:, None]
    log_s = proxy.logsf(t)
    log_w = (np.log(n) + np.log(n - 1) + log_s + (n - 2) * np.log1p(-np.exp(log_s))
             + proxy.logpdf(t) + np.log(t))
    w = np.exp(log_w)
    x = np.log(t)
    return trapezoid(w * proxy.conditional_mean(t), x), trapezoid(w, x)


def test_utility_turns_up_for_student_t10_utility_and_lognormal_error():
    # the pair outside Theorem 5: a minimum near N = 1.9e11, then growth (the chapter's turn)
    proxy = PROXIES["t10", "lognormal"]
    n = np.round(10 ** np.array([11.0, 11.28, 12.0, 14.0]))
    reference, mass = second_largest_average(proxy, n, np.geomspace(20, 5000, 1500))
    np.testing.assert_allclose(mass, 1, atol=1e-9)
    exact = proxy.best_of_n(n).utility
    np.testing.assert_allclose(exact, reference, rtol=0, atol=1e-8)
    assert exact[0] > exact[1] < exact[2] < exact[3]
    assert exact[1] == pytest.approx(0.72210, abs=1e-5)


@pytest.mark.parametrize("v_name", list(UTILITY))
def test_levy_error_sends_utility_to_zero_by_a_trillion_draws(v_name):
    # the true value is about 6 / 10^24 (g(u) ~ 1.5 Var(V) / u at u ~ 10^24); both routes
    # are within 1e-8 of 0, the bound the chapter prints
    proxy = PROXIES[v_name, "levy"]
    reference, mass = second_largest_average(proxy, [1e12], np.geomspace(1e18, 1e30, 1500))
    assert mass[0] == pytest.approx(1, abs=1e-5)
    assert abs(reference[0]) < 1e-8
    assert abs(float(proxy.best_of_n(1e12).utility)) < 1e-8


def _exponential_pair_reference(n):
    """E[V at the best of n] for V ~ Exp(1), X ~ Exp(rate 2), mpmath at 30 digits: U has
    F_U = (1 - e^-u)^2, f_U = 2 (e^-u - e^-2u) and E[V | U = u] = u - 1 + u / (e^u - 1)."""
    with mp.workdps(30):
        def density(u):
            law = n * (1 - mp.exp(-u)) ** (2 * (n - 1)) * 2 * (mp.exp(-u) - mp.exp(-2 * u))
            return law * (u - 1 + u / mp.expm1(u))
        return float(mp.quad(density, [0, 1, 3, 10, 30, 60, 100]))


def test_a_finite_lower_end_of_the_proxy_is_reached():
    """U = V + X >= 0: the outer map used to stop at u = 0.265, losing the law's mass below it
    (best of 5: 2.1432989965, true 2.1432980600; best of 2 raised ArithmeticError)."""
    proxy = Proxy(utility=st.expon(), error=st.expon(scale=0.5))
    n = np.array([2.0, 3.0, 5.0, 100.0])
    expected = [_exponential_pair_reference(k) for k in n]
    np.testing.assert_allclose(proxy.best_of_n(n).utility, expected, rtol=0, atol=1e-11)


def test_a_finite_upper_end_of_the_proxy_is_reached():
    """Two uniform laws: U is triangular on [0, 2], E[V | U = u] = u / 2, so the best of n
    has E[V] = E[max of n U] / 2 (mpmath). The grid used to end near u = 1.7, with 1% of the
    law of the best of 100 on it; the best of 2 is refused, as the next test says."""
    proxy = Proxy(utility=st.uniform(), error=st.uniform())
    n = np.array([100.0, 1e6])
    with mp.workdps(30):
        def mean_of_the_best(k):  # n (u^2 / 2)^(n - 1) u u / 2 below 1, the rest above
            lower = mp.quad(lambda u: k * (u * u / 2) ** k, [0, 1])
            upper = mp.quad(lambda u: k * (1 - (2 - u) ** 2 / 2) ** (k - 1) * (2 - u) * u / 2,
                            [1, 2 - 10 / mp.sqrt(k), 2 - 1 / mp.sqrt(k), 2])
            return float(lower + upper)
        expected = [mean_of_the_best(k) for k in n]
    np.testing.assert_allclose(proxy.best_of_n(n).utility, expected, rtol=0, atol=1e-11)


def _normal_laplace_reference(n):
    """E[V at the best of n] for V ~ N(0, 1), X ~ Laplace(0, 1), mpmath at 30 digits, from
    the closed forms f_U = e^(1/2) (e^-u Phi(u - 1) + e^u Phi(-u - 1)) / 2,
    F_U = Phi(u) - e^(1/2) (e^-u Phi(u - 1) - e^u Phi(-u - 1)) / 2 and
    E[V | U = u] f_U
    = e^(1/2) (e^-u (Phi(u - 1) - phi(u - 1)) + e^u (phi(u + 1) - Phi(-u - 1))) / 2."""
    with mp.workdps(30):
        half = mp.exp(mp.mpf(1) / 2) / 2

        def density(u):
            cdf = mp.ncdf(u) - half * (mp.exp(-u) * mp.ncdf(u - 1) - mp.exp(u) * mp.ncdf(-u - 1))
            moment = half * (mp.exp(-u) * (mp.ncdf(u - 1) - mp.npdf(u - 1))
                             + mp.exp(u) * (mp.npdf(u + 1) - mp.ncdf(-u - 1)))
            return n * cdf ** (n - 1) * moment
        return float(mp.quad(density, [-40, -10, -3, 0, 3, 10, 30, 60]))


def test_a_kink_in_a_quantile_is_refined_until_the_law_is_whole():
    """The Laplace quantile's second derivative jumps at the median, so the outer rule's error
    falls like step^2 there, not exponentially: at the step where halving agreed to 1e-4 the
    best of 15 was 3.4e-7 off. The step is now halved until the law of the best draw has mass
    1 to 1e-8 on the grid, and the answer is good to about that (6e-9 at n = 15)."""
    proxy = Proxy(utility=st.norm(), error=st.laplace())
    n = np.array([15.0, 100.0])
    expected = [_normal_laplace_reference(k) for k in n]
    np.testing.assert_allclose(proxy.best_of_n(n).utility, expected, rtol=0, atol=2e-8)


@pytest.mark.parametrize("error", [st.uniform(), st.laplace()], ids=["uniforms", "laplace"])
def test_a_kink_that_defeats_the_outer_rule_is_refused_not_answered_roughly(error):
    """Where the kink holds the law of the best draw (f_U of two uniform laws at u = 1, the
    Laplace quantile at 0, for the best of 2) even the finest step leaves the law's mass off 1
    by more than 1e-8: an ArithmeticError that says so, not a value good to 1e-5. The miss
    falls 4 times a halving (like step^2), so the engine refuses once two halvings show it,
    at step 1/8 (the uniforms' finest grid took 18 s of inner integrals to reach)."""
    utility = st.uniform() if error.dist.name == "uniform" else st.norm()
    with pytest.raises(ArithmeticError, match=r"total mass .* step 0.125 .* finest step"):
        Proxy(utility=utility, error=error).best_of_n(2)
