"""Execute every chapter once, print how long each takes, and record it for the book.

Writes ``book/execution_times.csv``, which the Reproducibility page shows. Run it on the
machine whose figures you want to report (the book's are from 2 cores):

    .venv/bin/python benchmarks/chapter_times.py
"""

import argparse
import csv
import os
import time
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def chapters():
    """The notebooks of the book, in the order of the table of contents."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]
    return [ROOT / f"{name}.ipynb" for name in files if (ROOT / f"{name}.ipynb").exists()]


def execute(path, timeout):
    """Wall time in seconds to execute the notebook at ``path`` top to bottom."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "book" / "execution_times.csv")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)

    rows = []
    for path in chapters():
        seconds = execute(path, args.timeout)
        rows.append((path.name, f"{seconds:.1f}"))
        print(f"{path.name:<32} {seconds:7.1f} s")
    total = sum(float(seconds) for _, seconds in rows)
    print(f"{'all chapters':<32} {total:7.1f} s on {os.cpu_count()} cores")

    with args.out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["chapter", "seconds"])
        writer.writerows(rows)
        writer.writerow(["all chapters", f"{total:.1f}"])


if __name__ == "__main__":
    main()
