"""Tail diagnostics for a sample of rewards, as in the paper's section 5, and a command line.

Four views of one sample: a histogram, a normal Q-Q plot, an exponential Q-Q plot of the
upper half, and Hill estimates of the tail index over ``k`` from ``n^0.1`` to ``n^0.5``.
Two of them are turned into tests with exact null distributions, so that "the plot bends
up" has a precise meaning and a p-value:

- *Hill trend.* Under an exact power-law tail the Hill estimates at ``j < k`` satisfy
  ``gamma(j) / gamma(k) ~ (k / j) Beta(j, k - j)`` (Renyi's representation of exponential
  spacings). A light tail has extreme-value index 0, so its estimates fall toward 0 as one
  looks deeper (smaller ``j``): a ratio far below 1.
- *Exponential bend.* Under an exponential tail above the ``(m+1)``-th largest value, the
  mean excess of the top ``k`` over the ``(k+1)``-th, divided by the mean excess of the top
  ``m``, is ``(m / k) Beta(k, m - k)``. A ratio far above 1 is the exponential Q-Q plot
  bending up (heavier than exponential), far below 1 bending down (lighter).

Run ``python -m goodhart.diagnostics SAMPLES --out report.png`` for a report on a file of
reward samples (``.npy``, ``.csv``, or text with one value a line).
"""

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import integrate, stats

from goodhart import tails

MIN_SAMPLES = 100
"""Fewest samples the report accepts: below it the Hill range ``n^0.1..n^0.5`` has < 9 values."""

LEVEL = 0.05
"""Significance level of the readings (split in two for the two-sided exponential bend)."""


def require_samples(samples, minimum=2):
    """``samples`` as a 1-D float array, or a ValueError naming what is wrong with them."""
    x = np.asarray(samples, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"samples must be one-dimensional, got shape {x.shape}")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise ValueError(
            f"samples contain {bad.size} NaN or infinite values (first at index {bad[0]})"
        )
    if x.size < minimum:
        raise ValueError(f"too few samples: {x.size}; at least {minimum} are needed")
    return x


def tail_above_mean(samples):
    """The samples minus their mean, positive part only, largest first (the paper's convention)."""
    x = require_samples(samples)
    centred = x - x.mean()
    return np.sort(centred[centred > 0])[::-1]


class HillEstimate(NamedTuple):
    """Hill estimates ``gamma`` of the tail index (``1 / alpha`` for a tail ``~ x^-alpha``)."""

    gamma: np.ndarray
    se: np.ndarray


def hill_estimator(samples, k):
    """Hill estimates and standard errors ``gamma / sqrt(k)`` for each ``k`` (int or array).

    ``gamma(k) = mean(log X_(1..k)) - log X_(k+1)`` over the order statistics (largest first)
    of the samples centred on their mean, positive part kept. ``k`` must be at least 1 and
    below the number of samples above the mean.
    """
    top = tail_above_mean(samples)
    k = np.asarray(k)
    if not np.issubdtype(k.dtype, np.integer) or np.any(k < 1):
        raise ValueError(f"k must be positive integers, got {k!r}")
    if np.any(k >= top.size):
        raise ValueError(
            f"k = {int(k.max())} needs more than {int(k.max())} samples above the mean; "
            f"there are {top.size}"
        )
    logs = np.log(top)
    gamma = np.cumsum(logs)[k - 1] / k - logs[k]
    se = gamma / np.sqrt(k)
    if gamma.ndim == 0:
        return HillEstimate(float(gamma), float(se))
    return HillEstimate(gamma, se)


def hill_k_range(n):
    """The paper's ``k``: every integer from ``n^0.1`` to ``n^0.5`` (rounded inward)."""
    return np.arange(int(np.ceil(n**0.1)), int(np.floor(n**0.5)) + 1)


def hill_functional(dist, tail_fraction):
    """Where the Hill estimate at ``k = tail_fraction * n`` settles for large ``n``, for ``dist``.

    ``E[log(X / u) | X > u] = int_0^inf Fbar(u e^s) / Fbar(u) ds`` for ``X`` centred on its
    mean and ``u`` its upper ``tail_fraction`` quantile; ``1 / alpha`` in the limit for a
    power tail, 0 in the limit for a light tail (and for the lognormal).
    """
    mean = float(dist.mean())
    if not np.isfinite(mean):
        raise ValueError(f"dist has no finite mean (scipy gives {mean}); the centring needs one")

    def one(p):
        if not 0 < p < 1:
            raise ValueError(f"tail_fraction must lie in (0, 1), got {p!r}")
        u = float(dist.isf(p)) - mean
        if u <= 0:
            raise ValueError(
                f"the upper {p} quantile lies at or below the mean; Hill needs it above"
            )
        log_sf_u = float(dist.logsf(mean + u))

        def ratio(s):
            with np.errstate(over="ignore"):  # u e^s = inf far out, where Fbar = 0: harmless
                return np.exp(dist.logsf(mean + u * np.exp(s)) - log_sf_u)

        value, _ = integrate.quad(ratio, 0.0, np.inf, epsabs=0.0, epsrel=1e-10, limit=200)
        return value

    out = np.vectorize(one, otypes=[float])(tail_fraction)
    return float(out) if out.ndim == 0 else out


def exponential_bend_functional(dist, n):
    """Where the exponential bend ratio of :func:`exponential_bend` settles for ``n`` samples.

    ``e(u_k) / e(u_half)`` with ``e(u) = E[X - u | X > u]`` the mean excess, ``u_half`` the
    median and ``u_k`` the upper ``k / n`` quantile, ``k = floor(n^0.5)``: 1 for an exponential
    tail, below 1 for a lighter one, above 1 once the top of the sample reaches the part of a
    heavy tail where the mean excess grows.
    """

    def one(size):
        if not size >= MIN_SAMPLES:
            raise ValueError(f"n must be at least {MIN_SAMPLES}, got {size!r}")
        k = np.floor(np.sqrt(size))
        median, top = float(dist.median()), float(dist.isf(k / size))
        return (tails.tail_mean(dist, top) - top) / (tails.tail_mean(dist, median) - median)

    out = np.vectorize(one, otypes=[float])(n)
    return float(out) if out.ndim == 0 else out


def normal_qq(samples):
    """Normal Q-Q coordinates: (standard normal quantiles, sorted samples)."""
    x = require_samples(samples)
    theoretical, ordered = stats.probplot(x, dist=stats.norm, fit=False)
    return theoretical, ordered


def upper_half_excesses(samples):
    """The top ``n // 2`` samples minus the next one, largest first: the exponential Q-Q's data."""
    x = np.sort(require_samples(samples, minimum=3))[::-1]
    m = x.size // 2
    return x[:m] - x[m]


def exponential_qq(samples):
    """Exponential Q-Q coordinates of the upper half: (Exp(1) quantiles, sorted excesses).

    A straight line through 0 is an exponential tail; bending up, heavier; bending down,
    lighter.
    """
    excesses = upper_half_excesses(samples)
    theoretical, ordered = stats.probplot(excesses, dist=stats.expon, fit=False)
    return theoretical, ordered


@dataclass(frozen=True)
class MeanExcessTest:
    """A ratio of two nested mean excesses and where it falls in its exact null law.

    Under the null the ratio is ``(outer / inner) Beta(inner, outer - inner)``.
    """

    ratio: float
    inner: int
    outer: int
    p_below: float
    p_above: float


def _mean_excess_test(excesses, inner, outer):
    """Compare the top ``inner`` with the top ``outer`` of ``excesses`` (largest first, >= 0)."""
    if not 1 <= inner < outer < excesses.size + 1:
        raise ValueError(f"need 1 <= {inner} < {outer} <= {excesses.size} values")
    mean_inner = excesses[:inner].mean() - excesses[inner]
    mean_outer = excesses[:outer].mean() - (excesses[outer] if outer < excesses.size else 0.0)
    if mean_outer <= 0:
        raise ValueError("the largest values are all equal; no tail to test")
    ratio = mean_inner / mean_outer
    null = stats.beta(inner, outer - inner)
    scaled = ratio * inner / outer
    return MeanExcessTest(
        float(ratio), inner, outer, float(null.cdf(scaled)), float(null.sf(scaled))
    )


def hill_trend(samples):
    """Test whether the Hill estimates fall toward 0 deeper in the tail (a light tail's sign).

    Compares ``gamma(j)`` with ``gamma(k)`` for ``k = floor(n^0.5)`` (the paper's largest) and
    ``j = round(n^0.3)`` (the middle of its range on a log scale). ``p_below`` small: the fall
    is too steep for an exact power-law tail.
    """
    n = require_samples(samples, MIN_SAMPLES).size
    top = tail_above_mean(samples)
    k = int(np.floor(n**0.5))
    j = int(np.round(n**0.3))
    if k >= top.size:
        raise ValueError(f"only {top.size} samples lie above the mean; Hill at k = {k} needs more")
    return _mean_excess_test(np.log(top[: k + 1]) - np.log(top[k]), j, k)


def exponential_bend(samples):
    """Test whether the exponential Q-Q plot of the upper half bends (up: heavier, down: lighter).

    The mean excess of the top ``k = floor(n^0.5)`` values over the ``(k+1)``-th, relative to
    the mean excess of the whole upper half: the slope of the plot at its top over its
    average slope.
    """
    n = require_samples(samples, MIN_SAMPLES).size
    return _mean_excess_test(upper_half_excesses(samples), int(np.floor(n**0.5)), n // 2)


def hill_reading(test):
    """``"light"`` if the Hill estimates fall significantly toward 0, else ``"power law"``."""
    return "light" if test.p_below < LEVEL else "power law"


def bend_reading(test):
    """``"heavier"``, ``"lighter"`` or ``"exponential"``: the two-sided reading of the bend."""
    if test.p_above < LEVEL / 2:
        return "heavier"
    if test.p_below < LEVEL / 2:
        return "lighter"
    return "exponential"


def summary(samples):
    """A short text: the numbers behind the four panels and what they do and do not support."""
    x = require_samples(samples, MIN_SAMPLES)
    n = x.size
    k = hill_k_range(n)
    trend, bend = hill_trend(x), exponential_bend(x)
    gamma_k, se_k = hill_estimator(x, trend.outer)
    gamma_j, se_j = hill_estimator(x, trend.inner)
    hill_text = {
        "light": "they fall toward 0 deeper in the tail, as a light tail's do "
        "(or a lognormal's: its index is also 0)",
        "power law": "the fall, if any, is within what an exact power-law tail gives",
    }[hill_reading(trend)]
    bend_text = {
        "heavier": "it bends up: heavier than exponential near the top",
        "lighter": "it bends down: lighter than exponential near the top",
        "exponential": "it is straight within the noise: consistent with an exponential tail",
    }[bend_reading(bend)]
    return "\n".join(
        [
            f"n = {n} samples, mean {x.mean():.6g}, standard deviation {x.std(ddof=1):.6g}; "
            f"{tail_above_mean(x).size} lie above the mean.",
            f"Hill estimates (centred, positive part; k = {k[0]}..{k[-1]}): "
            f"{gamma_k:.3f} +/- {se_k:.3f} at k = {trend.outer}, "
            f"{gamma_j:.3f} +/- {se_j:.3f} at k = {trend.inner}.",
            f"Hill trend: gamma({trend.inner}) / gamma({trend.outer}) = {trend.ratio:.3f}; "
            f"an exact power-law tail gives a ratio this low with probability "
            f"{trend.p_below:.3g}: {hill_text}.",
            f"Exponential Q-Q of the upper half: slope over the top {bend.inner} points / "
            f"average slope = {bend.ratio:.3f} (exponential tail: 1; two-sided p = "
            f"{2 * min(bend.p_below, bend.p_above):.3g}): {bend_text}.",
            "Supported: a statement about the tail between the median and the top "
            f"~1/{n} quantile, where the samples lie.",
            "Not supported: any statement beyond the largest sample. No finite sample shows "
            "that a tail is light; a heavy tail can start further out, and the standard "
            "errors gamma/sqrt(k) ignore the bias of the Hill estimate.",
        ]
    )


def draw_report(axes, samples, color="#2166ac", label=None):
    """Draw the four panels (histogram, normal Q-Q, exponential Q-Q, Hill) into four axes."""
    x = require_samples(samples, MIN_SAMPLES)
    hist, normal, expo, hill = axes
    hist.hist(x, bins=80, color=color, alpha=0.8)
    hist.set_yscale("log")
    hist.set(xlabel="value", ylabel="count")
    theoretical, ordered = normal_qq(x)
    q1, q3 = np.quantile(x, [0.25, 0.75])
    z3 = stats.norm.ppf(0.75)
    normal.plot(theoretical, ordered, ".", ms=2, color=color, rasterized=True)
    normal.plot(theoretical, (q1 + q3) / 2 + theoretical * (q3 - q1) / (2 * z3), color="0.3", lw=1)
    normal.set(xlabel="normal quantile", ylabel="sample quantile")
    theoretical, ordered = exponential_qq(x)
    expo.plot(theoretical, ordered, ".", ms=2, color=color, rasterized=True)
    expo.plot(theoretical, theoretical * ordered.mean(), color="0.3", lw=1)
    expo.set(xlabel="exponential quantile", ylabel="excess over median")
    k = hill_k_range(x.size)
    gamma, se = hill_estimator(x, k)
    hill.errorbar(k, gamma, yerr=se, fmt=".", ms=3, color=color, elinewidth=0.6)
    hill.set(xscale="log", xlabel="k", ylabel="Hill estimate")
    if label is not None:
        hist.set_title(label, loc="left")


def report_figure(samples, title=None):
    """The paper's four-panel report as a matplotlib ``Figure`` (no pyplot state involved)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 3.2), layout="constrained")
    axes = figure.subplots(1, 4)
    draw_report(axes, samples)
    titles = ["histogram", "normal Q-Q", "exponential Q-Q, upper half", "Hill estimate +/- SE"]
    for ax, text in zip(axes, titles, strict=True):
        ax.grid(alpha=0.3)
        ax.set_title(text)
    if title:
        figure.suptitle(title)
    return figure


def load_samples(path):
    """Samples from ``.npy``, ``.csv`` (one column, optional header) or text (one value a line)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if path.suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: not a readable .npy file ({error})") from None
        if not np.issubdtype(array.dtype, np.number):
            raise ValueError(f"{path}: holds {array.dtype} values, not numbers")
        if array.ndim != 1:
            raise ValueError(
                f"{path}: holds an array of shape {array.shape}; expected one dimension"
            )
        if array.size == 0:
            raise ValueError(f"{path}: is empty")
        values, where = array.astype(float), [f"index {i}" for i in range(array.size)]
    else:
        values, where = _parse_lines(path)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(
            f"{path}: {where[bad[0]]}: {values[bad[0]]} (NaN or infinite) cannot be analysed"
        )
    return values


def _parse_lines(path):
    """Values and their line labels from a text or one-column CSV file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file (use .npy for binary data)") from None
    values, where, header = [], [], False
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        if path.suffix == ".csv" and "," in text:
            raise ValueError(
                f"{path}: line {number} has {text.count(',') + 1} columns; expected one"
            )
        try:
            values.append(float(text))
        except ValueError:
            if path.suffix == ".csv" and not values and not header:
                header = True  # a CSV may name its column on the first line
                continue
            raise ValueError(f"{path}: line {number}: {text[:40]!r} is not a number") from None
        where.append(f"line {number}")
    if not values:
        raise ValueError(f"{path}: is empty (no values)")
    return np.array(values), where


def write_atomically(figure, out):
    """Save ``figure`` as PNG to ``out`` via a temporary file in the same directory."""
    out = Path(out)
    directory = out.parent
    if not directory.is_dir():
        raise ValueError(f"{out}: directory {directory} does not exist")
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            figure.savefig(stream, format="png", dpi=120)
        os.replace(temporary, out)
    except BaseException:
        os.unlink(temporary)
        raise


def main(argv=None):
    """Command line: print the summary of a sample file and write the four-panel report."""
    parser = argparse.ArgumentParser(
        prog="python -m goodhart.diagnostics",
        description="Tail diagnostics for reward samples: histogram, normal Q-Q, exponential "
        "Q-Q of the upper half and Hill estimates, with a text summary of what they support.",
    )
    parser.add_argument(
        "samples", help="a .npy file, a one-column .csv, or text with one value a line"
    )
    parser.add_argument("--out", help="where to write the four-panel report (PNG)")
    parser.add_argument("--title", help="title of the report figure")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    try:
        samples = load_samples(args.samples)
        if samples.size < MIN_SAMPLES:
            raise ValueError(
                f"{args.samples}: too few samples ({samples.size}); the diagnostics need at "
                f"least {MIN_SAMPLES}"
            )
        text = summary(samples)
        if args.out:
            write_atomically(report_figure(samples, args.title), args.out)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(text)
    if args.out:
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
