"""B's Scheduler V2 runs as an attacker who learned their internals would use them: the run a schedule
started, and the internal completion callback (token and request id) it carries. Read with the harness's
admin token: the tests stand in for a tenant of A who got hold of them."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeScheduleRequest, DescribeWorkflowExecutionRequest

from harness.security.scene import Scene
from harness.wait import until_async

INTERNAL_CALLBACK_URL = "temporal://internal"


async def running(scene: Scene, schedule_id: str) -> str:
    """The workflow id of B's schedule's running run, once it runs."""

    async def found() -> str | None:
        described = await scene.client.workflow_service.describe_schedule(
            DescribeScheduleRequest(namespace=scene.b, schedule_id=schedule_id),
            metadata=scene.admin,
            retry=False,
        )
        runs = list(described.info.running_workflows)
        return runs[0].workflow_id if runs else None

    workflow_id: str = await until_async(found, deadline=60, interval=0.2, what="the schedule's run in B")
    return workflow_id


async def internal_callback(scene: Scene, workflow_id: str) -> tuple[str, str]:
    """The run's internal callback token ("" when it has none) and the request id it was started with."""
    described = await scene.client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=scene.b, execution=WorkflowExecution(workflow_id=workflow_id)
        ),
        metadata=scene.admin,
        retry=False,
    )
    token = ""
    for info in described.callbacks:
        if info.callback.nexus.url == INTERNAL_CALLBACK_URL:
            token = info.callback.nexus.header.get("temporal-callback-token", "")
    request_ids = list(described.workflow_extended_info.request_id_infos)
    return token, request_ids[0] if request_ids else ""


async def acted(scene: Scene, namespace: str, schedule_id: str) -> None:
    """Wait until the schedule has taken an action (its run's id is the action's id plus a time)."""

    async def ran() -> bool:
        described = await scene.client.workflow_service.describe_schedule(
            DescribeScheduleRequest(namespace=namespace, schedule_id=schedule_id),
            metadata=scene.admin,
            retry=True,
        )
        return len(described.info.recent_actions) > 0

    await until_async(ran, deadline=60, interval=0.2, what=f"the schedule's run in {namespace}")
