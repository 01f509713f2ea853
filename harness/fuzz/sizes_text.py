"""A sizes input (harness.fuzz.strategies.sizes) expanded into the token-bytes or jwks input it stands for."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from harness.fuzz.examples import Example
from harness.fuzz.strategies import names
from harness.fuzz.strategies.token_bytes import well_formed


def nested(depth: int, shape: str, core: str = "1") -> str:
    """JSON text nested `depth` deep (depth 1 is one array or object around `core`)."""
    if shape == "object":
        return '{"a":' * depth + core + "}" * depth
    return "[" * depth + core + "]" * depth


def _set(members: list[list[Any]], name: str, text: str) -> None:
    for member in members:
        if member[0] == name:
            member[1] = {"json": text}
            return
    members.append([name, {"json": text}])


def token_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    out = well_formed()
    part, _, claim = str(spec["place"]).partition(":")
    deep = nested(int(spec["depth"]), str(spec["shape"]))
    permission = f"{names.OWN}:write"
    if int(spec.get("long") or 0):
        permission = f"{names.OWN}:" + "w" * int(spec["long"])  # a role nobody has: grants nothing
    entries: list[str] = [permission, f"{names.OWN}:read"]
    entries += [f"ns-{i}:read" for i in range(int(spec.get("many") or 0))]
    permissions = json.dumps(entries)
    if part == "permissions":  # a nested value as one entry of the claim
        permissions = "[" + json.dumps(permission) + "," + deep + "]"
    _set(out["payload"]["members"], "permissions", permissions)
    if part in ("payload", "header"):
        _set(out[part]["members"], claim, deep)
    return out


def jwks_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    deep = nested(int(spec["depth"]), str(spec["shape"]))
    where, _, name = str(spec["place"]).partition(":")
    entry: dict[str, Any] = {"slot": "rsa0", "ops": []}
    if where == "key":
        entry["ops"] = [["set" if name == "n" else "add", name, {"json": deep}]]
    members: list[list[Any]] = [["keys", {"entries": [entry, {"slot": "ec0", "ops": []}]}]]
    if where == "document" and name == "keys":
        members = [["keys", {"json": "[" + deep + "]"}]]
    elif where == "document":
        members.append([name, {"json": deep}])
    return {"document": {"members": members}, "prefix": "", "suffix": "", "status": 200, "sign_with": "rsa0"}


def expanded(example: Example) -> Example:
    """The example of the class the sizes input stands for (same calls)."""
    spec = example.input
    if spec["target"] == "jwks":
        return Example("jwks", jwks_spec(spec), example.calls)
    return Example("token-bytes", token_spec(spec), example.calls)
