"""Requests whose namespace is empty: by-ID calls and search-attribute calls without a namespace. They are
authorized against "" (the interceptor reads the request's namespace field), so a named role does not
count and an empty-namespace permission does. Nothing real is deleted: DeleteNamespace goes to a random
id, and the search-attribute requests fail validation after authorization."""

from __future__ import annotations

import uuid

import pytest
import pytest_asyncio
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    DeleteNamespaceRequest,
    RemoveSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

from harness.cases.calls import Call
from harness.cases.evidence import Evidence
from harness.cases.recipes import token
from harness.cases.runner import Case, Observed, run_case
from harness.probes.grpc import method, wf
from harness.pytest_plugin import rows
from harness.server.target import MATRIX_NAMESPACE, Target
from harness.types import OPERATOR_SERVICE, Outcome

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    # DeleteNamespace and Add/RemoveSearchAttributes are on harness/safety.py's never-list.
    pytest.mark.own_server_only(
        "sends DeleteNamespace by id and Add/RemoveSearchAttributes: never sent to a cluster the harness "
        "does not own (harness/safety.py)"
    ),
]

NAMESPACE_IDS: dict[str, str] = {}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def namespace_ids(target: Target) -> None:
    client = await target.service_client()
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=MATRIX_NAMESPACE),
        metadata=target.metadata(target.admin_token()),
        retry=False,
    )
    NAMESPACE_IDS[target.name] = described.namespace_info.id


def by_id(target: Target) -> list[Call]:
    """The case's calls (data): the namespace's id is this server's."""
    return [
        Call("exempt", wf("GetSystemInfo")),
        Call(
            "describe-by-id",
            wf("DescribeNamespace"),
            "",
            DescribeNamespaceRequest(id=NAMESPACE_IDS[target.name]),
        ),
        Call(
            "delete-by-id",
            method(OPERATOR_SERVICE, "DeleteNamespace"),
            "",
            DeleteNamespaceRequest(namespace_id=str(uuid.uuid4())),
        ),
        Call(
            "add-search-attributes",
            method(OPERATOR_SERVICE, "AddSearchAttributes"),
            "",
            AddSearchAttributesRequest(),
        ),
        Call(
            "remove-search-attributes",
            method(OPERATOR_SERVICE, "RemoveSearchAttributes"),
            "",
            RemoveSearchAttributesRequest(),
        ),
        Call("describe-by-name", wf("DescribeNamespace"), MATRIX_NAMESPACE),
    ]


def reaches_any_namespace(observed: Observed) -> bool:
    """A finding (data): an empty-namespace admin reads and deletes by any id."""
    return observed["describe-by-id"] is Outcome.ALLOWED and observed["delete-by-id"] is Outcome.ALLOWED


CASES = [
    Case("AUTHZ-BYID-001", "Anonymous", None, calls=by_id),
    Case("AUTHZ-BYID-001", "NamedNamespaceAdmin", token(f"{MATRIX_NAMESPACE}:admin"), calls=by_id),
    Case("AUTHZ-BYID-001", "EmptyNamespaceReader", token(":read"), calls=by_id),
    Case(
        "AUTHZ-BYID-001", "EmptyNamespaceAdmin", token(":admin"), calls=by_id, finding=reaches_any_namespace
    ),
    Case("AUTHZ-BYID-001", "SystemReader", token("{system}:read"), calls=by_id),
    Case("AUTHZ-BYID-001", "SystemAdmin", token("{system}:admin"), calls=by_id),
]


@pytest.mark.parametrize("case", rows(CASES))
async def test_by_id(case: Case, target: Target, evidence: Evidence, namespace_ids: None) -> None:
    await run_case(target, case, evidence)
