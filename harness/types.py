"""Shared vocabulary of the harness. Standard library only: every other layer imports this."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.IntFlag):
    """The server's role bits (common/authorization/roles.go). Undefined is 0, not 16."""

    UNDEFINED = 0
    WORKER = 1
    READER = 2
    WRITER = 4
    ADMIN = 8


class Scope(enum.Enum):
    """common/api Scope: what the default authorizer looks the role up in."""

    UNKNOWN = "unknown"
    NAMESPACE = "namespace"
    CLUSTER = "cluster"


class Access(enum.Enum):
    """common/api Access: the least role a call needs."""

    UNKNOWN = "unknown"
    READ_ONLY = "read_only"
    WRITE = "write"
    ADMIN = "admin"


class Decision(enum.Enum):
    """What the reference model says the server must do with a call."""

    ALLOW = "ALLOW"
    DENY = "DENY"


class Outcome(enum.Enum):
    """What a probe saw. ALLOWED means authorization passed, even if the call then failed."""

    ALLOWED = "ALLOWED"
    DENIED = "DENIED"
    ABSENT = "ABSENT"  # UNIMPLEMENTED: the server version has no such method


class Verdict(enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    KNOWN = "KNOWN"  # a recorded deviation with its reason
    SKIP = "SKIP"
    HARNESS_ERROR = "HARNESS_ERROR"


WORKFLOW_SERVICE = "temporal.api.workflowservice.v1.WorkflowService"
OPERATOR_SERVICE = "temporal.api.operatorservice.v1.OperatorService"
ADMIN_SERVICE = "temporal.server.api.adminservice.v1.AdminService"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
REQUEST_UNAUTHORIZED = "Request unauthorized."


@dataclass(frozen=True)
class CallTarget:
    """One gRPC call as the authorizer sees it: the full method and the request's namespace."""

    full_method: str  # "/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution"
    namespace: str = ""

    @property
    def service(self) -> str:
        return self.full_method.rsplit("/", 1)[0].lstrip("/")

    @property
    def method(self) -> str:
        return self.full_method.rsplit("/", 1)[1]


def full_method(service: str, method: str) -> str:
    return f"/{service}/{method}"
