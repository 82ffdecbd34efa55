"""The build configuration agrees with itself: pins, lock, Binder, Python version."""

import os
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)$")


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path):
    return [line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def pins(path):
    return {canonical(m[1]): m[2] for line in requirement_lines(path) if (m := PIN.match(line))}


def test_every_direct_dependency_is_pinned_exactly():
    loose = [line for line in requirement_lines(ROOT / "requirements.txt")
             if not PIN.match(line) and line != "-e ."]
    assert not loose, f"requirements.txt lines without an exact pin: {loose}"
    assert requirement_lines(ROOT / "requirements.txt")[-1] == "-e ."


def test_the_lock_pins_everything_at_the_direct_pins():
    lock, direct = pins(ROOT / "requirements.lock"), pins(ROOT / "requirements.txt")
    assert all(PIN.match(line) for line in requirement_lines(ROOT / "requirements.lock"))
    disagree = {name: (version, lock.get(name)) for name, version in direct.items()
                if lock.get(name) != version}
    assert not disagree, f"requirements.txt and requirements.lock disagree (run make lock): " \
                         f"{disagree}"
    assert "goodhart" not in lock, "the lock must not pin the book's own package"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the lock is made on Linux")
@pytest.mark.skipif(bool(os.environ.get("UNPINNED")), reason="the drift job's latest releases")
def test_this_environment_is_the_lock():
    """What make installed is what the lock says (make check-lock prints the difference)."""
    lock = pins(ROOT / "requirements.lock")
    installed = {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    installed.pop("goodhart", None)
    different = {n: (lock.get(n), installed.get(n)) for n in set(lock) | set(installed)
                 if lock.get(n) != installed.get(n)}
    assert not different, f"installed packages that differ from the lock: {different}"


def test_page_assets_patches_the_versions_it_was_written_for():
    """book/_ext/page_assets.py works around the doubled scripts of these exact versions."""
    direct = pins(ROOT / "requirements.txt")
    text = (ROOT / "book" / "_ext" / "page_assets.py").read_text()
    for name in ("sphinx-thebe", "sphinx-togglebutton"):
        assert name in direct, f"{name} must be pinned in requirements.txt"
    assert f"sphinx-thebe {direct['sphinx-thebe']}" in text
    assert f"Sphinx {direct['sphinx'].rsplit('.', 1)[0]}" in text


def test_binder_gets_the_lock_the_package_and_the_python_version():
    binder = requirement_lines(ROOT / "binder" / "requirements.txt")
    assert binder == ["-r ../requirements.txt", "-c ../requirements.lock"]
    runtime = (ROOT / "runtime.txt").read_text().strip()
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == runtime
    assert re.fullmatch(r"python-3\.\d+", runtime)
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=" + runtime.removeprefix("python-")
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == runtime.removeprefix("python-")
