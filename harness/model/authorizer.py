"""The default authorizer (default_authorizer.go) per era: Claims x CallTarget -> Decision."""

from __future__ import annotations

from harness.model.apis import (
    READ_ONLY_GLOBAL_APIS_PRE_1_22,
    READ_ONLY_NAMESPACE_APIS_PRE_1_22,
    READ_ONLY_VERSIONING_APIS_1_21_5,
    ApiTable,
    rule_for,
)
from harness.model.claims import Claims
from harness.model.rules import ServerRules
from harness.types import (
    ADMIN_SERVICE,
    HEALTH_CHECK,
    OPERATOR_SERVICE,
    Access,
    CallTarget,
    Decision,
    Role,
    Scope,
)

EXEMPT_METHODS = frozenset({HEALTH_CHECK, "/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo"})

_REQUIRED = {Access.READ_ONLY: Role.READER, Access.WRITE: Role.WRITER}


def required_role(access: Access) -> Role:
    return _REQUIRED.get(access, Role.ADMIN)


def authorize(
    claims: Claims | None, target: CallTarget, rules: ServerRules, table: ApiTable
) -> tuple[Decision, str]:
    """Returns the decision and a one-line reason a person can check against the server's source."""
    if target.full_method in EXEMPT_METHODS:
        return Decision.ALLOW, "health-check API: always allowed"
    if claims is None:
        return Decision.DENY, "no claims (no token): denied"
    if rules.metadata_authorizer:
        return _authorize_by_metadata(claims, target, table)
    return _authorize_pre_1_22(claims, target, rules)


def _authorize_by_metadata(claims: Claims, target: CallTarget, table: ApiTable) -> tuple[Decision, str]:
    rule = rule_for(table, target.full_method)
    if rule.scope is Scope.CLUSTER:
        has = claims.system
        where = "system role"
    elif rule.scope is Scope.NAMESPACE:
        has = claims.system | claims.role_in(target.namespace)
        where = f"system|namespace {target.namespace!r} role"
    else:
        return Decision.DENY, f"{target.method} has no metadata (scope unknown): denied even to system admin"
    need = required_role(rule.access)
    # The server compares the role bit sets as integers: Worker (1) is below Reader (2).
    if int(has) >= int(need):
        return Decision.ALLOW, f"{where} {int(has)} >= {need.name} ({int(need)})"
    return Decision.DENY, f"{where} {int(has)} < {need.name} ({int(need)})"


def _authorize_pre_1_22(claims: Claims, target: CallTarget, rules: ServerRules) -> tuple[Decision, str]:
    namespace = target.namespace.lower() if rules.namespaces_case_insensitive else target.namespace
    ns_role = int(claims.role_in(namespace))
    system = int(claims.system)
    method = target.method
    admin_or_operator = target.service in (ADMIN_SERVICE, OPERATOR_SERVICE)
    read_only_ns = method in READ_ONLY_NAMESPACE_APIS_PRE_1_22 or (
        rules.versioning_reads_read_only and method in READ_ONLY_VERSIONING_APIS_1_21_5
    )
    # ApiName() strips the service: a system reader gets AdminService/GetSearchAttributes as a read-only
    # global API (default_authorizer.go at v1.20.x and v1.21.x; seen live on 1.21.0).
    read_only = read_only_ns or method in READ_ONLY_GLOBAL_APIS_PRE_1_22
    if not rules.admin_services_need_admin:  # 1.20.x
        if system >= Role.WRITER:
            return Decision.ALLOW, "1.20: system writer or admin: everything"
        if system >= Role.READER and read_only:
            return Decision.ALLOW, "1.20: system reader on a read-only API"
        if ns_role >= Role.WRITER:
            return Decision.ALLOW, "1.20: namespace writer: any call carrying the namespace"
        if ns_role >= Role.READER and read_only_ns:
            return Decision.ALLOW, "1.20: namespace reader on a read-only namespace API"
        return Decision.DENY, "1.20: no sufficient role"
    if system >= Role.ADMIN:
        return Decision.ALLOW, "1.21: system admin: everything"
    if system >= Role.WRITER and not admin_or_operator:
        return Decision.ALLOW, "1.21: system writer: all but Admin/Operator"
    if system >= Role.READER and read_only:
        return Decision.ALLOW, "1.21: system reader on a read-only API"
    if admin_or_operator:
        if ns_role >= Role.ADMIN:
            return Decision.ALLOW, "1.21: namespace admin on an Admin/Operator API"
        return Decision.DENY, "1.21: Admin/Operator APIs need namespace admin"
    if ns_role >= Role.WRITER:
        return Decision.ALLOW, "1.21: namespace writer"
    if ns_role >= Role.READER and read_only_ns:
        return Decision.ALLOW, "1.21: namespace reader on a read-only namespace API"
    return Decision.DENY, "1.21: no sufficient role"


def authorize_cross_namespace_command(
    claims: Claims | None,
    target_namespace: str,
    api: str,
    rules: ServerRules,
    table: ApiTable,
    enabled: bool | None = None,
) -> tuple[Decision, bool, str]:
    """A workflow-task completion carrying a command aimed at another namespace (signal, child start,
    cancel). Returns (the RespondWorkflowTaskCompleted decision, whether the command takes effect, why).

    1.29.2+ re-authorizes `api` in the target namespace when system.enableCrossNamespaceCommands is on;
    older servers never check the target. With the setting off, history refuses the command either way."""
    enabled = rules.cross_namespace_commands_default if enabled is None else enabled
    if not enabled:
        return Decision.ALLOW, False, "cross-namespace commands disabled: history refuses the command"
    if not rules.cross_namespace_reauthorized:
        return Decision.ALLOW, True, "before 1.29.2 the target namespace is never checked"
    decision, reason = authorize(
        claims,
        CallTarget(f"/temporal.api.workflowservice.v1.WorkflowService/{api}", target_namespace),
        rules,
        table,
    )
    return decision, decision is Decision.ALLOW, f"re-authorized in {target_namespace!r}: {reason}"
