"""fixtures/releases.yaml as data: per release line, the Go toolchain that builds it and which releases the
Go module proxy serves here (some it refuses; some lack a checksum-database entry and are pinned by hash)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.settings import RELEASES_FILE  # the one path, read by settings for the pinned default too
from harness.types import ServerVersion

# A line the data does not know yet (newer than it): let the go command pick what the release's go.mod asks.
AUTO_TOOLCHAIN = "auto"


@dataclass(frozen=True)
class Pin:
    """The h1: hashes `go mod download -json` reports (Sum, GoModSum) for a release the checksum database
    does not know: the integrity check that replaces sum.golang.org for it."""

    sum: str
    go_mod_sum: str


@dataclass(frozen=True)
class ReleaseLine:
    name: str  # "1.24"
    go_directive: str  # the `go` line of the releases' go.mod
    toolchain: str  # GOTOOLCHAIN that builds the line, e.g. "go1.21.13"
    served: tuple[ServerVersion, ...] = ()  # downloads with the checksum database on
    pinned: Mapping[ServerVersion, Pin] = field(default_factory=dict)  # downloads with it off, hash-checked
    refused: tuple[ServerVersion, ...] = ()  # the proxy answers 403
    unbuildable: Mapping[ServerVersion, str] = field(default_factory=dict)  # served, but a build fails: why
    toolchains: Mapping[ServerVersion, str] = field(default_factory=dict)  # a release whose go.mod asks more
    tried: Mapping[str, str] = field(default_factory=dict)  # other toolchains tried -> what happened
    checked: tuple[ServerVersion, ...] = ()  # built, started with the harness's config, checks passed


@dataclass(frozen=True)
class Releases:
    lines: Mapping[str, ReleaseLine]
    default: ServerVersion | None = None  # the pinned release (`default:`)
    matrix: tuple[ServerVersion, ...] = ()  # what `nox -s matrix` runs with none named (`matrix:`)

    def line(self, version: ServerVersion) -> ReleaseLine | None:
        return self.lines.get(version.line)

    def toolchain(self, version: ServerVersion) -> str:
        line = self.line(version)
        if line is None:
            return AUTO_TOOLCHAIN
        return line.toolchains.get(version, line.toolchain)

    def pin(self, version: ServerVersion) -> Pin | None:
        line = self.line(version)
        return line.pinned.get(version) if line else None

    def is_refused(self, version: ServerVersion) -> bool:
        line = self.line(version)
        return line is not None and version in line.refused

    def unbuildable_reason(self, version: ServerVersion) -> str | None:
        line = self.line(version)
        return line.unbuildable.get(version) if line else None

    def buildable(self) -> list[ServerVersion]:
        """Every release the data says builds here (pinned ones included), oldest first."""
        return sorted(
            {
                v
                for line in self.lines.values()
                for v in (*line.served, *line.pinned)
                if v not in line.unbuildable
            },
            key=_key,
        )

    def nearest(self, version: ServerVersion, also: Iterable[ServerVersion] = ()) -> list[ServerVersion]:
        """The closest buildable release below `version` and the closest above (those that exist); `also`
        adds releases the proxy lists (unless the data knows they do not build)."""
        known_bad = {v for line in self.lines.values() for v in (*line.refused, *line.unbuildable)}
        candidates = {*self.buildable(), *also} - known_bad - {version}
        below = [v for v in candidates if v < version]
        above = [v for v in candidates if v > version]
        return [*([max(below, key=_key)] if below else []), *([min(above, key=_key)] if above else [])]


def _key(version: ServerVersion) -> tuple[int, int, int]:
    return version.parts


def _versions(items: Iterable[str]) -> tuple[ServerVersion, ...]:
    return tuple(ServerVersion.parse(v) for v in items)


def _line(name: str, raw: Mapping[str, Any]) -> ReleaseLine:
    return ReleaseLine(
        name=name,
        go_directive=str(raw["go"]),
        toolchain=str(raw["toolchain"]),
        served=_versions(raw.get("served") or ()),
        pinned={
            ServerVersion.parse(v): Pin(sum=str(p["sum"]), go_mod_sum=str(p["go_mod_sum"]))
            for v, p in (raw.get("pinned") or {}).items()
        },
        refused=_versions(raw.get("refused") or ()),
        unbuildable={
            ServerVersion.parse(v): str(e).strip() for v, e in (raw.get("unbuildable") or {}).items()
        },
        toolchains={ServerVersion.parse(v): str(t) for v, t in (raw.get("toolchains") or {}).items()},
        tried={str(t): str(e).strip() for t, e in (raw.get("tried") or {}).items()},
        checked=_versions(raw.get("checked") or ()),
    )


def parse_releases(document: Mapping[str, Any]) -> Releases:
    lines = {str(name): _line(str(name), raw) for name, raw in document["lines"].items()}
    for name, line in lines.items():
        stray = [v for v in (*line.served, *line.pinned, *line.refused, *line.unbuildable) if v.line != name]
        if stray:
            raise ValueError(f"{RELEASES_FILE.name}: line {name} lists {', '.join(map(str, stray))}")
    default = ServerVersion.parse(str(document["default"])) if document.get("default") else None
    releases = Releases(lines, default=default, matrix=_versions(document.get("matrix") or ()))
    cannot = [v for v in (*releases.matrix, *([default] if default else [])) if v not in releases.buildable()]
    if cannot:  # a matrix that would stop on its first release: said when the list is read
        raise ValueError(
            f"{RELEASES_FILE.name}: default/matrix name releases that do not build here: {', '.join(map(str, cannot))}"
        )
    return releases


@functools.cache
def load_releases(path: Path = RELEASES_FILE) -> Releases:
    return parse_releases(yaml.safe_load(path.read_text()))
