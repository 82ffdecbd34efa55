"""Tests of goodhart.report: each verdict against the book's own computation for the paper's
pairs (closed forms, the corollary's block quadrature, best-of-N peaks), the renderings, the
safe parser of laws, and the command line end to end."""

import importlib.metadata
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats as st
from hypothesis import given, settings
from hypothesis import strategies as hs
from matplotlib.figure import Figure

from goodhart import report, tails, tilting
from goodhart.best_of_n import PAPER_ERRORS, paper_pairs, utility_peak
from goodhart.divergences import bernoulli_kl
from goodhart.proxy import Proxy
from goodhart.reweighting import upweight_proxy_gaussian

PAIRS = sorted(paper_pairs())
HEAVY_FINITE = ("t3", "t5", "lognormal")  # the paper's heavy errors with a finite mean
_CACHE = {}


def paper_report(v_name, x_name):
    """The report of one of the paper's pairs, computed once for all tests."""
    if (v_name, x_name) not in _CACHE:
        _CACHE[v_name, x_name] = paper_pairs()[v_name, x_name].report()
    return _CACHE[v_name, x_name]


def statuses(r):
    return {v.result: v.status for v in r.verdicts}


# -- the verdicts, pair by pair -----------------------------------------------------------


@pytest.mark.parametrize(("v_name", "x_name"), PAIRS)
def test_best_of_n_agrees_with_the_best_of_n_chapter(v_name, x_name):
    r = paper_report(v_name, x_name)
    assert r.peak == utility_peak(r.proxy)
    # the chapter's expected peaks (book/best_of_n.ipynb, its checks cell)
    expected = {
        ("normal", "t3"): (150, 190, 4.0914), ("normal", "t5"): (750, 920, 4.7778),
        ("normal", "lognormal"): (85, 115, 3.3816), ("t10", "t3"): (580, 720, 5.3877),
        ("t10", "t5"): (4.4e4, 5.4e4, 9.1671), ("t10", "lognormal"): (820, 1010, 4.5529),
        ("normal", "levy"): (3, 3, 0.4903), ("t10", "levy"): (3, 3, 0.4825),
    }
    if x_name == "normal":
        assert r.peak.n is None and "largest at N = 1e12" in r.verdict("Best of N").conclusion
    else:
        lo, hi, value = expected[v_name, x_name]
        assert lo <= r.peak.n <= hi and abs(r.peak.utility - value) < 1e-3
        assert f"N = {report._count(r.peak.n)} " in r.verdict("Best of N").conclusion
    shown = np.isin(r.best.n, report.N_SHOWN)
    assert np.count_nonzero(shown) == report.N_SHOWN.size
    direct = r.proxy.best_of_n(report.N_SHOWN)  # each N's value independent of the others
    np.testing.assert_allclose(r.best.utility[shown], direct.utility, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(("v_name", "x_name"), PAIRS)
def test_theorem_hypotheses_on_the_paper_laws(v_name, x_name):
    s = statuses(paper_report(v_name, x_name))
    light_error = x_name == "normal"
    # Theorem 5: subexponential error whose tail beats V's by more than a power t
    # (normal utility: every heavy error; t10: every error but the lognormal, lighter than t10)
    theorem5 = not light_error and not (v_name == "t10" and x_name == "lognormal")
    assert s["Theorem 5"] == ("applies" if theorem5 else "does not apply")
    # Theorem 6: unit steps of the error's tail vanish (normal error), V unbounded
    assert s["Theorem 6"] == ("applies" if light_error else "does not apply")
    # Theorem 4: both laws light with every exponential moment finite, V unbounded
    theorem4 = light_error and v_name == "normal"
    assert s["Theorem 4"] == ("applies" if theorem4 else "does not apply")
    assert s["Theorem 2"] == ("applies" if v_name == "normal" else "does not apply")
    # Corollary 1: light utility, heavy error with a finite mean
    corollary = v_name == "normal" and x_name in HEAVY_FINITE
    assert s["Corollary 1"] == ("applies" if corollary else "does not apply")
    theorem1 = x_name in HEAVY_FINITE or (v_name == "t10" and x_name == "normal")
    assert s["Theorem 1"] == ("applies" if theorem1 else "does not apply")
    assert s["Tails"] == s["Best of N"] == "computed"


@pytest.mark.parametrize(("v_name", "x_name"), PAIRS)
def test_every_number_is_the_package_function_the_chapters_call(v_name, x_name):
    # the report computes its verdicts with the functions the chapters use, not a copy of
    # them: the same tail classes, frontier, thresholds, conditional means and optima
    r = paper_report(v_name, x_name)
    p = r.proxy
    for law, tail in ((p.utility, r.utility_tail), (p.error, r.error_tail)):
        direct = tails.classify(law)
        assert (tail.family, tail.heavy, tail.subexponential, tail.basis) == (
            direct.family, direct.heavy, direct.subexponential, direct.basis)
        assert tail.heavy == tails.is_heavy_tailed(law)
        assert tail.mgf_radius == tails.mgf_radius(law)
    assert r.verdict("Tails").conclusion.startswith(f"V: {r.utility_tail.label}")
    np.testing.assert_array_equal(r.frontier, tilting.kl_frontier(p.utility, r.budgets))
    np.testing.assert_array_equal(r.budgets, sorted(report.BUDGETS))
    np.testing.assert_allclose(r.thresholds, p.isf(report.LEVELS), rtol=1e-12)
    np.testing.assert_allclose(r.conditional_mean, p.conditional_mean(r.thresholds),
                               rtol=1e-12, atol=1e-15)
    assert [o.beta for o in r.optima] == sorted(report.BETAS, reverse=True)
    for o in r.optima:
        try:
            direct = p.penalized_optimum(o.beta)
        except ValueError as error:
            assert o.reason and " ".join(str(error).split()).endswith(o.reason)
            assert np.isnan(o.utility) and np.isnan(o.kl)
        else:
            assert not o.reason
            assert (o.utility, o.error, o.kl) == (float(direct.utility), float(direct.error),
                                                  float(direct.kl))


def test_theorem5_boundary_and_margin_of_the_tail_condition():
    # book/theorem5.ipynb: Student-t 4 against 3 is the boundary (P(V > t) / P(X > t) ~ 1/t);
    # 5 against 3 satisfies the condition for every p < 2
    boundary = report._lighter_by_a_power(Proxy(utility=st.t(4), error=st.t(3)))
    inside = report._lighter_by_a_power(Proxy(utility=st.t(5), error=st.t(3)))
    assert not boundary.holds and "k = 1 " in boundary.evidence
    assert inside.holds and "k = 2 " in inside.evidence
    bounded = report._lighter_by_a_power(Proxy(utility=st.uniform(), error=st.t(3)))
    assert bounded.holds and "bounded" in bounded.evidence


def test_subexponential_and_step_evidence():
    t3 = report._subexponential(st.t(3), report.tails.classify(st.t(3)))
    assert t3.holds and "2.003 at x = 103.3, 2 at x = 1.033e+04" in t3.evidence
    steps = report._steps_vanish(st.norm(), report.tails.classify(st.norm()))
    ratio = st.norm.sf(st.norm.isf(1e-12) + 1) / 1e-12
    assert steps.holds and f"{ratio:.4g} at t = 7.034" in steps.evidence
    assert not report._steps_vanish(st.expon(), report.tails.classify(st.expon())).holds
    assert report._steps_vanish(st.uniform(), report.tails.classify(st.uniform())).holds


def test_frontier_matches_the_normal_closed_form():
    r = paper_report("normal", "t3")  # V ~ N(0, 2^2): E[V] + 2 sqrt(2 d)
    np.testing.assert_allclose(r.frontier, 2 * np.sqrt(2 * np.array(report.BUDGETS)),
                               rtol=1e-12)
    assert np.all(np.isinf(paper_report("t10", "t3").frontier))
    words = r.verdict("Theorem 2").conclusion
    assert "at most 0.2828, 0.8944, 2.828 at KL 0.01, 0.1, 1 nats" in words


def test_penalized_optimum_matches_the_normal_closed_form():
    r = paper_report("normal", "normal")  # E[V] = 4 / beta, E[X] = 1 / beta, KL = 5 / 2 beta^2
    beta = np.array(report.BETAS)
    np.testing.assert_allclose([o.utility for o in r.optima], 4 / beta, rtol=1e-12)
    np.testing.assert_allclose([o.error for o in r.optima], 1 / beta, rtol=1e-12)
    np.testing.assert_allclose([o.kl for o in r.optima], 2.5 / beta**2, rtol=1e-12)
    heavy = paper_report("normal", "t3").optima
    assert all(np.isnan(o.utility) and "heavy-tailed" in o.reason for o in heavy)
    exponential = Proxy(utility=st.norm(), error=st.expon()).report().optima
    assert [bool(o.reason) for o in exponential] == [False, True, True, True]  # beta > 1 only
    assert "lam < 1" in exponential[1].reason


def test_conditional_means_match_the_normal_closed_form():
    r = paper_report("normal", "normal")  # U ~ N(0, 5): E[V | U >= t] = 4 phi(z) / (s Phi(-z))
    s = np.sqrt(5.0)
    np.testing.assert_allclose(r.thresholds, s * st.norm.isf(report.LEVELS), rtol=1e-12)
    z = r.thresholds / s
    np.testing.assert_allclose(r.conditional_mean, 4 / s * st.norm.pdf(z) / st.norm.sf(z),
                               rtol=1e-10)


def test_witness_matches_the_corollary_block_computation():
    # the corollary chapter's construction, reweighting.upweight_proxy_gaussian: an
    # independent quadrature of the two blocks of U = X + V for a normal V given the error
    r = paper_report("normal", "t3")
    w, x = r.witness, PAPER_ERRORS["t3"]
    reached = np.flatnonzero(np.isfinite(w.kl))
    assert reached.size >= 4
    for k in reached:
        blocks = upweight_proxy_gaussian(x, w.threshold[k], w.mass[k],
                                         utility_mean=np.zeros_like, utility_sd=2.0)
        assert blocks.proxy == pytest.approx(w.proxy, rel=1e-8)
        assert blocks.kl == pytest.approx(w.kl[k], rel=1e-8)
        assert blocks.utility == pytest.approx(w.utility[k], rel=1e-6, abs=1e-12)
    np.testing.assert_allclose(w.kl[reached], bernoulli_kl(w.mass[reached], w.log_tail[reached]),
                               rtol=1e-15)
    np.testing.assert_allclose(w.log_tail, np.log(report.WITNESS_LEVELS), rtol=1e-9)
    assert np.all(np.diff(w.kl[reached]) < 0)  # heavy-tailed U: the cost falls far out
    assert w.gain == pytest.approx(10 * 2 * (st.norm.isf(0.25) - st.norm.ppf(0.25)))
    assert w.least_kl == 0.0
    assert f"{w.kl[reached[-1]]:.3g} nats" in r.verdict("Theorem 1").conclusion


def test_light_proxy_has_the_tilt_as_least_kl():
    r = paper_report("normal", "normal")  # U ~ N(0, 5): least KL for a gain g is g^2 / 10
    assert r.witness.least_kl == pytest.approx(r.witness.gain**2 / 10, rel=1e-9)
    assert not np.any(np.isfinite(r.witness.kl))  # no two-block witness reaches 10 IQRs here
    assert r.verdict("Theorem 1").status == "does not apply"


def test_infinite_error_mean_and_unsupported_pairs():
    levy = paper_report("normal", "levy")
    assert levy.witness is None and np.all(np.isinf(levy.best.error[1:]))
    assert "trivially" in levy.verdict("Corollary 1").conclusion
    with pytest.raises(ValueError, match="error"):
        report.report(Proxy(utility=st.norm(), error=st.cauchy()))
    with pytest.raises(ValueError, match="nakagami"):
        report.report(Proxy(utility=st.norm(), error=st.nakagami(1.0)))
    with pytest.raises(ValueError, match="proxy"):
        report.report(st.norm())
    with pytest.raises(ValueError, match="budgets"):
        report.report(Proxy(utility=st.norm(), error=st.norm()), budgets=[0.1, -1])
    with pytest.raises(ValueError, match="betas"):
        report.report(Proxy(utility=st.norm(), error=st.norm()), betas=[0.0])


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"budgets": []}, "budgets must hold at least one value"),
    ({"betas": []}, "betas must hold at least one value"),
    ({"budgets": [np.nan]}, "budgets"), ({"budgets": "a"}, "budgets"),
    ({"budgets": [np.inf]}, "budgets"), ({"betas": [True]}, "betas"),
    ({"betas": None}, "betas"), ({"betas": [1.0, -1.0]}, "betas"),
])
def test_report_refuses_hostile_sweeps(kwargs, words):
    with pytest.raises(ValueError, match=words):
        report.report(Proxy(utility=st.norm(), error=st.norm()), **kwargs)


def test_an_optimum_that_cannot_be_computed_is_said_so():
    # Theorem 4 applies (normal pair) but beta = 1e-300 is beyond double precision
    r = Proxy(utility=st.norm(), error=st.norm()).report(betas=[1e-300, 1.0])
    assert r.verdict("Theorem 4").status == "applies"
    words = r.verdict("Theorem 4").conclusion
    assert words.startswith("E[V] at the optimum -> inf as beta -> 0: 1 at beta 1; ")
    assert "not computed at beta 1e-300: beta = 1e-300: the tilt" in words
    assert max(len(line) for line in r.text().splitlines()) <= 78


def test_bounded_utility_is_not_theorem4():
    r = Proxy(utility=st.uniform(), error=st.norm()).report(betas=[1.0, 0.1])
    assert r.verdict("Theorem 4").status == "does not apply"
    assert "V is bounded" in r.verdict("Theorem 4").conclusion
    assert all(0.5 < o.utility < 1 for o in r.optima)


# -- the renderings -----------------------------------------------------------------------


@pytest.mark.parametrize(("v_name", "x_name"), [("normal", "t3"), ("normal", "normal"),
                                                ("normal", "levy"), ("t10", "lognormal")])
def test_text_fits_78_columns_and_shows_every_verdict(v_name, x_name):
    r = paper_report(v_name, x_name)
    text = r.text()
    assert max(len(line) for line in text.splitlines()) <= 78
    for v in r.verdicts:
        assert f"{v.result} ({v.status}; chapter {v.chapter})" in text
    assert "Not told: dependence" in text
    markdown = r._repr_markdown_()
    assert markdown.count("](") == len(r.verdicts)
    assert "[Theorem 5](theorem5.ipynb)" in markdown
    for v in r.verdicts:  # a result that does not apply names the hypotheses that fail
        failed = [h.text for h in v.hypotheses if not h.holds]
        assert (f"(fails: {'; '.join(failed)})" in markdown) == bool(failed)
    hypotheses = sum(len(v.hypotheses) for v in r.verdicts)
    assert len(r.evidence_table().cells) == hypotheses + 1  # and the tail classes' evidence
    assert r.table(caption="Verdicts.", name="tab-x").to_markdown().startswith("````{table}")
    assert "Theorem 5 applies" in repr(r) or "Theorem 5 does not apply" in repr(r)
    with pytest.raises(ValueError, match="result"):
        r.verdict("Theorem 7")


def test_values_zero_up_to_rounding_are_bounds():
    assert report._number(3e-17, 1e-12) == "0 (|.| < 1e-12)"
    assert report._number(2.0224e-6, 1e-12) == "2.022e-06"
    r = paper_report("normal", "levy")  # E[V | U >= t] - E[V] ~ 1e-23 at t = 6e23
    assert "0 (|.| < 3e-12)" in r.verdict("Theorem 5").conclusion


def test_figure_has_three_panels_and_takes_an_empty_figure():
    r = paper_report("normal", "t3")
    figure = r.figure()
    assert isinstance(figure, Figure) and len(figure.axes) == 3
    assert figure.axes[2].get_title() == f"Best of $N$: peak at {r.peak.n:.3g}"
    with pytest.raises(ValueError, match="figure"):
        r.figure(figure)


# -- parsing laws ---------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "expected"), [
    ("t(3)", st.t(3)), ("norm(0, 2)", st.norm(0, 2)), ("norm", st.norm()),
    ("lognorm(1, scale=2)", st.lognorm(1, scale=2)),
    (" weibull_min( c=0.5 ) ", st.weibull_min(0.5)),
    ("skewnorm(-4, loc=-1e3)", st.skewnorm(-4, loc=-1e3)),
    ("t(3.5, scale=1_000)", st.t(3.5, scale=1e3)),
])
def test_parse_law_accepts_scipy_spelling(spec, expected):
    law = report.parse_law(spec, "utility")
    assert law.dist.name == expected.dist.name
    assert report.tails.standard_form(law) == report.tails.standard_form(expected)


@pytest.mark.parametrize(("spec", "words"), [
    ("tt(3)", "'tt' is not a continuous scipy.stats family"),
    ("poisson(3)", "'poisson' is not a continuous"),
    ("rv_continuous", "not a continuous"),
    ("stats.norm()", "not of the form"),
    ("__import__('os').system('true')", "not of the form"),
    ("norm(loc=__import__('os'))", "is not a finite number"),
    ("norm('1')", "'1' is not a finite number"),
    ("norm(True)", "True is not a finite number"),
    ("t(nan)", "nan is not a finite number"),
    ("norm(1e999)", "is not a finite number"),
    ("norm(*[1])", "is not a finite number"),
    ("norm(**{'loc': 1})", "not of the form"),
    ("t(0)", "parameters outside the family's domain"),
    ("norm(scale=-1)", "parameters outside the family's domain"),
    ("norm(1, 2, 3)", "norm(1, 2, 3)"),
    ("t(3, df=2)", "t(3, df=2): got multiple values for argument"),
    ("norm(" + "-" * 150 + "1)", "1 is not a finite number"),  # literal_eval: one sign
    ("norm(" + "-" * 10**5 + "1)", "100007 characters, more than the 200"),  # ast would fail
    ("norm(1e999)", "1e999 is not a finite number"),
    ("norm(1j)", "1j is not a finite number"),
    ("norm(loc=1, loc=2)", "a keyword given twice"),
    ("norm\x00(1)", "not of the form"),
    ("norm(); import os", "not of the form"),
    ("lambda: 1", "not of the form"),
    ("t(3)(2)", "not of the form"),
    ("norm.fit", "not of the form"),
    ("__loader__", "not a continuous"),
    ("norm(random_state=1)", "norm(random_state=1): got an unexpected keyword"),
    ("t(", "not of the form"),
    ("", "not of the form"),
])
def test_parse_law_refuses_with_the_role_named(spec, words):
    with pytest.raises(ValueError, match="^error: ") as caught:
        report.parse_law(spec, "error")
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(hs.text(alphabet="normtlgwib_(),.=-+*0123456789e ", max_size=24))
def test_parse_law_either_freezes_a_law_or_names_the_argument(spec):
    try:
        law = report.parse_law(spec, "utility")
    except ValueError as error:
        assert str(error).startswith("utility: ")
    else:
        assert isinstance(law.dist, st.rv_continuous)
        assert not np.any(np.isnan(law.support()))


# -- the command line ---------------------------------------------------------------------


def run(*args):
    return subprocess.run([sys.executable, "-m", "goodhart.report", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_console_script_is_declared():
    scripts = importlib.metadata.entry_points(group="console_scripts")
    assert scripts["goodhart-report"].value == "goodhart.report:main"


def test_command_line_prints_the_report_and_writes_the_figure(tmp_path):
    out = tmp_path / "figure.png"
    done = run("--utility", "norm(0, 2)", "--error", "t(3)", "--out", str(out))
    assert done.returncode == 0 and done.stderr == ""
    expected = Proxy(utility=st.norm(0, 2), error=st.t(3)).report().text()
    assert done.stdout == expected + f"\n\nwrote {out}\n"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("args", "words"), [
    (["--utility", "norm", "--error", "studentt(3)"], "error: 'studentt' is not a continuous"),
    (["--utility", "norm(scale=-2)", "--error", "t(3)"], "--utility: norm(scale=-2): parameters"),
    (["--utility", "norm", "--error", "t(3, df=2)"], "t(3, df=2): got multiple values"),
    (["--utility", "binom(3, 0.5)", "--error", "t(3)"], "utility: 'binom' is not a continuous"),
    (["--utility", "cauchy", "--error", "t(3)"], "utility"),
    (["--utility", "norm", "--error", "cauchy"], "error: cauchy() has no mean"),
    (["--utility", "norm", "--error", "nakagami(1)"], "cannot decide the right tail"),
    (["--utility", "norm", "--error", "__import__('os').system('echo hacked')"], "not of the"),
    (["--utility", "norm"], "the following arguments are required: --error"),
    (["--utility", "norm", "--error", "t(3)", "--out", "figure.txt"], "ending in .png"),
    (["--utility", "norm", "--error", "t(3)", "--bogus"], "unrecognized arguments"),
])
def test_command_line_refuses_bad_input_in_one_line(args, words, tmp_path, run_main):
    if "--out" in args:
        args = [*args[:-1], str(tmp_path / args[-1])]
    done = run_main(report.main, *args)  # in this process: a second less each
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("goodhart-report: error: ")
    assert words in lines[0] and "Traceback" not in done.stderr


def test_engine_failures_and_warnings_are_one_line_each(monkeypatch, capsys):
    real = _CACHE.get(("normal", "normal")) or paper_report("normal", "normal")  # unpatched

    def fails(proxy):
        raise ArithmeticError("the convolution integrals of U\nconverged only to 1e-3")

    monkeypatch.setattr(report, "report", fails)
    assert report.main(["--utility", "norm", "--error", "norm"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == (
        "goodhart-report: error: the engine cannot compute this pair: the convolution "
        "integrals of U converged only to 1e-3\n")

    def warns(proxy):
        import warnings

        warnings.warn("integrals converged only\nto 1e-8", RuntimeWarning, stacklevel=1)
        return real

    monkeypatch.setattr(report, "report", warns)
    assert report.main(["--utility", "norm", "--error", "norm"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "goodhart-report: warning: integrals converged only to 1e-8\n"
    assert captured.out == real.text() + "\n"


def test_command_line_help_exits_0():
    done = run("--help")
    assert done.returncode == 0 and "weibull_min(1.5)" in done.stdout


def test_readme_shows_the_command_line_output():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    command = '$ .venv/bin/goodhart-report --utility "norm(0, 2)" --error "t(3)" --out report.png\n'
    shown = readme.split(command, 1)[1].split("\n\n[...", 1)[0]
    text = Proxy(utility=st.norm(0, 2), error=st.t(3)).report().text()
    assert text.startswith(shown.split("\n\n", 1)[0])
    for block in shown.split("\n\n"):
        assert block in text.split("\n\n")
    bad = "goodhart-report: error: --error: 'studentt' is not a continuous scipy.stats family"
    assert bad in readme
