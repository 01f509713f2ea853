"""A workflow's history as the harness's admin reads it: what became of a call, read from the events it
wrote (polled with a deadline: history is written after the call returns)."""

from __future__ import annotations

from collections.abc import Set

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest

from harness.server.target import Target
from harness.wait import until_async


async def events_of(
    target: Target, namespace: str, workflow_id: str, admin: dict[str, str]
) -> list[HistoryEvent]:
    client = await target.service_client()
    history = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace=namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        ),
        metadata=admin,
        retry=False,
    )
    return list(history.history.events)


async def first_event(target: Target, namespace: str, workflow_id: str, event_type: int) -> HistoryEvent:
    """The first event of `event_type` in the workflow's history, once it is there."""
    admin = target.metadata(target.admin_token())

    async def found() -> HistoryEvent | None:
        events = await events_of(target, namespace, workflow_id, admin)
        return next((e for e in events if e.event_type == event_type), None)

    return await until_async(
        found, deadline=60, interval=0.1, what=f"{EventType.Name(EventType.ValueType(event_type))} in history"
    )


async def fate(
    target: Target,
    namespace: str,
    workflow_id: str,
    took_effect: Set[int],
    refused: Set[int] = frozenset(),
    *,
    refused_already: bool = False,
    what: str = "the command's fate in history",
) -> tuple[bool, list[str]]:
    """Whether the workflow's history shows an event of `took_effect` (True) or of `refused` (False), and
    its events by name. `refused_already`: the call was refused before it could write anything, so history
    without a `took_effect` event is the answer (a completion is written before its answer is sent)."""
    admin = target.metadata(target.admin_token())

    async def settled() -> tuple[bool, list[str]] | None:
        events = await events_of(target, namespace, workflow_id, admin)
        types = {e.event_type for e in events}
        names = [EventType.Name(e.event_type) for e in events]
        if took_effect & types:
            return True, names
        if refused & types or refused_already:
            return False, names
        return None

    return await until_async(settled, deadline=60, interval=0.1, what=what)
