"""Speed and exactness of Theorem 3's construction on token trees of 10^5 to 2^20 texts.

Per tree: the time to build the tree, its base policy and its heavy-tailed (Student-t, 3 dof)
returns; the time of the construction for one threshold (``goodhart.mdp.tail_policy``: the
reweighted law, the read-off policy, its summed and averaged KL); and its exactness, the
largest ``|Tr(pi) / rho - 1|`` over the texts and ``|summed KL / D(rho || Tr(pi0)) - 1|``.

Targets: the whole (build and construction) under 5 seconds per tree; ``Tr(pi) = rho`` to a
relative error below 1e-12 and the chain rule to below 1e-10. Each figure is printed beside
its target; the script exits with status 1 if a target is missed.
Run: ``.venv/bin/python benchmarks/mdp.py``.
"""

import sys
import time

import numpy as np
from scipy import stats

from goodhart import mdp, trees
from goodhart.cli import quiet_when_the_reader_leaves

TREES = [(10, 5), (2, 17), (4, 9), (2, 20)]  # 1e5, 131072, 262144, 1048576 texts
SECONDS_TARGET = 5.0
TR_TARGET = 1e-12
CHAIN_TARGET = 1e-10


def one(tokens, horizon, q):
    """Seconds to build and to construct, and the two exactness figures, for one tree."""
    start = time.perf_counter()
    tree = trees.TokenTree(tokens=tokens, horizon=horizon, end_token=False)
    base = trees.random_policy(tree, rng=0)
    returns = mdp.quantile_returns(q, trees.sequence_probabilities(tree, base))
    built = time.perf_counter()
    result = mdp.tail_policy(tree, base, q, returns, t=100.0, mass=100.0**-0.8)
    constructed = time.perf_counter()
    tr_error = np.max(np.abs(trees.sequence_probabilities(tree, result.policy) / result.rho - 1))
    chain_error = abs(result.per_trajectory_kl / result.kl - 1)
    return tree.n_sequences, built - start, constructed - built, tr_error, chain_error


@quiet_when_the_reader_leaves
def main():
    q = stats.t(3)
    one(2, 10, q)  # warm up imports and scipy's special functions
    print(f"{'tokens':>6} {'H':>3} {'texts':>9} {'build s':>8} {'policy s':>9} "
          f"{'total s':>8} {'Tr err':>9} {'KL err':>9}")
    missed = False
    for tokens, horizon in TREES:
        n, build, policy, tr_error, chain_error = one(tokens, horizon, q)
        total = build + policy
        miss = total > SECONDS_TARGET or tr_error > TR_TARGET or chain_error > CHAIN_TARGET
        missed |= miss
        print(f"{tokens:>6} {horizon:>3} {n:>9} {build:>8.2f} {policy:>9.2f} {total:>8.2f} "
              f"{tr_error:>9.1e} {chain_error:>9.1e}" + ("  MISSED" if miss else ""))
    print(f"{'targets':>20} {'':>8} {'':>9} {SECONDS_TARGET:>8.2f} {TR_TARGET:>9.0e} "
          f"{CHAIN_TARGET:>9.0e}  (at most)")
    return int(missed)


if __name__ == "__main__":
    sys.exit(main())
