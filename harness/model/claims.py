"""The default JWT claim mapper (default_jwt_claim_mapper.go) as a pure function.

Signature checking is the one thing the model cannot do without crypto, so the credential states a
fact the harness knows when it mints a token: which key's private half produced a valid signature
(`signed_by`, a key fingerprint) or None for a forged or damaged signature.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.model import gojson, re2
from harness.model.rules import AuthConfig, ServerRules
from harness.types import Role

ACCEPTED_ALGS = ("RS256", "ES256")  # jwt.WithValidMethods(keyProvider.SupportedMethods())
_B64URL_RAW = re.compile(r"^[A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class PublishedKey:
    """A key as the server's key provider holds it after a successful JWKS fetch."""

    kty: str  # "RSA" | "EC" (other types are ignored by the provider)
    kid: str
    fingerprint: str
    curve: str = ""  # "P-256" for EC keys that can verify ES256


@dataclass(frozen=True)
class KeyRing:
    """The server's key maps: RSA and EC keys each by kid. Duplicate kid: the last one wins."""

    keys: Sequence[PublishedKey] = ()

    def lookup(self, kty: str, kid: str) -> PublishedKey | None:
        found = None
        for key in self.keys:
            if key.kty == kty and key.kid == kid:
                found = key
        return found


@dataclass(frozen=True)
class Claims:
    subject: str
    system: Role = Role.UNDEFINED
    namespaces: Mapping[str, Role] = field(default_factory=dict)

    def role_in(self, namespace: str) -> Role:
        return self.namespaces.get(namespace, Role.UNDEFINED)


class MapperError(Exception):
    """The mapper refused the token: the server answers PERMISSION_DENIED "Request unauthorized."."""


def go_lower(text: str) -> str:
    """strings.ToLower: unicode.ToLower rune by rune, the simple mapping. Python's lower() applies the
    full mapping where one exists, and only U+0130 has one: `i` + U+0307 where Go gives `i` (so Go
    reads `adm\u0130n` as admin). Rune by rune, a capital sigma is a small sigma in both."""
    if text.isascii():  # every ASCII letter has its one simple mapping in both
        return text.lower()
    return "".join(low if len(low := c.lower()) == 1 else {"\u0130": "i"}.get(c, c) for c in text)


_ROLES = {"read": Role.READER, "write": Role.WRITER, "admin": Role.ADMIN, "worker": Role.WORKER}


def permission_to_role(name: str) -> Role:
    return _ROLES.get(go_lower(name), Role.UNDEFINED)


def _decode_segment(segment: str) -> bytes:
    # golang-jwt v4 DecodeSegment: RawURLEncoding, so padding and non-URL characters fail.
    if not _B64URL_RAW.match(segment) or len(segment) % 4 == 1:
        raise MapperError(f"illegal base64 data in segment {segment[:16]!r}")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MapperError(f"illegal base64 data: {exc}") from exc


def _parse_json(raw: bytes, first_value_only: bool = False) -> Any:
    """Go's encoding/json into a map (harness.model.gojson): a key written twice keeps its last value;
    numbers are float64. The header is read with Unmarshal; the payload with a Decoder, which reads its
    first value and never looks at what follows (parser.go ParseUnverified)."""
    return gojson.decode(raw, first_value_only=first_value_only)


def _decode_json_object(segment: str, what: str) -> dict[str, Any]:
    try:
        value = _parse_json(_decode_segment(segment), first_value_only=what == "payload")
    except (UnicodeDecodeError, json.JSONDecodeError, gojson.GoJsonError) as exc:
        raise MapperError(f"{what} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise MapperError(f"{what} is not a JSON object")
    return value


UNIX_TO_INTERNAL = 62135596800  # time.go: seconds from year 1 to 1970
INT64 = 2**63


def _wrap_int64(value: int) -> int:
    return (value + INT64) % (2 * INT64) - INT64


def go_seconds(value: float) -> int:
    """A NumericDate's instant as Go's time holds it (seconds since year 1), from a float64: Modf, then
    int64(whole) (on amd64 a whole part out of int64's range becomes math.MinInt64), time.Unix (a negative
    fraction borrows a second), an int64 sum that wraps, truncated to the second."""
    whole = math.trunc(value)
    seconds = whole if -INT64 <= whole < INT64 else -INT64
    if value - whole < 0:
        seconds -= 1
    return _wrap_int64(seconds + UNIX_TO_INTERNAL)


def _time_claim_ok(payload: Mapping[str, Any], name: str, now: int) -> bool:
    """MapClaims.Verify{ExpiresAt,IssuedAt,NotBefore}(now, false): optional; 0 is absent; no leeway."""
    if name not in payload:
        return True
    value = payload[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False  # strings, null, objects: invalid
    if value == 0:
        return True
    at, instant = now + UNIX_TO_INTERNAL, go_seconds(float(value))
    if name == "exp":
        return at < instant
    return at >= instant  # iat and nbf


def _audience_ok(payload: Mapping[str, Any], audience: str) -> bool:
    """MapClaims.VerifyAudience(audience, true)."""
    aud = payload.get("aud")
    values: list[str]
    if isinstance(aud, str):
        values = [aud]
    elif isinstance(aud, list):
        if not all(isinstance(a, str) for a in aud):
            return False
        values = list(aud)
    else:
        values = []
    if not values or not "".join(values):
        return False
    return audience in values


def verify_token(
    token: str, signed_by: str | None, keyring: KeyRing, config: AuthConfig, rules: ServerRules, now: int
) -> dict[str, Any]:
    """golang-jwt Parse with the default key provider; returns the payload or raises MapperError."""
    parts = token.split(".")
    if len(parts) != 3:
        raise MapperError("token contains an invalid number of segments")
    header = _decode_json_object(parts[0], "header")
    payload = _decode_json_object(parts[1], "payload")
    _decode_segment(parts[2])  # the signature segment must be raw base64url too
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise MapperError("signing method (alg) is unspecified")
    if alg not in ACCEPTED_ALGS:
        raise MapperError(f"signing method {alg} is invalid")
    key = _select_key(header, alg, keyring)
    if key is None:
        raise MapperError(f"key not found for key ID {header.get('kid')!r}")
    for name in ("exp", "iat", "nbf"):
        if not _time_claim_ok(payload, name, now):
            raise MapperError(f"{name} claim fails validation at {now}")
    if alg == "ES256" and key.curve != "P-256":
        raise MapperError(f"ES256 needs a P-256 key; kid {key.kid!r} is a {key.curve or 'curve-less'} key")
    if signed_by is None or signed_by != key.fingerprint:
        raise MapperError("signature is invalid for the selected key")
    if rules.audience_supported and config.audience.strip() and not _audience_ok(payload, config.audience):
        raise MapperError("audience mismatch")
    return payload


def _select_key(header: Mapping[str, Any], alg: str, keyring: KeyRing) -> PublishedKey | None:
    """The default provider looks the key up by type (from alg) and kid; a token without a string kid
    is malformed."""
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise MapperError('malformed token - no "kid" header')
    return keyring.lookup("RSA" if alg.startswith(("RS", "PS")) else "EC", kid)


def _invalid_regex(pattern: str) -> re.Pattern[str] | None:
    """A permissionsRegex Go's regexp refuses is logged and ignored: the ns:role split is used instead."""
    return None


def _split_permission(entry: str, config: AuthConfig, rules: ServerRules) -> tuple[str, str] | None:
    if rules.regex_supported and config.permissions_regex:
        try:
            translated: re2.Translated | None = re2.translate(config.permissions_regex)
        except re2.Re2Error:
            translated = None
            _invalid_regex(config.permissions_regex)
        if translated is not None and {"namespace", "role"} <= set(translated.groups):
            found = translated.submatches(entry)  # FindStringSubmatch (RE2: linear in the entry)
            if found is None:
                return None
            groups = translated.groups
            return found[groups["namespace"]], found[groups["role"]]
    pieces = entry.split(":", 1) if rules.split_n else entry.split(":")
    if len(pieces) != 2:
        return None
    return _entry_parts(pieces[0], pieces[1])


def _entry_parts(namespace: str, role: str) -> tuple[str, str]:
    """There is no trimming: `ns : read` is namespace "ns " with role " read"."""
    return namespace, role


def _permission_entries(value: Any) -> list[Any]:
    """The claim must be a JSON array; any other type is silently ignored (no roles, no error)."""
    return value if isinstance(value, list) else []


def _combine(old: Role, new: Role) -> Role:
    """Several entries for one scope are OR'ed (role |= permissionToRole(...))."""
    return old | new


def _subject(payload: Mapping[str, Any]) -> str:
    subject = payload.get("sub")
    if not isinstance(subject, str):
        raise MapperError('unexpected value type of "sub" claim')
    return subject


def _scheme_ok(scheme: str) -> bool:
    return scheme.lower() == "bearer"  # strings.EqualFold


def claims_from_payload(payload: Mapping[str, Any], config: AuthConfig, rules: ServerRules) -> Claims:
    subject = _subject(payload)
    system = Role.UNDEFINED
    namespaces: dict[str, Role] = {}
    for entry in _permission_entries(payload.get(config.permissions_claim_name or "permissions")):
        if not isinstance(entry, str):
            continue
        split = _split_permission(entry, config, rules)
        if split is None:
            continue
        namespace, role_name = split
        role = permission_to_role(role_name)
        if _is_system_scope(namespace, rules):
            system = _combine(system, role)
        else:
            key = namespace.lower() if rules.namespaces_case_insensitive else namespace
            namespaces[key] = _combine(namespaces.get(key, Role.UNDEFINED), role)
    return Claims(subject=subject, system=system, namespaces=namespaces)


def _is_system_scope(namespace: str, rules: ServerRules) -> bool:
    if rules.namespaces_case_insensitive:
        return namespace.lower() == rules.system_scope
    return namespace == rules.system_scope


def map_certificate(tls_subject: str, config: AuthConfig, rules: ServerRules) -> Claims:
    """GetClaims for a caller with a verified client certificate and no token: AuthInfo exists (it has a
    TLS subject), and the default JWT mapper returns empty claims for an empty token whatever the
    subject says (default_jwt_claim_mapper.go: AuthToken == "" -> &Claims{AuthType: "jwt"})."""
    return Claims(subject="")


def map_claims(
    header_value: str,
    signed_by: str | None,
    keyring: KeyRing,
    config: AuthConfig,
    rules: ServerRules,
    now: int,
) -> Claims:
    """GetClaims for a non-empty authorization header value. Raises MapperError on refusal."""
    # 1.29+ SplitN(" ", 2); before, Split(" ") had to give exactly two parts.
    parts = header_value.split(" ", 1) if rules.split_n else header_value.split(" ")
    if len(parts) != 2:
        raise MapperError("unexpected authorization token format")
    if not _scheme_ok(parts[0]):
        raise MapperError("unexpected name in authorization token")
    payload = verify_token(parts[1], signed_by, keyring, config, rules, now)
    return claims_from_payload(payload, config, rules)
