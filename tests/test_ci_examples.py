"""The GitHub Actions workflows in examples/ci/: they parse, and every `temporal-authz` command they call
exists, answers --help, and knows each option it is given (its own, or pytest's and the plugin's)."""

from __future__ import annotations

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
