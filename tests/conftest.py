"""Settings shared by every test.

Hypothesis profiles:

- ``ci``: derandomized (the same examples on every run and every machine), no example
  database, no deadline, no health check that depends on the machine's speed. ``make test``
  selects it (``--hypothesis-profile=ci``), and so does any run with ``CI`` set in the
  environment.
- ``dev``: hypothesis's defaults (random examples, an example database in ``.hypothesis/``
  that replays failures), no deadline. The default for a plain ``pytest`` run.

Choose explicitly with ``pytest --hypothesis-profile=dev`` or ``HYPOTHESIS_PROFILE=dev``.
A test's own ``@settings(max_examples=...)`` still applies on top of the profile.

Matplotlib draws with the Agg backend, and every test starts with no open figure, so that no
test sees another's figures (or the warning about too many open figures, an error here).

``run_main`` runs a command line's ``main`` in this process, as its console script would.

``pytest.approx(expected, rel=r)`` without ``abs`` also accepts anything within 1e-12 (its
implicit absolute tolerance), which makes a relative tolerance on a value below about
``1e-12 / r`` say nothing. Here such a comparison that passes only by that implicit
tolerance fails, asking for the absolute tolerance to be stated.
"""

import os
import subprocess

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


class _StatedTolerance:
    """``pytest.approx(expected, rel=...)`` that fails where only the implicit ``abs=1e-12``
    would let the value pass."""

    __array_ufunc__ = None  # numpy defers ``array == self`` to ``self.__eq__``
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, approx, expected, rel, **options):
        self.loose = approx(expected, rel=rel, **options)
        self.strict = approx(expected, rel=rel, abs=0.0, **options)
        self.rel = rel

    def __eq__(self, actual):
        loose = self.loose == actual
        if loose and not self.strict == actual:
            raise AssertionError(
                f"{actual!r} is within rel={self.rel:g} of {self.strict.expected!r} only by "
                "pytest.approx's implicit abs=1e-12: state the absolute tolerance"
            )
        return loose

    def __ne__(self, actual):
        return not self == actual

    def __repr__(self):
        return repr(self.strict)


@pytest.fixture(autouse=True)
def _stated_tolerances(monkeypatch):
    approx = pytest.approx

    def stated(expected, rel=None, abs=None, **options):
        if rel is None or abs is not None:
            return approx(expected, rel=rel, abs=abs, **options)
        return _StatedTolerance(approx, expected, rel, **options)

    monkeypatch.setattr(pytest, "approx", stated)


@pytest.fixture(autouse=True)
def _no_open_figures():
    import matplotlib.pyplot as plt

    plt.close("all")
    yield
    plt.close("all")


@pytest.fixture
def run_main(monkeypatch, capsys):
    """``run_main(main, *args, cwd=None)``: a command line's ``main(argv)`` in this process
    (in ``cwd`` if given), as a ``CompletedProcess``: its exit status (argparse's too), stdout
    and stderr. The same code as its console script, without the second of interpreter start
    and imports a subprocess pays."""

    def run(main, *args, cwd=None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        try:
            code = main(list(map(str, args)))
        except SystemExit as exit_:
            code = exit_.code
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, captured.out, captured.err)

    return run
