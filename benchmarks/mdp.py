"""Speed and exactness of Theorem 2's construction on token trees with >= 10^5 leaves.

Target (issue 3): building the tree, its heavy-tailed returns and the policy for one
threshold in under 5 seconds. Prints, per tree: leaves, the time of each stage, and the
exactness figures max |Tr(pi)/rho - 1| and |per-state KL / trajectory KL - 1|.
Run: .venv/bin/python benchmarks/mdp.py
"""

import time

import numpy as np
from scipy import stats

from goodhart import mdp

TREES = [(10, 5), (2, 17), (4, 9), (2, 20)]  # 1e5, 131072, 262144, 1048576 leaves
TARGET_SECONDS = 5.0


def main():
    q = stats.t(3)
    print(f"{'k':>3} {'L':>3} {'leaves':>9} {'setup s':>8} {'policy s':>9} {'check s':>8} "
          f"{'total s':>8} {'Tr err':>9} {'KL err':>9}")
    for k, horizon in TREES:
        rng = np.random.default_rng(0)
        start = time.perf_counter()
        tree = mdp.TokenTree(k, horizon)
        base = mdp.random_policy(tree, rng)
        returns = mdp.quantile_returns(q, mdp.trajectory_distribution(base))
        built = time.perf_counter()
        result = mdp.tail_policy(tree, base, q, returns, t=100.0, mass=100.0**-0.8)
        constructed = time.perf_counter()
        tr_error = np.max(np.abs(mdp.trajectory_distribution(result.policy) / result.rho - 1))
        kl_error = abs(result.state_kl / result.trajectory_kl - 1)
        checked = time.perf_counter()
        total = checked - start
        print(f"{k:>3} {horizon:>3} {tree.n_leaves:>9} {built - start:>8.2f} "
              f"{constructed - built:>9.2f} {checked - constructed:>8.2f} {total:>8.2f} "
              f"{tr_error:>9.1e} {kl_error:>9.1e}"
              + ("" if total < TARGET_SECONDS else "  SLOWER THAN TARGET"))


if __name__ == "__main__":
    main()
