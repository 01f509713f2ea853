"""SEC-P2 through completion callbacks and Nexus: a tenant of A reaches B through the server's own
machinery (history delivers callbacks; internal-frontend answers everyone as system admin; Scheduler V2
completes its runs through internal callbacks). B is read before and after with an admin token.

Servers here are configured as production Nexus users run them: internal-frontend with an HTTP port (the
official image's USE_INTERNAL_FRONTEND config) and callbacks allowed to one external domain; Scheduler V2
where a case needs it. The advisories these paths reproduce: CVE-2026-87858 (a `source` header routes a
callback to internal-frontend), CVE-2026-89140 (an internal callback carrying another namespace's
scheduler token)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from google.protobuf import duration_pb2
from temporalio.api.common.v1 import WorkflowType
from temporalio.api.schedule.v1 import (
    IntervalSpec,
    Schedule,
    ScheduleAction,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflow.v1 import NewWorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    CreateScheduleRequest,
    DeleteScheduleRequest,
    DescribeScheduleRequest,
)

from harness.cases.evidence import Evidence
from harness.cases.nexus_handler import create_endpoint
from harness.model.features import Feature
from harness.probes.nexus import NexusRoute, probe_nexus
from harness.security import attempts, schedules
from harness.security.checks import REFUSED, hold
from harness.security.scene import open_scene
from harness.server.config import ServerSettings
from harness.server.target import Target
from harness.wait import DeadlineExceeded

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.needs_own_server]

_ALLOWLIST = attempts.CALLBACK_ALLOWLIST  # one domain, a fresh host per callback (the breaker is per host)
CALLBACKS = ServerSettings(
    internal_http=True,
    # As the official image's USE_INTERNAL_FRONTEND config runs: no TLS. (With internode mTLS and a
    # plaintext frontend, history sends the rerouted callback over https to internal-frontend's plain HTTP
    # port, and it fails: seen on 1.30.1.)
    internode_tls=False,
    dynamic_config={
        "component.callbacks.allowedAddresses": _ALLOWLIST,  # 1.25-1.31
        "callback.allowedAddresses": _ALLOWLIST,  # 1.32+
    },
    purpose="production Nexus config: internal-frontend HTTP port, callbacks allowed to one domain",
)
# The operator's remedy on 1.30.7+ and 1.31.3+ (the setting exists there; default true there).
CALLBACKS_SOURCE_IGNORED = ServerSettings(
    internal_http=True,
    internode_tls=False,
    dynamic_config={**CALLBACKS.dynamic_config, "callback.inspectSourceHeader": False},
    purpose=CALLBACKS.purpose + ", callback.inspectSourceHeader false",
)
SCHEDULER_V2 = ServerSettings(
    dynamic_config={
        "history.enableChasm": True,
        "history.enableCHASMSchedulerCreation": True,
        "history.chasmSchedulerCreationRolloutPercent": 100,
    },
    purpose="Scheduler V2 (CHASM) schedules",
)


@pytest.mark.prop("SEC-P2", "callback-source")
@pytest.mark.parametrize("source", ["any-value", "cluster-id", "any-value-inspection-off"])
async def test_callback_with_a_source_header(source: str, server_for: Any, evidence: Evidence) -> None:
    """A callback aimed at B's terminate route on the allowed host, carrying a `source` header: a
    release that routes it by that header sends it to internal-frontend, which terminates as admin."""
    server = await server_for(CALLBACKS_SOURCE_IGNORED if source.endswith("inspection-off") else CALLBACKS)
    scene = await open_scene(server)
    victim = await scene.victim()
    tenant = scene.tenant()
    before = await scene.read_b()
    done = await attempts.callback(
        scene, victim, tenant, source="cluster-id" if source == "cluster-id" else "x"
    )
    changed = await scene.changed_in_b(before)
    done.notes["source"] = source
    done.evidence(evidence, scene, tenant)
    if done.notes.get("callback") == attempts.NO_CALLBACKS:
        pytest.skip(attempts.NO_CALLBACKS)
    hold(
        evidence,
        "SEC-P2/callback-source",
        changed,
        1,
        "callback with a source header, B read before and after",
    )


@pytest.mark.prop("SEC-P2", "callback-url")
async def test_callback_aimed_at_internal_frontend(server_for: Any, evidence: Evidence) -> None:
    """A callback whose URL names internal-frontend's HTTP address itself (the allowlist names another
    host): the start must be refused, or the callback never reach it."""
    server = await server_for(CALLBACKS)
    assert server.running.config is not None
    port = server.running.config.ports["internal-frontend"].get("httpPort")
    if port is None or not server.rules.internal_http:
        pytest.skip("internal-frontend serves no HTTP API on this release (1.29+)")
    internal_http = f"127.0.0.1:{port}"
    scene = await open_scene(server)
    victim = await scene.victim()
    tenant = scene.tenant()
    before = await scene.read_b()
    done = await attempts.callback(scene, victim, tenant, host=internal_http)
    changed = await scene.changed_in_b(before)
    done.evidence(evidence, scene, tenant)
    if done.notes.get("callback") == attempts.NO_CALLBACKS:
        pytest.skip(attempts.NO_CALLBACKS)
    hold(
        evidence,
        "SEC-P2/callback-url",
        changed,
        1,
        "callback aimed at internal-frontend, B read before and after",
    )


@pytest.mark.prop("SEC-P2", "callback-scheduler")
async def test_internal_callback_with_the_scheduler_token_of_b(server_for: Any, evidence: Evidence) -> None:
    """B's Scheduler V2 schedule starts a run with an internal completion callback; the tenant of A starts a
    workflow carrying that callback's token and request id, and completes it: B's schedule must not hear."""
    server = await server_for(SCHEDULER_V2)
    if not (v2 := Feature.SCHEDULER_V2).available(server.version):
        pytest.skip(f"no {v2.description} before {v2.first}: no internal completion callbacks")
    scene = await open_scene(server)
    schedule_id = f"sec-v2-{uuid.uuid4().hex[:6]}"
    action = ScheduleAction(
        start_workflow=NewWorkflowExecutionInfo(
            workflow_id=f"sec-v2-run-{uuid.uuid4().hex[:6]}", workflow_type=WorkflowType(name="SecScheduled"),
            task_queue=TaskQueue(name=f"sec-v2-{uuid.uuid4().hex[:6]}"),
        )
    )  # fmt: skip
    await scene.client.workflow_service.create_schedule(
        CreateScheduleRequest(
            namespace=scene.b, schedule_id=schedule_id, request_id=str(uuid.uuid4()),
            # Every 2 s, overlaps skipped: the first run starts within seconds and keeps running (no worker).
            # (An initial trigger_immediately starts nothing on 1.30's Scheduler V2: seen on 1.30.1.)
            schedule=Schedule(
                spec=ScheduleSpec(interval=[IntervalSpec(interval=duration_pb2.Duration(seconds=2))]),
                action=action, state=ScheduleState(paused=False),
            ),
        ),
        metadata=scene.admin,
        retry=False,
    )  # fmt: skip
    try:
        try:
            run_id = await schedules.running(scene, schedule_id)
        except DeadlineExceeded as exc:
            described = await scene.client.workflow_service.describe_schedule(
                DescribeScheduleRequest(namespace=scene.b, schedule_id=schedule_id),
                metadata=scene.admin,
                retry=True,
            )
            pytest.skip(
                f"not shown: B's Scheduler V2 schedule never started its run ({exc}; {described.info})"
            )
        token, request_id = await schedules.internal_callback(scene, run_id)
        if not token:
            pytest.skip(
                "B's scheduled run carries no internal completion callback: this schedule is not Scheduler V2"
            )
        tenant = scene.tenant()
        before = await scene.read_b([run_id])
        done = await attempts.callback(
            scene, run_id, tenant, url="temporal://internal", headers={"temporal-callback-token": token},
            request_id=request_id,
        )  # fmt: skip
        changed = await scene.changed_in_b(before, [run_id])
        done.notes["schedule"] = schedule_id
        done.evidence(evidence, scene, tenant)
        if done.notes.get("callback") == attempts.NO_CALLBACKS:
            pytest.skip(attempts.NO_CALLBACKS)
        hold(evidence, "SEC-P2/callback-scheduler", changed, 1, "internal callback with B's scheduler token")
    finally:
        await scene.client.workflow_service.delete_schedule(
            DeleteScheduleRequest(namespace=scene.b, schedule_id=schedule_id),
            metadata=scene.admin,
            retry=False,
        )


# -- Nexus endpoints aimed at B --------------------------------------------------------------------------


@pytest.mark.prop("SEC-P2", "nexus-endpoint")
async def test_nexus_dispatch_into_b(target: Target, evidence: Evidence) -> None:
    """An endpoint an operator created with B as its target, and B's namespace and task queue: a tenant of
    A is refused on both Nexus routes (authorized against B)."""
    if target.running.http_address is None:
        pytest.skip("the HTTP API address of this target is not known")
    scene = await open_scene(target)
    queue = f"sec-nexus-{uuid.uuid4().hex[:6]}"
    endpoint = await create_endpoint(
        scene.client, f"sec-into-b-{uuid.uuid4().hex[:6]}", scene.b, queue, scene.admin
    )
    tenant = scene.tenant("read", "write", "admin")
    before = await scene.read_b()
    routes = [
        NexusRoute("by-endpoint", endpoint_id=endpoint),
        NexusRoute("by-namespace", namespace=scene.b, task_queue=queue),
    ]
    answers = {}
    async with target.http_client() as client:
        for route in routes:
            answers[route.name] = await probe_nexus(client, route, target.headers(tenant))
    violations = [
        f"{name}: {o.outcome.value} {o.status} {o.message[:120]!r}"
        for name, o in answers.items()
        if o.outcome not in REFUSED
    ]
    violations += await scene.changed_in_b(before)
    evidence.api, evidence.surface, evidence.namespace = "Nexus HTTP dispatch", "nexus", scene.b
    evidence.claims = tenant.evidence()
    evidence.extra["answers"] = {name: f"{o.status} {o.message}" for name, o in answers.items()}
    hold(evidence, "SEC-P2/nexus-endpoint", violations, len(routes), "Nexus dispatches into B")
