"""The layers run one way: the oracle (harness/model) and the reports never look at the server.

A static check over the import statements, in the spirit of an import-linter contract.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parent.parent / "harness"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def top(name: str) -> str:
    return name.split(".")[0]


# google-re2: the regex engine permissionsRegex runs on (pure, like the stdlib's re)
PURE_LIBRARIES = ("re2",)


@pytest.mark.parametrize("path", sorted((HARNESS / "model").glob("*.py")), ids=lambda p: p.name)
def test_the_model_is_pure(path: Path) -> None:
    for name in imports_of(path):
        allowed = (
            name.startswith(("harness.model", "harness.types"))
            or top(name) in sys.stdlib_module_names
            or name in PURE_LIBRARIES
        )
        assert allowed, (
            f"harness/model/{path.name} imports {name}: the oracle imports only the stdlib, harness.types "
            f"and {', '.join(PURE_LIBRARIES)}"
        )


@pytest.mark.parametrize("path", sorted((HARNESS / "report").glob("*.py")), ids=lambda p: p.name)
def test_reports_do_not_touch_servers_or_pytest(path: Path) -> None:
    forbidden = ("temporalio", "pytest", "harness.server", "harness.client", "harness.jwks", "harness.probes")
    for name in imports_of(path):
        assert not name.startswith(forbidden), f"harness/report/{path.name} imports {name}"


def test_only_the_plugin_imports_pytest() -> None:
    for path in HARNESS.rglob("*.py"):
        if path.name == "pytest_plugin.py":
            continue
        assert not any(top(n) in ("pytest", "pytest_asyncio") for n in imports_of(path)), path


ROOT = HARNESS.parent
TIMING = (
    "monotonic(",
    "perf_counter(",
    "time.time(",
    "latency",
    "_per_s",
    "wall_s",
    "duration",
    "elapsed",
    "pickup",
)


@pytest.mark.parametrize(
    "path", sorted([*(ROOT / "suites").glob("*.py"), *(ROOT / "tests").glob("*.py")]), ids=lambda p: p.name
)
def test_no_timed_assertions(path: Path) -> None:
    """A verdict never depends on the machine's load: no assertion compares a duration or a rate."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            text = ast.unparse(node.test)
            timed = [t for t in TIMING if t in text]
            assert not timed, f"{path.name}:{node.lineno}: assertion on timing ({timed}): {text}"
