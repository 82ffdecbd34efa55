"""Tests of goodhart.diagnostics against independent references.

References: the Hill estimator written out with Python loops, closed forms of the Hill
functional (Pareto, exponential) and mpmath quadrature, the exact Beta null laws checked by Monte
Carlo with binomial standard errors, the authors' own expressions for the plot coordinates and
the k range, and summary numbers recomputed here from their definitions.
"""

import io
import math
import statistics

import mpmath as mp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special, stats

from goodhart import diagnostics as d


def symmetric_pareto(shape, size, rng):
    """A random sign times a Pareto(shape) draw: mean 0, positive part exactly Pareto."""
    return rng.choice([-1.0, 1.0], size) * stats.pareto(shape).rvs(size, random_state=rng)


def hill_reference(values, k, centred=True):
    """The paper's formula with Python floats: mean of log x_(1..k) minus log x_(k+1)."""
    values = [float(v) for v in values]
    shift = math.fsum(values) / len(values) if centred else 0.0
    top = sorted((v - shift for v in values if v - shift > 0), reverse=True)
    return math.fsum(math.log(v) for v in top[:k]) / k - math.log(top[k])


def flat(text):
    """The summary with its line breaks undone, for searching phrases."""
    return " ".join(text.split())


# The Hill estimator.


def test_hill_matches_its_definition():
    x = np.array([0.3, -1.2, 4.0, 2.5, 0.9, 7.1, -0.4, 1.6, 3.3, -2.0])
    for k in range(1, 4):  # 4 values above the mean
        h = d.hill_estimator(x, k)
        assert h.gamma == pytest.approx(hill_reference(x, k), rel=1e-14)
        assert h.se == pytest.approx(h.gamma / math.sqrt(k), rel=1e-15)
        assert h.k == k and isinstance(h.gamma, float)
    for k in range(1, 7):  # 7 positive values, uncentred
        assert d.hill_estimator(x, k, centred=False).gamma == pytest.approx(
            hill_reference(x, k, centred=False), rel=1e-14
        )
    empty = d.hill_estimator(x, [])
    assert empty.gamma.shape == empty.se.shape == empty.k.shape == (0,)
    h = d.hill_estimator(x, np.array([[1, 2], [3, 1]]))
    assert h.gamma.shape == h.se.shape == h.k.shape == (2, 2)
    assert h.gamma[1, 0] == pytest.approx(hill_reference(x, 3), rel=1e-14)


def test_hill_reproduces_the_authors_loop():
    """The authors' code for Figure 1, verbatim apart from names, on a float64 sample."""
    values = np.random.default_rng(4).gumbel(size=3000)
    sorted_data = np.sort(values)[::-1]
    sorted_data -= np.mean(sorted_data)
    sorted_data = sorted_data[sorted_data > 0]
    k_values = np.arange(int(3000**0.1), int(3000**0.5))
    expected = [np.mean(np.log(sorted_data[:k]) - np.log(sorted_data[k])) for k in k_values]
    h = d.hill_estimator(values, d.hill_k_range(3000, authors=True))
    assert np.array_equal(h.k, k_values)
    assert np.allclose(h.gamma, expected, rtol=1e-12, atol=0)
    assert np.allclose(h.se, np.array(expected) / np.sqrt(k_values), rtol=1e-12, atol=0)


def test_ties_give_exactly_zero_never_negative():
    """The old cumsum form gave -2.2e-16 here and the report then failed in matplotlib."""
    x = np.repeat(np.arange(1.0, 11.0), 100)
    h = d.hill_estimator(x, d.hill_k_range(x.size))
    assert np.all(h.gamma == 0.0) and np.all(h.se == 0.0)
    integers = np.random.default_rng(0).poisson(3, 2000).astype(float)
    assert np.all(d.hill_estimator(integers, np.arange(1, 300)).gamma >= 0)
    with pytest.raises(ValueError, match="tied"):
        d.hill_trend(x)
    with pytest.raises(ValueError, match="tied"):
        d.tail_report(integers)


def test_hill_is_scale_free_and_survives_huge_and_tiny_data():
    x = np.random.default_rng(8).standard_t(4, size=3000)
    k = d.hill_k_range(x.size)
    base = d.hill_estimator(x, k).gamma
    for power in (-1000, -600, 600, 1000):  # exact rescalings (no subnormals)
        assert np.array_equal(d.hill_estimator(np.ldexp(x, power), k).gamma, base)
    for factor in (1e-300, 1e305):  # rounded rescalings: the centring moves the last digits
        assert np.allclose(d.hill_estimator(x * factor, k).gamma, base, rtol=1e-9)


@pytest.mark.parametrize("shape", [1.5, 2.5, 4.0])
def test_hill_recovers_pareto_index_within_its_standard_errors(shape):
    x = symmetric_pareto(shape, 30000, np.random.default_rng(20240719))
    k = d.hill_k_range(x.size)
    h = d.hill_estimator(x, k)
    for i in [0, k.size // 2, -1]:  # nested estimates are correlated: three bars
        assert abs(h.gamma[i] - 1 / shape) < 3 * h.se[i], (k[i], h.gamma[i], h.se[i])


def test_hill_standard_error_bars_cover_at_their_exact_rate():
    """For a Pareto tail, k gamma_hat / gamma ~ Gamma(k): the coverage of gamma +- 1.96 SE is known.

    |G/k - 1| <= 1.96 (G/k)/sqrt(k) iff G in [k / (1 + c), k / (1 - c)], c = 1.96 / sqrt(k).
    """
    rng = np.random.default_rng(7)
    shape, k, replicates = 3.0, 40, 500
    c = 1.96 / math.sqrt(k)
    exact = stats.gamma(k).cdf(k / (1 - c)) - stats.gamma(k).cdf(k / (1 + c))
    covered = 0
    for _ in range(replicates):
        h = d.hill_estimator(symmetric_pareto(shape, 4000, rng), k)
        covered += abs(h.gamma - 1 / shape) <= 1.96 * h.se
    assert abs(covered / replicates - exact) < 4 * math.sqrt(exact * (1 - exact) / replicates)


def test_hill_k_range():
    for n in [100, 1000, 1024, 16000, 30000, 10**6]:
        k = d.hill_k_range(n)
        assert k[0] >= n**0.1 > k[0] - 1 and k[-1] <= n**0.5 < k[-1] + 1
        assert np.array_equal(np.diff(k), np.ones(k.size - 1))
        assert np.array_equal(d.hill_k_range(n, authors=True), np.arange(int(n**0.1), int(n**0.5)))
        assert np.array_equal(
            d.hill_k_range(n, high=0.6, authors=True), np.arange(int(n**0.1), int(n**0.6))
        )
    assert (d.hill_k_range(30000)[-1], d.hill_k_range(30000, authors=True)[-1]) == (173, 172)


# The exact null laws, by Monte Carlo.


def bend_ratio_reference(x):
    """Mean excess of the top k over the (k+1)-th, over that of the top m over the (m+1)-th."""
    top = np.sort(x)[::-1]
    k, m = math.floor(math.sqrt(x.size)), x.size // 2
    return (top[:k] - top[k]).mean() / (top[:m] - top[m]).mean()


def test_exponential_bend_statistic_and_p_values():
    x = np.random.default_rng(21).exponential(size=900)
    test = d.exponential_bend(x)
    assert (test.inner, test.outer) == (30, 450)
    assert test.ratio == pytest.approx(bend_ratio_reference(x), rel=1e-12)
    null = stats.beta(30, 420)
    assert test.p_below == pytest.approx(null.cdf(test.ratio * 30 / 450), rel=1e-12)
    assert test.p_above == pytest.approx(null.sf(test.ratio * 30 / 450), rel=1e-12)
    assert test.p_two_sided == pytest.approx(2 * min(test.p_below, test.p_above), rel=1e-15)


def test_hill_trend_statistic_and_p_values():
    x = symmetric_pareto(2.0, 2000, np.random.default_rng(22))
    test = d.hill_trend(x)
    j, k = round(2000**0.3), math.floor(2000**0.5)
    assert (test.inner, test.outer) == (j, k)
    assert test.ratio == pytest.approx(hill_reference(x, j) / hill_reference(x, k), rel=1e-10)
    assert test.p_below == pytest.approx(stats.beta(j, k - j).cdf(test.ratio * j / k), rel=1e-9)


@pytest.mark.parametrize("quantile", [0.05, 0.25, 0.5, 0.9])
def test_exponential_bend_ratio_has_its_exact_null_law(quantile):
    """Exponential samples: P(ratio <= (m/k) Beta quantile q) = q, by Monte Carlo."""
    rng = np.random.default_rng(11)
    replicates, n = 1000, 400
    k, m = 20, 200
    threshold = stats.beta(k, m - k).ppf(quantile) * m / k
    hits = sum(d.exponential_bend(rng.exponential(2.0, n)).ratio <= threshold
               for _ in range(replicates))
    assert abs(hits / replicates - quantile) < 4 * math.sqrt(quantile * (1 - quantile) / replicates)


def test_hill_trend_has_its_null_rate_on_a_symmetric_pareto():
    """An exact Pareto positive part with mean 0: the 5% reading says "light" 5% of the time."""
    rng = np.random.default_rng(12)
    replicates = 600
    light = sum(
        d.hill_reading(d.hill_trend(symmetric_pareto(2.0, 2000, rng))) == "light"
        for _ in range(replicates)
    )
    assert abs(light / replicates - 0.05) < 4 * math.sqrt(0.05 * 0.95 / replicates)


def test_calibrate_has_the_bend_null_rate_on_exponential_samples():
    replicates = 2000
    expo = d.calibrate(stats.expon(scale=2), 400, replicates=replicates, rng=13)
    assert abs(expo.heavier + expo.lighter - 0.05) < 4 * math.sqrt(0.05 * 0.95 / replicates)
    assert abs(expo.heavier - 0.025) < 4 * math.sqrt(0.025 * 0.975 / replicates)


def test_calibrate_agrees_with_the_one_sample_functions():
    rng = np.random.default_rng(14)
    law, n, replicates = stats.t(3), 1000, 30
    result = d.calibrate(law, n, replicates=replicates, rng=rng)
    draws = law.rvs(size=(replicates, n), random_state=np.random.default_rng(14).spawn(1)[0])
    light = np.mean([d.hill_reading(d.hill_trend(row)) == "light" for row in draws])
    heavier = np.mean([d.bend_reading(d.exponential_bend(row)) == "heavier" for row in draws])
    gammas = [d.hill_estimator(row, math.floor(math.sqrt(n))).gamma for row in draws]
    assert result.light == light and result.heavier == heavier
    assert result.gamma == pytest.approx(np.mean(gammas), rel=1e-12)
    assert result.spread == pytest.approx(np.std(gammas, ddof=1), rel=1e-10)
    assert result.se.gamma == pytest.approx(result.spread / math.sqrt(replicates), rel=1e-12)
    assert result.se.light == pytest.approx(math.sqrt(light * (1 - light) / replicates))


def test_bend_null_range_is_where_the_reading_switches():
    """The range's quantiles against a Monte Carlo of exponential samples and the readings."""
    rng = np.random.default_rng(21)
    n, replicates = 400, 2000
    low, high = d.bend_null_range(n)
    tests = [d.exponential_bend(row) for row in rng.exponential(size=(replicates, n))]
    ratios = np.array([t.ratio for t in tests])
    readings = [d.bend_reading(t) for t in tests]
    assert [r == "heavier" for r in readings] == list(ratios > high)
    assert [r == "lighter" for r in readings] == list(ratios < low)
    for fraction in (np.mean(ratios > high), np.mean(ratios < low)):
        assert abs(fraction - 0.025) < 4 * math.sqrt(0.025 * 0.975 / replicates)
    # Vectorized over n, and the Beta law's quantiles written out with scipy's beta directly.
    lows, highs = d.bend_null_range([400, 30000], level=0.1)
    k, m = 173, 15000
    assert lows[1] == pytest.approx(stats.beta(k, m - k).ppf(0.05) * m / k, rel=1e-12)
    assert highs[0] == pytest.approx(stats.beta(20, 180).ppf(0.95) * 10, rel=1e-12)


def test_condition_on_top_against_the_discrete_kl():
    from goodhart.divergences import discrete_kl

    rng = np.random.default_rng(22)
    x = rng.normal(size=50)
    c = d.condition_on_top(x, np.arange(1, 51))
    order = np.argsort(-x)
    for k in (1, 7, 50):
        p = np.zeros(50)
        p[order[:k]] = 1 / k
        assert c.kl[k - 1] == pytest.approx(discrete_kl(p, np.full(50, 1 / 50)), rel=1e-12)
        assert c.mean[k - 1] == pytest.approx(math.fsum(sorted(x)[-k:]) / k, rel=1e-12)
        assert c.gain[k - 1] == pytest.approx(c.mean[k - 1] - math.fsum(x) / 50, abs=1e-12)
    assert c.kl[-1] == 0.0 and abs(c.gain[-1]) < 1e-12
    one = d.condition_on_top(x, 3)
    assert isinstance(one.kl, float) and one.k == 3 and one.mean == c.mean[2]
    with pytest.raises(ValueError, match="k must be at most the sample size 50"):
        d.condition_on_top(x, 51)
    with pytest.raises(ValueError, match="k must be"):
        d.condition_on_top(x, 0.5)


def test_readings_on_clear_cases():
    rng = np.random.default_rng(3)
    assert d.bend_reading(d.exponential_bend(rng.normal(size=30000))) == "lighter"
    assert d.bend_reading(d.exponential_bend(symmetric_pareto(2.0, 30000, rng))) == "heavier"
    assert d.hill_reading(d.hill_trend(rng.uniform(size=30000))) == "light"  # bounded tail


# Population values.


def hill_functional_reference(shape, shift, u):
    """E[log(X/u) | X > u] for X = Pareto(shape) - shift, by mpmath quadrature."""
    with mp.workdps(30):
        u, c, b = mp.mpf(u), mp.mpf(shift), mp.mpf(shape)
        return float(mp.quad(lambda s: ((u + c) / (u * mp.exp(s) + c)) ** b, [0, 1, mp.inf]))


@pytest.mark.parametrize("shape", [1.5, 3.0])
@pytest.mark.parametrize("fraction", [1e-2, 1e-5])
def test_hill_functional_against_mpmath(shape, fraction):
    dist = stats.pareto(shape)
    shift = float(dist.mean())
    u = float(dist.isf(fraction)) - shift
    expected = hill_functional_reference(shape, shift, u)
    assert d.hill_functional(dist, fraction) == pytest.approx(expected, rel=1e-8)


def test_hill_functional_closed_forms():
    """Pareto(b) uncentred: exactly 1/b. Exponential: e^u E1(u) at the centred quantile u."""
    fractions = np.array([0.3, 1e-3, 1e-9])
    assert np.allclose(d.hill_functional(stats.pareto(2.5), fractions, centred=False), 0.4,
                       rtol=1e-9)
    for scale in (1.0, 7.0):
        law = stats.expon(scale=scale)
        u = -np.log(fractions) - 1.0  # (isf(p) - mean) / scale
        expected = np.exp(u) * special.exp1(u)
        assert np.allclose(d.hill_functional(law, fractions), expected, rtol=1e-8)
        u = -np.log(fractions)
        assert np.allclose(d.hill_functional(law, fractions, centred=False),
                           np.exp(u) * special.exp1(u), rtol=1e-8)


def test_hill_functional_limits():
    assert d.hill_functional(stats.t(4), 1e-12) == pytest.approx(0.25, rel=1e-3)
    normal = d.hill_functional(stats.norm(), np.array([1e-3, 1e-9]))
    assert normal[1] < normal[0] < 0.15  # a light tail: towards 0


def test_exponential_bend_functional():
    assert d.exponential_bend_functional(stats.expon(scale=3), 1e6) == pytest.approx(1, rel=1e-9)
    # Pareto(b) above its median has mean excess u / (b - 1): the ratio is u_k / median.
    b, sizes = 3.0, np.array([1e4, 1e6])
    k = np.floor(np.sqrt(sizes))
    expected = (sizes / k) ** (1 / b) / 2 ** (1 / b)
    assert np.allclose(d.exponential_bend_functional(stats.pareto(b), sizes), expected,
                       rtol=1e-8)


# Calibration solvers.


def test_hill_sample_size_is_the_first_crossing():
    null, alternative = stats.norm(), stats.t(10)
    result = d.hill_sample_size(null=null, alternative=alternative)
    z95, z90 = stats.norm.ppf([0.95, 0.90])

    def margin(n):
        k = math.floor(math.sqrt(n))
        h_t, h_n = d.hill_functional(alternative, k / n), d.hill_functional(null, k / n)
        return (h_t - h_n) - (z95 * h_n + z90 * h_t) / math.sqrt(k)

    assert result.n == 6681 and result.k == 81  # the chapter's brentq value
    assert margin(result.n) >= 0 > margin(result.n - 1)
    assert all(margin(n) < 0 for n in [100, 300, 1000, 3000, 6000])
    assert result.null == pytest.approx(d.hill_functional(null, 81 / 6681), rel=1e-12)


def test_hill_power_at_the_sample_size_is_at_least_the_target():
    """The normal approximation is conservative: the simulated power exceeds 0.9."""
    power = d.hill_power(null=stats.norm(), alternative=stats.t(10), n=6681, replicates=400,
                         rng=20240719)
    assert power.k == 81 and power.replicates == 400
    assert power.power - 0.9 > -2 * power.se
    again = d.hill_power(null=stats.norm(), alternative=stats.t(10), n=6681, replicates=400,
                         rng=20240719)
    assert again == power  # SPEC 7: the same seed, the same numbers


def test_bend_sample_size_for_student_t10():
    t10 = stats.t(10)
    result = d.bend_sample_size(t10, high=1e11)
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.9)

    def log_ratio(n):
        return math.log(d.exponential_bend_functional(t10, n))

    assert 9.3e8 < result.crossing < 9.5e8 and 1.3e9 < result.n < 1.5e9
    assert log_ratio(result.crossing) >= 0 > log_ratio(result.crossing - 1)
    k = math.floor(math.sqrt(result.n))
    assert log_ratio(result.n) >= z / math.sqrt(k)
    with pytest.raises(ValueError, match="not reached"):
        d.bend_sample_size(stats.norm(), high=1e6)


# Q-Q coordinates, as the authors computed them.


def test_normal_qq_uses_the_authors_plotting_positions():
    x = np.random.default_rng(5).gumbel(size=301)
    theoretical, ordered = d.normal_qq(x)
    authors = np.array([stats.norm.ppf(i / 301) for i in range(301)])  # i = 0 is -inf
    assert np.array_equal(ordered, np.sort(x)[1:])
    assert np.allclose(theoretical, authors[1:], rtol=1e-14, atol=0)


def test_exponential_qq_is_the_authors_values_above_the_mean():
    x = np.random.default_rng(6).gumbel(size=301)
    theoretical, above = d.exponential_qq(x)
    values_above_mean = np.sort([v for v in x if v > x.mean()])
    n = values_above_mean.size
    assert np.array_equal(above, values_above_mean)
    assert np.allclose(theoretical, [-np.log((n - i) / n) for i in range(n)], rtol=1e-14,
                       atol=0)


def test_upper_half_excesses():
    x = np.random.default_rng(5).gumbel(size=301)
    top = np.sort(x)[::-1]
    assert np.allclose(d.upper_half_excesses(x), top[:150] - top[150], rtol=1e-15, atol=0)


# The summary.


def test_summary_numbers_against_their_definitions():
    x = np.random.default_rng(15).standard_t(5, size=5000)
    text = d.summary(x)
    assert all(len(line) <= 78 for line in text.splitlines())
    found = flat(text)
    mean = math.fsum(x) / x.size
    sd = statistics.stdev(x.tolist())
    above = sum(v > mean for v in x)
    j, k = round(5000**0.3), math.floor(5000**0.5)
    gamma_j, gamma_k = hill_reference(x, j), hill_reference(x, k)
    trend_p = stats.beta(j, k - j).cdf(gamma_j / gamma_k * j / k)
    ratio = bend_ratio_reference(x)
    null = stats.beta(k, 2500 - k)
    bend_p = 2 * min(null.cdf(ratio * k / 2500), null.sf(ratio * k / 2500))
    for phrase in [
        f"n = 5000 samples: mean {mean:.6g}, sd {sd:.6g}; {above} lie above the mean.",
        f"k = 3..{k}):",
        f"gamma({k}) = {gamma_k:.3f} +/- {gamma_k / math.sqrt(k):.3f},",
        f"gamma({j}) = {gamma_j:.3f} +/- {gamma_j / math.sqrt(j):.3f}.",
        f"gamma({j}) / gamma({k}) = {gamma_j / gamma_k:.3f}.",
        f"with probability {trend_p:.3g}:",
        f"slope of the top {k} points / average slope = {ratio:.3f}",
        f"two-sided p = {bend_p:.3g}):",
        "top 1/5000 quantile",
    ]:
        assert phrase in found, phrase
    assert "Ties" not in found


def test_summary_of_data_near_the_float_limit():
    """Finite data near 1e307 printed "standard deviation inf" and NaN p-values before."""
    x = np.random.default_rng(16).normal(size=500)
    scaled = np.ldexp(x, 1019)  # about 5e306 per unit: sums and squares overflow
    with np.errstate(over="ignore"):
        assert np.isinf(np.sum(np.abs(scaled))) and np.all(np.isfinite(scaled))
    report, reference = d.tail_report(scaled), d.tail_report(x)
    assert report.mean == pytest.approx(math.ldexp(math.fsum(x) / x.size, 1019), rel=1e-12)
    assert report.sd == pytest.approx(math.ldexp(statistics.stdev(x.tolist()), 1019), rel=1e-12)
    assert report.trend == reference.trend and report.bend == reference.bend
    text = d.summary(scaled).lower()
    assert "inf" not in text.replace("infinite", "") and "nan" not in text
    assert f"sd {report.sd:.6g}" in text


def test_summary_notes_a_few_ties():
    x = np.round(np.random.default_rng(17).normal(size=4000), 4)
    report = d.tail_report(x)
    top = np.sort(x)[::-1][:2001]
    assert report.ties == np.count_nonzero(np.diff(top) == 0) > 0
    assert f"Ties: {report.ties} of the 2001 values" in flat(d.summary(x))


# The figure.


def test_report_figure_draws_the_papers_four_panels():
    x = np.random.default_rng(9).standard_t(5, size=2000)
    figure = d.report_figure(x, title="t(5)")
    hist, normal, expo, hill = figure.axes
    assert [ax.get_title() for ax in figure.axes] == [
        "Histogram", "Normal probability plot", "Exponential probability plot",
        "Hill estimate ± SE (k = 3..44)",
    ]
    assert len(hist.patches) == 100
    positions = [ax.get_position() for ax in figure.axes]  # 2 x 2, read row by row
    assert positions[0].y0 == pytest.approx(positions[1].y0)
    assert positions[0].x0 == pytest.approx(positions[2].x0) and positions[2].y0 < positions[0].y0
    q, above = d.exponential_qq(x)
    assert np.array_equal(expo.lines[0].get_ydata(), above)
    k = d.hill_k_range(x.size)
    assert np.array_equal(hill.lines[0].get_xdata(), k)
    assert np.array_equal(hill.lines[0].get_ydata(), d.hill_estimator(x, k).gamma)
    stream = io.BytesIO()
    figure.savefig(stream, format="png")
    assert stream.getvalue().startswith(b"\x89PNG\r\n\x1a\n")


def test_report_figure_with_the_authors_figure_2_convention_and_extreme_data():
    x = np.random.default_rng(10).normal(size=1600) + 1.0
    k = d.hill_k_range(1600, high=0.6, authors=True)
    figure = d.report_figure(x, k=k, centred=False)
    assert np.array_equal(figure.axes[3].lines[0].get_ydata(),
                          d.hill_estimator(x, k, centred=False).gamma)
    from matplotlib.figure import Figure

    given = Figure()
    assert d.report_figure(x, figure=given) is given and len(given.axes) == 4
    with pytest.raises(ValueError, match="figure must be an empty matplotlib Figure"):
        d.report_figure(x, figure=given)
    with pytest.raises(ValueError, match="figure must be"):
        d.report_figure(x, figure="figure.png")
    huge = d.report_figure(x * 1e307)  # no overflow warning (warnings are errors here)
    huge.savefig(io.BytesIO(), format="png")
    assert huge.axes[0].get_xlabel() == "reward (units of 1e307)"


# Bad input: a ValueError naming the argument.


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: d.hill_estimator([1.0, np.nan, 2.0], 1), "samples contain 1 NaN"),
        (lambda: d.hill_estimator([1.0, 2.0, 1j], 1), "samples must hold real"),
        (lambda: d.hill_estimator("1 2 3", 1), "samples must be"),
        (lambda: d.hill_estimator(np.ones((3, 3)), 1), "samples must be one-dimensional"),
        (lambda: d.hill_estimator(np.arange(10.0), 5), "above the mean"),
        (lambda: d.hill_estimator(np.arange(10.0), 0), "k must be >= 1"),
        (lambda: d.hill_estimator(np.arange(10.0), 1e30), "k = 1e[+]30 needs more"),
        (lambda: d.hill_estimator(np.arange(10.0), 1.5), "k must be whole"),
        (lambda: d.hill_estimator(np.arange(10.0), True), "k must be"),
        (lambda: d.hill_estimator(np.arange(10.0), 1, centred="yes"), "centred"),
        (lambda: d.hill_estimator(np.ones(10), 1), "above the mean"),
        (lambda: d.hill_k_range(0), "n must be"),
        (lambda: d.hill_k_range(100, high=2.0), "high"),
        (lambda: d.summary(np.arange(50.0)), "too few samples"),
        (lambda: d.hill_trend(np.r_[np.zeros(190), np.ones(10)]), "only 10 lie above"),
        (lambda: d.hill_functional(stats.cauchy(), 0.01), "dist .*no finite mean"),
        (lambda: d.hill_functional(stats.norm, 0.01), "dist must be a frozen"),
        (lambda: d.hill_functional(stats.norm(), 0.9), "tail_fraction = 0.9"),
        (lambda: d.hill_functional(stats.norm(), 1.5), "tail_fraction"),
        (lambda: d.hill_functional(stats.norm(), np.nan), "tail_fraction"),
        (lambda: d.exponential_bend_functional(stats.norm(), 10), "n must be >= 100"),
        (lambda: d.hill_sample_size(null=stats.norm(), alternative=stats.cauchy()), "alternative"),
        (lambda: d.hill_sample_size(null=stats.norm(), alternative=stats.t(3), power=1), "power"),
        (lambda: d.hill_power(null=stats.norm(), alternative=stats.t(3), n=50), "n must be"),
        (lambda: d.hill_power(null=stats.norm(), alternative=stats.t(3), n=500, rng="x"), "rng"),
        (lambda: d.calibrate(stats.norm(), 1000, replicates=1), "replicates"),
        (lambda: d.bend_sample_size(stats.t(3), level=0), "level"),
        (lambda: d.hill_reading("light"), "test must be"),
        (lambda: d.draw_report([None] * 3, np.arange(200.0)), "axes must be four"),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# Properties over the whole domain.

finite = st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False)
scales = st.sampled_from([1e-300, 1e-100, 1e-8, 1.0, 1e8, 1e100, 1e300])


@settings(deadline=None, max_examples=200)
@given(st.lists(finite, min_size=2, max_size=40), st.integers(-3, 45), st.booleans())
def test_hill_estimator_property(values, k, centred):
    try:
        h = d.hill_estimator(values, k, centred=centred)
    except ValueError as error:
        assert str(error).startswith(("k ", "k must", "samples")), error
        return
    assert math.isfinite(h.gamma) and h.gamma >= 0 and h.se == pytest.approx(h.gamma / k**0.5)
    shift = math.fsum(values) / len(values) if centred else 0.0
    top = sorted((v - shift for v in values if v - shift > 0), reverse=True)
    # The centring rounds at the level of the largest |value|; skip what it makes ill-posed.
    assume(not centred or top[k] > 1e-6 * max(abs(v) for v in values))
    assert h.gamma == pytest.approx(hill_reference(values, k, centred), rel=1e-6, abs=1e-9)


@settings(deadline=None, max_examples=60)
@given(hnp.arrays(np.float64, st.integers(100, 400), elements=st.floats(-1e6, 1e6)), scales)
def test_tests_and_summary_property(x, scale):
    x = x * scale
    try:
        report = d.tail_report(x)
    except ValueError as error:
        assert str(error).startswith("samples"), error
        return
    for test in (report.trend, report.bend):
        assert 0 <= test.p_below <= 1 and 0 <= test.p_above <= 1 and test.ratio >= 0
    assert np.all(np.isfinite(report.hill.gamma)) and np.all(report.hill.gamma >= 0)
    assert all(len(line) <= 78 for line in report.text().splitlines())
    assert math.isfinite(report.mean) and math.isfinite(report.sd)


@settings(deadline=None, max_examples=100)
@given(hnp.arrays(np.float64, st.integers(2, 300), elements=finite))
def test_qq_coordinates_property(x):
    q, ordered = d.normal_qq(x)
    assert np.all(np.isfinite(q)) and np.all(np.diff(q) > 0) and np.all(np.diff(ordered) >= 0)
    q, above = d.exponential_qq(x)
    assert np.all(np.isfinite(q)) and np.all(np.diff(q) > 0) and np.all(np.diff(above) >= 0)


laws = st.sampled_from([stats.norm(), stats.expon(), stats.t(4), stats.pareto(3.0),
                        stats.lognorm(0.8), stats.gumbel_r()])


@settings(deadline=None, max_examples=40)
@given(laws, st.floats(-1e6, 1e6), st.floats(1e-3, 1e3), st.floats(1e-10, 0.3))
def test_centred_functionals_are_location_and_scale_free(law, loc, scale, fraction):
    """Both functionals of ``loc + scale X`` equal those of ``X``: they read shape only."""
    family, shapes = law.dist, law.args
    moved = family(*shapes, loc=loc, scale=scale)
    try:
        expected = d.hill_functional(law, fraction)
    except ValueError as error:
        assert "tail_fraction" in str(error)
        return
    assert math.isfinite(expected) and expected >= 0
    assert d.hill_functional(moved, fraction) == pytest.approx(expected, rel=1e-6)


@settings(deadline=None, max_examples=25)
@given(laws, st.floats(-1e3, 1e3), st.floats(1e-2, 1e2), st.floats(100, 1e9))
def test_bend_functional_is_location_and_scale_free(law, loc, scale, n):
    moved = law.dist(*law.args, loc=loc, scale=scale)
    expected = d.exponential_bend_functional(law, n)
    assert math.isfinite(expected) and expected > 0
    assert d.exponential_bend_functional(moved, n) == pytest.approx(expected, rel=1e-6)


def test_the_seven_calibration_laws_are_three_light_then_four_heavy():
    from goodhart import tails

    laws = d.LAWS
    assert list(laws)[:3] == ["normal", "exponential", "Gumbel"] and len(laws) == 7
    heavy = [tails.is_heavy_tailed(law) for law in laws.values()]
    assert heavy == [False] * 3 + [True] * 4
    shapes = {name: (law.dist.name, law.args) for name, law in laws.items()}
    assert shapes == {"normal": ("norm", ()), "exponential": ("expon", ()),
                      "Gumbel": ("gumbel_r", ()), "Student-t, 10 dof": ("t", (10,)),
                      "Student-t, 3 dof": ("t", (3,)), "lognormal, sigma 1": ("lognorm", (1,)),
                      "Pareto, shape 3": ("pareto", (3,))}
