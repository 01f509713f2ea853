"""Every release fixtures/releases.yaml lists as served and buildable has its API table (method list before
1.22) and, from 1.22, its HTTP routes committed: a run with an image at hand needs no Go for them.
`python -m harness.api_tables generate-all` makes what is missing; a release whose files cannot be made is
listed under its line's `no_tables` with the reason, and is left out here with that reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.api_tables import (
    has_api_metadata,
    load_table,
    missing_files,
    routes_path,
    served_releases,
    table_path,
    tables_unavailable,
)
from harness.model.http_routes import routes_of
from harness.types import ServerVersion

UNAVAILABLE = tables_unavailable()


def _case(version: ServerVersion) -> object:
    reason = UNAVAILABLE.get(version)
    marks = [pytest.mark.skip(reason=f"no tables for {version}: {reason}")] if reason else []
    return pytest.param(version, id=str(version), marks=marks)


def test_the_list_is_the_releases_file_and_covers_every_line() -> None:
    releases = served_releases()
    assert {v.line for v in releases} >= {f"1.{m}" for m in range(20, 33)}
    assert ServerVersion.parse("v1.32.2") in releases
    assert ServerVersion.parse("v1.31.5") not in releases  # unbuildable: its dependency is refused
    assert set(UNAVAILABLE) <= set(releases), "no_tables names a release the file does not list as served"


@pytest.mark.parametrize("version", [_case(v) for v in served_releases()])
def test_a_served_release_has_its_tables_committed(version: ServerVersion) -> None:
    missing = missing_files(version)
    assert not missing, (
        f"{version} lacks {', '.join(str(p) for p in missing)}: run `python -m harness.api_tables "
        f"generate-all` (Go and the module proxy), or record why under its line's no_tables"
    )
    table = load_table(str(version))  # readable, and (1.22+) listing every service a release has
    assert table.services
    assert table_path(str(version)).exists()
    if has_api_metadata(version):
        routes = routes_of(str(version))
        assert routes, f"{routes_path(str(version))} lists no route"
        assert any(method == "StartWorkflowExecution" for method, _, _ in routes)


def test_a_release_recorded_without_tables_is_read_with_its_reason(tmp_path: Path) -> None:
    releases = tmp_path / "releases.yaml"
    releases.write_text(
        "lines:\n"
        '  "1.99":\n'
        '    go: "1.26"\n'
        "    toolchain: go1.26.11\n"
        "    served: [v1.99.0, v1.99.1]\n"
        "    no_tables:\n"
        "      v1.99.1: its go.temporal.io/api version is refused by the module proxy\n"
    )
    assert tables_unavailable(releases) == {
        ServerVersion.parse("v1.99.1"): "its go.temporal.io/api version is refused by the module proxy"
    }
