"""The default token key provider (default_token_key_provider.go) as pure functions: which keys the
server holds after a fetch of its key sources. Keys are identified by a fingerprint computed from the
JWK's public members, so the model needs no crypto."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.model.claims import KeyRing, PublishedKey

_EC_CURVES = {"P-256", "P-384", "P-521"}


def jwk_fingerprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638-style: sha256 over the required public members, in a canonical order."""
    kty = jwk.get("kty")
    members = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}.get(
        str(kty), ("kty",)
    )
    canonical = json.dumps({m: jwk.get(m) for m in members}, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class KeySetRefused(ValueError):
    """The whole document fails to decode (go-jose's JSONWebKeySet has no per-key skip)."""


def parse_key_set(body: bytes) -> list[PublishedKey]:
    """Keys the provider takes from one document, in order. Raises KeySetRefused where go-jose fails."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeySetRefused(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise KeySetRefused("not a JSON object")
    keys = document.get("keys") or []
    if not isinstance(keys, list):
        raise KeySetRefused("keys is not an array")
    found: list[PublishedKey] = []
    for jwk in keys:
        if not isinstance(jwk, dict):
            raise KeySetRefused("a key is not an object")
        kty = jwk.get("kty")
        kid = str(jwk.get("kid", ""))
        if kty == "RSA":
            if not jwk.get("n") or not jwk.get("e"):
                raise KeySetRefused("RSA key without n or e")
            found.append(PublishedKey("RSA", kid, jwk_fingerprint(jwk)))
        elif kty == "EC":
            if jwk.get("crv") not in _EC_CURVES:
                raise KeySetRefused(f"unsupported curve {jwk.get('crv')!r}")
            found.append(PublishedKey("EC", kid, jwk_fingerprint(jwk), str(jwk["crv"])))
        elif kty == "OKP":
            if jwk.get("crv") != "Ed25519":
                raise KeySetRefused(f"unsupported OKP curve {jwk.get('crv')!r}")
            # parsed, then skipped with a warning: not an RSA or ECDSA key
        elif kty == "oct":
            pass  # parsed as a symmetric key, then skipped with a warning
        else:
            raise KeySetRefused(f"unknown kty {kty!r}")
    return found


@dataclass(frozen=True)
class SourceAnswer:
    """What one key source URI gave: a connection error, or a body and its HTTP status (the provider
    reads the body whatever the status: `http.Get` without a status check)."""

    body: bytes | None  # None: the request failed (refused, reset)
    status: int = 200
    skipped: bool = False  # the URI was never asked for (see `skips`)


def reads_file(uri: str, file_scheme: bool) -> bool:
    """openURI (1.32+, `file_scheme`): a file:// URI with no host or `localhost` is read from disk; any
    other host is refused (the round fails). Before 1.32 every file:// URI fails: http.Get has no such
    scheme."""
    host = uri.removeprefix("file://").split("/", 1)[0]
    return file_scheme and host in ("", "localhost")


def skips(uri: str) -> bool:
    """updateKeys skips a blank URI (strings.TrimSpace(uri) == "")."""
    return uri.strip() == ""


def source_keys(answer: SourceAnswer) -> list[PublishedKey]:
    """updateKeysFromURI for one source: its keys, or KeySetRefused when the fetch or decode fails."""
    if answer.body is None:
        raise KeySetRefused("the request failed")
    return parse_key_set(answer.body)


def refresh(previous: KeyRing, answers: Sequence[SourceAnswer]) -> KeyRing:
    """updateKeys: new maps from all sources, swapped in whole; any failure keeps every old key."""
    keys: list[PublishedKey] = []
    for answer in answers:
        if answer.skipped:
            continue
        try:
            keys.extend(source_keys(answer))
        except KeySetRefused:
            return previous
    # Per type, a later key with the same kid replaces an earlier one (map assignment).
    latest: dict[tuple[str, str], PublishedKey] = {}
    for key in keys:
        latest.pop((key.kty, key.kid), None)
        latest[(key.kty, key.kid)] = key
    return KeyRing(tuple(latest.values()))


def rings_after(rounds: Sequence[Sequence[SourceAnswer]], initial: KeyRing | None = None) -> list[KeyRing]:
    """The key ring the server holds after each refresh round (the initial fetch is round 0). Rounds run
    one at a time (one ticker goroutine), each over every key source URI in order."""
    ring = initial if initial is not None else KeyRing()
    rings = []
    for answers in rounds:
        ring = refresh(ring, answers)
        rings.append(ring)
    return rings
