"""suites/ declares cases and tests them; how a case is run lives in harness/ (issue 26, item 2).

Static, with ast (nothing is imported). A suite module may define only:
- tests (`test_*`), fixtures (`@pytest.fixture`, `@pytest_asyncio.fixture`) and pytest's own hooks;
- data builders: top-level, synchronous functions whose body is one `return` (after a docstring): a token
  recipe, the calls of a case, a finding, a parameter list. Anything with steps is a harness function;
- classes that are only data (no methods).
No function defines another (a lambda is an expression, and fine): a poll's predicate, a worker's step or
a probe's job is a script step, and script steps live in harness/.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SUITES = Path(__file__).resolve().parent.parent / "suites"
HOOKS = {"pytest_generate_tests"}
FIXTURE_DECORATORS = {"pytest.fixture", "pytest_asyncio.fixture"}

Function = ast.FunctionDef | ast.AsyncFunctionDef


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    return ast.unparse(target)


def _is_fixture(fn: Function) -> bool:
    return any(_decorator_name(d) in FIXTURE_DECORATORS for d in fn.decorator_list)


def _is_data_builder(fn: Function) -> bool:
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return isinstance(fn, ast.FunctionDef) and len(body) == 1 and isinstance(body[0], ast.Return)


def _nested_defs(node: ast.AST) -> list[Function | ast.ClassDef]:
    return [
        n
        for child in ast.iter_child_nodes(node)
        for n in ast.walk(child)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]


def offences(source: str) -> list[str]:
    """What a suite module defines beyond tests, fixtures, hooks, data builders and data classes."""
    found: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            methods = [n for n in ast.walk(node) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
            found += [f"{node.lineno}: class {node.name} has methods: a harness class" for _ in methods[:1]]
            continue
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if node.name.startswith("test_") or node.name in HOOKS or _is_fixture(node):
            kind = "test" if node.name.startswith("test_") else "fixture"
        elif _is_data_builder(node):
            kind = "data builder"
        else:
            found.append(f"{node.lineno}: {node.name}() has steps: a harness function, not a suite's")
            continue
        found += [
            f"{inner.lineno}: {inner.name} defined inside {kind} {node.name}(): a script step for harness/"
            for inner in _nested_defs(node)
        ]
    return found


SUITE_FILES = sorted(p.name for p in SUITES.glob("test_*.py"))


@pytest.mark.parametrize("name", SUITE_FILES)
def test_a_suite_defines_only_tests_fixtures_and_data(name: str) -> None:
    found = offences((SUITES / name).read_text())
    assert not found, f"suites/{name}:\n  " + "\n  ".join(found)


def test_the_rule_tells_steps_from_data() -> None:
    source = '''
import pytest

def recipe(*permissions):
    """A token recipe."""
    return lambda t: t.mint(list(permissions))

@pytest.fixture
def server():
    return 1

def test_x():
    assert recipe

def helper(x):
    y = x + 1
    return y

async def waits():
    return 1

def test_y():
    async def poll():
        return True

class Grid:
    def ask(self):
        return 1

class Row:
    name: str
'''
    assert [line.split(":")[0] for line in offences(source)] == ["15", "19", "23", "26"]
