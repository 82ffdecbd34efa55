"""The engine's closed-form log densities and log tails (goodhart._fast) against scipy's own
methods where scipy is accurate (relative 1e-13), and against mpmath where scipy's underflow."""

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
    stats.skewnorm(0.3),
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
