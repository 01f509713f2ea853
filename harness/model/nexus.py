"""The frontend's Nexus HTTP handlers as pure rules (service/frontend/nexus_operation_http_handler.go,
nexus_handler.go, common/nexus/nexusrpc): how the token is read, what a refusal looks like, which
caller headers reach the handler."""

from __future__ import annotations

import re
from collections.abc import Sequence

from harness.model.http import canonical
from harness.model.rules import ServerRules

NEXUS_SERVICE = "/temporal.api.nexusservice.v1.NexusService/"
DISPATCH_BY_NAMESPACE_AND_TASK_QUEUE = NEXUS_SERVICE + "DispatchByNamespaceAndTaskQueue"
DISPATCH_BY_ENDPOINT = NEXUS_SERVICE + "DispatchByEndpoint"
COMPLETE_NEXUS_OPERATION = NEXUS_SERVICE + "CompleteNexusOperation"
EXCLUDED_PREFIXES = ("content-", "nexus-callback-")  # httpHeaderToNexusHeader
DEFAULT_BLACKLIST = (
    "accept-encoding",
    "x-forwarded-for",
    "xdc-redirection",
    "xdc-redirection-api",
    "temporal-nexus-failure-support",
)  # frontend.nexusRequestHeadersBlacklist default


def token_header(headers: Sequence[tuple[str, str]], header_name: str) -> str:
    """The handler reads the token with http.Header.Get(authHeaderName): the header name in any case, its
    first value. There is no gateway in between, so a custom authHeaderName works here as is."""
    wanted = canonical(header_name)
    for name, value in headers:
        if canonical(name) == wanted:
            return value
    return ""


def audience(configured: str) -> str:
    """The audience the Nexus handlers check: parseTLSAndAuthInfo passes a getter that returns ""
    ("TODO: support audience getter"), so the configured one is never checked on Nexus HTTP."""
    return ""


def default_blacklist(rules: ServerRules) -> tuple[str, ...]:
    """frontend.nexusRequestHeadersBlacklist's default: empty before 1.31 (dynamicconfig/constants.go)."""
    return DEFAULT_BLACKLIST if rules.nexus_headers_blacklisted_by_default else ()


def handler_headers(
    headers: Sequence[tuple[str, str]],
    blacklist: Sequence[str] | None = None,
    default: Sequence[str] = DEFAULT_BLACKLIST,
) -> dict[str, str]:
    """The caller's HTTP headers as the handler worker receives them: names lower-cased, first value,
    content-* and nexus-callback-* left out, then every name matching the blacklist removed. (The server
    adds a Request-Timeout of its own, which is not the caller's.)"""
    patterns = list(default if blacklist is None else blacklist)
    expression = (
        "^(" + "|".join(".*".join(re.escape(p) for p in pattern.split("*")) for pattern in patterns) + ")$"
    )
    received: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        # Go's net/http keeps Host out of the header map (Request.Host).
        if lower == "host" or lower.startswith(EXCLUDED_PREFIXES) or lower in received:
            continue
        received[lower] = value
    return {k: v for k, v in received.items() if not (patterns and re.match(expression, k))}


def completion_refusal(path_namespace: str | None, token_namespace: str) -> str:
    """Why an async completion is refused before the token is read ("" when it is not): the callback
    token's namespace is looked up by ID first (unknown: 404), then a namespace in the path must be the
    token's (else 400 "invalid callback token"). /nexus/callback names none
    (nexus_completion_http_handler.go, CompleteOperation)."""
    if not token_namespace:
        return "the callback token names no namespace that exists: looked up before the token is read"
    if path_namespace is not None and path_namespace != token_namespace:
        return f"the path names {path_namespace!r}, the callback token {token_namespace!r}"
    return ""


def refused_token_outcome(full_method: str) -> str:
    """How a token the claim mapper refuses shows: the operation handlers adapt the error to 401
    (UNAUTHENTICATED); the completion handler returns it as is, which the HTTP layer turns into
    500 "internal server error" (interceptRequest: `return err`)."""
    return "FAULT" if full_method == COMPLETE_NEXUS_OPERATION else "UNAUTHENTICATED"
