"""A token's bytes: the header and payload JSON text, how each segment is encoded, and the signature.

An input is JSON-able and is rendered at sending time (harness.fuzz.token_text): members are
(name, value) pairs, so a name may repeat; a value is literal JSON text ({"json": ...}), a time relative
to now written in some number form ({"time": offset, "form": ...}), or the signing key's own kid or alg
({"key": "kid"}). Raw bytes that are not UTF-8 are written as U+DC80..U+DCFF (surrogateescape).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from hypothesis import strategies as st

from harness.fuzz.strategies import names

BAD_BYTE = "\udcff"  # the byte 0xFF, not UTF-8
NUMBER_FORMS = ("int", "int", "float", "exp", "frac", "string", "exp-negative", "plus-exp")
# The first of each is the well-formed choice.
STYLES = ("compact", "spaced", "pretty", "crlf")
PREFIXES = ("", " ", "\n", "\ufeff")
SUFFIXES = ("", " ", "\n", "x", "{}", "null", BAD_BYTE, ",")
SEGMENT_ENCODINGS = ("raw", "padded", "std", "trailing-bits", "space")
SIGNATURES = (
    "valid",
    "trailing-bits",
    "empty",
    "garbage",
    "truncated",
    "flipped",
    "padded",
    "std",
    "other-key",
)
SHAPES = ("three", "extra-segment", "trailing-dot", "two", "four-empty")
KEYS = ("rsa", "ec", "untrusted")


def literal(value: Any) -> dict[str, str]:
    return {"json": json.dumps(value, ensure_ascii=False)}


def text_literal(text: str) -> dict[str, str]:
    return {"json": text}


def escaped(text: str) -> str:
    """A JSON string with every letter written as a \\u escape (the same string to a decoder)."""
    return '"' + "".join(f"\\u{ord(c):04x}" if c.isalpha() else c for c in text) + '"'


ODD_VALUES = (
    text_literal("1e400"),  # beyond float64: Go refuses the whole document
    text_literal("1" + "0" * 400),
    text_literal("NaN"),
    text_literal("Infinity"),
    text_literal("-0"),
    text_literal("[" * 40 + "]" * 40),
    text_literal('"' + BAD_BYTE + '"'),
    text_literal('"\\ud800"'),  # a lone surrogate escape
    literal("\u0130\u212a\u017f"),  # U+0130, the Kelvin sign, long s
    literal({"nested": [1, {"x": None}]}),
)


@functools.cache
def member_names(name: str) -> st.SearchStrategy[str]:
    """How a member's name is written: escaped (the same name to a decoder), or in another case (another
    name: encoding/json's maps are case-sensitive)."""
    return st.sampled_from(("ESC:" + name, name.upper(), name.capitalize()))


@functools.cache
def algs() -> st.SearchStrategy[dict[str, str]]:
    texts = ("RS256", "ES256", "rs256", "none", "HS256", "RS384", "PS256", "", "RS256 ")
    return st.one_of(
        st.sampled_from(texts).map(literal), st.sampled_from((256, None, ["RS256"])).map(literal)
    )


@functools.cache
def kids() -> st.SearchStrategy[dict[str, str]]:
    texts = ("harness-rsa", "harness-ec", "", "nope", "HARNESS-RSA", "harness-rsa ")
    return st.one_of(
        st.sampled_from(texts).map(literal), st.sampled_from((7, None, ["harness-rsa"])).map(literal)
    )


HEADER_EXTRAS: tuple[tuple[str, dict[str, str]], ...] = (
    ("typ", literal(5)),
    ("crit", literal(["exp"])),
    ("b64", literal(False)),
    ("jku", literal("http://127.0.0.1:1/jwks.json")),
    ("cty", literal("JWT")),
    ("zip", literal("DEF")),
)


@functools.cache
def permission_texts() -> st.SearchStrategy[dict[str, str]]:
    own_write = f"{names.OWN}:write"
    forms = st.sampled_from(
        (
            literal([f"{names.OWN}:read", "temporal-system:admin"]),
            text_literal("[" + escaped(own_write) + "]"),
            text_literal('["' + names.OWN + ":wr" + BAD_BYTE + 'ite"]'),
            text_literal('["' + names.OWN + ':write", ' + BAD_BYTE + "]"),
            literal(own_write),
            literal([]),
        )
    )
    return st.one_of(forms, names.permission_lists().map(literal))


@functools.cache
def subjects() -> st.SearchStrategy[dict[str, str]]:
    return st.one_of(
        st.sampled_from(("", "\u0130", "a\u0000b")).map(lambda t: text_literal(f'"{t}"')),
        st.just(text_literal(escaped("fuzz"))),
        st.sampled_from((7, None, ["fuzz"])).map(literal),
        st.just(text_literal('"fu' + BAD_BYTE + 'zz"')),
    )


@functools.cache
def times(default: float) -> st.SearchStrategy[dict[str, Any]]:
    offsets = st.one_of(st.just(default), st.integers(-86400, -5), st.integers(5, 86400))
    return st.builds(lambda o, f: {"time": o, "form": f}, offsets, st.sampled_from(NUMBER_FORMS))


PAYLOAD_EXTRAS: tuple[tuple[str, Any], ...] = (
    ("nbf", times(-60)),
    ("iat", times(-60)),
    ("aud", literal("temporal")),
    ("iss", literal("https://idp.example")),
)


def well_formed() -> dict[str, Any]:
    """A token every decoder reads alike: the starting point each perturbation changes one thing of."""
    return {
        "header": {
            "members": [["alg", {"key": "alg"}], ["kid", {"key": "kid"}], ["typ", literal("JWT")]],
            "style": "compact",
            "prefix": "",
            "suffix": "",
        },
        "payload": {
            "members": [
                ["sub", literal("fuzz")],
                ["permissions", literal([f"{names.OWN}:write"])],
                ["exp", {"time": 3600, "form": "int"}],
            ],
            "style": "compact",
            "prefix": "",
            "suffix": "",
        },
        "encode": {"header": "raw", "payload": "raw"},
        "signature": "valid",
        "key": "rsa",
        "shape": "three",
    }


def _set(members: list[list[Any]], name: str, value: Any) -> None:
    for member in members:
        if member[0] == name:
            member[1] = value
            return
    members.append([name, value])


PERTURBATIONS = (
    "alg",
    "kid",
    "header-extra",
    "header-drop",
    "header-twice",
    "header-name",
    "header-style",
    "header-prefix",
    "header-suffix",
    "header-odd",
    "sub",
    "permissions",
    "permissions",
    "exp-form",
    "exp",
    "payload-extra",
    "payload-drop",
    "payload-twice",
    "payload-name",
    "payload-style",
    "payload-prefix",
    "payload-suffix",
    "payload-odd",
    "encode-header",
    "encode-payload",
    "signature",
    "key",
    "shape",
)


STYLE_CHANGES = st.sampled_from(STYLES[1:])
PREFIX_CHANGES = st.sampled_from(PREFIXES[1:])
SUFFIX_CHANGES = st.sampled_from(SUFFIXES[1:])
ENCODING_CHANGES = st.sampled_from(SEGMENT_ENCODINGS[1:])
WHOLE_CHANGES = {"signature": st.sampled_from(SIGNATURES[1:]), "key": st.sampled_from(KEYS[1:]),
                 "shape": st.sampled_from(SHAPES[1:])}  # fmt: skip
HEADER_EXTRA = st.sampled_from(HEADER_EXTRAS)
PAYLOAD_EXTRA = st.sampled_from(PAYLOAD_EXTRAS)
TWICE_VALUES = st.sampled_from((*ODD_VALUES, literal("other"), literal(["x:read"])))
ODD_VALUE = st.sampled_from(ODD_VALUES)
FORMS = st.sampled_from(NUMBER_FORMS)


def perturb(draw: st.DrawFn, spec: dict[str, Any], what: str) -> None:
    """Change one thing of `spec` (in place). A plain function over strategies built once."""
    part, _, aspect = what.partition("-")
    if what == "alg":
        _set(spec["header"]["members"], "alg", draw(algs()))
    elif what == "kid":
        _set(spec["header"]["members"], "kid", draw(kids()))
    elif what == "sub":
        _set(spec["payload"]["members"], "sub", draw(subjects()))
    elif what == "permissions":
        _set(spec["payload"]["members"], "permissions", draw(permission_texts()))
    elif what == "exp":
        _set(spec["payload"]["members"], "exp", draw(times(3600)))
    elif what == "exp-form":
        _set(spec["payload"]["members"], "exp", {"time": 3600, "form": draw(FORMS)})
    elif part in ("encode",):
        spec["encode"][aspect] = draw(ENCODING_CHANGES)
    elif what in ("signature", "key", "shape"):
        spec[what] = draw(WHOLE_CHANGES[what])
    else:
        doc = spec[part]
        members = doc["members"]
        if aspect == "extra":
            name, value = draw(HEADER_EXTRA if part == "header" else PAYLOAD_EXTRA)
            members.append([name, draw(value) if isinstance(value, st.SearchStrategy) else value])
        elif aspect == "drop" and members:
            members.pop(draw(st.integers(0, len(members) - 1)))
        elif aspect == "twice" and members:
            # A name written twice: golang-jwt's encoding/json keeps the last value.
            index = draw(st.integers(0, len(members) - 1))
            other = draw(TWICE_VALUES)
            members.insert(index + draw(st.integers(0, 1)), [members[index][0], other])
        elif aspect == "name" and members:
            index = draw(st.integers(0, len(members) - 1))
            members[index] = [draw(member_names(members[index][0])), members[index][1]]
        elif aspect == "odd":
            members.append(["x-odd", draw(ODD_VALUE)])
        elif aspect == "style":
            doc["style"] = draw(STYLE_CHANGES)
        elif aspect in ("prefix", "suffix"):
            doc[aspect] = draw(PREFIX_CHANGES if aspect == "prefix" else SUFFIX_CHANGES)


@st.composite
def token_byte_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """A token-bytes input: a well-formed token with up to three things changed (rendered and signed by
    harness.fuzz.token_text); shrinking removes changes, so a minimal example names the one that matters."""
    spec = well_formed()
    for what in draw(CHANGE_LISTS):
        perturb(draw, spec, what)
    return spec


CHANGE_LISTS = st.lists(st.sampled_from(PERTURBATIONS), max_size=3)
