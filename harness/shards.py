"""Run the conformance suites in shards, concurrently, and merge their reports into one.

Most of a run's time is waiting on the server (key refresh intervals, token expiry, quota refill,
server starts), not CPU: independent test files run in separate pytest processes, each with its own
servers and JWKS fixture, then conformance.json, junit.xml and report.html are merged as if one run had
made them. Files are dealt to shards longest first, by the durations of the last run (or a default).

    python -m harness.shards [--shards N] [--reports-dir DIR] [-- pytest options...]

A mutant counts as killed when any shard killed it: shards replay their own questions and the merge
takes the union, so a shard never fails the run for a mutant another shard kills.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import time
import traceback
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.atomic import write_bytes_atomic, write_text_atomic
from harness.report.grades import passed_share, shows_evidence
from harness.report.html import write_html
from harness.report.recorder import SCHEMA_VERSION, CaseRecord, Recorder
from harness.report.speed import CpuClock, merged_speed, speed_line
from harness.report.verdict_lines import two_verdicts, verdict_properties
from harness.requirements import load_catalogue
from harness.security.verdicts import security_summary
from harness.settings import ENV, child_environment
from harness.types import Verdict

ROOT = Path(__file__).resolve().parent.parent
SUITES = ROOT / "suites"
DEFAULT_SECONDS = 5.0  # a file the last run did not time
# Each file's wall time (fixtures included), measured on the pinned version with 4 shards on 2 cores
# (process backend): the first run without a previous report deals by these.
KNOWN_SECONDS = {
    "test_expiry.py": 41, "test_hostile_keys.py": 34, "test_jwks_faults.py": 30, "test_http.py": 24,
    "test_quota.py": 20, "test_matrix.py": 18, "test_rotation.py": 15, "test_config_variants.py": 12,
    "test_nexus.py": 11, "test_fuzz_config.py": 11, "test_long_poll.py": 11, "test_scenarios.py": 11,
    "test_doors.py": 9, "test_config_edges.py": 8, "test_fuzz.py": 7, "test_tokens.py": 6,
    "test_fuzz_regressions.py": 6, "test_admin.py": 5, "test_cross_namespace.py": 5, "test_streams.py": 4,
    "test_workflows.py": 4, "test_metrics.py": 3, "test_principals.py": 3, "test_fuzz_rotation.py": 3,
}  # fmt: skip


def suite_files(paths: Sequence[str] = ()) -> list[Path]:
    chosen = [Path(p) for p in paths] or sorted(SUITES.glob("test_*.py"))
    return [p if p.is_absolute() else ROOT / p for p in chosen]


def split_selection(args: Sequence[str]) -> tuple[dict[Path, list[str]], list[str]]:
    """The suite files and node IDs among pytest's arguments (`suites/test_x.py`, `...::test_y`), by file,
    and the other arguments. Only what lies in suites/ counts as a selection: an option's value (a fuzz
    case file, a reports directory) never does."""
    chosen: dict[Path, list[str]] = {}
    rest: list[str] = []
    for arg in args:
        file = Path(arg.split("::", 1)[0])
        resolved = (file if file.is_absolute() else Path.cwd() / file).resolve()
        if not arg.startswith("-") and resolved == SUITES:
            chosen.update({f: [] for f in suite_files()})
        elif not arg.startswith("-") and resolved.parent == SUITES and resolved.is_file():
            ids = chosen.setdefault(resolved, [])
            if "::" in arg:
                ids.append(f"{resolved}::{arg.split('::', 1)[1]}")
        else:
            rest.append(arg)
    return chosen, rest


def provision_first(pytest_args: Sequence[str]) -> str | None:
    """Choose the backend and have what it runs once, before any shard starts (harness.server.choose): an
    image where one will do (nothing built), else the binary, built or found, and a container's image
    around it. A release that cannot be built, or `--backend container` where no Docker engine answers,
    is one error here, not one per shard, and a cold build is not raced by every shard. Returns the error,
    or None. Nothing to do for an external cluster; for a binary given by path, only the backend's check."""
    from harness.server.choose import prepare_run
    from harness.server.provision import ProvisionError, parse_requested

    # The plugin's own options, as pytest would read them (`--x v` or `--x=v`); everything else is ignored.
    options = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for name in ("--target", "--temporal-binary", "--temporal-version", "--backend"):
        options.add_argument(name)
    given, _ = options.parse_known_args(pytest_args)
    if given.target or ENV.target:
        return None
    try:
        version = parse_requested(given.temporal_version or ENV.temporal_version)
    except ProvisionError as exc:
        return str(exc)
    backend, progress = given.backend or ENV.backend, lambda m: print(f"[authz] {m}", flush=True)
    return prepare_run(version, backend, given.temporal_binary, progress, provision=not given.temporal_binary)


def durations(report: Path) -> dict[str, float]:
    """Seconds per test file in a previous conformance.json (empty when there is none): each file's wall
    time, fixtures included (a grid file probes everything in a fixture and then compares in
    milliseconds per test); from an older report, the sum of its tests' call durations."""
    try:
        data = json.loads(report.read_text())
    except (OSError, ValueError):
        return {}
    walls = (data.get("metrics") or {}).get("file_wall_s")
    if isinstance(walls, dict) and walls:
        return {str(name): float(s) for name, s in walls.items()}
    seconds: dict[str, float] = {}
    for test in data.get("tests", []):
        name = Path(test["nodeid"].split("::")[0]).name
        seconds[name] = seconds.get(name, 0.0) + float(test.get("duration_s") or 0.0)
    return seconds


def plan(files: Sequence[Path], shards: int, seconds: Mapping[str, float]) -> list[list[Path]]:
    """Longest first, each to the least loaded shard (LPT): files never split, so module fixtures and
    servers stay in one process."""

    def weight(f: Path) -> float:
        return seconds.get(f.name, KNOWN_SECONDS.get(f.name, DEFAULT_SECONDS))

    loads = [0.0] * max(1, min(shards, len(files)))
    dealt: list[list[Path]] = [[] for _ in loads]
    for f in sorted(files, key=weight, reverse=True):
        i = loads.index(min(loads))
        dealt[i].append(f)
        loads[i] += weight(f)
    return [sorted(d) for d in dealt if d]


async def _pump(stream: asyncio.StreamReader, prefix: str) -> None:
    while line := await stream.readline():
        sys.stdout.write(f"{prefix}{line.decode(errors='replace')}")
        sys.stdout.flush()


def _die_with_parent() -> None:
    """In a child, before exec: SIGTERM when the process that started it dies, however it dies (SIGKILL
    included: nox kills the runner half a second after Ctrl-C). Linux only; elsewhere a no-op."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def die_with_parent() -> None:
    """This process: SIGTERM when its parent (nox, a CI step) dies, so its shards are stopped too."""
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


async def _run(commands: Sequence[list[str]], envs: Sequence[Mapping[str, str]]) -> list[int]:
    procs = []
    try:
        for command, env in zip(commands, envs, strict=True):
            procs.append(
                await asyncio.create_subprocess_exec(
                    *command,
                    cwd=ROOT,
                    env=dict(env),
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                    # Own sessions: a terminal's Ctrl-C reaches the runner, which stops the shards in order.
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
            )
        pumps = [_pump(p.stdout, f"[shard {i + 1}] ") for i, p in enumerate(procs) if p.stdout is not None]
        await asyncio.gather(*pumps)
        return [await p.wait() for p in procs]
    finally:
        # Ctrl-C, SIGTERM or an error here: each shard's own handlers stop its servers and containers.
        await stop_all(procs)


async def stop_all(procs: Sequence[asyncio.subprocess.Process], grace: float = 120.0) -> None:
    """SIGTERM every shard still running (its whole process group), wait for them to tear down, then
    SIGKILL what is left."""
    running = [p for p in procs if p.returncode is None]
    for p in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    if running:
        print(f"[authz] stopping {len(running)} shard(s) and their servers", flush=True)
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in running)), timeout=grace)
    for p in running:
        if p.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)


def reports_dir_in(pytest_args: Sequence[str], default: Path) -> tuple[Path, list[str]]:
    """`--reports-dir DIR` means the merged run's reports wherever it is given (before or after `--`):
    taken out of the shards' arguments (each shard writes its own under DIR/shards/N). The last wins."""
    reports, rest = default, []
    args = list(pytest_args)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--reports-dir" and i + 1 < len(args):
            reports = Path(args[i + 1])
            i += 2
            continue
        if arg.startswith("--reports-dir="):
            reports = Path(arg.split("=", 1)[1])
        else:
            rest.append(arg)
        i += 1
    return reports, rest


# Files of a run in its reports directory: removed before a run starts, so what is there after it is
# this run's or nothing (a killed run leaves no stale report to be read as its own).
RUN_OUTPUTS = ("conformance.json", "junit.xml", "report.html", "gate.html")


def clear_previous(reports: Path) -> None:
    for name in RUN_OUTPUTS:
        with contextlib.suppress(FileNotFoundError):
            (reports / name).unlink()
    for directory in (reports / "shards", reports / "logs"):
        shutil.rmtree(directory, ignore_errors=True)


def run(shards: int, reports: Path, pytest_args: Sequence[str]) -> int:
    reports, pytest_args = reports_dir_in(pytest_args, reports)
    chosen, pytest_args = split_selection(pytest_args)
    refused = provision_first(pytest_args)
    if refused is not None:
        print(f"temporal-authz: {refused}", file=sys.stderr, flush=True)
        return 4  # as pytest exits on a version it cannot provision
    files = sorted(chosen) or suite_files()
    dealt = plan(files, shards, durations(reports / "conformance.json"))
    clear_previous(reports)
    dirs = [reports / "shards" / str(i + 1) for i in range(len(dealt))]
    base = [sys.executable, "-m", "pytest", "-o", "junit_family=xunit2", "-p", "no:cacheprovider", "-q"]
    # Node IDs relative to the checkout ("suites/test_x.py::..."), as one serial run and the baselines key them.
    base += ["--rootdir", str(ROOT)]

    def selection(group: list[Path]) -> list[str]:
        return [arg for f in group for arg in (chosen.get(f) or [str(f)])]

    commands = [
        [*base, *selection(group), f"--junitxml={d / 'junit.xml'}", *pytest_args, "--reports-dir", str(d)]
        for group, d in zip(dealt, dirs, strict=True)
    ]
    for i, group in enumerate(dealt):
        print(f"[authz] shard {i + 1}: {', '.join(f.name for f in group)}", flush=True)
    started, cpu = time.monotonic(), CpuClock.now()
    # Each shard its own run tag: a shard that ends removes only its own containers; the merge takes only
    # reports stamped with this run's tags.
    tags = [f"{ENV.run_tag}s{i + 1}" for i in range(len(dealt))]
    envs = [child_environment(AUTHZ_SHARD="1", AUTHZ_RUN_TAG=tag) for tag in tags]
    codes = _run_until_done(commands, envs)
    # Every shard has been waited for: its CPU, and that of the servers it started and reaped, is in
    # RUSAGE_CHILDREN now (harness.report.speed).
    wall, cpu_s = time.monotonic() - started, CpuClock.now().since(cpu)
    missing = [i + 1 for i, d in enumerate(dirs) if not (d / "conformance.json").exists()]
    try:
        merged = merge(dirs, reports, wall_s=wall, tags=tags, run_tag=ENV.run_tag, cpu_s=cpu_s)
    except (StaleShardReport, NoShardReport) as exc:
        print(f"temporal-authz: {exc}", file=sys.stderr, flush=True)
        return _exit_status(codes, {}, missing=missing or [0])
    counts = ", ".join(f"{k}={v}" for k, v in merged["summary"].items() if isinstance(v, int))
    print(f"[authz] {len(dealt)} shards in {wall:.1f}s: {counts}", flush=True)
    version = str((merged.get("server") or {}).get("version"))
    for line in two_verdicts(merged["summary"], merged["security"], version):
        print(f"[authz] {line}", flush=True)
    if not shows_evidence(merged["summary"]):
        print(
            f"[authz] NOTHING SHOWN: {passed_share(merged['summary']):.0%} of the tests passed (exit status 5)"
        )
    for i in missing:
        print(f"[authz] shard {i} wrote no report (exit status {codes[i - 1]}): this run is incomplete")
    if speed := merged["metrics"].get("speed"):
        print(f"[authz] {speed_line(speed)}", flush=True)
    if merged.get("mutants"):
        # A shard's own line lists mutants only other shards' questions kill; this is the verdict.
        print(f"[authz] {mutant_line(merged['mutants'])}", flush=True)
    return _exit_status(codes, merged, missing=missing)


def _run_until_done(commands: Sequence[list[str]], envs: Sequence[Mapping[str, str]]) -> list[int]:
    """Run the shards; the first Ctrl-C or SIGTERM stops them all before this returns or raises (where the
    loop cannot handle signals, asyncio.Runner cancels the main task on SIGINT: _wait)."""
    with asyncio.Runner() as runner:
        loop = runner.get_loop()
        task = loop.create_task(_run(commands, envs))
        stopping = False

        def stop() -> None:
            # Once: a terminal's Ctrl-C reaches the runner and nox, which passes it on; a second signal
            # must not cut the shards' teardown short (stop_all bounds it: SIGKILL after its grace).
            nonlocal stopping
            if not stopping:
                stopping = True
                task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop)
        try:
            return runner.run(_wait(task))
        except asyncio.CancelledError:
            raise KeyboardInterrupt("stopped by a signal: every shard was stopped") from None


async def _wait(task: asyncio.Task[list[int]]) -> list[int]:
    try:
        return await task
    except asyncio.CancelledError:
        # asyncio.Runner cancels this coroutine on Ctrl-C: take the shards down with it.
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise


def _exit_status(codes: Sequence[int], merged: Mapping[str, Any], missing: Sequence[int] = ()) -> int:
    """pytest's own meaning: 0 all passed, 1 some failed (or a mutant survived everywhere), others as
    the worst shard said (2 interrupted, 3 the FATAL guard, 4 usage, 5 no tests or nothing shown). A
    shard killed by a signal is 128+N, as a shell reports it; a shard that wrote no report makes the run
    interrupted (2) at best: its tests did not run, so they cannot pass."""
    codes = [128 - c if c < 0 else c for c in codes]
    serious = [c for c in codes if c not in (0, 1, 5)]
    if serious:
        return max(serious)
    if missing:
        return 2
    failed = any(c == 1 for c in codes) or bool((merged.get("mutants") or {}).get("survived"))
    if failed:
        return 1
    if all(c == 5 for c in codes) or (merged and not shows_evidence(merged.get("summary") or {})):
        return 5  # nothing collected, or a run that showed too little to call conformant
    return 0


class StaleShardReport(RuntimeError):
    """A shard directory holds a report another run wrote."""


class NoShardReport(RuntimeError):
    """No shard wrote a report at all."""


def merge(
    dirs: Sequence[Path],
    reports: Path,
    wall_s: float | None = None,
    tags: Sequence[str] | None = None,
    run_tag: str = "",
    cpu_s: float | None = None,
) -> dict[str, Any]:
    """The shards' reports as one run's. With `tags` (one per shard, in order), a report stamped with
    another tag is refused: it is another run's, left in that directory. `wall_s` and `cpu_s`: what the
    runner measured of the whole run (metrics.speed)."""
    parts = []
    for i, d in enumerate(dirs):
        path = d / "conformance.json"
        if not path.exists():
            continue
        part = json.loads(path.read_text())
        found = (part.get("run") or {}).get("tag")
        if tags is not None and found != tags[i]:
            raise StaleShardReport(
                f"{path} was written by run {found!r}, not by this run's shard {tags[i]!r}: refused"
            )
        parts.append(part)
    if not parts:
        raise NoShardReport("no shard wrote a report: see the shard output above")
    data = merge_reports(parts, wall_s, cpu_s=cpu_s)
    data["run"]["tag"] = run_tag
    data["run"]["complete"] = len(parts) == len(dirs)
    reports.mkdir(parents=True, exist_ok=True)
    write_text_atomic(reports / "conformance.json", json.dumps(data, indent=1, default=str) + "\n")
    merge_junit(
        [d / "junit.xml" for d in dirs],
        reports / "junit.xml",
        verdict_properties(data["summary"], data["security"]),
    )
    write_html(data, reports / "report.html")
    logs = [p for d in dirs for p in sorted((d / "logs").glob("*"))]
    for log in logs:
        target = reports / "logs" / f"{log.parent.parent.name}-{log.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(log.read_bytes())
    return data


def merge_reports(
    parts: Sequence[dict[str, Any]], wall_s: float | None = None, cpu_s: float | None = None
) -> dict[str, Any]:
    """One conformance.json from the shards' (all of one server version). metrics.speed is the whole
    run's (harness.report.speed), never one shard's: from `wall_s` and `cpu_s` where the runner measured
    them, else the longest shard's wall time and the sum of the shards' CPU."""
    versions = {json.dumps(v) for p in parts if (v := (p.get("server") or {}).get("version"))}
    if len(versions) > 1:
        raise ValueError(f"shards ran different server versions: {sorted(versions)}")
    tests = [t for p in parts for t in p.get("tests", [])]
    grid = [c for p in parts for c in p.get("grid", [])]
    # The recorder's own rules for the summary and the findings, over every shard's records.
    recorder = Recorder(catalogue=load_catalogue())
    recorder.records = [
        CaseRecord(t["nodeid"], t["requirement"], Verdict(t["verdict"]), float(t.get("duration_s") or 0.0),
                   t.get("evidence") or {}, t.get("message") or "", prop=t.get("property") or "",
                   path=t.get("path") or "")
        for t in tests
    ]  # fmt: skip
    metrics: dict[str, Any] = {}
    for p in parts:
        for key, value in (p.get("metrics") or {}).items():
            if isinstance(value, list) and isinstance(metrics.get(key), list):
                metrics[key] = metrics[key] + value
            elif isinstance(value, dict) and isinstance(metrics.get(key), dict):
                metrics[key] = {**value, **metrics[key]}  # per-class figures from each shard
            else:
                metrics.setdefault(key, value)
    # What one shard wrote and others did not (the grid's token shapes, a server fact one suite asked
    # for) is kept whichever shard wrote it.
    server: dict[str, Any] = {}
    coverage: dict[str, Any] = {}
    for p in parts:
        server.update({k: v for k, v in (p.get("server") or {}).items() if k not in server})
        coverage.update({k: v for k, v in (p.get("coverage") or {}).items() if k not in coverage})
    starts = sorted(p["run"]["started_at"] for p in parts)
    ends = sorted(p["run"]["finished_at"] for p in parts)
    duration = round(wall_s, 3) if wall_s is not None else max(p["run"]["duration_s"] for p in parts)
    if any("speed" in (p.get("metrics") or {}) for p in parts):
        metrics["speed"] = merged_speed(
            parts, wall_s=duration, file_wall_s=metrics.get("file_wall_s"), cpu_s=cpu_s
        )
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": parts[0].get("tool", {}),
        "run": {
            "started_at": starts[0],
            "finished_at": ends[-1],
            "duration_s": duration,
            "exit_status": max((p["run"].get("exit_status") or 0) for p in parts),
            "shards": [
                {"duration_s": p["run"]["duration_s"], "tests": len(p.get("tests", []))} for p in parts
            ],
        },
        "server": server,
        "metrics": metrics,
        "summary": recorder.summary(),
        "security": security_summary(
            [t for t in tests if t.get("property")],
            server.get("version"),
            cluster=server.get("backend") == "external",
        ),
        "findings": recorder.findings(),
        "coverage": coverage,
        "grid": grid,
        "tests": tests,
    }
    mutants = [p["mutants"] for p in parts if p.get("mutants")]
    if mutants:
        data["mutants"] = merge_mutants(mutants)
    return data


def mutant_line(mutants: Mapping[str, Any]) -> str:
    line = f"model mutants, all shards: {mutants['killed']}/{mutants['total']} killed"
    survived = mutants.get("survived") or []
    return f"{line}; SURVIVED (a hole in the suite): {', '.join(survived)}" if survived else line


def merge_mutants(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Killed in any shard is killed."""
    by_name: dict[str, dict[str, Any]] = {}
    for part in parts:
        for m in part["mutants"]:
            kept = by_name.setdefault(m["name"], {**m, "killed_by": []})
            kept["killed"] = kept["killed"] or m["killed"]
            kept["killed_by"] = (kept["killed_by"] + m["killed_by"])[:5]
    results = list(by_name.values())
    return {
        "total": len(results),
        "killed": sum(1 for m in results if m["killed"]),
        "survived": [m["name"] for m in results if not m["killed"]],
        "questions_replayed": sum(p.get("questions_replayed", 0) for p in parts),
        "replay_s": round(sum(p.get("replay_s", 0.0) for p in parts), 2),
        "mutants": results,
    }


def merge_junit(paths: Iterable[Path], out: Path, verdicts: Mapping[str, str] | None = None) -> None:
    """The shards' <testsuite>s under one <testsuites> (what CI tools read); each suite's verdict
    properties become the whole run's."""
    root = ET.Element("testsuites")
    for path in paths:
        if not path.exists():
            continue
        tree = ET.parse(path)
        element = tree.getroot()
        for suite in element.iter("testsuite") if element.tag == "testsuites" else [element]:
            if verdicts:
                _set_properties(suite, verdicts)
            root.append(suite)
    write_bytes_atomic(out, ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _set_properties(suite: ET.Element, values: Mapping[str, str]) -> None:
    properties = suite.find("properties")
    if properties is None:
        properties = ET.Element("properties")
        suite.insert(0, properties)
    for prop in list(properties):
        if prop.get("name") in values:
            properties.remove(prop)
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.shards", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--shards", type=int, default=ENV.shards, help="concurrent pytest processes (default 4, AUTHZ_SHARDS)"
    )
    parser.add_argument("--reports-dir", default="reports")
    args, rest = parser.parse_known_args(argv)
    if args.shards < 1:
        parser.error("--shards must be 1 or more")
    pytest_args = [a for a in rest if a != "--"]
    die_with_parent()
    try:
        return run(args.shards, Path(args.reports_dir), pytest_args)
    except KeyboardInterrupt as exc:
        print(f"[authz] interrupted: {exc or 'Ctrl-C'}", file=sys.stderr, flush=True)
        return 2
    except Exception:
        # Never 1 (which means "tests failed", and a gate would read the report): the runner itself broke.
        traceback.print_exc()
        print("[authz] the shard runner broke (exit status 3): no report of this run", file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
