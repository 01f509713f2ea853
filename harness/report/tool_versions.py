"""The installed versions of the packages a verdict depends on, as a run records them (conformance.json
`tool.versions`), and how two runs differ in them: temporalio's protos decide which methods are probed,
grpcio's and the SDK core's (tonic's) error texts are read, protobuf encodes every request, PyJWT mints
every token. constraints.txt pins them; a gate between runs that used different ones says so."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from typing import Any

PACKAGES = ("temporalio", "grpcio", "protobuf", "PyJWT")


def installed() -> dict[str, str | None]:
    """Each package's installed version (None where it is not installed)."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def recorded(data: Mapping[str, Any]) -> dict[str, Any]:
    """The versions a whole conformance.json (tool.versions) or a baseline (tool_versions) records; {} for
    one written before they were recorded."""
    versions = data.get("tool_versions") or (data.get("tool") or {}).get("versions") or {}
    return dict(versions) if isinstance(versions, Mapping) else {}


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """`temporalio (1.35.0 vs 1.36.0)` per package both runs record and record differently."""
    old, new = recorded(before), recorded(after)
    return [
        f"{name} ({old[name]} vs {new[name]})"
        for name in PACKAGES
        if name in old and name in new and old[name] != new[name]
    ]


def warning(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """One line for the gate to print where the two runs used different versions ("" where they did not,
    or where a run does not say): a changed decision may then be the tool's, not the server's."""
    differ = differences(before, after)
    if not differ:
        return ""
    return (
        f"gate: WARNING: the runs used different {', '.join(differ)}: a difference may be the tool's, "
        "not the server's"
    )
