"""Tests of goodhart.diagnostics: Hill on Pareto samples, the exact nulls, the command line."""

import math
import subprocess
import sys

import mpmath as mp
import numpy as np
import pytest
from scipy import stats

from goodhart import diagnostics as d

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def symmetric_pareto(shape, size, rng):
    """A random sign times a Pareto(shape) draw: mean 0, positive part exactly Pareto."""
    return rng.choice([-1.0, 1.0], size) * stats.pareto(shape).rvs(size, random_state=rng)


def test_hill_matches_its_definition():
    """Against the formula written out with a Python loop over the sorted values."""
    x = np.array([0.3, -1.2, 4.0, 2.5, 0.9, 7.1, -0.4, 1.6, 3.3, -2.0])
    top = sorted((v - sum(x) / len(x) for v in x if v > sum(x) / len(x)), reverse=True)
    for k in range(1, len(top)):
        expected = sum(math.log(v) for v in top[:k]) / k - math.log(top[k])
        gamma, se = d.hill_estimator(x, k)
        assert gamma == pytest.approx(expected, rel=1e-14)
        assert se == pytest.approx(expected / math.sqrt(k), rel=1e-14)
    gamma, se = d.hill_estimator(x, np.arange(1, 4))
    assert gamma.shape == se.shape == (3,)


@pytest.mark.parametrize("shape", [1.5, 2.5, 4.0])
def test_hill_recovers_pareto_index_within_its_standard_errors(shape):
    rng = np.random.default_rng(20240719)
    x = symmetric_pareto(shape, 30000, rng)
    k = d.hill_k_range(x.size)
    gamma, se = d.hill_estimator(x, k)
    # Nested estimates are correlated, so check the three SE bars the paper's plot spans.
    for i in [0, k.size // 2, -1]:
        assert abs(gamma[i] - 1 / shape) < 3 * se[i], (k[i], gamma[i], se[i])


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
        gamma, se = d.hill_estimator(symmetric_pareto(shape, 4000, rng), k)
        covered += abs(gamma - 1 / shape) <= 1.96 * se
    monte_carlo_se = math.sqrt(exact * (1 - exact) / replicates)
    assert abs(covered / replicates - exact) < 4 * monte_carlo_se


def test_exponential_bend_has_its_exact_null_rate():
    """Exponential samples: the two-sided 5% reading says "exponential" 95% of the time."""
    rng = np.random.default_rng(11)
    replicates = 600
    straight = sum(
        d.bend_reading(d.exponential_bend(rng.exponential(2.0, 400))) == "exponential"
        for _ in range(replicates)
    )
    assert abs(straight / replicates - 0.95) < 4 * math.sqrt(0.95 * 0.05 / replicates)


def test_hill_trend_has_its_null_rate_on_pareto():
    rng = np.random.default_rng(12)
    replicates = 600
    light = sum(
        d.hill_reading(d.hill_trend(symmetric_pareto(2.0, 2000, rng))) == "light"
        for _ in range(replicates)
    )
    assert abs(light / replicates - 0.05) < 4 * math.sqrt(0.05 * 0.95 / replicates)


def test_readings_on_clear_cases():
    rng = np.random.default_rng(3)
    assert d.bend_reading(d.exponential_bend(rng.normal(size=30000))) == "lighter"
    assert d.bend_reading(d.exponential_bend(symmetric_pareto(2.0, 30000, rng))) == "heavier"
    assert d.hill_reading(d.hill_trend(rng.uniform(size=30000))) == "light"  # bounded tail


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


def test_hill_functional_limits():
    assert d.hill_functional(stats.t(4), 1e-12) == pytest.approx(0.25, rel=1e-3)
    normal = d.hill_functional(stats.norm(), np.array([1e-3, 1e-9]))
    assert normal[1] < normal[0] < 0.15  # a light tail: towards 0


def test_exponential_bend_functional():
    assert d.exponential_bend_functional(stats.expon(scale=3), 1e6) == pytest.approx(1, rel=1e-9)
    # Pareto(b) above its median has mean excess u / (b - 1): the ratio is u_k / median.
    b, n = 3.0, 1e6
    k = math.floor(math.sqrt(n))
    expected = (n / k) ** (1 / b) / 2 ** (1 / b)
    assert d.exponential_bend_functional(stats.pareto(b), n) == pytest.approx(expected, rel=1e-8)


def test_qq_coordinates():
    x = np.random.default_rng(5).gumbel(size=301)
    theoretical, ordered = d.normal_qq(x)
    assert np.array_equal(ordered, np.sort(x))
    assert np.all(np.diff(theoretical) > 0)
    assert theoretical[150] == pytest.approx(0.0, abs=1e-12)
    theoretical, ordered = d.exponential_qq(x)
    top = np.sort(x)[::-1]
    assert np.allclose(np.sort(top[:150] - top[150]), ordered)
    assert np.all(np.diff(theoretical) > 0) and theoretical[0] > 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: d.hill_estimator([1.0, np.nan, 2.0], 1), "NaN"),
        (lambda: d.hill_estimator(np.ones((3, 3)), 1), "one-dimensional"),
        (lambda: d.hill_estimator(np.arange(10.0), 5), "above the mean"),
        (lambda: d.hill_estimator(np.arange(10.0), 0), "positive integers"),
        (lambda: d.hill_estimator(np.arange(10.0), 1.5), "positive integers"),
        (lambda: d.hill_estimator(np.ones(10), 1), "above the mean"),
        (lambda: d.summary(np.arange(50.0)), "too few samples"),
        (lambda: d.hill_functional(stats.cauchy(), 0.01), "no finite mean"),
        (lambda: d.hill_functional(stats.norm(), 0.9), "below the mean"),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_report_figure_has_four_panels():
    import io

    x = np.random.default_rng(9).standard_t(5, size=2000)
    figure = d.report_figure(x, title="t(5)")
    assert len(figure.axes) == 4
    stream = io.BytesIO()
    figure.savefig(stream, format="png")
    assert stream.getvalue().startswith(PNG_MAGIC)


# The command line, end to end, on files the tests write themselves.


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "goodhart.diagnostics", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("good")
    values = np.random.default_rng(1).gumbel(size=3000)
    np.save(directory / "rewards.npy", values)
    (directory / "rewards.csv").write_text(
        "reward\n" + "\n".join(f"{v:.17g}" for v in values) + "\n"
    )
    (directory / "rewards.txt").write_text("\n".join(f"{v:.17g}" for v in values) + "\n\n")
    return directory, values


def test_cli_writes_report(good_files):
    directory, values = good_files
    result = run_cli("rewards.npy", "--out", "report.png", cwd=directory)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (directory / "report.png").read_bytes().startswith(PNG_MAGIC)
    assert result.stdout == d.summary(values) + "\nwrote report.png\n"
    assert not list(directory.glob(".*.tmp"))


@pytest.mark.parametrize("name", ["rewards.csv", "rewards.txt"])
def test_main_reads_csv_and_text(good_files, monkeypatch, capsys, name):
    directory, values = good_files
    monkeypatch.chdir(directory)
    assert d.main([name, "--out", f"{name}.png"]) == 0
    assert capsys.readouterr().out == d.summary(values) + f"\nwrote {name}.png\n"
    assert (directory / f"{name}.png").read_bytes().startswith(PNG_MAGIC)


def test_cli_help(tmp_path):
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "usage: python -m goodhart.diagnostics" in result.stdout and "--out" in result.stdout


def write(path, content):
    if isinstance(content, np.ndarray):
        np.save(path, content)
    else:
        path.write_text(content)
    return path


BAD_FILES = {
    "missing": ("absent.txt", None, "no such file"),
    "empty": ("empty.txt", "", "empty"),
    "blank": ("blank.csv", "\n\n", "empty"),
    "non-numeric": ("words.txt", "1.0\n2.0\nthree\n", "line 3: 'three' is not a number"),
    "nan": ("nan.txt", "1.0\nnan\n2.0\n", "line 2: nan"),
    "infinite": ("inf.csv", "x\n1.0\n-inf\n", "line 3: -inf"),
    "nan npy": ("nan.npy", np.array([1.0, np.nan]), "index 1: nan"),
    "two columns": ("two.csv", "1.0,2.0\n3.0,4.0\n", "line 1 has 2 columns"),
    "matrix npy": ("matrix.npy", np.ones((20, 20)), "shape (20, 20)"),
    "too few": ("few.txt", "\n".join(str(v) for v in range(50)), "too few samples (50)"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_main_rejects_bad_input(tmp_path, monkeypatch, capsys, case):
    """Every bad file, through ``main`` in this process (the subprocess tests below cover two)."""
    name, content, message = BAD_FILES[case]
    if content is not None:
        write(tmp_path / name, content)
    monkeypatch.chdir(tmp_path)
    before = set(tmp_path.iterdir())
    assert d.main([name, "--out", "report.png"]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert set(tmp_path.iterdir()) == before  # nothing written, not even half-way


@pytest.mark.parametrize("case", ["missing", "nan"])
def test_cli_rejects_bad_input(tmp_path, case):
    name, content, message = BAD_FILES[case]
    if content is not None:
        write(tmp_path / name, content)
    before = set(tmp_path.iterdir())
    result = run_cli(name, "--out", "report.png", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert set(tmp_path.iterdir()) == before


def test_main_leaves_nothing_when_the_write_fails(tmp_path, monkeypatch, capsys):
    np.save(tmp_path / "rewards.npy", np.random.default_rng(2).normal(size=500))
    (tmp_path / "report.png").mkdir()  # os.replace onto a directory fails
    monkeypatch.chdir(tmp_path)
    before = set(tmp_path.iterdir())
    assert d.main(["rewards.npy", "--out", "report.png"]) != 0
    assert len(capsys.readouterr().err.splitlines()) == 1
    assert set(tmp_path.iterdir()) == before
    assert d.main(["rewards.npy", "--out", "no/such/dir/report.png"]) != 0
    assert "does not exist" in capsys.readouterr().err


def test_main_without_out_prints_the_summary_only(tmp_path, monkeypatch, capsys):
    values = np.random.default_rng(4).normal(size=400)
    np.save(tmp_path / "rewards.npy", values)
    monkeypatch.chdir(tmp_path)
    assert d.main(["rewards.npy"]) == 0
    assert capsys.readouterr().out == d.summary(values) + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rewards.npy"]
