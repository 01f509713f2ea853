"""The catalogue at collection and setup: every test names one known requirement (or one security property
and path), its markers skip it where it cannot run, and rows() parametrizes a suite over Case rows."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from harness.ceiling import CEILING_S, bounded
from harness.model.features import Feature
from harness.pytest_plugin.keys import POOL, RECORDER
from harness.requirements import CatalogueError
from harness.security.catalogue import path_of
from harness.server.provision import ProvisionError, parse_requested

NEEDS_OWN_SERVER = (
    "needs servers of the harness's own (a config of their own, or a JWKS the harness controls): an "
    "external cluster cannot be reconfigured, and its key source is not ours to rotate, retire or break"
)


def add_markers(config: pytest.Config) -> None:
    """The marker the plugin itself defines (req, prop, needs_own_server and since are in pyproject.toml and
    suites/conformance.ini)."""
    config.addinivalue_line(
        "markers",
        "own_server_only(reason): run only on servers the harness started (skipped on --target, saying why)",
    )


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Every conformance test names one known requirement: an unknown or missing ID is a collection error."""
    catalogue = config.stash[RECORDER].catalogue
    problems = []
    for item in items:
        marks = list(item.iter_markers("req"))
        in_suites = "suites" in Path(str(item.path)).parts
        prop = item.get_closest_marker("prop")
        if prop is not None:
            problems.extend(_property_problems(item.nodeid, prop.args, bool(marks)))
            continue
        if not marks:
            if in_suites:
                problems.append(f"{item.nodeid}: no @pytest.mark.req(ID) or @pytest.mark.prop(ID, path)")
            continue
        rid = marks[0].args[0] if marks[0].args else ""
        if rid not in catalogue:
            problems.append(
                f"{item.nodeid}: unknown requirement {rid!r} (add it to fixtures/requirements.yaml)"
            )
        elif catalogue[rid].status != "active":
            problems.append(f"{item.nodeid}: requirement {rid} is retired")
    if problems:
        raise pytest.UsageError("requirement IDs:\n  " + "\n  ".join(problems))
    # A fuzz run's budget is its own: the ceiling comes on top of it.
    ceiling = CEILING_S + 60 * float(config.getoption("--fuzz-minutes") or 0)
    for item in items:
        function = getattr(item, "obj", None)
        if "suites" in Path(str(item.path)).parts and inspect.iscoroutinefunction(function):
            item.obj = bounded(function, ceiling)  # type: ignore[attr-defined]


def _property_problems(nodeid: str, args: tuple[Any, ...], has_req: bool) -> list[str]:
    """A security test names one property and one of its paths, and no requirement: its verdict is the
    property's, never conformance's."""
    if has_req:
        return [f"{nodeid}: a security test (prop) carries no requirement (req): two verdicts, never mixed"]
    if len(args) != 2:
        return [f"{nodeid}: use @pytest.mark.prop(PROPERTY_ID, PATH)"]
    try:
        path_of(f"{args[0]}/{args[1]}")
    except CatalogueError as exc:
        return [f"{nodeid}: {exc}"]
    return []


def pytest_runtest_setup(item: pytest.Item) -> None:
    """`needs_own_server`: skipped, with one reason, where servers of the harness's own cannot be had.
    `since(feature)`: skipped on a server without that Feature (harness.model.features)."""
    pool = item.config.stash.get(POOL, None)
    if pool is not None and pool.engine_gone:
        # The Docker engine stopped answering: every later server start would fail the same way.
        pytest.exit(f"temporal-authz: {pool.engine_gone}", returncode=4)
    if item.get_closest_marker("needs_own_server") and item.config.getoption("--target"):
        pytest.skip(NEEDS_OWN_SERVER)
    own_only = item.get_closest_marker("own_server_only")
    if own_only is not None and item.config.getoption("--target"):
        pytest.skip(str(own_only.args[0]))
    since = item.get_closest_marker("since")
    if since is not None:
        feature = since.args[0] if len(since.args) == 1 else since.args
        if not isinstance(feature, Feature):
            raise TypeError(
                f"{item.nodeid}: since() takes a Feature (harness.model.features), not {feature!r}"
            )
        version = _session_version(item.config)
        if version is not None and not feature.available(version):
            pytest.skip(f"not applicable: {feature.missing_on(version)}")


def _session_version(config: pytest.Config) -> Any:
    pool = config.stash.get(POOL, None)
    if pool is not None and pool.binary is not None:
        return pool.binary.version
    try:
        return parse_requested(config.getoption("--temporal-version"))
    except ProvisionError:
        return None


def rows(cases: Any) -> list[Any]:
    """Parametrize a suite over Case rows: each row carries its requirement ID, and rows that need a
    server of their own config are marked so (skipped with one reason on an external target)."""
    params = []
    for case in cases:
        marks = [pytest.mark.req(case.req)]
        if getattr(case, "settings", None) is not None:
            marks.append(pytest.mark.needs_own_server)
        if getattr(case, "since", None) is not None:
            marks.append(pytest.mark.since(case.since))
        params.append(pytest.param(case, marks=marks, id=case.id))
    return params
