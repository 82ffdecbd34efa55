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
"""

import os

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


@pytest.fixture(autouse=True)
def _no_open_figures():
    import matplotlib.pyplot as plt

    plt.close("all")
    yield
    plt.close("all")
