"""API tables: metadata tables from 1.22, method lists before (what the pre-1.22 model needs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.api_tables import API_DIR, METHOD_LISTS, available_versions, load_table, table_path
from harness.api_tables.generator import GENERATOR, METHODS_GENERATOR, METHODS_METADATA, generator_for
from harness.model import apis
from harness.model.authorizer import authorize
from harness.model.claims import Claims
from harness.model.rules import rules_for
from harness.types import (
    OPERATOR_SERVICE,
    WORKFLOW_SERVICE,
    Access,
    CallTarget,
    Decision,
    Role,
    Scope,
    ServerVersion,
    full_method,
)

PRE_1_22 = sorted(p.stem for p in METHOD_LISTS.glob("v*.json"))


def test_pre_1_22_releases_have_method_lists_not_metadata_tables() -> None:
    assert {"v1.20.5", "v1.21.0", "v1.21.6"} <= set(PRE_1_22)
    assert table_path("v1.21.6") == METHOD_LISTS / "v1.21.6.json"
    assert table_path("v1.22.0") == API_DIR / "v1.22.0.json"
    assert not set(PRE_1_22) & set(available_versions())  # metadata consumers never see a method list
    assert generator_for(ServerVersion.parse("v1.21.6")) == [METHODS_GENERATOR]
    # 1.22.x: common/api metadata, but gogo protos (no descriptors for fixtures/api/gen)
    assert generator_for(ServerVersion.parse("v1.22.7")) == [METHODS_GENERATOR, METHODS_METADATA]
    assert generator_for(ServerVersion.parse("v1.23.0")) == [GENERATOR]


@pytest.mark.parametrize("version", PRE_1_22)
def test_a_method_list_says_which_methods_the_release_has(version: str) -> None:
    table = load_table(version)
    for service in (WORKFLOW_SERVICE, OPERATOR_SERVICE):
        rules = table.services[service]
        assert rules, f"{service} is empty"
        assert {(r.scope, r.access) for r in rules.values()} == {(Scope.UNKNOWN, Access.UNKNOWN)}
    assert apis.is_present(table, full_method(WORKFLOW_SERVICE, "StartWorkflowExecution"))
    assert apis.is_present(table, full_method(WORKFLOW_SERVICE, "CreateSchedule"))
    # Added in later releases: the server answers Unimplemented, so the model expects ABSENT.
    for later in ("ExecuteMultiOperation", "DescribeDeployment", "CountSchedules"):
        assert not apis.is_present(table, full_method(WORKFLOW_SERVICE, later)), later


def test_the_pre_1_22_model_decides_without_metadata() -> None:
    """The method list carries no scope or access: the pre-1.22 authorizer works from its own lists."""
    table = load_table("v1.21.6")
    reader = Claims(subject="reader", namespaces={"ns": Role.READER})
    describe = CallTarget(full_method(WORKFLOW_SERVICE, "DescribeNamespace"), "ns")
    start = CallTarget(full_method(WORKFLOW_SERVICE, "StartWorkflowExecution"), "ns")
    assert authorize(reader, describe, rules_for("v1.21.6"), table)[0] is Decision.ALLOW
    assert authorize(reader, start, rules_for("v1.21.6"), table)[0] is Decision.DENY


def test_methods_a_release_gained_show_up_between_lists() -> None:
    """Each list comes from that release's own protos: 1.21 added worker-versioning calls 1.20 lacks."""
    old, new = load_table("v1.20.5"), load_table("v1.21.6")
    added = set(new.services[WORKFLOW_SERVICE]) - set(old.services[WORKFLOW_SERVICE])
    assert "GetWorkerBuildIdCompatibility" in added


def test_every_committed_table_lists_every_service_of_its_release() -> None:
    for version in available_versions():
        load_table(version)  # raises on a table an older generator wrote (only two services)


def test_a_table_without_admin_and_nexus_is_refused_with_the_command_that_regenerates_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from harness import api_tables

    stale = {"services": {WORKFLOW_SERVICE: {}, OPERATOR_SERVICE: {}}}
    monkeypatch.setattr(api_tables, "API_DIR", tmp_path)
    (tmp_path / "v1.31.2.json").write_text(json.dumps(stale))
    with pytest.raises(api_tables.ApiTableMissing) as error:
        load_table("v1.31.2")
    assert "lacks AdminService, NexusService" in str(error.value)
    assert "python -m harness.api_tables generate v1.31.2" in str(error.value)
