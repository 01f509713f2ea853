"""An http-headers example against a live server: each of the sample's calls that has an HTTP API route
sent with the example's header lines byte for byte (harness.probes.http_raw), and what the model says of
each (harness.model.http_headers, then the value read decided as on gRPC, at the time the call ran).

Where the model allows more than one value read (two header names give `authorization`, and the gateway's
map walk picks, request by request), a call agrees with the model when its outcome is one of the outcomes
those values give.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from harness.cases.ask import Answer, Asked, CallQuestion, ServerFacts, Window
from harness.cases.runner import CaseRun, Observed, facts_of
from harness.errors import HarnessError
from harness.fuzz import calls as sample
from harness.fuzz.examples import Example
from harness.fuzz.exercised import Exercised
from harness.fuzz.http_text import TOKEN_GRANTS, Pair, header_pairs, read_label, signed_text
from harness.fuzz.servers import FuzzServers
from harness.model import Credential, http_routes
from harness.model import http_headers as model
from harness.probes.grpc import Observation
from harness.probes.http import request_for, routes
from harness.probes.http_raw import probe_raw_http
from harness.server.target import Target
from harness.types import CallTarget, Outcome

HTTP_ROUTES = {r.full_method: r for r in routes()}


@dataclass(frozen=True)
class HeaderBytesQuestion:
    """What does the server do with this call sent with these header lines? Every outcome the model allows
    (one per value the gateway may hand the interceptor)."""

    facts: ServerFacts
    pairs: tuple[Pair, ...]
    signed: tuple[tuple[bytes, str | None], ...]  # (a token's exact text, the key that signed it)
    call: CallTarget
    window: Window
    route: tuple[str, str]  # (verb, path template)

    def answer(self) -> Answer:
        went = model.transported(self.pairs, self.facts.http_forwarded)
        if went.stage != model.INTERCEPTOR:
            return Answer(frozenset({Outcome.REFUSED}), f"refused by {went.stage}: {went.reason}")
        verb, template = self.route
        if not http_routes.serves(str(self.facts.version), self.call.method, verb, template):
            return Answer(
                frozenset({Outcome.ABSENT}), f"this release's gateway has no {verb.upper()} {template}"
            )
        texts = {f"t{i}": text for i, (text, _) in enumerate(self.signed)}
        signers = {f"t{i}": key for i, (_, key) in enumerate(self.signed)}
        by_read: dict[str, Answer] = {}
        for value in went.reads:
            signer = signed_text(value, texts)
            metadata = (("authorization", value.decode("latin-1")),) if value else ()
            credential = Credential(metadata, signers[signer] if signer else None)
            by_read[read_label(value, texts)] = CallQuestion(
                self.facts, credential, self.call, self.window
            ).answer()
        values = frozenset(v for a in by_read.values() for v in a.values)
        reasons = "; ".join(f"read {label}: {a.reason}" for label, a in by_read.items())
        claims = next(iter(by_read.values())).claims if len(by_read) == 1 else None
        return Answer(values, f"{went.reason}; {reasons}", claims)


def no_plaintext_http(target: Target) -> str | None:
    """Why the http-headers class cannot run against `target` (None: it can). An external cluster given
    without --target-http, or whose frontend speaks TLS, has no plaintext HTTP API to send header bytes to:
    the class is skipped there, saying so, like the HTTP suites."""
    if target.running.http_address is None:
        return "the http-headers class needs the target's HTTP API address (--target-http): none given"
    if target.tls:
        return "the http-headers class sends plaintext HTTP/1.1 and this target's frontend speaks TLS"
    return None


async def exercise_http_headers(example: Example, servers: FuzzServers) -> Exercised:
    target = servers.default
    address = target.running.http_address
    if address is None or no_plaintext_http(target):
        raise HarnessError(no_plaintext_http(target) or "no HTTP API address")
    tokens = {name: target.mint(grants, sub="fuzz") for name, grants in TOKEN_GRANTS.items()}
    texts = {name: token.token.encode() for name, token in tokens.items()}
    pairs = header_pairs(example.input, texts)
    went = model.transported(pairs, target.settings.http_forwarded_headers)  # for the report
    # Only calls the SDK's descriptors give an HTTP route (OperatorService.ListClusters has none).
    calls = [c for c in sample.by_label(example.calls) if c.target.full_method in HTTP_ROUTES]

    async def one(full_method: str, namespace: str) -> Observation:
        # No body: the route's path names the namespace, and the gateway takes an empty body as an empty
        # request (io.EOF, service.pb.gw.go). A refused header block with a body still unread is answered
        # 400 and reset by net/http's close, often before the client reads the 400.
        verb, path, _ = request_for(HTTP_ROUTES[full_method], namespace)
        return await probe_raw_http(address, verb, path, pairs)

    observations = await asyncio.gather(*(one(c.target.full_method, c.namespace) for c in calls))
    facts = facts_of(target)
    signed = tuple((texts[name], token.signed_by) for name, token in tokens.items())
    answers: dict[str, Answer] = {}
    asked: list[Asked] = []
    for call, seen in zip(calls, observations, strict=True):
        route = HTTP_ROUTES[call.target.full_method]
        question = HeaderBytesQuestion(
            facts, tuple(pairs), signed, call.target, Window.between(seen.started, seen.ended),
            (route.verb, route.template),
        )  # fmt: skip
        allowed = question.answer()
        # One of the values the map walk may hand on: the one whose outcome the server showed, if any.
        shown = seen.outcome if seen.outcome in allowed.values else min(allowed.values, key=lambda o: o.value)
        answers[call.label] = Answer(frozenset({shown}), allowed.reason, allowed.claims)
        asked.append(Asked(question, answers[call.label], seen.outcome))
    observed = Observed({c.label: o for c, o in zip(calls, observations, strict=True)})
    run = CaseRun(observed, answers, tokens["a"], asked)
    context = {
        "headers": [[n.decode("latin-1"), v.decode("latin-1")[:200]] for n, v in pairs],
        "stage": went.stage,
    }
    return Exercised(example, target, {"token": run}, context)
