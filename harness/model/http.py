"""The frontend's HTTP API (grpc-gateway) as pure rules: which HTTP headers become gRPC metadata, in
which orders, and the Host check that runs before authorization (service/frontend/http_api_server.go,
grpc-gateway v2 runtime/context.go)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Any

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


def matched_key(key: str, additional: Sequence[str]) -> str | None:
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
        name = matched_key(key, additional)
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
    """frontend.httpAllowedHosts as ServerFacts holds it (empty: unset, every host allowed)."""
    return allowed_by(patterns if patterns else None, host)


def allowed_by(value: Any, host: str) -> bool:
    """frontend.httpAllowedHosts as the dynamic config gives it (None: unset), then
    allowedHostsMiddleware's MatchString(r.Host) (service/frontend/http_api_server.go).

    The value converts as ConvertWildcardStringListToRegexp does (common/dynamicconfig/util.go):
    mapstructure.Decode into []string (a list of strings only; anything else fails, and a value that
    fails to convert leaves the setting at its default, which matches every host), then
    util.WildCardStringsToRegexp (common/util/wildcard.go): "^" + "(p1)|(p2)|...|(pn)" + "$", each
    pattern QuoteMeta'd with * as .*. The anchors bind to the first and last alternatives only, and
    MatchString finds a match anywhere: with two or more patterns the first matches any Host that starts
    with it, the last any Host that ends with it, and the others any Host that contains them. An empty
    list is "^$": only an empty Host."""
    patterns = _string_list(value)
    if patterns is None:
        return True
    alternatives = ["(" + ".*".join(re.escape(p) for p in pattern.split("*")) + ")" for pattern in patterns]
    # Go's ^ and $ (no flags) are the text's ends: Python's ^ and \Z (its $ also matches before a final \n).
    return re.search("^" + "|".join(alternatives) + "\\Z", host) is not None


def _string_list(value: Any) -> list[str] | None:
    """mapstructure.Decode(value, &[]string{}) without weak typing: a list (or null items, which decode to
    "") of strings; None where the value is unset or does not convert (the setting's default applies)."""
    if value is None or not isinstance(value, list | tuple):
        return None
    if not all(isinstance(item, str) or item is None for item in value):
        return None
    return [item or "" for item in value]
