"""Print how the packages installed in this environment differ from requirements.lock.

Run by `make drift` in .venv-latest, where requirements.txt was installed without its pins:
every package whose version differs from the lock is listed, the direct dependencies
(requirements.txt) first. Also written to $GITHUB_STEP_SUMMARY when that is set. Exits 0: the
tests that follow decide whether the drift breaks anything.
"""

import os
import re
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)")


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path):
    found = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            found[canonical(match[1])] = match[2]
    return found


def main():
    locked = pins(ROOT / "requirements.lock")
    direct = pins(ROOT / "requirements.txt")
    installed = {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    rows = []
    for name in sorted(set(locked) | set(installed), key=lambda n: (n not in direct, n)):
        old, new = locked.get(name, "-"), installed.get(name, "-")
        if old != new and name != "goodhart":
            rows.append((name, "direct" if name in direct else "", old, new))
    lines = [f"{len(rows)} packages differ from requirements.lock "
             f"({sum(1 for r in rows if r[1])} of them direct dependencies):", ""]
    lines += ["| package | | lock | latest |", "|---|---|---|---|"]
    lines += [f"| {name} | {kind} | {old} | {new} |" for name, kind, old, new in rows]
    text = "\n".join(lines)
    print(text)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a") as handle:
            handle.write("## Dependency drift\n\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
