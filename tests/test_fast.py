"""The engine's closed-form log densities and log tails (goodhart._fast) against scipy's own
methods where scipy is accurate (relative 1e-13), and against mpmath where scipy's underflow."""

import warnings

import mpmath as mp
import numpy as np
import pytest
from scipy import stats

from goodhart._fast import FastLaw, log_pdf_sf_cdf

LAWS = [
    stats.norm(), stats.norm(1.5, 3.0), stats.t(3), stats.t(10, scale=0.8**0.5),
    stats.t(2.5, loc=-1),
    stats.lognorm(np.log(2), loc=-1), stats.lognorm(1.0, scale=2.0), stats.levy(),
    stats.levy(loc=1.0, scale=0.5), stats.skewnorm(-4), stats.skewnorm(2, loc=1, scale=2),
    stats.skewnorm(0.3), stats.laplace(), stats.laplace(2.0, 0.5), stats.levy_l(loc=0.5, scale=2),
    stats.expon(), stats.expon(-1.0, 2.5), stats.pareto(3), stats.pareto(1.5, loc=-2, scale=3),
    stats.gumbel_r(), stats.gumbel_r(1.0, 0.5),
]


def grid(q):
    """Points across the body and into both tails, where scipy's own values are accurate."""
    p = np.concatenate([np.geomspace(1e-12, 0.5, 40), 0.5 + np.geomspace(1e-6, 0.5, 20)[:-1]])
    return np.unique(np.concatenate([q.ppf(p), q.isf(p)]))


@pytest.mark.parametrize("q", LAWS, ids=lambda q: f"{q.dist.name}{q.args}{q.kwds}")
def test_closed_forms_match_scipy(q):
    x = grid(q)
    log_pdf, log_sf, log_cdf = log_pdf_sf_cdf(q)
    np.testing.assert_allclose(log_pdf(x), q.logpdf(x), rtol=1e-13, atol=1e-13)
    # scipy's skew-normal is good to about 1e-12 only in its body (quad to 1e-8 in its light
    # tail, Boost's Owen's T cancelling towards it and near F = 1): its tails against mpmath below
    for ours, theirs in ((log_sf, q.logsf), (log_cdf, q.logcdf)):
        keep = np.ones(x.size, bool)
        if q.dist.name == "skewnorm":
            keep = (theirs(x) > np.log(1e-3)) & (theirs(x) < np.log1p(-1e-3))
        if q.dist.name == "pareto":  # scipy's tails lose digits near the lower end: see below
            keep = q.cdf(x) > 1e-3
        np.testing.assert_allclose(ours(x[keep]), theirs(x[keep]), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("a", "x"), [(4.0, -1.5), (4.0, -5.0), (4.0, -40.0), (0.3, -8.0),
                                      (-4.0, 1.5), (-4.0, 20.0), (25.0, -0.3), (-4.0, 0.95),
                                      (2.0, -1.89), (2.0, 1.2), (-4.0, -45.0), (2.0, 45.0)])
def test_skew_normal_tails_against_mpmath(a, x):
    """Both tails of a skew-normal, the light one (left for a > 0, right for a < 0) where
    scipy falls back to one quadrature a point and the Owen's-T form cancels (Gauss-Laguerre
    rules there), and F near 1, where scipy's log F keeps 1e-8 of its digits."""
    with mp.workdps(50):
        def density(s):
            return 2 * mp.npdf(s) * mp.ncdf(a * s)

        rate = (1 + a * a) * abs(x) + 1
        cuts = {x + k / rate for k in (0.5, 1, 2, 5, 10, 20, 50, 200)} | {-8, -3, 0, 3, 8}
        cuts |= {x - k / rate for k in (0.5, 1, 2, 5, 10, 20, 50, 200)}
        cdf = mp.quad(density, [-mp.inf] + sorted(c for c in cuts if c < x) + [x])
        sf = mp.quad(density, [x] + sorted(c for c in cuts if c > x) + [mp.inf])
        # the larger side as 1 minus the smaller, which holds its digits
        log_cdf, log_sf = (mp.log(cdf), mp.log1p(-cdf)) if cdf < sf else (mp.log1p(-sf), mp.log(sf))
    law = FastLaw(stats.skewnorm(a))  # the light tail's F to 1e-10 (its log to 1e-12)
    assert float(law.logcdf(x)) == pytest.approx(float(log_cdf), rel=1e-10, abs=1e-300)
    assert float(law.logsf(x)) == pytest.approx(float(log_sf), rel=1e-10, abs=1e-300)


@pytest.mark.parametrize(("df", "z"), [(3, 1e20), (3, 1e104), (3, 1e300), (10, 1e32),
                                       (10, 1e100), (30, 2e10), (30, 1e12), (100, 1.2e3),
                                       (100, 1e4), (1000, 40.0)])
def test_student_far_tail_against_mpmath(df, z):
    """Where stdtr underflows (P(T > z) < 1e-300), the series of the incomplete beta function:
    exact to rounding out to z = 1e300, where scipy's log tail is -inf."""
    _, log_sf, log_cdf = log_pdf_sf_cdf(stats.t(df))
    with mp.workdps(50):
        want = mp.log(mp.betainc(mp.mpf(df) / 2, 0.5, 0, df / (df + mp.mpf(z) ** 2),
                                 regularized=True) / 2)
    assert float(log_sf(z)) == pytest.approx(float(want), rel=1e-14)
    assert float(log_cdf(-z)) == pytest.approx(float(want), rel=1e-14)


@pytest.mark.parametrize("z", [30.0, 689.0, 700.0, 1e5])
def test_gumbel_far_tail_against_mpmath(z):
    """log P(X > z) = log(1 - exp(-e^-z)), which is -z to rounding where e^-z underflows."""
    with mp.workdps(50):
        want = mp.log(-mp.expm1(-mp.exp(-mp.mpf(z))))
    assert float(log_pdf_sf_cdf(stats.gumbel_r())[1](z)) == pytest.approx(float(want), rel=1e-15)


@pytest.mark.parametrize("q", [stats.expon(), stats.pareto(3), stats.gumbel_r()],
                         ids=lambda q: q.dist.name)
def test_new_families_at_the_ends_of_the_line(q):
    """Outside the support, at its end and at +-inf: the values scipy gives, with no warning
    (the Gumbel density at -inf was inf - inf = NaN, as scipy's is; here it is -inf)."""
    x = np.array([-np.inf, -800.0, -1.0, 0.0, 1.0, np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = [f(x) for f in log_pdf_sf_cdf(q)]
    with np.errstate(all="ignore"):
        theirs = [np.nan_to_num(f(x), nan=-np.inf, posinf=np.inf, neginf=-np.inf) for f in
                  (q.logpdf, q.logsf, q.logcdf)]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("z", [1 + 2**-40, 1.000000000166971, 1.0001, 1.5, 1e6, 1e300])
def test_pareto_near_its_lower_end_against_mpmath(z):
    """Pareto(3): log P(X > z) = -3 log z and log P(X <= z) = log(1 - z^-3), exact where
    scipy's lose 3e-10 of their digits (z - 1 = 1.7e-10)."""
    log_pdf, log_sf, log_cdf = log_pdf_sf_cdf(stats.pareto(3))
    with mp.workdps(40):
        x = mp.mpf(z)
        want = [mp.log(3) - 4 * mp.log(x), -3 * mp.log(x), mp.log(1 - x**-3)]
    for ours, theirs in zip((log_pdf, log_sf, log_cdf), want, strict=True):
        assert float(ours(z)) == pytest.approx(float(theirs), rel=1e-14, abs=1e-300)


@pytest.mark.parametrize("x", [-3.7e14, -4.5e20, -3.3e21, -1.0, 0.3, 0.4999, 0.49999999])
def test_reflected_levy_against_mpmath(x):
    """levy_l(0.5, 2): P(X < x) = erf(a), P(X > x) = erfc(a), a = 1 / sqrt(|x - 0.5|); scipy's
    CDF is 2 Phi(a) - 1, which loses digits far out (-8e-6 relative at x = -3.3e21), and its
    tail right of the median underflows (erfc(100) at x = 0.4999)."""
    law = FastLaw(stats.levy_l(loc=0.5, scale=2))
    with mp.workdps(40):
        a = 1 / mp.sqrt(abs(mp.mpf(x) - mp.mpf(0.5)))
        log_cdf, log_sf = float(mp.log(mp.erf(a))), float(mp.log(mp.erfc(a)))
        y = (mp.mpf(0.5) - x) / 2  # the standard Levy variable, density y^-1.5 e^(-1/2y)/sqrt(2pi)
        log_pdf = float(mp.log(y**-1.5 * mp.exp(-1 / (2 * y)) / mp.sqrt(2 * mp.pi) / 2))
    assert float(law.logcdf(x)) == pytest.approx(log_cdf, rel=1e-14, abs=1e-300)
    assert float(law.logsf(x)) == pytest.approx(log_sf, rel=1e-14, abs=1e-300)
    assert float(law.logpdf(x)) == pytest.approx(log_pdf, rel=1e-13)


@pytest.mark.parametrize("x", [-800.0, -30.0, 0.0, 1e-20, 40.0, 900.0])
def test_laplace_beyond_scipy_against_mpmath(x):
    """scipy's Laplace density is log(exp(-|x|) / 2): -inf beyond |x| = 745; the closed forms
    are not, and keep P(X > x) = 1 - e^x / 2 distinct from 1 near 0."""
    law = FastLaw(stats.laplace())
    with mp.workdps(40):
        x_ = mp.mpf(x)
        log_sf = mp.log(mp.exp(-x_) / 2) if x > 0 else mp.log(1 - mp.exp(x_) / 2)
        log_cdf = mp.log(mp.exp(x_) / 2) if x < 0 else mp.log(1 - mp.exp(-x_) / 2)
        log_pdf = mp.log(mp.exp(-abs(x_)) / 2)
    assert float(law.logsf(x)) == pytest.approx(float(log_sf), rel=1e-14, abs=1e-300)
    assert float(law.logcdf(x)) == pytest.approx(float(log_cdf), rel=1e-14, abs=1e-300)
    assert float(law.logpdf(x)) == pytest.approx(float(log_pdf), rel=1e-14)


def _mp_gumbel_sf(x):
    return -mp.expm1(-mp.exp(-x))


RESCUED = [  # (law, side, x, the exact tail in mpmath), each where scipy's own is -inf
    (stats.halfnorm(), "sf", 50.0, lambda x: 2 * mp.ncdf(-x)),
    (stats.gumbel_r(), "sf", 800.0, _mp_gumbel_sf),
    (stats.gamma(3), "sf", 800.0, lambda x: mp.gammainc(3, x, mp.inf) / 2),
    (stats.gumbel_l(), "cdf", -800.0, lambda x: _mp_gumbel_sf(-x)),
    (stats.maxwell(), "sf", 45.0, lambda x: mp.erfc(x / mp.sqrt(2)) + mp.sqrt(2 / mp.pi) * x
     * mp.exp(-x * x / 2)),
]


@pytest.mark.parametrize(("q", "side", "x", "exact"), RESCUED, ids=lambda v: getattr(
    getattr(v, "dist", None), "name", None))
def test_other_families_tails_from_the_density_where_scipy_underflows(q, side, x, exact):
    """A family without a closed form here keeps scipy's methods; where its tail underflows
    (-inf strictly inside the support) the value comes from its density. Before, the engine
    took the -inf and Proxy(norm, halfnorm).logsf(100) was -2659.92 instead of -2504.48."""
    assert (q.logsf(x) if side == "sf" else q.logcdf(x)) == -np.inf  # scipy's own
    law = FastLaw(q)
    ours = law.logsf(np.array([x])) if side == "sf" else law.logcdf(np.array([x]))
    with mp.workdps(40):
        expected = float(mp.log(exact(mp.mpf(x))))
    assert float(ours[0]) == pytest.approx(expected, rel=1e-12)
