"""Mapper then authorizer, as the frontend interceptor runs them: one call -> one expectation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.model import apis, authorizer, claims, gojson
from harness.model.apis import ApiTable
from harness.model.claims import Claims, KeyRing, MapperError
from harness.model.rules import AuthConfig, ServerRules
from harness.types import WORKFLOW_SERVICE, CallTarget, Decision, Outcome, Role

# WorkflowService methods the redirection interceptor handles locally (no namespace lookup), 1.20-1.22.
REDIRECT_LOCAL = frozenset(
    {"DeprecateNamespace", "DescribeNamespace", "ListNamespaces", "RegisterNamespace", "UpdateNamespace",
     "GetSearchAttributes", "GetClusterInfo", "GetSystemInfo"}
)  # fmt: skip


@dataclass(frozen=True)
class Credential:
    """What a caller sends: its metadata headers (lower-case names, in order) and, for a minted token,
    the fingerprint of the key that really signed it (None: forged, tampered or unsigned)."""

    headers: Sequence[tuple[str, str]] = ()
    signed_by: str | None = None
    # The subject of a client certificate the server verified (mTLS), e.g. "CN=temporal-system".
    tls_subject: str | None = None

    @classmethod
    def anonymous(cls) -> Credential:
        return cls()


@dataclass(frozen=True)
class Expectation:
    decision: Decision
    reason: str
    claims: Claims | None
    present: bool = True  # False: this server version has no such method
    mapper_refused: bool = False  # the claim mapper refused the token (before any authorizer)

    @property
    def outcome(self) -> Outcome:
        if not self.present:
            return Outcome.ABSENT
        return Outcome.ALLOWED if self.decision is Decision.ALLOW else Outcome.DENIED


def looked_up_first(target: CallTarget, rules: ServerRules, namespaces: frozenset[str] | None) -> bool:
    """Before 1.22.4 a WorkflowService call the redirection interceptor forwards looks its namespace up
    before the authorization interceptor runs: a namespace the server lacks fails NotFound unchecked."""
    return (
        not rules.authorization_first
        and namespaces is not None
        and target.service == WORKFLOW_SERVICE
        and target.method not in REDIRECT_LOCAL
        and target.namespace not in namespaces
    )


def auth_header_value(credential: Credential, config: AuthConfig, rules: ServerRules) -> str:
    """The value the interceptor reads: the first one under the configured header name.

    gRPC carries lower-case names. 1.23 looks the configured name up exactly; 1.24 lower-cases it
    (metadata.MD.Get: strings.ToLower); 1.25+ reads it with metadata.ValueFromIncomingContext
    (common/headers/headers.go GRPCHeaderGetter.Get): the name exactly, else the first name that
    strings.EqualFold matches (Unicode simple folding: "x-\u017fecret" reads x-secret)."""
    name = config.effective_header_name(rules)
    for header, value in credential.headers:
        if header == name:
            return value  # only the first value counts
    if not rules.header_name_case_insensitive:
        return ""
    folded = gojson.fold(name) if rules.header_lookup_folds else None
    for header, value in credential.headers:
        if header == claims.go_lower(name) if folded is None else gojson.fold(header) == folded:
            return value
    return ""


def internal_frontend_claims(rules: ServerRules) -> Claims:
    """internal-frontend replaces the claim mapper: the noop mapper (1.20-1.30) and the internal one
    (1.31+) make every caller, anonymous ones included, a system admin (temporal/fx.go)."""
    return Claims(subject="internal" if rules.internal_claim_mapper else "", system=Role.ADMIN)


def expect_internal(target: CallTarget, *, rules: ServerRules, table: ApiTable) -> Expectation:
    """A call to internal-frontend, whoever makes it."""
    mapped = internal_frontend_claims(rules)
    decision, reason = authorizer.authorize(mapped, target, rules, table)
    return Expectation(decision, f"internal-frontend maps every caller to system admin: {reason}", mapped)


def expect(
    credential: Credential,
    target: CallTarget,
    *,
    rules: ServerRules,
    table: ApiTable,
    keyring: KeyRing,
    config: AuthConfig,
    now: int,
    stream: bool = False,
    namespaces: frozenset[str] | None = None,
) -> Expectation:
    """`stream`: the call opens a stream, authorized once with namespace "" where the version has a
    stream interceptor (and it is not switched off); otherwise nothing checks it at all. `namespaces`: the
    namespaces the harness registered on the server (None: unknown, the call's namespace assumed there)."""
    if stream and target.full_method in rules.absent_streams:
        return Expectation(Decision.DENY, f"{target.method}: this release serves no such stream", None, False)
    if stream and not (rules.streams_authorized and not config.disable_streaming_authorizer):
        why = "switched off (system.disableStreamingAuthorizer)" if rules.streams_authorized else "absent"
        return Expectation(Decision.ALLOW, f"stream authorization is {why} on this server: no check", None)
    if stream:
        target = CallTarget(target.full_method, "")
    present = apis.is_present(table, target.full_method)
    if present and looked_up_first(target, rules, namespaces):
        return Expectation(
            Decision.ALLOW,
            f"namespace {target.namespace!r} is not on this server, and before 1.22.4 the redirection "
            f"interceptor looks it up before authorization: NotFound, no check at all",
            None,
        )
    header_value = auth_header_value(credential, config, rules)
    mapped: Claims | None = None
    if config.claim_mapper == "":
        # The noop mapper needs no auth info (since 1.20.3) and makes every caller a system admin.
        if header_value or credential.tls_subject is not None or rules.noop_mapper_without_auth_info:
            mapped = Claims(subject="", system=Role.ADMIN)
    elif header_value:
        # The mapper runs before the authorizer, so a bad token fails even the exempt calls.
        try:
            mapped = claims.map_claims(header_value, credential.signed_by, keyring, config, rules, now)
        except MapperError as refusal:
            return Expectation(
                Decision.DENY, f"claim mapper refused the token: {refusal}", None, present, True
            )
    elif credential.tls_subject is not None:
        # A verified certificate makes AuthInfo without a token: the mapper reads only the token.
        mapped = claims.map_certificate(credential.tls_subject, config, rules)
    if config.authorizer == "":
        return Expectation(Decision.ALLOW, "the noop authorizer allows every call", mapped, present)
    decision, reason = authorizer.authorize(mapped, target, rules, table)
    if not present:
        reason = f"{target.method} is not on this server (its API table): the call fails as unknown"
    return Expectation(decision, reason, mapped, present)
