"""Which of the server's metrics one call adds to (common/authorization/interceptor.go, Authorize).

The interceptor maps the token first; a token the claim mapper refuses (bad signature, expired, no kid)
returns before Authorize and is counted nowhere (a log line only). Authorize records the authorization
latency for every call it sees, and service_errors_unauthorized for each denial, labelled with the
request's namespace when it exists ("_unknown_" otherwise). service_requests is recorded by the
telemetry interceptor, which runs after authorization from 1.22.4: denied calls never reach it. Before
1.22.4 telemetry ran first and counted every call, refused and denied ones included.
"""

from __future__ import annotations

from harness.model.decide import Expectation
from harness.model.rules import ServerRules
from harness.types import Decision

UNAUTHORIZED = "service_errors_unauthorized"
AUTHORIZE_FAILED = "service_errors_authorize_failed"  # the authorizer returned an error (default: never)
AUTHORIZATIONS = "service_authorization_latency (count)"
REQUESTS = "service_requests"
COUNTED = (UNAUTHORIZED, AUTHORIZE_FAILED, AUTHORIZATIONS, REQUESTS)
UNKNOWN_NAMESPACE = "_unknown_"


def counted(expectation: Expectation, rules: ServerRules) -> dict[str, int]:
    """How much one call adds to each metric (for its namespace label, and its operation for requests)."""
    requests_first = int(not rules.authorization_first)  # telemetry before authorization counts every call
    if expectation.mapper_refused:
        return {**dict.fromkeys(COUNTED, 0), REQUESTS: requests_first}
    denied = expectation.decision is Decision.DENY
    return {
        UNAUTHORIZED: int(denied),
        AUTHORIZE_FAILED: 0,
        AUTHORIZATIONS: 1,
        REQUESTS: int(not denied) or requests_first,
    }


def namespace_label(namespace: str, existing: frozenset[str]) -> str:
    """The namespace tag on the authorization metrics: only a namespace that exists (bounded cardinality)."""
    return namespace if namespace and namespace in existing else UNKNOWN_NAMESPACE
