"""Questions to a release's oracle program, and its answers in the model's terms.

Key sources are given per refresh round (round 0 is the fetch the provider makes when it is built);
a key source the program serves answers a body with a status, or refuses the connection. The keys the
provider holds come back as the model's KeyRing (kty, kid, the fingerprint of the decoded public values),
so a ring the model computes and one the release's code holds compare as sets.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.model import jose
from harness.model.claims import KeyRing, PublishedKey
from harness.oracle.client import ANSWER_TIMEOUT_S, OracleProcess
from harness.types import CallTarget, Outcome, ServerVersion


@dataclass(frozen=True)
class Served:
    """What one key source answers in one round: a body and its status, or a refused connection."""

    body: bytes | None
    status: int = 200

    def as_json(self) -> dict[str, Any]:
        if self.body is None:
            return {"refused": True}
        return {"status": self.status, "body": base64.b64encode(self.body).decode()}


REFUSED = Served(None)


@dataclass(frozen=True)
class KeySources:
    """keySourceURIs ("{0}", "{1}": sources the program serves, in `rounds` order; "{dir}": a directory
    holding `files`) and what each served source answers per round."""

    uris: tuple[str, ...]
    rounds: tuple[tuple[Served, ...], ...]
    files: tuple[tuple[str, bytes], ...] = ()

    @classmethod
    def one(cls, *rounds: Served) -> KeySources:
        """A single served source answering `rounds` in turn."""
        return cls(("{0}",), tuple((r,) for r in rounds))

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "uris": list(self.uris),
            "rounds": [[s.as_json() for s in round_] for round_ in self.rounds],
        }
        if self.files:
            data["files"] = {name: base64.b64encode(body).decode() for name, body in self.files}
        return data


@dataclass(frozen=True)
class RoundKeys:
    ring: KeyRing
    error: str  # the round's error ("" when it was applied)


def ring_of(answer: Mapping[str, Any]) -> KeyRing:
    # rsa.PublicKey.E is an int (go-jose: big.Int.Int64, the low 64 bits, negative past 2**63); the model
    # identifies a key by those 64 bits unsigned (harness.model.keyset.jwk_fingerprint).
    keys = [
        PublishedKey(
            "RSA", kid, jose.fingerprint("RSA", {"n": int(v["n"]), "e": int(v["e"]) & 0xFFFFFFFFFFFFFFFF})
        )
        for kid, v in sorted(answer.get("rsa", {}).items())
    ]
    keys += [
        PublishedKey(
            "EC", kid, jose.fingerprint("EC", {"crv": v["crv"], "x": int(v["x"]), "y": int(v["y"])}), v["crv"]
        )
        for kid, v in sorted(answer.get("ec", {}).items())
    ]
    return KeyRing(tuple(keys))


def key_set(ring: KeyRing) -> frozenset[tuple[str, str, str]]:
    """A ring as a set: (kty, kid, fingerprint), the last key of a type and kid only."""
    latest = {(k.kty, k.kid): k.fingerprint for k in ring.keys}
    return frozenset((kty, kid, fp) for (kty, kid), fp in latest.items())


@dataclass(frozen=True)
class Decided:
    """The release's mapper and authorizer on one token and the calls: refusal, claims, outcomes."""

    mapper_error: str
    claims: Mapping[str, Any] | None
    outcomes: tuple[Outcome, ...]


@dataclass(frozen=True)
class Transport:
    """An HTTP request through the release's net/http and grpc-gateway: where it stopped ("net/http",
    "host", "gateway": before authorization) or "interceptor", with the value read and its decisions."""

    stage: str
    said: str
    read: bytes = b""
    decided: Decided | None = None


class Oracle:
    """A release's oracle program, asked in the model's terms."""

    def __init__(self, version: ServerVersion, binary: Path) -> None:
        self.version = version
        self.process = OracleProcess(binary)
        self._ops: frozenset[str] | None = None

    def supports(self, op: str) -> bool:
        if self._ops is None:
            self._ops = frozenset(self.process.ask("version").get("ops") or ())
        return op in self._ops

    def rounds(self, sources: KeySources) -> list[RoundKeys]:
        return self.send_rounds(sources)()

    def send_rounds(self, sources: KeySources) -> Callable[[], list[RoundKeys]]:
        """The keys the provider holds after each round (asked now, read when called)."""
        pending = self.process.send("keys", keys=sources.as_json())
        return lambda: [
            RoundKeys(ring_of(r), str(r.get("error") or "")) for r in pending(ANSWER_TIMEOUT_S)["rounds"]
        ]

    def decide(
        self,
        header: str,
        calls: Sequence[CallTarget],
        sources: KeySources,
        now: int,
        *,
        audience: str = "",
        claim_name: str = "",
        regex: str = "",
    ) -> Decided:
        return self.send_decide(
            header, calls, sources, now, audience=audience, claim_name=claim_name, regex=regex
        )()

    def send_decide(
        self,
        header: str,
        calls: Sequence[CallTarget],
        sources: KeySources,
        now: int,
        *,
        audience: str = "",
        claim_name: str = "",
        regex: str = "",
    ) -> Callable[[], Decided]:
        """The mapper and authorizer on a token and calls (asked now, read when called)."""
        pending = self.process.send(
            "decide",
            encoded=_fixed_members(sources, tuple(calls)),
            now=now,
            header=header,
            audience=audience,
            claim_name=claim_name,
            regex=regex,
        )

        def decided() -> Decided:
            answer = pending(ANSWER_TIMEOUT_S)
            outcomes = tuple(_outcome(d) for d in answer["decisions"])
            return Decided(str(answer.get("mapper_error") or ""), answer.get("claims"), outcomes)

        return decided

    def hosts(self, patterns: Any, hosts: Sequence[str]) -> tuple[str, tuple[bool, ...]]:
        """frontend.httpAllowedHosts as a dynamic config value (None: unset) -> (the regexp, matches)."""
        answer = self.process.ask("hosts", patterns=patterns, hosts=list(hosts))
        return str(answer["regexp"]), tuple(bool(m) for m in answer["matches"])

    def send_header(self, auth_header_name: str, metadata: Sequence[tuple[str, str]]) -> Callable[[], str]:
        """The value the interceptor reads as the token from this incoming metadata (1.29+)."""
        pending = self.process.send(
            "header", auth_header_name=auth_header_name, metadata=[list(p) for p in metadata]
        )
        return lambda: str(pending(ANSWER_TIMEOUT_S).get("token") or "")

    def send_hosts(self, patterns: Any, hosts: Sequence[str]) -> Callable[[], tuple[bool, ...]]:
        pending = self.process.send("hosts", patterns=patterns, hosts=list(hosts))
        return lambda: tuple(bool(m) for m in pending(ANSWER_TIMEOUT_S)["matches"])

    def gateway(
        self, raw: bytes, *, patterns: Any = None, forwarded: Sequence[str] = (), auth_header_name: str = ""
    ) -> dict[str, Any]:
        """Bytes sent to the HTTP API: the status net/http answers, and where it reaches the handler, the
        Host check, the metadata grpc-gateway makes and the value the interceptor reads."""
        return self.process.ask(
            "gateway",
            raw=base64.b64encode(raw).decode(),
            patterns=patterns,
            forwarded=list(forwarded),
            auth_header_name=auth_header_name,
        )

    def send_transport(
        self,
        raw: bytes,
        calls: Sequence[CallTarget],
        sources: KeySources,
        now: int,
        *,
        audience: str = "",
        claim_name: str = "",
        regex: str = "",
    ) -> Callable[[], Transport]:
        """Bytes sent to the HTTP API, through net/http and grpc-gateway (the gateway question), then the
        value the interceptor read through the mapper and authorizer on `calls` (asked now, read when
        called)."""
        pending = self.process.send(
            "gateway",
            raw=base64.b64encode(raw).decode(),
            keys=sources.as_json(),
            now=now,
            audience=audience,
            claim_name=claim_name,
            regex=regex,
            calls=[{"api": c.full_method, "namespace": c.namespace} for c in calls],
        )

        def read() -> Transport:
            answer = pending(ANSWER_TIMEOUT_S)
            handled = answer.get("handled")
            if answer.get("status") != 200 or not isinstance(handled, dict):
                said = str(answer.get("transport_error") or answer.get("body") or answer.get("status"))
                return Transport("net/http", said.strip())
            if handled.get("host_refused"):
                return Transport("host", "Host not allowed")
            if handled.get("annotate_error"):
                return Transport("gateway", f"{handled.get('annotate_code')}: {handled['annotate_error']}")
            decided = answer["decided"]
            outcomes = tuple(_outcome(d) for d in decided["decisions"])
            value = base64.b64decode(str(handled.get("auth_b64") or ""))
            return Transport(
                "interceptor",
                str(decided.get("mapper_error") or ""),
                value,
                Decided(str(decided.get("mapper_error") or ""), decided.get("claims"), outcomes),
            )

        return read

    def close(self) -> None:
        self.process.close()


@functools.lru_cache(maxsize=256)
def _fixed_members(sources: KeySources, calls: tuple[CallTarget, ...]) -> str:
    """A decide question's key sources and calls as JSON members: encoded once (the fast oracle asks
    thousands of questions about the same ones)."""
    members = {
        "keys": sources.as_json(),
        "calls": [{"api": c.full_method, "namespace": c.namespace} for c in calls],
    }
    return json.dumps(members, ensure_ascii=False)[1:-1]


def _outcome(decision: str) -> Outcome:
    if decision == "allow":
        return Outcome.ALLOWED
    if decision == "deny":
        return Outcome.DENIED
    return Outcome.ERROR
