"""Model mutants: one deliberate mistake in the oracle at a time, to prove the suite would notice.

A test-only switch. Each mutant replaces one rule of harness.model (a function or a constant, in every
model module that holds it) for the length of a `with apply(name):` block. The suite's observations are
then compared with the mutated model: a mutant is *killed* when some observation disagrees with it. A
mutant that survives shows a hole in the suite.

`--model-mutant NAME` runs a whole live session with one mutant in place; every run also replays its
recorded model questions under every mutant (harness.report.mutants) and reports killed/total.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from harness.model import (
    apis,
    authorizer,
    claims,
    decide,
    keyset,
    metrics,
    nexus,
    principals,
    quota,
    rules,
    tasks,
    transport,
)
from harness.model.apis import ApiTable, MethodRule
from harness.model.claims import Claims, KeyRing, MapperError, PublishedKey
from harness.model.keyset import KeySetRefused, SourceAnswer
from harness.model.rules import NEWEST, JoseDialect
from harness.tokens.presentation import BEARER
from harness.types import Access, CallTarget, Decision, Role, Scope, ServerVersion

# Bumped on every apply/revert, so caches of model answers know when the model changed.
GENERATION = [0]


@dataclass(frozen=True)
class Mutant:
    name: str
    area: str  # claim mapper, authorizer, api table, key provider, era, metrics, rate limits
    description: str
    patches: Callable[[], Mapping[str, Any]]  # "module.attribute" -> replacement (built lazily)


def holders() -> list[ModuleType]:
    """Every loaded module that may ask the model: the model itself, the harness's questions and the
    suites. A question that imported a model function by name (`from harness.model.apis import rule_for`)
    holds its own reference, which a patch of the model module alone would miss. Not harness.server: the
    server's start and its guard (anonymous calls refused) stay what they are under any mutant."""
    return [m for n, m in list(sys.modules.items()) if m is not None and asks_the_model(n)]


def asks_the_model(module: str) -> bool:
    top = module.split(".")
    return module != __name__ and top[0] in ("harness", "suites") and top[:2] != ["harness", "server"]


def _patch_everywhere(qualified: str, replacement: Any) -> list[tuple[ModuleType, str, Any]]:
    """Replace the object named `module.attribute` in every loaded module that holds it by that object."""
    module_name, _, attribute = qualified.rpartition(".")
    module = sys.modules[f"harness.model.{module_name}"]
    original = getattr(module, attribute)
    undo: list[tuple[ModuleType, str, Any]] = []
    for holder in holders():
        for name, value in list(vars(holder).items()):
            if value is original:
                undo.append((holder, name, value))
                setattr(holder, name, replacement)
    return undo


@contextlib.contextmanager
def apply(name: str) -> Iterator[Mutant]:
    mutant = MUTANTS[name]
    undo: list[tuple[ModuleType, str, Any]] = []
    try:
        for qualified, replacement in mutant.patches().items():
            undo += _patch_everywhere(qualified, replacement)
        GENERATION[0] += 1
        yield mutant
    finally:
        for holder, attribute, value in reversed(undo):
            setattr(holder, attribute, value)
        GENERATION[0] += 1


def activate(name: str) -> Callable[[], None]:
    """Apply a mutant until the returned function is called (a whole live session)."""
    manager = apply(name)
    manager.__enter__()

    def deactivate() -> None:
        manager.__exit__(None, None, None)

    return deactivate


# -- the mutations ----------------------------------------------------------------------------------


def _rules_with(**changes: Any) -> Callable[[], Mapping[str, Any]]:
    def patches() -> Mapping[str, Any]:
        original = rules.rules_for

        def mutated(version: ServerVersion | str) -> rules.ServerRules:
            return dataclasses.replace(original(version), **changes)

        return {"rules.rules_for": mutated}

    return patches


def _worker_is_reader() -> Mapping[str, Any]:
    original = claims.permission_to_role

    def mutated(name: str) -> Role:
        return Role.READER if name.lower() == "worker" else original(name)

    return {"claims.permission_to_role": mutated}


def _role_names_case_sensitive() -> Mapping[str, Any]:
    def mutated(name: str) -> Role:
        return {"read": Role.READER, "write": Role.WRITER, "admin": Role.ADMIN, "worker": Role.WORKER}.get(
            name, Role.UNDEFINED
        )

    return {"claims.permission_to_role": mutated}


def _exp_leeway() -> Mapping[str, Any]:
    original = claims._time_claim_ok

    def mutated(payload: Mapping[str, Any], name: str, now: int) -> bool:
        return original(payload, name, now - 1 if name == "exp" else now)

    return {"claims._time_claim_ok": mutated}


def _time_claim_unchecked(claim: str) -> Callable[[], Mapping[str, Any]]:
    def patches() -> Mapping[str, Any]:
        original = claims._time_claim_ok

        def mutated(payload: Mapping[str, Any], name: str, now: int) -> bool:
            return True if name == claim else original(payload, name, now)

        return {"claims._time_claim_ok": mutated}

    return patches


def _last_permission_wins() -> Mapping[str, Any]:
    def mutated(old: Role, new: Role) -> Role:
        return new

    return {"claims._combine": mutated}


def _no_exempt_calls() -> Mapping[str, Any]:
    return {"authorizer.EXEMPT_METHODS": frozenset()}


def _cluster_info_exempt() -> Mapping[str, Any]:
    return {
        "authorizer.EXEMPT_METHODS": authorizer.EXEMPT_METHODS
        | {"/temporal.api.workflowservice.v1.WorkflowService/GetClusterInfo"}
    }


def _empty_set_keeps_keys() -> Mapping[str, Any]:
    original = keyset.refresh

    def mutated(previous: KeyRing, answers: Sequence[SourceAnswer], dialect: JoseDialect = NEWEST) -> KeyRing:
        ring = original(previous, answers, dialect)
        return previous if not ring.keys else ring

    return {"keyset.refresh": mutated}


def _error_status_keeps_keys() -> Mapping[str, Any]:
    original = keyset.refresh

    def mutated(previous: KeyRing, answers: Sequence[SourceAnswer], dialect: JoseDialect = NEWEST) -> KeyRing:
        if any(a.body is not None and a.status >= 400 for a in answers):
            return previous
        return original(previous, answers, dialect)

    return {"keyset.refresh": mutated}


def _failing_source_ignored() -> Mapping[str, Any]:
    original = keyset.refresh

    def mutated(previous: KeyRing, answers: Sequence[SourceAnswer], dialect: JoseDialect = NEWEST) -> KeyRing:
        return original(previous, [a for a in answers if a.body is not None], dialect)

    return {"keyset.refresh": mutated}


def _unknown_kty_skipped() -> Mapping[str, Any]:
    original = keyset.parse_key_set

    def mutated(body: bytes, dialect: JoseDialect = NEWEST) -> list[PublishedKey]:
        try:
            document = json.loads(body)
            known = [k for k in document.get("keys") or [] if not isinstance(k, dict) or k.get("kty") in
                     ("RSA", "EC", "OKP", "oct")]  # fmt: skip
            return original(json.dumps({**document, "keys": known}).encode(), dialect)
        except (ValueError, AttributeError, TypeError):
            return original(body, dialect)

    return {"keyset.parse_key_set": mutated}


def _duplicate_kid_first_wins() -> Mapping[str, Any]:
    def mutated(previous: KeyRing, answers: Sequence[SourceAnswer], dialect: JoseDialect = NEWEST) -> KeyRing:
        keys: list[PublishedKey] = []
        for answer in answers:
            try:
                keys.extend(keyset.source_keys(answer, dialect))
            except KeySetRefused:
                return previous
        first: dict[tuple[str, str], PublishedKey] = {}
        for key in keys:
            first.setdefault((key.kty, key.kid), key)
        return KeyRing(tuple(first.values()))

    return {"keyset.refresh": mutated}


def _blank_uri_fetched() -> Mapping[str, Any]:
    def mutated(uri: str) -> bool:
        return False

    return {"keyset.skips": mutated}


def _nexus_checks_audience() -> Mapping[str, Any]:
    def mutated(configured: str) -> str:
        return configured

    return {"nexus.audience": mutated}


def _nexus_strips_authorization() -> Mapping[str, Any]:
    original = nexus.handler_headers

    def mutated(
        headers: Sequence[tuple[str, str]],
        blacklist: Sequence[str] | None = None,
        default: Sequence[str] = nexus.DEFAULT_BLACKLIST,
    ) -> dict[str, str]:
        return {k: v for k, v in original(headers, blacklist, default).items() if k != "authorization"}

    return {"nexus.handler_headers": mutated}


def _internal_frontend_enforces() -> Mapping[str, Any]:
    def mutated(target: CallTarget, *, rules: Any, table: ApiTable) -> decide.Expectation:
        decision, reason = authorizer.authorize(None, target, rules, table)
        return decide.Expectation(
            decision, f"mutant: internal-frontend refuses anonymous callers ({reason})", None
        )

    return {"decide.expect_internal": mutated}


def _token_namespace_not_enforced() -> Mapping[str, Any]:
    def mutated(request_namespace: str, token_namespace: str, enforcement: bool) -> str | None:
        return request_namespace or token_namespace

    return {"tasks.completion_namespace": mutated}


def _completion_follows_the_token() -> Mapping[str, Any]:
    def mutated(
        request_namespace: str, token_namespace: str, enforcement: bool, follows_token: bool = False
    ) -> bool:
        return tasks.completion_namespace(request_namespace, token_namespace, enforcement) is not None

    return {"tasks.completes_token_task": mutated}


def _principal_headers_trusted() -> Mapping[str, Any]:
    original = principals.event_principal

    def mutated(*args: Any, sent: Any = (), **kwargs: Any) -> tuple[str, str] | None:
        spoofed = dict(sent)
        if "temporal-principal-name" in spoofed:
            return (spoofed.get("temporal-principal-type", ""), spoofed["temporal-principal-name"])
        return original(*args, sent=sent, **kwargs)

    return {"principals.event_principal": mutated}


def _principal_everywhere() -> Mapping[str, Any]:
    def mutated(config: rules.AuthConfig, namespace: str) -> bool:
        return any(value for _, value in config.principal_propagation)

    return {"principals.propagates": mutated}


def _internal_principal_is_jwt() -> Mapping[str, Any]:
    original = principals.event_principal

    def mutated(*args: Any, internal: bool = False, **kwargs: Any) -> tuple[str, str] | None:
        return original(*args, internal=False, **kwargs)

    return {"principals.event_principal": mutated}


def _mapper_refusals_counted() -> Mapping[str, Any]:
    original = metrics.counted

    def mutated(expectation: decide.Expectation, server: rules.ServerRules) -> dict[str, int]:
        if expectation.mapper_refused:
            return {**original(expectation, server), metrics.UNAUTHORIZED: 1, metrics.AUTHORIZATIONS: 1}
        return original(expectation, server)

    return {"metrics.counted": mutated}


def _denied_calls_in_requests() -> Mapping[str, Any]:
    original = metrics.counted

    def mutated(expectation: decide.Expectation, server: rules.ServerRules) -> dict[str, int]:
        counted = original(expectation, server)
        if not expectation.mapper_refused:
            counted[metrics.REQUESTS] = 1
        return counted

    return {"metrics.counted": mutated}


def _limiter_before_authorizer() -> Mapping[str, Any]:
    def mutated(outcome: Any) -> bool:
        return True

    return {"quota.limiter_sees": mutated}


def _quota_per_caller() -> Mapping[str, Any]:
    def mutated(flooding: str, starved: str) -> frozenset[bool]:
        return frozenset({not quota.PER_NAMESPACE})

    return {"quota.one_caller_can_starve_another": mutated}


def _no_quota_priorities() -> Mapping[str, Any]:
    def mutated(full_method: str) -> int:
        return 0

    return {"quota.priority": mutated}


def _certificate_subject_grants() -> Mapping[str, Any]:
    def mutated(tls_subject: str, config: rules.AuthConfig, server: rules.ServerRules) -> Claims:
        system = Role.ADMIN if "temporal-system" in tls_subject else Role.UNDEFINED
        return Claims(subject=tls_subject, system=system)

    return {"claims.map_certificate": mutated}


def _handshake_optional() -> Mapping[str, Any]:
    def mutated(certificate: str | None, config: rules.AuthConfig) -> bool:
        return certificate != transport.UNTRUSTED

    return {"transport.handshake_accepts": mutated}


def _long_poll_rechecked() -> Mapping[str, Any]:
    def mutated(authorized_at_start: bool) -> bool:
        return False

    return {"tasks.long_poll_delivers_after_expiry": mutated}


def _completion_refusal_is_401() -> Mapping[str, Any]:
    def mutated(full_method: str) -> str:
        return "UNAUTHENTICATED"

    return {"nexus.refused_token_outcome": mutated}


def _noop_mapper_needs_a_token() -> Mapping[str, Any]:
    original = decide.expect

    def mutated(credential: decide.Credential, target: CallTarget, **kwargs: Any) -> decide.Expectation:
        config = kwargs["config"]
        if config.claim_mapper == "" and not decide.auth_header_value(credential, config, kwargs["rules"]):
            decision, reason = authorizer.authorize(None, target, kwargs["rules"], kwargs["table"])
            return decide.Expectation(decision, f"mutant: the noop mapper needs a token ({reason})", None)
        return original(credential, target, **kwargs)

    return {"decide.expect": mutated}


def _file_from_any_host() -> Mapping[str, Any]:
    def mutated(uri: str, file_scheme: bool) -> bool:
        return file_scheme

    return {"keyset.reads_file": mutated}


def _invalid_regex_refuses() -> Mapping[str, Any]:
    def mutated(pattern: str) -> re.Pattern[str] | None:
        raise MapperError(f"invalid permissionsRegex {pattern!r}")

    return {"claims._invalid_regex": mutated}


def _sub_optional() -> Mapping[str, Any]:
    def mutated(payload: Mapping[str, Any]) -> str:
        return str(payload.get("sub", ""))

    return {"claims._subject": mutated}


def _string_claim_counts() -> Mapping[str, Any]:
    def mutated(value: Any) -> list[Any]:
        if isinstance(value, str):
            return [value]
        return value if isinstance(value, list) else []

    return {"claims._permission_entries": mutated}


def _trims_spaces() -> Mapping[str, Any]:
    def mutated(namespace: str, role: str) -> tuple[str, str]:
        return namespace.strip(), role.strip()

    return {"claims._entry_parts": mutated}


def _scheme_case_sensitive() -> Mapping[str, Any]:
    def mutated(scheme: str) -> bool:
        return scheme == BEARER

    return {"claims._scheme_ok": mutated}


def _more_algorithms() -> Mapping[str, Any]:
    return {"claims.ACCEPTED_ALGS": ("RS256", "ES256", "RS384", "RS512", "PS256", "ES384")}


def _kid_optional() -> Mapping[str, Any]:
    def mutated(header: Mapping[str, Any], alg: str, keyring: KeyRing) -> PublishedKey | None:
        kty = "RSA" if alg.startswith(("RS", "PS")) else "EC"
        kid = header.get("kid")
        if isinstance(kid, str):
            return keyring.lookup(kty, kid)
        return next((k for k in keyring.keys if k.kty == kty), None)

    return {"claims._select_key": mutated}


def _padding_accepted() -> Mapping[str, Any]:
    import base64

    def mutated(segment: str) -> bytes:
        try:
            return base64.urlsafe_b64decode(segment.rstrip("=") + "=" * (-len(segment.rstrip("=")) % 4))
        except ValueError as exc:
            raise MapperError(f"illegal base64 data: {exc}") from exc

    return {"claims._decode_segment": mutated}


def _crit_rejected() -> Mapping[str, Any]:
    original = claims._decode_json_object

    def mutated(segment: str, what: str) -> dict[str, Any]:
        value = original(segment, what)
        if what == "header" and "crit" in value:
            raise MapperError("crit names an extension the server does not understand")
        return value

    return {"claims._decode_json_object": mutated}


def _first_duplicate_key_wins() -> Mapping[str, Any]:
    original = claims._parse_json

    def mutated(raw: bytes, first_value_only: bool = False) -> Any:
        def first(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for key, value in pairs:
                out.setdefault(key, value)
            return out

        try:
            if first_value_only:
                return json.JSONDecoder(object_pairs_hook=first).raw_decode(raw.decode().lstrip())[0]
            return json.loads(raw, object_pairs_hook=first)
        except RecursionError:
            # Nested past Python's recursion (the fuzz cases' deep JSON): the model's own reading, so
            # the mutant differs from the model only where a key is written twice.
            return original(raw, first_value_only)

    return {"claims._parse_json": mutated}


def _last_header_wins() -> Mapping[str, Any]:
    def mutated(credential: decide.Credential, config: rules.AuthConfig, server: rules.ServerRules) -> str:
        name = config.effective_header_name(server)
        values = [v for h, v in credential.headers if h == name or h == name.lower()]
        return values[-1] if values else ""

    return {"decide.auth_header_value": mutated}


def _cluster_scope_reads_namespace_roles() -> Mapping[str, Any]:
    original = authorizer._authorize_by_metadata

    def mutated(mapped: Claims, target: CallTarget, table: ApiTable) -> tuple[Decision, str]:
        rule = apis.rule_for(table, target.full_method)
        if rule.scope is Scope.CLUSTER:
            best = max([int(r) for r in mapped.namespaces.values()] + [int(mapped.system)])
            if best >= int(authorizer.required_role(rule.access)):
                return Decision.ALLOW, "mutant: any namespace role counts on cluster calls"
        return original(mapped, target, table)

    return {"authorizer._authorize_by_metadata": mutated}


def _unknown_scope_for_system_admin() -> Mapping[str, Any]:
    original = apis.rule_for

    def mutated(table: ApiTable, full_method: str) -> MethodRule:
        rule = original(table, full_method)
        return MethodRule(Scope.CLUSTER, Access.ADMIN) if rule.scope is Scope.UNKNOWN else rule

    return {"apis.rule_for": mutated}


def _read_needs_writer() -> Mapping[str, Any]:
    def mutated(access: Access) -> Role:
        return {Access.READ_ONLY: Role.WRITER, Access.WRITE: Role.WRITER}.get(access, Role.ADMIN)

    return {"authorizer.required_role": mutated}


def other_line_table(version: str) -> str:
    """The newest committed table of the minor line before `version`'s (the next line's oldest where no
    earlier line has one): the table a model that missed an upgrade would read."""
    from harness.api_tables import available_versions

    line = ServerVersion.parse(version).parts[:2]
    committed = sorted(ServerVersion.parse(v) for v in available_versions())
    earlier = [v for v in committed if v.parts[:2] < line]
    later = [v for v in committed if v.parts[:2] > line]
    return str(earlier[-1] if earlier else later[0])


def _older_api_table() -> Mapping[str, Any]:
    # The API table of the previous minor release instead of the server's own: a lookup in the wrong table.
    from harness.api_tables import load_table

    tables: dict[str, ApiTable] = {}
    original_rule, original_present = apis.rule_for, apis.is_present

    def older(table: ApiTable) -> ApiTable:
        if table.version not in tables:
            tables[table.version] = load_table(other_line_table(table.version))
        return tables[table.version]

    def rule(table: ApiTable, full_method: str) -> MethodRule:
        return original_rule(older(table), full_method)

    def present(table: ApiTable, full_method: str) -> bool:
        return original_present(older(table), full_method)

    return {"apis.rule_for": rule, "apis.is_present": present}


_MUTANTS = (
    Mutant("worker-is-reader", "claim mapper", "`worker` maps to Reader (as if Worker were 2)", _worker_is_reader),
    Mutant("role-names-case-sensitive", "claim mapper", "role names compared case-sensitively", _role_names_case_sensitive),
    Mutant("exp-leeway-1s", "claim mapper", "one second of leeway on exp", _exp_leeway),
    Mutant("iat-unchecked", "claim mapper", "iat in the future accepted", _time_claim_unchecked("iat")),
    Mutant("nbf-unchecked", "claim mapper", "nbf in the future accepted", _time_claim_unchecked("nbf")),
    Mutant("last-permission-wins", "claim mapper", "the last entry for a namespace overrides, no OR", _last_permission_wins),
    Mutant("invalid-regex-refuses", "claim mapper", "an invalid permissionsRegex refuses every token", _invalid_regex_refuses),
    Mutant("sub-optional", "claim mapper", "a token without sub is accepted", _sub_optional),
    Mutant("string-claim-counts", "claim mapper", "a permissions claim that is a string counts as one entry", _string_claim_counts),
    Mutant("trims-spaces", "claim mapper", "spaces around namespace and role are trimmed", _trims_spaces),
    Mutant("scheme-case-sensitive", "claim mapper", "the scheme must be spelt exactly", _scheme_case_sensitive),
    Mutant("more-algorithms", "claim mapper", "RS384, RS512, PS256 and ES384 accepted", _more_algorithms),
    Mutant("kid-optional", "claim mapper", "a token without kid uses any key of its type", _kid_optional),
    Mutant("padding-accepted", "claim mapper", "padded base64url segments accepted", _padding_accepted),
    Mutant("crit-rejected", "claim mapper", "a crit header refuses the token", _crit_rejected),
    Mutant("first-duplicate-key-wins", "claim mapper", "a claim written twice keeps its first value", _first_duplicate_key_wins),
    Mutant("last-header-wins", "claim mapper", "with two authorization headers the last counts", _last_header_wins),
    Mutant("nexus-checks-audience", "authorizer", "Nexus HTTP checks the configured audience", _nexus_checks_audience),
    Mutant("nexus-strips-authorization", "authorizer", "the caller's Authorization header never reaches a Nexus handler", _nexus_strips_authorization),
    Mutant("internal-frontend-enforces", "authorizer", "internal-frontend refuses anonymous callers", _internal_frontend_enforces),
    Mutant("token-namespace-not-enforced", "authorizer", "a task token from another namespace is authorized against the request's namespace, enforcement or not", _token_namespace_not_enforced),
    Mutant("completion-follows-the-token", "authorizer", "an authorized completion reaches the token's task whatever namespace it names", _completion_follows_the_token),
    Mutant("principal-headers-trusted", "authorizer", "a caller's own temporal-principal-* headers name the principal", _principal_headers_trusted),
    Mutant("principal-everywhere", "authorizer", "principal propagation on for one namespace is on for all", _principal_everywhere),
    Mutant("internal-principal-is-jwt", "authorizer", "the server's own workers are stamped as jwt callers", _internal_principal_is_jwt),
    Mutant("mapper-refusals-counted", "metrics", "a token the mapper refuses counts as an unauthorized request", _mapper_refusals_counted),
    Mutant("denied-calls-in-requests", "metrics", "service_requests counts denied calls too", _denied_calls_in_requests),
    Mutant("limiter-before-authorizer", "rate limits", "the namespace limiter sees (and refuses) calls before authorization", _limiter_before_authorizer),
    Mutant("quota-per-caller", "rate limits", "each caller has a quota of its own", _quota_per_caller),
    Mutant("no-quota-priorities", "rate limits", "every call draws on one bucket, whatever its priority", _no_quota_priorities),
    Mutant("certificate-subject-grants", "claim mapper", "a client certificate whose subject says temporal-system makes a system admin", _certificate_subject_grants),
    Mutant("handshake-optional", "transport", "requireClientAuth lets a caller without a certificate connect", _handshake_optional),
    Mutant("long-poll-rechecked", "authorizer", "a long poll is re-authorized when its task arrives", _long_poll_rechecked),
    Mutant("completion-refusal-is-401", "authorizer", "a Nexus completion with a refused token is answered 401", _completion_refusal_is_401),
    Mutant("noop-mapper-needs-a-token", "claim mapper", "claimMapper left out maps only callers with a token", _noop_mapper_needs_a_token),
    Mutant("no-exempt-calls", "authorizer", "health check and GetSystemInfo need a role", _no_exempt_calls),
    Mutant("cluster-info-exempt", "authorizer", "GetClusterInfo exempt too", _cluster_info_exempt),
    Mutant("cluster-scope-reads-namespace-roles", "authorizer", "a namespace role counts on cluster calls", _cluster_scope_reads_namespace_roles),
    Mutant("unknown-scope-for-system-admin", "authorizer", "methods without metadata allowed to a system admin", _unknown_scope_for_system_admin),
    Mutant("read-needs-writer", "api table", "ReadOnly methods need Writer", _read_needs_writer),
    Mutant("older-api-table", "api table", "the previous line's newest API table is looked up", _older_api_table),
    Mutant("empty-set-keeps-keys", "key provider", "an empty key set keeps the old keys", _empty_set_keeps_keys),
    Mutant("error-status-keeps-keys", "key provider", "a key set served with 4xx/5xx is a failed refresh", _error_status_keeps_keys),
    Mutant("failing-source-ignored", "key provider", "a failing key source is skipped, the others kept", _failing_source_ignored),
    Mutant("unknown-kty-skipped", "key provider", "a key of unknown type is skipped, the set kept", _unknown_kty_skipped),
    Mutant("blank-uri-fetched", "key provider", "a blank key source URI is fetched (and fails) instead of skipped", _blank_uri_fetched),
    Mutant("file-from-any-host", "key provider", "file://otherhost/... is read like a local file", _file_from_any_host),
    Mutant("duplicate-kid-first-wins", "key provider", "of two keys with one kid, the first wins", _duplicate_kid_first_wins),
    Mutant("namespaces-case-insensitive", "era", "namespaces matched case-insensitively (1.20 on a later server)", _rules_with(namespaces_case_insensitive=True)),
    Mutant("system-scope-is-system", "era", "`system` is the system scope (1.20 on a later server)", _rules_with(system_scope="system")),
    Mutant("no-audience-check", "era", "the audience setting is ignored (before 1.29)", _rules_with(audience_supported=False)),
    Mutant("header-name-case-sensitive", "era", "authHeaderName looked up exactly (1.23)", _rules_with(header_name_case_insensitive=False)),
    Mutant("no-cross-namespace-reauthorization", "era", "cross-namespace commands not re-authorized (before 1.29.2)", _rules_with(cross_namespace_reauthorized=False)),
    Mutant("no-stream-authorization", "era", "streams not authorized (1.31.0/1.31.1 on a later server)", _rules_with(streams_authorized=False)),
    Mutant("no-principal-attribution", "era", "no principal on events (before 1.31) on a later server", _rules_with(principal_propagation=False)),
    Mutant("pre-metadata-authorizer", "era", "the 1.21 authorizer on a later server", _rules_with(metadata_authorizer=False)),
)  # fmt: skip

MUTANTS: dict[str, Mutant] = {m.name: m for m in _MUTANTS}
