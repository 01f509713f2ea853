"""The table of the server's authorization branches (fixtures/branches.yaml) and their live cases.

python -m harness.report.branches > docs/branches.md
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

BRANCHES = Path(__file__).resolve().parent.parent.parent / "fixtures" / "branches.yaml"


@dataclass(frozen=True)
class Branch:
    id: str
    file: str
    function: str
    condition: str
    requirements: tuple[str, ...]
    mutant: str = ""


def load(path: Path = BRANCHES) -> tuple[dict[str, Any], list[Branch]]:
    data = yaml.safe_load(path.read_text())
    branches = [
        Branch(
            id=str(b["id"]),
            file=str(b["file"]),
            function=str(b["function"]),
            condition=str(b["condition"]),
            requirements=tuple(b.get("requirements") or ()),
            mutant=str(b.get("mutant") or ""),
        )
        for b in data["branches"]
    ]
    return data, branches


def render(path: Path = BRANCHES) -> str:
    data, branches = load(path)
    files = data["files"]
    lines = [
        f"# Branches of the server's authorization rules ({data['version']}) and their live cases",
        "",
        "Generated from `fixtures/branches.yaml` by `python -m harness.report.branches > docs/branches.md`.",
        "Each branch names the requirements whose live cases exercise it and, where there is one, the model",
        "mutant that flips it: the suite must kill that mutant (`--mutants`). `nox -s tests` fails when a",
        "branch has no requirement with a test.",
        "",
        "| id | file | function | condition | requirements | mutant |",
        "|---|---|---|---|---|---|",
    ]
    for b in branches:
        condition = b.condition.replace("|", "\\|")
        lines.append(
            f"| {b.id} | `{files[b.file]}` | {b.function} | {condition} | {', '.join(b.requirements)} | "
            f"{b.mutant or '-'} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
