"""SEC-P2, tenant isolation, path by path: a tenant of namespace A (rights in A only) tries to act in
namespace B; B is read before and after with an admin token, and any change is a violation, whatever the
release's own rules say (the model is never asked: a release whose rules let it through is conformant and
vulnerable at once).

Each path is the live reproduction of what a published advisory exploited (fixtures/advisories.yaml names
them): cross-namespace workflow commands, ExecuteMultiOperation's inner namespace, batch operations and the
batcher's own input, task tokens of B, calls by B's id, schedules. The attempts live in
harness.security.attempts, shared with the state machine (test_security_machine.py)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.common.v1 import WorkflowType
from temporalio.api.schedule.v1 import (
    Schedule,
    ScheduleAction,
    SchedulePatch,
    ScheduleSpec,
    ScheduleState,
    TriggerImmediatelyRequest,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflow.v1 import NewWorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    CreateScheduleRequest,
    DeleteScheduleRequest,
)

from harness.cases.evidence import Evidence
from harness.security import attempts, schedules
from harness.security.attempts import Attempted, verdict
from harness.security.scene import Scene, open_scene
from harness.server.config import ServerSettings
from harness.server.target import Target
from harness.types import Outcome

pytestmark = pytest.mark.asyncio(loop_scope="session")

XNS_ON = ServerSettings(dynamic_config={"system.enableCrossNamespaceCommands": True})


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scene(target: Target) -> Scene:
    return await open_scene(target)


@pytest.mark.parametrize("setting", ["default", "on"])
@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("signal", marks=pytest.mark.prop("SEC-P2", "xns-signal")),
        pytest.param("child", marks=pytest.mark.prop("SEC-P2", "xns-child")),
        pytest.param("cancel", marks=pytest.mark.prop("SEC-P2", "xns-cancel")),
    ],
)
async def test_workflow_commands_into_b(
    kind: str, setting: str, server_for: Any, scene: Scene, evidence: Evidence
) -> None:
    server = await server_for(XNS_ON if setting == "on" else None)
    here = scene if server is scene.server else await open_scene(server)
    victim = await here.victim()
    tenant = here.tenant()
    before = await here.read_b()
    done = await attempts.workflow_command(here, kind, victim, tenant)
    done.notes["setting"] = f"system.enableCrossNamespaceCommands {setting}"
    changed = await here.changed_in_b(before)
    verdict(
        evidence,
        here,
        f"SEC-P2/xns-{kind}",
        done,
        changed,
        tenant,
        "cross-namespace command, B read before and after",
    )


@pytest.mark.prop("SEC-P2", "task-token")
@pytest.mark.parametrize("named", ["A", "empty", "B"])
async def test_task_token_of_b(named: str, scene: Scene, evidence: Evidence) -> None:
    task_token = await attempts.task_of_b(scene)
    before = await scene.read_b()
    tenant = scene.tenant()
    done = await attempts.complete_task_of_b(scene, named, task_token, tenant)
    changed = await scene.changed_in_b(before)
    # Left started, B's task would time out minutes later, in another test's before-and-after.
    await scene.terminate(scene.b, [scene.victims[-1]])
    verdict(evidence, scene, "SEC-P2/task-token", done, changed, tenant, "completion with B's task token")


@pytest.mark.prop("SEC-P2", "multi-operation")
async def test_multi_operation_naming_b(scene: Scene, evidence: Evidence) -> None:
    tenant = scene.tenant()
    workflow_id = f"sec-multi-{uuid.uuid4().hex[:8]}"
    before = await scene.read_b([workflow_id])
    done = await attempts.multi_operation(scene, tenant, workflow_id)
    if done.answer is not None and done.answer.outcome is Outcome.ABSENT:
        pytest.skip("this release has no ExecuteMultiOperation")
    changed = await scene.changed_in_b(before, [workflow_id])
    verdict(evidence, scene, "SEC-P2/multi-operation", done, changed, tenant, "multi-operation naming B")


@pytest.mark.prop("SEC-P2", "batch")
@pytest.mark.parametrize("by", ["list", "query"])
@pytest.mark.parametrize("kind", sorted(attempts.BATCH_KINDS))
async def test_batch_operation_naming_b(kind: str, by: str, scene: Scene, evidence: Evidence) -> None:
    victim = await scene.victim()
    tenant = scene.tenant()
    before = await scene.read_b()
    done = await attempts.batch(scene, kind, by, victim, tenant)
    changed = await scene.changed_in_b(before)
    verdict(
        evidence, scene, "SEC-P2/batch", done, changed, tenant, f"batch {kind} by {by} naming B's workflow id"
    )


@pytest.mark.prop("SEC-P2", "batch-forged")
@pytest.mark.parametrize("kind", sorted(attempts.FORGED))
async def test_batcher_input_naming_b(kind: str, scene: Scene, evidence: Evidence) -> None:
    victim = await scene.victim()
    tenant = scene.tenant()
    before = await scene.read_b()
    done = await attempts.forged_batch(scene, kind, victim, tenant)
    changed = await scene.changed_in_b(before)
    if done.notes.get("batcher") == attempts.NO_BATCHER_INPUT and not changed:
        answer = done.answer.status + " " + done.answer.message[:120] if done.answer else ""
        pytest.skip(f"{attempts.NO_BATCHER_INPUT} ({answer})")
    verdict(
        evidence,
        scene,
        "SEC-P2/batch-forged",
        done,
        changed,
        tenant,
        f"forged batcher input ({kind}) naming B",
    )


@pytest.mark.prop("SEC-P2", "by-id")
@pytest.mark.parametrize("role", ["read", "write", "admin"])
async def test_calls_by_the_id_of_b(role: str, scene: Scene, evidence: Evidence) -> None:
    tenant = scene.tenant(role, sub=f"tenant-{role}")
    before = await scene.read_b()
    done = await attempts.by_id(scene, tenant)
    changed = await scene.changed_in_b(before)
    verdict(evidence, scene, "SEC-P2/by-id", done, changed, tenant, "calls by B's id")


@pytest.mark.prop("SEC-P2", "schedule")
async def test_schedule_in_a_naming_b_ids(scene: Scene, evidence: Evidence) -> None:
    """A schedule's action carries no namespace (NewWorkflowExecutionInfo has none): one created in A
    with B's workflow id acts in A. It is triggered at once; B must not change."""
    victim = await scene.victim()
    tenant = scene.tenant()
    schedule_id = f"sec-schedule-{uuid.uuid4().hex[:6]}"
    before = await scene.read_b()
    action = ScheduleAction(
        start_workflow=NewWorkflowExecutionInfo(
            workflow_id=victim,
            workflow_type=WorkflowType(name="SecScheduled"),
            task_queue=TaskQueue(name="sec-scheduled"),
        )
    )
    answer = await scene.prober.observe(
        scene.client.workflow_service.create_schedule(
            CreateScheduleRequest(
                namespace=scene.a, schedule_id=schedule_id, request_id=str(uuid.uuid4()),
                schedule=Schedule(spec=ScheduleSpec(), action=action, state=ScheduleState(paused=False)),
                initial_patch=SchedulePatch(trigger_immediately=TriggerImmediatelyRequest()),
            ),
            metadata=scene.metadata(tenant),
            retry=False,
        )
    )  # fmt: skip
    if answer.outcome is Outcome.ALLOWED and answer.status == "OK":
        await schedules.acted(scene, scene.a, schedule_id)
        await scene.client.workflow_service.delete_schedule(
            DeleteScheduleRequest(namespace=scene.a, schedule_id=schedule_id),
            metadata=scene.admin,
            retry=True,
        )
    changed = await scene.changed_in_b(before)
    done = Attempted("CreateSchedule in A with B's workflow id, triggered at once", answer)
    verdict(evidence, scene, "SEC-P2/schedule", done, changed, tenant, "schedule in A naming B's workflow id")
