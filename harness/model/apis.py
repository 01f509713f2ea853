"""Which role a gRPC method needs: the server's common/api metadata table (1.22+) and the older lists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.types import ADMIN_SERVICE, Access, Scope


@dataclass(frozen=True)
class MethodRule:
    scope: Scope
    access: Access


@dataclass(frozen=True)
class ApiTable:
    """fixtures/api/<version>.json as data: service -> method -> rule, as GetMethodMetadata answers."""

    version: str
    services: Mapping[str, Mapping[str, MethodRule]] = field(default_factory=dict)

    def methods(self, service: str) -> list[str]:
        return sorted(self.services.get(service, {}))


_UNKNOWN = MethodRule(Scope.UNKNOWN, Access.UNKNOWN)


def rule_for(table: ApiTable, full_method: str) -> MethodRule:
    """Mirror of api.GetMethodMetadata: AdminService is all Cluster/Admin; anything unlisted is unknown."""
    service, _, method = full_method.lstrip("/").rpartition("/")
    if service == ADMIN_SERVICE:
        return MethodRule(Scope.CLUSTER, Access.ADMIN)
    return table.services.get(service, {}).get(method, _UNKNOWN)


def is_present(table: ApiTable, full_method: str) -> bool:
    """Whether this server version has the method at all (methods outside the tables, such as health,
    reflection and AdminService, are taken as present: the table does not list them)."""
    service, _, method = full_method.lstrip("/").rpartition("/")
    if service not in table.services:
        return True
    return method in table.services[service]


# Before 1.22 the authorizer used hand-kept read-only lists (frontend_api.go at v1.20.x / v1.21.x).
READ_ONLY_NAMESPACE_APIS_PRE_1_22 = frozenset(
    {
        "DescribeNamespace",
        "GetWorkflowExecutionHistory",
        "GetWorkflowExecutionHistoryReverse",
        "ListOpenWorkflowExecutions",
        "ListClosedWorkflowExecutions",
        "ListWorkflowExecutions",
        "ListArchivedWorkflowExecutions",
        "ScanWorkflowExecutions",
        "CountWorkflowExecutions",
        "QueryWorkflow",
        "DescribeWorkflowExecution",
        "DescribeTaskQueue",
        "ListTaskQueuePartitions",
        "DescribeSchedule",
        "ListSchedules",
        "ListScheduleMatchingTimes",
        "DescribeBatchOperation",
        "ListBatchOperations",
    }
)
# Added to the namespace read-only list in 1.21.5 (#4721).
READ_ONLY_VERSIONING_APIS_1_21_5 = frozenset({"GetWorkerBuildIdCompatibility", "GetWorkerTaskReachability"})
READ_ONLY_GLOBAL_APIS_PRE_1_22 = frozenset(
    {"ListNamespaces", "GetSearchAttributes", "GetClusterInfo", "GetSystemInfo"}
)
