"""The site tests' schedule: every test of a page on one pytest-xdist worker.

A browser test's ``view(page, width)`` loads a page once a width and worker, and the other
tests of that page read its measurements. pytest-xdist's ``--dist loadgroup`` was meant to
keep them together, but with pytest 9.2 it silently spreads them (pytest-xdist issue #1386:
its group rides on a node id that pytest no longer lets it change), and each page was loaded
two or three times a width. This scheduler groups by the page named in a test's parameters
instead, which needs no mark and no change to the node id.
"""

import re

from xdist.scheduler import LoadScopeScheduling

PAGE = re.compile(r"\[(book/[^\]\[]+?\.html)")


class ByPage(LoadScopeScheduling):
    """Load scheduling in whole pages: a test's scope is its page, else the test itself."""

    def _split_scope(self, nodeid):
        page = PAGE.search(nodeid)
        return page.group(1) if page else nodeid


def pytest_xdist_make_scheduler(config, log):
    return ByPage(config, log)
