"""How long the report of one pair takes: each of the paper's ten pairs, and the command line.

For each pair of the paper's synthetic experiment (``goodhart.best_of_n.paper_pairs``), the
time to build the ``Proxy`` and compute ``report(proxy)`` (every verdict, best-of-N to
N = 10^12 and its peak, the witnesses, the frontier, the optima), the fastest of three runs;
then the command line ``goodhart-report --utility "norm(0, 2)" --error "t(3)"`` end to end in
a fresh interpreter (imports included), the fastest of three. Each time is printed beside the
target, 5 s on the book's 2-core machine; the script exits with status 1 if one is missed.
Run: ``.venv/bin/python benchmarks/report.py``.
"""

import subprocess
import sys
import time
import warnings

from goodhart.best_of_n import PAPER_ERRORS, PAPER_UTILITIES
from goodhart.proxy import Proxy
from goodhart.report import report

TARGET = 5.0  # seconds, for one pair
REPEATS = 3


def fastest(run):
    seconds = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return min(seconds)


def main():
    warnings.simplefilter("error")  # a report that warns is not a result
    rows = []
    for v_name, v in PAPER_UTILITIES.items():
        for x_name, x in PAPER_ERRORS.items():
            seconds = fastest(lambda v=v, x=x: report(Proxy(utility=v, error=x)))
            rows.append((f"report, V {v_name}, X {x_name}", seconds))
    command = [sys.executable, "-m", "goodhart.report", "--utility", "norm(0, 2)",
               "--error", "t(3)"]
    seconds = fastest(lambda: subprocess.run(command, check=True, capture_output=True))
    rows.append(("command line, norm(0, 2) and t(3)", seconds))
    missed = False
    print(f"{'what':<40} {'seconds':>8} {'target':>7}")
    for name, seconds in rows:
        miss = seconds > TARGET
        missed |= miss
        print(f"{name:<40} {seconds:8.2f} {TARGET:7.1f}{'  MISSED' if miss else ''}")
    print(f"slowest: {max(s for _, s in rows):.2f} s; target {TARGET:.1f} s: "
          f"{'missed' if missed else 'met'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
