"""One function per fuzz class: an example as the same question to the model and to the release's oracle
program (harness.fuzz.twin), answered item by item. The inputs are the live classes' own (an example
found here replays on a live server through harness.fuzz.exercise unchanged)."""

from __future__ import annotations

import dataclasses
import functools
import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jwt.warnings import InsecureKeyLengthWarning

from harness.fuzz.examples import Example
from harness.fuzz.exercise import GRANT
from harness.fuzz.http_text import TOKEN_GRANTS, header_pairs, read_label, request_bytes, signed_text
from harness.fuzz.idp_keys import idp_slots
from harness.fuzz.idp_text import idp_document, idp_signer
from harness.fuzz.jwks_text import anchor_document, document_bytes
from harness.fuzz.sizes_text import expanded
from harness.fuzz.strategies import key_uris as key_uris_strategy
from harness.fuzz.strategies.claims import render_payload
from harness.fuzz.token_text import build
from harness.fuzz.twin import CALLS, TARGETS, Compared, Twin, prefixed, ring_text
from harness.model import decide, http, key_uris, keyset
from harness.model import http_headers as http_headers_model
from harness.model.claims import KeyRing
from harness.oracle.questions import KeySources, Served
from harness.tokens.keys import SigningKey
from harness.tokens.mint import MintedToken, TokenSpec, mint
from harness.types import Outcome

ALLOWED, REFUSED = Outcome.ALLOWED.value, Outcome.REFUSED.value


def bearer(token: MintedToken) -> str:
    return f"Bearer {token.token}"


# A recipe asks the release's program first (it answers while the model works), then the model; the
# comparison is read when the returned function is called, so a batch of examples is all in flight.
Deferred = Callable[[], Compared]


def _one_token(twin: Twin, token: MintedToken, now: int, config: Any = None) -> Deferred:
    header = bearer(token)
    pending = twin.oracle_outcomes(header, twin.default_sources, now, config)
    model = twin.model_outcomes(header, token.signed_by, twin.default_ring, now, config)

    def compared() -> Compared:
        oracle, detail = pending()
        return Compared(prefixed("token", model), prefixed("token", oracle), detail)

    return compared


def claims(example: Example, twin: Twin, now: int) -> Deferred:
    """Signed with the fast path's EC key (ES256 signs in a tenth of RS256's time; which of the two
    trusted algorithms signs changes nothing the class is about)."""
    payload = render_payload(dict(example.input), float(now))
    spec = TokenSpec(permissions=None, exp_in=None, iat_in=None, omit_sub=True, extra=payload)
    return _one_token(twin, mint(spec, twin.keys.ec, now=now), now)


def names(example: Example, twin: Twin, now: int) -> Deferred:
    spec = TokenSpec(permissions=list(example.input["permissions"]), sub="fuzz")
    return _one_token(twin, mint(spec, twin.keys.ec, now=now), now)


def token_bytes(example: Example, twin: Twin, now: int) -> Deferred:
    keys = twin.keys
    named = {"rsa": keys.rsa, "ec": keys.ec, "untrusted": keys.untrusted, "untrusted-ec": keys.untrusted_ec}
    token = build(example.input, named, now=float(now), sign=keys.signer, fingerprints=keys.fingerprints)
    return _one_token(twin, token, now)


def regex(example: Example, twin: Twin, now: int) -> Deferred:
    config = dataclasses.replace(twin.config, permissions_regex=str(example.input["regex"]))
    spec = TokenSpec(permissions=list(example.input["permissions"]), sub="fuzz")
    return _one_token(twin, mint(spec, twin.keys.ec, now=now), now, config)


_GRANTS: dict[tuple[int, tuple[str, ...], str, int], MintedToken] = {}


def granted(key: SigningKey, sub: str, now: int, permissions: Sequence[str] = tuple(GRANT)) -> MintedToken:
    """The key-source classes' token (GRANT, `sub`) signed by `key` at `now`: the same bytes for every
    example in one second, so signed once (RSA signing is most of an example's time otherwise)."""
    cached = (id(key), tuple(permissions), sub, now)  # the fast path's keys live as long as the process
    if cached not in _GRANTS:
        if len(_GRANTS) > 4096:
            _GRANTS.clear()
        with warnings.catch_warnings():  # the jwks-idp class signs with a 1024-bit key on purpose
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            _GRANTS[cached] = mint(TokenSpec(permissions=list(permissions), sub=sub), key, now=now)
    return _GRANTS[cached]


def jwks(example: Example, twin: Twin, now: int) -> Deferred:
    """As the live class: the anchor key applied, then the document served and applied (two rounds)."""
    slots = twin.keys.slots
    body = document_bytes(example.input, slots)
    signer = slots.signing[str(example.input.get("sign_with", "rsa0"))]
    return _key_source(example, twin, now, body, signer)


def jwks_idp(example: Example, twin: Twin, now: int) -> Deferred:
    """An identity provider's key set, served as the jwks class serves its documents."""
    slots = idp_slots()
    body = idp_document(example.input, slots)
    return _key_source(example, twin, now, body, idp_signer(str(example.input.get("sign_with"))))


def _key_source(example: Example, twin: Twin, now: int, body: bytes, signer: SigningKey) -> Deferred:
    slots = twin.keys.slots
    anchor = Served(anchor_document(slots))
    document = Served(body, int(example.input.get("status", 200)))
    sources = KeySources.one(anchor, document, document)
    held = twin.oracle_ring(sources)
    signers = {"token": signer, "anchor": slots.signing["anchor"]}
    tokens = {name: granted(key, "fuzz", now) for name, key in signers.items()}
    pending = {name: twin.oracle_outcomes(bearer(t), sources, now) for name, t in tokens.items()}
    ring = twin.model_ring([], [anchor, document, document])
    model: dict[str, str] = {"keys": ring_text(ring)}
    for name, token in tokens.items():
        model |= prefixed(name, twin.model_outcomes(bearer(token), token.signed_by, ring, now))

    return _keys_then_calls(model, held, pending, "round_error")


# Stand-ins for the oracle program's own fillings of "{dir}" (os.MkdirTemp: letters and digits) and
# "{0}" (its loopback server, one path per source): the model needs no real directory or port.
MODEL_DIR, MODEL_SERVED = "/tmp/authz-oracle-keys-0", "http://127.0.0.1:1/key/0"


def key_source_uris(example: Example, twin: Twin, now: int) -> Deferred:
    """keySourceURIs spellings: the key set file ("{dir}/keys.json") holds the RSA key, the served key set
    ("{0}") the EC key; the keys the provider holds after its initial fetch (and whether it failed), and
    every call's decision on a token signed by each key."""
    uris = [str(u) for u in example.input["uris"]]
    keys = {"file": twin.keys.rsa, "http": twin.keys.ec}
    documents = {name: json.dumps({"keys": [key.public_jwk()]}).encode() for name, key in keys.items()}
    sources = KeySources(
        tuple(uris), ((Served(documents["http"]),),), ((key_uris_strategy.FILE_NAME, documents["file"]),)
    )
    held = twin.oracle_ring(sources)
    tokens = {name: granted(key, "fuzz", now) for name, key in keys.items()}
    pending = {name: twin.oracle_outcomes(bearer(t), sources, now) for name, t in tokens.items()}
    filled = [key_uris_strategy.filled(u, MODEL_DIR, MODEL_SERVED) for u in uris]
    files = {f"{MODEL_DIR}/{key_uris_strategy.FILE_NAME}": documents["file"]}
    served = functools.partial(_loopback_answer, ("127.0.0.1:1", "/key/0"), documents["http"])
    ring, failed = twin.guard(
        "the key provider's keySourceURIs",
        lambda: keyset.initial_keys(filled, twin.rules.file_key_sources, files, served, twin.rules.jose),
    )
    model: dict[str, str] = {"keys": ring_text(ring), "fetch": "failed" if failed else "ok"}
    for name, token in tokens.items():
        model |= prefixed(name, twin.model_outcomes(bearer(token), token.signed_by, ring, now))

    return _keys_then_calls(model, held, pending, "fetch_error", fetch=True)


def _keys_then_calls(
    model: dict[str, str],
    held: Callable[[], tuple[KeyRing, str]],
    pending: dict[str, Callable[[], tuple[dict[str, str], dict[str, Any]]]],
    error_name: str,
    *,
    fetch: bool = False,
) -> Deferred:
    """The oracle's side, read when compared: the keys its provider holds (and, with `fetch`, whether the
    fetch failed), then each token's outcomes on the calls; the round's error goes in the detail."""

    def compared() -> Compared:
        oracle_ring, error = held()
        oracle: dict[str, str] = {"keys": ring_text(oracle_ring)}
        if fetch:
            oracle["fetch"] = "failed" if error else "ok"
        detail: dict[str, Any] = {error_name: error} if error else {}
        for name, read in pending.items():
            outcomes, said = read()
            oracle |= prefixed(name, outcomes)
            detail[name] = said
        return Compared(model, oracle, detail)

    return compared


def _loopback_answer(where: tuple[str, str], body: bytes, request: key_uris.Opened) -> keyset.SourceAnswer:
    """The oracle program's key source server (a Go net/http server): the key set on its one path (the
    path decoded, the query ignored); a target with a space splits the request line (its 400 is no key
    set); any other path is refused."""
    if " " in request.request_target or (request.host, request.path) != where:
        return keyset.SourceAnswer(None)
    return keyset.SourceAnswer(body)


def allowed_hosts(example: Example, twin: Twin, now: int) -> Deferred:
    """frontend.httpAllowedHosts and each Host: refused before authorization, or on to the call (a
    system admin's ListNamespaces over HTTP, as the live class sends it)."""
    value, hosts = example.input["patterns"], list(example.input["hosts"])
    pending = twin.oracle.send_hosts(value, hosts)
    model = twin.guard("frontend.httpAllowedHosts", lambda: [http.allowed_by(value, h) for h in hosts])

    def compared() -> Compared:
        said = pending()
        return Compared(_hosts(model), _hosts(list(said)))

    return compared


def _hosts(allowed: list[bool]) -> dict[str, str]:
    return {f"token/host{i}": (ALLOWED if ok else REFUSED) for i, ok in enumerate(allowed)}


def audience(example: Example, twin: Twin, now: int) -> Deferred:
    """global.authorization.audience against the token's aud claim (absent where "absent")."""
    config = dataclasses.replace(twin.config, audience=str(example.input["audience"]))
    extra = {} if example.input["aud"] == "absent" else {"aud": example.input["aud"]}
    spec = TokenSpec(permissions=list(example.input["permissions"]), sub="fuzz", extra=extra)
    return _one_token(twin, mint(spec, twin.keys.ec, now=now), now, config)


def header_name(example: Example, twin: Twin, now: int) -> Deferred:
    """global.authorization.authHeaderName against the metadata name the token is sent under: which value
    the interceptor reads (the token, or none: an anonymous caller), then every call's decision on it."""
    name, sent_as = str(example.input["header_name"]), str(example.input["sent_as"])
    config = dataclasses.replace(twin.config, auth_header_name=name)
    token = granted(twin.keys.ec, "fuzz", now)
    metadata = ((sent_as, bearer(token)),)
    read = twin.oracle.send_header(name, metadata)
    credential = decide.Credential(metadata, token.signed_by)
    value = twin.guard(
        "the interceptor's header lookup", lambda: decide.auth_header_value(credential, config, twin.rules)
    )
    # The value read is decided as a token under the default name would be (twin.config). The release's
    # decision on the value the model read is asked now, with the lookup (no round trip of its own): it is
    # the release's decision on the value its own lookup reads wherever the two read the same value, and
    # where they do not, the value the release read is asked after all.
    ahead = twin.oracle_outcomes(value, twin.default_sources, now)
    model = twin.model_outcomes(value, token.signed_by, twin.default_ring, now)

    def compared() -> Compared:
        said = read()
        decided = ahead()
        if said != value:
            decided = twin.oracle_outcomes(said, twin.default_sources, now)()
        oracle = decided[0]
        return Compared(
            prefixed("token", model) | {"token/read": "token" if value else "none"},
            prefixed("token", oracle) | {"token/read": "token" if said else "none"},
        )

    return compared


def http_headers(example: Example, twin: Twin, now: int) -> Deferred:
    """Header lines sent to the HTTP API: the model's net/http, gateway and interceptor stages
    (harness.model.http_headers) against the release's net/http and grpc-gateway with its matcher, then
    the value read decided by each side (the model for every value it allows: which one the gateway hands
    on may depend on a map walk)."""
    minted = {name: granted(twin.keys.ec, "fuzz", now, grants) for name, grants in TOKEN_GRANTS.items()}
    texts = {name: token.token.encode() for name, token in minted.items()}
    pairs = header_pairs(example.input, texts)
    raw = request_bytes("GET", "/api/v1/system-info", "localhost:7243", pairs)
    pending = twin.oracle.send_transport(raw, TARGETS, twin.default_sources, now)
    went = twin.guard("the HTTP API's header handling", lambda: http_headers_model.transported(pairs))
    decided = {
        read_label(value, texts): twin.model_outcomes(
            (value or b"").decode("latin-1"), _signer(value, texts, minted), twin.default_ring, now
        )
        for value in went.reads
    }

    def compared() -> Compared:
        said = pending()
        model: dict[str, str] = {"token/stage": went.stage}
        oracle: dict[str, str] = {"token/stage": said.stage}
        if went.stage == http_headers_model.INTERCEPTOR:
            allowed = "|".join(sorted(decided))
            model["token/read"] = allowed
            read = read_label(said.read, texts) if said.stage == http_headers_model.INTERCEPTOR else "-"
            # The release's map walk picked one of the values the model allows: agreement.
            oracle["token/read"] = allowed if read in decided else read
            model |= prefixed("token", decided.get(read) or next(iter(decided.values())))
        if said.decided is not None:
            oracle |= {f"token/{c.label}": o.value for c, o in zip(CALLS, said.decided.outcomes, strict=True)}
        detail = {"stage": said.said, "model": went.reason}
        return Compared(model, oracle, detail)

    return compared


def _signer(value: bytes | None, texts: Mapping[str, bytes], minted: Mapping[str, MintedToken]) -> str | None:
    """The key that signed the token the mapper gets from a value (None: none signed that text)."""
    name = signed_text(value, texts)
    return minted[name].signed_by if name else None


def sizes(example: Example, twin: Twin, now: int) -> Deferred:
    """As the token-bytes or jwks class would send what the sizes input stands for."""
    inner = expanded(example)
    return RECIPES[inner.fuzz_class](inner, twin, now)


Recipe = Callable[[Example, Twin, int], Deferred]
RECIPES: Mapping[str, Recipe] = {
    "claims": claims,
    "names": names,
    "token-bytes": token_bytes,
    "regex": regex,
    "jwks": jwks,
    "jwks-idp": jwks_idp,
    "allowed-hosts": allowed_hosts,
    "audience": audience,
    "header-name": header_name,
    "sizes": sizes,
    "http-headers": http_headers,
    "key-source-uris": key_source_uris,
}
