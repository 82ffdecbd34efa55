"""Reference tests of goodhart.best_of_n: closed forms, high-precision quadrature, Monte Carlo."""

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy import integrate

from goodhart.best_of_n import (
    PAPER_ERRORS,
    PAPER_UTILITIES,
    expected_best_of_n,
    proxy_threshold,
    sample_best_of_n,
    utility_given_proxy,
    utility_peak,
)

UTILITY, ERROR = PAPER_UTILITIES, PAPER_ERRORS
PAIRS = [(v, x) for v in UTILITY for x in ERROR]


def expected_max_of_normals(n):
    """E[max of n standard normals], mpmath at 30 digits (independent of the engine)."""
    mp.mp.dps = 30
    density = lambda z: z * n * mp.ncdf(z) ** (n - 1) * mp.npdf(z)  # noqa: E731
    return mp.quad(density, [-mp.inf, -4, 0, 2, 4, 6, 8, mp.inf])


@pytest.mark.parametrize(("v_name", "x_name"), PAIRS)
def test_a_single_draw_has_the_plain_means(v_name, x_name):
    v, x = UTILITY[v_name], ERROR[x_name]
    result = expected_best_of_n(v, x, 1)
    assert result.utility == pytest.approx(v.mean(), abs=1e-15)
    assert result.error == pytest.approx(x.mean(), abs=1e-15)  # inf for Levy


def test_normal_pair_matches_the_closed_form():
    # E[V at best] = s_V^2 / (s_V^2 + s_X^2) E[U_max], E[U_max] = sqrt(5) E[max of n normals]
    n = [2, 16, 1024, 65536, 10**6, 10**9, 10**12]
    result = expected_best_of_n(UTILITY["normal"], ERROR["normal"], n)
    maxima = np.array([float(expected_max_of_normals(k)) for k in n])
    assert maxima[0] == pytest.approx(1 / np.sqrt(np.pi), rel=1e-14)  # the reference itself
    np.testing.assert_allclose(result.utility, 0.8 * np.sqrt(5) * maxima, rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.proxy, np.sqrt(5) * maxima, rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.error, 0.2 * np.sqrt(5) * maxima, rtol=0, atol=1e-6)


def over_v(v, integrand, u):
    """``int integrand(s) ds`` over the line by scipy's adaptive quad, split where V and X live."""
    edges = sorted({-np.inf, -8.0, -2.0, 0.0, 2.0, 8.0, u - 5.0, u, np.inf})
    return sum(
        integrate.quad(integrand, a, b, epsabs=0, epsrel=1e-12, limit=200)[0]
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    )


@pytest.mark.parametrize(("v_name", "x_name"), [p for p in PAIRS if p[1] != "normal"])
def test_convolution_matches_adaptive_quadrature(v_name, x_name):
    # the engine's inner integrals, Fbar_U, f_U and E[V | U = u], where the law of the best
    # of up to 10^12 draws lives, against scipy's adaptive quad (relative tolerance 1e-12)
    from goodhart.best_of_n import _Convolution

    v, x = UTILITY[v_name], ERROR[x_name]
    u = np.array([-3.0, 0.0, 5.0, 20.0, 40.0])
    log_sf, log_pdf, v_given_u = _Convolution(v, x, 60.0)(u)
    for i, ui in enumerate(u):
        density = over_v(v, lambda s, ui=ui: v.pdf(s) * x.pdf(ui - s), ui)
        tail = over_v(v, lambda s, ui=ui: v.pdf(s) * x.sf(ui - s), ui)
        mean = over_v(v, lambda s, ui=ui: s * v.pdf(s) * x.pdf(ui - s), ui) / density
        assert log_sf[i] == pytest.approx(np.log(tail), abs=1e-7)
        assert log_pdf[i] == pytest.approx(np.log(density), abs=1e-6)
        assert v_given_u[i] == pytest.approx(mean, abs=1e-6)


@pytest.mark.parametrize(("v_name", "x_name"), PAIRS)
def test_monte_carlo_agrees_within_four_standard_errors(v_name, x_name):
    v, x = UTILITY[v_name], ERROR[x_name]
    n = [16, 1024]
    exact = expected_best_of_n(v, x, n)
    rng = np.random.default_rng(sum(map(ord, v_name + x_name)))
    sampled = sample_best_of_n(v, x, n, 10_000, rng)
    assert np.all(np.abs(sampled.utility - exact.utility) < 4 * sampled.utility_se)
    if np.isfinite(x.mean()):
        assert np.all(np.abs(sampled.error - exact.error) < 4 * sampled.error_se)


# pairs whose top-64 (or top-256) draws of the heavier law certify the best draw in almost
# every trial, so that 10^4 trials of 65536 draws stay cheap
CERTIFIED = [("normal", "levy", 64), ("t10", "levy", 64), ("normal", "t3", 256)]


@pytest.mark.parametrize(("v_name", "x_name", "top"), CERTIFIED)
def test_monte_carlo_agrees_at_65536_draws(v_name, x_name, top):
    # 10^4 trials of 65536 draws each, through the exact top-k order statistics sampler
    v, x = UTILITY[v_name], ERROR[x_name]
    exact = expected_best_of_n(v, x, 65536)
    sampled = sample_best_of_n(v, x, 65536, 10_000, np.random.default_rng(65536), top=top)
    assert abs(sampled.utility - exact.utility) < 4 * sampled.utility_se
    if np.isfinite(x.mean()):
        assert abs(sampled.error - exact.error) < 4 * sampled.error_se


def test_order_statistics_sampler_has_the_law_of_brute_force():
    # independent of the engine: both samplers estimate the same means
    v, x = UTILITY["normal"], ERROR["t3"]
    rng = np.random.default_rng(7)
    plain = sample_best_of_n(v, x, 1024, 3_000, rng)
    ranked = sample_best_of_n(v, x, 1024, 3_000, rng, top=64)
    for name in ("utility", "error"):
        se = np.hypot(getattr(plain, name + "_se"), getattr(ranked, name + "_se"))
        assert abs(getattr(plain, name) - getattr(ranked, name)) < 4 * se


def test_levy_error_makes_error_and_proxy_infinite_but_not_utility():
    result = expected_best_of_n(UTILITY["normal"], ERROR["levy"], [1, 10, 10**6])
    assert np.all(np.isinf(result.error)) and np.all(np.isinf(result.proxy))
    assert np.all(np.isfinite(result.utility))
    assert "E[X] = +inf" in result.note
    assert expected_best_of_n(UTILITY["normal"], ERROR["t3"], 10).note == ""


def test_proxy_threshold_is_the_1_over_n_tail_quantile():
    v, x = UTILITY["normal"], ERROR["t3"]
    n = np.array([2.0, 100.0, 1e6])
    t = proxy_threshold(v, x, n)
    tails = [over_v(v, lambda s, ti=ti: v.pdf(s) * x.sf(ti - s), ti) for ti in t]
    np.testing.assert_allclose(tails, 1 / n, rtol=1e-8)


@settings(max_examples=8, deadline=None)
@given(s_v=hs.floats(0.3, 3.0), s_x=hs.floats(0.3, 3.0))
def test_best_of_more_draws_has_a_larger_proxy(s_v, s_x):
    # E[U_max] grows with n for any pair; for normals E[V at best] grows too
    result = expected_best_of_n(st.norm(0, s_v), st.norm(0, s_x), [1, 2, 10, 100, 10**4, 10**8])
    assert np.all(np.diff(result.proxy) > 0)
    share = s_v**2 / (s_v**2 + s_x**2)
    np.testing.assert_allclose(result.utility, share * result.proxy, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    ("v", "x", "n", "message"),
    [
        (st.norm(), st.norm(), 0, "n must be whole numbers >= 1"),
        (st.norm(), st.norm(), [1, 2.5], "n must be whole numbers >= 1"),
        (st.levy(), st.norm(), 10, "no finite mean"),
        (st.cauchy(), st.norm(), 10, "no finite mean"),
        (st.norm(), st.cauchy(), 10, "undefined mean"),
    ],
)
def test_bad_input_raises_a_value_error_naming_it(v, x, n, message):
    with pytest.raises(ValueError, match=message):
        expected_best_of_n(v, x, n)


def test_monte_carlo_needs_two_trials():
    with pytest.raises(ValueError, match="trials"):
        sample_best_of_n(st.norm(), st.norm(), 4, 1, np.random.default_rng(0))


def test_utility_given_proxy_is_the_regression_line_for_normals():
    # Gao et al.'s identity E[V | U = u] = s_V^2 / (s_V^2 + s_X^2) u, here 0.8 u
    u = np.array([-6.0, -1.0, 0.5, 4.0, 12.0, 25.0])
    np.testing.assert_allclose(
        utility_given_proxy(UTILITY["normal"], ERROR["normal"], u), 0.8 * u, atol=1e-9
    )


def test_utility_peak_is_the_maximum_over_its_neighbourhood():
    """Normal utility, Student-t(3) error: the peak beats every N on a dense grid around it."""
    v, x = UTILITY["normal"], ERROR["t3"]
    n_peak, peak = utility_peak(v, x)
    assert 10 < n_peak < 1e4
    assert peak == pytest.approx(float(expected_best_of_n(v, x, n_peak).utility), rel=1e-12)
    # every integer within a factor 3; the engine's values move by ~1e-12 with the N array
    around = np.unique(np.round(np.geomspace(n_peak / 3, n_peak * 3, 2000)))
    assert peak >= expected_best_of_n(v, x, around).utility.max() - 1e-9


def test_utility_peak_reports_no_peak_for_normal_error():
    v, x = UTILITY["normal"], ERROR["normal"]
    n_peak, last = utility_peak(v, x, n_max=1e6)
    assert n_peak is None
    assert last == pytest.approx(float(expected_best_of_n(v, x, 1e6).utility), rel=1e-12)
