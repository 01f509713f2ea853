"""At the end of a run on a cluster the harness does not own: remove what it created there where the
server allows it, and say what it created, what it removed and what it left (conformance.json
`server.created_on_target`).

Only what this process saw itself create is touched (the gate keeps it: harness.safety.Ownership): other
xdist workers of the same run share the namespaces and may still be running. Removed: the Nexus endpoints (by id,
at their current version), the schedules, and the runs it started that are still open (terminated; a run
that closed meanwhile is left as it is). Left: the namespaces themselves (LEFT_NAMESPACES says why)."""

from __future__ import annotations

from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.operatorservice.v1 import DeleteNexusEndpointRequest, GetNexusEndpointRequest
from temporalio.api.workflowservice.v1 import DeleteScheduleRequest, TerminateWorkflowExecutionRequest
from temporalio.service import RPCError, RPCStatusCode

from harness.errors import HarnessError
from harness.server.target import Target

LEFT_NAMESPACES = (
    "namespaces are left: deleting one (OperatorService.DeleteNamespace, never sent to a cluster the harness "
    "does not own) runs the server's delete-namespace workflow (the worker service must run; before 1.23 the "
    "call deletes at once and waits) and keeps a renamed `<name>-deleted-<suffix>` record until retention; "
    "the next run reuses the same names, and they hold only the harness's own runs, kept one day after they "
    "close (retention 86400 s)"
)
END_OF_RUN = "temporal-authz-conformance: end of run"
GONE = (RPCStatusCode.NOT_FOUND,)  # closed or deleted meanwhile: nothing to remove


async def _remove(target: Target, admin: dict[str, str], errors: dict[str, str]) -> dict[str, int]:
    ownership = target.ownership
    client = await target.service_client()
    removed = {"nexus_endpoints": 0, "schedules": 0, "open_runs_terminated": 0}
    for ident in list(ownership.endpoints):
        try:
            found = await client.operator_service.get_nexus_endpoint(
                GetNexusEndpointRequest(id=ident), metadata=admin, retry=False
            )
            await client.operator_service.delete_nexus_endpoint(
                DeleteNexusEndpointRequest(id=ident, version=found.endpoint.version),
                metadata=admin,
                retry=False,
            )
            removed["nexus_endpoints"] += 1
        except (RPCError, HarnessError) as exc:
            if not (isinstance(exc, RPCError) and exc.status in GONE):
                errors[f"nexus endpoint {ident}"] = str(exc)[:300]
    for namespace, schedule_id in sorted(ownership.schedules):
        try:
            await client.workflow_service.delete_schedule(
                DeleteScheduleRequest(namespace=namespace, schedule_id=schedule_id, identity=END_OF_RUN),
                metadata=admin,
                retry=False,
            )
            removed["schedules"] += 1
        except (RPCError, HarnessError) as exc:
            if not (isinstance(exc, RPCError) and exc.status in GONE):
                errors[f"schedule {namespace}/{schedule_id}"] = str(exc)[:300]
    for (namespace, workflow_id), run_id in sorted(ownership.runs.items()):
        try:
            await client.workflow_service.terminate_workflow_execution(
                TerminateWorkflowExecutionRequest(
                    namespace=namespace,
                    workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                    reason=END_OF_RUN,
                    identity=END_OF_RUN,
                ),
                metadata=admin,
                retry=False,
            )
            removed["open_runs_terminated"] += 1
        except (RPCError, HarnessError) as exc:
            if not (isinstance(exc, RPCError) and exc.status in GONE):
                errors[f"run {namespace}/{workflow_id}"] = str(exc)[:300]
    return removed


async def remove_created(target: Target) -> dict[str, Any]:
    """Remove what the harness created on `target` (a cluster it does not own), and report it all."""
    errors: dict[str, str] = {}
    removed: dict[str, int] = {}
    ownership = target.ownership
    if ownership.endpoints or ownership.schedules or ownership.runs:
        removed = await _remove(target, target.metadata(target.admin_token()), errors)
    return created_report(target, removed, errors)


def created_report(target: Target, removed: dict[str, int], errors: dict[str, str]) -> dict[str, Any]:
    ownership = target.ownership
    return {
        "target": target.address,
        "namespaces": [
            {"name": name, "state": state, "removed": False}  # state: "registered" now, or "already there"
            for name, state in sorted(ownership.registered.items())
        ],
        "nexus_endpoints": [
            {"id": ident, "name": name, "removed": ident in ownership.removed}
            for ident, name in sorted(ownership.endpoints.items())
        ],
        "schedules": len(ownership.schedules),
        "runs_started": len(ownership.runs),
        "removed": removed,
        "left": [{"what": sorted(ownership.registered), "why": LEFT_NAMESPACES}]
        if ownership.registered
        else [],
        "errors": errors,
    }
