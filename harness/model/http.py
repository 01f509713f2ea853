"""The frontend's HTTP API (grpc-gateway) as pure rules: which HTTP headers become gRPC metadata, in
which orders, and the Host check that runs before authorization (service/frontend/http_api_server.go,
grpc-gateway v2 runtime/context.go)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

# Forwarded by default besides Authorization (http_api_server.go defaultForwardedHeaders).
DEFAULT_FORWARDED = ("Authorization-Extras", "X-Forwarded-For", "Client-Name", "Client-Version")
PERMANENT = frozenset(
    {
        "Accept", "Accept-Charset", "Accept-Language", "Accept-Ranges", "Authorization", "Cache-Control",
        "Content-Type", "Cookie", "Date", "Expect", "From", "Host", "If-Match", "If-Modified-Since",
        "If-None-Match", "If-Schedule-Tag-Match", "If-Unmodified-Since", "Max-Forwards", "Origin", "Pragma",
        "Referer", "User-Agent", "Via", "Warning",
    }
)  # fmt: skip
METADATA_PREFIX = "Grpc-Metadata-"
HANDLED_APART = frozenset({"X-Forwarded-For", "X-Forwarded-Host"})


def canonical(name: str) -> str:
    """Go's textproto.CanonicalMIMEHeaderKey."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _matched(key: str, additional: Sequence[str]) -> str | None:
    """Temporal's incomingHeaderMatcher, then grpc-gateway's DefaultHeaderMatcher."""
    exact = {canonical(h) for h in (*DEFAULT_FORWARDED, *additional) if not h.endswith("*")}
    prefixes = [canonical(h[:-1]) for h in additional if h.endswith("*")]
    if key in exact or any(key.startswith(p) for p in prefixes):
        return key
    if key in PERMANENT:
        return "grpcgateway-" + key
    if key.startswith(METADATA_PREFIX):
        return key[len(METADATA_PREFIX) :]
    return None


def _pairs_for(key: str, values: Sequence[str], additional: Sequence[str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for value in values:
        if key == "Authorization":
            pairs.append(("authorization", value))  # passed through unprefixed, for compatibility
        name = _matched(key, additional)
        if name is not None:
            pairs.append((name.lower(), value))
    return pairs


def gateway_metadata(
    headers: Sequence[tuple[str, str]], additional: Sequence[str] = ()
) -> list[tuple[tuple[str, str], ...]]:
    """Every metadata list the gateway may hand the interceptor for these HTTP headers. It walks the
    request's header map (a Go map: its order is random), so each order of distinct header names is
    possible; the values of one name keep their order."""
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        key = canonical(name)
        if key not in HANDLED_APART:
            grouped.setdefault(key, []).append(value)
    per_key = {key: _pairs_for(key, values, additional) for key, values in grouped.items()}
    relevant = [key for key, pairs in per_key.items() if pairs]
    orders = itertools.permutations(relevant) if len(relevant) <= 4 else [tuple(relevant)]
    return list(dict.fromkeys(tuple(p for key in order for p in per_key[key]) for order in orders))


def host_allowed(host: str, patterns: Sequence[str] | None) -> bool:
    """frontend.httpAllowedHosts: wildcard patterns matched against the whole Host (with its port);
    unset allows every host."""
    if not patterns:
        return True
    expression = (
        "^(" + "|".join(".*".join(re.escape(p) for p in pattern.split("*")) for pattern in patterns) + ")$"
    )
    return re.match(expression, host) is not None
