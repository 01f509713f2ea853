"""A JWKS recipe (harness.fuzz.strategies.jwks) rendered into the bytes a key source serves, over the
fuzzer's key slots: signing keys the harness holds, and key types the server does not sign with."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from harness.fuzz.idp_keys import filler
from harness.fuzz.token_text import with_unused_bits
from harness.tokens.forge import b64
from harness.tokens.keys import SigningKey, ec_key, rsa_key

Members = list[list[str]]  # [name, JSON text]


@dataclass
class KeySlots:
    """The keys a JWKS example refers to by name. `anchor` is served between examples; `stranger` never."""

    signing: dict[str, SigningKey] = field(default_factory=dict)
    other: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def generate(cls) -> KeySlots:
        signing = {
            "anchor": rsa_key(kid="anchor"),
            "rsa0": rsa_key(kid="rsa0"),
            "rsa1": rsa_key(kid="rsa1"),
            "ec0": ec_key(kid="ec0"),
            "ec384": ec_key(kid="ec384", curve="P-384"),
            "stranger": rsa_key(kid="stranger"),
        }
        raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        dh = x25519.X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        other = {
            "okp": {"kty": "OKP", "crv": "Ed25519", "x": b64(raw), "kid": "okp"},
            "oct": {"kty": "oct", "k": "c2VjcmV0", "kid": "oct"},
            "x25519": {"kty": "OKP", "crv": "X25519", "x": b64(dh), "kid": "x25519"},
        }
        return cls(signing, other)

    def jwk(self, slot: str) -> dict[str, Any]:
        if slot in self.signing:
            return self.signing[slot].public_jwk()
        return dict(self.other[slot])

    def slot_value(self, slot: str, what: str) -> str:
        """A value of the right shape for this slot: a private scalar `d`, an `x5t` thumbprint (fixed
        bytes: the same recipe renders the same document, so a failure replays and shrinks)."""
        if what == "d":
            key = self.signing.get(slot)
            size = {"P-256": 32, "P-384": 48, "P-521": 66}.get(key.curve if key else "", 256)
            return b64(filler(f"{slot}/d", size))
        return b64(filler(f"{slot}/x5t", 20))


def _decode(text: str) -> bytes:
    """The bytes of a (possibly already re-encoded) value, read leniently: operations stack."""
    cleaned = text.replace("+", "-").replace("/", "_").rstrip("=")
    cleaned = cleaned[: len(cleaned) - 1] if len(cleaned) % 4 == 1 else cleaned
    try:
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except ValueError:
        return text.encode()


def reencode(text: str, how: str) -> str:
    """A JWK member's base64url value written another way (JSON text)."""
    raw = _decode(text)
    value: Any = {
        "padded": base64.urlsafe_b64encode(raw).decode(),
        "std": b64(raw).replace("-", "+").replace("_", "/"),
        "leading-zero": b64(b"\x00" + raw),
        "strip-leading": b64(raw[1:]),
        "truncate": text[:-2],
        "flip": b64(raw[:-1] + bytes([raw[-1] ^ 1])) if raw else "AA",
        "empty": "",
        "number": 65537,
        "null": None,
        "trailing-bits": with_unused_bits(text),
        "huge": b64(b"\xc5" + filler(text, 5000 // 8)),
    }[how]
    return json.dumps(value)


def spelled(name: str, how: str) -> str:
    if how == "upper":
        return name.upper()
    if how == "kelvin" and "k" in name:
        return name.replace("k", "\u212a")
    if how == "long-s" and "s" in name:
        return name.replace("s", "\u017f")
    return name.title()


def _apply(members: Members, op: list[Any], slot: str, slots: KeySlots) -> Members:
    kind, name = op[0], op[1]
    if kind == "drop":
        return [m for m in members if m[0] != name]
    if kind == "rename":
        done = False
        renamed = []
        for m in members:
            if m[0] == name and not done:
                m, done = [spelled(name, op[2]), m[1]], True
            renamed.append(m)
        return renamed
    if kind == "encode":
        return [[n, reencode(json.loads(v), op[2]) if n == name and _is_text(v) else v] for n, v in members]
    value = op[2]
    text = json.dumps(slots.slot_value(slot, value["slot_value"])) if "slot_value" in value else value["json"]
    if kind == "set" and any(m[0] == name for m in members):
        return [[n, text if n == name else v] for n, v in members]
    return [*members, [name, text]]


def _is_text(value: str) -> bool:
    try:
        return isinstance(json.loads(value), str)
    except ValueError:
        return False


def entry_text(entry: Mapping[str, Any], slots: KeySlots) -> str:
    if "json" in entry:
        return str(entry["json"])
    slot = str(entry["slot"])
    members: Members = [[k, json.dumps(v)] for k, v in slots.jwk(slot).items()]
    for op in entry.get("ops") or []:
        members = _apply(members, list(op), slot, slots)
    return "{" + ",".join(f"{json.dumps(n, ensure_ascii=False)}:{v}" for n, v in members) + "}"


def value_text(value: Mapping[str, Any], slots: KeySlots) -> str:
    if "entries" in value:
        return "[" + ",".join(entry_text(e, slots) for e in value["entries"]) + "]"
    return str(value["json"])


def document_bytes(spec: Mapping[str, Any], slots: KeySlots) -> bytes:
    """The bytes served for a jwks-class input (prefix, document, suffix)."""
    doc = spec["document"]
    if "json" in doc:
        text = str(doc["json"])
    else:
        text = "{" + ",".join(f"{json.dumps(n, ensure_ascii=False)}:{value_text(v, slots)}"
                              for n, v in doc["members"]) + "}"  # fmt: skip
    return (str(spec.get("prefix", "")) + text + str(spec.get("suffix", ""))).encode()


def anchor_document(slots: KeySlots) -> bytes:
    """What the key source serves between examples: the anchor key alone."""
    return json.dumps({"keys": [slots.jwk("anchor")]}).encode()
