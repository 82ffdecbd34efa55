"""Reference tests of goodhart.regions: the four regions of Theorem 5's proof against mpmath
quadrature of each region, against the Proxy engine (the regions add up to P(U >= t) and to
E[V | U >= t]) and against a seeded Monte Carlo; Lemma 1's and Lemma 2's quantities against
their own formulas in mpmath; the boundary laws against their closed forms."""

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from goodhart import Proxy, regions


def mp_sf_t3(y):
    """Student-t(3) tail in closed form: (2 phi - sin 2 phi) / (2 pi), phi = atan2(sqrt 3, y)
    (the angle seen from the tail). Far out it cancels about 2 log10(y) digits, which it works
    with in extra."""
    y = mp.mpf(y)
    with mp.extradps(int(2 * mp.log10(1 + abs(y))) + 10):
        x = 2 * mp.atan2(mp.sqrt(3), y)
        return (x - mp.sin(x)) / (2 * mp.pi)


def mp_pdf_t(nu, v):
    nu, v = mp.mpf(nu), mp.mpf(v)
    c = mp.gamma((nu + 1) / 2) / (mp.sqrt(nu * mp.pi) * mp.gamma(nu / 2))
    return c * (1 + v**2 / nu) ** (-(nu + 1) / 2)


def mp_regions(pdf, t, h):
    """Masses, terms and proof bounds of the four regions for X ~ t_3, by mpmath quadrature.

    Gauss-Legendre on finite pieces, dense at the cuts where the weight is steep (the normal's
    region 4 falls e^21-fold in one unit; mpmath's tanh-sinh stalls near 1e-6 there), and
    tanh-sinh only on the two far ends, where the weight is flat and negligible.
    """
    with mp.workdps(30):
        t, h = mp.mpf(t), mp.mpf(h)
        sf_t = mp_sf_t3(t)
        far = t + 1000
        cuts = [-far, -h, h, t - h, far]
        inner = [-40, -10, -3, 0, 3, 10, 40, t - 40, t - 10, t - 3, t, t + 3, t + 10, t + 40]
        inner += [c + s * mp.mpf(2) ** k for c in (-h, h, t - h) for s in (-1, 1)
                  for k in range(-10, 4)]
        integrands = [
            lambda v: pdf(v) * mp_sf_t3(t - v),
            lambda v: v * pdf(v) * mp_sf_t3(t - v),
            lambda v: abs(v) * pdf(v) * abs(mp_sf_t3(t - v) / sf_t - 1),
        ]
        rows = []
        for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
            points = sorted({a, b, *(p for p in map(mp.mpf, inner) if a < p < b)})
            row = [mp.quad(f, points, method="gauss-legendre") for f in integrands]
            if i in (0, 3):  # the far end, beyond t + 1000
                end = [-mp.inf, a] if i == 0 else [b, mp.inf]
                row = [r + mp.quad(f, end) for r, f in zip(row, integrands, strict=True)]
            rows.append(row)
        total = sum(r[0] for r in rows)
        return (
            [float(r[0] / total) for r in rows],
            [float(r[1] / total) for r in rows],
            [float(r[2]) for r in rows],
        )


@pytest.mark.parametrize(
    ("utility", "pdf"),
    [(stats.norm(), mp.npdf), (stats.t(5), lambda v: mp_pdf_t(5, v))],
    ids=["normal", "t5"],
)
@pytest.mark.parametrize(("t", "h"), [(25.0, 4.0), (300.0, 10.0)])
def test_split_against_mpmath(utility, pdf, t, h):
    r = regions.split(Proxy(utility=utility, error=stats.t(3)), t, h)
    masses, terms, bounds = mp_regions(pdf, t, h)
    for got, expected in [(r.mass, masses), (r.term, terms), (r.deviation, bounds)]:
        for g, e in zip(got, expected, strict=True):
            assert g == pytest.approx(e, rel=1e-8, abs=1e-300)


def test_split_at_the_paper_parameters():
    """Table A.1's claims at t = 25, h = 4: region 2 holds most of the conditional mass."""
    r = regions.split(Proxy(utility=stats.t(5), error=stats.t(3)), 25.0, 4.0)
    assert r.mass[1] > 0.97 and np.all(r.mass[[0, 2, 3]] < 0.02)
    assert r.mass.shape == (4,) and r.cut == 4.0 and r.threshold == 25.0


def test_split_against_monte_carlo():
    proxy = Proxy(utility=stats.t(5), error=stats.t(3))
    t, h = 8.0, 2.0
    r = regions.split(proxy, t, h)
    draws = proxy.sample(2_000_000, rng=11)
    v = draws.utility[draws.proxy >= t]
    inside = [v <= -h, (v > -h) & (v < h), (v >= h) & (v <= t - h), v > t - h]
    for i, mask in enumerate(inside):
        share = mask.mean()
        se = np.sqrt(share * (1 - share) / v.size)
        assert abs(r.mass[i] - share) < 4 * se
        term = np.where(mask, v, 0.0)
        assert abs(r.term[i] - term.mean()) < 4 * term.std() / np.sqrt(v.size) + 1e-12


LAWS = [stats.norm(0.3, 1.5), stats.t(5), stats.t(3, loc=-1.0), stats.logistic(scale=0.7)]


@settings(max_examples=40, deadline=None)
@given(
    utility=st.sampled_from(LAWS),
    error=st.sampled_from([stats.t(3), stats.lognorm(1.0), stats.t(2.5, scale=2.0)]),
    t=st.floats(3.0, 1e6),
    fraction=st.floats(0.01, 0.45),
)
def test_regions_add_up_to_the_engine(utility, error, t, fraction):
    proxy = Proxy(utility=utility, error=error)
    r = regions.split(proxy, t, fraction * t)
    assert np.all(r.mass >= 0) and abs(r.mass.sum() - 1) < 1e-9
    assert r.conditional_mean == pytest.approx(proxy.conditional_mean(t), rel=1e-8, abs=1e-12)
    assert r.log_tail == pytest.approx(proxy.logsf(t), rel=1e-12)
    assert np.all(r.deviation >= 0)


def test_split_is_vectorized_and_broadcasts():
    proxy = Proxy(utility=stats.norm(), error=stats.t(3))
    t = np.array([[25.0, 1e3], [1e4, 1e5]])
    r = regions.split(proxy, t, 4.0)
    assert r.mass.shape == (4, 2, 2) and r.conditional_mean.shape == (2, 2)
    one = regions.split(proxy, 1e3, 4.0)
    assert r.term[:, 0, 1] == pytest.approx(one.term, rel=1e-12, abs=1e-300)
    assert r.ratio.shape == (2, 2) and np.all(np.abs(r.ratio - 1) < 0.02)


def test_split_refuses_bad_input():
    proxy = Proxy(utility=stats.norm(), error=stats.t(3))
    with pytest.raises(ValueError, match="h"):
        regions.split(proxy, 5.0, 3.0)  # t <= 2 h
    with pytest.raises(ValueError, match="h"):
        regions.split(proxy, 5.0, -1.0)
    with pytest.raises(ValueError, match="t"):
        regions.split(proxy, np.nan, 1.0)
    with pytest.raises(ValueError, match="proxy"):
        regions.split(stats.norm(), 25.0, 4.0)


def test_insensitivity_against_its_formula():
    with mp.workdps(30):
        for t, h in [(10.0, 1.0), (1e6, 100.0), (1e3, 250.0)]:
            up = mp_sf_t3(t - h) / mp_sf_t3(t) - 1
            down = 1 - mp_sf_t3(t + h) / mp_sf_t3(t)
            expected = float(max(up, down))
            assert regions.insensitivity(stats.t(3), t, h) == pytest.approx(expected, rel=1e-10)
    # h = t / 4 is not allowed by Lemma 1: the ratio tends to (4/3)^3 - 1, not 0
    assert regions.insensitivity(stats.t(3), 1e8, 2.5e7) == pytest.approx(64 / 27 - 1, rel=1e-6)
    with pytest.raises(ValueError, match="error"):
        regions.insensitivity(stats.t, 10.0, 1.0)


def test_log_both_large_against_mpmath():
    """P(X + V > t, V > h, X > h) = int_h^inf f_V(v) Fbar_X(max(t - v, h)) dv (review c8)."""
    proxy = Proxy(utility=stats.t(5), error=stats.t(3))
    for t, h in [(100.0, np.log(100.0)), (1e6, np.log(1e6)), (1e4, 40.0)]:
        with mp.workdps(30):
            tt, hh = mp.mpf(t), mp.mpf(h)
            points = [hh, hh + 3, hh + 30, tt / 2, tt - hh, tt, tt + 10, mp.inf]
            value = mp.quad(lambda v, tt=tt, hh=hh: mp_pdf_t(5, v) * mp_sf_t3(max(tt - v, hh)),
                            points)
            expected = float(mp.log(value))
        assert regions.log_both_large(proxy, t, h) == pytest.approx(expected, rel=1e-9)


def test_log_corrected_pareto_closed_forms():
    v = regions.log_corrected_pareto()
    x = np.array([np.e, 3.0, 10.0, 1e3, 1e30])
    assert np.allclose(v.sf(x), np.exp(4) / (x**4 * np.log(x)), rtol=1e-13)
    q = np.array([0.9, 0.5, 1e-3, 1e-12, 1e-200])
    assert np.allclose(v.logsf(v.isf(q)), np.log(q), rtol=1e-12, atol=1e-12)
    assert np.allclose(v.cdf(v.ppf([0.1, 0.5, 0.99])), [0.1, 0.5, 0.99], rtol=1e-12)
    # the density integrates to the tail, and the mean to e + e^4 E1(3)
    total = integrate.quad(v.pdf, np.e, np.inf, epsrel=1e-12, limit=200)[0]
    assert total == pytest.approx(1.0, rel=1e-9)
    with mp.workdps(30):
        mean = mp.e + mp.quad(lambda y: mp.e**4 * mp.exp(-3 * y) / y, [1, mp.inf])
        second = mp.e**2 + 2 * mp.quad(lambda y: mp.e**4 * mp.exp(-2 * y) / y, [1, mp.inf])
    assert v.mean() == pytest.approx(float(mean), rel=1e-13)
    assert v.var() == pytest.approx(float(second - mean**2), rel=1e-12)


def test_log_corrected_tail_moment_against_mpmath():
    """E[V; V > t] = int_t^inf v f_V, by mpmath quadrature of the density at 30 digits."""
    t = np.array([np.e, 10.0, 1e4, 1e16, 1e64])

    def density(v):
        log_v = mp.log(v)
        return mp.e**4 * (4 * log_v + 1) / (v**5 * log_v**2)

    with mp.workdps(30):
        pieces = [0, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64]
        expected = [float(mp.quad(lambda s: mp.exp(2 * s) * density(mp.exp(s)),
                                  [mp.log(x) + d for d in pieces] + [mp.inf]))
                    for x in t]
    assert np.allclose(regions.log_corrected_tail_moment(t), expected, rtol=1e-10, atol=0)
    assert isinstance(regions.log_corrected_tail_moment(10.0), float)
    assert regions.log_corrected_tail_moment(1e200) == 0.0  # underflows, no warning
    for bad in (1.0, np.nan, np.inf, "10"):
        with pytest.raises(ValueError, match="^t "):
            regions.log_corrected_tail_moment(bad)


@pytest.mark.parametrize("t", [1e6, 1e16])
def test_log_corrected_pareto_against_mpmath(t):
    """E[V | U >= t] - E[V] for V with tail e^4 / (v^4 log v) and X ~ t_3.

    mpmath in the log variable: v = e^s on [e, t/2], v = t -+ e^s on either side of t (80
    pieces each), and [t - 1, t + 1] directly; at 10^16 this agrees with a 400-piece,
    120-digit run to 3e-10.
    """
    engine = Proxy(utility=regions.log_corrected_pareto(), error=stats.t(3))
    with mp.workdps(40):
        tt = mp.mpf(t)
        mu = mp.e + mp.e**4 * mp.e1(3)

        def f(v):
            log_v = mp.log(v)
            return mp.e**4 * (4 * log_v + 1) / (v**5 * log_v**2)

        def grid(a, b, n=80):
            return [a + (b - a) * mp.mpf(i) / n for i in range(n + 1)]

        def integral(g):
            return (
                mp.quad(lambda s: g(mp.exp(s)) * mp.exp(s), grid(1, mp.log(tt / 2)))
                + mp.quad(lambda s: g(tt - mp.exp(s)) * mp.exp(s), grid(0, mp.log(tt / 2)))
                + mp.quad(g, [tt - 1, tt, tt + 1])
                + mp.quad(lambda s: g(tt + mp.exp(s)) * mp.exp(s), grid(0, mp.log(tt) + 40))
            )

        num = integral(lambda v: (v - mu) * f(v) * mp_sf_t3(tt - v))
        den = integral(lambda v: f(v) * mp_sf_t3(tt - v))
        expected = float(num / den)
    assert engine.conditional_mean(t) - engine.mean == pytest.approx(expected, rel=1e-8)


def test_slowly_varying_bound_closed_forms():
    a = regions.SLOWLY_VARYING_A
    assert regions.SLOWLY_VARYING_MEAN == pytest.approx(np.exp(np.e) + np.exp(np.e + 1))
    # the antiderivatives behind the closed forms, checked by sympy: A / log log v is
    # -int Fbar_V, and Fbar_V(e^e) = 1, Fbar_X(e) = 1
    v, big_a = sp.symbols("v A", positive=True)
    sf_v = big_a / (v * sp.log(v) * sp.log(sp.log(v)) ** 2)
    assert sp.simplify(sp.diff(big_a / sp.log(sp.log(v)), v) + sf_v) == 0
    assert sp.simplify(sf_v.subs({v: sp.exp(sp.E), big_a: sp.exp(sp.E + 1)}) - 1) == 0
    # the fields at t = 10^10, from the definitions in floating point
    log_t = 10 * np.log(10.0)
    r = regions.slowly_varying_bound(log_t)

    def sf(u):  # Fbar_V at v = e^u
        return a * np.exp(-u) / (u * np.log(u) ** 2)

    moment = np.exp(log_t) * sf(log_t) + a / np.log(log_t)  # t Fbar_V(t) + int_t^inf Fbar_V
    assert r.tail_moment == pytest.approx(moment * log_t, rel=1e-12)  # over Fbar_X = 1 / log t
    assert r.tail_ratio == pytest.approx(np.exp(log_t) * sf(log_t) * log_t, rel=1e-12)
    half = log_t - np.log(2)
    assert r.lower_bound == pytest.approx(moment / (1 / half + sf(half)), rel=1e-12)
    # the bound grows without limit while t Fbar_V / Fbar_X falls to 0
    big = regions.slowly_varying_bound(np.log(10.0) * np.array([10, 100, 1000, 10000]))
    assert np.all(np.diff(big.lower_bound) > 0) and np.all(np.diff(big.tail_ratio) < 0)
    with pytest.raises(ValueError, match="log_t"):
        regions.slowly_varying_bound(1.0)


def test_thresholds_beyond_the_reach_are_refused_by_name():
    # beyond 1e90 a Student-t(3) tail nears the smallest double and tanh-sinh fails on
    # pieces of the line: a named refusal, not an ArithmeticError
    pair = Proxy(utility=stats.t(5), error=stats.t(3))
    assert np.isfinite(regions.log_both_large(pair, 1e90, 40.0))
    with pytest.raises(ValueError, match="t must be <= 1e\\+90"):
        regions.log_both_large(pair, 5.468126811957553e98, 40.0)
