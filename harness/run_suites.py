"""The conformance suites as nox's suite sessions, the gate and the matrix run them: pytest over suites/ in
pytest-xdist workers, one set of reports (conformance.json, junit.xml, report.html) in one directory.

    python -m harness.run_suites [-n N] [--reports-dir DIR] [-- pytest options...]

`-n N` (or `--shards N`, its older name) is the number of workers (default 4: AUTHZ_WORKERS or
AUTHZ_SHARDS); `-n 1` runs every test in one worker process. The controller provisions the server once
before any worker starts and merges the workers' reports (harness.xdist_plugin); files are dealt whole,
longest first (harness.xdist_schedule). Options may come before or after `--`; the last of each wins.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.settings import ENV

ROOT = Path(__file__).resolve().parent.parent
SUITES = ROOT / "suites"
STOP_GRACE_S = 150.0  # the controller gives its workers 120 s to stop their servers


def split_selection(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """The suite files and node IDs among pytest's arguments (`suites/test_x.py`, `...::test_y`), made
    absolute, and the other arguments. Only what lies in suites/ counts as a selection: an option's value
    (a fuzz case file, a reports directory) never does."""
    chosen: list[str] = []
    rest: list[str] = []
    for arg in args:
        file, sep, test = arg.partition("::")
        resolved = (Path(file) if Path(file).is_absolute() else Path.cwd() / file).resolve()
        in_suites = resolved == SUITES or (resolved.parent == SUITES and resolved.is_file())
        if not arg.startswith("-") and in_suites:
            chosen.append(f"{resolved}{sep}{test}")
        else:
            rest.append(arg)
    return chosen, rest


def take_option(args: Sequence[str], *names: str) -> tuple[str | None, list[str]]:
    """The value of the last of `names` (`--x v`, `--x=v`, and `-nV` for a short one), and the arguments
    without any of them."""
    value, rest = None, []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in names and i + 1 < len(args):
            value = args[i + 1]
            i += 2
            continue
        long_form = [n for n in names if n.startswith("--") and arg.startswith(f"{n}=")]
        short_form = [n for n in names if len(n) == 2 and arg.startswith(n) and len(arg) > 2]
        if long_form:
            value = arg.split("=", 1)[1]
        elif short_form and not arg.startswith("--"):
            value = arg[2:]
        else:
            rest.append(arg)
        i += 1
    return value, rest


def command(args: Sequence[str], reports: Path = Path("reports"), workers: int | None = None) -> list[str]:
    """The pytest command line of a suite run (to run in ROOT)."""
    args = [a for a in args if a != "--"]
    given, args = take_option(args, "--reports-dir")
    reports = Path(given) if given else reports
    count, args = take_option(args, "-n", "--numprocesses", "--shards")
    count = count or str(workers if workers is not None else ENV.workers)
    if count.isdigit() and int(count) < 1:
        raise ValueError(f"-n {count}: the suites need at least one worker")
    chosen, rest = split_selection(args)
    reports = reports.resolve()
    return [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-o", "junit_family=xunit2",
        # Node IDs relative to the checkout ("suites/test_x.py::..."), as the baselines key them.
        "--rootdir", str(ROOT), "-n", count, f"--junitxml={reports / 'junit.xml'}",
        *(chosen or [str(SUITES)]), *rest, "--reports-dir", str(reports),
    ]  # fmt: skip


def run(reports: Path, args: Sequence[str], workers: int | None = None) -> int:
    """A suite run in a child process (the gate, the matrix); its exit status. A Ctrl-C reaches the child
    too (one process group); a signal to this process alone is passed on, and the child is given time to
    stop its workers and their servers."""
    # This process's run tag: the report the child writes carries it (harness.report.gate.not_this_run).
    env = {**os.environ, "AUTHZ_RUN_TAG": ENV.run_tag}
    proc = subprocess.Popen(command(args, reports, workers), cwd=ROOT, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise


def die_with_parent() -> None:
    """SIGTERM when the parent (nox, a CI step) dies, however it dies (SIGKILL included), kept across the
    exec: the controller then stops its workers. Linux only; elsewhere a no-op."""
    with contextlib.suppress(Exception):
        import ctypes

        parent = os.getppid()
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the request was made
            os.kill(os.getpid(), signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        line = command(args)
    except ValueError as exc:
        print(f"temporal-authz: {exc}", file=sys.stderr)
        return 4
    os.chdir(ROOT)
    sys.stdout.flush()
    die_with_parent()
    os.execv(sys.executable, line)  # this process becomes pytest's controller: signals reach it directly


if __name__ == "__main__":
    raise SystemExit(main())
