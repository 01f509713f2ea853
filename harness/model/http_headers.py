"""The HTTP API's header bytes, from the connection to the value the authorization interceptor reads (1.29+;
read from v1.32.2 with its toolchain go1.26.11 and grpc-gateway v2.29.0, whose functions below are the
same in v2.22.0 to v2.29.0, the versions 1.29 to 1.32 pin).

Three stages, each of which can stop the request before authorization:

1. net/http's server reads the header block (net/textproto/reader.go readMIMEHeader, go1.26.11):
   a field name must be one or more token bytes (canonicalMIMEHeaderKey, reader.go:750-770; a space
   before the colon is let through there, reader.go:762, and refused at net/http/server.go:1014,
   "invalid header name"); every value byte must be HTAB, SP, VCHAR or obs-text (validHeaderValueByte,
   reader.go:726, checked at reader.go:560; server.go:1018 again): 400 Bad Request otherwise. The value
   is trimmed of SP and HTAB at both ends (trim, reader.go:108; TrimLeft, reader.go:572) and names are
   canonicalized (reader.go:775-788: upper case first and after each '-', lower case elsewhere).
2. grpc-gateway's annotateContext (runtime/context.go, v2.29.0): the first Grpc-Timeout value must
   decode (context.go:142-147, timeoutDecode context.go:291) or the call is InvalidArgument (400); then
   for each header name, in the order of a Go map walk (context.go:150: random per request), each value:
   "Authorization" is passed through as `authorization` unchecked (context.go:160-162); the matcher
   (Temporal's incomingHeaderMatcher, service/frontend/http_api_server.go:320-331, then
   DefaultHeaderMatcher, runtime/mux.go:156-164: a permanent header becomes "grpcgateway-" + name, a
   "Grpc-Metadata-" one loses the prefix) names the metadata key; a key that is not a valid gRPC key is
   skipped (context.go:164); a name ending in "-Bin" must be base64 (decodeBinHeader, context.go:63:
   padded where the length is a multiple of 4, raw otherwise) or the whole call is InvalidArgument
   (context.go:170-174); any other value that is not printable ASCII (0x20-0x7E) is skipped
   (context.go:177-180). metadata.Pairs lower-cases the keys (context.go:204).
3. inlineClientConn.Invoke makes that metadata the incoming metadata (http_api_server.go:413-421) and the
   interceptor reads the first value under `authorization` (common/authorization/interceptor.go:260,
   common/headers/headers.go:430-434): from there the token is decided as on gRPC (harness.model.decide).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.model import http

NET_HTTP, GATEWAY, INTERCEPTOR = "net/http", "gateway", "interceptor"
# RFC 7230 tchar (net/textproto validHeaderFieldByte, reader.go:685-712).
TOKEN_BYTES = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
TIMEOUT_UNITS = frozenset(b"HMSmun")  # timeoutUnitToDuration, context.go:307-323
HEADER_PAIR = tuple[bytes, bytes]


@dataclass(frozen=True)
class Transported:
    """Where the request stopped (NET_HTTP, GATEWAY: refused before authorization, 400) or INTERCEPTOR,
    with every value the interceptor may read as the token (None: none, an anonymous caller): more than one
    where the gateway's map walk decides the order of two names that both give `authorization`."""

    stage: str
    reason: str
    reads: tuple[bytes | None, ...] = ()


def valid_value_byte(byte: int) -> bool:
    """validHeaderValueByte (reader.go:726): HTAB, SP, VCHAR (0x21-0x7E) and obs-text (0x80-0xFF)."""
    return byte in (0x09, 0x20) or 0x21 <= byte <= 0x7E or byte >= 0x80


def go_trim(value: bytes) -> bytes:
    return value.strip(b" \t")


def canonical_key(name: bytes) -> str:
    """canonicalMIMEHeaderKey for a name of token bytes (ASCII: decoded as such)."""
    return http.canonical(name.decode("ascii"))


def net_http_refusal(headers: Sequence[HEADER_PAIR]) -> str:
    """Why net/http answers 400 before any handler runs ("" when it does not)."""
    for name, value in headers:
        if not name or any(b not in TOKEN_BYTES for b in name):
            return f"header name {name!r} is not a token: 400 (reader.go:756-770, server.go:1014)"
        bad = next((b for b in value if not valid_value_byte(b)), None)
        if bad is not None:
            return f"header {name!r} has the byte 0x{bad:02x}: 400 (validHeaderValueByte, reader.go:560)"
    return ""


def go_base64_decodes(value: bytes) -> bool:
    """decodeBinHeader (context.go:63-69): StdEncoding (padded) when len % 4 == 0, else RawStdEncoding.
    Go's decoder is not strict about the unused low bits; padding may close the last quantum only
    ("xx==" or "xxx="); the raw encoding takes no '=' at all and no lone last character."""
    if len(value) % 4 == 0:
        for start in range(0, len(value), 4):
            quantum = value[start : start + 4]
            last = start + 4 == len(value)
            if quantum.endswith(b"==") and last:
                data = quantum[:2]
            elif quantum.endswith(b"=") and last:
                data = quantum[:3]
            else:
                data = quantum
            if any(b not in BASE64_ALPHABET for b in data):
                return False
        return True
    return len(value) % 4 != 1 and all(b in BASE64_ALPHABET for b in value)


def timeout_decodes(value: bytes) -> bool:
    """timeoutDecode (context.go:291-305): at least two bytes, a unit byte, then strconv.ParseInt(base
    10, 64 bits) of the rest (an optional sign, ASCII digits, no '_' in base 10, within int64)."""
    if len(value) < 2 or value[-1] not in TIMEOUT_UNITS:
        return False
    number = value[:-1]
    digits = number[1:] if number[:1] in (b"+", b"-") else number
    if not digits or any(not 0x30 <= b <= 0x39 for b in digits):
        return False
    return -(2**63) <= int(number) <= 2**63 - 1


def valid_grpc_key(key: str) -> bool:
    """isValidGRPCMetadataKey (context.go:104-121): 0-9 a-z A-Z _ - . only (an empty key passes)."""
    return all(c.isascii() and (c.isalnum() or c in "._-") for c in key)


def printable_ascii(value: bytes) -> bool:
    """isValidGRPCMetadataTextValue (context.go:123-134)."""
    return all(0x20 <= b <= 0x7E for b in value)


def transported(headers: Sequence[HEADER_PAIR], additional: Sequence[str] = ()) -> Transported:
    """The three stages above for the header lines of one request (name and value as sent, before
    net/http trims them); `additional`: rpc.httpAdditionalForwardedHeaders."""
    refused = net_http_refusal(headers)
    if refused:
        return Transported(NET_HTTP, refused)
    grouped: dict[str, list[bytes]] = {}
    for name, value in headers:
        grouped.setdefault(canonical_key(name), []).append(go_trim(value))
    timeout = grouped.get("Grpc-Timeout", [b""])[0]  # req.Header.Get: the first value
    if timeout and not timeout_decodes(timeout):
        return Transported(
            GATEWAY, f"Grpc-Timeout {timeout!r} does not decode: InvalidArgument (context.go:146)"
        )
    per_key: dict[str, list[tuple[str, bytes]]] = {}
    for key, values in grouped.items():
        if key in http.HANDLED_APART:
            continue
        pairs: list[tuple[str, bytes]] = []
        for value in values:
            if key == "Authorization":
                pairs.append(("authorization", value))
            matched = http.matched_key(key, additional)
            if matched is None or not valid_grpc_key(matched):
                continue
            if key.endswith("-Bin"):
                if not go_base64_decodes(value):
                    return Transported(
                        GATEWAY, f"{key} {value!r} is not base64: InvalidArgument (context.go:171-174)"
                    )
                pairs.append((matched.lower(), b"(binary)"))  # decoded bytes under a -bin key: never read
            elif printable_ascii(value):
                pairs.append((matched.lower(), value))
        per_key[key] = pairs
    # Whichever of these names the map walk meets first gives the first `authorization` value.
    firsts = [next(v for k, v in pairs if k == "authorization") for pairs in per_key.values()
              if any(k == "authorization" for k, _ in pairs)]  # fmt: skip
    # An empty first value is no token (GetAuthInfo, interceptor.go:274): an anonymous caller.
    reads = tuple(dict.fromkeys(v or None for v in firsts)) or (None,)
    why = "the header map's order decides between them" if len(reads) > 1 else "one value reaches it"
    return Transported(INTERCEPTOR, f"{len(firsts)} header name(s) give `authorization`: {why}", reads)
