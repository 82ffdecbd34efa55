"""Exact best-of-N against the paper's Monte Carlo protocol: wall time and agreement.

The exact engine computes 60 values of N from 1 to 10^12 for each of the paper's ten pairs;
the paper's protocol draws 100 trials for each N = 4^k, k = 0..8 (up to 65536). Prints the
wall time of each, their ratio (target: the exact engine at least 10 times faster), and the
largest deviation of the Monte Carlo means from the exact values in units of their standard
errors. Run: ``.venv/bin/python benchmarks/best_of_n.py``.
"""

import time

import numpy as np

from goodhart.best_of_n import (
    PAPER_ERRORS,
    PAPER_UTILITIES,
    expected_best_of_n,
    sample_best_of_n,
)

UTILITY, ERROR = PAPER_UTILITIES, PAPER_ERRORS
PANELS = [(v, x) for v in UTILITY for x in ERROR]
N_EXACT = np.unique(np.round(np.logspace(0, 12, 60)))
N_PAPER = 4 ** np.arange(9)


REPEATS = 3  # each protocol is timed this many times and the fastest run is reported


def timed(run):
    """The result of ``run()`` and its fastest wall time over ``REPEATS`` runs, in seconds."""
    seconds = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - start)
    return result, min(seconds)


def main():
    exact, exact_seconds = timed(
        lambda: {p: expected_best_of_n(UTILITY[p[0]], ERROR[p[1]], N_EXACT) for p in PANELS}
    )
    rng = np.random.default_rng(20240719)
    sampled, sampled_seconds = timed(
        lambda: {p: sample_best_of_n(UTILITY[p[0]], ERROR[p[1]], N_PAPER, 100, rng) for p in PANELS}
    )

    worst, where = 0.0, None
    for p in PANELS:
        reference = expected_best_of_n(UTILITY[p[0]], ERROR[p[1]], N_PAPER)
        for key in ["utility"] + ([] if p[1] == "levy" else ["error", "proxy"]):
            se = getattr(sampled[p], key + "_se")
            z = np.abs(getattr(sampled[p], key) - getattr(reference, key))[1:] / se[1:]
            if z.max() > worst:
                worst, where = z.max(), (p, key, N_PAPER[1 + z.argmax()])
    assert all(np.all(np.isfinite(r.utility)) for r in exact.values())

    print(f"exact engine : {exact_seconds:7.2f} s  (10 panels x {N_EXACT.size} N, 1 to 1e12)")
    print(f"Monte Carlo  : {sampled_seconds:7.2f} s  (10 panels x {N_PAPER.size} N, 100 trials)")
    print(f"ratio        : {sampled_seconds / exact_seconds:7.1f}x  (target >= 10x;"
          f" fastest of {REPEATS} runs each)")
    print(
        f"largest |MC - exact| / SE: {worst:.2f}  (V {where[0][0]}, X {where[0][1]}, "
        f"{where[1]}, N = {where[2]}; N = 1 excluded, where the MC draws the means)"
    )


if __name__ == "__main__":
    main()
