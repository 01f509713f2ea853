"""Namespace administration as a script's actions (AUTHZ-WORKFLOW-005): an update or a registration with a
token of these permissions, each compared with the model by the script."""

from __future__ import annotations

from google.protobuf import duration_pb2
from temporalio.api.namespace.v1 import UpdateNamespaceInfo
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest, UpdateNamespaceRequest

from harness.cases.workers import Script


async def update(script: Script, label: str, permissions: list[str], namespace: str) -> None:
    target = script.target
    token = target.mint(permissions, sub=label)
    request = UpdateNamespaceRequest(
        namespace=namespace, update_info=UpdateNamespaceInfo(description=f"updated by {permissions}")
    )
    service = (await target.service_client()).workflow_service
    action = service.update_namespace(request, metadata=target.metadata(token), retry=False)
    await script.act(label, token, "UpdateNamespace", namespace, action)


async def register(script: Script, label: str, permissions: list[str], namespace: str) -> None:
    target = script.target
    token = target.mint(permissions, sub=label)
    request = RegisterNamespaceRequest(
        namespace=namespace, workflow_execution_retention_period=duration_pb2.Duration(seconds=86400)
    )
    service = (await target.service_client()).workflow_service
    action = service.register_namespace(request, metadata=target.metadata(token), retry=False)
    await script.act(label, token, "RegisterNamespace", namespace, action)
