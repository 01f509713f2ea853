"""The security verdict's changes between two runs (advisories fixed or reproduced, property paths newly
violated): what the gate prints first and its page shows first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def security_snapshot(security: Mapping[str, Any]) -> dict[str, Any]:
    """The security verdict as the gate compares it: each property path's status and each advisory's."""
    paths = {
        f"{pid}/{name}": path["status"]
        for pid, prop in (security.get("properties") or {}).items()
        for name, path in (prop.get("paths") or {}).items()
    }
    advisories = {aid: row["status"] for aid, row in (security.get("advisories") or {}).items()}
    return {"paths": dict(sorted(paths.items())), "advisories": dict(sorted(advisories.items()))}


@dataclass(frozen=True)
class SecurityChange:
    """An advisory that reproduces or stopped reproducing, a property path whose status changed."""

    kind: str  # "advisory" or "path"
    key: str
    before: str
    after: str

    def line(self) -> str:
        if self.kind == "advisory":
            if self.before == "VULNERABLE" and self.after != "VULNERABLE":
                what = "fixed" if self.after == "not reproduced" else f"no longer shown ({self.after})"
            elif self.after == "VULNERABLE":
                what = "now VULNERABLE"
            else:
                what = f"{self.before} -> {self.after}"
            return f"advisory {self.key}: {what}"
        if self.after == "violated":
            return f"property {self.key}: newly violated (was {self.before})"
        return f"property {self.key}: {self.before} -> {self.after}"

    @property
    def worse(self) -> bool:
        return self.after in ("VULNERABLE", "violated")


def security_changes(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[SecurityChange]:
    """Worse first (newly violated, now vulnerable), then fixed; nothing when a side has no verdict (a
    baseline written before security verdicts)."""
    old, new = baseline.get("security"), current.get("security")
    if not old or not new:
        return []
    found = []
    for kind, section in (("advisory", "advisories"), ("path", "paths")):
        for key in sorted(set(old.get(section, {})) | set(new.get(section, {}))):
            before, after = old[section].get(key, "absent"), new[section].get(key, "absent")
            if before != after:
                found.append(SecurityChange(kind, key, before, after))
    return sorted(found, key=lambda c: (not c.worse, c.kind != "advisory"))
