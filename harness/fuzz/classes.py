"""The input classes the fuzzer generates: each is something a caller or an identity provider controls,
and each says which server setting or endpoint it drives and which server it needs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from harness.model.features import Feature


class ServerKind(Enum):
    DEFAULT = "default"  # the pooled server of the default config
    REGEX = "regex"  # one pooled server per permissionsRegex (the regex is server config)
    OWN_JWKS = "own-jwks"  # a server of its own whose key source the fuzzer serves
    CONFIG = "config"  # one pooled server per config value (frontend.httpAllowedHosts, audience, ...)


@dataclass(frozen=True)
class FuzzClass:
    name: str
    requirement: str
    drives: str  # the server setting or endpoint the generated input reaches
    server: ServerKind
    # Drawn against the release's own functions too (harness.fuzz.fast_check), far faster than live.
    oracle: bool = False
    # What the release must have for the class to apply (releases without it skip the class and its cases).
    since: Feature | None = None


CLASSES: dict[str, FuzzClass] = {
    c.name: c
    for c in (
        FuzzClass(
            "claims",
            "AUTHZ-FUZZ-001",
            "a signed token's payload (permissions claim, sub, exp/nbf/iat in and out of their windows, aud, "
            "huge lists), carried in the authorization header of every call: the default claim mapper",
            ServerKind.DEFAULT,
            oracle=True,
        ),
        FuzzClass(
            "token-bytes",
            "AUTHZ-FUZZ-002",
            "the token's bytes (header and payload JSON, duplicate keys, number forms, Unicode, trailing "
            "data, segments, base64 and padding): golang-jwt's parser behind the authorization header",
            ServerKind.DEFAULT,
            oracle=True,
        ),
        FuzzClass(
            "names",
            "AUTHZ-FUZZ-003",
            "namespace and role strings in permission entries (case, Unicode, separators): the claim "
            "mapper's ns:role split, role names, the system scope and the namespace lookup",
            ServerKind.DEFAULT,
            oracle=True,
        ),
        FuzzClass(
            "regex",
            "AUTHZ-FUZZ-004",
            "global.authorization.permissionsRegex (RE2 syntax, and constructs only Python's re has) "
            "against permission strings",
            ServerKind.REGEX,
            oracle=True,
        ),
        FuzzClass(
            "jwks",
            "AUTHZ-FUZZ-005",
            "the JWKS document at jwtKeyProvider.keySourceURIs (shapes, members, key types, encodings, "
            "values, status): the default token key provider",
            ServerKind.OWN_JWKS,
            oracle=True,
        ),
        FuzzClass(
            "jwks-idp",
            "AUTHZ-FUZZ-005",
            "key sets as identity providers publish them at jwtKeyProvider.keySourceURIs: x5c chains, "
            "x5t and x5t#S256, use, key_ops and per-key alg, several key types side by side, RSA sizes and "
            "exponents, Ed25519, private members: the default token key provider (go-jose)",
            ServerKind.OWN_JWKS,
            oracle=True,
        ),
        FuzzClass(
            "allowed-hosts",
            "AUTHZ-HTTP-005",
            "frontend.httpAllowedHosts as people write it (lists of wildcard patterns, a bare string, an empty "
            "list, numbers) against Host headers near each pattern: the HTTP API's Host check, before "
            "authorization",
            ServerKind.CONFIG,
            oracle=True,
            since=Feature.ALLOWED_HOSTS_CONVERTED,
        ),
        FuzzClass(
            "audience",
            "AUTHZ-CONFIG-005",
            "global.authorization.audience as people write it (case, spaces, several values in one string) "
            "against the aud claim (a string, a list, junk): golang-jwt's VerifyAudience in the claim mapper",
            ServerKind.CONFIG,
            oracle=True,
            since=Feature.AUDIENCE,
        ),
        FuzzClass(
            "header-name",
            "AUTHZ-CONFIG-006",
            "global.authorization.authHeaderName as people write it (case, Unicode letters that fold to ASCII "
            "ones, spaces, empty) against the metadata name the token is sent under: the interceptor's lookup",
            ServerKind.CONFIG,
            oracle=True,
            since=Feature.ORACLE_HEADER_LOOKUP,
        ),
        FuzzClass(
            "http-headers",
            "AUTHZ-HTTP-002",
            "the HTTP API's header lines byte for byte (the token's header in other cases, as Grpc-Metadata-* "
            "and -Bin, repeated; whitespace, tabs, control and non-ASCII bytes around the token; Grpc-Timeout): "
            "net/http's header parsing, grpc-gateway's matcher and annotator, the interceptor's read",
            ServerKind.DEFAULT,
            oracle=True,
            since=Feature.ORACLE_HEADER_LOOKUP,  # the gateway's files were read for 1.29+ (harness.model.http_headers)
        ),
        FuzzClass(
            "key-source-uris",
            "AUTHZ-FUZZ-007",
            "jwtKeyProvider.keySourceURIs as people write it (one to three entries: file URIs of a key set file "
            "with the scheme's case, hosts, slashes, dot segments, escapes, query, fragment and whitespace "
            "varied; the served key set's URL likewise; blanks): the key provider's openURI and initial fetch",
            ServerKind.CONFIG,
            oracle=True,
        ),
        FuzzClass(
            "sizes",
            "AUTHZ-FUZZ-002",
            "sizes: JSON nested around encoding/json's depth limit (10000) in a token's payload, header or "
            "permissions, or in a key set; very long permission strings and thousands of them: golang-jwt's "
            "and the key provider's decoders",
            ServerKind.DEFAULT,
            oracle=True,
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
            oracle=True,
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
