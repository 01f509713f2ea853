"""The default token key provider (default_token_key_provider.go) as pure functions: which keys the
server holds after a fetch of its key sources. A document is decoded as go-jose decodes it
(harness.model.jose); keys are identified by a fingerprint of their decoded public values, so the
model needs no crypto."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.model import jose, key_uris
from harness.model.claims import KeyRing, PublishedKey
from harness.model.jose import KeySetRefused as KeySetRefused
from harness.model.rules import NEWEST, JoseDialect


def jwk_fingerprint(jwk: Mapping[str, Any]) -> str:
    """The identity of the key a JWK describes, from its decoded public values (jose.fingerprint); a JWK
    whose values do not decode is identified by their text."""
    kty = str(jwk.get("kty"))
    members = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x")}.get(kty, ())
    try:
        values = {m: (jwk[m] if m == "crv" else jose.raw_url_decode(str(jwk[m]))) for m in members}
    except (KeyError, jose.KeySetRefused):
        values = {m: str(jwk.get(m)) for m in members}
    if kty == "RSA" and isinstance(values.get("e"), bytes):
        values["e"] = int.from_bytes(values["e"], "big") & 0xFFFFFFFFFFFFFFFF  # as the key provider reads it
    return jose.fingerprint(kty, values)


def parse_key_set(body: bytes, dialect: JoseDialect = NEWEST) -> list[PublishedKey]:
    """Keys the provider takes from one document, in order (jose.decode_key_set). Raises KeySetRefused
    where the server's decode fails. `dialect`: the release's go-jose (ServerRules.jose)."""
    return jose.decode_key_set(body, dialect)


@dataclass(frozen=True)
class SourceAnswer:
    """What one key source URI gave: a connection error, or a body and its HTTP status (the provider
    reads the body whatever the status: `http.Get` without a status check)."""

    body: bytes | None  # None: the request failed (refused, reset)
    status: int = 200
    skipped: bool = False  # the URI was never asked for (see `skips`)


def reads_file(uri: str, file_scheme: bool) -> bool:
    """openURI (1.32+, `file_scheme`): a file URI (url.Parse: any case of the scheme) with no host or
    `localhost` is read from disk; any other host is refused (the round fails). Before 1.32 every file
    URI fails: http.Get has no such scheme (harness.model.key_uris)."""
    return key_uris.opened(uri, file_scheme).kind == key_uris.FILE


def skips(uri: str) -> bool:
    """updateKeys skips a blank URI (strings.TrimSpace(uri) == "")."""
    return uri.strip() == ""


def answer_for(
    uri: str,
    file_scheme: bool,
    files: Mapping[str, bytes],
    served: Callable[[key_uris.Opened], SourceAnswer],
) -> SourceAnswer:
    """What one keySourceURIs entry gives: skipped when blank; a file's body where openURI reads a file
    (`files`: absolute path -> body, found as the kernel looks a path up); what an HTTP host answers on a
    path (`served`: what the harness's HTTP server answers that request); else a failure."""
    if skips(uri):
        return SourceAnswer(None, skipped=True)
    if reads_file(uri, file_scheme):
        try:
            path = key_uris.parse(uri).path
        except key_uris.UrlError:
            return SourceAnswer(None)
        return SourceAnswer(next((b for f, b in files.items() if key_uris.same_file(path, f)), None))
    opened = key_uris.opened(uri, file_scheme)
    if opened.kind == key_uris.HTTP:
        return served(opened)
    return SourceAnswer(None)


def source_keys(answer: SourceAnswer, dialect: JoseDialect = NEWEST) -> list[PublishedKey]:
    """updateKeysFromURI for one source: its keys, or KeySetRefused when the fetch or decode fails."""
    if answer.body is None:
        raise KeySetRefused("the request failed")
    return parse_key_set(answer.body, dialect)


def refresh(previous: KeyRing, answers: Sequence[SourceAnswer], dialect: JoseDialect = NEWEST) -> KeyRing:
    """updateKeys: new maps from all sources, swapped in whole; any failure keeps every old key."""
    keys: list[PublishedKey] = []
    for answer in answers:
        if answer.skipped:
            continue
        try:
            keys.extend(source_keys(answer, dialect))
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


def initial_keys(
    uris: Sequence[str],
    file_scheme: bool,
    files: Mapping[str, bytes],
    served: Callable[[key_uris.Opened], SourceAnswer],
    dialect: JoseDialect = NEWEST,
) -> tuple[KeyRing, bool]:
    """The keys a provider built with these keySourceURIs holds after its initial fetch, and whether that
    fetch failed (only logged: the server starts with no keys). Every entry is read in order; one failing
    entry fails the round, so none of the others' keys are held either (updateKeys returns on the first
    error, default_token_key_provider.go:125-128)."""
    answers = [answer_for(uri, file_scheme, files, served) for uri in uris]
    failed = False
    for answer in answers:
        if answer.skipped:
            continue
        try:
            source_keys(answer, dialect)
        except KeySetRefused:
            failed = True
            break
    return refresh(KeyRing(), answers, dialect), failed
