"""A jwks-idp recipe (harness.fuzz.strategies.idp) rendered into the key set a key source serves, over the
class's slots (harness.fuzz.idp_keys)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from harness.fuzz.idp_keys import IdpSlots, document, idp_slots, std64
from harness.tokens.forge import b64
from harness.tokens.keys import SigningKey


def chain(slots: IdpSlots, slot: str, how: str) -> list[str]:
    other = "ec256" if slot != "ec256" else "rsa2048"
    leaf = slots.issued[slot] if how in ("chain", "issued") else slots.self_signed[slot]
    text = std64(leaf)
    return {
        "self": [text],
        "chain": [text, std64(slots.ca)],
        "issued": [text],
        "other": [std64(slots.self_signed[other])],
        "garbage": ["AAAA"],
        "truncated": [std64(leaf[:-12])],
        "wrapped": ["\n".join(text[i : i + 64] for i in range(0, len(text), 64))],
        "urlsafe": [b64(leaf)],
        "empty": [],
        "ca-only": [std64(slots.ca)],
    }[how]


def leaf_of(slots: IdpSlots, slot: str, how: str | None) -> bytes:
    """The certificate a thumbprint is taken of: the x5c leaf where there is one, else the slot's own."""
    if how in ("chain", "issued"):
        return slots.issued[slot]
    if how == "other":
        return slots.self_signed["ec256" if slot != "ec256" else "rsa2048"]
    if how == "ca-only":
        return slots.ca
    return slots.self_signed[slot]


def thumbprint(leaf: bytes, how: str, sha256: bool) -> str:
    digest = (hashlib.sha256 if sha256 else hashlib.sha1)(leaf).digest()
    if how == "right":
        return b64(digest)
    if how == "right-hex":
        return b64(digest.hex().encode())
    if how == "wrong":
        return b64((hashlib.sha256 if sha256 else hashlib.sha1)(leaf + b"x").digest())
    if how == "padded":
        return b64(digest) + "="
    return ""


def key_json(entry: Mapping[str, Any], slots: IdpSlots) -> dict[str, Any]:
    slot = str(entry["slot"])
    jwk = slots.jwk(slot)
    for name in ("kid", "use", "key_ops", "alg"):
        if name in entry:
            jwk[name] = entry[name]
    how = entry.get("x5c")
    if how is not None:
        jwk["x5c"] = chain(slots, slot, str(how))
    for name, sha256 in (("x5t", False), ("x5t#S256", True)):
        if name in entry:
            jwk[name] = thumbprint(leaf_of(slots, slot, how), str(entry[name]), sha256)
    if entry.get("private"):
        jwk |= slots.private_members(slot)
    jwk |= dict(entry.get("extra") or {})
    return jwk


def idp_document(spec: Mapping[str, Any], slots: IdpSlots) -> bytes:
    return document([key_json(e, slots) for e in spec["keys"]])


def idp_signer(slot: str) -> SigningKey:
    """The key that signs the class's probe token: a slot's, or one never published ("stranger")."""
    slots = idp_slots()
    return slots.signing.get(slot) or slots.stranger
