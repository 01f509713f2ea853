"""Task tokens (common/rpc/interceptor/namespace_validator.go, which runs before authorization): which
namespace a task completion is authorized against, and when it is refused before authorization."""

from __future__ import annotations


def completion_namespace(request_namespace: str, token_namespace: str, enforcement: bool) -> str | None:
    """The namespace a Respond*/heartbeat call is authorized against, or None when the validator refuses
    it first. An empty request namespace is filled from the task token; a different one is refused while
    frontend.enableTokenNamespaceEnforcement is on (its default), and otherwise authorized as given."""
    if request_namespace == "":
        return token_namespace
    if request_namespace != token_namespace and enforcement:
        return None
    return request_namespace


def completes_token_task(
    request_namespace: str, token_namespace: str, enforcement: bool, follows_token: bool = False
) -> bool:
    """Whether an authorized completion reaches the task in the token's namespace. From 1.24 the frontend
    hands history the request's namespace ID and history looks the token's workflow up there
    (respondworkflowtaskcompleted/api.go: GetActiveNamespace(req.NamespaceId, token.WorkflowId)): a
    completion naming another namespace finds no such workflow (NotFound) and leaves the task alone.
    Before 1.24 (`follows_token`) the completion reached the token's namespace (workflow_handler.go
    took its namespace ID to 1.22; live on 1.23.1), so a completion authorized against one namespace completes the other's task."""
    against = completion_namespace(request_namespace, token_namespace, enforcement)
    if follows_token:
        return against is not None
    return against == token_namespace


def long_poll_delivers_after_expiry(authorized_at_start: bool) -> bool:
    """Authorization runs once, when a call starts (the unary interceptor): a long poll authorized before
    its token's exp still hands out a task that arrives after it. Only the next call is refused."""
    return authorized_at_start
