"""Do the committed notebook outputs survive another machine's arithmetic? (`make test-portability`)

Re-runs nbval over the chapters under conditions that change low-level arithmetic without
changing any version:

- ``simd``: numpy's SIMD dispatch lowered with ``NPY_DISABLE_CPU_FEATURES`` (the AVX-512
  targets ``X86_V4 AVX512_ICL AVX512_SPR``, those of them this CPU has), as on a machine
  without AVX-512; the script checks in ``numpy._core._multiarray_umath.__cpu_features__``
  that they are off;
- ``one-thread``: OpenBLAS (numpy's and scipy's) on one thread, ``OPENBLAS_NUM_THREADS=1``;
- ``baseline`` (with ``--all``): every dispatched target off (``X86_V3`` too: SSE4.2 only).

For each, it prints which cells of which notebooks print something different from their
committed outputs, with the first differing lines, and exits 1 if any does. It changes no
file. Usage: ``python tests/portability.py [--all] [book/x.ipynb ...]``.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUESTED = ["X86_V4", "AVX512_ICL", "AVX512_SPR"]
ANSI = re.compile(r"(\x1b|#x1B)\[[0-9;]*m")
NBVAL = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with",
         str(ROOT / "tests" / "nbval_sanitize.cfg"), "--nbval-cell-timeout=120"]

FEATURES = """
import json
from numpy._core._multiarray_umath import __cpu_features__, __cpu_dispatch__, __cpu_baseline__
print(json.dumps({"features": __cpu_features__, "dispatch": list(__cpu_dispatch__),
                  "baseline": list(__cpu_baseline__)}))
"""


def cpu(env=None):
    out = subprocess.run([sys.executable, "-c", FEATURES], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def variants(run_all):
    here = cpu()
    on = [name for name, flag in here["features"].items() if flag]
    print(f"CPU: baseline {' '.join(here['baseline'])}; dispatch targets "
          f"{' '.join(here['dispatch'])}; supported dispatch targets "
          f"{' '.join(t for t in here['dispatch'] if here['features'].get(t))}")
    print(f"CPU features on: {' '.join(on)}")
    found = []
    simd = [t for t in REQUESTED if t in here["dispatch"] and here["features"].get(t)]
    if simd:
        found.append(("simd", {"NPY_DISABLE_CPU_FEATURES": " ".join(simd)}, simd))
    else:
        print(f"simd: this CPU has none of {' '.join(REQUESTED)}; nothing to lower")
    found.append(("one-thread", {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}, []))
    if run_all:
        every = [t for t in here["dispatch"] if here["features"].get(t)]
        found.append(("baseline", {"NPY_DISABLE_CPU_FEATURES": " ".join(every)}, every))
    return found


def check_disabled(env, disabled):
    features = cpu(env)["features"]
    still = [t for t in disabled if features.get(t)]
    if still:
        sys.exit(f"NPY_DISABLE_CPU_FEATURES did not take effect for {still}")
    print(f"  checked: {' '.join(disabled)} off in __cpu_features__")


def run_nbval(notebooks, env, junit):
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "auto",
               "--dist", "loadfile", *NBVAL, f"--junitxml={junit}", *notebooks]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    tail = [line for line in result.stdout.splitlines() if line.strip()][-1:]
    print(f"  nbval: {tail[0] if tail else result.returncode}")
    differing = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is None:
            continue
        notebook = case.get("classname", "").replace(".ipynb", "").replace(".", "/") + ".ipynb"
        text = ANSI.sub("", problem.get("message", "") + "\n" + (problem.text or ""))
        lines = []
        for line in text.splitlines():
            # pytest's diff of `reference == test`: "+" the committed output, "-" this run's
            if line.startswith("  + "):
                lines.append("committed: " + line[4:])
            elif line.startswith("  - "):
                lines.append("this run:  " + line[4:])
            elif "mismatch" in line:
                lines.append(line.strip())
        differing.append((notebook, case.get("name"), lines[:9]))
    return differing


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*")
    parser.add_argument("--all", action="store_true", help="also the SSE4.2 baseline")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(str(p.relative_to(ROOT))
                                         for p in (ROOT / "book").glob("*.ipynb"))
    any_differ = False
    for name, extra, disabled in variants(args.all):
        env = {**os.environ, **extra}
        print(f"\n{name}: {' '.join(f'{k}={v!r}' for k, v in extra.items())}")
        if disabled:
            check_disabled(env, disabled)
        with tempfile.TemporaryDirectory() as tmp:
            differing = run_nbval(notebooks, env, Path(tmp) / "junit.xml")
        if not differing:
            print("  every cell prints what is committed")
        for notebook, cell, lines in differing:
            any_differ = True
            print(f"  DIFFERS {notebook} {cell}")
            for line in lines:
                print(f"      {line}")
    return 1 if any_differ else 0


if __name__ == "__main__":
    sys.exit(main())
