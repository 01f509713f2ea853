"""JWKS documents, as recipes over the fuzzer's key slots (harness.fuzz.jwks_text renders them).

A recipe is JSON-able: the document's top-level members (a name may repeat, in any case), the `keys`
entries (a key slot's public JWK changed by a few operations: drop, set, add or rename a member,
re-encode a value), text before and after the document, and the HTTP status it is served with.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from hypothesis import strategies as st

SIGNING_SLOTS = ("rsa0", "rsa1", "ec0", "ec384")
OTHER_SLOTS = ("okp", "oct", "x25519")
MEMBERS = {
    "RSA": ("kty", "kid", "use", "alg", "n", "e"),
    "EC": ("kty", "kid", "use", "alg", "crv", "x", "y"),
    "other": ("kty", "kid", "crv", "x", "k"),
}
EXTRA_MEMBERS = ("d", "x5c", "x5t", "x5t#S256", "x5u", "key_ops")
ENCODINGS = ("padded", "std", "leading-zero", "strip-leading", "truncate", "flip", "empty", "number", "null",
             "trailing-bits", "huge")  # fmt: skip
NAME_SPELLINGS = ("upper", "title", "kelvin", "long-s")


def lit(value: Any) -> dict[str, str]:
    return {"json": json.dumps(value, ensure_ascii=False)}


VALUES: dict[str, tuple[dict[str, str], ...]] = {
    "kid": tuple(lit(v) for v in ("", "rsa0", "ec0", "anchor", "RSA0", "\u212aid", 7, None, ["rsa0"])),
    "kty": tuple(lit(v) for v in ("rsa", "ec", "RSA", "EC", "OKP", "oct", "XYZ", "", 5, None)),
    "crv": tuple(lit(v) for v in ("P-256", "P-384", "P-521", "p-256", "Ed25519", "", 5, None)),
    "use": tuple(lit(v) for v in ("sig", "enc", "", 5, None)),
    "alg": tuple(lit(v) for v in ("RS256", "ES256", "none", "HS256", 5, None)),
    "d": ({"slot_value": "d"}, lit("AQAB"), lit(""), lit(5)),
    "x5c": tuple(lit(v) for v in ([], ["AAAA"], "x", None, [5])),
    "x5t": ({"slot_value": "x5t"}, lit("AAAA"), lit("not base64!"), lit(""), lit(5)),
    "x5t#S256": (lit(""), lit("AAAA"), lit(None)),
    "x5u": tuple(lit(v) for v in ("https://idp.example/c.pem", "%zz", "http://[::1", "", 5)),
    "key_ops": tuple(lit(v) for v in (["verify"], "verify", None)),
    "k": (lit("c2VjcmV0"), lit(""), lit(None)),
    "x": (lit(""), lit(None), lit("AAAA")),
    "n": (lit(""), lit(None), lit("AQAB")),
    "e": (lit(""), lit(None), lit("AAEAAQ"), lit("AQ")),
    "y": (lit(""), lit(None)),
}


def kty_of(slot: str) -> str:
    return "RSA" if slot.startswith("rsa") else "EC" if slot.startswith("ec") else "other"


OPERATION_KINDS = st.sampled_from(("set", "set", "encode", "encode", "drop", "add", "rename"))


@functools.cache
def _values(name: str) -> st.SearchStrategy[dict[str, str]]:
    return st.sampled_from(VALUES.get(name, (lit(""), lit(5))))


def operation(draw: st.DrawFn, slot: str) -> list[Any]:
    members = MEMBERS[kty_of(slot)]
    kind = draw(OPERATION_KINDS)
    if kind == "encode":
        encodable = tuple(m for m in members if m in ("n", "e", "x", "y")) or ("x",)
        return ["encode", draw(st.sampled_from(encodable)), draw(st.sampled_from(ENCODINGS))]
    name = draw(st.sampled_from(members + EXTRA_MEMBERS))
    if kind == "drop":
        return ["drop", name]
    if kind == "rename":
        return ["rename", name, draw(st.sampled_from(NAME_SPELLINGS))]
    return [kind, name, draw(_values(name))]


@functools.cache
def operations(slot: str) -> st.SearchStrategy[list[Any]]:
    """One change to a slot's JWK (a plain function over strategies built once, per slot)."""
    return st.composite(lambda draw: operation(draw, slot))()


@functools.cache
def _operation_lists(slot: str) -> st.SearchStrategy[list[Any]]:
    return st.one_of(st.just([]), st.lists(operations(slot), min_size=1, max_size=3))


ENTRY_SLOTS = st.one_of(st.sampled_from(SIGNING_SLOTS), st.sampled_from(SIGNING_SLOTS + OTHER_SLOTS))


@st.composite
def entries(draw: st.DrawFn) -> dict[str, Any]:
    slot = draw(ENTRY_SLOTS)
    return {"slot": slot, "ops": draw(_operation_lists(slot))}


RAW_VALUES: tuple[Any, ...] = (None, 5, "rsa0", [], {}, {"kty": "RSA"})
RAW_ENTRIES = tuple(lit(v) for v in RAW_VALUES)


@functools.cache
def key_lists() -> st.SearchStrategy[list[Any]]:
    entry = st.one_of(entries(), entries(), entries(), st.sampled_from(RAW_ENTRIES))
    return st.lists(entry, max_size=4)


@functools.cache
def keys_values() -> st.SearchStrategy[Any]:
    literal = st.sampled_from((lit(None), lit({}), lit(""), lit(0), lit(False), lit("keys")))
    return st.one_of(
        key_lists().map(lambda e: {"entries": e}), key_lists().map(lambda e: {"entries": e}), literal
    )


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    shape = draw(SHAPES)
    if shape != "object":
        return {"json": {"null": "null", "array": "[]", "string": '"keys"', "empty-object": "{}"}[shape]}
    members: list[list[Any]] = [[draw(KEYS_NAMES), draw(keys_values())]]
    if draw(st.integers(0, 4)) == 4:
        members.append([draw(SECOND_NAMES), draw(keys_values())])
    if draw(st.integers(0, 5)) == 5:
        members.append(["x-odd", {"json": draw(ODD_TEXTS)}])
    return {"members": members}


SHAPES = st.sampled_from(("object",) * 6 + ("null", "array", "string", "empty-object"))
KEYS_NAMES = st.sampled_from(("keys",) * 5 + ("Keys", "KEYS", "\u212aeys"))
SECOND_NAMES = st.sampled_from(("keys", "KEYS", "other"))
ODD_TEXTS = st.sampled_from(("1e400", "NaN", '"\\ud800"', "[[[]]]"))


@functools.cache
def jwks_inputs() -> st.SearchStrategy[dict[str, Any]]:
    """A jwks-class input: a document recipe, how it is served, and which key signs the probe token."""
    clean = st.just("")
    return st.fixed_dictionaries(
        {
            "document": documents(),
            "prefix": st.one_of(clean, clean, clean, st.sampled_from([" ", "\ufeff", "\n"])),
            "suffix": st.one_of(clean, clean, clean, st.sampled_from([" trailing", "\n{}", "]", "x", "\n"])),
            "status": st.one_of(st.just(200), st.just(200), st.just(200), st.sampled_from([404, 500])),
            "sign_with": st.sampled_from((*SIGNING_SLOTS, "stranger")),
        }
    )
