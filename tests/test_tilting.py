"""Tilts, the KL frontier (Theorem 2) and the KL-penalized optimum (Theorem 4).

References are independent of the package's quadrature: closed forms evaluated in mpmath
(normal, exponential and gamma through Lambert W, uniform, Gumbel, inverse Gaussian), mpmath
quadrature at 30+ digits (beta, generalized inverse Gaussian), and a sympy derivation of the
small-budget series. mpmath runs only under ``mp.workdps``.
"""

import warnings

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from goodhart import tails
from goodhart.tilting import (
    PenalizedOptimum,
    Tilt,
    frontier_series,
    kl_frontier,
    log_mgf,
    penalized_optimum,
    standardized,
    tilt,
)

DPS = 40
RTOL = 1e-9  # the accuracy the module states


# --------------------------------------------------------------------------------------------
# References (mpmath)


def expon_rho(d):
    """rho with rho - 1 - log rho = d (the tilted exponential's mean, in units of the scale)."""
    return -mp.lambertw(-mp.exp(-(1 + d)), -1).real


def gamma_frontier(a, d):
    """Gamma(a) tilted at theta is Gamma(a, rate 1 - theta): a (rho - 1 - log rho) = d."""
    return a * expon_rho(d / a)


def uniform_tilt(lam):
    """Mean, KL and log-MGF of U(0, 1) tilted at lam, cancellation-free at both ends."""
    lam = mp.mpf(lam)
    if lam > 10**4:  # e^-lam is below 10^-4000: drop it
        return 1 - 1 / lam, mp.log(lam) - 1, lam - mp.log(lam)
    log_mgf = mp.log(mp.expm1(lam) / lam)
    mean = 1 / (-mp.expm1(-lam)) - 1 / lam
    if lam < 20:
        return mean, lam * mean - log_mgf, log_mgf
    # KL = lam mean - log_mgf = log lam - 1 + lam / expm1(lam) - log(1 - e^-lam)
    return mean, mp.log(lam) - 1 + lam / mp.expm1(lam) - mp.log1p(-mp.exp(-lam)), log_mgf


def gumbel_tilt(lam):
    """Gumbel: E exp(lam V) = Gamma(1 - lam), so Lambda' = -psi(1 - lam)."""
    lam = mp.mpf(lam)
    mean = -mp.digamma(1 - lam)
    return mean, lam * mean - mp.loggamma(1 - lam), mp.loggamma(1 - lam)


def beta_tilt(a, b):
    """Tilts of Beta(a, b) in closed form: E exp(lam V) = 1F1(a; a + b; lam) (Kummer's
    function), whose derivative is a / (a + b) 1F1(a + 1; a + b + 1; lam). The KL, lam times
    the mean less log E exp(lam V), cancels about log10(1 / lam) digits at small lam: 30 extra
    digits cover lam down to 1e-30."""
    a, b = mp.mpf(a), mp.mpf(b)

    def at(lam):
        with mp.extradps(30):
            lam = mp.mpf(lam)
            mgf = mp.hyp1f1(a, a + b, lam)
            mean = a / (a + b) * mp.hyp1f1(a + 1, a + b + 1, lam) / mgf
            return mean, lam * mean - mp.log(mgf), mp.log(mgf)

    return at


def frontier_by_root(reference, d, guess):
    """Invert a reference tilt: the lam with KL(lam) = d (a root on log lam), then its mean.

    ``guess`` is a rough lam (within a factor of a few); the root is bracketed around it and
    refined by mpmath's bracketing solver, so the result does not depend on it.
    """
    def excess(log_lam):
        return reference(mp.exp(log_lam))[1] - d

    lo, hi = mp.log(guess) - 1, mp.log(guess) + 1
    while excess(lo) > 0:
        lo -= 2
    while excess(hi) < 0:
        hi += 2
    log_lam = mp.findroot(excess, (lo, hi), solver="anderson", tol=mp.mpf(10) ** (-mp.mp.dps + 5))
    return reference(mp.exp(log_lam))[0]


def close(value, reference, rtol, atol=0.0):
    return abs(value - reference) <= rtol * abs(reference) + atol


# --------------------------------------------------------------------------------------------
# Theorem 2: the frontier

BUDGETS = [1e-4, 0.01, 0.3, 1.0, 4.0, 12.0]


@pytest.mark.parametrize("d", BUDGETS)
def test_normal_frontier_is_mu_plus_s_sqrt_2d(d):
    expected = 1.5 + 2.0 * mp.sqrt(2 * mp.mpf(d))
    assert kl_frontier(stats.norm(1.5, 2.0), d) == pytest.approx(float(expected), rel=1e-8)


@pytest.mark.parametrize("d", BUDGETS)
def test_exponential_frontier_lambert_w(d):
    """Tilting Exp(scale s) at lam gives Exp with mean m = s rho, KL = rho - 1 - log rho."""
    with mp.workdps(DPS):
        expected = float(3 * expon_rho(mp.mpf(d)))
    assert kl_frontier(stats.expon(scale=3.0), d) == pytest.approx(expected, rel=1e-8)


TILTS = (
    [("uniform", stats.uniform(0, 1), uniform_tilt, lam) for lam in (0.05, 0.5, 3.0, 40.0)]
    + [("gumbel", stats.gumbel_r(), gumbel_tilt, lam) for lam in (0.05, 0.5, 0.9)]
    + [("beta23", stats.beta(2, 3), beta_tilt(2, 3), lam) for lam in (0.05, 0.5, 3.0, 40.0)]
)


@pytest.mark.parametrize("name, v, reference, lam", TILTS,
                         ids=[f"{name}-{lam}" for name, _, _, lam in TILTS])
def test_frontier_is_the_tilt_with_that_kl(name, v, reference, lam):
    with mp.workdps(DPS):
        mean, kl, log_m = (float(x) for x in reference(lam))
    assert kl_frontier(v, kl) == pytest.approx(mean, rel=1e-8)
    result = tilt(v, lam)
    assert result.mean == pytest.approx(mean, rel=1e-9)
    assert result.kl == pytest.approx(kl, rel=1e-8)
    assert result.log_mgf == pytest.approx(log_m, rel=1e-9)


@pytest.mark.parametrize("d", [1e-300, 1e-100, 1e-20, 1e-16, 1e-12, 1e-8])
def test_normal_frontier_for_tiny_budgets(d):
    """Regression: d = 1e-20 gave 1.81e-08 (exact sqrt(2 d) = 1.414e-10), 1e-16 was 21% off."""
    assert kl_frontier(stats.norm(), d) == pytest.approx(float(mp.sqrt(2 * mp.mpf(d))), rel=1e-14)


SMALL = [1e-20, 1e-16, 1e-12, 1e-10, 1e-8, 1e-6]


def _small_budget_reference(name, d):
    with mp.workdps(DPS):
        d = mp.mpf(d)
        if name == "expon":
            return expon_rho(d)  # the mean of Exp(1) tilted to KL d
        if name == "gumbel":
            return frontier_by_root(gumbel_tilt, d, mp.sqrt(2 * d) * mp.sqrt(6) / mp.pi)
        return frontier_by_root(beta_tilt(2, 3), d, mp.sqrt(2 * d) / mp.sqrt(mp.mpf(1) / 25))


@pytest.mark.parametrize("name, v", [("expon", stats.expon()), ("gumbel", stats.gumbel_r()),
                                     ("beta", stats.beta(2, 3))], ids=["expon", "gumbel", "beta"])
@pytest.mark.parametrize("d", SMALL)
def test_frontier_for_small_budgets_against_mpmath(name, v, d):
    """The excess Phi(d) - E[V] to 1e-9 of itself (plus the rounding of the sum) as d -> 0."""
    expected = _small_budget_reference(name, d)
    with mp.workdps(DPS):
        excess = float(expected - mp.mpf(float(v.mean())))
        expected = float(expected)
    value = kl_frontier(v, d)
    assert close(value, expected, 0.0, RTOL * abs(excess) + 4 * np.spacing(abs(expected)))


def test_series_coefficients_match_a_sympy_inversion():
    """Invert KL(lam) = sum (n - 1) kappa_n lam^n / n! = eps^2 / 2 with sympy for Exp(1)."""
    lam, eps = sp.symbols("lambda epsilon", positive=True)
    log_mgf_exp = -sp.log(1 - lam) - lam  # centred Exp(1): cumulants (n - 1)!
    kl = sp.series(lam * sp.diff(log_mgf_exp, lam) - log_mgf_exp, lam, 0, 7).removeO()
    coefficients = sp.symbols("c1:6")
    lam_of_eps = sum(c * eps ** (k + 1) for k, c in enumerate(coefficients))
    residual = sp.expand(sp.series(kl.subs(lam, lam_of_eps), eps, 0, 7).removeO() - eps**2 / 2)
    solution = {}
    for n, c in zip(range(2, 7), coefficients, strict=True):
        roots = sp.solve(residual.coeff(eps, n).subs(solution), c)
        solution[c] = [r for r in roots if n > 2 or r > 0][0]
    mean = sp.series(sp.diff(log_mgf_exp, lam).subs(lam, lam_of_eps.subs(solution)), eps, 0, 5)
    mean = sp.expand(mean.removeO())
    expected = [1.0] + [float(mean.coeff(eps, k) * sp.sqrt(2) ** k) for k in range(1, 5)]
    assert frontier_series(stats.expon()) == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize(
    "v, cumulant",
    [(stats.gumbel_r(), lambda n: mp.factorial(n - 1) * mp.zeta(n)),
     (stats.gamma(2.5), lambda n: 2.5 * mp.factorial(n - 1)),
     (stats.expon(loc=-1, scale=2.0), lambda n: 2.0**n * mp.factorial(n - 1))],
    ids=["gumbel", "gamma", "expon-loc-scale"],
)
def test_series_coefficients_from_known_cumulants(v, cumulant):
    with mp.workdps(DPS):
        k2, k3, k4, k5 = (cumulant(n) for n in range(2, 6))
        s = mp.sqrt(k2)
        expected = [float(v.mean()), float(s * mp.sqrt(2)), float(k3 / (3 * s**2)),
                    float(mp.sqrt(2) * (3 * k4 * s**2 - 4 * k3**2) / (36 * s**5)),
                    float((40 * k3**3 - 45 * k3 * k4 * s**2 + 9 * k5 * s**4) / (270 * s**8))]
    assert frontier_series(v) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_frontier_series_refuses_heavy_tails():
    with pytest.raises(ValueError, match="v .* heavy-tailed"):
        frontier_series(stats.t(3))


@pytest.mark.parametrize("lam", [1e-3, 0.7, 5.0])
def test_log_mgf_normal(lam):
    assert log_mgf(stats.norm(-1, 3), lam) == pytest.approx(-lam + 9 * lam**2 / 2, rel=1e-10)


def test_log_mgf_is_infinite_beyond_radius_and_zero_at_zero():
    assert np.array_equal(log_mgf(stats.expon(scale=2), [0.5, 0.6]), [np.inf, np.inf])
    assert np.isfinite(log_mgf(stats.expon(scale=2), 0.49))
    # every law, heavy or not, has E exp(0 V) = 1 (regression: inf for heavy tails)
    assert np.array_equal(log_mgf(stats.t(3), [0.0, 1e-9]), [0.0, np.inf])


def test_frontier_vectorizes_and_starts_at_mean():
    v = stats.gumbel_r(1.0, 2.0)
    values = kl_frontier(v, np.array([[0.0, 0.1], [1.0, 3.0]]))
    assert values.shape == (2, 2)
    assert values[0, 0] == v.mean()
    assert np.all(np.diff(values.ravel()) > 0)
    assert isinstance(kl_frontier(v, 0.5), float)
    assert values[0, 1] == kl_frontier(v, 0.1)


@pytest.mark.parametrize("v", [stats.gumbel_r(), stats.beta(2, 3), stats.expon(), stats.logistic()],
                         ids=lambda v: v.dist.name)
def test_frontier_rate_as_d_goes_to_zero(v):
    """Theorem 2's limit with its rate: sup E_P[V] = E_Q[V] + sd(V) sqrt(2 d) + O(d)."""
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


def test_donsker_varadhan_is_tight_at_the_tilt():
    """At the tilt with KL d the bound (d + Lambda(lam)) / lam is attained."""
    v, lam = stats.gumbel_r(0.5, 1.5), 0.4
    d = tilt(v, lam).kl
    assert kl_frontier(v, d) == pytest.approx((d + log_mgf(v, lam)) / lam, rel=1e-9)


@pytest.mark.parametrize("v", [stats.t(3), stats.pareto(2.5), stats.lognorm(1.0), stats.lomax(4)],
                         ids=lambda v: v.dist.name)
def test_heavy_tails_have_no_frontier(v):
    assert tails.is_heavy_tailed(v)
    assert np.array_equal(kl_frontier(v, [0.0, 1e-9, 1.0]), [v.mean(), np.inf, np.inf])


@settings(max_examples=15, deadline=None)
@given(shift=st.floats(-5, 5), scale=st.floats(0.1, 10), d=st.floats(1e-3, 5))
def test_frontier_is_affine_equivariant(shift, scale, d):
    """Phi_{a + b V}(d) = a + b Phi_V(d) for b > 0: the loc/scale handling is consistent."""
    base = kl_frontier(stats.gamma(2.0), d)
    moved = kl_frontier(stats.gamma(2.0, loc=shift, scale=scale), d)
    assert moved == pytest.approx(shift + scale * base, rel=1e-9, abs=1e-9 * scale)


# --------------------------------------------------------------------------------------------
# Large budgets and large tilts (regressions)


def test_normal_frontier_for_huge_budgets():
    """Regression: 'no tilt of norm reaches KL = 1e+12'; every d is reachable for the normal."""
    for d in (1e12, 1e100, 1e300):
        assert kl_frontier(stats.norm(2.0, 3.0), d) == pytest.approx(2 + 3 * np.sqrt(2 * d),
                                                                     rel=1e-14)


@pytest.mark.parametrize("d", [30.0, 50.0, 1e3, 1e6])
def test_uniform_frontier_tends_to_the_upper_end(d):
    """Regression: ZeroDivisionError at d = 50. The frontier is 1 - 1/lam + ..., lam ~ e^(d+1)."""
    with mp.workdps(DPS):
        expected = float(frontier_by_root(uniform_tilt, mp.mpf(d), mp.exp(d + 1)))
    value = kl_frontier(stats.uniform(), d)
    assert value <= 1.0
    assert abs(value - expected) <= RTOL * 0.5  # relative to the excess over the mean, 1/2


@pytest.mark.parametrize("d", [20.0, 40.0])
def test_beta_frontier_for_large_budgets(d):
    with mp.workdps(30):  # lam ~ exp((d + 3 + log 24) / 3): the tilt is Gamma(3) at the end
        guess = mp.exp((d + 3 + mp.log(24)) / 3)
        expected = float(frontier_by_root(beta_tilt(2, 3), mp.mpf(d), guess))
    assert abs(kl_frontier(stats.beta(2, 3), d) - expected) <= RTOL * 0.6


def test_normal_tilt_far_out():
    """Regression: tilt(norm, 3e6).mean was NaN without a warning (exact 3e6)."""
    result = tilt(stats.norm(), [3e6, 1e100])
    assert result.mean == pytest.approx([3e6, 1e100], rel=1e-15)
    assert result.kl == pytest.approx([4.5e12, 5e199], rel=1e-15)


def test_penalized_optimum_normal_extremes():
    """Regressions: beta = 1e8 gave KL 0.0 (exact 1e-16); beta = 1e-8 gave NaN (exact 1e8)."""
    tiny = penalized_optimum(utility=stats.norm(), error=stats.norm(), beta=1e8)
    assert tiny.kl == pytest.approx(1e-16, rel=1e-14)
    assert tiny.utility == pytest.approx(1e-8, rel=1e-14)
    huge = penalized_optimum(utility=stats.norm(), error=stats.norm(), beta=1e-8)
    assert huge.utility == pytest.approx(1e8, rel=1e-14)
    assert huge.kl == pytest.approx(1e16, rel=1e-14)


def test_far_tilts_of_other_laws_raise_or_warn_instead_of_nan():
    """Where double precision cannot resolve a tilt, a ValueError naming lam, never a NaN."""
    with pytest.raises(ValueError, match=r"lam = 3e\+06: the tilt of skewnorm cannot be computed"):
        tilt(stats.skewnorm(2.0), 3e6)
    with pytest.raises(ValueError, match=r"^d = 1e\+12: the frontier of v \(expon\)"):
        kl_frontier(stats.expon(), 1e12)
    with pytest.raises(ValueError, match=r"^beta = 1e-08: the tilt of the utility law"):
        penalized_optimum(utility=stats.skewnorm(1.0), error=stats.norm(), beta=1e-8)


def test_small_penalty_coefficient_non_normal():
    """KL ~ (var_X + var_V) / (2 beta^2) as beta -> inf, with full relative accuracy."""
    x, v = stats.gumbel_r(0.0, 2.0), stats.uniform(-1.0, 2.0)
    result = penalized_optimum(utility=v, error=x, beta=1e8)
    assert result.kl == pytest.approx((x.var() + v.var()) / 2e16, rel=1e-7)
    assert result.utility - v.mean() == pytest.approx(v.var() / 1e8, rel=1e-7)


# --------------------------------------------------------------------------------------------
# The MGF radius: attained and unattained suprema


@pytest.fixture
def unclassified_radius(monkeypatch):
    """Radii goodhart.tails does not know yet (these families' MGFs are finite at the radius)."""
    known = tails.mgf_radius
    # a - b for genhyperbolic(p, a, b); 1 / (2 mu^2) for invgauss(mu); b / 2 for geninvgauss
    radii = {"genhyperbolic": 1.0, "invgauss": 0.5, "geninvgauss": 1.0}
    monkeypatch.setattr(tails, "mgf_radius",
                        lambda q: radii[q.dist.name] if q.dist.name in radii else known(q))


def genhyperbolic_tilt(p, a, b):
    """scipy's genhyperbolic(p, a, b) (density proportional to
    (1 + x^2)^((p - 1/2) / 2) K_{p - 1/2}(a sqrt(1 + x^2)) e^(b x)) tilted at lam <= a - b."""
    p, a, b = mp.mpf(p), mp.mpf(a), mp.mpf(b)
    points = [-mp.inf, 0, 1, 10, 100, mp.inf]

    def density(x):
        return ((1 + x**2) ** ((p - mp.mpf(1) / 2) / 2)
                * mp.besselk(p - mp.mpf(1) / 2, a * mp.sqrt(1 + x**2)) * mp.exp(b * x))

    norm = mp.quad(density, points)

    def at(lam):
        lam = mp.mpf(lam)
        mgf = mp.quad(lambda x: density(x) * mp.exp(lam * x), points) / norm
        mean = mp.quad(lambda x: x * density(x) * mp.exp(lam * x), points) / norm / mgf
        return mean, lam * mean - mp.log(mgf), mp.log(mgf)

    return at


@pytest.mark.usefixtures("unclassified_radius")
def test_frontier_beyond_the_kl_at_the_radius_is_the_dv_bound():
    """Tail ~ x^-4 e^-x (genhyperbolic with p = -3): the MGF and the mean are finite at the
    radius 1, so KL(lam) stays below KL(1) < inf. For d above it the supremum is the
    Donsker-Varadhan bound (d + Lambda(1)) / 1, approached (Theorem 1 applied to the tilted
    law, whose tail x^-4 is heavy) but not attained."""
    v = stats.genhyperbolic(-3.0, 1.5, 0.5)
    with mp.workdps(30):
        reference = genhyperbolic_tilt(-3, 1.5, 0.5)
        mean_r, kl_r, log_mgf_r = (float(x) for x in reference(1))
        half = mp.mpf(kl_r) / 2
        lam_half = mp.findroot(lambda lam: reference(lam)[1] - half, (mp.mpf("0.1"), 1),
                               solver="anderson")
        below = float(reference(lam_half)[0])
    at_radius = tilt(v, 1.0)
    assert at_radius.mean == pytest.approx(mean_r, rel=1e-9)
    assert at_radius.kl == pytest.approx(kl_r, rel=1e-9)
    assert log_mgf(v, [1.0, 1.0 + 1e-9]) == pytest.approx([log_mgf_r, np.inf], rel=1e-9)
    assert kl_frontier(v, kl_r / 2) == pytest.approx(below, rel=1e-8)
    for d in (1.5 * kl_r, 10.0, 1e4):
        assert kl_frontier(v, d) == pytest.approx(d + log_mgf_r, rel=1e-9)
    # every tilt's mean, at its own KL, lies below that bound: the supremum is not attained
    tilts = tilt(v, np.array([0.9, 0.99, 0.999999]))
    assert np.all(tilts.kl < kl_r) and np.all(tilts.mean < tilts.kl + log_mgf_r)


@pytest.mark.usefixtures("unclassified_radius")
def test_geninvgauss_frontier_is_not_attained_beyond_the_radius():
    """geninvgauss(-3, 2), density v^-4 exp(-v - 1/v) / (2 K_3(2)): its tilt at the radius 1
    is invgamma(3) (mean 1/2), Lambda(1) = log(Gamma(3) / (2 K_3(2))) = -log K_3(2), so the
    tilts' KL stops at 1/2 + log K_3(2) and beyond it the frontier is d - log K_3(2)."""
    v = stats.geninvgauss(-3.0, 2.0)
    with mp.workdps(30):
        log_mgf_r = float(-mp.log(mp.besselk(3, 2)))
    at_radius = tilt(v, 1.0)
    assert at_radius.mean == pytest.approx(0.5, rel=1e-9)
    assert at_radius.log_mgf == pytest.approx(log_mgf_r, rel=1e-9)
    assert at_radius.kl == pytest.approx(0.5 - log_mgf_r, rel=1e-9)
    d = np.array([0.1, 1.0, 10.0])
    assert kl_frontier(v, d) == pytest.approx(d + log_mgf_r, rel=1e-9)
    assert kl_frontier(v, 0.03) < tilt(v, 1.0).mean  # below the radius's KL: a tilt


@pytest.mark.usefixtures("unclassified_radius")
def test_radius_with_a_finite_mgf_but_an_infinite_mean():
    """Inverse Gaussian IG(1, 1): E exp(V / 2) = e is finite, but the tilt at 1/2 has mean inf,
    so the tilts' KL is unbounded and every budget is attained below the radius."""
    v = stats.invgauss(1.0)
    # the tail x^-3/2 of the integrand beyond x ~ 1e16, where lam x and log f(x) cancel below
    # rounding, holds about 1e-8 of the mass: a warning says so
    with pytest.warns(RuntimeWarning, match="^lam = 0.5: the tilt of invgauss cannot be"):
        assert log_mgf(v, 0.5) == pytest.approx(1.0, rel=1e-7)
    assert log_mgf(v, 0.49) == pytest.approx(1 - np.sqrt(0.02), rel=1e-9)
    with pytest.raises(ValueError, match="lam = 0.5: at the MGF radius .* mean is infinite"):
        tilt(v, 0.5)
    with pytest.raises(ValueError, match="no optimum for beta <= 2 .* finite but not attained"):
        penalized_optimum(utility=v, error=stats.norm(), beta=2.0)
    # IG(1, 1) tilted at lam is IG(1 / r, 1) with r = sqrt(1 - 2 lam): mean 1 / r and
    # KL = (1 - r)^2 / (2 r), so the tilt with KL d has r = 1 + d - sqrt((1 + d)^2 - 1)
    for d in (0.1, 2.0, 50.0):
        with mp.workdps(30):
            d_mp = mp.mpf(d)
            expected = float(1 / (1 + d_mp - mp.sqrt((1 + d_mp) ** 2 - 1)))
        assert kl_frontier(v, d) == pytest.approx(expected, rel=1e-8)


# --------------------------------------------------------------------------------------------
# Theorem 4: the penalized optimum


@pytest.mark.parametrize("beta", [0.25, 1.0, 3.0])
def test_penalized_optimum_normal_closed_form(beta):
    """Normal X, V: tilts at 1/beta shift each mean by s^2/beta; KL = (s_X^2 + s_V^2)/(2 beta^2)."""
    result = penalized_optimum(error=stats.norm(0.5, 1.5), utility=stats.norm(-1.0, 0.8),
                               beta=beta)
    assert isinstance(result, PenalizedOptimum)
    assert result.utility == pytest.approx(-1.0 + 0.64 / beta, rel=1e-9)
    assert result.error == pytest.approx(0.5 + 2.25 / beta, rel=1e-9)
    assert result.kl == pytest.approx((2.25 + 0.64) / (2 * beta**2), rel=1e-8)
    assert result.proxy == pytest.approx(result.utility + result.error)
    # the objective is beta log E exp(U / beta) = (mu_X + mu_V) + (s_X^2 + s_V^2) / (2 beta)
    assert result.objective == pytest.approx(-0.5 + 2.89 / (2 * beta), rel=1e-9)
    assert result.objective == pytest.approx(result.proxy - beta * result.kl, rel=1e-9)


def test_penalized_optimum_exponential_error_closed_form():
    """Exp(1) error tilted at 1/beta: mean rho = beta / (beta - 1), KL rho - 1 - log rho."""
    beta = np.array([1.5, 4.0])
    rho = beta / (beta - 1)
    result = penalized_optimum(error=stats.expon(), utility=stats.norm(), beta=beta)
    assert result.error == pytest.approx(rho, rel=1e-9)
    assert result.utility == pytest.approx(1 / beta, rel=1e-9)
    assert result.kl == pytest.approx(rho - 1 - np.log(rho) + 1 / (2 * beta**2), rel=1e-8)
    assert result.beta.shape == (2,)


def test_penalized_optimum_does_not_exist_for_small_beta_with_exponential_error():
    with pytest.raises(ValueError, match=r"no optimum for beta <= 2"):
        penalized_optimum(error=stats.expon(scale=2.0), utility=stats.norm(), beta=[3.0, 2.0])


@pytest.mark.parametrize("role", ["error", "utility"])
def test_penalized_optimum_does_not_exist_for_heavy_laws(role):
    laws = {"error": stats.norm(), "utility": stats.norm(), role: stats.t(3)}
    with pytest.raises(ValueError, match=f"no optimum: the {role} law .* heavy-tailed"):
        penalized_optimum(**laws, beta=100.0)


def test_penalized_optimum_is_keyword_only():
    with pytest.raises(TypeError):
        penalized_optimum(stats.norm(), stats.norm(), 1.0)


@pytest.mark.parametrize("beta", [0.0, -1.0, np.nan, np.inf, "1", None])
def test_bad_beta(beta):
    with pytest.raises(ValueError, match="beta must"):
        penalized_optimum(utility=stats.norm(), error=stats.norm(), beta=beta)


# --------------------------------------------------------------------------------------------
# Bad input and messages


BAD_LAWS = [None, "norm", 3.0, stats.norm, stats.poisson(3.0), stats.binom(5, 0.3)]


@pytest.mark.parametrize("bad", BAD_LAWS, ids=lambda x: repr(x)[:20])
def test_bad_laws_are_refused(bad):
    for call in (lambda: tilt(bad, 0.5), lambda: log_mgf(bad, 0.5),
                 lambda: kl_frontier(bad, 0.5), lambda: frontier_series(bad)):
        with pytest.raises(ValueError, match="^v "):
            call()
    for role in ("utility", "error"):
        laws = {"utility": stats.norm(), "error": stats.norm(), role: bad}
        with pytest.raises(ValueError, match=f"^{role} "):
            penalized_optimum(**laws, beta=1.0)


@pytest.mark.parametrize("d", [-0.1, np.nan, np.inf, "1", None, [0.1, -1.0]])
def test_bad_budget(d):
    with pytest.raises(ValueError, match="d must"):
        kl_frontier(stats.norm(), d)


@pytest.mark.parametrize("lam", [-0.1, np.nan, np.inf, "1"])
def test_bad_lam(lam):
    for function in (tilt, log_mgf):
        with pytest.raises(ValueError, match="lam must"):
            function(stats.norm(), lam)


def test_no_finite_mean_is_refused():
    with pytest.raises(ValueError, match="v .* no finite mean"):
        kl_frontier(stats.cauchy(), 1.0)
    with pytest.raises(ValueError, match="v .* no finite mean"):
        tilt(stats.cauchy(), 0.0)


def test_unknown_family_is_refused_naming_the_argument():
    with pytest.raises(ValueError, match="^v: cannot decide the right tail"):
        kl_frontier(stats.genhyperbolic(0.5, 1.5, 0.5), 1.0)


def test_tilt_beyond_radius_is_refused():
    with pytest.raises(ValueError, match="finite only for lam < 1"):
        tilt(stats.gumbel_r(), 1.0)


def test_heavy_tails_are_tilted_only_at_zero():
    """Regression: 'infinite for lam = 0' and 'finite only for lam < 0' for a heavy tail."""
    base = tilt(stats.t(3, loc=2.0), 0.0)
    assert (base.mean, base.kl, base.log_mgf) == (2.0, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"lam = 0.1: v \(t\) is heavy-tailed"):
        tilt(stats.t(3), [0.0, 0.1])


def test_tilt_results_and_densities():
    result = tilt(stats.norm(1.0, 2.0), np.array([0.5, 1.0]))
    assert isinstance(result, Tilt) and result.mean.shape == (2,)
    x = np.linspace(-5, 15, 7)[:, None]
    density = result.pdf(x)  # broadcasts: one column per lam
    assert density.shape == (7, 2)
    assert density[:, 1] == pytest.approx(stats.norm(5.0, 2.0).pdf(x[:, 0]), rel=1e-12)
    assert result.log_likelihood_ratio(0.0) == pytest.approx(-result.log_mgf)
    assert isinstance(tilt(stats.norm(), 0.5).mean, float)


# --------------------------------------------------------------------------------------------
# Properties over the whole domain (hypothesis)

LOCS = st.floats(-1e3, 1e3)
SCALES = st.floats(1e-3, 1e3)


def _value_or_named_error(call, name):
    """The call's value, or None if it raised a ValueError naming ``name`` (or warned)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            return call()
        except ValueError as error:
            assert str(error).startswith(f"{name} = "), str(error)
        except RuntimeWarning as warning:
            assert str(warning).startswith(f"{name} = "), str(warning)
    return None


@settings(max_examples=60, deadline=None)
@given(loc=LOCS, scale=SCALES, log_d=st.floats(-300, 12))
def test_exponential_and_gamma_frontiers_over_the_domain(loc, scale, log_d):
    d = 10.0**log_d
    for a in (1.0, 3.5):
        v = stats.gamma(a, loc=loc, scale=scale)
        value = _value_or_named_error(lambda v=v: kl_frontier(v, d), "d")
        if value is None:
            assert d > 1e3  # only huge budgets lie beyond double precision
            continue
        with mp.workdps(DPS):
            excess = float(scale * (gamma_frontier(a, mp.mpf(d)) - a))
        expected = (loc + scale * a) + excess
        assert close(value, expected, 0, RTOL * abs(excess) + 4 * np.spacing(abs(expected))
                     + 4 * np.spacing(abs(loc) + scale * a))


@settings(max_examples=40, deadline=None)
@given(loc=LOCS, scale=SCALES, log_d=st.floats(-300, 300))
def test_normal_frontier_over_the_domain(loc, scale, log_d):
    d = 10.0**log_d
    value = kl_frontier(stats.norm(loc, scale), d)
    with mp.workdps(DPS):
        expected = mp.mpf(loc) + mp.mpf(scale) * mp.sqrt(2 * mp.mpf(d))
    assert close(value, float(expected), 4e-16, 4 * np.spacing(abs(loc)))


@settings(max_examples=30, deadline=None)
@given(loc=LOCS, scale=SCALES, log_lam=st.floats(-12, 5))
def test_uniform_tilts_over_the_domain(loc, scale, log_lam):
    """U(loc, loc + scale) tilted at lam is loc + scale U(0, 1) tilted at lam * scale."""
    lam = 10.0**log_lam / scale
    result = _value_or_named_error(lambda: tilt(stats.uniform(loc, scale), lam), "lam")
    assert result is not None  # a bounded, flat law is resolvable at every lam
    with mp.workdps(DPS):
        mean, kl, log_m = uniform_tilt(mp.mpf(lam) * mp.mpf(scale))
        shift = float(scale * (mean - mp.mpf(1) / 2))
        expected_mean = float(loc + scale * mean)
        expected_log_mgf = float(mp.mpf(lam) * loc + log_m)
    assert close(result.kl, float(kl), RTOL)
    assert close(result.mean, expected_mean, 0, RTOL * abs(shift)
                 + 4 * np.spacing(abs(loc) + scale))
    assert close(result.log_mgf, expected_log_mgf, RTOL, 4 * np.spacing(abs(lam * loc)))


@settings(max_examples=30, deadline=None)
@given(loc=LOCS, scale=SCALES, fraction=st.floats(1e-10, 1 - 1e-9))
def test_gumbel_tilts_over_the_domain(loc, scale, fraction):
    """Up to the MGF radius 1/scale; the far end may warn or raise, never return garbage."""
    lam = fraction / scale
    result = _value_or_named_error(lambda: tilt(stats.gumbel_r(loc, scale), lam), "lam")
    if result is None:
        assert fraction > 1 - 1e-6
        return
    with mp.workdps(DPS):
        theta = mp.mpf(lam) * mp.mpf(scale)
        mean, kl, log_m = gumbel_tilt(theta)
        shift = float(scale * (mean - mp.euler))
        expected_mean = float(loc + scale * mean)
    assert close(result.kl, float(kl), RTOL)
    assert close(result.mean, expected_mean, 0, RTOL * abs(shift)
                 + 4 * np.spacing(abs(loc) + scale * float(mean)))


@settings(max_examples=12, deadline=None)
@given(a=st.floats(0.6, 6.0), b=st.floats(1.0, 6.0), log_lam=st.floats(-8, 3))
def test_beta_tilts_over_the_domain(a, b, log_lam):
    lam = 10.0**log_lam
    result = _value_or_named_error(lambda: tilt(stats.beta(a, b), lam), "lam")
    assume(result is not None)
    with mp.workdps(30):
        mean, kl, log_m = (float(x) for x in beta_tilt(a, b)(lam))
    assert close(result.kl, kl, RTOL)
    assert close(result.mean, mean, 0, RTOL * abs(mean - a / (a + b)) + 4e-16)
    assert close(result.log_mgf, log_m, RTOL)


@settings(max_examples=40, deadline=None)
@given(log_beta=st.floats(-10, 12), sx=st.floats(0.1, 10), sv=st.floats(0.1, 10),
       mx=st.floats(-10, 10))
def test_penalized_optimum_over_the_domain(log_beta, sx, sv, mx):
    """Normal pairs in closed form; an exponential error has no optimum for beta <= scale."""
    beta = 10.0**log_beta
    result = penalized_optimum(error=stats.norm(mx, sx), utility=stats.norm(0, sv), beta=beta)
    assert close(result.utility, sv**2 / beta, 1e-14)
    assert close(result.kl, (sx**2 + sv**2) / (2 * beta**2), 1e-14)
    assert close(result.error, mx + sx**2 / beta, 1e-14, 4 * np.spacing(abs(mx)))
    x = stats.expon(scale=sx)
    if beta <= sx:
        with pytest.raises(ValueError, match="no optimum for beta <="):
            penalized_optimum(error=x, utility=stats.norm(), beta=beta)
        return
    got = _value_or_named_error(
        lambda: penalized_optimum(error=x, utility=stats.norm(), beta=beta), "beta")
    if got is None:
        assert beta / sx - 1 < 1e-6
        return
    with mp.workdps(DPS):
        rho = 1 / (1 - mp.mpf(sx) / mp.mpf(beta))
        kl = float(rho - 1 - mp.log(rho) + 1 / (2 * mp.mpf(beta) ** 2))
        error = float(sx * rho)
    assert close(got.error, error, RTOL)
    assert close(got.kl, kl, RTOL)


@settings(max_examples=30, deadline=None)
@given(log_lam=st.floats(-12, 1), loc=LOCS, scale=SCALES)
def test_log_mgf_over_the_domain(log_lam, loc, scale):
    """Exp(scale) shifted by loc: log E exp(lam V) = lam loc - log(1 - lam scale), or inf."""
    lam = 10.0**log_lam / scale
    v = stats.expon(loc, scale)
    value = _value_or_named_error(lambda: log_mgf(v, lam), "lam")
    if lam >= tails.mgf_radius(v):
        assert value == np.inf
        return
    if value is None:
        assert lam * scale > 1 - 1e-6
        return
    with mp.workdps(DPS):
        expected = float(mp.mpf(lam) * loc - mp.log1p(-mp.mpf(lam) * mp.mpf(scale)))
        size = float(abs(mp.log1p(-mp.mpf(lam) * mp.mpf(scale))))
    assert close(value, expected, 0, RTOL * size + 4 * np.spacing(abs(lam * loc)))


# --- standardized --------------------------------------------------------------------------

@pytest.mark.parametrize("k", [0.7, 1.5, 4.0])
def test_standardized_weibull_against_its_closed_form_at_40_digits(k):
    """Weibull (shape k): mean G(1 + 1/k), variance G(1 + 2/k) - G(1 + 1/k)^2, cdf 1 - e^-x^k."""
    z = standardized(stats.weibull_min(k, loc=2.0, scale=3.0))
    with mp.workdps(DPS):
        k_ = mp.mpf(k)
        m, sd = mp.gamma(1 + 1 / k_), mp.sqrt(mp.gamma(1 + 2 / k_) - mp.gamma(1 + 1 / k_) ** 2)
        for x in (-0.5, 0.0, 1.0, 3.0):
            y = m + sd * mp.mpf(x)  # the standard Weibull point of the standardized x
            expected = 1 - mp.exp(-(y**k_)) if y > 0 else mp.mpf(0)
            assert z.cdf(x) == pytest.approx(float(expected), rel=1e-12, abs=1e-15)
    assert z.dist.name == "weibull_min"


@pytest.mark.parametrize("law", [stats.skewnorm(4), stats.gumbel_r(1, 2), stats.beta(2, 3),
                                 stats.lognorm(0.5, loc=-1)])
def test_standardized_has_mean_0_and_variance_1_by_quadrature(law):
    from scipy import integrate

    z = standardized(law)
    lo, hi = z.ppf(1e-15), z.isf(1e-15)
    mean = integrate.quad(lambda x: x * z.pdf(x), lo, hi, limit=200)[0]
    var = integrate.quad(lambda x: x**2 * z.pdf(x), lo, hi, limit=200)[0]
    assert abs(mean) < 1e-9 and var == pytest.approx(1, rel=1e-9)
    assert z.dist.name == law.dist.name


@pytest.mark.parametrize("law", [stats.t(2), stats.cauchy(), stats.pareto(1.5)])
def test_standardized_refuses_an_infinite_variance_by_name(law):
    with pytest.raises(ValueError, match="law"):
        standardized(law)


def test_standardized_refuses_a_family_by_name():
    with pytest.raises(ValueError, match="law"):
        standardized(stats.norm)
