"""One release asked twice: the model (pure Python, under the guard) and the release's own functions (its
oracle program). An example becomes the same question to both, and each answer a flat dict of strings
(per token and call: the outcome; per key source: the keys held), so the two compare item by item.

The fast path signs with keys of its own (FastKeys: never published to any server, same kids as the
pooled server's), since nothing it mints is ever sent to a server; a disagreement is replayed on the live
server with that server's keys, by the class's live recipe (harness.fuzz.exercise).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from harness.fuzz import calls as sample
from harness.fuzz.guard import GUARD, ModelGuard
from harness.fuzz.jwks_text import KeySlots
from harness.fuzz.token_text import Signer, remembered, unaudited
from harness.model import claims, decide, keyset
from harness.model.apis import ApiTable
from harness.model.claims import KeyRing
from harness.model.rules import AuthConfig, ServerRules, rules_for
from harness.oracle.questions import KeySources, Oracle, Served, key_set
from harness.tokens.keys import SigningKey, ec_key, rsa_key
from harness.types import Outcome, ServerVersion

CALLS = sample.sample()
FAST_RSA_BITS = 1024
TARGETS = tuple(c.target for c in CALLS)
LABELLED_TARGETS = tuple(zip((c.label for c in CALLS), TARGETS, strict=True))


@dataclass
class FastKeys:
    """Keys the fast path signs with: the pooled server's kids, keys of their own."""

    rsa: SigningKey
    ec: SigningKey
    untrusted: SigningKey
    untrusted_ec: SigningKey
    slots: KeySlots

    @classmethod
    def generate(cls) -> FastKeys:
        # RSA keys of 1024 bits: a token-bytes input signed by "rsa" is signed afresh (its signing input is
        # new), and a 2048-bit signature was a quarter of that class's time. No release's verification
        # reads the modulus's size (Go refuses under 1024 only; the model's jose caps moduli from above);
        # the live recipe signs with the server's 2048-bit keys.
        return cls(
            rsa_key(kid="harness-rsa", bits=FAST_RSA_BITS),
            ec_key(kid="harness-ec"),
            rsa_key(kid="harness-rsa", bits=FAST_RSA_BITS),
            ec_key(kid="harness-ec"),
            KeySlots.generate(),
        )

    @cached_property
    def signer(self) -> Signer:
        """How the fast path signs token-bytes inputs: correctly, unaudited (no server trusts these keys),
        each signing input once (token_text.remembered: these keys live as long as this object)."""
        return remembered(unaudited)

    @cached_property
    def document(self) -> bytes:
        """The key set the fast path's default key source serves: its RSA and EC keys."""
        return json.dumps({"keys": [self.rsa.public_jwk(), self.ec.public_jwk()]}).encode()

    @cached_property
    def fingerprints(self) -> dict[str, str]:
        """Fingerprints by key name (computing one decodes the JWK: kept)."""
        named = {
            "rsa": self.rsa,
            "ec": self.ec,
            "untrusted": self.untrusted,
            "untrusted-ec": self.untrusted_ec,
        }
        return {name: key.fingerprint for name, key in {**named, **self.slots.signing}.items()}


@dataclass(frozen=True)
class Compared:
    """One example's answers: item -> value, from the model and from the release's functions."""

    model: Mapping[str, str]
    oracle: Mapping[str, str]
    detail: Mapping[str, Any] = field(default_factory=dict)  # for the report: claims, errors, rings

    def differences(self) -> list[str]:
        return [
            k for k in sorted(set(self.model) | set(self.oracle)) if self.model.get(k) != self.oracle.get(k)
        ]


@dataclass
class Twin:
    oracle: Oracle
    version: ServerVersion
    table: ApiTable
    config: AuthConfig = field(default_factory=AuthConfig)
    keys: FastKeys = field(default_factory=FastKeys.generate)
    guard: ModelGuard = GUARD

    @property
    def rules(self) -> ServerRules:
        return rules_for(self.version)

    @cached_property
    def default_sources(self) -> KeySources:
        return KeySources.one(Served(self.keys.document))

    @cached_property
    def default_ring(self) -> KeyRing:
        return self.model_ring((), [Served(self.keys.document)])

    def model_ring(self, previous: Sequence[Served], rounds: Sequence[Served | Sequence[Served]]) -> KeyRing:
        """The model's key provider after these refresh rounds (each one source, or several in order)."""

        def run() -> KeyRing:
            ring = KeyRing()
            for round_ in [*previous, *rounds]:
                answers = [round_] if isinstance(round_, Served) else list(round_)
                served = [keyset.SourceAnswer(a.body, a.status) for a in answers]
                ring = keyset.refresh(ring, served, self.rules.jose)
            return ring

        return self.guard("the key provider's refresh rounds", run)

    def model_outcomes(
        self, header: str, signed_by: str | None, ring: KeyRing, now: int, config: AuthConfig | None = None
    ) -> dict[str, str]:
        """The model's outcome for each call of the sample, the token carried in `authorization`."""
        credential = decide.Credential((("authorization", header),), signed_by)
        rules, config = self.rules, config or self.config

        def run() -> dict[str, str]:
            with mapped_once():  # the same token on every call: mapped once
                return {
                    label: decide.expect(
                        credential,
                        target,
                        rules=rules,
                        table=self.table,
                        keyring=ring,
                        config=config,
                        now=now,
                    ).outcome.value
                    for label, target in LABELLED_TARGETS
                }

        return self.guard("the claim mapper and authorizer", run)

    def oracle_outcomes(
        self, header: str, sources: KeySources, now: int, config: AuthConfig | None = None
    ) -> Callable[[], tuple[dict[str, str], dict[str, Any]]]:
        """The release's outcome for each call of the sample: asked now (the program works while the
        model does), read when the returned function is called."""
        config = config or self.config
        pending = self.oracle.send_decide(
            header,
            TARGETS,
            sources,
            now,
            audience=config.audience if self.rules.audience_supported else "",
            claim_name=config.permissions_claim_name,
            regex=config.permissions_regex if self.rules.regex_supported else "",
        )

        def read() -> tuple[dict[str, str], dict[str, Any]]:
            decided = pending()
            outcomes = {call.label: o.value for call, o in zip(CALLS, decided.outcomes, strict=True)}
            said = (
                {"mapper_error": decided.mapper_error} if decided.mapper_error else {"claims": decided.claims}
            )
            return outcomes, said

        return read

    def oracle_ring(self, sources: KeySources) -> Callable[[], tuple[KeyRing, str]]:
        """The keys the release's provider holds after the last round, and that round's error (read later)."""
        pending = self.oracle.send_rounds(sources)

        def read() -> tuple[KeyRing, str]:
            last = pending()[-1]
            return last.ring, last.error

        return read


@contextlib.contextmanager
def mapped_once() -> Iterator[None]:
    """While the sample's calls of one example are decided: the claim mapper's answer (claims.map_claims,
    whatever function is there now, a model mutant's included) is worked out once per distinct question,
    refusals too, instead of once per call; restored after."""
    mapper = claims.map_claims
    answers: dict[tuple[Any, ...], Any] = {}

    def once(*args: Any) -> Any:
        # Keyed by the identity of what is not text or a number (the ring, config and rules are the same
        # objects for every call of the example): hashing those dataclasses cost more than the mapping.
        key = tuple(a if isinstance(a, str | int | None) else id(a) for a in args)
        if key not in answers:
            try:
                answers[key] = mapper(*args)
            except claims.MapperError as refusal:
                answers[key] = refusal
        answer = answers[key]
        if isinstance(answer, claims.MapperError):
            raise answer
        return answer

    claims.map_claims = once  # type: ignore[assignment]
    try:
        yield
    finally:
        claims.map_claims = mapper


def ring_text(ring: KeyRing) -> str:
    """A ring as comparable text: its (kty, kid, fingerprint) set, sorted."""
    return json.dumps(sorted(key_set(ring)))


def prefixed(prefix: str, values: Mapping[str, str]) -> dict[str, str]:
    return {f"{prefix}/{k}": v for k, v in values.items()}


ALLOWED = Outcome.ALLOWED.value
