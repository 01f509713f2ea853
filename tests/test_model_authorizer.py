"""Truth tables for the authorizer model, per era, including bitmask combinations."""

from __future__ import annotations

import pytest

from harness.api_tables import load_table
from harness.model import AuthConfig, Claims, Credential, authorize, expect, rules_for
from harness.model.apis import ApiTable, MethodRule
from harness.types import (
    ADMIN_SERVICE,
    HEALTH_CHECK,
    OPERATOR_SERVICE,
    WORKFLOW_SERVICE,
    Access,
    CallTarget,
    Decision,
    Role,
    Scope,
)
from tests.model_helpers import NOW, RING, bearer, credential, token

TABLE = load_table("v1.32.2")
V132, V128, V121, V120 = (rules_for(v) for v in ("v1.32.2", "v1.28.4", "v1.21.6", "v1.20.5"))


def wf(method: str, ns: str = "ns") -> CallTarget:
    return CallTarget(f"/{WORKFLOW_SERVICE}/{method}", ns)


def op(method: str, ns: str = "ns") -> CallTarget:
    return CallTarget(f"/{OPERATOR_SERVICE}/{method}", ns)


def ns_claims(role: int, system: int = 0) -> Claims:
    return Claims("s", Role(system), {"ns": Role(role)})


# Every bit combination of one namespace's roles against each access level (v1.22+).
@pytest.mark.parametrize("bits", range(16))
def test_bitmask_combinations_compare_numerically(bits: int) -> None:
    c = ns_claims(bits)
    assert (authorize(c, wf("DescribeNamespace"), V132, TABLE)[0] is Decision.ALLOW) == (bits >= 2)
    assert (authorize(c, wf("StartWorkflowExecution"), V132, TABLE)[0] is Decision.ALLOW) == (bits >= 4)
    assert (authorize(c, wf("UpdateNamespace"), V132, TABLE)[0] is Decision.ALLOW) == (bits >= 8)
    assert authorize(c, wf("ListNamespaces"), V132, TABLE)[0] is Decision.DENY  # cluster: system only


def test_worker_alone_and_with_reader() -> None:
    assert authorize(ns_claims(Role.WORKER), wf("PollWorkflowTaskQueue"), V132, TABLE)[0] is Decision.DENY
    assert authorize(ns_claims(Role.WORKER), wf("DescribeNamespace"), V132, TABLE)[0] is Decision.DENY
    assert (
        authorize(ns_claims(Role.WORKER | Role.READER), wf("PollWorkflowTaskQueue"), V132, TABLE)[0]
        is Decision.DENY
    )
    assert (
        authorize(ns_claims(Role.WORKER | Role.WRITER), wf("PollWorkflowTaskQueue"), V132, TABLE)[0]
        is Decision.ALLOW
    )


@pytest.mark.parametrize(
    ("system", "target", "allowed"),
    [
        (Role.ADMIN, CallTarget(f"/{ADMIN_SERVICE}/DescribeCluster"), True),
        (Role.WRITER, CallTarget(f"/{ADMIN_SERVICE}/DescribeCluster"), False),
        (Role.WRITER, wf("StartWorkflowExecution", "any"), True),
        (Role.WRITER, wf("RegisterNamespace", "any"), False),
        (Role.READER, wf("ListNamespaces", ""), True),
        (Role.READER, op("ListClusters", ""), False),
        (Role.ADMIN, op("ListClusters", ""), True),
        (Role.ADMIN, CallTarget("/temporal.api.nexusservice.v1.NexusService/Anything"), False),
        (Role.ADMIN, CallTarget("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"), False),
    ],
)
def test_system_roles_v122_plus(system: Role, target: CallTarget, allowed: bool) -> None:
    c = Claims("s", system, {})
    assert (authorize(c, target, V132, TABLE)[0] is Decision.ALLOW) is allowed


def test_unlisted_method_is_denied_even_to_system_admin() -> None:
    table = ApiTable("t", {WORKFLOW_SERVICE: {"Listed": MethodRule(Scope.NAMESPACE, Access.READ_ONLY)}})
    admin = Claims("s", Role.ADMIN, {})
    assert authorize(admin, wf("Unlisted"), V132, table)[0] is Decision.DENY
    assert authorize(admin, wf("Listed"), V132, table)[0] is Decision.ALLOW


def test_exempt_calls_and_no_claims() -> None:
    for t in (CallTarget(HEALTH_CHECK), wf("GetSystemInfo", "")):
        assert authorize(None, t, V132, TABLE)[0] is Decision.ALLOW
        assert authorize(None, t, V120, TABLE)[0] is Decision.ALLOW
    assert authorize(None, wf("GetClusterInfo", ""), V132, TABLE)[0] is Decision.DENY


@pytest.mark.parametrize(
    ("rules", "claims", "target", "allowed"),
    [
        # 1.20: namespace writer may call anything carrying its namespace, Operator/Admin too.
        (V120, ns_claims(Role.WRITER), op("AddSearchAttributes"), True),
        (V120, ns_claims(Role.READER), wf("DescribeNamespace"), True),
        (V120, ns_claims(Role.READER), wf("StartWorkflowExecution"), False),
        (V120, Claims("s", Role.WRITER, {}), CallTarget(f"/{ADMIN_SERVICE}/DescribeCluster"), True),
        (V120, ns_claims(Role.WRITER), wf("StartWorkflowExecution", "NS"), True),  # lower-cased lookup
        (V120, ns_claims(Role.WRITER), wf("RegisterNamespace"), True),
        # 1.21: Admin/Operator need namespace admin; system writer gets all but those.
        (V121, ns_claims(Role.WRITER), op("AddSearchAttributes"), False),
        (V121, ns_claims(Role.ADMIN), op("AddSearchAttributes"), True),
        (V121, Claims("s", Role.WRITER, {}), wf("StartWorkflowExecution", "x"), True),
        (V121, Claims("s", Role.WRITER, {}), op("ListClusters", ""), False),
        (V121, Claims("s", Role.ADMIN, {}), op("ListClusters", ""), True),
        (V121, ns_claims(Role.WRITER), wf("RegisterNamespace"), True),
        (V121, ns_claims(Role.READER), wf("GetWorkerBuildIdCompatibility"), True),  # 1.21.5+
        (rules_for("v1.21.4"), ns_claims(Role.READER), wf("GetWorkerBuildIdCompatibility"), False),
        (V121, ns_claims(Role.WRITER), wf("StartWorkflowExecution", "NS"), False),  # case-sensitive
        # 1.22+: RegisterNamespace needs admin; Operator ListSearchAttributes is read-only.
        (V128, ns_claims(Role.WRITER), wf("RegisterNamespace"), False),
        (V128, ns_claims(Role.ADMIN), wf("RegisterNamespace"), True),
        (V132, ns_claims(Role.READER), op("ListSearchAttributes"), True),
        (V132, ns_claims(Role.ADMIN), op("DeleteNamespace"), True),
        (V132, ns_claims(Role.ADMIN), op("DeleteNamespace", "other"), False),
    ],
)
def test_eras(rules: object, claims: Claims, target: CallTarget, allowed: bool) -> None:
    assert (authorize(claims, target, rules, TABLE)[0] is Decision.ALLOW) is allowed  # type: ignore[arg-type]


def test_mapper_runs_before_the_exemptions() -> None:
    bad = credential(token({"sub": "s", "exp": NOW - 1}), "fp-rsa")
    good = credential(token({"sub": "s", "exp": NOW + 60}), "fp-rsa")
    kwargs = {"rules": V132, "table": TABLE, "keyring": RING, "config": AuthConfig(), "now": NOW}
    assert expect(bad, CallTarget(HEALTH_CHECK), **kwargs).decision is Decision.DENY  # type: ignore[arg-type]
    assert expect(good, CallTarget(HEALTH_CHECK), **kwargs).decision is Decision.ALLOW  # type: ignore[arg-type]
    assert expect(Credential.anonymous(), CallTarget(HEALTH_CHECK), **kwargs).decision is Decision.ALLOW  # type: ignore[arg-type]


def test_header_name_lookup_by_era() -> None:
    value = bearer(token({"sub": "s", "permissions": ["ns:read"]}))
    cred = Credential(headers=(("x-token", value),), signed_by="fp-rsa")
    call = wf("DescribeNamespace")
    cfg = AuthConfig(auth_header_name="X-Token")
    common = {"table": TABLE, "keyring": RING, "now": NOW}
    assert expect(cred, call, rules=V132, config=cfg, **common).decision is Decision.ALLOW  # type: ignore[arg-type]
    assert expect(cred, call, rules=rules_for("v1.23.1"), config=cfg, **common).decision is Decision.DENY  # type: ignore[arg-type]
    assert expect(cred, call, rules=V132, config=AuthConfig(), **common).decision is Decision.DENY  # type: ignore[arg-type]


def test_rules_for_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        rules_for("latest")
    with pytest.raises(ValueError):
        rules_for("v1.19.0")
    assert rules_for("v1.22.0").era == "1.22-1.28" and V120.era == "1.20" and V121.era == "1.21"


@pytest.mark.parametrize(
    ("version", "enabled", "has_b", "expected"),
    [
        ("v1.32.2", None, False, (Decision.ALLOW, False)),  # off by default since 1.30: history refuses
        ("v1.32.2", True, False, (Decision.DENY, False)),
        ("v1.32.2", True, True, (Decision.ALLOW, True)),
        ("v1.29.7", None, False, (Decision.DENY, False)),  # on by default before 1.30, and re-authorized
        ("v1.29.1", None, False, (Decision.ALLOW, True)),  # never checked
        ("v1.29.1", False, True, (Decision.ALLOW, False)),
    ],
)
def test_cross_namespace_commands(
    version: str, enabled: bool | None, has_b: bool, expected: tuple[Decision, bool]
) -> None:
    from harness.model.authorizer import authorize_cross_namespace_command

    claims = Claims("s", Role.UNDEFINED, {"a": Role.WRITER, **({"b": Role.WRITER} if has_b else {})})
    decision, effect, _ = authorize_cross_namespace_command(
        claims, "b", "SignalWorkflowExecution", rules_for(version), TABLE, enabled
    )
    assert (decision, effect) == expected


@pytest.mark.parametrize(
    ("version", "looked_up_first"), [("v1.20.5", True), ("v1.22.3", True), ("v1.22.4", False)]
)
def test_before_1_22_4_an_unknown_namespace_fails_before_any_check(
    version: str, looked_up_first: bool
) -> None:
    """service/frontend/fx.go: the redirection interceptor (which looks the namespace up) ran before the
    authorization interceptor until 1.22.4; an expired token then gets NotFound, not a refusal."""
    expired = credential(token({"sub": "s", "exp": NOW - 1}), "fp-rsa")
    kwargs = {
        "rules": rules_for(version),
        "table": TABLE,
        "keyring": RING,
        "config": AuthConfig(),
        "now": NOW,
    }
    start = expect(expired, wf("StartWorkflowExecution", "gone"), namespaces=frozenset({"ns"}), **kwargs)  # type: ignore[arg-type]
    assert (start.decision is Decision.ALLOW) is looked_up_first
    # Handled locally (no lookup), a namespace that exists, or a cluster the harness does not own: checked.
    for target, known in (
        (wf("DescribeNamespace", "gone"), frozenset({"ns"})),
        (wf("StartWorkflowExecution"), frozenset({"ns"})),
        (wf("StartWorkflowExecution", "gone"), None),
    ):
        assert expect(expired, target, namespaces=known, **kwargs).decision is Decision.DENY  # type: ignore[arg-type]


def test_before_1_22_4_every_call_is_counted_as_a_request() -> None:
    from harness.model import metrics

    expired = credential(token({"sub": "s", "exp": NOW - 1}), "fp-rsa")
    for version, requests in (("v1.22.3", 1), ("v1.32.2", 0)):
        rules = rules_for(version)
        refused = expect(
            expired,
            wf("DescribeNamespace"),
            rules=rules,
            table=TABLE,
            keyring=RING,
            config=AuthConfig(),
            now=NOW,
        )
        assert metrics.counted(refused, rules)[metrics.REQUESTS] == requests


def test_http_routes_are_read_from_the_gateway_code() -> None:
    """grpc-gateway's opcodes back to a path shape, both generated-code styles, and the committed tables."""
    from harness.api_tables.generator import parse_gateway
    from harness.model import http_routes

    old = (
        'pattern_WorkflowService_DescribeNamespace_0 = runtime.MustPattern(runtime.NewPattern(1, []int{2, 0, 2, 1, 2, 2, 1, 0, 4, 1, 5, 3}, []string{"api", "v1", "namespaces", "namespace"}, "", runtime.AssumeColonVerbOpt(true)))\n'
        'mux.Handle("GET", pattern_WorkflowService_DescribeNamespace_0, func(w http.ResponseWriter) {\n'
    )
    new = (
        'pattern_OperatorService_ListNexusEndpoints_1    = runtime.MustPattern(runtime.NewPattern(1, []int{2, 0, 2, 1, 2, 2, 2, 3}, []string{"api", "v1", "nexus", "endpoints"}, ""))\n'
        "mux.Handle(http.MethodGet, pattern_OperatorService_ListNexusEndpoints_1, func(w http.ResponseWriter) {\n"
    )
    assert parse_gateway(old + new) == {
        ("DescribeNamespace", "GET", "/api/v1/namespaces/*"),
        ("ListNexusEndpoints", "GET", "/api/v1/nexus/endpoints"),
    }
    assert http_routes.shape("/api/v1/namespaces/{namespace}/x/{a.b}") == "/api/v1/namespaces/*/x/*"
    template = "/api/v1/namespaces/{namespace}/workflows/{workflow_id}"
    assert http_routes.serves("v1.32.2", "StartWorkflowExecution", "post", template)
    assert not http_routes.serves("v1.22.0", "ListWorkers", "get", "/api/v1/namespaces/{namespace}/workers")
    assert http_routes.serves("v9.9.9", "Anything", "get", "/x")  # no table: assumed served
