"""Asking the model: one question per call, answered from the token, the config, the version, the
API table and the keys the server could hold while the call ran. Never from what the server did.

A question is kept with what was observed, so the same questions can be answered again by a mutated
model at the end of the run (harness.report.mutants): a mutant whose answers differ from an
observation is killed.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.jwks.timeline import KeyTimeline
from harness.model import (
    apis,
    authorizer,
    decide,
    http,
    http_routes,
    metrics,
    nexus,
    principals,
    quota,
    rules,
    tasks,
    transport,
)
from harness.model.apis import ApiTable
from harness.model.claims import Claims
from harness.model.decide import Credential
from harness.model.rules import AuthConfig
from harness.types import CallTarget, Decision, Outcome, ServerVersion


@dataclass(frozen=True)
class Window:
    """When a call ran: monotonic for the key timeline, wall clock for exp/nbf/iat."""

    start: float
    end: float
    wall_start: float
    wall_end: float

    @classmethod
    def open(cls) -> Window:
        return cls(time.monotonic(), 0.0, time.time(), 0.0)

    def closed(self) -> Window:
        return Window(self.start, time.monotonic(), self.wall_start, time.time())

    @classmethod
    def between(cls, start: float, end: float) -> Window:
        """From two monotonic instants (a probe's Observation)."""
        offset = time.time() - time.monotonic()
        return cls(start, end, start + offset, end + offset)

    def seconds(self) -> range:
        """Every whole second of wall time the call may have been checked in."""
        return range(math.floor(self.wall_start), math.floor(self.wall_end) + 1)


@dataclass(frozen=True)
class Answer:
    values: frozenset[Any]  # every value the model allows for this window (one when settled)
    reason: str
    claims: Claims | None = None

    @property
    def determinate(self) -> bool:
        return len(self.values) == 1

    @property
    def value(self) -> Any:
        if not self.determinate:
            raise ValueError(f"indeterminate: {sorted(map(str, self.values))}")
        return next(iter(self.values))


class Question(Protocol):
    def answer(self) -> Answer: ...


@dataclass(frozen=True)
class ServerFacts:
    """What the model knows of one server: its version, API table, config and key timeline."""

    version: ServerVersion
    table: ApiTable
    config: AuthConfig
    keys: KeyTimeline
    http_forwarded: tuple[str, ...] = ()  # services.frontend.rpc.httpAdditionalForwardedHeaders
    http_allowed_hosts: tuple[str, ...] = ()  # frontend.httpAllowedHosts (empty: any host)
    nexus_endpoints: tuple[tuple[str, str], ...] = ()  # (endpoint id, target namespace) the harness created
    # The namespaces the harness registered there (None: a cluster it does not own; assumed present).
    namespaces: frozenset[str] | None = None


@dataclass(frozen=True)
class CallQuestion:
    """What does the server do with this call from this caller? -> Outcome."""

    facts: ServerFacts
    credential: Credential
    call: CallTarget
    window: Window
    stream: bool = False

    def answer(self) -> Answer:
        server = rules.rules_for(self.facts.version)  # looked up now: a mutant may change the rules
        rings, _ = self.facts.keys.rings_during(self.window.start, self.window.end)
        expectations = [
            decide.expect(
                self.credential,
                self.call,
                rules=server,
                table=self.facts.table,
                keyring=ring,
                config=self.facts.config,
                now=now,
                stream=self.stream,
                namespaces=self.facts.namespaces,
            )
            for ring in rings
            for now in self.window.seconds()
        ]
        values = frozenset(e.outcome for e in expectations)
        first = expectations[0]
        if len(values) == 1:
            return Answer(values, first.reason, first.claims)
        reasons = "; ".join(sorted({f"{e.outcome.value}: {e.reason}" for e in expectations}))
        return Answer(values, f"indeterminate (keys or clock changed during the call): {reasons}", None)


@dataclass(frozen=True)
class HttpCallQuestion:
    """The same call made over the HTTP API: the gateway turns the HTTP headers into metadata (in an
    order it does not fix), after a Host check; then the interceptor decides as for gRPC."""

    facts: ServerFacts
    http_headers: tuple[tuple[str, str], ...]
    signed_by: str | None
    call: CallTarget
    window: Window
    host: str = ""
    tls_subject: str | None = None  # the verified client certificate's subject (mTLS)
    route: tuple[str, str] = ("", "")  # (verb, path template) sent; ("", "") when not known

    def answer(self) -> Answer:
        if self.host and not http.host_allowed(self.host, self.facts.http_allowed_hosts):
            return Answer(
                frozenset({Outcome.REFUSED}), f"Host {self.host!r} is not in frontend.httpAllowedHosts"
            )
        verb, template = self.route
        if template and not http_routes.serves(str(self.facts.version), self.call.method, verb, template):
            return Answer(
                frozenset({Outcome.ABSENT}),
                f"this release's gateway has no {verb.upper()} {template} (fixtures/api/http): no check at all",
            )
        answers = [
            CallQuestion(
                self.facts, Credential(metadata, self.signed_by, self.tls_subject), self.call, self.window
            ).answer()
            for metadata in http.gateway_metadata(self.http_headers, self.facts.http_forwarded)
        ]
        values = frozenset(v for a in answers for v in a.values)
        first = answers[0]
        if len(values) == 1:
            return Answer(values, f"over HTTP: {first.reason}", first.claims)
        reasons = "; ".join(sorted({a.reason for a in answers}))
        return Answer(values, f"over HTTP the gateway forwards the headers in either order: {reasons}")


@dataclass(frozen=True)
class NexusQuestion:
    """Starting a Nexus operation over HTTP: the endpoint is looked up first (dispatch by endpoint), the
    token is read from the HTTP headers and mapped without the audience, then the dispatch API is
    authorized in the target namespace. A token the mapper refuses is 401, a denial 403."""

    facts: ServerFacts
    http_headers: tuple[tuple[str, str], ...]
    signed_by: str | None
    full_method: str
    namespace: str  # by namespace and task queue: the path's; by endpoint: the endpoint's target
    endpoint_id: str
    window: Window
    path_namespace: str | None = None  # a completion's path: /namespaces/{this}/nexus/callback

    def answer(self) -> Answer:
        if self.endpoint_id and self.endpoint_id not in dict(self.facts.nexus_endpoints):
            return Answer(frozenset({Outcome.ABSENT}), "no such endpoint: looked up before the token is read")
        no_path = self.full_method == nexus.COMPLETE_NEXUS_OPERATION and self.path_namespace is None
        server = rules.rules_for(self.facts.version)
        if no_path and not server.nexus_callback_route:
            return Answer(frozenset({Outcome.ABSENT}), "no /nexus/callback route before 1.30")
        namespace = self.namespace
        mismatch = ""  # before 1.30: checked only once the path's namespace is authorized
        if (
            self.full_method == nexus.COMPLETE_NEXUS_OPERATION
            and not server.nexus_completion_by_token_namespace
        ):
            # Before 1.30 the route's namespace is the one authorized; then the callback token's namespace
            # must be the path's (components/nexusoperations/frontend/handler.go: 400 "invalid callback
            # token"; seen live on 1.28.1 and 1.29.1 for a system admin).
            namespace = self.path_namespace or ""
            mismatch = nexus.completion_refusal(self.path_namespace, self.namespace)
        elif self.full_method == nexus.COMPLETE_NEXUS_OPERATION:
            refusal = nexus.completion_refusal(self.path_namespace, self.namespace)
            if refusal:
                return Answer(frozenset({Outcome.REFUSED if self.namespace else Outcome.ABSENT}), refusal)
        value = nexus.token_header(self.http_headers, self.facts.config.effective_header_name(server))
        credential = Credential(
            ((self.facts.config.effective_header_name(server).lower(), value),) if value else (),
            self.signed_by,
        )
        config = dataclasses.replace(self.facts.config, audience=nexus.audience(self.facts.config.audience))
        facts = dataclasses.replace(self.facts, config=config)
        rings, _ = facts.keys.rings_during(self.window.start, self.window.end)
        outcomes = set()
        reasons = set()
        claims = None
        for ring in rings:
            for now in self.window.seconds():
                e = decide.expect(credential, CallTarget(self.full_method, namespace), rules=server,
                                  table=facts.table, keyring=ring, config=config, now=now,
                                  namespaces=facts.namespaces)  # fmt: skip
                refused = Outcome(nexus.refused_token_outcome(self.full_method))
                if not e.present and not e.mapper_refused:
                    # The HTTP route is the server's own: it always asks the authorizer, which finds no
                    # metadata for a name this release's table lacks (1.25-1.27) and denies everyone.
                    outcomes.add(Outcome.DENIED)
                    reasons.add(f"{CallTarget(self.full_method).method} has no API metadata on this release: "
                                f"the default authorizer denies every caller")  # fmt: skip
                    continue
                if mismatch and e.outcome is Outcome.ALLOWED:
                    outcomes.add(Outcome.REFUSED)
                    reasons.add(f"{e.reason}; then {mismatch}: 400 invalid callback token")
                    continue
                outcomes.add(refused if e.mapper_refused else e.outcome)
                reasons.add(e.reason)
                claims = e.claims
        reason = "; ".join(sorted(reasons)) + " (Nexus HTTP: no audience check)"
        return Answer(frozenset(outcomes), reason, claims if len(outcomes) == 1 else None)


@dataclass(frozen=True)
class InternalFrontendQuestion:
    """A call made to internal-frontend's own port (gRPC or HTTP), by any caller."""

    facts: ServerFacts
    call: CallTarget

    def answer(self) -> Answer:
        e = decide.expect_internal(
            self.call, rules=rules.rules_for(self.facts.version), table=self.facts.table
        )
        return Answer(frozenset({e.outcome}), e.reason, e.claims)


@dataclass(frozen=True)
class HandlerHeadersQuestion:
    """Which of the caller's HTTP headers reach the Nexus handler worker -> (sorted header names, whether
    the caller's token arrives intact). Held in memory only: the headers carry the token."""

    sent: tuple[tuple[str, str], ...]
    token_value: str
    blacklist: tuple[str, ...] | None
    version: ServerVersion | None = None  # None: the newest default blacklist

    def answer(self) -> Answer:
        default = (
            nexus.default_blacklist(rules.rules_for(self.version))
            if self.version
            else nexus.DEFAULT_BLACKLIST
        )
        received = nexus.handler_headers(self.sent, self.blacklist, default)
        names = tuple(sorted(k for k in received if k.lower() != "request-timeout"))
        handed = received.get("authorization") == self.token_value
        return Answer(
            frozenset({(names, handed)}),
            "caller headers, lower-cased, minus content-*, nexus-callback-*, host and the blacklist",
        )


@dataclass(frozen=True)
class TaskTokenQuestion:
    """A workflow-task completion whose task token comes from `token_namespace`: -> (the completion's
    outcome, whether the task in the token's namespace completes)."""

    facts: ServerFacts
    credential: Credential
    request_namespace: str
    token_namespace: str
    enforcement: bool
    window: Window

    def answer(self) -> Answer:
        against = tasks.completion_namespace(self.request_namespace, self.token_namespace, self.enforcement)
        if against is None:
            return Answer(
                frozenset({(Outcome.REFUSED, False)}),
                "refused before authorization: token from another namespace",
            )
        respond = CallQuestion(
            self.facts,
            self.credential,
            CallTarget(
                "/temporal.api.workflowservice.v1.WorkflowService/RespondWorkflowTaskCompleted", against
            ),
            self.window,
        ).answer()
        follows = rules.rules_for(self.facts.version).completion_follows_token
        reaches = tasks.completes_token_task(
            self.request_namespace, self.token_namespace, self.enforcement, follows_token=follows
        )
        values = frozenset((v, v is Outcome.ALLOWED and reaches) for v in respond.values)
        where = (
            f"; before 1.24 the completion goes to the task token's namespace ({self.token_namespace!r})"
            if follows and reaches and against != self.token_namespace
            else ("" if reaches else f"; history looks the workflow up in {against!r} and finds none")
        )
        return Answer(values, f"authorized against {against!r}: {respond.reason}{where}", respond.claims)


@dataclass(frozen=True)
class PrincipalQuestion:
    """Who the events a call writes are attributed to: -> the principal (type, name), or () for none. The
    caller is a credential on the public frontend, or None for the server's own workers (which call
    through internal-frontend)."""

    facts: ServerFacts
    credential: Credential | None
    call: CallTarget
    window: Window

    def answer(self) -> Answer:
        server = rules.rules_for(self.facts.version)
        if self.credential is None:
            claims: Claims | None = decide.internal_frontend_claims(server)
            allowed, why = True, "internal-frontend: the server's own worker"
        else:
            call = CallQuestion(self.facts, self.credential, self.call, self.window).answer()
            if not call.determinate:
                return Answer(frozenset({None}), f"the call itself is not settled: {call.reason}")
            claims, allowed, why = call.claims, call.value is Outcome.ALLOWED, call.reason
        principal = principals.event_principal(
            claims,
            self.call.namespace,
            allowed,
            server,
            self.facts.config,
            internal=self.credential is None,
            sent=self.credential.headers if self.credential is not None else (),
        )
        on = principals.propagates(self.facts.config, self.call.namespace)
        setting = f"enablePrincipalPropagation {'on' if on else 'off'} for {self.call.namespace!r}"
        if not server.principal_propagation:
            setting = "no principal attribution before 1.31"
        return Answer(frozenset({principal or ()}), f"{setting}; {why}", claims)


@dataclass(frozen=True)
class MetricsQuestion:
    """How much one call adds to the server's authorization metrics: -> ((metric, delta), ...)."""

    facts: ServerFacts
    credential: Credential
    call: CallTarget
    window: Window

    def answer(self) -> Answer:
        server = rules.rules_for(self.facts.version)
        rings, _ = self.facts.keys.rings_during(self.window.start, self.window.end)
        expectations = [
            decide.expect(
                self.credential,
                self.call,
                rules=server,
                table=self.facts.table,
                keyring=ring,
                config=self.facts.config,
                now=now,
                namespaces=self.facts.namespaces,
            )
            for ring in rings
            for now in self.window.seconds()
        ]
        values = frozenset(tuple(sorted(metrics.counted(e, server).items())) for e in expectations)
        first = expectations[0]
        why = "the claim mapper refused it: counted nowhere" if first.mapper_refused else first.reason
        return Answer(values, why, first.claims)


@dataclass(frozen=True)
class QuotaQuestion:
    """How a call is answered when it reaches a namespace whose bucket of `burst` tokens was full before
    `earlier` calls (each a CallQuestion): -> denied | rate-limited | served. `exhausted`: the bucket
    is known to be empty when the call arrives (it was just seen refusing)."""

    call: CallQuestion
    burst: int
    earlier: tuple[CallQuestion, ...] = ()
    exhausted: bool = False

    def answer(self) -> Answer:
        outcome = self.call.answer()
        earlier = [q.answer() for q in self.earlier]
        if not outcome.determinate or not all(a.determinate for a in earlier):
            return Answer(frozenset({"indeterminate"}), "the authorizer's answer is not settled")
        left = not self.exhausted and quota.quota_left_after(self.burst, [a.value for a in earlier])
        value = quota.answer_with_quota(outcome.value, left)
        return Answer(
            frozenset({value}), f"{outcome.value.value} by the authorizer: {outcome.reason}", outcome.claims
        )


@dataclass(frozen=True)
class QuotaSharingQuestion:
    """Does one caller flooding `flooding` make another caller's `starved` calls in the same namespace
    fail for want of quota? -> bool."""

    facts: ServerFacts
    flooding: str  # full method names
    starved: str

    def answer(self) -> Answer:
        possible = quota.one_caller_can_starve_another(self.flooding, self.starved)
        why = (
            f"one quota per namespace, shared by every caller; {self.flooding.rpartition('/')[2]} has "
            f"priority {quota.priority(self.flooding)}, {self.starved.rpartition('/')[2]} "
            f"{quota.priority(self.starved)} (a call draws on its own priority's bucket and every lower one)"
        )
        return Answer(possible, why)


@dataclass(frozen=True)
class HandshakeQuestion:
    """Does the frontend take a connection presenting this client certificate? -> ALLOWED or REFUSED
    (refused at the TLS handshake, before any header is read). `certificate`: None, "trusted" (issued
    by the frontend's client CA) or "untrusted"."""

    facts: ServerFacts
    certificate: str | None

    def answer(self) -> Answer:
        if transport.handshake_accepts(self.certificate, self.facts.config):
            return Answer(frozenset({Outcome.ALLOWED}), "the TLS handshake completes")
        shown = self.certificate or "no"
        return Answer(
            frozenset({Outcome.REFUSED}),
            f"requireClientAuth: {shown} client certificate -> refused at the TLS handshake",
        )


@dataclass(frozen=True)
class LongPollQuestion:
    """A long poll whose token expires while it waits, and a task that arrives after that: -> (the poll's
    outcome when it started, whether it hands the task over)."""

    poll: CallQuestion

    def answer(self) -> Answer:
        at_start = self.poll.answer()
        if not at_start.determinate:
            return Answer(frozenset((v, False) for v in at_start.values), at_start.reason, at_start.claims)
        delivers = tasks.long_poll_delivers_after_expiry(at_start.value is Outcome.ALLOWED)
        why = "authorization runs once, when the call starts" if delivers else at_start.reason
        return Answer(frozenset({(at_start.value, delivers)}), why, at_start.claims)


@dataclass(frozen=True)
class CrossNamespaceQuestion:
    """A workflow-task completion carrying a command into another namespace: -> (the completion's
    outcome, whether the command takes effect)."""

    facts: ServerFacts
    credential: Credential
    source_namespace: str
    target_namespace: str
    api: str  # SignalWorkflowExecution | StartWorkflowExecution | RequestCancelWorkflowExecution
    enabled: bool | None  # system.enableCrossNamespaceCommands (None: the version's default)
    window: Window

    def answer(self) -> Answer:
        respond = CallQuestion(
            self.facts,
            self.credential,
            CallTarget(
                "/temporal.api.workflowservice.v1.WorkflowService/RespondWorkflowTaskCompleted",
                self.source_namespace,
            ),
            self.window,
        ).answer()
        if not respond.determinate or respond.value is not Outcome.ALLOWED:
            return Answer(frozenset((v, False) for v in respond.values), respond.reason, respond.claims)
        server = rules.rules_for(self.facts.version)
        decision, effect, reason = authorizer.authorize_cross_namespace_command(
            respond.claims, self.target_namespace, self.api, server, self.facts.table, enabled=self.enabled
        )
        outcome = Outcome.ALLOWED if decision is Decision.ALLOW else Outcome.DENIED
        return Answer(frozenset({(outcome, effect)}), reason, respond.claims)


@dataclass
class Asked:
    """A question, its answer at the time, and what the server did (for the mutant replay)."""

    question: Question
    answer: Answer
    observed: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def present(facts: ServerFacts, full_method: str) -> bool:
    return apis.is_present(facts.table, full_method)
