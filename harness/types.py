"""Shared vocabulary of the harness. Standard library only: every other layer imports this."""

from __future__ import annotations

import enum
import re
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
    """What a probe saw.

    ALLOWED: the server answered, and not with the authorizer's refusal (authorization passed, even if
    the handler then refused the request). DENIED: the authorizer's exact refusal. ABSENT: the server has
    no such method. ERROR: no answer that says anything about authorization (unreachable, deadline,
    cancelled); it never equals an expectation, so it always fails a comparison."""

    ALLOWED = "ALLOWED"
    DENIED = "DENIED"
    ABSENT = "ABSENT"
    ERROR = "ERROR"
    # Surfaces that tell refusals apart: Nexus HTTP answers a token the claim mapper refuses with 401,
    # and the HTTP API's Host check refuses before authorization runs.
    UNAUTHENTICATED = "UNAUTHENTICATED"
    REFUSED = "REFUSED"
    # A refusal the server reports as its own internal error (HTTP 500): the Nexus completion route
    # returns the claim mapper's error unadapted.
    FAULT = "FAULT"


class Verdict(enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    KNOWN = "KNOWN"  # a recorded deviation with its reason
    SKIP = "SKIP"
    HARNESS_ERROR = "HARNESS_ERROR"


WORKFLOW_SERVICE = "temporal.api.workflowservice.v1.WorkflowService"
OPERATOR_SERVICE = "temporal.api.operatorservice.v1.OperatorService"
ADMIN_SERVICE = "temporal.server.api.adminservice.v1.AdminService"
NEXUS_SERVICE = "temporal.api.nexusservice.v1.NexusService"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
REQUEST_UNAUTHORIZED = "Request unauthorized."
# The namespace validator's refusal of a task token from another namespace (before authorization).
TOKEN_NAMESPACE_MISMATCH = "Operation requested with a token from a different namespace."


@dataclass(frozen=True)
class CallTarget:
    """One call as the authorizer sees it: the full method and the request's namespace."""

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


_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")


class VersionError(ValueError):
    pass


@dataclass(frozen=True)
class ServerVersion:
    """A server release, parsed once from `v1.32.2` (or `1.32.2`) and passed around as this. Compares
    with another ServerVersion or a plain (major, minor, patch) tuple."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> ServerVersion:
        match = _VERSION.match(text.strip())
        if not match:
            raise VersionError(f"not a server version: {text!r} (expected e.g. v1.32.2)")
        major, minor, patch = (int(g) for g in match.groups())
        return cls(major, minor, patch)

    @property
    def parts(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    @property
    def line(self) -> str:
        return f"{self.major}.{self.minor}"

    def _other(self, other: object) -> tuple[int, ...] | None:
        if isinstance(other, ServerVersion):
            return other.parts
        if isinstance(other, tuple) and all(isinstance(x, int) for x in other):
            return tuple(int(x) for x in other)
        return None

    def __lt__(self, other: object) -> bool:
        o = self._other(other)
        if o is None:
            return NotImplemented
        return self.parts < o

    def __le__(self, other: object) -> bool:
        o = self._other(other)
        if o is None:
            return NotImplemented
        return self.parts <= o

    def __gt__(self, other: object) -> bool:
        o = self._other(other)
        if o is None:
            return NotImplemented
        return self.parts > o

    def __ge__(self, other: object) -> bool:
        o = self._other(other)
        if o is None:
            return NotImplemented
        return self.parts >= o

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"
