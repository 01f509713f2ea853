"""One case runner: build the token, carry it as the case says, probe, ask the model, compare.

A case is a declaration (token recipe, presentation, calls, server config, what would show its
finding); `run_case` does the rest the same way for every suite. Where the model allows more than one
answer for a call (keys refreshed or the clock ticked while it ran), the runner waits for the keys to
settle and probes again: a verdict never depends on how busy the machine was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.cases.ask import (
    Answer,
    Asked,
    CallQuestion,
    HttpCallQuestion,
    NexusQuestion,
    ServerFacts,
    Window,
)
from harness.cases.calls import Call, labels, role_calls
from harness.cases.evidence import Evidence, check
from harness.cases.surfaces import Asking, Sending, surface_of
from harness.errors import HarnessError
from harness.model import Credential
from harness.model.features import Feature
from harness.probes.grpc import Observation
from harness.server.config import ServerSettings
from harness.server.target import SUITE_NAMESPACE, Target
from harness.tokens.mint import MintedToken
from harness.tokens.presentation import DEFAULT, Presentation
from harness.types import Outcome

TokenRecipe = Callable[[Target], MintedToken | None]
CallSet = Callable[[Target], Sequence[Call]]
ATTEMPTS = 5


def default_calls(target: Target) -> Sequence[Call]:
    return role_calls(SUITE_NAMESPACE)


@dataclass(frozen=True)
class Observed:
    """What the server did with each call of a case."""

    observations: dict[str, Observation]

    @property
    def outcomes(self) -> dict[str, Outcome]:
        return {label: o.outcome for label, o in self.observations.items()}

    def __getitem__(self, label: str) -> Outcome:
        return self.observations[label].outcome

    @property
    def accepted(self) -> bool:
        """The token got past the claim mapper: the exempt call was allowed."""
        return self["exempt"] is Outcome.ALLOWED

    def granted(self, *call_labels: str) -> bool:
        return all(self[label] is Outcome.ALLOWED for label in call_labels)

    def refused_all_but_exempt(self) -> bool:
        return self.accepted and all(
            o is Outcome.DENIED for label, o in self.outcomes.items() if label != "exempt"
        )


FindingCheck = Callable[[Observed], bool]


def fixed(*calls: Call) -> CallSet:
    """These calls, whatever the server."""
    return lambda target: list(calls)


def denied(label: str) -> FindingCheck:
    """The finding shows when the server refused this call."""
    return lambda observed: observed[label] is Outcome.DENIED


def allowed(label: str) -> FindingCheck:
    return lambda observed: observed[label] is Outcome.ALLOWED


def all_denied(*call_labels: str) -> FindingCheck:
    """The finding shows when the server refused every one of these calls."""
    return lambda observed: all(observed[label] is Outcome.DENIED for label in call_labels)


def absent(label: str) -> FindingCheck:
    """The finding shows when the server did not know the call (or the route's target)."""
    return lambda observed: observed[label] is Outcome.ABSENT


def accepted(observed: Observed) -> bool:
    """The finding shows when the token got past the claim mapper."""
    return observed.accepted


def refused(observed: Observed) -> bool:
    """The finding shows when the claim mapper refused the token outright."""
    return not observed.accepted


@dataclass(frozen=True)
class Case:
    req: str
    name: str
    token: TokenRecipe | None  # None: an anonymous caller
    presentation: Presentation = DEFAULT
    calls: CallSet = default_calls
    settings: ServerSettings | None = None  # a server of this config (one per config, pooled)
    finding: FindingCheck | None = None  # what, observed, shows the requirement's finding
    since: Feature | None = None  # what the release must have for the case to apply
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.req}-{self.name}"


def facts_of(target: Target) -> ServerFacts:
    settings = target.settings
    return ServerFacts(
        target.version,
        target.table,
        target.auth_config,
        target.keys,
        tuple(settings.http_forwarded_headers),
        tuple(settings.dynamic_config.get("frontend.httpAllowedHosts") or ()),
        tuple(target.nexus_endpoints.items()),
        frozenset(target.namespaces) if target.namespaces is not None else None,
    )


async def probe_calls(
    target: Target, calls: Sequence[Call], headers: Sequence[tuple[str, str]]
) -> dict[str, Observation]:
    """Each call through the surface it belongs to (harness/cases/surfaces.py), concurrently."""
    names = [name for name, _ in headers]
    repeated = len(set(names)) < len(names)
    if repeated and target.tls and any(c.surface == "grpc" for c in calls):
        raise HarnessError("repeated headers are sent over plaintext gRPC only (the target speaks TLS)")
    sending = Sending(target, headers, await target.prober(), repeated)
    observations = await asyncio.gather(*(surface_of(c).probe(sending, c) for c in calls))
    return {c.label: o for c, o in zip(calls, observations, strict=True)}


@dataclass
class CaseRun:
    observed: Observed
    answers: dict[str, Answer]
    token: MintedToken | None
    asked: list[Asked] = field(default_factory=list)

    @property
    def determinate(self) -> bool:
        return all(a.determinate for a in self.answers.values())

    @property
    def expected(self) -> dict[str, Outcome]:
        return {label: a.value for label, a in self.answers.items()}


async def observe(
    target: Target,
    calls: Sequence[Call],
    token: MintedToken | None,
    presentation: Presentation = DEFAULT,
    settle_deadline: float = 30.0,
    attempts: int = ATTEMPTS,
) -> CaseRun:
    """Probe `calls` with `token` carried by `presentation`, and ask the model about each, until every
    answer is determinate (the keys or the clock may change while a call runs). With attempts=1 an
    indeterminate run is returned as it is: the caller decides (`CaseRun.determinate`)."""
    headers = target.headers(token, presentation)
    credential = target.credential(token, presentation)
    facts = facts_of(target)
    last: dict[str, Answer] = {}
    for attempt in range(attempts):
        observations = await probe_calls(target, calls, headers)
        asked = [
            Asked(question_for(facts, c, credential, headers, token, o), Answer(frozenset(), ""), o.outcome)
            for c, o in ((c, observations[c.label]) for c in calls)
        ]
        for item in asked:
            item.answer = item.question.answer()
        last = {c.label: item.answer for c, item in zip(calls, asked, strict=True)}
        if all(a.determinate for a in last.values()) or attempts == 1:
            return CaseRun(Observed(observations), last, token, asked)
        if attempt == attempts - 1:
            break
        keys_moving = any(not target.keys.rings_during(o.started, o.ended)[1] for o in observations.values())
        if keys_moving:
            await target.keys.settle(settle_deadline)
        # else the clock crossed a second that matters (exp, nbf): probing again is enough
    undecided = {label: sorted(v.value for v in a.values) for label, a in last.items() if not a.determinate}
    raise HarnessError(
        f"the model could not settle on one answer in {attempts} attempts ({undecided}): the keys kept "
        f"changing while the calls ran"
    )


def question_for(
    facts: ServerFacts,
    call: Call,
    credential: Credential,
    headers: Sequence[tuple[str, str]],
    token: MintedToken | None,
    observation: Observation,
) -> CallQuestion | HttpCallQuestion | NexusQuestion:
    window = Window.between(observation.started, observation.ended)
    return surface_of(call).question(Asking(facts, credential, headers, token), call, window)


def fill(evidence: Evidence, run: CaseRun, calls: Sequence[Call], presentation: Presentation) -> None:
    """Expected vs observed per call, with the model's reasons and the server's answers."""
    evidence.expected, evidence.observed = run.expected, run.observed.outcomes
    evidence.api = labels(calls)
    evidence.namespace = next((c.namespace for c in calls if c.namespace), "")
    evidence.claims = run.token.evidence() if run.token else {"token": None}
    evidence.presentation = presentation.describe() if run.token else ["(no token)"]
    evidence.reason = "; ".join(f"{label}: {a.reason}" for label, a in run.answers.items())
    evidence.extra["server"] = {label: o.answer() for label, o in run.observed.observations.items()}
    evidence.asked.extend(run.asked)


async def run_case(target: Target, case: Case, evidence: Evidence, **extra: Any) -> Observed:
    """Run one case against `target` (already the server of the case's config) and check it."""
    token = case.token(target) if case.token is not None else None
    calls = case.calls(target)
    run = await observe(target, calls, token, case.presentation)
    fill(evidence, run, calls, case.presentation)
    if case.settings is not None and case.settings.authorization:
        evidence.extra["config"] = dict(case.settings.authorization)
    evidence.extra.update(extra)
    if case.finding is not None:
        evidence.finding_holds = case.finding(run.observed)
    check(evidence, case.req)
    return run.observed


@dataclass
class Steps:
    """A script of several observations against one server (faults, rotations): each step probed and
    compared with the model at that moment; one check over all of them at the end."""

    target: Target
    evidence: Evidence
    expected: dict[str, Any] = field(default_factory=dict)
    observed: dict[str, Any] = field(default_factory=dict)

    async def probe(
        self,
        label: str,
        token: MintedToken | None,
        calls: Sequence[Call] | None = None,
        presentation: Presentation = DEFAULT,
    ) -> Observed:
        calls = list(calls) if calls is not None else role_calls(SUITE_NAMESPACE)[:2]
        run = await observe(self.target, calls, token, presentation)
        self.expected[label] = run.expected
        self.observed[label] = run.observed.outcomes
        self.evidence.asked.extend(run.asked)
        self.evidence.extra.setdefault("tokens", {})[label] = run.token.evidence() if run.token else None
        self.evidence.extra.setdefault("model", {})[label] = {k: a.reason for k, a in run.answers.items()}
        return run.observed

    def check(self, requirement: str = "") -> None:
        __tracebackhide__ = True
        self.evidence.expected, self.evidence.observed = self.expected, self.observed
        self.evidence.extra["key_sources"] = self.target.keys.describe()
        check(self.evidence, requirement)
