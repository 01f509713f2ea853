"""Every branch of the server's rules on the pinned version has a live case (fixtures/branches.yaml)."""

from __future__ import annotations

import re
from pathlib import Path

from harness.mutants import MUTANTS
from harness.report.branches import load, render
from harness.requirements import load_catalogue
from harness.settings import DEFAULT_VERSION

ROOT = Path(__file__).resolve().parent.parent


def requirements_with_tests() -> set[str]:
    used: set[str] = set()
    for path in (ROOT / "suites").glob("test_*.py"):
        used |= set(re.findall(r'"(AUTHZ-[A-Z]+-\d{3})"', path.read_text()))
    return used


def test_every_branch_has_a_live_case() -> None:
    data, branches = load()
    assert data["version"] == DEFAULT_VERSION
    catalogue, tested = load_catalogue(), requirements_with_tests()
    problems = []
    for branch in branches:
        if not branch.requirements:
            problems.append(f"{branch.id}: no requirement")
        for rid in branch.requirements:
            if rid not in catalogue or catalogue[rid].status != "active":
                problems.append(f"{branch.id}: {rid} is not an active requirement")
            elif rid not in tested:
                problems.append(f"{branch.id}: {rid} has no test in suites/")
        if branch.mutant and branch.mutant not in MUTANTS:
            problems.append(f"{branch.id}: no mutant named {branch.mutant}")
        if branch.file not in data["files"]:
            problems.append(f"{branch.id}: unknown file key {branch.file}")
    assert problems == []
    assert len({b.id for b in branches}) == len(branches)


def test_the_document_is_rendered_from_the_table() -> None:
    assert (ROOT / "docs" / "branches.md").read_text() == render(), (
        "docs/branches.md is stale: python -m harness.report.branches > docs/branches.md"
    )
