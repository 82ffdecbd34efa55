"""The command line end to end: ``goodhart-diagnostics`` and ``python -m goodhart.diagnostics``.

Each run is on files written here: a subprocess for what only a process shows (the console
script, help and usage errors, the umask, a closed pipe, the report written), ``cli.main`` in
this process for the rest (the same code, a second less each). A good file: exit 0, the
summary on stdout, nothing on stderr. A bad one: exit 1, one line on stderr, no traceback, and
the directory (the samples file included) exactly as it was.
"""

import json
import math
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from goodhart import cli
from goodhart import diagnostics as d

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SCRIPT = Path(sys.executable).parent / "goodhart-diagnostics"


def exact(value):
    return f"{value:.17g}"


def run(*args, cwd, module=True, umask=None):
    command = [sys.executable, "-m", "goodhart.diagnostics"] if module else [str(SCRIPT)]
    return subprocess.run(
        [*command, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120,
        umask=-1 if umask is None else umask,
    )


@pytest.fixture
def run_here(run_main):
    """``run_here(*args, cwd=)``: ``cli.main`` in this process; for what only a process shows
    (the entry point, the umask, a closed pipe, usage errors) the tests run one."""
    return lambda *args, cwd: run_main(cli.main, *args, cwd=cwd)


def snapshot(directory):
    """Every entry of ``directory``: name, kind, link target or content."""
    entries = {}
    for path in sorted(Path(directory).iterdir()):
        if path.is_symlink():
            entries[path.name] = ("link", os.readlink(path))
        elif path.is_dir():
            entries[path.name] = ("dir", None)
        else:
            entries[path.name] = ("file", path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
    return entries


def assert_refused(result, message):
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


@pytest.fixture(scope="module")
def values():
    return np.random.default_rng(1).gumbel(size=3000)


@pytest.fixture
def folder(tmp_path, values):
    np.save(tmp_path / "rewards.npy", values)
    (tmp_path / "rewards.txt").write_text("\n".join(f"{v:.17g}" for v in values) + "\n")
    return tmp_path


# Good files.


def test_console_script_writes_the_report(folder, values):
    result = run("rewards.npy", "--out", "report.png", cwd=folder, module=False)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout == d.summary(values) + "\nwrote report.png\n"
    assert (folder / "report.png").read_bytes().startswith(PNG_MAGIC)
    assert sorted(p.name for p in folder.iterdir()) == ["report.png", "rewards.npy",
                                                         "rewards.txt"]
    assert all(len(line) <= 78 for line in result.stdout.splitlines())


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("with header.csv", lambda v: "reward\n" + "\n".join(map(exact, v)) + "\n"),
        ("bom.csv", lambda v: "\ufeff" + "\n".join(map(exact, v)) + "\n"),
        ("crlf comments.txt", lambda v: "# rewards\r\n" + "\r\n".join(map(exact, v)) + "\r\n\r\n"),
        ("quoted.csv", lambda v: "\n".join(f'"{exact(x)}"' for x in v) + "\n"),
    ],
)
def test_text_files_lose_no_value(tmp_path, values, name, content, run_here):
    """A byte-order mark used to cost the first value of a CSV."""
    (tmp_path / name).write_text(content(values), encoding="utf-8", newline="")
    result = run_here(name, cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout == d.summary(values) + "\n"


def test_utf16_npz_and_column_arrays(tmp_path, values, run_here):
    (tmp_path / "u16.txt").write_text("\n".join(map(exact, values)), encoding="utf-16")
    np.savez(tmp_path / "one.npz", rewards=values)
    np.save(tmp_path / "column.npy", values[:, None])
    for name in ("u16.txt", "one.npz", "column.npy"):
        result = run_here(name, cwd=tmp_path)
        assert result.returncode == 0 and result.stdout == d.summary(values) + "\n", name


def test_json_output(folder, values):
    result = run("rewards.txt", "--json", "--out", "r.png", cwd=folder)
    assert result.returncode == 0 and result.stderr == ""
    numbers = json.loads(result.stdout)
    assert numbers["n"] == 3000 and numbers["samples"] == "rewards.txt"
    assert numbers["out"] == "r.png" and (folder / "r.png").exists()
    assert numbers["mean"] == pytest.approx(math.fsum(values) / 3000, rel=1e-12)
    top = np.sort(values - math.fsum(values) / 3000)[::-1]
    k = math.floor(math.sqrt(3000))
    gamma = np.mean(np.log(top[:k])) - np.log(top[k])
    assert numbers["hill"]["k"][1] == k
    assert numbers["hill"]["gamma"][1] == pytest.approx(gamma, rel=1e-10)
    assert numbers["bend_reading"] in ("heavier", "lighter", "exponential")


def test_help_and_version(tmp_path):
    result = run("--help", cwd=tmp_path, module=False)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("usage: goodhart-diagnostics")
    for phrase in ("--out", "--json", ".npy", "one-column .csv", "exit status"):
        assert phrase in result.stdout
    module = run("--help", cwd=tmp_path)
    assert module.stdout.startswith("usage: python -m goodhart.diagnostics")
    version = run("--version", cwd=tmp_path, module=False)
    assert version.returncode == 0 and version.stdout.startswith("goodhart-diagnostics 0.")


# Reliability regressions.


def test_refuses_to_overwrite_the_samples_file(folder, run_here):
    """Issue: ``--out v.txt`` on the input v.txt exited 0 and replaced the samples by a PNG."""
    before = snapshot(folder)
    assert_refused(run("rewards.txt", "--out", "rewards.txt", cwd=folder),
                   "rewards.txt: is the samples file itself")
    os.symlink("rewards.txt", folder / "link.png")
    os.link(folder / "rewards.txt", folder / "hard.png")
    for name in ("link.png", "hard.png", "./rewards.txt", str(folder / "rewards.txt")):
        assert_refused(run_here("rewards.txt", "--out", name, cwd=folder), "is the samples file")
    assert (folder / "rewards.txt").read_bytes() == before["rewards.txt"][1]


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("notes.png", "notes.png: exists and is not a PNG image"),
        ("notes.txt", "notes.txt: exists and is not a PNG image"),
        ("empty.png", "exists and is not a PNG image"),
        ("report.pdf", "give a name ending in .png"),
        ("sub", "sub: is a directory"),
        ("missing/report.png", "directory missing does not exist"),
    ],
)
def test_refuses_bad_outputs(folder, out, message, run_here):
    (folder / "notes.png").write_text("my notes\n")
    (folder / "notes.txt").write_text("my notes\n")
    (folder / "empty.png").write_bytes(b"")
    (folder / "sub").mkdir()
    before = snapshot(folder)
    assert_refused(run_here("rewards.npy", "--out", out, cwd=folder), message)
    assert snapshot(folder) == before


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_report_has_the_mode_open_would_give(folder, umask, mode):
    """Issue: the temporary file's 0600 survived os.replace."""
    result = run("rewards.npy", "--out", "r.png", cwd=folder, umask=umask)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((folder / "r.png").stat().st_mode) == mode


def test_existing_report_keeps_its_mode_and_links_are_followed(folder):
    (folder / "real.png").write_bytes(PNG_MAGIC + b"old")
    os.chmod(folder / "real.png", 0o640)
    os.symlink("real.png", folder / "link.png")
    result = run("rewards.npy", "--out", "link.png", cwd=folder, umask=0o022)
    assert result.returncode == 0, result.stderr
    assert (folder / "link.png").is_symlink() and os.readlink(folder / "link.png") == "real.png"
    content = (folder / "real.png").read_bytes()
    assert content.startswith(PNG_MAGIC) and len(content) > 1000
    assert stat.S_IMODE((folder / "real.png").stat().st_mode) == 0o640


def test_data_near_the_float_limit(tmp_path):
    """Issue: finite data near 1e307 printed "standard deviation inf" and NaN p-values."""
    x = np.ldexp(np.random.default_rng(2).normal(size=500), 1019)
    np.save(tmp_path / "big.npy", x)
    result = run("big.npy", "--out", "big.png", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    text = result.stdout.lower()
    assert "nan" not in text and "inf" not in text.replace("infinite", "")
    assert f"sd {d.tail_report(x).sd:.6g}" in text


def test_tied_data_fail_cleanly(tmp_path):
    """Issue: a Hill estimate of -2.2e-16 on tied data made the report fail in matplotlib."""
    (tmp_path / "ties.txt").write_text("\n".join(str(v) for v in range(1, 11) for _ in range(100)))
    before = snapshot(tmp_path)
    assert_refused(run("ties.txt", "--out", "r.png", cwd=tmp_path), "tied (more than 10%)")
    assert snapshot(tmp_path) == before


def test_broken_pipe_is_quiet(folder):
    process = subprocess.Popen([str(SCRIPT), "rewards.npy"], cwd=folder, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()  # the reader leaves before the summary is printed
    _, error = process.communicate(timeout=120)
    assert b"Traceback" not in error and process.returncode == 1


@pytest.mark.parametrize("wrapped", [True, False])
def test_any_command_whose_reader_leaves_ends_quietly(wrapped):
    # the benchmarks' mains and goodhart-report's are wrapped as goodhart-diagnostics' is; a
    # main that prints more than a pipe holds shows, unwrapped, the traceback it prevents
    code = "\n".join([
        "import sys",
        "from goodhart.cli import quiet_when_the_reader_leaves",
        "def main():",
        "    print('x' * 10**6)",
        "    return 0",
        f"sys.exit({'quiet_when_the_reader_leaves(main)' if wrapped else 'main'}())",
    ])
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()
    _, error = process.communicate(timeout=60)
    assert process.returncode == 1
    assert (b"Traceback" in error) == (not wrapped)


def test_nothing_is_left_when_the_write_fails(folder, monkeypatch, run_here):
    class Broken:
        def savefig(self, stream, **kwargs):
            stream.write(b"half a picture")
            raise OSError("disk full")

    monkeypatch.setattr(d, "report_figure", lambda *args: Broken())
    before = snapshot(folder)
    result = run_here("rewards.npy", "--out", "r.png", cwd=folder)
    assert result.returncode == 1 and result.stderr == "error: disk full\n"
    assert snapshot(folder) == before


# Bad input files: one line on stderr, exit 1, nothing written.


def write(path, content):
    if callable(content):
        content(path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


def save(array):
    return lambda path: np.save(path, array)


BAD_FILES = {
    "missing": ("absent.txt", None, "absent.txt: no such file"),
    "directory": ("folder", lambda p: p.mkdir(), "folder: is a directory"),
    "empty": ("empty.txt", "", "empty.txt: is empty"),
    "blank csv": ("blank.csv", "\n \n", "is empty"),
    "header only": ("header.csv", "reward\n", "is empty"),
    "non-numeric": ("words.txt", "1.0\n2.0\nthree\n", "line 3: 'three' is not a number"),
    "underscore": ("under.txt", "1_000\n", "line 1: '1_000' is not a number"),
    "two headers": ("two.csv", "a\nb\n1\n", "line 2: 'b' is not a number"),
    "nan": ("nan.txt", "1.0\nnan\n2.0\nNaN\n", "line 2: nan is NaN or infinite"),
    "nan count": ("nans.txt", "nan\n1\nnan\n", "(2 such values: line 1, line 3)"),
    "infinite": ("inf.csv", "x\n1.0\n-inf\n", "line 3: -inf is NaN or infinite"),
    "overflow": ("big.txt", "1.0\n1e400\n", "line 2: 1e400 overflows a float"),
    "two columns": ("two.csv", "1.0,2.0\n3.0,4.0\n", "line 1 has 2 columns; expected one"),
    "mismatched rows": ("ragged.csv", "1.0\n2.0\n3.0,4.0\n", "line 3 has 2 columns"),
    "two values a line": ("pairs.txt", "1.0 2.0\n", "line 1 holds 2 values"),
    "binary": ("noise.txt", bytes(range(256)), "not a UTF-8 text file"),
    "png as input": ("picture.png", PNG_MAGIC + b"\0" * 16, "is a PNG image, not a file"),
    "nan npy": ("nan.npy", save(np.array([1.0, np.nan])), "index 1: nan is NaN or infinite"),
    "complex npy": ("c.npy", save(np.arange(200) * (1 + 1j)), "holds complex numbers"),
    "bool npy": ("b.npy", save(np.ones(200, bool)), "holds booleans"),
    "text npy": ("s.npy", save(np.array(["1.0"] * 200)), "values, not real numbers"),
    "object npy": ("o.npy", save(np.array([1.0, None], dtype=object)), "not a readable .npy"),
    "structured npy": ("st.npy", save(np.zeros(200, dtype=[("a", float), ("b", int)])),
                       "structured array (fields a, b)"),
    "scalar npy": ("0d.npy", save(np.float64(3.0)), "holds a single number"),
    "matrix npy": ("matrix.npy", save(np.ones((20, 20))), "shape (20, 20)"),
    "empty npy": ("e.npy", save(np.array([])), "is empty"),
    "truncated npy": ("t.npy", lambda p: p.write_bytes(_npy_bytes(np.ones(200))[:-40]),
                      "not a readable .npy file"),
    "npz of two": ("two.npz", lambda p: np.savez(p, a=np.ones(200), b=np.ones(3)),
                   "with 2 arrays (a, b); expected exactly one"),
    "npz named npy": ("z.npy", lambda p: p.write_bytes(_npz_bytes()), "with 2 arrays"),
    "too few": ("few.txt", "\n".join(str(v) for v in range(50)),
                "few.txt: too few samples: 50; at least 100"),
}


def _npy_bytes(array):
    import io

    stream = io.BytesIO()
    np.save(stream, array)
    return stream.getvalue()


def _npz_bytes():
    import io

    stream = io.BytesIO()
    np.savez(stream, a=np.ones(200), b=np.ones(3))
    return stream.getvalue()


@pytest.mark.parametrize("case", BAD_FILES)
def test_rejects_bad_input(tmp_path, case, run_here):
    name, content, message = BAD_FILES[case]
    if content is not None:
        write(tmp_path / name, content)
    before = snapshot(tmp_path)
    assert_refused(run_here(name, "--out", "report.png", cwd=tmp_path), message)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "the following arguments are required: samples"),
        (("x.npy", "--bogus"), "unrecognized arguments: --bogus"),
        (("x.npy", "--out"), "argument --out: expected one argument"),
    ],
)
def test_usage_errors_are_one_line(tmp_path, args, message):
    result = run(*args, cwd=tmp_path, module=False)
    assert_refused(result, message)
    assert "--help" in result.stderr
