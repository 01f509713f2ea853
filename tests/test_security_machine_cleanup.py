"""The tenancy machine's task-token step leaves nothing in B that changes later on the server's own clock
(no server needed): the workflow whose task the admin polled is ended by the admin, and the baseline read
after that, so its task timing out minutes later cannot be read as a tenant's change to B."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from harness.security import attempts
from harness.security.attempts import Attempted
from harness.security.machine import Tenancy
from harness.security.state import NamespaceState


class _Scene:
    """B's state is a counter the admin's acts move; the tenant's refused attempt moves nothing."""

    b = "ns-b"

    def __init__(self) -> None:
        self.victims: list[str] = []
        self.acts: list[str] = []
        self.admin_changes = 0

    def tenant(self, *roles: str) -> None:
        return None

    async def read_b(self) -> NamespaceState:
        self.acts.append("read")
        return NamespaceState(self.b, record={"admin_changes": self.admin_changes})

    async def terminate(self, namespace: str, workflow_ids: list[str]) -> None:
        self.acts.append(f"terminate {namespace} {','.join(workflow_ids)}")
        self.admin_changes += 1


def test_the_task_token_step_ends_the_workflow_it_polled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scene = _Scene()

    async def task_of_b(s: Any) -> bytes:
        s.victims.append("task-holder")
        s.admin_changes += 1  # the admin's poll
        return b"token"

    async def complete_task_of_b(s: Any, named: str, token: bytes, tenant: Any) -> Attempted:
        s.acts.append(f"tenant completes ({named})")
        return Attempted("RespondWorkflowTaskCompleted [B's task token]")

    monkeypatch.setattr(attempts, "task_of_b", task_of_b)
    monkeypatch.setattr(attempts, "complete_task_of_b", complete_task_of_b)
    tenancy = Tenancy(cast(Any, scene), tmp_path)
    tenancy.task_token("B")
    ended = f"terminate {scene.b} task-holder"
    assert ended in scene.acts, scene.acts
    assert scene.acts.index(ended) > scene.acts.index("tenant completes (B)")  # after the check, not before
    assert scene.acts[-1] == "read"  # the baseline holds the admin's act
    assert tenancy.baseline == NamespaceState(scene.b, record={"admin_changes": 2})
