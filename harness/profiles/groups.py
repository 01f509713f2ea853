"""API groups: named sets of methods, derived from a version's API table by name pattern and access class.

Defined once for every version: a group is a rule over (service, method, scope, access), never a list of
methods, so a method added in a later release joins the groups its name and class say it belongs to.
A single method name (`PollWorkflowTaskQueue`, or `OperatorService/ListSearchAttributes`) is a term too.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

from harness.model.apis import ApiTable, MethodRule
from harness.model.authorizer import EXEMPT_METHODS
from harness.model.features import Feature
from harness.types import OPERATOR_SERVICE, WORKFLOW_SERVICE, Access, Scope, full_method

# The public gRPC API clients call; AdminService (system admin only) and the Nexus HTTP handlers' names in
# the tables are not something a team's principals are given.
SERVICES = (WORKFLOW_SERVICE, OPERATOR_SERVICE)

Predicate = Callable[[str, MethodRule], bool]


@dataclass(frozen=True)
class ApiCall:
    """One method of the table: its service, name and the rule the authorizer applies to it."""

    service: str
    name: str
    rule: MethodRule

    @property
    def full_method(self) -> str:
        return full_method(self.service, self.name)

    @property
    def cluster(self) -> bool:
        """Cluster-scoped calls carry no namespace: they are checked once, not per namespace."""
        return self.rule.scope is Scope.CLUSTER

    @property
    def short(self) -> str:
        return f"{self.service.rsplit('.', 1)[-1]}/{self.name}"


def _named(pattern: str) -> Predicate:
    compiled = re.compile(pattern)
    return lambda name, rule: compiled.search(name) is not None


def _classed(scope: Scope, access: Access | None = None) -> Predicate:
    return lambda name, rule: rule.scope is scope and (access is None or rule.access is access)


@dataclass(frozen=True)
class Group:
    name: str
    phrase: str  # reads after "intended to": "poll", "administer the namespace"
    description: str
    member: Predicate
    probe: str  # the method `explain --target` sends for this group: harmless with a minimal request
    since: Feature | None = None  # what a release needs for the group to have any member (None: every one)

    def calls(self, table: ApiTable) -> list[ApiCall]:
        return [c for c in table_calls(table) if self.member(c.name, c.rule)]

    def representative(self, calls: list[ApiCall]) -> ApiCall | None:
        """The probe where the release has it, else the group's first member by name: a release older
        than the probe method (ListWorkerDeployments is 1.27+) is still asked with one of its own."""
        return next(
            (c for c in calls if c.name == self.probe), min(calls, key=lambda c: c.name, default=None)
        )


GROUPS: tuple[Group, ...] = (
    Group(
        "poll",
        "poll",
        "a worker's calls: poll task queues, answer tasks, heartbeat",
        _named(
            r"^(Poll\w+TaskQueue|Respond\w+|RecordActivityTaskHeartbeat\w*|RecordWorkerHeartbeat|ShutdownWorker)$"
        ),
        "PollWorkflowTaskQueue",
    ),
    Group(
        "start",
        "start executions",
        "start workflows, activities and Nexus operations (SignalWithStart, multi-operations too)",
        _named(r"^(Start\w*Execution|SignalWithStartWorkflowExecution|ExecuteMultiOperation)$"),
        "StartWorkflowExecution",
    ),
    Group("signal", "signal", "signal workflows", _named(r"^Signal\w*$"), "SignalWorkflowExecution"),
    Group(
        "update",
        "update workflows",
        "workflow updates",
        _named(r"^(UpdateWorkflowExecution|PollWorkflowExecutionUpdate)$"),
        "UpdateWorkflowExecution",
    ),
    Group("query", "query", "query workflows", _named(r"^QueryWorkflow$"), "QueryWorkflow"),
    Group(
        "read",
        "read",
        "every read-only call on a namespace: describe, list, count, history, query",
        _classed(Scope.NAMESPACE, Access.READ_ONLY),
        "DescribeNamespace",
    ),
    Group(
        "write",
        "write",
        "every namespace call that needs writer",
        _classed(Scope.NAMESPACE, Access.WRITE),
        "StartWorkflowExecution",
    ),
    Group(
        "cancel",
        "cancel",
        "request cancellation",
        _named(r"^RequestCancel\w*Execution$"),
        "RequestCancelWorkflowExecution",
    ),
    Group(
        "terminate",
        "terminate",
        "terminate executions",
        _named(r"^Terminate\w*Execution$"),
        "TerminateWorkflowExecution",
    ),
    Group(
        "reset",
        "reset",
        "reset workflows and activities",
        _named(r"^Reset(\w*Execution|Activity)$"),
        "ResetWorkflowExecution",
    ),
    Group(
        "delete",
        "delete executions",
        "delete executions",
        _named(r"^Delete\w*Execution$"),
        "DeleteWorkflowExecution",
    ),
    Group("schedules", "manage schedules", "every schedule call", _named(r"Schedule"), "CreateSchedule"),
    Group(
        "batch", "run batch operations", "batch operations", _named(r"BatchOperation"), "StartBatchOperation"
    ),
    Group(
        "deployments",
        "manage worker deployments and versioning",
        "worker deployments, build IDs and versioning rules",
        _named(r"Deployment|BuildId|VersioningRules|TaskReachability"),
        "ListWorkerDeployments",
    ),
    Group(
        "nexus",
        "use Nexus",
        "Nexus task queues, operations and endpoints",
        _named(r"Nexus"),
        "PollNexusTaskQueue",
        since=Feature.NEXUS_APIS,
    ),
    Group(
        "search-attributes",
        "manage search attributes",
        "list, add and remove search attributes",
        _named(r"SearchAttributes$"),
        "ListSearchAttributes",
    ),
    Group(
        "namespace-admin",
        "administer the namespace",
        "namespace-scoped admin calls: register, update, deprecate, delete, search attributes",
        _classed(Scope.NAMESPACE, Access.ADMIN),
        "RegisterNamespace",
    ),
    Group(
        "cluster-read",
        "read cluster info",
        "cluster-scoped reads: ListNamespaces, GetClusterInfo, GetSearchAttributes",
        _classed(Scope.CLUSTER, Access.READ_ONLY),
        "ListNamespaces",
    ),
    Group(
        "cluster-admin",
        "administer the cluster",
        "cluster-scoped admin calls: remote clusters, Nexus endpoints",
        _classed(Scope.CLUSTER, Access.ADMIN),
        "ListClusters",
    ),
    Group("all", "call anything", "every method in the table", lambda name, rule: True, ""),
)
GROUPS_BY_NAME = {g.name: g for g in GROUPS}


def table_calls(table: ApiTable) -> list[ApiCall]:
    """Every public method of the table but the exempt ones (always allowed: no intent can deny them)."""
    return [
        ApiCall(service, name, rule)
        for service in SERVICES
        for name, rule in sorted(table.services.get(service, {}).items())
        if full_method(service, name) not in EXEMPT_METHODS
    ]


class UnknownTerm(LookupError):
    """Neither a group nor a method of the table; the message names the nearest ones."""


def known_terms(table: ApiTable) -> list[str]:
    return [g.name for g in GROUPS] + sorted({c.name for c in table_calls(table)})


def resolve(term: str, table: ApiTable) -> list[ApiCall]:
    """The calls a group name or a method name (optionally `Service/Method`) stands for."""
    group = GROUPS_BY_NAME.get(term)
    if group is not None:
        return group.calls(table)
    service_hint, _, name = term.rpartition("/")
    found = [
        c
        for c in table_calls(table)
        if c.name == name and (not service_hint or c.service.endswith(service_hint))
    ]
    if found:
        return found
    near = difflib.get_close_matches(term, known_terms(table), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(f'`{n}`' for n in near)}?" if near else ""
    exempt = any(m.rsplit("/", 1)[1] == name for m in EXEMPT_METHODS)
    why = " (it is exempt: always allowed, so no intent can name it)" if exempt else ""
    raise UnknownTerm(f"unknown group or method `{term}`{why}{hint}")


def phrase(term: str) -> str:
    """How an intent reads: "poll", or "call StartWorkflowExecution" for a single method."""
    group = GROUPS_BY_NAME.get(term)
    return group.phrase if group is not None else f"call {term.rpartition('/')[2]}"


def listing(table: ApiTable) -> list[str]:
    """Every group with its methods on this table's version: `temporal-authz profile --list-groups`."""
    out = []
    for group in GROUPS:
        calls = group.calls(table)
        out.append(f"{group.name} ({len(calls)}): {group.description}")
        if group.name != "all":
            out.append("    " + ", ".join(c.name for c in calls))
    return out
