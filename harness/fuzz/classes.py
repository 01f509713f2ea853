"""The input classes the fuzzer generates: each is something a caller or an identity provider controls,
and each says which server setting or endpoint it drives and which server it needs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ServerKind(Enum):
    DEFAULT = "default"  # the pooled server of the default config
    REGEX = "regex"  # one pooled server per permissionsRegex (the regex is server config)
    OWN_JWKS = "own-jwks"  # a server of its own whose key source the fuzzer serves


@dataclass(frozen=True)
class FuzzClass:
    name: str
    requirement: str
    drives: str  # the server setting or endpoint the generated input reaches
    server: ServerKind


CLASSES: dict[str, FuzzClass] = {
    c.name: c
    for c in (
        FuzzClass(
            "claims",
            "AUTHZ-FUZZ-001",
            "a signed token's payload (permissions claim, sub, exp/nbf/iat in and out of their windows, aud, "
            "huge lists), carried in the authorization header of every call: the default claim mapper",
            ServerKind.DEFAULT,
        ),
        FuzzClass(
            "token-bytes",
            "AUTHZ-FUZZ-002",
            "the token's bytes (header and payload JSON, duplicate keys, number forms, Unicode, trailing "
            "data, segments, base64 and padding): golang-jwt's parser behind the authorization header",
            ServerKind.DEFAULT,
        ),
        FuzzClass(
            "names",
            "AUTHZ-FUZZ-003",
            "namespace and role strings in permission entries (case, Unicode, separators): the claim "
            "mapper's ns:role split, role names, the system scope and the namespace lookup",
            ServerKind.DEFAULT,
        ),
        FuzzClass(
            "regex",
            "AUTHZ-FUZZ-004",
            "global.authorization.permissionsRegex (RE2 syntax, and constructs only Python's re has) "
            "against permission strings",
            ServerKind.REGEX,
        ),
        FuzzClass(
            "jwks",
            "AUTHZ-FUZZ-005",
            "the JWKS document at jwtKeyProvider.keySourceURIs (shapes, members, key types, encodings, "
            "values, status): the default token key provider",
            ServerKind.OWN_JWKS,
        ),
        FuzzClass(
            "tenancy",
            "SEC-P2",
            "a tenant of namespace A with every right there, mixing every path into namespace B it has "
            "(commands, batches, the batcher's input, multi-operations, task tokens, calls by id, callbacks); "
            "the invariant is SEC-P2 read from B after every step (harness/security/machine.py)",
            ServerKind.DEFAULT,
        ),
        FuzzClass(
            "rotation",
            "AUTHZ-FUZZ-006",
            "the key source over time (publish, retire, rotate, faults, refreshes): the key provider's "
            "refresh rounds (jwtKeyProvider.refreshInterval)",
            ServerKind.OWN_JWKS,
        ),
    )
}


def selected(names: str) -> list[FuzzClass]:
    """`--fuzz-class a,b` (empty: all). An unknown name is a ValueError naming the known ones."""
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in CLASSES]
    if unknown:
        raise ValueError(f"unknown fuzz class {', '.join(unknown)}: choose from {', '.join(CLASSES)}")
    return [CLASSES[n] for n in wanted] if wanted else list(CLASSES.values())
