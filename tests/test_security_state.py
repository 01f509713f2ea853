"""B before and after: what counts as a change (harness/security/state.py), without a server."""

from __future__ import annotations

from harness.security.state import NamespaceState, changes


def _state(**workflows: dict[str, object]) -> NamespaceState:
    return NamespaceState(
        "b", record={"namespaceInfo": {"name": "b", "state": "REGISTERED"}}, workflows=dict(workflows)
    )


def test_a_signal_a_new_workflow_and_a_deleted_one_are_changes() -> None:
    victim = {"exists": True, "run_id": "r1", "status": 1, "history": ["started", "task_scheduled"]}
    signalled = {**victim, "history": [*victim["history"], "signaled:pwn"]}  # type: ignore[list-item]
    before = _state(victim=victim, gone=victim)
    after = _state(
        victim=signalled, child={"exists": True, "run_id": "c", "status": 1, "history": ["started"]}
    )
    found = changes(before, after)
    assert any(line.startswith("workflows.victim.history:") for line in found)
    assert any(line.startswith("workflows.child.exists: '(absent)' -> True") for line in found)
    assert any(line.startswith("workflows.gone.exists: True -> '(absent)'") for line in found)


def test_nothing_changed_is_no_change_and_a_workflow_read_as_missing_is_absent() -> None:
    victim = {"exists": True, "run_id": "r1", "status": 1, "history": ["started"]}
    assert changes(_state(victim=victim), _state(victim=victim)) == []
    # Read by id where it does not exist, or not read at all: the same (no workflow).
    assert changes(_state(victim=victim), _state(victim=victim, ghost={"exists": False})) == []


def test_a_namespace_record_change_is_a_change() -> None:
    before, after = _state(), _state()
    after.record = {"namespaceInfo": {"name": "b", "state": "DEPRECATED"}}
    assert changes(before, after) == ["record.namespaceInfo.state: 'REGISTERED' -> 'DEPRECATED'"]
