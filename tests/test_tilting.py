"""Tilts, the KL frontier (Theorem 3) and the KL-penalized optimum (Theorem 4).

References are closed forms evaluated in mpmath (30 digits): the normal frontier
``mu + s sqrt(2 d)``, the exponential one through Lambert W, the tilted uniform and Gumbel
laws, and a beta law tilted by mpmath quadrature.
"""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from goodhart import tails
from goodhart.tilting import (
    is_heavy_tailed,
    kl_frontier,
    log_mgf,
    mgf_radius,
    penalized_optimum,
    tilt,
)

mp.mp.dps = 30
BUDGETS = [1e-4, 0.01, 0.3, 1.0, 4.0, 12.0]


@pytest.mark.parametrize("d", BUDGETS)
def test_normal_frontier_is_mu_plus_s_sqrt_2d(d):
    expected = 1.5 + 2.0 * mp.sqrt(2 * mp.mpf(d))
    assert kl_frontier(stats.norm(1.5, 2.0), d) == pytest.approx(float(expected), rel=1e-8)


@pytest.mark.parametrize("d", BUDGETS)
def test_exponential_frontier_lambert_w(d):
    """Tilting Exp(scale s) at lam gives Exp with mean m = s rho, KL = rho - 1 - log rho."""
    rho = -mp.lambertw(-mp.exp(-(1 + mp.mpf(d))), -1).real
    assert kl_frontier(stats.expon(scale=3.0), d) == pytest.approx(float(3 * rho), rel=1e-8)


def uniform_tilt(lam):
    """Mean and KL of U(0, 1) tilted at lam, in mpmath."""
    lam = mp.mpf(lam)
    mean = 1 / (1 - mp.exp(-lam)) - 1 / lam
    return mean, lam * mean - mp.log(mp.expm1(lam) / lam)


def gumbel_tilt(lam):
    """Gumbel: E exp(lam V) = Gamma(1 - lam), so Lambda' = -psi(1 - lam)."""
    lam = mp.mpf(lam)
    mean = -mp.digamma(1 - lam)
    return mean, lam * mean - mp.loggamma(1 - lam)


def beta23_tilt(lam):
    """Beta(2, 3) tilted at lam, by mpmath quadrature of the density 12 x (1 - x)^2."""
    lam = mp.mpf(lam)
    z = mp.quad(lambda x: 12 * x * (1 - x) ** 2 * mp.exp(lam * x), [0, 1])
    mean = mp.quad(lambda x: 12 * x**2 * (1 - x) ** 2 * mp.exp(lam * x), [0, 1]) / z
    return mean, lam * mean - mp.log(z)


TILTS = [(stats.uniform(0, 1), uniform_tilt, lam) for lam in (0.05, 0.5, 3.0, 40.0)] + [
    (stats.gumbel_r(), gumbel_tilt, lam) for lam in (0.05, 0.5, 0.9)] + [
    (stats.beta(2, 3), beta23_tilt, lam) for lam in (0.05, 0.5, 3.0, 40.0)]


@pytest.mark.parametrize(
    "v, reference, lam", TILTS, ids=[f"{v.dist.name}-{lam}" for v, _, lam in TILTS]
)
def test_frontier_is_the_tilt_with_that_kl(v, reference, lam):
    mean, kl = reference(lam)
    assert kl_frontier(v, float(kl)) == pytest.approx(float(mean), rel=1e-8)
    result = tilt(v, lam)
    assert result.mean == pytest.approx(float(mean), rel=1e-9)
    assert result.kl == pytest.approx(float(kl), rel=1e-8)


@pytest.mark.parametrize("lam", [1e-3, 0.7, 5.0])
def test_log_mgf_normal(lam):
    assert log_mgf(stats.norm(-1, 3), lam) == pytest.approx(-lam + 9 * lam**2 / 2, rel=1e-10)


def test_log_mgf_is_infinite_beyond_radius():
    assert np.array_equal(log_mgf(stats.expon(scale=2), [0.5, 0.6]), [np.inf, np.inf])
    assert np.isfinite(log_mgf(stats.expon(scale=2), 0.49))


def test_frontier_vectorizes_and_starts_at_mean():
    v = stats.gumbel_r(1.0, 2.0)
    values = kl_frontier(v, np.array([0.0, 0.1, 1.0]))
    assert values.shape == (3,)
    assert values[0] == v.mean()
    assert np.all(np.diff(values) > 0)


@pytest.mark.parametrize("v", [stats.gumbel_r(), stats.beta(2, 3), stats.expon(), stats.logistic()],
                         ids=lambda v: v.dist.name)
def test_frontier_rate_as_d_goes_to_zero(v):
    """Theorem 3's limit with its rate: sup E_P[V] = E_Q[V] + sd(V) sqrt(2 d) + O(d)."""
    d = np.array([1e-6, 1e-8])
    excess = (kl_frontier(v, d) - v.mean()) / np.sqrt(2 * d)
    assert excess == pytest.approx(v.std(), rel=1e-2)
    assert abs(excess[1] - v.std()) < abs(excess[0] - v.std())


@settings(max_examples=25, deadline=None)
@given(d=st.floats(1e-3, 8.0), lam=st.floats(0.05, 5.0))
def test_donsker_varadhan_bounds_the_frontier(d, lam):
    """E_P[V] <= (d + Lambda(lam)) / lam for every lam: the frontier respects every such bound."""
    v = stats.gumbel_r() if lam < 1 else stats.norm(0.3, 1.7)
    assert kl_frontier(v, d) <= (d + log_mgf(v, lam)) / lam * (1 + 1e-10)


@pytest.mark.parametrize("v", [stats.t(3), stats.pareto(2.5), stats.lognorm(1.0), stats.lomax(4)],
                         ids=lambda v: v.dist.name)
def test_heavy_tails_have_no_frontier(v):
    assert is_heavy_tailed(v)
    assert np.array_equal(kl_frontier(v, [0.0, 1e-9, 1.0]), [v.mean(), np.inf, np.inf])


@pytest.mark.parametrize(
    "v, radius",
    [(stats.norm(0, 3), np.inf), (stats.expon(scale=2), 0.5), (stats.gamma(2.5, scale=0.5), 2.0),
     (stats.gumbel_r(0, 4), 0.25), (stats.weibull_min(1.5), np.inf), (stats.weibull_min(0.7), 0.0),
     (stats.t(5), 0.0), (stats.lognorm(0.5), 0.0), (stats.laplace(0, 2), 0.5),
     (stats.chi2(3), 0.5)],
    ids=lambda p: getattr(getattr(p, "dist", None), "name", str(p)),
)
def test_radius_table_matches_the_decay_rate_far_out(v, radius):
    """The tabulated radius against the decay rate -log Fbar(x) / x far in the tail.

    At the quantiles of tail mass 1e-60 and 1e-250 the rate is close to a finite radius, grows
    for an infinite one (lighter than every exponential), and falls towards 0 for a heavy tail.
    """
    assert mgf_radius(v) == radius
    near, far = (tails.decay_rate(v, v.isf(p)) for p in (1e-60, 1e-250))
    if radius == 0:
        assert far / near < 0.8
    elif np.isinf(radius):
        assert far / near > 1.3
    else:
        assert far == pytest.approx(radius, rel=2e-2)


def test_bounded_support_is_light_whatever_the_family():
    assert mgf_radius(stats.truncexpon(3.0)) == np.inf
    assert mgf_radius(stats.genpareto(-0.5)) == np.inf


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="cannot decide the right tail"):
        mgf_radius(stats.genhyperbolic(0.5, 1.5, 0.5))


@pytest.mark.parametrize("d", [-0.1, np.nan, np.inf])
def test_bad_budget(d):
    with pytest.raises(ValueError, match="d must be"):
        kl_frontier(stats.norm(), d)


def test_tilt_beyond_radius_is_refused():
    with pytest.raises(ValueError, match="finite only for lam < 1"):
        tilt(stats.gumbel_r(), 1.0)


@pytest.mark.parametrize("beta", [0.25, 1.0, 3.0])
def test_penalized_optimum_normal_closed_form(beta):
    """Normal X, V: tilts at 1/beta shift each mean by s^2/beta; KL = (s_X^2 + s_V^2)/(2 beta^2)."""
    result = penalized_optimum(stats.norm(0.5, 1.5), stats.norm(-1.0, 0.8), beta)
    assert result.utility == pytest.approx(-1.0 + 0.64 / beta, rel=1e-9)
    assert result.error == pytest.approx(0.5 + 2.25 / beta, rel=1e-9)
    assert result.kl == pytest.approx((2.25 + 0.64) / (2 * beta**2), rel=1e-8)
    assert result.proxy == pytest.approx(result.utility + result.error)


def test_penalized_optimum_exponential_error_closed_form():
    """Exp(1) error tilted at 1/beta: mean rho = beta / (beta - 1), KL rho - 1 - log rho."""
    beta = np.array([1.5, 4.0])
    rho = beta / (beta - 1)
    result = penalized_optimum(stats.expon(), stats.norm(), beta)
    assert result.error == pytest.approx(rho, rel=1e-9)
    assert result.utility == pytest.approx(1 / beta, rel=1e-9)
    assert result.kl == pytest.approx(rho - 1 - np.log(rho) + 1 / (2 * beta**2), rel=1e-8)


def test_penalized_optimum_does_not_exist_for_small_beta_with_exponential_error():
    with pytest.raises(ValueError, match=r"no optimum for beta <= 2"):
        penalized_optimum(stats.expon(scale=2.0), stats.norm(), [3.0, 2.0])


def test_penalized_optimum_does_not_exist_for_heavy_error():
    with pytest.raises(ValueError, match="heavy-tailed"):
        penalized_optimum(stats.t(3), stats.norm(), 100.0)


@pytest.mark.parametrize("beta", [0.0, -1.0, np.nan])
def test_bad_beta(beta):
    with pytest.raises(ValueError, match="beta must be"):
        penalized_optimum(stats.norm(), stats.norm(), beta)


def test_donsker_varadhan_is_tight_at_the_tilt():
    """At the tilt with KL d the bound (d + Lambda(lam)) / lam is attained."""
    v, lam = stats.gumbel_r(0.5, 1.5), 0.4
    d = tilt(v, lam).kl
    assert kl_frontier(v, d) == pytest.approx((d + log_mgf(v, lam)) / lam, rel=1e-9)


@settings(max_examples=15, deadline=None)
@given(shift=st.floats(-5, 5), scale=st.floats(0.1, 10), d=st.floats(1e-3, 5))
def test_frontier_is_affine_equivariant(shift, scale, d):
    """Phi_{a + b V}(d) = a + b Phi_V(d) for b > 0: the loc/scale handling is consistent."""
    base = kl_frontier(stats.gamma(2.0), d)
    moved = kl_frontier(stats.gamma(2.0, loc=shift, scale=scale), d)
    assert moved == pytest.approx(shift + scale * base, rel=1e-9, abs=1e-9 * scale)
