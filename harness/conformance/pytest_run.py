"""The pytest command line of a conformance run, and the child process that runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from harness.conformance.packaged import PACKAGES_ROOT, PLUGIN, PYTEST_CONFIG, SUITES_DIR, suite_path
from harness.settings import ENV

SUITE_PLUGINS = ("pytest_asyncio.plugin", "_hypothesis_pytestplugin")


def pytest_command(pytest_args: Sequence[str], *, reports_dir: Path, suites: Sequence[str] = ()) -> list[str]:
    """`python -m pytest` on the packaged suites (or the named ones), as `nox -s conformance` runs them."""
    paths = [str(suite_path(name)) for name in suites] or [str(SUITES_DIR)]
    return [
        sys.executable,
        "-m",
        "pytest",
        *paths,
        *settings_args(),
        # Node IDs relative to the directory holding suites/ ("suites/test_x.py::..."), as the baselines key them.
        "--rootdir",
        str(PACKAGES_ROOT),
        "-o",
        "junit_family=xunit2",
        f"--junitxml={reports_dir / 'junit.xml'}",
        "--reports-dir",
        str(reports_dir),
        "-q",
        *pytest_args,
    ]


def settings_args() -> list[str]:
    """The packaged settings and the plugins the suites need; pytest's cache in the user's cache, never
    in site-packages."""
    return ["-c", str(PYTEST_CONFIG), *plugin_args(), "-o", f"cache_dir={ENV.cache_root / 'pytest'}"]


def plugin_args() -> list[str]:
    """Ours by its entry-point name: a no-op where the entry point loaded it, and loaded where none did (a
    checkout run without installing). With plugin autoloading off, the other plugins the suites need too
    (by module: `-p asyncio` would also mark the stdlib's asyncio for assertion rewriting)."""
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return [arg for name in (*SUITE_PLUGINS, PLUGIN) for arg in ("-p", name)]
    return ["-p", PLUGIN]


def child_environment() -> dict[str, str]:
    """Hypothesis keeps its example database in the cache too, not in the directory the run starts in."""
    env = dict(os.environ)
    env.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(ENV.cache_root / "hypothesis"))
    return env


def run_pytest(command: Sequence[str]) -> int:
    """Run pytest as a child and return its exit status.

    Ctrl-C reaches the child from the terminal (same process group), so this process ignores SIGINT
    rather than deliver it twice (a second interrupt would cut the child's cleanup short). SIGTERM sent
    to this process alone (a CI runner, `timeout`) is passed on: the plugin turns it into the Ctrl-C path
    that stops every server and container."""
    child = subprocess.Popen(list(command), env=child_environment())

    def forward(signum: int, frame: FrameType | None) -> None:
        child.send_signal(signum)

    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    previous_term = signal.signal(signal.SIGTERM, forward)
    try:
        return child.wait()
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
