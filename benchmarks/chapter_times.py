"""Execute every chapter as `make execute` does, and print each one's time beside its target.

The chapters run the way `make execute` runs them: nbconvert's ExecutePreprocessor, kernel
``python3``, in ``book/``, two at a time (``--jobs``), top to bottom; the notebooks are not
written back. Targets (DESIGN): no chapter over 15 s, the whole book under 120 s on 2 cores.
The whole book's time is the wall time of the run, start of the first chapter to end of the
last; a chapter's time is its own wall time, with the other job running beside it.

Writes ``book/execution_times.csv``, which the Reproducibility page shows, and exits 1 if a
target is missed. Run it on the machine whose figures you want to report:

    make times                     # or: .venv/bin/python benchmarks/chapter_times.py
"""

import argparse
import csv
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import yaml
from nbconvert.preprocessors import ExecutePreprocessor

from goodhart.cli import quiet_when_the_reader_leaves

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_TARGET = 15.0
BOOK_TARGET = 120.0


def chapters():
    """The notebooks of the book, in the order of the table of contents."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]
    return [ROOT / f"{name}.ipynb" for name in files if (ROOT / f"{name}.ipynb").exists()]


def execute(path, timeout=300):
    """Wall time in seconds to execute the notebook at ``path`` as `make execute` does."""
    notebook = nbformat.read(path, as_version=4)
    processor = ExecutePreprocessor(timeout=timeout, kernel_name="python3", record_timing=False)
    start = time.perf_counter()
    processor.preprocess(notebook, {"metadata": {"path": str(path.parent)}})
    return time.perf_counter() - start


@quiet_when_the_reader_leaves
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "book" / "execution_times.csv")
    parser.add_argument("--jobs", type=int, default=2, help="chapters at a time (make execute: 2)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    args = parser.parse_args(argv)

    paths = chapters()
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        seconds = list(pool.map(execute, paths, [args.timeout] * len(paths)))
    wall = time.perf_counter() - start

    rows, missed = [], []
    print(f"{'chapter':<28} {'seconds':>8} {'target':>8}")
    for path, value in zip(paths, seconds, strict=True):
        ok = value <= CHAPTER_TARGET
        rows.append((path.name, f"{value:.1f}", f"{CHAPTER_TARGET:.0f}", "met" if ok else "MISSED"))
        missed += [] if ok else [path.name]
        print(f"{path.name:<28} {value:8.1f} {CHAPTER_TARGET:8.0f}  {'' if ok else 'MISSED'}")
    ok = wall <= BOOK_TARGET
    label = f"whole book ({args.jobs} at a time)"
    rows.append((label, f"{wall:.1f}", f"{BOOK_TARGET:.0f}", "met" if ok else "MISSED"))
    missed += [] if ok else ["whole book"]
    print(f"{label:<28} {wall:8.1f} {BOOK_TARGET:8.0f}  {'' if ok else 'MISSED'}")
    print(f"(sum of the chapters' times {sum(seconds):.1f} s; {os.cpu_count()} cores)")

    with args.out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["chapter", "seconds", "target (s)", "target"])
        writer.writerows(rows)
    if missed:
        print(f"targets missed: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
