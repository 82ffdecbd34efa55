"""Exact best-of-N against the paper's own protocol, timed side by side, and its accuracy.

The paper's protocol is written the way the authors' script `best-of-n/bon_synthetic.py`
(repository tkwa/catastrophic-goodhart) samples it: for each of the ten pairs and each
N = 4^0, ..., 4^8, 100 trials, each drawing N pairs with numpy's legacy generator
(`np.random.standard_t`, `np.random.lognormal`, `np.random.normal`, scipy's `levy.rvs`), the
utility multiplied by 2, and keeping the pair with the largest sum; the plotting is left out.
The exact engine computes the same ten pairs at 60 values of N from 1 to 10^12.

Prints each wall time (the fastest of three runs), their ratio against the target (at least
50 times faster), and the engine's largest error against an independent reference at
N = 16, 1024, 65536 (integration by parts: E[V at the best of N] is E[V | U >= t] averaged
over a Beta(2, N - 1) level of P(U >= t), by the tail route of the engine), against the
target 1e-6. Exits with status 1 if a target is missed.
Run: ``.venv/bin/python benchmarks/best_of_n.py``.
"""

import sys
import timeit

import numpy as np
from scipy import special
from scipy.stats import levy

from goodhart.best_of_n import paper_pairs
from goodhart.cli import quiet_when_the_reader_leaves

REPEATS = 3
N_EXACT = np.unique(np.round(np.logspace(0, 12, 60)))
SPEED_TARGET = 50.0
ACCURACY_TARGET = 1e-6


def generate_one_data(n_samples, spec):
    """The authors' sampler, as in their script (its `cap` argument unused there).

    It uses numpy's legacy global generator, as theirs does (hence the ``noqa: NPY002``).
    """
    n_samples = int(n_samples)
    match spec:
        case ("t", df):
            return ((df - 2) / df) ** 0.5 * np.random.standard_t(df, size=n_samples)  # noqa: NPY002
        case "lognormal":
            return np.random.lognormal(0, np.log(2), size=n_samples) - 1  # noqa: NPY002
        case "normal":
            return np.random.normal(0, 1, size=n_samples)  # noqa: NPY002
        case "levy":
            return levy.rvs(size=n_samples)


def paper_protocol():
    """The authors' loop over panels, N = 4^0..4^8 and 100 trials, without the plotting."""
    best = []
    for y_spec in ["normal", "lognormal", ("t", 3), ("t", 5), "levy"]:
        for x_spec in ["normal", ("t", 10)]:
            for n in np.geomspace(1, 4**8, 9):
                for _ in range(100):
                    samples = np.stack(
                        (2 * generate_one_data(n, x_spec), generate_one_data(n, y_spec)), axis=1
                    )
                    i = np.argmax(samples[:, 0] + samples[:, 1])
                    best.append((round(n), *samples[i]))
    return best


def exact_engine(pairs):
    return {key: proxy.best_of_n(N_EXACT) for key, proxy in pairs.items()}


def timed(run):
    """The fastest of ``REPEATS`` runs, in seconds."""
    return min(timeit.repeat(run, number=1, repeat=REPEATS))


def beta_reference(proxy, n):
    """E[C(Qbar_U(P))], P ~ Beta(2, n - 1): trapezoid rule in logit P with the exact density."""
    z = np.arange(-45.0, 15.0, 0.1)
    p = special.expit(z)
    given = proxy.conditional_mean(proxy.isf(p))
    log_w = np.log(n * (n - 1))[:, None] + 2 * np.log(p) + (n - 1)[:, None] * np.log1p(-p)
    return (np.exp(log_w) * 0.1) @ given


@quiet_when_the_reader_leaves
def main():
    np.random.seed(20240719)  # noqa: NPY002
    pairs = paper_pairs()
    exact_engine(pairs)  # the first call imports and warms scipy's special functions
    exact_seconds = timed(lambda: exact_engine(pairs))
    paper_seconds = timed(paper_protocol)
    ratio = paper_seconds / exact_seconds

    n_check = np.array([16.0, 1024.0, 65536.0])
    worst, where = 0.0, None
    for key in [("normal", "t3"), ("t10", "t5"), ("normal", "levy"), ("t10", "lognormal")]:
        error = np.abs(pairs[key].best_of_n(n_check).utility - beta_reference(pairs[key], n_check))
        if error.max() > worst:
            worst, where = float(error.max()), (key, n_check[np.argmax(error)])

    print(f"exact engine   : {exact_seconds:6.3f} s  (10 pairs x {N_EXACT.size} N, 1 to 1e12)")
    print(f"paper protocol : {paper_seconds:6.3f} s  (10 pairs x 9 N to 65536, 100 trials)")
    print(f"ratio          : {ratio:6.1f}x  (target >= {SPEED_TARGET:g}x; fastest of {REPEATS})")
    print(f"largest error against the Beta(2, N - 1) reference: {worst:.1e} "
          f"(V {where[0][0]}, X {where[0][1]}, N = {where[1]:.0f}; target {ACCURACY_TARGET:g})")
    return int(ratio < SPEED_TARGET or worst > ACCURACY_TARGET)


if __name__ == "__main__":
    sys.exit(main())
