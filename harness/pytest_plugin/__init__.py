"""The pytest plugin: options, markers, the session's servers, evidence, verdicts and reports.

One module per concern: options.py (command line, the run configured), catalogue.py (requirement and
property IDs at collection, markers, rows()), servers.py (the server pool and its fixtures), verdicts.py (a
case's verdict from its reports, redaction), reports.py (conformance.json, report.html, junit.xml
properties, the terminal summary), fuzz.py (the fuzz fixtures, hypothesis profiles); keys.py (the stash
keys they share), progress.py, logs.py.

pytest registers this package's module alone (the pytest11 entry point, conftest.py's pytest_plugins) and
finds hooks and fixtures among its attributes only: every one is imported here by name, so the plugin
registers as one module, as it did when it was one file. With harness.xdist_plugin (a run in pytest-xdist
workers), the only modules of harness/ that import pytest.
"""

from __future__ import annotations

from harness.pytest_plugin.catalogue import (
    pytest_collection_modifyitems,
    pytest_runtest_setup,
    rows,
)
from harness.pytest_plugin.fuzz import fuzz_run, fuzz_servers
from harness.pytest_plugin.options import pytest_addoption, pytest_configure
from harness.pytest_plugin.progress import Progress
from harness.pytest_plugin.reports import (
    pytest_runtest_protocol,
    pytest_sessionfinish,
    pytest_terminal_summary,
    recorder,
)
from harness.pytest_plugin.servers import (
    own_jwks,
    pytest_runtest_teardown,
    server_for,
    server_pool,
    target,
)
from harness.pytest_plugin.verdicts import evidence, pytest_runtest_makereport

# A run in pytest-xdist workers (`-n N`): the controller's side and what each worker sends it.
pytest_plugins = ["harness.xdist_plugin"]

# Its hooks (pytest_*) and fixtures, and rows() and Progress for test files (suites/ and tests/).
__all__ = [
    "Progress",
    "evidence",
    "fuzz_run",
    "fuzz_servers",
    "own_jwks",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_makereport",
    "pytest_runtest_protocol",
    "pytest_runtest_setup",
    "pytest_runtest_teardown",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "recorder",
    "rows",
    "server_for",
    "server_pool",
    "target",
]
