"""Namespace rate limits and authorization (service/frontend/fx.go: the namespace rate limiter runs after
the authorization interceptor; common/rpc/interceptor/namespace_rate_limit.go).

A denied call is answered PERMISSION_DENIED before the limiter sees it, so it neither uses nor is
refused by the namespace's quota. The quota is per namespace (rps x burst ratio), shared by every
caller, and split by API priority (service/frontend/configs/quotas.go, common/quotas/
priority_rate_limiter_impl.go): a call of priority p is decided by bucket p and also draws on every
bucket of lower priority (a higher number), so a flood of calls of some priority empties that
priority's bucket: any caller's calls of the same priority are then refused, whatever their roles.
Calls of a higher priority (a lower number) are decided by a bucket the flood never draws on. Calls of a
lower priority share buckets the flood draws on only as fast as they refill: whether they are refused
is not settled.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.types import Outcome

DENIED, LIMITED, SERVED = "denied", "rate-limited", "served"
PER_NAMESPACE = True  # the bucket is the namespace's, not the caller's
WS = "/temporal.api.workflowservice.v1.WorkflowService/"
# APIToPriority (service/frontend/configs/quotas.go@v1.32.2) for the calls the suite makes: 0 first.
PRIORITY = {
    WS + "DescribeNamespace": 0,
    WS + "SignalWorkflowExecution": 1,
    WS + "StartWorkflowExecution": 1,
    WS + "RespondWorkflowTaskCompleted": 1,
    WS + "GetWorkflowExecutionHistory": 2,
    WS + "TerminateWorkflowExecution": 2,
    WS + "DescribeWorkflowExecution": 3,
    WS + "PollWorkflowTaskQueue": 4,
}


def limiter_sees(outcome: Outcome) -> bool:
    """Whether a call reaches the namespace limiter: only calls the authorizer allowed."""
    return outcome is Outcome.ALLOWED


def answer_with_quota(outcome: Outcome, quota_left: bool) -> str:
    """How a call is answered, given whether the namespace's bucket holds a token when it arrives."""
    if not limiter_sees(outcome):
        return DENIED
    return SERVED if quota_left else LIMITED


def quota_left_after(burst: int, earlier: Sequence[Outcome]) -> bool:
    """Whether a full bucket of `burst` tokens still holds one after `earlier` calls (refill ignored:
    it only adds tokens, so a "served" prediction stays true however slowly the calls ran)."""
    return burst - sum(1 for o in earlier if limiter_sees(o)) > 0


def priority(full_method: str) -> int:
    return PRIORITY[full_method]


def draws_on(flooding: str, starved: str) -> bool:
    """Whether calls of `flooding` use the bucket that decides `starved`: same or higher priority."""
    return priority(flooding) <= priority(starved)


def one_caller_can_starve_another(flooding: str, starved: str) -> frozenset[bool]:
    """Whether one caller flooding `flooding` in a namespace makes another caller's `starved` calls
    there fail with RESOURCE_EXHAUSTED: {True}, {False}, or both where it is not settled."""
    if not (PER_NAMESPACE and draws_on(flooding, starved)):
        return frozenset({False})
    if priority(flooding) == priority(starved):
        return frozenset({True})
    return frozenset({True, False})  # drawn on no faster than the bucket refills
