"""The layers run one way: the oracle (harness/model) and the reports never look at the server.

Static checks over the import statements, in the spirit of an import-linter contract: the graph of harness/
is built with ast from the files (nothing is imported), every `import` and `from ... import` counted, those
inside functions too (a lazy import is still a dependency). The layers are docs/harness.md's "Layers".
"""

from __future__ import annotations

import ast
import itertools
import sys
from dataclasses import dataclass
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


# -- the import graph ---------------------------------------------------------------------------------------

# docs/harness.md, "Layers": lowest first. A module is in the layer of the longest prefix that names it (a
# prefix is a module or a package); it may import its own layer and the ones below, never one above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "L0 foundation",
        (
            "harness",  # the package's __init__ (its children are placed below by their own prefixes)
            "harness.types",
            "harness.settings",
            "harness.errors",
            "harness.atomic",
            "harness.wait",
            "harness.ceiling",
            "harness.audit",
            "harness.safety",
        ),
    ),
    ("L1 model", ("harness.model",)),
    (
        "L2 data",
        (
            "harness.api_tables",
            "harness.requirements",
            "harness.server.releases",
            "harness.security.catalogue",
            "harness.security.verdicts",
        ),
    ),
    (
        "L3 instruments",
        (
            "harness.api_tables.generator",
            "harness.server.gomodule",
            "harness.server.provision",
            "harness.server.images",
            "harness.server.config",
            "harness.server.tls",
            "harness.server.ports",
            "harness.server.readiness",
            "harness.server.backend",
            "harness.server.process",
            "harness.server.container",
            "harness.server.choose",
            "harness.server.external",
            "harness.tokens",
            "harness.jwks",
            "harness.probes",
            "harness.clients",
            "harness.guard",
            "harness.oracle",
            "harness.mutants",
        ),
    ),
    (
        "L4 runs",
        (
            "harness.server",
            "harness.cases",
            "harness.scripts",
            "harness.security",
            "harness.fuzz",
            "harness.strategies",
            "harness.report",
        ),
    ),
    (
        "L5 entry points",
        (
            "harness.api_tables.__main__",
            "harness.pytest_plugin",
            "harness.cli",
            "harness.run_suites",
            "harness.xdist_plugin",
            "harness.xdist_schedule",
            "harness.gate_between",
            "harness.matrix_run",
            "harness.bench",
            "harness.conformance",
            "harness.explain",
            "harness.profiles",
            "harness.report.gate_command",
            "harness.report.matrix_command",
        ),
    ),
)

# (importer, imported): why the edge may break the rules. Every entry is a debt, named; none today.
EXCEPTIONS: dict[tuple[str, str], str] = {}

# The oracle does no I/O of its own: no processes, sockets or network clients, no server SDK.
IMPURE = (
    "asyncio",
    "grpc",
    "http",
    "httpx",
    "importlib",
    "multiprocessing",
    "requests",
    "shutil",
    "socket",
    "ssl",
    "subprocess",
    "tempfile",
    "temporalio",
    "urllib",
)
# google-re2: the regex engine permissionsRegex runs on (pure, like the stdlib's re)
PURE_LIBRARIES = ("re2",)


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str  # a harness module or package, or the top name of an outside one
    line: int
    how: str  # "" at module level, "in a function", "TYPE_CHECKING"

    def where(self) -> str:
        path = MODULES.get(self.importer, HARNESS)
        return f"{path.relative_to(HARNESS.parent)}:{self.line}: {self.importer} imports {self.imported}" + (
            f" ({self.how})" if self.how else ""
        )


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(HARNESS.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(HARNESS.rglob("*.py"))}


def _nearest_module(name: str) -> str:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _edges_of(name: str, path: Path) -> list[Edge]:
    edges: list[Edge] = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def target(module: str) -> str:
        return _nearest_module(module) if module.split(".")[0] == "harness" else module.split(".")[0]

    def visit(node: ast.AST, how: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                edges.extend(Edge(name, target(a.name), child.lineno, how) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join([*up, *([base] if base else [])])
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    edges.append(Edge(name, full if full in MODULES else target(base), child.lineno, how))
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), how or "TYPE_CHECKING")
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), how)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, how or "in a function")
            else:
                visit(child, how)

    visit(ast.parse(path.read_text()), "")
    return edges


EDGES = [edge for name, path in MODULES.items() for edge in _edges_of(name, path)]
INTERNAL = [e for e in EDGES if e.imported.startswith("harness") and e.imported != e.importer]


def layer_of(module: str) -> int:
    best, found = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), index
    assert found >= 0, f"{module} is in no layer: add it to LAYERS (and to docs/harness.md)"
    return found


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_no_import_from_a_lower_layer_to_a_higher_one() -> None:
    # Importing a submodule runs its package's __init__ first: a package that imports is a dependency too.
    parents = [
        Edge(m, m.rpartition(".")[0], 1, "its package's __init__")
        for m in MODULES
        if "." in m and any(e.importer == m.rpartition(".")[0] for e in INTERNAL)
    ]
    upward = sorted(
        {
            f"{e.where()}: {LAYERS[layer_of(e.importer)][0]} -> {LAYERS[layer_of(e.imported)][0]}"
            for e in [*INTERNAL, *parents]
            if layer_of(e.imported) > layer_of(e.importer) and (e.importer, e.imported) not in EXCEPTIONS
        }
    )
    assert not upward, f"{len(upward)} import(s) up the layers:\n" + "\n".join(upward)


def _cycles() -> list[list[Edge]]:
    """One cycle per strongly connected component of the module graph (Tarjan), as the edges that close it."""
    graph: dict[str, dict[str, Edge]] = {m: {} for m in MODULES}
    for e in INTERNAL:
        if (e.importer, e.imported) not in EXCEPTIONS:
            graph[e.importer].setdefault(e.imported, e)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for module in graph:
        if module not in index:
            connect(module)
    cycles = []
    for component in components:
        start = min(component)
        path, seen, node = [start], {start}, start
        while True:  # walk inside the component until a module repeats: that is a cycle
            node = min(w for w in graph[node] if w in component)
            if node in seen:
                path = [*path[path.index(node) :], node]
                break
            path.append(node)
            seen.add(node)
        cycles.append([graph[a][b] for a, b in itertools.pairwise(path)])
    return cycles


def test_no_import_cycle() -> None:
    cycles = _cycles()
    assert not cycles, f"{len(cycles)} import cycle(s) (imports inside functions count):\n" + "\n\n".join(
        "\n".join(e.where() for e in cycle) for cycle in cycles
    )


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer_of(m) == 1))
def test_the_model_is_pure(module: str) -> None:
    wrong = sorted(
        {
            e.where()
            for e in EDGES
            if e.importer == module
            and (
                (e.imported.startswith("harness") and layer_of(e.imported) > 1)
                or e.imported.split(".")[0] in IMPURE
                or (
                    not e.imported.startswith("harness")
                    and e.imported not in sys.stdlib_module_names
                    and e.imported not in PURE_LIBRARIES
                )
            )
        }
    )
    assert not wrong, (
        f"the oracle imports only the stdlib (no {', '.join(IMPURE)}), {', '.join(PURE_LIBRARIES)}, "
        "L0 and itself:\n" + "\n".join(wrong)
    )


@pytest.mark.parametrize("path", sorted((HARNESS / "report").glob("*.py")), ids=lambda p: p.name)
def test_reports_do_not_touch_servers_or_pytest(path: Path) -> None:
    forbidden = ("temporalio", "pytest", "harness.server", "harness.client", "harness.jwks", "harness.probes")
    for name in imports_of(path):
        assert not name.startswith(forbidden), f"harness/report/{path.name} imports {name}"


# The plugin (a package, one module per concern) and its xdist side: the only modules that import pytest.
PLUGIN = ("pytest_plugin", "xdist_plugin.py")


def test_only_the_plugin_imports_pytest() -> None:
    for path in HARNESS.rglob("*.py"):
        if path.relative_to(HARNESS).parts[0] in PLUGIN:
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
